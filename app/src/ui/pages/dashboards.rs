//! All dashboards: search, the trash with restore, and a new dashboard (everyone signed in
//! may create one; its owner and editors may change it).
use crate::{
    api::dashboards::{dashboard_list, SaveDashboard, TrashDashboard},
    error::AppError,
    model::dashboard::{DashboardDraft, DashboardSummary},
    ui::{
        components::feedback::{ErrorNote, Loading, Region},
        query::use_query,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

#[component]
pub fn DashboardsPage() -> impl IntoView {
    let query = use_query();
    let navigate = StoredValue::new(use_navigate());
    let trash = Memo::new(move |_| query.with(|q| q.get("trash")).is_some());
    let search = RwSignal::new(String::new());
    let version = RwSignal::new(0u32);
    let error = RwSignal::new(None::<AppError>);
    let list = LocalResource::new(move || {
        let (q, t) = (search.get(), trash.get());
        version.track();
        async move { dashboard_list((!q.trim().is_empty()).then_some(q), t).await }
    });
    let new_name = RwSignal::new(String::new());
    // A new dashboard opens; a refusal shows above the list.
    let create = ServerAction::<SaveDashboard>::new();
    let creating = create.pending();
    Effect::new(move |_| match create.value().get() {
        Some(Ok(d)) => {
            navigate.with_value(|n| n(&format!("/dashboards/{}", d.id.0), Default::default()))
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let draft = DashboardDraft {
            name: new_name.get_untracked(),
            ..Default::default()
        };
        create.dispatch(SaveDashboard {
            id: None,
            base_version: None,
            draft,
        });
    };
    // A restored dashboard leaves the trash's list.
    let restore = ServerAction::<TrashDashboard>::new();
    Effect::new(move |_| match restore.value().get() {
        Some(Ok(())) => version.update(|v| *v += 1),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    view! {
        <Title text="Dashboards"/>
        <div class="page-head">
            <h1>"Dashboards"</h1>
            <div class="actions">
                <a class="button" href=move || if trash.get() { "/dashboards" } else { "/dashboards?trash=1" } data-test="dashboard-trash-link">
                    {move || if trash.get() { "Back to dashboards" } else { "Trash" }}
                </a>
            </div>
        </div>
        <Show when=move || !trash.get()>
            <form class="inline-form card" on:submit=submit data-test="new-dashboard-form">
                <input type="text" placeholder="New dashboard name" aria-label="New dashboard name" data-test="new-dashboard-name"
                    prop:value=move || new_name.get() on:input=move |ev| new_name.set(event_target_value(&ev))/>
                <button class="button primary" type="submit" data-test="create-dashboard" disabled=move || creating.get()>"Create dashboard"</button>
            </form>
        </Show>
        <ErrorNote error=Signal::derive(move || error.get())/>
        <input type="search" class="search" placeholder="Search dashboards" aria-label="Search dashboards" data-test="dashboard-search"
            prop:value=move || search.get() on:input=move |ev| search.set(event_target_value(&ev))/>
        <Region label="Dashboards">
            {move || match list.get() {
                None => view! { <Loading/> }.into_any(),
                Some(r) => r.map(|ds| view! { <DashboardTable ds in_trash=trash.get_untracked() restore/> }).into_any(),
            }}
        </Region>
    }
}

/// The dashboards found (or those in the trash, each with Restore for who may change it).
#[component]
fn DashboardTable(
    ds: Vec<DashboardSummary>,
    in_trash: bool,
    restore: ServerAction<TrashDashboard>,
) -> impl IntoView {
    if ds.is_empty() {
        return view! {
            <p class="muted" data-test="no-dashboards">{if in_trash { "The trash has no dashboards." } else { "No dashboards yet. Create one above, or use “Add to dashboard” on an insight." }}</p>
        }.into_any();
    }
    view! {
        <table class="table" data-test="dashboards-table">
            <thead><tr><th>"Name"</th><th>"Tiles"</th><th>"Updated"</th><th></th></tr></thead>
            <tbody>
                {ds.into_iter().map(|d| {
                    let id = d.id;
                    view! {
                        <tr data-test="dashboard-row">
                            <td>
                                {if in_trash { view! { <span>{d.name.clone()}</span> }.into_any() } else { view! { <a href=format!("/dashboards/{}", id.0) data-test="dashboard-link">{d.name.clone()}</a> }.into_any() }}
                                {(!d.description.is_empty()).then(|| view! { <p class="muted small">{d.description.chars().take(160).collect::<String>()}</p> })}
                            </td>
                            <td>{d.tiles}</td>
                            <td class="small">{d.updated_at.format("%Y-%m-%d %H:%M").to_string()}{d.updated_by.clone().map(|u| format!(" · {u}"))}</td>
                            <td class="actions">
                                {(in_trash && d.can_edit).then(|| view! { <button class="button small" data-test="restore-dashboard" on:click=move |_| { restore.dispatch(TrashDashboard { id, trashed: false }); }>"Restore"</button> })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
