//! `AppError`: the one error type every server function returns.
use serde::{Deserialize, Serialize};
use server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};

/// A problem with one input field, shown next to that field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Errors as users see them. Database and internal text never goes in here:
/// `Internal` carries only a reference id that matches a server log line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    #[error("Please sign in.")]
    Unauthenticated,
    #[error("You don't have access to this.")]
    Forbidden,
    #[error("{0} not found.")]
    NotFound(String),
    #[error("{}", first_message(.0))]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    #[error("The email or password is incorrect.")]
    InvalidCredentials,
    #[error("Too many attempts. Try again in {0} seconds.")]
    RateLimited(u64),
    #[error("The request was not understood: {0}")]
    BadRequest(String),
    #[error("Something went wrong (reference {0}). An administrator can find the details in the server log.")]
    Internal(String),
    #[error("Could not reach the server: {0}")]
    Transport(String),
    /// A data source could not serve the request (unreachable, busy): 503.
    #[error("{0}")]
    Unavailable(String),
}

fn first_message(errors: &[FieldError]) -> String {
    errors
        .first()
        .map(|e| e.message.clone())
        .unwrap_or_else(|| "Invalid input.".into())
}

impl AppError {
    /// A validation error on a single field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    /// The message for one field, if this is a validation error that names it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            AppError::Validation(errs) => errs
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            _ => None,
        }
    }

    /// The HTTP status this error answers with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden => 403,
            AppError::NotFound(_) => 404,
            AppError::Validation(_) | AppError::BadRequest(_) => 400,
            AppError::Conflict(_) => 409,
            AppError::RateLimited(_) => 429,
            AppError::Internal(_) => 500,
            AppError::Transport(_) => 502,
            AppError::Unavailable(_) => 503,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) => {
                AppError::BadRequest(m)
            }
            ServerFnErrorErr::MissingArg(m) => AppError::BadRequest(format!("missing {m}")),
            other => AppError::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
mod ssr {
    use super::AppError;

    /// Logs the error with a fresh reference id and returns an opaque `Internal` error.
    pub fn internal(e: impl std::fmt::Debug) -> AppError {
        let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        tracing::error!(error.id = %id, error = ?e, "internal error");
        AppError::Internal(id)
    }

    impl From<sqlx::Error> for AppError {
        fn from(e: sqlx::Error) -> Self {
            match e {
                sqlx::Error::RowNotFound => AppError::NotFound("Record".into()),
                other => internal(other),
            }
        }
    }

    impl From<tower_sessions::session::Error> for AppError {
        fn from(e: tower_sessions::session::Error) -> Self {
            internal(e)
        }
    }
}
#[cfg(feature = "ssr")]
pub use ssr::internal;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_message_is_the_first_field_message() {
        let e = AppError::Validation(vec![FieldError::new("email", "Enter an email address.")]);
        assert_eq!(e.to_string(), "Enter an email address.");
        assert_eq!(
            e.field_message("email").as_deref(),
            Some("Enter an email address.")
        );
        assert_eq!(e.field_message("password"), None);
        assert_eq!(e.status(), 400);
    }

    #[test]
    fn errors_round_trip_as_json() {
        let e = AppError::RateLimited(30);
        let back: AppError = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.status(), 429);
    }
}
