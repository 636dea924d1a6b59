//! The signed-in app frame: top navigation, the signed-in user, sign-out, and the page.
use crate::{
    error::AppError,
    model::{Me, Role},
    ui::{components::feedback::Loading, context::auth::use_auth},
};
use leptos::{form::ActionForm, prelude::*};
use leptos_router::{
    components::{Outlet, Redirect, A},
    hooks::use_location,
};

/// Wraps every signed-in page. Anonymous visitors are sent to the sign-in page, with the
/// page they wanted kept in `next`.
#[component]
pub fn Shell() -> impl IntoView {
    let auth = use_auth();
    let location = use_location();
    view! {
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match auth.user.await {
                    Ok(me) => view! { <Frame me/> }.into_any(),
                    Err(AppError::Unauthenticated) => {
                        let here = format!("{}{}", location.pathname.get_untracked(), location.search.get_untracked());
                        let to = if here == "/" { "/login".to_string() } else { format!("/login?next={}", urlencode(&here)) };
                        view! { <Redirect path=to/> }.into_any()
                    }
                    Err(e) => view! {
                        <main class="page"><p class="note error" role="alert">{e.to_string()}</p></main>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Frame(me: Me) -> impl IntoView {
    let auth = use_auth();
    let is_admin = me.role == Role::Admin;
    let can_sql = me.role.can(crate::model::Permission::EditInsights);
    view! {
        <div class="app">
            <header class="topbar">
                <a class="brand" href="/">"Sightline"</a>
                <nav class="mainnav" aria-label="Main">
                    <A href="/" exact=true>"Overview"</A>
                    <A href="/insights">"Insights"</A>
                    <A href="/alerts">"Alerts"</A>
                    <Show when=move || can_sql>
                        <A href="/workbench">"SQL"</A>
                        <A href="/import">"Import"</A>
                    </Show>
                    <A href="/connections">"Connections"</A>
                    <Show when=move || is_admin>
                        <A href="/admin/users">"Users"</A>
                    </Show>
                </nav>
                <div class="who">
                    <A href="/account" attr:class="who-link">
                        <span class="who-email">{me.email.clone()}</span>
                        <span class=format!("badge role-{}", me.role)>{me.role.label()}</span>
                    </A>
                    <ActionForm action=auth.logout>
                        <button type="submit" class="link-button" data-test="sign-out">"Sign out"</button>
                    </ActionForm>
                </div>
            </header>
            <main class="page">
                <Outlet/>
            </main>
        </div>
    }
}

/// Percent-encodes a path for use as a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
