//! One run followed from the browser: started by a server function that answers with the
//! run's first view, then polled until it finishes, cancellable, with the state the result
//! grid pages and sorts with. Used by the insight page, each dashboard tile and each query
//! tab of the workbench.
use crate::{
    api::workbench::{cancel_run, run_status},
    error::AppError,
    model::{
        insight::{DrillLink, UrlValues},
        run::{RunId, RunView, Sort},
    },
    ui::url::drill_href,
};
use leptos::prelude::*;
use std::{
    collections::{HashMap, HashSet},
    future::Future,
};

/// The signals of one followed run. `Copy`: hand it to every closure that needs it.
#[derive(Clone, Copy)]
pub struct RunCtl {
    pub run: RwSignal<Option<RunView>>,
    /// The request failed (bad values, no access, the server unreachable).
    pub error: RwSignal<Option<AppError>>,
    pub sort: RwSignal<Option<Sort>>,
    pub pages: RwSignal<HashMap<u64, Vec<Vec<Option<String>>>>>,
    pub loading: StoredValue<HashSet<(u64, u64)>>,
    /// Bumped by every start: answers for an older start are dropped.
    pub generation: RwSignal<u64>,
    pub selected: RwSignal<Option<(u64, usize)>>,
    /// The SQL as it ran, for the grid's error position (empty when it does not match the
    /// text the user sees, e.g. after `{{name}}` compiling).
    pub sql_text: RwSignal<String>,
    /// Counts the runs that finished (done, failed or cancelled), e.g. to refresh a history.
    pub finished: RwSignal<u64>,
    /// Cancel was pressed before the server named the run: cancel as soon as it does.
    cancel_pending: StoredValue<bool>,
}

impl Default for RunCtl {
    fn default() -> Self {
        Self::new()
    }
}

impl RunCtl {
    pub fn new() -> Self {
        RunCtl {
            run: RwSignal::new(None),
            error: RwSignal::new(None),
            sort: RwSignal::new(None),
            pages: RwSignal::new(HashMap::new()),
            loading: StoredValue::new(HashSet::new()),
            generation: RwSignal::new(0),
            selected: RwSignal::new(None),
            sql_text: RwSignal::new(String::new()),
            finished: RwSignal::new(0),
            cancel_pending: StoredValue::new(false),
        }
    }

    /// Queued or running.
    pub fn running(self) -> Signal<bool> {
        Signal::derive(move || {
            self.run
                .with(|r| r.as_ref().is_some_and(|r| !r.state.finished()))
        })
    }

    /// Drops the result (e.g. the values do not parse, so nothing runs).
    pub fn clear(self) {
        self.generation.update(|g| *g += 1);
        self.run.set(None);
    }

    /// Starts a run with `request` (a server function answering with the run's first view
    /// and, when asked, its first page), then follows it until it finishes. A newer start,
    /// or leaving the page, supersedes it.
    pub fn start(self, request: impl Future<Output = Result<RunView, AppError>> + 'static) {
        self.error.set(None);
        self.sort.set(None);
        self.selected.set(None);
        self.pages.set(HashMap::new());
        self.run.set(Some(RunView::queued()));
        self.send(request);
    }

    /// Like `start`, but the current result stays on screen until the new one answers (a
    /// background refresh without flicker).
    pub fn refresh(self, request: impl Future<Output = Result<RunView, AppError>> + 'static) {
        if self.run.with_untracked(Option::is_none) {
            return self.start(request);
        }
        self.send(request);
    }

    fn send(self, request: impl Future<Output = Result<RunView, AppError>> + 'static) {
        // A Cancel pressed for an earlier request does not carry over to this one.
        self.cancel_pending.set_value(false);
        self.generation.update(|g| *g += 1);
        let gen = self.generation.get_untracked();
        // A controller loop, not an action: the first answer is followed by polling until the
        // run finishes, each step checked against `generation` (a newer start supersedes it)
        // and `cancel_pending` (a Cancel pressed before the server named the run). `RunCtl` is
        // a plain `Copy` value made in many places, with no component to own an action.
        leptos::task::spawn_local(async move {
            let result = request.await;
            // Async continuations use the `try_` accessors: the page may have been left while
            // the request was in flight, disposing these signals.
            if self.generation.try_get_untracked() != Some(gen) {
                return;
            }
            match result {
                Ok(mut v) => {
                    let first = v.page.take();
                    self.error.try_set(None);
                    self.pages.try_update(|m| {
                        m.clear();
                        if let Some(p) = first {
                            m.insert(0, p.rows);
                        }
                    });
                    let rid = v.id.clone();
                    let fin = v.state.finished();
                    self.run.try_set(Some(v));
                    let cancel = self.cancel_pending.try_get_value() == Some(true);
                    self.cancel_pending.try_set_value(false);
                    if fin {
                        self.finished.try_update(|n| *n += 1);
                    } else {
                        if cancel {
                            self.cancel();
                        }
                        self.follow(rid, gen).await;
                    }
                }
                Err(e) => {
                    self.cancel_pending.try_set_value(false);
                    self.run.try_set(None);
                    self.error.try_set(Some(e));
                }
            }
        });
    }

    async fn follow(self, rid: RunId, gen: u64) {
        loop {
            if self.generation.try_get_untracked() != Some(gen) {
                return;
            }
            match run_status(rid.clone(), 1000).await {
                Ok(v) => {
                    let fin = v.state.finished();
                    if self.generation.try_get_untracked() == Some(gen) {
                        self.run.try_set(Some(v));
                    }
                    if fin {
                        self.finished.try_update(|n| *n += 1);
                        return;
                    }
                }
                Err(e) => {
                    self.error.try_set(Some(e));
                    return;
                }
            }
        }
    }

    /// The drill-down link of a grid cell: the link on the cell's column (the first, when
    /// several), filled from its row and `values`.
    pub fn drill_links(
        self,
        drill: Signal<Vec<DrillLink>>,
        values: Signal<UrlValues>,
    ) -> Callback<(usize, Vec<Option<String>>), Option<String>> {
        let run = self.run;
        Callback::new(move |(c, row): (usize, Vec<Option<String>>)| {
            let cols: Vec<String> = run.with_untracked(|r| {
                r.as_ref()
                    .map(|r| r.columns.iter().map(|c| c.name.clone()).collect())
                    .unwrap_or_default()
            });
            let col = cols.get(c)?.clone();
            drill.with_untracked(|d| {
                d.iter()
                    .find(|l| l.column == col)
                    .and_then(|l| drill_href(l, &cols, &row, &values.get_untracked()))
            })
        })
    }

    /// Asks the database to stop the current run (as soon as the server names it, when it
    /// has not yet).
    pub fn cancel(self) {
        let Some(rid) = self
            .run
            .with_untracked(|r| r.as_ref().map(|r| r.id.clone()))
        else {
            return;
        };
        if rid.0.is_empty() {
            self.cancel_pending.set_value(true);
            return;
        }
        // The answer counts only for the run it cancelled (a newer start supersedes it).
        // Not an action: the answer is checked against `generation` the moment it arrives
        // (an action's value would be read by an effect a tick later, when a newer start may
        // already have begun), and `send` calls this from inside its loop.
        let gen = self.generation.get_untracked();
        leptos::task::spawn_local(async move {
            let answer = cancel_run(rid).await;
            if self.generation.try_get_untracked() != Some(gen) {
                return;
            }
            match answer {
                Ok(v) => {
                    self.run.try_set(Some(v));
                }
                Err(e) => {
                    self.error.try_set(Some(e));
                }
            }
        });
    }
}
