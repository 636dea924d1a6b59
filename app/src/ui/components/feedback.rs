//! Messages: errors next to inputs, alerts above forms, loading lines.
use crate::error::AppError;
use leptos::prelude::*;

/// A form-level error message (for errors that do not belong to one field).
#[component]
pub fn ErrorNote(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            let text = match &e {
                AppError::Validation(errs) if errs.len() > 1 => errs
                    .iter()
                    .map(|f| f.message.clone())
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.to_string(),
            };
            view! { <p class="note error" role="alert">{text}</p> }
        })
    }
}

/// The message for one field from a validation error, shown under the input.
#[component]
pub fn FieldNote(
    #[prop(into)] error: Signal<Option<AppError>>,
    field: &'static str,
) -> impl IntoView {
    move || {
        error
            .get()
            .and_then(|e| e.field_message(field))
            .map(|m| view! { <span class="field-error">{m}</span> })
    }
}

/// One region of a page (a panel, a list, a form) with its own error boundary: a `Result`
/// rendered inside that is an `Err` shows its message here, in place of this region only, and
/// the rest of the page keeps working. The region shows its content again as soon as the
/// value it renders is `Ok` (a reload, a retried action).
///
/// Put a region where it stays for the page's life: at a page's top level, around a `Show`,
/// `Suspense` or list rather than inside one. (Leptos 0.8: a boundary that its parent removes
/// keeps its content's effects alive a moment longer than their signals, and an update in
/// that moment panics on a disposed signal.)
///
/// Inside, render a resource's answer as a `Result` view instead of matching on its error:
/// `{move || alerts.get().map(|r| r.map(|list| view! { <AlertRows alerts=list/> }))}`.
#[component]
pub fn Region(
    /// What this region shows, for the message: "Channels could not be shown: …".
    label: &'static str,
    children: Children,
) -> impl IntoView {
    let fallback = move |errors: ArcRwSignal<Errors>| {
        view! {
            <div class="note error" role="alert" data-test="region-error">
                {move || {
                    let text = errors
                        .get()
                        .into_iter()
                        .map(|(_, e)| e.to_string())
                        .collect::<Vec<_>>()
                        .join(" ");
                    format!("{label} could not be shown: {text}")
                }}
            </div>
        }
    };
    view! {
        <ErrorBoundary fallback>
            {children()}
        </ErrorBoundary>
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" aria-busy="true">"Loading…"</p> }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A count with its noun: `1 row`, `0 rows`, `1,000,000 rows`.
pub fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// A byte count for people: `512 bytes`, `12.3 kB`, `80.2 MB`, `1.4 GB`.
pub fn human_bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} bytes"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.1} GB", n as f64 / 1e9),
    }
}

/// How old a result is, for "updated 3 min ago".
pub fn updated_ago(
    at: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let secs = (now - at).num_seconds().max(0);
    match secs {
        0..60 => "updated just now".into(),
        60..3600 => format!("updated {} min ago", secs / 60),
        3600..86_400 => format!("updated {} h ago", secs / 3600),
        _ => format!("updated {} days ago", secs / 86_400),
    }
}

/// The time now, refreshed every 20 seconds while the calling component lives (for texts
/// such as "updated 3 min ago" that age on screen).
pub fn use_clock() -> ReadSignal<chrono::DateTime<chrono::Utc>> {
    let (now, set_now) = signal(chrono::Utc::now());
    #[cfg(feature = "hydrate")]
    {
        if let Ok(h) = set_interval_with_handle(
            move || {
                set_now.try_set(chrono::Utc::now());
            },
            std::time::Duration::from_secs(20),
        ) {
            on_cleanup(move || h.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = set_now;
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_words() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .to_utc();
        let later = |s: i64| at + chrono::Duration::seconds(s);
        assert_eq!(updated_ago(at, later(-5)), "updated just now");
        assert_eq!(updated_ago(at, later(59)), "updated just now");
        assert_eq!(updated_ago(at, later(180)), "updated 3 min ago");
        assert_eq!(updated_ago(at, later(7300)), "updated 2 h ago");
        assert_eq!(updated_ago(at, later(3 * 86_400)), "updated 3 days ago");
    }

    #[test]
    fn counts_read_like_words() {
        assert_eq!(plural(1, "row", "rows"), "1 row");
        assert_eq!(plural(0, "row", "rows"), "0 rows");
        assert_eq!(plural(1_000_000, "row", "rows"), "1,000,000 rows");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
    }
}
