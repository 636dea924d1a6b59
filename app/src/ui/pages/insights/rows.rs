//! The list's rows: an insight (move, delete, restore, drag onto a folder) and a dashboard
//! (delete, restore).
use super::{folder_label, Changes};
use crate::{
    api::{dashboards::TrashDashboard, insights::MoveInsight, insights::TrashInsight},
    model::{
        dashboard::DashboardSummary,
        insight::{Folder, FolderId, InsightSummary},
    },
};
use leptos::prelude::*;

/// An insight in the list: its link (a name only in the trash), connection and last change,
/// and for editors: move to a folder, delete, or restore. Rows drag onto folders.
#[component]
pub(super) fn InsightRow(
    i: InsightSummary,
    folders: StoredValue<Vec<Folder>>,
    in_trash: bool,
    can_edit: Signal<bool>,
    changes: Changes,
) -> impl IntoView {
    let id = i.id;
    let options = folders.get_value();
    let move_to = move |to: Option<FolderId>| {
        changes
            .move_insight
            .dispatch(MoveInsight { id, folder: to });
    };
    let trash = move |trashed: bool| {
        changes.trash_insight.dispatch(TrashInsight { id, trashed });
    };
    view! {
        <tr draggable=move || if can_edit.get() && !in_trash { "true" } else { "false" } data-test="insight-row"
            on:dragstart=move |ev| { if let Some(dt) = ev.data_transfer() { let _ = dt.set_data("text/x-insight", &id.0.to_string()); } }>
            <td>
                {if in_trash { view! { <span>{i.name.clone()}</span> }.into_any() } else { view! { <a href=format!("/insights/{}", id.0) data-test="insight-link">{i.name.clone()}</a> }.into_any() }}
                {(!i.description.is_empty()).then(|| view! { <p class="muted small">{i.description.chars().take(160).collect::<String>()}</p> })}
            </td>
            <td>{i.connection_name.clone().unwrap_or_else(|| "—".into())}</td>
            <td class="small">{i.updated_at.format("%Y-%m-%d %H:%M").to_string()}{i.updated_by.clone().map(|u| format!(" · {u}"))}</td>
            <td class="actions">
                <Show when=move || can_edit.get()>
                    {if in_trash {
                        view! { <button class="button small" data-test="restore-insight" on:click=move |_| trash(false)>"Restore"</button> }.into_any()
                    } else {
                        let options = options.clone();
                        view! {
                            <select class="small" aria-label="Move to folder" data-test="move-insight"
                                on:change=move |ev| { let v = event_target_value(&ev); if v != "-" { move_to(v.parse::<i64>().ok().map(FolderId)) } }>
                                <option value="-">"Move to…"</option>
                                <option value="root">"Top level"</option>
                                {options.iter().map(|f| view! { <option value=f.id.0.to_string()>{folder_label(&options, f)}</option> }).collect_view()}
                            </select>
                            <button class="button small danger" data-test="trash-insight" on:click=move |_| trash(true)>"Delete"</button>
                        }.into_any()
                    }}
                </Show>
            </td>
        </tr>
    }
}

/// A dashboard in the folder (or the search, or the trash): its link, tiles and last change,
/// and for who may change it: delete or restore.
#[component]
pub(super) fn DashboardRow(d: DashboardSummary, in_trash: bool, changes: Changes) -> impl IntoView {
    let id = d.id;
    let trash = move |trashed: bool| {
        changes
            .trash_dashboard
            .dispatch(TrashDashboard { id, trashed });
    };
    view! {
        <tr data-test="dashboard-row">
            <td>
                {if in_trash { view! { <span>{d.name.clone()}</span> }.into_any() } else { view! { <a href=format!("/dashboards/{}", id.0) data-test="dashboard-link">{d.name.clone()}</a> }.into_any() }}
                {(!d.description.is_empty()).then(|| view! { <p class="muted small">{d.description.chars().take(160).collect::<String>()}</p> })}
            </td>
            <td>{d.tiles}</td>
            <td class="small">{d.updated_at.format("%Y-%m-%d %H:%M").to_string()}{d.updated_by.clone().map(|u| format!(" · {u}"))}</td>
            <td class="actions">
                {d.can_edit.then(|| if in_trash {
                    view! { <button class="button small" data-test="restore-dashboard" on:click=move |_| trash(false)>"Restore"</button> }.into_any()
                } else {
                    view! { <button class="button small danger" data-test="trash-dashboard" on:click=move |_| trash(true)>"Delete"</button> }.into_any()
                })}
            </td>
        </tr>
    }
}
