//! Alert pieces shared by the alerts pages and the insight page: the state badge, the rows of
//! an alerts table, the alert form (rule, schedule, channels, with the insight's columns
//! offered), and an insight's alerts with "New alert".
use crate::{
    api::alerts::{alert_columns, list_alerts, list_channels, save_alert},
    error::AppError,
    model::{
        alert::{state_label, AlertDraft, AlertId, AlertSummary, ChannelId, SCHEDULE_PRESETS},
        alert::{AlertState, Op, RowCondition, Rule, Selector, Threshold},
        insight::{InsightId, UrlValues},
    },
    ui::components::feedback::{ErrorNote, FieldNote, Loading},
};
use chrono::{DateTime, Utc};
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

/// The condition's fields as the form holds them (text, as typed).
#[derive(Clone, Copy)]
struct RuleFields {
    kind: RwSignal<String>,
    /// The threshold's column, or the per-row key column.
    column: RwSignal<String>,
    /// The per-row condition's column (optional).
    row_column: RwSignal<String>,
    selector: RwSignal<String>,
    op: RwSignal<String>,
    value: RwSignal<String>,
}

impl RuleFields {
    fn new(rule: &Rule) -> Self {
        let (kind, column, selector, op, value) = match rule {
            Rule::AnyRows => (
                "any_rows",
                String::new(),
                Selector::First,
                Op::Gt,
                String::new(),
            ),
            Rule::NoRows => (
                "no_rows",
                String::new(),
                Selector::First,
                Op::Gt,
                String::new(),
            ),
            Rule::Always => (
                "always",
                String::new(),
                Selector::First,
                Op::Gt,
                String::new(),
            ),
            Rule::Threshold(t) => (
                "threshold",
                t.column.clone(),
                t.selector,
                t.op,
                t.value.to_string(),
            ),
            Rule::PerRow {
                key_column,
                condition,
            } => (
                "per_row",
                key_column.clone(),
                Selector::First,
                condition.as_ref().map(|c| c.op).unwrap_or(Op::Gt),
                condition
                    .as_ref()
                    .map(|c| c.value.to_string())
                    .unwrap_or_default(),
            ),
        };
        let row_column = match rule {
            Rule::PerRow {
                condition: Some(c), ..
            } => c.column.clone(),
            _ => String::new(),
        };
        RuleFields {
            kind: RwSignal::new(kind.to_string()),
            column: RwSignal::new(column),
            row_column: RwSignal::new(row_column),
            selector: RwSignal::new(selector.name().to_string()),
            op: RwSignal::new(op.symbol().to_string()),
            value: RwSignal::new(value),
        }
    }

    /// The rule the fields describe; a threshold or row condition needs a number.
    fn rule(self) -> Result<Rule, AppError> {
        let number = self
            .value
            .get_untracked()
            .trim()
            .parse::<f64>()
            .unwrap_or(f64::NAN);
        let column = self.column.get_untracked().trim().to_string();
        let row_column = self.row_column.get_untracked().trim().to_string();
        let op = parse_op(&self.op.get_untracked());
        let rule = match self.kind.get_untracked().as_str() {
            "any_rows" => Rule::AnyRows,
            "no_rows" => Rule::NoRows,
            "always" => Rule::Always,
            "per_row" => Rule::PerRow {
                key_column: column,
                condition: (!row_column.is_empty()).then_some(RowCondition {
                    column: row_column,
                    op,
                    value: number,
                }),
            },
            _ => Rule::Threshold(Threshold {
                column,
                selector: Selector::from_name(&self.selector.get_untracked()),
                op,
                value: number,
            }),
        };
        let needs_number = matches!(
            &rule,
            Rule::Threshold(_)
                | Rule::PerRow {
                    condition: Some(_),
                    ..
                }
        );
        if needs_number && !number.is_finite() {
            return Err(AppError::field("value", "Enter a number."));
        }
        Ok(rule)
    }
}

/// Creates or edits an alert. `initial.params` are the insight's values it always runs with.
#[component]
pub fn AlertForm(
    id: Option<AlertId>,
    initial: AlertDraft,
    #[prop(into)] on_saved: Callback<AlertSummary>,
) -> impl IntoView {
    let insight_id = initial.insight_id;
    let params = initial.params.clone();
    let name = RwSignal::new(initial.name.clone());
    let rule = RuleFields::new(&initial.rule);
    let cron = RwSignal::new(initial.cron.clone());
    let timezone = RwSignal::new(initial.timezone.clone());
    let chosen = RwSignal::new(initial.channels.clone());
    let pending_for = RwSignal::new(initial.pending_for.max(1).to_string());
    let cooldown = RwSignal::new(initial.cooldown_minutes.to_string());
    let no_data = RwSignal::new(initial.notify_no_data);
    let enabled = RwSignal::new(initial.enabled);
    let error = RwSignal::new(None::<AppError>);
    let saving = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let rule = match rule.rule() {
            Ok(r) => r,
            Err(e) => return error.set(Some(e)),
        };
        let draft = AlertDraft {
            insight_id,
            name: name.get_untracked(),
            params: params.clone(),
            rule,
            pending_for: pending_for.get_untracked().trim().parse().unwrap_or(1),
            cooldown_minutes: cooldown.get_untracked().trim().parse().unwrap_or(0),
            notify_no_data: no_data.get_untracked(),
            cron: cron.get_untracked(),
            timezone: timezone.get_untracked(),
            channels: chosen.get_untracked(),
            enabled: enabled.get_untracked(),
        };
        saving.set(true);
        leptos::task::spawn_local(async move {
            let r = save_alert(id, draft).await;
            saving.try_set(false);
            match r {
                Ok(s) => {
                    error.try_set(None);
                    on_saved.run(s);
                }
                Err(e) => {
                    error.try_set(Some(e));
                }
            }
        });
    };
    let fixed = params_text(&initial.params);
    view! {
        <form class="form card" data-test="alert-form" on:submit=submit>
            <h2>{if id.is_some() { "Edit alert" } else { "New alert" }}</h2>
            <label>"Name"<input data-test="alert-name-input" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
            <FieldNote error field="name"/>
            <p class="muted">{if fixed.is_empty() { "Runs the insight with its default parameter values.".to_string() } else { format!("Runs the insight with {fixed}.") }}</p>
            <RuleEditor rule insight_id params=initial.params.clone() error/>
            <div class="row">
                <label>"Schedule"
                    <select data-test="schedule-preset" on:change=move |ev| { let v = event_target_value(&ev); if !v.is_empty() { cron.set(v); } }>
                        <option value="">"Preset…"</option>
                        {SCHEDULE_PRESETS.iter().map(|(c, l)| view! { <option value=*c>{*l}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Cron"<input data-test="alert-cron" prop:value=move || cron.get() on:input=move |ev| cron.set(event_target_value(&ev))/></label>
                <label>"Time zone"<input data-test="alert-timezone" prop:value=move || timezone.get() on:input=move |ev| timezone.set(event_target_value(&ev))/></label>
            </div>
            <FieldNote error field="cron"/>
            <ChannelPicker chosen/>
            <FieldNote error field="channels"/>
            <details>
                <summary>"Noise control"</summary>
                <label>"Fire after the condition held for (evaluations)"<input inputmode="numeric" prop:value=move || pending_for.get() on:input=move |ev| pending_for.set(event_target_value(&ev))/></label>
                <FieldNote error field="pending_for"/>
                <label>"Cooldown after a resolve (minutes)"<input inputmode="numeric" prop:value=move || cooldown.get() on:input=move |ev| cooldown.set(event_target_value(&ev))/></label>
                <label class="check"><input type="checkbox" prop:checked=move || no_data.get() on:change=move |ev| no_data.set(event_target_checked(&ev))/>"Notify when there is no data"</label>
                <label class="check"><input type="checkbox" prop:checked=move || enabled.get() on:change=move |ev| enabled.set(event_target_checked(&ev))/>"Enabled"</label>
            </details>
            <ErrorNote error=Signal::derive(move || error.get())/>
            <button class="button primary" type="submit" data-test="save-alert" disabled=move || saving.get()>{if id.is_some() { "Save" } else { "Create alert" }}</button>
        </form>
    }
}

/// The condition: its kind, then the fields that kind needs; column fields offer the
/// insight's columns (with the alert's values).
#[component]
fn RuleEditor(
    rule: RuleFields,
    insight_id: InsightId,
    params: UrlValues,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let RuleFields {
        kind,
        column,
        row_column,
        selector,
        op,
        value,
    } = rule;
    let columns = LocalResource::new(move || alert_columns(insight_id, params.clone()));
    // One alert form is open at a time, on the insight's page or the alert's.
    let column_list_id = "alert-columns";
    view! {
        <datalist id=column_list_id data-test="alert-column-list">
            {move || columns.get().and_then(|r| r.ok()).unwrap_or_default().into_iter()
                .map(|c| view! { <option value=c.clone()></option> }).collect_view()}
        </datalist>
        <label>"Condition"
            <select data-test="rule-kind" prop:value=move || kind.get() on:change=move |ev| kind.set(event_target_value(&ev))>
                <option value="threshold">"A value crosses a threshold"</option>
                <option value="any_rows">"The result has rows"</option>
                <option value="no_rows">"The result has no rows"</option>
                <option value="per_row">"Per row (one alert per key value)"</option>
                <option value="always">"Always (send the result every run)"</option>
            </select>
        </label>
        <Show when=move || kind.get() == "threshold">
            <div class="row">
                <label>"Take"
                    <select data-test="rule-selector" prop:value=move || selector.get() on:change=move |ev| selector.set(event_target_value(&ev))>
                        {Selector::ALL.iter().map(|s| view! { <option value=s.name()>{s.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Column"<input data-test="rule-column" list=column_list_id autocomplete="off" prop:value=move || column.get() on:input=move |ev| column.set(event_target_value(&ev))/></label>
            </div>
            <FieldNote error field="column"/>
        </Show>
        <Show when=move || kind.get() == "per_row">
            <label>"Key column"<input data-test="rule-key" list=column_list_id autocomplete="off" prop:value=move || column.get() on:input=move |ev| column.set(event_target_value(&ev))/></label>
            <FieldNote error field="key_column"/>
            <label>"Only rows where column (optional)"<input list=column_list_id autocomplete="off" prop:value=move || row_column.get() on:input=move |ev| row_column.set(event_target_value(&ev))/></label>
            <FieldNote error field="condition_column"/>
        </Show>
        <Show when=move || kind.get() == "threshold" || (kind.get() == "per_row" && !row_column.get().trim().is_empty())>
            <div class="row">
                <label>"is"
                    <select data-test="rule-op" prop:value=move || op.get() on:change=move |ev| op.set(event_target_value(&ev))>
                        {[">", ">=", "<", "<=", "=", "!="].into_iter().map(|o| view! { <option value=o>{o}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Value"<input data-test="rule-value" inputmode="decimal" prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/></label>
            </div>
            <FieldNote error field="value"/>
        </Show>
    }
}

/// The channels the alert notifies (those the user may use).
#[component]
fn ChannelPicker(chosen: RwSignal<Vec<ChannelId>>) -> impl IntoView {
    let channels = LocalResource::new(list_channels);
    view! {
        <fieldset class="channels-pick">
            <legend>"Notify"</legend>
            {move || match channels.get() {
                None => view! { <Loading/> }.into_any(),
                Some(Err(e)) => view! { <p class="note error">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="muted">"No channels you may use yet: an editor adds them on the "<a href="/alerts">"Alerts"</a>" page (and marks them for everyone, for viewers' alerts)."</p> }.into_any(),
                Some(Ok(list)) => list.into_iter().map(|c| {
                    let cid = c.id;
                    view! {
                        <label class="check"><input type="checkbox" data-test="alert-channel" data-name=c.name.clone()
                            prop:checked=move || chosen.with(|v| v.contains(&cid))
                            on:change=move |ev| { let on = event_target_checked(&ev); chosen.update(|v| { v.retain(|x| *x != cid); if on { v.push(cid); } }); }/>
                            {format!("{} ({})", c.name, c.kind)}</label>
                    }
                }).collect_view().into_any(),
            }}
        </fieldset>
    }
}

fn params_text(p: &UrlValues) -> String {
    p.iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k} = {}", v.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

fn parse_op(s: &str) -> Op {
    match s {
        ">=" => Op::Ge,
        "<" => Op::Lt,
        "<=" => Op::Le,
        "=" => Op::Eq,
        "!=" => Op::Ne,
        _ => Op::Gt,
    }
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
                Some(Err(e)) => view! { <p class="note error">{e.to_string()}</p> }.into_any(),
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
