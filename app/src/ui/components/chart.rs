//! The chart of the insight's result: asks the server for the chart of the finished run
//! (the saved spec, the editor's draft, or a proposal), draws it with the chart bundle, turns
//! clicks into the insight's drill-downs, and offers PNG and SVG downloads.
use crate::ui::url::drill_href;
use crate::{
    api::charts::get_chart,
    model::{
        chart::{spark_points, ChartData, ChartKind, ChartSpec},
        insight::{DrillLink, UrlValues},
        run::{RunState, RunView},
    },
    ui::{
        components::feedback::{ErrorNote, Loading},
        js,
    },
};
use leptos::{html, prelude::*};
use leptos_router::hooks::use_navigate;

/// The run a chart can be drawn from: finished, with its id.
fn finished(run: &Option<RunView>) -> Option<(String, RunState)> {
    run.as_ref()
        .filter(|r| r.state.finished() && !r.id.0.is_empty())
        .map(|r| (r.id.0.clone(), r.state))
}

/// A file name from the insight's name and its parameter values: letters, digits, `-`, `_`
/// and spaces kept, the rest dropped.
pub fn file_name(name: &str, values: &UrlValues, ext: &str) -> String {
    let mut parts = vec![name.to_string()];
    for (k, vs) in values {
        parts.push(format!("{k}={}", vs.join(",")));
    }
    let clean: String = parts
        .join(" ")
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | ' ' | '=' | ',' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let clean = clean.trim().chars().take(120).collect::<String>();
    format!("{}.{ext}", if clean.is_empty() { "chart" } else { &clean })
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
/// The values a click on a chart stands for, as a row of the clicked category and series:
/// columns `[x, series]` (those the spec has) and their values.
pub fn clicked_row(
    spec: &ChartSpec,
    category: Option<String>,
    series: Option<String>,
) -> (Vec<String>, Vec<Option<String>>) {
    let mut cols = vec![];
    let mut row = vec![];
    let value = |v: Option<String>| v.filter(|v| v != "(empty)");
    if let Some(x) = &spec.x {
        cols.push(x.clone());
        row.push(value(category));
    }
    if let Some(s) = &spec.series {
        cols.push(s.clone());
        row.push(value(series));
    }
    (cols, row)
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
/// Where a click goes: the drill-down on the x column, else the one on the series column.
pub fn click_target(
    spec: &ChartSpec,
    drill: &[DrillLink],
    category: Option<String>,
    series: Option<String>,
    values: &UrlValues,
) -> Option<String> {
    let (cols, row) = clicked_row(spec, category, series);
    cols.iter()
        .find_map(|c| drill.iter().find(|l| l.column == *c))
        .and_then(|l| drill_href(l, &cols, &row, values))
}

#[component]
pub fn ChartPanel(
    run: RwSignal<Option<RunView>>,
    /// The spec to draw: the saved one or the editor's draft; `None` asks for a proposal.
    spec: Signal<Option<ChartSpec>>,
    /// The spec drawn last (the proposal, when `spec` is `None`), for the editor to start from.
    drawn: RwSignal<Option<ChartSpec>>,
    drill: Signal<Vec<DrillLink>>,
    values: Memo<UrlValues>,
    name: Signal<String>,
) -> impl IntoView {
    let key = Memo::new(move |_| run.with(finished));
    let data = LocalResource::new(move || {
        let key = key.get();
        let spec = spec.get();
        async move {
            match key {
                Some((id, _)) => Some(get_chart(crate::model::run::RunId(id), spec).await),
                None => None,
            }
        }
    });
    let canvas = NodeRef::<html::Div>::new();
    let shown = RwSignal::new(None::<ChartData>);
    // A plugin's failure (bad module, a throw, no answer in 5 s), from its frame.
    let plugin_error = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        if let Some(Some(Ok(d))) = data.get() {
            drawn.set(Some(d.spec.clone()));
            shown.set(Some(d));
        } else if let Some(Some(Err(_))) = data.get() {
            shown.set(None);
        }
    });
    // Draw when the data or the element changes.
    Effect::new(move |_| {
        let el = canvas.get();
        shown.with(|d| {
            if let (Some(el), Some(d)) = (el, d.as_ref()) {
                plugin_error.set(None);
                if let Some(p) = &d.plugin {
                    js::chart_plugin(&el, &p.module_url, &p.payload);
                } else if !d.option.is_empty() {
                    let spec = serde_json::to_string(&d.spec).unwrap_or_default();
                    js::chart_render(&el, &d.option, &spec);
                }
            }
        });
    });
    on_cleanup(move || {
        if let Some(el) = canvas.get_untracked() {
            js::chart_dispose(&el);
        }
    });
    listen(canvas, shown, drill, values, plugin_error);
    let download = move |kind: &'static str| {
        if let Some(el) = canvas.get_untracked() {
            let f = file_name(&name.get_untracked(), &values.get_untracked(), kind);
            js::chart_download(&el, kind, &f);
        }
    };
    let has_drill = move || {
        shown.with(|d| {
            d.as_ref().is_some_and(|d| {
                drill.with(|links| {
                    links.iter().any(|l| {
                        Some(&l.column) == d.spec.x.as_ref()
                            || Some(&l.column) == d.spec.series.as_ref()
                    })
                })
            })
        })
    };
    let drawable = move || {
        plugin_error.with(Option::is_none)
            && shown.with(|d| {
                d.as_ref()
                    .is_some_and(|d| !d.option.is_empty() || d.plugin.is_some())
            })
    };
    let is_plugin = move || shown.with(|d| d.as_ref().is_some_and(|d| d.plugin.is_some()));
    view! {
        <section class="card chart-panel" data-test="chart-panel">
            <ChartResult key data/>
            {move || plugin_error.get().map(|e| {
                let name = shown.with(|d| d.as_ref().and_then(|d| d.plugin.as_ref().map(|p| p.name.clone())).unwrap_or_default());
                view! {
                    <div class="note error" role="alert" data-test="chart-plugin-error">
                        <p>{format!("The chart plugin “{name}” failed: {e}.")}</p>
                        <p class="small">"Only this chart is affected. Choose another chart kind, or ask an admin to check the plugin under Plugins."</p>
                    </div>
                }
            })}
            <div class="chart-canvas" class:plugin=is_plugin class:hidden=move || !drawable() node_ref=canvas data-test="chart-canvas"
                class:clickable=has_drill role="img"
                aria-label=move || shown.with(|d| d.as_ref().map(|d| format!("{} chart", d.spec.kind.label())).unwrap_or_default())></div>
            <Show when=move || drawable() && !is_plugin() && shown.with(|d| d.as_ref().is_some_and(|d| d.spec.kind != ChartKind::Number))>
                <div class="chart-actions">
                    {move || has_drill().then(|| view! { <span class="muted small">"Click a bar, point or slice to drill down."</span> })}
                    <button class="button small" type="button" data-test="chart-png" on:click=move |_| download("png")>"PNG"</button>
                    <button class="button small" type="button" data-test="chart-svg" on:click=move |_| download("svg")>"SVG"</button>
                </div>
            </Show>
        </section>
    }
}

/// Clicks and plugin failures come from the chart bundle as DOM events on the chart's
/// element: a click follows the drill-down link of what was clicked (a bar, a point, a slice,
/// or a plugin's row), a failure shows under the chart.
fn listen(
    canvas: NodeRef<html::Div>,
    shown: RwSignal<Option<ChartData>>,
    drill: Signal<Vec<DrillLink>>,
    values: Memo<UrlValues>,
    plugin_error: RwSignal<Option<String>>,
) {
    let navigate = StoredValue::new(use_navigate());
    #[cfg(not(feature = "hydrate"))]
    let _ = (navigate, canvas, shown, drill, values, plugin_error);
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(el) = canvas.get() {
            use wasm_bindgen::{closure::Closure, JsCast};
            let on_click =
                Closure::<dyn Fn(web_sys::CustomEvent)>::new(move |ev: web_sys::CustomEvent| {
                    let Some(detail) = ev.detail().as_string() else {
                        return;
                    };
                    let Ok(v) = serde_json::from_str::<serde_json::Value>(&detail) else {
                        return;
                    };
                    let Some(spec) = shown.with_untracked(|d| d.as_ref().map(|d| d.spec.clone()))
                    else {
                        return;
                    };
                    let values = values.get_untracked();
                    let target = drill.with_untracked(|links| match v["row"].as_object() {
                        Some(row) => plugin_click_target(&spec, row, links, &values),
                        None => click_target(
                            &spec,
                            links,
                            json_text(&v["category"]),
                            json_text(&v["series"]),
                            &values,
                        ),
                    });
                    if let Some(url) = target {
                        if url.starts_with('/') {
                            navigate.with_value(|n| n(&url, Default::default()));
                        } else if let Some(w) = web_sys::window() {
                            let _ = w.location().assign(&url);
                        }
                    }
                });
            let _ = el.add_event_listener_with_callback(
                "sightline-chart-click",
                on_click.as_ref().unchecked_ref(),
            );
            on_click.forget();
            let on_error =
                Closure::<dyn Fn(web_sys::CustomEvent)>::new(move |ev: web_sys::CustomEvent| {
                    plugin_error.set(Some(ev.detail().as_string().unwrap_or_default()));
                });
            let _ = el.add_event_listener_with_callback(
                "sightline-plugin-error",
                on_error.as_ref().unchecked_ref(),
            );
            on_error.forget();
        }
    });
}

/// A clicked value as text (`None` for null).
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn json_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Where a plugin's click leads: its row's columns, named as the result's (the plugin's
/// column mapping), through the first drill-down link on one of them.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
fn plugin_click_target(
    spec: &ChartSpec,
    row: &serde_json::Map<String, serde_json::Value>,
    drill: &[DrillLink],
    values: &UrlValues,
) -> Option<String> {
    let (cols, cells): (Vec<String>, Vec<Option<String>>) = row
        .iter()
        .map(|(k, v)| {
            let col = spec
                .plugin_columns
                .get(k)
                .cloned()
                .unwrap_or_else(|| k.clone());
            (col, json_text(v))
        })
        .unzip();
    cols.iter()
        .find_map(|c| drill.iter().find(|l| l.column == *c))
        .and_then(|l| drill_href(l, &cols, &cells, values))
}

/// What the chart's data says besides the drawing: loading, its error, why it cannot be
/// drawn, a note, or the big number with its change and sparkline.
#[component]
fn ChartResult(
    key: Memo<Option<(String, RunState)>>,
    data: LocalResource<Option<Result<ChartData, crate::error::AppError>>>,
) -> impl IntoView {
    view! {
        {move || match (key.get(), data.get()) {
                (None, _) => view! { <Loading/> }.into_any(),
                (Some(_), None) => view! { <Loading/> }.into_any(),
                (Some(_), Some(None)) => ().into_any(),
                (Some(_), Some(Some(Err(e)))) => view! { <ErrorNote error=Signal::derive(move || Some(e.clone()))/> }.into_any(),
                (Some(_), Some(Some(Ok(d)))) => {
                    if !d.problems.is_empty() {
                        view! {
                            <div class="note warn chart-problem" role="alert" data-test="chart-problem">
                                <p><strong>"This chart cannot be drawn from the result."</strong></p>
                                <ul>{d.problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                            </div>
                        }.into_any()
                    } else {
                        view! {
                            {d.note.map(|n| view! { <p class="note chart-note" data-test="chart-note">{n}</p> })}
                            {d.number.map(|n| {
                                let dir = match n.up { Some(true) => "change up", Some(false) => "change down", None => "change" };
                                view! {
                                    <div class="big-number" data-test="chart-number">
                                        <span class="label">{n.label}</span>
                                        <span class="value">{n.value}</span>
                                        {n.change.map(|c| view! { <span class=dir>{c}</span> })}
                                        {(n.spark.len() > 1).then(|| view! {
                                            <svg class="spark" viewBox="0 0 200 40" width="200" height="40" preserveAspectRatio="none" data-test="chart-spark" aria-hidden="true">
                                                <polyline fill="none" stroke="currentColor" stroke-width="2" points=spark_points(&n.spark, 200.0, 40.0)/>
                                            </svg>
                                        })}
                                    </div>
                                }
                            })}
                        }.into_any()
                    }
                }
            }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::insight::{DrillSource, DrillTarget, InsightId};

    #[test]
    fn a_click_fills_the_drill_down_from_category_and_series() {
        let spec = ChartSpec {
            x: Some("month".into()),
            series: Some("country".into()),
            y: vec!["revenue".into()],
            ..Default::default()
        };
        let drill = vec![DrillLink {
            column: "country".into(),
            target: DrillTarget::Insight {
                insight_id: InsightId(4),
                mapping: vec![
                    ("country".into(), DrillSource::Column("country".into())),
                    ("month".into(), DrillSource::Column("month".into())),
                ],
            },
        }];
        let url = click_target(
            &spec,
            &drill,
            Some("2024-02-01".into()),
            Some("DE".into()),
            &UrlValues::new(),
        );
        assert_eq!(
            url.as_deref(),
            Some("/insights/4?p_country=DE&p_month=2024-02-01")
        );
        assert_eq!(
            click_target(&spec, &[], Some("x".into()), None, &UrlValues::new()),
            None
        );
    }

    #[test]
    fn file_names_carry_the_parameters() {
        let mut v = UrlValues::new();
        v.insert("country".into(), vec!["DE".into(), "FR".into()]);
        assert_eq!(
            file_name("Revenue / month", &v, "png"),
            "Revenue _ month country=DE,FR.png"
        );
        assert_eq!(file_name("", &UrlValues::new(), "svg"), "chart.svg");
    }
}
