//! The editor: name, description, connection, SQL (CodeMirror), parameters, drill-downs.
use super::drill::DrillEditor;
use crate::ui::components::param_spec::{ParamList, SpecEditor};
use crate::{
    api::{
        connections::list_connections,
        insights::{insight_tree, SaveInsight},
    },
    model::{
        connection::ConnectionId,
        insight::{insight_groups, Insight},
        params,
        run::{cache_words, CACHE_CHOICES, DEFAULT_CACHE_MINUTES},
    },
    ui::{components::feedback::ErrorNote, js},
};
use leptos::{html, prelude::*};

/// The editor: name, description, connection, SQL (CodeMirror), parameters, drill-downs.
#[component]
pub fn InsightEditor(
    current: RwSignal<Insight>,
    editing: RwSignal<bool>,
    /// Save (the page's: a save answered after the editor closed still shows the insight).
    save: ServerAction<SaveInsight>,
    /// The columns of the latest result, offered by the drill-down pickers.
    columns: Signal<Vec<String>>,
) -> impl IntoView {
    let start = current.get_untracked();
    let draft = RwSignal::new(start.draft.clone());
    // The error of the last save asked from this editor (none of the saves before it opened).
    let seen = save.version().get_untracked();
    let error = Signal::derive(move || {
        (save.version().get() != seen)
            .then(|| save.value().get().and_then(Result::err))
            .flatten()
    });
    let saving = save.pending();
    let connections = Resource::new(|| (), |_| list_connections());
    // Insights to drill into or take choices from, by folder and name (loaded once).
    let tree = LocalResource::new(|| insight_tree(None, false));
    let insights = Signal::derive(move || {
        tree.get()
            .and_then(Result::ok)
            .map(|t| insight_groups(&t))
            .unwrap_or_default()
    });
    let textarea = NodeRef::<html::Textarea>::new();
    Effect::new(move |_| {
        if let Some(ta) = textarea.get() {
            js::mount_editor(&ta, "sql", move || {});
            // The editor starts from the stored SQL whichever effect ran first.
            js::editor_set(&ta, &draft.with_untracked(|d| d.sql.clone()));
        }
    });
    let read_sql = move || {
        textarea
            .get_untracked()
            .map(|t| t.value())
            .unwrap_or_else(|| draft.with_untracked(|d| d.sql.clone()))
    };
    let detect = move |_| {
        let sql = read_sql();
        draft.update(|d| {
            d.params = params::specs_for_sql(&sql, &d.params);
            d.sql = sql;
        });
    };
    // The page shows the saved insight and closes the editor; an error shows here.
    let on_save = move |_| {
        let mut d = draft.get_untracked();
        d.sql = read_sql();
        let (id, base) = current.with_untracked(|i| (i.id, i.version));
        save.dispatch(SaveInsight {
            id: Some(id),
            base_version: Some(base),
            draft: d,
        });
    };
    // Parameter settings are made again only when the list of names changes, not on every
    // edit of one (which would also reload its "choices from an insight" pickers).
    let param_names = Memo::new(move |_| {
        draft.with(|d| d.params.iter().map(|p| p.name.clone()).collect::<Vec<_>>())
    });
    let field =
        move |f: &'static str| Signal::derive(move || error.get().and_then(|e| e.field_message(f)));
    view! {
        <section class="card editor" data-test="insight-editor">
            <h2>"Edit insight"</h2>
            <ErrorNote error/>
            <div class="form-grid">
                <label>"Name"<input type="text" data-test="edit-name" prop:value=move || draft.with(|d| d.name.clone()) on:input=move |ev| draft.update(|d| d.name = event_target_value(&ev))/></label>
                {move || field("name").get().map(|m| view! { <span class="field-error">{m}</span> })}
                <label>"Description"<textarea rows="2" data-test="edit-description" prop:value=move || draft.with(|d| d.description.clone()) on:input=move |ev| draft.update(|d| d.description = event_target_value(&ev))></textarea></label>
                <label>"Connection"
                    <Suspense fallback=|| view! { <select disabled></select> }>
                        {move || Suspend::new(async move {
                            let list = connections.await.unwrap_or_default();
                            view! {
                                <select data-test="edit-connection" prop:value=move || draft.with(|d| d.connection_id.map(|c| c.0.to_string()).unwrap_or_default())
                                    on:change=move |ev| draft.update(|d| d.connection_id = event_target_value(&ev).parse::<i64>().ok().map(ConnectionId))>
                                    {list.into_iter().map(|c| view! { <option value=c.id.0.to_string()>{c.name}</option> }).collect_view()}
                                </select>
                            }
                        })}
                    </Suspense>
                </label>
                <label>"Reuse results for"
                    <select data-test="edit-cache-minutes" title="A result of the same values computed within this time is shown again instead of reading the database (Run always reads it)"
                        prop:value=move || draft.with(|d| d.cache_minutes.map(|m| m.to_string()).unwrap_or_default())
                        on:change=move |ev| draft.update(|d| d.cache_minutes = event_target_value(&ev).parse().ok())>
                        <option value="">{format!("Default ({})", cache_words(DEFAULT_CACHE_MINUTES))}</option>
                        {CACHE_CHOICES.iter().map(|m| view! { <option value=m.to_string()>{cache_words(*m)}</option> }).collect_view()}
                    </select>
                </label>
                {move || field("cache_minutes").get().map(|m| view! { <span class="field-error">{m}</span> })}
            </div>
            <label class="block">"SQL — use {{name}} for parameters, {{range.start}} / {{range.end}} for date ranges, [[ AND x = {{x}} ]] for optional filters"
                <textarea node_ref=textarea class="mono sql-input" data-test="edit-sql" spellcheck="false" rows="8" prop:value=move || draft.with(|d| d.sql.clone())></textarea>
            </label>
            {move || field("sql").get().map(|m| view! { <span class="field-error" data-test="sql-error">{m}</span> })}
            <h3>"Parameters " <button class="button small" data-test="detect-params" on:click=detect>"Detect from SQL"</button></h3>
            {move || draft.with(|d| d.params.len()).eq(&0).then(|| view! { <p class="muted small">"Write {{name}} in the SQL, then “Detect from SQL”."</p> })}
            {move || (0..param_names.with(Vec::len)).map(|i| view! { <SpecEditor list=ParamList::of_insight(draft) i error insights/> }).collect_view()}
            <h3>"Drill-downs"</h3>
            <DrillEditor draft columns choices=insights self_id=start.id/>
            {move || field("drill").get().map(|m| view! { <span class="field-error">{m}</span> })}
            <div class="actions">
                <button class="button primary" data-test="save-insight" on:click=on_save disabled=move || saving.get()>{move || if saving.get() { "Saving…" } else { "Save" }}</button>
                <button class="button" on:click=move |_| editing.set(false)>"Cancel"</button>
            </div>
        </section>
    }
}
