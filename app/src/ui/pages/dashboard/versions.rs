//! A dashboard's versions: who saved what when, and revert (which saves a new version).
use crate::{
    api::dashboards::{dashboard_versions, revert_dashboard},
    error::AppError,
    model::dashboard::{Dashboard, DashboardId},
    ui::components::feedback::{ErrorNote, Loading},
};
use leptos::prelude::*;

#[component]
pub fn DashboardVersions(id: DashboardId, saved: RwSignal<Dashboard>) -> impl IntoView {
    let list = Resource::new(
        move || saved.with(|d| d.version),
        move |_| dashboard_versions(id),
    );
    let error = RwSignal::new(None::<AppError>);
    let revert = move |v: i64| {
        leptos::task::spawn_local(async move {
            match revert_dashboard(id, v).await {
                Ok(d) => saved.set(d),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card versions" data-test="dashboard-versions">
            <h2>"Versions"</h2>
            <ErrorNote error=Signal::derive(move || error.get())/>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(vs) => view! {
                            <ul class="version-list">
                                {vs.into_iter().map(|v| {
                                    let n = v.version;
                                    let can_revert = move || saved.with(|d| d.can_edit && d.version != n);
                                    view! {
                                        <li data-test="version-item">
                                            <strong>{format!("Version {n}")}</strong>
                                            <span class="muted small">{format!(" · {} · {} · {}", v.author.clone().unwrap_or_else(|| "someone".into()), v.created_at.format("%Y-%m-%d %H:%M:%S"), v.summary)}</span>
                                            <Show when=can_revert>
                                                <button class="button small" data-test="revert-version" on:click=move |_| revert(n)>"Revert to this"</button>
                                            </Show>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p class="note error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
