//! Chart plugins (admins): what is installed with its columns, options and any error; add one
//! from a zip (uploaded to `POST /plugins`); remove one. Everyone then finds them among the
//! chart kinds of an insight.
use crate::{
    api::plugins::{list_plugins, RemovePlugin},
    error::AppError,
    model::chart::PluginInfo,
    ui::components::feedback::{ErrorNote, Loading, Region},
};
use leptos::{html, prelude::*};
use leptos_meta::Title;

/// Sends the chosen zip to `POST /plugins` and returns the installed plugin.
#[cfg(feature = "hydrate")]
async fn upload(input: &web_sys::HtmlInputElement) -> Result<PluginInfo, AppError> {
    use js_sys::{Object, Reflect};
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    let file = Reflect::get(input, &"files".into())
        .ok()
        .and_then(|files| Reflect::get(&files, &0u32.into()).ok())
        .filter(|f| !f.is_undefined() && !f.is_null())
        .ok_or_else(|| AppError::field("plugin", "Choose a plugin zip first."))?;
    let window = web_sys::window().ok_or_else(|| AppError::Transport("no window".into()))?;
    let init = Object::new();
    let _ = Reflect::set(&init, &"method".into(), &"POST".into());
    let _ = Reflect::set(&init, &"body".into(), &file);
    let fetch: js_sys::Function = Reflect::get(&window, &"fetch".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| AppError::Transport("this browser cannot upload files".into()))?;
    let promise: js_sys::Promise = fetch
        .call2(&window, &JsValue::from_str("/plugins"), &init)
        .ok()
        .and_then(|p| p.dyn_into().ok())
        .ok_or_else(|| AppError::Transport("the upload did not start".into()))?;
    let response = JsFuture::from(promise)
        .await
        .map_err(|_| AppError::Transport("the upload was cut off".into()))?;
    let status = Reflect::get(&response, &"status".into())
        .ok()
        .and_then(|s| s.as_f64())
        .unwrap_or(0.0) as u16;
    let text_fn: js_sys::Function = Reflect::get(&response, &"text".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or_else(|| AppError::Transport("no answer".into()))?;
    let text_promise: js_sys::Promise = text_fn
        .call0(&response)
        .ok()
        .and_then(|p| p.dyn_into().ok())
        .ok_or_else(|| AppError::Transport("no answer".into()))?;
    let text = JsFuture::from(text_promise)
        .await
        .ok()
        .and_then(|t| t.as_string())
        .unwrap_or_default();
    if status == 200 {
        serde_json::from_str(&text).map_err(|e| AppError::Transport(e.to_string()))
    } else {
        Err(serde_json::from_str::<AppError>(&text)
            .unwrap_or_else(|_| AppError::Transport(format!("the server answered {status}"))))
    }
}

#[cfg(not(feature = "hydrate"))]
async fn upload(_: &web_sys::HtmlInputElement) -> Result<PluginInfo, AppError> {
    Err(AppError::Transport("uploads happen in the browser".into()))
}

#[component]
pub fn PluginsPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = LocalResource::new(move || {
        version.get();
        list_plugins()
    });
    let error = RwSignal::new(None::<AppError>);
    let remove = ServerAction::<RemovePlugin>::new();
    Effect::new(move |_| match remove.value().get() {
        Some(Ok(())) => version.update(|v| *v += 1),
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let on_remove = Callback::new(move |id: String| {
        remove.dispatch(RemovePlugin { id });
    });
    view! {
        <Title text="Chart plugins"/>
        <div class="page-head"><h1>"Chart plugins"</h1></div>
        <p class="muted">"A plugin adds a chart kind for everyone: a " <code>"plugin.json"</code> " manifest and one ES module exporting "
            <code>"render(element, data, options)"</code> ". It runs in a sandboxed frame: it sees only the rows of the chart it draws, "
            "and can read no cookie, call no server function and reach no other page. Writing one: see the README."</p>
        <AddPlugin error on_added=Callback::new(move |_| version.update(|v| *v += 1))/>
        <section class="card">
            <h2>"Installed"</h2>
            <Region label="Installed plugins">
                <Suspense fallback=|| view! { <Loading/> }>
                    {move || Suspend::new(async move {
                        list.await.map(|ps| view! { <PluginTable ps on_remove/> })
                    })}
                </Suspense>
            </Region>
        </section>
    }
}

/// Uploads a plugin's zip; says what was installed (or why not). Errors of Remove show here
/// too, as they did.
#[component]
fn AddPlugin(error: RwSignal<Option<AppError>>, on_added: Callback<()>) -> impl IntoView {
    let added = RwSignal::new(None::<String>);
    let input = NodeRef::<html::Input>::new();
    // Not a server function: the zip goes to `POST /plugins` from the browser.
    let install = Action::new_local(|el: &web_sys::HtmlInputElement| {
        let el = el.clone();
        async move {
            let r = upload(&el).await;
            if r.is_ok() {
                el.set_value("");
            }
            r
        }
    });
    let busy = install.pending();
    Effect::new(move |_| match install.value().get() {
        Some(Ok(p)) => {
            added.set(Some(match &p.error {
                None => format!("Installed “{}” {}.", p.manifest.name, p.manifest.version),
                Some(e) => format!(
                    "Installed “{}”, but it cannot be used: {e}",
                    p.manifest.name
                ),
            }));
            on_added.run(());
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let on_install = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(el) = input.get_untracked() else {
            return;
        };
        error.set(None);
        added.set(None);
        install.dispatch_local(el);
    };
    view! {
        <section class="card">
            <h2>"Add a plugin"</h2>
            <ErrorNote error=Signal::derive(move || error.get())/>
            {move || added.get().map(|m| view! { <p class="note ok" data-test="plugin-added">{m}</p> })}
            <form class="inline-form" on:submit=on_install>
                <input type="file" accept=".zip,application/zip" node_ref=input data-test="plugin-file"/>
                <button class="button primary" type="submit" data-test="plugin-install" disabled=move || busy.get()>{move || if busy.get() { "Installing…" } else { "Install" }}</button>
            </form>
            <p class="muted small">"Or drop the plugin's folder into " <code>"<data dir>/plugins/"</code> "; it appears here at once."</p>
        </section>
    }
}

/// The installed plugins with their columns and options, and Remove.
#[component]
fn PluginTable(ps: Vec<PluginInfo>, on_remove: Callback<String>) -> impl IntoView {
    if ps.is_empty() {
        return view! { <p class="empty">"No chart plugins yet."</p> }.into_any();
    }
    view! {
        <table class="table" data-test="plugin-list">
            <thead><tr><th>"Plugin"</th><th>"Columns"</th><th>"Options"</th><th></th></tr></thead>
            <tbody>
                {ps.into_iter().map(|p| {
                    let id = p.manifest.id.clone();
                    view! {
                        <tr data-test="plugin-row">
                            <td>
                                <strong>{p.manifest.name.clone()}</strong> " " <span class="muted small">{format!("{} · {}", p.manifest.id, p.manifest.version)}</span>
                                <div class="muted small">{p.manifest.description.clone()}</div>
                                {p.error.map(|e| view! { <div class="field-error" data-test="plugin-error">{e}</div> })}
                            </td>
                            <td>{p.manifest.columns.iter().map(|c| c.name.clone()).collect::<Vec<_>>().join(", ")}</td>
                            <td>{p.manifest.options.iter().map(|o| o.name.clone()).collect::<Vec<_>>().join(", ")}</td>
                            <td><button class="button small danger" type="button" on:click=move |_| on_remove.run(id.clone())>"Remove"</button></td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
