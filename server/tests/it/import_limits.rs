//! Uploads cannot exhaust the server: a sheet with values in A1 and XFD1048576, a workbook
//! that unpacks to a gigabyte, a CSV with one enormous line or half a million columns are
//! refused with a message that says what to do, the process's peak memory stays low while
//! they are read, and `/healthz` keeps answering meanwhile. The files are built here.
use crate::common;

use app::model::{import::ImportPreview, Role};
use common::{spawn_app, spawn_app_with, Store, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::Value as Json;
use std::{
    future::Future,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

/// Peak memory is a process-wide number: the cases of this file take turns.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How much the process's peak resident memory may grow while a hostile file is read.
const MEMORY_BOUND_MB: u64 = 100;

// ---------------------------------------------------------------------------------------
// Memory and liveness
// ---------------------------------------------------------------------------------------

fn status_kb(key: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{key} in /proc/self/status"))
}

/// Runs `upload` while `/healthz` is polled; returns its answer and the growth of the
/// peak resident memory (VmHWM, reset first) over the resident memory before, in MB.
async fn measured<F: Future<Output = (StatusCode, String)>>(
    app: &TestApp,
    upload: F,
) -> ((StatusCode, String), u64) {
    // Linux resets the peak (VmHWM) to the current size on "5".
    std::fs::write("/proc/self/clear_refs", "5").expect("resetting VmHWM");
    let before = status_kb("VmRSS:");
    let stop = Arc::new(AtomicBool::new(false));
    let poller = tokio::spawn({
        let (base, stop) = (app.base.clone(), stop.clone());
        async move {
            let c = Client::new();
            let mut answers = Vec::new();
            loop {
                let t = Instant::now();
                let r = c
                    .get(format!("{base}/healthz"))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                answers.push((r.map(|r| r.status()).ok(), t.elapsed()));
                if stop.load(Ordering::Relaxed) {
                    return answers;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let answer = upload.await;
    stop.store(true, Ordering::Relaxed);
    let polls = poller.await.unwrap();
    let peak = status_kb("VmHWM:");
    assert!(!polls.is_empty());
    for (status, took) in &polls {
        assert_eq!(
            *status,
            Some(StatusCode::OK),
            "/healthz while reading: {polls:?}"
        );
        assert!(
            *took < Duration::from_secs(2),
            "/healthz took {took:?}: {polls:?}"
        );
    }
    (answer, peak.saturating_sub(before) / 1024)
}

async fn upload(app: &TestApp, c: &Client, name: &str, body: Vec<u8>) -> (StatusCode, String) {
    let r = c
        .post(format!("{}/imports?name={name}", app.base))
        .header("origin", &app.base)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.text().await.unwrap())
}

/// The field and message of a 400 with field errors.
fn field_error(what: &str, (status, body): &(StatusCode, String)) -> (String, String) {
    assert_eq!(*status, StatusCode::BAD_REQUEST, "{what}: {body}");
    let v: Json = serde_json::from_str(body).unwrap();
    let first = &v["Validation"][0];
    (
        first["field"].as_str().unwrap_or_default().to_string(),
        first["message"].as_str().unwrap_or_default().to_string(),
    )
}

/// Uploads a hostile file and checks the refusal, the memory and that the server still
/// previews a small file afterwards.
async fn refused(app: &TestApp, name: &str, body: Vec<u8>, expect: &[&str]) -> String {
    let _turn = TURN.lock().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let (answer, grown_mb) = measured(app, upload(app, &c, name, body)).await;
    let (field, message) = field_error(name, &answer);
    assert_eq!(field, "file", "{name}: {message}");
    for e in expect {
        assert!(message.contains(e), "{name}: {e:?} in {message:?}");
    }
    assert!(
        grown_mb < MEMORY_BOUND_MB,
        "{name}: the peak memory grew by {grown_mb} MB while reading it"
    );
    let (status, body) = upload(app, &c, "after.csv", b"n\n1\n".to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let p: ImportPreview = serde_json::from_str(&body).unwrap();
    assert_eq!(p.total_rows, 1);
    message
}

// ---------------------------------------------------------------------------------------
// Building workbooks by hand
// ---------------------------------------------------------------------------------------

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// One part of a zip: stored as is, or deflated bytes with the sizes and CRC they declare.
struct Part {
    name: &'static str,
    method: u16,
    data: Vec<u8>,
    crc: u32,
    size: u32,
}

fn stored(name: &'static str, text: &str) -> Part {
    Part {
        name,
        method: 0,
        crc: crc32(text.as_bytes()),
        size: text.len() as u32,
        data: text.as_bytes().to_vec(),
    }
}

fn zip(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for p in parts {
        let offset = out.len() as u32;
        let fixed = |v: &mut Vec<u8>| {
            v.extend(20u16.to_le_bytes()); // version needed
            v.extend(0u16.to_le_bytes()); // flags
            v.extend(p.method.to_le_bytes());
            v.extend(0u32.to_le_bytes()); // time, date
            v.extend(p.crc.to_le_bytes());
            v.extend((p.data.len() as u32).to_le_bytes());
            v.extend(p.size.to_le_bytes());
            v.extend((p.name.len() as u16).to_le_bytes());
            v.extend(0u16.to_le_bytes()); // extra
        };
        out.extend(0x0403_4b50u32.to_le_bytes());
        fixed(&mut out);
        out.extend(p.name.as_bytes());
        out.extend(&p.data);
        central.extend(0x0201_4b50u32.to_le_bytes());
        central.extend(20u16.to_le_bytes()); // version made by
        fixed(&mut central);
        central.extend([0u8; 6]); // comment length, disk, internal attributes
        central.extend(0u32.to_le_bytes()); // external attributes
        central.extend(offset.to_le_bytes());
        central.extend(p.name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend(&central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((parts.len() as u16).to_le_bytes());
    out.extend((parts.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(cd_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

/// Deflate (fixed Huffman codes) of `prefix`, then `count` times `byte`, then `suffix`:
/// the repeats are back-references of 258 bytes, 13 bits each, so a gigabyte is 6.5 MB.
fn deflate_repeat(prefix: &[u8], byte: u8, count: u64, suffix: &[u8]) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        n: u32,
    }
    impl Bits {
        fn put(&mut self, value: u64, bits: u32) {
            self.acc |= value << self.n;
            self.n += bits;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        /// A Huffman code goes most significant bit first.
        fn code(&mut self, code: u32, len: u32) {
            for i in (0..len).rev() {
                self.put(u64::from((code >> i) & 1), 1);
            }
        }
        fn literal(&mut self, b: u8) {
            if b < 144 {
                self.code(0x30 + u32::from(b), 8)
            } else {
                self.code(0x190 + u32::from(b) - 144, 9)
            }
        }
    }
    let mut w = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    w.put(1, 1); // last block
    w.put(1, 2); // fixed Huffman codes
    for &b in prefix {
        w.literal(b);
    }
    w.literal(byte);
    let rest = count - 1;
    // Length 258 is symbol 285 (8-bit code 11000101, sent most significant bit first),
    // distance 1 is code 0 (5 zero bits): in stream order the bits 1,1,0,0,0,1,0,1,0,0,0,0,0.
    let pattern: u64 = 0b0_0000_1010_0011;
    for _ in 0..rest / 258 {
        w.put(pattern, 13);
    }
    for _ in 0..rest % 258 {
        w.literal(byte);
    }
    for &b in suffix {
        w.literal(b);
    }
    w.code(0, 7); // end of block
    if w.n > 0 {
        w.out.push(w.acc as u8);
    }
    w.out
}

const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#;
const ROOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#;
const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#;
const SHEET: &str = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2"><v>7</v></c></row></sheetData></worksheet>"#;
const SST_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>"#;
const SST_TAIL: &str = "</t></si></sst>";

/// A workbook of one sheet whose shared string is `shared_strings`.
fn workbook(shared_strings: Part) -> Vec<u8> {
    zip(&[
        stored("[Content_Types].xml", CONTENT_TYPES),
        stored("_rels/.rels", ROOT_RELS),
        stored("xl/workbook.xml", WORKBOOK),
        stored("xl/_rels/workbook.xml.rels", WORKBOOK_RELS),
        stored("xl/worksheets/sheet1.xml", SHEET),
        shared_strings,
    ])
}

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

/// calamine 0.38 makes a dense grid of the box around a sheet's values: A1 and XFD1048576
/// are 17 billion cells, an allocation that aborts the process.
#[tokio::test]
async fn a_sheet_with_values_in_a1_and_xfd1048576_is_refused_before_it_is_laid_out() {
    let app = spawn_app().await;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "first").unwrap();
    ws.write_string(1_048_575, 16_383, "last").unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let message = refused(
        &app,
        "corners.xlsx",
        bytes,
        &[
            "A1:XFD1048576",
            "17,179,869,184 cells",
            "10,000,000",
            "SIGHTLINE_MAX_IMPORT_CELLS",
            "Delete stray cells",
        ],
    )
    .await;
    assert!(!message.contains("panic"), "{message}");
    app.cleanup().await;
}

/// A workbook whose shared strings unpack to 1 GiB (6.5 MB uploaded) is refused from its
/// central directory; one whose directory lies about the size stops at the declared size.
/// The same parts with a small string import normally, so the zip built here is valid.
#[tokio::test]
async fn a_workbook_that_unpacks_to_a_gigabyte_is_refused_before_unpacking() {
    let app = spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    // The control: the same hand-built workbook with a short string reads fine.
    let small = format!("{SST_HEAD}name{SST_TAIL}");
    let (status, body) = upload(
        &app,
        &c,
        "small.xlsx",
        workbook(Part {
            name: "xl/sharedStrings.xml",
            method: 8,
            crc: crc32(small.as_bytes()),
            size: small.len() as u32,
            data: deflate_repeat(SST_HEAD.as_bytes(), b'n', 1, b"ame</t></si></sst>"),
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let p: ImportPreview = serde_json::from_str(&body).unwrap();
    assert_eq!(p.columns[0].name, "name");
    assert_eq!(p.total_rows, 1);

    let gib: u64 = 1 << 30;
    let bomb = deflate_repeat(SST_HEAD.as_bytes(), b'a', gib, SST_TAIL.as_bytes());
    let unpacked = (SST_HEAD.len() + SST_TAIL.len()) as u64 + gib;
    assert!(bomb.len() < 8 << 20, "{}", bomb.len());
    refused(
        &app,
        "bomb.xlsx",
        workbook(Part {
            name: "xl/sharedStrings.xml",
            method: 8,
            // Nothing reads far enough to check it.
            crc: 0,
            size: unpacked as u32,
            data: bomb.clone(),
        }),
        &[
            "unpacks to more than 512 MB",
            "SIGHTLINE_MAX_IMPORT_UNPACKED_MB",
        ],
    )
    .await;
    // The directory says 1 KiB: reading stops there, with the workbook message.
    refused(
        &app,
        "liar.xlsx",
        workbook(Part {
            name: "xl/sharedStrings.xml",
            method: 8,
            crc: 0,
            size: 1024,
            data: bomb,
        }),
        &["could not be read as an Excel workbook"],
    )
    .await;
    app.cleanup().await;
}

/// The unpacked-size and cell limits are settings.
#[tokio::test]
async fn the_unpacked_size_and_cell_limits_are_settings() {
    let app = spawn_app_with(Store::Sqlite, |a| {
        a.engine.max_import_cells = 50;
        a.engine.max_import_unpacked_mb = 1;
    })
    .await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let sheet = |n: u32| {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for r in 0..n {
            for col in 0..n {
                ws.write_number(r, col as u16, f64::from(r * col)).unwrap();
            }
        }
        wb.save_to_buffer().unwrap()
    };
    let (status, body) = upload(&app, &c, "seven.xlsx", sheet(7)).await;
    assert_eq!(status, StatusCode::OK, "49 cells: {body}");
    let answer = upload(&app, &c, "eight.xlsx", sheet(8)).await;
    let (_, message) = field_error("eight.xlsx", &answer);
    assert!(message.contains("A1:H8, 64 cells"), "{message}");
    assert!(message.contains("at most 50"), "{message}");
    let text = format!("{SST_HEAD}{}{SST_TAIL}", "x".repeat(2 << 20));
    let answer = upload(
        &app,
        &c,
        "two-mb.xlsx",
        workbook(Part {
            name: "xl/sharedStrings.xml",
            method: 8,
            crc: crc32(text.as_bytes()),
            size: text.len() as u32,
            data: deflate_repeat(SST_HEAD.as_bytes(), b'x', 2 << 20, SST_TAIL.as_bytes()),
        }),
    )
    .await;
    let (_, message) = field_error("two-mb.xlsx", &answer);
    assert!(message.contains("more than 1 MB"), "{message}");
    app.cleanup().await;
}

/// 60 MB without a line break: refused once the line passes 1 MB, not held whole.
#[tokio::test]
async fn a_csv_with_one_enormous_line_is_refused_while_reading() {
    let app = spawn_app().await;
    let mut body = b"a,b\n".to_vec();
    body.resize(60 << 20, b'x');
    refused(
        &app,
        "line.csv",
        body,
        &["Line 2 is longer than 1 MB", "line breaks"],
    )
    .await;
    app.cleanup().await;
}

/// 20 lines of 500,000 values: a table has at most 2,000 columns, so the first line is
/// refused instead of half a million cells per line being kept for the preview.
#[tokio::test]
async fn a_csv_with_half_a_million_columns_is_refused() {
    let app = spawn_app().await;
    let line = format!("{}1\n", "1,".repeat(499_999));
    let body = line.repeat(20).into_bytes();
    refused(
        &app,
        "wide.csv",
        body,
        &[
            "Line 1 has 500,000 values",
            "at most 2000 columns",
            "delimiter",
        ],
    )
    .await;
    app.cleanup().await;
}

/// Legacy workbooks are read whole by calamine, allocating what their records declare:
/// they are refused with a message that says how to convert them.
#[tokio::test]
async fn xls_and_ods_workbooks_are_refused_with_how_to_convert_them() {
    let app = spawn_app().await;
    let (c, _) = app.signed_in(Role::Editor).await;
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.resize(4096, 0);
    for (name, body) in [
        ("old.xls", ole.clone()),
        ("renamed.csv", ole),
        (
            "sheet.ods",
            workbook(stored("xl/sharedStrings.xml", "<sst/>")),
        ),
    ] {
        let answer = upload(&app, &c, name, body).await;
        let (field, message) = field_error(name, &answer);
        assert_eq!(field, "file");
        assert!(
            message.contains("save it as .xlsx (or CSV)"),
            "{name}: {message}"
        );
    }
    app.cleanup().await;
}
