//! SQLite files, opened read-only with `query_only`, an authorizer that allows reading only
//! (no ATTACH, no writes, no PRAGMA assignments, no load_extension), and no attached
//! databases. A progress handler enforces the time limit.
use super::{map_sqlx, ConnectorError, Param, PoolOptions, RowSink, RunLimits, RunSummary};
use crate::model::query::{Column, Value};
use libsqlite3_sys as ffi;
use sqlx::{
    sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions, SqliteRow},
    Row, TypeInfo, ValueRef,
};
use std::{
    ffi::{c_char, c_int, c_void, CStr},
    time::Instant,
};

pub struct Lite {
    pub(super) pool: SqlitePool,
    path: String,
    pub(super) cap: u32,
}

impl Lite {
    pub fn open(path: &str, pool: &PoolOptions) -> Result<Self, ConnectorError> {
        let max = pool.max_connections;
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false)
            .pragma("query_only", "ON")
            .busy_timeout(std::time::Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(pool.max_connections)
            .acquire_timeout(pool.acquire_timeout)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    let mut h = conn.lock_handle().await?;
                    let db = h.as_raw_handle().as_ptr();
                    // SAFETY: `db` is the live handle of this connection, locked for us; both
                    // calls only set per-connection state.
                    unsafe {
                        ffi::sqlite3_limit(db, ffi::SQLITE_LIMIT_ATTACHED, 0);
                        ffi::sqlite3_set_authorizer(
                            db,
                            Some(read_only_authorizer),
                            std::ptr::null_mut(),
                        );
                    }
                    Ok(())
                })
            })
            // SQLite sessions cannot carry a run's state to the next borrower: the authorizer
            // refuses temporary tables, views and triggers, PRAGMA assignments and ATTACH,
            // and nothing can be written, so last_insert_rowid() and changes() stay 0. What
            // a run itself sets on the handle, the progress handler with its deadline, is
            // removed here on every path (a run that failed early included).
            .after_release(|conn, _| {
                Box::pin(async move {
                    conn.lock_handle().await?.remove_progress_handler();
                    Ok(true)
                })
            })
            .connect_lazy_with(opts);
        Ok(Lite {
            pool,
            path: path.to_string(),
            cap: max,
        })
    }

    pub async fn test(&self) -> Result<String, ConnectorError> {
        if !std::path::Path::new(&self.path).is_file() {
            return Err(ConnectorError::Connect(
                "the SQLite file does not exist".into(),
            ));
        }
        let v: String = sqlx::query_scalar("SELECT sqlite_version()")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| map_sqlx(e, Default::default(), 0))?;
        Ok(format!("SQLite {v}"))
    }

    pub async fn run(
        &self,
        sql: &str,
        params: &[Param],
        limits: &RunLimits,
        sink: &mut dyn RowSink,
    ) -> Result<RunSummary, ConnectorError> {
        if limits.writable {
            return Err(ConnectorError::ReadOnly {
                message: "SQLite files are always opened read-only".into(),
                sqlstate: None,
            });
        }
        let start = Instant::now();
        let err = |e| map_sqlx(e, limits.timeout, 0);
        let mut conn = super::acquire(&self.pool, self.cap, limits.timeout).await?;
        // Interrupts the statement once the deadline has passed or the run is cancelled.
        let deadline = start + limits.timeout;
        let cancel = limits.cancel.clone();
        conn.lock_handle()
            .await
            .map_err(err)?
            .set_progress_handler(10_000, move || {
                Instant::now() < deadline && !cancel.is_cancelled()
            });

        let args = super::text_args::<sqlx::Sqlite>(params, true)?;
        let described = sqlx::Executor::describe(&mut *conn, sql)
            .await
            .map_err(err)?;
        let columns: Vec<Column> = super::column_meta(described.columns());
        let rows = sqlx::query_with(sql, args)
            .persistent(false)
            .fetch(&mut *conn);
        let timed_out = |e| {
            if limits.cancel.is_cancelled() {
                ConnectorError::Cancelled
            } else if Instant::now() >= deadline {
                ConnectorError::Timeout(limits.timeout.as_secs())
            } else {
                err(e)
            }
        };
        // The progress handler interrupts the statement itself; nothing else to send.
        let result = super::drain(
            rows,
            columns,
            sink,
            limits,
            start,
            decode_row,
            timed_out,
            Box::pin(async {}),
        )
        .await;
        if let Ok(mut h) = conn.lock_handle().await {
            h.remove_progress_handler();
        }
        let result = result.map_err(|s| match s {
            super::Stop::Error(e) | super::Stop::Abandoned(e) => e,
        });
        let (count, truncated) = result?;
        Ok(RunSummary {
            row_count: count,
            truncated,
            elapsed: start.elapsed(),
        })
    }
}

/// Allows reads and read-only functions and pragmas; denies everything else.
extern "C" fn read_only_authorizer(
    _: *mut c_void,
    action: c_int,
    a: *const c_char,
    b: *const c_char,
    _db: *const c_char,
    _trigger: *const c_char,
) -> c_int {
    let text = |p: *const c_char| {
        // SAFETY: SQLite passes NULL or a NUL-terminated string valid for this call.
        (!p.is_null()).then(|| {
            unsafe { CStr::from_ptr(p) }
                .to_string_lossy()
                .to_ascii_lowercase()
        })
    };
    let allow = match action {
        ffi::SQLITE_SELECT | ffi::SQLITE_READ | ffi::SQLITE_RECURSIVE => true,
        ffi::SQLITE_FUNCTION => !matches!(
            text(b).as_deref(),
            Some("load_extension" | "readfile" | "writefile" | "edit" | "fts3_tokenizer")
        ),
        ffi::SQLITE_PRAGMA => match text(a).as_deref() {
            // Introspection, also as table-valued functions (`pragma_table_info('t')`, where
            // the argument is the table name).
            Some(
                "table_info" | "table_xinfo" | "table_list" | "index_list" | "index_info"
                | "index_xinfo" | "foreign_key_list" | "collation_list" | "function_list"
                | "pragma_list",
            ) => true,
            // Reading query_only is fine; setting it is not.
            Some("query_only") => b.is_null(),
            _ => false,
        },
        _ => false,
    };
    if allow {
        ffi::SQLITE_OK
    } else {
        ffi::SQLITE_DENY
    }
}

fn decode_row(row: &SqliteRow) -> Vec<Value> {
    (0..row.columns().len())
        .map(|i| {
            let Ok(raw) = row.try_get_raw(i) else {
                return Value::Null;
            };
            if raw.is_null() {
                return Value::Null;
            }
            // SQLite types values, not columns: map the value's storage class.
            let class = raw.type_info().name().to_string();
            let v = match class.as_str() {
                "INTEGER" => row.try_get::<i64, _>(i).map(Value::Int),
                "REAL" => row.try_get::<f64, _>(i).map(Value::Float),
                "BLOB" => row.try_get::<Vec<u8>, _>(i).map(Value::Bytes),
                _ => row.try_get::<String, _>(i).map(Value::Text),
            };
            v.unwrap_or(Value::Null)
        })
        .collect()
}
