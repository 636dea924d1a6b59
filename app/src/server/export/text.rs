//! The text formats: CSV (with the formula guard, also from a database COPY) and JSON.
use super::{
    guard::{formula_like, CopyGuard},
    output_error, BodySender, ExportSink,
};
use crate::{
    model::query::{Column, Value},
    server::connectors::{ConnectorError, CopyOut, RowSink, RunSummary},
};
use bytes::Bytes;
use futures::future::BoxFuture;
use std::borrow::Cow;

/// RFC 4180 CSV with a header row; NULL is an empty field. Rows come either as values
/// (`out`) or as CSV the database wrote itself (`raw`, PostgreSQL's `COPY`).
pub(super) struct CsvSink {
    pub(super) out: csv::Writer<Vec<u8>>,
    pub(super) raw: Vec<u8>,
    /// Set when formula-like cells are neutralized (the database's own CSV goes through it).
    pub(super) guard: Option<CopyGuard>,
    /// Scratch for a neutralized cell.
    pub(super) cell: String,
    pub(super) body: BodySender,
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

pub(super) fn csv_writer(capacity: usize) -> csv::Writer<Vec<u8>> {
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
pub(super) struct JsonSink {
    pub(super) out: Vec<u8>,
    pub(super) body: BodySender,
    pub(super) started: bool,
    pub(super) first_row: bool,
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
