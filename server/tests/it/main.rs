//! The server's integration tests, as one test binary: one link of the release build instead
//! of one per file, and tests of every file run side by side. Each module is one area; shared
//! harness (app on a port, stores, databases) lives in `common`.
#![recursion_limit = "512"]

mod common;

mod account_links;
mod alert_channels;
mod alert_limits;
mod alerts;
mod alerts_runner;
mod auth;
mod authz;
mod cli;
mod cli_saved_connection;
mod connectors;
mod dashboards;
mod egress_connections;
mod export_safety;
mod home;
mod import;
mod import_limits;
mod insights;
mod mysql_local_infile;
mod plugins;
mod result_cache;
mod session_state;
mod store_contract;
mod workbench;
mod workbench_named;
