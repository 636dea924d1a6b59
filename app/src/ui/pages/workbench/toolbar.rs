//! The workbench's controls: the toolbar (connection, Run and Cancel with a live timer, the
//! panels' toggles), the reset confirmation, and the strip of query tabs.
use super::{
    bench::Bench,
    sql_text::tab_title,
    tabs::{now_ms, MAX_TABS},
};
use crate::model::connection::ConnectionId;
use leptos::prelude::*;

/// Which of the workbench's panels and forms are open.
#[derive(Clone, Copy)]
pub(super) struct Panels {
    pub(super) schema: RwSignal<bool>,
    pub(super) history: RwSignal<bool>,
    pub(super) save: RwSignal<bool>,
    pub(super) confirm_reset: RwSignal<bool>,
}

impl Panels {
    pub(super) fn new() -> Self {
        Panels {
            schema: RwSignal::new(true),
            history: RwSignal::new(false),
            save: RwSignal::new(false),
            confirm_reset: RwSignal::new(false),
        }
    }
}

fn toggle(s: RwSignal<bool>) {
    s.update(|s| *s = !*s);
}

#[component]
pub(super) fn Toolbar(b: Bench, panels: Panels) -> impl IntoView {
    let Panels {
        schema,
        history,
        save,
        confirm_reset,
    } = panels;
    let running = Signal::derive(move || b.cur.get().ctl.running().get());
    view! {
        <div class="wb-toolbar">
            <label class="inline">"Connection "
                <select data-test="connection-picker" prop:value=move || b.conn_id.get().map(|c| c.to_string()).unwrap_or_default()
                    on:change=move |ev| b.conn_id.set(event_target_value(&ev).parse::<i64>().ok().map(ConnectionId))>
                    {move || b.conns.get().into_iter().map(|c| view! { <option value=c.id.to_string()>{format!("{} ({})", c.name, c.kind.label())}</option> }).collect_view()}
                </select>
            </label>
            <button class="button primary" data-test="run" title="Run (Ctrl+Enter / ⌘+Enter)" on:click=move |_| b.start_run() disabled=move || running.get()>"Run"</button>
            <Show when=move || running.get()>
                <button class="button danger" data-test="cancel" on:click=move |_| b.cur.get_untracked().ctl.cancel()>"Cancel"</button>
            </Show>
            <Timer b running/>
            <span class="spacer"></span>
            <button class="button" data-test="schema-toggle" aria-pressed=move || schema.get().to_string() on:click=move |_| toggle(schema)>{move || if schema.get() { "Hide schema" } else { "Schema" }}</button>
            <button class="button" data-test="save-as-insight" on:click=move |_| toggle(save)>"Save as insight"</button>
            <button class="button" data-test="history-toggle" on:click=move |_| toggle(history)>{move || if history.get() { "Hide history" } else { "History" }}</button>
            <button class="button" data-test="reset-session" title="Close this connection's sessions and clear the editor" aria-expanded=move || confirm_reset.get().to_string() on:click=move |_| toggle(confirm_reset)>"Reset session"</button>
        </div>
    }
}

/// The active tab's run time: ticking while it runs, the server's figure once it finished.
#[component]
fn Timer(b: Bench, running: Signal<bool>) -> impl IntoView {
    let tick = RwSignal::new(0.0f64);
    Effect::new(move |_| {
        if running.get() {
            if let Ok(h) = set_interval_with_handle(
                move || tick.set(now_ms()),
                std::time::Duration::from_millis(100),
            ) {
                on_cleanup(move || h.clear());
            }
        }
    });
    let elapsed = move || {
        let t = b.cur.get();
        t.ctl.run.with(|r| {
            r.as_ref().map(|r| {
                if r.state.finished() {
                    r.elapsed_ms as f64
                } else {
                    (tick.get() - t.started_at.get()).max(r.elapsed_ms as f64)
                }
            })
        })
    };
    view! {
        <span class="wb-timer mono" data-test="timer" aria-live="polite">{move || elapsed().map(|ms| format!("{:.1} s", ms / 1000.0))}</span>
    }
}

#[component]
pub(super) fn ResetConfirm(b: Bench, confirm: RwSignal<bool>) -> impl IntoView {
    let reset = move |_| {
        confirm.set(false);
        b.reset();
    };
    view! {
        <div class="note warn wb-confirm" role="alertdialog" aria-label="Reset session" data-test="reset-confirm">
            <span>{move || format!("Reset the session? This closes your database sessions on {} (temporary tables and settings go) and clears this tab's SQL and result.", b.conn_name())}</span>
            <span class="actions">
                <button class="button danger small" data-test="reset-confirm-yes" on:click=reset>"Reset and clear"</button>
                <button class="button small" data-test="reset-confirm-no" on:click=move |_| confirm.set(false)>"Keep my work"</button>
            </span>
        </div>
    }
}

#[component]
pub(super) fn TabStrip(b: Bench) -> impl IntoView {
    let Bench { tabs, active, .. } = b;
    view! {
        <div class="wb-tabs" role="tablist" aria-label="Query tabs" data-test="tabs">
            <For each=move || tabs.get() key=|t| t.key let:t>
                {
                    let key = t.key;
                    let selected = move || active.get() == key;
                    view! {
                        <span class="wb-tab" class:active=selected data-test="tab">
                            <button role="tab" class="wb-tab-name" aria-selected=move || selected().to_string()
                                title=move || t.sql.with(|s| tab_title(s))
                                on:click=move |_| b.switch_to(key)>
                                {move || t.sql.with(|s| tab_title(s))}
                                {move || t.ctl.running().get().then(|| view! { <span class="wb-tab-busy" aria-label="running">" ●"</span> })}
                            </button>
                            <Show when=move || tabs.with(|l| l.len() > 1)>
                                <button class="wb-tab-close" data-test="close-tab" aria-label="Close tab" title="Close tab" on:click=move |_| b.close_tab(key)>"×"</button>
                            </Show>
                        </span>
                    }
                }
            </For>
            <button class="wb-tab-add" data-test="add-tab" aria-label="New tab" title="New tab" on:click=move |_| b.add_tab()
                disabled=move || tabs.with(|l| l.len() >= MAX_TABS)>"+"</button>
        </div>
    }
}
