//! The dashboard's head and settings: its name (an input while editing), the actions (Refresh,
//! Excel, full screen, versions, duplicate, edit, delete; Save and Cancel while editing), the
//! save-conflict choice, and the board's own settings in edit mode.
use super::{
    edit::{AddTiles, FiltersEditor},
    page::{infos_of, Board},
};
use crate::{
    api::dashboards::{DuplicateDashboard, SaveDashboard, TrashDashboard},
    error::AppError,
    model::{
        dashboard::REFRESH_CHOICES,
        insight::UrlValues,
        run::{cache_words, CACHE_CHOICES},
    },
    ui::{components::feedback::ErrorNote, url::prefixed_query},
};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

#[component]
pub(super) fn DashHead(
    board: Board,
    reload: RwSignal<u32>,
    values: Memo<UrlValues>,
    tv: RwSignal<bool>,
    show_versions: RwSignal<bool>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let navigate = StoredValue::new(use_navigate());
    let id = board.id;
    let conflict = RwSignal::new(None::<String>);
    let save_board = ServerAction::<SaveDashboard>::new();
    let saving = save_board.pending();
    // Saved: the board shows the new version; a newer one by someone else asks what to do.
    Effect::new(move |_| match save_board.value().get() {
        Some(Ok(d)) => {
            board.infos.set(infos_of(&d));
            board.saved.set(d);
            board.editing.set(false);
            conflict.set(None);
            error.set(None);
        }
        Some(Err(AppError::Conflict(m))) => conflict.set(Some(m)),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let save = move |overwrite: bool| {
        save_board.dispatch(SaveDashboard {
            id: Some(id),
            base_version: (!overwrite).then(|| board.saved.with_untracked(|s| s.version)),
            draft: board.draft.get_untracked(),
        });
    };
    let edit = move |_| {
        board
            .draft
            .set(board.saved.with_untracked(|d| d.draft.clone()));
        conflict.set(None);
        error.set(None);
        board.editing.set(true);
    };
    let cancel = move |_| {
        board.editing.set(false);
        board.infos.set(board.saved.with_untracked(infos_of));
        conflict.set(None);
        error.set(None);
    };
    // A copy opens at once; a deleted board (now in the trash) leaves for all dashboards.
    let duplicate = ServerAction::<DuplicateDashboard>::new();
    Effect::new(move |_| match duplicate.value().get() {
        Some(Ok(d)) => {
            navigate.with_value(|n| n(&format!("/dashboards/{}", d.id.0), Default::default()))
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let delete = ServerAction::<TrashDashboard>::new();
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => navigate.with_value(|n| n("/dashboards", Default::default())),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let can_edit = move || board.saved.with(|d| d.can_edit && !d.deleted);
    let editing = board.editing;
    view! {
        <div class="page-head">
            <Show when=move || editing.get() fallback=move || view! {
                <h1 data-test="dashboard-name">{move || board.saved.with(|d| d.draft.name.clone())}</h1>
            }>
                <input class="title-input" type="text" aria-label="Dashboard name" data-test="dashboard-name-input"
                    prop:value=move || board.draft.with(|d| d.name.clone())
                    on:input=move |ev| { let v = event_target_value(&ev); board.draft.update(|d| d.name = v) }/>
            </Show>
            <div class="actions">
                <Show when=move || !editing.get()>
                    <button class="button" data-test="refresh-all" title="Run every tile again"
                        on:click=move |_| board.rerun(false, true)>"Refresh"</button>
                    <a class="button" data-test="export-dashboard" download
                        title="Every tile's rows for these filters, one sheet per tile, in one Excel workbook"
                        href=move || {
                            let q = prefixed_query("f_", &values.get());
                            format!("/dashboards/{}/export.xlsx{}{q}", id.0, if q.is_empty() { "" } else { "?" })
                        }>"Excel"</a>
                    <button class="button" data-test="tv-mode" title="Full screen, without navigation (Esc leaves)"
                        on:click=move |_| tv.update(|t| *t = !*t)>{move || if tv.get() { "Leave full screen" } else { "Full screen" }}</button>
                    <button class="button" data-test="versions-toggle" on:click=move |_| show_versions.update(|v| *v = !*v)>"Versions"</button>
                    <button class="button" data-test="duplicate-dashboard" on:click=move |_| { duplicate.dispatch(DuplicateDashboard { id }); }>"Duplicate"</button>
                    <Show when=can_edit>
                        <button class="button primary" data-test="edit-dashboard" on:click=edit>"Edit"</button>
                        <button class="button danger" data-test="delete-dashboard" on:click=move |_| { delete.dispatch(TrashDashboard { id, trashed: true }); }>"Delete"</button>
                    </Show>
                </Show>
                <Show when=move || editing.get()>
                    <button class="button primary" data-test="save-dashboard" disabled=move || saving.get() on:click=move |_| save(false)>
                        {move || if saving.get() { "Saving…" } else { "Save" }}
                    </button>
                    <button class="button" data-test="cancel-edit" on:click=cancel>"Cancel"</button>
                </Show>
            </div>
        </div>
        {move || conflict.get().map(|m| view! {
            <div class="note warn" role="alert" data-test="save-conflict">
                <p>{m}</p>
                <button class="button" on:click=move |_| reload.update(|r| *r += 1)>"Reload theirs"</button>
                " "
                <button class="button danger" data-test="overwrite" on:click=move |_| save(true)>"Overwrite with mine"</button>
            </div>
        })}
        <ErrorNote error=Signal::derive(move || error.get())/>
    }
}

/// The board's settings while editing: description, auto-refresh, how long results are
/// reused, then adding tiles and the filters.
#[component]
pub(super) fn BoardSettings(board: Board, error: RwSignal<Option<AppError>>) -> impl IntoView {
    view! {
        <div class="card dash-edit" data-test="dashboard-editor">
            <label class="block">"Description"
                <textarea rows="2" data-test="dashboard-description" prop:value=move || board.draft.with(|d| d.description.clone())
                    on:input=move |ev| { let v = event_target_value(&ev); board.draft.update(|d| d.description = v) }></textarea>
            </label>
            <label>"Refresh automatically"
                <select data-test="refresh-minutes" prop:value=move || board.draft.with(|d| d.refresh_minutes.to_string())
                    on:change=move |ev| { let m = event_target_value(&ev).parse().unwrap_or(0); board.draft.update(|d| d.refresh_minutes = m) }>
                    {REFRESH_CHOICES.iter().map(|m| view! { <option value=m.to_string()>{if *m == 0 { "Never".to_string() } else { format!("Every {m} min") }}</option> }).collect_view()}
                </select>
            </label>
            <label>"Reuse results for"
                <select data-test="cache-minutes" prop:value=move || board.draft.with(|d| d.cache_minutes.map(|m| m.to_string()).unwrap_or_default())
                    on:change=move |ev| { let m = event_target_value(&ev).parse().ok(); board.draft.update(|d| d.cache_minutes = m) }>
                    <option value="">"Each insight's own time"</option>
                    {CACHE_CHOICES.iter().map(|m| view! { <option value=m.to_string()>{cache_words(*m)}</option> }).collect_view()}
                </select>
            </label>
            <AddTiles board/>
            <FiltersEditor board error/>
        </div>
    }
}
