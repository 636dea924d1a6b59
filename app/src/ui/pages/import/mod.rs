//! Import: upload a CSV or Excel file, check the preview (sheet, delimiter, header row,
//! column names and types), and load it into a new table of the Uploads connection with a
//! progress bar; then open it in the SQL workbench, or read which rows did not fit.
//!
//! - `upload`: the file picked and its upload with progress
//! - `preview`: how the file is read, its columns and first rows, the table to fill
//! - `status`: the import's progress and outcome
mod preview;
mod status;
mod upload;

use crate::{
    api::imports::{get_import, PreviewImport, StartImport},
    error::AppError,
    model::import::{
        ColumnChoice, ImportPreview, ImportRequest, ImportState, ImportStatus, ReadOptions,
    },
    model::Permission,
    ui::{
        components::feedback::{ErrorNote, Region},
        context::auth::use_role,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;
use preview::PreviewPanel;
use status::StatusPanel;
use upload::{chosen_file, send_file};

/// A change to how the file is read (sheet, delimiter, header row).
type OptionsChange = Box<dyn FnOnce(&mut ReadOptions)>;

/// The file types the picker offers.
const ACCEPT: &str = ".csv,.tsv,.txt,.xlsx,.xlsm,.xlsb";

#[component]
pub fn ImportPage() -> impl IntoView {
    let role = use_role();
    view! {
        <Show when=move || role.get().can(Permission::EditInsights) fallback=|| view! {
            <Title text="Import"/>
            <h1>"Import a file"</h1>
            <p class="note" role="status" data-test="import-editors-only">"Importing files is for editors and admins. Ask an admin for the editor role."</p>
        }>
            <Importer/>
        </Show>
    }
}

#[component]
fn Importer() -> impl IntoView {
    let preview = RwSignal::new(None::<ImportPreview>);
    let choices = RwSignal::new(Vec::<ColumnChoice>::new());
    let table = RwSignal::new(String::new());
    let replace = RwSignal::new(false);
    let uploading = RwSignal::new(None::<f64>);
    let status = RwSignal::new(None::<ImportStatus>);
    let error = RwSignal::new(None::<AppError>);

    let show = move |p: ImportPreview, keep_table: bool| {
        choices.set(
            p.columns
                .iter()
                .map(|c| ColumnChoice {
                    name: c.name.clone(),
                    ty: c.inferred,
                })
                .collect(),
        );
        if !keep_table || table.get_untracked().is_empty() {
            table.set(p.suggested_table.clone());
        }
        preview.set(Some(p));
    };
    let on_file = move |ev: leptos::ev::Event| {
        let input = event_target::<web_sys::HtmlInputElement>(&ev);
        preview.set(None);
        status.set(None);
        error.set(None);
        let Some((file, name)) = chosen_file(&input) else {
            return;
        };
        // The same file can be picked again (e.g. after fixing it).
        input.set_value("");
        uploading.set(Some(0.0));
        send_file(
            file,
            &name,
            move |f| uploading.set(Some(f)),
            move |r| {
                uploading.set(None);
                match r {
                    Ok(p) => show(p, false),
                    Err(e) => error.set(Some(e)),
                }
            },
        );
    };
    // Reads the file again with other options (sheet, delimiter, header row).
    let read_again = ServerAction::<PreviewImport>::new();
    let reading = read_again.pending();
    Effect::new(move |_| match read_again.value().get() {
        Some(Ok(p)) => {
            error.set(None);
            show(p, true);
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let reread = move |change: OptionsChange| {
        let Some(p) = preview.get_untracked() else {
            return;
        };
        let mut options = options_of(&p);
        change(&mut options);
        status.set(None);
        read_again.dispatch(PreviewImport {
            upload_id: p.upload_id.clone(),
            options,
        });
    };
    let running = Memo::new(move |_| {
        status.with(|s| s.as_ref().is_some_and(|s| s.state == ImportState::Running))
    });
    // Started: its progress shows until it ends.
    let start_import = ServerAction::<StartImport>::new();
    Effect::new(move |_| match start_import.value().get() {
        Some(Ok(s)) => follow(s, status, preview, error),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(p) = preview.get_untracked() else {
            return;
        };
        let request = ImportRequest {
            upload_id: p.upload_id.clone(),
            table: table.get_untracked().trim().to_string(),
            replace: replace.get_untracked(),
            options: options_of(&p),
            columns: choices.get_untracked(),
        };
        error.set(None);
        status.set(None);
        start_import.dispatch(StartImport { request });
    };

    view! {
        <Title text="Import"/>
        <div class="page-head">
            <h1>"Import a file"</h1>
        </div>
        <p class="muted">
            "Load a CSV file or an Excel workbook into a new table of the "<strong>"Uploads"</strong>
            " connection, then query it in the SQL workbench or use it in insights."
        </p>
        <div class="card import-pick">
            <label>"File"
                <input type="file" accept=ACCEPT data-test="import-file" on:change=on_file
                    disabled=move || uploading.get().is_some() || running.get()/>
            </label>
            {move || uploading.get().map(|f| view! {
                <div class="import-progress" data-test="upload-progress">
                    <progress max="100" value=format!("{:.0}", f * 100.0)></progress>
                    <span class="muted small">{format!("Uploading… {:.0}%", f * 100.0)}</span>
                </div>
            })}
        </div>
        <ErrorNote error=Signal::derive(move || error.get().filter(|e| e.field_message("table").is_none()))/>
        <Region label="The preview">
            {move || preview.get().map(|p| view! {
                <PreviewPanel p choices table replace reading running error reread=Callback::new(move |f| reread(f)) on_submit=Callback::new(start)/>
            })}
        </Region>
        <Region label="The import">
            {move || status.get().map(|s| view! { <StatusPanel s/> })}
        </Region>
    }
}

/// Follows a running import until it ends, showing each step (a polling loop rather than an
/// action: it reports every step, not one answer). Once done, the preview goes: the upload is
/// gone and what is left is the outcome.
fn follow(
    mut current: ImportStatus,
    status: RwSignal<Option<ImportStatus>>,
    preview: RwSignal<Option<ImportPreview>>,
    error: RwSignal<Option<AppError>>,
) {
    status.set(Some(current.clone()));
    leptos::task::spawn_local(async move {
        while current.state == ImportState::Running {
            current = match get_import(current.id.clone(), 700).await {
                Ok(s) => s,
                Err(e) => return error.set(Some(e)),
            };
            status.set(Some(current.clone()));
        }
        if current.state == ImportState::Done {
            preview.set(None);
        }
    });
}

/// The options that read the file as the preview shows it.
fn options_of(p: &ImportPreview) -> ReadOptions {
    ReadOptions {
        sheet: p.sheet.clone(),
        delimiter: p.delimiter,
        header: Some(p.header),
    }
}
