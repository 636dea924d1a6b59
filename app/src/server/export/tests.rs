//! The export formats read back by real readers (csv, serde_json, calamine), flow control
//! and failure paths.
use super::{
    cell::{exact_int, exact_number, excel_text},
    xlsx::{SheetNames, XlsxSink},
    *,
};
use crate::{
    model::query::{Column, Value},
    server::connectors::{ConnectorError, RunSummary},
};
use chrono::{NaiveDate, NaiveDateTime};
use std::path::PathBuf;

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
    assert!(until(|| entries(&dir).is_empty() && (!linux || open_files_under(&dir) == 0)).await);
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
