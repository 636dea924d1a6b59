//! The preview of an uploaded file: how it is read (sheet, delimiter, header row), its
//! columns' names and types with the first rows, and the table to import into.
use super::OptionsChange;
use crate::{
    error::AppError,
    model::import::{ColumnChoice, ColumnType, FileKind, ImportPreview},
    ui::components::feedback::{thousands, FieldNote},
};
use leptos::prelude::*;

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
pub(super) fn PreviewPanel(
    p: ImportPreview,
    choices: RwSignal<Vec<ColumnChoice>>,
    table: RwSignal<String>,
    replace: RwSignal<bool>,
    reading: Memo<bool>,
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
