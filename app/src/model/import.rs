//! File imports: an uploaded CSV or Excel file, its preview with inferred column types, the
//! choices the user makes, and the progress and outcome of loading it into the built-in
//! "Uploads" connection as a new table.
use super::connection::ConnectionId;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Id of an uploaded file waiting to be imported (a random UUID, scoped to its uploader).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UploadId(pub String);

/// Id of one import (a random UUID, scoped to the user who started it).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ImportId(pub String);

/// What kind of file was uploaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Csv,
    /// A spreadsheet (xlsx, xlsm, xlsb), read with calamine.
    Excel,
}

/// The type a column is created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Integer,
    Real,
    Boolean,
    Date,
    Datetime,
    Text,
}

impl ColumnType {
    pub const ALL: [ColumnType; 6] = [
        ColumnType::Integer,
        ColumnType::Real,
        ColumnType::Boolean,
        ColumnType::Date,
        ColumnType::Datetime,
        ColumnType::Text,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Integer => "integer",
            ColumnType::Real => "real",
            ColumnType::Boolean => "boolean",
            ColumnType::Date => "date",
            ColumnType::Datetime => "datetime",
            ColumnType::Text => "text",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ColumnType::Integer => "Integer",
            ColumnType::Real => "Decimal number",
            ColumnType::Boolean => "True/false",
            ColumnType::Date => "Date",
            ColumnType::Datetime => "Date and time",
            ColumnType::Text => "Text",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// One column as found in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewColumn {
    /// The suggested column name (the header cell, cleaned up and made unique).
    pub name: String,
    /// The header cell as it is in the file (empty without a header row).
    pub header: String,
    /// The type every value of the column fits.
    pub inferred: ColumnType,
}

/// How to read the file: the sheet of a workbook, the delimiter of a CSV file, and whether
/// the first row holds the column names. `None` means "as detected".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadOptions {
    #[serde(default)]
    pub sheet: Option<String>,
    #[serde(default)]
    pub delimiter: Option<char>,
    #[serde(default)]
    pub header: Option<bool>,
}

/// What an uploaded file looks like: how it was read, its columns and first rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportPreview {
    pub upload_id: UploadId,
    pub file_name: String,
    pub kind: FileKind,
    pub size_bytes: u64,
    /// The sheets of a workbook (empty for CSV).
    pub sheets: Vec<String>,
    /// The sheet read (workbooks only).
    pub sheet: Option<String>,
    /// The delimiter used (CSV only).
    pub delimiter: Option<char>,
    /// Whether the first row was taken as column names.
    pub header: bool,
    pub columns: Vec<PreviewColumn>,
    /// The first rows as text (`None` for an empty cell).
    pub rows: Vec<Vec<Option<String>>>,
    /// Data rows in the file (blank rows are skipped).
    pub total_rows: u64,
    /// A table name derived from the file name.
    pub suggested_table: String,
}

/// The user's choice for one column, in file order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnChoice {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ColumnType,
}

/// Load an uploaded file into a new table of the Uploads connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRequest {
    pub upload_id: UploadId,
    pub table: String,
    /// Replace a table of that name; without it an existing table is refused.
    #[serde(default)]
    pub replace: bool,
    #[serde(default)]
    pub options: ReadOptions,
    /// One per column of the file, in order.
    pub columns: Vec<ColumnChoice>,
}

/// A value that does not fit its column's type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    /// The row number as a spreadsheet shows it (the header is row 1).
    pub row: u64,
    /// The column name (empty when the whole row is wrong).
    pub column: String,
    pub value: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            write!(f, "row {}: {}", self.row, self.reason)
        } else {
            write!(
                f,
                "row {}, column {}: {}",
                self.row, self.column, self.reason
            )
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportState {
    Running,
    Done,
    Failed,
}

/// Where an import stands. A failed import created nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportStatus {
    pub id: ImportId,
    pub state: ImportState,
    pub table: String,
    pub rows_done: u64,
    pub rows_total: u64,
    /// The first row errors (at most [`MAX_ROW_ERRORS`]).
    pub errors: Vec<RowError>,
    /// All row errors found.
    pub error_count: u64,
    /// Why the import failed, when it was not (only) bad rows.
    pub message: Option<String>,
    /// The Uploads connection the table is in.
    pub connection_id: ConnectionId,
    /// A query that shows the new table.
    pub sql: String,
    pub elapsed_ms: u64,
}

/// Row errors reported in full; the rest are only counted.
pub const MAX_ROW_ERRORS: usize = 100;

/// Quotes an SQL identifier: the text between double quotes, with quotes doubled. Names from
/// files reach SQL only this way.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `None` when `name` may be a table name: a letter or `_` first, then letters, digits and
/// `_`, at most 63 characters, not reserved by SQLite.
pub fn table_name_problem(name: &str) -> Option<&'static str> {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Some("Enter a table name.");
    };
    if name.chars().count() > 63 {
        return Some("Table names are at most 63 characters long.");
    }
    if !(first.is_ascii_alphabetic() || first == '_')
        || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Some("Use letters, digits and _ only, starting with a letter (e.g. sales_2024).");
    }
    if name.to_ascii_lowercase().starts_with("sqlite_") {
        return Some("Names starting with sqlite_ are reserved.");
    }
    None
}

/// `None` when `name` may be a column name. Any printable text is allowed (it is quoted).
pub fn column_name_problem(name: &str) -> Option<&'static str> {
    if name.trim().is_empty() {
        Some("Every column needs a name.")
    } else if name.chars().count() > 128 {
        Some("Column names are at most 128 characters long.")
    } else if name.chars().any(char::is_control) {
        Some("Column names cannot contain control characters.")
    } else if name != name.trim() {
        Some("Column names cannot start or end with spaces.")
    } else {
        None
    }
}

/// A table name made from a file name: `Sales 2024 (final).csv` → `sales_2024_final`.
pub fn table_name_from_file(file_name: &str) -> String {
    let stem = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(file_name)
        .rsplit_once('.')
        .map(|(s, _)| s)
        .unwrap_or(file_name);
    let mut out = String::new();
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    let mut out = out.trim_end_matches('_').to_string();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "t_");
    }
    if out.starts_with("sqlite_") {
        out.insert_str(0, "t_");
    }
    out.chars().take(63).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_quotes_doubled() {
        assert_eq!(
            quote_ident("a\"; drop table x; --"),
            "\"a\"\"; drop table x; --\""
        );
        assert_eq!(quote_ident("plain"), "\"plain\"");
    }

    #[test]
    fn table_names_are_plain_identifiers() {
        assert_eq!(table_name_problem("sales_2024"), None);
        assert_eq!(table_name_problem("_x"), None);
        for bad in [
            "",
            "1x",
            "a-b",
            "a b",
            "x\"y",
            "sqlite_master",
            "é",
            &"a".repeat(64),
        ] {
            assert!(table_name_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn column_names_allow_anything_printable() {
        assert_eq!(column_name_problem("a\"; drop table x; --"), None);
        assert_eq!(column_name_problem("Order date"), None);
        for bad in ["", "  ", " a", "a\nb", &"x".repeat(129)] {
            assert!(column_name_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn table_names_from_file_names() {
        assert_eq!(
            table_name_from_file("Sales 2024 (final).csv"),
            "sales_2024_final"
        );
        assert_eq!(table_name_from_file("2024.xlsx"), "t_2024");
        assert_eq!(table_name_from_file("données.csv"), "donn_es");
        assert_eq!(table_name_from_file(".csv"), "t_");
        assert_eq!(table_name_from_file("C:\\tmp\\x.y.csv"), "x_y");
    }

    #[test]
    fn row_errors_read_as_sentences() {
        let e = RowError {
            row: 1042,
            column: "amount".into(),
            value: "abc".into(),
            reason: "'abc' is not a number".into(),
        };
        assert_eq!(
            e.to_string(),
            "row 1042, column amount: 'abc' is not a number"
        );
    }
}
