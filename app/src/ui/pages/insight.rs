//! One insight: a form of typed parameter inputs that live in the URL (`?p_name=value`, both
//! ways), the result grid with drill-down links, export links, versions with a side-by-side
//! diff and revert, and (for editors) the editor for SQL, parameters and drill-downs.
use crate::ui::{pages::alerts::InsightAlerts, query::use_query};
use crate::{
    api::{
        connections::list_connections,
        home::set_favorite,
        insights::{
            cancel_export, export_progress, get_insight, insight_version, insight_versions,
            param_options, revert_insight, run_insight, save_insight,
        },
        workbench::{cancel_run, run_status},
    },
    error::AppError,
    model::{
        connection::ConnectionId,
        insight::{
            diff_lines, diff_words, param_changes, DiffLine, DrillLink, DrillSource, DrillTarget,
            ExportState, ExportStatus, Insight, InsightDraft, InsightId, ParamChange, Span,
            UrlValues,
        },
        params::{self, EnumOption, ParamKind, ParamSpec, QuerySource, DATE_RANGE_PRESETS},
        run::{RunId, RunState, RunView, Sort},
    },
    ui::{
        components::{
            feedback::{human_bytes, thousands, ErrorNote, Loading},
            layout::urlencode,
            result_grid::{ResultPanel, PAGE},
        },
        js,
    },
};
use leptos::{html, prelude::*};
use leptos_meta::Title;
use leptos_router::{
    hooks::{use_navigate, use_params_map},
    NavigateOptions,
};
use std::collections::{HashMap, HashSet};

/// Today's date where the code runs (the browser's clock in the browser).
pub fn today() -> chrono::NaiveDate {
    #[cfg(feature = "hydrate")]
    {
        let d = js_sys::Date::new_0();
        chrono::NaiveDate::from_ymd_opt(d.get_full_year() as i32, d.get_month() + 1, d.get_date())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        chrono::Utc::now().date_naive()
    }
}

/// The query string for a set of parameter values (`p_name=value`, repeated for lists).
pub fn query_string(values: &UrlValues) -> String {
    let mut parts = vec![];
    for (name, vs) in values {
        for v in vs {
            parts.push(format!("p_{}={}", name, urlencode(v)));
        }
    }
    parts.join("&")
}

/// Parameter values from the URL, for the given specs.
pub fn url_values(specs: &[ParamSpec], get_all: impl Fn(&str) -> Option<Vec<String>>) -> UrlValues {
    specs
        .iter()
        .filter_map(|s| {
            get_all(&format!("p_{}", s.name))
                .map(|v| {
                    (
                        s.name.clone(),
                        v.into_iter().filter(|x| !x.is_empty()).collect::<Vec<_>>(),
                    )
                })
                .filter(|(_, v)| !v.is_empty())
        })
        .collect()
}

/// The URL a drill-down link opens for one row, or `None` when a value it needs is missing.
pub fn drill_href(
    link: &DrillLink,
    columns: &[String],
    row: &[Option<String>],
    current: &UrlValues,
) -> Option<String> {
    let col = |name: &str| {
        columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| row.get(i).cloned().flatten())
    };
    match &link.target {
        DrillTarget::Insight {
            insight_id,
            mapping,
        } => {
            let mut values = UrlValues::new();
            for (target, source) in mapping {
                let v = match source {
                    DrillSource::Column(c) => col(c).map(|v| vec![v]),
                    DrillSource::Constant(v) => Some(vec![v.clone()]),
                    DrillSource::Param(p) => current.get(p).cloned(),
                };
                if let Some(v) = v {
                    values.insert(target.clone(), v);
                }
            }
            let q = query_string(&values);
            Some(if q.is_empty() {
                format!("/insights/{}", insight_id.0)
            } else {
                format!("/insights/{}?{q}", insight_id.0)
            })
        }
        DrillTarget::Url { template } => {
            let mut out = template.clone();
            for (i, c) in columns.iter().enumerate() {
                let needle = format!("{{{{{c}}}}}");
                if out.contains(&needle) {
                    let v = row.get(i).cloned().flatten().unwrap_or_default();
                    out = out.replace(&needle, &urlencode(&v).replace('/', "%2F"));
                }
            }
            Some(out)
        }
    }
}

#[component]
pub fn InsightPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params
            .with(|p| p.get("id"))
            .and_then(|s| s.parse::<i64>().ok())
            .map(InsightId)
    });
    // Loaded and rendered in the browser (a LocalResource): the server sends the page frame
    // and a loading state, so hydration never has to match the parameter form, whose inputs
    // and query-backed lists depend on the URL and on requests of their own.
    let insight = LocalResource::new(move || {
        let id = id.get();
        async move {
            match id {
                Some(id) => get_insight(id).await,
                None => Err(AppError::NotFound("That insight".into())),
            }
        }
    });
    // No Suspense: the server and the hydrating browser both render the loading state (the
    // LocalResource has no value yet on either), so nothing can mismatch.
    view! {
        {move || match insight.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Ok(i)) => view! { <InsightBody insight=i/> }.into_any(),
            Some(Err(e)) => view! {
                <Title text="Insight"/>
                <div class="note error" role="alert" data-test="insight-error">
                    <p>{e.to_string()}</p>
                    <p>{match e { AppError::NotFound(_) => "It may have been deleted, or the link is wrong. ", AppError::Forbidden => "Ask an admin for access. ", _ => "" }}<a href="/insights">"Go to all insights"</a></p>
                </div>
            }.into_any(),
        }}
    }
}

#[component]
fn InsightBody(insight: Insight) -> impl IntoView {
    let query = use_query();
    let navigate = use_navigate();
    let id = insight.id;
    let current = RwSignal::new(insight.clone());
    let specs = Signal::derive(move || current.with(|i| i.draft.params.clone()));
    let editing =
        RwSignal::new(query.with_untracked(|q| q.get("edit").is_some()) && insight.can_edit);
    let show_versions = RwSignal::new(false);
    let show_alerts = RwSignal::new(false);
    let values = Memo::new(move |_| {
        let specs = specs.get();
        query.with(|q| url_values(&specs, |k| q.get_all(k)))
    });
    // Client-side checks give a message next to the input at once; the server checks again.
    let field_errors = Memo::new(move |_| {
        let vals = values.get();
        let t = today();
        specs
            .get()
            .iter()
            .filter_map(|s| {
                let raw = vals.get(&s.name).cloned().unwrap_or_default();
                params::parse_value(s, &raw, t)
                    .err()
                    .map(|m| (s.name.clone(), m))
            })
            .collect::<HashMap<String, String>>()
    });
    let navigate = StoredValue::new(navigate);
    let set_value = {
        Callback::new(move |(name, vs): (String, Vec<String>)| {
            let mut v = values.get_untracked();
            let vs: Vec<String> = vs.into_iter().filter(|x| !x.is_empty()).collect();
            if vs.is_empty() {
                v.remove(&name);
            } else {
                v.insert(name, vs);
            }
            let url = insight_url(id, &v);
            navigate.with_value(|n| {
                n(
                    &url,
                    NavigateOptions {
                        replace: false,
                        scroll: false,
                        ..Default::default()
                    },
                )
            });
        })
    };

    // Closing the editor (save, cancel, the Edit toggle) drops `edit=1` from the address, so
    // a reload or a shared link shows the insight rather than reopening the editor.
    Effect::new(move |_| {
        if !editing.get() && query.with_untracked(|q| q.get("edit").is_some()) {
            let url = insight_url(id, &values.get_untracked());
            navigate.with_value(|n| {
                n(
                    &url,
                    NavigateOptions {
                        replace: true,
                        scroll: false,
                        ..Default::default()
                    },
                )
            });
        }
    });

    // ---- running ----
    let run = RwSignal::new(None::<RunView>);
    let request_error = RwSignal::new(None::<AppError>);
    let sort = RwSignal::new(None::<Sort>);
    let pages = RwSignal::new(HashMap::<u64, Vec<Vec<Option<String>>>>::new());
    let loading = StoredValue::new(HashSet::<(u64, u64)>::new());
    let generation = RwSignal::new(0u64);
    let selected = RwSignal::new(None::<(u64, usize)>);
    let run_sql_text = RwSignal::new(String::new());
    let running =
        Signal::derive(move || run.with(|r| r.as_ref().is_some_and(|r| !r.state.finished())));
    // Async continuations use the `try_` accessors: the page may have been left (a
    // drill-down, a link) while a request was in flight, disposing these signals.
    let follow = move |rid: RunId| {
        leptos::task::spawn_local(async move {
            loop {
                let current_run =
                    run.try_with_untracked(|r| r.as_ref().is_some_and(|r| r.id == rid));
                if current_run != Some(true) {
                    return;
                }
                match run_status(rid.clone(), 1000).await {
                    Ok(v) => {
                        let fin = v.state.finished();
                        if run.try_with_untracked(|r| r.as_ref().is_some_and(|r| r.id == v.id))
                            == Some(true)
                        {
                            run.try_set(Some(v));
                        }
                        if fin {
                            return;
                        }
                    }
                    Err(e) => {
                        request_error.try_set(Some(e));
                        return;
                    }
                }
            }
        });
    };
    let start = move || {
        if !field_errors.with_untracked(|e| e.is_empty()) {
            run.set(None);
            return;
        }
        let vals = values.get_untracked();
        request_error.set(None);
        sort.set(None);
        selected.set(None);
        pages.set(HashMap::new());
        generation.update(|g| *g += 1);
        let gen = generation.get_untracked();
        run.set(Some(RunView {
            id: RunId(String::new()),
            state: RunState::Queued,
            queue_position: None,
            columns: vec![],
            row_count: 0,
            truncated: false,
            truncated_by_size: false,
            elapsed_ms: 0,
            error: None,
            page: None,
        }));
        leptos::task::spawn_local(async move {
            let result = run_insight(id, vals, PAGE as u32).await;
            // A newer run (or leaving the page) supersedes this one.
            if generation.try_get_untracked() != Some(gen) {
                return;
            }
            match result {
                Ok(mut v) => {
                    if let Some(p) = v.page.take() {
                        pages.try_update(|m| {
                            m.insert(0, p.rows);
                        });
                    }
                    let rid = v.id.clone();
                    let fin = v.state.finished();
                    run.try_set(Some(v));
                    if !fin {
                        follow(rid);
                    }
                }
                Err(e) => {
                    run.try_set(None);
                    request_error.try_set(Some(e));
                }
            }
        });
    };
    // Opening the page, any change of the values in the URL, and each save run the insight.
    Effect::new(move |_| {
        values.track();
        current.with(|i| i.version);
        start();
    });
    let cancel = move |_| {
        if let Some(rid) = run
            .with_untracked(|r| r.as_ref().map(|r| r.id.clone()))
            .filter(|r| !r.0.is_empty())
        {
            leptos::task::spawn_local(async move {
                if let Ok(v) = cancel_run(rid).await {
                    run.set(Some(v));
                }
            });
        }
    };
    let link_for = Callback::new(move |(c, row): (usize, Vec<Option<String>>)| {
        let cols: Vec<String> = run.with_untracked(|r| {
            r.as_ref()
                .map(|r| r.columns.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default()
        });
        let name = cols.get(c)?.clone();
        current.with_untracked(|i| {
            i.draft
                .drill
                .iter()
                .find(|l| l.column == name)
                .and_then(|l| drill_href(l, &cols, &row, &values.get_untracked()))
        })
    });
    let export_href = move |ext: &str| {
        let q = query_string(&values.get());
        if q.is_empty() {
            format!("/insights/{}/export.{ext}", id.0)
        } else {
            format!("/insights/{}/export.{ext}?{q}", id.0)
        }
    };
    // A click names the download with a fresh progress token (added to the link as it is
    // followed), so the page can show its progress and offer Cancel; the browser downloads
    // the file itself.
    let download = RwSignal::new(None::<(String, &'static str)>);
    let follow_export = move |ev: leptos::ev::MouseEvent, ext: &'static str, label| {
        let token = export_token();
        let link = ev
            .current_target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok());
        if let Some(a) = link {
            let href = export_href(ext);
            let sep = if href.contains('?') { '&' } else { '?' };
            let _ = a.set_attribute("href", &format!("{href}{sep}progress={token}"));
        }
        download.set(Some((token, label)));
    };
    let server_field_error = move |name: &str| {
        request_error.with(|e| {
            e.as_ref()
                .and_then(|e| e.field_message(&format!("p_{name}")))
        })
    };

    view! {
        <Title text=move || current.with(|i| i.draft.name.clone())/>
        <nav class="breadcrumb" aria-label="Folder" data-test="breadcrumb">
            <a href="/insights">"Insights"</a>
            {move || current.with(|i| i.path.iter().map(|f| view! { <span class="sep">"/"</span><a href=format!("/insights?folder={}", f.id.0)>{f.name.clone()}</a> }).collect_view())}
        </nav>
        <div class="page-head">
            <h1 data-test="insight-name">{move || current.with(|i| i.draft.name.clone())}</h1>
            <div class="actions">
                <button class="button" data-test="favorite" aria-pressed=move || current.with(|i| i.favorite).to_string()
                    title=move || if current.with(|i| i.favorite) { "Remove from your favourites on the home page" } else { "Add to your favourites on the home page" }
                    on:click=move |_| {
                        let on = !current.with_untracked(|i| i.favorite);
                        current.update(|i| i.favorite = on);
                        leptos::task::spawn_local(async move {
                            if let Err(e) = set_favorite(id, on).await {
                                current.update(|i| i.favorite = !on);
                                request_error.set(Some(e));
                            }
                        });
                    }>
                    <span class="star" class:on=move || current.with(|i| i.favorite) aria-hidden="true">{move || if current.with(|i| i.favorite) { "★" } else { "☆" }}</span>
                    {move || if current.with(|i| i.favorite) { " Favourite" } else { " Star" }}
                </button>
                <Show when=move || current.with(|i| i.can_edit)>
                    <button class="button" data-test="edit-insight" on:click=move |_| editing.update(|e| *e = !*e)>{move || if editing.get() { "Close editor" } else { "Edit" }}</button>
                </Show>
                <button class="button" data-test="versions-toggle" on:click=move |_| show_versions.update(|v| *v = !*v)>"Versions"</button>
                <button class="button" data-test="alerts-toggle" on:click=move |_| show_alerts.update(|v| *v = !*v)>"Alerts"</button>
                <a class="button" data-test="export-csv" href=move || export_href("csv") download on:click=move |ev| follow_export(ev, "csv", "CSV")>"CSV"</a>
                <a class="button" data-test="export-xlsx" href=move || export_href("xlsx") download on:click=move |ev| follow_export(ev, "xlsx", "Excel")>"Excel"</a>
                <a class="button" data-test="export-json" href=move || export_href("json") download on:click=move |ev| follow_export(ev, "json", "JSON")>"JSON"</a>
            </div>
        </div>
        <ExportProgress download/>
        {move || current.with(|i| (!i.draft.description.is_empty()).then(|| view! { <p class="muted">{i.draft.description.clone()}</p> }))}
        {move || current.with(|i| i.deleted).then(|| view! { <p class="note warn">"This insight is in the trash. An editor can restore it from the trash."</p> })}
        <Show when=move || editing.get()>
            <InsightEditor current editing/>
        </Show>
        <Show when=move || show_versions.get()>
            <VersionsPanel id current/>
        </Show>
        <Show when=move || show_alerts.get()>
            <InsightAlerts insight=id values=Signal::derive(move || values.get())/>
        </Show>
        <form class="param-form" class:card=move || !specs.with(|s| s.is_empty()) class:bare=move || specs.with(|s| s.is_empty()) data-test="param-form" on:submit=move |ev| { ev.prevent_default(); start(); }>
            {move || specs.get().into_iter().map(|s| {
                let name = s.name.clone();
                let n2 = name.clone();
                let n3 = name.clone();
                view! {
                    <div class="param-field" data-test=format!("param-{}", s.name)>
                        <ParamInput spec=s.clone() insight=id values set_value/>
                        {move || field_errors.with(|e| e.get(&n2).cloned()).or_else(|| server_field_error(&n3)).map(|m| view! { <span class="field-error" data-test="param-error">{m}</span> })}
                    </div>
                }
            }).collect_view()}
            <div class="param-actions">
                <button class="button primary" type="submit" data-test="run-insight" disabled=move || running.get()>"Run"</button>
                <Show when=move || running.get()>
                    <button class="button danger" type="button" data-test="cancel" on:click=cancel>"Cancel"</button>
                </Show>
            </div>
        </form>
        <ErrorNote error=Signal::derive(move || request_error.get().filter(|e| !matches!(e, AppError::Validation(_))))/>
        <ResultPanel run run_sql_text sort pages loading generation selected link_for/>
    }
}

/// The input for one parameter, by kind. Changes go to the URL (which reruns the insight).
#[component]
fn ParamInput(
    spec: ParamSpec,
    insight: InsightId,
    values: Memo<UrlValues>,
    set_value: Callback<(String, Vec<String>)>,
) -> impl IntoView {
    let label = if spec.label.trim().is_empty() {
        spec.name.clone()
    } else {
        spec.label.clone()
    };
    let name = spec.name.clone();
    let input_id = format!("p_{}", spec.name);
    let current = {
        let name = name.clone();
        let default = spec.default.clone();
        Signal::derive(move || {
            values
                .with(|v| v.get(&name).cloned())
                .unwrap_or_else(|| default.clone())
        })
    };
    let first = move || current.get().first().cloned().unwrap_or_default();
    let set = {
        let name = name.clone();
        move |vs: Vec<String>| set_value.run((name.clone(), vs))
    };
    let required = spec.required;
    let control = match spec.kind {
        ParamKind::Text
        | ParamKind::Number
        | ParamKind::Integer
        | ParamKind::Date
        | ParamKind::DateTime
            if !spec.multi =>
        {
            let ty = match spec.kind {
                ParamKind::Number | ParamKind::Integer => "number",
                ParamKind::Date => "date",
                ParamKind::DateTime => "datetime-local",
                _ => "text",
            };
            let step = if spec.kind == ParamKind::Integer {
                "1"
            } else {
                "any"
            };
            let set = set.clone();
            view! {
                <input id=input_id.clone() type=ty step=step required=required prop:value=first
                    on:change=move |ev| set(vec![event_target_value(&ev)])/>
            }
            .into_any()
        }
        ParamKind::Text => {
            let set = set.clone();
            view! {
                <textarea id=input_id.clone() rows="3" placeholder="One value per line" prop:value=move || current.get().join("\n")
                    on:change=move |ev| set(event_target_value(&ev).lines().map(|l| l.trim().to_string()).collect())></textarea>
            }.into_any()
        }
        ParamKind::Boolean => {
            let set = set.clone();
            view! {
                <select id=input_id.clone() prop:value=first on:change=move |ev| set(vec![event_target_value(&ev)])>
                    <option value="">"—"</option>
                    <option value="true">"Yes"</option>
                    <option value="false">"No"</option>
                </select>
            }.into_any()
        }
        ParamKind::DateRange => {
            view! { <DateRangeInput id=input_id.clone() current set=Callback::new(set.clone())/> }
                .into_any()
        }
        ParamKind::Enum => {
            let options = spec.options.clone();
            view! { <ChoiceInput id=input_id.clone() multi=spec.multi options=Signal::stored(options) current set=Callback::new(set.clone())/> }.into_any()
        }
        ParamKind::Query => {
            // Choices reload when a parameter they depend on changes (cascading dropdowns).
            let deps: Vec<String> = spec
                .source
                .as_ref()
                .map(|s| s.depends_on.iter().map(|(_, ours)| ours.clone()).collect())
                .unwrap_or_default();
            let pname = name.clone();
            let dep_values = Memo::new(move |_| {
                values.with(|v| {
                    deps.iter()
                        .map(|d| (d.clone(), v.get(d).cloned().unwrap_or_default()))
                        .collect::<UrlValues>()
                })
            });
            // Loaded in the browser only (a LocalResource): the server renders the placeholder, so
            // hydration never depends on when these finished on the server.
            let options = LocalResource::new(move || {
                let vals = dep_values.get();
                let n = pname.clone();
                async move { param_options(insight, n, vals).await }
            });
            let multi = spec.multi;
            let set = set.clone();
            let id2 = input_id.clone();
            view! {
                <Suspense fallback=|| view! { <select disabled><option>"Loading…"</option></select> }>
                    {move || {
                        let set = set.clone();
                        let id2 = id2.clone();
                        Suspend::new(async move {
                            match options.await {
                                Ok(list) => view! { <ChoiceInput id=id2 multi options=Signal::stored(list) current set=Callback::new(set)/> }.into_any(),
                                Err(e) => view! { <span class="field-error">{e.to_string()}</span> }.into_any(),
                            }
                        })
                    }}
                </Suspense>
            }.into_any()
        }
        _ => {
            let set = set.clone();
            view! { <input id=input_id.clone() type="text" prop:value=first on:change=move |ev| set(vec![event_target_value(&ev)])/> }.into_any()
        }
    };
    view! {
        <label for=input_id.clone()>{label}{required.then_some(" *")}</label>
        {control}
    }
}

#[component]
fn ChoiceInput(
    id: String,
    multi: bool,
    options: Signal<Vec<EnumOption>>,
    current: Signal<Vec<String>>,
    set: Callback<Vec<String>>,
) -> impl IntoView {
    if multi {
        view! {
            <select id=id multiple=true size="5"
                on:change=move |ev| {
                    let sel = event_target::<web_sys::HtmlSelectElement>(&ev);
                    let opts = sel.selected_options();
                    let chosen = (0..opts.length()).filter_map(|i| opts.item(i)).filter_map(|e| e.get_attribute("value")).collect();
                    set.run(chosen);
                }>
                {move || options.get().into_iter().map(|o| {
                    let v = o.value.clone();
                    view! { <option value=o.value.clone() selected=move || current.get().contains(&v)>{o.label}</option> }
                }).collect_view()}
            </select>
        }.into_any()
    } else {
        view! {
            <select id=id prop:value=move || current.get().first().cloned().unwrap_or_default() on:change=move |ev| set.run(vec![event_target_value(&ev)])>
                <option value="">"—"</option>
                {move || options.get().into_iter().map(|o| {
                    let v = o.value.clone();
                    view! { <option value=o.value.clone() selected=move || current.get().first() == Some(&v)>{o.label}</option> }
                }).collect_view()}
            </select>
        }.into_any()
    }
}

/// The insight's address with these parameter values.
fn insight_url(id: InsightId, values: &UrlValues) -> String {
    let q = query_string(values);
    if q.is_empty() {
        format!("/insights/{}", id.0)
    } else {
        format!("/insights/{}?{q}", id.0)
    }
}

/// A preset ("Last 7 days") or a custom start and end date; the URL keeps the preset's id or
/// `start~end`.
#[component]
fn DateRangeInput(
    id: String,
    current: Signal<Vec<String>>,
    set: Callback<Vec<String>>,
) -> impl IntoView {
    let raw = move || current.get().first().cloned().unwrap_or_default();
    let is_custom = move || raw().contains('~') || raw().is_empty();
    let part = move |i: usize| raw().split('~').nth(i).unwrap_or("").to_string();
    let set_part = move |i: usize, v: String| {
        let (mut a, mut b) = (part(0), part(1));
        if i == 0 {
            a = v
        } else {
            b = v
        }
        if !a.is_empty() && !b.is_empty() {
            set.run(vec![format!("{a}~{b}")]);
        }
    };
    view! {
        <span class="date-range">
            <select id=id aria-label="Range" prop:value=move || if raw().contains('~') { "custom".to_string() } else { raw() }
                on:change=move |ev| { let v = event_target_value(&ev); if v != "custom" { set.run(vec![v]) } else if !raw().contains('~') { set.run(vec![custom_from(&raw(), today())]) } }>
                <option value="">"—"</option>
                {DATE_RANGE_PRESETS.iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
                <option value="custom">"Custom…"</option>
            </select>
            <Show when=is_custom>
                <input type="date" aria-label="From" data-test="range-start" prop:value=move || part(0) on:change=move |ev| set_part(0, event_target_value(&ev))/>
                " – "
                <input type="date" aria-label="To" data-test="range-end" prop:value=move || part(1) on:change=move |ev| set_part(1, event_target_value(&ev))/>
            </Show>
        </span>
    }
}

/// "Custom…" starts from the dates the chosen preset stands for today (the last 7 days when
/// none was chosen).
fn custom_from(preset: &str, today: chrono::NaiveDate) -> String {
    let (a, b) =
        params::preset_range(preset, today).unwrap_or((today - chrono::Duration::days(6), today));
    format!("{a}~{b}")
}

/// Versions: who saved what when; compare any version with the current one side by side;
/// revert (which saves a new version).
#[component]
fn VersionsPanel(id: InsightId, current: RwSignal<Insight>) -> impl IntoView {
    let list = Resource::new(
        move || current.with(|i| i.version),
        move |_| insight_versions(id),
    );
    let compare = RwSignal::new(None::<(i64, InsightDraft)>);
    let error = RwSignal::new(None::<AppError>);
    let can_edit = move || current.with(|i| i.can_edit);
    let open = move |v: i64| {
        leptos::task::spawn_local(async move {
            match insight_version(id, v).await {
                Ok(d) => compare.set(Some((v, d))),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let revert = move |v: i64| {
        leptos::task::spawn_local(async move {
            match revert_insight(id, v).await {
                Ok(mut i) => {
                    // The star is the user's, not part of the saved insight.
                    i.favorite = current.with_untracked(|c| c.favorite);
                    current.set(i);
                    compare.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card versions" data-test="versions">
            <h2>"Versions"</h2>
            <ErrorNote error=Signal::derive(move || error.get())/>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(vs) => view! {
                            <ul class="version-list">
                                {vs.into_iter().map(|v| {
                                    let n = v.version;
                                    let is_current = move || current.with(|i| i.version == n);
                                    view! {
                                        <li data-test="version-item">
                                            <strong>{format!("Version {n}")}</strong>
                                            <span class="muted small">{format!(" · {} · {} · {}", v.author.clone().unwrap_or_else(|| "someone".into()), v.created_at.format("%Y-%m-%d %H:%M:%S"), v.summary)}</span>
                                            <Show when=move || !is_current()>
                                                <button class="button small" data-test="compare-version" on:click=move |_| open(n)>"Compare"</button>
                                                <Show when=can_edit>
                                                    <button class="button small" data-test="revert-version" on:click=move |_| revert(n)>"Revert to this"</button>
                                                </Show>
                                            </Show>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="note error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            {move || compare.get().map(|(v, old)| {
                let new = current.with(|i| i.draft.clone());
                let sql_same = old.sql == new.sql;
                let params = param_changes(&old.params, &new.params);
                view! {
                    <div class="diff" data-test="diff">
                        <h3>{format!("Version {v} (left) and the current version (right)")}</h3>
                        {(old.name != new.name).then(|| view! { <p>{format!("Name: “{}” → “{}”", old.name, new.name)}</p> })}
                        {(old.description != new.description).then(|| view! { <p>"The description changed."</p> })}
                        <h4>"SQL"</h4>
                        {if sql_same {
                            view! { <p class="muted" data-test="sql-unchanged">"The SQL is the same."</p> }.into_any()
                        } else {
                            view! { <DiffView lines=diff_lines(&old.sql, &new.sql)/> }.into_any()
                        }}
                        <h4>"Parameters"</h4>
                        <ParamChanges changes=params/>
                    </div>
                }
            })}
        </section>
    }
}

/// Side by side: unchanged lines on both sides, removed lines on the left and added ones on
/// the right; a removed line followed by an added one is shown as one changed row with the
/// changed words marked.
#[component]
fn DiffView(lines: Vec<DiffLine>) -> impl IntoView {
    let mut rows = vec![];
    let mut it = lines.into_iter().peekable();
    while let Some(line) = it.next() {
        let row = match line {
            DiffLine::Same(t) => view! { <div class="dl same">{t.clone()}</div><div class="dl same">{t}</div> }.into_any(),
            DiffLine::Removed(old) => match it.peek() {
                Some(DiffLine::Added(_)) => {
                    let Some(DiffLine::Added(new)) = it.next() else { unreachable!("peeked") };
                    let (l, r) = diff_words(&old, &new);
                    view! {
                        <div class="dl removed" data-test="diff-removed"><Spans spans=l/></div>
                        <div class="dl added" data-test="diff-added"><Spans spans=r/></div>
                    }.into_any()
                }
                _ => view! { <div class="dl removed" data-test="diff-removed">{old}</div><div class="dl empty"></div> }.into_any(),
            },
            DiffLine::Added(t) => view! { <div class="dl empty"></div><div class="dl added" data-test="diff-added">{t}</div> }.into_any(),
        };
        rows.push(row);
    }
    view! { <div class="diff-grid mono">{rows}</div> }
}

#[component]
fn Spans(spans: Vec<Span>) -> impl IntoView {
    spans
        .into_iter()
        .map(|s| {
            if s.changed {
                view! { <mark class="dw">{s.text}</mark> }.into_any()
            } else {
                view! { <span>{s.text}</span> }.into_any()
            }
        })
        .collect_view()
}

/// The parameters' differences as a table of fields.
#[component]
fn ParamChanges(changes: Vec<ParamChange>) -> impl IntoView {
    if changes.is_empty() {
        return view! { <p class="muted" data-test="params-unchanged">"The parameters are the same."</p> }.into_any();
    }
    view! {
        <table class="table param-changes" data-test="param-changes">
            <thead><tr><th>"Parameter"</th><th>"Field"</th><th>"Before"</th><th>"After"</th></tr></thead>
            <tbody>
                {changes.into_iter().map(|c| view! {
                    <tr>
                        <td class="mono">{c.name}</td>
                        <td>{c.field.unwrap_or_else(|| if c.before == "—" { "added".into() } else { "removed".into() })}</td>
                        <td class="mono removed">{c.before}</td>
                        <td class="mono added">{c.after}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }.into_any()
}

/// A new parameter spec with sensible defaults.
pub fn new_spec(name: &str) -> ParamSpec {
    ParamSpec::new(name, ParamKind::Text)
}

/// Enum choices as editable lines (`value` or `value|label`).
fn options_text(options: &[EnumOption]) -> String {
    options
        .iter()
        .map(|o| {
            if o.label == o.value {
                o.value.clone()
            } else {
                format!("{}|{}", o.value, o.label)
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Specs for the `{{names}}` the SQL uses, keeping the ones already defined.
pub fn specs_for_sql(sql: &str, existing: &[ParamSpec]) -> Vec<ParamSpec> {
    let mut out: Vec<ParamSpec> = vec![];
    if let Ok(refs) = params::references(sql) {
        for r in refs {
            if out.iter().any(|s| s.name == r.name) {
                continue;
            }
            out.push(
                existing
                    .iter()
                    .find(|s| s.name == r.name)
                    .cloned()
                    .unwrap_or_else(|| {
                        let mut s = new_spec(&r.name);
                        if r.part.is_some() {
                            s.kind = ParamKind::DateRange;
                        }
                        s
                    }),
            );
        }
    }
    out
}

fn kind_label(k: ParamKind) -> &'static str {
    match k {
        ParamKind::Text => "Text",
        ParamKind::Number => "Number",
        ParamKind::Integer => "Whole number",
        ParamKind::Boolean => "Yes/no",
        ParamKind::Date => "Date",
        ParamKind::DateTime => "Date and time",
        ParamKind::DateRange => "Date range",
        ParamKind::Enum => "List of choices",
        ParamKind::Query => "Choices from an insight",
    }
}

const KINDS: [ParamKind; 9] = [
    ParamKind::Text,
    ParamKind::Number,
    ParamKind::Integer,
    ParamKind::Boolean,
    ParamKind::Date,
    ParamKind::DateTime,
    ParamKind::DateRange,
    ParamKind::Enum,
    ParamKind::Query,
];

fn kind_key(k: ParamKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Drill-down links as editable text: one per line,
/// `column -> insight 12: target_param=column:NAME, other=const:VALUE, x=param:NAME` or
/// `column -> https://example.com/customers/{{id}}`.
pub fn drill_to_text(links: &[DrillLink]) -> String {
    links
        .iter()
        .map(|l| match &l.target {
            DrillTarget::Insight {
                insight_id,
                mapping,
            } => format!(
                "{} -> insight {}: {}",
                l.column,
                insight_id.0,
                mapping
                    .iter()
                    .map(|(t, s)| match s {
                        DrillSource::Column(c) => format!("{t}=column:{c}"),
                        DrillSource::Constant(c) => format!("{t}=const:{c}"),
                        DrillSource::Param(c) => format!("{t}=param:{c}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            DrillTarget::Url { template } => format!("{} -> {}", l.column, template),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn drill_from_text(text: &str) -> Result<Vec<DrillLink>, String> {
    let mut out = vec![];
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let bad = |why: &str| format!("Drill-down line {}: {why}", n + 1);
        let (column, rest) = line.split_once("->").ok_or_else(|| {
            bad("write `column -> insight ID: param=column:NAME` or `column -> https://…`")
        })?;
        let rest = rest.trim();
        let target = if let Some(r) = rest.strip_prefix("insight") {
            let (id, mapping) = r.split_once(':').map(|(a, b)| (a, b)).unwrap_or((r, ""));
            let insight_id = InsightId(
                id.trim()
                    .parse::<i64>()
                    .map_err(|_| bad("the insight id must be a number"))?,
            );
            let mut map = vec![];
            for m in mapping.split(',').map(str::trim).filter(|m| !m.is_empty()) {
                let (t, src) = m.split_once('=').ok_or_else(|| {
                    bad("each mapping is param=column:NAME, param=const:VALUE or param=param:NAME")
                })?;
                let (kind, v) = src.split_once(':').ok_or_else(|| {
                    bad("each mapping is param=column:NAME, param=const:VALUE or param=param:NAME")
                })?;
                let source = match kind.trim() {
                    "column" => DrillSource::Column(v.trim().into()),
                    "const" => DrillSource::Constant(v.trim().into()),
                    "param" => DrillSource::Param(v.trim().into()),
                    _ => return Err(bad("a source is column:, const: or param:")),
                };
                map.push((t.trim().to_string(), source));
            }
            DrillTarget::Insight {
                insight_id,
                mapping: map,
            }
        } else {
            DrillTarget::Url {
                template: rest.to_string(),
            }
        };
        out.push(DrillLink {
            column: column.trim().to_string(),
            target,
        });
    }
    Ok(out)
}

/// The editor: name, description, connection, SQL (CodeMirror), parameters, drill-downs.
#[component]
fn InsightEditor(current: RwSignal<Insight>, editing: RwSignal<bool>) -> impl IntoView {
    let start = current.get_untracked();
    let draft = RwSignal::new(start.draft.clone());
    let drill_text = RwSignal::new(drill_to_text(&start.draft.drill));
    let error = RwSignal::new(None::<AppError>);
    let saving = RwSignal::new(false);
    let connections = Resource::new(|| (), |_| list_connections());
    let textarea = NodeRef::<html::Textarea>::new();
    Effect::new(move |_| {
        if let Some(ta) = textarea.get() {
            js::mount_editor(&ta, "sql", move || {});
            // The editor starts from the stored SQL whichever effect ran first.
            js::editor_set(&ta, &draft.with_untracked(|d| d.sql.clone()));
        }
    });
    let read_sql = move || {
        textarea
            .get_untracked()
            .map(|t| t.value())
            .unwrap_or_else(|| draft.with_untracked(|d| d.sql.clone()))
    };
    let detect = move |_| {
        let sql = read_sql();
        draft.update(|d| {
            d.params = specs_for_sql(&sql, &d.params);
            d.sql = sql;
        });
    };
    let save = move |_| {
        let sql = read_sql();
        let drill = match drill_from_text(&drill_text.get_untracked()) {
            Ok(d) => d,
            Err(m) => {
                error.set(Some(AppError::field("drill", m)));
                return;
            }
        };
        let mut d = draft.get_untracked();
        d.sql = sql;
        d.drill = drill;
        let (id, base) = current.with_untracked(|i| (i.id, i.version));
        saving.set(true);
        leptos::task::spawn_local(async move {
            let r = save_insight(Some(id), Some(base), d).await;
            saving.set(false);
            match r {
                Ok(mut i) => {
                    i.favorite = current.with_untracked(|c| c.favorite);
                    current.set(i);
                    error.set(None);
                    editing.set(false);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let field =
        move |f: &'static str| Signal::derive(move || error.get().and_then(|e| e.field_message(f)));
    view! {
        <section class="card editor" data-test="insight-editor">
            <h2>"Edit insight"</h2>
            <ErrorNote error=Signal::derive(move || error.get())/>
            <div class="form-grid">
                <label>"Name"<input type="text" data-test="edit-name" prop:value=move || draft.with(|d| d.name.clone()) on:input=move |ev| draft.update(|d| d.name = event_target_value(&ev))/></label>
                {move || field("name").get().map(|m| view! { <span class="field-error">{m}</span> })}
                <label>"Description"<textarea rows="2" data-test="edit-description" prop:value=move || draft.with(|d| d.description.clone()) on:input=move |ev| draft.update(|d| d.description = event_target_value(&ev))></textarea></label>
                <label>"Connection"
                    <Suspense fallback=|| view! { <select disabled></select> }>
                        {move || Suspend::new(async move {
                            let list = connections.await.unwrap_or_default();
                            view! {
                                <select data-test="edit-connection" prop:value=move || draft.with(|d| d.connection_id.map(|c| c.0.to_string()).unwrap_or_default())
                                    on:change=move |ev| draft.update(|d| d.connection_id = event_target_value(&ev).parse::<i64>().ok().map(ConnectionId))>
                                    {list.into_iter().map(|c| view! { <option value=c.id.0.to_string()>{c.name}</option> }).collect_view()}
                                </select>
                            }
                        })}
                    </Suspense>
                </label>
            </div>
            <label class="block">"SQL — use {{name}} for parameters, {{range.start}} / {{range.end}} for date ranges, [[ AND x = {{x}} ]] for optional filters"
                <textarea node_ref=textarea class="mono sql-input" data-test="edit-sql" spellcheck="false" rows="8" prop:value=move || draft.with(|d| d.sql.clone())></textarea>
            </label>
            {move || field("sql").get().map(|m| view! { <span class="field-error" data-test="sql-error">{m}</span> })}
            <h3>"Parameters " <button class="button small" data-test="detect-params" on:click=detect>"Detect from SQL"</button></h3>
            {move || draft.with(|d| d.params.len()).eq(&0).then(|| view! { <p class="muted small">"Write {{name}} in the SQL, then “Detect from SQL”."</p> })}
            {move || (0..draft.with(|d| d.params.len())).map(|i| view! { <SpecEditor draft i error/> }).collect_view()}
            <h3>"Drill-downs"</h3>
            <p class="muted small">"One per line: " <code>"column -> insight 12: param=column:NAME, other=const:VALUE, x=param:NAME"</code> " or " <code>"column -> https://example.com/c/{{column}}"</code></p>
            <textarea class="mono" rows="3" data-test="edit-drill" prop:value=move || drill_text.get() on:input=move |ev| drill_text.set(event_target_value(&ev))></textarea>
            {move || field("drill").get().map(|m| view! { <span class="field-error">{m}</span> })}
            <div class="actions">
                <button class="button primary" data-test="save-insight" on:click=save disabled=move || saving.get()>{move || if saving.get() { "Saving…" } else { "Save" }}</button>
                <button class="button" on:click=move |_| editing.set(false)>"Cancel"</button>
            </div>
        </section>
    }
}

#[component]
fn SpecEditor(
    draft: RwSignal<InsightDraft>,
    i: usize,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let get = move || {
        draft
            .with(|d| d.params.get(i).cloned())
            .unwrap_or_else(|| new_spec(""))
    };
    let upd = move |f: Box<dyn FnOnce(&mut ParamSpec)>| {
        draft.update(|d| {
            if let Some(s) = d.params.get_mut(i) {
                f(s)
            }
        })
    };
    let name = get().name;
    let n2 = name.clone();
    let opt_text = |v: &Option<String>| v.clone().unwrap_or_default();
    let some = |v: String| (!v.trim().is_empty()).then(|| v.trim().to_string());
    view! {
        <fieldset class="spec" data-test=format!("spec-{name}")>
            <legend class="mono">{format!("{{{{{name}}}}}")}</legend>
            <label>"Label"<input type="text" prop:value=move || get().label on:input=move |ev| { let v = event_target_value(&ev); upd(Box::new(move |s| s.label = v)) }/></label>
            <label>"Type"
                <select data-test="spec-kind" prop:value=move || kind_key(get().kind) on:change=move |ev| { let v = event_target_value(&ev); if let Some(k) = KINDS.iter().find(|k| kind_key(**k) == v) { let k = *k; upd(Box::new(move |s| s.kind = k)) } }>
                    {KINDS.iter().map(|k| view! { <option value=kind_key(*k)>{kind_label(*k)}</option> }).collect_view()}
                </select>
            </label>
            <label class="check"><input type="checkbox" prop:checked=move || get().required on:change=move |ev| { let c = event_target_checked(&ev); upd(Box::new(move |s| s.required = c)) }/>"Required"</label>
            <label class="check"><input type="checkbox" data-test="spec-multi" prop:checked=move || get().multi on:change=move |ev| { let c = event_target_checked(&ev); upd(Box::new(move |s| s.multi = c)) }/>"Several values"</label>
            <label>"Default"<input type="text" data-test="spec-default" placeholder=move || if get().kind == ParamKind::DateRange { "last_7_days or 2024-01-01~2024-01-31" } else { "" } prop:value=move || get().default.join(",")
                on:input=move |ev| { let v = event_target_value(&ev); upd(Box::new(move |s| s.default = if s.multi { v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect() } else if v.is_empty() { vec![] } else { vec![v] })) }/></label>
            <Show when=move || matches!(get().kind, ParamKind::Number | ParamKind::Integer | ParamKind::Date | ParamKind::DateTime | ParamKind::DateRange | ParamKind::Text)>
                <label>"Min"<input type="text" prop:value=move || opt_text(&get().min) on:input=move |ev| { let v = some(event_target_value(&ev)); upd(Box::new(move |s| s.min = v)) }/></label>
                <label>"Max"<input type="text" prop:value=move || opt_text(&get().max) on:input=move |ev| { let v = some(event_target_value(&ev)); upd(Box::new(move |s| s.max = v)) }/></label>
            </Show>
            <Show when=move || get().kind == ParamKind::Text>
                <label>"Pattern (regex)"<input type="text" prop:value=move || opt_text(&get().pattern) on:input=move |ev| { let v = some(event_target_value(&ev)); upd(Box::new(move |s| s.pattern = v)) }/></label>
            </Show>
            <Show when=move || get().kind == ParamKind::Enum>
                <label class="block">"Choices, one per line (value or value|label)"
                    <textarea rows="3" data-test="spec-options" prop:value={move || options_text(&get().options)}
                        on:change=move |ev| { let v = event_target_value(&ev); upd(Box::new(move |s| s.options = v.lines().filter(|l| !l.trim().is_empty()).map(|l| { let (a, b) = l.split_once('|').unwrap_or((l, l)); EnumOption { value: a.trim().into(), label: b.trim().into() } }).collect())) }></textarea>
                </label>
            </Show>
            <Show when=move || get().kind == ParamKind::Query>
                <label>"From insight (id)"<input type="number" data-test="spec-source" prop:value=move || get().source.map(|s| s.insight_id.to_string()).unwrap_or_default()
                    on:change=move |ev| { let v = event_target_value(&ev).parse::<i64>().ok(); upd(Box::new(move |s| s.source = v.map(|id| QuerySource { insight_id: id, depends_on: s.source.as_ref().map(|x| x.depends_on.clone()).unwrap_or_default() }))) }/></label>
                <label>"Its parameters from ours (source=ours, …)"<input type="text" data-test="spec-depends" prop:value=move || get().source.map(|s| s.depends_on.iter().map(|(a, b)| format!("{a}={b}")).collect::<Vec<_>>().join(", ")).unwrap_or_default()
                    on:change=move |ev| { let v = event_target_value(&ev); upd(Box::new(move |s| if let Some(src) = s.source.as_mut() { src.depends_on = v.split(',').filter_map(|p| p.split_once('=')).map(|(a, b)| (a.trim().to_string(), b.trim().to_string())).collect() })) }/></label>
                <p class="muted small">"The insight's first column is the value, the second (if any) the label."</p>
            </Show>
            <button class="button small danger" on:click=move |_| draft.update(|d| { if i < d.params.len() { d.params.remove(i); } })>"Remove"</button>
            {move || error.get().and_then(|e| e.field_message(&n2)).map(|m| view! { <span class="field-error">{m}</span> })}
        </fieldset>
    }
}

/// A random token for a download's progress (browser only: called from a click).
fn export_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..20)
        .map(|_| {
            let i = (js_sys::Math::random() * ALPHABET.len() as f64) as usize;
            ALPHABET[i.min(ALPHABET.len() - 1)] as char
        })
        .collect()
}

/// The progress of the download the page started last: rows and bytes while it runs (with
/// Cancel), then how it ended. Asks the server every 400 ms while it runs.
#[component]
fn ExportProgress(download: RwSignal<Option<(String, &'static str)>>) -> impl IntoView {
    let status = RwSignal::new(None::<ExportStatus>);
    let problem = RwSignal::new(None::<AppError>);
    let tick = RwSignal::new(0u32);
    // Answers missing so far: the download's request may not have reached the server yet.
    let unseen = StoredValue::new(0u32);
    Effect::new(move |previous: Option<Option<String>>| {
        tick.track();
        let token = download.with(|d| d.as_ref().map(|d| d.0.clone()));
        if previous.as_ref() != Some(&token) {
            status.set(None);
            problem.set(None);
            unseen.set_value(0);
        }
        if let Some(token) = token.clone() {
            leptos::task::spawn_local(async move {
                let answer = export_progress(token.clone()).await;
                if download.with_untracked(|d| d.as_ref().map(|d| d.0 != token)) != Some(false) {
                    return; // another download started meanwhile
                }
                let again = match answer {
                    Ok(Some(s)) => {
                        let running = s.state == ExportState::Running;
                        status.set(Some(s));
                        running
                    }
                    // Not seen yet: its request may still be on the way (10 s at most).
                    Ok(None) if unseen.get_value() < 25 => {
                        unseen.update_value(|n| *n += 1);
                        true
                    }
                    Ok(None) => {
                        problem.set(Some(AppError::NotFound("The download".into())));
                        false
                    }
                    Err(e) => {
                        problem.set(Some(e));
                        false
                    }
                };
                if again {
                    set_timeout(
                        move || tick.update(|t| *t += 1),
                        std::time::Duration::from_millis(400),
                    );
                }
            });
        }
        token
    });
    let cancel = move |_| {
        if let Some((token, _)) = download.get_untracked() {
            leptos::task::spawn_local(async move {
                match cancel_export(token).await {
                    Ok(s) => status.set(Some(s)),
                    Err(e) => problem.set(Some(e)),
                }
            });
        }
    };
    // Rows as they are read; the size once bytes go out (an Excel file is zipped at the end).
    let amount = |s: &ExportStatus| match s.rows {
        Some(rows) if s.bytes == 0 => format!("{} rows", thousands(rows)),
        Some(rows) => format!("{} rows, {}", thousands(rows), human_bytes(s.bytes)),
        None => human_bytes(s.bytes),
    };
    view! {
        {move || download.get().map(|(_, label)| {
            let body = match (status.get(), problem.get()) {
                (_, Some(e)) => view! {
                    <span>{format!("The {label} export's progress is unavailable: {e}")}</span>
                }.into_any(),
                (None, None) => view! { <span>{format!("Starting the {label} export…")}</span> }.into_any(),
                (Some(s), None) => match s.state {
                    ExportState::Running => view! {
                        <span>{format!("Exporting {label}… {}", amount(&s))}</span>
                        <button class="button small" type="button" data-test="export-cancel" on:click=cancel>"Cancel"</button>
                    }.into_any(),
                    ExportState::Done => view! {
                        <span>{format!("{label} export finished: {} in {:.1} s.", amount(&s), s.elapsed_ms as f64 / 1000.0)}</span>
                    }.into_any(),
                    ExportState::Cancelled => view! {
                        <span>{format!("{label} export cancelled after {}.", amount(&s))}</span>
                    }.into_any(),
                    ExportState::Failed => view! {
                        <span>{format!("The {label} export failed: {}", s.error.clone().unwrap_or_default())}</span>
                    }.into_any(),
                },
            };
            let class = match (status.get().map(|s| s.state), problem.get().is_some()) {
                (Some(ExportState::Failed), _) | (_, true) => "note error export-progress",
                (Some(ExportState::Done), _) => "note ok export-progress",
                _ => "note export-progress",
            };
            view! {
                <div class=class data-test="export-progress" role="status">
                    {body}
                    <button class="link dismiss" type="button" aria-label="Dismiss" data-test="export-dismiss" on:click=move |_| download.set(None)>"×"</button>
                </div>
            }
        })}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drill_links_round_trip_through_text() {
        let links = vec![
            DrillLink {
                column: "customer".into(),
                target: DrillTarget::Insight {
                    insight_id: InsightId(12),
                    mapping: vec![
                        ("customer_id".into(), DrillSource::Column("customer".into())),
                        ("status".into(), DrillSource::Constant("paid".into())),
                        ("period".into(), DrillSource::Param("period".into())),
                    ],
                },
            },
            DrillLink {
                column: "id".into(),
                target: DrillTarget::Url {
                    template: "https://crm.example.com/c/{{id}}".into(),
                },
            },
        ];
        assert_eq!(drill_from_text(&drill_to_text(&links)).unwrap(), links);
        assert!(drill_from_text("nonsense").is_err());
    }

    #[test]
    fn drill_hrefs_fill_the_target_parameters() {
        let link = DrillLink {
            column: "customer".into(),
            target: DrillTarget::Insight {
                insight_id: InsightId(7),
                mapping: vec![
                    ("id".into(), DrillSource::Column("customer_id".into())),
                    ("period".into(), DrillSource::Param("period".into())),
                ],
            },
        };
        let cols = vec!["customer".to_string(), "customer_id".to_string()];
        let row = vec![Some("Ann & Bob".to_string()), Some("42".to_string())];
        let mut cur = UrlValues::new();
        cur.insert("period".into(), vec!["last_7_days".into()]);
        assert_eq!(
            drill_href(&link, &cols, &row, &cur).unwrap(),
            "/insights/7?p_id=42&p_period=last_7_days"
        );
        let url = DrillLink {
            column: "customer".into(),
            target: DrillTarget::Url {
                template: "https://x.example/c/{{customer}}".into(),
            },
        };
        assert_eq!(
            drill_href(&url, &cols, &row, &cur).unwrap(),
            "https://x.example/c/Ann%20%26%20Bob"
        );
    }

    #[test]
    fn query_strings_repeat_lists() {
        let mut v = UrlValues::new();
        v.insert("a".into(), vec!["x y".into(), "z".into()]);
        v.insert("b".into(), vec!["2024-01-01~2024-01-31".into()]);
        assert_eq!(
            query_string(&v),
            "p_a=x%20y&p_a=z&p_b=2024-01-01~2024-01-31"
        );
    }
}
