//! The SQL workbench: pick a connection, write SQL (CodeMirror, autocomplete, Ctrl/Cmd-Enter),
//! fill `$n` parameters, run with a live timer and Cancel, and read the result in a virtual
//! grid that pages and sorts on the server. History and "Reset session" on the side.
use crate::{
    api::{
        connections::{connection_schema, list_connections},
        workbench::{cancel_run, fetch_rows, query_history, reset_session, run_sql, run_status},
    },
    error::AppError,
    model::{
        connection::{ConnectionId, ConnectionKind, ConnectionSummary},
        run::{HistoryEntry, RunId, RunRequest, RunState, RunView, Sort},
        Permission, Role,
    },
    ui::{
        components::feedback::{ErrorNote, Loading},
        context::auth::use_auth,
        js,
    },
};
use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use std::collections::{HashMap, HashSet};

const ROW_H: f64 = 28.0;
const PAGE: u64 = 200;

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

/// 1-based line and column of a 1-based character position.
fn line_col(sql: &str, position: u32) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for c in sql.chars().take(position.saturating_sub(1) as usize) {
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
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

#[component]
pub fn WorkbenchPage() -> impl IntoView {
    let auth = use_auth();
    let role = Signal::derive(move || {
        auth.user
            .get()
            .and_then(|r| r.ok())
            .map(|m| m.role)
            .unwrap_or(Role::Viewer)
    });
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
    let conn_id = RwSignal::new(None::<ConnectionId>);
    let conns = Signal::stored(
        list.into_iter()
            .filter(|c| c.active)
            .collect::<Vec<ConnectionSummary>>(),
    );
    // Pick the connection from the URL, else the first active one.
    Effect::new(move |_| {
        let list = conns.get();
        if conn_id.get_untracked().is_none() {
            let wanted = query
                .with_untracked(|q| q.get("connection"))
                .and_then(|s| s.parse::<i64>().ok())
                .map(ConnectionId);
            let pick = wanted
                .filter(|w| list.iter().any(|c| c.id == *w))
                .or_else(|| list.first().map(|c| c.id));
            if pick.is_some() {
                conn_id.set(pick);
            }
        }
    });
    let kind = Signal::derive(move || {
        let id = conn_id.get();
        conns
            .with(|l| l.iter().find(|c| Some(c.id) == id).map(|c| c.kind))
            .unwrap_or(ConnectionKind::Postgres)
    });

    let sql = RwSignal::new(String::new());
    let params = RwSignal::new(Vec::<ParamInput>::new());
    let count = Memo::new(move |_| {
        let marks = kind.get() != ConnectionKind::Postgres;
        sql.with(|s| placeholders(s, marks))
    });
    Effect::new(move |_| {
        let n = count.get();
        params.update(|p| p.resize(n, ParamInput::default()));
    });

    let run = RwSignal::new(None::<RunView>);
    let run_sql_text = RwSignal::new(String::new());
    let request_error = RwSignal::new(None::<AppError>);
    let started_at = RwSignal::new(0.0f64);
    let tick = RwSignal::new(0.0f64);
    let sort = RwSignal::new(None::<Sort>);
    let pages = RwSignal::new(HashMap::<u64, Vec<Vec<Option<String>>>>::new());
    let loading = StoredValue::new(HashSet::<(u64, u64)>::new());
    let generation = RwSignal::new(0u64);
    let selected = RwSignal::new(None::<(u64, usize)>);
    let show_history = RwSignal::new(false);
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
    let textarea = NodeRef::<html::Textarea>::new();

    let running =
        Signal::derive(move || run.with(|r| r.as_ref().is_some_and(|r| !r.state.finished())));
    // Cancel pressed before the server named the run: cancel as soon as it does.
    let cancel_pending = StoredValue::new(false);

    // Follows a run until it finishes (long-polling its status).
    let follow = move |id: RunId| {
        leptos::task::spawn_local(async move {
            loop {
                let same = run.with_untracked(|r| r.as_ref().map(|r| r.id == id).unwrap_or(false));
                if !same {
                    return;
                }
                match run_status(id.clone(), 1000).await {
                    Ok(v) => {
                        let finished = v.state.finished();
                        if run.with_untracked(|r| r.as_ref().map(|r| r.id == v.id).unwrap_or(false))
                        {
                            run.set(Some(v));
                        }
                        if finished {
                            history_version.update(|n| *n += 1);
                            return;
                        }
                    }
                    Err(e) => {
                        request_error.set(Some(e));
                        return;
                    }
                }
            }
        });
    };

    let start_run = move || {
        let Some(connection_id) = conn_id.get_untracked() else {
            request_error.set(Some(AppError::BadRequest(
                "Choose a connection first.".into(),
            )));
            return;
        };
        if running.get_untracked() {
            return;
        }
        let text = textarea
            .get_untracked()
            .map(|t| t.value())
            .unwrap_or_else(|| sql.get_untracked());
        sql.set(text.clone());
        let values: Vec<Option<String>> = params
            .get_untracked()
            .into_iter()
            .take(placeholders(
                &text,
                kind.get_untracked() != ConnectionKind::Postgres,
            ))
            .map(|p| (!p.null).then_some(p.value))
            .collect();
        request_error.set(None);
        sort.set(None);
        selected.set(None);
        pages.set(HashMap::new());
        generation.update(|g| *g += 1);
        started_at.set(now_ms());
        cancel_pending.set_value(false);
        run_sql_text.set(text.clone());
        run.set(Some(RunView {
            id: RunId(String::new()),
            state: RunState::Queued,
            queue_position: None,
            columns: vec![],
            row_count: 0,
            truncated: false,
            elapsed_ms: 0,
            error: None,
            page: None,
        }));
        leptos::task::spawn_local(async move {
            match run_sql(RunRequest {
                connection_id,
                sql: text,
                params: values,
                page_size: PAGE as u32,
            })
            .await
            {
                Ok(mut v) => {
                    if let Some(p) = v.page.take() {
                        pages.update(|m| {
                            m.insert(0, p.rows);
                        });
                    }
                    let id = v.id.clone();
                    let finished = v.state.finished();
                    run.set(Some(v));
                    if !finished && cancel_pending.get_value() {
                        cancel_pending.set_value(false);
                        if let Ok(v) = cancel_run(id.clone()).await {
                            run.set(Some(v));
                            history_version.update(|n| *n += 1);
                            return;
                        }
                    }
                    if finished {
                        history_version.update(|n| *n += 1);
                    } else {
                        follow(id);
                    }
                }
                Err(e) => {
                    run.set(None);
                    request_error.set(Some(e));
                }
            }
        });
    };

    // The editor: mounted once the page is interactive; Ctrl/Cmd-Enter runs.
    Effect::new(move |_| {
        if let Some(ta) = textarea.get() {
            js::mount_editor(&ta, dialect(kind.get_untracked()), move || start_run());
        }
    });
    // Autocomplete from the chosen connection's tables and columns.
    Effect::new(move |_| {
        let Some(id) = conn_id.get() else { return };
        let d = dialect(kind.get());
        leptos::task::spawn_local(async move {
            if let Ok(tables) = connection_schema(id).await {
                let map: serde_json::Map<String, serde_json::Value> = tables
                    .into_iter()
                    .map(|t| (t.name, serde_json::json!(t.columns)))
                    .collect();
                if let Some(ta) = textarea.get_untracked() {
                    js::editor_schema(&ta, &serde_json::Value::Object(map).to_string(), d);
                }
            }
        });
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

    let cancel = move |_| {
        let Some(id) = run.with_untracked(|r| r.as_ref().map(|r| r.id.clone())) else {
            return;
        };
        if id.0.is_empty() {
            cancel_pending.set_value(true);
            return;
        }
        leptos::task::spawn_local(async move {
            match cancel_run(id).await {
                Ok(v) => run.set(Some(v)),
                Err(e) => request_error.set(Some(e)),
            }
        });
    };
    let reset = move |_| {
        let Some(id) = conn_id.get_untracked() else {
            return;
        };
        leptos::task::spawn_local(async move {
            match reset_session(id).await {
                Ok(()) => {
                    run.set(None);
                    pages.set(HashMap::new());
                    sort.set(None);
                    selected.set(None);
                    request_error.set(None);
                    params.set(vec![]);
                    sql.set(String::new());
                    if let Some(ta) = textarea.get_untracked() {
                        js::editor_set(&ta, "");
                        js::editor_focus(&ta);
                    }
                }
                Err(e) => request_error.set(Some(e)),
            }
        });
    };
    let load_entry = Callback::new(move |(e, and_run): (HistoryEntry, bool)| {
        if let Some(c) = e.connection_id {
            conn_id.set(Some(c));
        }
        sql.set(e.sql.clone());
        params.set(
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

    let elapsed = move || {
        run.with(|r| {
            r.as_ref().map(|r| {
                if r.state.finished() {
                    r.elapsed_ms as f64
                } else {
                    (tick.get() - started_at.get()).max(r.elapsed_ms as f64)
                }
            })
        })
    };

    view! {
        <div class="wb" data-test="workbench">
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
                    <button class="button" data-test="history-toggle" on:click=move |_| show_history.update(|s| *s = !*s)>{move || if show_history.get() { "Hide history" } else { "History" }}</button>
                    <button class="button" data-test="reset-session" title="Close this connection's sessions and clear the editor" on:click=reset>"Reset session"</button>
                </div>
                <div class="wb-editor">
                    <textarea node_ref=textarea class="mono sql-input" data-test="sql" spellcheck="false" aria-label="SQL"
                        placeholder="select * from orders where ordered_at > $1 limit 100"
                        prop:value=move || sql.get()
                        on:input=move |ev| sql.set(event_target_value(&ev))
                        on:keydown=move |ev| {
                            if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) { ev.prevent_default(); start_run(); }
                        }></textarea>
                </div>
                <p class="muted small">{move || if kind.get() == ConnectionKind::Postgres { "Ctrl+Enter (⌘+Enter) runs. Use $1, $2, … for values; they are sent separately from the SQL." } else { "Ctrl+Enter (⌘+Enter) runs. Use ? for values; they are sent separately from the SQL." }}</p>
                <Show when=move || { count.get() > 0 }>
                    <ParamInputs params/>
                </Show>
                <ErrorNote error=Signal::derive(move || request_error.get())/>
                <ResultPanel run run_sql_text sort pages loading generation selected/>
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
                                                    <p class="muted small">
                                                        {format!("{} · {} · {} · {}{}",
                                                            e.connection_name,
                                                            e.started_at.format("%Y-%m-%d %H:%M:%S"),
                                                            e.state.as_str(),
                                                            e.row_count.map(|n| format!("{n} rows")).unwrap_or_default(),
                                                            e.elapsed_ms.map(|ms| format!(" · {ms} ms")).unwrap_or_default())}
                                                    </p>
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

#[component]
fn ResultPanel(
    run: RwSignal<Option<RunView>>,
    run_sql_text: RwSignal<String>,
    sort: RwSignal<Option<Sort>>,
    pages: RwSignal<HashMap<u64, Vec<Vec<Option<String>>>>>,
    loading: StoredValue<HashSet<(u64, u64)>>,
    generation: RwSignal<u64>,
    selected: RwSignal<Option<(u64, usize)>>,
) -> impl IntoView {
    let scroll_top = RwSignal::new(0.0f64);
    let grid = NodeRef::<html::Div>::new();
    let viewport = 480.0f64;
    let row_count =
        Signal::derive(move || run.with(|r| r.as_ref().map(|r| r.row_count).unwrap_or(0)));
    let columns = Signal::derive(move || {
        run.with(|r| r.as_ref().map(|r| r.columns.clone()).unwrap_or_default())
    });
    let run_id = Signal::derive(move || run.with(|r| r.as_ref().map(|r| r.id.clone())));
    // A new result starts at its first row.
    Effect::new(move |_| {
        run_id.track();
        scroll_top.set(0.0);
        if let Some(el) = grid.get_untracked() {
            el.set_scroll_top(0);
        }
    });
    // Column widths from the header and the values of a loaded page.
    let widths = Memo::new(move |_| {
        columns.with(|cols| {
            pages.with(|m| {
                let sample = m.get(&0).or_else(|| m.values().next());
                cols.iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let longest = sample
                            .map(|rows| {
                                rows.iter()
                                    .take(50)
                                    .map(|r| {
                                        r.get(i)
                                            .and_then(|v| v.as_ref())
                                            .map_or(4, |v| v.chars().count())
                                    })
                                    .max()
                                    .unwrap_or(0)
                            })
                            .unwrap_or(0);
                        let chars = c
                            .name
                            .chars()
                            .count()
                            .max(c.type_name.chars().count())
                            .max(longest);
                        (chars as f64 * 8.2 + 28.0).clamp(80.0, 360.0)
                    })
                    .collect::<Vec<f64>>()
            })
        })
    });
    let template = move || {
        let w: Vec<String> = widths.get().iter().map(|w| format!("{w}px")).collect();
        format!("64px {}", w.join(" "))
    };
    let window = Memo::new(move |_| {
        let n = row_count.get();
        let first = ((scroll_top.get() / ROW_H).floor() as u64).saturating_sub(10);
        let last = (first + (viewport / ROW_H).ceil() as u64 + 30).min(n);
        (first.min(n), last)
    });
    // Fetch the pages the window needs (and refetch partial ones while the result grows).
    Effect::new(move |_| {
        let (first, last) = window.get();
        let Some(id) = run_id.get() else { return };
        if id.0.is_empty() || last == 0 {
            return;
        }
        let n = row_count.get();
        let s = sort.get();
        let gen = generation.get();
        let done = run.with_untracked(|r| r.as_ref().is_some_and(|r| r.state.finished()));
        // A sort over a growing result waits until the result is complete.
        if s.is_some() && !done {
            return;
        }
        for p in first / PAGE..=(last.saturating_sub(1)) / PAGE {
            let have = pages.with_untracked(|m| m.get(&p).map(|r| r.len() as u64));
            let want = PAGE.min(n - p * PAGE);
            if have.is_some_and(|h| h >= want) || loading.with_value(|l| l.contains(&(gen, p))) {
                continue;
            }
            loading.update_value(|l| {
                l.insert((gen, p));
            });
            let id = id.clone();
            leptos::task::spawn_local(async move {
                let result = fetch_rows(id, p * PAGE, PAGE as u32, s).await;
                loading.update_value(|l| {
                    l.remove(&(gen, p));
                });
                if generation.get_untracked() != gen {
                    return;
                }
                if let Ok(page) = result {
                    pages.update(|m| {
                        m.insert(p, page.rows);
                    });
                }
            });
        }
    });
    let click_header = move |i: usize| {
        if !run.with_untracked(|r| r.as_ref().is_some_and(|r| r.state.finished())) {
            return;
        }
        let next = match sort.get_untracked() {
            Some(s) if s.column as usize == i && !s.descending => Some(Sort {
                column: i as u32,
                descending: true,
            }),
            Some(s) if s.column as usize == i => None,
            _ => Some(Sort {
                column: i as u32,
                descending: false,
            }),
        };
        generation.update(|g| *g += 1);
        pages.set(HashMap::new());
        selected.set(None);
        sort.set(next);
    };
    let cell = move |r: u64, c: usize| -> Option<Option<String>> {
        pages.with(|m| {
            m.get(&(r / PAGE))
                .and_then(|p| p.get((r % PAGE) as usize))
                .and_then(|row| row.get(c).cloned())
        })
    };
    let selected_value = move || {
        selected
            .get()
            .and_then(|(r, c)| cell(r, c).map(|v| (r, c, v)))
    };

    view! {
        {move || run.get().map(|r| {
            let status = match r.state {
                RunState::Queued => match r.queue_position {
                    Some(p) if p > 0 => format!("Queued: {p} run(s) ahead on this connection…"),
                    _ => "Queued…".to_string(),
                },
                RunState::Running => format!("Running… {} rows so far", r.row_count),
                RunState::Done => format!("{} row{} in {} ms", r.row_count, if r.row_count == 1 { "" } else { "s" }, r.elapsed_ms),
                RunState::Failed => format!("Failed after {} ms", r.elapsed_ms),
                RunState::Cancelled => format!("Cancelled after {} ms", r.elapsed_ms),
            };
            view! {
                <div class=format!("wb-status state-{}", r.state.as_str()) data-test="run-status" data-state=r.state.as_str() data-rows=r.row_count.to_string()>
                    <span>{status}</span>
                    {r.truncated.then(|| view! { <span class="status warn" data-test="truncated">{format!("Stopped at the {}-row limit: the result has more rows.", r.row_count)}</span> })}
                </div>
                {r.error.clone().map(|e| {
                    let at = e.position.map(|p| { let (l, c) = line_col(&run_sql_text.get_untracked(), p); format!(" (line {l}, column {c})") }).unwrap_or_default();
                    view! {
                        <div class="note error" role="alert" data-test="run-error">
                            <strong>{e.message.clone()}</strong>{at}
                            {e.code.clone().map(|c| view! { <span class="muted small">{format!(" SQLSTATE {c}")}</span> })}
                        </div>
                    }
                })}
            }
        })}
        <Show when=move || !columns.with(|c| c.is_empty())>
            <div class="cell-bar" data-test="cell-bar">
                {move || match selected_value() {
                    Some((r, c, v)) => {
                        let name = columns.with(|cols| cols.get(c).map(|x| x.name.clone()).unwrap_or_default());
                        let text = v.clone().unwrap_or_default();
                        view! {
                            <span class="muted small">{format!("Row {}, {}: ", r + 1, name)}</span>
                            <span class="mono cell-value">{match v { Some(t) => t.into_any(), None => view! { <span class="null">"NULL"</span> }.into_any() }}</span>
                            <button class="button small" data-test="copy-cell" on:click=move |_| js::copy_text(&text)>"Copy"</button>
                        }.into_any()
                    }
                    None => view! { <span class="muted small">"Click a cell to see and copy its value. Click a column header to sort."</span> }.into_any(),
                }}
            </div>
            <div class="grid-scroll" node_ref=grid data-test="grid" tabindex="0" style=format!("height:{viewport}px")
                on:scroll=move |ev| {
                    let t = event_target::<web_sys::Element>(&ev).scroll_top();
                    scroll_top.set(t as f64);
                }
                on:keydown=move |ev| {
                    if (ev.ctrl_key() || ev.meta_key()) && ev.key() == "c" {
                        if let Some((_, _, v)) = selected_value() { js::copy_text(&v.unwrap_or_default()); }
                    }
                }>
                <div class="grid-head" style=move || format!("grid-template-columns:{}", template())>
                    <div class="gh rownum">"#"</div>
                    {move || columns.get().into_iter().enumerate().map(|(i, c)| {
                        let arrow = move || match sort.get() { Some(s) if s.column as usize == i => if s.descending { " ▼" } else { " ▲" }, _ => "" };
                        view! {
                            <button class="gh" data-test="col-header" title=format!("{} ({}) — click to sort", c.name, c.type_name) on:click=move |_| click_header(i)>
                                <span class="gh-name">{c.name.clone()}{arrow}</span>
                                <span class="gh-type">{c.type_name.clone()}</span>
                            </button>
                        }
                    }).collect_view()}
                </div>
                <div class="grid-body" style=move || format!("height:{}px", row_count.get() as f64 * ROW_H)>
                    {move || {
                        let (first, last) = window.get();
                        let ncols = columns.with(|c| c.len());
                        let tpl = template();
                        (first..last).map(|r| {
                            let tpl = tpl.clone();
                            view! {
                                <div class="grid-row" data-row=r.to_string() style=format!("top:{}px;grid-template-columns:{}", r as f64 * ROW_H, tpl)>
                                    <div class="gc rownum">{(r + 1).to_string()}</div>
                                    {(0..ncols).map(|c| {
                                        let v = cell(r, c);
                                        let is_sel = move || selected.get() == Some((r, c));
                                        view! {
                                            <div class="gc" class:sel=is_sel on:click=move |_| selected.set(Some((r, c)))>
                                                {match v {
                                                    None => view! { <span class="pending">"…"</span> }.into_any(),
                                                    Some(None) => view! { <span class="null">"NULL"</span> }.into_any(),
                                                    Some(Some(t)) => t.into_any(),
                                                }}
                                            </div>
                                        }
                                    }).collect_view()}
                                </div>
                            }
                        }).collect_view()
                    }}
                </div>
            </div>
        </Show>
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
    fn positions_become_lines_and_columns() {
        assert_eq!(line_col("select\n  nope", 10), (2, 3));
        assert_eq!(line_col("x", 1), (1, 1));
    }
}
