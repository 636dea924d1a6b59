//! The tabs' drafts kept in the browser's storage, per user and connection.
use super::{
    super::tabs::{storage_key, SavedTab, SavedTabs, Tab, MAX_TABS},
    Bench,
};
use crate::{model::connection::ConnectionId, ui::js};
use leptos::prelude::*;

impl Bench {
    /// The chosen connection's drafts are loaded from the browser's storage (in the browser:
    /// effects do not run on the server), and every edit of a tab's SQL or values, every tab
    /// opened or closed, is kept there.
    pub(in super::super) fn keep_drafts(self) {
        Effect::new(move |_| {
            let Some(id) = self.conn_id.get() else { return };
            if self.loaded_for.get_untracked() != Some(id) {
                self.load_drafts(id);
            }
        });
        Effect::new(move |_| {
            let Some(id) = self.loaded_for.get() else {
                return;
            };
            let key = self.active.get();
            let list = self.tabs.get();
            let saved = SavedTabs {
                active: list.iter().position(|t| t.key == key).unwrap_or(0),
                tabs: list
                    .iter()
                    .map(|t| SavedTab {
                        sql: t.sql.get(),
                        named: t.named.get(),
                    })
                    .collect(),
            };
            if let Ok(json) = serde_json::to_string(&saved) {
                js::storage_set(&storage_key(self.user_id.get_untracked(), id), &json);
            }
        });
    }

    fn load_drafts(self, id: ConnectionId) {
        let saved: SavedTabs = js::storage_get(&storage_key(self.user_id.get_untracked(), id))
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default();
        let mut list: Vec<Tab> = saved
            .tabs
            .into_iter()
            .take(MAX_TABS)
            .map(|t| self.new_tab(t.sql, t.named))
            .collect();
        let mut pick = saved.active.min(list.len().saturating_sub(1));
        let brought = self.initial_sql.get_value();
        if let Some(sql) = brought.filter(|s| !s.trim().is_empty()) {
            self.initial_sql.set_value(None);
            match list.iter().position(|t| t.sql.get_untracked() == sql) {
                Some(i) => pick = i,
                None => {
                    list.push(self.new_tab(sql, vec![]));
                    pick = list.len() - 1;
                }
            }
        }
        if list.is_empty() {
            list.push(self.new_tab(String::new(), vec![]));
            pick = 0;
        }
        let key = list[pick].key;
        let text = list[pick].sql.get_untracked();
        self.tabs.set(list);
        self.active.set(key);
        self.loaded_for.set(Some(id));
        self.show_text(&text);
    }
}
