//! Alerts: the list (state, last evaluation, next run, channels, owner), one alert with its
//! evaluation and delivery history (evaluate now, mute, edit, delete), notification channels
//! with "Send test", and the SMTP settings for admins. The alert form and the rows are in
//! `components::alerts` (shared with the insight page). Everything loads in the browser (LocalResource), so hydration never depends
//! on timing.
//!
//! - `channels`: the channels, Send test, and the form that adds or changes one
//! - `smtp`: the SMTP settings and a test email (admins)
//! - `alert`: one alert's page (`/alerts/:id`) with its history
mod alert;
mod channels;
mod smtp;

use crate::{
    api::alerts::list_alerts,
    model::Role,
    ui::{
        components::{
            alerts::AlertRows,
            feedback::{Loading, Region},
        },
        context::auth::use_role,
    },
};
pub use alert::AlertPage;
use channels::ChannelsSection;
use leptos::prelude::*;
use leptos_meta::Title;
use smtp::SmtpSection;

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
            <Region label="Alerts">
                {move || match alerts.get() {
                    None => view! { <Loading/> }.into_any(),
                    Some(r) => r.map(|list| view! { <AlertRows alerts=list show_insight=true/> }).into_any(),
                }}
            </Region>
        </section>
        <ChannelsSection/>
        <Show when=move || role.get() == Role::Admin>
            <SmtpSection/>
        </Show>
    }
}
