//! Admins: the loopback and private hosts connections may reach (everything else private is
//! refused; link-local and cloud-metadata addresses always are).
use crate::{
    api::connections::{get_allowed_hosts, SaveAllowedHosts},
    error::AppError,
    ui::components::feedback::{ErrorNote, FieldNote},
};
use leptos::prelude::*;

#[component]
pub(super) fn AllowedHostsPanel() -> impl IntoView {
    // Loads in the browser: the panel starts folded, and its text is edited there.
    let loaded = LocalResource::new(get_allowed_hosts);
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(false);
    let save = ServerAction::<SaveAllowedHosts>::new();
    let busy = save.pending();
    let show = |list: Vec<String>| list.join("\n");
    Effect::new(move |_| {
        if let Some(Ok(h)) = loaded.get() {
            text.set(show(h.entries));
        }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(h)) => {
            text.set(show(h.entries));
            saved.set(true);
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let on_save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        error.set(None);
        save.dispatch(SaveAllowedHosts {
            hosts: text.get_untracked(),
        });
    };
    // Hosts the server's configuration allows besides this list.
    let configured = move || {
        loaded.get().map(|r| {
            r.map(|h| {
                (!h.configured.is_empty()).then(|| view! {
                    <p class="muted" data-test="allowed-hosts-configured">"Also allowed by the server's configuration: " {h.configured.join(", ")}</p>
                })
            })
        })
    };
    let err: Signal<Option<AppError>> = error.into();
    view! {
            <details class="card allowed-hosts" data-test="allowed-hosts">
                <summary>"Allowed hosts (admins)"</summary>
                <p class="muted">"Connections may reach public hosts. Loopback and private addresses (127.0.0.0/8, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7, ::1) are refused unless listed here: one host name, address or CIDR range (e.g. 10.1.0.0/16) per line. Link-local and cloud-metadata addresses are always refused."</p>
                {configured}
                <form on:submit=on_save>
                    <label>"Hosts"
                        <textarea name="hosts" rows="4" data-test="allowed-hosts-input"
                            prop:value=move || text.get()
                            on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                        <FieldNote error=err field="hosts"/>
                    </label>
                    <ErrorNote error=Signal::derive(move || error.get().filter(|e| e.field_message("hosts").is_none()))/>
                    <Show when=move || saved.get()>
                        <p class="note" role="status">"Saved. Connections use the new list from now on."</p>
                    </Show>
                    <button class="button" type="submit" data-test="allowed-hosts-save" disabled=move || busy.get()>"Save allowed hosts"</button>
                </form>
            </details>
    }
}
