//! Connections: list (everyone signed in; details only for editors and admins), edit, test.
use crate::{
    error::AppError,
    model::connection::{
        AllowedHosts, ConnectionEdit, ConnectionForm, ConnectionId, ConnectionSummary, SchemaTable,
        TestOutcome,
    },
};
use leptos::prelude::*;

#[server(endpoint = "list_connections")]
pub async fn list_connections() -> Result<Vec<ConnectionSummary>, AppError> {
    use crate::server::{connections, ctx};
    let (state, me) = ctx().await?;
    connections::list(&state, &me).await
}

#[server(endpoint = "get_connection")]
pub async fn get_connection(id: ConnectionId) -> Result<ConnectionEdit, AppError> {
    use crate::server::{connections, ctx};
    let (state, me) = ctx().await?;
    connections::get(&state, &me, id).await
}

#[server(endpoint = "save_connection")]
pub async fn save_connection(form: ConnectionForm) -> Result<ConnectionId, AppError> {
    use crate::server::{connections, ctx};
    let (state, me) = ctx().await?;
    connections::save(&state, &me, form).await
}

#[server(endpoint = "test_connection")]
pub async fn test_connection(form: ConnectionForm) -> Result<TestOutcome, AppError> {
    use crate::server::{connections, ctx};
    let (state, me) = ctx().await?;
    connections::test(&state, &me, form).await
}

/// A pasted connection string as the form's fields. Parsed on the server: the URL parser
/// (with its IDNA tables) would add 400 KB to the browser bundle.
#[server(endpoint = "parse_connection_url")]
pub async fn parse_connection_url(url: String) -> Result<ConnectionForm, AppError> {
    use crate::server::{connections, ctx};
    let (_, me) = ctx().await?;
    connections::parse_url(&me, &url)
}

/// "Test" on a saved connection's card: a round trip through the connection as it is saved.
#[server(endpoint = "test_saved_connection")]
pub async fn test_saved_connection(id: ConnectionId) -> Result<TestOutcome, AppError> {
    use crate::server::{connections, ctx};
    let (state, me) = ctx().await?;
    connections::test_saved(&state, &me, id).await
}

#[server(endpoint = "set_connection_active")]
pub async fn set_connection_active(id: ConnectionId, active: bool) -> Result<(), AppError> {
    use crate::server::{connections, ctx};
    let (state, me) = ctx().await?;
    connections::set_active(&state, &me, id, active).await
}

#[server(endpoint = "delete_connection")]
pub async fn delete_connection(id: ConnectionId) -> Result<(), AppError> {
    use crate::server::{connections, ctx};
    let (state, me) = ctx().await?;
    connections::delete(&state, &me, id).await
}

#[server(endpoint = "connection_schema")]
pub async fn connection_schema(id: ConnectionId) -> Result<Vec<SchemaTable>, AppError> {
    use crate::server::{connections, ctx};
    let (state, me) = ctx().await?;
    connections::schema(&state, &me, id).await
}

/// Loopback and private hosts connections may reach (admins only).
#[server(endpoint = "get_allowed_hosts")]
pub async fn get_allowed_hosts() -> Result<AllowedHosts, AppError> {
    use crate::server::{connections, ctx};
    let (state, me) = ctx().await?;
    connections::allowed_hosts(&state, &me).await
}

/// Replaces the admins' list of allowed hosts (names, addresses, CIDR ranges).
#[server(endpoint = "save_allowed_hosts")]
pub async fn save_allowed_hosts(hosts: String) -> Result<AllowedHosts, AppError> {
    use crate::server::{connections, ctx};
    let (state, me) = ctx().await?;
    connections::set_allowed_hosts(&state, &me, hosts).await
}
