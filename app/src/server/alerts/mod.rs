//! Alerts (ssr only): one evaluation cycle (`cycle`) shared by the server's workers (`engine`,
//! `worker`, state in the metadata store) and the standalone runner (`standalone`, state in a
//! SQLite file, alerts from a file read by `file_config`); what is said (`report`) and where
//! it goes (`channels`, through the egress policy in `outbound`); the alert pages' services
//! (`service`) over rows decoded once (`stored`).
pub mod channels;
pub mod cycle;
pub mod engine;
pub mod file_config;
pub mod outbound;
pub mod report;
pub mod service;
pub mod standalone;
pub mod stored;
pub mod worker;
