//! Reading an upload: CSV (delimiter sniffed, BOM and UTF-16 handled, line length bounded) and
//! workbooks (streamed cell by cell where the format allows, zip bombs refused), row by row.
use super::{
    human_size,
    infer::{parse_date, parse_datetime},
    Cell, Resolved, Upload, MAX_COLUMNS, MAX_LINE_BYTES, MAX_ZIP_ENTRIES, READ_AHEAD,
};
use crate::{
    error::{internal, AppError},
    model::import::{FileKind, ReadOptions},
};
use chrono::NaiveTime;
use std::{
    fs::File,
    io::{BufRead, BufReader, Read},
    path::Path,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
};

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

pub(super) fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    let clean = clean.trim();
    if clean.is_empty() {
        "upload".into()
    } else {
        clean.to_string()
    }
}

pub(super) fn extension(name: &str) -> String {
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

pub(super) fn resolve_options(
    upload: &Upload,
    options: &ReadOptions,
) -> Result<Resolved, AppError> {
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
pub(super) fn each_row<E: From<AppError>>(
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
pub(super) fn check_zip(path: &Path, max_unpacked: u64) -> Result<(), AppError> {
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
