//! The insights list: a folder tree (create, rename, move, delete), the insights of the
//! chosen folder (open, move by drag or menu, delete), search across names, descriptions and
//! SQL, and the trash with restore. The chosen folder and the search live in the URL.
//!
//! - `list`: the chosen folder's contents (breadcrumb, new folder, folders, insights,
//!   dashboards)
//! - `tree`: the folder tree beside it (search, drop targets, trash)
//! - `folders`: a folder's card (rename, move, delete, restore)
//! - `rows`: an insight's row and a dashboard's row
mod folders;
mod list;
mod rows;
mod tree;

use crate::{
    api::{
        dashboards::TrashDashboard,
        insights::{insight_tree, MoveInsight, SaveFolder, TrashFolder, TrashInsight},
    },
    error::AppError,
    model::{
        insight::{Folder, FolderId, InsightId},
        Permission,
    },
    ui::{
        components::{
            feedback::{ErrorNote, Loading, Region},
            layout::urlencode,
        },
        context::auth::use_role,
    },
};
use leptos::{prelude::*, server_fn::ServerFn};
use leptos_meta::Title;
use list::TreeView;

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
    let changes = Changes::new(done);
    view! {
        <Title text="Insights"/>
        <div class="page-head">
            <h1>"Insights"</h1>
            <Show when=move || can_edit.get()>
                <a class="button primary" href="/workbench" data-test="new-insight">"New insight"</a>
            </Show>
        </div>
        <ErrorNote error=Signal::derive(move || error.get())/>
        <Region label="Insights">
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    tree.await.map(|t| view! { <TreeView tree=t folder search trash can_edit changes/> })
                })}
            </Suspense>
        </Region>
    }
}

/// The changes made from the list, each a server action whose answer goes to `done` (the
/// list reloads, or the error shows above it).
#[derive(Clone, Copy)]
struct Changes {
    move_insight: ServerAction<MoveInsight>,
    trash_insight: ServerAction<TrashInsight>,
    trash_dashboard: ServerAction<TrashDashboard>,
    trash_folder: ServerAction<TrashFolder>,
    /// Moves of folders (a new folder and a rename have their own, which do more).
    save_folder: ServerAction<SaveFolder>,
    done: Callback<Result<(), AppError>>,
}

impl Changes {
    fn new(done: Callback<Result<(), AppError>>) -> Self {
        let changes = Changes {
            move_insight: ServerAction::new(),
            trash_insight: ServerAction::new(),
            trash_dashboard: ServerAction::new(),
            trash_folder: ServerAction::new(),
            save_folder: ServerAction::new(),
            done,
        };
        answer_to(changes.move_insight, done);
        answer_to(changes.trash_insight, done);
        answer_to(changes.trash_dashboard, done);
        answer_to(changes.trash_folder, done);
        answer_to(changes.save_folder, done);
        changes
    }
}

/// Hands each answer of `action` to `done`.
fn answer_to<S>(action: ServerAction<S>, done: Callback<Result<(), AppError>>)
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if let Some(r) = action.value().get() {
            done.run(r.map(|_| ()));
        }
    });
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
