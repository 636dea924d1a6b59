//! The insights list: a folder tree (create, rename, move, delete), the insights of the
//! chosen folder (open, move by drag or menu, delete), search across names, descriptions and
//! SQL, and the trash with restore. The chosen folder and the search live in the URL.
use crate::{
    api::{
        dashboards::trash_dashboard,
        insights::{insight_tree, move_insight, save_folder, trash_folder, trash_insight},
    },
    error::AppError,
    model::{
        dashboard::DashboardSummary,
        insight::{Folder, FolderId, InsightId, InsightSummary, Tree},
        Permission,
    },
    ui::{
        components::{
            feedback::{ErrorNote, Loading},
            layout::urlencode,
        },
        context::auth::use_role,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

/// The folders from the root down to `id`.
pub fn folder_path(folders: &[Folder], id: Option<FolderId>) -> Vec<Folder> {
    let mut out: Vec<Folder> = vec![];
    let mut cur = id;
    while let Some(c) = cur {
        let Some(f) = folders.iter().find(|f| f.id == c) else {
            break;
        };
        if out.iter().any(|x| x.id == f.id) {
            break;
        }
        out.push(f.clone());
        cur = f.parent_id;
    }
    out.reverse();
    out
}

#[component]
pub fn InsightsPage() -> impl IntoView {
    let query = crate::ui::query::use_query();
    let role = use_role();
    let can_edit = Signal::derive(move || role.get().can(Permission::EditInsights));
    let folder = Memo::new(move |_| {
        query
            .with(|q| q.get("folder"))
            .and_then(|f| f.parse::<i64>().ok())
            .map(FolderId)
    });
    let search = Memo::new(move |_| query.with(|q| q.get("q")).unwrap_or_default());
    let trash = Memo::new(move |_| query.with(|q| q.get("trash")).is_some());
    let version = RwSignal::new(0u32);
    let error = RwSignal::new(None::<AppError>);
    // The folder is part of the key: the listing below is built for one folder, so opening
    // another folder must build it again (it used to keep showing the previous folder).
    let tree = Resource::new(
        move || (search.get(), trash.get(), folder.get(), version.get()),
        |(q, trash, _, _)| async move { insight_tree((!q.trim().is_empty()).then_some(q), trash).await },
    );
    view! {
        <Title text="Insights"/>
        <div class="page-head">
            <h1>"Insights"</h1>
            <Show when=move || can_edit.get()>
                <a class="button primary" href="/workbench" data-test="new-insight">"New insight"</a>
            </Show>
        </div>
        <ErrorNote error=Signal::derive(move || error.get())/>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match tree.await {
                    Ok(t) => view! { <TreeView tree=t folder search trash can_edit version error/> }.into_any(),
                    Err(e) => view! { <p class="note error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn href(folder: Option<FolderId>, q: &str, trash: bool) -> String {
    let mut parts = vec![];
    if let Some(f) = folder {
        parts.push(format!("folder={}", f.0));
    }
    if !q.is_empty() {
        parts.push(format!("q={}", urlencode(q)));
    }
    if trash {
        parts.push("trash=1".into());
    }
    if parts.is_empty() {
        "/insights".into()
    } else {
        format!("/insights?{}", parts.join("&"))
    }
}

#[component]
fn TreeView(
    tree: Tree,
    folder: Memo<Option<FolderId>>,
    search: Memo<String>,
    trash: Memo<bool>,
    can_edit: Signal<bool>,
    version: RwSignal<u32>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let navigate = use_navigate();
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
    // After a change: the list reloads, or the error shows.
    let done = Callback::new(move |r: Result<(), AppError>| match r {
        Ok(()) => {
            error.try_set(None);
            version.try_update(|v| *v += 1);
        }
        Err(e) => {
            error.try_set(Some(e));
        }
    });
    let move_to = move |id: InsightId, to: Option<FolderId>| {
        leptos::task::spawn_local(async move { done.run(move_insight(id, to).await) });
    };
    let new_folder_name = RwSignal::new(String::new());
    let create_folder = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = new_folder_name.get_untracked();
        let parent = folder.get_untracked();
        leptos::task::spawn_local(async move {
            match save_folder(None, name, parent).await {
                Ok(_) => {
                    new_folder_name.set(String::new());
                    done.run(Ok(()));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let nav = navigate.clone();
    let on_search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let q = event_target::<web_sys::HtmlFormElement>(&ev)
            .elements()
            .named_item("q")
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlInputElement>(e).ok())
            .map(|i| i.value())
            .unwrap_or_default();
        nav(&href(None, q.trim(), false), Default::default());
    };
    let crumbs = folder_path(&tree.folders, here);
    let has_folders_here = !subfolders.is_empty();
    let all_folders = tree.folders.clone();
    view! {
        <div class="insights-layout">
            <aside class="folder-tree card" data-test="folder-tree">
                <form class="search-form" on:submit=on_search role="search">
                    <input type="search" name="q" placeholder="Search names, descriptions, SQL" aria-label="Search insights" data-test="insight-search" value=search.get_untracked()/>
                </form>
                <ul class="tree">
                    <li>
                        <a href="/insights" class:current=move || folder.get().is_none() && !trash.get() && search.get().is_empty()
                            on:dragover=move |ev| ev.prevent_default()
                            on:drop=move |ev| { ev.prevent_default(); if let Some(id) = dragged(&ev) { move_to(id, None) } }>"All insights"</a>
                        <FolderBranch folders=all_folders.clone() parent=None current=here on_drop=Callback::new(move |(i, f)| move_to(i, f))/>
                    </li>
                    <li><a href="/insights?trash=1" data-test="trash-link" class:current=move || trash.get()>"Trash"</a></li>
                </ul>
            </aside>
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
                    <form class="inline-form" on:submit=create_folder>
                        <input type="text" placeholder="New folder name" aria-label="New folder name" data-test="new-folder-name"
                            prop:value=move || new_folder_name.get() on:input=move |ev| new_folder_name.set(event_target_value(&ev))/>
                        <button class="button" type="submit" data-test="create-folder">"Create folder"</button>
                    </form>
                </Show>
                <ul class="folder-cards">
                    {subfolders.into_iter().map(|f| view! { <FolderRowView f in_trash can_edit folders version error/> }).collect_view()}
                </ul>
                {if shown.is_empty() {
                    view! { <p class="muted" data-test="no-insights">{if searching { "No insight matches." } else if in_trash { "No insight in the trash." } else if has_folders_here { "The insights here are in the folders above: open one." } else { "No insights here yet. Write a query in the SQL workbench and save it as an insight." }}</p> }.into_any()
                } else {
                    view! {
                        <table class="table insights-table" data-test="insights-table">
                            <thead><tr><th>"Name"</th><th>"Connection"</th><th>"Updated"</th><th></th></tr></thead>
                            <tbody>
                                {shown.into_iter().map(|i| view! { <InsightRow i folders in_trash can_edit done/> }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any()
                }}
                {(!dashboards.is_empty()).then(|| view! {
                    <h2 class="subhead">"Dashboards"</h2>
                    <table class="table insights-table" data-test="folder-dashboards">
                        <thead><tr><th>"Name"</th><th>"Tiles"</th><th>"Updated"</th><th></th></tr></thead>
                        <tbody>
                            {dashboards.into_iter().map(|d| view! { <DashboardRow d in_trash done/> }).collect_view()}
                        </tbody>
                    </table>
                })}
            </section>
        </div>
    }
}

/// An insight in the list: its link (a name only in the trash), connection and last change,
/// and for editors: move to a folder, delete, or restore. Rows drag onto folders.
#[component]
fn InsightRow(
    i: InsightSummary,
    folders: StoredValue<Vec<Folder>>,
    in_trash: bool,
    can_edit: Signal<bool>,
    done: Callback<Result<(), AppError>>,
) -> impl IntoView {
    let id = i.id;
    let options = folders.get_value();
    let move_to = move |to: Option<FolderId>| {
        leptos::task::spawn_local(async move { done.run(move_insight(id, to).await) });
    };
    let trash = move |on: bool| {
        leptos::task::spawn_local(async move { done.run(trash_insight(id, on).await) });
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
fn DashboardRow(
    d: DashboardSummary,
    in_trash: bool,
    done: Callback<Result<(), AppError>>,
) -> impl IntoView {
    let id = d.id;
    let trash = move |on: bool| {
        leptos::task::spawn_local(async move { done.run(trash_dashboard(id, on).await) });
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

/// `Parent / Child` for the move menu.
fn folder_label(all: &[Folder], f: &Folder) -> String {
    folder_path(all, Some(f.id))
        .iter()
        .map(|x| x.name.as_str())
        .collect::<Vec<_>>()
        .join(" / ")
}

/// The insight id carried by a drag from the list.
fn dragged(ev: &leptos::ev::DragEvent) -> Option<InsightId> {
    ev.data_transfer()
        .and_then(|dt| dt.get_data("text/x-insight").ok())
        .and_then(|s| s.parse::<i64>().ok())
        .map(InsightId)
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

#[component]
fn FolderRowView(
    f: Folder,
    in_trash: bool,
    can_edit: Signal<bool>,
    folders: StoredValue<Vec<Folder>>,
    version: RwSignal<u32>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let id = f.id;
    let renaming = RwSignal::new(false);
    let name = RwSignal::new(f.name.clone());
    let parent = f.parent_id;
    let done = move |r: Result<(), AppError>| match r {
        Ok(()) => {
            error.set(None);
            version.update(|v| *v += 1);
        }
        Err(e) => error.set(Some(e)),
    };
    let rename = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = name.get_untracked();
        leptos::task::spawn_local(async move {
            done(save_folder(Some(id), n, parent).await.map(|_| ()));
            renaming.set(false);
        });
    };
    let move_folder = move |to: Option<FolderId>| {
        let n = name.get_untracked();
        leptos::task::spawn_local(
            async move { done(save_folder(Some(id), n, to).await.map(|_| ())) },
        );
    };
    let options = folders.get_value();
    view! {
        <li class="folder-card" data-test="folder-card">
            <Show when=move || renaming.get() fallback=move || view! {
                {if in_trash { view! { <span class="folder-name">{name.get()}</span> }.into_any() } else { view! { <a class="folder-name" href=href(Some(id), "", false) data-test="folder-link">{move || name.get()}</a> }.into_any() }}
            }>
                <form class="inline-form" on:submit=rename>
                    <input type="text" aria-label="Folder name" data-test="folder-rename-input" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                    <button class="button small" type="submit">"Save"</button>
                </form>
            </Show>
            <Show when=move || can_edit.get()>
                {if in_trash {
                    view! { <button class="button small" data-test="restore-folder" on:click=move |_| leptos::task::spawn_local(async move { done(trash_folder(id, false).await) })>"Restore"</button> }.into_any()
                } else {
                    let options = options.clone();
                    view! {
                        <button class="button small" data-test="rename-folder" on:click=move |_| renaming.set(true)>"Rename"</button>
                        <select class="small" aria-label="Move folder" on:change=move |ev| { let v = event_target_value(&ev); if v != "-" { move_folder(v.parse::<i64>().ok().map(FolderId)) } }>
                            <option value="-">"Move to…"</option>
                            <option value="root">"Top level"</option>
                            {options.iter().filter(|o| o.id != id).map(|o| view! { <option value=o.id.0.to_string()>{folder_label(&options, o)}</option> }).collect_view()}
                        </select>
                        <button class="button small danger" data-test="trash-folder" on:click=move |_| leptos::task::spawn_local(async move { done(trash_folder(id, true).await) })>"Delete"</button>
                    }.into_any()
                }}
            </Show>
        </li>
    }
}
