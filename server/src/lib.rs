#![recursion_limit = "512"]
//! The `sightline` binary's library: configuration, CLI commands, router and start-up.
//! It is the composition root and holds no domain logic.
pub mod assets;
pub mod commands;
pub mod config;
pub mod middleware;
pub mod query_cli;
pub mod routes;
pub mod secrets;
pub mod startup;
pub mod telemetry;
