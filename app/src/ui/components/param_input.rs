//! The inputs of a parameter form (an insight's parameters, a dashboard's filters), one per
//! kind. A change goes to the URL, which reruns what depends on it.
use crate::ui::url::today;
use crate::{
    api::{dashboards::filter_options, insights::param_options},
    model::{
        dashboard::DashboardId,
        insight::{InsightId, UrlValues},
        params::{self, EnumOption, ParamKind, ParamSpec, DATE_RANGE_PRESETS},
    },
};
use leptos::prelude::*;

/// Whose parameter this is: where a query-backed list gets its choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionsFrom {
    Insight(InsightId),
    Dashboard(DashboardId),
}

/// The input for one parameter, by kind. Changes go to the URL (which reruns the insight).
#[component]
pub fn ParamInput(
    spec: ParamSpec,
    from: OptionsFrom,
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
                async move {
                    match from {
                        OptionsFrom::Insight(id) => param_options(id, n, vals).await,
                        OptionsFrom::Dashboard(id) => filter_options(id, n, vals).await,
                    }
                }
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
