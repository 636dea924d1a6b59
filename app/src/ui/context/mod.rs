//! App-wide context providers.
pub mod auth;
