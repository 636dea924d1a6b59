//! Overview: who you are, what your role lets you do, and your account's recent sign-ins.
use crate::{
    api::auth::recent_sign_ins,
    model::Role,
    ui::{components::feedback::Loading, context::auth::use_auth},
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let auth = use_auth();
    let sign_ins = Resource::new(|| (), |_| recent_sign_ins());
    view! {
        <Title text="Overview"/>
        <h1>"Overview"</h1>
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
