//! Alerts (ssr only): where notifications go and how they get out of the building.
pub mod channels;
pub mod engine;
pub mod file_config;
pub mod outbound;
pub mod report;
pub mod service;
pub mod stored;
pub mod worker;
