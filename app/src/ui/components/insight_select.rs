//! Picking an insight by folder and name, and reading its parameters: shared by the
//! drill-down editor, "choices from an insight" and dashboard tiles.
use crate::{
    api::insights::insight_params,
    model::{insight::InsightId, params::ParamSpec},
};
use leptos::prelude::*;

/// Insights grouped by folder path (`model::insight::insight_groups`).
pub type InsightChoices = Vec<(String, Vec<(InsightId, String)>)>;

/// A select of insights under their folders. `skip` leaves one out (the insight itself).
#[component]
pub fn InsightSelect(
    choices: Signal<InsightChoices>,
    value: Signal<Option<InsightId>>,
    set: Callback<Option<InsightId>>,
    test: &'static str,
    #[prop(optional)] skip: Option<InsightId>,
) -> impl IntoView {
    let option = move |id: InsightId, name: String| {
        view! { <option value=id.0.to_string() selected=move || value.get() == Some(id)>{name}</option> }
    };
    view! {
        <select data-test=test prop:value=move || value.get().map(|i| i.0.to_string()).unwrap_or_default()
            on:change=move |ev| set.run(event_target_value(&ev).parse::<i64>().ok().map(InsightId))>
            <option value="">"Choose an insight…"</option>
            {move || choices.get().into_iter().map(|(folder, list)| {
                let items = list.into_iter().filter(|(id, _)| Some(*id) != skip).map(|(id, name)| option(id, name)).collect_view();
                if folder.is_empty() {
                    view! { <optgroup label="No folder">{items}</optgroup> }.into_any()
                } else {
                    view! { <optgroup label=folder>{items}</optgroup> }.into_any()
                }
            }).collect_view()}
        </select>
    }
}

/// The parameters of the insight `id` names (none while nothing is chosen or it cannot be
/// read; the error is shown by `TargetError`).
pub fn target_params(
    id: Signal<Option<InsightId>>,
) -> LocalResource<Result<Vec<ParamSpec>, crate::error::AppError>> {
    LocalResource::new(move || {
        let id = id.get();
        async move {
            match id {
                Some(id) => insight_params(id).await,
                None => Ok(vec![]),
            }
        }
    })
}

/// A parameter's name as people read it: its label, else its name.
pub fn param_label(p: &ParamSpec) -> String {
    if p.label.trim().is_empty() {
        p.name.clone()
    } else {
        p.label.clone()
    }
}
