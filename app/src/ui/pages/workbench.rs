//! The SQL workbench: pick a connection, write SQL (CodeMirror, autocomplete, Ctrl/Cmd-Enter),
//! fill `$n` parameters, run with a live timer and Cancel, and read the result in a virtual
//! grid that pages and sorts on the server. History and "Reset session" on the side.
use crate::{
    api::{
        connections::{connection_schema, list_connections},
        insights::save_insight,
        workbench::{cancel_run, query_history, reset_session, run_sql, run_status},
    },
    error::AppError,
    model::{
        connection::{ConnectionId, ConnectionKind, ConnectionSummary},
        insight::InsightDraft,
        run::{HistoryEntry, RunId, RunRequest, RunState, RunView, Sort},
        Permission,
    },
    ui::{
        components::feedback::{ErrorNote, Loading},
        context::auth::use_role,
        js,
    },
};
use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use std::collections::{HashMap, HashSet};

use crate::ui::{
    components::result_grid::{ResultPanel, PAGE},
    pages::insight::specs_for_sql,
};

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

    // A link may bring the SQL to start from (`?sql=…`, e.g. after an import).
    let sql = RwSignal::new(query.with_untracked(|q| q.get("sql")).unwrap_or_default());
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

    let saving_insight = RwSignal::new(false);
    let insight_name = RwSignal::new(String::new());
    let insight_desc = RwSignal::new(String::new());
    let navigate = StoredValue::new(leptos_router::hooks::use_navigate());
    let save_as_insight = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = textarea
            .get_untracked()
            .map(|t| t.value())
            .unwrap_or_else(|| sql.get_untracked());
        let draft = InsightDraft {
            name: insight_name.get_untracked(),
            description: insight_desc.get_untracked(),
            connection_id: conn_id.get_untracked(),
            params: specs_for_sql(&text, &[]),
            sql: text,
            ..Default::default()
        };
        leptos::task::spawn_local(async move {
            match save_insight(None, None, draft).await {
                Ok(i) => navigate
                    .with_value(|n| n(&format!("/insights/{}?edit=1", i.id.0), Default::default())),
                Err(e) => request_error.set(Some(e)),
            }
        });
    };
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
                    <button class="button" data-test="save-as-insight" on:click=move |_| saving_insight.update(|s| *s = !*s)>"Save as insight"</button>
                    <button class="button" data-test="history-toggle" on:click=move |_| show_history.update(|s| *s = !*s)>{move || if show_history.get() { "Hide history" } else { "History" }}</button>
                    <button class="button" data-test="reset-session" title="Close this connection's sessions and clear the editor" on:click=reset>"Reset session"</button>
                </div>
                <Show when=move || saving_insight.get()>
                    <form class="card inline-form save-insight" data-test="save-insight-form" on:submit=save_as_insight>
                        <label>"Name "<input type="text" name="name" required data-test="insight-name-input" prop:value=move || insight_name.get() on:input=move |ev| insight_name.set(event_target_value(&ev))/></label>
                        <label>"Description "<input type="text" name="description" prop:value=move || insight_desc.get() on:input=move |ev| insight_desc.set(event_target_value(&ev))/></label>
                        <button class="button primary" type="submit" data-test="save-insight-submit">"Save"</button>
                        <span class="muted small">"Use {{name}} in the SQL for parameters; they can be set up after saving."</span>
                    </form>
                </Show>
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
}
