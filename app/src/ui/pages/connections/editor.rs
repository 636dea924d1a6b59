//! The form for a new or an existing connection: name, color, kind, a connection string that
//! fills the fields, the server's fields (or the SQLite file), Writable for admins; Test and
//! Save.
use crate::{
    api::connections::{ParseConnectionUrl, SaveConnection, TestConnection},
    error::AppError,
    model::connection::{ConnectionForm, ConnectionKind, SslMode, TestOutcome, COLORS},
    ui::components::feedback::FieldNote,
};
use leptos::prelude::*;

/// The fields whose errors show under their input (the others show under the form).
const FIELDS: [&str; 10] = [
    "name", "url", "host", "port", "database", "user", "password", "path", "kind", "writable",
];

/// A text field of the form `$f`: its value and the handler that writes it.
macro_rules! field {
    ($f:ident . $name:ident) => {
        (
            move || $f.with(|form| form.$name.clone()),
            move |ev| $f.update(|form| form.$name = event_target_value(&ev)),
        )
    };
}

#[component]
pub(super) fn ConnectionEditor(
    form: ConnectionForm,
    has_password: bool,
    is_admin: bool,
    on_close: Callback<bool>,
) -> impl IntoView {
    let is_new = form.id.is_none();
    let f = RwSignal::new(form);
    let error = RwSignal::new(None::<AppError>);
    let tested = RwSignal::new(None::<TestOutcome>);
    let test = ServerAction::<TestConnection>::new();
    let save = ServerAction::<SaveConnection>::new();
    let (testing, saving) = (test.pending(), save.pending());
    let busy = Signal::derive(move || testing.get() || saving.get());
    let kind = Signal::derive(move || {
        f.with(|f| ConnectionKind::parse(&f.kind).unwrap_or(ConnectionKind::Postgres))
    });
    let err: Signal<Option<AppError>> = error.into();
    Effect::new(move |_| match test.value().get() {
        Some(Ok(t)) => tested.set(Some(t)),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(_)) => on_close.run(true),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let on_test = move |_| {
        tested.set(None);
        error.set(None);
        test.dispatch(TestConnection {
            form: f.get_untracked(),
        });
    };
    let on_save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        save.dispatch(SaveConnection {
            form: f.get_untracked(),
        });
    };
    let (name_v, name_in) = field!(f.name);
    let (color_v, color_in) = field!(f.color);
    let (path_v, path_in) = field!(f.path);

    view! {
        <section class="card conn-editor" data-test="connection-editor">
            <h2>{if is_new { "New connection" } else { "Edit connection" }}</h2>
            <form on:submit=on_save>
                <div class="form-grid">
                    <label>"Name"
                        <input name="name" required prop:value=name_v on:input=name_in autocomplete="off"/>
                        <FieldNote error=err field="name"/>
                    </label>
                    <label>"Color"
                        <select name="color" prop:value=color_v on:change=color_in>
                            {COLORS.iter().map(|c| view! { <option value=*c>{*c}</option> }).collect_view()}
                        </select>
                    </label>
                    <KindField f err/>
                    <UrlField f error/>
                    <Show when=move || kind.get() != ConnectionKind::Sqlite fallback=move || view! {
                        <label class="span-all">"SQLite file (absolute path, inside the allowed directory)"
                            <input name="path" class="mono" prop:value=path_v on:input=path_in/>
                            <FieldNote error=err field="path"/>
                        </label>
                    }>
                        <ServerFields f err has_password/>
                    </Show>
                    <Show when=move || is_admin>
                        <label class="check span-all">
                            <input type="checkbox" name="writable" prop:checked=move || f.with(|f| f.writable)
                                on:change=move |ev| f.update(|f| f.writable = event_target_checked(&ev))/>
                            "Writable: allow statements and procedures that modify data (admins only)"
                        </label>
                    </Show>
                    <FieldNote error=err field="writable"/>
                </div>
                {move || error.get().filter(|e| !matches!(e, AppError::Validation(v) if v.iter().all(|f| FIELDS.contains(&f.field.as_str())))).map(|e| view! {
                    <p class="note error" role="alert" data-test="connection-error">{e.to_string()}</p>
                })}
                {move || tested.get().map(|t| view! {
                    <p class="note ok" role="status" data-test="test-ok">{format!("Connected in {} ms: {}", t.elapsed_ms, t.version)}</p>
                    {t.warning.map(|w| view! { <p class="note warn" role="status" data-test="test-warning">{w}</p> })}
                })}
                <div class="actions">
                    <button type="button" class="button" data-test="test-connection" on:click=on_test disabled=move || busy.get()>"Test"</button>
                    <button type="submit" class="button primary" data-test="save-connection" disabled=move || busy.get()>"Save"</button>
                    <button type="button" class="button link-button" on:click=move |_| on_close.run(false)>"Cancel"</button>
                </div>
            </form>
        </section>
    }
}

/// The kind; choosing another one moves a default port along with it.
#[component]
fn KindField(f: RwSignal<ConnectionForm>, err: Signal<Option<AppError>>) -> impl IntoView {
    let set_kind = move |ev| {
        let k = event_target_value(&ev);
        f.update(|f| {
            if let Some(kind) = ConnectionKind::parse(&k) {
                if kind != ConnectionKind::Sqlite
                    && (f.port.is_empty() || f.port == "5432" || f.port == "3306")
                {
                    f.port = kind.default_port().to_string();
                }
            }
            f.kind = k;
        })
    };
    view! {
        <label>"Kind"
            <select name="kind" prop:value=move || f.with(|f| f.kind.clone()) on:change=set_kind>
                {ConnectionKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
            </select>
            <FieldNote error=err field="kind"/>
        </label>
    }
}

/// A connection string fills the fields as soon as it is pasted (or when the field is left
/// after typing one); one that does not parse stays, with the reason under it.
#[component]
fn UrlField(f: RwSignal<ConnectionForm>, error: RwSignal<Option<AppError>>) -> impl IntoView {
    let filled = RwSignal::new(false);
    let parse = ServerAction::<ParseConnectionUrl>::new();
    Effect::new(move |_| match parse.value().get() {
        Some(Ok(parsed)) => {
            f.update(|f| f.take_connection(parsed));
            error.set(None);
            filled.set(true);
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let fill = move |raw: String| {
        filled.set(false);
        if raw.trim().is_empty() {
            f.update(|f| f.url.clear());
            return;
        }
        f.update(|f| f.url = raw.clone());
        parse.dispatch(ParseConnectionUrl { url: raw });
    };
    let url_in = move |ev: leptos::ev::Event| {
        let raw = event_target_value(&ev);
        let pasted = js_sys::Reflect::get(&ev, &"inputType".into())
            .ok()
            .and_then(|t| t.as_string())
            .is_some_and(|t| t == "insertFromPaste");
        if pasted {
            fill(raw);
        } else {
            f.update(|f| f.url = raw);
        }
    };
    let url_change = move |ev: leptos::ev::Event| fill(event_target_value(&ev));
    view! {
        <label class="span-all">"Connection string (optional; fills the fields below)"
            <input name="url" class="mono" placeholder="postgres://user:password@host:5432/database?sslmode=prefer" prop:value=move || f.with(|f| f.url.clone()) on:input=url_in on:change=url_change autocomplete="off"/>
            <FieldNote error=error field="url"/>
            <Show when=move || filled.get()>
                <span class="hint" role="status" data-test="url-filled">"Filled in the fields below from the connection string."</span>
            </Show>
        </label>
    }
}

/// Host, port, database, user, password and SSL mode (PostgreSQL and MySQL).
#[component]
fn ServerFields(
    f: RwSignal<ConnectionForm>,
    err: Signal<Option<AppError>>,
    has_password: bool,
) -> impl IntoView {
    let (host_v, host_in) = field!(f.host);
    let (port_v, port_in) = field!(f.port);
    let (db_v, db_in) = field!(f.database);
    let (user_v, user_in) = field!(f.user);
    let (pw_v, pw_in) = field!(f.password);
    let (ssl_v, ssl_in) = field!(f.ssl_mode);
    view! {
        <label>"Host"
            <input name="host" prop:value=host_v on:input=host_in autocomplete="off"/>
            <FieldNote error=err field="host"/>
        </label>
        <label>"Port"
            <input name="port" inputmode="numeric" prop:value=port_v on:input=port_in/>
            <FieldNote error=err field="port"/>
        </label>
        <label>"Database"
            <input name="database" prop:value=db_v on:input=db_in autocomplete="off"/>
            <FieldNote error=err field="database"/>
        </label>
        <label>"User"
            <input name="user" prop:value=user_v on:input=user_in autocomplete="off"/>
            <FieldNote error=err field="user"/>
        </label>
        <label>"Password"
            <input name="password" type="password" autocomplete="new-password"
                placeholder=if has_password { "stored — leave empty to keep" } else { "" }
                prop:value=pw_v on:input=pw_in/>
            <FieldNote error=err field="password"/>
        </label>
        <label>"SSL mode"
            <select name="ssl_mode" prop:value=ssl_v on:change=ssl_in>
                {SslMode::ALL.iter().map(|m| view! {
                    <option value=m.as_str()>
                        {if *m == SslMode::default() { format!("{} (default)", m.as_str()) } else { m.as_str().to_string() }}
                    </option>
                }).collect_view()}
            </select>
        </label>
    }
}
