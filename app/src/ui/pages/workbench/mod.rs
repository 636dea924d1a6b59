//! The SQL workbench: pick a connection (kept in the URL), write SQL in query tabs (CodeMirror,
//! autocomplete, Ctrl/Cmd-Enter; each tab's SQL is kept in the browser per connection, so a
//! reload loses nothing), fill `$n` values or typed `{{name}}` parameters, run with a live
//! timer and Cancel, and read the result in a virtual grid that pages and sorts on the
//! server. A schema panel inserts table and column names; history and "Reset session" on the
//! side.
//!
//! - `bench`: the page's state (connections, tabs, editor) and what it does (run, switch
//!   tabs, keep drafts, reset, insert names);
//! - `sql_text`: what the page reads from SQL text (placeholders, `{{name}}` references, names
//!   to insert, tab titles), pure and tested;
//! - `tabs`: a query tab's signals (its run is a `RunCtl`) and the drafts kept in the browser;
//! - `toolbar`: the toolbar, the reset confirmation and the tab strip;
//! - `inputs`: the `$n` and `{{name}}` value forms; `save_insight`: "Save as insight";
//! - `schema`, `history`: the side panels.
mod bench;
mod history;
mod inputs;
mod save_insight;
mod schema;
mod sql_text;
mod tabs;
mod toolbar;

pub use sql_text::placeholders;

use self::{
    bench::Bench,
    history::HistoryPanel,
    inputs::{NamedInputs, ParamInputs},
    save_insight::SaveInsightForm,
    schema::SchemaPanel,
    toolbar::{Panels, ResetConfirm, TabStrip, Toolbar},
};
use crate::{
    api::{connections::list_connections, workbench::query_history},
    model::{
        connection::{ConnectionKind, ConnectionSummary},
        run::HistoryEntry,
        Permission,
    },
    ui::{
        components::{
            feedback::{ErrorNote, Loading, Region},
            result_grid::ResultPanel,
        },
        context::auth::use_role,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn WorkbenchPage() -> impl IntoView {
    let role = use_role();
    view! {
        <Title text="SQL workbench"/>
        <Show when=move || role.get().can(Permission::EditInsights) fallback=|| view! {
            <h1>"SQL workbench"</h1>
            <p class="note" role="status">"Writing SQL is for editors and admins. Ask an admin for the editor role, or open the insights shared with you."</p>
        }>
            <Workbench/>
        </Show>
    }
}

#[component]
fn Workbench() -> impl IntoView {
    // The workbench is drawn in the browser only (a LocalResource, no Suspense, as on the
    // insight page): the server sends "Loading…" and the hydrating browser draws the same,
    // then reads the connections and draws the editor. Nothing in the workbench is useful
    // before the page is interactive, and a server-drawn body had to match the browser's
    // first render node for node (a mismatch there left the page without an editor).
    let connections = LocalResource::new(list_connections);
    view! {
        <Region label="The workbench">
            {move || match connections.get() {
                None => view! { <Loading/> }.into_any(),
                Some(r) => r.map(|list| view! { <WorkbenchBody list/> }).into_any(),
            }}
        </Region>
    }
}

#[component]
fn WorkbenchBody(list: Vec<ConnectionSummary>) -> impl IntoView {
    let b = Bench::new(list);
    b.follow_url();
    b.keep_drafts();
    b.mount_editor();
    let (count, refs) = b.track_inputs();
    let schema = b.load_schema();
    let panels = Panels::new();
    // Every run that finishes, in any tab, refreshes the history (when it is open).
    let finished = Memo::new(move |_| {
        b.tabs
            .with(|l| l.iter().map(|t| t.ctl.finished.get()).sum::<u64>())
    });
    let history = Resource::new(
        move || (panels.history.get(), finished.get()),
        |(open, _)| async move {
            if open {
                query_history(None).await
            } else {
                Ok(vec![])
            }
        },
    );
    let load_entry =
        Callback::new(move |(e, and_run): (HistoryEntry, bool)| b.load_entry(e, and_run));
    let cur_key = Memo::new(move |_| b.cur.get().key);
    view! {
        <div class="wb" class:with-schema=move || panels.schema.get() class:with-history=move || panels.history.get() data-test="workbench">
            <Region label="The schema">
                <Show when=move || panels.schema.get()>
                    <SchemaPanel schema insert=Callback::new(move |name| b.insert_name(name))/>
                </Show>
            </Region>
            <div class="wb-main">
                <Toolbar b panels/>
                <Show when=move || panels.confirm_reset.get()>
                    <ResetConfirm b confirm=panels.confirm_reset/>
                </Show>
                <Region label="Save as insight">
                    <Show when=move || panels.save.get()>
                        <SaveInsightForm b/>
                    </Show>
                </Region>
                <TabStrip b/>
                <Editor b/>
                {move || {
                    cur_key.track();
                    let t = b.cur.get_untracked();
                    if !refs.get().is_empty() {
                        view! { <NamedInputs named=t.named refs/> }.into_any()
                    } else if count.get() > 0 {
                        view! { <ParamInputs params=t.params/> }.into_any()
                    } else {
                        ().into_any()
                    }
                }}
                <Region label="The result">
                    {move || {
                        cur_key.track();
                        let ctl = b.cur.get_untracked().ctl;
                        view! {
                            <ErrorNote error=Signal::derive(move || ctl.error.get())/>
                            <ResultPanel ctl/>
                        }
                    }}
                </Region>
            </div>
            <Region label="History">
            <Show when=move || panels.history.get()>
                <HistoryPanel history load_entry/>
            </Show>
            </Region>
        </div>
    }
}

/// The SQL editor (a textarea until CodeMirror replaces it) and how values are written.
#[component]
fn Editor(b: Bench) -> impl IntoView {
    let Bench {
        textarea,
        cur,
        kind,
        ..
    } = b;
    view! {
        <div class="wb-editor">
            <textarea node_ref=textarea class="mono sql-input" data-test="sql" spellcheck="false" aria-label="SQL"
                placeholder="select * from orders where ordered_at > {{since}} limit 100"
                prop:value=move || cur.get().sql.get()
                on:input=move |ev| cur.get_untracked().sql.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if ev.key() == "Enter" && (ev.ctrl_key() || ev.meta_key()) { ev.prevent_default(); b.start_run(); }
                }></textarea>
        </div>
        <p class="muted small">{move || if kind.get() == ConnectionKind::Postgres {
            "Ctrl+Enter (⌘+Enter) runs. Use {{name}} (or $1, $2, …) for values; they are sent separately from the SQL."
        } else {
            "Ctrl+Enter (⌘+Enter) runs. Use {{name}} (or ?) for values; they are sent separately from the SQL."
        }}</p>
    }
}
