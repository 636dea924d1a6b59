//! The SMTP settings (admins): the server that sends alert emails, and a test email.
use crate::{
    api::alerts::{get_smtp, SaveSmtp, TestSmtp},
    error::AppError,
    model::alert::SmtpForm,
    ui::components::feedback::{ErrorNote, FieldNote, Loading, Region},
};
use leptos::prelude::*;

#[component]
pub(super) fn SmtpSection() -> impl IntoView {
    let view_res = LocalResource::new(get_smtp);
    view! {
        <section class="card" data-test="smtp">
            <h2>"Email (SMTP)"</h2>
            <Region label="The SMTP settings">
                {move || match view_res.get() {
                    None => view! { <Loading/> }.into_any(),
                    Some(r) => r.map(|v| view! { <SmtpFormView initial=v.form has_password=v.has_password from_config=v.from_config/> }).into_any(),
                }}
            </Region>
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
    let save_smtp = ServerAction::<SaveSmtp>::new();
    Effect::new(move |_| match save_smtp.value().get() {
        Some(Ok(_)) => {
            error.set(None);
            password.set(String::new());
            status.set(Some((true, "Saved.".into())));
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let test_smtp = ServerAction::<TestSmtp>::new();
    Effect::new(move |_| {
        let answer = match test_smtp.value().get() {
            Some(Ok(r)) => (r.ok, r.message),
            Some(Err(e)) => (false, e.to_string()),
            None => return,
        };
        status.set(Some(answer));
    });
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
        save_smtp.dispatch(SaveSmtp { form });
    };
    let test = move |_| {
        let to = test_to.get_untracked();
        status.set(Some((true, "Sending…".into())));
        test_smtp.dispatch(TestSmtp { to });
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
