//! Sightline's Leptos application: shared model, server functions, UI, and (ssr only) the engine.
#![recursion_limit = "512"]

pub mod api;
pub mod app;
pub mod error;
pub mod model;
#[cfg(feature = "ssr")]
pub mod server;
pub mod ui;

pub use app::{shell, App, SiteAssets};
pub use error::AppError;
