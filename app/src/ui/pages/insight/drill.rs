//! Drill-downs chosen from lists: the column whose cells become links, then either the
//! insight they open (picked by folder and name) with each of its parameters fed from a
//! column of the clicked row, one of this insight's parameters or a fixed value, or a web
//! address with `{{column}}` slots. The insight picker and the loader of another insight's
//! parameters are shared with the "choices from an insight" settings.
use crate::model::{
    insight::{DrillLink, DrillSource, DrillTarget, InsightDraft, InsightId},
    params::ParamSpec,
};
use crate::ui::components::insight_select::{
    param_label, target_params, InsightChoices, InsightSelect,
};
use leptos::prelude::*;

/// The drill-down list of the editor: one row per link, and "Add a drill-down".
#[component]
pub fn DrillEditor(
    draft: RwSignal<InsightDraft>,
    columns: Signal<Vec<String>>,
    choices: Signal<InsightChoices>,
    self_id: InsightId,
) -> impl IntoView {
    let add = move |_| {
        let column = columns.with_untracked(|c| c.first().cloned().unwrap_or_default());
        draft.update(|d| {
            d.drill.push(DrillLink {
                column,
                target: DrillTarget::Insight {
                    insight_id: InsightId(0),
                    mapping: vec![],
                },
            })
        });
    };
    // Rows are made again only when one is added or removed, not on every edit.
    let count = Memo::new(move |_| draft.with(|d| d.drill.len()));
    view! {
        <div class="drill-list" data-test="drill-list">
            {move || draft.with(|d| d.drill.is_empty()).then(|| view! {
                <p class="muted small">"A drill-down turns a column's cells into links: to another insight with its parameters filled from the clicked row, or to a web address."</p>
            })}
            {move || (0..count.get()).map(|i| view! { <DrillRow draft i columns choices self_id/> }).collect_view()}
            <button class="button small" type="button" data-test="add-drill" on:click=add>"Add a drill-down"</button>
        </div>
    }
}

/// How one target parameter is fed, as the value of its select: `column:NAME`, `param:NAME`,
/// `const` (a fixed value typed beside it) or empty (not set).
fn source_key(s: Option<&DrillSource>) -> String {
    match s {
        Some(DrillSource::Column(c)) => format!("column:{c}"),
        Some(DrillSource::Param(p)) => format!("param:{p}"),
        Some(DrillSource::Constant(_)) => "const".into(),
        None => String::new(),
    }
}

/// A first mapping for a newly chosen target: each of its parameters fed by the column or
/// parameter of the same name, when there is one.
pub fn guess_mapping(
    target: &[ParamSpec],
    columns: &[String],
    ours: &[String],
) -> Vec<(String, DrillSource)> {
    target
        .iter()
        .filter_map(|p| {
            if columns.contains(&p.name) {
                Some((p.name.clone(), DrillSource::Column(p.name.clone())))
            } else if ours.contains(&p.name) {
                Some((p.name.clone(), DrillSource::Param(p.name.clone())))
            } else {
                None
            }
        })
        .collect()
}

fn link_untracked(draft: RwSignal<InsightDraft>, i: usize) -> Option<DrillLink> {
    draft.with_untracked(|d| d.drill.get(i).cloned())
}

#[component]
fn DrillRow(
    draft: RwSignal<InsightDraft>,
    i: usize,
    columns: Signal<Vec<String>>,
    choices: Signal<InsightChoices>,
    self_id: InsightId,
) -> impl IntoView {
    let link = move || draft.with(|d| d.drill.get(i).cloned());
    let edit = Edit { draft, i };
    let column = move || link().map(|l| l.column).unwrap_or_default();
    // The columns of the latest result, plus the link's own column when the result lacks it
    // (the SQL changed, or nothing ran yet), so a stored choice is never silently replaced.
    let column_options = Signal::derive(move || {
        let mut cols = columns.get();
        let c = column();
        if !c.is_empty() && !cols.contains(&c) {
            cols.push(c);
        }
        cols
    });
    let is_url = move || matches!(link().map(|l| l.target), Some(DrillTarget::Url { .. }));
    let set_kind = move |ev| {
        let url = event_target_value(&ev) == "url";
        edit.update(move |l| {
            l.target = if url {
                DrillTarget::Url {
                    template: String::new(),
                }
            } else {
                DrillTarget::Insight {
                    insight_id: InsightId(0),
                    mapping: vec![],
                }
            }
        })
    };
    view! {
        <fieldset class="drill" data-test="drill-row">
            <legend>{move || format!("Clicking a cell of “{}”", column())}</legend>
            <label>"Column"
                <select data-test="drill-column" prop:value=column on:change=move |ev| { let v = event_target_value(&ev); edit.update(move |l| l.column = v) }>
                    {move || column_options.get().into_iter().map(|c| { let c2 = c.clone(); let v = c.clone(); view! { <option value=v selected=move || column() == c2>{c}</option> } }).collect_view()}
                </select>
            </label>
            {move || columns.with(|c| c.is_empty()).then(|| view! { <p class="muted small">"Run the insight to choose from its columns."</p> })}
            <label>"Opens"
                <select data-test="drill-kind" prop:value=move || if is_url() { "url" } else { "insight" } on:change=set_kind>
                    <option value="insight">"Another insight"</option>
                    <option value="url">"A web address"</option>
                </select>
            </label>
            <Show when=move || !is_url() fallback=move || view! { <DrillUrl edit/> }>
                <DrillTargetPicker edit columns column_options choices self_id/>
            </Show>
            <button class="button small danger" type="button" data-test="drill-remove" on:click=move |_| draft.update(|d| { if i < d.drill.len() { d.drill.remove(i); } })>"Remove"</button>
        </fieldset>
    }
}

/// Link `i` of the draft's drill-downs, to read and change.
#[derive(Clone, Copy)]
struct Edit {
    draft: RwSignal<InsightDraft>,
    i: usize,
}

impl Edit {
    fn link(self) -> Option<DrillLink> {
        self.draft.with(|d| d.drill.get(self.i).cloned())
    }

    fn update(self, f: impl FnOnce(&mut DrillLink)) {
        self.draft.update(|d| {
            if let Some(l) = d.drill.get_mut(self.i) {
                f(l)
            }
        })
    }

    /// How the target's parameter `name` is fed, if it is.
    fn source(self, name: &str) -> Option<DrillSource> {
        match self.link().map(|l| l.target) {
            Some(DrillTarget::Insight { mapping, .. }) => mapping
                .iter()
                .find(|(t, _)| t == name)
                .map(|(_, s)| s.clone()),
            _ => None,
        }
    }

    fn set_source(self, name: String, source: Option<DrillSource>) {
        self.update(move |l| {
            if let DrillTarget::Insight { mapping, .. } = &mut l.target {
                mapping.retain(|(t, _)| *t != name);
                if let Some(s) = source {
                    mapping.push((name, s));
                }
            }
        })
    }
}

/// The web address a link opens, with `{{column}}` slots.
#[component]
fn DrillUrl(edit: Edit) -> impl IntoView {
    view! {
        <label class="block">"Address — {{column}} is replaced by the clicked row's value"
            <input type="text" data-test="drill-url" placeholder="https://crm.example.com/customers/{{id}}"
                prop:value=move || match edit.link().map(|l| l.target) { Some(DrillTarget::Url { template }) => template, _ => String::new() }
                on:input=move |ev| { let v = event_target_value(&ev); edit.update(move |l| l.target = DrillTarget::Url { template: v }) }/>
        </label>
    }
}

/// The insight a link opens, and how each of its parameters is fed.
#[component]
fn DrillTargetPicker(
    edit: Edit,
    columns: Signal<Vec<String>>,
    column_options: Signal<Vec<String>>,
    choices: Signal<InsightChoices>,
    self_id: InsightId,
) -> impl IntoView {
    let draft = edit.draft;
    // A memo: the target's parameters load again only when another insight is chosen.
    let target_id = Memo::new(move |_| match edit.link().map(|l| l.target) {
        Some(DrillTarget::Insight { insight_id, .. }) if insight_id.0 > 0 => Some(insight_id),
        _ => None,
    });
    let target = target_params(target_id.into());
    let ours = Signal::derive(move || {
        draft.with(|d| d.params.iter().map(|p| p.name.clone()).collect::<Vec<_>>())
    });
    // Choosing another insight starts its mapping from the names that match; its parameters
    // arrive a moment later, so the guess is made when they do (for a mapping still empty).
    let choose = Callback::new(move |id: Option<InsightId>| {
        edit.update(move |l| {
            l.target = DrillTarget::Insight {
                insight_id: id.unwrap_or(InsightId(0)),
                mapping: vec![],
            }
        })
    });
    Effect::new(move |_| {
        let Some(Ok(specs)) = target.get() else {
            return;
        };
        let guess = guess_mapping(&specs, &columns.get_untracked(), &ours.get());
        let empty = link_untracked(draft, edit.i).is_some_and(
            |l| matches!(l.target, DrillTarget::Insight { ref mapping, .. } if mapping.is_empty()),
        );
        if guess.is_empty() || !empty {
            return;
        }
        edit.update(move |l| {
            if let DrillTarget::Insight { mapping, .. } = &mut l.target {
                if mapping.is_empty() {
                    *mapping = guess;
                }
            }
        });
    });
    let mapping = move |specs: Vec<ParamSpec>| {
        if specs.is_empty() && target_id.get_untracked().is_some() {
            return view! {
                <p class="muted small">"That insight has no parameters: the link opens it as it is."</p>
            }
            .into_any();
        }
        view! {
            <div class="drill-mapping" data-test="drill-mapping">
                {specs.into_iter().map(|p| view! { <SourceSelect p edit column_options ours/> }).collect_view()}
            </div>
        }
        .into_any()
    };
    view! {
        <label>"Insight"
            <InsightSelect choices value=target_id.into() set=choose test="drill-insight" skip=self_id/>
        </label>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match target.await {
                    Ok(specs) => mapping(specs).into_any(),
                    Err(e) => view! { <p class="field-error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// One parameter of the target: fed by a column of the clicked row, one of this insight's
/// parameters, a fixed value (typed beside it) or nothing (its default).
#[component]
fn SourceSelect(
    p: ParamSpec,
    edit: Edit,
    column_options: Signal<Vec<String>>,
    ours: Signal<Vec<String>>,
) -> impl IntoView {
    let name = p.name.clone();
    let n1 = name.clone();
    let n2 = name.clone();
    let n3 = name.clone();
    let n4 = name.clone();
    let key = Signal::derive(move || source_key(edit.source(&n1).as_ref()));
    let opt = move |k: String, label: String| view! { <option value=k.clone() selected=move || key.get() == k>{label}</option> };
    let choose = move |ev| {
        let v = event_target_value(&ev);
        let s = if let Some(c) = v.strip_prefix("column:") {
            Some(DrillSource::Column(c.into()))
        } else if let Some(p) = v.strip_prefix("param:") {
            Some(DrillSource::Param(p.into()))
        } else if v == "const" {
            Some(DrillSource::Constant(String::new()))
        } else {
            None
        };
        edit.set_source(n2.clone(), s);
    };
    view! {
        <label data-test=format!("drill-map-{name}")>{param_label(&p)}
            <select on:change=choose>
                {opt(String::new(), "Not set (its default)".into())}
                <optgroup label="The clicked row's">
                    {move || column_options.get().into_iter().map(|c| opt(format!("column:{c}"), c)).collect_view()}
                </optgroup>
                <optgroup label="This insight's parameter">
                    {move || ours.get().into_iter().map(|p| opt(format!("param:{p}"), p)).collect_view()}
                </optgroup>
                {opt("const".into(), "A fixed value…".into())}
            </select>
            {move || matches!(edit.source(&n3), Some(DrillSource::Constant(_))).then(|| {
                let (read, write) = (n4.clone(), n4.clone());
                view! {
                    <input type="text" data-test="drill-const" prop:value=move || match edit.source(&read) { Some(DrillSource::Constant(v)) => v, _ => String::new() }
                        on:input=move |ev| edit.set_source(write.clone(), Some(DrillSource::Constant(event_target_value(&ev))))/>
                }
            })}
        </label>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::params::ParamKind;

    #[test]
    fn a_new_target_is_fed_by_matching_names() {
        let specs = vec![
            ParamSpec::new("customer_id", ParamKind::Integer),
            ParamSpec::new("period", ParamKind::DateRange),
            ParamSpec::new("status", ParamKind::Text),
        ];
        let cols = vec!["customer_id".to_string(), "total".to_string()];
        let ours = vec!["period".to_string()];
        assert_eq!(
            guess_mapping(&specs, &cols, &ours),
            vec![
                (
                    "customer_id".to_string(),
                    DrillSource::Column("customer_id".into())
                ),
                ("period".to_string(), DrillSource::Param("period".into())),
            ]
        );
        assert_eq!(source_key(None), "");
        assert_eq!(
            source_key(Some(&DrillSource::Constant("x".into()))),
            "const"
        );
    }
}
