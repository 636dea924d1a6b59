//! The folder tree beside the list: the search, "All insights", the folders (each a drop
//! target for insights dragged from the list) and the trash.
use super::{dragged, href, Changes};
use crate::{
    api::insights::MoveInsight,
    model::insight::{Folder, FolderId, InsightId},
};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

#[component]
pub(super) fn FolderTree(
    folders: Vec<Folder>,
    folder: Memo<Option<FolderId>>,
    search: Memo<String>,
    trash: Memo<bool>,
    changes: Changes,
) -> impl IntoView {
    let navigate = use_navigate();
    let here = folder.get_untracked();
    let move_to = move |id: InsightId, to: Option<FolderId>| {
        changes
            .move_insight
            .dispatch(MoveInsight { id, folder: to });
    };
    let on_search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let q = event_target::<web_sys::HtmlFormElement>(&ev)
            .elements()
            .named_item("q")
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(e).ok())
            .map(|i| i.value())
            .unwrap_or_default();
        navigate(&href(None, q.trim(), false), Default::default());
    };
    view! {
        <aside class="folder-tree card" data-test="folder-tree">
            <form class="search-form" on:submit=on_search role="search">
                <input type="search" name="q" placeholder="Search names, descriptions, SQL" aria-label="Search insights" data-test="insight-search" value=search.get_untracked()/>
            </form>
            <ul class="tree">
                <li>
                    <a href="/insights" class:current=move || folder.get().is_none() && !trash.get() && search.get().is_empty()
                        on:dragover=move |ev| ev.prevent_default()
                        on:drop=move |ev| { ev.prevent_default(); if let Some(id) = dragged(&ev) { move_to(id, None) } }>"All insights"</a>
                    <FolderBranch folders parent=None current=here on_drop=Callback::new(move |(i, f)| move_to(i, f))/>
                </li>
                <li><a href="/insights?trash=1" data-test="trash-link" class:current=move || trash.get()>"Trash"</a></li>
            </ul>
        </aside>
    }
}

/// One level of the folder tree (recursively), each folder a drop target for insights.
#[component]
fn FolderBranch(
    folders: Vec<Folder>,
    parent: Option<FolderId>,
    current: Option<FolderId>,
    on_drop: Callback<(InsightId, Option<FolderId>)>,
) -> AnyView {
    let children: Vec<Folder> = folders
        .iter()
        .filter(|f| f.parent_id == parent)
        .cloned()
        .collect();
    if children.is_empty() {
        return ().into_any();
    }
    view! {
        <ul class="tree">
            {children.into_iter().map(|f| {
                let all = folders.clone();
                let id = f.id;
                view! {
                    <li>
                        <a href=href(Some(id), "", false) class:current=current == Some(id) data-test="tree-folder"
                            on:dragover=move |ev| ev.prevent_default()
                            on:drop=move |ev| {
                                ev.prevent_default();
                                if let Some(i) = dragged(&ev) {
                                    on_drop.run((i, Some(id)));
                                }
                            }>{f.name.clone()}</a>
                        <FolderBranch folders=all parent=Some(id) current on_drop/>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}
