//! The insight page's head: where it sits (folders), its name, and its actions (favourite,
//! Edit, the panels' toggles, and the downloads with their progress).
use super::{
    export::{export_token, ExportProgress},
    page::Shown,
};
use crate::{api::home::set_favorite, ui::url::query_string};
use leptos::prelude::*;

/// Which of the insight page's panels are open.
#[derive(Clone, Copy)]
pub(super) struct Panels {
    pub(super) editing: RwSignal<bool>,
    pub(super) versions: RwSignal<bool>,
    pub(super) alerts: RwSignal<bool>,
    pub(super) to_dashboard: RwSignal<bool>,
}

fn toggle(s: RwSignal<bool>) {
    s.update(|v| *v = !*v);
}

#[component]
pub(super) fn InsightHead(p: Shown, panels: Panels) -> impl IntoView {
    let Shown { id, current, .. } = p;
    let favorite = move || current.with(|i| i.favorite);
    // The star shows the change at once and goes back if the server refuses it (the answer
    // names the value it was asked for: several clicks may be on the way).
    let set_star = Action::new(move |on: &bool| {
        let on = *on;
        async move { (on, set_favorite(id, on).await) }
    });
    Effect::new(move |_| {
        if let Some((on, Err(e))) = set_star.value().get() {
            current.try_update(|i| i.favorite = !on);
            p.ctl.error.try_set(Some(e));
        }
    });
    let star = move |_| {
        let on = !current.with_untracked(|i| i.favorite);
        current.update(|i| i.favorite = on);
        set_star.dispatch(on);
    };
    let download = RwSignal::new(None::<(String, &'static str)>);
    view! {
        <nav class="breadcrumb" aria-label="Folder" data-test="breadcrumb">
            <a href="/insights">"Insights"</a>
            {move || current.with(|i| i.path.iter().map(|f| view! { <span class="sep">"/"</span><a href=format!("/insights?folder={}", f.id.0)>{f.name.clone()}</a> }).collect_view())}
        </nav>
        <div class="page-head">
            <h1 data-test="insight-name">{move || current.with(|i| i.draft.name.clone())}</h1>
            <div class="actions">
                <button class="button" data-test="favorite" aria-pressed=move || favorite().to_string()
                    title=move || if favorite() { "Remove from your favourites on the home page" } else { "Add to your favourites on the home page" }
                    on:click=star>
                    <span class="star" class:on=favorite aria-hidden="true">{move || if favorite() { "★" } else { "☆" }}</span>
                    {move || if favorite() { " Favourite" } else { " Star" }}
                </button>
                <Show when=move || current.with(|i| i.can_edit)>
                    <button class="button" data-test="edit-insight" on:click=move |_| toggle(panels.editing)>{move || if panels.editing.get() { "Close editor" } else { "Edit" }}</button>
                </Show>
                <button class="button" data-test="versions-toggle" on:click=move |_| toggle(panels.versions)>"Versions"</button>
                <button class="button" data-test="alerts-toggle" on:click=move |_| toggle(panels.alerts)>"Alerts"</button>
                <button class="button" data-test="to-dashboard-toggle" on:click=move |_| toggle(panels.to_dashboard)>"Add to dashboard"</button>
                <ExportLinks p download/>
            </div>
        </div>
        <ExportProgress download/>
    }
}

/// The CSV, Excel and JSON downloads of the result with the values in the URL. A click names
/// the download with a fresh progress token (added to the link as it is followed), so the
/// page can show its progress and offer Cancel; the browser downloads the file itself.
#[component]
fn ExportLinks(p: Shown, download: RwSignal<Option<(String, &'static str)>>) -> impl IntoView {
    let Shown { id, values, .. } = p;
    let export_href = move |ext: &str| {
        let q = query_string(&values.get());
        if q.is_empty() {
            format!("/insights/{}/export.{ext}", id.0)
        } else {
            format!("/insights/{}/export.{ext}?{q}", id.0)
        }
    };
    let follow = move |ev: leptos::ev::MouseEvent, ext: &'static str, label| {
        let token = export_token();
        let link = ev
            .current_target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok());
        if let Some(a) = link {
            let href = export_href(ext);
            let sep = if href.contains('?') { '&' } else { '?' };
            let _ = a.set_attribute("href", &format!("{href}{sep}progress={token}"));
        }
        download.set(Some((token, label)));
    };
    view! {
        <a class="button" data-test="export-csv" href=move || export_href("csv") download on:click=move |ev| follow(ev, "csv", "CSV")>"CSV"</a>
        <a class="button" data-test="export-xlsx" href=move || export_href("xlsx") download on:click=move |ev| follow(ev, "xlsx", "Excel")>"Excel"</a>
        <a class="button" data-test="export-json" href=move || export_href("json") download on:click=move |ev| follow(ev, "json", "JSON")>"JSON"</a>
    }
}
