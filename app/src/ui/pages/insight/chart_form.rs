//! The chart settings an editor changes: kind, columns, stacking, sort and "Other", titles,
//! number format, palette, labels, legend and missing values. Every change redraws the chart
//! at once; "Save chart" keeps it with the insight (a new version).
use crate::model::{
    chart::{
        ChartKind, ChartSort, ChartSpec, LegendPos, Missing, Palette, PluginInfo, PluginOptionType,
        Stack,
    },
    query::Column,
};
use leptos::prelude::*;

fn key<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned>(s: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

/// A select over an enum's values (by their serde names), reading and writing one field of
/// the spec. Not generic: one copy in the browser bundle for every enum.
#[component]
fn EnumSelect(
    label: &'static str,
    test: &'static str,
    options: Vec<(String, &'static str)>,
    get: Signal<String>,
    set: Callback<String>,
) -> impl IntoView {
    view! {
        <label>{label}
            <select data-test=test on:change=move |ev| set.run(event_target_value(&ev))>
                {options.into_iter().map(|(v, l)| {
                    let v2 = v.clone();
                    view! { <option value=v selected=move || get.get() == v2>{l}</option> }
                }).collect_view()}
            </select>
        </label>
    }
}

/// The options, value and setter of an `EnumSelect` for one field of the spec.
fn choice<T>(
    spec: RwSignal<ChartSpec>,
    options: &[(T, &'static str)],
    read: fn(&ChartSpec) -> T,
    write: fn(&mut ChartSpec, T),
) -> (
    Vec<(String, &'static str)>,
    Signal<String>,
    Callback<String>,
)
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    (
        options.iter().map(|(v, l)| (key(v), *l)).collect(),
        Signal::derive(move || spec.with(|s| key(&read(s)))),
        Callback::new(move |v: String| {
            if let Some(v) = parse::<T>(&v) {
                spec.update(|s| write(s, v))
            }
        }),
    )
}

/// A select of one column (or none, when `none` names what "none" means).
#[component]
fn ColumnSelect(
    #[prop(into)] label: String,
    test: &'static str,
    columns: Signal<Vec<Column>>,
    get: Signal<Option<String>>,
    set: Callback<Option<String>>,
    #[prop(optional)] none: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label>{label}
            <select data-test=test on:change=move |ev| { let v = event_target_value(&ev); set.run((!v.is_empty()).then_some(v)) }>
                {none.map(|n| view! { <option value="" selected=move || get.get().is_none()>{n}</option> })}
                {move || {
                    let mut names: Vec<String> = columns.get().into_iter().map(|c| c.name).collect();
                    // A saved column the result lacks stays visible (the chart says what to change).
                    if let Some(g) = get.get().filter(|g| !names.contains(g)) { names.push(g); }
                    names.into_iter().map(|n| {
                        let n2 = n.clone();
                        let v = n.clone();
                        view! { <option value=v selected=move || get.get().as_ref() == Some(&n2)>{n}</option> }
                    }).collect_view()
                }}
            </select>
        </label>
    }
}

/// A plugin's columns (each from a result column) and its typed options.
#[component]
fn PluginFields(
    spec: RwSignal<ChartSpec>,
    plugins: Signal<Vec<PluginInfo>>,
    columns: Signal<Vec<Column>>,
) -> impl IntoView {
    let manifest = Memo::new(move |_| {
        let id = spec.with(|s| s.plugin.clone());
        plugins.with(|ps| {
            ps.iter()
                .find(|p| Some(&p.manifest.id) == id.as_ref())
                .map(|p| p.manifest.clone())
        })
    });
    move || {
        manifest.get().map(|m| {
            let cols = m.columns.into_iter().map(|c| {
                let (n1, n2) = (c.name.clone(), c.name.clone());
                let label = if c.label.is_empty() { c.name.clone() } else { c.label.clone() };
                view! {
                    <ColumnSelect label test="chart-plugin-column" columns none="Choose a column"
                        get=Signal::derive(move || spec.with(|s| s.plugin_columns.get(&n1).cloned()))
                        set=Callback::new(move |v: Option<String>| spec.update(|s| { match v { Some(v) => { s.plugin_columns.insert(n2.clone(), v); } None => { s.plugin_columns.remove(&n2); } } }))/>
                }
            }).collect_view();
            let opts = m.options.into_iter().map(|o| {
                let label = if o.label.is_empty() { o.name.clone() } else { o.label.clone() };
                let (n1, n2) = (o.name.clone(), o.name.clone());
                let default = o.default.clone().unwrap_or(serde_json::Value::Null);
                let current = Signal::derive(move || spec.with(|s| s.plugin_options.get(&n1).cloned()).unwrap_or_else(|| default.clone()));
                let set = Callback::new(move |v: serde_json::Value| spec.update(|s| { s.plugin_options.insert(n2.clone(), v); }));
                let as_text = move || match current.get() { serde_json::Value::String(s) => s, serde_json::Value::Null => String::new(), v => v.to_string() };
                match o.kind {
                    PluginOptionType::Boolean => view! {
                        <label class="check"><input type="checkbox" prop:checked=move || current.get().as_bool().unwrap_or(false) on:change=move |ev| set.run(serde_json::Value::Bool(event_target_checked(&ev)))/>{label}</label>
                    }.into_any(),
                    PluginOptionType::Number => view! {
                        <label>{label}<input type="number" prop:value=as_text on:change=move |ev| { let v = event_target_value(&ev); set.run(v.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64).map_or(serde_json::Value::Null, serde_json::Value::Number)) }/></label>
                    }.into_any(),
                    PluginOptionType::Choice => view! {
                        <label>{label}<select on:change=move |ev| set.run(serde_json::Value::String(event_target_value(&ev)))>
                            {o.choices.into_iter().map(|c| { let c2 = c.clone(); let v = c.clone(); view! { <option value=v selected=move || as_text() == c2>{c}</option> } }).collect_view()}
                        </select></label>
                    }.into_any(),
                    PluginOptionType::Text => view! {
                        <label>{label}<input type="text" prop:value=as_text on:change=move |ev| set.run(serde_json::Value::String(event_target_value(&ev)))/></label>
                    }.into_any(),
                }
            }).collect_view();
            view! { <div class="plugin-fields" data-test="chart-plugin-fields">{cols}{opts}</div> }
        })
    }
}

#[component]
pub fn ChartForm(
    /// The spec being edited (starts from the one drawn).
    spec: RwSignal<ChartSpec>,
    columns: Signal<Vec<Column>>,
    /// Installed visualization plugins, offered after the built-in kinds.
    plugins: Signal<Vec<PluginInfo>>,
) -> impl IntoView {
    let kind_value = Signal::derive(move || {
        spec.with(|s| match &s.plugin {
            Some(p) => format!("plugin:{p}"),
            None => key(&s.kind),
        })
    });
    let builtin = move || spec.with(|s| s.plugin.is_none());
    let kind = Signal::derive(move || spec.with(|s| s.kind));
    let is = move |k: &'static [ChartKind]| move || k.contains(&kind.get());
    let field = move |f: fn(&ChartSpec) -> Option<String>| Signal::derive(move || spec.with(f));
    let setter = move |f: fn(&mut ChartSpec, Option<String>)| {
        Callback::new(move |v: Option<String>| spec.update(|s| f(s, v)))
    };
    let text = move |f: fn(&ChartSpec) -> String| move || spec.with(f);
    let toggle_y = move |name: String, on: bool| {
        spec.update(|s| {
            s.y.retain(|y| *y != name);
            if on {
                s.y.push(name);
            }
        })
    };
    let toggle_line = move |name: String, on: bool| {
        spec.update(|s| {
            s.lines.retain(|y| *y != name);
            if on {
                s.lines.push(name);
            }
        })
    };
    view! {
        <div class="chart-form" data-test="chart-form">
            <label>"Chart"
                <select data-test="chart-kind" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    spec.update(|s| if let Some(id) = v.strip_prefix("plugin:") { s.plugin = Some(id.to_string()) } else if let Some(k) = parse::<ChartKind>(&v) { s.plugin = None; s.kind = k })
                }>
                    {ChartKind::ALL.map(|k| { let v = key(&k); let v2 = v.clone(); view! { <option value=v selected=move || kind_value.get() == v2>{k.label()}</option> } }).collect_view()}
                    {move || { let ps = plugins.get(); (!ps.is_empty()).then(|| view! {
                        <optgroup label="Plugins">
                            {ps.into_iter().map(|p| { let v = format!("plugin:{}", p.manifest.id); let v2 = v.clone(); view! { <option value=v selected=move || kind_value.get() == v2 disabled=p.error.is_some() title=p.error.clone().unwrap_or_default()>{p.manifest.name.clone()}</option> } }).collect_view()}
                        </optgroup>
                    }) }}
                </select>
            </label>
            <Show when=move || !builtin()>
                <PluginFields spec plugins columns/>
            </Show>
            <Show when=builtin>
            <Show when=move || kind.get() != ChartKind::Number>
                <ColumnSelect label="X axis" test="chart-x" columns get=field(|s| s.x.clone()) set=setter(|s, v| s.x = v)/>
            </Show>
            <fieldset class="chart-y" data-test="chart-y">
                <legend>{move || if matches!(kind.get(), ChartKind::Pie | ChartKind::Number | ChartKind::Scatter) { "Value" } else { "Values" }}</legend>
                {move || columns.get().into_iter().map(|c| {
                    let (n1, n2, n3) = (c.name.clone(), c.name.clone(), c.name.clone());
                    view! {
                        <label class="check" title=c.type_name.clone()>
                            <input type="checkbox" data-test=format!("chart-y-{}", c.name) prop:checked=move || spec.with(|s| s.y.contains(&n1))
                                on:change=move |ev| toggle_y(n2.clone(), event_target_checked(&ev))/>
                            {n3}
                        </label>
                    }
                }).collect_view()}
            </fieldset>
            <Show when=is(&[ChartKind::Bar, ChartKind::Line, ChartKind::Area, ChartKind::Scatter, ChartKind::Combo])>
                <ColumnSelect label="Group by (one series each)" test="chart-series" columns none="No grouping" get=field(|s| s.series.clone()) set=setter(|s, v| s.series = v)/>
            </Show>
            <Show when=is(&[ChartKind::Scatter])>
                <ColumnSelect label="Point size" test="chart-size" columns none="Same size" get=field(|s| s.size.clone()) set=setter(|s, v| s.size = v)/>
            </Show>
            <Show when=is(&[ChartKind::Number])>
                <ColumnSelect label="Compare with" test="chart-compare" columns none="Nothing" get=field(|s| s.compare.clone()) set=setter(|s, v| s.compare = v)/>
                <ColumnSelect label="Trend line (over the rows)" test="chart-sparkline" columns none="None" get=field(|s| s.sparkline.clone()) set=setter(|s, v| s.sparkline = v)/>
            </Show>
            <Show when=is(&[ChartKind::Combo])>
                <fieldset class="chart-y">
                    <legend>"As lines (second axis)"</legend>
                    {move || spec.with(|s| s.y.clone()).into_iter().map(|y| {
                        let (n1, n2, n3) = (y.clone(), y.clone(), y);
                        view! { <label class="check"><input type="checkbox" prop:checked=move || spec.with(|s| s.lines.contains(&n1)) on:change=move |ev| toggle_line(n2.clone(), event_target_checked(&ev))/>{n3}</label> }
                    }).collect_view()}
                </fieldset>
            </Show>
            <Show when=is(&[ChartKind::Bar, ChartKind::Area, ChartKind::Combo])>
                {let (options, get, set) = choice(spec, &[(Stack::None, "Side by side"), (Stack::Stacked, "Stacked"), (Stack::Percent, "100 % stacked")], |s| s.stack, |s, v| s.stack = v);
                 view! { <EnumSelect label="Stacking" test="chart-stack" options get set/> }}
            </Show>
            <Show when=is(&[ChartKind::Bar])>
                <label class="check"><input type="checkbox" data-test="chart-horizontal" prop:checked=move || spec.with(|s| s.horizontal) on:change=move |ev| { let c = event_target_checked(&ev); spec.update(|s| s.horizontal = c) }/>"Horizontal bars"</label>
            </Show>
            <Show when=is(&[ChartKind::Pie])>
                <label class="check"><input type="checkbox" data-test="chart-donut" prop:checked=move || spec.with(|s| s.donut) on:change=move |ev| { let c = event_target_checked(&ev); spec.update(|s| s.donut = c) }/>"Donut"</label>
            </Show>
            <Show when=move || kind.get() != ChartKind::Number>
                {let (options, get, set) = choice(spec, &[(ChartSort::Result, "As the query returns"), (ChartSort::LabelAsc, "Label A→Z"), (ChartSort::LabelDesc, "Label Z→A"), (ChartSort::ValueDesc, "Largest first"), (ChartSort::ValueAsc, "Smallest first")], |s| s.sort, |s, v| s.sort = v);
                 view! { <EnumSelect label="Order" test="chart-sort" options get set/> }}
                <label>"Show at most (rest as “Other”)"
                    <input type="number" min="1" max="1000" data-test="chart-limit" placeholder="All" prop:value=move || spec.with(|s| s.limit.map(|l| l.to_string()).unwrap_or_default())
                        on:change=move |ev| { let v = event_target_value(&ev).trim().parse::<u32>().ok(); spec.update(|s| s.limit = v) }/>
                </label>
                <label>"X axis title"<input type="text" data-test="chart-x-title" prop:value=text(|s| s.x_title.clone()) on:change=move |ev| { let v = event_target_value(&ev); spec.update(|s| s.x_title = v) }/></label>
            </Show>
            <label>{move || if kind.get() == ChartKind::Number { "Label" } else { "Y axis title" }}<input type="text" data-test="chart-y-title" prop:value=text(|s| s.y_title.clone()) on:change=move |ev| { let v = event_target_value(&ev); spec.update(|s| s.y_title = v) }/></label>
            <fieldset class="chart-format">
                <legend>"Numbers"</legend>
                <label>"Decimals"<input type="number" min="0" max="10" data-test="chart-decimals" placeholder="Auto" prop:value=move || spec.with(|s| s.format.decimals.map(|d| d.to_string()).unwrap_or_default())
                    on:change=move |ev| { let v = event_target_value(&ev).trim().parse::<u8>().ok().map(|d| d.min(10)); spec.update(|s| s.format.decimals = v) }/></label>
                <label>"Before"<input type="text" size="4" data-test="chart-prefix" placeholder="$" prop:value=text(|s| s.format.prefix.clone()) on:change=move |ev| { let v = event_target_value(&ev); spec.update(|s| s.format.prefix = v) }/></label>
                <label>"After"<input type="text" size="4" data-test="chart-suffix" placeholder=" kg" prop:value=text(|s| s.format.suffix.clone()) on:change=move |ev| { let v = event_target_value(&ev); spec.update(|s| s.format.suffix = v) }/></label>
                <label class="check"><input type="checkbox" data-test="chart-percent" prop:checked=move || spec.with(|s| s.format.percent) on:change=move |ev| { let c = event_target_checked(&ev); spec.update(|s| s.format.percent = c) }/>"Fractions as %"</label>
                <label class="check"><input type="checkbox" prop:checked=move || spec.with(|s| s.format.plain) on:change=move |ev| { let c = event_target_checked(&ev); spec.update(|s| s.format.plain = c) }/>"No thousands separators"</label>
            </fieldset>
            <Show when=move || kind.get() != ChartKind::Number>
                {let (options, get, set) = choice(spec, &[(Palette::Default, "Sightline"), (Palette::Cool, "Cool"), (Palette::Warm, "Warm"), (Palette::Mono, "Greys")], |s| s.palette, |s, v| s.palette = v);
                 view! { <EnumSelect label="Colours" test="chart-palette" options get set/> }}
                {let (options, get, set) = choice(spec, &[(LegendPos::Top, "Top"), (LegendPos::Bottom, "Bottom"), (LegendPos::Right, "Right"), (LegendPos::Hidden, "Hidden")], |s| s.legend, |s, v| s.legend = v);
                 view! { <EnumSelect label="Legend" test="chart-legend" options get set/> }}
                {let (options, get, set) = choice(spec, &[(Missing::Gap, "Gaps"), (Missing::Zero, "Zeros")], |s| s.missing, |s, v| s.missing = v);
                 view! { <EnumSelect label="Missing values" test="chart-missing" options get set/> }}
                <label class="check"><input type="checkbox" data-test="chart-labels" prop:checked=move || spec.with(|s| s.labels) on:change=move |ev| { let c = event_target_checked(&ev); spec.update(|s| s.labels = c) }/>"Value labels"</label>
            </Show>
            </Show>
        </div>
    }
}
