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
        dashboard::{cross_filter_template, step, tile_values, Step, Tile, TileContent},
        insight::{DrillLink, DrillTarget, UrlValues, ViewKind},
        params::ParamSpec,
        run::CacheUse,
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
    // Filters this tile uses whose value does not parse: the tile says so instead of running.
    let bad_filter = Memo::new(move |_| {
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
    });
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
    let run = ctl.run;
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
    let running = ctl.running();
    let now = use_clock();
    let status = move || {
        run.with(|r| match r {
            Some(r) if !r.state.finished() => "Running…".to_string(),
            Some(r) => {
                let mut s = format!(
                    "{} · {}",
                    plural(r.row_count, "row", "rows"),
                    elapsed(r.elapsed_ms)
                );
                if let Some(at) = r.computed_at {
                    s.push_str(" · ");
                    s.push_str(&updated_ago(at, now.get()));
                }
                s
            }
            None => String::new(),
        })
    };
    // A click follows the tile's cross-filter (this board, with the clicked value in a
    // filter) when it has one for that column, else the insight's drill-down.
    let drill = Signal::derive(move || {
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
    });
    let link_for = ctl.drill_links(drill, tile_vals.into());
    let chart_spec = Signal::derive(move || view_kind.with(|v| v.chart.clone()));
    let drawn = RwSignal::new(None);
    let retry = move |_| {
        board.quiet.set(false);
        let vals = tile_vals.get_untracked();
        if let Some(insight) = insight_id {
            ctl.start(
                async move { run_insight(insight, vals, PAGE as u32, CacheUse::Fresh).await },
            );
        }
    };
    // The insight with the values this tile runs with; "New alert" opens its alerts panel.
    let href = move || insight_id.map(|i| insight_url(i, &tile_vals.get()));
    let alert_href = move || href().map(|h| with_param(h, "alerts", "1"));
    view! {
        <div class="tile-head">
            <h3 class="tile-title" data-test="tile-title">
                <a href=href>{name}</a>
            </h3>
            <span class="tile-status muted small" data-test="tile-status">{status}</span>
            <a class="button small ghost" href=alert_href title="New alert on this tile's insight, with the board's values" data-test="tile-alert">"Alert"</a>
            <Show when=move || running.get() fallback=move || view! {
                <button class="button small ghost" type="button" title="Run this tile again" data-test="tile-refresh" on:click=retry>"↻"</button>
            }>
                <span class="spinner" role="status" aria-label="Running"></span>
                <button class="button small ghost" type="button" data-test="tile-cancel" on:click=move |_| ctl.cancel()>"Cancel"</button>
            </Show>
        </div>
        <div class="tile-body">
            {move || problem.get().or_else(|| bad_filter.get()).map(|p| view! { <p class="note warn" data-test="tile-problem">{p}</p> })}
            {move || ctl.error.get().map(|e| view! {
                <div class="note error" role="alert" data-test="tile-error">
                    <p>{e.to_string()}</p>
                    <button class="button small" type="button" data-test="tile-retry" on:click=retry>"Retry"</button>
                </div>
            })}
            {move || run.with(|r| r.as_ref().and_then(|r| r.error.as_ref().map(|e| e.message.clone()))).map(|e| view! {
                <div class="note error" role="alert" data-test="tile-error">
                    <p>{e}</p>
                    <button class="button small" type="button" data-test="tile-retry" on:click=retry>"Retry"</button>
                </div>
            })}
            <Show when=move || problem.with(Option::is_none) && view_kind.with(|v| v.kind == ViewKind::Chart)>
                <ChartPanel run spec=chart_spec drawn drill values=tile_vals name/>
            </Show>
            <Show when=move || problem.with(Option::is_none) && view_kind.with(|v| v.kind == ViewKind::Table)>
                <ResultPanel ctl link_for compact=true/>
            </Show>
        </div>
    }
}
