//! Alerts (ssr only): where notifications go and how they get out of the building.
pub mod channels;
pub mod outbound;
