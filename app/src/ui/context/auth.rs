//! `AuthContext`: the signed-in user and the sign-in/sign-out actions.
use crate::{
    api::auth::{current_user, Login, Logout},
    error::AppError,
    model::Me,
};
use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct AuthContext {
    pub user: Resource<Result<Me, AppError>>,
    pub login: ServerAction<Login>,
    pub logout: ServerAction<Logout>,
}

/// Provides the auth context; the user reloads after every sign-in and sign-out.
pub fn provide_auth() {
    let login = ServerAction::<Login>::new();
    let logout = ServerAction::<Logout>::new();
    let user = Resource::new(
        move || (login.version().get(), logout.version().get()),
        |_| current_user(),
    );
    provide_context(AuthContext {
        user,
        login,
        logout,
    });
}

pub fn use_auth() -> AuthContext {
    expect_context::<AuthContext>()
}

/// The signed-in user's role (Viewer until known). For hiding controls only: the server
/// checks every call.
pub fn use_role() -> Signal<crate::model::Role> {
    let auth = use_auth();
    Signal::derive(move || {
        auth.user
            .get()
            .and_then(|r| r.ok())
            .map(|m| m.role)
            .unwrap_or(crate::model::Role::Viewer)
    })
}
