//! Folders of insights: create, rename, move (never into themselves), trash and restore.
use super::{path_to, user};
use crate::{
    error::AppError,
    model::{
        insight::{Folder, FolderId},
        Permission,
    },
    server::{db::insights as repo, AppState, Principal},
};
use chrono::Utc;

/// Creates (`id == None`), renames or moves a folder.
pub async fn save_folder(
    state: &AppState,
    me: &Principal,
    id: Option<FolderId>,
    name: String,
    parent: Option<FolderId>,
) -> Result<Folder, AppError> {
    me.require(Permission::EditInsights)?;
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 120 {
        return Err(AppError::field(
            "name",
            "Give the folder a name of at most 120 characters.",
        ));
    }
    let folders = repo::folders(&state.db).await?;
    if let Some(p) = parent {
        if !folders
            .iter()
            .any(|f| f.id == p.0 && f.deleted_at.is_none())
        {
            return Err(AppError::NotFound("The parent folder".into()));
        }
        // A folder cannot move into itself or below itself.
        if let Some(me_id) = id {
            if path_to(&folders, Some(p.0)).iter().any(|f| f.id == me_id) {
                return Err(AppError::field(
                    "parent",
                    "A folder cannot be moved into itself or one of its subfolders.",
                ));
            }
        }
    }
    let sibling_clash = folders.iter().any(|f| {
        f.deleted_at.is_none()
            && f.parent_id == parent.map(|p| p.0)
            && Some(FolderId(f.id)) != id
            && f.name.to_lowercase() == name.to_lowercase()
    });
    if sibling_clash {
        return Err(AppError::field(
            "name",
            format!("There is already a folder named '{name}' here."),
        ));
    }
    let id = match id {
        None => {
            FolderId(repo::insert_folder(&state.db, parent.map(|p| p.0), &name, user(me)?).await?)
        }
        Some(id) => {
            if !repo::update_folder(&state.db, id.0, parent.map(|p| p.0), &name).await? {
                return Err(AppError::NotFound("That folder".into()));
            }
            id
        }
    };
    Ok(Folder {
        id,
        parent_id: parent,
        name,
    })
}

/// Sends a folder with its subfolders and insights to the trash, or brings them back.
pub async fn set_folder_trashed(
    state: &AppState,
    me: &Principal,
    id: FolderId,
    trashed: bool,
) -> Result<(), AppError> {
    me.require(Permission::EditInsights)?;
    let folders = repo::folders(&state.db).await?;
    let this = folders
        .iter()
        .find(|f| f.id == id.0)
        .ok_or_else(|| AppError::NotFound("That folder".into()))?;
    // The folder and everything below it.
    let mut ids = vec![id.0];
    let mut i = 0;
    while i < ids.len() {
        let parent = ids[i];
        ids.extend(
            folders
                .iter()
                .filter(|f| f.parent_id == Some(parent))
                .map(|f| f.id),
        );
        i += 1;
        if ids.len() > 10_000 {
            break;
        }
    }
    if trashed {
        repo::set_folders_deleted(&state.db, &ids, Some(Utc::now()), None).await?;
    } else {
        let Some(stamp) = this.deleted_at else {
            return Ok(());
        };
        repo::set_folders_deleted(&state.db, &ids, None, Some(stamp)).await?;
        // Its parent may still be in the trash: then it comes back at the root.
        if let Some(p) = this.parent_id {
            if folders.iter().any(|f| f.id == p && f.deleted_at.is_some()) {
                repo::update_folder(&state.db, id.0, None, &this.name).await?;
            }
        }
    }
    Ok(())
}
