//! Alerts in the model, shared by the browser (the alert forms) and the alert engine:
//! - `rule`: what an alert watches and the pure evaluation of a result against it;
//! - `state`: the state machine that turns evaluations into states and notifications;
//! - `wire`: what the alert pages and the server exchange (drafts, summaries, history,
//!   channels without their secrets, the SMTP form).
mod rule;
mod state;
mod wire;

pub use rule::*;
pub use state::*;
pub use wire::*;
