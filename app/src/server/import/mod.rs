//! Imports: CSV and Excel files loaded into the built-in "Uploads" SQLite database as new
//! tables. An upload is kept in a private directory of the data dir and previewed (delimiter,
//! header row and column types detected); the import then runs in the background, in one
//! transaction, so a file with a bad row creates nothing. Names from files reach SQL only
//! quoted and values only as bound parameters.
use crate::{
    error::AppError,
    model::{
        connection::ConnectionId,
        import::{
            quote_ident, FileKind, ImportId, ImportState, ImportStatus, ReadOptions, RowError,
            UploadId,
        },
        UserId,
    },
    server::Principal,
};
use chrono::{NaiveDate, NaiveDateTime};
use std::{
    collections::HashMap,
    path::PathBuf,
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

mod infer;
mod load;
mod preview;
mod read;
mod service;

pub use service::{ensure_uploads, preview, start, status, upload, UploadError};

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
// How a file is read, and its values
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

/// A size as people read it (KB below a megabyte).
fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MB", bytes / (1 << 20))
    } else {
        format!("{} KB", bytes.div_ceil(1024))
    }
}
