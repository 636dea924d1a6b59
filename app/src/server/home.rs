//! The home page: the first-run checklist and each user's recent and starred insights.
use crate::{
    error::AppError,
    model::{
        home::{Home, InsightLink, Step},
        insight::InsightId,
        Permission,
    },
    server::{
        auth::rbac::Principal,
        db::home::{self as repo, MarkRow},
        state::AppState,
    },
};
use chrono::Utc;

/// How many recently opened insights the home page lists.
const RECENT: i64 = 8;

pub async fn home(state: &AppState, me: &Principal) -> Result<Home, AppError> {
    me.require(Permission::ViewInsights)?;
    let Some(user) = me.user_id else {
        return Ok(Home::default());
    };
    let link = |r: MarkRow| InsightLink {
        id: InsightId(r.id),
        name: r.name,
        opened_at: r.opened_at,
    };
    let recent = repo::recent(&state.db, user.0, RECENT).await?;
    let favorites = repo::favorites(&state.db, user.0).await?;
    let steps = if me.can(Permission::EditInsights) {
        let p = repo::progress(&state.db, user.0).await?;
        let demo = repo::demo_connection(&state.db).await?;
        checklist(&p, demo, me.can(Permission::ManageConnections))
    } else {
        Vec::new()
    };
    Ok(Home {
        steps,
        recent: recent.into_iter().map(link).collect(),
        favorites: favorites.into_iter().map(link).collect(),
    })
}

/// The first steps, in the order people take them, each with the page to do it on.
fn checklist(p: &repo::Progress, demo: Option<i64>, can_connect: bool) -> Vec<Step> {
    let step = |key: &str, title: &str, hint: &str, href: String, done: bool| Step {
        key: key.into(),
        title: title.into(),
        hint: hint.into(),
        href,
        done,
    };
    let mut steps = Vec::new();
    if let Some(demo) = demo {
        steps.push(step(
            "demo",
            "Try the Demo database",
            "Run a query on the sample shop data: customers, orders, products.",
            format!("/workbench?connection={demo}"),
            p.demo_runs > 0,
        ));
    }
    if can_connect {
        steps.push(step(
            "connect",
            "Connect a database",
            "PostgreSQL, MySQL / MariaDB or SQLite; read-only unless an admin says otherwise.",
            "/connections".into(),
            p.own_connections > 0,
        ));
    }
    steps.push(step(
        "query",
        "Write a query on your data",
        "The SQL workbench completes table and column names and keeps your drafts.",
        "/workbench".into(),
        p.own_runs > 0,
    ));
    steps.push(step(
        "insight",
        "Save an insight",
        "Save a query with parameters so others can run it from a link.",
        "/workbench".into(),
        p.insights > 0,
    ));
    steps.push(step(
        "alert",
        "Set an alert",
        "From an insight's page: get a message on Slack, email or a webhook when a value crosses a line.",
        "/insights".into(),
        p.alerts > 0,
    ));
    steps
}

/// Notes that the user opened the insight (for "Recently opened").
pub async fn opened(state: &AppState, me: &Principal, insight: InsightId) -> Result<(), AppError> {
    if let Some(user) = me.user_id {
        repo::mark_opened(&state.db, user.0, insight.0, Utc::now()).await?;
    }
    Ok(())
}

/// Stars or unstars an insight the user may see.
pub async fn set_favorite(
    state: &AppState,
    me: &Principal,
    insight: InsightId,
    favorite: bool,
) -> Result<(), AppError> {
    crate::server::insights::get(state, me, insight).await?;
    let user = me.user_id.ok_or(AppError::Unauthenticated)?;
    repo::set_favorite(&state.db, user.0, insight.0, favorite).await?;
    Ok(())
}

/// Whether the user starred the insight.
pub async fn is_favorite(
    state: &AppState,
    me: &Principal,
    insight: InsightId,
) -> Result<bool, AppError> {
    match me.user_id {
        Some(user) => Ok(repo::is_favorite(&state.db, user.0, insight.0).await?),
        None => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checklist_follows_progress_and_role() {
        let none = repo::Progress::default();
        let steps = checklist(&none, Some(1), true);
        let keys: Vec<_> = steps.iter().map(|s| s.key.as_str()).collect();
        assert_eq!(keys, ["demo", "connect", "query", "insight", "alert"]);
        assert!(steps.iter().all(|s| !s.done));
        assert_eq!(steps[0].href, "/workbench?connection=1");
        // Without the Demo (deleted) and without the right to add connections.
        let keys: Vec<_> = checklist(&none, None, false)
            .into_iter()
            .map(|s| s.key)
            .collect();
        assert_eq!(keys, ["query", "insight", "alert"]);
        let some = repo::Progress {
            demo_runs: 3,
            insights: 1,
            ..Default::default()
        };
        let done: Vec<_> = checklist(&some, Some(1), true)
            .into_iter()
            .filter(|s| s.done)
            .map(|s| s.key)
            .collect();
        assert_eq!(done, ["demo", "insight"]);
    }
}
