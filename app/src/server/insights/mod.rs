//! Insight services: the folder tree, saving with versions, trash, and running an insight
//! with typed parameters (compiled to the driver's placeholders, values always bound).
//! Everyone signed in may open and run insights; editors and admins change them.
use crate::{
    error::AppError,
    model::{
        connection::ConnectionId,
        insight::{
            change_summary, DrillTarget, Folder, FolderId, Insight, InsightDraft, InsightId,
            InsightSummary, Tree, VersionEntry,
        },
        params::{self, ParamSpec},
        run::MAX_CACHE_MINUTES,
        Permission,
    },
    server::{
        connections,
        db::{
            insights as repo, json_column,
            versions::{self, Versioned},
        },
        AppState, Principal,
    },
};
use chrono::Utc;

mod download;
mod folders;
mod options;
mod run;

pub use download::{cancel_export, export, export_status, Download};
pub use folders::{save_folder, set_folder_trashed};
pub use options::param_options;
pub(crate) use options::spec_options;
pub(crate) use run::bound;
pub use run::{parse_values, prepare, run, Prepared};

fn user(me: &Principal) -> Result<crate::model::UserId, AppError> {
    me.user_id.ok_or(AppError::Unauthenticated)
}

fn folder_of(r: &repo::FolderRow) -> Folder {
    Folder {
        id: FolderId(r.id),
        parent_id: r.parent_id.map(FolderId),
        name: r.name.clone(),
    }
}

fn summary_of(r: &repo::InsightRow) -> InsightSummary {
    InsightSummary {
        id: InsightId(r.id),
        name: r.name.clone(),
        description: r.description.clone(),
        folder_id: r.folder_id.map(FolderId),
        connection_name: r.connection_name.clone(),
        updated_at: r.updated_at,
        updated_by: r.updated_by.clone(),
    }
}

fn draft_of(r: &repo::InsightRow) -> Result<InsightDraft, AppError> {
    Ok(InsightDraft {
        name: r.name.clone(),
        description: r.description.clone(),
        connection_id: r.connection_id.map(ConnectionId),
        sql: r.sql.clone(),
        params: json_column("insight", r.id, "params", &r.params)?,
        view: json_column("insight", r.id, "view", &r.view)?,
        drill: json_column("insight", r.id, "drill", &r.drill)?,
        folder_id: r.folder_id.map(FolderId),
        cache_minutes: r.cache_minutes.and_then(|m| u32::try_from(m).ok()),
    })
}

async fn row(state: &AppState, id: InsightId) -> Result<repo::InsightRow, AppError> {
    repo::get(&state.db, id.0)
        .await?
        .ok_or_else(|| AppError::NotFound("That insight".into()))
}

/// A live insight (trashed ones open only from the trash).
async fn live_row(state: &AppState, id: InsightId) -> Result<repo::InsightRow, AppError> {
    let r = row(state, id).await?;
    if r.deleted_at.is_some() {
        return Err(AppError::Conflict(
            "That insight is in the trash; an editor can restore it.".into(),
        ));
    }
    Ok(r)
}

/// The tree of live folders and insights, the trash, or the insights matching `search`.
pub async fn tree(
    state: &AppState,
    me: &Principal,
    search: Option<String>,
    trash: bool,
) -> Result<Tree, AppError> {
    me.require(Permission::ViewInsights)?;
    let folders = repo::folders(&state.db).await?;
    let search = search
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let insights = match &search {
        Some(q) if q.chars().count() <= 200 => repo::search(&state.db, q).await?,
        Some(_) => {
            return Err(AppError::field(
                "search",
                "Search for at most 200 characters.",
            ))
        }
        None => repo::list(&state.db, trash).await?,
    };
    let dashboards = crate::server::dashboards::list(state, me, search, trash).await?;
    Ok(Tree {
        dashboards,
        folders: folders
            .iter()
            .filter(|f| f.deleted_at.is_some() == trash)
            .map(folder_of)
            .collect(),
        insights: insights.iter().map(summary_of).collect(),
    })
}

/// The chain of folders from the root to `id` (for the breadcrumb).
fn path_to(folders: &[repo::FolderRow], id: Option<i64>) -> Vec<Folder> {
    let mut out = vec![];
    let mut cur = id;
    while let Some(c) = cur {
        let Some(f) = folders.iter().find(|f| f.id == c) else {
            break;
        };
        if out.len() > 64 || out.iter().any(|x: &Folder| x.id.0 == f.id) {
            break;
        }
        out.push(folder_of(f));
        cur = f.parent_id;
    }
    out.reverse();
    out
}

async fn view(state: &AppState, me: &Principal, r: repo::InsightRow) -> Result<Insight, AppError> {
    let folders = repo::folders(&state.db).await?;
    Ok(Insight {
        id: InsightId(r.id),
        version: r.version,
        draft: draft_of(&r)?,
        connection_name: r.connection_name.clone(),
        path: path_to(&folders, r.folder_id),
        updated_at: r.updated_at,
        updated_by: r.updated_by.clone(),
        deleted: r.deleted_at.is_some(),
        can_edit: me.role.can(Permission::EditInsights),
        favorite: false,
    })
}

pub async fn get(state: &AppState, me: &Principal, id: InsightId) -> Result<Insight, AppError> {
    me.require(Permission::ViewInsights)?;
    let r = row(state, id).await?;
    view(state, me, r).await
}

/// An insight's saved content and whether it is in the trash: one row read, without the
/// folder path and marks `get` adds (dashboard tiles, parameter pickers).
pub async fn draft(
    state: &AppState,
    me: &Principal,
    id: InsightId,
) -> Result<(InsightDraft, bool), AppError> {
    me.require(Permission::ViewInsights)?;
    let r = row(state, id).await?;
    Ok((draft_of(&r)?, r.deleted_at.is_some()))
}

/// An insight's parameters (what a drill-down or a query-backed choice list can feed).
pub async fn params(
    state: &AppState,
    me: &Principal,
    id: InsightId,
) -> Result<Vec<ParamSpec>, AppError> {
    Ok(draft(state, me, id).await?.0.params)
}

/// The insight as its page opens it: noted under the user's "Recently opened", with the
/// user's star.
pub async fn open(state: &AppState, me: &Principal, id: InsightId) -> Result<Insight, AppError> {
    let mut insight = get(state, me, id).await?;
    crate::server::home::opened(state, me, id).await?;
    insight.favorite = crate::server::home::is_favorite(state, me, id).await?;
    Ok(insight)
}

/// Checks a draft before it is stored; field names match the editor's inputs.
async fn validate(state: &AppState, d: &mut InsightDraft) -> Result<(), AppError> {
    d.name = d.name.trim().to_string();
    if d.name.is_empty() {
        return Err(AppError::field("name", "Give the insight a name."));
    }
    if d.name.chars().count() > 200 {
        return Err(AppError::field("name", "Use at most 200 characters."));
    }
    if d.description.len() > 20_000 {
        return Err(AppError::field(
            "description",
            "Use at most 20,000 characters.",
        ));
    }
    if d.cache_minutes.is_some_and(|m| m > MAX_CACHE_MINUTES) {
        return Err(AppError::field(
            "cache_minutes",
            "Reuse results for at most 1440 minutes (a day).",
        ));
    }
    if d.sql.trim().is_empty() {
        return Err(AppError::field("sql", "Write the query this insight runs."));
    }
    if d.sql.len() > 1_000_000 {
        return Err(AppError::field("sql", "The query is longer than 1 MB."));
    }
    let Some(conn) = d.connection_id else {
        return Err(AppError::field(
            "connection",
            "Choose the connection it runs on.",
        ));
    };
    connections::row(state, conn).await?;
    params::validate_specs(&d.params).map_err(|(f, m)| AppError::field(&f, m))?;
    let refs = params::references(&d.sql).map_err(|e| AppError::field("sql", e.to_string()))?;
    for r in &refs {
        if !d.params.iter().any(|p| p.name == r.name) {
            return Err(AppError::field(
                "sql",
                format!(
                    "The SQL uses {{{{{}}}}}, but there is no parameter named {}: add it below.",
                    r.name, r.name
                ),
            ));
        }
    }
    for p in &d.params {
        if let Some(src) = &p.source {
            repo::get(&state.db, src.insight_id)
                .await?
                .filter(|r| r.deleted_at.is_none())
                .ok_or_else(|| {
                    AppError::field(
                        &p.name,
                        format!(
                            "The list for '{}' comes from an insight that no longer exists.",
                            p.name
                        ),
                    )
                })?;
        }
    }
    if d.drill.len() > 100 {
        return Err(AppError::field("drill", "At most 100 drill-down links."));
    }
    for link in &d.drill {
        if link.column.trim().is_empty() {
            return Err(AppError::field(
                "drill",
                "Each drill-down names the column it is on.",
            ));
        }
        if let DrillTarget::Insight { insight_id, .. } = &link.target {
            if insight_id.0 <= 0 {
                return Err(AppError::field(
                    "drill",
                    format!(
                        "Choose the insight the drill-down on “{}” opens, or remove it.",
                        link.column.trim()
                    ),
                ));
            }
        }
        if let DrillTarget::Url { template } = &link.target {
            let t = template.trim().to_ascii_lowercase();
            if !(t.starts_with("https://")
                || t.starts_with("http://")
                || (t.starts_with('/') && !t.starts_with("//")))
            {
                return Err(AppError::field(
                    "drill",
                    "A drill-down URL must start with https://, http:// or / (a page of this site).",
                ));
            }
        }
    }
    if let Some(f) = d.folder_id {
        folder_live(state, f).await?;
    }
    Ok(())
}

pub(crate) async fn folder_live(
    state: &AppState,
    id: FolderId,
) -> Result<repo::FolderRow, AppError> {
    repo::folders(&state.db)
        .await?
        .into_iter()
        .find(|f| f.id == id.0 && f.deleted_at.is_none())
        .ok_or_else(|| AppError::NotFound("That folder".into()))
}

fn stored<'a>(d: &'a InsightDraft, json: &'a [String; 4], summary: &'a str) -> repo::Stored<'a> {
    repo::Stored {
        folder_id: d.folder_id.map(|f| f.0),
        name: &d.name,
        description: &d.description,
        connection_id: d.connection_id.map(|c| c.0),
        sql: &d.sql,
        params: &json[0],
        view: &json[1],
        drill: &json[2],
        cache_minutes: d.cache_minutes.map(i64::from),
        body: &json[3],
        summary,
    }
}

fn to_json(d: &InsightDraft) -> Result<[String; 4], AppError> {
    let j = |r: serde_json::Result<String>| r.map_err(crate::error::internal);
    Ok([
        j(serde_json::to_string(&d.params))?,
        j(serde_json::to_string(&d.view))?,
        j(serde_json::to_string(&d.drill))?,
        j(serde_json::to_string(d))?,
    ])
}

/// Creates an insight (`id == None`) or saves a new version of it. `base_version` is the
/// version the editor started from: a save over someone else's newer version is refused.
pub async fn save(
    state: &AppState,
    me: &Principal,
    id: Option<InsightId>,
    base_version: Option<i64>,
    mut draft: InsightDraft,
) -> Result<Insight, AppError> {
    me.require(Permission::EditInsights)?;
    let by = user(me)?;
    validate(state, &mut draft).await?;
    let json = to_json(&draft)?;
    let id = match id {
        None => {
            let summary = change_summary(None, &draft);
            InsightId(repo::insert(&state.db, stored(&draft, &json, &summary), by).await?)
        }
        Some(id) => {
            let current = live_row(state, id).await?;
            let base = base_version.unwrap_or(current.version);
            let summary = change_summary(Some(&draft_of(&current)?), &draft);
            if summary == "No changes" && base == current.version {
                return view(state, me, current).await;
            }
            if repo::update(&state.db, id.0, base, stored(&draft, &json, &summary), by)
                .await?
                .is_none()
            {
                return Err(AppError::Conflict(format!(
                    "{} saved a newer version of this insight since you opened it. Reload to see it; copy your SQL first if you want to keep it.",
                    current.updated_by.unwrap_or_else(|| "Someone".into())
                )));
            }
            crate::server::result_cache::forget_insight(state, id.0).await;
            id
        }
    };
    let saved = row(state, id).await?;
    view(state, me, saved).await
}

pub async fn set_trashed(
    state: &AppState,
    me: &Principal,
    id: InsightId,
    trashed: bool,
) -> Result<(), AppError> {
    me.require(Permission::EditInsights)?;
    let r = row(state, id).await?;
    if trashed {
        repo::set_deleted(&state.db, id.0, Some(Utc::now())).await?;
    } else {
        // A restored insight whose folder is still in the trash comes back at the root.
        if let Some(f) = r.folder_id {
            if folder_live(state, FolderId(f)).await.is_err() {
                repo::set_deleted(&state.db, id.0, None).await?;
                repo::set_folder(&state.db, id.0, None).await?;
                return Ok(());
            }
        }
        repo::set_deleted(&state.db, id.0, None).await?;
    }
    Ok(())
}

pub async fn move_to(
    state: &AppState,
    me: &Principal,
    id: InsightId,
    folder: Option<FolderId>,
) -> Result<(), AppError> {
    me.require(Permission::EditInsights)?;
    live_row(state, id).await?;
    if let Some(f) = folder {
        folder_live(state, f).await?;
    }
    repo::set_folder(&state.db, id.0, folder.map(|f| f.0)).await?;
    Ok(())
}

pub async fn versions(
    state: &AppState,
    me: &Principal,
    id: InsightId,
) -> Result<Vec<VersionEntry>, AppError> {
    me.require(Permission::ViewInsights)?;
    row(state, id).await?;
    versions::list(&state.db, Versioned::Insight, id.0).await
}

pub async fn version(
    state: &AppState,
    me: &Principal,
    id: InsightId,
    version: i64,
) -> Result<InsightDraft, AppError> {
    me.require(Permission::ViewInsights)?;
    row(state, id).await?;
    versions::body(&state.db, Versioned::Insight, id.0, version).await
}

/// Makes an old version current again, as a new version ("Reverted to version N").
pub async fn revert(
    state: &AppState,
    me: &Principal,
    id: InsightId,
    to: i64,
) -> Result<Insight, AppError> {
    me.require(Permission::EditInsights)?;
    let by = user(me)?;
    let current = live_row(state, id).await?;
    let mut draft = version(state, me, id, to).await?;
    // The folder is where the insight lives now, not where it lived then.
    draft.folder_id = current.folder_id.map(FolderId);
    if draft
        .connection_id
        .is_some_and(|c| c.0 != current.connection_id.unwrap_or(-1))
    {
        if let Some(c) = draft.connection_id {
            if connections::row(state, c).await.is_err() {
                draft.connection_id = current.connection_id.map(ConnectionId);
            }
        }
    }
    let json = to_json(&draft)?;
    let summary = format!("Reverted to version {to}");
    repo::update(
        &state.db,
        id.0,
        current.version,
        stored(&draft, &json, &summary),
        by,
    )
    .await?
    .ok_or_else(|| AppError::Conflict("The insight changed meanwhile; try again.".into()))?;
    crate::server::result_cache::forget_insight(state, id.0).await;
    let saved = row(state, id).await?;
    view(state, me, saved).await
}
