//! Insight services: the folder tree, saving with versions, trash, and running an insight
//! with typed parameters (compiled to the driver's placeholders, values always bound).
//! Everyone signed in may open and run insights; editors and admins change them.
use crate::{
    error::AppError,
    model::{
        connection::ConnectionId,
        insight::{
            change_summary, DrillTarget, Folder, FolderId, Insight, InsightDraft, InsightId,
            InsightSummary, Tree, UrlValues, VersionEntry,
        },
        params::{self, BoundValue, Dialect, EnumOption, ParamKind, ParamSpec, ParamValue},
        query::{Column, Value},
        run::{CacheUse, RunView, MAX_CACHE_MINUTES, MAX_PAGE},
        Permission,
    },
    server::{
        connections,
        connectors::{ConnectorError, Param, RowSink, RunSummary},
        db::{connections::ConnectionRow, insights as repo, json_column},
        AppState, Principal,
    },
};
use chrono::Utc;
use std::{collections::BTreeMap, time::Duration};

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
    Ok(repo::versions(&state.db, id.0)
        .await?
        .into_iter()
        .map(|v| VersionEntry {
            version: v.version,
            author: v.author,
            created_at: v.created_at,
            summary: v.summary,
        })
        .collect())
}

pub async fn version(
    state: &AppState,
    me: &Principal,
    id: InsightId,
    version: i64,
) -> Result<InsightDraft, AppError> {
    me.require(Permission::ViewInsights)?;
    row(state, id).await?;
    let body = repo::version_body(&state.db, id.0, version)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("Version {version}")))?;
    serde_json::from_str(&body).map_err(crate::error::internal)
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

// ---- folders ----

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

// ---- running ----

/// An insight ready to run: its connection and the SQL with bound values.
pub struct Prepared {
    pub insight: repo::InsightRow,
    pub connection: ConnectionRow,
    pub sql: String,
    pub params: Vec<Param>,
}

impl Prepared {
    /// Runs the compiled statement on the insight's connection (read-only, at most
    /// `max_rows`), streaming rows into `sink`.
    pub async fn run(
        &self,
        state: &AppState,
        max_rows: u64,
        cancel: tokio_util::sync::CancellationToken,
        sink: &mut dyn RowSink,
    ) -> Result<RunSummary, ConnectorError> {
        state
            .engine
            .run_direct(
                &self.connection,
                &self.sql,
                &self.params,
                max_rows,
                cancel,
                sink,
            )
            .await
    }
}

fn dialect(kind: &str) -> Dialect {
    match kind {
        "postgres" => Dialect::Postgres,
        "mysql" => Dialect::Mysql,
        _ => Dialect::Sqlite,
    }
}

/// A compiled value as the connectors take it (dates as text in each engine's form).
pub(crate) fn bound(v: BoundValue, d: Dialect) -> Param {
    match v {
        BoundValue::Null => Param::Null,
        BoundValue::Text(t) => Param::Text(t),
        BoundValue::Int(i) => Param::Int(i),
        BoundValue::Number(n) => Param::Number(n),
        BoundValue::Bool(b) => Param::Bool(b),
        BoundValue::Date(x) => Param::Text(x.format("%Y-%m-%d").to_string()),
        // SQLite compares text: use the form its date functions produce.
        BoundValue::DateTime(x) => Param::Text(match d {
            Dialect::Postgres => x.format("%Y-%m-%dT%H:%M:%S%.f").to_string(),
            _ => x.format("%Y-%m-%d %H:%M:%S").to_string(),
        }),
        BoundValue::List(items) => Param::List(items.into_iter().map(|i| bound(i, d)).collect()),
    }
}

/// Parses the URL values against the specs (each error names its `p_<name>` field).
pub fn parse_values(
    specs: &[ParamSpec],
    values: &UrlValues,
) -> Result<BTreeMap<String, ParamValue>, AppError> {
    let today = Utc::now().date_naive();
    let mut errors = vec![];
    let mut out = BTreeMap::new();
    for spec in specs {
        let raw = values.get(&spec.name).cloned().unwrap_or_default();
        if raw.len() > 1000 || raw.iter().any(|v| v.len() > 100_000) {
            errors.push(crate::error::FieldError::new(
                &format!("p_{}", spec.name),
                "Too many or too long values.",
            ));
            continue;
        }
        match params::parse_value(spec, &raw, today) {
            Ok(v) => {
                out.insert(spec.name.clone(), v);
            }
            Err(m) => errors.push(crate::error::FieldError::new(
                &format!("p_{}", spec.name),
                m,
            )),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Parses, checks and compiles an insight's parameters for its connection.
pub async fn prepare(
    state: &AppState,
    id: InsightId,
    values: &UrlValues,
) -> Result<Prepared, AppError> {
    let insight = live_row(state, id).await?;
    let draft = draft_of(&insight)?;
    let conn_id = draft.connection_id.ok_or_else(|| {
        AppError::Conflict(
            "This insight's connection was deleted; an editor can choose another.".into(),
        )
    })?;
    let connection = connections::row(state, conn_id).await?;
    if !connection.active {
        return Err(AppError::Conflict(format!(
            "The connection '{}' is inactive; an editor can activate it on the Connections page.",
            connection.name
        )));
    }
    let typed = parse_values(&draft.params, values)?;
    // A query-backed choice must be one of the choices the list offers.
    for spec in &draft.params {
        if spec.kind == ParamKind::Query {
            let chosen: Vec<String> = match typed.get(&spec.name) {
                Some(ParamValue::Text(t)) => vec![t.clone()],
                Some(ParamValue::List(items)) => items
                    .iter()
                    .filter_map(|v| match v {
                        ParamValue::Text(t) => Some(t.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => vec![],
            };
            if !chosen.is_empty() {
                let offered = options_for(state, spec, values).await?;
                if let Some(bad) = chosen
                    .iter()
                    .find(|c| !offered.iter().any(|o| &o.value == *c))
                {
                    return Err(AppError::field(
                        &format!("p_{}", spec.name),
                        format!(
                            "'{}' is not one of the choices for {}.",
                            params::clip(bad),
                            label(spec)
                        ),
                    ));
                }
            }
        }
    }
    let d = dialect(&connection.kind);
    let compiled = params::compile(&draft.sql, &draft.params, &typed, d)
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    Ok(Prepared {
        insight,
        connection,
        sql: compiled.sql,
        params: compiled.values.into_iter().map(|v| bound(v, d)).collect(),
    })
}

fn label(spec: &ParamSpec) -> &str {
    if spec.label.trim().is_empty() {
        &spec.name
    } else {
        &spec.label
    }
}

/// Runs an insight with the given URL values; the result is followed and paged like a
/// workbench run (it belongs to the caller). Insights always run read-only.
pub async fn run(
    state: &AppState,
    me: &Principal,
    id: InsightId,
    values: UrlValues,
    page_size: u32,
    cache: CacheUse,
) -> Result<RunView, AppError> {
    me.require(Permission::ViewInsights)?;
    let owner = user(me)?;
    let p = prepare(state, id, &values).await?;
    let handle = crate::server::result_cache::run(state, owner, p, cache).await?;
    let page_size = page_size.min(MAX_PAGE);
    state
        .engine
        .wait(
            &handle,
            u64::from(page_size.max(1)),
            Duration::from_millis(if page_size > 0 { 1000 } else { 250 }),
        )
        .await;
    let mut view = handle.view();
    if page_size > 0 && view.row_count > 0 {
        view.page = Some(state.engine.page(&handle, 0, page_size, None).await?);
    }
    Ok(view)
}

/// The choices of a parameter (or a dashboard filter) given the other values: its fixed
/// options, or its source insight's result.
pub(crate) async fn spec_options(
    state: &AppState,
    spec: &ParamSpec,
    values: &UrlValues,
) -> Result<Vec<EnumOption>, AppError> {
    options_for(state, spec, values).await
}

/// Collects at most 1,000 rows of (value, label) for a dropdown.
struct OptionSink {
    out: Vec<EnumOption>,
}

impl RowSink for OptionSink {
    fn columns(&mut self, _: &[Column]) -> Result<(), ConnectorError> {
        Ok(())
    }
    fn row(&mut self, row: Vec<Value>) -> Result<(), ConnectorError> {
        let text = |v: Option<&Value>| v.and_then(Value::display);
        if let Some(value) = text(row.first()) {
            let label = text(row.get(1)).unwrap_or_else(|| value.clone());
            if !self.out.iter().any(|o| o.value == value) {
                self.out.push(EnumOption { value, label });
            }
        }
        Ok(())
    }
}

/// The choices of a query-backed parameter: its source insight run with the source's
/// parameters filled from this insight's current values (cascading dropdowns).
async fn options_for(
    state: &AppState,
    spec: &ParamSpec,
    values: &UrlValues,
) -> Result<Vec<EnumOption>, AppError> {
    let Some(src) = &spec.source else {
        return Ok(spec.options.clone());
    };
    let mut source_values = UrlValues::new();
    for (source_param, ours) in &src.depends_on {
        if let Some(v) = values.get(ours) {
            source_values.insert(source_param.clone(), v.clone());
        }
    }
    let p = Box::pin(prepare_source(
        state,
        InsightId(src.insight_id),
        &source_values,
    ))
    .await?;
    let mut sink = OptionSink { out: vec![] };
    p.run(state, 1000, Default::default(), &mut sink)
        .await
        .map_err(|e| {
            AppError::Unavailable(format!(
                "The list for {} could not be loaded: {e}",
                label(spec)
            ))
        })?;
    Ok(sink.out)
}

/// Like `prepare`, for a dropdown's source insight (whose own query-backed parameters are
/// not checked again, which also ends any cycle of sources).
async fn prepare_source(
    state: &AppState,
    id: InsightId,
    values: &UrlValues,
) -> Result<Prepared, AppError> {
    let insight = live_row(state, id)
        .await
        .map_err(|_| AppError::NotFound("The insight this list comes from".into()))?;
    let draft = draft_of(&insight)?;
    let conn_id = draft
        .connection_id
        .ok_or_else(|| AppError::Conflict("The list's insight has no connection.".into()))?;
    let connection = connections::row(state, conn_id).await?;
    let typed = parse_values(&draft.params, values)?;
    let d = dialect(&connection.kind);
    let compiled = params::compile(&draft.sql, &draft.params, &typed, d)
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    Ok(Prepared {
        insight,
        connection,
        sql: compiled.sql,
        params: compiled.values.into_iter().map(|v| bound(v, d)).collect(),
    })
}

/// The choices of one parameter of an insight given the other parameters' values.
pub async fn param_options(
    state: &AppState,
    me: &Principal,
    id: InsightId,
    name: String,
    values: UrlValues,
) -> Result<Vec<EnumOption>, AppError> {
    me.require(Permission::ViewInsights)?;
    let r = live_row(state, id).await?;
    let draft = draft_of(&r)?;
    let spec = draft
        .params
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| AppError::NotFound(format!("Parameter {name}")))?;
    options_for(state, spec, &values).await
}

/// Whose a download is (the command-line operator, who has no account, is 0).
fn download_owner(me: &Principal) -> i64 {
    me.user_id.map_or(0, |u| u.0)
}

/// Where the caller's download under `token` stands; `None` while the server has not seen
/// it (its request may still be on the way), and for anybody else's.
pub fn export_status(
    state: &AppState,
    me: &Principal,
    token: &str,
) -> Result<Option<crate::model::insight::ExportStatus>, AppError> {
    me.require(Permission::ViewInsights)?;
    Ok(state
        .exports
        .get(download_owner(me), token)
        .map(|p| p.status()))
}

/// Stops the caller's download under `token` (the file ends incomplete, as a failed
/// download); its status once stopped.
pub fn cancel_export(
    state: &AppState,
    me: &Principal,
    token: &str,
) -> Result<crate::model::insight::ExportStatus, AppError> {
    me.require(Permission::ViewInsights)?;
    let p = state
        .exports
        .get(download_owner(me), token)
        .ok_or_else(|| AppError::NotFound("That download".into()))?;
    p.cancel.cancel();
    Ok(p.status())
}

/// An export download: the file name, its content type and the streaming body.
pub struct Download {
    pub filename: String,
    pub content_type: &'static str,
    pub body: crate::server::export::BodyStream,
}

/// Streams an insight's result with the given values as CSV, JSON or XLSX, straight from
/// the database (no snapshot, no row cap). Same authorization as viewing; read-only.
pub async fn export(
    state: &AppState,
    me: &Principal,
    id: InsightId,
    values: UrlValues,
    format: crate::server::export::ExportFormat,
    progress: Option<String>,
) -> Result<Download, AppError> {
    use crate::server::{db::audit, export};
    me.require(Permission::ViewInsights)?;
    let p = prepare(state, id, &values).await?;
    let progress = match progress {
        None => None,
        Some(token) if crate::model::insight::valid_export_token(&token) => Some(
            state
                .exports
                .start(download_owner(me), &token)
                .ok_or_else(|| AppError::Conflict("That progress token is taken.".into()))?,
        ),
        Some(_) => {
            return Err(AppError::BadRequest(
                "progress must be 8 to 64 letters, digits, - or _".into(),
            ))
        }
    };
    let cancel = progress
        .as_ref()
        .map(|p| p.cancel.clone())
        .unwrap_or_default();
    let (mut sink, body) = export::export_tracked(
        format,
        &state.settings.data_dir,
        progress.clone(),
        export::FormulaGuard::from_setting(state.settings.csv_formula_guard),
    );
    let slug: String = p
        .insight
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let slug = if slug.is_empty() {
        format!("insight-{}", id.0)
    } else {
        slug.chars().take(60).collect()
    };
    let filename = format!("{slug}.{}", format.extension());
    let task_state = state.clone();
    let user = me.user_id;
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        // CSV from PostgreSQL comes from its own COPY when the statement allows it (as fast
        // as `psql \copy`); otherwise, and for the other formats, rows go through the sink.
        let copied = match sink.copy_out() {
            Some(out) => {
                task_state
                    .engine
                    .copy_csv_direct(&p.connection, &p.sql, &p.params, cancel.clone(), out)
                    .await
            }
            None => Ok(None),
        };
        if let (Some(progress), Ok(Some(_))) = (&progress, &copied) {
            progress.bytes_only();
        }
        let (result, bytes) = match copied {
            // COPY counts bytes, not rows; the CSV sink's finish uses neither.
            Ok(Some(c)) => (
                Ok(RunSummary {
                    row_count: 0,
                    truncated: false,
                    elapsed: c.elapsed,
                }),
                Some(c.bytes),
            ),
            Ok(None) => (
                p.run(&task_state, u64::MAX, cancel.clone(), sink.as_mut())
                    .await,
                None,
            ),
            Err(e) => (Err(e), None),
        };
        let detail = serde_json::json!({
            "insight": p.insight.id,
            "format": format.extension(),
            "connection": p.connection.name,
            "params": p.params,
            "rows": result.as_ref().ok().filter(|_| bytes.is_none()).map(|s| s.row_count),
            "bytes": bytes,
            "elapsed_ms": started.elapsed().as_millis() as u64,
            "error": result.as_ref().err().map(|e| e.to_string()),
        })
        .to_string();
        let ended = result.as_ref().map(|_| ()).map_err(Clone::clone);
        sink.finish(result).await;
        if let Some(progress) = &progress {
            progress.end(&ended);
        }
        if let Err(e) = futures::FutureExt::boxed(audit::record(
            &task_state.db,
            user,
            "insight_export",
            None,
            &detail,
        ))
        .await
        {
            tracing::warn!(error = %e, "could not audit an export");
        }
    });
    Ok(Download {
        filename,
        content_type: format.content_type(),
        body,
    })
}
