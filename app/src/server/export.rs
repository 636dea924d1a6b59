//! Exports of a result as CSV, JSON or XLSX: rows become an HTTP body as they arrive, in
//! constant memory and without a row cap, and a slow client holds the database back.
use crate::{
    model::{
        insight::{ExportState, ExportStatus},
        query::{Column, Value},
    },
    server::connectors::{ConnectorError, CopyOut, RowSink, RunSummary},
};
use bytes::Bytes;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime};
use futures::{future::BoxFuture, Stream};
use rust_xlsxwriter::{ColNum, Format, RowNum, Workbook, Worksheet, XlsxError};
use std::{
    borrow::Cow,
    collections::HashMap,
    io::{self, Write},
    path::{Path, PathBuf},
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    task::{ready, Context, Poll},
    time::{Duration, Instant},
};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

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

/// Whether CSV exports neutralize cells a spreadsheet would run as formulas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormulaGuard {
    /// Text starting with `=`, `+`, `-`, `@`, tab or CR (or the full-width `＝＋－＠`) gets a
    /// leading `'`, as OWASP recommends, so a spreadsheet shows it as text. Plain numbers
    /// (`-5`, `+1.5`, `-2e3`) are left alone, and so are values of numeric columns.
    On,
    /// Cells exactly as the database returned them (for programs reading the file).
    Off,
}

impl FormulaGuard {
    pub fn from_setting(on: bool) -> Self {
        if on {
            FormulaGuard::On
        } else {
            FormulaGuard::Off
        }
    }
}

/// Whether a spreadsheet would read `cell` as a formula: it starts with a formula character
/// and is not a plain number (which a spreadsheet reads as that number, harmlessly).
pub fn formula_like(cell: &[u8]) -> bool {
    const WIDE: [&[u8]; 4] = [
        "\u{FF1D}".as_bytes(), // ＝
        "\u{FF0B}".as_bytes(), // ＋
        "\u{FF0D}".as_bytes(), // －
        "\u{FF20}".as_bytes(), // ＠
    ];
    match cell.first() {
        Some(b'=' | b'@' | b'\t' | b'\r') => true,
        Some(b'+' | b'-') => !plain_number(cell),
        Some(0xEF) => WIDE.iter().any(|w| cell.starts_with(w)),
        _ => false,
    }
}

/// `[+-]digits[.digits][e[+-]digits]`, `[+-].digits`, or `[+-]Infinity`/`NaN`: what numeric
/// columns print.
fn plain_number(cell: &[u8]) -> bool {
    let s = cell
        .strip_prefix(b"+")
        .or_else(|| cell.strip_prefix(b"-"))
        .unwrap_or(cell);
    if s.eq_ignore_ascii_case(b"infinity")
        || s.eq_ignore_ascii_case(b"inf")
        || s.eq_ignore_ascii_case(b"nan")
    {
        return true;
    }
    let (mantissa, exponent) = match s.iter().position(|b| matches!(b, b'e' | b'E')) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let (int, frac) = match mantissa.iter().position(|&b| b == b'.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, &b""[..]),
    };
    let digits = |d: &[u8]| d.iter().all(u8::is_ascii_digit);
    let mantissa_ok = (!int.is_empty() || !frac.is_empty()) && digits(int) && digits(frac);
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e
            .strip_prefix(b"+")
            .or_else(|| e.strip_prefix(b"-"))
            .unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

/// Neutralizes formula-like fields in CSV text as it streams (PostgreSQL's `COPY` output):
/// records are cut at line ends outside quotes, however the bytes are split into chunks.
#[derive(Default)]
struct CopyGuard {
    /// The start of a record whose end has not arrived yet.
    pending: Vec<u8>,
    /// Inside a quoted field at the end of `pending`.
    quoted: bool,
}

impl CopyGuard {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'"' {
                self.quoted = !self.quoted;
            } else if b == b'\n' && !self.quoted {
                if self.pending.is_empty() {
                    guard_record(&bytes[start..=i], out);
                } else {
                    self.pending.extend_from_slice(&bytes[start..=i]);
                    guard_record(&self.pending, out);
                    self.pending.clear();
                }
                start = i + 1;
            }
        }
        self.pending.extend_from_slice(&bytes[start..]);
    }

    /// The last record when the text did not end with a line break.
    fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            guard_record(&self.pending, out);
            self.pending.clear();
        }
        self.quoted = false;
    }
}

/// Appends one CSV record to `out` with a `'` put before the content of every formula-like
/// field (inside its quotes when quoted).
fn guard_record(record: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    loop {
        let start = i;
        let (content, end) = if record.get(i) == Some(&b'"') {
            i += 1;
            while i < record.len() {
                if record[i] == b'"' {
                    if record.get(i + 1) == Some(&b'"') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            let content = &record[start + 1..i.min(record.len())];
            i = (i + 1).min(record.len());
            while i < record.len() && !matches!(record[i], b',' | b'\n' | b'\r') {
                i += 1;
            }
            (content, i)
        } else {
            while i < record.len() && !matches!(record[i], b',' | b'\n' | b'\r') {
                i += 1;
            }
            (&record[start..i], i)
        };
        if formula_like(content) {
            if record[start] == b'"' {
                out.extend_from_slice(b"\"'");
                out.extend_from_slice(&record[start + 1..end]);
            } else {
                out.push(b'\'');
                out.extend_from_slice(&record[start..end]);
            }
        } else {
            out.extend_from_slice(&record[start..end]);
        }
        if record.get(end) == Some(&b',') {
            out.push(b',');
            i = end + 1;
        } else {
            out.extend_from_slice(&record[end..]);
            return;
        }
    }
}

/// RFC 4180 CSV with a header row; NULL is an empty field. Rows come either as values
/// (`out`) or as CSV the database wrote itself (`raw`, PostgreSQL's `COPY`).
struct CsvSink {
    out: csv::Writer<Vec<u8>>,
    raw: Vec<u8>,
    /// Set when formula-like cells are neutralized (the database's own CSV goes through it).
    guard: Option<CopyGuard>,
    /// Scratch for a neutralized cell.
    cell: String,
    body: BodySender,
}

impl CsvSink {
    fn write_text(&mut self, text: &str) -> Result<(), ConnectorError> {
        if self.guard.is_some() && formula_like(text.as_bytes()) {
            self.cell.clear();
            self.cell.push('\'');
            self.cell.push_str(text);
            self.out.write_field(self.cell.as_bytes())
        } else {
            self.out.write_field(text.as_bytes())
        }
        .map_err(output_error)
    }
}

fn csv_writer(capacity: usize) -> csv::Writer<Vec<u8>> {
    csv::Writer::from_writer(Vec::with_capacity(capacity))
}

/// The CSV written since the last call (csv's writer lends no `&mut` to its buffer).
fn take_csv(out: &mut csv::Writer<Vec<u8>>) -> Result<Bytes, ConnectorError> {
    let capacity = out.get_ref().capacity();
    let full = std::mem::replace(out, csv_writer(capacity));
    let buf = full.into_inner().map_err(|e| output_error(e.error()))?;
    Ok(Bytes::from(buf))
}

impl RowSink for CsvSink {
    fn columns(&mut self, columns: &[Column]) -> Result<(), ConnectorError> {
        for c in columns {
            self.write_text(&c.name)?;
        }
        self.out.write_record(None::<&[u8]>).map_err(output_error)
    }

    fn row(&mut self, row: Vec<Value>) -> Result<(), ConnectorError> {
        self.body.take_row()?;
        // Field by field, integers through a stack buffer: no String per cell.
        let mut int = itoa::Buffer::new();
        for v in &row {
            match v {
                Value::Int(i) => self.out.write_field(int.format(*i)),
                Value::UInt(u) => self.out.write_field(int.format(*u)),
                // Numbers stay numbers: `-5` is a value, not a formula.
                Value::Float(_) | Value::Decimal(_) | Value::Bool(_) | Value::Null => self
                    .out
                    .write_field(v.text().unwrap_or(Cow::Borrowed("")).as_bytes()),
                other => {
                    let text = other.text().unwrap_or(Cow::Borrowed(""));
                    self.write_text(&text)?;
                    continue;
                }
            }
            .map_err(output_error)?;
        }
        self.out.write_record(None::<&[u8]>).map_err(output_error)
    }

    fn flush(&mut self) -> BoxFuture<'_, Result<(), ConnectorError>> {
        let (out, raw) = (&mut self.out, &mut self.raw);
        Box::pin(self.body.send_with(move || {
            if raw.is_empty() {
                return take_csv(out);
            }
            let capacity = raw.capacity();
            Ok(Bytes::from(std::mem::replace(
                raw,
                Vec::with_capacity(capacity),
            )))
        }))
    }
}

impl CopyOut for CsvSink {
    fn write(&mut self, bytes: &[u8]) -> Result<(), ConnectorError> {
        self.body.check()?;
        match &mut self.guard {
            Some(guard) => guard.feed(bytes, &mut self.raw),
            None => self.raw.extend_from_slice(bytes),
        }
        Ok(())
    }

    fn flush(&mut self) -> BoxFuture<'_, Result<(), ConnectorError>> {
        RowSink::flush(self)
    }
}

impl ExportSink for CsvSink {
    fn copy_out(&mut self) -> Option<&mut dyn CopyOut> {
        Some(self)
    }

    fn finish(
        mut self: Box<Self>,
        result: Result<RunSummary, ConnectorError>,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let outcome = match result {
                Ok(_) => {
                    let this = &mut *self;
                    if let Some(guard) = &mut this.guard {
                        guard.finish(&mut this.raw);
                    }
                    RowSink::flush(this).await
                }
                Err(e) => Err(e),
            };
            self.body.end(outcome.map_err(|e| e.to_string())).await;
        })
    }
}

/// `{"columns":[…],"rows":[[…],…],"row_count":N,"elapsed_ms":N}`, as the CLI writes it.
struct JsonSink {
    out: Vec<u8>,
    body: BodySender,
    started: bool,
    first_row: bool,
}

impl RowSink for JsonSink {
    fn columns(&mut self, columns: &[Column]) -> Result<(), ConnectorError> {
        self.started = true;
        self.out.extend_from_slice(b"{\"columns\":");
        serde_json::to_writer(&mut self.out, columns).map_err(output_error)?;
        self.out.extend_from_slice(b",\"rows\":[");
        Ok(())
    }

    fn row(&mut self, row: Vec<Value>) -> Result<(), ConnectorError> {
        self.body.take_row()?;
        if !self.first_row {
            self.out.push(b',');
        }
        self.first_row = false;
        serde_json::to_writer(&mut self.out, &row).map_err(output_error)
    }

    fn flush(&mut self) -> BoxFuture<'_, Result<(), ConnectorError>> {
        let out = &mut self.out;
        Box::pin(self.body.send_with(move || {
            let capacity = out.capacity();
            Ok(Bytes::from(std::mem::replace(
                out,
                Vec::with_capacity(capacity),
            )))
        }))
    }
}

impl ExportSink for JsonSink {
    fn finish(
        mut self: Box<Self>,
        result: Result<RunSummary, ConnectorError>,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let outcome = match result {
                Ok(summary) => {
                    if !self.started {
                        self.out.extend_from_slice(b"{\"columns\":[],\"rows\":[");
                    }
                    let trailer = format!(
                        "],\"row_count\":{},\"elapsed_ms\":{}}}\n",
                        summary.row_count,
                        summary.elapsed.as_millis()
                    );
                    self.out.extend_from_slice(trailer.as_bytes());
                    self.flush().await
                }
                Err(e) => Err(e),
            };
            self.body.end(outcome.map_err(|e| e.to_string())).await;
        })
    }
}

/// An Excel workbook written by a thread of its own in constant-memory mode, then streamed
/// to the client as it is zipped.
struct XlsxSink {
    tmp_dir: PathBuf,
    /// Data rows per sheet; more continue on the next sheet, under the header again.
    rows_per_sheet: u32,
    batch: Vec<Vec<Value>>,
    writer: Option<XlsxWriter>,
    body: BodySender,
    /// The name of the sheet the next result starts (a [`Book`]'s); `None`: "Sheet 1".
    next_sheet: Option<String>,
    /// A new sheet to start before the rows in `batch` (sent by the next flush).
    pending_sheet: Option<Batch>,
}

/// The sink's end of the writer thread: dropping `rows` without a `Finish` abandons the file.
struct XlsxWriter {
    rows: mpsc::Sender<Batch>,
    done: oneshot::Receiver<Result<(), String>>,
}

enum Batch {
    Rows(Vec<Vec<Value>>),
    /// The rows after this go to a new sheet of this name, under these columns.
    Sheet(String, Vec<Column>),
    Finish,
}

impl XlsxSink {
    fn new(tmp_dir: &Path, rows_per_sheet: u32, body: BodySender) -> Self {
        XlsxSink {
            tmp_dir: tmp_dir.to_path_buf(),
            rows_per_sheet: rows_per_sheet.max(1),
            batch: Vec::new(),
            writer: None,
            body,
            next_sheet: None,
            pending_sheet: None,
        }
    }

    fn start(&mut self, columns: &[Column]) -> Result<(), ConnectorError> {
        if self.writer.is_some() {
            return Ok(());
        }
        if columns.len() > XLSX_MAX_COLUMNS {
            return Err(ConnectorError::Output(format!(
                "An Excel sheet holds at most {XLSX_MAX_COLUMNS} columns and this result has {}: export CSV instead.",
                columns.len()
            )));
        }
        let (rows, rx) = mpsc::channel(XLSX_BATCHES);
        let (done_tx, done) = oneshot::channel();
        let job = XlsxJob {
            columns: columns.to_vec(),
            first_sheet: self.next_sheet.take(),
            tmp_dir: self.tmp_dir.clone(),
            rows_per_sheet: self.rows_per_sheet,
            body: self.body.clone(),
        };
        std::thread::Builder::new()
            .name("xlsx-export".into())
            .spawn(move || {
                let result = job
                    .run(rx)
                    .map_err(|e| format!("could not write the XLSX file: {e}"));
                let _ = done_tx.send(result);
            })
            .map_err(|e| output_error(format!("no XLSX writer thread: {e}")))?;
        self.writer = Some(XlsxWriter { rows, done });
        Ok(())
    }

    /// Why the writer thread stopped early.
    async fn writer_failure(&mut self) -> ConnectorError {
        let why = match self.writer.take() {
            Some(w) => w.done.await.ok().and_then(Result::err),
            None => None,
        };
        ConnectorError::Output(why.unwrap_or_else(|| "the XLSX writer stopped".into()))
    }

    async fn complete(&mut self) -> Result<(), ConnectorError> {
        self.start(&[])?;
        self.flush().await?;
        let Some(writer) = self.writer.take() else {
            return Err(ConnectorError::Output("the XLSX writer stopped".into()));
        };
        if writer.rows.send(Batch::Finish).await.is_err() {
            self.writer = Some(writer);
            return Err(self.writer_failure().await);
        }
        // The thread zips the file into the body; this returns when the last byte is sent.
        match writer.done.await {
            Ok(result) => result.map_err(ConnectorError::Output),
            Err(_) => Err(ConnectorError::Output("the XLSX writer stopped".into())),
        }
    }
}

impl RowSink for XlsxSink {
    fn columns(&mut self, columns: &[Column]) -> Result<(), ConnectorError> {
        if self.writer.is_some() {
            // A later result of a [`Book`]: its own sheet (the previous one was flushed).
            if let Some(name) = self.next_sheet.take() {
                if columns.len() > XLSX_MAX_COLUMNS {
                    return Err(ConnectorError::Output(format!(
                        "An Excel sheet holds at most {XLSX_MAX_COLUMNS} columns and this result has {}.",
                        columns.len()
                    )));
                }
                self.pending_sheet = Some(Batch::Sheet(name, columns.to_vec()));
            }
            return Ok(());
        }
        self.start(columns)
    }

    fn row(&mut self, row: Vec<Value>) -> Result<(), ConnectorError> {
        self.body.take_row()?;
        self.batch.push(row);
        Ok(())
    }

    fn flush(&mut self) -> BoxFuture<'_, Result<(), ConnectorError>> {
        Box::pin(async move {
            self.body.check()?;
            if self.batch.is_empty() && self.pending_sheet.is_none() {
                return Ok(());
            }
            if self.writer.is_none() {
                self.start(&[])?;
            }
            let Some(writer) = &self.writer else {
                return Ok(());
            };
            let mut sent = true;
            if let Some(sheet) = self.pending_sheet.take() {
                match writer.rows.reserve().await {
                    Ok(permit) => permit.send(sheet),
                    Err(_) => sent = false,
                }
            }
            if sent && !self.batch.is_empty() {
                match writer.rows.reserve().await {
                    Ok(permit) => permit.send(Batch::Rows(std::mem::take(&mut self.batch))),
                    Err(_) => sent = false,
                }
            }
            if sent {
                Ok(())
            } else {
                Err(self.writer_failure().await)
            }
        })
    }
}

impl ExportSink for XlsxSink {
    fn finish(
        mut self: Box<Self>,
        result: Result<RunSummary, ConnectorError>,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let outcome = match result {
                Ok(_) => self.complete().await,
                Err(e) => {
                    // Dropping the writer abandons the workbook.
                    self.writer.take();
                    Err(e)
                }
            };
            self.body.end(outcome.map_err(|e| e.to_string())).await;
        })
    }
}

/// What the writer thread needs.
struct XlsxJob {
    columns: Vec<Column>,
    /// The first sheet's name (`None`: "Sheet 1", "Sheet 2", … as rows overflow).
    first_sheet: Option<String>,
    tmp_dir: PathBuf,
    rows_per_sheet: u32,
    body: BodySender,
}

struct Styles {
    header: Format,
    date: Format,
    datetime: Format,
}

impl XlsxJob {
    fn run(mut self, mut rx: mpsc::Receiver<Batch>) -> Result<(), XlsxError> {
        std::fs::create_dir_all(&self.tmp_dir)?;
        let mut book = Workbook::new();
        book.set_tempdir(&self.tmp_dir)?;
        // zlib-rs's "fast" strategy: a third less time zipping than level 3 (its "medium")
        // for about 4% more bytes; level 1 would be faster still but 40% bigger.
        book.set_zip_compression_level(2);
        let styles = Styles {
            header: Format::new().set_bold(),
            date: Format::new().set_num_format("yyyy-mm-dd"),
            datetime: Format::new().set_num_format("yyyy-mm-dd hh:mm:ss"),
        };
        let mut names = SheetNames::default();
        // The current result's base name (`None`: "Sheet N") and its sheets so far.
        let mut base = self.first_sheet.take();
        let mut sheets = 1;
        let first = names.take(base.as_deref(), sheets);
        let mut sheet = self.add_sheet(&mut book, first, &styles)?;
        let mut row_no: RowNum = 0;
        let mut xml_bytes: u64 = 0;
        loop {
            match rx.blocking_recv() {
                Some(Batch::Rows(rows)) => {
                    for row in rows {
                        if row_no == self.rows_per_sheet {
                            sheets += 1;
                            let name = names.take(base.as_deref(), sheets);
                            sheet = self.add_sheet(&mut book, name, &styles)?;
                            row_no = 0;
                        }
                        row_no += 1;
                        if row_no == 1 {
                            set_widths(sheet, &self.columns, &row)?;
                        }
                        xml_bytes += 32;
                        for (col, v) in row.into_iter().enumerate() {
                            let col = ColNum::try_from(col)
                                .map_err(|_| XlsxError::RowColumnLimitError)?;
                            xml_bytes += write_cell(sheet, row_no, col, v, &styles)? as u64;
                        }
                    }
                }
                Some(Batch::Sheet(name, columns)) => {
                    self.columns = columns;
                    base = Some(name);
                    sheets = 1;
                    let name = names.take(base.as_deref(), sheets);
                    sheet = self.add_sheet(&mut book, name, &styles)?;
                    row_no = 0;
                }
                Some(Batch::Finish) => break,
                // The run failed or the sink was dropped: nothing to save.
                None => return Ok(()),
            }
        }
        book.use_zip_large_file(xml_bytes > XLSX_ZIP64_AT);
        let mut out = ChunkWriter {
            buf: Vec::with_capacity(XLSX_CHUNK),
            body: self.body.clone(),
        };
        book.save_to_writer(&mut out)?;
        out.send()?;
        Ok(())
    }

    fn add_sheet<'b>(
        &self,
        book: &'b mut Workbook,
        name: String,
        styles: &Styles,
    ) -> Result<&'b mut Worksheet, XlsxError> {
        let sheet = book.add_worksheet_with_constant_memory()?;
        sheet.set_name(name)?;
        for (col, c) in self.columns.iter().enumerate() {
            let col = ColNum::try_from(col).map_err(|_| XlsxError::RowColumnLimitError)?;
            sheet.write_string_with_format(0, col, excel_text(c.name.clone()), &styles.header)?;
        }
        if !self.columns.is_empty() {
            sheet.set_freeze_panes(1, 0)?;
        }
        Ok(sheet)
    }
}

/// Sheet names as Excel takes them: at most 31 characters, none of `[]:*?/\`, not blank,
/// unique regardless of case.
#[derive(Default)]
struct SheetNames {
    used: std::collections::HashSet<String>,
}

impl SheetNames {
    /// The name of sheet `number` of a result named `base` ("Sheet N" without a name;
    /// "Sales (2)" for the second sheet of "Sales"), made valid and unique.
    fn take(&mut self, base: Option<&str>, number: u32) -> String {
        let clean: String = base
            .unwrap_or("")
            .chars()
            .map(|c| {
                if "[]:*?/\\".contains(c) || c.is_control() {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let clean = clean.trim().trim_matches('\'').trim();
        let stem = if clean.is_empty() { "Sheet" } else { clean };
        let numbered = |n: u32| {
            let suffix = if clean.is_empty() {
                format!(" {n}")
            } else if n > 1 {
                format!(" ({n})")
            } else {
                String::new()
            };
            // Excel counts UTF-16 units; a name may not end with an apostrophe.
            let mut room = 31 - suffix.encode_utf16().count();
            let mut head = String::new();
            for c in stem.chars() {
                if c.len_utf16() > room {
                    break;
                }
                room -= c.len_utf16();
                head.push(c);
            }
            let head = head.trim_end().trim_end_matches('\'').trim_end();
            let head = if head.is_empty() { "Sheet" } else { head };
            format!("{head}{suffix}")
        };
        let mut n = number;
        loop {
            let name = numbered(n);
            if self.used.insert(name.to_lowercase()) {
                return name;
            }
            n += 1;
        }
    }
}

/// A workbook of several results, a named sheet each (a dashboard's tiles, after a sheet of
/// its filters), streamed as it is written. Start each result with [`Book::sheet`], then run
/// it into the book (a [`RowSink`]); [`Book::table`] writes a small sheet of text.
pub struct Book {
    sink: Box<XlsxSink>,
}

/// A [`Book`] and the body it feeds; scratch files go to `tmp_dir`.
pub fn workbook(tmp_dir: &Path) -> (Book, BodyStream) {
    let (tx, rx) = mpsc::channel(BODY_CHUNKS);
    let body = BodySender { tx, progress: None };
    let sink = Box::new(XlsxSink::new(tmp_dir, XLSX_ROWS_PER_SHEET, body));
    (Book { sink }, BodyStream { rx, ended: false })
}

impl Book {
    /// The next result goes to a sheet of this name (made valid and unique).
    pub async fn sheet(&mut self, name: &str) -> Result<(), ConnectorError> {
        self.sink.flush().await?;
        self.sink.pending_sheet = None;
        self.sink.next_sheet = Some(name.to_string());
        Ok(())
    }

    /// A sheet of text: a header row and rows (the filters, or why a tile has no rows).
    pub async fn table(
        &mut self,
        name: &str,
        header: &[&str],
        rows: Vec<Vec<String>>,
    ) -> Result<(), ConnectorError> {
        self.sheet(name).await?;
        let columns: Vec<Column> = header
            .iter()
            .map(|h| Column {
                name: h.to_string(),
                type_name: "TEXT".into(),
            })
            .collect();
        self.sink.columns(&columns)?;
        for r in rows {
            self.sink.row(r.into_iter().map(Value::Text).collect())?;
        }
        self.sink.flush().await
    }

    /// After a result that failed: rows not yet handed to the writer are dropped (the sheet
    /// keeps the rows it already has).
    pub fn discard(&mut self) {
        self.sink.batch.clear();
        self.sink.pending_sheet = None;
        self.sink.next_sheet = None;
    }

    /// True when the last [`Book::sheet`] was named but no result started it (the query
    /// returned no result set).
    pub fn sheet_unstarted(&self) -> bool {
        self.sink.next_sheet.is_some()
    }

    /// Ends the workbook: `Ok` writes it out; `Err` fails the download visibly.
    pub async fn finish(self, result: Result<(), ConnectorError>) {
        let summary = result.map(|_| RunSummary {
            row_count: 0,
            truncated: false,
            elapsed: Duration::ZERO,
        });
        self.sink.finish(summary).await;
    }
}

impl RowSink for Book {
    fn columns(&mut self, columns: &[Column]) -> Result<(), ConnectorError> {
        self.sink.columns(columns)
    }
    fn row(&mut self, row: Vec<Value>) -> Result<(), ConnectorError> {
        self.sink.row(row)
    }
    fn flush(&mut self) -> BoxFuture<'_, Result<(), ConnectorError>> {
        self.sink.flush()
    }
}

/// Widths from the header and the first row's kinds, so dates show instead of `####`.
fn set_widths(sheet: &mut Worksheet, columns: &[Column], first: &[Value]) -> Result<(), XlsxError> {
    for (col, c) in columns.iter().enumerate() {
        let kind = match first.get(col) {
            Some(Value::Date(_)) => 12,
            Some(Value::Timestamp(_) | Value::TimestampTz(_)) => 20,
            _ => 10,
        };
        let width = (c.name.chars().count() + 2).clamp(kind, 50);
        let col = ColNum::try_from(col).map_err(|_| XlsxError::RowColumnLimitError)?;
        sheet.set_column_width(col, width as f64)?;
    }
    Ok(())
}

/// Writes one cell as the Excel type that keeps it faithful; returns a rough count of the
/// XML it adds.
fn write_cell(
    sheet: &mut Worksheet,
    row: RowNum,
    col: ColNum,
    v: Value,
    styles: &Styles,
) -> Result<usize, XlsxError> {
    const CELL: usize = 48;
    let text = match v {
        Value::Null => return Ok(0),
        Value::Bool(b) => {
            sheet.write_boolean(row, col, b)?;
            return Ok(CELL);
        }
        Value::Int(i) => match exact_int(i.unsigned_abs(), i < 0) {
            Some(n) => return number(sheet, row, col, n),
            None => i.to_string(),
        },
        Value::UInt(u) => match exact_int(u, false) {
            Some(n) => return number(sheet, row, col, n),
            None => u.to_string(),
        },
        Value::Float(f) if f.is_finite() => return number(sheet, row, col, f),
        Value::Decimal(d) => match exact_number(&d) {
            Some(n) => return number(sheet, row, col, n),
            None => d,
        },
        Value::Date(s) => match NaiveDate::parse_from_str(&s, "%Y-%m-%d") {
            Ok(d) if excel_year(d.year()) => {
                sheet.write_datetime_with_format(row, col, d, &styles.date)?;
                return Ok(CELL);
            }
            _ => s,
        },
        Value::Timestamp(s) => match parse_timestamp(&s).filter(|t| excel_year(t.year())) {
            Some(t) => {
                sheet.write_datetime_with_format(row, col, t, &styles.datetime)?;
                return Ok(CELL);
            }
            None => s,
        },
        Value::TimestampTz(s) => match DateTime::parse_from_rfc3339(&s)
            .map(|t| t.naive_utc())
            .ok()
            .filter(|t| excel_year(t.year()))
        {
            Some(t) => {
                sheet.write_datetime_with_format(row, col, t, &styles.datetime)?;
                return Ok(CELL);
            }
            None => s,
        },
        Value::Text(s) | Value::Time(s) | Value::Interval(s) | Value::Uuid(s) => s,
        other => other.text().map(Cow::into_owned).unwrap_or_default(),
    };
    let len = text.len();
    sheet.write_string(row, col, excel_text(text))?;
    Ok(CELL + len)
}

fn number(sheet: &mut Worksheet, row: RowNum, col: ColNum, n: f64) -> Result<usize, XlsxError> {
    sheet.write_number(row, col, n)?;
    Ok(48)
}

/// Excel's calendar runs from 1900 to 9999.
fn excel_year(year: i32) -> bool {
    (1900..=9999).contains(&year)
}

fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f"))
        .ok()
}

/// An integer as a number when Excel keeps every digit (at most 15 significant).
fn exact_int(magnitude: u64, negative: bool) -> Option<f64> {
    if magnitude < 1_000_000_000_000_000 {
        let n = magnitude as f64;
        return Some(if negative { -n } else { n });
    }
    let mut buf = itoa::Buffer::new();
    let n = exact_number(buf.format(magnitude))?;
    Some(if negative { -n } else { n })
}

/// A plain decimal as a number when an `f64` (and Excel, which shows 15 digits) keeps it
/// exactly: at most 15 significant digits, within Excel's range.
fn exact_number(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !plain(int) || !plain(frac) {
        return None;
    }
    let digits = || int.bytes().chain(frac.bytes());
    let total = int.len() + frac.len();
    let significant = match digits().position(|b| b != b'0') {
        None => 0,
        Some(first) => {
            let trailing = digits().rev().take_while(|&b| b == b'0').count();
            total - first - trailing
        }
    };
    if significant > 15 {
        return None;
    }
    let n: f64 = text.parse().ok()?;
    if n == 0.0 {
        return Some(0.0); // not -0
    }
    (1e-307..1e308).contains(&n.abs()).then_some(n)
}

/// Text Excel accepts: cut at its cell limit, ending with "…".
fn excel_text(mut s: String) -> String {
    // UTF-8 is never shorter than UTF-16 in units, so short byte lengths need no count.
    if s.len() <= XLSX_MAX_TEXT {
        return s;
    }
    let mut units = 0;
    let mut cut = None;
    for (i, ch) in s.char_indices() {
        units += ch.len_utf16();
        if units > XLSX_MAX_TEXT - 1 && cut.is_none() {
            cut = Some(i);
        }
        if units > XLSX_MAX_TEXT {
            break;
        }
    }
    if units <= XLSX_MAX_TEXT {
        return s;
    }
    if let Some(i) = cut {
        s.truncate(i);
    }
    s.push('…');
    s
}

/// The zip stream into the body, in chunks; blocks the writer thread while the client lags.
struct ChunkWriter {
    buf: Vec<u8>,
    body: BodySender,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(XLSX_CHUNK));
        self.body.sent(chunk.len());
        self.body
            .tx
            .blocking_send(Chunk::Data(Bytes::from(chunk)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the download was cancelled"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= XLSX_CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    /// Chunks go out when full, the rest after the save: small flushes would mean small chunks.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut n = SheetNames::default();
        assert_eq!(n.take(None, 1), "Sheet 1");
        assert_eq!(
            n.take(Some("Sales: EU/US [draft]"), 1),
            "Sales  EU US  draft"
        );
        assert_eq!(
            n.take(Some("sales  eu us  DRAFT"), 1),
            "sales  eu us  DRAFT (2)"
        );
        assert_eq!(n.take(Some("'quoted'"), 1), "quoted");
        // 31 UTF-16 units at most: an emoji takes two; no trailing apostrophe after the cut.
        let long = format!("{}'x", "a".repeat(30));
        assert_eq!(n.take(Some(&long), 1), "a".repeat(30));
        let emoji = format!("{}😀😀", "b".repeat(28));
        let got = n.take(Some(&emoji), 1);
        assert!(got.encode_utf16().count() <= 31, "{got}");
        assert_eq!(got, format!("{}😀", "b".repeat(28)));
        assert_eq!(n.take(Some(":::"), 1), "Sheet 2");
    }
    use calamine::{Data, Reader, Xlsx};
    use futures::StreamExt;
    use std::time::Duration;

    fn col(name: &str, ty: &str) -> Column {
        Column {
            name: name.into(),
            type_name: ty.into(),
        }
    }

    fn summary(rows: u64) -> Result<RunSummary, ConnectorError> {
        Ok(RunSummary {
            row_count: rows,
            truncated: false,
            elapsed: Duration::from_millis(5),
        })
    }

    fn long_text() -> String {
        "é".repeat(40_000)
    }

    /// One column per kind of value; row 0 holds values, row 1 NULLs, row 2 edge cases.
    fn every_kind() -> (Vec<Column>, Vec<Vec<Value>>) {
        let columns = vec![
            col("null", "NULL"),
            col("bool", "BOOL"),
            col("int", "INT8"),
            col("uint", "UINT8"),
            col("float", "FLOAT8"),
            col("decimal", "NUMERIC"),
            col("text", "TEXT"),
            col("bytes", "BYTEA"),
            col("json", "JSONB"),
            col("date", "DATE"),
            col("time", "TIME"),
            col("ts", "TIMESTAMP"),
            col("tstz", "TIMESTAMPTZ"),
            col("interval", "INTERVAL"),
            col("uuid", "UUID"),
            col("array", "INT4[]"),
        ];
        let values = vec![
            Value::Null,
            Value::Bool(true),
            Value::Int(-42),
            Value::UInt(7),
            Value::Float(1.5),
            Value::Decimal("12.3400".into()),
            Value::Text("héllo, \"world\"\nnext".into()),
            Value::Bytes(vec![0xde, 0xad]),
            Value::Json(serde_json::json!({"a": [1, null]})),
            Value::Date("2024-05-01".into()),
            Value::Time("13:45:00".into()),
            Value::Timestamp("2024-05-01T13:45:00.250".into()),
            Value::TimestampTz("2024-05-01T13:45:00+02:00".into()),
            Value::Interval("P1DT2H".into()),
            Value::Uuid("67e55044-10b1-426f-9247-bb680e5fe0c8".into()),
            Value::Array(vec![Value::Int(1), Value::Null]),
        ];
        let nulls = vec![Value::Null; columns.len()];
        let edges = vec![
            Value::Null,
            Value::Bool(false),
            Value::Int(i64::MIN),
            Value::UInt(u64::MAX),
            Value::Float(f64::NAN),
            Value::Decimal("12345678901234567890.000000000123".into()),
            Value::Text(long_text()),
            Value::Bytes(vec![]),
            Value::Json(serde_json::json!("s")),
            Value::Date("0044-03-15".into()),
            Value::Time("23:59:59.999999+02:00".into()),
            Value::Timestamp("infinity".into()),
            Value::TimestampTz("2024-05-01T00:30:00Z".into()),
            Value::Interval("PT0S".into()),
            Value::Uuid("00000000-0000-0000-0000-000000000000".into()),
            Value::Array(vec![]),
        ];
        (columns, vec![values, nulls, edges])
    }

    /// Runs `rows` through a sink while the body is read, flushing every `every` rows.
    async fn drive(
        mut sink: Box<dyn ExportSink>,
        body: BodyStream,
        columns: &[Column],
        rows: Vec<Vec<Value>>,
        every: usize,
    ) -> (Vec<u8>, Option<io::Error>) {
        let reader = tokio::spawn(collect(body));
        let count = rows.len() as u64;
        sink.columns(columns).unwrap();
        for (i, row) in rows.into_iter().enumerate() {
            sink.row(row).unwrap();
            if (i + 1) % every == 0 {
                sink.flush().await.unwrap();
            }
        }
        sink.flush().await.unwrap();
        sink.finish(summary(count)).await;
        reader.await.unwrap()
    }

    async fn collect(mut body: BodyStream) -> (Vec<u8>, Option<io::Error>) {
        let mut bytes = Vec::new();
        while let Some(item) = body.next().await {
            match item {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(e) => {
                    assert!(body.next().await.is_none(), "an error is the last item");
                    return (bytes, Some(e));
                }
            }
        }
        (bytes, None)
    }

    /// Rows of text that compresses badly, so a zip outgrows the body's buffered chunks.
    fn noise(rows: u64) -> Vec<Vec<Value>> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        (0..rows)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                vec![Value::Text(format!("{x:016x}{:016x}", x.rotate_left(29)))]
            })
            .collect()
    }

    async fn feed(sink: &mut Box<dyn ExportSink>, rows: Vec<Vec<Value>>) {
        for (i, row) in rows.into_iter().enumerate() {
            sink.row(row).unwrap();
            if i % 500 == 499 {
                sink.flush().await.unwrap();
            }
        }
        sink.flush().await.unwrap();
    }

    fn tmp() -> PathBuf {
        std::env::temp_dir().join(format!("sightline-export-test-{}", uuid::Uuid::new_v4()))
    }

    fn entries(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    }

    /// Asserts `dir` is empty, then removes it.
    fn assert_clean(dir: &Path) {
        assert!(entries(dir).is_empty(), "left behind: {:?}", entries(dir));
        let _ = std::fs::remove_dir(dir);
    }

    /// Removes an XLSX test's `dir` once its writer thread (maybe still starting) made it.
    async fn remove_when_made(format: ExportFormat, dir: &Path) {
        if format == ExportFormat::Xlsx {
            until(|| dir.exists()).await;
            let _ = std::fs::remove_dir(dir);
        }
    }

    fn xlsx_sink(dir: &Path, rows_per_sheet: u32) -> (Box<dyn ExportSink>, BodyStream) {
        let (tx, rx) = mpsc::channel(BODY_CHUNKS);
        let sink = XlsxSink::new(dir, rows_per_sheet, BodySender { tx, progress: None });
        (Box::new(sink), BodyStream { rx, ended: false })
    }

    fn read_xlsx(bytes: Vec<u8>) -> Xlsx<io::Cursor<Vec<u8>>> {
        calamine::open_workbook_from_rs(io::Cursor::new(bytes)).unwrap()
    }

    fn cell(range: &calamine::Range<Data>, row: u32, col: u32) -> Data {
        range.get_value((row, col)).cloned().unwrap_or(Data::Empty)
    }

    fn number_in(d: &Data) -> f64 {
        match d {
            Data::Float(f) => *f,
            Data::Int(i) => *i as f64,
            other => panic!("not a number: {other:?}"),
        }
    }

    fn datetime_in(d: &Data) -> NaiveDateTime {
        match d {
            Data::DateTime(t) if t.is_datetime() => t.as_datetime().unwrap(),
            other => panic!("not a date: {other:?}"),
        }
    }

    fn string_in(d: &Data) -> &str {
        match d {
            Data::String(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    fn at(ymd: (i32, u32, u32), hms: (u32, u32, u32), milli: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(ymd.0, ymd.1, ymd.2)
            .unwrap()
            .and_hms_milli_opt(hms.0, hms.1, hms.2, milli)
            .unwrap()
    }

    #[test]
    fn formats_map_extensions_and_content_types() {
        assert_eq!(ExportFormat::from_extension("CSV"), Some(ExportFormat::Csv));
        assert_eq!(
            ExportFormat::from_extension("xlsx"),
            Some(ExportFormat::Xlsx)
        );
        assert_eq!(ExportFormat::from_extension("xls"), None);
        for f in [ExportFormat::Csv, ExportFormat::Json, ExportFormat::Xlsx] {
            assert_eq!(ExportFormat::from_extension(f.extension()), Some(f));
        }
        assert!(ExportFormat::Xlsx.content_type().contains("spreadsheetml"));
    }

    #[test]
    fn decimals_are_numbers_only_when_excel_keeps_every_digit() {
        for (text, n) in [
            ("12.3400", 12.34),
            ("-0.001", -0.001),
            ("123456789012345", 123456789012345.0),
            ("1000000000000000000000", 1e21),
            ("0.000000000000000000000000000001", 1e-30),
            ("-0.00", 0.0),
        ] {
            assert_eq!(exact_number(text), Some(n), "{text}");
        }
        for text in [
            "1234567890123456",
            "0.1234567890123456",
            "12345678901234567890.000000000123",
            "NaN",
            "Infinity",
            "1e5",
            "",
            "-",
            ".5",
        ] {
            assert_eq!(exact_number(text), None, "{text}");
        }
        assert_eq!(exact_int(42, true), Some(-42.0));
        assert_eq!(exact_int(u64::MAX, false), None);
        assert_eq!(exact_int(10u64.pow(18), false), Some(1e18));
    }

    #[test]
    fn text_is_cut_at_excels_cell_limit() {
        assert_eq!(excel_text("short".into()), "short");
        let exact = "a".repeat(XLSX_MAX_TEXT);
        assert_eq!(excel_text(exact.clone()), exact);
        // Multi-byte text under the limit in UTF-16 units is kept whole.
        let wide = "é".repeat(XLSX_MAX_TEXT);
        assert_eq!(excel_text(wide.clone()), wide);
        let cut = excel_text("😀".repeat(XLSX_MAX_TEXT));
        assert_eq!(cut.encode_utf16().count(), XLSX_MAX_TEXT);
        assert!(cut.ends_with("😀…"));
    }

    #[tokio::test]
    async fn csv_export_reads_back_with_a_header_and_empty_nulls() {
        let (columns, rows) = every_kind();
        let (sink, body) = export(ExportFormat::Csv, &tmp());
        let (bytes, err) = drive(sink, body, &columns, rows.clone(), 2).await;
        assert!(err.is_none());
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(
            header,
            columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>()
        );
        let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), 3);
        for (record, row) in records.iter().zip(&rows) {
            let expected: Vec<String> = row
                .iter()
                .map(|v| v.display().unwrap_or_default())
                .collect();
            assert_eq!(record.iter().collect::<Vec<_>>(), expected);
        }
        assert_eq!(&records[0][2], "-42");
        assert_eq!(&records[0][6], "héllo, \"world\"\nnext");
        assert!(records[1].iter().all(str::is_empty));
        assert_eq!(&records[2][3], "18446744073709551615");
    }

    #[tokio::test]
    async fn json_export_has_the_cli_shape() {
        let (columns, rows) = every_kind();
        let (sink, body) = export(ExportFormat::Json, &tmp());
        let (bytes, err) = drive(sink, body, &columns, rows.clone(), 2).await;
        assert!(err.is_none());
        let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(doc["columns"], serde_json::to_value(&columns).unwrap());
        assert_eq!(
            doc["columns"][2],
            serde_json::json!({"name": "int", "type": "INT8"})
        );
        assert_eq!(doc["rows"], serde_json::to_value(&rows).unwrap());
        assert_eq!(doc["rows"][0][2], serde_json::json!(-42));
        assert_eq!(doc["rows"][0][5], serde_json::json!(12.34));
        assert_eq!(doc["rows"][1][0], serde_json::Value::Null);
        assert_eq!(doc["row_count"], 3);
        assert!(doc["elapsed_ms"].is_u64());
    }

    #[tokio::test]
    async fn json_export_of_a_run_without_columns_is_still_a_document() {
        let (sink, body) = export(ExportFormat::Json, &tmp());
        let reader = tokio::spawn(collect(body));
        sink.finish(summary(0)).await;
        let (bytes, err) = reader.await.unwrap();
        assert!(err.is_none());
        let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(doc["rows"], serde_json::json!([]));
        assert_eq!(doc["row_count"], 0);
    }

    #[tokio::test]
    async fn xlsx_export_keeps_numbers_dates_and_text_typed() {
        let dir = tmp();
        let (columns, rows) = every_kind();
        let (sink, body) = export(ExportFormat::Xlsx, &dir);
        let (bytes, err) = drive(sink, body, &columns, rows, 2).await;
        assert!(err.is_none(), "{err:?}");
        let mut book = read_xlsx(bytes);
        assert_eq!(book.sheet_names(), vec!["Sheet 1".to_string()]);
        let range = book.worksheet_range("Sheet 1").unwrap();
        for (i, c) in columns.iter().enumerate() {
            assert_eq!(string_in(&cell(&range, 0, i as u32)), c.name);
        }
        // Row 1: values.
        assert_eq!(cell(&range, 1, 0), Data::Empty);
        assert_eq!(cell(&range, 1, 1), Data::Bool(true));
        assert_eq!(number_in(&cell(&range, 1, 2)), -42.0);
        assert_eq!(number_in(&cell(&range, 1, 3)), 7.0);
        assert_eq!(number_in(&cell(&range, 1, 4)), 1.5);
        assert_eq!(number_in(&cell(&range, 1, 5)), 12.34);
        assert_eq!(string_in(&cell(&range, 1, 6)), "héllo, \"world\"\nnext");
        assert_eq!(string_in(&cell(&range, 1, 7)), "\\xdead");
        assert_eq!(string_in(&cell(&range, 1, 8)), r#"{"a":[1,null]}"#);
        assert_eq!(
            datetime_in(&cell(&range, 1, 9)),
            at((2024, 5, 1), (0, 0, 0), 0)
        );
        assert_eq!(string_in(&cell(&range, 1, 10)), "13:45:00");
        assert_eq!(
            datetime_in(&cell(&range, 1, 11)),
            at((2024, 5, 1), (13, 45, 0), 250)
        );
        // Converted to UTC.
        assert_eq!(
            datetime_in(&cell(&range, 1, 12)),
            at((2024, 5, 1), (11, 45, 0), 0)
        );
        assert_eq!(string_in(&cell(&range, 1, 13)), "P1DT2H");
        assert_eq!(
            string_in(&cell(&range, 1, 14)),
            "67e55044-10b1-426f-9247-bb680e5fe0c8"
        );
        assert_eq!(string_in(&cell(&range, 1, 15)), "[1,null]");
        // Row 2: NULLs are empty cells.
        for c in 0..columns.len() as u32 {
            assert_eq!(cell(&range, 2, c), Data::Empty, "column {c}");
        }
        // Row 3: what Excel can't hold exactly stays text.
        assert_eq!(cell(&range, 3, 1), Data::Bool(false));
        assert_eq!(string_in(&cell(&range, 3, 2)), "-9223372036854775808");
        assert_eq!(string_in(&cell(&range, 3, 3)), "18446744073709551615");
        assert_eq!(string_in(&cell(&range, 3, 4)), "NaN");
        assert_eq!(
            string_in(&cell(&range, 3, 5)),
            "12345678901234567890.000000000123"
        );
        let long = cell(&range, 3, 6);
        let long = string_in(&long);
        assert_eq!(long.chars().count(), XLSX_MAX_TEXT);
        assert!(long.starts_with("éé") && long.ends_with("é…"));
        assert_eq!(string_in(&cell(&range, 3, 9)), "0044-03-15");
        assert_eq!(string_in(&cell(&range, 3, 11)), "infinity");
        assert_eq!(
            datetime_in(&cell(&range, 3, 12)),
            at((2024, 5, 1), (0, 30, 0), 0)
        );
        assert_clean(&dir);
    }

    #[tokio::test]
    async fn xlsx_continues_on_new_sheets_with_the_header_repeated() {
        let dir = tmp();
        let (sink, body) = xlsx_sink(&dir, 3);
        let columns = [col("n", "INT8"), col("label", "TEXT")];
        let rows = (1..=7)
            .map(|i| vec![Value::Int(i), Value::Text(format!("row {i}"))])
            .collect();
        let (bytes, err) = drive(sink, body, &columns, rows, 2).await;
        assert!(err.is_none(), "{err:?}");
        let mut book = read_xlsx(bytes);
        assert_eq!(book.sheet_names(), vec!["Sheet 1", "Sheet 2", "Sheet 3"]);
        let mut next = 1;
        for (name, count) in [("Sheet 1", 3), ("Sheet 2", 3), ("Sheet 3", 1)] {
            let range = book.worksheet_range(name).unwrap();
            assert_eq!(range.height(), count + 1, "{name}");
            let styles = book.worksheet_style(name).unwrap();
            let bold = |pos| {
                styles
                    .get(pos)
                    .and_then(|s| s.font.as_ref())
                    .is_some_and(|f| f.is_bold())
            };
            assert!(bold((0, 0)) && bold((0, 1)), "{name}: header not bold");
            assert!(!bold((1, 0)), "{name}: data bold");
            assert_eq!(string_in(&cell(&range, 0, 0)), "n");
            assert_eq!(string_in(&cell(&range, 0, 1)), "label");
            for r in 1..=count as u32 {
                assert_eq!(number_in(&cell(&range, r, 0)), next as f64);
                assert_eq!(string_in(&cell(&range, r, 1)), format!("row {next}"));
                next += 1;
            }
        }
        assert_eq!(next, 8);
        assert_clean(&dir);
    }

    #[tokio::test]
    async fn an_unread_body_holds_flush_back() {
        for format in [ExportFormat::Csv, ExportFormat::Json] {
            let (mut sink, mut body) = export(format, &tmp());
            sink.columns(&[col("t", "TEXT")]).unwrap();
            let mut pending = false;
            for _ in 0..=BODY_CHUNKS {
                sink.row(vec![Value::Text("x".repeat(100))]).unwrap();
                if tokio::time::timeout(Duration::from_millis(200), sink.flush())
                    .await
                    .is_err()
                {
                    pending = true;
                    break;
                }
            }
            assert!(pending, "{format:?}: flush never waited");
            // Reading makes room; the rows of the abandoned flush were not lost.
            let first = body.next().await.unwrap().unwrap();
            assert!(!first.is_empty());
            tokio::time::timeout(Duration::from_secs(5), sink.flush())
                .await
                .expect("flush resumes once the client reads")
                .unwrap();
        }
    }

    #[tokio::test]
    async fn an_unread_xlsx_body_holds_the_finish_back() {
        let dir = tmp();
        let (mut sink, body) = export(ExportFormat::Xlsx, &dir);
        sink.columns(&[col("t", "TEXT")]).unwrap();
        feed(&mut sink, noise(40_000)).await;
        let finish = tokio::spawn(sink.finish(summary(40_000)));
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!finish.is_finished(), "finish did not wait for the client");
        let (bytes, err) = collect(body).await;
        assert!(err.is_none(), "{err:?}");
        finish.await.unwrap();
        let mut book = read_xlsx(bytes);
        assert_eq!(book.worksheet_range("Sheet 1").unwrap().height(), 40_001);
        assert_clean(&dir);
    }

    #[tokio::test]
    async fn a_gone_client_stops_the_run() {
        for format in [ExportFormat::Csv, ExportFormat::Json, ExportFormat::Xlsx] {
            let dir = tmp();
            let (mut sink, body) = export(format, &dir);
            sink.columns(&[col("n", "INT8")]).unwrap();
            sink.row(vec![Value::Int(1)]).unwrap();
            drop(body);
            assert_eq!(sink.flush().await, Err(cancelled()), "{format:?}");
            assert_eq!(
                sink.row(vec![Value::Int(2)]),
                Err(cancelled()),
                "{format:?}"
            );
            sink.finish(Err(cancelled())).await;
            remove_when_made(format, &dir).await;
        }
    }

    #[tokio::test]
    async fn a_failed_run_ends_the_body_with_an_error() {
        for format in [ExportFormat::Csv, ExportFormat::Json, ExportFormat::Xlsx] {
            let dir = tmp();
            let (mut sink, body) = export(format, &dir);
            let reader = tokio::spawn(collect(body));
            sink.columns(&[col("n", "INT8")]).unwrap();
            sink.row(vec![Value::Int(1)]).unwrap();
            sink.flush().await.unwrap();
            sink.finish(Err(ConnectorError::Timeout(30))).await;
            let (_, err) = reader.await.unwrap();
            let err = err.unwrap_or_else(|| panic!("{format:?} looked complete"));
            assert!(err.to_string().contains("30 s limit"), "{err}");
            remove_when_made(format, &dir).await;
        }
    }

    #[tokio::test]
    async fn a_sink_dropped_without_finish_ends_the_body_with_an_error() {
        for format in [ExportFormat::Csv, ExportFormat::Json, ExportFormat::Xlsx] {
            let dir = tmp();
            let (mut sink, body) = export(format, &dir);
            let reader = tokio::spawn(collect(body));
            sink.columns(&[col("n", "INT8")]).unwrap();
            sink.row(vec![Value::Int(1)]).unwrap();
            sink.flush().await.unwrap();
            drop(sink);
            let (_, err) = reader.await.unwrap();
            assert!(err.is_some(), "{format:?} looked complete");
            remove_when_made(format, &dir).await;
        }
    }

    /// Files this process has open under `dir`, deleted or not (Linux).
    fn open_files_under(dir: &Path) -> usize {
        entries(Path::new("/proc/self/fd"))
            .iter()
            .filter_map(|fd| std::fs::read_link(fd).ok())
            .filter(|target| target.starts_with(dir))
            .count()
    }

    async fn until(mut done: impl FnMut() -> bool) -> bool {
        for _ in 0..100 {
            if done() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        done()
    }

    #[tokio::test]
    async fn xlsx_scratch_files_live_in_tmp_dir_and_go_away() {
        let linux = cfg!(target_os = "linux");
        // Dropped half way.
        let dir = tmp();
        let (mut sink, body) = export(ExportFormat::Xlsx, &dir);
        sink.columns(&[col("n", "INT8")]).unwrap();
        sink.row(vec![Value::Int(1)]).unwrap();
        sink.flush().await.unwrap();
        if linux {
            assert!(
                until(|| open_files_under(&dir) > 0).await,
                "no scratch file in tmp_dir"
            );
        }
        drop(sink);
        drop(body);
        assert!(
            until(|| entries(&dir).is_empty() && (!linux || open_files_under(&dir) == 0)).await
        );
        assert_clean(&dir);

        // The client leaves during the download.
        let dir = tmp();
        let (mut sink, mut body) = export(ExportFormat::Xlsx, &dir);
        sink.columns(&[col("t", "TEXT")]).unwrap();
        feed(&mut sink, noise(40_000)).await;
        let finish = tokio::spawn(sink.finish(summary(40_000)));
        assert!(body.next().await.unwrap().is_ok());
        drop(body);
        tokio::time::timeout(Duration::from_secs(10), finish)
            .await
            .expect("finish ends when the client leaves")
            .unwrap();
        if linux {
            assert!(until(|| open_files_under(&dir) == 0).await);
        }
        assert_clean(&dir);

        // Finished normally.
        let dir = tmp();
        let (sink, body) = export(ExportFormat::Xlsx, &dir);
        let (bytes, err) = drive(
            sink,
            body,
            &[col("n", "INT8")],
            vec![vec![Value::Int(1)]],
            1,
        )
        .await;
        assert!(err.is_none() && !bytes.is_empty());
        if linux {
            assert!(until(|| open_files_under(&dir) == 0).await);
        }
        assert_clean(&dir);
    }

    #[test]
    fn formula_like_is_text_a_spreadsheet_would_run() {
        for cell in [
            "=1+1",
            "+1+1",
            "-1+1",
            "-2+3+cmd|' /C calc'!A0",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "\u{FF1D}1+1",
            "\u{FF0B}1",
            "\u{FF0D}1",
            "\u{FF20}x",
            "-",
            "+",
            "-e5",
            "--5",
        ] {
            assert!(formula_like(cell.as_bytes()), "{cell:?}");
        }
        for cell in [
            "",
            "x",
            "a=1",
            " =1",
            "-5",
            "+5",
            "-1.25",
            "-.5",
            "-1e5",
            "+2E-3",
            "-Infinity",
            "NaN",
            "5-1",
            "'=1",
        ] {
            assert!(!formula_like(cell.as_bytes()), "{cell:?}");
        }
    }

    #[tokio::test]
    async fn csv_rows_neutralize_formula_text_but_not_numbers() {
        let columns = vec![col("=cmd", "TEXT"), col("n", "INT8"), col("d", "NUMERIC")];
        let rows = vec![
            vec![
                Value::Text("=1+1".into()),
                Value::Int(-5),
                Value::Decimal("-1.50".into()),
            ],
            vec![
                Value::Text("-2+3".into()),
                Value::Float(-0.5),
                Value::Decimal("-Infinity".into()),
            ],
            vec![Value::Text("\r@x, \"y\"".into()), Value::Null, Value::Null],
            vec![
                Value::Text("-5".into()),
                Value::UInt(7),
                Value::Text("ok".into()),
            ],
        ];
        let (sink, body) = export(ExportFormat::Csv, &tmp());
        let (bytes, err) = drive(sink, body, &columns, rows.clone(), 1).await;
        assert!(err.is_none());
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "'=cmd,n,d\n'=1+1,-5,-1.50\n'-2+3,-0.5,-Infinity\n\"'\r@x, \"\"y\"\"\",,\n-5,7,ok\n"
        );
        let (sink, body) = export_tracked(ExportFormat::Csv, &tmp(), None, FormulaGuard::Off);
        let (bytes, _) = drive(sink, body, &columns, rows, 1).await;
        assert!(String::from_utf8(bytes)
            .unwrap()
            .starts_with("=cmd,n,d\n=1+1,-5"));
    }

    #[tokio::test]
    async fn csv_from_copy_is_neutralized_however_it_is_split() {
        let raw =
            "=cmd,n,t\n\"=1+1, \"\"q\"\"\",-5,\"\"\n@x,-1.5,\"a\nb\"\n\tx,7,\"\r-2+3\"\n-5,-6,-x\n";
        let want = "'=cmd,n,t\n\"'=1+1, \"\"q\"\"\",-5,\"\"\n'@x,-1.5,\"a\nb\"\n'\tx,7,\"'\r-2+3\"\n-5,-6,'-x\n";
        for split in 0..=raw.len() {
            let (mut sink, body) = export(ExportFormat::Csv, &tmp());
            let reader = tokio::spawn(collect(body));
            let out = sink.copy_out().unwrap();
            out.write(&raw.as_bytes()[..split]).unwrap();
            out.write(&raw.as_bytes()[split..]).unwrap();
            sink.finish(summary(0)).await;
            let (bytes, err) = reader.await.unwrap();
            assert!(err.is_none());
            assert_eq!(String::from_utf8(bytes).unwrap(), want, "split at {split}");
        }
        // Without a final line break the last record still goes through the guard.
        let (mut sink, body) = export(ExportFormat::Csv, &tmp());
        let reader = tokio::spawn(collect(body));
        sink.copy_out().unwrap().write(b"a\n=1").unwrap();
        sink.finish(summary(0)).await;
        assert_eq!(reader.await.unwrap().0, b"a\n'=1");
    }

    #[tokio::test]
    async fn xlsx_stores_formula_text_as_a_string_cell() {
        let dir = tmp();
        let (sink, body) = xlsx_sink(&dir, 10);
        let columns = vec![col("a", "TEXT"), col("n", "INT4")];
        let rows = vec![vec![Value::Text("=1+1".into()), Value::Int(-5)]];
        let (bytes, err) = drive(sink, body, &columns, rows, 1).await;
        assert!(err.is_none());
        let mut book = read_xlsx(bytes);
        let name = book.sheet_names()[0].clone();
        let range = book.worksheet_range(&name).unwrap();
        assert_eq!(cell(&range, 1, 0), Data::String("=1+1".into()));
        assert_eq!(cell(&range, 1, 1), Data::Float(-5.0));
        let formulas = book.worksheet_formula(&name).unwrap();
        assert_eq!(formulas.used_cells().count(), 0, "no formula cells");
    }
}
