//! One file per route component.
pub mod account;
pub mod admin;
pub mod alerts;
pub mod connections;
pub mod dashboard;
pub mod dashboards;
pub mod home;
pub mod import;
pub mod insight;
pub mod insights;
pub mod login;
pub mod not_found;
pub mod setup;
pub mod welcome;
pub mod workbench;
