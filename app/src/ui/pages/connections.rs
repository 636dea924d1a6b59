//! Connections: a grid of data sources with status; editors create, edit, test, activate and
//! delete them. Passwords are write-only: the form never receives the stored one.
use crate::{
    api::connections::{
        delete_connection, get_allowed_hosts, get_connection, list_connections,
        parse_connection_url, save_allowed_hosts, save_connection, set_connection_active,
        test_connection, test_saved_connection,
    },
    error::AppError,
    model::{
        connection::{
            ConnectionConfig, ConnectionForm, ConnectionId, ConnectionKind, ConnectionSummary,
            SslMode, TestOutcome, COLORS,
        },
        Permission, Role,
    },
    ui::{
        components::feedback::{ErrorNote, FieldNote, Loading},
        context::auth::use_role,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let role = use_role();
    let can_manage = Signal::derive(move || role.get().can(Permission::ManageConnections));
    let version = RwSignal::new(0u32);
    let list = Resource::new(move || version.get(), |_| list_connections());
    // The form: `None` hidden, `Some(form)` open (new or editing).
    let editing = RwSignal::new(None::<ConnectionForm>);
    let has_password = RwSignal::new(false);
    let list_error = RwSignal::new(None::<AppError>);

    let open_new = move |_| {
        has_password.set(false);
        editing.set(Some(ConnectionForm {
            kind: "postgres".into(),
            color: COLORS[1].into(),
            port: "5432".into(),
            ssl_mode: SslMode::default().as_str().into(),
            ..Default::default()
        }));
    };
    let open_edit = Callback::new(move |id: ConnectionId| {
        leptos::task::spawn_local(async move {
            match get_connection(id).await {
                Ok(c) => {
                    has_password.set(c.has_password);
                    let mut f = ConnectionForm {
                        id: Some(c.id),
                        name: c.name,
                        color: c.color,
                        kind: c.config.kind().as_str().into(),
                        writable: c.writable,
                        ..Default::default()
                    };
                    match c.config {
                        ConnectionConfig::Postgres(n) | ConnectionConfig::Mysql(n) => {
                            f.host = n.host;
                            f.port = n.port.to_string();
                            f.database = n.database;
                            f.user = n.user;
                            f.ssl_mode = n.ssl_mode.as_str().into();
                        }
                        ConnectionConfig::Sqlite { path } => f.path = path,
                    }
                    editing.set(Some(f));
                }
                Err(e) => list_error.set(Some(e)),
            }
        });
    });
    let changed = Callback::new(move |_: ()| version.update(|v| *v += 1));

    view! {
        <Title text="Connections"/>
        <div class="page-head">
            <h1>"Connections"</h1>
            <Show when=move || can_manage.get()>
                <button class="button primary" data-test="new-connection" on:click=open_new>"New connection"</button>
            </Show>
        </div>
        <p class="muted">"Databases Sightline can query. Every query runs read-only unless an admin marked the connection writable."</p>
        <ErrorNote error=list_error/>
        {move || editing.get().map(|form| view! {
            <ConnectionEditor form has_password=has_password.get_untracked() is_admin=role.get_untracked() == Role::Admin
                on_close=Callback::new(move |saved: bool| { editing.set(None); if saved { changed.run(()) } })/>
        })}
        <Show when=move || role.get() == Role::Admin>
            <AllowedHostsPanel/>
        </Show>
        <Suspense fallback=|| view! { <Loading/> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(items) if items.is_empty() => view! {
                        <p class="empty">"No connections yet. Add one to start querying."</p>
                    }.into_any(),
                    Ok(items) => view! {
                        <div class="conn-grid" data-test="connections">
                            {items.into_iter().map(|c| view! {
                                <ConnectionCard c can_manage=can_manage.get_untracked() can_query=role.get_untracked().can(Permission::EditInsights) on_edit=open_edit on_changed=changed on_error=Callback::new(move |e| list_error.set(Some(e)))/>
                            }).collect_view()}
                        </div>
                    }.into_any(),
                    Err(e) => view! { <p class="note error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn ConnectionCard(
    c: ConnectionSummary,
    can_manage: bool,
    /// Viewers run saved insights only: no Query button that leads to a refusal.
    can_query: bool,
    on_edit: Callback<ConnectionId>,
    on_changed: Callback<()>,
    on_error: Callback<AppError>,
) -> impl IntoView {
    let id = c.id;
    let active = c.active;
    let confirm = RwSignal::new(false);
    let name = c.name.clone();
    let toggle = move |_| {
        leptos::task::spawn_local(async move {
            match set_connection_active(id, !active).await {
                Ok(()) => on_changed.run(()),
                Err(e) => on_error.run(e),
            }
        });
    };
    // Test: `None` not tested, `Some(Ok)` what the server said, `Some(Err)` why it failed.
    let tested = RwSignal::new(None::<Result<TestOutcome, AppError>>);
    let testing = RwSignal::new(false);
    let test = move |_| {
        testing.set(true);
        tested.set(None);
        leptos::task::spawn_local(async move {
            tested.set(Some(test_saved_connection(id).await));
            testing.set(false);
        });
    };
    let remove = move |_| {
        leptos::task::spawn_local(async move {
            match delete_connection(id).await {
                Ok(()) => on_changed.run(()),
                Err(e) => on_error.run(e),
            }
        });
    };
    view! {
        <article class=format!("conn-card color-{}", c.color) class:inactive=!active data-test="connection-card" data-name=c.name.clone()>
            <header>
                <h2>{c.name.clone()}</h2>
                <span class="badge">{c.kind.label()}</span>
            </header>
            {c.target.clone().map(|t| view! { <p class="conn-target mono">{t}</p> })}
            <p class="conn-flags">
                <span class=if active { "status ok" } else { "status off" }>{if active { "Active" } else { "Inactive" }}</span>
                {c.writable.then(|| view! { <span class="status warn">"Writable"</span> })}
                {c.demo.then(|| view! { <span class="status">"Demo data"</span> })}
            </p>
            <div class="conn-actions">
                {can_query.then(|| view! { <a class="button small" href=format!("/workbench?connection={id}")>"Query"</a> })}
                <Show when=move || can_manage>
                    <button class="button small" data-test="card-test" on:click=test disabled=move || testing.get()>
                        {move || if testing.get() { "Testing…" } else { "Test" }}
                    </button>
                    <button class="button small" on:click=move |_| on_edit.run(id)>"Edit"</button>
                    <button class="button small" on:click=toggle>{if active { "Deactivate" } else { "Activate" }}</button>
                    <Show when=move || !confirm.get() fallback={
                        let name = name.clone();
                        move || view! {
                            <span class="confirm" role="group">
                                {format!("Delete “{name}”? ")}
                                <button class="button small danger" data-test="confirm-delete" on:click=remove>"Delete"</button>
                                <button class="button small" on:click=move |_| confirm.set(false)>"Keep"</button>
                            </span>
                        }
                    }>
                        <button class="button small" on:click=move |_| confirm.set(true)>"Delete…"</button>
                    </Show>
                </Show>
            </div>
            {move || tested.get().map(|r| match r {
                Ok(t) => view! {
                    <p class="note ok" role="status" data-test="card-test-ok">{format!("Connected in {} ms: {}", t.elapsed_ms, t.version)}</p>
                    {t.warning.map(|w| view! { <p class="note warn" role="status">{w}</p> })}
                }.into_any(),
                Err(e) => view! { <p class="note error" role="alert" data-test="card-test-error">{e.to_string()}</p> }.into_any(),
            })}
        </article>
    }
}

#[component]
fn ConnectionEditor(
    form: ConnectionForm,
    has_password: bool,
    is_admin: bool,
    on_close: Callback<bool>,
) -> impl IntoView {
    let is_new = form.id.is_none();
    let f = RwSignal::new(form);
    let error = RwSignal::new(None::<AppError>);
    let tested = RwSignal::new(None::<TestOutcome>);
    let busy = RwSignal::new(false);
    let kind = Signal::derive(move || {
        f.with(|f| ConnectionKind::parse(&f.kind).unwrap_or(ConnectionKind::Postgres))
    });
    let err = Signal::derive(move || error.get());

    let test = move |_| {
        busy.set(true);
        tested.set(None);
        error.set(None);
        let form = f.get_untracked();
        leptos::task::spawn_local(async move {
            match test_connection(form).await {
                Ok(t) => tested.set(Some(t)),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        let form = f.get_untracked();
        leptos::task::spawn_local(async move {
            match save_connection(form).await {
                Ok(_) => on_close.run(true),
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    macro_rules! field {
        ($name:ident) => {
            (
                move || f.with(|f| f.$name.clone()),
                move |ev| f.update(|f| f.$name = event_target_value(&ev)),
            )
        };
    }
    let (name_v, name_in) = field!(name);
    let url_v = move || f.with(|f| f.url.clone());
    // A connection string fills the fields as soon as it is pasted (or when the field is
    // left after typing one); one that does not parse stays, with the reason under it.
    let filled = RwSignal::new(false);
    let fill = move |raw: String| {
        filled.set(false);
        if raw.trim().is_empty() {
            f.update(|f| f.url.clear());
            return;
        }
        f.update(|f| f.url = raw.clone());
        leptos::task::spawn_local(async move {
            match parse_connection_url(raw).await {
                Ok(parsed) => {
                    f.update(|f| f.take_connection(parsed));
                    error.set(None);
                    filled.set(true);
                }
                Err(e) => error.set(Some(e)),
            }
        });
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
    let (host_v, host_in) = field!(host);
    let (port_v, port_in) = field!(port);
    let (db_v, db_in) = field!(database);
    let (user_v, user_in) = field!(user);
    let (pw_v, pw_in) = field!(password);
    let (path_v, path_in) = field!(path);
    let (ssl_v, ssl_in) = field!(ssl_mode);
    let (color_v, color_in) = field!(color);

    view! {
        <section class="card conn-editor" data-test="connection-editor">
            <h2>{if is_new { "New connection" } else { "Edit connection" }}</h2>
            <form on:submit=save>
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
                    <label>"Kind"
                        <select name="kind" prop:value=move || f.with(|f| f.kind.clone()) on:change=move |ev| {
                            let k = event_target_value(&ev);
                            f.update(|f| {
                                if let Some(kind) = ConnectionKind::parse(&k) {
                                    if kind != ConnectionKind::Sqlite && (f.port.is_empty() || f.port == "5432" || f.port == "3306") {
                                        f.port = kind.default_port().to_string();
                                    }
                                }
                                f.kind = k;
                            })
                        }>
                            {ConnectionKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.label()}</option> }).collect_view()}
                        </select>
                        <FieldNote error=err field="kind"/>
                    </label>
                    <label class="span-all">"Connection string (optional; fills the fields below)"
                        <input name="url" class="mono" placeholder="postgres://user:password@host:5432/database?sslmode=prefer" prop:value=url_v on:input=url_in on:change=url_change autocomplete="off"/>
                        <FieldNote error=err field="url"/>
                        <Show when=move || filled.get()>
                            <span class="hint" role="status" data-test="url-filled">"Filled in the fields below from the connection string."</span>
                        </Show>
                    </label>
                    <Show when=move || kind.get() != ConnectionKind::Sqlite fallback=move || view! {
                        <label class="span-all">"SQLite file (absolute path, inside the allowed directory)"
                            <input name="path" class="mono" prop:value=path_v on:input=path_in/>
                            <FieldNote error=err field="path"/>
                        </label>
                    }>
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
                {move || error.get().filter(|e| !matches!(e, AppError::Validation(v) if v.iter().all(|f| ["name","url","host","port","database","user","password","path","kind","writable"].contains(&f.field.as_str())))).map(|e| view! {
                    <p class="note error" role="alert" data-test="connection-error">{e.to_string()}</p>
                })}
                {move || tested.get().map(|t| view! {
                    <p class="note ok" role="status" data-test="test-ok">{format!("Connected in {} ms: {}", t.elapsed_ms, t.version)}</p>
                    {t.warning.map(|w| view! { <p class="note warn" role="status" data-test="test-warning">{w}</p> })}
                })}
                <div class="actions">
                    <button type="button" class="button" data-test="test-connection" on:click=test disabled=move || busy.get()>"Test"</button>
                    <button type="submit" class="button primary" data-test="save-connection" disabled=move || busy.get()>"Save"</button>
                    <button type="button" class="button link-button" on:click=move |_| on_close.run(false)>"Cancel"</button>
                </div>
            </form>
        </section>
    }
}

/// Admins: the loopback and private hosts connections may reach (everything else private is
/// refused; link-local and cloud-metadata addresses always are).
#[component]
fn AllowedHostsPanel() -> impl IntoView {
    let text = RwSignal::new(String::new());
    let configured = RwSignal::new(Vec::<String>::new());
    let error = RwSignal::new(None::<AppError>);
    let saved = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let show = |list: Vec<String>| list.join("\n");
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            match get_allowed_hosts().await {
                Ok(h) => {
                    text.set(show(h.entries));
                    configured.set(h.configured);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    });
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        saved.set(false);
        error.set(None);
        let hosts = text.get_untracked();
        leptos::task::spawn_local(async move {
            match save_allowed_hosts(hosts).await {
                Ok(h) => {
                    text.set(show(h.entries));
                    saved.set(true);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let err = Signal::derive(move || error.get());
    view! {
        <details class="card allowed-hosts" data-test="allowed-hosts">
            <summary>"Allowed hosts (admins)"</summary>
            <p class="muted">"Connections may reach public hosts. Loopback and private addresses (127.0.0.0/8, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 100.64.0.0/10, fc00::/7, ::1) are refused unless listed here: one host name, address or CIDR range (e.g. 10.1.0.0/16) per line. Link-local and cloud-metadata addresses are always refused."</p>
            <Show when=move || !configured.get().is_empty()>
                <p class="muted" data-test="allowed-hosts-configured">"Also allowed by the server's configuration: " {move || configured.get().join(", ")}</p>
            </Show>
            <form on:submit=save>
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
