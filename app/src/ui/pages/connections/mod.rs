//! Connections: a grid of data sources with status; editors create, edit, test, activate and
//! delete them. Passwords are write-only: the form never receives the stored one.
//!
//! - this file: the page, the grid and opening a connection for editing
//! - `card`: one connection's card (Test, Edit, Activate / Deactivate, Delete)
//! - `editor`: the form for a new or an existing connection
//! - `allowed_hosts`: the admins' list of private hosts connections may reach
mod allowed_hosts;
mod card;
mod editor;

use crate::{
    api::connections::{list_connections, DeleteConnection, GetConnection, SetConnectionActive},
    error::AppError,
    model::{
        connection::{
            ConnectionConfig, ConnectionEdit, ConnectionForm, ConnectionId, ConnectionSummary,
            SslMode, COLORS,
        },
        Permission, Role,
    },
    ui::{
        components::feedback::{ErrorNote, Loading, Region},
        context::auth::use_role,
    },
};
use allowed_hosts::AllowedHostsPanel;
use card::ConnectionCard;
use editor::ConnectionEditor;
use leptos::prelude::*;
use leptos_meta::Title;

/// The form for a connection opened for editing (the password stays empty: it is write-only).
fn edit_form(c: ConnectionEdit) -> ConnectionForm {
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
    f
}

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
    let changed = Callback::new(move |_: ()| version.update(|v| *v += 1));

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
    // Edit loads the connection's settings, then opens the form with them.
    let load = ServerAction::<GetConnection>::new();
    let open_edit = Callback::new(move |id: ConnectionId| {
        load.dispatch(GetConnection { id });
    });
    Effect::new(move |_| match load.value().get() {
        Some(Ok(c)) => {
            has_password.set(c.has_password);
            editing.set(Some(edit_form(c)));
        }
        Some(Err(e)) => list_error.set(Some(e)),
        None => {}
    });
    // A card's Activate / Deactivate and Delete: the grid reloads after each one done.
    let toggle = ServerAction::<SetConnectionActive>::new();
    let delete = ServerAction::<DeleteConnection>::new();
    Effect::new(move |_| match toggle.value().get() {
        Some(Ok(())) => changed.run(()),
        Some(Err(e)) => list_error.set(Some(e)),
        None => {}
    });
    Effect::new(move |_| match delete.value().get() {
        Some(Ok(())) => changed.run(()),
        Some(Err(e)) => list_error.set(Some(e)),
        None => {}
    });
    let grid = move |items: Vec<ConnectionSummary>| {
        let can_query = role.get_untracked().can(Permission::EditInsights);
        view! { <ConnectionGrid items can_manage=can_manage.get_untracked() can_query on_edit=open_edit toggle delete/> }
    };

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
        <Region label="Allowed hosts">
            <Show when=move || role.get() == Role::Admin>
                <AllowedHostsPanel/>
            </Show>
        </Region>
        <Region label="Connections">
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move { list.await.map(grid) })}
            </Suspense>
        </Region>
    }
}

/// The cards, or a line saying there are none yet.
#[component]
fn ConnectionGrid(
    items: Vec<ConnectionSummary>,
    can_manage: bool,
    can_query: bool,
    on_edit: Callback<ConnectionId>,
    toggle: ServerAction<SetConnectionActive>,
    delete: ServerAction<DeleteConnection>,
) -> impl IntoView {
    if items.is_empty() {
        return view! {
            <p class="empty">"No connections yet. Add one to start querying."</p>
        }
        .into_any();
    }
    view! {
        <div class="conn-grid" data-test="connections">
            {items.into_iter().map(|c| view! {
                <ConnectionCard c can_manage can_query on_edit toggle delete/>
            }).collect_view()}
        </div>
    }
    .into_any()
}
