//! Exports of a result as CSV, JSON or XLSX: rows become an HTTP body as they arrive, in
//! constant memory and without a row cap, and a slow client holds the database back.
use crate::{
    model::insight::{ExportState, ExportStatus},
    server::connectors::{ConnectorError, CopyOut, RowSink, RunSummary},
};
use bytes::Bytes;
use futures::{future::BoxFuture, Stream};
use guard::CopyGuard;
use std::{
    collections::HashMap,
    io,
    path::Path,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    task::{ready, Context, Poll},
    time::{Duration, Instant},
};
use text::{csv_writer, CsvSink, JsonSink};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use xlsx::XlsxSink;

mod cell;
mod guard;
mod text;
mod xlsx;

pub use guard::{formula_like, FormulaGuard};
pub use xlsx::{workbook, Book};

#[cfg(test)]
mod tests;

/// Chunks a body holds before `flush()` waits for the client.
const BODY_CHUNKS: usize = 8;
/// Row batches the XLSX writer thread holds before `flush()` waits for it.
const XLSX_BATCHES: usize = 4;
/// Size of the XLSX chunks sent to the client.
const XLSX_CHUNK: usize = 64 * 1024;
/// Excel's last row is 1,048,576; one of them is the header.
pub const XLSX_ROWS_PER_SHEET: u32 = 1_048_575;
const XLSX_MAX_COLUMNS: usize = 16_384;
/// Excel's cell limit, in UTF-16 units.
const XLSX_MAX_TEXT: usize = 32_767;
/// Past this much sheet XML (a rough count), the zip needs ZIP64 entries.
const XLSX_ZIP64_AT: u64 = 2 << 30;

/// A download format of a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Json,
    Xlsx,
}

impl ExportFormat {
    /// `csv`, `json` or `xlsx`, in any case.
    pub fn from_extension(ext: &str) -> Option<Self> {
        [Self::Csv, Self::Json, Self::Xlsx]
            .into_iter()
            .find(|f| f.extension().eq_ignore_ascii_case(ext))
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Json => "json",
            Self::Xlsx => "xlsx",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

/// A download's progress, readable and cancellable by its owner while it runs: the export URL
/// names it with `?progress=<token>` (a token the page made up), the page polls it.
pub struct Progress {
    owner: i64,
    rows: AtomicU64,
    /// False when the database writes the file itself and rows are not seen one by one.
    counts_rows: AtomicBool,
    bytes: AtomicU64,
    started: Instant,
    /// Set once the body ended: how, and when.
    ended: Mutex<Option<(ExportState, Option<String>, Instant)>>,
    /// Stops the database run (and so the download).
    pub cancel: CancellationToken,
}

impl Progress {
    pub fn status(&self) -> ExportStatus {
        let ended = self.ended.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let (state, error, at) = match ended {
            Some((state, error, at)) => (state, error, at),
            None => (ExportState::Running, None, Instant::now()),
        };
        ExportStatus {
            state,
            rows: self
                .counts_rows
                .load(Ordering::Relaxed)
                .then(|| self.rows.load(Ordering::Relaxed)),
            bytes: self.bytes.load(Ordering::Relaxed),
            elapsed_ms: at.duration_since(self.started).as_millis() as u64,
            error,
        }
    }

    /// Rows are not counted from here on (the database writes the CSV itself).
    pub fn bytes_only(&self) {
        self.counts_rows.store(false, Ordering::Relaxed);
    }

    /// Records how the download ended (the first call wins).
    pub fn end(&self, result: &Result<(), ConnectorError>) {
        let mut ended = self.ended.lock().unwrap_or_else(|e| e.into_inner());
        if ended.is_some() {
            return;
        }
        let (state, error) = match result {
            Ok(()) => (ExportState::Done, None),
            Err(_) if self.cancel.is_cancelled() => (ExportState::Cancelled, None),
            Err(e) => (ExportState::Failed, Some(e.to_string())),
        };
        *ended = Some((state, error, Instant::now()));
    }

    fn finished_before(&self, t: Instant) -> bool {
        self.ended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .is_some_and(|(_, _, at)| *at < t)
    }
}

/// The downloads with a progress token, per owner. Ended ones are kept for a few minutes so
/// the page can read how they ended.
#[derive(Default)]
pub struct Exports {
    by_token: Mutex<HashMap<String, Arc<Progress>>>,
}

/// How long an ended download's progress stays readable.
const KEEP_ENDED: Duration = Duration::from_secs(300);
/// Downloads tracked at most (running ones are never dropped).
const MAX_TRACKED: usize = 1000;

impl Exports {
    /// Starts tracking a download of `owner` under `token` (a token of another owner is
    /// refused, one of the same owner starts over).
    pub fn start(&self, owner: i64, token: &str) -> Option<Arc<Progress>> {
        let mut map = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(token).is_some_and(|p| p.owner != owner) {
            return None;
        }
        if let Some(cut) = Instant::now().checked_sub(KEEP_ENDED) {
            map.retain(|_, p| !p.finished_before(cut));
        }
        if map.len() >= MAX_TRACKED && !map.contains_key(token) {
            return None;
        }
        let progress = Arc::new(Progress {
            owner,
            rows: AtomicU64::new(0),
            counts_rows: AtomicBool::new(true),
            bytes: AtomicU64::new(0),
            started: Instant::now(),
            ended: Mutex::new(None),
            cancel: CancellationToken::new(),
        });
        map.insert(token.to_string(), progress.clone());
        Some(progress)
    }

    /// The owner's download under `token`.
    pub fn get(&self, owner: i64, token: &str) -> Option<Arc<Progress>> {
        let map = self.by_token.lock().unwrap_or_else(|e| e.into_inner());
        map.get(token).filter(|p| p.owner == owner).cloned()
    }
}

/// A sink whose output is a stream of byte chunks for an HTTP body.
pub trait ExportSink: RowSink {
    /// Where the database's own CSV goes, for a sink that can take it as it is (CSV).
    fn copy_out(&mut self) -> Option<&mut dyn CopyOut> {
        None
    }

    /// Called once after the run. `Ok` writes the trailer (JSON's `]…`, XLSX's whole file)
    /// and ends the body; `Err` ends the body with an `io::Error`, so the download fails
    /// visibly instead of looking complete.
    fn finish(
        self: Box<Self>,
        result: Result<RunSummary, ConnectorError>,
    ) -> BoxFuture<'static, ()>;
}

/// A sink and the body it feeds. XLSX scratch files go to `tmp_dir`; they have no name on
/// disk, so the system frees them however the export ends. Both the run and `finish` wait
/// for the client to read: drive them in a spawned task and return the body at once.
/// CSV cells that could run as spreadsheet formulas are neutralized (see [`FormulaGuard`]).
pub fn export(format: ExportFormat, tmp_dir: &Path) -> (Box<dyn ExportSink>, BodyStream) {
    export_tracked(format, tmp_dir, None, FormulaGuard::On)
}

/// [`export`], counting rows and bytes into `progress`; `guard` says whether CSV cells that
/// a spreadsheet would run as formulas are neutralized.
pub fn export_tracked(
    format: ExportFormat,
    tmp_dir: &Path,
    progress: Option<Arc<Progress>>,
    guard: FormulaGuard,
) -> (Box<dyn ExportSink>, BodyStream) {
    let (tx, rx) = mpsc::channel(BODY_CHUNKS);
    let body = BodySender { tx, progress };
    let sink: Box<dyn ExportSink> = match format {
        ExportFormat::Csv => Box::new(CsvSink {
            out: csv_writer(0),
            raw: Vec::new(),
            guard: (guard == FormulaGuard::On).then(CopyGuard::default),
            cell: String::new(),
            body,
        }),
        ExportFormat::Json => Box::new(JsonSink {
            out: Vec::new(),
            body,
            started: false,
            first_row: true,
        }),
        ExportFormat::Xlsx => Box::new(XlsxSink::new(tmp_dir, XLSX_ROWS_PER_SHEET, body)),
    };
    (sink, BodyStream { rx, ended: false })
}

/// What a sink sends its body.
enum Chunk {
    Data(Bytes),
    Done,
    Failed(String),
}

/// The HTTP body of an export. It ends with an error unless the sink finished with `Ok`,
/// also when the sink was dropped half way.
pub struct BodyStream {
    rx: mpsc::Receiver<Chunk>,
    ended: bool,
}

impl Stream for BodyStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.ended {
            return Poll::Ready(None);
        }
        let item = match ready!(self.rx.poll_recv(cx)) {
            Some(Chunk::Data(bytes)) => return Poll::Ready(Some(Ok(bytes))),
            Some(Chunk::Done) => None,
            Some(Chunk::Failed(why)) => Some(Err(io::Error::other(why))),
            None => Some(Err(io::Error::other(
                "the export stopped before it was complete",
            ))),
        };
        self.ended = true;
        self.rx.close();
        Poll::Ready(item)
    }
}

fn cancelled() -> ConnectorError {
    ConnectorError::Output("the download was cancelled".into())
}

fn output_error(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Output(format!("could not write the export: {e}"))
}

#[derive(Clone)]
struct BodySender {
    tx: mpsc::Sender<Chunk>,
    progress: Option<Arc<Progress>>,
}

impl BodySender {
    fn check(&self) -> Result<(), ConnectorError> {
        if self.tx.is_closed() {
            Err(cancelled())
        } else {
            Ok(())
        }
    }

    /// [`check`](Self::check) before taking a row, which counts it.
    fn take_row(&self) -> Result<(), ConnectorError> {
        self.check()?;
        if let Some(p) = &self.progress {
            p.rows.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn sent(&self, bytes: usize) {
        if let Some(p) = &self.progress {
            p.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        }
    }

    /// Sends what `take` gives once the client made room; nothing is taken before, so a
    /// dropped future loses no bytes.
    async fn send_with(
        &self,
        take: impl FnOnce() -> Result<Bytes, ConnectorError>,
    ) -> Result<(), ConnectorError> {
        let permit = self.tx.reserve().await.map_err(|_| cancelled())?;
        let bytes = take()?;
        if !bytes.is_empty() {
            self.sent(bytes.len());
            permit.send(Chunk::Data(bytes));
        }
        Ok(())
    }

    async fn end(&self, outcome: Result<(), String>) {
        let last = match outcome {
            Ok(()) => Chunk::Done,
            Err(why) => Chunk::Failed(why),
        };
        let _ = self.tx.send(last).await;
    }
}
