//! Overview: what people open Sightline for. The first steps for those who build (until
//! each is done), the insights you opened lately and starred; then who you are, what your
//! role lets you do, and your account's recent sign-ins.
use crate::{
    api::{auth::recent_sign_ins, home::load_home},
    model::{
        home::{Home, InsightLink},
        AuditEvent, Me, Role,
    },
    ui::{
        components::feedback::{Loading, Region},
        context::auth::use_auth,
    },
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
        <Region label="Your first steps and insights">
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move { start.await.map(|h| view! { <Start h/> }) })}
            </Suspense>
        </Region>
        <div class="grid two">
            <section class="card">
                <h2>"Your account"</h2>
                <Region label="Your account">
                    <Suspense fallback=|| view! { <Loading/> }>
                        // No error here: while a sign-out reloads the user, this shows nothing.
                        {move || Suspend::new(async move {
                            auth.user.await.ok().map(|me| view! { <Account me/> })
                        })}
                    </Suspense>
                </Region>
            </section>
            <section class="card">
                <h2>"Recent sign-ins"</h2>
                <p class="muted">"Sign-ins and refused attempts on your account. If one is not yours, change your password."</p>
                <Region label="Recent sign-ins">
                    <Suspense fallback=|| view! { <Loading/> }>
                        {move || Suspend::new(async move {
                            sign_ins.await.map(|events| view! { <SignIns events/> })
                        })}
                    </Suspense>
                </Region>
            </section>
        </div>
    }
}

/// Who you are and what your role lets you do.
#[component]
fn Account(me: Me) -> impl IntoView {
    view! {
        <dl class="facts">
            <dt>"Signed in as"</dt><dd data-test="me-email">{me.email.clone()}</dd>
            <dt>"Role"</dt><dd>{me.role.label()}</dd>
        </dl>
        <p class="muted">{me.role.summary()}</p>
        <Show when=move || me.role == Role::Admin>
            <a class="button" href="/admin/users">"Manage users"</a>
        </Show>
    }
}

/// Your account's recent sign-ins and refused attempts.
#[component]
fn SignIns(events: Vec<AuditEvent>) -> impl IntoView {
    if events.is_empty() {
        return view! { <p>"No sign-ins yet."</p> }.into_any();
    }
    view! {
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
    }
    .into_any()
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
