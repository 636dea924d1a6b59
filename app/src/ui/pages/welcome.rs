//! `/welcome?token=…`: a one-time link an admin made. An invitation creates the account with
//! the password chosen here; a reset sets a new password (and ends the account's other
//! sessions). Either way the person is signed in at once.
use crate::{
    api::users::{account_link_info, AcceptAccountLink},
    model::{user::LinkKind, validate::MIN_PASSWORD_CHARS},
    ui::{
        components::feedback::{ErrorNote, FieldNote, Loading},
        query::use_query,
    },
};
use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;

#[component]
pub fn WelcomePage() -> impl IntoView {
    let query = use_query();
    let token = move || query.with(|q| q.get("token")).unwrap_or_default();
    let info = Resource::new(token, account_link_info);
    let accept = ServerAction::<AcceptAccountLink>::new();
    let error = Signal::derive(move || accept.value().get().and_then(|r| r.err()));
    // Signed in by the server: load the home page whole, so every part starts signed in.
    Effect::new(move |_| {
        if accept.value().get().is_some_and(|r| r.is_ok()) {
            let _ = window().location().set_href("/");
        }
    });
    view! {
        <Title text="Welcome"/>
        <main class="auth-page">
            <div class="card auth-card">
                <p class="brand">"Sightline"</p>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        match info.await {
                            Ok(link) => {
                                let (heading, lead, button) = match link.kind {
                                    LinkKind::Invite => ("Welcome to Sightline", "Choose a password for your new account.", "Create my account"),
                                    LinkKind::Reset => ("Set a new password", "Your other sessions end when you save it.", "Save and sign in"),
                                };
                                view! {
                                    <h1>{heading}</h1>
                                    <p class="muted">{lead}</p>
                                    <ActionForm action=accept>
                                        <input type="hidden" name="token" value=token/>
                                        <label>"Email"
                                            <input type="email" name="email" autocomplete="username" value=link.email.clone() readonly data-test="link-email"/>
                                        </label>
                                        <label>"Password"
                                            <input type="password" name="password" autocomplete="new-password" required minlength=MIN_PASSWORD_CHARS autofocus/>
                                            <span class="hint">{format!("At least {MIN_PASSWORD_CHARS} characters.")}</span>
                                            <FieldNote error field="password"/>
                                        </label>
                                        <Show when=move || error.get().is_some_and(|e| e.field_message("password").is_none())>
                                            <ErrorNote error/>
                                        </Show>
                                        <button type="submit" class="button primary" disabled=move || accept.pending().get()>{button}</button>
                                    </ActionForm>
                                    <p class="muted small">{format!("This link works once, until {} UTC.", link.expires_at.format("%Y-%m-%d %H:%M"))}</p>
                                }.into_any()
                            }
                            Err(e) => {
                                #[cfg(feature = "ssr")]
                                if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
                                    r.set_status(http::StatusCode::NOT_FOUND);
                                }
                                view! {
                                    <h1>"This link does not work"</h1>
                                    <p role="alert" data-test="link-gone">
                                        {match e {
                                            crate::error::AppError::NotFound(_) => "It was used already, replaced by a newer link, or it expired.".to_string(),
                                            other => other.to_string(),
                                        }}
                                        " Ask an admin for a new one, or sign in if you have a password."
                                    </p>
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
