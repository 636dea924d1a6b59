//! The dashboard page: loads the board, keeps the filter values in the URL, lays the tiles
//! out on the grid, and runs the edit mode (a copy of the board that Save stores as a new
//! version, or Cancel drops; a save over someone else's newer version asks what to do).
use super::{
    head::{BoardSettings, DashHead},
    tile::TileView,
    versions::DashboardVersions,
};
use crate::{
    api::dashboards::get_dashboard,
    error::AppError,
    model::{
        dashboard::{Dashboard, DashboardDraft, DashboardId, Tile, TileContent, TileInfo},
        insight::UrlValues,
        params::{self, ParamSpec},
    },
    ui::{
        components::{
            feedback::{Loading, Region},
            param_input::{OptionsFrom, ParamInput},
        },
        query::use_query,
        url::{dashboard_url, prefixed_values, today},
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    hooks::{use_navigate, use_params_map},
    NavigateOptions,
};
use std::collections::HashMap;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params
            .with(|p| p.get("id"))
            .and_then(|s| s.parse::<i64>().ok())
            .map(DashboardId)
    });
    let reload = RwSignal::new(0u32);
    // Loaded in the browser (like the insight page): the filters and tiles depend on the URL
    // and on requests of their own, so the server renders the loading state only.
    let dashboard = LocalResource::new(move || {
        let id = id.get();
        reload.track();
        async move {
            match id {
                Some(id) => get_dashboard(id).await,
                None => Err(AppError::NotFound("That dashboard".into())),
            }
        }
    });
    view! {
        {move || match dashboard.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Ok(d)) => view! { <DashboardBody dash=d reload/> }.into_any(),
            Some(Err(e)) => view! {
                <Title text="Dashboard"/>
                <div class="note error" role="alert" data-test="dashboard-error">
                    <p>{e.to_string()}</p>
                    <p><a href="/dashboards">"Go to all dashboards"</a></p>
                </div>
            }.into_any(),
        }}
    }
}

/// The state shared by the page's parts.
#[derive(Clone, Copy)]
pub struct Board {
    pub id: DashboardId,
    /// The board as saved (what viewers see).
    pub saved: RwSignal<Dashboard>,
    pub editing: RwSignal<bool>,
    /// The editor's copy while editing.
    pub draft: RwSignal<DashboardDraft>,
    /// What each tile needs, by tile id (from the board, and fetched for added tiles).
    pub infos: RwSignal<HashMap<u32, TileInfo>>,
    /// Bumped to rerun every tile (Refresh, auto-refresh).
    pub refresh: RwSignal<u64>,
    /// Whether a bump of `refresh` is a background one (keep results on screen meanwhile).
    pub quiet: RwSignal<bool>,
    /// The `refresh` bump that asked for fresh results (Refresh), not the cached ones.
    pub fresh_at: StoredValue<u64>,
}

impl Board {
    /// Reruns every tile; `fresh` reads the databases rather than the result cache.
    pub fn rerun(self, quiet: bool, fresh: bool) {
        self.quiet.set(quiet);
        let next = self.refresh.get_untracked() + 1;
        if fresh {
            self.fresh_at.set_value(next);
        }
        self.refresh.set(next);
    }
}

impl Board {
    /// The board on screen: the editor's copy while editing, else the saved one.
    pub fn shown(self) -> Signal<DashboardDraft> {
        Signal::derive(move || {
            if self.editing.get() {
                self.draft.get()
            } else {
                self.saved.with(|d| d.draft.clone())
            }
        })
    }
}

/// A tile's identity on the page: its id and its insight (or -1 text, -2 heading).
fn tile_key(t: &Tile) -> (u32, i64) {
    let what = match &t.content {
        TileContent::Insight { insight_id, .. } => insight_id.0,
        TileContent::Text { .. } => -1,
        TileContent::Heading { .. } => -2,
    };
    (t.id, what)
}

pub(super) fn infos_of(d: &Dashboard) -> HashMap<u32, TileInfo> {
    d.tiles.iter().map(|t| (t.id, t.clone())).collect()
}

#[component]
fn DashboardBody(dash: Dashboard, reload: RwSignal<u32>) -> impl IntoView {
    let query = use_query();
    let id = dash.id;
    let board = Board {
        id,
        infos: RwSignal::new(infos_of(&dash)),
        draft: RwSignal::new(dash.draft.clone()),
        saved: RwSignal::new(dash),
        editing: RwSignal::new(false),
        refresh: RwSignal::new(0),
        quiet: RwSignal::new(false),
        fresh_at: StoredValue::new(u64::MAX),
    };
    let shown = board.shown();
    // Whatever replaces the saved board (a save, a revert) brings its tiles' infos.
    Effect::new(move |prev: Option<i64>| {
        let v = board.saved.with(|d| d.version);
        if prev.is_some_and(|p| p != v) {
            board.infos.set(board.saved.with_untracked(infos_of));
        }
        v
    });
    let filters = Memo::new(move |_| shown.with(|d| d.filters.clone()));
    let values = Memo::new(move |_| {
        let specs = filters.get();
        query.with(|q| prefixed_values("f_", &specs, |k| q.get_all(k)))
    });
    let filter_errors = Memo::new(move |_| {
        let vals = values.get();
        let t = today();
        filters
            .get()
            .iter()
            .filter_map(|s| {
                let raw = vals.get(&s.name).cloned().unwrap_or_default();
                params::parse_value(s, &raw, t)
                    .err()
                    .map(|m| (s.name.clone(), m))
            })
            .collect::<HashMap<String, String>>()
    });
    auto_refresh(board);
    let tv = RwSignal::new(false);
    // Esc leaves full screen.
    let esc = window_event_listener(leptos::ev::keydown, move |e| {
        if e.key() == "Escape" {
            tv.set(false);
        }
    });
    on_cleanup(move || esc.remove());
    let show_versions = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let editing = board.editing;
    view! {
        <Title text=move || board.saved.with(|d| d.draft.name.clone())/>
        <div class="dashboard" class:tv=move || tv.get() data-test="dashboard">
            <DashHead board reload values tv show_versions error/>
            {move || board.saved.with(|d| d.deleted).then(|| view! { <p class="note warn">"This dashboard is in the trash. Its owner or an editor can restore it from the trash."</p> })}
            <Region label="The dashboard's settings">
                <Show when=move || editing.get()>
                    <BoardSettings board error/>
                </Show>
            </Region>
            {move || (!editing.get()).then(|| board.saved.with(|d| d.draft.description.clone())).filter(|d| !d.is_empty()).map(|d| view! { <p class="muted">{d}</p> })}
            <Show when=move || show_versions.get() && !editing.get()>
                <DashboardVersions id saved=board.saved/>
            </Show>
            <Region label="The filters">
                <Show when=move || !filters.with(Vec::is_empty)>
                    <FilterBar board filters values filter_errors/>
                </Show>
            </Region>
            {move || shown.with(|d| d.tiles.is_empty()).then(|| view! {
                <p class="muted" data-test="empty-dashboard">{move || if editing.get() { "Add a tile above: an insight, a text or a heading." } else { "This dashboard has no tiles yet. Edit it to add insights, or use “Add to dashboard” on an insight." }}</p>
            })}
            // A tile that fails says why in its own place (its error box with Retry); the
            // others keep working. No error boundary per tile: a boundary inside a list that
            // removes rows keeps updating a removed row for a moment (Leptos 0.8).
            <Region label="The tiles">
                <div class="dash-grid" class:editing=move || editing.get() data-test="dash-grid">
                    // Keyed by tile and what it shows: a revert may give a tile id another insight.
                    <For each=move || shown.with(|d| d.tiles.iter().map(tile_key).collect::<Vec<_>>()) key=|k| *k let:key>
                        <TileView board tile_id=key.0 filters=Signal::from(filters) values filter_errors/>
                    </For>
                </div>
            </Region>
        </div>
    }
}

/// Auto-refresh: every tile reruns in the background at the board's interval (in the browser).
fn auto_refresh(board: Board) {
    #[cfg(feature = "hydrate")]
    {
        let minutes = Memo::new(move |_| board.saved.with(|d| d.draft.refresh_minutes));
        let timer = StoredValue::new(None::<leptos::prelude::IntervalHandle>);
        Effect::new(move |_| {
            let m = minutes.get();
            if let Some(h) = timer.get_value() {
                h.clear();
            }
            timer.set_value(None);
            if m > 0 {
                let h = set_interval_with_handle(
                    move || {
                        board.rerun(true, false);
                    },
                    std::time::Duration::from_secs(u64::from(m) * 60),
                )
                .ok();
                timer.set_value(h);
            }
        });
        on_cleanup(move || {
            if let Some(h) = timer.get_value() {
                h.clear();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = board;
}

/// The filters, each feeding the tiles its value from the URL; a change goes to the URL.
#[component]
fn FilterBar(
    board: Board,
    filters: Memo<Vec<ParamSpec>>,
    values: Memo<UrlValues>,
    filter_errors: Memo<HashMap<String, String>>,
) -> impl IntoView {
    let navigate = use_navigate();
    let id = board.id;
    let set_value = Callback::new(move |(name, vs): (String, Vec<String>)| {
        let mut v = values.get_untracked();
        let vs: Vec<String> = vs.into_iter().filter(|x| !x.is_empty()).collect();
        if vs.is_empty() {
            v.remove(&name);
        } else {
            v.insert(name, vs);
        }
        let options = NavigateOptions {
            scroll: false,
            ..Default::default()
        };
        navigate(&dashboard_url(id, &v), options);
    });
    view! {
        <form class="param-form card dash-filters" data-test="dashboard-filters" on:submit=move |ev| { ev.prevent_default(); board.rerun(false, false) }>
            {move || filters.get().into_iter().map(|s| {
                let n2 = s.name.clone();
                view! {
                    <div class="param-field" data-test=format!("filter-{}", s.name)>
                        <ParamInput spec=s.clone() from=OptionsFrom::Dashboard(id) values set_value/>
                        {move || filter_errors.with(|e| e.get(&n2).cloned()).map(|m| view! { <span class="field-error" data-test="filter-error">{m}</span> })}
                    </div>
                }
            }).collect_view()}
        </form>
    }
}
