//! "Save as insight": the active tab's SQL saved as a new insight, its `{{name}}` parameters
//! with the types chosen here and their values as defaults; then the insight opens to edit.
use super::{bench::Bench, sql_text::named_request, tabs::Tab};
use crate::{
    api::insights::{insight_tree, save_insight},
    model::{
        insight::{folder_paths, FolderId, InsightDraft},
        params::{self, ParamSpec},
    },
};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

#[component]
pub(super) fn SaveInsightForm(b: Bench) -> impl IntoView {
    let navigate = StoredValue::new(use_navigate());
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let folder = RwSignal::new(String::new());
    // The folders to save into, read when the form opens.
    let folders = LocalResource::new(move || async move {
        insight_tree(None, false)
            .await
            .map(|t| folder_paths(&t.folders))
            .unwrap_or_default()
    });
    // The save, with the tab it was asked from (whose error line says why it failed).
    let save = Action::new(|(t, draft): &(Tab, InsightDraft)| {
        let (t, draft) = (*t, draft.clone());
        async move { (t, save_insight(None, None, draft).await) }
    });
    // The new insight opens in its editor.
    Effect::new(move |_| match save.value().get() {
        Some((_, Ok(i))) => {
            let url = format!("/insights/{}?edit=1", i.id.0);
            navigate.with_value(|n| n(&url, Default::default()));
        }
        Some((t, Err(e))) => t.ctl.error.set(Some(e)),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let t = b.cur.get_untracked();
        let text = b.editor_text();
        let (specs, values) = named_request(&text, &t.named.get_untracked());
        let specs: Vec<ParamSpec> = specs
            .into_iter()
            .map(|mut s| {
                let given = values.get(&s.name).cloned().unwrap_or_default();
                s.default = given
                    .into_iter()
                    .filter(|v| !v.trim().is_empty() && v != "~")
                    .collect();
                s
            })
            .collect();
        let draft = InsightDraft {
            name: name.get_untracked(),
            description: description.get_untracked(),
            folder_id: folder.get_untracked().parse::<i64>().ok().map(FolderId),
            connection_id: b.conn_id.get_untracked(),
            params: params::specs_for_sql(&text, &specs),
            sql: text,
            ..Default::default()
        };
        save.dispatch((t, draft));
    };
    view! {
        <form class="card inline-form save-insight" data-test="save-insight-form" on:submit=submit>
            <label>"Name "<input type="text" name="name" required data-test="insight-name-input" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/></label>
            <label>"Description "<input type="text" name="description" prop:value=move || description.get() on:input=move |ev| description.set(event_target_value(&ev))/></label>
            <label>"Folder "
                <select name="folder" data-test="insight-folder-input" prop:value=move || folder.get() on:change=move |ev| folder.set(event_target_value(&ev))>
                    <option value="">"No folder"</option>
                    {move || folders.get().unwrap_or_default().into_iter().map(|(id, path)| view! {
                        <option value=id.0.to_string()>{path}</option>
                    }).collect_view()}
                </select>
            </label>
            <button class="button primary" type="submit" data-test="save-insight-submit">"Save"</button>
            <span class="muted small">"{{name}} parameters keep the types chosen here; their values become the defaults."</span>
        </form>
    }
}
