//! A download's progress: rows and bytes while it runs (with Cancel), then how it ended.
use crate::{
    api::insights::{export_progress, CancelExport},
    error::AppError,
    model::insight::{ExportState, ExportStatus},
    ui::components::feedback::{human_bytes, thousands},
};
use leptos::prelude::*;

/// A random token for a download's progress (browser only: called from a click).
pub fn export_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..20)
        .map(|_| {
            let i = (js_sys::Math::random() * ALPHABET.len() as f64) as usize;
            ALPHABET[i.min(ALPHABET.len() - 1)] as char
        })
        .collect()
}

/// The progress of the download the page started last: rows and bytes while it runs (with
/// Cancel), then how it ended. Asks the server every 400 ms while it runs.
#[component]
pub fn ExportProgress(download: RwSignal<Option<(String, &'static str)>>) -> impl IntoView {
    let status = RwSignal::new(None::<ExportStatus>);
    let problem = RwSignal::new(None::<AppError>);
    let tick = RwSignal::new(0u32);
    // Answers missing so far: the download's request may not have reached the server yet.
    let unseen = StoredValue::new(0u32);
    Effect::new(move |previous: Option<Option<String>>| {
        tick.track();
        let token = download.with(|d| d.as_ref().map(|d| d.0.clone()));
        if previous.as_ref() != Some(&token) {
            status.set(None);
            problem.set(None);
            unseen.set_value(0);
        }
        if let Some(token) = token.clone() {
            // A polling loop (one question, then the next 400 ms after its answer, while the
            // download runs), not an action: each answer decides whether to ask again.
            leptos::task::spawn_local(async move {
                let answer = export_progress(token.clone()).await;
                if download.with_untracked(|d| d.as_ref().map(|d| d.0 != token)) != Some(false) {
                    return; // another download started meanwhile
                }
                let again = match answer {
                    Ok(Some(s)) => {
                        let running = s.state == ExportState::Running;
                        status.set(Some(s));
                        running
                    }
                    // Not seen yet: its request may still be on the way (10 s at most).
                    Ok(None) if unseen.get_value() < 25 => {
                        unseen.update_value(|n| *n += 1);
                        true
                    }
                    Ok(None) => {
                        problem.set(Some(AppError::NotFound("The download".into())));
                        false
                    }
                    Err(e) => {
                        problem.set(Some(e));
                        false
                    }
                };
                if again {
                    set_timeout(
                        move || tick.update(|t| *t += 1),
                        std::time::Duration::from_millis(400),
                    );
                }
            });
        }
        token
    });
    let cancel_action = ServerAction::<CancelExport>::new();
    Effect::new(move |_| match cancel_action.value().get() {
        Some(Ok(s)) => status.set(Some(s)),
        Some(Err(e)) => problem.set(Some(e)),
        None => {}
    });
    let cancel = move |_| {
        if let Some((token, _)) = download.get_untracked() {
            cancel_action.dispatch(CancelExport { token });
        }
    };
    // Rows as they are read; the size once bytes go out (an Excel file is zipped at the end).
    let amount = |s: &ExportStatus| match s.rows {
        Some(rows) if s.bytes == 0 => format!("{} rows", thousands(rows)),
        Some(rows) => format!("{} rows, {}", thousands(rows), human_bytes(s.bytes)),
        None => human_bytes(s.bytes),
    };
    view! {
        {move || download.get().map(|(_, label)| {
            let body = match (status.get(), problem.get()) {
                (_, Some(e)) => view! {
                    <span>{format!("The {label} export's progress is unavailable: {e}")}</span>
                }.into_any(),
                (None, None) => view! { <span>{format!("Starting the {label} export…")}</span> }.into_any(),
                (Some(s), None) => match s.state {
                    ExportState::Running => view! {
                        <span>{format!("Exporting {label}… {}", amount(&s))}</span>
                        <button class="button small" type="button" data-test="export-cancel" on:click=cancel>"Cancel"</button>
                    }.into_any(),
                    ExportState::Done => view! {
                        <span>{format!("{label} export finished: {} in {:.1} s.", amount(&s), s.elapsed_ms as f64 / 1000.0)}</span>
                    }.into_any(),
                    ExportState::Cancelled => view! {
                        <span>{format!("{label} export cancelled after {}.", amount(&s))}</span>
                    }.into_any(),
                    ExportState::Failed => view! {
                        <span>{format!("The {label} export failed: {}", s.error.clone().unwrap_or_default())}</span>
                    }.into_any(),
                },
            };
            let class = match (status.get().map(|s| s.state), problem.get().is_some()) {
                (Some(ExportState::Failed), _) | (_, true) => "note error export-progress",
                (Some(ExportState::Done), _) => "note ok export-progress",
                _ => "note export-progress",
            };
            view! {
                <div class=class data-test="export-progress" role="status">
                    {body}
                    <button class="link dismiss" type="button" aria-label="Dismiss" data-test="export-dismiss" on:click=move |_| download.set(None)>"×"</button>
                </div>
            }
        })}
    }
}
