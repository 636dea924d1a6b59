//! Repository for query runs: the durable record of every run and each user's history.
use super::{on_pool, Db};
use crate::model::{
    connection::ConnectionId,
    run::{HistoryEntry, RunId, RunState},
    UserId,
};
use chrono::{DateTime, Utc};

pub struct NewRun<'a> {
    pub id: &'a RunId,
    pub user: UserId,
    pub connection: ConnectionId,
    pub connection_name: &'a str,
    pub sql: &'a str,
    pub params: &'a [crate::server::connectors::Param],
}

pub async fn insert(db: &Db, r: NewRun<'_>) -> Result<(), sqlx::Error> {
    // Kept as the text the history shows and runs again (`$n` values are text).
    let texts: Vec<Option<String>> = r.params.iter().map(|p| p.text()).collect();
    let params = serde_json::to_string(&texts).unwrap_or_else(|_| "[]".into());
    let sql = "INSERT INTO query_runs (id, user_id, connection_id, connection_name, sql, params, state, started_at)
               VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7)";
    on_pool!(db, p => sqlx::query(sql).bind(&r.id.0).bind(r.user.0).bind(r.connection.0)
        .bind(r.connection_name).bind(r.sql).bind(&params).bind(Utc::now())
        .execute(p).await.map(|_| ()))
}

pub struct Finished<'a> {
    pub state: RunState,
    pub error: Option<&'a str>,
    pub row_count: Option<u64>,
    pub truncated: bool,
    pub elapsed_ms: u64,
}

pub async fn finish(db: &Db, id: &RunId, f: Finished<'_>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE query_runs SET state = $2, error = $3, row_count = $4, truncated = $5,
               elapsed_ms = $6, finished_at = $7 WHERE id = $1";
    on_pool!(db, p => sqlx::query(sql).bind(&id.0).bind(f.state.as_str()).bind(f.error)
        .bind(f.row_count.map(|n| n as i64)).bind(f.truncated).bind(f.elapsed_ms as i64)
        .bind(Utc::now()).execute(p).await.map(|_| ()))
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    id: String,
    connection_id: Option<i64>,
    connection_name: String,
    sql: String,
    params: String,
    state: String,
    error: Option<String>,
    row_count: Option<i64>,
    elapsed_ms: Option<i64>,
    started_at: DateTime<Utc>,
}

/// A user's newest runs, optionally filtered by text in the SQL.
pub async fn history(
    db: &Db,
    user: UserId,
    search: Option<&str>,
    limit: u32,
) -> Result<Vec<HistoryEntry>, sqlx::Error> {
    let pattern = search
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(super::contains_pattern);
    let sql = "SELECT id, connection_id, connection_name, sql, params, state, error, row_count, elapsed_ms, started_at
               FROM query_runs WHERE user_id = $1 AND ($2 IS NULL OR lower(sql) LIKE lower($2) ESCAPE '\\')
               ORDER BY started_at DESC LIMIT $3";
    let rows: Vec<HistoryRow> = on_pool!(db, p => sqlx::query_as(sql).bind(user.0).bind(pattern.as_deref())
        .bind(i64::from(limit)).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|r| HistoryEntry {
            // One run whose values do not decode does not hide the history: it is listed
            // without them, and the log names it.
            params: super::json_column::<Vec<serde_json::Value>>("run", &r.id, "params", &r.params)
                .map(|values| values.into_iter().map(value_text).collect())
                .unwrap_or_default(),
            // A state this version does not know is logged with the run's id and listed as
            // failed, like values that do not decode: the rest of the history still shows.
            state: super::word_column("run", &r.id, "state", r.state).unwrap_or(RunState::Failed),
            id: RunId(r.id),
            connection_id: r.connection_id.map(ConnectionId),
            connection_name: r.connection_name,
            sql: r.sql,
            error: r.error,
            row_count: r.row_count.map(|n| n.max(0) as u64),
            elapsed_ms: r.elapsed_ms.map(|n| n.max(0) as u64),
            started_at: r.started_at,
        })
        .collect())
}

/// A stored value as the text it ran with (runs stored before values were kept as text hold
/// typed JSON: numbers and booleans read as their text).
fn value_text(v: serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// Runs left queued or running by a process that stopped: they ended with it.
pub async fn fail_unfinished(db: &Db) -> Result<u64, sqlx::Error> {
    let sql = "UPDATE query_runs SET state = 'failed', error = 'Sightline restarted while this query ran.', finished_at = $1
               WHERE state IN ('queued', 'running')";
    on_pool!(db, p => sqlx::query(sql).bind(Utc::now()).execute(p).await.map(|r| r.rows_affected()))
}

#[cfg(test)]
mod tests {
    use super::value_text;
    use serde_json::json;

    #[test]
    fn stored_values_read_as_the_text_they_ran_with() {
        // Runs stored before values were kept as text hold typed JSON.
        let old: Vec<Option<String>> = [json!(21), json!("O'Brien"), json!(null), json!(true)]
            .into_iter()
            .map(value_text)
            .collect();
        assert_eq!(
            old,
            [
                Some("21".to_string()),
                Some("O'Brien".to_string()),
                None,
                Some("true".to_string())
            ]
        );
    }
}
