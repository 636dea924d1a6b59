//! The schema panel: the connection's tables and columns, filtered as you type; a click puts
//! a name at the editor's cursor.
use crate::{error::AppError, model::connection::SchemaTable};
use leptos::prelude::*;
use std::collections::HashSet;

/// The chosen connection's tables and columns; a click puts the name at the cursor.
#[component]
pub(super) fn SchemaPanel(
    schema: RwSignal<Option<Result<Vec<SchemaTable>, AppError>>>,
    insert: Callback<String>,
) -> impl IntoView {
    let filter = RwSignal::new(String::new());
    let open = RwSignal::new(HashSet::<String>::new());
    view! {
        <aside class="wb-schema card" data-test="schema" aria-label="Tables and columns">
            <h2>"Schema"</h2>
            <input type="search" class="wb-schema-filter" placeholder="Find a table or column" aria-label="Find a table or column"
                data-test="schema-filter" prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev))/>
            {move || match schema.get() {
                None => view! { <p class="muted small">"Loading tables…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="field-error small">{format!("The tables could not be read: {e}")}</p> }.into_any(),
                Some(Ok(tables)) if tables.is_empty() => view! { <p class="muted small">"This connection has no tables you can read."</p> }.into_any(),
                Some(Ok(tables)) => {
                    let needle = filter.get().trim().to_lowercase();
                    let shown: Vec<SchemaTable> = tables
                        .into_iter()
                        .filter(|t| needle.is_empty()
                            || t.name.to_lowercase().contains(&needle)
                            || t.columns.iter().any(|c| c.to_lowercase().contains(&needle)))
                        .take(300)
                        .collect();
                    view! {
                        <ul class="wb-schema-list">
                            {shown.into_iter().map(|t| {
                                let name = t.name.clone();
                                let n2 = name.clone();
                                let n3 = name.clone();
                                let expanded = move || !needle_empty(&filter) || open.with(|o| o.contains(&n2));
                                let cols = t.columns.clone();
                                view! {
                                    <li class="wb-schema-table" data-test="schema-table" data-name=name.clone()>
                                        <div class="wb-schema-row">
                                            <button class="wb-schema-toggle" aria-label=format!("Columns of {name}") aria-expanded={let e = expanded.clone(); move || e().to_string()}
                                                on:click=move |_| open.update(|o| if !o.remove(&n3) { o.insert(n3.clone()); })>
                                                {let e = expanded.clone(); move || if e() { "▾" } else { "▸" }}
                                            </button>
                                            <button class="wb-schema-name mono" title="Insert at the cursor" data-test="schema-insert-table"
                                                on:click={let n = name.clone(); move |_| insert.run(n.clone())}>{name.clone()}</button>
                                        </div>
                                        <Show when=expanded.clone()>
                                            <ul class="wb-schema-cols">
                                                {cols.clone().into_iter().map(|c| {
                                                    let c2 = c.clone();
                                                    view! { <li><button class="wb-schema-name mono small" title="Insert at the cursor" data-test="schema-insert-column" on:click=move |_| insert.run(c2.clone())>{c}</button></li> }
                                                }).collect_view()}
                                            </ul>
                                        </Show>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
        </aside>
    }
}

pub(super) fn needle_empty(filter: &RwSignal<String>) -> bool {
    filter.with(|f| f.trim().is_empty())
}
