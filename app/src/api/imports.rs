//! Imports of CSV and Excel files into the built-in Uploads connection, for editors and
//! admins. The file itself is uploaded with `POST /imports` (see the server's routes); these
//! re-read it with other options, start the import and follow it.
use crate::{
    error::AppError,
    model::import::{ImportId, ImportPreview, ImportRequest, ImportStatus, ReadOptions, UploadId},
};
use leptos::prelude::*;
use server_fn::codec::Json;

#[server(endpoint = "preview_import", input = Json)]
pub async fn preview_import(
    upload_id: UploadId,
    options: ReadOptions,
) -> Result<ImportPreview, AppError> {
    use crate::server::{ctx, import};
    let (state, me) = ctx().await?;
    import::preview(&state, &me, upload_id, options).await
}

#[server(endpoint = "start_import", input = Json)]
pub async fn start_import(request: ImportRequest) -> Result<ImportStatus, AppError> {
    use crate::server::{ctx, import};
    let (state, me) = ctx().await?;
    import::start(&state, &me, request).await
}

#[server(endpoint = "get_import", input = Json)]
pub async fn get_import(id: ImportId, wait_ms: u32) -> Result<ImportStatus, AppError> {
    use crate::server::{ctx, import};
    let (state, me) = ctx().await?;
    import::status(&state, &me, &id, wait_ms).await
}
