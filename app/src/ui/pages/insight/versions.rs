//! Versions: who saved what when; compare any version with the current one side by side
//! (changed lines and words marked, parameters as fields); revert (which saves a new version).
use crate::{
    api::insights::{insight_version, insight_versions, RevertInsight},
    error::AppError,
    model::insight::{
        diff_lines, diff_words, param_changes, view_changes, DiffLine, Insight, InsightDraft,
        InsightId, ParamChange, Span, VersionEntry,
    },
    ui::components::feedback::{ErrorNote, Loading},
};
use leptos::prelude::*;

/// Versions: who saved what when; compare any version with the current one side by side;
/// revert (which saves a new version).
#[component]
pub fn VersionsPanel(
    id: InsightId,
    current: RwSignal<Insight>,
    /// Revert (the page's: the page shows the insight it saves, even after this closed).
    revert: ServerAction<RevertInsight>,
) -> impl IntoView {
    let list = Resource::new(
        move || current.with(|i| i.version),
        move |_| insight_versions(id),
    );
    let compare = RwSignal::new(None::<(i64, InsightDraft)>);
    let error = RwSignal::new(None::<AppError>);
    // A version to compare, read with its number (the answer names the version it is).
    let open = Action::new(move |v: &i64| {
        let v = *v;
        async move { (v, insight_version(id, v).await) }
    });
    Effect::new(move |_| match open.value().get() {
        Some((v, Ok(d))) => compare.set(Some((v, d))),
        Some((_, Err(e))) => error.set(Some(e)),
        None => {}
    });
    // The answers to the reverts asked while this panel is open.
    let seen = revert.version().get_untracked();
    Effect::new(move |_| {
        if revert.version().get() == seen {
            return;
        }
        match revert.value().get() {
            Some(Ok(_)) => compare.set(None),
            Some(Err(e)) => error.set(Some(e)),
            None => {}
        }
    });
    let open = Callback::new(move |v: i64| {
        open.dispatch(v);
    });
    let revert = Callback::new(move |v: i64| {
        revert.dispatch(RevertInsight { id, version: v });
    });
    view! {
        <section class="card versions" data-test="versions">
            <h2>"Versions"</h2>
            <ErrorNote error=Signal::derive(move || error.get())/>
            <Suspense fallback=|| view! { <Loading/> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(vs) => view! { <VersionList vs current open revert/> }.into_any(),
                        Err(e) => view! { <p class="note error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            {move || compare.get().map(|(v, old)| {
                let new = current.with(|i| i.draft.clone());
                let sql_same = old.sql == new.sql;
                let params = param_changes(&old.params, &new.params);
                let view = view_changes(&old.view, &new.view);
                view! {
                    <div class="diff" data-test="diff">
                        <h3>{format!("Version {v} (left) and the current version (right)")}</h3>
                        {(old.name != new.name).then(|| view! { <p>{format!("Name: “{}” → “{}”", old.name, new.name)}</p> })}
                        {(old.description != new.description).then(|| view! { <p>"The description changed."</p> })}
                        <h4>"SQL"</h4>
                        {if sql_same {
                            view! { <p class="muted" data-test="sql-unchanged">"The SQL is the same."</p> }.into_any()
                        } else {
                            view! { <DiffView lines=diff_lines(&old.sql, &new.sql)/> }.into_any()
                        }}
                        <h4>"Parameters"</h4>
                        <ParamChanges changes=params/>
                        {(!view.is_empty()).then(|| view! { <h4>"Chart"</h4><ParamChanges changes=view/> })}
                    </div>
                }
            })}
        </section>
    }
}

/// The versions, newest first, each with Compare and (for editors) Revert unless it is the
/// current one.
#[component]
fn VersionList(
    vs: Vec<VersionEntry>,
    current: RwSignal<Insight>,
    open: Callback<i64>,
    revert: Callback<i64>,
) -> impl IntoView {
    let can_edit = move || current.with(|i| i.can_edit);
    view! {
        <ul class="version-list">
            {vs.into_iter().map(|v| {
                let n = v.version;
                let is_current = move || current.with(|i| i.version == n);
                view! {
                    <li data-test="version-item">
                        <strong>{format!("Version {n}")}</strong>
                        <span class="muted small">{format!(" · {} · {} · {}", v.author.clone().unwrap_or_else(|| "someone".into()), v.created_at.format("%Y-%m-%d %H:%M:%S"), v.summary)}</span>
                        <Show when=move || !is_current()>
                            <button class="button small" data-test="compare-version" on:click=move |_| open.run(n)>"Compare"</button>
                            <Show when=can_edit>
                                <button class="button small" data-test="revert-version" on:click=move |_| revert.run(n)>"Revert to this"</button>
                            </Show>
                        </Show>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// Side by side: unchanged lines on both sides, removed lines on the left and added ones on
/// the right; a removed line followed by an added one is shown as one changed row with the
/// changed words marked.
#[component]
fn DiffView(lines: Vec<DiffLine>) -> impl IntoView {
    let mut rows = vec![];
    let mut it = lines.into_iter().peekable();
    while let Some(line) = it.next() {
        let row = match line {
            DiffLine::Same(t) => view! { <div class="dl same">{t.clone()}</div><div class="dl same">{t}</div> }.into_any(),
            DiffLine::Removed(old) => match it.peek() {
                Some(DiffLine::Added(_)) => {
                    let Some(DiffLine::Added(new)) = it.next() else { unreachable!("peeked") };
                    let (l, r) = diff_words(&old, &new);
                    view! {
                        <div class="dl removed" data-test="diff-removed"><Spans spans=l/></div>
                        <div class="dl added" data-test="diff-added"><Spans spans=r/></div>
                    }.into_any()
                }
                _ => view! { <div class="dl removed" data-test="diff-removed">{old}</div><div class="dl empty"></div> }.into_any(),
            },
            DiffLine::Added(t) => view! { <div class="dl empty"></div><div class="dl added" data-test="diff-added">{t}</div> }.into_any(),
        };
        rows.push(row);
    }
    view! { <div class="diff-grid mono">{rows}</div> }
}

#[component]
fn Spans(spans: Vec<Span>) -> impl IntoView {
    spans
        .into_iter()
        .map(|s| {
            if s.changed {
                view! { <mark class="dw">{s.text}</mark> }.into_any()
            } else {
                view! { <span>{s.text}</span> }.into_any()
            }
        })
        .collect_view()
}

/// The parameters' differences as a table of fields.
#[component]
fn ParamChanges(changes: Vec<ParamChange>) -> impl IntoView {
    if changes.is_empty() {
        return view! { <p class="muted" data-test="params-unchanged">"The parameters are the same."</p> }.into_any();
    }
    view! {
        <table class="table param-changes" data-test="param-changes">
            <thead><tr><th>"Parameter"</th><th>"Field"</th><th>"Before"</th><th>"After"</th></tr></thead>
            <tbody>
                {changes.into_iter().map(|c| view! {
                    <tr>
                        <td class="mono">{c.name}</td>
                        <td>{c.field.unwrap_or_else(|| if c.before == "—" { "added".into() } else { "removed".into() })}</td>
                        <td class="mono removed">{c.before}</td>
                        <td class="mono added">{c.after}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }.into_any()
}
