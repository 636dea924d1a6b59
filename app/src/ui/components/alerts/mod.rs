//! Alert pieces shared by the alerts pages and the insight page: the state badge, the rows of
//! an alerts table, the alert form (rule, schedule, channels, with the insight's columns
//! offered), and an insight's alerts with "New alert".
//!
//! - `form`: the alert form (name, schedule, channels, noise control)
//! - `rule`: the condition's fields and their editor
mod form;
mod rule;

use crate::{
    api::alerts::list_alerts,
    model::{
        alert::{state_label, AlertDraft, AlertState, AlertSummary, Op, Rule, Selector, Threshold},
        insight::{InsightId, UrlValues},
    },
    ui::components::feedback::Loading,
};
use chrono::{DateTime, Utc};
pub use form::AlertForm;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

pub fn when(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "—".into())
}

fn state_class(s: AlertState) -> &'static str {
    match s {
        AlertState::Ok => "badge ok",
        AlertState::Pending => "badge warn",
        AlertState::Firing => "badge danger",
        AlertState::NoData | AlertState::Error => "badge error",
    }
}

/// The alert's state; before its first evaluation it has none to show.
#[component]
pub fn StateBadge(state: AlertState, evaluated: bool) -> impl IntoView {
    if !evaluated {
        return view! { <span class="badge" data-test="alert-state">"Not evaluated yet"</span> }
            .into_any();
    }
    view! { <span class=state_class(state) data-test="alert-state">{state_label(state)}</span> }
        .into_any()
}

/// The rows of an alerts table.
#[component]
pub fn AlertRows(alerts: Vec<AlertSummary>, show_insight: bool) -> impl IntoView {
    if alerts.is_empty() {
        return view! { <p class="muted" data-test="no-alerts">"No alerts yet."</p> }.into_any();
    }
    view! {
        <table class="table" data-test="alerts-table">
            <thead><tr>
                <th>"Alert"</th>
                {show_insight.then(|| view! { <th>"Insight"</th> })}
                <th>"State"</th><th>"Schedule"</th><th>"Last evaluated"</th><th>"Next run"</th>
                <th>"Channels"</th><th>"Owner"</th>
            </tr></thead>
            <tbody>
                {alerts.into_iter().map(|a| view! {
                    <tr data-test="alert-row">
                        <td><a href=format!("/alerts/{}", a.id.0) data-test="alert-link">{a.name.clone()}</a>
                            {(!a.enabled).then(|| view! { <span class="badge">"paused"</span> })}
                            {a.muted_until.map(|t| view! { <span class="badge" title=format!("until {}", when(Some(t)))>"muted"</span> })}
                        </td>
                        {show_insight.then(|| view! { <td><a href=format!("/insights/{}", a.insight_id.0)>{a.insight_name.clone()}</a></td> })}
                        <td><StateBadge state=a.state evaluated=a.last_evaluated_at.is_some()/></td>
                        <td>{a.schedule.clone()}</td>
                        <td>{when(a.last_evaluated_at)}</td>
                        <td>{when(a.next_run_at)}</td>
                        <td>{a.channels.join(", ")}</td>
                        <td>{a.owner.clone().unwrap_or_default()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The alerts of one insight and a form for a new one, on the insight page.
#[component]
pub fn InsightAlerts(insight: InsightId, #[prop(into)] values: Signal<UrlValues>) -> impl IntoView {
    let version = RwSignal::new(0u32);
    let alerts = LocalResource::new(move || {
        version.track();
        list_alerts(Some(insight))
    });
    let creating = RwSignal::new(false);
    let navigate = StoredValue::new(use_navigate());
    view! {
        <section class="card" data-test="insight-alerts">
            <div class="page-head">
                <h2>"Alerts"</h2>
                <button class="button" data-test="new-alert" on:click=move |_| creating.update(|c| *c = !*c)>{move || if creating.get() { "Close" } else { "New alert" }}</button>
            </div>
            {move || match alerts.get() {
                None => view! { <Loading/> }.into_any(),
                Some(Ok(list)) => view! { <AlertRows alerts=list show_insight=false/> }.into_any(),
                Some(Err(e)) => view! { <p class="note error" role="alert">{e.to_string()}</p> }.into_any(),
            }}
            <Show when=move || creating.get()>
                {move || {
                    let initial = AlertDraft {
                        insight_id: insight,
                        name: String::new(),
                        params: values.get_untracked(),
                        rule: Rule::Threshold(Threshold { column: String::new(), selector: Selector::First, op: Op::Gt, value: 0.0 }),
                        pending_for: 1,
                        cooldown_minutes: 0,
                        notify_no_data: false,
                        cron: "*/5 * * * *".into(),
                        timezone: "UTC".into(),
                        channels: vec![],
                        enabled: true,
                    };
                    view! { <AlertForm id=None initial on_saved=Callback::new(move |s: AlertSummary| {
                        creating.set(false);
                        version.update(|v| *v += 1);
                        navigate.with_value(|n| n(&format!("/alerts/{}", s.id.0), Default::default()));
                    })/> }
                }}
            </Show>
        </section>
    }
}
