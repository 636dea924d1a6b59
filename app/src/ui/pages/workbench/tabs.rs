//! A query tab (its SQL, values, run and result pages as signals) and the drafts the browser
//! keeps per user and connection.
use crate::{
    model::{connection::ConnectionId, params::ParamKind},
    ui::components::run::RunCtl,
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Clone, PartialEq)]
pub(super) struct ParamInput {
    pub(super) kind: &'static str,
    pub(super) value: String,
    pub(super) null: bool,
}

impl Default for ParamInput {
    fn default() -> Self {
        ParamInput {
            kind: "text",
            value: String::new(),
            null: false,
        }
    }
}

pub(super) fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

/// A `{{name}}` parameter's type and value as the workbench form holds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct NamedValue {
    pub(super) name: String,
    pub(super) kind: ParamKind,
    #[serde(default)]
    pub(super) value: String,
    /// The last day, for a date range (`value` is the first).
    #[serde(default)]
    pub(super) end: String,
}

/// What the browser keeps per user and connection: the tabs' SQL and parameters.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct SavedTabs {
    pub(super) tabs: Vec<SavedTab>,
    #[serde(default)]
    pub(super) active: usize,
}

#[derive(Debug, Serialize, Deserialize)]
pub(super) struct SavedTab {
    pub(super) sql: String,
    #[serde(default)]
    pub(super) named: Vec<NamedValue>,
}

/// Most tabs one connection keeps.
pub(super) const MAX_TABS: usize = 20;

pub(super) fn storage_key(user: i64, conn: ConnectionId) -> String {
    format!("sightline.workbench.u{user}.c{}", conn.0)
}

/// One query tab: its SQL and parameters, and its own run and result (a [`RunCtl`], as on the
/// insight page).
#[derive(Clone, Copy)]
pub(super) struct Tab {
    pub(super) key: u32,
    pub(super) sql: RwSignal<String>,
    pub(super) params: RwSignal<Vec<ParamInput>>,
    pub(super) named: RwSignal<Vec<NamedValue>>,
    pub(super) ctl: RunCtl,
    /// When the current run started in this browser (for the live timer).
    pub(super) started_at: RwSignal<f64>,
}

impl Tab {
    pub(super) fn new(key: u32, sql: String, named: Vec<NamedValue>) -> Tab {
        Tab {
            key,
            sql: RwSignal::new(sql),
            params: RwSignal::new(vec![]),
            named: RwSignal::new(named),
            ctl: RunCtl::new(),
            started_at: RwSignal::new(0.0),
        }
    }

    /// Drops the result and any error (after a reset of the session).
    pub(super) fn clear_result(&self) {
        self.ctl.clear();
        self.ctl.pages.set(HashMap::new());
        self.ctl.sort.set(None);
        self.ctl.selected.set(None);
        self.ctl.error.set(None);
    }
}
