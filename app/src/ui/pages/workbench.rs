//! The SQL workbench: pick a connection (kept in the URL), write SQL in query tabs (CodeMirror,
//! autocomplete, Ctrl/Cmd-Enter; each tab's SQL is kept in the browser per connection, so a
//! reload loses nothing), fill `$n` values or typed `{{name}}` parameters, run with a live
//! timer and Cancel, and read the result in a virtual grid that pages and sorts on the
//! server. A schema panel inserts table and column names; history and "Reset session" on the
//! side.
use crate::{
    api::{
        connections::{connection_schema, list_connections},
        insights::{insight_tree, save_insight},
        workbench::{cancel_run, query_history, reset_session, run_sql, run_sql_named, run_status},
    },
    error::AppError,
    model::{
        connection::{ConnectionId, ConnectionKind, ConnectionSummary, SchemaTable},
        insight::{folder_paths, FolderId, InsightDraft, UrlValues},
        params::{self, ParamKind, ParamSpec, RangePart},
        run::{HistoryEntry, NamedRunRequest, RunId, RunRequest, RunState, RunView, Sort},
        Permission,
    },
    ui::{
        components::feedback::{plural, thousands, ErrorNote, Loading},
        context::auth::{use_auth, use_role},
        js,
    },
};
use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::{
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

use crate::ui::components::result_grid::{ResultPanel, PAGE};
/// How many parameter values `sql` takes: the highest `$n`, or (MySQL, SQLite) the number of
/// `?` placeholders, outside strings, quoted identifiers and comments.
pub fn placeholders(sql: &str, question_marks: bool) -> usize {
    let b = sql.as_bytes();
    let (mut i, mut max, mut marks) = (0usize, 0usize, 0usize);
    while i < b.len() {
        match b[i] {
            b'\'' | b'"' | b'`' => {
                let q = b[i];
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 1;
            }
            b'$' => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j > start && (start == 1 || !b[start - 2].is_ascii_alphanumeric()) {
                    if let Ok(n) = sql[start..j].parse::<usize>() {
                        max = max.max(n.min(100));
                    }
                }
                i = j.max(i + 1) - 1;
            }
            b'?' if question_marks => marks += 1,
            _ => {}
        }
        i += 1;
    }
    max.max(marks).min(100)
}

fn dialect(kind: ConnectionKind) -> &'static str {
    match kind {
        ConnectionKind::Postgres => "postgres",
        ConnectionKind::Mysql => "mysql",
        ConnectionKind::Sqlite => "sqlite",
    }
}

#[derive(Clone, PartialEq)]
struct ParamInput {
    kind: &'static str,
    value: String,
    null: bool,
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

const PARAM_KINDS: [(&str, &str); 5] = [
    ("text", "Text"),
    ("number", "Number"),
    ("date", "Date"),
    ("datetime-local", "Date and time"),
    ("bool", "Boolean"),
];

fn now_ms() -> f64 {
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
struct NamedValue {
    name: String,
    kind: ParamKind,
    #[serde(default)]
    value: String,
    /// The last day, for a date range (`value` is the first).
    #[serde(default)]
    end: String,
}

/// The types a `{{name}}` parameter can take in the workbench (a date range is chosen by
/// writing `{{name.start}}` / `{{name.end}}`).
const NAMED_KINDS: [(ParamKind, &str); 6] = [
    (ParamKind::Text, "Text"),
    (ParamKind::Number, "Number"),
    (ParamKind::Integer, "Whole number"),
    (ParamKind::Date, "Date"),
    (ParamKind::DateTime, "Date and time"),
    (ParamKind::Boolean, "Yes/no"),
];

fn kind_key(k: ParamKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// The distinct `{{names}}` the SQL uses, in order, and whether each is a date range (used as
/// `{{name.start}}` / `{{name.end}}`). Empty when the SQL has none or does not parse.
fn named_refs(sql: &str) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = vec![];
    for r in params::references(sql).unwrap_or_default() {
        let range = matches!(r.part, Some(RangePart::Start | RangePart::End));
        match out.iter_mut().find(|(n, _)| *n == r.name) {
            Some(e) => e.1 |= range,
            None => out.push((r.name, range)),
        }
    }
    out
}

/// A first guess at a new parameter's type from its name (`start_date` is a date).
fn guess_kind(name: &str, range: bool) -> ParamKind {
    let n = name.to_ascii_lowercase();
    if range {
        ParamKind::DateRange
    } else if n.ends_with("_at") || n.ends_with("time") {
        ParamKind::DateTime
    } else if n.contains("date") || n.ends_with("day") {
        ParamKind::Date
    } else if n.starts_with("min_") || n.starts_with("max_") || n == "limit" || n == "n" {
        ParamKind::Number
    } else {
        ParamKind::Text
    }
}

/// The specs and URL-form values to run (and save) the SQL with.
fn named_request(sql: &str, named: &[NamedValue]) -> (Vec<ParamSpec>, UrlValues) {
    let mut specs = vec![];
    let mut values = UrlValues::new();
    for (name, range) in named_refs(sql) {
        let given = named.iter().find(|n| n.name == name);
        let kind = match (range, given) {
            (true, _) => ParamKind::DateRange,
            (false, Some(g)) if g.kind != ParamKind::DateRange => g.kind,
            _ => guess_kind(&name, false),
        };
        let value = given.map(|g| {
            if kind == ParamKind::DateRange {
                if g.value.is_empty() && g.end.is_empty() {
                    String::new()
                } else {
                    format!("{}~{}", g.value, g.end)
                }
            } else {
                g.value.clone()
            }
        });
        specs.push(ParamSpec::new(name.clone(), kind));
        values.insert(name, vec![value.unwrap_or_default()]);
    }
    (specs, values)
}

/// A name as it can be written in SQL: bare when it is a plain lower-case identifier, else
/// quoted the dialect's way (each part of `schema.table` on its own).
fn sql_name(name: &str, kind: ConnectionKind) -> String {
    name.split('.')
        .map(|part| {
            let plain = part
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if plain {
                part.to_string()
            } else if kind == ConnectionKind::Mysql {
                format!("`{}`", part.replace('`', "``"))
            } else {
                format!("\"{}\"", part.replace('"', "\"\""))
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The 0-based UTF-16 offset (as the editor counts) of a 1-based character position.
fn utf16_offset(sql: &str, position: u32) -> u32 {
    let n: usize = sql
        .chars()
        .take(position.saturating_sub(1) as usize)
        .map(char::len_utf16)
        .sum();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A tab's name: the start of its first non-empty line.
fn tab_title(sql: &str) -> String {
    let line = sql.lines().map(str::trim).find(|l| !l.is_empty());
    match line {
        None => "New query".into(),
        Some(l) if l.chars().count() > 28 => format!("{}…", l.chars().take(27).collect::<String>()),
        Some(l) => l.to_string(),
    }
}

/// What the browser keeps per user and connection: the tabs' SQL and parameters.
#[derive(Debug, Default, Serialize, Deserialize)]
struct SavedTabs {
    tabs: Vec<SavedTab>,
    #[serde(default)]
    active: usize,
}

#[derive(Debug, Serialize, Deserialize)]
struct SavedTab {
    sql: String,
    #[serde(default)]
    named: Vec<NamedValue>,
}

/// Most tabs one connection keeps.
const MAX_TABS: usize = 20;

fn storage_key(user: i64, conn: ConnectionId) -> String {
    format!("sightline.workbench.u{user}.c{}", conn.0)
}

/// One query tab: its SQL and parameters, and its own run and result.
#[derive(Clone, Copy)]
struct Tab {
    key: u32,
    sql: RwSignal<String>,
    params: RwSignal<Vec<ParamInput>>,
    named: RwSignal<Vec<NamedValue>>,
    run: RwSignal<Option<RunView>>,
    /// The SQL as sent with the current run (empty when it went through `{{name}}`
    /// compiling, whose positions do not match the editor's text).
    run_sql_text: RwSignal<String>,
    request_error: RwSignal<Option<AppError>>,
    started_at: RwSignal<f64>,
    sort: RwSignal<Option<Sort>>,
    pages: RwSignal<HashMap<u64, Vec<Vec<Option<String>>>>>,
    loading: StoredValue<HashSet<(u64, u64)>>,
    generation: RwSignal<u64>,
    selected: RwSignal<Option<(u64, usize)>>,
    /// Cancel pressed before the server named the run: cancel as soon as it does.
    cancel_pending: StoredValue<bool>,
}

impl Tab {
    fn new(key: u32, sql: String, named: Vec<NamedValue>) -> Tab {
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

    fn clear_result(&self) {
        self.run.set(None);
        self.pages.set(HashMap::new());
        self.sort.set(None);
        self.selected.set(None);
        self.request_error.set(None);
        self.generation.update(|g| *g += 1);
    }
}

#[component]
pub fn WorkbenchPage() -> impl IntoView {
    let role = use_role();
    view! {
        <Title text="SQL workbench"/>
        <Show when=move || role.get().can(Permission::EditInsights) fallback=|| view! {
            <h1>"SQL workbench"</h1>
            <p class="note" role="status">"Writing SQL is for editors and admins. Ask an admin for the editor role, or open the insights shared with you."</p>
        }>
            <Workbench/>
        </Show>
    }
}

#[component]
fn Workbench() -> impl IntoView {
    // The connection list is awaited inside Suspense, so the server and the browser render
    // the same page (reading a resource outside Suspense breaks hydration).
    let connections = Resource::new(|| (), |_| list_connections());
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match connections.await {
                    Ok(list) => view! { <WorkbenchBody list/> }.into_any(),
                    Err(e) => view! { <p class="note error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn WorkbenchBody(list: Vec<ConnectionSummary>) -> impl IntoView {
    let query = use_query_map();
    let auth = use_auth();
    let navigate = StoredValue::new(use_navigate());
    let owner = StoredValue::new(Owner::current());
    let conn_id = RwSignal::new(None::<ConnectionId>);
    let conns = Signal::stored(
        list.into_iter()
            .filter(|c| c.active)
            .collect::<Vec<ConnectionSummary>>(),
    );
    let kind = Signal::derive(move || {
        let id = conn_id.get();
        conns
            .with(|l| l.iter().find(|c| Some(c.id) == id).map(|c| c.kind))
            .unwrap_or(ConnectionKind::Postgres)
    });
    // The connection follows the URL (`?connection=N`, also on Back and Forward), else the
    // first active one; choosing another one puts it in the URL.
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
            navigate.with_value(|n| {
                n(
                    &format!("/workbench?connection={}", id.0),
                    NavigateOptions {
                        replace: true,
                        scroll: false,
                        ..Default::default()
                    },
                )
            });
        }
    });

    // A link may bring the SQL to start from (`?sql=…`, e.g. after an import): it opens in a
    // tab of its own.
    let initial_sql = StoredValue::new(query.with_untracked(|q| q.get("sql")));
    let next_key = StoredValue::new(1u32);
    let first = Tab::new(0, initial_sql.get_value().unwrap_or_default(), vec![]);
    let tabs = RwSignal::new(vec![first]);
    let active = RwSignal::new(0u32);
    let cur = Signal::derive(move || {
        let key = active.get();
        tabs.with(|t| t.iter().find(|t| t.key == key).or(t.first()).copied())
            .unwrap_or(first)
    });
    // Which connection's drafts the tabs hold (nothing is saved until they were loaded).
    let loaded_for = RwSignal::new(None::<ConnectionId>);
    let user_id = move || {
        auth.user
            .get_untracked()
            .and_then(|r| r.ok())
            .map(|m| m.id.0)
            .unwrap_or(0)
    };
    let cur_key = Memo::new(move |_| cur.get().key);
    let textarea = NodeRef::<html::Textarea>::new();
    let show_editor_text = move |text: &str| {
        if let Some(ta) = textarea.get_untracked() {
            js::editor_load(&ta, text);
        }
    };
    let new_tab = move |sql: String, named: Vec<NamedValue>| -> Tab {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        // Tabs live as long as the page, whatever event created them.
        match owner.get_value() {
            Some(o) => o.with(|| Tab::new(key, sql, named)),
            None => Tab::new(key, sql, named),
        }
    };

    // Load the chosen connection's drafts (in the browser: effects do not run on the server).
    Effect::new(move |_| {
        let Some(id) = conn_id.get() else { return };
        if loaded_for.get_untracked() == Some(id) {
            return;
        }
        let saved: SavedTabs = js::storage_get(&storage_key(user_id(), id))
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        let mut list: Vec<Tab> = saved
            .tabs
            .into_iter()
            .take(MAX_TABS)
            .map(|t| new_tab(t.sql, t.named))
            .collect();
        let mut pick = saved.active.min(list.len().saturating_sub(1));
        if let Some(sql) = initial_sql.get_value().filter(|s| !s.trim().is_empty()) {
            initial_sql.set_value(None);
            match list.iter().position(|t| t.sql.get_untracked() == sql) {
                Some(i) => pick = i,
                None => {
                    list.push(new_tab(sql, vec![]));
                    pick = list.len() - 1;
                }
            }
        }
        if list.is_empty() {
            list.push(new_tab(String::new(), vec![]));
            pick = 0;
        }
        let key = list[pick].key;
        let text = list[pick].sql.get_untracked();
        tabs.set(list);
        active.set(key);
        loaded_for.set(Some(id));
        show_editor_text(&text);
    });
    // Keep the drafts: every edit of a tab's SQL or parameters, every tab opened or closed.
    Effect::new(move |_| {
        let Some(id) = loaded_for.get() else { return };
        let key = active.get();
        let list = tabs.get();
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
            js::storage_set(&storage_key(user_id(), id), &json);
        }
    });

    let count = Memo::new(move |_| {
        let marks = kind.get() != ConnectionKind::Postgres;
        cur.get().sql.with(|s| placeholders(s, marks))
    });
    let refs = Memo::new(move |_| cur.get().sql.with(|s| named_refs(s)));
    Effect::new(move |_| {
        let n = count.get();
        cur.get()
            .params
            .update(|p| p.resize(n, ParamInput::default()));
    });
    // The `{{name}}` inputs follow the SQL: new names get a guessed type, old values stay.
    Effect::new(move |_| {
        let found = refs.get();
        let t = cur.get();
        t.named.update(|named| {
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

    let tick = RwSignal::new(0.0f64);
    let show_history = RwSignal::new(false);
    let show_schema = RwSignal::new(true);
    let confirm_reset = RwSignal::new(false);
    let history_version = RwSignal::new(0u32);
    let history = Resource::new(
        move || (show_history.get(), history_version.get()),
        |(open, _)| async move {
            if open {
                query_history(None).await
            } else {
                Ok(vec![])
            }
        },
    );
    let schema = RwSignal::new(None::<Result<Vec<SchemaTable>, AppError>>);

    let running = Signal::derive(move || {
        cur.get()
            .run
            .with(|r| r.as_ref().is_some_and(|r| !r.state.finished()))
    });

    // Follows a tab's run until it finishes (long-polling its status).
    let follow = move |t: Tab, id: RunId| {
        leptos::task::spawn_local(async move {
            loop {
                let same = t
                    .run
                    .try_with_untracked(|r| r.as_ref().map(|r| r.id == id).unwrap_or(false))
                    .unwrap_or(false);
                if !same {
                    return;
                }
                match run_status(id.clone(), 1000).await {
                    Ok(v) => {
                        let finished = v.state.finished();
                        if t.run
                            .try_with_untracked(|r| {
                                r.as_ref().map(|r| r.id == v.id).unwrap_or(false)
                            })
                            .unwrap_or(false)
                        {
                            t.run.set(Some(v));
                        }
                        if finished {
                            history_version.try_update(|n| *n += 1);
                            return;
                        }
                    }
                    Err(e) => {
                        t.request_error.try_set(Some(e));
                        return;
                    }
                }
            }
        });
    };

    let start_run = move || {
        let t = cur.get_untracked();
        let Some(connection_id) = conn_id.get_untracked() else {
            t.request_error.set(Some(AppError::BadRequest(
                "Choose a connection first.".into(),
            )));
            return;
        };
        if t.run
            .with_untracked(|r| r.as_ref().is_some_and(|r| !r.state.finished()))
        {
            return;
        }
        let text = textarea
            .get_untracked()
            .map(|ta| ta.value())
            .unwrap_or_else(|| t.sql.get_untracked());
        t.sql.set(text.clone());
        let named = t.named.get_untracked();
        let uses_names = !named_refs(&text).is_empty();
        let values: Vec<Option<String>> = t
            .params
            .get_untracked()
            .into_iter()
            .take(placeholders(
                &text,
                kind.get_untracked() != ConnectionKind::Postgres,
            ))
            .map(|p| (!p.null).then_some(p.value))
            .collect();
        if let Some(ta) = textarea.get_untracked() {
            js::editor_mark_error(&ta, None);
        }
        t.clear_result();
        t.started_at.set(now_ms());
        t.cancel_pending.set_value(false);
        // Error positions of compiled `{{name}}` SQL do not match the editor's text.
        t.run_sql_text.set(if uses_names {
            String::new()
        } else {
            text.clone()
        });
        t.run.set(Some(RunView::queued()));
        leptos::task::spawn_local(async move {
            let answer = if uses_names {
                let (specs, values) = named_request(&text, &named);
                run_sql_named(NamedRunRequest {
                    connection_id,
                    sql: text,
                    params: specs,
                    values,
                    page_size: PAGE as u32,
                })
                .await
            } else {
                run_sql(RunRequest {
                    connection_id,
                    sql: text,
                    params: values,
                    page_size: PAGE as u32,
                })
                .await
            };
            match answer {
                Ok(mut v) => {
                    if let Some(p) = v.page.take() {
                        t.pages.update(|m| {
                            m.insert(0, p.rows);
                        });
                    }
                    let id = v.id.clone();
                    let finished = v.state.finished();
                    t.run.set(Some(v));
                    if !finished && t.cancel_pending.get_value() {
                        t.cancel_pending.set_value(false);
                        if let Ok(v) = cancel_run(id.clone()).await {
                            t.run.set(Some(v));
                            history_version.update(|n| *n += 1);
                            return;
                        }
                    }
                    if finished {
                        history_version.update(|n| *n += 1);
                    } else {
                        follow(t, id);
                    }
                }
                Err(e) => {
                    t.run.set(None);
                    t.request_error.set(Some(e));
                }
            }
        });
    };

    // The editor: mounted once the page is interactive; Ctrl/Cmd-Enter runs.
    Effect::new(move |_| {
        if let Some(ta) = textarea.get() {
            js::mount_editor(&ta, dialect(kind.get_untracked()), start_run);
        }
    });
    // Autocomplete and the schema panel from the chosen connection's tables and columns.
    Effect::new(move |_| {
        let Some(id) = conn_id.get() else { return };
        let d = dialect(kind.get());
        schema.set(None);
        leptos::task::spawn_local(async move {
            let answer = connection_schema(id).await;
            if conn_id.get_untracked() != Some(id) {
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
            schema.set(Some(answer));
        });
    });
    // Where the database says the error is, marked in the editor (while the text is the one
    // that ran).
    Effect::new(move |_| {
        let t = cur.get();
        let at = t.run.with(|r| {
            r.as_ref()
                .filter(|r| r.state == RunState::Failed)
                .and_then(|r| r.error.as_ref())
                .and_then(|e| e.position)
        });
        let Some(p) = at else { return };
        let sent = t.run_sql_text.get_untracked();
        if let Some(ta) = textarea.get_untracked() {
            if !sent.is_empty() && ta.value() == sent {
                js::editor_mark_error(&ta, Some(utf16_offset(&sent, p)));
            }
        }
    });
    // The elapsed-time display ticks while a run is in progress.
    Effect::new(move |_| {
        if running.get() {
            if let Ok(h) = set_interval_with_handle(
                move || tick.set(now_ms()),
                std::time::Duration::from_millis(100),
            ) {
                on_cleanup(move || h.clear());
            }
        }
    });

    let switch_to = move |key: u32| {
        if active.get_untracked() == key {
            return;
        }
        active.set(key);
        show_editor_text(&cur.get_untracked().sql.get_untracked());
        if let Some(ta) = textarea.get_untracked() {
            js::editor_focus(&ta);
        }
    };
    let add_tab = move |_| {
        if tabs.with_untracked(Vec::len) >= MAX_TABS {
            return;
        }
        let t = new_tab(String::new(), vec![]);
        tabs.update(|l| l.push(t));
        switch_to(t.key);
    };
    let close_tab = move |key: u32| {
        let list = tabs.get_untracked();
        if list.len() <= 1 {
            return;
        }
        let Some(i) = list.iter().position(|t| t.key == key) else {
            return;
        };
        let was_active = active.get_untracked() == key;
        tabs.update(|l| {
            l.remove(i);
        });
        if was_active {
            let next = tabs.with_untracked(|l| l[i.min(l.len() - 1)].key);
            active.set(next);
            show_editor_text(&cur.get_untracked().sql.get_untracked());
        }
    };

    let cancel = move |_| {
        let t = cur.get_untracked();
        let Some(id) = t.run.with_untracked(|r| r.as_ref().map(|r| r.id.clone())) else {
            return;
        };
        if id.0.is_empty() {
            t.cancel_pending.set_value(true);
            return;
        }
        leptos::task::spawn_local(async move {
            match cancel_run(id).await {
                Ok(v) => t.run.set(Some(v)),
                Err(e) => t.request_error.set(Some(e)),
            }
        });
    };
    let reset = move |_| {
        confirm_reset.set(false);
        let Some(id) = conn_id.get_untracked() else {
            return;
        };
        let t = cur.get_untracked();
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
                Err(e) => t.request_error.set(Some(e)),
            }
        });
    };
    let load_entry = Callback::new(move |(e, and_run): (HistoryEntry, bool)| {
        if let Some(c) = e.connection_id {
            if conn_id.get_untracked() != Some(c) {
                // Another connection's query opens among that connection's tabs.
                conn_id.set(Some(c));
                initial_sql.set_value(Some(e.sql.clone()));
                return;
            }
        }
        let t = cur.get_untracked();
        t.sql.set(e.sql.clone());
        t.params.set(
            e.params
                .iter()
                .map(|p| ParamInput {
                    kind: "text",
                    value: p.clone().unwrap_or_default(),
                    null: p.is_none(),
                })
                .collect(),
        );
        if let Some(ta) = textarea.get_untracked() {
            js::editor_set(&ta, &e.sql);
            ta.set_value(&e.sql);
        }
        if and_run {
            start_run();
        }
    });
    let insert_name = move |name: String| {
        let text = sql_name(&name, kind.get_untracked());
        if let Some(ta) = textarea.get_untracked() {
            js::editor_insert(&ta, &text);
        }
    };

    let saving_insight = RwSignal::new(false);
    let insight_name = RwSignal::new(String::new());
    let insight_desc = RwSignal::new(String::new());
    let insight_folder = RwSignal::new(String::new());
    // The folders to save into, read when the form opens.
    let folders = LocalResource::new(move || {
        let open = saving_insight.get();
        async move {
            if !open {
                return Vec::new();
            }
            insight_tree(None, false)
                .await
                .map(|t| folder_paths(&t.folders))
                .unwrap_or_default()
        }
    });
    let save_as_insight = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let t = cur.get_untracked();
        let text = textarea
            .get_untracked()
            .map(|ta| ta.value())
            .unwrap_or_else(|| t.sql.get_untracked());
        // The parameters keep the types chosen here; their values become the defaults.
        let (specs, values) = named_request(&text, &t.named.get_untracked());
        let specs: Vec<ParamSpec> = specs
            .into_iter()
            .map(|mut s| {
                s.default = values
                    .get(&s.name)
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|v| !v.trim().is_empty() && v != "~")
                    .collect();
                s
            })
            .collect();
        let draft = InsightDraft {
            name: insight_name.get_untracked(),
            description: insight_desc.get_untracked(),
            folder_id: insight_folder
                .get_untracked()
                .parse::<i64>()
                .ok()
                .map(FolderId),
            connection_id: conn_id.get_untracked(),
            params: params::specs_for_sql(&text, &specs),
            sql: text,
            ..Default::default()
        };
        leptos::task::spawn_local(async move {
            match save_insight(None, None, draft).await {
                Ok(i) => navigate
                    .with_value(|n| n(&format!("/insights/{}?edit=1", i.id.0), Default::default())),
                Err(e) => t.request_error.set(Some(e)),
            }
        });
    };
    let elapsed = move || {
        let t = cur.get();
        t.run.with(|r| {
            r.as_ref().map(|r| {
                if r.state.finished() {
                    r.elapsed_ms as f64
                } else {
                    (tick.get() - t.started_at.get()).max(r.elapsed_ms as f64)
                }
            })
        })
    };
    let conn_name = move || {
        let id = conn_id.get();
        conns
            .with(|l| l.iter().find(|c| Some(c.id) == id).map(|c| c.name.clone()))
            .unwrap_or_default()
    };

    view! {
        <div class="wb" class:with-schema=move || show_schema.get() class:with-history=move || show_history.get() data-test="workbench">
            <Show when=move || show_schema.get()>
                <SchemaPanel schema insert=Callback::new(insert_name)/>
            </Show>
            <div class="wb-main">
                <div class="wb-toolbar">
                    <label class="inline">"Connection "
                        <select data-test="connection-picker" prop:value=move || conn_id.get().map(|c| c.to_string()).unwrap_or_default()
                            on:change=move |ev| conn_id.set(event_target_value(&ev).parse::<i64>().ok().map(ConnectionId))>
                            {move || conns.get().into_iter().map(|c| view! { <option value=c.id.to_string()>{format!("{} ({})", c.name, c.kind.label())}</option> }).collect_view()}
                        </select>
                    </label>
                    <button class="button primary" data-test="run" title="Run (Ctrl+Enter / ⌘+Enter)" on:click=move |_| start_run() disabled=move || running.get()>"Run"</button>
                    <Show when=move || running.get()>
                        <button class="button danger" data-test="cancel" on:click=cancel>"Cancel"</button>
                    </Show>
                    <span class="wb-timer mono" data-test="timer" aria-live="polite">{move || elapsed().map(|ms| format!("{:.1} s", ms / 1000.0))}</span>
                    <span class="spacer"></span>
                    <button class="button" data-test="schema-toggle" aria-pressed=move || show_schema.get().to_string() on:click=move |_| show_schema.update(|s| *s = !*s)>{move || if show_schema.get() { "Hide schema" } else { "Schema" }}</button>
                    <button class="button" data-test="save-as-insight" on:click=move |_| saving_insight.update(|s| *s = !*s)>"Save as insight"</button>
                    <button class="button" data-test="history-toggle" on:click=move |_| show_history.update(|s| *s = !*s)>{move || if show_history.get() { "Hide history" } else { "History" }}</button>
                    <button class="button" data-test="reset-session" title="Close this connection's sessions and clear the editor" aria-expanded=move || confirm_reset.get().to_string() on:click=move |_| confirm_reset.update(|c| *c = !*c)>"Reset session"</button>
                </div>
                <Show when=move || confirm_reset.get()>
                    <div class="note warn wb-confirm" role="alertdialog" aria-label="Reset session" data-test="reset-confirm">
                        <span>{move || format!("Reset the session? This closes your database sessions on {} (temporary tables and settings go) and clears this tab's SQL and result.", conn_name())}</span>
                        <span class="actions">
                            <button class="button danger small" data-test="reset-confirm-yes" on:click=reset>"Reset and clear"</button>
                            <button class="button small" data-test="reset-confirm-no" on:click=move |_| confirm_reset.set(false)>"Keep my work"</button>
                        </span>
                    </div>
                </Show>
                <Show when=move || saving_insight.get()>
                    <form class="card inline-form save-insight" data-test="save-insight-form" on:submit=save_as_insight>
                        <label>"Name "<input type="text" name="name" required data-test="insight-name-input" prop:value=move || insight_name.get() on:input=move |ev| insight_name.set(event_target_value(&ev))/></label>
                        <label>"Description "<input type="text" name="description" prop:value=move || insight_desc.get() on:input=move |ev| insight_desc.set(event_target_value(&ev))/></label>
                        <label>"Folder "
                            <select name="folder" data-test="insight-folder-input" prop:value=move || insight_folder.get() on:change=move |ev| insight_folder.set(event_target_value(&ev))>
                                <option value="">"No folder"</option>
                                {move || folders.get().unwrap_or_default().into_iter().map(|(id, path)| view! {
                                    <option value=id.0.to_string()>{path}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <button class="button primary" type="submit" data-test="save-insight-submit">"Save"</button>
                        <span class="muted small">"{{name}} parameters keep the types chosen here; their values become the defaults."</span>
                    </form>
                </Show>
                <div class="wb-tabs" role="tablist" aria-label="Query tabs" data-test="tabs">
                    <For each=move || tabs.get() key=|t| t.key let:t>
                        {
                            let key = t.key;
                            let selected = move || active.get() == key;
                            view! {
                                <span class="wb-tab" class:active=selected data-test="tab">
                                    <button role="tab" class="wb-tab-name" aria-selected=move || selected().to_string()
                                        title=move || t.sql.with(|s| tab_title(s))
                                        on:click=move |_| switch_to(key)>
                                        {move || t.sql.with(|s| tab_title(s))}
                                        {move || t.run.with(|r| r.as_ref().map(|r| r.state)).filter(|s| !s.finished()).map(|_| view! { <span class="wb-tab-busy" aria-label="running">" ●"</span> })}
                                    </button>
                                    <Show when=move || tabs.with(|l| l.len() > 1)>
                                        <button class="wb-tab-close" data-test="close-tab" aria-label="Close tab" title="Close tab" on:click=move |_| close_tab(key)>"×"</button>
                                    </Show>
                                </span>
                            }
                        }
                    </For>
                    <button class="wb-tab-add" data-test="add-tab" aria-label="New tab" title="New tab" on:click=add_tab
                        disabled=move || tabs.with(|l| l.len() >= MAX_TABS)>"+"</button>
                </div>
                <div class="wb-editor">
                    <textarea node_ref=textarea class="mono sql-input" data-test="sql" spellcheck="false" aria-label="SQL"
                        placeholder="select * from orders where ordered_at > {{since}} limit 100"
                        prop:value=move || cur.get().sql.get()
                        on:input=move |ev| cur.get_untracked().sql.set(event_target_value(&ev))
                        on:keydown=move |ev| {
                            if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) { ev.prevent_default(); start_run(); }
                        }></textarea>
                </div>
                <p class="muted small">{move || if kind.get() == ConnectionKind::Postgres {
                    "Ctrl+Enter (⌘+Enter) runs. Use {{name}} (or $1, $2, …) for values; they are sent separately from the SQL."
                } else {
                    "Ctrl+Enter (⌘+Enter) runs. Use {{name}} (or ?) for values; they are sent separately from the SQL."
                }}</p>
                {move || {
                    cur_key.track();
                    let t = cur.get_untracked();
                    if !refs.get().is_empty() {
                        view! { <NamedInputs named=t.named refs/> }.into_any()
                    } else if count.get() > 0 {
                        view! { <ParamInputs params=t.params/> }.into_any()
                    } else {
                        ().into_any()
                    }
                }}
                {move || {
                    cur_key.track();
                    let t = cur.get_untracked();
                    view! {
                        <ErrorNote error=Signal::derive(move || t.request_error.get())/>
                        <ResultPanel run=t.run run_sql_text=t.run_sql_text sort=t.sort pages=t.pages loading=t.loading generation=t.generation selected=t.selected/>
                    }
                }}
            </div>
            <Show when=move || show_history.get()>
                <aside class="wb-history card" data-test="history">
                    <h2>"History"</h2>
                    <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                        {move || Suspend::new(async move {
                            match history.await {
                                Ok(list) if list.is_empty() => view! { <p class="muted">"Queries you run appear here."</p> }.into_any(),
                                Ok(list) => view! {
                                    <ul class="history-list">
                                        {list.into_iter().map(|e| {
                                            let open = e.clone();
                                            let again = e.clone();
                                            view! {
                                                <li class=format!("history-item state-{}", e.state.as_str())>
                                                    <pre class="mono">{e.sql.chars().take(300).collect::<String>()}</pre>
                                                    <p class="muted small" data-test="history-line">{history_line(&e)}</p>
                                                    {e.error.clone().map(|m| view! { <p class="field-error small">{m}</p> })}
                                                    <div class="actions">
                                                        <button class="button small" on:click=move |_| load_entry.run((open.clone(), false))>"Copy to editor"</button>
                                                        <button class="button small" data-test="history-rerun" on:click=move |_| load_entry.run((again.clone(), true))>"Run again"</button>
                                                    </div>
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ul>
                                }.into_any(),
                                Err(e) => view! { <p class="note error">{e.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Suspense>
                </aside>
            </Show>
        </div>
    }
}

/// `Demo · 2026-12-07 10:00:00 · done · 1 row · 12 ms`
fn history_line(e: &HistoryEntry) -> String {
    let mut parts = vec![
        e.connection_name.clone(),
        e.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        e.state.as_str().to_string(),
    ];
    if let Some(n) = e.row_count {
        parts.push(plural(n, "row", "rows"));
    }
    if let Some(ms) = e.elapsed_ms {
        parts.push(format!("{} ms", thousands(ms)));
    }
    parts.join(" · ")
}

/// The chosen connection's tables and columns; a click puts the name at the cursor.
#[component]
fn SchemaPanel(
    schema: RwSignal<Option<Result<Vec<SchemaTable>, AppError>>>,
    insert: Callback<String>,
) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let open = RwSignal::new(HashSet::<String>::new());
    view! {
        <aside class="wb-schema card" data-test="schema" aria-label="Tables and columns">
            <h2>"Schema"</h2>
            <input type="search" class="wb-schema-filter" placeholder="Find a table or column" aria-label="Find a table or column"
                data-test="schema-filter" prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev))/>
            {move || match schema.get() {
                None => view! { <p class="muted small">"Loading tables…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="field-error small">{format!("The tables could not be read: {e}")}</p> }.into_any(),
                Some(Ok(tables)) if tables.is_empty() => view! { <p class="muted small">"This connection has no tables you can read."</p> }.into_any(),
                Some(Ok(tables)) => {
                    let needle = filter.get().trim().to_lowercase();
                    let shown: Vec<SchemaTable> = tables
                        .into_iter()
                        .filter(|t| needle.is_empty()
                            || t.name.to_lowercase().contains(&needle)
                            || t.columns.iter().any(|c| c.to_lowercase().contains(&needle)))
                        .take(300)
                        .collect();
                    view! {
                        <ul class="wb-schema-list">
                            {shown.into_iter().map(|t| {
                                let name = t.name.clone();
                                let n2 = name.clone();
                                let n3 = name.clone();
                                let expanded = move || !needle_empty(&filter) || open.with(|o| o.contains(&n2));
                                let cols = t.columns.clone();
                                view! {
                                    <li class="wb-schema-table" data-test="schema-table" data-name=name.clone()>
                                        <div class="wb-schema-row">
                                            <button class="wb-schema-toggle" aria-label=format!("Columns of {name}") aria-expanded={let e = expanded.clone(); move || e().to_string()}
                                                on:click=move |_| open.update(|o| if !o.remove(&n3) { o.insert(n3.clone()); })>
                                                {let e = expanded.clone(); move || if e() { "▾" } else { "▸" }}
                                            </button>
                                            <button class="wb-schema-name mono" title="Insert at the cursor" data-test="schema-insert-table"
                                                on:click={let n = name.clone(); move |_| insert.run(n.clone())}>{name.clone()}</button>
                                        </div>
                                        <Show when=expanded.clone()>
                                            <ul class="wb-schema-cols">
                                                {cols.clone().into_iter().map(|c| {
                                                    let c2 = c.clone();
                                                    view! { <li><button class="wb-schema-name mono small" title="Insert at the cursor" data-test="schema-insert-column" on:click=move |_| insert.run(c2.clone())>{c}</button></li> }
                                                }).collect_view()}
                                            </ul>
                                        </Show>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
        </aside>
    }
}

fn needle_empty(filter: &RwSignal<String>) -> bool {
    filter.with(|f| f.trim().is_empty())
}

/// Typed inputs for the `{{name}}` parameters the SQL uses.
#[component]
fn NamedInputs(named: RwSignal<Vec<NamedValue>>, refs: Memo<Vec<(String, bool)>>) -> impl IntoView {
    view! {
        <fieldset class="wb-params" data-test="named-params">
            <legend>"Parameters"</legend>
            {move || refs.get().into_iter().map(|(name, range)| view! { <NamedRow named name range/> }).collect_view()}
            <p class="muted small">"Values are checked against their type and sent separately from the SQL. An empty value is NULL."</p>
        </fieldset>
    }
}

/// One `{{name}}` parameter: its type (a date range when the SQL uses `.start`/`.end`) and
/// its value. The input is re-created only when the type changes, so typing keeps focus.
#[component]
fn NamedRow(named: RwSignal<Vec<NamedValue>>, name: String, range: bool) -> impl IntoView {
    let key = StoredValue::new(name.clone());
    let field = move |f: fn(&NamedValue) -> String| {
        named.with(|l| {
            key.with_value(|k| l.iter().find(|x| &x.name == k).map(f))
                .unwrap_or_default()
        })
    };
    let update = move |f: &dyn Fn(&mut NamedValue)| {
        named.update(|l| {
            key.with_value(|k| {
                if let Some(x) = l.iter_mut().find(|x| &x.name == k) {
                    f(x)
                }
            })
        })
    };
    let kind = Memo::new(move |_| {
        named.with(|l| {
            key.with_value(|k| l.iter().find(|x| &x.name == k).map(|x| x.kind))
                .unwrap_or_default()
        })
    });
    let id = format!("wbp_{name}");
    let label = format!("{{{{{name}}}}}");
    let kind_picker = if range {
        view! { <span class="muted small">"Date range"</span> }.into_any()
    } else {
        view! {
            <select aria-label=format!("Type of {name}") data-test=format!("named-kind-{name}") prop:value=move || kind_key(kind.get())
                on:change=move |ev| {
                    let k = event_target_value(&ev);
                    let chosen = NAMED_KINDS.iter().find(|(x, _)| kind_key(*x) == k).map(|(x, _)| *x).unwrap_or_default();
                    update(&|x: &mut NamedValue| { x.kind = chosen; x.value.clear(); });
                }>
                {NAMED_KINDS.iter().map(|(k, l)| {
                    let k = *k;
                    // `selected` too: the options may arrive after the select's value is set.
                    view! { <option value=kind_key(k) selected=move || kind.get() == k>{*l}</option> }
                }).collect_view()}
            </select>
        }
        .into_any()
    };
    let input = {
        let id = id.clone();
        let name = name.clone();
        move || {
            let value = move || field(|x| x.value.clone());
            let set_value = move |ev: leptos::ev::Event| {
                let v = event_target_value(&ev);
                update(&|x: &mut NamedValue| x.value = v.clone())
            };
            match kind.get() {
                ParamKind::Boolean => view! {
                    <select id=id.clone() data-test=format!("named-{name}") prop:value=value on:change=set_value>
                        <option value="" selected=move || field(|x| x.value.clone()).is_empty()>"—"</option>
                        <option value="true" selected=move || field(|x| x.value.clone()) == "true">"Yes"</option>
                        <option value="false" selected=move || field(|x| x.value.clone()) == "false">"No"</option>
                    </select>
                }
                .into_any(),
                ParamKind::DateRange => view! {
                    <span class="date-range">
                        <input id=id.clone() type="date" aria-label=format!("First day of {name}") data-test=format!("named-{name}")
                            prop:value=value on:input=set_value/>
                        "to"
                        <input type="date" aria-label=format!("Last day of {name}") data-test=format!("named-{name}-end")
                            prop:value=move || field(|x| x.end.clone())
                            on:input=move |ev| { let v = event_target_value(&ev); update(&|x: &mut NamedValue| x.end = v.clone()) }/>
                    </span>
                }
                .into_any(),
                k => {
                    let (ty, step) = match k {
                        ParamKind::Number => ("number", Some("any")),
                        ParamKind::Integer => ("number", Some("1")),
                        ParamKind::Date => ("date", None),
                        ParamKind::DateTime => ("datetime-local", Some("1")),
                        _ => ("text", None),
                    };
                    view! {
                        <input id=id.clone() type=ty step=step data-test=format!("named-{name}") prop:value=value on:input=set_value/>
                    }
                    .into_any()
                }
            }
        }
    };
    view! {
        <div class="param-row" data-test="named-param" data-name=name.clone()>
            <label class="mono param-name" for=id>{label}</label>
            {kind_picker}
            {input}
        </div>
    }
}

#[component]
fn ParamInputs(params: RwSignal<Vec<ParamInput>>) -> impl IntoView {
    view! {
        <fieldset class="wb-params" data-test="params">
            <legend>"Parameters"</legend>
            {move || (0..params.with(|p| p.len())).map(|i| {
                let get = move || params.with(|p| p.get(i).cloned().unwrap_or_default());
                view! {
                    <div class="param-row">
                        <span class="mono param-name">{format!("${}", i + 1)}</span>
                        <select aria-label=format!("Type of ${}", i + 1) prop:value=move || get().kind
                            on:change=move |ev| { let k = event_target_value(&ev); params.update(|p| if let Some(x) = p.get_mut(i) {
                                x.kind = PARAM_KINDS.iter().find(|(v, _)| *v == k).map(|(v, _)| *v).unwrap_or("text");
                                if x.kind == "bool" && x.value != "true" && x.value != "false" { x.value = "true".into() }
                            }) }>
                            {PARAM_KINDS.iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
                        </select>
                        {move || {
                            let p = get();
                            if p.kind == "bool" {
                                view! {
                                    <select aria-label=format!("Value of ${}", i + 1) data-test=format!("param-{}", i + 1) prop:value=p.value.clone() disabled=p.null
                                        on:change=move |ev| { let v = event_target_value(&ev); params.update(|p| if let Some(x) = p.get_mut(i) { x.value = v }) }>
                                        <option value="true">"true"</option>
                                        <option value="false">"false"</option>
                                    </select>
                                }.into_any()
                            } else {
                                view! {
                                    <input type=p.kind aria-label=format!("Value of ${}", i + 1) data-test=format!("param-{}", i + 1) step="any" prop:value=p.value.clone() disabled=p.null
                                        on:input=move |ev| { let v = event_target_value(&ev); params.update(|p| if let Some(x) = p.get_mut(i) { x.value = v }) }/>
                                }.into_any()
                            }
                        }}
                        <label class="check">
                            <input type="checkbox" prop:checked=move || get().null on:change=move |ev| { let c = event_target_checked(&ev); params.update(|p| if let Some(x) = p.get_mut(i) { x.null = c }) }/>
                            "NULL"
                        </label>
                    </div>
                }
            }).collect_view()}
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_ignore_strings_and_comments() {
        assert_eq!(placeholders("select $1, $2", false), 2);
        assert_eq!(
            placeholders("select '$3', \"$4\" -- $5\n, $1 /* $9 */", false),
            1
        );
        assert_eq!(placeholders("select a$1 from t", false), 0);
        assert_eq!(placeholders("select $10", false), 10);
        assert_eq!(placeholders("", false), 0);
        // MySQL and SQLite count `?`; PostgreSQL's `?` is a JSON operator.
        assert_eq!(placeholders("select ?, '?', ? -- ?", true), 2);
        assert_eq!(placeholders("select j ? 'k' from t", false), 0);
    }

    #[test]
    fn named_parameters_become_specs_and_url_values() {
        let sql = "select {{n}}, {{day}} where x between {{p.start}} and {{p.end}} or y = {{n}}";
        assert_eq!(
            named_refs(sql),
            vec![
                ("n".to_string(), false),
                ("day".to_string(), false),
                ("p".to_string(), true)
            ]
        );
        let named = vec![
            NamedValue {
                name: "n".into(),
                kind: ParamKind::Integer,
                value: "21".into(),
                end: String::new(),
            },
            NamedValue {
                name: "p".into(),
                kind: ParamKind::DateRange,
                value: "2024-01-01".into(),
                end: "2024-01-31".into(),
            },
        ];
        let (specs, values) = named_request(sql, &named);
        let kinds: Vec<(String, ParamKind)> =
            specs.iter().map(|s| (s.name.clone(), s.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("n".to_string(), ParamKind::Integer),
                ("day".to_string(), ParamKind::Date),
                ("p".to_string(), ParamKind::DateRange)
            ]
        );
        assert_eq!(values["n"], vec!["21".to_string()]);
        assert_eq!(values["day"], vec![String::new()]);
        assert_eq!(values["p"], vec!["2024-01-01~2024-01-31".to_string()]);
        // What the server parses: the same values, typed.
        let today = chrono::NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
        assert_eq!(
            params::parse_value(&specs[0], &values["n"], today),
            Ok(params::ParamValue::Integer(21))
        );
        assert!(named_refs("select 1").is_empty());
        assert!(named_refs("select {{unclosed").is_empty());
    }

    #[test]
    fn names_are_quoted_only_when_needed() {
        assert_eq!(sql_name("orders", ConnectionKind::Postgres), "orders");
        assert_eq!(
            sql_name("public.Order Items", ConnectionKind::Postgres),
            "public.\"Order Items\""
        );
        assert_eq!(
            sql_name("Weird`Name", ConnectionKind::Mysql),
            "`Weird``Name`"
        );
        assert_eq!(sql_name("1st", ConnectionKind::Sqlite), "\"1st\"");
    }

    #[test]
    fn error_positions_count_as_the_editor_does() {
        // 1-based characters from the database, 0-based UTF-16 units for CodeMirror.
        assert_eq!(utf16_offset("select x", 8), 7);
        assert_eq!(utf16_offset("select '😀', nope", 14), 14);
        assert_eq!(utf16_offset("", 1), 0);
    }

    #[test]
    fn tabs_are_named_after_their_first_line() {
        assert_eq!(tab_title(""), "New query");
        assert_eq!(tab_title("\n  select 1\nfrom t"), "select 1");
        assert_eq!(
            tab_title("select a_very_long_column_name, another_one from t"),
            "select a_very_long_column_n…"
        );
    }
}
