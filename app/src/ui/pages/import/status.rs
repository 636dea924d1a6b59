//! The import's progress, then its outcome: the table made (with the SQL to query it), or
//! the rows that did not fit.
use crate::{
    model::import::{quote_ident, ImportState, ImportStatus},
    ui::components::feedback::thousands,
};
use leptos::prelude::*;

#[component]
pub(super) fn StatusPanel(s: ImportStatus) -> impl IntoView {
    match s.state {
        ImportState::Running => {
            let pct = if s.rows_total > 0 {
                (s.rows_done as f64 / s.rows_total as f64 * 100.0).min(100.0)
            } else {
                0.0
            };
            view! {
                <section class="card import-status" data-test="import-running" aria-live="polite">
                    <progress max="100" value=format!("{pct:.0}")></progress>
                    <p class="muted">{format!("Importing into {}… {} of {} rows", s.table, thousands(s.rows_done), thousands(s.rows_total))}</p>
                </section>
            }
            .into_any()
        }
        ImportState::Done => {
            let sql = s.sql.clone();
            let href = format!(
                "/workbench?connection={}&sql={}",
                s.connection_id,
                crate::ui::components::layout::urlencode(&sql)
            );
            view! {
                <section class="card import-status" data-test="import-done">
                    <p class="note ok">{format!("Imported {} rows into the table {} of Uploads in {:.1} s.", thousands(s.rows_done), quote_ident(&s.table), s.elapsed_ms as f64 / 1000.0)}</p>
                    <p class="actions">
                        <a class="button primary" href=href data-test="open-workbench">"Open the SQL workbench on Uploads"</a>
                        <code class="mono">{sql.clone()}</code>
                        <button class="button small" type="button" on:click=move |_| crate::ui::js::copy_text(&sql)>"Copy SQL"</button>
                    </p>
                </section>
            }
            .into_any()
        }
        ImportState::Failed => {
            let more = s.error_count.saturating_sub(s.errors.len() as u64);
            view! {
                <section class="card import-status" data-test="import-failed">
                    <p class="note error" role="alert">{s.message.clone().unwrap_or_else(|| "The import failed; nothing was imported.".into())}</p>
                    {(!s.errors.is_empty()).then(|| view! {
                        <div class="table-wrap">
                            <table class="table compact import-errors" data-test="import-errors">
                                <thead><tr><th>"Row"</th><th>"Column"</th><th>"Value"</th><th>"Problem"</th></tr></thead>
                                <tbody>
                                    {s.errors.iter().map(|e| view! {
                                        <tr><td>{e.row}</td><td>{e.column.clone()}</td><td class="mono">{e.value.clone()}</td><td>{e.reason.clone()}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    })}
                    {(more > 0).then(|| view! { <p class="muted">{format!("… and {} more.", thousands(more))}</p> })}
                    <p class="muted small">"Change the column types above (Text accepts anything), or fix the file and upload it again."</p>
                </section>
            }
            .into_any()
        }
    }
}
