//! The import services: an upload stored and previewed, an import started and followed, and
//! the Uploads connection made on first use.
use super::{
    human_size,
    load::{failed, load, Plan},
    preview::read_preview,
    read::{check_zip, clean_file_name, extension, resolve_options},
    Job, Upload, CSV_EXTENSIONS, EXCEL_EXTENSIONS,
};
use crate::{
    error::{internal, AppError},
    model::{
        connection::{ConnectionConfig, ConnectionId},
        import::{
            column_name_problem, table_name_problem, ColumnChoice, FileKind, ImportId,
            ImportPreview, ImportRequest, ImportState, ImportStatus, ReadOptions, UploadId,
        },
        Permission,
    },
    server::{
        connections::UPLOADS,
        db::{audit, connections as repo},
        AppState, Principal,
    },
};
use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

/// Why an upload was refused: too large (413) or any other problem.
#[derive(Debug)]
pub enum UploadError {
    TooLarge { limit_bytes: u64 },
    Refused(AppError),
}

impl UploadError {
    pub fn status(&self) -> u16 {
        match self {
            UploadError::TooLarge { .. } => 413,
            UploadError::Refused(e) => e.status(),
        }
    }

    /// The error as the browser reads it.
    pub fn app_error(&self) -> AppError {
        match self {
            UploadError::TooLarge { limit_bytes } => AppError::BadRequest(format!(
                "The file is larger than the upload limit of {} (SIGHTLINE_MAX_UPLOAD_MB).",
                human_size(*limit_bytes)
            )),
            UploadError::Refused(e) => e.clone(),
        }
    }
}

impl From<AppError> for UploadError {
    fn from(e: AppError) -> Self {
        UploadError::Refused(e)
    }
}

/// Stores an uploaded file (streamed, refused once it passes the size limit) and previews
/// it. `declared_len` is the request's Content-Length, to refuse a large file before reading.
pub async fn upload<S, B, E>(
    state: &AppState,
    me: &Principal,
    file_name: &str,
    declared_len: Option<u64>,
    mut body: S,
) -> Result<ImportPreview, UploadError>
where
    S: futures::Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    me.require(Permission::EditInsights)?;
    let imports = &state.imports;
    imports.expire();
    let limit = state.settings.max_upload_bytes;
    if declared_len.is_some_and(|n| n > limit) {
        return Err(UploadError::TooLarge { limit_bytes: limit });
    }
    let file_name = clean_file_name(file_name);
    let ext = extension(&file_name);
    if !ext.is_empty()
        && !CSV_EXTENSIONS.contains(&ext.as_str())
        && !EXCEL_EXTENSIONS.contains(&ext.as_str())
    {
        return Err(AppError::field(
            "file",
            "Upload a CSV file (.csv, .tsv, .txt) or an Excel workbook (.xlsx, .xlsm, .xlsb).",
        )
        .into());
    }
    std::fs::create_dir_all(&imports.dir).map_err(internal)?;
    let id = UploadId(uuid::Uuid::new_v4().to_string());
    let tmp = imports.dir.join(format!("{}.part", id.0));
    let received = match receive(&mut body, &tmp, limit).await {
        Ok((0, _)) => Err(AppError::field("file", "The file is empty.").into()),
        Ok((size, head)) => file_kind(&head, &ext)
            .map(|(kind, kind_ext)| (size, head, kind, kind_ext))
            .map_err(UploadError::from),
        Err(e) => Err(e),
    };
    let (size, head, kind, kind_ext) = match received {
        Ok(r) => r,
        Err(e) => {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
    };
    let path = imports.dir.join(format!("{}.{kind_ext}", id.0));
    tokio::fs::rename(&tmp, &path).await.map_err(internal)?;
    // A workbook's parts are checked before anything unpacks them.
    if head.starts_with(b"PK\x03\x04") {
        let (p, max) = (path.clone(), state.settings.max_import_unpacked_bytes);
        let checked = tokio::task::spawn_blocking(move || check_zip(&p, max))
            .await
            .map_err(internal)
            .and_then(|r| r);
        if let Err(e) = checked {
            let _ = tokio::fs::remove_file(&path).await;
            return Err(e.into());
        }
    }
    let upload = Arc::new(Upload {
        id: id.clone(),
        owner: me.user_id,
        file_name,
        kind,
        path,
        size,
        max_cells: state.settings.max_import_cells,
        touched: Mutex::new(Instant::now()),
        busy: AtomicBool::new(false),
        shape: Mutex::new(None),
    });
    imports.add_upload(upload.clone());
    match preview_of(upload, ReadOptions::default()).await {
        Ok(p) => Ok(p),
        Err(e) => {
            imports.forget_upload(&id);
            Err(e.into())
        }
    }
}

/// Streams the body into `tmp`, refused once it passes `limit` bytes; returns its size and
/// first bytes (for telling a workbook from text).
async fn receive<S, B, E>(
    body: &mut S,
    tmp: &Path,
    limit: u64,
) -> Result<(u64, Vec<u8>), UploadError>
where
    S: futures::Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;
    let mut file = tokio::fs::File::create(tmp).await.map_err(internal)?;
    let mut size: u64 = 0;
    let mut head = Vec::with_capacity(8);
    while let Some(chunk) = body.next().await {
        let chunk =
            chunk.map_err(|e| AppError::BadRequest(format!("The upload was interrupted: {e}")))?;
        let bytes = chunk.as_ref();
        size += bytes.len() as u64;
        if size > limit {
            return Err(UploadError::TooLarge { limit_bytes: limit });
        }
        if head.len() < 8 {
            head.extend(bytes.iter().take(8 - head.len()));
        }
        file.write_all(bytes).await.map_err(internal)?;
    }
    file.flush().await.map_err(internal)?;
    Ok((size, head))
}

/// What an upload is, from its first bytes (workbooks are zip or OLE files, whatever their
/// name says) and its extension: the kind and the extension it is kept under.
///
/// calamine reads .xls and .ods workbooks whole when it opens them, allocating what their
/// records declare (an .xls DIMENSIONS record, an .ods repeat count) before anything can be
/// checked: a small crafted file becomes gigabytes. Those formats are refused.
fn file_kind(head: &[u8], ext: &str) -> Result<(FileKind, String), AppError> {
    let kind_ext = if head.starts_with(b"PK\x03\x04") {
        if EXCEL_EXTENSIONS.contains(&ext) {
            ext.to_string()
        } else {
            "xlsx".into()
        }
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        "xls".into()
    } else if EXCEL_EXTENSIONS.contains(&ext) {
        return Err(AppError::field(
            "file",
            "This file is not an Excel workbook.",
        ));
    } else {
        "csv".into()
    };
    if kind_ext == "xls" || kind_ext == "ods" {
        return Err(AppError::field(
            "file",
            format!(
                "Sightline does not read .{kind_ext} files, which are read whole. Open the file \
                 in Excel or LibreOffice, save it as .xlsx (or CSV), and upload that."
            ),
        ));
    }
    let kind = if kind_ext == "csv" {
        FileKind::Csv
    } else {
        FileKind::Excel
    };
    Ok((kind, kind_ext))
}

/// The preview of an upload read with other options (another sheet, delimiter or header).
pub async fn preview(
    state: &AppState,
    me: &Principal,
    id: UploadId,
    options: ReadOptions,
) -> Result<ImportPreview, AppError> {
    me.require(Permission::EditInsights)?;
    let upload = state.imports.upload(me, &id)?;
    preview_of(upload, options).await
}

async fn preview_of(upload: Arc<Upload>, options: ReadOptions) -> Result<ImportPreview, AppError> {
    tokio::task::spawn_blocking(move || read_preview(&upload, &options))
        .await
        .map_err(internal)?
}

/// Starts importing an upload into a new table of the Uploads connection. Answers at once;
/// follow the import with [`status`].
pub async fn start(
    state: &AppState,
    me: &Principal,
    req: ImportRequest,
) -> Result<ImportStatus, AppError> {
    me.require(Permission::EditInsights)?;
    let upload = state.imports.upload(me, &req.upload_id)?;
    let table = req.table.trim().to_string();
    if let Some(problem) = table_name_problem(&table) {
        return Err(AppError::field("table", problem));
    }
    // The file's shape with these options: from the preview the user saw, or read now.
    let delimiter = resolve_options(&upload, &req.options)?.delimiter;
    let cached = || {
        upload
            .shape
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .filter(|s| s.matches(&req.options, delimiter))
    };
    let shape = match cached() {
        Some(s) => s,
        None => {
            preview_of(upload.clone(), req.options.clone()).await?;
            cached().ok_or_else(|| internal("a preview left no shape"))?
        }
    };
    check_columns(&req.columns, shape.columns)?;
    let (connection_id, db_path) = ensure_uploads(state).await?;
    {
        let (path, name) = (db_path.clone(), table.clone());
        let exists = tokio::task::spawn_blocking(move || table_exists(&path, &name))
            .await
            .map_err(internal)?
            .map_err(internal)?;
        if exists && !req.replace {
            return Err(AppError::field(
                "table",
                format!("A table named {table} exists already in Uploads: choose another name, or replace it."),
            ));
        }
    }
    if upload.busy.swap(true, Ordering::SeqCst) {
        return Err(AppError::Conflict(
            "This file is being imported already.".into(),
        ));
    }
    let job = Arc::new(Job {
        id: ImportId(uuid::Uuid::new_v4().to_string()),
        owner: me.user_id,
        table: table.clone(),
        connection_id,
        started: Instant::now(),
        rows_done: AtomicU64::new(0),
        rows_total: shape.rows,
        outcome: Mutex::new(None),
    });
    if let Ok(mut jobs) = state.imports.jobs.lock() {
        jobs.insert(job.id.clone(), job.clone());
    }
    let plan = Plan {
        resolved: shape.resolved,
        columns: req.columns,
        table,
        replace: req.replace,
        db_path,
    };
    let view = job.view();
    let state = state.clone();
    let user = me.user_id;
    tokio::spawn(async move {
        let writer = state.imports.writer.clone();
        let (j, u) = (job.clone(), upload.clone());
        let result = tokio::task::spawn_blocking(move || load(&j, &u, &plan, &writer)).await;
        let mut outcome = match result {
            Ok(o) => o,
            Err(e) => failed(internal(e).to_string()),
        };
        outcome.elapsed = job.started.elapsed();
        upload.busy.store(false, Ordering::SeqCst);
        if outcome.state == ImportState::Done {
            state.imports.forget_upload(&upload.id);
            let detail = format!(
                "{} ({} rows) from {}",
                job.table, outcome.rows, upload.file_name
            );
            if let Err(e) = audit::record(&state.db, user, "import", None, &detail).await {
                tracing::warn!(error = %e, "could not record the import in the audit log");
            }
            if let Err(e) = refresh_readers(&state, job.connection_id).await {
                tracing::warn!(error = %e, "could not refresh the Uploads connection");
            }
        }
        if let Ok(mut o) = job.outcome.lock() {
            *o = Some(outcome);
        }
    });
    Ok(view)
}

/// Where an import stands; waits up to `wait_ms` (at most 5 s) for it to finish.
pub async fn status(
    state: &AppState,
    me: &Principal,
    id: &ImportId,
    wait_ms: u32,
) -> Result<ImportStatus, AppError> {
    me.require(Permission::EditInsights)?;
    state.imports.expire();
    let job = state
        .imports
        .jobs
        .lock()
        .ok()
        .and_then(|j| j.get(id).cloned())
        .filter(|j| j.owner == me.user_id)
        .ok_or_else(|| AppError::NotFound("That import".into()))?;
    let deadline = Instant::now() + Duration::from_millis(u64::from(wait_ms.min(5000)));
    while !job.finished() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(job.view())
}

/// Creates the built-in "Uploads" connection and its database file when missing. Returns the
/// connection and the file imports write to.
pub async fn ensure_uploads(state: &AppState) -> Result<(ConnectionId, PathBuf), AppError> {
    let _once = state.imports.ensure.lock().await;
    let dir = state.settings.data_dir.join("uploads");
    std::fs::create_dir_all(&dir).map_err(internal)?;
    let path = dir.join("uploads.sqlite");
    if !path.is_file() {
        let p = path.clone();
        tokio::task::spawn_blocking(move || create_database(&p))
            .await
            .map_err(internal)?
            .map_err(internal)?;
    }
    let canonical = std::fs::canonicalize(&path).map_err(internal)?;
    if let Some(row) = repo::list(&state.db)
        .await?
        .into_iter()
        .find(|r| r.builtin.as_deref() == Some(UPLOADS))
    {
        return Ok((ConnectionId(row.id), canonical));
    }
    let cfg = ConnectionConfig::Sqlite {
        path: canonical.to_string_lossy().into_owned(),
    };
    let config = serde_json::to_string(&cfg).map_err(internal)?;
    let name = if repo::get_by_name(&state.db, "Uploads").await?.is_some() {
        "Uploads (imported files)"
    } else {
        "Uploads"
    };
    let id = repo::insert(
        &state.db,
        repo::NewConnection {
            name,
            kind: "sqlite",
            config: &config,
            color: "teal",
            writable: false,
            builtin: Some(UPLOADS),
            created_by: None,
        },
    )
    .await?;
    Ok((id, canonical))
}

/// Marks the Uploads connection as changed, so the next run opens fresh read-only
/// connections (an open SQLite connection may describe a replaced table from its old
/// schema). Runs in progress finish on the old ones.
async fn refresh_readers(state: &AppState, id: ConnectionId) -> Result<(), sqlx::Error> {
    if let Some(row) = repo::get(&state.db, id).await? {
        let same = repo::ConnectionUpdate {
            name: &row.name,
            kind: &row.kind,
            config: &row.config,
            color: &row.color,
            writable: row.writable,
        };
        repo::update(&state.db, id, same).await?;
    }
    Ok(())
}

fn create_database(path: &Path) -> rusqlite::Result<()> {
    let conn = rusqlite::Connection::open(path)?;
    // Readers (the workbench, read-only) keep reading while an import writes.
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
    conn.execute_batch("PRAGMA user_version = 1")
}

fn table_exists(db: &Path, table: &str) -> rusqlite::Result<bool> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    exists(&conn, table).map(|e| e.is_some())
}

/// The type (`table`, `view`, `index` …) of a schema object named `name`, any case.
pub(super) fn exists(conn: &rusqlite::Connection, name: &str) -> rusqlite::Result<Option<String>> {
    use rusqlite::OptionalExtension;
    conn.query_row(
        "SELECT type FROM sqlite_schema WHERE name = ?1 COLLATE NOCASE LIMIT 1",
        [name],
        |r| r.get(0),
    )
    .optional()
}

fn check_columns(columns: &[ColumnChoice], ncols: usize) -> Result<(), AppError> {
    if columns.len() != ncols {
        return Err(AppError::field(
            "columns",
            format!(
                "The file has {ncols} columns; {} were described.",
                columns.len()
            ),
        ));
    }
    let mut seen = HashSet::new();
    for (i, c) in columns.iter().enumerate() {
        if let Some(problem) = column_name_problem(&c.name) {
            return Err(AppError::field(
                "columns",
                format!("Column {}: {problem}", i + 1),
            ));
        }
        // SQLite compares column names without regard to case.
        if !seen.insert(c.name.to_lowercase()) {
            return Err(AppError::field(
                "columns",
                format!("Two columns are named {}: names must differ.", c.name),
            ));
        }
    }
    Ok(())
}
