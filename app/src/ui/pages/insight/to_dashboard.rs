//! "Add to dashboard": the insight as a new tile at the bottom of a dashboard the user may
//! change, or of a new one; then the dashboard opens.
use crate::{
    api::dashboards::{dashboard_list, AddToDashboard as AddTile},
    model::{dashboard::DashboardId, insight::InsightId},
};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

#[component]
pub fn AddToDashboard(insight: InsightId, open: RwSignal<bool>) -> impl IntoView {
    let navigate = StoredValue::new(use_navigate());
    let list = LocalResource::new(|| dashboard_list(None, false));
    let chosen = RwSignal::new(String::new());
    let new_name = RwSignal::new(String::new());
    let add_tile = ServerAction::<AddTile>::new();
    let busy = add_tile.pending();
    let error = Signal::derive(move || add_tile.value().get().and_then(Result::err));
    // The dashboard opens with its new tile.
    Effect::new(move |_| {
        if let Some(Ok(id)) = add_tile.value().get() {
            navigate.with_value(|n| n(&format!("/dashboards/{}", id.0), Default::default()));
        }
    });
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let to = chosen.get_untracked().parse::<i64>().ok().map(DashboardId);
        let name = (to.is_none()).then(|| new_name.get_untracked());
        add_tile.dispatch(AddTile {
            dashboard: to,
            new_name: name,
            insight,
        });
    };
    view! {
        <form class="card inline-form to-dashboard" data-test="to-dashboard" on:submit=add>
            <label>"Dashboard"
                <select data-test="to-dashboard-select" prop:value=move || chosen.get() on:change=move |ev| chosen.set(event_target_value(&ev))>
                    <option value="">"A new dashboard…"</option>
                    {move || list.get().and_then(Result::ok).unwrap_or_default().into_iter().filter(|d| d.can_edit).map(|d| view! {
                        <option value=d.id.0.to_string()>{d.name}</option>
                    }).collect_view()}
                </select>
            </label>
            <Show when=move || chosen.with(String::is_empty)>
                <label>"Name"
                    <input type="text" data-test="to-dashboard-name" placeholder="New dashboard name" prop:value=move || new_name.get()
                        on:input=move |ev| new_name.set(event_target_value(&ev))/>
                </label>
            </Show>
            <button class="button primary" type="submit" data-test="to-dashboard-add" disabled=move || busy.get()>"Add"</button>
            <button class="button" type="button" on:click=move |_| open.set(false)>"Close"</button>
            {move || error.get().map(|e| view! { <span class="field-error" data-test="to-dashboard-error">{e.to_string()}</span> })}
        </form>
    }
}
