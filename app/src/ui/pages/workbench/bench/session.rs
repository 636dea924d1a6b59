//! The chosen connection on the server's side: its tables and columns (for the schema panel
//! and autocomplete), and "Reset session".
use super::{
    super::{sql_text::dialect, tabs::Tab},
    Bench,
};
use crate::{
    api::{connections::connection_schema, workbench::reset_session},
    error::AppError,
    model::connection::{ConnectionId, SchemaTable},
    ui::js,
};
use leptos::prelude::*;

/// "Reset session" for a tab and its connection; the answer names the tab it was asked from.
pub(super) type ResetAction = Action<(Tab, ConnectionId), (Tab, Result<(), AppError>)>;

pub(super) fn reset_action() -> ResetAction {
    Action::new(|(t, id): &(Tab, ConnectionId)| {
        let (t, id) = (*t, *id);
        async move { (t, reset_session(id).await) }
    })
}

impl Bench {
    /// The chosen connection's tables and columns, for the schema panel and autocomplete.
    pub(in super::super) fn load_schema(
        self,
    ) -> RwSignal<Option<Result<Vec<SchemaTable>, AppError>>> {
        let schema = RwSignal::new(None);
        let Bench {
            conn_id,
            textarea,
            kind,
            ..
        } = self;
        // Read again for each connection chosen. The answer names its connection: one for a
        // connection that is no longer the chosen one is dropped.
        let tables = LocalResource::new(move || {
            let id = conn_id.get();
            async move {
                match id {
                    Some(id) => Some((id, connection_schema(id).await)),
                    None => None,
                }
            }
        });
        Effect::new(move |_| {
            if conn_id.get().is_some() {
                schema.set(None);
            }
        });
        Effect::new(move |_| {
            let Some(Some((id, answer))) = tables.get() else {
                return;
            };
            if conn_id.get_untracked() != Some(id) {
                return;
            }
            if let Ok(tables) = &answer {
                let map: serde_json::Map<String, serde_json::Value> = tables
                    .iter()
                    .map(|t| (t.name.clone(), serde_json::json!(t.columns)))
                    .collect();
                if let Some(ta) = textarea.get_untracked() {
                    let d = dialect(kind.get_untracked());
                    js::editor_schema(&ta, &serde_json::Value::Object(map).to_string(), d);
                }
            }
            schema.set(Some(answer));
        });
        schema
    }

    /// Closes this connection's database sessions and clears the active tab.
    pub(in super::super) fn reset(self) {
        let Some(id) = self.conn_id.get_untracked() else {
            return;
        };
        self.resets.dispatch((self.cur.get_untracked(), id));
    }

    /// A reset's answer: the tab it was asked from is cleared, or shows why it failed.
    pub(super) fn answer_resets(self) {
        let Bench {
            resets, textarea, ..
        } = self;
        Effect::new(move |_| match resets.value().get() {
            Some((t, Ok(()))) => {
                t.clear_result();
                t.params.set(vec![]);
                t.named.set(vec![]);
                t.sql.set(String::new());
                if let Some(ta) = textarea.get_untracked() {
                    js::editor_load(&ta, "");
                    js::editor_focus(&ta);
                }
            }
            Some((t, Err(e))) => t.ctl.error.set(Some(e)),
            None => {}
        });
    }
}
