//! The SQL workbench: pick a connection (kept in the URL), write SQL in query tabs (CodeMirror,
//! autocomplete, Ctrl/Cmd-Enter; each tab's SQL is kept in the browser per connection, so a
//! reload loses nothing), fill `$n` values or typed `{{name}}` parameters, run with a live
//! timer and Cancel, and read the result in a virtual grid that pages and sorts on the
//! server. A schema panel inserts table and column names; history and "Reset session" on the
//! side.
//!
//! - `sql_text`: what the page reads from SQL text (placeholders, `{{name}}` references, names
//!   to insert, tab titles), pure and tested;
//! - `tabs`: a query tab's signals and the drafts kept in the browser;
//! - `inputs`: the `$n` and `{{name}}` value forms;
//! - `schema`, `history`: the side panels.
mod history;
mod inputs;
mod schema;
mod sql_text;
mod tabs;

pub use sql_text::placeholders;

use self::{
    history::HistoryPanel,
    inputs::{NamedInputs, ParamInputs},
    schema::SchemaPanel,
    sql_text::{dialect, guess_kind, named_refs, named_request, sql_name, tab_title, utf16_offset},
    tabs::{now_ms, storage_key, NamedValue, ParamInput, SavedTab, SavedTabs, Tab, MAX_TABS},
};
use crate::{
    api::{
        connections::{connection_schema, list_connections},
        insights::{insight_tree, save_insight},
        workbench::{cancel_run, query_history, reset_session, run_sql, run_sql_named, run_status},
    },
    error::AppError,
    model::{
        connection::{ConnectionId, ConnectionKind, ConnectionSummary, SchemaTable},
        insight::{folder_paths, FolderId, InsightDraft},
        params::{self, ParamKind, ParamSpec},
        run::{HistoryEntry, NamedRunRequest, RunId, RunRequest, RunState, RunView},
        Permission,
    },
    ui::{
        components::{
            feedback::{ErrorNote, Loading},
            result_grid::{ResultPanel, PAGE},
        },
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
    // The workbench is drawn in the browser only (a LocalResource, no Suspense, as on the
    // insight page): the server sends "Loading…" and the hydrating browser draws the same,
    // then reads the connections and draws the editor. Nothing in the workbench is useful
    // before the page is interactive, and a server-drawn body had to match the browser's
    // first render node for node (a mismatch there left the page without an editor).
    let connections = LocalResource::new(list_connections);
    move || match connections.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Ok(list)) => view! { <WorkbenchBody list/> }.into_any(),
        Some(Err(e)) => view! { <p class="note error" role="alert">{e.to_string()}</p> }.into_any(),
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
                <HistoryPanel history load_entry/>
            </Show>
        </div>
    }
}
