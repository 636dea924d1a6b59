//! Overview: what people open Sightline for. The first steps for those who build (until
//! each is done), the insights you opened lately and starred; then who you are, what your
//! role lets you do, and your account's recent sign-ins.
use crate::{
    api::{auth::recent_sign_ins, home::load_home},
    model::{
        home::{Home, InsightLink},
        Role,
    },
    ui::{components::feedback::Loading, context::auth::use_auth},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let auth = use_auth();
    let sign_ins = Resource::new(|| (), |_| recent_sign_ins());
    let start = Resource::new(|| (), |_| load_home());
    view! {
        <Title text="Overview"/>
        <h1>"Overview"</h1>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match start.await {
                    Ok(h) => view! { <Start h/> }.into_any(),
                    Err(e) => view! { <p class="note error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <div class="grid two">
            <section class="card">
                <h2>"Your account"</h2>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        auth.user.await.ok().map(|me| view! {
                            <dl class="facts">
                                <dt>"Signed in as"</dt><dd data-test="me-email">{me.email.clone()}</dd>
                                <dt>"Role"</dt><dd>{me.role.label()}</dd>
                            </dl>
                            <p class="muted">{me.role.summary()}</p>
                            <Show when=move || me.role == Role::Admin>
                                <a class="button" href="/admin/users">"Manage users"</a>
                            </Show>
                        })
                    })}
                </Suspense>
            </section>
            <section class="card">
                <h2>"Recent sign-ins"</h2>
                <p class="muted">"Sign-ins and refused attempts on your account. If one is not yours, change your password."</p>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        match sign_ins.await {
                            Ok(events) if events.is_empty() => view! { <p>"No sign-ins yet."</p> }.into_any(),
                            Ok(events) => view! {
                                <div class="table-wrap">
                                <table class="table compact">
                                    <thead><tr><th>"When (UTC)"</th><th>"What"</th><th>"From"</th></tr></thead>
                                    <tbody>
                                        {events.into_iter().map(|e| view! {
                                            <tr class=if e.action == "login_failed" { "warn" } else { "" }>
                                                <td>{e.at.format("%Y-%m-%d %H:%M:%S").to_string()}</td>
                                                <td>{if e.action == "login" { "Signed in" } else { "Refused: wrong password" }}</td>
                                                <td>{e.ip.unwrap_or_else(|| "—".into())}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                            }.into_any(),
                            Err(e) => view! { <p class="note error">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
        </div>
    }
}

/// The checklist (while steps are left), then recent and starred insights.
#[component]
fn Start(h: Home) -> impl IntoView {
    let left = h.steps_left();
    let total = h.steps.len();
    let checklist = (left > 0).then(|| {
        view! {
            <section class="card checklist" data-test="checklist">
                <h2>"Get started"</h2>
                <p class="muted">{format!("{} of {} done.", total - left, total)}</p>
                <ol class="steps">
                    {h.steps.into_iter().map(|s| view! {
                        <li class:done=s.done data-test="step" data-key=s.key.clone() data-done=s.done.to_string()>
                            <span class="step-mark" aria-hidden="true">{if s.done { "✓" } else { "" }}</span>
                            <div>
                                {if s.done {
                                    view! { <span class="step-title">{s.title.clone()}</span> }.into_any()
                                } else {
                                    view! { <a class="step-title" href=s.href.clone()>{s.title.clone()}</a> }.into_any()
                                }}
                                <span class="sr-only">{if s.done { " (done)" } else { "" }}</span>
                                <p class="muted small">{s.hint.clone()}</p>
                            </div>
                        </li>
                    }).collect_view()}
                </ol>
            </section>
        }
    });
    let empty = h.recent.is_empty() && h.favorites.is_empty();
    view! {
        {checklist}
        <div class="grid two">
            <section class="card" data-test="favorites">
                <h2>"Favourites"</h2>
                <InsightLinks links=h.favorites empty="Star an insight on its page to keep it here."/>
            </section>
            <section class="card" data-test="recent">
                <h2>"Recently opened"</h2>
                <InsightLinks links=h.recent empty=if empty { "Insights you open appear here." } else { "Nothing opened yet." }/>
                <a class="button small" href="/insights">"All insights"</a>
            </section>
        </div>
    }
}

#[component]
fn InsightLinks(links: Vec<InsightLink>, empty: &'static str) -> impl IntoView {
    if links.is_empty() {
        return view! { <p class="muted">{empty}</p> }.into_any();
    }
    view! {
        <ul class="link-list">
            {links.into_iter().map(|l| view! {
                <li data-test="insight-link">
                    <a href=format!("/insights/{}", l.id.0)>{l.name}</a>
                    {l.opened_at.map(|t| view! { <span class="muted small">{t.format(" %Y-%m-%d %H:%M UTC").to_string()}</span> })}
                </li>
            }).collect_view()}
        </ul>
    }
    .into_any()
}
