//! Repository for the audit log: who did what, when, from where.
use super::{on_pool, Db};
use crate::model::{AuditEvent, UserId};
use chrono::{DateTime, Utc};

#[derive(sqlx::FromRow)]
struct AuditRow {
    at: DateTime<Utc>,
    action: String,
    ip: Option<String>,
    detail: String,
}

/// Appends one audit row.
pub async fn record(
    db: &Db,
    user: Option<UserId>,
    action: &str,
    ip: Option<&str>,
    detail: &str,
) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO audit_log (at, user_id, action, ip, detail) VALUES ($1, $2, $3, $4, $5)";
    on_pool!(db, p => sqlx::query(sql).bind(Utc::now()).bind(user.map(|u| u.0)).bind(action)
        .bind(ip).bind(detail).execute(p).await.map(|_| ()))
}

/// The newest events of one user with one of the given actions.
pub async fn recent_for_user(
    db: &Db,
    user: UserId,
    actions: &[&str],
    limit: i64,
) -> Result<Vec<AuditEvent>, sqlx::Error> {
    // Actions are fixed names from our code, bound as parameters like everything else.
    let placeholders: Vec<String> = (0..actions.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT at, action, ip, detail FROM audit_log WHERE user_id = $1 AND action IN ({}) \
         ORDER BY at DESC, id DESC LIMIT $2",
        placeholders.join(", ")
    );
    let rows: Vec<AuditRow> = on_pool!(db, p => {
        let mut q = sqlx::query_as::<_, AuditRow>(&sql).bind(user.0).bind(limit);
        for a in actions {
            q = q.bind(*a);
        }
        q.fetch_all(p).await
    })?;
    Ok(rows
        .into_iter()
        .map(|r| AuditEvent {
            at: r.at,
            action: r.action,
            ip: r.ip,
            detail: r.detail,
        })
        .collect())
}
