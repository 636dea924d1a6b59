//! Sign-in page.
use crate::ui::{components::feedback::ErrorNote, context::auth::use_auth, query::use_query};
use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = use_auth();
    let query = use_query();
    let next = move || query.with(|q| q.get("next")).unwrap_or_default();
    let setup_done = move || query.with(|q| q.get("setup").is_some());
    let error = Signal::derive(move || auth.login.value().get().and_then(|r| r.err()));
    view! {
        <Title text="Sign in"/>
        <main class="auth-page">
            <div class="card auth-card">
                <p class="brand">"Sightline"</p>
                <h1>"Sign in"</h1>
                <Show when=setup_done>
                    <p class="note ok">"Your admin account is ready. Sign in with it."</p>
                </Show>
                <ActionForm action=auth.login>
                    <label>
                        "Email"
                        <input type="email" name="email" autocomplete="username" required autofocus/>
                    </label>
                    <label>
                        "Password"
                        <input type="password" name="password" autocomplete="current-password" required/>
                    </label>
                    <input type="hidden" name="next" value=next/>
                    <ErrorNote error/>
                    <button type="submit" class="button primary" disabled=move || auth.login.pending().get()>
                        {move || if auth.login.pending().get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
            </div>
        </main>
    }
}
