//! The workbench's state, shared by its parts: the connections and the chosen one (kept in the
//! URL), the query tabs and the active one, the editor, and what each tab runs (a `RunCtl`).
//! `Copy`: every part and closure takes it as it is.
use super::{
    sql_text::{dialect, guess_kind, named_refs, named_request, sql_name, utf16_offset},
    tabs::{now_ms, storage_key, NamedValue, ParamInput, SavedTab, SavedTabs, Tab, MAX_TABS},
};
use crate::{
    api::{
        connections::connection_schema,
        workbench::{reset_session, run_sql, run_sql_named},
    },
    error::AppError,
    model::{
        connection::{ConnectionId, ConnectionKind, ConnectionSummary, SchemaTable},
        params::ParamKind,
        run::{HistoryEntry, NamedRunRequest, RunRequest, RunState},
    },
    ui::{components::result_grid::PAGE, context::auth::use_auth, js},
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
        Bench {
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
        }
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

    /// The chosen connection's drafts are loaded from the browser's storage (in the browser:
    /// effects do not run on the server), and every edit of a tab's SQL or values, every tab
    /// opened or closed, is kept there.
    pub(super) fn keep_drafts(self) {
        Effect::new(move |_| {
            let Some(id) = self.conn_id.get() else { return };
            if self.loaded_for.get_untracked() != Some(id) {
                self.load_drafts(id);
            }
        });
        Effect::new(move |_| {
            let Some(id) = self.loaded_for.get() else {
                return;
            };
            let key = self.active.get();
            let list = self.tabs.get();
            let saved = SavedTabs {
                active: list.iter().position(|t| t.key == key).unwrap_or(0),
                tabs: list
                    .iter()
                    .map(|t| SavedTab {
                        sql: t.sql.get(),
                        named: t.named.get(),
                    })
                    .collect(),
            };
            if let Ok(json) = serde_json::to_string(&saved) {
                js::storage_set(&storage_key(self.user_id.get_untracked(), id), &json);
            }
        });
    }

    fn load_drafts(self, id: ConnectionId) {
        let saved: SavedTabs = js::storage_get(&storage_key(self.user_id.get_untracked(), id))
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        let mut list: Vec<Tab> = saved
            .tabs
            .into_iter()
            .take(MAX_TABS)
            .map(|t| self.new_tab(t.sql, t.named))
            .collect();
        let mut pick = saved.active.min(list.len().saturating_sub(1));
        let brought = self.initial_sql.get_value();
        if let Some(sql) = brought.filter(|s| !s.trim().is_empty()) {
            self.initial_sql.set_value(None);
            match list.iter().position(|t| t.sql.get_untracked() == sql) {
                Some(i) => pick = i,
                None => {
                    list.push(self.new_tab(sql, vec![]));
                    pick = list.len() - 1;
                }
            }
        }
        if list.is_empty() {
            list.push(self.new_tab(String::new(), vec![]));
            pick = 0;
        }
        let key = list[pick].key;
        let text = list[pick].sql.get_untracked();
        self.tabs.set(list);
        self.active.set(key);
        self.loaded_for.set(Some(id));
        self.show_text(&text);
    }

    /// How many `$n`/`?` values and which `{{name}}` references the active tab's SQL has; the
    /// tab's value forms follow them (new names get a guessed type, old values stay).
    pub(super) fn track_inputs(self) -> (Memo<usize>, Memo<Vec<(String, bool)>>) {
        let Bench { kind, cur, .. } = self;
        let count = Memo::new(move |_| {
            let marks = kind.get() != ConnectionKind::Postgres;
            cur.get().sql.with(|s| super::placeholders(s, marks))
        });
        let refs = Memo::new(move |_| cur.get().sql.with(|s| named_refs(s)));
        Effect::new(move |_| {
            let n = count.get();
            cur.get()
                .params
                .update(|p| p.resize(n, ParamInput::default()));
        });
        Effect::new(move |_| {
            let found = refs.get();
            cur.get().named.update(|named| {
                for (name, range) in &found {
                    match named.iter_mut().find(|n| &n.name == name) {
                        Some(n) if *range => n.kind = ParamKind::DateRange,
                        Some(n) if n.kind == ParamKind::DateRange => n.kind = ParamKind::Date,
                        Some(_) => {}
                        None => named.push(NamedValue {
                            name: name.clone(),
                            kind: guess_kind(name, *range),
                            value: String::new(),
                            end: String::new(),
                        }),
                    }
                }
            });
        });
        (count, refs)
    }

    /// Runs the active tab's SQL: with `{{name}}` values compiled on the server, else with
    /// its `$n`/`?` values; the tab's `RunCtl` follows the run.
    pub(super) fn start_run(self) {
        let t = self.cur.get_untracked();
        let Some(connection_id) = self.conn_id.get_untracked() else {
            t.ctl.error.set(Some(AppError::BadRequest(
                "Choose a connection first.".into(),
            )));
            return;
        };
        if t.ctl.running().get_untracked() {
            return;
        }
        let text = self.editor_text();
        t.sql.set(text.clone());
        if let Some(ta) = self.textarea.get_untracked() {
            js::editor_mark_error(&ta, None);
        }
        t.started_at.set(now_ms());
        let named = t.named.get_untracked();
        if !named_refs(&text).is_empty() {
            // Error positions of compiled `{{name}}` SQL do not match the editor's text.
            t.ctl.sql_text.set(String::new());
            let (params, values) = named_request(&text, &named);
            let request = NamedRunRequest {
                connection_id,
                sql: text,
                params,
                values,
                page_size: PAGE as u32,
            };
            t.ctl.start(run_sql_named(request));
        } else {
            let marks = self.kind.get_untracked() != ConnectionKind::Postgres;
            let n = super::placeholders(&text, marks);
            let params = t
                .params
                .get_untracked()
                .into_iter()
                .take(n)
                .map(|p| (!p.null).then_some(p.value))
                .collect();
            t.ctl.sql_text.set(text.clone());
            let request = RunRequest {
                connection_id,
                sql: text,
                params,
                page_size: PAGE as u32,
            };
            t.ctl.start(run_sql(request));
        }
    }

    /// The editor, mounted once the page is interactive (Ctrl/Cmd-Enter runs), and where the
    /// database says a failed run's error is, marked while the text is the one that ran.
    pub(super) fn mount_editor(self) {
        let Bench {
            textarea,
            kind,
            cur,
            ..
        } = self;
        Effect::new(move |_| {
            if let Some(ta) = textarea.get() {
                js::mount_editor(&ta, dialect(kind.get_untracked()), move || self.start_run());
            }
        });
        Effect::new(move |_| {
            let t = cur.get();
            let at = t.ctl.run.with(|r| {
                r.as_ref()
                    .filter(|r| r.state == RunState::Failed)
                    .and_then(|r| r.error.as_ref())
                    .and_then(|e| e.position)
            });
            let Some(p) = at else { return };
            let sent = t.ctl.sql_text.get_untracked();
            if let Some(ta) = textarea.get_untracked() {
                if !sent.is_empty() && ta.value() == sent {
                    js::editor_mark_error(&ta, Some(utf16_offset(&sent, p)));
                }
            }
        });
    }

    /// The chosen connection's tables and columns, for the schema panel and autocomplete.
    pub(super) fn load_schema(self) -> RwSignal<Option<Result<Vec<SchemaTable>, AppError>>> {
        let schema = RwSignal::new(None);
        let Bench {
            conn_id, textarea, ..
        } = self;
        Effect::new(move |_| {
            let Some(id) = conn_id.get() else { return };
            let d = dialect(self.kind.get());
            schema.set(None);
            leptos::task::spawn_local(async move {
                let answer = connection_schema(id).await;
                if conn_id.try_get_untracked() != Some(Some(id)) {
                    return;
                }
                if let Ok(tables) = &answer {
                    let map: serde_json::Map<String, serde_json::Value> = tables
                        .iter()
                        .map(|t| (t.name.clone(), serde_json::json!(t.columns)))
                        .collect();
                    if let Some(ta) = textarea.get_untracked() {
                        js::editor_schema(&ta, &serde_json::Value::Object(map).to_string(), d);
                    }
                }
                schema.try_set(Some(answer));
            });
        });
        schema
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

    /// Closes this connection's database sessions and clears the active tab.
    pub(super) fn reset(self) {
        let Some(id) = self.conn_id.get_untracked() else {
            return;
        };
        let t = self.cur.get_untracked();
        let textarea = self.textarea;
        leptos::task::spawn_local(async move {
            match reset_session(id).await {
                Ok(()) => {
                    t.clear_result();
                    t.params.set(vec![]);
                    t.named.set(vec![]);
                    t.sql.set(String::new());
                    if let Some(ta) = textarea.get_untracked() {
                        js::editor_load(&ta, "");
                        js::editor_focus(&ta);
                    }
                }
                Err(e) => t.ctl.error.set(Some(e)),
            }
        });
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
