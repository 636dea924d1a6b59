//! The preview of an upload: its first rows, the header row told from data, column names
//! and the types inferred from the whole file.
use super::{
    infer::{bit, fits_mask, Inference, DATE, DATETIME, INT, REAL},
    read::{each_row, resolve_options},
    Cell, Shape, Upload, INFER_ROWS, PREVIEW_ROWS,
};
use crate::{
    error::AppError,
    model::import::{
        table_name_from_file, ColumnType, FileKind, ImportPreview, PreviewColumn, ReadOptions,
    },
};
use chrono::NaiveDateTime;
use std::collections::HashSet;

/// Reads the whole file once: first rows, column count, types, header detection, row count.
pub(super) fn read_preview(
    upload: &Upload,
    options: &ReadOptions,
) -> Result<ImportPreview, AppError> {
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
pub(super) fn display(c: &Cell) -> Option<String> {
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

pub(super) fn format_datetime(t: &NaiveDateTime) -> String {
    if t.and_utc().timestamp_subsec_millis() == 0 {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::import::infer::Inference;

    fn text(s: &str) -> Cell {
        Cell::Text(s.into())
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
