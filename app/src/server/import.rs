//! Imports: CSV and Excel files loaded into the built-in "Uploads" SQLite database as new
//! tables. An upload is kept in a private directory of the data dir and previewed (delimiter,
//! header row and column types detected); the import then runs in the background, in one
//! transaction, so a file with a bad row creates nothing. Names from files reach SQL only
//! quoted and values only as bound parameters.
use crate::{
    error::{internal, AppError},
    model::{
        connection::{ConnectionConfig, ConnectionId},
        import::{
            column_name_problem, quote_ident, table_name_from_file, table_name_problem,
            ColumnChoice, ColumnType, FileKind, ImportId, ImportPreview, ImportRequest,
            ImportState, ImportStatus, PreviewColumn, ReadOptions, RowError, UploadId,
            MAX_ROW_ERRORS,
        },
        Permission, UserId,
    },
    server::{
        connections::UPLOADS,
        db::{audit, connections as repo},
        AppState, Principal,
    },
};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use std::{
    collections::{HashMap, HashSet},
    fs::File,
    io::{BufRead, BufReader, Read},
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

/// Rows shown in a preview.
const PREVIEW_ROWS: usize = 50;
/// Rows whose values decide the inferred types (the rest are only counted).
const INFER_ROWS: u64 = 200_000;
/// Uploads one person may keep waiting at once; older ones are dropped.
const UPLOADS_PER_USER: usize = 5;
/// An upload nobody touched for this long is deleted.
const UPLOAD_TTL: Duration = Duration::from_secs(3600);
/// A finished import stays visible for this long.
const JOB_TTL: Duration = Duration::from_secs(3600);

/// Columns a table may have (SQLite's limit), so also the most a file may have.
const MAX_COLUMNS: u64 = 2000;
/// The longest line (record) of a CSV file, in bytes.
const MAX_LINE_BYTES: u64 = 1 << 20;
/// What a CSV reader may read ahead of the record it is on (its buffers), in bytes.
const READ_AHEAD: u64 = 64 << 10;
/// Parts (files inside the zip) a workbook may hold.
const MAX_ZIP_ENTRIES: u64 = 10_000;

/// Extensions read as text and as workbooks (.xls and .ods are known, to be refused with a
/// message that says how to convert them).
const CSV_EXTENSIONS: &[&str] = &["csv", "tsv", "txt"];
const EXCEL_EXTENSIONS: &[&str] = &["xlsx", "xlsm", "xlsb", "xls", "ods"];

// ---------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------

/// Uploaded files waiting to be imported, and imports running or recently finished.
pub struct Imports {
    dir: PathBuf,
    uploads: Mutex<HashMap<UploadId, Arc<Upload>>>,
    jobs: Mutex<HashMap<ImportId, Arc<Job>>>,
    /// One import writes to the Uploads database at a time.
    writer: Arc<Mutex<()>>,
    /// Creating the Uploads connection happens once, not once per concurrent import.
    ensure: tokio::sync::Mutex<()>,
}

struct Upload {
    id: UploadId,
    owner: Option<UserId>,
    file_name: String,
    kind: FileKind,
    path: PathBuf,
    size: u64,
    /// Cells a sheet's used range may span (the setting when it was uploaded).
    max_cells: u64,
    touched: Mutex<Instant>,
    /// An import is reading the file.
    busy: AtomicBool,
    /// How the last preview read the file.
    shape: Mutex<Option<Shape>>,
}

struct Job {
    id: ImportId,
    owner: Option<UserId>,
    table: String,
    connection_id: ConnectionId,
    started: Instant,
    rows_done: AtomicU64,
    rows_total: u64,
    outcome: Mutex<Option<Outcome>>,
}

#[derive(Debug, Clone)]
struct Outcome {
    state: ImportState,
    rows: u64,
    errors: Vec<RowError>,
    error_count: u64,
    message: Option<String>,
    elapsed: Duration,
    finished: Instant,
}

impl Job {
    fn view(&self) -> ImportStatus {
        let outcome = self.outcome.lock().ok().and_then(|o| o.clone());
        let (state, rows_done, errors, error_count, message, elapsed) = match outcome {
            Some(o) => (
                o.state,
                o.rows,
                o.errors,
                o.error_count,
                o.message,
                o.elapsed,
            ),
            None => (
                ImportState::Running,
                self.rows_done.load(Ordering::Relaxed),
                vec![],
                0,
                None,
                self.started.elapsed(),
            ),
        };
        ImportStatus {
            id: self.id.clone(),
            state,
            table: self.table.clone(),
            rows_done,
            rows_total: self.rows_total.max(rows_done),
            errors,
            error_count,
            message,
            connection_id: self.connection_id,
            sql: format!("select * from {}", quote_ident(&self.table)),
            elapsed_ms: elapsed.as_millis() as u64,
        }
    }

    fn finished(&self) -> bool {
        self.outcome.lock().map(|o| o.is_some()).unwrap_or(true)
    }
}

impl Imports {
    /// `dir` holds uploaded files; whatever a previous process left there is removed.
    pub fn new(dir: PathBuf) -> Self {
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Imports {
            dir,
            uploads: Mutex::new(HashMap::new()),
            jobs: Mutex::new(HashMap::new()),
            writer: Arc::new(Mutex::new(())),
            ensure: tokio::sync::Mutex::new(()),
        }
    }

    /// Deletes uploads nobody touched for a while and forgets old finished imports.
    fn expire(&self) {
        let now = Instant::now();
        if let Ok(mut uploads) = self.uploads.lock() {
            uploads.retain(|_, u| {
                let idle = u.touched.lock().map(|t| now - *t).unwrap_or_default();
                let keep = idle < UPLOAD_TTL || u.busy.load(Ordering::Relaxed);
                if !keep {
                    let _ = std::fs::remove_file(&u.path);
                }
                keep
            });
        }
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.retain(|_, j| {
                j.outcome
                    .lock()
                    .ok()
                    .and_then(|o| o.as_ref().map(|o| now - o.finished < JOB_TTL))
                    .unwrap_or(true)
            });
        }
    }

    fn upload(&self, me: &Principal, id: &UploadId) -> Result<Arc<Upload>, AppError> {
        self.expire();
        let found = self
            .uploads
            .lock()
            .ok()
            .and_then(|u| u.get(id).cloned())
            .filter(|u| u.owner == me.user_id)
            .ok_or_else(|| AppError::NotFound("That upload (it may have expired)".into()))?;
        if let Ok(mut t) = found.touched.lock() {
            *t = Instant::now();
        }
        Ok(found)
    }

    fn forget_upload(&self, id: &UploadId) {
        let removed = self.uploads.lock().ok().and_then(|mut u| u.remove(id));
        if let Some(u) = removed {
            let _ = std::fs::remove_file(&u.path);
        }
    }

    fn add_upload(&self, upload: Arc<Upload>) {
        let Ok(mut uploads) = self.uploads.lock() else {
            return;
        };
        let mut mine: Vec<(Instant, UploadId)> = uploads
            .values()
            .filter(|u| u.owner == upload.owner && !u.busy.load(Ordering::Relaxed))
            .map(|u| {
                (
                    u.touched
                        .lock()
                        .map(|t| *t)
                        .unwrap_or_else(|_| Instant::now()),
                    u.id.clone(),
                )
            })
            .collect();
        mine.sort_by_key(|(t, _)| *t);
        while mine.len() >= UPLOADS_PER_USER {
            let (_, old) = mine.remove(0);
            if let Some(u) = uploads.remove(&old) {
                let _ = std::fs::remove_file(&u.path);
            }
        }
        uploads.insert(upload.id.clone(), upload);
    }
}

// ---------------------------------------------------------------------------------------
// Services
// ---------------------------------------------------------------------------------------

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

fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MB", bytes / (1 << 20))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
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
    use futures::StreamExt;
    use tokio::io::AsyncWriteExt;
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
    let mut file = tokio::fs::File::create(&tmp).await.map_err(internal)?;
    let mut size: u64 = 0;
    let mut head = Vec::with_capacity(8);
    let written: Result<(), UploadError> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk
                .map_err(|e| AppError::BadRequest(format!("The upload was interrupted: {e}")))?;
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
        Ok(())
    }
    .await;
    drop(file);
    if let Err(e) = written {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    if size == 0 {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(AppError::field("file", "The file is empty.").into());
    }
    // Workbooks are zip (xlsx, ods) or OLE (xls) files, whatever their name says.
    let kind_ext = if head.starts_with(b"PK\x03\x04") {
        if EXCEL_EXTENSIONS.contains(&ext.as_str()) {
            ext.clone()
        } else {
            "xlsx".into()
        }
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        "xls".into()
    } else if EXCEL_EXTENSIONS.contains(&ext.as_str()) {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(AppError::field("file", "This file is not an Excel workbook.").into());
    } else {
        "csv".into()
    };
    // calamine reads .xls and .ods workbooks whole when it opens them, allocating what their
    // records declare (an .xls DIMENSIONS record, an .ods repeat count) before anything can
    // be checked: a small crafted file becomes gigabytes. Those formats are refused.
    if kind_ext == "xls" || kind_ext == "ods" {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(AppError::field(
            "file",
            format!(
                "Sightline does not read .{kind_ext} files, which are read whole. Open the file \
                 in Excel or LibreOffice, save it as .xlsx (or CSV), and upload that."
            ),
        )
        .into());
    }
    let kind = if kind_ext == "csv" {
        FileKind::Csv
    } else {
        FileKind::Excel
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
fn exists(conn: &rusqlite::Connection, name: &str) -> rusqlite::Result<Option<String>> {
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

// ---------------------------------------------------------------------------------------
// Reading files
// ---------------------------------------------------------------------------------------

/// How a file is read, with everything detected filled in.
#[derive(Debug, Clone, PartialEq)]
struct Resolved {
    delimiter: u8,
    sheet: Option<String>,
    header: bool,
}

/// What a preview found: how the file was read, its columns and data rows.
#[derive(Debug, Clone)]
struct Shape {
    resolved: Resolved,
    columns: usize,
    rows: u64,
    first_sheet: Option<String>,
}

impl Shape {
    /// Whether reading with `options` means reading the file as this preview did.
    fn matches(&self, options: &ReadOptions, delimiter: u8) -> bool {
        // Only workbooks have sheets.
        let sheet = match &self.first_sheet {
            Some(first) => Some(options.sheet.as_ref().unwrap_or(first)),
            None => None,
        };
        self.resolved.delimiter == delimiter
            && self.resolved.sheet.as_ref() == sheet
            && options.header.is_none_or(|h| h == self.resolved.header)
    }
}

/// One value as read from a file.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Empty,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Date(NaiveDate),
    DateTime(NaiveDateTime),
    /// A spreadsheet error value such as `#DIV/0!`.
    Error(String),
}

fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(_) => "read error".into(),
        _ => e.to_string(),
    }
}

fn excel_cell(d: &calamine::Data) -> Cell {
    use calamine::Data;
    match d {
        Data::Empty => Cell::Empty,
        Data::Int(i) => Cell::Int(*i),
        Data::Float(f) => Cell::Float(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::String(s) if s.trim().is_empty() => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::DateTime(dt) if dt.is_duration() => {
            let secs = (dt.as_f64() * 86_400.0).round() as i64;
            Cell::Text(format!(
                "{}:{:02}:{:02}",
                secs / 3600,
                secs % 3600 / 60,
                secs % 60
            ))
        }
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == NaiveTime::MIN => Cell::Date(t.date()),
            Some(t) => Cell::DateTime(t),
            None => Cell::Float(dt.as_f64()),
        },
        Data::DateTimeIso(s) => parse_datetime(s)
            .map(|t| {
                if t.time() == NaiveTime::MIN && parse_date(s).is_some() {
                    Cell::Date(t.date())
                } else {
                    Cell::DateTime(t)
                }
            })
            .unwrap_or_else(|| Cell::Text(s.clone())),
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let clean = clean.trim();
    if clean.is_empty() {
        "upload".into()
    } else {
        clean.to_string()
    }
}

fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// Counts the bytes a CSV reader takes, so that one enormous line is refused before the
/// reader holds it in memory.
#[derive(Default)]
struct Meter {
    taken: AtomicU64,
    /// `taken` when the current record began.
    mark: AtomicU64,
    over: AtomicBool,
}

impl Meter {
    fn start_record(&self) {
        self.mark
            .store(self.taken.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

struct Metered<R> {
    inner: R,
    meter: Arc<Meter>,
}

impl<R: Read> Read for Metered<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let m = &self.meter;
        let in_record = m.taken.load(Ordering::Relaxed) - m.mark.load(Ordering::Relaxed);
        if in_record > MAX_LINE_BYTES + READ_AHEAD {
            m.over.store(true, Ordering::Relaxed);
            return Err(std::io::Error::other("a CSV line is too long"));
        }
        let n = self.inner.read(buf)?;
        m.taken.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

type CsvReader = csv::Reader<BufReader<Metered<File>>>;

fn open_csv(path: &Path, delimiter: u8, meter: Arc<Meter>) -> Result<CsvReader, AppError> {
    let file = File::open(path).map_err(internal)?;
    let mut f = BufReader::new(Metered { inner: file, meter });
    let head = f.fill_buf().map_err(internal)?;
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        f.consume(3);
    } else if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        return Err(AppError::field(
            "file",
            "The file is UTF-16 text. Save it as “CSV UTF-8” and upload it again.",
        ));
    }
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(f))
}

/// The delimiter (`,` `;` tab `|`) that splits the first lines into the most columns, the
/// same number on every line.
fn sniff_delimiter(path: &Path, prefer_tab: bool) -> Result<u8, AppError> {
    let mut sample = Vec::with_capacity(64 * 1024);
    File::open(path)
        .map_err(internal)?
        .take(64 * 1024)
        .read_to_end(&mut sample)
        .map_err(internal)?;
    // Only whole lines.
    if sample.len() == 64 * 1024 {
        if let Some(end) = sample.iter().rposition(|b| *b == b'\n') {
            sample.truncate(end + 1);
        }
    }
    let candidates: &[u8] = if prefer_tab { b"\t,;|" } else { b",;\t|" };
    let mut best = (0u64, candidates[0]);
    for &d in candidates {
        let mut r = csv::ReaderBuilder::new()
            .delimiter(d)
            .has_headers(false)
            .flexible(true)
            .from_reader(sample.as_slice());
        let counts: Vec<usize> = r
            .byte_records()
            .take(50)
            .filter_map(Result::ok)
            .map(|rec| rec.len())
            .collect();
        let Some(&first) = counts.first() else {
            continue;
        };
        if first < 2 {
            continue;
        }
        let same = counts.iter().filter(|&&c| c == first).count() as u64;
        let score = same * 1000 / counts.len() as u64 * 1000 + first as u64;
        if score > best.0 {
            best = (score, d);
        }
    }
    Ok(best.1)
}

fn resolve_options(upload: &Upload, options: &ReadOptions) -> Result<Resolved, AppError> {
    let delimiter = match (upload.kind, options.delimiter) {
        (FileKind::Excel, _) => b',',
        (FileKind::Csv, Some(c)) if matches!(c, ',' | ';' | '\t' | '|') => c as u8,
        (FileKind::Csv, Some(_)) => {
            return Err(AppError::field(
                "delimiter",
                "Choose comma, semicolon, tab or |.",
            ))
        }
        (FileKind::Csv, None) => {
            let tab = extension(&upload.file_name) == "tsv";
            sniff_delimiter(&upload.path, tab)?
        }
    };
    Ok(Resolved {
        delimiter,
        sheet: options
            .sheet
            .clone()
            .filter(|_| upload.kind == FileKind::Excel),
        // Decided from the data unless given.
        header: options.header.unwrap_or(true),
    })
}

fn open_workbook(path: &Path) -> Result<calamine::Sheets<BufReader<File>>, AppError> {
    calamine::open_workbook_auto(path).map_err(|e| {
        tracing::info!(error = %e, "an uploaded workbook could not be read");
        AppError::field("file", "This file could not be read as an Excel workbook.")
    })
}

/// Calls `f` with every row of an upload that is not blank, with its row number as a
/// spreadsheet shows it; returns a workbook's sheet names and the sheet read. Memory stays
/// bounded: a CSV line longer than [`MAX_LINE_BYTES`], a row of more than [`MAX_COLUMNS`]
/// values and a sheet spanning more than the upload's cell limit are refused while reading.
fn each_row<E: From<AppError>>(
    upload: &Upload,
    r: &Resolved,
    f: &mut impl FnMut(u64, &[Cell]) -> Result<(), E>,
) -> Result<(Vec<String>, Option<String>), E> {
    match upload.kind {
        FileKind::Csv => {
            csv_rows(upload, r, f)?;
            Ok((vec![], None))
        }
        FileKind::Excel => {
            use calamine::Reader;
            let mut wb = open_workbook(&upload.path)?;
            let sheets = wb.sheet_names();
            let sheet = match &r.sheet {
                Some(s) if sheets.contains(s) => s.clone(),
                Some(_) => {
                    return Err(
                        AppError::field("sheet", "The workbook has no sheet of that name.").into(),
                    )
                }
                None => sheets
                    .first()
                    .cloned()
                    .ok_or_else(|| AppError::field("file", "The workbook has no sheets."))?,
            };
            let max_cells = upload.max_cells;
            match &mut wb {
                // Streamed cell by cell: only a row is held at a time.
                calamine::Sheets::Xlsx(x) => stream_sheet(
                    |visit| {
                        let mut cells = x.worksheet_cells_reader(&sheet).map_err(sheet_error)?;
                        while let Some(c) = cells.next_cell().map_err(sheet_error)? {
                            let (row, col) = c.get_position();
                            visit(row, col, c.get_value())?;
                        }
                        Ok(())
                    },
                    max_cells,
                    f,
                )?,
                calamine::Sheets::Xlsb(x) => stream_sheet(
                    |visit| {
                        let mut cells = x.worksheet_cells_reader(&sheet).map_err(sheet_error)?;
                        while let Some(c) = cells.next_cell().map_err(sheet_error)? {
                            let (row, col) = c.get_position();
                            visit(row, col, c.get_value())?;
                        }
                        Ok(())
                    },
                    max_cells,
                    f,
                )?,
                other => {
                    let range = other.worksheet_range(&sheet).map_err(sheet_error)?;
                    range_rows(&range, max_cells, f)?;
                }
            }
            Ok((sheets, Some(sheet)))
        }
    }
}

fn sheet_error(e: impl std::fmt::Display) -> AppError {
    tracing::info!(error = %e, "an uploaded sheet could not be read");
    AppError::field("sheet", "That sheet could not be read.")
}

fn csv_rows<E: From<AppError>>(
    upload: &Upload,
    r: &Resolved,
    f: &mut impl FnMut(u64, &[Cell]) -> Result<(), E>,
) -> Result<(), E> {
    let meter = Arc::new(Meter::default());
    let mut reader = open_csv(&upload.path, r.delimiter, meter.clone())?;
    let mut record = csv::ByteRecord::new();
    let mut cells = Vec::new();
    loop {
        meter.start_record();
        let more = match reader.read_byte_record(&mut record) {
            Ok(more) => more,
            Err(_) if meter.over.load(Ordering::Relaxed) => {
                let line = reader.position().line();
                return Err(AppError::field(
                    "file",
                    format!(
                        "Line {line} is longer than {} MB; an import reads lines of at most that. \
                         Check that the file is CSV text with line breaks, or split the long values.",
                        MAX_LINE_BYTES >> 20
                    ),
                )
                .into());
            }
            Err(e) => {
                return Err(AppError::field(
                    "file",
                    format!("The CSV file could not be read: {}", csv_error(&e)),
                )
                .into())
            }
        };
        if !more {
            return Ok(());
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.len() as u64 > MAX_COLUMNS {
            return Err(AppError::field(
                "file",
                format!(
                    "Line {line} has {} values, but a table can have at most {MAX_COLUMNS} columns. \
                     Check the delimiter, or split the file into narrower ones.",
                    thousands(record.len() as u64)
                ),
            )
            .into());
        }
        cells.clear();
        for field in record.iter() {
            let text = std::str::from_utf8(field).map_err(|_| {
                AppError::field(
                    "file",
                    format!("The file is not UTF-8 text (line {line}). Save it as “CSV UTF-8” and upload it again."),
                )
            })?;
            cells.push(if text.trim().is_empty() {
                Cell::Empty
            } else {
                Cell::Text(text.to_string())
            });
        }
        if cells.iter().any(|c| *c != Cell::Empty) {
            f(line, &cells)?;
        }
    }
}

/// One cell of a streamed sheet: row, column, value.
type Visit<'v, E> = dyn FnMut(u32, u32, &calamine::DataRef<'_>) -> Result<(), E> + 'v;

/// Reads a sheet through `pass` (which hands every cell to its visitor, in file order)
/// twice: first only to find where the data is, refusing a sheet that spans too much
/// before anything is kept, then to hand `f` one row at a time.
fn stream_sheet<E: From<AppError>>(
    mut pass: impl FnMut(&mut Visit<'_, E>) -> Result<(), E>,
    max_cells: u64,
    f: &mut impl FnMut(u64, &[Cell]) -> Result<(), E>,
) -> Result<(), E> {
    use calamine::DataRef;
    let mut bounds: Option<(u32, u32, u32, u32)> = None;
    let mut last: Option<(u32, u32)> = None;
    let mut ordered = true;
    pass(&mut |row, col, v| {
        if matches!(v, DataRef::Empty) {
            return Ok(());
        }
        bounds = Some(match bounds {
            None => (row, row, col, col),
            Some((r0, r1, c0, c1)) => (r0.min(row), r1.max(row), c0.min(col), c1.max(col)),
        });
        if last.is_some_and(|l| (row, col) <= l) {
            ordered = false;
        }
        last = Some((row, col));
        Ok(())
    })?;
    let Some((r0, r1, c0, c1)) = bounds else {
        return Ok(());
    };
    check_extent((r0, c0), (r1, c1), max_cells)?;
    let width = (c1 - c0 + 1) as usize;
    let mut line: Vec<Cell> = Vec::with_capacity(width);
    let mut emit = |row: u32, line: &mut Vec<Cell>| -> Result<(), E> {
        line.resize(width, Cell::Empty);
        if line.iter().any(|c| *c != Cell::Empty) {
            f(u64::from(row) + 1, line)?;
        }
        line.clear();
        Ok(())
    };
    if ordered {
        let mut current: Option<u32> = None;
        pass(&mut |row, col, v| {
            if matches!(v, DataRef::Empty) {
                return Ok(());
            }
            if current != Some(row) {
                if let Some(done) = current {
                    emit(done, &mut line)?;
                }
                current = Some(row);
            }
            let i = (col - c0) as usize;
            if line.len() <= i {
                line.resize(i + 1, Cell::Empty);
            }
            line[i] = excel_cell(&calamine::Data::from(v.clone()));
            Ok(())
        })?;
        if let Some(done) = current {
            emit(done, &mut line)?;
        }
    } else {
        // Cells out of order (some writers): the ones with values, sorted; at most
        // `max_cells` of them, as checked above.
        let mut cells: Vec<(u32, u32, calamine::Data)> = Vec::new();
        pass(&mut |row, col, v| {
            if !matches!(v, DataRef::Empty) {
                cells.push((row, col, calamine::Data::from(v.clone())));
            }
            Ok(())
        })?;
        cells.sort_by_key(|(r, c, _)| (*r, *c));
        let mut current: Option<u32> = None;
        for (row, col, v) in cells {
            if current != Some(row) {
                if let Some(done) = current {
                    emit(done, &mut line)?;
                }
                current = Some(row);
            }
            let i = (col - c0) as usize;
            if line.len() <= i {
                line.resize(i + 1, Cell::Empty);
            }
            line[i] = excel_cell(&v);
        }
        if let Some(done) = current {
            emit(done, &mut line)?;
        }
    }
    Ok(())
}

/// The rows of a sheet calamine read whole (xls, ods).
fn range_rows<E: From<AppError>>(
    range: &calamine::Range<calamine::Data>,
    max_cells: u64,
    f: &mut impl FnMut(u64, &[Cell]) -> Result<(), E>,
) -> Result<(), E> {
    let (Some(start), Some(end)) = (range.start(), range.end()) else {
        return Ok(());
    };
    check_extent(start, end, max_cells)?;
    let (height, width) = range.get_size();
    let mut line = Vec::with_capacity(width);
    for row in 0..height {
        line.clear();
        line.extend((0..width).map(|c| range.get((row, c)).map(excel_cell).unwrap_or(Cell::Empty)));
        if line.iter().any(|c| *c != Cell::Empty) {
            f(u64::from(start.0) + row as u64 + 1, &line)?;
        }
    }
    Ok(())
}

/// Refuses a sheet whose data spans more cells than `max_cells`, or more columns than a
/// table may have: a value in A1 and another in XFD1048576 is 17 billion cells.
fn check_extent(start: (u32, u32), end: (u32, u32), max_cells: u64) -> Result<(), AppError> {
    let rows = u64::from(end.0 - start.0) + 1;
    let cols = u64::from(end.1 - start.1) + 1;
    let span = format!(
        "{}{}:{}{}",
        column_letters(start.1),
        u64::from(start.0) + 1,
        column_letters(end.1),
        u64::from(end.0) + 1
    );
    let cells = rows.saturating_mul(cols);
    if cells > max_cells {
        return Err(AppError::field(
            "file",
            format!(
                "The sheet's data spans {span}, {} cells; an import reads at most {} \
                 (SIGHTLINE_MAX_IMPORT_CELLS). Delete stray cells far from the table, or save \
                 the sheet as CSV, and upload it again.",
                thousands(cells),
                thousands(max_cells)
            ),
        ));
    }
    if cols > MAX_COLUMNS {
        return Err(AppError::field(
            "file",
            format!(
                "The sheet's data spans {span}, {} columns, but a table can have at most \
                 {MAX_COLUMNS}. Delete stray cells to the right of the table and upload it again.",
                thousands(cols)
            ),
        ));
    }
    Ok(())
}

/// `0` → `A`, `25` → `Z`, `26` → `AA`, `16383` → `XFD`.
fn column_letters(col: u32) -> String {
    let mut n = u64::from(col) + 1;
    let mut out = Vec::new();
    while n > 0 {
        n -= 1;
        out.push(char::from(b'A' + (n % 26) as u8));
        n /= 26;
    }
    out.iter().rev().collect()
}

/// `17179869184` → `17,179,869,184`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// Refuses a zip-based workbook (xlsx, xlsm, xlsb, ods) whose parts would unpack to more
/// than `max_unpacked` bytes or that holds too many parts, from its central directory
/// alone, before anything is unpacked. The zip reader calamine uses stops a part at the
/// size the central directory declares, so a part that lies about its size fails to read
/// instead of growing.
fn check_zip(path: &Path, max_unpacked: u64) -> Result<(), AppError> {
    use std::io::{Seek, SeekFrom};
    let not_workbook =
        || AppError::field("file", "This file could not be read as an Excel workbook.");
    let u16le = |b: &[u8], at: usize| u64::from(u16::from_le_bytes([b[at], b[at + 1]]));
    let u32le = |b: &[u8], at: usize| {
        u64::from(u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]))
    };
    let u64le = |b: &[u8], at: usize| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(x)
    };
    let mut f = File::open(path).map_err(internal)?;
    let len = f.metadata().map_err(internal)?.len();
    // The end record is the last 22 bytes plus a comment of at most 64 KiB.
    let tail_len = len.min(22 + 0xFFFF);
    let tail_start = len - tail_len;
    f.seek(SeekFrom::Start(tail_start)).map_err(internal)?;
    let mut tail = vec![0u8; tail_len as usize];
    f.read_exact(&mut tail).map_err(internal)?;
    if tail.len() < 22 {
        return Err(not_workbook());
    }
    // Exactly one end record: two would let this check and the reader see different parts.
    let ends: Vec<usize> = (0..=tail.len() - 22)
        .filter(|&i| tail[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .collect();
    let [end] = ends[..] else {
        return Err(not_workbook());
    };
    let e = &tail[end..];
    let (mut entries, mut cd_size, mut cd_offset) = (u16le(e, 10), u32le(e, 12), u32le(e, 16));
    if entries == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
        // ZIP64: a locator just before the end record points at the ZIP64 end record.
        let end_at = tail_start + end as u64;
        let mut locator = [0u8; 20];
        let mut record = [0u8; 56];
        let read64 = |f: &mut File, locator: &mut [u8; 20], record: &mut [u8; 56]| {
            f.seek(SeekFrom::Start(end_at.checked_sub(20)?)).ok()?;
            f.read_exact(locator).ok()?;
            (locator[..4] == [0x50, 0x4b, 0x06, 0x07]).then_some(())?;
            f.seek(SeekFrom::Start(u64le(locator, 8))).ok()?;
            f.read_exact(record).ok()?;
            (record[..4] == [0x50, 0x4b, 0x06, 0x06]).then_some(())
        };
        read64(&mut f, &mut locator, &mut record).ok_or_else(not_workbook)?;
        (entries, cd_size, cd_offset) =
            (u64le(&record, 32), u64le(&record, 40), u64le(&record, 48));
    }
    if entries > MAX_ZIP_ENTRIES {
        return Err(AppError::field(
            "file",
            format!(
                "The workbook holds {} parts; an import reads workbooks of at most {}. Save it as \
                 CSV and upload that.",
                thousands(entries),
                thousands(MAX_ZIP_ENTRIES)
            ),
        ));
    }
    if cd_offset.checked_add(cd_size).is_none_or(|e| e > len) {
        return Err(not_workbook());
    }
    f.seek(SeekFrom::Start(cd_offset)).map_err(internal)?;
    let mut cd = BufReader::new(f.take(cd_size));
    let mut total: u64 = 0;
    let mut header = [0u8; 46];
    for _ in 0..entries {
        cd.read_exact(&mut header).map_err(|_| not_workbook())?;
        if header[..4] != [0x50, 0x4b, 0x01, 0x02] {
            return Err(not_workbook());
        }
        let mut size = u32le(&header, 24);
        let (name, extra, comment) = (
            u16le(&header, 28) as usize,
            u16le(&header, 30) as usize,
            u16le(&header, 32) as usize,
        );
        let mut rest = vec![0u8; name + extra + comment];
        cd.read_exact(&mut rest).map_err(|_| not_workbook())?;
        if size == 0xFFFF_FFFF {
            // The ZIP64 extra field (id 1) starts with the real uncompressed size.
            let fields = &rest[name..name + extra];
            let mut at = 0;
            let mut found = None;
            while at + 4 <= fields.len() {
                let (id, n) = (u16le(fields, at), u16le(fields, at + 2) as usize);
                if id == 1 && n >= 8 && at + 12 <= fields.len() {
                    found = Some(u64le(fields, at + 4));
                    break;
                }
                at += 4 + n;
            }
            size = found.ok_or_else(not_workbook)?;
        }
        total = total.saturating_add(size);
        if total > max_unpacked {
            return Err(AppError::field(
                "file",
                format!(
                    "The workbook unpacks to more than {} (SIGHTLINE_MAX_IMPORT_UNPACKED_MB), so \
                     it is not read. Save the sheet as CSV, or remove unused sheets, and upload it \
                     again.",
                    human_size(max_unpacked)
                ),
            ));
        }
    }
    Ok(())
}

/// Reads the whole file once: first rows, column count, types, header detection, row count.
fn read_preview(upload: &Upload, options: &ReadOptions) -> Result<ImportPreview, AppError> {
    let mut resolved = resolve_options(upload, options)?;
    let mut first: Option<Vec<Cell>> = None;
    let mut shown: Vec<Vec<Option<String>>> = vec![];
    let mut rest = Inference::default();
    let mut data_rows: u64 = 0;
    let (sheets, sheet) = each_row(upload, &resolved, &mut |_, cells: &[Cell]| {
        if first.is_none() {
            first = Some(cells.to_vec());
            return Ok::<(), AppError>(());
        }
        if shown.len() <= PREVIEW_ROWS {
            shown.push(cells.iter().map(display).collect());
        }
        if data_rows < INFER_ROWS {
            rest.add(cells);
        }
        data_rows += 1;
        Ok(())
    })?;
    let first = first.unwrap_or_default();
    let ncols = first.len().max(if upload.kind == FileKind::Excel {
        rest.columns.len()
    } else {
        0
    });
    if ncols == 0 {
        return Err(AppError::field("file", "The file has no data."));
    }
    let header = match options.header {
        Some(h) => h,
        None => looks_like_header(&first, &rest),
    };
    resolved.header = header;
    resolved.sheet = sheet.clone();
    let mut types = rest.clone();
    let (columns, shown, total) = if header {
        let names = column_names(&first, ncols);
        let columns = (0..ncols)
            .map(|i| PreviewColumn {
                name: names[i].clone(),
                header: first
                    .get(i)
                    .map(display)
                    .unwrap_or_default()
                    .unwrap_or_default(),
                inferred: types.column(i),
            })
            .collect::<Vec<_>>();
        shown.truncate(PREVIEW_ROWS);
        (columns, shown, data_rows)
    } else {
        types.add(&first);
        let mut all = vec![first.iter().map(display).collect::<Vec<_>>()];
        all.extend(shown);
        all.truncate(PREVIEW_ROWS);
        let columns = (0..ncols)
            .map(|i| PreviewColumn {
                name: format!("column_{}", i + 1),
                header: String::new(),
                inferred: types.column(i),
            })
            .collect();
        (columns, all, data_rows + 1)
    };
    let shown = shown
        .into_iter()
        .map(|mut r| {
            r.resize(ncols.max(r.len()), None);
            r
        })
        .collect();
    if let Ok(mut s) = upload.shape.lock() {
        *s = Some(Shape {
            resolved: resolved.clone(),
            columns: ncols,
            rows: total,
            first_sheet: sheets.first().cloned(),
        });
    }
    Ok(ImportPreview {
        upload_id: upload.id.clone(),
        file_name: upload.file_name.clone(),
        kind: upload.kind,
        size_bytes: upload.size,
        sheets,
        sheet,
        delimiter: (upload.kind == FileKind::Csv).then_some(resolved.delimiter as char),
        header,
        columns,
        rows: shown,
        total_rows: total,
        suggested_table: table_name_from_file(&upload.file_name),
    })
}

/// Column names from a header row: trimmed, control characters dropped, blanks named
/// `column_N`, repeats numbered (`name_2`), case-insensitively unique.
fn column_names(header: &[Cell], ncols: usize) -> Vec<String> {
    let mut seen = HashSet::new();
    (0..ncols)
        .map(|i| {
            let raw = header
                .get(i)
                .map(display)
                .unwrap_or_default()
                .unwrap_or_default();
            let cleaned: String = raw
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let mut base: String = cleaned.chars().take(120).collect();
            if base.is_empty() {
                base = format!("column_{}", i + 1);
            }
            let mut name = base.clone();
            let mut n = 2;
            while !seen.insert(name.to_lowercase()) {
                name = format!("{base}_{n}");
                n += 1;
            }
            name
        })
        .collect()
}

/// The first row is data, not names, when every typed column (numbers, dates, booleans
/// below it) also has a value of that kind in the first row.
fn looks_like_header(first: &[Cell], rest: &Inference) -> bool {
    let kind = |t: ColumnType| match t {
        ColumnType::Integer | ColumnType::Real => INT | REAL,
        ColumnType::Date | ColumnType::Datetime => DATE | DATETIME,
        other => bit(other),
    };
    let mut typed = 0;
    let mut fits = 0;
    for (i, cell) in first.iter().enumerate() {
        let t = rest.column(i);
        if t == ColumnType::Text {
            continue;
        }
        typed += 1;
        if *cell == Cell::Empty || fits_mask(cell) & kind(t) != 0 {
            fits += 1;
        }
    }
    !(typed > 0 && fits == typed)
}

/// Text of a cell for previews and text columns.
fn display(c: &Cell) -> Option<String> {
    match c {
        Cell::Empty => None,
        Cell::Text(s) => Some(s.clone()),
        Cell::Int(i) => Some(i.to_string()),
        Cell::Float(f) => Some(format_float(*f)),
        Cell::Bool(b) => Some(b.to_string()),
        Cell::Date(d) => Some(d.format("%Y-%m-%d").to_string()),
        Cell::DateTime(t) => Some(format_datetime(t)),
        Cell::Error(e) => Some(e.clone()),
    }
}

fn format_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn format_datetime(t: &NaiveDateTime) -> String {
    if t.and_utc().timestamp_subsec_millis() == 0 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
    }
}

// ---------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------

const INT: u8 = 1;
const REAL: u8 = 2;
const BOOL: u8 = 4;
const DATE: u8 = 8;
const DATETIME: u8 = 16;

fn bit(t: ColumnType) -> u8 {
    match t {
        ColumnType::Integer => INT,
        ColumnType::Real => REAL,
        ColumnType::Boolean => BOOL,
        ColumnType::Date => DATE,
        ColumnType::Datetime => DATETIME,
        ColumnType::Text => 0,
    }
}

/// The types a value fits (text always fits).
fn fits_mask(c: &Cell) -> u8 {
    match c {
        Cell::Empty => INT | REAL | BOOL | DATE | DATETIME,
        Cell::Int(_) => INT | REAL,
        Cell::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => INT | REAL,
        Cell::Float(_) => REAL,
        Cell::Bool(_) => BOOL,
        Cell::Date(_) => DATE | DATETIME,
        Cell::DateTime(_) => DATETIME,
        Cell::Error(_) => 0,
        Cell::Text(s) => {
            let s = s.trim();
            // Leading zeros (zip codes, ids) are kept as text.
            let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
            if digits.len() > 1 && digits.starts_with('0') && digits.as_bytes()[1].is_ascii_digit()
            {
                0
            } else if parse_int(s).is_some() {
                INT | REAL
            } else if parse_float(s).is_some() {
                REAL
            } else if parse_bool_word(s).is_some() {
                BOOL
            } else if parse_date(s).is_some() {
                DATE | DATETIME
            } else if parse_datetime(s).is_some() {
                DATETIME
            } else {
                0
            }
        }
    }
}

/// Which types every value of each column fits so far.
#[derive(Debug, Clone, Default)]
struct Inference {
    columns: Vec<(u8, bool)>,
}

impl Inference {
    fn add(&mut self, row: &[Cell]) {
        if self.columns.len() < row.len() {
            self.columns
                .resize(row.len(), (INT | REAL | BOOL | DATE | DATETIME, false));
        }
        for (i, c) in row.iter().enumerate() {
            if *c != Cell::Empty {
                let col = &mut self.columns[i];
                col.0 &= fits_mask(c);
                col.1 = true;
            }
        }
    }

    fn column(&self, i: usize) -> ColumnType {
        match self.columns.get(i) {
            Some(&(mask, true)) => [
                ColumnType::Integer,
                ColumnType::Real,
                ColumnType::Boolean,
                ColumnType::Date,
                ColumnType::Datetime,
            ]
            .into_iter()
            .find(|t| mask & bit(*t) != 0)
            .unwrap_or(ColumnType::Text),
            _ => ColumnType::Text,
        }
    }
}

fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_float(s: &str) -> Option<f64> {
    // Rust also reads "inf" and "NaN"; a number column does not.
    if !s.bytes().any(|b| b.is_ascii_digit())
        || !s
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    s.parse::<f64>().ok().filter(|f| f.is_finite())
}

fn parse_bool_word(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    ["%Y-%m-%d", "%Y/%m/%d"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

/// Date and time, ISO-like; with an offset it is converted to UTC. A plain date is midnight.
fn parse_datetime(s: &str) -> Option<NaiveDateTime> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_utc());
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z"] {
        if let Ok(t) = chrono::DateTime::parse_from_str(s, f) {
            return Some(t.naive_utc());
        }
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y/%m/%d %H:%M:%S%.f",
        "%Y/%m/%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    parse_date(s).map(|d| d.and_time(NaiveTime::MIN))
}

/// The value to store for a cell in a column of type `ty`, or why it does not fit.
fn convert(c: &Cell, ty: ColumnType) -> Result<rusqlite::types::Value, String> {
    use rusqlite::types::Value as V;
    if *c == Cell::Empty {
        return Ok(V::Null);
    }
    let shown = || display(c).unwrap_or_default();
    let quoted = || {
        let s = shown();
        let cut: String = s.chars().take(60).collect();
        if cut.len() < s.len() {
            format!("'{cut}…'")
        } else {
            format!("'{cut}'")
        }
    };
    match ty {
        ColumnType::Text => Ok(V::Text(shown())),
        ColumnType::Integer => match c {
            Cell::Int(i) => Ok(V::Integer(*i)),
            Cell::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(V::Integer(*f as i64)),
            Cell::Text(s) => parse_int(s.trim())
                .or_else(|| {
                    parse_float(s.trim())
                        .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                        .map(|f| f as i64)
                })
                .map(V::Integer)
                .ok_or_else(|| format!("{} is not a whole number", quoted())),
            _ => Err(format!("{} is not a whole number", quoted())),
        },
        ColumnType::Real => match c {
            Cell::Int(i) => Ok(V::Real(*i as f64)),
            Cell::Float(f) => Ok(V::Real(*f)),
            Cell::Text(s) => parse_float(s.trim())
                .map(V::Real)
                .ok_or_else(|| format!("{} is not a number", quoted())),
            _ => Err(format!("{} is not a number", quoted())),
        },
        ColumnType::Boolean => {
            let b = match c {
                Cell::Bool(b) => Some(*b),
                Cell::Int(0) => Some(false),
                Cell::Int(1) => Some(true),
                Cell::Float(f) if *f == 0.0 || *f == 1.0 => Some(*f == 1.0),
                Cell::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                    "true" | "yes" | "t" | "y" | "1" => Some(true),
                    "false" | "no" | "f" | "n" | "0" => Some(false),
                    _ => None,
                },
                _ => None,
            };
            b.map(|b| V::Integer(i64::from(b)))
                .ok_or_else(|| format!("{} is not true or false", quoted()))
        }
        ColumnType::Date => {
            let d = match c {
                Cell::Date(d) => Some(*d),
                Cell::DateTime(t) => Some(t.date()),
                Cell::Text(s) => parse_datetime(s.trim()).map(|t| t.date()),
                _ => None,
            };
            d.map(|d| V::Text(d.format("%Y-%m-%d").to_string()))
                .ok_or_else(|| format!("{} is not a date (YYYY-MM-DD)", quoted()))
        }
        ColumnType::Datetime => {
            let t = match c {
                Cell::Date(d) => Some(d.and_time(NaiveTime::MIN)),
                Cell::DateTime(t) => Some(*t),
                Cell::Text(s) => parse_datetime(s.trim()),
                _ => None,
            };
            t.map(|t| V::Text(format_datetime(&t)))
                .ok_or_else(|| format!("{} is not a date and time (YYYY-MM-DD HH:MM:SS)", quoted()))
        }
    }
}

fn sql_type(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer => "INTEGER",
        ColumnType::Real => "REAL",
        ColumnType::Boolean => "BOOLEAN",
        ColumnType::Date => "DATE",
        ColumnType::Datetime => "DATETIME",
        ColumnType::Text => "TEXT",
    }
}

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

struct Plan {
    resolved: Resolved,
    columns: Vec<ColumnChoice>,
    table: String,
    replace: bool,
    db_path: PathBuf,
}

fn failed(message: String) -> Outcome {
    Outcome {
        state: ImportState::Failed,
        rows: 0,
        errors: vec![],
        error_count: 0,
        message: Some(message),
        elapsed: Duration::ZERO,
        finished: Instant::now(),
    }
}

/// Creates the table and inserts every row in one transaction; any bad row rolls it all
/// back (the rest of the file is still checked, so all errors are counted).
fn load(job: &Job, upload: &Upload, plan: &Plan, writer: &Mutex<()>) -> Outcome {
    match load_rows(job, upload, plan, writer) {
        Ok(o) => o,
        Err(LoadError::App(e)) => failed(e.to_string()),
        Err(LoadError::Sqlite(e)) => failed(internal(e).to_string()),
    }
}

enum LoadError {
    App(AppError),
    Sqlite(rusqlite::Error),
}

impl From<AppError> for LoadError {
    fn from(e: AppError) -> Self {
        LoadError::App(e)
    }
}

impl From<rusqlite::Error> for LoadError {
    fn from(e: rusqlite::Error) -> Self {
        LoadError::Sqlite(e)
    }
}

fn load_rows(
    job: &Job,
    upload: &Upload,
    plan: &Plan,
    writer: &Mutex<()>,
) -> Result<Outcome, LoadError> {
    let _turn = writer
        .lock()
        .map_err(|_| internal("import writer lock poisoned"))?;
    let mut conn = rusqlite::Connection::open_with_flags(
        &plan.db_path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let table = quote_ident(&plan.table);
    match exists(&tx, &plan.table)? {
        None => {}
        Some(kind) if plan.replace && kind == "table" => {
            tx.execute_batch(&format!("DROP TABLE {table}"))?;
        }
        Some(_) => {
            return Ok(failed(format!(
                "A table named {} exists already in Uploads: choose another name, or replace it.",
                plan.table
            )))
        }
    }
    let defs: Vec<String> = plan
        .columns
        .iter()
        .map(|c| format!("{} {}", quote_ident(&c.name), sql_type(c.ty)))
        .collect();
    tx.execute_batch(&format!("CREATE TABLE {table} ({})", defs.join(", ")))?;
    let ncols = plan.columns.len();
    let marks = vec!["?"; ncols].join(", ");
    let mut errors: Vec<RowError> = vec![];
    let mut error_count: u64 = 0;
    let mut done: u64 = 0;
    {
        let mut insert = tx.prepare(&format!("INSERT INTO {table} VALUES ({marks})"))?;
        let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(ncols);
        let mut skip_header = plan.resolved.header;
        let mut report = |e: RowError, count: &mut u64| {
            *count += 1;
            if errors.len() < MAX_ROW_ERRORS {
                errors.push(e);
            }
        };
        each_row(upload, &plan.resolved, &mut |row, cells: &[Cell]| {
            if skip_header {
                skip_header = false;
                return Ok::<(), LoadError>(());
            }
            values.clear();
            // Extra cells are fine when empty (trailing delimiters); missing ones are not.
            let extra = cells.iter().skip(ncols).any(|c| *c != Cell::Empty);
            if (cells.len() < ncols && upload.kind == FileKind::Csv) || extra {
                report(
                    RowError {
                        row,
                        column: String::new(),
                        value: String::new(),
                        reason: format!("has {} values; the file has {ncols} columns", cells.len()),
                    },
                    &mut error_count,
                );
                return Ok(());
            }
            for (i, col) in plan.columns.iter().enumerate() {
                let cell = cells.get(i).unwrap_or(&Cell::Empty);
                match convert(cell, col.ty) {
                    Ok(v) => values.push(v),
                    Err(reason) => report(
                        RowError {
                            row,
                            column: col.name.clone(),
                            value: display(cell).unwrap_or_default(),
                            reason,
                        },
                        &mut error_count,
                    ),
                }
            }
            // After the first bad row nothing will be kept: only look for more errors.
            if error_count == 0 {
                insert.execute(rusqlite::params_from_iter(values.iter()))?;
            }
            done += 1;
            if done.is_multiple_of(1000) {
                job.rows_done.store(done, Ordering::Relaxed);
            }
            Ok(())
        })?;
    }
    job.rows_done.store(done, Ordering::Relaxed);
    if error_count > 0 {
        tx.rollback()?;
        return Ok(Outcome {
            state: ImportState::Failed,
            rows: done,
            message: Some(format!(
                "{error_count} {} did not fit the column types; nothing was imported.",
                if error_count == 1 { "value" } else { "values" }
            )),
            errors,
            error_count,
            elapsed: Duration::ZERO,
            finished: Instant::now(),
        });
    }
    tx.commit()?;
    Ok(Outcome {
        state: ImportState::Done,
        rows: done,
        errors: vec![],
        error_count: 0,
        message: None,
        elapsed: Duration::ZERO,
        finished: Instant::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Cell {
        Cell::Text(s.into())
    }

    fn infer(values: &[Cell]) -> ColumnType {
        let mut inf = Inference::default();
        for v in values {
            inf.add(std::slice::from_ref(v));
        }
        inf.column(0)
    }

    #[test]
    fn types_are_inferred_from_every_value() {
        assert_eq!(
            infer(&[text("1"), text("-2"), Cell::Empty]),
            ColumnType::Integer
        );
        assert_eq!(infer(&[text("1"), text("2.5")]), ColumnType::Real);
        assert_eq!(infer(&[text("1e3"), Cell::Float(2.0)]), ColumnType::Real);
        assert_eq!(
            infer(&[Cell::Float(2.0), Cell::Int(3)]),
            ColumnType::Integer
        );
        assert_eq!(
            infer(&[text("yes"), text("No"), Cell::Bool(true)]),
            ColumnType::Boolean
        );
        assert_eq!(
            infer(&[
                text("2024-01-31"),
                Cell::Date(NaiveDate::from_ymd_opt(2024, 2, 1).unwrap())
            ]),
            ColumnType::Date
        );
        assert_eq!(
            infer(&[text("2024-01-31"), text("2024-01-31 10:00")]),
            ColumnType::Datetime
        );
        assert_eq!(infer(&[text("2024-01-31T10:00:00Z")]), ColumnType::Datetime);
        assert_eq!(infer(&[text("1"), text("abc")]), ColumnType::Text);
        assert_eq!(
            infer(&[text("00123"), text("1")]),
            ColumnType::Text,
            "leading zeros stay text"
        );
        assert_eq!(infer(&[text("inf"), text("NaN")]), ColumnType::Text);
        assert_eq!(infer(&[Cell::Empty]), ColumnType::Text);
        assert_eq!(infer(&[Cell::Error("#DIV/0!".into())]), ColumnType::Text);
    }

    #[test]
    fn values_convert_or_say_why_not() {
        use rusqlite::types::Value as V;
        assert_eq!(
            convert(&text(" 42 "), ColumnType::Integer),
            Ok(V::Integer(42))
        );
        assert_eq!(
            convert(&text("3.0"), ColumnType::Integer),
            Ok(V::Integer(3))
        );
        assert_eq!(
            convert(&text("abc"), ColumnType::Real),
            Err("'abc' is not a number".into())
        );
        assert_eq!(
            convert(&text("3.5"), ColumnType::Integer),
            Err("'3.5' is not a whole number".into())
        );
        assert_eq!(convert(&text("y"), ColumnType::Boolean), Ok(V::Integer(1)));
        assert_eq!(
            convert(&Cell::Int(0), ColumnType::Boolean),
            Ok(V::Integer(0))
        );
        assert_eq!(
            convert(&text("2024-02-30"), ColumnType::Date),
            Err("'2024-02-30' is not a date (YYYY-MM-DD)".into())
        );
        assert_eq!(
            convert(&text("2024-02-03T04:05:06+02:00"), ColumnType::Datetime),
            Ok(V::Text("2024-02-03 02:05:06".into()))
        );
        assert_eq!(
            convert(&Cell::Float(1.5), ColumnType::Text),
            Ok(V::Text("1.5".into()))
        );
        assert_eq!(
            convert(&Cell::Float(7.0), ColumnType::Text),
            Ok(V::Text("7".into()))
        );
        assert_eq!(convert(&Cell::Empty, ColumnType::Integer), Ok(V::Null));
    }

    #[test]
    fn header_rows_are_told_from_data_rows() {
        let mut rest = Inference::default();
        rest.add(&[text("1"), text("a")]);
        rest.add(&[text("2"), text("b")]);
        assert!(looks_like_header(&[text("id"), text("name")], &rest));
        assert!(!looks_like_header(&[text("0"), text("z")], &rest));
        assert!(
            !looks_like_header(&[text("0.5"), text("z")], &rest),
            "a decimal above whole numbers"
        );
        // Nothing typed below: a header is assumed.
        let mut words = Inference::default();
        words.add(&[text("x")]);
        assert!(looks_like_header(&[text("y")], &words));
    }

    #[test]
    fn header_cells_become_unique_names() {
        let names = column_names(
            &[
                text(" Amount "),
                text("amount"),
                Cell::Empty,
                text("a\"; drop table x; --"),
                text("a\tb"),
            ],
            6,
        );
        assert_eq!(
            names,
            [
                "Amount",
                "amount_2",
                "column_3",
                "a\"; drop table x; --",
                "a b",
                "column_6"
            ]
        );
    }
}
