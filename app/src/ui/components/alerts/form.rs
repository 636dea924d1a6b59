//! The alert form: name, condition, schedule, channels and noise control; it creates an
//! alert or saves the one edited.
use super::rule::{RuleEditor, RuleFields};
use crate::{
    api::alerts::{list_channels, SaveAlert},
    error::AppError,
    model::{
        alert::{AlertDraft, AlertId, AlertSummary, ChannelId, ChannelSummary, SCHEDULE_PRESETS},
        insight::UrlValues,
    },
    ui::components::feedback::{ErrorNote, FieldNote, Loading},
};
use leptos::prelude::*;

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
    let save = ServerAction::<SaveAlert>::new();
    let saving = save.pending();
    Effect::new(move |_| match save.value().get() {
        Some(Ok(s)) => {
            error.try_set(None);
            untrack(|| on_saved.run(s));
        }
        Some(Err(e)) => {
            error.try_set(Some(e));
        }
        None => {}
    });
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
        save.dispatch(SaveAlert { id, draft });
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

/// The channels the alert notifies (those the user may use).
#[component]
fn ChannelPicker(chosen: RwSignal<Vec<ChannelId>>) -> impl IntoView {
    let channels = LocalResource::new(list_channels);
    view! {
        <fieldset class="channels-pick">
            <legend>"Notify"</legend>
            {move || match channels.get() {
                None => view! { <Loading/> }.into_any(),
                Some(Ok(list)) => channel_choices(list, chosen),
                Some(Err(e)) => view! { <p class="note error" role="alert">{e.to_string()}</p> }.into_any(),
            }}
        </fieldset>
    }
}

/// A checkbox for each channel the user may use (or where to add one).
fn channel_choices(list: Vec<ChannelSummary>, chosen: RwSignal<Vec<ChannelId>>) -> AnyView {
    if list.is_empty() {
        return view! { <p class="muted">"No channels you may use yet: an editor adds them on the "<a href="/alerts">"Alerts"</a>" page (and marks them for everyone, for viewers' alerts)."</p> }.into_any();
    }
    list.into_iter()
        .map(|c| {
            let cid = c.id;
            view! {
                <label class="check"><input type="checkbox" data-test="alert-channel" data-name=c.name.clone()
                    prop:checked=move || chosen.with(|v| v.contains(&cid))
                    on:change=move |ev| { let on = event_target_checked(&ev); chosen.update(|v| { v.retain(|x| *x != cid); if on { v.push(cid); } }); }/>
                    {format!("{} ({})", c.name, c.kind)}</label>
            }
        })
        .collect_view()
        .into_any()
}

fn params_text(p: &UrlValues) -> String {
    p.iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k} = {}", v.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}
