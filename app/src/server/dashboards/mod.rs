//! Dashboard services: the list, opening a board (each tile's insight resolved, Markdown
//! rendered), saving with versions and a conflict check, trash, duplicate, revert, adding an
//! insight as a tile, the choices of a filter. Tiles run through the insight service
//! (`insights::run`) with the values the board's filters feed them (`model::dashboard`).
//!
//! Who may do what: everyone signed in opens dashboards and runs their tiles (each tile runs
//! through the insight service, so its checks apply); editors and admins change any
//! dashboard; a viewer may create dashboards and change the ones they own.
use crate::{
    error::AppError,
    model::{
        dashboard::{
            self, change_summary, Dashboard, DashboardDraft, DashboardId, DashboardSummary,
            TileContent, TileInfo,
        },
        insight::{FolderId, InsightId, UrlValues},
        params::EnumOption,
        version::VersionEntry,
        Permission, UserId,
    },
    server::{
        db::{
            dashboards as repo, json_column,
            versions::{self, Versioned},
        },
        insights, AppState, Principal,
    },
};
use chrono::Utc;

mod export;

pub use export::export_xlsx;

fn user(me: &Principal) -> Result<UserId, AppError> {
    me.user_id.ok_or(AppError::Unauthenticated)
}

fn may_edit(me: &Principal, r: &repo::DashboardRow) -> bool {
    me.role.can(Permission::EditInsights)
        || (me.user_id.is_some() && me.user_id.map(|u| u.0) == r.owner_id)
}

fn draft_of(r: &repo::DashboardRow) -> Result<DashboardDraft, AppError> {
    let mut d: DashboardDraft = json_column("dashboard", r.id, "body", &r.body)?;
    d.name = r.name.clone();
    d.description = r.description.clone();
    d.folder_id = r.folder_id.map(FolderId);
    Ok(d)
}

async fn row(state: &AppState, id: DashboardId) -> Result<repo::DashboardRow, AppError> {
    repo::get(&state.db, id.0)
        .await?
        .ok_or_else(|| AppError::NotFound("That dashboard".into()))
}

async fn live_row(state: &AppState, id: DashboardId) -> Result<repo::DashboardRow, AppError> {
    let r = row(state, id).await?;
    if r.deleted_at.is_some() {
        return Err(AppError::Conflict(
            "That dashboard is in the trash; its owner or an editor can restore it.".into(),
        ));
    }
    Ok(r)
}

/// Minutes a tile of this dashboard reuses results for: the board's own cache time when it
/// sets one, else the insight's (`own`), but no longer than the board's auto-refresh
/// interval (a board refreshing every minute shows minute-old rows). A trashed or missing
/// dashboard changes nothing (a stale page may still run its tiles).
pub async fn tile_cache_minutes(
    state: &AppState,
    id: DashboardId,
    own: u32,
) -> Result<u32, AppError> {
    Ok(match repo::get(&state.db, id.0).await? {
        Some(r) if r.deleted_at.is_none() => {
            let d = draft_of(&r)?;
            d.cache_minutes.unwrap_or(match d.refresh_minutes {
                0 => own,
                every => own.min(every),
            })
        }
        _ => own,
    })
}

async fn editable_row(
    state: &AppState,
    me: &Principal,
    id: DashboardId,
) -> Result<repo::DashboardRow, AppError> {
    me.require(Permission::ViewInsights)?;
    let r = row(state, id).await?;
    if !may_edit(me, &r) {
        return Err(AppError::Forbidden);
    }
    Ok(r)
}

/// Markdown to HTML that is safe to insert into the page: raw HTML is shown as text, and
/// links and images keep only http(s), mailto and same-site addresses.
pub fn markdown_html(md: &str) -> String {
    use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};
    fn safe(url: &str) -> bool {
        let u = url.trim().to_ascii_lowercase();
        let scheme_end = u.find(':');
        let first_sep = u.find(['/', '?', '#']);
        match scheme_end {
            None => true,
            Some(c) if first_sep.is_some_and(|s| s < c) => true,
            Some(_) => {
                u.starts_with("http://") || u.starts_with("https://") || u.starts_with("mailto:")
            }
        }
    }
    let clean = |u: CowStr<'_>| -> CowStr<'static> {
        if safe(&u) {
            CowStr::from(u.into_string())
        } else {
            CowStr::from("#")
        }
    };
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let events = Parser::new_ext(md, opts).map(|e| match e {
        Event::Html(t) | Event::InlineHtml(t) => Event::Text(t),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: clean(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: clean(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::new();
    pulldown_cmark::html::push_html(&mut out, events);
    out
}

fn empty_info(id: u32) -> TileInfo {
    TileInfo {
        id,
        name: String::new(),
        params: vec![],
        view: Default::default(),
        drill: vec![],
        html: String::new(),
        problem: None,
    }
}

/// An insight tile's name, parameters, saved view and drill-downs, or why it cannot show.
async fn insight_info(state: &AppState, me: &Principal, id: u32, insight: InsightId) -> TileInfo {
    let mut info = empty_info(id);
    match insights::draft(state, me, insight).await {
        Ok((d, true)) => {
            info.name = d.name;
            info.problem =
                Some("This tile's insight is in the trash: restore it or remove the tile.".into());
        }
        Ok((d, false)) => {
            info.name = d.name;
            info.params = d.params;
            info.view = d.view;
            info.drill = d.drill;
        }
        Err(AppError::NotFound(_)) => {
            info.problem =
                Some("This tile's insight was deleted: remove the tile or choose another.".into())
        }
        Err(AppError::Forbidden) => {
            info.problem = Some("You may not open this tile's insight.".into())
        }
        Err(e) => info.problem = Some(e.to_string()),
    }
    info
}

/// What each tile needs to be drawn; an insight the caller cannot open, or that is gone,
/// becomes the tile's problem rather than the page's error.
async fn tile_infos(state: &AppState, me: &Principal, d: &DashboardDraft) -> Vec<TileInfo> {
    let mut out = Vec::with_capacity(d.tiles.len());
    for t in &d.tiles {
        let mut info = empty_info(t.id);
        match &t.content {
            TileContent::Insight { insight_id, .. } => {
                info = insight_info(state, me, t.id, *insight_id).await;
            }
            TileContent::Text { markdown } => info.html = markdown_html(markdown),
            TileContent::Heading { .. } => {}
        }
        out.push(info);
    }
    out
}

async fn view(
    state: &AppState,
    me: &Principal,
    r: repo::DashboardRow,
) -> Result<Dashboard, AppError> {
    let draft = draft_of(&r)?;
    let tiles = tile_infos(state, me, &draft).await;
    Ok(Dashboard {
        id: DashboardId(r.id),
        version: r.version,
        can_edit: may_edit(me, &r),
        deleted: r.deleted_at.is_some(),
        updated_at: r.updated_at,
        updated_by: r.updated_by.clone(),
        owner: r.owner.clone(),
        draft,
        tiles,
    })
}

pub async fn list(
    state: &AppState,
    me: &Principal,
    search: Option<String>,
    trash: bool,
) -> Result<Vec<DashboardSummary>, AppError> {
    me.require(Permission::ViewInsights)?;
    let q = search.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let rows = repo::list(&state.db, trash, q).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let tiles = match draft_of(&r) {
            Ok(d) => d.tiles.len(),
            Err(_) => 0,
        };
        out.push(DashboardSummary {
            id: DashboardId(r.id),
            can_edit: may_edit(me, &r),
            name: r.name,
            description: r.description,
            folder_id: r.folder_id.map(FolderId),
            tiles,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
        });
    }
    Ok(out)
}

pub async fn open(
    state: &AppState,
    me: &Principal,
    id: DashboardId,
) -> Result<Dashboard, AppError> {
    me.require(Permission::ViewInsights)?;
    let r = row(state, id).await?;
    view(state, me, r).await
}

/// Checks a draft before it is stored: the model's rules, a live folder, and tiles whose
/// insights exist.
async fn validate(
    state: &AppState,
    me: &Principal,
    d: &mut DashboardDraft,
) -> Result<(), AppError> {
    dashboard::validate(d).map_err(|(f, m)| AppError::field(&f, m))?;
    if let Some(f) = d.folder_id {
        insights::folder_live(state, f).await?;
    }
    for t in &d.tiles {
        if let TileContent::Insight { insight_id, .. } = &t.content {
            match insights::draft(state, me, *insight_id).await {
                Ok(_) => {}
                Err(AppError::NotFound(_)) => {
                    return Err(AppError::field(
                        "tiles",
                        format!("A tile shows insight {insight_id}, which does not exist."),
                    ))
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

fn body(d: &DashboardDraft) -> Result<String, AppError> {
    serde_json::to_string(d).map_err(crate::error::internal)
}

fn stored<'a>(d: &'a DashboardDraft, body: &'a str, summary: &'a str) -> repo::Stored<'a> {
    repo::Stored {
        folder_id: d.folder_id.map(|f| f.0),
        name: &d.name,
        description: &d.description,
        body,
        summary,
    }
}

/// Creates a dashboard (`id == None`) or saves a new version. `base_version` is the version
/// the editor started from: a save over a newer version is refused with who saved it, unless
/// `base_version` is `None` (the editor chose to overwrite).
pub async fn save(
    state: &AppState,
    me: &Principal,
    id: Option<DashboardId>,
    base_version: Option<i64>,
    mut draft: DashboardDraft,
) -> Result<Dashboard, AppError> {
    me.require(Permission::ViewInsights)?;
    let by = user(me)?;
    let current = match id {
        Some(id) => {
            let r = editable_row(state, me, id).await?;
            if r.deleted_at.is_some() {
                return Err(AppError::Conflict(
                    "That dashboard is in the trash; restore it before changing it.".into(),
                ));
            }
            Some(r)
        }
        None => None,
    };
    validate(state, me, &mut draft).await?;
    let json = body(&draft)?;
    let id = match current {
        None => {
            let summary = change_summary(None, &draft);
            DashboardId(repo::insert(&state.db, stored(&draft, &json, &summary), by).await?)
        }
        Some(current) => {
            let base = base_version.unwrap_or(current.version);
            let summary = change_summary(Some(&draft_of(&current)?), &draft);
            if summary == "No changes" && base == current.version {
                return view(state, me, current).await;
            }
            if repo::update(
                &state.db,
                current.id,
                base,
                stored(&draft, &json, &summary),
                by,
            )
            .await?
            .is_none()
            {
                return Err(AppError::Conflict(format!(
                    "{} saved a newer version of this dashboard since you opened it. Reload to see theirs, or overwrite it with yours.",
                    current.updated_by.unwrap_or_else(|| "Someone".into())
                )));
            }
            DashboardId(current.id)
        }
    };
    let saved = row(state, id).await?;
    view(state, me, saved).await
}

pub async fn set_trashed(
    state: &AppState,
    me: &Principal,
    id: DashboardId,
    trashed: bool,
) -> Result<(), AppError> {
    let r = editable_row(state, me, id).await?;
    if trashed {
        repo::set_deleted(&state.db, id.0, Some(Utc::now())).await?;
    } else {
        repo::set_deleted(&state.db, id.0, None).await?;
        // A restored dashboard whose folder is still in the trash comes back at the root.
        if let Some(f) = r.folder_id {
            if insights::folder_live(state, FolderId(f)).await.is_err() {
                let mut d = draft_of(&r)?;
                d.folder_id = None;
                let json = body(&d)?;
                repo::update(
                    &state.db,
                    id.0,
                    r.version,
                    stored(&d, &json, "Restored at the top level"),
                    user(me)?,
                )
                .await?;
            }
        }
    }
    Ok(())
}

/// A copy owned by the caller ("Copy of …"), in the same folder.
pub async fn duplicate(
    state: &AppState,
    me: &Principal,
    id: DashboardId,
) -> Result<Dashboard, AppError> {
    me.require(Permission::ViewInsights)?;
    let r = live_row(state, id).await?;
    let mut d = draft_of(&r)?;
    d.name = format!("Copy of {}", d.name).chars().take(200).collect();
    save(state, me, None, None, d).await
}

pub async fn versions(
    state: &AppState,
    me: &Principal,
    id: DashboardId,
) -> Result<Vec<VersionEntry>, AppError> {
    me.require(Permission::ViewInsights)?;
    row(state, id).await?;
    versions::list(&state.db, Versioned::Dashboard, id.0).await
}

pub async fn version(
    state: &AppState,
    me: &Principal,
    id: DashboardId,
    version: i64,
) -> Result<DashboardDraft, AppError> {
    me.require(Permission::ViewInsights)?;
    row(state, id).await?;
    versions::body(&state.db, Versioned::Dashboard, id.0, version).await
}

/// Makes an old version current again, as a new version ("Reverted to version N"). Tiles
/// whose insight has since been deleted stay, and say so.
pub async fn revert(
    state: &AppState,
    me: &Principal,
    id: DashboardId,
    to: i64,
) -> Result<Dashboard, AppError> {
    let current = editable_row(state, me, id).await?;
    if current.deleted_at.is_some() {
        return Err(AppError::Conflict(
            "Restore the dashboard from the trash first.".into(),
        ));
    }
    let mut draft = version(state, me, id, to).await?;
    draft.folder_id = current.folder_id.map(FolderId);
    dashboard::validate(&mut draft).map_err(|(f, m)| AppError::field(&f, m))?;
    let json = body(&draft)?;
    let summary = format!("Reverted to version {to}");
    repo::update(
        &state.db,
        id.0,
        current.version,
        stored(&draft, &json, &summary),
        user(me)?,
    )
    .await?
    .ok_or_else(|| AppError::Conflict("The dashboard changed meanwhile; try again.".into()))?;
    let saved = row(state, id).await?;
    view(state, me, saved).await
}

/// Adds an insight as a tile at the bottom of a dashboard, or of a new one named `new_name`.
pub async fn add_insight(
    state: &AppState,
    me: &Principal,
    to: Option<DashboardId>,
    new_name: Option<String>,
    insight: InsightId,
) -> Result<DashboardId, AppError> {
    me.require(Permission::ViewInsights)?;
    let (insight_draft, deleted) = insights::draft(state, me, insight).await?;
    if deleted {
        return Err(AppError::Conflict("That insight is in the trash.".into()));
    }
    let content = TileContent::Insight {
        insight_id: insight,
        title: String::new(),
        view: None,
        links: vec![],
        click: None,
    };
    match to {
        Some(id) => {
            let r = editable_row(state, me, id).await?;
            let mut d = draft_of(&r)?;
            dashboard::append(&mut d.tiles, content);
            save(state, me, Some(id), Some(r.version), d).await?;
            Ok(id)
        }
        None => {
            let name = new_name.unwrap_or_default();
            if name.trim().is_empty() {
                return Err(AppError::field(
                    "name",
                    "Name the new dashboard, or choose one.",
                ));
            }
            let mut d = DashboardDraft {
                name,
                folder_id: insight_draft.folder_id,
                ..Default::default()
            };
            dashboard::append(&mut d.tiles, content);
            Ok(save(state, me, None, None, d).await?.id)
        }
    }
}

/// What a tile showing `insight` needs (for a tile added in the editor, before it is saved).
pub async fn insight_tile(
    state: &AppState,
    me: &Principal,
    insight: InsightId,
) -> Result<TileInfo, AppError> {
    me.require(Permission::ViewInsights)?;
    Ok(insight_info(state, me, 0, insight).await)
}

/// The choices of a dashboard filter that takes them from an insight (cascading on the
/// other filters' values).
pub async fn filter_options(
    state: &AppState,
    me: &Principal,
    id: DashboardId,
    name: String,
    values: UrlValues,
) -> Result<Vec<EnumOption>, AppError> {
    me.require(Permission::ViewInsights)?;
    let r = row(state, id).await?;
    let d = draft_of(&r)?;
    let spec = d
        .filters
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| AppError::NotFound(format!("The filter '{name}'")))?;
    insights::spec_options(state, spec, &values).await
}

#[cfg(test)]
mod tests {
    use super::markdown_html;

    #[test]
    fn markdown_is_rendered_without_scripts() {
        let html = markdown_html(
            "# Sales\n\n**Bold** <script>alert(1)</script> [ok](https://x.example/a?b=1) \
             [bad](javascript:alert(1)) [rel](/insights/2)\n\n<img src=x onerror=alert(1)>\n\n![i](data:text/html,x)",
        );
        assert!(html.contains("<h1>Sales</h1>"), "{html}");
        assert!(html.contains("<strong>Bold</strong>"));
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<img src=x"), "{html}");
        assert!(html.contains(r#"href="https://x.example/a?b=1""#));
        assert!(html.contains(r##"href="#">bad"##), "{html}");
        assert!(html.contains(r#"href="/insights/2""#));
        assert!(!html.contains("data:"), "{html}");
    }
}
