//! `sightline query`: run one statement against a database URL and stream the result to
//! stdout as JSON, NDJSON or CSV, in constant memory.
use anyhow::{bail, Context, Result};
use app::{
    model::{
        connection::ConnectionConfig,
        query::{Column, Value},
    },
    server::connectors::{Connector, ConnectorError, Param, PoolOptions, RowSink, RunLimits},
};
use clap::{Args, ValueEnum};
use std::{
    io::{BufWriter, Write},
    path::PathBuf,
    time::{Duration, Instant},
};

#[derive(Args, Debug)]
pub struct QueryArgs {
    /// Database URL: postgres://user[:pass]@host[:port]/db[?sslmode=…], mysql://… (MariaDB
    /// too), or sqlite:///absolute/path.db. The password may also come from the URL's env.
    #[arg(
        long,
        env = "SIGHTLINE_QUERY_URL",
        hide_env_values = true,
        conflicts_with = "connection",
        required_unless_present = "connection"
    )]
    pub url: Option<String>,
    /// The name of a connection saved in Sightline (uses its stored credentials; the
    /// metadata store is found with --data-dir / DATABASE_URL).
    #[arg(long)]
    pub connection: Option<String>,
    #[command(flatten)]
    pub store: crate::config::StoreArgs,
    /// The SQL to run (one statement). Positional parameters: $1, $2, … (PostgreSQL), ?
    /// (MySQL, SQLite).
    #[arg(long, conflicts_with = "file", required_unless_present = "file")]
    pub sql: Option<String>,
    /// Read the SQL from this file.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// A parameter value, in order; repeat for each. Without any, SIGHTLINE_PARAM_1,
    /// SIGHTLINE_PARAM_2, … are used.
    #[arg(long = "param", value_name = "VALUE")]
    pub params: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Allow statements that modify data (otherwise the database enforces read-only).
    #[arg(long)]
    pub write: bool,
    /// Statement timeout in seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout: u64,
    /// Stop after this many rows (reported on stderr). Default: no limit.
    #[arg(long)]
    pub max_rows: Option<u64>,
}

/// A saved connection's settings with its password, checked against the same policy the
/// server applies (the operator at the shell is trusted with the store's credentials anyway).
async fn saved_connection(
    store: &crate::config::StoreArgs,
    name: &str,
) -> Result<ConnectionConfig> {
    let state = crate::commands::cli_state(store).await?;
    let row = app::server::db::connections::get_by_name(&state.db, name)
        .await?
        .with_context(|| format!("no saved connection is named '{name}'"))?;
    let cfg =
        app::server::connections::full_config(&state, &row).map_err(|e| anyhow::anyhow!("{e}"))?;
    state.db.close().await;
    Ok(cfg)
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Ndjson,
    Csv,
}

pub async fn run(args: QueryArgs) -> Result<()> {
    let sql = match (&args.sql, &args.file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) => {
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?
        }
        (None, None) => bail!("give --sql or --file"),
    };
    let params: Vec<Param> = if args.params.is_empty() {
        env_params()
    } else {
        args.params.iter().cloned().map(Param::Text).collect()
    };
    let cfg = match (&args.url, &args.connection) {
        (Some(url), _) => {
            ConnectionConfig::from_url(url).map_err(|e| anyhow::anyhow!("--url: {e}"))?
        }
        (None, Some(name)) => saved_connection(&args.store, name).await?,
        (None, None) => bail!("give --url or --connection"),
    };
    let connector = Connector::open(
        &cfg,
        &PoolOptions {
            max_connections: 1,
            ..Default::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let limits = RunLimits {
        timeout: Duration::from_secs(args.timeout.max(1)),
        max_rows: args.max_rows.unwrap_or(u64::MAX),
        writable: args.write,
        cancel: Default::default(),
    };
    let started = Instant::now();
    if args.format == Format::Csv {
        // PostgreSQL sends CSV itself (`COPY`), as fast as `psql \copy`, when eligible.
        let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout());
        let mut write = |b: &[u8]| out.write_all(b).map_err(io_err);
        let copied = connector.copy_csv(&sql, &params, &limits, &mut write).await;
        if let Ok(Some(_)) | Err(_) = copied {
            connector.close().await;
            copied.map_err(|e| anyhow::anyhow!("{e}"))?;
            return out.flush().context("writing the output");
        }
    }
    let out = BufWriter::with_capacity(1 << 16, std::io::stdout());
    let mut sink: Box<dyn FinishSink> = match args.format {
        Format::Json => Box::new(JsonSink::new(out)),
        Format::Ndjson => Box::new(NdjsonSink { out, keys: vec![] }),
        Format::Csv => Box::new(CsvSink {
            out: csv::Writer::from_writer(out),
        }),
    };
    let result = connector
        .run(&sql, &params, &limits, sink.as_row_sink())
        .await;
    connector.close().await;
    let summary = result.map_err(|e| anyhow::anyhow!("{e}"))?;
    sink.finish(summary.row_count, started.elapsed())
        .context("writing the output")?;
    if summary.truncated {
        eprintln!(
            "note: stopped after {} rows (--max-rows)",
            summary.row_count
        );
    }
    Ok(())
}

/// SIGHTLINE_PARAM_1, SIGHTLINE_PARAM_2, … until the first one missing.
fn env_params() -> Vec<Param> {
    (1..)
        .map_while(|i| std::env::var(format!("SIGHTLINE_PARAM_{i}")).ok())
        .map(Param::Text)
        .collect()
}

trait FinishSink: RowSink {
    fn as_row_sink(&mut self) -> &mut dyn RowSink;
    fn finish(&mut self, rows: u64, elapsed: Duration) -> std::io::Result<()>;
}

fn io_err(e: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::Output(format!("could not write the output: {e}"))
}

/// `{"columns":[…],"rows":[[…],…],"row_count":N,"elapsed_ms":N}`, written as rows arrive.
struct JsonSink<W: Write> {
    out: W,
    first_row: bool,
    started: bool,
}

impl<W: Write> JsonSink<W> {
    fn new(out: W) -> Self {
        JsonSink {
            out,
            first_row: true,
            started: false,
        }
    }
}

impl<W: Write + Send> RowSink for JsonSink<W> {
    fn columns(&mut self, columns: &[Column]) -> Result<(), ConnectorError> {
        self.started = true;
        write!(
            self.out,
            "{{\"columns\":{},\"rows\":[",
            serde_json::to_string(columns).map_err(io_err)?
        )
        .map_err(io_err)
    }
    fn row(&mut self, row: Vec<Value>) -> Result<(), ConnectorError> {
        if !self.first_row {
            self.out.write_all(b",").map_err(io_err)?;
        }
        self.first_row = false;
        serde_json::to_writer(&mut self.out, &row).map_err(io_err)
    }
}

impl<W: Write + Send> FinishSink for JsonSink<W> {
    fn as_row_sink(&mut self) -> &mut dyn RowSink {
        self
    }
    fn finish(&mut self, rows: u64, elapsed: Duration) -> std::io::Result<()> {
        if !self.started {
            self.out.write_all(b"{\"columns\":[],\"rows\":[")?;
        }
        writeln!(
            self.out,
            "],\"row_count\":{rows},\"elapsed_ms\":{}}}",
            elapsed.as_millis()
        )?;
        self.out.flush()
    }
}

/// One JSON object per row, keyed by column name (repeated names get `_2`, `_3`, …).
struct NdjsonSink<W: Write> {
    out: W,
    keys: Vec<String>,
}

impl<W: Write + Send> RowSink for NdjsonSink<W> {
    fn columns(&mut self, columns: &[Column]) -> Result<(), ConnectorError> {
        let mut seen = std::collections::HashMap::<String, usize>::new();
        self.keys = columns
            .iter()
            .map(|c| {
                let n = seen
                    .entry(c.name.clone())
                    .and_modify(|n| *n += 1)
                    .or_insert(1);
                if *n == 1 {
                    c.name.clone()
                } else {
                    format!("{}_{n}", c.name)
                }
            })
            .collect();
        Ok(())
    }
    fn row(&mut self, row: Vec<Value>) -> Result<(), ConnectorError> {
        self.out.write_all(b"{").map_err(io_err)?;
        for (i, (k, v)) in self.keys.iter().zip(&row).enumerate() {
            if i > 0 {
                self.out.write_all(b",").map_err(io_err)?;
            }
            serde_json::to_writer(&mut self.out, k).map_err(io_err)?;
            self.out.write_all(b":").map_err(io_err)?;
            serde_json::to_writer(&mut self.out, v).map_err(io_err)?;
        }
        self.out.write_all(b"}\n").map_err(io_err)
    }
}

impl<W: Write + Send> FinishSink for NdjsonSink<W> {
    fn as_row_sink(&mut self) -> &mut dyn RowSink {
        self
    }
    fn finish(&mut self, _: u64, _: Duration) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// RFC 4180 CSV with a header row; NULL is an empty field.
struct CsvSink<W: Write> {
    out: csv::Writer<W>,
}

impl<W: Write + Send> RowSink for CsvSink<W> {
    fn columns(&mut self, columns: &[Column]) -> Result<(), ConnectorError> {
        self.out
            .write_record(columns.iter().map(|c| c.name.as_str()))
            .map_err(io_err)
    }
    fn row(&mut self, row: Vec<Value>) -> Result<(), ConnectorError> {
        // Field by field, integers through a stack buffer: no String per cell.
        let mut int = itoa::Buffer::new();
        for v in &row {
            let field: &[u8] = match v {
                Value::Null => b"",
                Value::Int(i) => int.format(*i).as_bytes(),
                Value::UInt(u) => int.format(*u).as_bytes(),
                other => match other.text() {
                    Some(t) => {
                        self.out.write_field(t.as_bytes()).map_err(io_err)?;
                        continue;
                    }
                    None => b"",
                },
            };
            self.out.write_field(field).map_err(io_err)?;
        }
        self.out.write_record(None::<&[u8]>).map_err(io_err)
    }
}

impl<W: Write + Send> FinishSink for CsvSink<W> {
    fn as_row_sink(&mut self) -> &mut dyn RowSink {
        self
    }
    fn finish(&mut self, _: u64, _: Duration) -> std::io::Result<()> {
        self.out.flush()
    }
}
