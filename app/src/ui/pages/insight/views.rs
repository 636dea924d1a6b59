//! The result as a table or a chart (`view=` in the URL, else the insight's saved default),
//! with the chart's settings for editors: drawn live while edited, saved as a new version.
use super::{
    chart_form::ChartForm,
    page::{with_star, Shown},
};
use crate::{
    api::insights::SaveInsight,
    model::{
        chart::ChartSpec,
        insight::{ViewKind, ViewSpec},
        query::Column,
    },
    ui::components::{chart::ChartPanel, result_grid::ResultPanel},
};
use leptos::prelude::*;

/// The chart as it is being edited.
#[derive(Clone, Copy)]
struct ChartEdit {
    /// The settings form is open.
    open: RwSignal<bool>,
    /// What the form holds.
    form: RwSignal<ChartSpec>,
    /// The unsaved chart drawn live; `None` draws the saved one, or a proposal.
    draft: RwSignal<Option<ChartSpec>>,
    /// What the panel drew last (a proposal when nothing is saved).
    drawn: RwSignal<Option<ChartSpec>>,
    /// "Save chart" (here rather than in the settings, which may close before it answers).
    save: ServerAction<SaveInsight>,
}

#[component]
pub(super) fn ResultViews(p: Shown) -> impl IntoView {
    let Shown {
        current,
        values,
        view_in_url,
        ctl,
        go,
        ..
    } = p;
    let view = Memo::new(move |_| {
        view_in_url
            .get()
            .and_then(|v| ViewKind::parse(&v))
            .unwrap_or_else(|| current.with(|i| i.draft.view.kind))
    });
    let edit = ChartEdit {
        open: RwSignal::new(false),
        form: RwSignal::new(ChartSpec::default()),
        draft: RwSignal::new(None),
        drawn: RwSignal::new(None),
        save: ServerAction::new(),
    };
    // A saved chart is what the insight shows; a failed save says why above the result.
    Effect::new(move |_| match edit.save.value().get() {
        Some(Ok(i)) => {
            current.set(with_star(current, i));
            edit.draft.set(None);
            edit.open.set(false);
        }
        Some(Err(e)) => ctl.error.set(Some(e)),
        None => {}
    });
    Effect::new(move |_| {
        let s = edit.form.get();
        if edit.open.get_untracked() {
            edit.draft.set(Some(s));
        }
    });
    let chart_spec = Signal::derive(move || {
        edit.draft
            .get()
            .or_else(|| current.with(|i| i.draft.view.chart.clone()))
    });
    let show_view = move |v: ViewKind| {
        go.run((
            p.url(&values.get_untracked(), Some(v.as_str().into())),
            true,
        ));
    };
    let toggle_settings = move |_| {
        if !edit.open.get_untracked() {
            let start = chart_spec
                .get_untracked()
                .or_else(|| edit.drawn.get_untracked());
            edit.form.set(start.unwrap_or_default());
        }
        edit.open.update(|e| *e = !*e);
    };
    let link_for = ctl.drill_links(
        Signal::derive(move || current.with(|i| i.draft.drill.clone())),
        Signal::derive(move || values.get()),
    );
    let run = ctl.run;
    view! {
        <div class="view-tabs" role="tablist" data-test="view-tabs">
            <button role="tab" class="tab" type="button" data-test="view-table" aria-selected=move || (view.get() == ViewKind::Table).to_string() on:click=move |_| show_view(ViewKind::Table)>"Table"</button>
            <button role="tab" class="tab" type="button" data-test="view-chart" aria-selected=move || (view.get() == ViewKind::Chart).to_string() on:click=move |_| show_view(ViewKind::Chart)>"Chart"</button>
            <Show when=move || view.get() == ViewKind::Chart && current.with(|i| i.can_edit)>
                <button class="button small" type="button" data-test="edit-chart" on:click=toggle_settings>{move || if edit.open.get() { "Close chart settings" } else { "Chart settings" }}</button>
            </Show>
        </div>
        <Show when=move || view.get() == ViewKind::Chart>
            <div class="chart-layout" class:with-form=move || edit.open.get()>
                <Show when=move || edit.open.get()>
                    <ChartSettings p edit/>
                </Show>
                <ChartPanel run spec=chart_spec drawn=edit.drawn drill=Signal::derive(move || current.with(|i| i.draft.drill.clone())) values name=Signal::derive(move || current.with(|i| i.draft.name.clone()))/>
            </div>
        </Show>
        <div class:hidden=move || view.get() == ViewKind::Chart>
            <ResultPanel ctl link_for/>
        </div>
    }
}

/// The chart's settings beside it, saved as what the insight shows when it opens.
#[component]
fn ChartSettings(p: Shown, edit: ChartEdit) -> impl IntoView {
    let Shown {
        id, current, ctl, ..
    } = p;
    let saving = edit.save.pending();
    let columns: Signal<Vec<Column>> = Signal::derive(move || {
        ctl.run
            .with(|r| r.as_ref().map(|r| r.columns.clone()).unwrap_or_default())
    });
    // Installed chart plugins, read when the settings open.
    let plugins = LocalResource::new(crate::api::plugins::list_plugins);
    let save = move |_| {
        let Some(spec) = edit
            .draft
            .get_untracked()
            .or_else(|| edit.drawn.get_untracked())
        else {
            return;
        };
        let (mut d, version) = current.with_untracked(|i| (i.draft.clone(), i.version));
        d.view = ViewSpec {
            kind: ViewKind::Chart,
            chart: Some(spec),
        };
        edit.save.dispatch(SaveInsight {
            id: Some(id),
            base_version: Some(version),
            draft: d,
        });
    };
    view! {
        <aside class="card chart-settings" data-test="chart-settings">
            <ChartForm spec=edit.form columns plugins=Signal::derive(move || plugins.get().and_then(Result::ok).unwrap_or_default())/>
            <div class="actions">
                <button class="button primary" type="button" data-test="save-chart" disabled=move || saving.get() on:click=save>{move || if saving.get() { "Saving…" } else { "Save chart" }}</button>
                <button class="button" type="button" data-test="discard-chart" on:click=move |_| { edit.draft.set(None); edit.open.set(false); }>"Discard changes"</button>
            </div>
            <p class="muted small">"Saving makes the chart what this insight shows when it opens (a new version)."</p>
        </aside>
    }
}
