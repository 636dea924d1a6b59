//! A dashboard's versions: who saved what when, and revert (which saves a new version).
use crate::{
    api::dashboards::{dashboard_versions, RevertDashboard},
    error::AppError,
    model::dashboard::{Dashboard, DashboardId},
    ui::components::feedback::{ErrorNote, Loading, Region},
};
use leptos::prelude::*;

#[component]
pub fn DashboardVersions(id: DashboardId, saved: RwSignal<Dashboard>) -> impl IntoView {
    let list = Resource::new(
        move || saved.with(|d| d.version),
        move |_| dashboard_versions(id),
    );
    let error = RwSignal::new(None::<AppError>);
    // The reverted board replaces the one on screen (and this list reloads with it).
    let revert = ServerAction::<RevertDashboard>::new();
    Effect::new(move |_| match revert.value().get() {
        Some(Ok(d)) => saved.set(d),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    view! {
        <section class="card versions" data-test="dashboard-versions">
            <h2>"Versions"</h2>
            <ErrorNote error=Signal::derive(move || error.get())/>
            <Region label="The versions">
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        list.await.map(|vs| view! {
                            <ul class="version-list">
                                {vs.into_iter().map(|v| {
                                    let n = v.version;
                                    let can_revert = move || saved.with(|d| d.can_edit && d.version != n);
                                    view! {
                                        <li data-test="version-item">
                                            <strong>{format!("Version {n}")}</strong>
                                            <span class="muted small">{format!(" · {} · {} · {}", v.author.clone().unwrap_or_else(|| "someone".into()), v.created_at.format("%Y-%m-%d %H:%M:%S"), v.summary)}</span>
                                            <Show when=can_revert>
                                                <button class="button small" data-test="revert-version" on:click=move |_| { revert.dispatch(RevertDashboard { id, version: n }); }>"Revert to this"</button>
                                            </Show>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        })
                    })}
                </Suspense>
            </Region>
        </section>
    }
}
