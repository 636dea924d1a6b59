//! The insight page: loads the insight, keeps the parameter values in the URL, runs it on
//! every change of them and on each save, and lays out the panels around the result.
use super::{
    editor::InsightEditor,
    head::{InsightHead, Panels},
    params_form::ParamForm,
    to_dashboard::AddToDashboard,
    versions::VersionsPanel,
    views::ResultViews,
};
use crate::{
    api::insights::{get_insight, run_insight, RevertInsight, SaveInsight},
    error::AppError,
    model::{
        insight::{Insight, InsightId, UrlValues, ViewKind},
        params::{self, ParamSpec},
        run::CacheUse,
    },
    ui::{
        components::alerts::InsightAlerts,
        components::{
            feedback::{ErrorNote, Loading, Region},
            result_grid::PAGE,
            run::RunCtl,
        },
        query::use_query,
        url::{insight_url, today, url_values, with_view},
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
pub fn InsightPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| {
        params
            .with(|p| p.get("id"))
            .and_then(|s| s.parse::<i64>().ok())
            .map(InsightId)
    });
    // Loaded and rendered in the browser (a LocalResource): the server sends the page frame
    // and a loading state, so hydration never has to match the parameter form, whose inputs
    // and query-backed lists depend on the URL and on requests of their own.
    let insight = LocalResource::new(move || {
        let id = id.get();
        async move {
            match id {
                Some(id) => get_insight(id).await,
                None => Err(AppError::NotFound("That insight".into())),
            }
        }
    });
    // No Suspense: the server and the hydrating browser both render the loading state (the
    // LocalResource has no value yet on either), so nothing can mismatch.
    view! {
        {move || match insight.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Ok(i)) => view! { <InsightBody insight=i/> }.into_any(),
            Some(Err(e)) => view! {
                <Title text="Insight"/>
                <div class="note error" role="alert" data-test="insight-error">
                    <p>{e.to_string()}</p>
                    <p>{match e { AppError::NotFound(_) => "It may have been deleted, or the link is wrong. ", AppError::Forbidden => "Ask an admin for access. ", _ => "" }}<a href="/insights">"Go to all insights"</a></p>
                </div>
            }.into_any(),
        }}
    }
}

/// What the parts of the insight page share. `Copy`.
#[derive(Clone, Copy)]
pub(super) struct Shown {
    pub(super) id: InsightId,
    /// The insight as last loaded or saved.
    pub(super) current: RwSignal<Insight>,
    pub(super) specs: Signal<Vec<ParamSpec>>,
    /// The parameter values in the URL.
    pub(super) values: Memo<UrlValues>,
    /// `view=` in the URL, when valid.
    pub(super) view_in_url: Memo<Option<String>>,
    pub(super) ctl: RunCtl,
    /// Goes to an address of this page: (url, replace the history entry).
    pub(super) go: Callback<(String, bool)>,
}

impl Shown {
    /// This insight's address with `values` and the view in the URL.
    pub(super) fn url(self, values: &UrlValues, view: Option<String>) -> String {
        with_view(insight_url(self.id, values), view)
    }
}

/// A saved version of the insight as the page shows it: the star is the user's, not part of
/// the saved insight, so it stays as it is.
pub(super) fn with_star(current: RwSignal<Insight>, mut saved: Insight) -> Insight {
    saved.favorite = current.with_untracked(|c| c.favorite);
    saved
}

/// The saves started from a panel that may close before they answer (the editor's Save, a
/// version's Revert). They belong to the page, so their answer still becomes the insight
/// shown when the panel was closed meanwhile; each panel shows their errors itself.
#[derive(Clone, Copy)]
pub(super) struct Saves {
    pub(super) edit: ServerAction<SaveInsight>,
    pub(super) revert: ServerAction<RevertInsight>,
}

impl Saves {
    /// The actions, and what their answers do to the page: a saved insight is shown, and the
    /// editor closes after its save.
    fn new(current: RwSignal<Insight>, editing: RwSignal<bool>) -> Self {
        let saves = Saves {
            edit: ServerAction::new(),
            revert: ServerAction::new(),
        };
        Effect::new(move |_| {
            if let Some(Ok(i)) = saves.edit.value().get() {
                current.set(with_star(current, i));
                editing.set(false);
            }
        });
        Effect::new(move |_| {
            if let Some(Ok(i)) = saves.revert.value().get() {
                current.set(with_star(current, i));
            }
        });
        saves
    }
}

#[component]
fn InsightBody(insight: Insight) -> impl IntoView {
    let query = use_query();
    let navigate = use_navigate();
    let id = insight.id;
    let current = RwSignal::new(insight.clone());
    let specs = Signal::derive(move || current.with(|i| i.draft.params.clone()));
    let editing =
        RwSignal::new(query.with_untracked(|q| q.get("edit").is_some()) && insight.can_edit);
    let panels = Panels {
        versions: RwSignal::new(false),
        // `alerts=1` opens the alerts panel (a dashboard tile's "New alert" links here).
        alerts: RwSignal::new(query.with_untracked(|q| q.get("alerts").is_some())),
        to_dashboard: RwSignal::new(false),
        editing,
    };
    let saves = Saves::new(current, editing);
    let values = Memo::new(move |_| {
        let specs = specs.get();
        query.with(|q| url_values(&specs, |k| q.get_all(k)))
    });
    let view_in_url = Memo::new(move |_| {
        query
            .with(|q| q.get("view"))
            .and_then(|v| ViewKind::parse(&v).map(|_| v))
    });
    let go = Callback::new(move |(url, replace): (String, bool)| {
        let options = NavigateOptions {
            replace,
            scroll: false,
            ..Default::default()
        };
        navigate(&url, options);
    });
    let p = Shown {
        id,
        current,
        specs,
        values,
        view_in_url,
        ctl: RunCtl::new(),
        go,
    };
    // Client-side checks give a message next to the input at once; the server checks again.
    let field_errors = Memo::new(move |_| {
        let vals = values.get();
        let t = today();
        specs
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
    // Closing the editor (save, cancel, the Edit toggle) drops `edit=1` from the address, so
    // a reload or a shared link shows the insight rather than reopening the editor.
    Effect::new(move |_| {
        if !editing.get() && query.with_untracked(|q| q.get("edit").is_some()) {
            let url = p.url(&values.get_untracked(), view_in_url.get_untracked());
            go.run((url, true));
        }
    });
    // Opening the page, a change of the values and a save reuse a result computed within the
    // insight's cache time; Run reads the database.
    let start = Callback::new(move |cache: CacheUse| {
        if !field_errors.with_untracked(|e| e.is_empty()) {
            p.ctl.clear();
            return;
        }
        let vals = values.get_untracked();
        p.ctl
            .start(async move { run_insight(id, vals, PAGE as u32, cache).await });
    });
    Effect::new(move |_| {
        values.track();
        current.with(|i| i.version);
        start.run(CacheUse::Reuse);
    });
    // The columns of the latest result (kept while a new run starts), for the editor's pickers.
    let columns = Memo::new(move |prev: Option<&Vec<String>>| {
        let now: Vec<String> = p.ctl.run.with(|r| {
            r.as_ref()
                .map(|r| r.columns.iter().map(|c| c.name.clone()).collect())
                .unwrap_or_default()
        });
        match prev {
            Some(p) if now.is_empty() => p.clone(),
            _ => now,
        }
    });
    let request_error = p.ctl.error;
    view! {
        <Title text=move || current.with(|i| i.draft.name.clone())/>
        <InsightHead p panels/>
        {move || current.with(|i| (!i.draft.description.is_empty()).then(|| view! { <p class="muted">{i.draft.description.clone()}</p> }))}
        {move || current.with(|i| i.deleted).then(|| view! { <p class="note warn">"This insight is in the trash. An editor can restore it from the trash."</p> })}
        <Region label="The editor">
            <Show when=move || editing.get()>
                <InsightEditor current editing save=saves.edit columns=Signal::from(columns)/>
            </Show>
        </Region>
        <Region label="Versions">
            <Show when=move || panels.versions.get()>
                <VersionsPanel id current revert=saves.revert/>
            </Show>
        </Region>
        <Region label="Add to dashboard">
            <Show when=move || panels.to_dashboard.get()>
                <AddToDashboard insight=id open=panels.to_dashboard/>
            </Show>
        </Region>
        <Region label="Alerts">
            <Show when=move || panels.alerts.get()>
                <InsightAlerts insight=id values=Signal::derive(move || values.get())/>
            </Show>
        </Region>
        <Region label="The parameters">
            <ParamForm p start field_errors/>
        </Region>
        <Region label="The result">
            <ErrorNote error=Signal::derive(move || request_error.get().filter(|e| !matches!(e, AppError::Validation(_))))/>
            <ResultViews p/>
        </Region>
    }
}
