//! Import: upload a CSV or Excel file, check the preview (sheet, delimiter, header row,
//! column names and types), and load it into a new table of the Uploads connection with a
//! progress bar; then open it in the SQL workbench, or read which rows did not fit.
use crate::{
    api::imports::{get_import, preview_import, start_import},
    error::AppError,
    model::import::{
        quote_ident, ColumnChoice, ColumnType, FileKind, ImportPreview, ImportRequest, ImportState,
        ImportStatus, ReadOptions,
    },
    model::Permission,
    ui::{
        components::feedback::{thousands, ErrorNote, FieldNote},
        context::auth::use_role,
    },
};
use leptos::prelude::*;
use leptos_meta::Title;

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
    let reading = RwSignal::new(false);

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
    let reread = move |change: OptionsChange| {
        let Some(p) = preview.get_untracked() else {
            return;
        };
        let mut options = options_of(&p);
        change(&mut options);
        reading.set(true);
        status.set(None);
        leptos::task::spawn_local(async move {
            match preview_import(p.upload_id.clone(), options).await {
                Ok(p) => {
                    error.set(None);
                    show(p, true);
                }
                Err(e) => error.set(Some(e)),
            }
            reading.set(false);
        });
    };
    let running = Memo::new(move |_| {
        status.with(|s| s.as_ref().is_some_and(|s| s.state == ImportState::Running))
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
        leptos::task::spawn_local(async move {
            let mut current = match start_import(request).await {
                Ok(s) => s,
                Err(e) => return error.set(Some(e)),
            };
            status.set(Some(current.clone()));
            while current.state == ImportState::Running {
                current = match get_import(current.id.clone(), 700).await {
                    Ok(s) => s,
                    Err(e) => return error.set(Some(e)),
                };
                status.set(Some(current.clone()));
            }
            // The upload is gone once imported: what is left is the outcome.
            if current.state == ImportState::Done {
                preview.set(None);
            }
        });
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
        {move || preview.get().map(|p| view! {
            <PreviewPanel p choices table replace reading running error reread=Callback::new(move |f| reread(f)) on_submit=Callback::new(start)/>
        })}
        {move || status.get().map(|s| view! { <StatusPanel s/> })}
    }
}

/// The options that read the file as the preview shows it.
fn options_of(p: &ImportPreview) -> ReadOptions {
    ReadOptions {
        sheet: p.sheet.clone(),
        delimiter: p.delimiter,
        header: Some(p.header),
    }
}

fn delimiter_label(d: char) -> &'static str {
    match d {
        ',' => "Comma (,)",
        ';' => "Semicolon (;)",
        '\t' => "Tab",
        '|' => "Pipe (|)",
        _ => "Other",
    }
}

#[component]
fn PreviewPanel(
    p: ImportPreview,
    choices: RwSignal<Vec<ColumnChoice>>,
    table: RwSignal<String>,
    replace: RwSignal<bool>,
    reading: RwSignal<bool>,
    running: Memo<bool>,
    error: RwSignal<Option<AppError>>,
    reread: Callback<OptionsChange>,
    on_submit: Callback<leptos::ev::SubmitEvent>,
) -> impl IntoView {
    let columns = p.columns.clone();
    let sheet = p.sheet.clone().unwrap_or_default();
    let delimiter = p.delimiter.unwrap_or(',');
    let header = p.header;
    let total = p.total_rows;
    let summary = format!(
        "{} · {} · {} data rows{}",
        p.file_name,
        if p.kind == FileKind::Csv {
            "CSV"
        } else {
            "Excel workbook"
        },
        thousands(total),
        if total as usize > p.rows.len() {
            format!(" (first {} shown)", p.rows.len())
        } else {
            String::new()
        }
    );
    view! {
        <section class="card import-preview" data-test="import-preview">
            <p class="import-summary"><strong>{summary}</strong></p>
            <div class="import-options">
                {(p.kind == FileKind::Excel).then(|| {
                    let sheets = p.sheets.clone();
                    view! {
                        <label class="inline">"Sheet "
                            <select data-test="import-sheet" disabled=move || reading.get()
                                on:change=move |ev| { let v = event_target_value(&ev); reread.run(Box::new(move |o| { o.sheet = Some(v); o.header = None; })) }>
                                {sheets.into_iter().map(|s| { let sel = s == sheet; view! { <option value=s.clone() selected=sel>{s.clone()}</option> } }).collect_view()}
                            </select>
                        </label>
                    }
                })}
                {(p.kind == FileKind::Csv).then(|| view! {
                    <label class="inline">"Delimiter "
                        <select data-test="import-delimiter" disabled=move || reading.get()
                            on:change=move |ev| { let v = event_target_value(&ev); reread.run(Box::new(move |o| { o.delimiter = v.chars().next(); o.header = None; })) }>
                            {[',', ';', '\t', '|'].into_iter().map(|d| view! { <option value=d.to_string() selected=d == delimiter>{delimiter_label(d)}</option> }).collect_view()}
                        </select>
                    </label>
                })}
                <label class="check">
                    <input type="checkbox" data-test="import-header" prop:checked=header disabled=move || reading.get()
                        on:change=move |ev| { let on = event_target_checked(&ev); reread.run(Box::new(move |o| o.header = Some(on))) }/>
                    "The first row holds the column names"
                </label>
            </div>
            <div class="table-wrap import-table-wrap">
                <table class="table compact import-table" data-test="import-columns">
                    <thead>
                        <tr>
                            {columns.iter().enumerate().map(|(i, c)| {
                                let inferred = c.inferred;
                                let original = c.header.clone();
                                view! {
                                    <th class="import-col">
                                        <input type="text" class="import-col-name" data-test="column-name" aria-label=format!("Name of column {}", i + 1)
                                            prop:value={move || choices.with(|c| c.get(i).map(|c| c.name.clone()).unwrap_or_default())}
                                            on:input=move |ev| { let v = event_target_value(&ev); choices.update(|c| if let Some(x) = c.get_mut(i) { x.name = v; }) }/>
                                        <select class="import-col-type" data-test="column-type" aria-label=format!("Type of column {}", i + 1)
                                            on:change=move |ev| { let v = event_target_value(&ev); if let Some(t) = ColumnType::parse(&v) { choices.update(|c| if let Some(x) = c.get_mut(i) { x.ty = t; }) } }>
                                            {ColumnType::ALL.into_iter().map(|t| view! {
                                                <option value=t.as_str() selected=move || choices.with(|c| c.get(i).map(|c| c.ty)) == Some(t)>{t.label()}</option>
                                            }).collect_view()}
                                        </select>
                                        <span class="hint" title=original.clone()>{format!("detected: {}", inferred.label().to_lowercase())}</span>
                                    </th>
                                }
                            }).collect_view()}
                        </tr>
                    </thead>
                    <tbody>
                        {p.rows.iter().map(|r| view! {
                            <tr>
                                {r.iter().map(|v| match v {
                                    Some(v) => view! { <td>{v.chars().take(80).collect::<String>()}</td> }.into_any(),
                                    None => view! { <td class="null">"—"</td> }.into_any(),
                                }).collect_view()}
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <form class="import-form" on:submit=move |ev| on_submit.run(ev)>
                <label>"Table name"
                    <input type="text" data-test="import-table" required autocomplete="off"
                        prop:value={move || table.get()} on:input=move |ev| table.set(event_target_value(&ev))/>
                    <span class="hint">"Letters, digits and _; it is created in the Uploads connection."</span>
                    <FieldNote error=Signal::derive(move || error.get()) field="table"/>
                </label>
                <label class="check">
                    <input type="checkbox" data-test="import-replace" prop:checked={move || replace.get()}
                        on:change=move |ev| replace.set(event_target_checked(&ev))/>
                    "Replace the table if it exists"
                </label>
                <button class="button primary" type="submit" data-test="import-start" disabled=move || running.get() || reading.get()>
                    {format!("Import {} rows", thousands(total))}
                </button>
            </form>
        </section>
    }
}

#[component]
fn StatusPanel(s: ImportStatus) -> impl IntoView {
    match s.state {
        ImportState::Running => {
            let pct = if s.rows_total > 0 {
                (s.rows_done as f64 / s.rows_total as f64 * 100.0).min(100.0)
            } else {
                0.0
            };
            view! {
                <section class="card import-status" data-test="import-running" aria-live="polite">
                    <progress max="100" value=format!("{pct:.0}")></progress>
                    <p class="muted">{format!("Importing into {}… {} of {} rows", s.table, thousands(s.rows_done), thousands(s.rows_total))}</p>
                </section>
            }
            .into_any()
        }
        ImportState::Done => {
            let sql = s.sql.clone();
            let href = format!(
                "/workbench?connection={}&sql={}",
                s.connection_id,
                crate::ui::components::layout::urlencode(&sql)
            );
            view! {
                <section class="card import-status" data-test="import-done">
                    <p class="note ok">{format!("Imported {} rows into the table {} of Uploads in {:.1} s.", thousands(s.rows_done), quote_ident(&s.table), s.elapsed_ms as f64 / 1000.0)}</p>
                    <p class="actions">
                        <a class="button primary" href=href data-test="open-workbench">"Open the SQL workbench on Uploads"</a>
                        <code class="mono">{sql.clone()}</code>
                        <button class="button small" type="button" on:click=move |_| crate::ui::js::copy_text(&sql)>"Copy SQL"</button>
                    </p>
                </section>
            }
            .into_any()
        }
        ImportState::Failed => {
            let more = s.error_count.saturating_sub(s.errors.len() as u64);
            view! {
                <section class="card import-status" data-test="import-failed">
                    <p class="note error" role="alert">{s.message.clone().unwrap_or_else(|| "The import failed; nothing was imported.".into())}</p>
                    {(!s.errors.is_empty()).then(|| view! {
                        <div class="table-wrap">
                            <table class="table compact import-errors" data-test="import-errors">
                                <thead><tr><th>"Row"</th><th>"Column"</th><th>"Value"</th><th>"Problem"</th></tr></thead>
                                <tbody>
                                    {s.errors.iter().map(|e| view! {
                                        <tr><td>{e.row}</td><td>{e.column.clone()}</td><td class="mono">{e.value.clone()}</td><td>{e.reason.clone()}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    })}
                    {(more > 0).then(|| view! { <p class="muted">{format!("… and {} more.", thousands(more))}</p> })}
                    <p class="muted small">"Change the column types above (Text accepts anything), or fix the file and upload it again."</p>
                </section>
            }
            .into_any()
        }
    }
}

/// The picked file and its name.
#[cfg(feature = "hydrate")]
fn chosen_file(input: &web_sys::HtmlInputElement) -> Option<(wasm_bindgen::JsValue, String)> {
    let files = js_sys::Reflect::get(input, &"files".into()).ok()?;
    let file = js_sys::Reflect::get(&files, &0u32.into()).ok()?;
    if file.is_undefined() || file.is_null() {
        return None;
    }
    let name = js_sys::Reflect::get(&file, &"name".into())
        .ok()?
        .as_string()?;
    Some((file, name))
}

#[cfg(not(feature = "hydrate"))]
fn chosen_file(_: &web_sys::HtmlInputElement) -> Option<(wasm_bindgen::JsValue, String)> {
    None
}

/// Uploads a file to `POST /imports` with XMLHttpRequest, which reports upload progress.
#[cfg(feature = "hydrate")]
fn send_file(
    file: wasm_bindgen::JsValue,
    name: &str,
    progress: impl Fn(f64) + 'static,
    done: impl FnOnce(Result<ImportPreview, AppError>) + 'static,
) {
    use js_sys::{Array, Function, Reflect};
    use std::{cell::RefCell, rc::Rc};
    use wasm_bindgen::{closure::Closure, JsCast, JsValue};

    fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Option<JsValue> {
        let f: Function = Reflect::get(target, &method.into()).ok()?.dyn_into().ok()?;
        f.apply(target, &args.iter().collect::<Array>()).ok()
    }
    let number =
        |v: &JsValue, key: &str| Reflect::get(v, &key.into()).ok().and_then(|x| x.as_f64());

    let xhr = web_sys::window()
        .and_then(|w| Reflect::get(&w, &"XMLHttpRequest".into()).ok())
        .and_then(|c| c.dyn_into::<Function>().ok())
        .and_then(|c| Reflect::construct(&c, &Array::new()).ok());
    let Some(xhr) = xhr else {
        return done(Err(AppError::Transport(
            "this browser cannot upload files".into(),
        )));
    };
    let url = format!(
        "/imports?name={}",
        crate::ui::components::layout::urlencode(name)
    );
    call(&xhr, "open", &["POST".into(), url.into()]);

    let on_progress = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        if let (Some(loaded), Some(total)) = (number(&ev, "loaded"), number(&ev, "total")) {
            if total > 0.0 {
                progress(loaded / total);
            }
        }
    });
    if let Ok(upload) = Reflect::get(&xhr, &"upload".into()) {
        let _ = Reflect::set(&upload, &"onprogress".into(), on_progress.as_ref());
    }
    on_progress.forget();

    // Called once, by whichever of load, error or abort comes first.
    type Done = Box<dyn FnOnce(Result<ImportPreview, AppError>)>;
    let done: Rc<RefCell<Option<Done>>> = Rc::new(RefCell::new(Some(Box::new(done))));
    let finish = {
        let (xhr, done) = (xhr.clone(), done.clone());
        Closure::<dyn FnMut()>::new(move || {
            let Some(done) = done.borrow_mut().take() else {
                return;
            };
            let status = number(&xhr, "status").unwrap_or(0.0) as u16;
            let text = Reflect::get(&xhr, &"responseText".into())
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default();
            done(match status {
                200 => serde_json::from_str(&text).map_err(|e| AppError::Transport(e.to_string())),
                0 => Err(AppError::Transport(
                    "the upload was cut off (the file may be larger than the server accepts)"
                        .into(),
                )),
                _ => Err(serde_json::from_str::<AppError>(&text).unwrap_or_else(|_| {
                    AppError::Transport(format!("the server answered {status}"))
                })),
            });
        })
    };
    for event in ["onload", "onerror", "onabort"] {
        let _ = Reflect::set(&xhr, &event.into(), finish.as_ref());
    }
    finish.forget();
    call(&xhr, "send", &[file]);
}

#[cfg(not(feature = "hydrate"))]
fn send_file(
    _: wasm_bindgen::JsValue,
    _: &str,
    _: impl Fn(f64) + 'static,
    _: impl FnOnce(Result<ImportPreview, AppError>) + 'static,
) {
}
