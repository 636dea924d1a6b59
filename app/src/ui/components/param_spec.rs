//! One parameter's settings in the editor: label, type, required, several values, default,
//! limits, choices (typed, or from another insight picked by name with its parameters fed
//! from ours).
use super::insight_select::{param_label, target_params, InsightChoices, InsightSelect};
use crate::{
    error::AppError,
    model::{
        insight::{InsightDraft, InsightId},
        params::{EnumOption, ParamKind, ParamSpec, QuerySource},
    },
};
use leptos::prelude::*;

/// A change to a list of parameter specs.
pub type SpecEdit = Box<dyn FnOnce(&mut Vec<ParamSpec>) + Send + Sync>;

/// The list of specs an editor changes: an insight's parameters or a dashboard's filters.
#[derive(Clone, Copy)]
pub struct ParamList {
    pub get: Signal<Vec<ParamSpec>>,
    pub update: Callback<SpecEdit>,
}

impl ParamList {
    /// An insight draft's parameters.
    pub fn of_insight(draft: RwSignal<InsightDraft>) -> Self {
        ParamList {
            get: Signal::derive(move || draft.with(|d| d.params.clone())),
            update: Callback::new(move |f: SpecEdit| draft.update(|d| f(&mut d.params))),
        }
    }
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

#[component]
pub fn SpecEditor(
    list: ParamList,
    i: usize,
    /// The last save's error, for this parameter's message.
    #[prop(into)]
    error: Signal<Option<AppError>>,
    insights: Signal<InsightChoices>,
) -> impl IntoView {
    let get = move || {
        list.get
            .with(|p| p.get(i).cloned())
            .unwrap_or_else(|| new_spec(""))
    };
    let upd = move |f: Box<dyn FnOnce(&mut ParamSpec) + Send + Sync>| {
        list.update.run(Box::new(move |p: &mut Vec<ParamSpec>| {
            if let Some(s) = p.get_mut(i) {
                f(s)
            }
        }))
    };
    let name = get().name;
    let n2 = name.clone();
    // "Choices from an insight": which insight, and its parameters fed from ours.
    let source_id = Memo::new(move |_| {
        get()
            .source
            .map(|s| InsightId(s.insight_id))
            .filter(|i| i.0 > 0)
    });
    let source_params = target_params(source_id.into());
    let depends_of = move |theirs: &str| {
        get()
            .source
            .and_then(|s| s.depends_on.into_iter().find(|(a, _)| a == theirs))
            .map(|(_, ours)| ours)
            .unwrap_or_default()
    };
    let me = name.clone();
    let others = Signal::derive(move || {
        list.get.with(|p| {
            p.iter()
                .map(|p| p.name.clone())
                .filter(|n| *n != me)
                .collect::<Vec<_>>()
        })
    });
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
                <label>"From insight"
                    <InsightSelect choices=insights value=source_id.into() test="spec-source" set=Callback::new(move |id: Option<InsightId>| upd(Box::new(move |s| s.source = id.map(|id| QuerySource { insight_id: id.0, depends_on: vec![] }))))/>
                </label>
                <Suspense fallback=|| ()>{move || Suspend::new(async move {
                    let specs = source_params.await.unwrap_or_default();
                    (!specs.is_empty()).then(|| view! {
                        <div class="depends" data-test="spec-depends">
                            <p class="muted small">"Its parameters, fed from this insight's (a change here reloads the choices):"</p>
                            {specs.into_iter().map(|p| {
                                let theirs = p.name.clone();
                                let t1 = theirs.clone();
                                let t2 = theirs.clone();
                                view! {
                                    <label data-test=format!("spec-depends-{theirs}")>{param_label(&p)}
                                        <select on:change=move |ev| {
                                            let ours = event_target_value(&ev);
                                            let t = t2.clone();
                                            upd(Box::new(move |s| if let Some(src) = s.source.as_mut() {
                                                src.depends_on.retain(|(a, _)| *a != t);
                                                if !ours.is_empty() { src.depends_on.push((t, ours)); }
                                            }))
                                        }>
                                            <option value="">"Not set (its default)"</option>
                                            {move || others.get().into_iter().map(|o| { let t = t1.clone(); let o2 = o.clone(); let v = o.clone(); view! { <option value=v selected=move || depends_of(&t) == o2>{o}</option> } }).collect_view()}
                                        </select>
                                    </label>
                                }
                            }).collect_view()}
                        </div>
                    })
                })}</Suspense>
                <p class="muted small">"The insight's first column is the value, the second (if any) the label."</p>
            </Show>
            <button class="button small danger" on:click=move |_| list.update.run(Box::new(move |p: &mut Vec<ParamSpec>| { if i < p.len() { p.remove(i); } }))>"Remove"</button>
            {move || error.get().and_then(|e| e.field_message(&n2)).map(|m| view! { <span class="field-error">{m}</span> })}
        </fieldset>
    }
}
