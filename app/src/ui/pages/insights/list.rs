//! The chosen folder (or the search, or the trash): the tree beside it, the breadcrumb, a new
//! folder, the folders inside, its insights and its dashboards.
use super::{
    folder_path,
    folders::FolderRowView,
    href,
    rows::{DashboardRow, InsightRow},
    tree::FolderTree,
    Changes,
};
use crate::{
    api::insights::SaveFolder,
    model::{
        dashboard::DashboardSummary,
        insight::{Folder, FolderId, InsightSummary, Tree},
    },
};
use leptos::prelude::*;

#[component]
pub(super) fn TreeView(
    tree: Tree,
    folder: Memo<Option<FolderId>>,
    search: Memo<String>,
    trash: Memo<bool>,
    can_edit: Signal<bool>,
    changes: Changes,
) -> impl IntoView {
    let folders = StoredValue::new(tree.folders.clone());
    let insights = tree.insights.clone();
    let dashboards: Vec<DashboardSummary> = tree
        .dashboards
        .iter()
        .filter(|d| {
            search.get_untracked().trim().is_empty()
                && !trash.get_untracked()
                && d.folder_id == folder.get_untracked()
                || !search.get_untracked().trim().is_empty()
                || trash.get_untracked()
        })
        .cloned()
        .collect();
    let searching = !search.get_untracked().trim().is_empty();
    let in_trash = trash.get_untracked();
    let here = folder.get_untracked();
    let shown: Vec<InsightSummary> = if searching || in_trash {
        insights
    } else {
        insights
            .into_iter()
            .filter(|i| i.folder_id == here)
            .collect()
    };
    let subfolders: Vec<Folder> = if searching {
        vec![]
    } else if in_trash {
        // Trashed folders whose parent is not itself in the trash (the tops of trashed trees).
        tree.folders
            .iter()
            .filter(|f| {
                f.parent_id
                    .is_none_or(|p| !tree.folders.iter().any(|x| x.id == p))
            })
            .cloned()
            .collect()
    } else {
        tree.folders
            .iter()
            .filter(|f| f.parent_id == here)
            .cloned()
            .collect()
    };
    let crumbs = folder_path(&tree.folders, here);
    let has_folders_here = !subfolders.is_empty();
    let empty = if searching {
        "No insight matches."
    } else if in_trash {
        "No insight in the trash."
    } else if has_folders_here {
        "The insights here are in the folders above: open one."
    } else {
        "No insights here yet. Write a query in the SQL workbench and save it as an insight."
    };
    view! {
        <div class="insights-layout">
            <FolderTree folders=tree.folders.clone() folder search trash changes/>
            <section class="insight-list">
                {(!searching && !in_trash).then(|| view! {
                    <nav class="breadcrumb" aria-label="Folder" data-test="breadcrumb">
                        <a href="/insights">"Insights"</a>
                        {crumbs.iter().map(|f| view! { <span class="sep">"/"</span><a href=href(Some(f.id), "", false)>{f.name.clone()}</a> }).collect_view()}
                    </nav>
                })}
                {searching.then(|| view! { <p class="muted">{format!("Results for “{}”", search.get_untracked())}" · "<a href="/insights">"Clear"</a></p> })}
                {in_trash.then(|| view! { <p class="muted">"Deleted folders and insights. Restore brings them back where they were (or to the top level when their folder is gone)."</p> })}
                <Show when=move || can_edit.get() && !in_trash && !searching>
                    <NewFolderForm folder changes/>
                </Show>
                <ul class="folder-cards">
                    {subfolders.into_iter().map(|f| view! { <FolderRowView f in_trash can_edit folders changes/> }).collect_view()}
                </ul>
                {if shown.is_empty() {
                    view! { <p class="muted" data-test="no-insights">{empty}</p> }.into_any()
                } else {
                    view! {
                        <table class="table insights-table" data-test="insights-table">
                            <thead><tr><th>"Name"</th><th>"Connection"</th><th>"Updated"</th><th></th></tr></thead>
                            <tbody>
                                {shown.into_iter().map(|i| view! { <InsightRow i folders in_trash can_edit changes/> }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
                {(!dashboards.is_empty()).then(|| view! {
                    <h2 class="subhead">"Dashboards"</h2>
                    <table class="table insights-table" data-test="folder-dashboards">
                        <thead><tr><th>"Name"</th><th>"Tiles"</th><th>"Updated"</th><th></th></tr></thead>
                        <tbody>
                            {dashboards.into_iter().map(|d| view! { <DashboardRow d in_trash changes/> }).collect_view()}
                        </tbody>
                    </table>
                })}
            </section>
        </div>
    }
}

/// A new folder inside the one shown; the name empties once it is created.
#[component]
fn NewFolderForm(folder: Memo<Option<FolderId>>, changes: Changes) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let create = ServerAction::<SaveFolder>::new();
    let creating = create.pending();
    Effect::new(move |_| {
        if let Some(r) = create.value().get() {
            if r.is_ok() {
                name.try_set(String::new());
            }
            changes.done.run(r.map(|_| ()));
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(SaveFolder {
            id: None,
            name: name.get_untracked(),
            parent: folder.get_untracked(),
        });
    };
    view! {
        <form class="inline-form" on:submit=submit>
            <input type="text" placeholder="New folder name" aria-label="New folder name" data-test="new-folder-name"
                prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            <button class="button" type="submit" data-test="create-folder" disabled=move || creating.get()>"Create folder"</button>
        </form>
    }
}
