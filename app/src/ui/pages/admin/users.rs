//! Users admin: list accounts, create them or invite people by a one-time link, change
//! roles, disable and enable, and make password-reset links.
use crate::{
    api::users::{
        list_users, CreateUser, InviteUser, PasswordResetLink, SetUserDisabled, SetUserRole,
    },
    error::AppError,
    model::{user::AccountLink, validate::MIN_PASSWORD_CHARS, Role, User, UserId},
    ui::{
        components::feedback::{ErrorNote, FieldNote, Loading, Region},
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
    // The last link made here (invitation or reset), shown once to pass on.
    let link = RwSignal::new(None::<AccountLink>);
    // Who is signed in is read once: the frame around pages renders them only after the user
    // loaded. Nothing here follows the user reactively: at sign-out the user reloads while
    // this page is being torn down, and a part of the page reacting then would read values
    // that are already gone.
    let auth = use_auth();
    let me = auth.user.get_untracked().and_then(|r| r.ok());
    let is_admin = me.as_ref().is_some_and(|m| m.role == Role::Admin);
    let my_id = me.map(|m| m.id);
    // Not keyed on the user: at sign-out this page is torn down while the user reloads, and
    // a list reloading then would be awaited by a part that is already gone. (A viewer who
    // opens the address gets the server's refusal during server rendering, never shown.)
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

    view! {
        <Title text="Users"/>
        <h1>"Users"</h1>
        <Show when=move || is_admin fallback=|| view! {
            <p class="note" data-test="users-admin-only">"Only admins manage users. Ask an admin to add someone or to change a role."</p>
        }>
        <div class="grid users-grid">
            <AccountsCard users set_role set_disabled link my_id/>
            <section class="card">
                <AddUserForm create/>
                <InviteForm link/>
            </section>
        </div>
        </Show>
    }
}

/// The accounts with their roles and status, the errors of changes made there and the link
/// last made.
#[component]
fn AccountsCard(
    users: Resource<Result<Vec<User>, AppError>>,
    set_role: ServerAction<SetUserRole>,
    set_disabled: ServerAction<SetUserDisabled>,
    link: RwSignal<Option<AccountLink>>,
    my_id: Option<UserId>,
) -> impl IntoView {
    let reset = ServerAction::<PasswordResetLink>::new();
    Effect::new(move |_| {
        if let Some(Ok(l)) = reset.value().get() {
            link.set(Some(l));
        }
    });
    // A reset's error, until the next reset is asked for.
    let resetting = reset.pending();
    let link_error = Signal::derive(move || {
        if resetting.get() {
            None
        } else {
            reset.value().get().and_then(|r| r.err())
        }
    });
    let change_error = Signal::derive(move || {
        set_role
            .value()
            .get()
            .and_then(|r| r.err())
            .or_else(|| set_disabled.value().get().and_then(|r| r.err()))
    });
    let table = move |list: Vec<User>| {
        view! {
            <div class="table-wrap">
            <table class="table" data-test="users-table">
                <thead><tr><th>"Email"</th><th>"Role"</th><th>"Status"</th><th>"Last sign-in (UTC)"</th><th></th></tr></thead>
                <tbody>
                    {list.into_iter().map(|u| {
                        let is_me = my_id == Some(u.id);
                        view! { <UserRow u is_me set_role set_disabled reset/> }
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        }
    };
    view! {
        <section class="card">
            <h2>"Accounts"</h2>
            <ErrorNote error=change_error/>
            <ErrorNote error=link_error/>
            <LinkNote link/>
            <Region label="Accounts">
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move { users.await.map(table) })}
                </Suspense>
            </Region>
        </section>
    }
}

/// Adds an account with an initial password; the form empties itself after each one.
#[component]
fn AddUserForm(create: ServerAction<CreateUser>) -> impl IntoView {
    let create_error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let created = move || create.value().get().and_then(|r| r.ok()).map(|u| u.email);
    let creating = create.pending();
    let form = NodeRef::<html::Form>::new();
    Effect::new(move |_| {
        if created().is_some() {
            if let Some(f) = form.get_untracked() {
                f.reset();
            }
        }
    });
    view! {
        <h2>"Add a user"</h2>
        <p class="muted">"Give them the email and initial password; they can change it under Account."</p>
        <ActionForm action=create node_ref=form>
            <label>"Email"
                <input type="email" name="input[email]" required/>
                <FieldNote error=create_error field="email"/>
            </label>
            <label>"Role"
                <RoleOptions name="input[role]" test=None/>
            </label>
            <label>"Initial password"
                <input type="password" name="input[password]" autocomplete="new-password" required minlength=MIN_PASSWORD_CHARS/>
                <FieldNote error=create_error field="password"/>
            </label>
            <Show when=move || create_error.get().is_some_and(|e| !matches!(e, crate::AppError::Validation(_)))>
                <ErrorNote error=create_error/>
            </Show>
            {move || created().map(|e| view! { <p class="note ok" role="status">{format!("Created {e}.")}</p> })}
            <button type="submit" class="button primary" disabled=move || creating.get()>"Add user"</button>
        </ActionForm>
    }
}

/// Invites someone by a one-time link (shown in the accounts card); the form empties itself
/// after each link it made.
#[component]
fn InviteForm(link: RwSignal<Option<AccountLink>>) -> impl IntoView {
    let invite = ServerAction::<InviteUser>::new();
    let invite_error = Signal::derive(move || invite.value().get().and_then(|r| r.err()));
    let inviting = invite.pending();
    let invite_form = NodeRef::<html::Form>::new();
    Effect::new(move |_| {
        if let Some(Ok(l)) = invite.value().get() {
            link.set(Some(l));
            if let Some(f) = invite_form.get_untracked() {
                f.reset();
            }
        }
    });
    view! {
        <h2 class="spaced">"Invite by link"</h2>
        <p class="muted">"They choose their own password. The link works once, for 7 days; it is emailed too when email is set up (Alerts page)."</p>
        <ActionForm action=invite node_ref=invite_form>
            <label>"Email"
                <input type="email" name="email" required data-test="invite-email"/>
                <FieldNote error=invite_error field="email"/>
            </label>
            <label>"Role"
                <RoleOptions name="role" test=Some("invite-role")/>
            </label>
            <Show when=move || invite_error.get().is_some_and(|e| e.field_message("email").is_none())>
                <ErrorNote error=invite_error/>
            </Show>
            <button type="submit" class="button" data-test="invite" disabled=move || inviting.get()>"Create invitation link"</button>
        </ActionForm>
    }
}

/// The role select of a form, Viewer chosen.
#[component]
fn RoleOptions(name: &'static str, test: Option<&'static str>) -> impl IntoView {
    view! {
        <select name=name data-test=test>
            {Role::ALL.into_iter().map(|r| view! {
                <option value=r.as_str() selected=r == Role::Viewer>{r.label()}</option>
            }).collect_view()}
        </select>
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
    reset: ServerAction<PasswordResetLink>,
) -> impl IntoView {
    let id = u.id;
    let disabled = u.disabled;
    view! {
        <tr class:muted-row=disabled>
            <td>{u.email.clone()}</td>
            <td>
                {is_me.then(|| view! { <span data-test="own-role">{u.role.label()}" (you)"</span> })}
                {(!is_me).then(|| view! {
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
                })}
            </td>
            <td>{if disabled { "Disabled" } else { "Active" }}</td>
            <td>{u.last_login_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "never".into())}</td>
            <td>
                <Show when=move || !is_me>
                    <div class="row-actions">
                        <button class="button small" on:click=move |_| {
                            set_disabled.dispatch(SetUserDisabled { id, disabled: !disabled });
                        }>{if disabled { "Enable" } else { "Disable" }}</button>
                        <button class="button small" data-test="reset-password" on:click=move |_| { reset.dispatch(PasswordResetLink { id }); }>"Reset password…"</button>
                    </div>
                </Show>
            </td>
        </tr>
    }
}
/// The link just made, with a Copy button: shown once (only its hash is stored).
#[component]
fn LinkNote(link: RwSignal<Option<AccountLink>>) -> impl IntoView {
    let copied = RwSignal::new(false);
    move || {
        link.get().map(|l| {
            let what = match l.kind {
                crate::model::user::LinkKind::Invite => format!("Invitation for {}", l.email),
                crate::model::user::LinkKind::Reset => format!("Password reset for {}", l.email),
            };
            let sent = if l.emailed {
                format!("Emailed to {}. You can also pass it on yourself:", l.email)
            } else if let Some(e) = &l.email_error {
                format!("The email did not go out ({e}). Pass the link on yourself:")
            } else {
                "Pass it on yourself (email is not set up):".to_string()
            };
            let url = l.url.clone();
            let copy = move |_| {
                crate::ui::js::copy_text(&url);
                copied.set(true);
            };
            view! {
                <div class="note ok link-note" role="status" data-test="account-link">
                    <p><strong>{what}</strong>{format!(" — works once, until {} UTC. ", l.expires_at.format("%Y-%m-%d %H:%M"))}{sent}</p>
                    <input class="mono" readonly value=l.url.clone() data-test="account-link-url"
                        on:focus=move |ev| { event_target::<web_sys::HtmlInputElement>(&ev).select(); }/>
                    <button type="button" class="button small" on:click=copy>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
                    <button type="button" class="link dismiss" aria-label="Dismiss" on:click=move |_| { link.set(None); copied.set(false); }>"×"</button>
                </div>
            }
        })
    }
}
