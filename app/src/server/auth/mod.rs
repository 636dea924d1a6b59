//! Authentication and authorization.
pub mod password;
pub mod rbac;
pub mod service;
pub mod throttle;
