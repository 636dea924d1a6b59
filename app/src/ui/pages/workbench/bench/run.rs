//! Running the active tab: its value forms follow the SQL, Run and Ctrl/Cmd-Enter start its
//! `RunCtl`, and a failed run's error position is marked in the editor.
use super::{
    super::{
        placeholders,
        sql_text::{dialect, guess_kind, named_refs, named_request, utf16_offset},
        tabs::{now_ms, NamedValue, ParamInput},
    },
    Bench,
};
use crate::{
    api::workbench::{run_sql, run_sql_named},
    error::AppError,
    model::{
        connection::ConnectionKind,
        params::ParamKind,
        run::{NamedRunRequest, RunRequest, RunState},
    },
    ui::{components::result_grid::PAGE, js},
};
use leptos::prelude::*;

impl Bench {
    /// How many `$n`/`?` values and which `{{name}}` references the active tab's SQL has; the
    /// tab's value forms follow them (new names get a guessed type, old values stay).
    pub(in super::super) fn track_inputs(self) -> (Memo<usize>, Memo<Vec<(String, bool)>>) {
        let Bench { kind, cur, .. } = self;
        let count = Memo::new(move |_| {
            let marks = kind.get() != ConnectionKind::Postgres;
            cur.get().sql.with(|s| placeholders(s, marks))
        });
        let refs = Memo::new(move |_| cur.get().sql.with(|s| named_refs(s)));
        Effect::new(move |_| {
            let n = count.get();
            cur.get()
                .params
                .update(|p| p.resize(n, ParamInput::default()));
        });
        Effect::new(move |_| {
            let found = refs.get();
            cur.get().named.update(|named| {
                for (name, range) in &found {
                    match named.iter_mut().find(|n| &n.name == name) {
                        Some(n) if *range => n.kind = ParamKind::DateRange,
                        Some(n) if n.kind == ParamKind::DateRange => n.kind = ParamKind::Date,
                        Some(_) => {}
                        None => named.push(NamedValue {
                            name: name.clone(),
                            kind: guess_kind(name, *range),
                            value: String::new(),
                            end: String::new(),
                        }),
                    }
                }
            });
        });
        (count, refs)
    }

    /// Runs the active tab's SQL: with `{{name}}` values compiled on the server, else with
    /// its `$n`/`?` values; the tab's `RunCtl` follows the run.
    pub(in super::super) fn start_run(self) {
        let t = self.cur.get_untracked();
        let Some(connection_id) = self.conn_id.get_untracked() else {
            t.ctl.error.set(Some(AppError::BadRequest(
                "Choose a connection first.".into(),
            )));
            return;
        };
        if t.ctl.running().get_untracked() {
            return;
        }
        let text = self.editor_text();
        t.sql.set(text.clone());
        if let Some(ta) = self.textarea.get_untracked() {
            js::editor_mark_error(&ta, None);
        }
        t.started_at.set(now_ms());
        let named = t.named.get_untracked();
        if !named_refs(&text).is_empty() {
            // Error positions of compiled `{{name}}` SQL do not match the editor's text.
            t.ctl.sql_text.set(String::new());
            let (params, values) = named_request(&text, &named);
            let request = NamedRunRequest {
                connection_id,
                sql: text,
                params,
                values,
                page_size: PAGE as u32,
            };
            t.ctl.start(run_sql_named(request));
        } else {
            let marks = self.kind.get_untracked() != ConnectionKind::Postgres;
            let n = placeholders(&text, marks);
            let params = t
                .params
                .get_untracked()
                .into_iter()
                .take(n)
                .map(|p| (!p.null).then_some(p.value))
                .collect();
            t.ctl.sql_text.set(text.clone());
            let request = RunRequest {
                connection_id,
                sql: text,
                params,
                page_size: PAGE as u32,
            };
            t.ctl.start(run_sql(request));
        }
    }

    /// The editor, mounted once the page is interactive (Ctrl/Cmd-Enter runs), and where the
    /// database says a failed run's error is, marked while the text is the one that ran.
    pub(in super::super) fn mount_editor(self) {
        let Bench {
            textarea,
            kind,
            cur,
            ..
        } = self;
        Effect::new(move |_| {
            if let Some(ta) = textarea.get() {
                js::mount_editor(&ta, dialect(kind.get_untracked()), move || self.start_run());
            }
        });
        Effect::new(move |_| {
            let t = cur.get();
            let at = t.ctl.run.with(|r| {
                r.as_ref()
                    .filter(|r| r.state == RunState::Failed)
                    .and_then(|r| r.error.as_ref())
                    .and_then(|e| e.position)
            });
            let Some(p) = at else { return };
            let sent = t.ctl.sql_text.get_untracked();
            if let Some(ta) = textarea.get_untracked() {
                if !sent.is_empty() && ta.value() == sent {
                    js::editor_mark_error(&ta, Some(utf16_offset(&sent, p)));
                }
            }
        });
    }
}
