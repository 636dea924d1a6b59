//! The workbench's state, shared by its parts: the connections and the chosen one (kept in the
//! URL), the query tabs and the active one, the editor, and what each tab runs (a `RunCtl`).
//! `Copy`: every part and closure takes it as it is.
//!
//! - `drafts`: the tabs' drafts kept in the browser;
//! - `run`: the value forms, Run, and the editor's error mark;
//! - `session`: the connection's schema and "Reset session".
mod drafts;
mod run;
mod session;

use self::session::{reset_action, ResetAction};
use super::{
    sql_text::sql_name,
    tabs::{NamedValue, ParamInput, Tab, MAX_TABS},
};
use crate::{
    model::{
        connection::{ConnectionId, ConnectionKind, ConnectionSummary},
        run::HistoryEntry,
    },
    ui::{context::auth::use_auth, js},
};
use leptos::{html, prelude::*};
use leptos_router::{
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};

#[derive(Clone, Copy)]
pub(super) struct Bench {
    /// The active connections.
    pub(super) conns: Signal<Vec<ConnectionSummary>>,
    pub(super) conn_id: RwSignal<Option<ConnectionId>>,
    pub(super) kind: Signal<ConnectionKind>,
    pub(super) tabs: RwSignal<Vec<Tab>>,
    pub(super) active: RwSignal<u32>,
    pub(super) cur: Signal<Tab>,
    pub(super) textarea: NodeRef<html::Textarea>,
    /// SQL to open in a tab of its own once the connection's drafts are loaded (`?sql=…`
    /// from a link, or another connection's history entry).
    initial_sql: StoredValue<Option<String>>,
    next_key: StoredValue<u32>,
    /// Tabs live as long as the page, whatever event created them.
    owner: StoredValue<Option<Owner>>,
    /// Which connection's drafts the tabs hold (nothing is saved until they were loaded).
    loaded_for: RwSignal<Option<ConnectionId>>,
    user_id: Signal<i64>,
    /// "Reset session" (here, as the confirmation closes before the server answers).
    resets: ResetAction,
}

impl Bench {
    pub(super) fn new(list: Vec<ConnectionSummary>) -> Self {
        let query = use_query_map();
        let auth = use_auth();
        let conns = Signal::stored(list.into_iter().filter(|c| c.active).collect::<Vec<_>>());
        let conn_id = RwSignal::new(None::<ConnectionId>);
        let kind = Signal::derive(move || {
            let id = conn_id.get();
            conns
                .with(|l| l.iter().find(|c| Some(c.id) == id).map(|c| c.kind))
                .unwrap_or(ConnectionKind::Postgres)
        });
        let initial_sql = StoredValue::new(query.with_untracked(|q| q.get("sql")));
        let first = Tab::new(0, initial_sql.get_value().unwrap_or_default(), vec![]);
        let tabs = RwSignal::new(vec![first]);
        let active = RwSignal::new(0u32);
        let cur = Signal::derive(move || {
            let key = active.get();
            tabs.with(|t| t.iter().find(|t| t.key == key).or(t.first()).copied())
                .unwrap_or(first)
        });
        let user_id = Signal::derive(move || {
            auth.user
                .get_untracked()
                .and_then(|r| r.ok())
                .map(|m| m.id.0)
                .unwrap_or(0)
        });
        let b = Bench {
            conns,
            conn_id,
            kind,
            tabs,
            active,
            cur,
            textarea: NodeRef::new(),
            initial_sql,
            next_key: StoredValue::new(1),
            owner: StoredValue::new(Owner::current()),
            loaded_for: RwSignal::new(None),
            user_id,
            resets: reset_action(),
        };
        b.answer_resets();
        b
    }

    /// The chosen connection's name.
    pub(super) fn conn_name(self) -> String {
        let id = self.conn_id.get();
        self.conns
            .with(|l| l.iter().find(|c| Some(c.id) == id).map(|c| c.name.clone()))
            .unwrap_or_default()
    }

    /// The SQL in the editor (the tab's text before the editor is mounted).
    pub(super) fn editor_text(self) -> String {
        self.textarea
            .get_untracked()
            .map(|ta| ta.value())
            .unwrap_or_else(|| self.cur.get_untracked().sql.get_untracked())
    }

    fn show_text(self, text: &str) {
        if let Some(ta) = self.textarea.get_untracked() {
            js::editor_load(&ta, text);
        }
    }

    fn new_tab(self, sql: String, named: Vec<NamedValue>) -> Tab {
        let key = self.next_key.get_value();
        self.next_key.set_value(key + 1);
        match self.owner.get_value() {
            Some(o) => o.with(|| Tab::new(key, sql, named)),
            None => Tab::new(key, sql, named),
        }
    }

    /// The connection follows the URL (`?connection=N`, also on Back and Forward), else the
    /// first active one; choosing another one puts it in the URL.
    pub(super) fn follow_url(self) {
        let query = use_query_map();
        let navigate = use_navigate();
        let Bench { conns, conn_id, .. } = self;
        Effect::new(move |_| {
            let list = conns.get();
            let wanted = query
                .with(|q| q.get("connection"))
                .and_then(|s| s.parse::<i64>().ok())
                .map(ConnectionId)
                .filter(|w| list.iter().any(|c| c.id == *w));
            match wanted {
                Some(w) if conn_id.get_untracked() != Some(w) => conn_id.set(Some(w)),
                None if conn_id.get_untracked().is_none() => {
                    if let Some(first) = list.first() {
                        conn_id.set(Some(first.id));
                    }
                }
                _ => {}
            }
        });
        Effect::new(move |_| {
            let Some(id) = conn_id.get() else { return };
            let in_url = query.with_untracked(|q| q.get("connection"));
            if in_url.as_deref() != Some(id.0.to_string().as_str()) {
                let options = NavigateOptions {
                    replace: true,
                    scroll: false,
                    ..Default::default()
                };
                navigate(&format!("/workbench?connection={}", id.0), options);
            }
        });
    }

    pub(super) fn switch_to(self, key: u32) {
        if self.active.get_untracked() == key {
            return;
        }
        self.active.set(key);
        self.show_text(&self.cur.get_untracked().sql.get_untracked());
        if let Some(ta) = self.textarea.get_untracked() {
            js::editor_focus(&ta);
        }
    }

    pub(super) fn add_tab(self) {
        if self.tabs.with_untracked(Vec::len) >= MAX_TABS {
            return;
        }
        let t = self.new_tab(String::new(), vec![]);
        self.tabs.update(|l| l.push(t));
        self.switch_to(t.key);
    }

    pub(super) fn close_tab(self, key: u32) {
        let list = self.tabs.get_untracked();
        if list.len() <= 1 {
            return;
        }
        let Some(i) = list.iter().position(|t| t.key == key) else {
            return;
        };
        let was_active = self.active.get_untracked() == key;
        self.tabs.update(|l| {
            l.remove(i);
        });
        if was_active {
            let next = self.tabs.with_untracked(|l| l[i.min(l.len() - 1)].key);
            self.active.set(next);
            self.show_text(&self.cur.get_untracked().sql.get_untracked());
        }
    }

    /// A history entry back in the editor (another connection's opens among that
    /// connection's tabs), run again when asked.
    pub(super) fn load_entry(self, e: HistoryEntry, and_run: bool) {
        if let Some(c) = e.connection_id {
            if self.conn_id.get_untracked() != Some(c) {
                self.conn_id.set(Some(c));
                self.initial_sql.set_value(Some(e.sql.clone()));
                return;
            }
        }
        let t = self.cur.get_untracked();
        t.sql.set(e.sql.clone());
        let values = e.params.iter().map(|p| ParamInput {
            kind: "text",
            value: p.clone().unwrap_or_default(),
            null: p.is_none(),
        });
        t.params.set(values.collect());
        if let Some(ta) = self.textarea.get_untracked() {
            js::editor_set(&ta, &e.sql);
            ta.set_value(&e.sql);
        }
        if and_run {
            self.start_run();
        }
    }

    /// A table or column name inserted at the cursor, quoted for the connection's dialect.
    pub(super) fn insert_name(self, name: String) {
        let text = sql_name(&name, self.kind.get_untracked());
        if let Some(ta) = self.textarea.get_untracked() {
            js::editor_insert(&ta, &text);
        }
    }
}
