//! Notification channels: the list (for editors Send test, Edit, Delete) and the form that
//! adds a channel or changes the one being edited.
use crate::{
    api::alerts::{list_channels, CreateChannel, DeleteChannel, TestChannel, UpdateChannel},
    error::AppError,
    model::{
        alert::{ChannelDraft, ChannelSummary},
        Role,
    },
    ui::{
        components::feedback::{ErrorNote, FieldNote, Loading, Region},
        context::auth::use_role,
    },
};
use leptos::prelude::*;

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
pub(super) fn ChannelsSection() -> impl IntoView {
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
            <Region label="Channels">
                {move || match channels.get() {
                    None => view! { <Loading/> }.into_any(),
                    Some(r) => r.map(|list| {
                        if list.is_empty() {
                            return view! { <p class="muted">"No channels yet."</p> }.into_any();
                        }
                        view! {
                            <table class="table"><thead><tr><th>"Name"</th><th>"Where"</th><th>"For everyone"</th><th>"Alerts"</th><th></th></tr></thead>
                            <tbody>{list.into_iter().map(|c| view! { <ChannelLine c can_edit fields error report reload/> }).collect_view()}</tbody></table>
                        }.into_any()
                    }).into_any(),
                }}
            </Region>
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
    // A test's answer, or a refused delete, shows on this channel's line.
    let test = ServerAction::<TestChannel>::new();
    Effect::new(move |_| {
        let r = match test.value().get() {
            Some(Ok(t)) => (id.0, t.ok, t.message),
            Some(Err(e)) => (id.0, false, e.to_string()),
            None => return,
        };
        report.try_set(Some(r));
    });
    let send_test = move |_| {
        report.set(Some((id.0, true, "Sending…".into())));
        test.dispatch(TestChannel { id });
    };
    let remove = ServerAction::<DeleteChannel>::new();
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => reload.run(()),
        Some(Err(e)) => {
            report.try_set(Some((id.0, false, e.to_string())));
        }
        None => {}
    });
    let delete = move |_| {
        remove.dispatch(DeleteChannel { id });
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
    // Saved: the form empties and the list reloads.
    let answered = move |saved: Result<ChannelSummary, AppError>| match saved {
        Ok(_) => {
            error.try_set(None);
            editing.try_set(None);
            fields.clear();
            reload.run(());
        }
        Err(e) => {
            error.try_set(Some(e));
        }
    };
    let create = ServerAction::<CreateChannel>::new();
    let update = ServerAction::<UpdateChannel>::new();
    let (creating, updating) = (create.pending(), update.pending());
    Effect::new(move |_| {
        if let Some(r) = create.value().get() {
            answered(r)
        }
    });
    Effect::new(move |_| {
        if let Some(r) = update.value().get() {
            answered(r)
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let draft = fields.draft();
        match editing.get_untracked().map(|c| c.id) {
            Some(id) => update.dispatch(UpdateChannel { id, draft }),
            None => create.dispatch(CreateChannel { draft }),
        };
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
            <button class="button primary" type="submit" data-test="create-channel" disabled=move || creating.get() || updating.get()>{move || if editing.get().is_some() { "Save channel" } else { "Add channel" }}</button>
            <Show when=move || editing.get().is_some()>
                <button class="button" type="button" data-test="cancel-edit-channel" on:click=move |_| { editing.set(None); fields.clear(); error.set(None); }>"Cancel"</button>
            </Show>
            <ErrorNote error=Signal::derive(move || error.get().filter(|e| !matches!(e, AppError::Validation(_))))/>
        </form>
    }
}
