//! A board exported as one Excel workbook, streamed as it is written: a first sheet with the
//! board, when it was exported and the filter values (and a link back), then a sheet per
//! insight tile in reading order with its rows for those values (up to one sheet's worth), or
//! why it has none, and a sheet of notes. Each tile runs through the same checks as on the
//! board; exports read the database.
use super::{draft_of, live_row, tile_infos};
use crate::{
    error::AppError,
    model::{
        dashboard::{self, DashboardDraft, DashboardId, Tile, TileContent, TileInfo},
        insight::UrlValues,
        Permission,
    },
    server::{
        connectors::{ConnectorError, RowSink},
        db::audit,
        export::{self, Book, ExportFormat, XLSX_ROWS_PER_SHEET},
        insights, AppState, Principal,
    },
};
use chrono::Utc;

/// The board's workbook with the filter values `filters` (a value that does not parse
/// refuses the export, naming `f_<filter>`). Answers at once; the body follows.
pub async fn export_xlsx(
    state: &AppState,
    me: &Principal,
    id: DashboardId,
    filters: UrlValues,
) -> Result<insights::Download, AppError> {
    me.require(Permission::ViewInsights)?;
    let r = live_row(state, id).await?;
    let d = draft_of(&r)?;
    insights::parse_values(&d.filters, &filters).map_err(|e| match e {
        AppError::Validation(errors) => AppError::Validation(
            errors
                .into_iter()
                .map(|mut f| {
                    f.field = f.field.replacen("p_", "f_", 1);
                    f
                })
                .collect(),
        ),
        other => other,
    })?;
    let infos = tile_infos(state, me, &d).await;
    let cover = cover(state, id, &d, &filters);
    let (book, body) = export::workbook(&state.settings.data_dir);
    let job = Job {
        state: state.clone(),
        user: me.user_id,
        board: id.0,
        draft: d,
        filters,
        infos,
    };
    tokio::spawn(job.write(book, cover));
    Ok(insights::Download {
        filename: format!("dashboard-{}.xlsx", id.0),
        content_type: ExportFormat::Xlsx.content_type(),
        body,
    })
}

/// The first sheet's rows: the board's name, when, a link back, and each filter's value.
fn cover(
    state: &AppState,
    id: DashboardId,
    d: &DashboardDraft,
    filters: &UrlValues,
) -> Vec<Vec<String>> {
    let query = crate::ui::url::prefixed_query("f_", filters);
    let link = format!(
        "{}/dashboards/{}{}{query}",
        state.settings.public_url.trim_end_matches('/'),
        id.0,
        if query.is_empty() { "" } else { "?" },
    );
    let mut rows = vec![
        vec!["Dashboard".to_string(), d.name.clone()],
        vec![
            "Exported at".to_string(),
            Utc::now().format("%Y-%m-%d %H:%M:%S UTC").to_string(),
        ],
        vec!["Link".to_string(), link],
    ];
    for f in &d.filters {
        let shown = match filters.get(&f.name).filter(|v| !v.is_empty()) {
            Some(v) => v.join(", "),
            None if !f.default.is_empty() => format!("{} (default)", f.default.join(", ")),
            None => "(any)".to_string(),
        };
        let label = if f.label.is_empty() {
            &f.name
        } else {
            &f.label
        };
        rows.push(vec![format!("Filter: {label}"), shown]);
    }
    rows
}

/// What writing the workbook needs, moved into its task.
struct Job {
    state: AppState,
    user: Option<crate::model::UserId>,
    board: i64,
    draft: DashboardDraft,
    filters: UrlValues,
    infos: Vec<TileInfo>,
}

/// How one tile went into the book.
enum TileOutcome {
    Written,
    /// Written, with a note for the notes sheet.
    Noted(String),
    /// Not written: why (its own small sheet says so).
    Skipped(String),
}

impl Job {
    /// Writes the cover, a sheet per insight tile and the notes, ends the body (with an error
    /// if writing failed or the client left) and audits the export.
    async fn write(self, mut book: Book, cover: Vec<Vec<String>>) {
        let started = std::time::Instant::now();
        let mut tiles: Vec<&Tile> = self.draft.tiles.iter().collect();
        tiles.sort_by_key(|t| (t.y, t.x));
        let mut notes: Vec<Vec<String>> = vec![];
        let mut sheets = 0u32;
        let mut outcome = book.table("Filters", &["Setting", "Value"], cover).await;
        for t in tiles {
            if outcome.is_err() {
                break;
            }
            let TileContent::Insight { title, .. } = &t.content else {
                continue;
            };
            let Some(info) = self.infos.iter().find(|i| i.id == t.id) else {
                continue;
            };
            let name = if title.is_empty() { &info.name } else { title };
            sheets += 1;
            match self.tile(&mut book, t, info, name).await {
                Ok(TileOutcome::Written) => {}
                Ok(TileOutcome::Noted(note)) => notes.push(vec![name.to_string(), note]),
                Ok(TileOutcome::Skipped(why)) => {
                    notes.push(vec![name.to_string(), why.clone()]);
                    outcome = book.table(name, &["Not exported"], vec![vec![why]]).await;
                }
                Err(e) => outcome = Err(e),
            }
        }
        if outcome.is_ok() && !notes.is_empty() {
            outcome = book.table("Notes", &["Tile", "Note"], notes).await;
        }
        let detail = serde_json::json!({
            "dashboard": self.board,
            "format": "xlsx",
            "tiles": sheets,
            "elapsed_ms": started.elapsed().as_millis() as u64,
            "error": outcome.as_ref().err().map(|e| e.to_string()),
        })
        .to_string();
        book.finish(outcome).await;
        let audited = audit::record(&self.state.db, self.user, "dashboard_export", None, &detail);
        if let Err(e) = futures::FutureExt::boxed(audited).await {
            tracing::warn!(error = %e, "could not audit an export");
        }
    }

    /// One insight tile's sheet: its rows for the board's values, or why it has none. `Err`
    /// stops the whole book (the client went away, or the book cannot be written).
    async fn tile(
        &self,
        book: &mut Book,
        t: &Tile,
        info: &TileInfo,
        name: &str,
    ) -> Result<TileOutcome, ConnectorError> {
        let TileContent::Insight {
            insight_id, links, ..
        } = &t.content
        else {
            return Ok(TileOutcome::Written);
        };
        if let Some(p) = &info.problem {
            return Ok(TileOutcome::Skipped(p.clone()));
        }
        let values =
            dashboard::tile_values(&self.draft.filters, links, &info.params, &self.filters);
        let p = match insights::prepare(&self.state, *insight_id, &values).await {
            Ok(p) => p,
            Err(e) => return Ok(TileOutcome::Skipped(e.to_string())),
        };
        book.sheet(name).await?;
        let limit = u64::from(XLSX_ROWS_PER_SHEET);
        let sink = &mut *book as &mut dyn RowSink;
        let run = p.run(&self.state, limit, Default::default(), sink).await;
        Ok(match run {
            Ok(_) if book.sheet_unstarted() => {
                TileOutcome::Skipped("The query returned no result set.".to_string())
            }
            Ok(s) if s.truncated => {
                TileOutcome::Noted(format!("Only the first {} rows (one sheet).", s.row_count))
            }
            Ok(_) => TileOutcome::Written,
            // The client went away: stop.
            Err(e) if book_gone(&e) => return Err(e),
            Err(e) => {
                book.discard();
                TileOutcome::Skipped(e.to_string())
            }
        })
    }
}

/// The export's body was dropped (the download was cancelled or the client left).
fn book_gone(e: &ConnectorError) -> bool {
    matches!(e, ConnectorError::Output(m) if m.contains("cancelled"))
}
