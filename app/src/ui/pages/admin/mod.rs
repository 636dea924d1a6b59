//! Administration pages.
pub mod plugins;
pub mod users;
