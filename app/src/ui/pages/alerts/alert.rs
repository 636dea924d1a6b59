//! One alert's page (`/alerts/:id`): its state and facts, Evaluate now, mute, edit and
//! delete, and the history of its runs and deliveries.
use crate::{
    api::alerts::{get_alert, DeleteAlert, EvaluateAlert, MuteAlert},
    error::AppError,
    model::alert::{AlertDetail, AlertId, AlertSummary, RunRecord},
    ui::components::{
        alerts::{when, AlertForm, StateBadge},
        feedback::{ErrorNote, Loading, Region},
    },
};
use chrono::Utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

/// `/alerts/:id`
#[component]
pub fn AlertPage() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok())));
    let version = RwSignal::new(0u32);
    let detail = LocalResource::new(move || {
        version.track();
        let id = id.get();
        async move {
            match id {
                Some(id) => get_alert(AlertId(id)).await,
                None => Err(AppError::NotFound("That alert".into())),
            }
        }
    });
    let editing = RwSignal::new(false);
    // While a run is queued or running, look again every second (no reload needed).
    Effect::new(move |_| {
        let busy = detail.with(|d| {
            d.as_ref()
                .and_then(|d| d.as_ref().ok())
                .is_some_and(|d| d.runs.iter().any(|r| r.status.in_progress()))
        });
        if busy {
            set_timeout(
                move || version.update(|v| *v += 1),
                std::time::Duration::from_secs(1),
            );
        }
    });
    // Made here, not in the view below: that is drawn again at each reload.
    let actions = AlertActions::new(version);
    view! {
        <Region label="The alert">
        {move || match detail.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(e)) => view! {
                <Title text="Alert"/>
                <div class="note error" role="alert"><p>{e.to_string()}</p><p><a href="/alerts">"All alerts"</a></p></div>
            }.into_any(),
            Some(Ok(d)) => view! { <AlertBody d actions editing version/> }.into_any(),
        }}
        </Region>
    }
}

/// What the alert's buttons do, each a server action: after one, the alert reloads (or, once
/// deleted, the list opens); a refusal shows under the buttons.
#[derive(Clone, Copy)]
struct AlertActions {
    evaluate: ServerAction<EvaluateAlert>,
    mute: ServerAction<MuteAlert>,
    delete: ServerAction<DeleteAlert>,
    error: RwSignal<Option<AppError>>,
}

impl AlertActions {
    fn new(version: RwSignal<u32>) -> Self {
        let navigate = StoredValue::new(use_navigate());
        let actions = AlertActions {
            evaluate: ServerAction::new(),
            mute: ServerAction::new(),
            delete: ServerAction::new(),
            error: RwSignal::new(None),
        };
        let error = actions.error;
        let done = move |r: Result<(), AppError>| match r {
            Ok(()) => {
                error.set(None);
                version.update(|v| *v += 1);
            }
            Err(e) => error.set(Some(e)),
        };
        Effect::new(move |_| {
            if let Some(r) = actions.evaluate.value().get() {
                done(r.map(|_| ()));
            }
        });
        Effect::new(move |_| {
            if let Some(r) = actions.mute.value().get() {
                done(r);
            }
        });
        Effect::new(move |_| match actions.delete.value().get() {
            Some(Ok(())) => navigate.with_value(|n| n("/alerts", Default::default())),
            Some(Err(e)) => error.set(Some(e)),
            None => {}
        });
        actions
    }
}

/// The alert loaded: its head, facts, form (while editing) and history.
#[component]
fn AlertBody(
    d: AlertDetail,
    actions: AlertActions,
    editing: RwSignal<bool>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let aid = d.summary.id;
    let draft = d.draft.clone();
    view! {
        <AlertHead s=d.summary.clone() actions editing/>
        <ErrorNote error=actions.error/>
        <dl class="facts card">
            <dt>"Condition"</dt><dd data-test="alert-condition">{d.draft.rule.describe()}</dd>
            <dt>"Schedule"</dt><dd>{d.summary.schedule.clone()}</dd>
            <dt>"Next run"</dt><dd data-test="next-run">{when(d.summary.next_run_at)}</dd>
            <dt>"Last evaluated"</dt><dd>{when(d.summary.last_evaluated_at)}</dd>
            <dt>"Last value"</dt><dd>{d.observed.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Channels"</dt><dd>{d.summary.channels.join(", ")}</dd>
            <dt>"Muted"</dt><dd>{d.summary.muted_until.map(|t| format!("until {}", when(Some(t)))).unwrap_or_else(|| "no".into())}</dd>
            <dt>"Skipped (still running)"</dt><dd>{d.summary.skipped_overlaps}</dd>
            <dt>"Owner"</dt><dd>{d.summary.owner.clone().unwrap_or_default()}</dd>
        </dl>
        <Show when=move || editing.get()>
            <AlertForm id=Some(aid) initial=draft.clone() on_saved=Callback::new(move |_| { editing.set(false); version.update(|v| *v += 1); })/>
        </Show>
        <History runs=d.runs.clone()/>
    }
}

/// The alert's name and state, where it comes from, and its buttons.
#[component]
fn AlertHead(s: AlertSummary, actions: AlertActions, editing: RwSignal<bool>) -> impl IntoView {
    let aid = s.id;
    let muted = s.muted_until.is_some();
    let can_edit = s.can_edit;
    let mute = move |until| {
        actions.mute.dispatch(MuteAlert { id: aid, until });
    };
    view! {
        <Title text=s.name.clone()/>
        <nav class="breadcrumb"><a href="/alerts">"Alerts"</a><span class="sep">"/"</span>
            <a href=format!("/insights/{}", s.insight_id.0)>{s.insight_name.clone()}</a></nav>
        <div class="page-head">
            <h1 data-test="alert-name">{s.name.clone()}" "<StateBadge state=s.state evaluated=s.last_evaluated_at.is_some()/></h1>
            <div class="actions">
                <button class="button primary" data-test="evaluate-now" on:click=move |_| { actions.evaluate.dispatch(EvaluateAlert { id: aid }); }>"Evaluate now"</button>
                <Show when=move || can_edit>
                    {if muted {
                        view! { <button class="button" data-test="unmute" on:click=move |_| mute(None)>"Unmute"</button> }.into_any()
                    } else {
                        view! {
                            <button class="button" data-test="mute-1h" on:click=move |_| mute(Some(Utc::now() + chrono::Duration::hours(1)))>"Mute 1 h"</button>
                            <button class="button" data-test="mute-1d" on:click=move |_| mute(Some(Utc::now() + chrono::Duration::days(1)))>"Mute 1 day"</button>
                        }.into_any()
                    }}
                    <button class="button" data-test="edit-alert" on:click=move |_| editing.update(|e| *e = !*e)>"Edit"</button>
                    <button class="button danger" data-test="delete-alert" on:click=move |_| {
                        let confirmed = window().confirm_with_message("Delete this alert and its history?").unwrap_or(false);
                        if confirmed {
                            actions.delete.dispatch(DeleteAlert { id: aid });
                        }
                    }>"Delete"</button>
                </Show>
            </div>
        </div>
    }
}

#[component]
fn History(runs: Vec<RunRecord>) -> impl IntoView {
    view! {
        <section class="card" data-test="history">
            <h2>"History"</h2>
            {if runs.is_empty() {
                view! { <p class="muted">"Not evaluated yet."</p> }.into_any()
            } else {
                view! {
                    <table class="table">
                        <thead><tr><th>"Scheduled for"</th><th>"Run"</th><th>"Result"</th><th>"Deliveries"</th></tr></thead>
                        <tbody>{runs.into_iter().map(|r| view! {
                            <tr data-test="run-row" data-status=r.status.as_str()>
                                <td>{when(Some(r.scheduled_for))}{r.manual.then_some(" (evaluate now)")}</td>
                                <td>{r.status.as_str()}{(r.attempts > 1).then(|| format!(" ({} attempts)", r.attempts))}</td>
                                <td>{r.detail.clone().unwrap_or_default()}
                                    {r.error.clone().map(|e| view! { <p class="note error" data-test="run-error">{e}</p> })}</td>
                                <td>{r.deliveries.into_iter().map(|d| view! {
                                    <p data-test="delivery" data-status=d.status.as_str()>
                                        {format!("{} → {}: {}", d.kind, d.channel, d.status)}
                                        {(d.attempts > 1).then(|| format!(" after {} attempts", d.attempts))}
                                        {d.next_attempt_at.map(|t| format!(", next try {}", when(Some(t))))}
                                        {d.last_error.clone().map(|e| view! { <span class="field-error">" "{e}</span> })}
                                    </p>
                                }).collect_view()}</td>
                            </tr>
                        }).collect_view()}</tbody>
                    </table>
                }.into_any()
            }}
        </section>
    }
}
