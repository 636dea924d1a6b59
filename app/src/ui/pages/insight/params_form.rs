//! The parameter form: one input per parameter (values live in the URL), each with its error
//! (checked in the browser at once, and by the server), then Run, Cancel and the result's age.
use super::page::Shown;
use crate::{
    model::run::CacheUse,
    ui::components::{
        feedback::{updated_ago, use_clock},
        param_input::{OptionsFrom, ParamInput},
    },
    ui::url::{insight_url, with_view},
};
use leptos::prelude::*;
use std::collections::HashMap;

#[component]
pub(super) fn ParamForm(
    p: Shown,
    start: Callback<CacheUse>,
    field_errors: Memo<HashMap<String, String>>,
) -> impl IntoView {
    let Shown {
        id,
        specs,
        values,
        view_in_url,
        ctl,
        go,
        ..
    } = p;
    let running = ctl.running();
    let set_value = Callback::new(move |(name, vs): (String, Vec<String>)| {
        let mut v = values.get_untracked();
        let vs: Vec<String> = vs.into_iter().filter(|x| !x.is_empty()).collect();
        if vs.is_empty() {
            v.remove(&name);
        } else {
            v.insert(name, vs);
        }
        go.run((
            with_view(insight_url(id, &v), view_in_url.get_untracked()),
            false,
        ));
    });
    let server_error = move |name: &str| {
        ctl.error.with(|e| {
            e.as_ref()
                .and_then(|e| e.field_message(&format!("p_{name}")))
        })
    };
    let now = use_clock();
    let updated = move || {
        ctl.run
            .with(|r| {
                r.as_ref()
                    .filter(|r| r.state.finished())
                    .and_then(|r| r.computed_at)
            })
            .map(|at| updated_ago(at, now.get()))
    };
    view! {
        <form class="param-form" class:card=move || !specs.with(|s| s.is_empty()) class:bare=move || specs.with(|s| s.is_empty()) data-test="param-form" on:submit=move |ev| { ev.prevent_default(); start.run(CacheUse::Fresh); }>
            {move || specs.get().into_iter().map(|s| {
                let name = s.name.clone();
                let n2 = name.clone();
                view! {
                    <div class="param-field" data-test=format!("param-{}", s.name)>
                        <ParamInput spec=s.clone() from=OptionsFrom::Insight(id) values set_value/>
                        {move || field_errors.with(|e| e.get(&name).cloned()).or_else(|| server_error(&n2)).map(|m| view! { <span class="field-error" data-test="param-error">{m}</span> })}
                    </div>
                }
            }).collect_view()}
            <div class="param-actions">
                <button class="button primary" type="submit" data-test="run-insight" disabled=move || running.get()>"Run"</button>
                <Show when=move || running.get()>
                    <button class="button danger" type="button" data-test="cancel" on:click=move |_| ctl.cancel()>"Cancel"</button>
                </Show>
                <span class="muted small" data-test="updated-ago" title="Results are reused for the insight's cache time; Run reads the database again">{updated}</span>
            </div>
        </form>
    }
}
