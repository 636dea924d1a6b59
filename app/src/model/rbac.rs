//! Roles and permissions. The UI uses these only to hide controls; the server enforces them.
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

/// A user's role. Ordered from least to most privileged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Editor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Editor, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Editor => "Editor",
            Role::Admin => "Admin",
        }
    }

    /// What a person with this role may do, in words, for the UI.
    pub fn summary(self) -> &'static str {
        match self {
            Role::Viewer => "Open and run insights and dashboards shared with you.",
            Role::Editor => {
                "Everything a viewer can, plus connections, ad-hoc SQL and editing insights."
            }
            Role::Admin => {
                "Everything an editor can, plus managing users and database administration."
            }
        }
    }

    #[must_use]
    pub fn can(self, p: Permission) -> bool {
        self >= p.minimum_role()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "viewer" => Ok(Role::Viewer),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role '{other}': use admin, editor or viewer"
            )),
        }
    }
}

/// Something a principal may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Permission {
    /// Open and run saved insights and dashboards.
    ViewInsights,
    /// Create and edit insights, run ad-hoc SQL.
    EditInsights,
    /// Create, edit and delete connections.
    ManageConnections,
    /// Create users, change roles, disable accounts.
    ManageUsers,
}

impl Permission {
    pub fn minimum_role(self) -> Role {
        match self {
            Permission::ViewInsights => Role::Viewer,
            Permission::EditInsights | Permission::ManageConnections => Role::Editor,
            Permission::ManageUsers => Role::Admin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_permission_matrix() {
        use Permission::*;
        let expect = [
            (Role::Viewer, [true, false, false, false]),
            (Role::Editor, [true, true, true, false]),
            (Role::Admin, [true, true, true, true]),
        ];
        for (role, allowed) in expect {
            for (p, want) in [ViewInsights, EditInsights, ManageConnections, ManageUsers]
                .iter()
                .zip(allowed)
            {
                assert_eq!(role.can(*p), want, "{role} {p:?}");
            }
        }
    }

    #[test]
    fn roles_parse_case_insensitively_and_reject_unknown() {
        assert_eq!("Admin".parse::<Role>(), Ok(Role::Admin));
        assert_eq!(" viewer ".parse::<Role>(), Ok(Role::Viewer));
        assert!("root".parse::<Role>().is_err());
    }
}
