//! Users admin: list accounts, create them, change roles, disable and enable.
use crate::{
    api::users::{list_users, CreateUser, SetUserDisabled, SetUserRole},
    model::{validate::MIN_PASSWORD_CHARS, Role, User},
    ui::{
        components::feedback::{ErrorNote, FieldNote, Loading},
        context::auth::use_auth,
    },
};
use leptos::{form::ActionForm, html, prelude::*};
use leptos_meta::Title;

#[component]
pub fn UsersPage() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let set_role = ServerAction::<SetUserRole>::new();
    let set_disabled = ServerAction::<SetUserDisabled>::new();
    let users = Resource::new(
        move || {
            (
                create.version().get(),
                set_role.version().get(),
                set_disabled.version().get(),
            )
        },
        |_| list_users(),
    );
    let create_error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let change_error = Signal::derive(move || {
        set_role
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| set_disabled.value().get().and_then(|r| r.err()))
    });
    let created = move || create.value().get().and_then(|r| r.ok()).map(|u| u.email);
    // The add form empties itself after each account it created.
    let form = NodeRef::<html::Form>::new();
    Effect::new(move |_| {
        if created().is_some() {
            if let Some(f) = form.get_untracked() {
                f.reset();
            }
        }
    });
    let auth = use_auth();
    let me = Signal::derive(move || auth.user.get().and_then(|r| r.ok()));
    let is_admin = move || me.get().is_some_and(|m| m.role == Role::Admin);

    view! {
        <Title text="Users"/>
        <h1>"Users"</h1>
        <Show when=is_admin fallback=|| view! {
            <p class="note" data-test="users-admin-only">"Only admins manage users. Ask an admin to add someone or to change a role."</p>
        }>
        <div class="grid users-grid">
            <section class="card">
                <h2>"Accounts"</h2>
                <ErrorNote error=change_error/>
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        match users.await {
                            Ok(list) => view! {
                                <div class="table-wrap">
                                <table class="table" data-test="users-table">
                                    <thead><tr><th>"Email"</th><th>"Role"</th><th>"Status"</th><th>"Last sign-in (UTC)"</th><th></th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|u| {
                                            let is_me = me.get_untracked().is_some_and(|m| m.id == u.id);
                                            view! { <UserRow u is_me set_role set_disabled/> }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                </div>
                            }.into_any(),
                            Err(e) => view! { <p class="note error" role="alert">{e.to_string()}</p> }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
            <section class="card">
                <h2>"Add a user"</h2>
                <p class="muted">"Give them the email and initial password; they can change it under Account."</p>
                <ActionForm action=create node_ref=form>
                    <label>"Email"
                        <input type="email" name="input[email]" required/>
                        <FieldNote error=create_error field="email"/>
                    </label>
                    <label>"Role"
                        <select name="input[role]">
                            {Role::ALL.into_iter().map(|r| view! {
                                <option value=r.as_str() selected=r == Role::Viewer>{r.label()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <label>"Initial password"
                        <input type="password" name="input[password]" autocomplete="new-password" required minlength=MIN_PASSWORD_CHARS/>
                        <FieldNote error=create_error field="password"/>
                    </label>
                    <Show when=move || create_error.get().is_some_and(|e| !matches!(e, crate::AppError::Validation(_)))>
                        <ErrorNote error=create_error/>
                    </Show>
                    {move || created().map(|e| view! { <p class="note ok" role="status">{format!("Created {e}.")}</p> })}
                    <button type="submit" class="button primary" disabled=move || create.pending().get()>"Add user"</button>
                </ActionForm>
            </section>
        </div>
        </Show>
    }
}

/// One account. Your own row shows your role and no disable button: an admin cannot lock
/// themselves out (the server refuses it too, and keeps the last admin).
#[component]
fn UserRow(
    u: User,
    is_me: bool,
    set_role: ServerAction<SetUserRole>,
    set_disabled: ServerAction<SetUserDisabled>,
) -> impl IntoView {
    let id = u.id;
    let disabled = u.disabled;
    view! {
        <tr class:muted-row=disabled>
            <td>{u.email.clone()}</td>
            <td>
                {is_me.then(|| view! { <span data-test="own-role">{u.role.label()}" (you)"</span> })}
                <select
                    hidden=is_me
                    aria-label=format!("Role of {}", u.email)
                    on:change=move |ev| {
                        if let Ok(role) = event_target_value(&ev).parse::<Role>() {
                            set_role.dispatch(SetUserRole { id, role });
                        }
                    }
                >
                    {Role::ALL.into_iter().map(|r| view! {
                        <option value=r.as_str() selected=r == u.role>{r.label()}</option>
                    }).collect_view()}
                </select>
            </td>
            <td>{if disabled { "Disabled" } else { "Active" }}</td>
            <td>{u.last_login_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "never".into())}</td>
            <td>
                <Show when=move || !is_me>
                    <button class="button small" on:click=move |_| {
                        set_disabled.dispatch(SetUserDisabled { id, disabled: !disabled });
                    }>{if disabled { "Enable" } else { "Disable" }}</button>
                </Show>
            </td>
        </tr>
    }
}
