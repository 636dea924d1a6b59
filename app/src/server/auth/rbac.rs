//! `Principal`: who is acting, and the checks every service runs first.
use crate::{
    error::AppError,
    model::{Me, Permission, Role, UserId},
};

/// The acting user (or the operator at the command line).
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// `None` for the command-line operator, who has shell access to the server.
    pub user_id: Option<UserId>,
    pub email: String,
    pub role: Role,
}

impl Principal {
    /// The operator running `sightline` commands on the server itself.
    pub fn operator() -> Self {
        Principal {
            user_id: None,
            email: "operator (command line)".into(),
            role: Role::Admin,
        }
    }

    #[must_use]
    pub fn can(&self, p: Permission) -> bool {
        self.role.can(p)
    }

    /// `Forbidden` unless the principal holds the permission.
    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        if self.can(p) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    /// The signed-in user as the UI sees them; `Unauthenticated` for the operator.
    pub fn me(&self) -> Result<Me, AppError> {
        let id = self.user_id.ok_or(AppError::Unauthenticated)?;
        Ok(Me {
            id,
            email: self.email.clone(),
            role: self.role,
        })
    }
}
