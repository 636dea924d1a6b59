//! Result snapshots: each run's rows go to a SQLite file in the data directory as they arrive,
//! so the browser can page and sort a result of any size while the server holds only a batch
//! in memory. A writer thread commits batches; readers see every committed row.
use crate::model::{
    query::{Column, Value},
    run::{Page, Sort},
};
use rusqlite::{Connection, OpenFlags};
use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
};
use tokio::sync::mpsc;

/// A sort key: how a cell orders (numbers as numbers, text and ISO dates as text).
enum Key {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

fn key(v: &Value) -> Key {
    match v {
        Value::Null => Key::Null,
        Value::Bool(b) => Key::Int(i64::from(*b)),
        Value::Int(i) => Key::Int(*i),
        Value::UInt(u) => i64::try_from(*u).map_or(Key::Real(*u as f64), Key::Int),
        Value::Float(f) if f.is_nan() => Key::Null,
        Value::Float(f) => Key::Real(*f),
        Value::Decimal(d) => d.parse::<f64>().map_or(Key::Null, Key::Real),
        other => other.display().map_or(Key::Null, Key::Text),
    }
}

impl rusqlite::ToSql for Key {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, Value as V, ValueRef};
        Ok(match self {
            Key::Null => ToSqlOutput::Owned(V::Null),
            Key::Int(i) => ToSqlOutput::Owned(V::Integer(*i)),
            Key::Real(f) => ToSqlOutput::Owned(V::Real(*f)),
            Key::Text(t) => ToSqlOutput::Borrowed(ValueRef::Text(t.as_bytes())),
        })
    }
}

enum Msg {
    Rows(Vec<Vec<Value>>),
}

/// The shared state of one snapshot.
pub struct Snapshot {
    path: PathBuf,
    columns: Mutex<Vec<Column>>,
    /// Rows committed and readable.
    rows: AtomicU64,
    /// The writer finished (all rows are in).
    complete: AtomicBool,
    failed: Mutex<Option<String>>,
    reader: Mutex<Option<Connection>>,
}

impl Snapshot {
    pub fn columns(&self) -> Vec<Column> {
        self.columns.lock().map(|c| c.clone()).unwrap_or_default()
    }
    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::Acquire)
    }
    pub fn complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads `limit` rows from `offset`, in the snapshot's order or sorted by one column.
    /// Blocking: call it from `spawn_blocking`.
    pub fn page(&self, offset: u64, limit: u32, sort: Option<Sort>) -> Result<Page, String> {
        if let Some(e) = self.failed.lock().ok().and_then(|f| f.clone()) {
            return Err(e);
        }
        let ncols = self.columns.lock().map(|c| c.len()).unwrap_or(0);
        let available = self.rows();
        if ncols == 0 || available == 0 || offset >= available {
            return Ok(Page {
                offset,
                rows: vec![],
            });
        }
        let mut guard = self.reader.lock().map_err(|_| "snapshot reader poisoned")?;
        if guard.is_none() {
            let c = Connection::open_with_flags(
                &self.path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| e.to_string())?;
            c.busy_timeout(std::time::Duration::from_secs(5))
                .map_err(|e| e.to_string())?;
            *guard = Some(c);
        }
        let conn = guard.as_ref().ok_or("snapshot reader missing")?;
        let limit = u64::from(limit).min(available - offset);
        let text: Vec<String> = match sort {
            Some(s) if (s.column as usize) < ncols => {
                let k = s.column;
                let dir = if s.descending { "DESC" } else { "ASC" };
                if self.complete() {
                    // Sorting a finished result once builds an index; pages then read from it.
                    conn.execute_batch(&format!(
                        "CREATE INDEX IF NOT EXISTS ix_k{k} ON r (k{k}, i)"
                    ))
                    .map_err(|e| e.to_string())?;
                }
                // `k` is an index below the column count, not user text.
                let sql = format!(
                    "SELECT v FROM r WHERE i <= ?1 ORDER BY k{k} {dir}, i {dir} LIMIT ?2 OFFSET ?3"
                );
                query_text(conn, &sql, available, limit, offset)?
            }
            _ => query_text(
                conn,
                "SELECT v FROM r WHERE i > ?3 AND i <= ?1 ORDER BY i LIMIT ?2",
                available,
                limit,
                offset,
            )?,
        };
        let rows = text
            .iter()
            .map(|t| serde_json::from_str::<Vec<Option<String>>>(t).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { offset, rows })
    }
}

/// What the result cache keeps beside a snapshot file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Cached {
    pub columns: Vec<Column>,
    pub rows: u64,
    pub truncated: bool,
    pub truncated_by_size: bool,
    pub elapsed_ms: u64,
    /// When the rows were read from the database.
    pub computed_at: chrono::DateTime<chrono::Utc>,
}

impl Snapshot {
    /// A finished snapshot from a file another run wrote (the cache store's copy), written
    /// to `path`. Blocking.
    pub fn open_complete(
        path: PathBuf,
        file: Vec<u8>,
        cached: Cached,
    ) -> Result<Arc<Self>, String> {
        remove_files(&path);
        if let Err(e) = std::fs::write(&path, &file) {
            remove_files(&path);
            return Err(format!("could not write a cached result: {e}"));
        }
        let snapshot = Arc::new(Snapshot {
            path,
            columns: Mutex::new(cached.columns),
            rows: AtomicU64::new(cached.rows),
            complete: AtomicBool::new(true),
            failed: Mutex::new(None),
            reader: Mutex::new(None),
        });
        // Refuse a file that is not the snapshot it claims to be before anyone pages it.
        let probe = Connection::open_with_flags(&snapshot.path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.query_row("SELECT COUNT(*) FROM r", [], |r| r.get::<_, i64>(0)))
            .map_err(|e| format!("a cached result does not open: {e}"))?;
        if probe as u64 != cached.rows {
            return Err(format!(
                "a cached result has {probe} rows, not {}",
                cached.rows
            ));
        }
        Ok(snapshot)
    }

    /// Bytes the snapshot takes on disk (its file and write-ahead log).
    pub fn file_bytes(&self) -> u64 {
        let mut wal = self.path.as_os_str().to_owned();
        wal.push("-wal");
        [self.path.clone(), PathBuf::from(wal)]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    /// The finished snapshot as one self-contained SQLite file (for the cache store).
    /// Blocking.
    pub fn to_file(&self) -> Result<Vec<u8>, String> {
        if !self.complete() {
            return Err("the result is not complete".into());
        }
        let mut copy = self.path.as_os_str().to_owned();
        copy.push(".copy");
        let copy = PathBuf::from(copy);
        remove_files(&copy);
        let out = Connection::open_with_flags(&self.path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .and_then(|c| c.execute("VACUUM INTO ?1", [copy.to_string_lossy()]))
            .map_err(|e| e.to_string())
            .and_then(|_| std::fs::read(&copy).map_err(|e| e.to_string()));
        remove_files(&copy);
        out
    }
}

fn query_text(
    conn: &Connection,
    sql: &str,
    available: u64,
    limit: u64,
    offset: u64,
) -> Result<Vec<String>, String> {
    let mut st = conn.prepare_cached(sql).map_err(|e| e.to_string())?;
    let rows = st
        .query_map(
            rusqlite::params![available as i64, limit as i64, offset as i64],
            |r| r.get::<_, String>(0),
        )
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        if let Ok(mut r) = self.reader.lock() {
            r.take();
        }
        remove_files(&self.path);
    }
}

/// Deletes a snapshot file and its WAL companions.
pub fn remove_files(path: &Path) {
    let _ = std::fs::remove_file(path);
    for ext in ["-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(ext);
        let _ = std::fs::remove_file(PathBuf::from(p));
    }
}

/// Feeds a snapshot: buffers rows and hands full batches to the writer thread.
pub struct SnapshotSink {
    snapshot: Arc<Snapshot>,
    batch: Vec<Vec<Value>>,
    tx: Option<mpsc::Sender<Msg>>,
    writer: Option<std::thread::JoinHandle<()>>,
    path: PathBuf,
    /// The most bytes of cell text the snapshot keeps.
    max_bytes: u64,
    /// Bytes of cell text kept so far.
    bytes: u64,
    /// A row did not fit under `max_bytes`: it and everything after it were dropped.
    full: bool,
}

/// Bytes a row takes in a snapshot (its cells as text, as stored and as sent to the
/// browser), counted without building the text where the length is known.
pub fn row_bytes(row: &[Value]) -> u64 {
    row.iter()
        .map(|v| {
            // Quotes and a comma per cell in the stored JSON.
            3 + match v {
                Value::Null => 1,
                Value::Bool(_) | Value::Int(_) | Value::UInt(_) | Value::Float(_) => 24,
                Value::Decimal(t)
                | Value::Text(t)
                | Value::Date(t)
                | Value::Time(t)
                | Value::Timestamp(t)
                | Value::TimestampTz(t)
                | Value::Interval(t)
                | Value::Uuid(t) => t.len() as u64,
                Value::Bytes(b) => 2 + 2 * b.len() as u64,
                other => other.text().map_or(0, |t| t.len() as u64),
            }
        })
        .sum()
}

impl SnapshotSink {
    /// Creates the snapshot file at `path` (its directory must exist), keeping at most
    /// `max_bytes` of cell text: the row that would pass it ends the result, which is then
    /// marked truncated by size.
    pub fn create(path: PathBuf, max_bytes: u64) -> (Self, Arc<Snapshot>) {
        let snapshot = Arc::new(Snapshot {
            path: path.clone(),
            columns: Mutex::new(vec![]),
            rows: AtomicU64::new(0),
            complete: AtomicBool::new(false),
            failed: Mutex::new(None),
            reader: Mutex::new(None),
        });
        (
            SnapshotSink {
                snapshot: snapshot.clone(),
                batch: Vec::with_capacity(256),
                tx: None,
                writer: None,
                path,
                max_bytes,
                bytes: 0,
                full: false,
            },
            snapshot,
        )
    }

    /// True when the byte cap stopped the result.
    pub fn truncated_by_size(&self) -> bool {
        self.full
    }

    /// Waits for the writer to commit everything and marks the snapshot complete.
    pub async fn close(mut self) {
        use crate::server::connectors::RowSink;
        let _ = self.flush().await;
        self.tx.take();
        if let Some(w) = self.writer.take() {
            let _ = tokio::task::spawn_blocking(move || w.join()).await;
        }
        self.snapshot.complete.store(true, Ordering::Release);
    }
}

fn open_writer(path: &Path, ncols: usize) -> rusqlite::Result<Connection> {
    remove_files(path);
    let c = Connection::open(path)?;
    c.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE;",
    )?;
    let keys: String = (0..ncols).map(|k| format!(", k{k}")).collect();
    c.execute_batch(&format!(
        "CREATE TABLE r (i INTEGER PRIMARY KEY, v TEXT NOT NULL{keys})"
    ))?;
    Ok(c)
}

fn write_batch(
    conn: &mut Connection,
    ncols: usize,
    first: u64,
    rows: &[Vec<Value>],
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let marks: String = (0..ncols).map(|k| format!(", ?{}", k + 3)).collect();
        let mut st = tx.prepare_cached(&format!("INSERT INTO r VALUES (?1, ?2{marks})"))?;
        for (n, row) in rows.iter().enumerate() {
            let text: Vec<Option<String>> = row.iter().map(Value::display).collect();
            let v = serde_json::to_string(&text).unwrap_or_else(|_| "[]".into());
            let i = (first + n as u64 + 1) as i64;
            st.raw_bind_parameter(1, i)?;
            st.raw_bind_parameter(2, &v)?;
            for k in 0..ncols {
                match row.get(k) {
                    Some(cell) => st.raw_bind_parameter(k + 3, key(cell))?,
                    None => st.raw_bind_parameter(k + 3, Key::Null)?,
                }
            }
            st.raw_execute()?;
        }
    }
    tx.commit()
}

impl crate::server::connectors::RowSink for SnapshotSink {
    fn columns(
        &mut self,
        columns: &[Column],
    ) -> Result<(), crate::server::connectors::ConnectorError> {
        use crate::server::connectors::ConnectorError;
        if let Ok(mut c) = self.snapshot.columns.lock() {
            *c = columns.to_vec();
        }
        let ncols = columns.len();
        let mut conn = open_writer(&self.path, ncols)
            .map_err(|e| ConnectorError::Output(format!("could not store the result: {e}")))?;
        let (tx, mut rx) = mpsc::channel::<Msg>(4);
        let snapshot = self.snapshot.clone();
        let writer = std::thread::Builder::new()
            .name("snapshot-writer".into())
            .spawn(move || {
                while let Some(Msg::Rows(rows)) = rx.blocking_recv() {
                    let first = snapshot.rows.load(Ordering::Acquire);
                    if let Err(e) = write_batch(&mut conn, ncols, first, &rows) {
                        if let Ok(mut f) = snapshot.failed.lock() {
                            *f = Some(format!("could not store the result: {e}"));
                        }
                        return;
                    }
                    snapshot.rows.fetch_add(rows.len() as u64, Ordering::AcqRel);
                }
            })
            .map_err(|e| {
                ConnectorError::Output(format!("could not start the result writer: {e}"))
            })?;
        self.tx = Some(tx);
        self.writer = Some(writer);
        Ok(())
    }

    fn row(&mut self, row: Vec<Value>) -> Result<(), crate::server::connectors::ConnectorError> {
        if self.full {
            return Ok(());
        }
        let size = row_bytes(&row);
        if self.bytes.saturating_add(size) > self.max_bytes {
            self.full = true;
            return Ok(());
        }
        self.bytes += size;
        self.batch.push(row);
        Ok(())
    }

    fn full(&self) -> bool {
        self.full
    }

    fn flush(
        &mut self,
    ) -> futures::future::BoxFuture<'_, Result<(), crate::server::connectors::ConnectorError>> {
        Box::pin(async move {
            use crate::server::connectors::ConnectorError;
            if self.batch.is_empty() {
                return Ok(());
            }
            let rows = std::mem::replace(&mut self.batch, Vec::with_capacity(256));
            let Some(tx) = &self.tx else { return Ok(()) };
            if tx.send(Msg::Rows(rows)).await.is_err() {
                let why = self
                    .snapshot
                    .failed
                    .lock()
                    .ok()
                    .and_then(|f| f.clone())
                    .unwrap_or_else(|| "the result writer stopped".into());
                return Err(ConnectorError::Output(why));
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::connectors::RowSink;

    #[tokio::test]
    async fn rows_page_and_sort_from_disk() {
        let path =
            std::env::temp_dir().join(format!("sightline-snap-{}.sqlite", uuid::Uuid::new_v4()));
        let (mut sink, snap) = SnapshotSink::create(path.clone(), u64::MAX);
        sink.columns(&[
            Column {
                name: "n".into(),
                type_name: "INT8".into(),
            },
            Column {
                name: "t".into(),
                type_name: "TEXT".into(),
            },
        ])
        .unwrap();
        for i in 0..1000i64 {
            let t = if i % 7 == 0 {
                Value::Null
            } else {
                Value::Text(format!("row {i:04}"))
            };
            sink.row(vec![Value::Int(i), t]).unwrap();
            if i % 256 == 255 {
                sink.flush().await.unwrap();
            }
        }
        sink.close().await;
        assert!(snap.complete());
        assert_eq!(snap.rows(), 1000);
        let first = snap.page(0, 3, None).unwrap();
        assert_eq!(first.rows[0], vec![Some("0".to_string()), None]);
        assert_eq!(
            first.rows[1],
            vec![Some("1".to_string()), Some("row 0001".to_string())]
        );
        let tail = snap.page(998, 10, None).unwrap();
        assert_eq!(tail.rows.len(), 2);
        assert_eq!(tail.rows[1][0].as_deref(), Some("999"));
        // Numbers sort as numbers, not text ("999" before "99" descending).
        let desc = snap
            .page(
                0,
                2,
                Some(Sort {
                    column: 0,
                    descending: true,
                }),
            )
            .unwrap();
        assert_eq!(desc.rows[0][0].as_deref(), Some("999"));
        assert_eq!(desc.rows[1][0].as_deref(), Some("998"));
        let by_text = snap
            .page(
                0,
                1,
                Some(Sort {
                    column: 1,
                    descending: true,
                }),
            )
            .unwrap();
        assert_eq!(by_text.rows[0][1].as_deref(), Some("row 0999"));
        assert!(snap.page(5000, 10, None).unwrap().rows.is_empty());
        drop(snap);
        assert!(
            !path.exists(),
            "the snapshot file goes with its last reader"
        );
    }
}
