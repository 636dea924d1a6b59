//! Alerts: the list (state, last evaluation, next run, channels, owner), one alert with its
//! evaluation and delivery history (evaluate now, mute, edit, delete), the alert form used
//! here and on insight pages, notification channels with "Send test", and the SMTP settings
//! for admins. Everything loads in the browser (LocalResource), so hydration never depends
//! on timing.
use crate::{
    api::alerts::{
        alert_columns, create_channel, delete_alert, delete_channel, evaluate_alert, get_alert,
        get_smtp, list_alerts, list_channels, mute_alert, save_alert, save_smtp, test_channel,
        test_smtp, update_channel,
    },
    error::AppError,
    model::{
        alert::{AlertState, Op, RowCondition, Rule, Selector, Threshold},
        alerting::{
            state_label, AlertDraft, AlertId, AlertSummary, ChannelDraft, ChannelSummary,
            RunRecord, SmtpForm, SCHEDULE_PRESETS,
        },
        insight::{InsightId, UrlValues},
        Role,
    },
    ui::{
        components::feedback::{ErrorNote, FieldNote, Loading},
        context::auth::use_role,
    },
};
use chrono::{DateTime, Utc};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

fn when(t: Option<DateTime<Utc>>) -> String {
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
fn StateBadge(state: AlertState, evaluated: bool) -> impl IntoView {
    if !evaluated {
        return view! { <span class="badge" data-test="alert-state">"Not evaluated yet"</span> }
            .into_any();
    }
    view! { <span class=state_class(state) data-test="alert-state">{state_label(state)}</span> }
        .into_any()
}

/// The rows of an alerts table.
#[component]
fn AlertRows(alerts: Vec<AlertSummary>, show_insight: bool) -> impl IntoView {
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

/// `/alerts`
#[component]
pub fn AlertsPage() -> impl IntoView {
    let alerts = LocalResource::new(|| list_alerts(None));
    let role = use_role();
    view! {
        <Title text="Alerts"/>
        <div class="page-head"><h1>"Alerts"</h1></div>
        <p class="muted">"Create an alert from an insight's page (Alerts button). Alerts run on the server's workers on their schedule and notify their channels."</p>
        <section class="card">
            {move || match alerts.get() {
                None => view! { <Loading/> }.into_any(),
                Some(Ok(list)) => view! { <AlertRows alerts=list show_insight=true/> }.into_any(),
                Some(Err(e)) => view! { <p class="note error" role="alert">{e.to_string()}</p> }.into_any(),
            }}
        </section>
        <ChannelsSection/>
        <Show when=move || role.get() == Role::Admin>
            <SmtpSection/>
        </Show>
    }
}

// ------------------------------------------------------------------ channels

#[component]
fn ChannelsSection() -> impl IntoView {
    let role = use_role();
    let version = RwSignal::new(0u32);
    let channels = LocalResource::new(move || {
        version.track();
        list_channels()
    });
    let kind = RwSignal::new("webhook".to_string());
    let name = RwSignal::new(String::new());
    let url = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let subject = RwSignal::new(String::new());
    let for_everyone = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let report = RwSignal::new(None::<(i64, bool, String)>);
    // The channel being edited (the form below then changes it instead of adding one).
    let editing = RwSignal::new(None::<ChannelSummary>);
    let clear = move || {
        for s in [name, url, secret, to, subject] {
            s.set(String::new());
        }
        for_everyone.set(false);
    };
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let draft = match kind.get_untracked().as_str() {
            "slack" => ChannelDraft::Slack {
                name: name.get_untracked(),
                url: url.get_untracked(),
                for_everyone: for_everyone.get_untracked(),
            },
            "email" => ChannelDraft::Email {
                name: name.get_untracked(),
                to: to.get_untracked(),
                subject: subject.get_untracked(),
                for_everyone: for_everyone.get_untracked(),
            },
            _ => ChannelDraft::Webhook {
                name: name.get_untracked(),
                url: url.get_untracked(),
                secret: secret.get_untracked(),
                for_everyone: for_everyone.get_untracked(),
            },
        };
        let target = editing.get_untracked().map(|c| c.id);
        leptos::task::spawn_local(async move {
            let saved = match target {
                Some(id) => update_channel(id, draft).await,
                None => create_channel(draft).await,
            };
            match saved {
                Ok(_) => {
                    error.set(None);
                    editing.set(None);
                    clear();
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let unchanged = move |new: &'static str| {
        if editing.get().is_some() {
            "Unchanged (type to replace)"
        } else {
            new
        }
    };
    let can_edit = move || role.get() >= Role::Editor;
    view! {
        <section class="card" data-test="channels">
            <h2>"Channels"</h2>
            {move || match channels.get() {
                None => view! { <Loading/> }.into_any(),
                Some(Err(e)) => view! { <p class="note error">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="muted">"No channels yet."</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="table"><thead><tr><th>"Name"</th><th>"Where"</th><th>"For everyone"</th><th>"Alerts"</th><th></th></tr></thead>
                    <tbody>{list.into_iter().map(|c: ChannelSummary| {
                        let id = c.id;
                        view! {
                            <tr data-test="channel-row">
                                <td>{c.name.clone()}</td><td>{c.summary.clone()}</td>
                                <td data-test="channel-for-everyone">{if c.for_everyone { "Yes" } else { "Editors only" }}</td><td>{c.alerts}</td>
                                <td class="actions">
                                    <Show when=can_edit>
                                        <button class="button" data-test="test-channel" on:click=move |_| {
                                            report.set(Some((id.0, true, "Sending…".into())));
                                            leptos::task::spawn_local(async move {
                                                let r = match test_channel(id).await {
                                                    Ok(t) => (id.0, t.ok, t.message),
                                                    Err(e) => (id.0, false, e.to_string()),
                                                };
                                                report.set(Some(r));
                                            });
                                        }>"Send test"</button>
                                        <button class="button" data-test="edit-channel" on:click={
                                            let c = c.clone();
                                            move |_| {
                                                clear();
                                                error.set(None);
                                                name.set(c.name.clone());
                                                kind.set(c.kind.clone());
                                                for_everyone.set(c.for_everyone);
                                                editing.set(Some(c.clone()));
                                            }
                                        }>"Edit"</button>
                                        <button class="button danger" data-test="delete-channel" on:click=move |_| {
                                            leptos::task::spawn_local(async move {
                                                match delete_channel(id).await {
                                                    Ok(()) => version.update(|v| *v += 1),
                                                    Err(e) => report.set(Some((id.0, false, e.to_string()))),
                                                }
                                            });
                                        }>"Delete"</button>
                                    </Show>
                                    {move || report.get().filter(|(r, _, _)| *r == id.0).map(|(_, ok, m)| view! {
                                        <p class=if ok { "note ok" } else { "note error" } data-test="channel-report" role="status">{m}</p>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}</tbody></table>
                }.into_any(),
            }}
            <Show when=can_edit>
                <form class="form inline-form" data-test="channel-form" on:submit=create>
                    <h3>{move || match editing.get() {
                        Some(c) => format!("Edit channel {}", c.name),
                        None => "New channel".to_string(),
                    }}</h3>
                    <label>"Kind"
                        <select data-test="channel-kind" prop:value=move || kind.get() disabled=move || editing.get().is_some() on:change=move |ev| kind.set(event_target_value(&ev))>
                            <option value="webhook">"Webhook (JSON, signed)"</option>
                            <option value="slack">"Slack incoming webhook"</option>
                            <option value="email">"Email"</option>
                        </select>
                    </label>
                    <label>"Name"<input data-test="channel-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
                    <FieldNote error field="name"/>
                    <Show when=move || kind.get() != "email">
                        <label>"URL"<input data-test="channel-url" type="url" placeholder=move || unchanged("https://") prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/></label>
                        <FieldNote error field="url"/>
                    </Show>
                    <Show when=move || kind.get() == "webhook">
                        <label>"Signing secret (optional)"<input data-test="channel-secret" type="password" autocomplete="new-password" placeholder=move || unchanged("") prop:value=move || secret.get() on:input=move |ev| secret.set(event_target_value(&ev))/></label>
                        <FieldNote error field="secret"/>
                        <Show when=move || editing.get().is_some()>
                            <p class="muted">"A new URL needs the signing secret again."</p>
                        </Show>
                    </Show>
                    <Show when=move || kind.get() == "email">
                        <label>"To (comma-separated)"<input data-test="channel-to" placeholder=move || unchanged("") prop:value=move || to.get() on:input=move |ev| to.set(event_target_value(&ev))/></label>
                        <FieldNote error field="to"/>
                        <label>"Subject"<input placeholder="[Sightline] {{alert}}: {{state}}" prop:value=move || subject.get() on:input=move |ev| subject.set(event_target_value(&ev))/></label>
                    </Show>
                    <label class="check"><input type="checkbox" data-test="channel-for-everyone-input" prop:checked=move || for_everyone.get() on:change=move |ev| for_everyone.set(event_target_checked(&ev))/>
                        "For everyone: viewers' alerts may send here"</label>
                    <button class="button primary" type="submit" data-test="create-channel">{move || if editing.get().is_some() { "Save channel" } else { "Add channel" }}</button>
                    <Show when=move || editing.get().is_some()>
                        <button class="button" type="button" data-test="cancel-edit-channel" on:click=move |_| { editing.set(None); clear(); error.set(None); }>"Cancel"</button>
                    </Show>
                    <ErrorNote error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Validation(_))))/>
                </form>
            </Show>
        </section>
    }
}

// ---------------------------------------------------------------------- SMTP

#[component]
fn SmtpSection() -> impl IntoView {
    let view_res = LocalResource::new(get_smtp);
    view! {
        <section class="card" data-test="smtp">
            <h2>"Email (SMTP)"</h2>
            {move || match view_res.get() {
                None => view! { <Loading/> }.into_any(),
                Some(Err(e)) => view! { <p class="note error">{e.to_string()}</p> }.into_any(),
                Some(Ok(v)) => view! { <SmtpFormView initial=v.form has_password=v.has_password from_config=v.from_config/> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn SmtpFormView(initial: SmtpForm, has_password: bool, from_config: bool) -> impl IntoView {
    let host = RwSignal::new(initial.host);
    let port = RwSignal::new(initial.port.to_string());
    let tls = RwSignal::new(initial.tls);
    let username = RwSignal::new(initial.username);
    let password = RwSignal::new(String::new());
    let from = RwSignal::new(initial.from);
    let test_to = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let status = RwSignal::new(None::<(bool, String)>);
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let pw = password.get_untracked();
        let form = SmtpForm {
            host: host.get_untracked(),
            port: port.get_untracked().trim().parse().unwrap_or(0),
            tls: tls.get_untracked(),
            username: username.get_untracked(),
            password: (!pw.is_empty()).then_some(pw),
            from: from.get_untracked(),
        };
        leptos::task::spawn_local(async move {
            match save_smtp(form).await {
                Ok(_) => {
                    error.set(None);
                    password.set(String::new());
                    status.set(Some((true, "Saved.".into())));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let test = move |_| {
        let to = test_to.get_untracked();
        status.set(Some((true, "Sending…".into())));
        leptos::task::spawn_local(async move {
            status.set(Some(match test_smtp(to).await {
                Ok(r) => (r.ok, r.message),
                Err(e) => (false, e.to_string()),
            }));
        });
    };
    view! {
        {from_config.then(|| view! { <p class="note">"SMTP is set in the server's configuration (SIGHTLINE_SMTP_*); change it there."</p> })}
        <form class="form" on:submit=save>
            <fieldset disabled=from_config>
                <label>"Host"<input data-test="smtp-host" prop:value=move || host.get() on:input=move |ev| host.set(event_target_value(&ev))/></label>
                <FieldNote error field="host"/>
                <label>"Port"<input data-test="smtp-port" inputmode="numeric" prop:value=move || port.get() on:input=move |ev| port.set(event_target_value(&ev))/></label>
                <FieldNote error field="port"/>
                <label>"Security"
                    <select prop:value=move || tls.get() on:change=move |ev| tls.set(event_target_value(&ev))>
                        <option value="starttls">"STARTTLS (587)"</option>
                        <option value="tls">"TLS (465)"</option>
                        <option value="none">"None (local relay only)"</option>
                    </select>
                </label>
                <label>"Username"<input autocomplete="off" prop:value=move || username.get() on:input=move |ev| username.set(event_target_value(&ev))/></label>
                <label>{if has_password { "Password (leave empty to keep)" } else { "Password" }}
                    <input type="password" autocomplete="new-password" prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/></label>
                <FieldNote error field="password"/>
                {has_password.then(|| view! { <p class="muted">"Changing the host, port, username or security needs the password again."</p> })}
                <label>"Sender"<input data-test="smtp-from" placeholder="Sightline <alerts@example.com>" prop:value=move || from.get() on:input=move |ev| from.set(event_target_value(&ev))/></label>
                <FieldNote error field="from"/>
                <button class="button primary" type="submit">"Save"</button>
            </fieldset>
        </form>
        <div class="inline-form">
            <label>"Send a test email to"<input type="email" prop:value=move || test_to.get() on:input=move |ev| test_to.set(event_target_value(&ev))/></label>
            <button class="button" on:click=test>"Send test"</button>
        </div>
        <FieldNote error field="test_to"/>
        <ErrorNote error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Validation(_))))/>
        {move || status.get().map(|(ok, m)| view! { <p class=if ok { "note ok" } else { "note error" } role="status">{m}</p> })}
    }
}

// ----------------------------------------------------------------- one alert

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
    let action_error = RwSignal::new(None::<AppError>);
    let navigate = StoredValue::new(use_navigate());
    // While a run is queued or running, look again every second (no reload needed).
    Effect::new(move |_| {
        let busy = detail.with(|d| {
            d.as_ref().and_then(|d| d.as_ref().ok()).is_some_and(|d| {
                d.runs
                    .iter()
                    .any(|r| r.status == "queued" || r.status == "running")
            })
        });
        if busy {
            set_timeout(
                move || version.update(|v| *v += 1),
                std::time::Duration::from_secs(1),
            );
        }
    });
    let act =
        move |f: std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), AppError>>>>| {
            leptos::task::spawn_local(async move {
                match f.await {
                    Ok(()) => {
                        action_error.set(None);
                        version.update(|v| *v += 1);
                    }
                    Err(e) => action_error.set(Some(e)),
                }
            });
        };
    view! {
        {move || match detail.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(e)) => view! {
                <Title text="Alert"/>
                <div class="note error" role="alert"><p>{e.to_string()}</p><p><a href="/alerts">"All alerts"</a></p></div>
            }.into_any(),
            Some(Ok(d)) => {
                let aid = d.summary.id;
                let s = d.summary.clone();
                let draft = d.draft.clone();
                let muted = s.muted_until.is_some();
                view! {
                    <Title text=s.name.clone()/>
                    <nav class="breadcrumb"><a href="/alerts">"Alerts"</a><span class="sep">"/"</span>
                        <a href=format!("/insights/{}", s.insight_id.0)>{s.insight_name.clone()}</a></nav>
                    <div class="page-head">
                        <h1 data-test="alert-name">{s.name.clone()}" "<StateBadge state=s.state evaluated=s.last_evaluated_at.is_some()/></h1>
                        <div class="actions">
                            <button class="button primary" data-test="evaluate-now" on:click=move |_| act(Box::pin(async move { evaluate_alert(aid).await.map(|_| ()) }))>"Evaluate now"</button>
                            <Show when=move || s.can_edit>
                                {if muted {
                                    view! { <button class="button" data-test="unmute" on:click=move |_| act(Box::pin(async move { mute_alert(aid, None).await }))>"Unmute"</button> }.into_any()
                                } else {
                                    view! {
                                        <button class="button" data-test="mute-1h" on:click=move |_| act(Box::pin(async move { mute_alert(aid, Some(Utc::now() + chrono::Duration::hours(1))).await }))>"Mute 1 h"</button>
                                        <button class="button" data-test="mute-1d" on:click=move |_| act(Box::pin(async move { mute_alert(aid, Some(Utc::now() + chrono::Duration::days(1))).await }))>"Mute 1 day"</button>
                                    }.into_any()
                                }}
                                <button class="button" data-test="edit-alert" on:click=move |_| editing.update(|e| *e = !*e)>"Edit"</button>
                                <button class="button danger" data-test="delete-alert" on:click=move |_| {
                                    let confirmed = window().confirm_with_message("Delete this alert and its history?").unwrap_or(false);
                                    if confirmed {
                                        leptos::task::spawn_local(async move {
                                            match delete_alert(aid).await {
                                                Ok(()) => navigate.with_value(|n| n("/alerts", Default::default())),
                                                Err(e) => action_error.set(Some(e)),
                                            }
                                        });
                                    }
                                }>"Delete"</button>
                            </Show>
                        </div>
                    </div>
                    <ErrorNote error=action_error/>
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
                }.into_any()
            }
        }}
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
                            <tr data-test="run-row" data-status=r.status.clone()>
                                <td>{when(Some(r.scheduled_for))}{r.manual.then_some(" (evaluate now)")}</td>
                                <td>{r.status.clone()}{(r.attempts > 1).then(|| format!(" ({} attempts)", r.attempts))}</td>
                                <td>{r.detail.clone().unwrap_or_default()}
                                    {r.error.clone().map(|e| view! { <p class="note error" data-test="run-error">{e}</p> })}</td>
                                <td>{r.deliveries.into_iter().map(|d| view! {
                                    <p data-test="delivery" data-status=d.status.clone()>
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

// ---------------------------------------------------------------------- form

/// Creates or edits an alert. `initial.params` are the insight's values it always runs with.
#[component]
pub fn AlertForm(
    id: Option<AlertId>,
    initial: AlertDraft,
    #[prop(into)] on_saved: Callback<AlertSummary>,
) -> impl IntoView {
    let channels = LocalResource::new(list_channels);
    let insight_id = initial.insight_id;
    let params = initial.params.clone();
    // The insight's columns (with these values), offered in the column fields.
    let columns = LocalResource::new({
        let params = params.clone();
        move || alert_columns(insight_id, params.clone())
    });
    // One alert form is open at a time, on the insight's page or the alert's.
    let column_list_id = "alert-columns";
    let name = RwSignal::new(initial.name.clone());
    let (kind0, column0, selector0, op0, value0) = match &initial.rule {
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
    let kind = RwSignal::new(kind0.to_string());
    let column = RwSignal::new(column0);
    let row_column = RwSignal::new(match &initial.rule {
        Rule::PerRow {
            condition: Some(c), ..
        } => c.column.clone(),
        _ => String::new(),
    });
    let selector = RwSignal::new(selector0.name().to_string());
    let op = RwSignal::new(op0.symbol().to_string());
    let value = RwSignal::new(value0);
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
        let number = value
            .get_untracked()
            .trim()
            .parse::<f64>()
            .unwrap_or(f64::NAN);
        let rule = match kind.get_untracked().as_str() {
            "any_rows" => Rule::AnyRows,
            "no_rows" => Rule::NoRows,
            "always" => Rule::Always,
            "per_row" => Rule::PerRow {
                key_column: column.get_untracked().trim().to_string(),
                condition: (!row_column.get_untracked().trim().is_empty()).then(|| RowCondition {
                    column: row_column.get_untracked().trim().to_string(),
                    op: parse_op(&op.get_untracked()),
                    value: number,
                }),
            },
            _ => Rule::Threshold(Threshold {
                column: column.get_untracked().trim().to_string(),
                selector: Selector::from_name(&selector.get_untracked()),
                op: parse_op(&op.get_untracked()),
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
            error.set(Some(AppError::field("value", "Enter a number.")));
            return;
        }
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
            saving.set(false);
            match r {
                Ok(s) => {
                    error.set(None);
                    on_saved.run(s);
                }
                Err(e) => error.set(Some(e)),
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
