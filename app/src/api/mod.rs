//! Server functions only: each gets its context, calls one service, and returns.
//! Every one is a public HTTP endpoint under `/api/`.
pub mod alerts;
pub mod auth;
pub mod charts;
pub mod connections;
pub mod dashboards;
pub mod home;
pub mod imports;
pub mod insights;
pub mod plugins;
pub mod setup;
pub mod users;
pub mod workbench;
