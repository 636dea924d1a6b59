//! The home page: the first steps for people who build (until each is done), and the
//! insights each person opened lately or starred, for everyone, viewers included.
use super::insight::InsightId;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What the home page shows the signed-in user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Home {
    /// The first-run checklist; empty for viewers (they build nothing).
    pub steps: Vec<Step>,
    /// Insights the user opened, the latest first.
    pub recent: Vec<InsightLink>,
    /// Insights the user starred, by name.
    pub favorites: Vec<InsightLink>,
}

impl Home {
    /// Whether the checklist still has something to do.
    pub fn steps_left(&self) -> usize {
        self.steps.iter().filter(|s| !s.done).count()
    }
}

/// One step of the checklist, with where to do it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Stable name for tests and styling: `demo`, `connect`, `query`, `insight`, `alert`.
    pub key: String,
    pub title: String,
    pub hint: String,
    pub href: String,
    pub done: bool,
}

/// An insight as a link, with when the user last opened it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InsightLink {
    pub id: InsightId,
    pub name: String,
    pub opened_at: Option<DateTime<Utc>>,
}
