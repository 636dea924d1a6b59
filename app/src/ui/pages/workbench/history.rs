//! The history panel: the queries this user ran, newest first, each to copy into the editor
//! or run again. A list that cannot be read shows its error in the page's History region.
use crate::{
    error::AppError,
    model::run::HistoryEntry,
    ui::components::feedback::{plural, thousands},
};
use leptos::prelude::*;

#[component]
pub(super) fn HistoryPanel(
    history: Resource<Result<Vec<HistoryEntry>, AppError>>,
    load_entry: Callback<(HistoryEntry, bool)>,
) -> impl IntoView {
    view! {
        <aside class="wb-history card" data-test="history">
            <h2>"History"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    history.await.map(|list| view! { <HistoryList list load_entry/> })
                })}
            </Suspense>
        </aside>
    }
}

/// The entries, newest first (or a line saying where they will appear).
#[component]
fn HistoryList(
    list: Vec<HistoryEntry>,
    load_entry: Callback<(HistoryEntry, bool)>,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted">"Queries you run appear here."</p> }.into_any();
    }
    view! {
        <ul class="history-list">
            {list.into_iter().map(|e| {
                let open = e.clone();
                let again = e.clone();
                view! {
                    <li class=format!("history-item state-{}", e.state.as_str())>
                        <pre class="mono">{e.sql.chars().take(300).collect::<String>()}</pre>
                        <p class="muted small" data-test="history-line">{history_line(&e)}</p>
                        {e.error.clone().map(|m| view! { <p class="field-error small">{m}</p> })}
                        <div class="actions">
                            <button class="button small" on:click=move |_| load_entry.run((open.clone(), false))>"Copy to editor"</button>
                            <button class="button small" data-test="history-rerun" on:click=move |_| load_entry.run((again.clone(), true))>"Run again"</button>
                        </div>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// `Demo · 2026-12-07 10:00:00 · done · 1 row · 12 ms`
fn history_line(e: &HistoryEntry) -> String {
    let mut parts = vec![
        e.connection_name.clone(),
        e.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        e.state.as_str().to_string(),
    ];
    if let Some(n) = e.row_count {
        parts.push(plural(n, "row", "rows"));
    }
    if let Some(ms) = e.elapsed_ms {
        parts.push(format!("{} ms", thousands(ms)));
    }
    parts.join(" · ")
}
