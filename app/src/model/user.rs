//! User accounts as the UI sees them (never with a password hash).
use super::{Role, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A user account, as listed to admins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

/// The signed-in user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub id: UserId,
    pub email: String,
    pub role: Role,
}

/// An admin's request to create an account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewUser {
    pub email: String,
    pub role: Role,
    pub password: String,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub action: String,
    pub ip: Option<String>,
    pub detail: String,
}

/// What a one-time account link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// Creates an account: the invitee chooses a password.
    Invite,
    /// Sets a new password on an existing account (and ends its sessions).
    Reset,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Invite => "invite",
            LinkKind::Reset => "reset",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "invite" => Some(LinkKind::Invite),
            "reset" => Some(LinkKind::Reset),
            _ => None,
        }
    }
}

/// A one-time link an admin made, to pass on (or sent by email when the server has SMTP).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountLink {
    pub kind: LinkKind,
    pub email: String,
    /// The whole link; shown once, stored only as a hash.
    pub url: String,
    pub expires_at: DateTime<Utc>,
    /// Whether it went out by email; otherwise the admin passes it on.
    pub emailed: bool,
    /// Why the email did not go out, when it was tried.
    pub email_error: Option<String>,
}

/// What the link page shows before a password is chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkInfo {
    pub kind: LinkKind,
    pub email: String,
    pub expires_at: DateTime<Utc>,
}
