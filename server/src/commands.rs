//! The CLI commands other than `serve`.
use crate::{config::StoreArgs, startup::open_store};
use anyhow::{bail, Context, Result};
use app::{
    model::{NewUser, Role},
    server::{settings::Settings, users, AppState, Principal},
};
use leptos::config::LeptosOptions;
use std::io::BufRead;

/// `sightline migrate`
pub async fn migrate(store: &StoreArgs) -> Result<()> {
    let (db, location) = open_store(store).await?;
    println!("metadata store {location:?} ({}) is up to date", db.kind());
    db.close().await;
    Ok(())
}

/// `sightline user create`
pub async fn create_user(
    store: &StoreArgs,
    email: &str,
    role: Role,
    password: String,
) -> Result<()> {
    let state = cli_state(store).await?;
    let user = users::create(
        &state,
        &Principal::operator(),
        NewUser {
            email: email.into(),
            role,
            password,
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("created {} ({})", user.email, user.role);
    state.db.close().await;
    Ok(())
}

/// `sightline user reset-password`
pub async fn reset_password(store: &StoreArgs, email: &str, password: String) -> Result<()> {
    let state = cli_state(store).await?;
    users::reset_password(&state, &Principal::operator(), email, password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("password of {email} changed; its sessions have ended");
    state.db.close().await;
    Ok(())
}

/// Reads one line from standard input: the password, without its line ending.
pub fn read_password_stdin() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let pw = line.strip_suffix('\n').unwrap_or(&line);
    let pw = pw.strip_suffix('\r').unwrap_or(pw).to_string();
    if pw.is_empty() {
        bail!("no password on standard input; e.g. printf '%s\\n' \"$PASSWORD\" | sightline user create …");
    }
    Ok(pw)
}

pub async fn cli_state(store: &StoreArgs) -> Result<AppState> {
    crate::startup::create_private_dir(&store.data_dir)?;
    let keys = crate::secrets::load(&store.data_dir).context("loading keys")?;
    let (db, _) = open_store(store).await?;
    let options = LeptosOptions::builder().output_name("sightline").build();
    let settings = Settings {
        data_dir: store.data_dir.clone(),
        ..Settings::default()
    };
    Ok(AppState::new(options, db, settings, &keys.encryption))
}
