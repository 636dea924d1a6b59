//! The insight page: loads the insight, keeps the parameter values in the URL, runs it on
//! every change of them and on each save, and lays out the panels around the result.
use super::{
    chart_form::ChartForm,
    editor::InsightEditor,
    export::{export_token, ExportProgress},
    to_dashboard::AddToDashboard,
    versions::VersionsPanel,
};
use crate::{
    api::{
        home::set_favorite,
        insights::{get_insight, run_insight, save_insight},
    },
    error::AppError,
    model::{
        chart::ChartSpec,
        insight::{Insight, InsightId, ViewKind, ViewSpec},
        params,
        query::Column,
        run::CacheUse,
    },
    ui::{
        components::alerts::InsightAlerts,
        components::{
            chart::ChartPanel,
            feedback::{updated_ago, use_clock, ErrorNote, Loading},
            param_input::{OptionsFrom, ParamInput},
            result_grid::{ResultPanel, PAGE},
            run::RunCtl,
        },
        query::use_query,
        url::{insight_url, query_string, today, url_values, with_view},
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    hooks::{use_navigate, use_params_map},
    NavigateOptions,
};
use std::collections::HashMap;

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
    // `alerts=1` opens the alerts panel (a dashboard tile's "New alert" links here).
    let show_alerts = RwSignal::new(query.with_untracked(|q| q.get("alerts").is_some()));
    let show_to_dashboard = RwSignal::new(false);
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
    // Table or chart: `view=` in the URL, else the insight's saved default.
    let view_in_url = Memo::new(move |_| {
        query
            .with(|q| q.get("view"))
            .and_then(|v| ViewKind::parse(&v).map(|_| v))
    });
    let view = Memo::new(move |_| {
        view_in_url
            .get()
            .and_then(|v| ViewKind::parse(&v))
            .unwrap_or_else(|| current.with(|i| i.draft.view.kind))
    });
    let set_value = {
        Callback::new(move |(name, vs): (String, Vec<String>)| {
            let mut v = values.get_untracked();
            let vs: Vec<String> = vs.into_iter().filter(|x| !x.is_empty()).collect();
            if vs.is_empty() {
                v.remove(&name);
            } else {
                v.insert(name, vs);
            }
            let url = with_view(insight_url(id, &v), view_in_url.get_untracked());
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
            let url = with_view(
                insight_url(id, &values.get_untracked()),
                view_in_url.get_untracked(),
            );
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
    let ctl = RunCtl::new();
    let run = ctl.run;
    let request_error = ctl.error;
    let running = ctl.running();
    // Opening the page, a change of the values and a save reuse a result computed within the
    // insight's cache time; Run reads the database.
    let start = move |cache: CacheUse| {
        if !field_errors.with_untracked(|e| e.is_empty()) {
            ctl.clear();
            return;
        }
        let vals = values.get_untracked();
        ctl.start(async move { run_insight(id, vals, PAGE as u32, cache).await });
    };
    Effect::new(move |_| {
        values.track();
        current.with(|i| i.version);
        start(CacheUse::Reuse);
    });
    let now = use_clock();
    let updated = move || {
        run.with(|r| {
            r.as_ref()
                .filter(|r| r.state.finished())
                .and_then(|r| r.computed_at)
        })
        .map(|at| updated_ago(at, now.get()))
    };
    // The columns of the latest result (kept while a new run starts), for the editor's pickers.
    let columns = Memo::new(move |prev: Option<&Vec<String>>| {
        let now: Vec<String> = run.with(|r| {
            r.as_ref()
                .map(|r| r.columns.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default()
        });
        match prev {
            Some(p) if now.is_empty() => p.clone(),
            _ => now,
        }
    });
    // ---- the chart ----
    let result_columns: Signal<Vec<Column>> = Signal::derive(move || {
        run.with(|r| r.as_ref().map(|r| r.columns.clone()).unwrap_or_default())
    });
    // The editor's unsaved chart (drawn live); `None` draws the saved one, or a proposal.
    let chart_draft = RwSignal::new(None::<ChartSpec>);
    let drawn = RwSignal::new(None::<ChartSpec>);
    let chart_spec = Signal::derive(move || {
        chart_draft
            .get()
            .or_else(|| current.with(|i| i.draft.view.chart.clone()))
    });
    let editing_chart = RwSignal::new(false);
    // Installed chart plugins, read when the chart settings first open.
    let plugin_list = LocalResource::new(move || {
        let open = editing_chart.get();
        async move {
            if open {
                crate::api::plugins::list_plugins().await
            } else {
                Ok(vec![])
            }
        }
    });
    let form_spec = RwSignal::new(ChartSpec::default());
    Effect::new(move |_| {
        let s = form_spec.get();
        if editing_chart.get_untracked() {
            chart_draft.set(Some(s));
        }
    });
    let chart_saving = RwSignal::new(false);
    let save_chart = move |open_as_chart: bool| {
        let Some(spec) = chart_draft
            .get_untracked()
            .or_else(|| drawn.get_untracked())
        else {
            return;
        };
        let (mut d, version) = current.with_untracked(|i| (i.draft.clone(), i.version));
        d.view = ViewSpec {
            kind: if open_as_chart {
                ViewKind::Chart
            } else {
                ViewKind::Table
            },
            chart: Some(spec),
        };
        chart_saving.set(true);
        leptos::task::spawn_local(async move {
            let r = save_insight(Some(id), Some(version), d).await;
            chart_saving.try_set(false);
            match r {
                Ok(mut i) => {
                    i.favorite = current.with_untracked(|c| c.favorite);
                    current.set(i);
                    chart_draft.set(None);
                    editing_chart.set(false);
                }
                Err(e) => {
                    request_error.set(Some(e));
                }
            }
        });
    };
    let show_view = move |v: ViewKind| {
        let url = with_view(
            insight_url(id, &values.get_untracked()),
            Some(v.as_str().into()),
        );
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
    };
    let cancel = move |_| ctl.cancel();
    let link_for = ctl.drill_links(
        Signal::derive(move || current.with(|i| i.draft.drill.clone())),
        Signal::derive(move || values.get()),
    );
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
                <button class="button" data-test="to-dashboard-toggle" on:click=move |_| show_to_dashboard.update(|v| *v = !*v)>"Add to dashboard"</button>
                <a class="button" data-test="export-csv" href=move || export_href("csv") download on:click=move |ev| follow_export(ev, "csv", "CSV")>"CSV"</a>
                <a class="button" data-test="export-xlsx" href=move || export_href("xlsx") download on:click=move |ev| follow_export(ev, "xlsx", "Excel")>"Excel"</a>
                <a class="button" data-test="export-json" href=move || export_href("json") download on:click=move |ev| follow_export(ev, "json", "JSON")>"JSON"</a>
            </div>
        </div>
        <ExportProgress download/>
        {move || current.with(|i| (!i.draft.description.is_empty()).then(|| view! { <p class="muted">{i.draft.description.clone()}</p> }))}
        {move || current.with(|i| i.deleted).then(|| view! { <p class="note warn">"This insight is in the trash. An editor can restore it from the trash."</p> })}
        <Show when=move || editing.get()>
            <InsightEditor current editing columns=Signal::from(columns)/>
        </Show>
        <Show when=move || show_versions.get()>
            <VersionsPanel id current/>
        </Show>
        <Show when=move || show_to_dashboard.get()>
            <AddToDashboard insight=id open=show_to_dashboard/>
        </Show>
        <Show when=move || show_alerts.get()>
            <InsightAlerts insight=id values=Signal::derive(move || values.get())/>
        </Show>
        <form class="param-form" class:card=move || !specs.with(|s| s.is_empty()) class:bare=move || specs.with(|s| s.is_empty()) data-test="param-form" on:submit=move |ev| { ev.prevent_default(); start(CacheUse::Fresh); }>
            {move || specs.get().into_iter().map(|s| {
                let name = s.name.clone();
                let n2 = name.clone();
                let n3 = name.clone();
                view! {
                    <div class="param-field" data-test=format!("param-{}", s.name)>
                        <ParamInput spec=s.clone() from=OptionsFrom::Insight(id) values set_value/>
                        {move || field_errors.with(|e| e.get(&n2).cloned()).or_else(|| server_field_error(&n3)).map(|m| view! { <span class="field-error" data-test="param-error">{m}</span> })}
                    </div>
                }
            }).collect_view()}
            <div class="param-actions">
                <button class="button primary" type="submit" data-test="run-insight" disabled=move || running.get()>"Run"</button>
                <Show when=move || running.get()>
                    <button class="button danger" type="button" data-test="cancel" on:click=cancel>"Cancel"</button>
                </Show>
                <span class="muted small" data-test="updated-ago" title="Results are reused for the insight's cache time; Run reads the database again">{updated}</span>
            </div>
        </form>
        <ErrorNote error=Signal::derive(move || request_error.get().filter(|e| !matches!(e, AppError::Validation(_))))/>
        <div class="view-tabs" role="tablist" data-test="view-tabs">
            <button role="tab" class="tab" type="button" data-test="view-table" aria-selected=move || (view.get() == ViewKind::Table).to_string() on:click=move |_| show_view(ViewKind::Table)>"Table"</button>
            <button role="tab" class="tab" type="button" data-test="view-chart" aria-selected=move || (view.get() == ViewKind::Chart).to_string() on:click=move |_| show_view(ViewKind::Chart)>"Chart"</button>
            <Show when=move || view.get() == ViewKind::Chart && current.with(|i| i.can_edit)>
                <button class="button small" type="button" data-test="edit-chart" on:click=move |_| {
                    if !editing_chart.get_untracked() {
                        form_spec.set(chart_spec.get_untracked().or_else(|| drawn.get_untracked()).unwrap_or_default());
                    }
                    editing_chart.update(|e| *e = !*e);
                }>{move || if editing_chart.get() { "Close chart settings" } else { "Chart settings" }}</button>
            </Show>
        </div>
        <Show when=move || view.get() == ViewKind::Chart>
            <div class="chart-layout" class:with-form=move || editing_chart.get()>
                <Show when=move || editing_chart.get()>
                    <aside class="card chart-settings" data-test="chart-settings">
                        <ChartForm spec=form_spec columns=result_columns plugins=Signal::derive(move || plugin_list.get().and_then(Result::ok).unwrap_or_default())/>
                        <div class="actions">
                            <button class="button primary" type="button" data-test="save-chart" disabled=move || chart_saving.get() on:click=move |_| save_chart(true)>{move || if chart_saving.get() { "Saving…" } else { "Save chart" }}</button>
                            <button class="button" type="button" data-test="discard-chart" on:click=move |_| { chart_draft.set(None); editing_chart.set(false); }>"Discard changes"</button>
                        </div>
                        <p class="muted small">"Saving makes the chart what this insight shows when it opens (a new version)."</p>
                    </aside>
                </Show>
                <ChartPanel run spec=chart_spec drawn drill=Signal::derive(move || current.with(|i| i.draft.drill.clone())) values name=Signal::derive(move || current.with(|i| i.draft.name.clone()))/>
            </div>
        </Show>
        <div class:hidden=move || view.get() == ViewKind::Chart>
            <ResultPanel run run_sql_text=ctl.sql_text sort=ctl.sort pages=ctl.pages loading=ctl.loading generation=ctl.generation selected=ctl.selected link_for/>
        </div>
    }
}
