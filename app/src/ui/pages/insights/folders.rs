//! A folder's card in the list: its link (a name only in the trash), and for editors rename,
//! move, delete, or restore.
use super::{folder_label, href, Changes};
use crate::{
    api::insights::{SaveFolder, TrashFolder},
    model::insight::{Folder, FolderId},
};
use leptos::prelude::*;

#[component]
pub(super) fn FolderRowView(
    f: Folder,
    in_trash: bool,
    can_edit: Signal<bool>,
    folders: StoredValue<Vec<Folder>>,
    changes: Changes,
) -> impl IntoView {
    let id = f.id;
    let renaming = RwSignal::new(false);
    let name = RwSignal::new(f.name.clone());
    let parent = f.parent_id;
    // A rename closes its input once answered, saved or not.
    let save_name = ServerAction::<SaveFolder>::new();
    Effect::new(move |_| {
        if let Some(r) = save_name.value().get() {
            changes.done.run(r.map(|_| ()));
            renaming.try_set(false);
        }
    });
    let rename = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save_name.dispatch(SaveFolder {
            id: Some(id),
            name: name.get_untracked(),
            parent,
        });
    };
    let move_folder = move |to: Option<FolderId>| {
        changes.save_folder.dispatch(SaveFolder {
            id: Some(id),
            name: name.get_untracked(),
            parent: to,
        });
    };
    let trash = move |trashed: bool| {
        changes.trash_folder.dispatch(TrashFolder { id, trashed });
    };
    let options = folders.get_value();
    view! {
        <li class="folder-card" data-test="folder-card">
            <Show when=move || renaming.get() fallback=move || view! {
                {if in_trash { view! { <span class="folder-name">{name.get()}</span> }.into_any() } else { view! { <a class="folder-name" href=href(Some(id), "", false) data-test="folder-link">{move || name.get()}</a> }.into_any() }}
            }>
                <form class="inline-form" on:submit=rename>
                    <input type="text" aria-label="Folder name" data-test="folder-rename-input" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                    <button class="button small" type="submit">"Save"</button>
                </form>
            </Show>
            <Show when=move || can_edit.get()>
                {if in_trash {
                    view! { <button class="button small" data-test="restore-folder" on:click=move |_| trash(false)>"Restore"</button> }.into_any()
                } else {
                    let options = options.clone();
                    view! {
                        <button class="button small" data-test="rename-folder" on:click=move |_| renaming.set(true)>"Rename"</button>
                        <select class="small" aria-label="Move folder" on:change=move |ev| { let v = event_target_value(&ev); if v != "-" { move_folder(v.parse::<i64>().ok().map(FolderId)) } }>
                            <option value="-">"Move to…"</option>
                            <option value="root">"Top level"</option>
                            {options.iter().filter(|o| o.id != id).map(|o| view! { <option value=o.id.0.to_string()>{folder_label(&options, o)}</option> }).collect_view()}
                        </select>
                        <button class="button small danger" data-test="trash-folder" on:click=move |_| trash(true)>"Delete"</button>
                    }.into_any()
                }}
            </Show>
        </li>
    }
}
