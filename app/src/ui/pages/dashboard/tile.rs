//! One tile: its place on the grid, its own run (spinner, elapsed time, error and Retry, so
//! one failing or slow tile never holds up the others), the table or chart it shows, and in
//! edit mode the handles to move and resize it (drag, keyboard, menu).
use super::{
    edit::{TileMenu, TileSettings},
    page::Board,
};
use crate::{
    api::insights::run_insight,
    model::{
        dashboard::{
            cross_filter_template, step, tile_values, FilterLink, Step, Tile, TileContent, TileInfo,
        },
        insight::{DrillLink, DrillTarget, UrlValues, ViewKind, ViewSpec},
        params::ParamSpec,
        run::{CacheUse, RunView},
    },
    ui::components::{
        chart::ChartPanel,
        feedback::{plural, updated_ago, use_clock},
        layout::urlencode,
        result_grid::{ResultPanel, PAGE},
        run::RunCtl,
    },
    ui::url::{insight_url, with_param},
};
use leptos::prelude::*;
use std::collections::HashMap;

/// `grid-column` and `grid-row` of a tile.
fn grid_style(t: &Tile) -> String {
    format!(
        "grid-column: {} / span {}; grid-row: {} / span {};",
        t.x + 1,
        t.w,
        t.y + 1,
        t.h
    )
}

/// "0.4 s", "12 s", "2 min 5 s".
fn elapsed(ms: u64) -> String {
    if ms < 10_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms < 60_000 {
        format!("{} s", ms / 1000)
    } else {
        format!("{} min {} s", ms / 60_000, (ms / 1000) % 60)
    }
}

#[component]
pub fn TileView(
    board: Board,
    tile_id: u32,
    filters: Signal<Vec<ParamSpec>>,
    values: Memo<UrlValues>,
    filter_errors: Memo<HashMap<String, String>>,
) -> impl IntoView {
    let shown = board.shown();
    let tile =
        Memo::new(move |_| shown.with(|d| d.tiles.iter().find(|t| t.id == tile_id).cloned()));
    let info = Memo::new(move |_| board.infos.with(|m| m.get(&tile_id).cloned()));
    let style = move || tile.with(|t| t.as_ref().map(grid_style).unwrap_or_default());
    let editing = board.editing;
    let key_step = move |ev: leptos::ev::KeyboardEvent| {
        if !editing.get_untracked() {
            return;
        }
        let s = match (ev.key().as_str(), ev.shift_key()) {
            ("ArrowUp", false) => Step::Up,
            ("ArrowDown", false) => Step::Down,
            ("ArrowLeft", false) => Step::Left,
            ("ArrowRight", false) => Step::Right,
            ("ArrowRight", true) => Step::Wider,
            ("ArrowLeft", true) => Step::Narrower,
            ("ArrowDown", true) => Step::Taller,
            ("ArrowUp", true) => Step::Shorter,
            _ => return,
        };
        // Only when the tile itself has focus (not an input inside it).
        let on_tile = ev
            .target()
            .zip(ev.current_target())
            .is_some_and(|(t, c)| t == c);
        if on_tile {
            ev.prevent_default();
            board.draft.update(|d| step(&mut d.tiles, tile_id, s));
        }
    };
    // What the tile is (not where it is): moving or resizing a tile must not rebuild it.
    let kind = Memo::new(move |_| {
        tile.with(|t| {
            t.as_ref().map(|t| match &t.content {
                TileContent::Heading { .. } => 0u8,
                TileContent::Text { .. } => 1,
                TileContent::Insight { .. } => 2,
            })
        })
    });
    let heading = move || {
        tile.with(|t| match t.as_ref().map(|t| &t.content) {
            Some(TileContent::Heading { text }) => text.clone(),
            _ => String::new(),
        })
    };
    let html = move || info.with(|i| i.as_ref().map(|i| i.html.clone()).unwrap_or_default());
    let body = move || {
        match kind.get() {
        Some(0) => view! { <h2 class="tile-heading" data-test="tile-heading">{heading}</h2> }.into_any(),
        Some(1) => view! {
            <Show when=move || !html().is_empty() fallback=|| view! { <p class="muted small">"The text shows here once the dashboard is saved."</p> }>
                <div class="tile-text markdown" data-test="tile-text" inner_html=html></div>
            </Show>
        }.into_any(),
        Some(_) => view! { <InsightTile board tile_id tile filters values filter_errors/> }.into_any(),
        None => ().into_any(),
    }
    };
    view! {
        <div class="tile" class:editing=move || editing.get() style=style data-test="tile" data-tile=tile_id.to_string()
            tabindex=move || if editing.get() { "0" } else { "-1" }
            aria-label=move || if editing.get() { "Tile: arrow keys move it, Shift + arrow keys resize it" } else { "" }
            on:keydown=key_step>
            <Show when=move || editing.get()>
                <TileMenu board tile_id/>
            </Show>
            {body}
            <Show when=move || editing.get()>
                <TileSettings board tile_id/>
            </Show>
        </div>
    }
}

/// An insight tile: runs when the filters (or the tile's settings) change, or on Refresh.
#[component]
fn InsightTile(
    board: Board,
    tile_id: u32,
    tile: Memo<Option<Tile>>,
    filters: Signal<Vec<ParamSpec>>,
    values: Memo<UrlValues>,
    filter_errors: Memo<HashMap<String, String>>,
) -> impl IntoView {
    let info = Memo::new(move |_| board.infos.with(|m| m.get(&tile_id).cloned()));
    let content = Memo::new(move |_| tile.with(|t| t.as_ref().map(|t| t.content.clone())));
    // A tile keeps its insight (another insight is another tile).
    let insight_id = match content.get_untracked() {
        Some(TileContent::Insight { insight_id, .. }) => Some(insight_id),
        _ => None,
    };
    let links = Memo::new(move |_| match content.get() {
        Some(TileContent::Insight { links, .. }) => links,
        _ => vec![],
    });
    let params =
        Memo::new(move |_| info.with(|i| i.as_ref().map(|i| i.params.clone()).unwrap_or_default()));
    let tile_vals = Memo::new(move |_| {
        filters.with(|f| links.with(|l| params.with(|p| values.with(|v| tile_values(f, l, p, v)))))
    });
    let bad_filter = bad_filter(filters, filter_errors, links, params);
    let name = Signal::derive(move || {
        let title = match content.get() {
            Some(TileContent::Insight { title, .. }) => title,
            _ => String::new(),
        };
        if title.is_empty() {
            info.with(|i| i.as_ref().map(|i| i.name.clone()).unwrap_or_default())
        } else {
            title
        }
    });
    let problem = Memo::new(move |_| info.with(|i| i.as_ref().and_then(|i| i.problem.clone())));
    let view_kind = Memo::new(move |_| {
        let own = match content.get() {
            Some(TileContent::Insight { view, .. }) => view,
            _ => None,
        };
        own.or_else(|| info.with(|i| i.as_ref().map(|i| i.view.clone())))
            .unwrap_or_default()
    });
    let ctl = RunCtl::new();
    // Runs on the first showing, on a change of the values it gets, and on each Refresh.
    Effect::new(move |_| {
        let vals = tile_vals.get();
        let cache = if board.refresh.get() == board.fresh_at.get_value() {
            CacheUse::Fresh
        } else {
            CacheUse::Board(board.id.0)
        };
        let ready = info.with(|i| i.as_ref().is_some_and(|i| i.problem.is_none()));
        let Some(insight) = insight_id.filter(|_| ready && bad_filter.with(Option::is_none)) else {
            ctl.clear();
            return;
        };
        let request = async move { run_insight(insight, vals, PAGE as u32, cache).await };
        if board.quiet.get_untracked() {
            ctl.refresh(request);
        } else {
            ctl.start(request);
        }
    });
    let retry = Callback::new(move |_: ()| {
        board.quiet.set(false);
        let vals = tile_vals.get_untracked();
        if let Some(insight) = insight_id {
            ctl.start(
                async move { run_insight(insight, vals, PAGE as u32, CacheUse::Fresh).await },
            );
        }
    });
    // The insight with the values this tile runs with.
    let href = Signal::derive(move || insight_id.map(|i| insight_url(i, &tile_vals.get())));
    let drill = tile_drill(board, content, info, values);
    let note = Signal::derive(move || problem.get().or_else(|| bad_filter.get()));
    let can_show = Signal::derive(move || problem.with(Option::is_none));
    view! {
        <TileHead ctl name href retry/>
        <TileBody ctl note can_show view_kind drill values=tile_vals name retry/>
    }
}

/// Filters this tile uses whose value does not parse: the tile says so instead of running.
fn bad_filter(
    filters: Signal<Vec<ParamSpec>>,
    filter_errors: Memo<HashMap<String, String>>,
    links: Memo<Vec<FilterLink>>,
    params: Memo<Vec<ParamSpec>>,
) -> Memo<Option<String>> {
    Memo::new(move |_| {
        let errs = filter_errors.get();
        filters.with(|f| {
            f.iter()
                .find(|s| {
                    errs.contains_key(&s.name)
                        && links.with(|l| {
                            params
                                .with(|p| crate::model::dashboard::linked_param(s, l, p).is_some())
                        })
                })
                .map(|s| {
                    format!(
                        "The filter “{}” has a value this tile cannot use: {}",
                        s.name, errs[&s.name]
                    )
                })
        })
    })
}

/// A click follows the tile's cross-filter (this board, with the clicked value in a filter)
/// when it has one for that column, else the insight's drill-down.
fn tile_drill(
    board: Board,
    content: Memo<Option<TileContent>>,
    info: Memo<Option<TileInfo>>,
    values: Memo<UrlValues>,
) -> Signal<Vec<DrillLink>> {
    Signal::derive(move || {
        let mut out = vec![];
        if let Some(TileContent::Insight {
            click: Some(cf), ..
        }) = content.get()
        {
            out.push(DrillLink {
                column: cf.column.clone(),
                target: DrillTarget::Url {
                    template: cross_filter_template(board.id, &cf, &values.get(), urlencode),
                },
            });
        }
        out.extend(info.with(|i| i.as_ref().map(|i| i.drill.clone()).unwrap_or_default()));
        out
    })
}

/// "12 rows · 0.4 s · updated 3 min ago", or "Running…".
fn run_status(r: &Option<RunView>, now: chrono::DateTime<chrono::Utc>) -> String {
    match r {
        Some(r) if !r.state.finished() => "Running…".to_string(),
        Some(r) => {
            let mut s = format!(
                "{} · {}",
                plural(r.row_count, "row", "rows"),
                elapsed(r.elapsed_ms)
            );
            if let Some(at) = r.computed_at {
                s.push_str(" · ");
                s.push_str(&updated_ago(at, now));
            }
            s
        }
        None => String::new(),
    }
}

/// The tile's title (a link to the insight), its run's status, "Alert", and Refresh or the
/// spinner with Cancel.
#[component]
fn TileHead(
    ctl: RunCtl,
    name: Signal<String>,
    href: Signal<Option<String>>,
    retry: Callback<()>,
) -> impl IntoView {
    let run = ctl.run;
    let running = ctl.running();
    let now = use_clock();
    let status = move || run.with(|r| run_status(r, now.get()));
    // "New alert" opens the insight's alerts panel.
    let alert_href = move || href.get().map(|h| with_param(h, "alerts", "1"));
    view! {
        <div class="tile-head">
            <h3 class="tile-title" data-test="tile-title">
                <a href=href>{name}</a>
            </h3>
            <span class="tile-status muted small" data-test="tile-status">{status}</span>
            <a class="button small ghost" href=alert_href title="New alert on this tile's insight, with the board's values" data-test="tile-alert">"Alert"</a>
            <Show when=move || running.get() fallback=move || view! {
                <button class="button small ghost" type="button" title="Run this tile again" data-test="tile-refresh" on:click=move |_| retry.run(())>"↻"</button>
            }>
                <span class="spinner" role="status" aria-label="Running"></span>
                <button class="button small ghost" type="button" data-test="tile-cancel" on:click=move |_| ctl.cancel()>"Cancel"</button>
            </Show>
        </div>
    }
}

/// Why the tile does not run, its run's error with Retry, and the chart or the table.
#[component]
fn TileBody(
    ctl: RunCtl,
    /// Why the tile cannot run: the insight's problem, else a filter it cannot use.
    note: Signal<Option<String>>,
    /// Whether there is something to show (the insight has no problem).
    can_show: Signal<bool>,
    view_kind: Memo<ViewSpec>,
    drill: Signal<Vec<DrillLink>>,
    values: Memo<UrlValues>,
    name: Signal<String>,
    retry: Callback<()>,
) -> impl IntoView {
    let run = ctl.run;
    let link_for = ctl.drill_links(drill, values.into());
    let chart_spec = Signal::derive(move || view_kind.with(|v| v.chart.clone()));
    let drawn = RwSignal::new(None);
    let run_error = move || {
        run.with(|r| {
            r.as_ref()
                .and_then(|r| r.error.as_ref().map(|e| e.message.clone()))
        })
    };
    view! {
        <div class="tile-body">
            {move || note.get().map(|p| view! { <p class="note warn" data-test="tile-problem">{p}</p> })}
            {move || ctl.error.get().map(|e| view! { <TileError message=e.to_string() retry/> })}
            {move || run_error().map(|e| view! { <TileError message=e retry/> })}
            <Show when=move || can_show.get() && view_kind.with(|v| v.kind == ViewKind::Chart)>
                <ChartPanel run spec=chart_spec drawn drill values name/>
            </Show>
            <Show when=move || can_show.get() && view_kind.with(|v| v.kind == ViewKind::Table)>
                <ResultPanel ctl link_for compact=true/>
            </Show>
        </div>
    }
}

/// A failed run's message, with Retry.
#[component]
fn TileError(message: String, retry: Callback<()>) -> impl IntoView {
    view! {
        <div class="note error" role="alert" data-test="tile-error">
            <p>{message}</p>
            <button class="button small" type="button" data-test="tile-retry" on:click=move |_| retry.run(())>"Retry"</button>
        </div>
    }
}
