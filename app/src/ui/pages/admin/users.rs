//! Users admin: list accounts, create them, change roles, disable and enable.
use crate::{
    api::users::{list_users, CreateUser, SetUserDisabled, SetUserRole},
    model::{validate::MIN_PASSWORD_CHARS, Role, User},
    ui::components::feedback::{ErrorNote, FieldNote, Loading},
};
use leptos::{form::ActionForm, prelude::*};
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

    view! {
        <Title text="Users"/>
        <h1>"Users"</h1>
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
                                        {list.into_iter().map(|u| view! { <UserRow u set_role set_disabled/> }).collect_view()}
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
                <ActionForm action=create>
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
    }
}

#[component]
fn UserRow(
    u: User,
    set_role: ServerAction<SetUserRole>,
    set_disabled: ServerAction<SetUserDisabled>,
) -> impl IntoView {
    let id = u.id;
    let disabled = u.disabled;
    view! {
        <tr class:muted-row=disabled>
            <td>{u.email.clone()}</td>
            <td>
                <select
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
                <button class="button small" on:click=move |_| {
                    set_disabled.dispatch(SetUserDisabled { id, disabled: !disabled });
                }>{if disabled { "Enable" } else { "Disable" }}</button>
            </td>
        </tr>
    }
}
