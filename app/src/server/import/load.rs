//! Loading an upload into its new table: one transaction, bad rows counted and shown, the
//! table created only when every row went in.
use super::{
    infer::{convert, sql_type},
    preview::display,
    read::each_row,
    service::exists,
    Cell, Job, Outcome, Resolved, Upload,
};
use crate::{
    error::{internal, AppError},
    model::import::{quote_ident, ColumnChoice, FileKind, ImportState, RowError, MAX_ROW_ERRORS},
};
use std::{
    path::PathBuf,
    sync::{atomic::Ordering, Mutex},
    time::{Duration, Instant},
};

pub(super) struct Plan {
    pub(super) resolved: Resolved,
    pub(super) columns: Vec<ColumnChoice>,
    pub(super) table: String,
    pub(super) replace: bool,
    pub(super) db_path: PathBuf,
}

pub(super) fn failed(message: String) -> Outcome {
    Outcome {
        state: ImportState::Failed,
        rows: 0,
        errors: vec![],
        error_count: 0,
        message: Some(message),
        elapsed: Duration::ZERO,
        finished: Instant::now(),
    }
}

/// Creates the table and inserts every row in one transaction; any bad row rolls it all
/// back (the rest of the file is still checked, so all errors are counted).
pub(super) fn load(job: &Job, upload: &Upload, plan: &Plan, writer: &Mutex<()>) -> Outcome {
    match load_rows(job, upload, plan, writer) {
        Ok(o) => o,
        Err(LoadError::App(e)) => failed(e.to_string()),
        Err(LoadError::Sqlite(e)) => failed(internal(e).to_string()),
    }
}

enum LoadError {
    App(AppError),
    Sqlite(rusqlite::Error),
}

impl From<AppError> for LoadError {
    fn from(e: AppError) -> Self {
        LoadError::App(e)
    }
}

impl From<rusqlite::Error> for LoadError {
    fn from(e: rusqlite::Error) -> Self {
        LoadError::Sqlite(e)
    }
}

/// Creates the table, dropping a table of the same name first when the plan replaces it;
/// `Ok(Err(why))` when the name is taken and may not be replaced.
fn create_table(tx: &rusqlite::Transaction, plan: &Plan) -> Result<Result<(), String>, LoadError> {
    let table = quote_ident(&plan.table);
    match exists(tx, &plan.table)? {
        None => {}
        Some(kind) if plan.replace && kind == "table" => {
            tx.execute_batch(&format!("DROP TABLE {table}"))?;
        }
        Some(_) => {
            return Ok(Err(format!(
                "A table named {} exists already in Uploads: choose another name, or replace it.",
                plan.table
            )))
        }
    }
    let defs: Vec<String> = plan
        .columns
        .iter()
        .map(|c| format!("{} {}", quote_ident(&c.name), sql_type(c.ty)))
        .collect();
    tx.execute_batch(&format!("CREATE TABLE {table} ({})", defs.join(", ")))?;
    Ok(Ok(()))
}

fn load_rows(
    job: &Job,
    upload: &Upload,
    plan: &Plan,
    writer: &Mutex<()>,
) -> Result<Outcome, LoadError> {
    let _turn = writer
        .lock()
        .map_err(|_| internal("import writer lock poisoned"))?;
    let mut conn = rusqlite::Connection::open_with_flags(
        &plan.db_path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    if let Err(refusal) = create_table(&tx, plan)? {
        return Ok(failed(refusal));
    }
    let table = quote_ident(&plan.table);
    let ncols = plan.columns.len();
    let marks = vec!["?"; ncols].join(", ");
    let mut errors: Vec<RowError> = vec![];
    let mut error_count: u64 = 0;
    let mut done: u64 = 0;
    {
        let mut insert = tx.prepare(&format!("INSERT INTO {table} VALUES ({marks})"))?;
        let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(ncols);
        let mut skip_header = plan.resolved.header;
        let mut report = |e: RowError, count: &mut u64| {
            *count += 1;
            if errors.len() < MAX_ROW_ERRORS {
                errors.push(e);
            }
        };
        each_row(upload, &plan.resolved, &mut |row, cells: &[Cell]| {
            if skip_header {
                skip_header = false;
                return Ok::<(), LoadError>(());
            }
            values.clear();
            // Extra cells are fine when empty (trailing delimiters); missing ones are not.
            let extra = cells.iter().skip(ncols).any(|c| *c != Cell::Empty);
            if (cells.len() < ncols && upload.kind == FileKind::Csv) || extra {
                report(
                    RowError {
                        row,
                        column: String::new(),
                        value: String::new(),
                        reason: format!("has {} values; the file has {ncols} columns", cells.len()),
                    },
                    &mut error_count,
                );
                return Ok(());
            }
            for (i, col) in plan.columns.iter().enumerate() {
                let cell = cells.get(i).unwrap_or(&Cell::Empty);
                match convert(cell, col.ty) {
                    Ok(v) => values.push(v),
                    Err(reason) => report(
                        RowError {
                            row,
                            column: col.name.clone(),
                            value: display(cell).unwrap_or_default(),
                            reason,
                        },
                        &mut error_count,
                    ),
                }
            }
            // After the first bad row nothing will be kept: only look for more errors.
            if error_count == 0 {
                insert.execute(rusqlite::params_from_iter(values.iter()))?;
            }
            done += 1;
            if done.is_multiple_of(1000) {
                job.rows_done.store(done, Ordering::Relaxed);
            }
            Ok(())
        })?;
    }
    job.rows_done.store(done, Ordering::Relaxed);
    if error_count > 0 {
        tx.rollback()?;
        return Ok(Outcome {
            state: ImportState::Failed,
            rows: done,
            message: Some(format!(
                "{error_count} {} did not fit the column types; nothing was imported.",
                if error_count == 1 { "value" } else { "values" }
            )),
            errors,
            error_count,
            elapsed: Duration::ZERO,
            finished: Instant::now(),
        });
    }
    tx.commit()?;
    Ok(Outcome {
        state: ImportState::Done,
        rows: done,
        errors: vec![],
        error_count: 0,
        message: None,
        elapsed: Duration::ZERO,
        finished: Instant::now(),
    })
}
