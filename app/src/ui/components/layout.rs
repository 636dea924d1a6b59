//! The signed-in app frame: top navigation, the signed-in user, sign-out, and the page.
use crate::{
    error::AppError,
    model::{validate::login_url, Me, Role},
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
                        let to = login_url(
                            &location.pathname.get_untracked(),
                            &location.search.get_untracked(),
                            &location.hash.get_untracked(),
                        );
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
    // On a phone the menu folds behind one button; it closes again when a page opens.
    let menu_open = RwSignal::new(false);
    let location = use_location();
    Effect::new(move |_| {
        location.pathname.track();
        menu_open.set(false);
    });
    view! {
        <div class="app">
            <header class="topbar" class:menu-open=move || menu_open.get()>
                <a class="brand" href="/">"Sightline"</a>
                <button type="button" class="menu-toggle" data-test="menu-toggle" aria-controls="main-menu"
                    aria-expanded=move || menu_open.get().to_string()
                    on:click=move |_| menu_open.update(|o| *o = !*o)>
                    <span class="menu-icon" aria-hidden="true"></span>
                    {move || if menu_open.get() { "Close" } else { "Menu" }}
                </button>
                <div class="menu" id="main-menu">
                <nav class="mainnav" aria-label="Main" on:click=move |_| menu_open.set(false)>
                    <A href="/" exact=true>"Overview"</A>
                    <A href="/insights">"Insights"</A>
                    <A href="/dashboards">"Dashboards"</A>
                    <A href="/alerts">"Alerts"</A>
                    <Show when=move || can_sql>
                        <A href="/workbench">"SQL"</A>
                        <A href="/import">"Import"</A>
                    </Show>
                    <A href="/connections">"Connections"</A>
                    <Show when=move || is_admin>
                        <A href="/admin/users">"Users"</A>
                        <A href="/admin/plugins">"Plugins"</A>
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
                </div>
            </header>
            <main class="page">
                <Outlet/>
            </main>
        </div>
    }
}

pub use crate::model::validate::urlencode;
