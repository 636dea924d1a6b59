//! XLSX: rows handed to a writer thread (rust_xlsxwriter, constant memory), new sheets past
//! Excel's row limit, and a workbook of several named results.
use super::{
    cell::{excel_text, set_widths, write_cell, ChunkWriter},
    output_error, BodySender, BodyStream, ExportSink, BODY_CHUNKS, XLSX_BATCHES, XLSX_CHUNK,
    XLSX_MAX_COLUMNS, XLSX_ROWS_PER_SHEET, XLSX_ZIP64_AT,
};
use crate::{
    model::query::{Column, Value},
    server::connectors::{ConnectorError, RowSink, RunSummary},
};
use futures::future::BoxFuture;
use rust_xlsxwriter::{ColNum, Format, RowNum, Workbook, Worksheet, XlsxError};
use std::{
    path::{Path, PathBuf},
    time::Duration,
};
use tokio::sync::{mpsc, oneshot};

/// An Excel workbook written by a thread of its own in constant-memory mode, then streamed
/// to the client as it is zipped.
pub(super) struct XlsxSink {
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
    pub(super) fn new(tmp_dir: &Path, rows_per_sheet: u32, body: BodySender) -> Self {
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

pub(super) struct Styles {
    pub(super) header: Format,
    pub(super) date: Format,
    pub(super) datetime: Format,
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
pub(super) struct SheetNames {
    used: std::collections::HashSet<String>,
}

impl SheetNames {
    /// The name of sheet `number` of a result named `base` ("Sheet N" without a name;
    /// "Sales (2)" for the second sheet of "Sales"), made valid and unique.
    pub(super) fn take(&mut self, base: Option<&str>, number: u32) -> String {
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
