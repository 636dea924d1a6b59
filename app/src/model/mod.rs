//! Wire types shared by the browser and the server.
pub mod alert;
pub mod chart;
pub mod connection;
pub mod dashboard;
pub mod home;
pub mod ids;
pub mod import;
pub mod insight;
pub mod params;
pub mod query;
pub mod rbac;
pub mod run;
// Server only (chrono-tz and croner are `ssr` dependencies): the alerts pages show the schedule
// in words and the next run as the server computed them.
#[cfg(feature = "ssr")]
pub mod schedule;
pub mod user;
pub mod validate;
pub mod version;
pub mod words;

pub use ids::UserId;
pub use rbac::{Permission, Role};
pub use user::{AuditEvent, Me, NewUser, User};
