//! First-run setup: create the first admin with the one-time token from the server log.
use crate::{
    api::setup::{check_setup_token, CreateFirstAdmin},
    model::validate::MIN_PASSWORD_CHARS,
    ui::{
        components::feedback::{ErrorNote, FieldNote, Loading},
        query::use_query,
    },
};
use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;

#[component]
pub fn SetupPage() -> impl IntoView {
    let query = use_query();
    let token = move || query.with(|q| q.get("token")).unwrap_or_default();
    let check = Resource::new(token, check_setup_token);
    let create = ServerAction::<CreateFirstAdmin>::new();
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    // The server signed the new admin in: load the home page whole, so every part of the app
    // starts signed in.
    Effect::new(move |_| {
        if create.value().get().is_some_and(|r| r.is_ok()) {
            let _ = window().location().set_href("/");
        }
    });
    view! {
        <Title text="Set up"/>
        <main class="auth-page">
            <div class="card auth-card">
                <p class="brand">"Sightline"</p>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        match check.await {
                            Ok(()) => view! {
                                <h1>"Create the first admin"</h1>
                                <p class="muted">"This account manages users and connections. The setup link stops working once it exists."</p>
                                <ActionForm action=create>
                                    <input type="hidden" name="token" value=token/>
                                    <label>"Email"
                                        <input type="email" name="email" autocomplete="username" required autofocus/>
                                        <FieldNote error field="email"/>
                                    </label>
                                    <label>"Password"
                                        <input type="password" name="password" autocomplete="new-password" required minlength=MIN_PASSWORD_CHARS/>
                                        <span class="hint">{format!("At least {MIN_PASSWORD_CHARS} characters.")}</span>
                                        <FieldNote error field="password"/>
                                    </label>
                                    <Show when=move || error.get().is_some_and(|e| e.field_message("email").is_none() && e.field_message("password").is_none())>
                                        <ErrorNote error/>
                                    </Show>
                                    <button type="submit" class="button primary" disabled=move || create.pending().get()>"Create admin account"</button>
                                </ActionForm>
                            }.into_any(),
                            Err(_) => {
                                #[cfg(feature = "ssr")]
                                if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
                                    r.set_status(http::StatusCode::NOT_FOUND);
                                }
                                view! {
                                    <h1>"Setup is not available"</h1>
                                    <p>"Sightline is already set up, or this link is not the one the server printed at start. Sign in, or ask an admin for an account."</p>
                                    <a class="button" href="/login">"Go to sign in"</a>
                                }.into_any()
                            }
                        }
                    })}
                </Suspense>
            </div>
        </main>
    }
}
