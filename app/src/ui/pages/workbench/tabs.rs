//! A query tab (its SQL, values, run and result pages as signals) and the drafts the browser
//! keeps per user and connection.
use crate::{
    error::AppError,
    model::{
        connection::ConnectionId,
        params::ParamKind,
        run::{RunView, Sort},
    },
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

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

/// One query tab: its SQL and parameters, and its own run and result.
#[derive(Clone, Copy)]
pub(super) struct Tab {
    pub(super) key: u32,
    pub(super) sql: RwSignal<String>,
    pub(super) params: RwSignal<Vec<ParamInput>>,
    pub(super) named: RwSignal<Vec<NamedValue>>,
    pub(super) run: RwSignal<Option<RunView>>,
    /// The SQL as sent with the current run (empty when it went through `{{name}}`
    /// compiling, whose positions do not match the editor's text).
    pub(super) run_sql_text: RwSignal<String>,
    pub(super) request_error: RwSignal<Option<AppError>>,
    pub(super) started_at: RwSignal<f64>,
    pub(super) sort: RwSignal<Option<Sort>>,
    pub(super) pages: RwSignal<HashMap<u64, Vec<Vec<Option<String>>>>>,
    pub(super) loading: StoredValue<HashSet<(u64, u64)>>,
    pub(super) generation: RwSignal<u64>,
    pub(super) selected: RwSignal<Option<(u64, usize)>>,
    /// Cancel pressed before the server named the run: cancel as soon as it does.
    pub(super) cancel_pending: StoredValue<bool>,
}

impl Tab {
    pub(super) fn new(key: u32, sql: String, named: Vec<NamedValue>) -> Tab {
        Tab {
            key,
            sql: RwSignal::new(sql),
            params: RwSignal::new(vec![]),
            named: RwSignal::new(named),
            run: RwSignal::new(None),
            run_sql_text: RwSignal::new(String::new()),
            request_error: RwSignal::new(None),
            started_at: RwSignal::new(0.0),
            sort: RwSignal::new(None),
            pages: RwSignal::new(HashMap::new()),
            loading: StoredValue::new(HashSet::new()),
            generation: RwSignal::new(0),
            selected: RwSignal::new(None),
            cancel_pending: StoredValue::new(false),
        }
    }

    pub(super) fn clear_result(&self) {
        self.run.set(None);
        self.pages.set(HashMap::new());
        self.sort.set(None);
        self.selected.set(None);
        self.request_error.set(None);
        self.generation.update(|g| *g += 1);
    }
}
