//! The value forms under the editor: typed inputs for `{{name}}` parameters and the plain
//! `$n` / `?` values.
use super::tabs::{NamedValue, ParamInput};
use crate::model::params::ParamKind;
use leptos::prelude::*;

pub(super) const PARAM_KINDS: [(&str, &str); 5] = [
    ("text", "Text"),
    ("number", "Number"),
    ("date", "Date"),
    ("datetime-local", "Date and time"),
    ("bool", "Boolean"),
];

/// The types a `{{name}}` parameter can take in the workbench (a date range is chosen by
/// writing `{{name.start}}` / `{{name.end}}`).
pub(super) const NAMED_KINDS: [(ParamKind, &str); 6] = [
    (ParamKind::Text, "Text"),
    (ParamKind::Number, "Number"),
    (ParamKind::Integer, "Whole number"),
    (ParamKind::Date, "Date"),
    (ParamKind::DateTime, "Date and time"),
    (ParamKind::Boolean, "Yes/no"),
];

pub(super) fn kind_key(k: ParamKind) -> String {
    serde_json::to_value(k)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Typed inputs for the `{{name}}` parameters the SQL uses.
#[component]
pub(super) fn NamedInputs(
    named: RwSignal<Vec<NamedValue>>,
    refs: Memo<Vec<(String, bool)>>,
) -> impl IntoView {
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
pub(super) fn NamedRow(
    named: RwSignal<Vec<NamedValue>>,
    name: String,
    range: bool,
) -> impl IntoView {
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
pub(super) fn ParamInputs(params: RwSignal<Vec<ParamInput>>) -> impl IntoView {
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
