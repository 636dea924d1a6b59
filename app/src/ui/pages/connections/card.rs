//! One connection's card: its kind, target and flags; Query for those who may; and for
//! managers Test (the answer shows on the card), Edit, Activate / Deactivate and Delete.
use crate::{
    api::connections::{DeleteConnection, SetConnectionActive, TestSavedConnection},
    error::AppError,
    model::connection::{ConnectionId, ConnectionSummary, TestOutcome},
};
use leptos::prelude::*;

#[component]
pub(super) fn ConnectionCard(
    c: ConnectionSummary,
    can_manage: bool,
    /// Viewers run saved insights only: no Query button that leads to a refusal.
    can_query: bool,
    on_edit: Callback<ConnectionId>,
    toggle: ServerAction<SetConnectionActive>,
    delete: ServerAction<DeleteConnection>,
) -> impl IntoView {
    let id = c.id;
    let active = c.active;
    let name = c.name.clone();
    // Test: nothing while it runs or before the first one, then what the server said.
    let test = ServerAction::<TestSavedConnection>::new();
    let testing = test.pending();
    let tested = Signal::derive(move || {
        if testing.get() {
            None
        } else {
            test.value().get()
        }
    });
    view! {
        <article class=format!("conn-card color-{}", c.color) class:inactive=!active data-test="connection-card" data-name=c.name.clone()>
            <header>
                <h2>{c.name.clone()}</h2>
                <span class="badge">{c.kind.label()}</span>
            </header>
            {c.target.clone().map(|t| view! { <p class="conn-target mono">{t}</p> })}
            <p class="conn-flags">
                <span class=if active { "status ok" } else { "status off" }>{if active { "Active" } else { "Inactive" }}</span>
                {c.writable.then(|| view! { <span class="status warn">"Writable"</span> })}
                {c.demo.then(|| view! { <span class="status">"Demo data"</span> })}
            </p>
            <div class="conn-actions">
                {can_query.then(|| view! { <a class="button small" href=format!("/workbench?connection={id}")>"Query"</a> })}
                <Show when=move || can_manage>
                    <button class="button small" data-test="card-test" on:click=move |_| { test.dispatch(TestSavedConnection { id }); } disabled=move || testing.get()>
                        {move || if testing.get() { "Testing…" } else { "Test" }}
                    </button>
                    <button class="button small" on:click=move |_| on_edit.run(id)>"Edit"</button>
                    <button class="button small" on:click=move |_| { toggle.dispatch(SetConnectionActive { id, active: !active }); }>{if active { "Deactivate" } else { "Activate" }}</button>
                    <DeleteButton name=name.clone() on_delete=Callback::new(move |_| { delete.dispatch(DeleteConnection { id }); })/>
                </Show>
            </div>
            <TestNote tested/>
        </article>
    }
}

/// "Delete…", then the question with Delete and Keep.
#[component]
fn DeleteButton(name: String, on_delete: Callback<()>) -> impl IntoView {
    let confirm = RwSignal::new(false);
    view! {
        <Show when=move || !confirm.get() fallback={
            let name = name.clone();
            move || view! {
                <span class="confirm" role="group">
                    {format!("Delete “{name}”? ")}
                    <button class="button small danger" data-test="confirm-delete" on:click=move |_| on_delete.run(())>"Delete"</button>
                    <button class="button small" on:click=move |_| confirm.set(false)>"Keep"</button>
                </span>
            }
        }>
            <button class="button small" on:click=move |_| confirm.set(true)>"Delete…"</button>
        </Show>
    }
}

/// The answer of the card's Test: the round trip and version, or why it failed.
#[component]
fn TestNote(tested: Signal<Option<Result<TestOutcome, AppError>>>) -> impl IntoView {
    move || {
        tested.get().map(|r| match r {
            Ok(t) => view! {
                <p class="note ok" role="status" data-test="card-test-ok">{format!("Connected in {} ms: {}", t.elapsed_ms, t.version)}</p>
                {t.warning.map(|w| view! { <p class="note warn" role="status">{w}</p> })}
            }
            .into_any(),
            Err(e) => view! { <p class="note error" role="alert" data-test="card-test-error">{e.to_string()}</p> }
                .into_any(),
        })
    }
}
