//! Alerts: the list (state, last evaluation, next run, channels, owner), one alert with its
//! evaluation and delivery history (evaluate now, mute, edit, delete), notification channels
//! with "Send test", and the SMTP settings for admins. The alert form and the rows are in
//! `components::alerts` (shared with the insight page). Everything loads in the browser (LocalResource), so hydration never depends
//! on timing.
use crate::{
    api::alerts::{
        create_channel, delete_alert, delete_channel, evaluate_alert, get_alert, get_smtp,
        list_alerts, list_channels, mute_alert, save_smtp, test_channel, test_smtp, update_channel,
    },
    error::AppError,
    model::{
        alert::{AlertId, ChannelDraft, ChannelSummary, RunRecord, SmtpForm},
        Role,
    },
    ui::{
        components::{
            alerts::{when, AlertForm, AlertRows, StateBadge},
            feedback::{ErrorNote, FieldNote, Loading},
        },
        context::auth::use_role,
    },
};
use chrono::Utc;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

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

/// The channel form's fields, as typed.
#[derive(Clone, Copy)]
struct ChannelFields {
    kind: RwSignal<String>,
    name: RwSignal<String>,
    url: RwSignal<String>,
    secret: RwSignal<String>,
    to: RwSignal<String>,
    subject: RwSignal<String>,
    for_everyone: RwSignal<bool>,
    /// The channel being edited (the form then changes it instead of adding one).
    editing: RwSignal<Option<ChannelSummary>>,
}

impl ChannelFields {
    fn new() -> Self {
        ChannelFields {
            kind: RwSignal::new("webhook".to_string()),
            name: RwSignal::new(String::new()),
            url: RwSignal::new(String::new()),
            secret: RwSignal::new(String::new()),
            to: RwSignal::new(String::new()),
            subject: RwSignal::new(String::new()),
            for_everyone: RwSignal::new(false),
            editing: RwSignal::new(None),
        }
    }

    fn clear(self) {
        for s in [self.name, self.url, self.secret, self.to, self.subject] {
            s.set(String::new());
        }
        self.for_everyone.set(false);
    }

    /// Starts editing `c`: its name, kind and audience; URLs and secrets stay empty
    /// ("unchanged" unless typed).
    fn edit(self, c: ChannelSummary) {
        self.clear();
        self.name.set(c.name.clone());
        self.kind.set(c.kind.as_str().to_string());
        self.for_everyone.set(c.for_everyone);
        self.editing.set(Some(c));
    }

    fn draft(self) -> ChannelDraft {
        let name = self.name.get_untracked();
        let for_everyone = self.for_everyone.get_untracked();
        match self.kind.get_untracked().as_str() {
            "slack" => ChannelDraft::Slack {
                name,
                url: self.url.get_untracked(),
                for_everyone,
            },
            "email" => ChannelDraft::Email {
                name,
                to: self.to.get_untracked(),
                subject: self.subject.get_untracked(),
                for_everyone,
            },
            _ => ChannelDraft::Webhook {
                name,
                url: self.url.get_untracked(),
                secret: self.secret.get_untracked(),
                for_everyone,
            },
        }
    }
}

#[component]
fn ChannelsSection() -> impl IntoView {
    let role = use_role();
    let version = RwSignal::new(0u32);
    let channels = LocalResource::new(move || {
        version.track();
        list_channels()
    });
    let fields = ChannelFields::new();
    let error = RwSignal::new(None::<AppError>);
    // The last test's or failed delete's message, by channel.
    let report = RwSignal::new(None::<(i64, bool, String)>);
    let can_edit = Signal::derive(move || role.get() >= Role::Editor);
    let reload = Callback::new(move |()| version.update(|v| *v += 1));
    view! {
        <section class="card" data-test="channels">
            <h2>"Channels"</h2>
            {move || match channels.get() {
                None => view! { <Loading/> }.into_any(),
                Some(Err(e)) => view! { <p class="note error">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p class="muted">"No channels yet."</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <table class="table"><thead><tr><th>"Name"</th><th>"Where"</th><th>"For everyone"</th><th>"Alerts"</th><th></th></tr></thead>
                    <tbody>{list.into_iter().map(|c| view! { <ChannelLine c can_edit fields error report reload/> }).collect_view()}</tbody></table>
                }.into_any(),
            }}
            <Show when=move || can_edit.get()>
                <ChannelForm fields error reload/>
            </Show>
        </section>
    }
}

/// One channel: name, where it sends, audience, use; for editors Send test, Edit, Delete.
#[component]
fn ChannelLine(
    c: ChannelSummary,
    can_edit: Signal<bool>,
    fields: ChannelFields,
    error: RwSignal<Option<AppError>>,
    report: RwSignal<Option<(i64, bool, String)>>,
    reload: Callback<()>,
) -> impl IntoView {
    let id = c.id;
    let send_test = move |_| {
        report.set(Some((id.0, true, "Sending…".into())));
        leptos::task::spawn_local(async move {
            let r = match test_channel(id).await {
                Ok(t) => (id.0, t.ok, t.message),
                Err(e) => (id.0, false, e.to_string()),
            };
            report.try_set(Some(r));
        });
    };
    let delete = move |_| {
        leptos::task::spawn_local(async move {
            match delete_channel(id).await {
                Ok(()) => reload.run(()),
                Err(e) => {
                    report.try_set(Some((id.0, false, e.to_string())));
                }
            }
        });
    };
    let edit = {
        let c = c.clone();
        move |_| {
            error.set(None);
            fields.edit(c.clone());
        }
    };
    view! {
        <tr data-test="channel-row">
            <td>{c.name.clone()}</td><td>{c.summary.clone()}</td>
            <td data-test="channel-for-everyone">{if c.for_everyone { "Yes" } else { "Editors only" }}</td><td>{c.alerts}</td>
            <td class="actions">
                <Show when=move || can_edit.get()>
                    <button class="button" data-test="test-channel" on:click=send_test>"Send test"</button>
                    <button class="button" data-test="edit-channel" on:click=edit.clone()>"Edit"</button>
                    <button class="button danger" data-test="delete-channel" on:click=delete>"Delete"</button>
                </Show>
                {move || report.get().filter(|(r, _, _)| *r == id.0).map(|(_, ok, m)| view! {
                    <p class=if ok { "note ok" } else { "note error" } data-test="channel-report" role="status">{m}</p>
                })}
            </td>
        </tr>
    }
}

/// Adds a channel, or changes the one being edited (its kind stays; a URL or secret left
/// empty stays as it was).
#[component]
fn ChannelForm(
    fields: ChannelFields,
    error: RwSignal<Option<AppError>>,
    reload: Callback<()>,
) -> impl IntoView {
    let ChannelFields {
        kind,
        name,
        url,
        secret,
        to,
        subject,
        for_everyone,
        editing,
    } = fields;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let draft = fields.draft();
        let target = editing.get_untracked().map(|c| c.id);
        leptos::task::spawn_local(async move {
            let saved = match target {
                Some(id) => update_channel(id, draft).await,
                None => create_channel(draft).await,
            };
            match saved {
                Ok(_) => {
                    error.try_set(None);
                    editing.try_set(None);
                    fields.clear();
                    reload.run(());
                }
                Err(e) => {
                    error.try_set(Some(e));
                }
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
    view! {
        <form class="form inline-form" data-test="channel-form" on:submit=submit>
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
                <button class="button" type="button" data-test="cancel-edit-channel" on:click=move |_| { editing.set(None); fields.clear(); error.set(None); }>"Cancel"</button>
            </Show>
            <ErrorNote error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Validation(_))))/>
        </form>
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

// ---------------------------------------------------------------------- form
