//! Account page: change your own password.
use crate::{
    api::auth::ChangePassword,
    model::validate::MIN_PASSWORD_CHARS,
    ui::components::feedback::{ErrorNote, FieldNote},
};
use leptos::{form::ActionForm, prelude::*};
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let error = Signal::derive(move || change.value().get().and_then(|r| r.err()));
    let done = move || matches!(change.value().get(), Some(Ok(())));
    view! {
        <Title text="Account"/>
        <h1>"Account"</h1>
        <section class="card narrow">
            <h2>"Change password"</h2>
            <p class="muted">"Your other sessions end when you change it; this one continues."</p>
            <ActionForm action=change>
                <label>"Current password"
                    <input type="password" name="current" autocomplete="current-password" required/>
                    <FieldNote error field="current"/>
                </label>
                <label>"New password"
                    <input type="password" name="new" autocomplete="new-password" required minlength=MIN_PASSWORD_CHARS/>
                    <span class="hint">{format!("At least {MIN_PASSWORD_CHARS} characters.")}</span>
                    <FieldNote error field="new"/>
                </label>
                <Show when=move || error.get().is_some_and(|e| !matches!(e, crate::AppError::Validation(_)))>
                    <ErrorNote error/>
                </Show>
                <Show when=done>
                    <p class="note ok" role="status">"Password changed."</p>
                </Show>
                <button type="submit" class="button primary" disabled=move || change.pending().get()>"Change password"</button>
            </ActionForm>
        </section>
    }
}
