//! Messages: errors next to inputs, alerts above forms, loading lines.
use crate::error::AppError;
use leptos::prelude::*;

/// A form-level error message (for errors that do not belong to one field).
#[component]
pub fn ErrorNote(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            let text = match &e {
                AppError::Validation(errs) if errs.len() > 1 => errs
                    .iter()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.to_string(),
            };
            view! { <p class="note error" role="alert">{text}</p> }
        })
    }
}

/// The message for one field from a validation error, shown under the input.
#[component]
pub fn FieldNote(
    #[prop(into)] error: Signal<Option<AppError>>,
    field: &'static str,
) -> impl IntoView {
    move || {
        error
            .get()
            .and_then(|e| e.field_message(field))
            .map(|m| view! { <span class="field-error">{m}</span> })
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" aria-busy="true">"Loading…"</p> }
}
