//! The few calls into JavaScript the UI needs: the SQL editor and chart bundles (served from
//! our own origin and loaded on demand), browser storage and the clipboard. On the server these do nothing.
#[cfg(feature = "hydrate")]
use wasm_bindgen::{JsCast, JsValue};

/// Where the editor bundle is served from (built by `npm run build:editor`) when the page
/// names no hashed copy in `<meta name="sightline-editor">`.
pub const EDITOR_SCRIPT: &str = "/vendor/sightline-editor.js";

/// A bundle's URL: the content-hashed name the server put in the page head.
#[cfg(feature = "hydrate")]
fn bundle_script(doc: &web_sys::Document, meta: &str, fallback: &str) -> String {
    doc.query_selector(&format!("meta[name='{meta}']"))
        .ok()
        .flatten()
        .and_then(|m| m.get_attribute("content"))
        .filter(|src| src.starts_with('/'))
        .unwrap_or_else(|| fallback.to_string())
}

#[cfg(feature = "hydrate")]
fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Option<JsValue> {
    let f: js_sys::Function = js_sys::Reflect::get(target, &method.into())
        .ok()?
        .dyn_into()
        .ok()?;
    let arr = js_sys::Array::new();
    for a in args {
        arr.push(a);
    }
    f.apply(target, &arr).ok()
}

#[cfg(feature = "hydrate")]
fn editor() -> Option<JsValue> {
    let w = web_sys::window()?;
    let e = js_sys::Reflect::get(&w, &"SightlineEditor".into()).ok()?;
    (!e.is_undefined() && !e.is_null()).then_some(e)
}

/// Runs `then` with the bundle's global object (`window[global]`) once it is loaded: at once
/// when it is, else after adding its script (the hashed URL from `<meta name=meta>`, or
/// `fallback`) and waiting for the `ready_event` the bundle fires.
#[cfg(feature = "hydrate")]
fn with_bundle(
    global: &'static str,
    meta: &str,
    fallback: &str,
    ready_event: &str,
    then: impl Fn(JsValue) + 'static,
) {
    use wasm_bindgen::closure::Closure;
    let get = move || {
        let w = web_sys::window()?;
        let e = js_sys::Reflect::get(&w, &global.into()).ok()?;
        (!e.is_undefined() && !e.is_null()).then_some(e)
    };
    if let Some(b) = get() {
        then(b);
        return;
    }
    let Some(w) = web_sys::window() else { return };
    let ready = Closure::<dyn Fn()>::new(move || {
        if let Some(b) = get() {
            then(b);
        }
    });
    let opts = web_sys::AddEventListenerOptions::new();
    opts.set_once(true);
    let _ = w.add_event_listener_with_callback_and_add_event_listener_options(
        ready_event,
        ready.as_ref().unchecked_ref(),
        &opts,
    );
    ready.forget();
    if let Some(doc) = w.document() {
        let src = bundle_script(&doc, meta, fallback);
        let present = doc
            .query_selector(&format!("script[src='{src}']"))
            .ok()
            .flatten()
            .is_some();
        if !present {
            load_script(src, 0);
        }
    }
}

/// Appends `<script src>`; a load that fails (a dropped connection, a server restarting) is
/// tried again after a pause, up to three times, instead of leaving the page without it.
#[cfg(feature = "hydrate")]
fn load_script(src: String, attempt: u32) {
    use wasm_bindgen::closure::Closure;
    let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let (Ok(s), Some(head)) = (doc.create_element("script"), doc.head()) else {
        return;
    };
    let _ = s.set_attribute("src", &src);
    if attempt < 3 {
        let el = s.clone();
        let failed = Closure::once_into_js(move || {
            el.remove();
            let retry = Closure::once_into_js(move || load_script(src, attempt + 1));
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                    retry.unchecked_ref(),
                    500 * (attempt as i32 + 1),
                );
            }
        });
        let _ = s.add_event_listener_with_callback("error", failed.unchecked_ref());
    }
    let _ = head.append_child(&s);
}

/// Mounts the editor on `textarea` (loading the bundle first if needed) and forwards its
/// Ctrl/Cmd-Enter to `on_run`.
pub fn mount_editor(
    textarea: &web_sys::HtmlTextAreaElement,
    dialect: &str,
    on_run: impl Fn() + 'static,
) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        let ta: JsValue = textarea.clone().into();
        if let Some(parent) = textarea.parent_element() {
            let cb = Closure::<dyn Fn()>::new(on_run);
            let _ = parent
                .add_event_listener_with_callback("sightline-run", cb.as_ref().unchecked_ref());
            cb.forget();
        }
        let opts = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&opts, &"dialect".into(), &dialect.into());
        with_bundle(
            "SightlineEditor",
            "sightline-editor",
            EDITOR_SCRIPT,
            "sightline-editor-ready",
            move |ed| {
                call(&ed, "mount", &[ta.clone(), opts.clone().into()]);
            },
        );
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (textarea, dialect, on_run);
    }
}

/// Where the chart bundle is served from when the page names no hashed copy.
pub const CHARTS_SCRIPT: &str = "/vendor/sightline-charts.js";

/// Draws a chart into `el` from the server's ECharts option and the chart spec (both JSON),
/// loading the chart bundle the first time. Clicks on a bar, point or slice arrive as a
/// `sightline-chart-click` event on `el` whose `detail` is JSON (`category`, `series`,
/// `dataIndex`, `value`).
pub fn chart_render(el: &web_sys::HtmlElement, option: &str, spec: &str) {
    #[cfg(feature = "hydrate")]
    {
        let target: JsValue = el.clone().into();
        let (option, spec) = (JsValue::from_str(option), JsValue::from_str(spec));
        with_bundle(
            "SightlineCharts",
            "sightline-charts",
            CHARTS_SCRIPT,
            "sightline-charts-ready",
            move |charts| {
                call(
                    &charts,
                    "render",
                    &[target.clone(), option.clone(), spec.clone()],
                );
            },
        );
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (el, option, spec);
}

/// Draws a visualization plugin into `el`: its module (fetched from `module_url`) runs in a
/// sandboxed frame with `payload` (rows and options, JSON). A failure arrives as a
/// `sightline-plugin-error` event on `el` (detail: the message); clicks as
/// `sightline-chart-click` with `{"row": {column: value}}`.
pub fn chart_plugin(el: &web_sys::HtmlElement, module_url: &str, payload: &str) {
    #[cfg(feature = "hydrate")]
    {
        let target: JsValue = el.clone().into();
        let (url, payload) = (JsValue::from_str(module_url), JsValue::from_str(payload));
        with_bundle(
            "SightlineCharts",
            "sightline-charts",
            CHARTS_SCRIPT,
            "sightline-charts-ready",
            move |charts| {
                call(
                    &charts,
                    "plugin",
                    &[target.clone(), url.clone(), payload.clone()],
                );
            },
        );
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (el, module_url, payload);
}

/// Frees the chart drawn in `el` (its resize observer and canvas).
pub fn chart_dispose(el: &web_sys::HtmlElement) {
    #[cfg(feature = "hydrate")]
    {
        if let Some(w) = web_sys::window() {
            if let Ok(c) = js_sys::Reflect::get(&w, &"SightlineCharts".into()) {
                if !c.is_undefined() {
                    call(&c, "dispose", &[el.clone().into()]);
                }
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = el;
}

/// Saves the chart in `el` as a PNG or SVG file named `filename`.
pub fn chart_download(el: &web_sys::HtmlElement, kind: &str, filename: &str) {
    #[cfg(feature = "hydrate")]
    {
        if let Some(w) = web_sys::window() {
            if let Ok(c) = js_sys::Reflect::get(&w, &"SightlineCharts".into()) {
                if !c.is_undefined() {
                    call(
                        &c,
                        "download",
                        &[el.clone().into(), kind.into(), filename.into()],
                    );
                }
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (el, kind, filename);
}

/// Replaces the editor's text (or the textarea's, before the editor is loaded).
pub fn editor_set(textarea: &web_sys::HtmlTextAreaElement, text: &str) {
    #[cfg(feature = "hydrate")]
    {
        match editor() {
            Some(ed) => {
                call(&ed, "setValue", &[textarea.clone().into(), text.into()]);
            }
            None => textarea.set_value(text),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (textarea, text);
}

/// Autocomplete: `schema_json` is `{"table": ["col", …], …}`.
pub fn editor_schema(textarea: &web_sys::HtmlTextAreaElement, schema_json: &str, dialect: &str) {
    #[cfg(feature = "hydrate")]
    {
        if let (Some(ed), Ok(obj)) = (editor(), js_sys::JSON::parse(schema_json)) {
            call(
                &ed,
                "setDialect",
                &[textarea.clone().into(), dialect.into()],
            );
            call(&ed, "setSchema", &[textarea.clone().into(), obj]);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (textarea, schema_json, dialect);
}

/// Replaces the editor's text with another document (another tab's): the undo history
/// starts over.
pub fn editor_load(textarea: &web_sys::HtmlTextAreaElement, text: &str) {
    #[cfg(feature = "hydrate")]
    {
        match editor() {
            Some(ed) => {
                call(
                    &ed,
                    "setValue",
                    &[textarea.clone().into(), text.into(), JsValue::TRUE],
                );
            }
            None => textarea.set_value(text),
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (textarea, text);
}

/// Puts `text` at the cursor (replacing the selection); the edit fires `input` as typing does.
pub fn editor_insert(textarea: &web_sys::HtmlTextAreaElement, text: &str) {
    #[cfg(feature = "hydrate")]
    {
        if let Some(ed) = editor() {
            call(&ed, "insert", &[textarea.clone().into(), text.into()]);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (textarea, text);
}

/// Marks where the database said the error is (0-based, in UTF-16 units as the editor
/// counts), or clears the mark.
pub fn editor_mark_error(textarea: &web_sys::HtmlTextAreaElement, at: Option<u32>) {
    #[cfg(feature = "hydrate")]
    {
        if let Some(ed) = editor() {
            let pos = at.map_or(JsValue::NULL, |p| JsValue::from_f64(f64::from(p)));
            call(&ed, "markError", &[textarea.clone().into(), pos]);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (textarea, at);
}

/// The browser's `localStorage` (absent on the server, or when the browser refuses it).
#[cfg(feature = "hydrate")]
fn local_storage() -> Option<JsValue> {
    let w = web_sys::window()?;
    let s = js_sys::Reflect::get(&w, &"localStorage".into()).ok()?;
    (!s.is_undefined() && !s.is_null()).then_some(s)
}

/// A value kept in the browser's `localStorage`.
pub fn storage_get(key: &str) -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        call(&local_storage()?, "getItem", &[key.into()])?.as_string()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = key;
        None
    }
}

/// Keeps a value in the browser's `localStorage` (quietly does nothing when it is full or
/// refused: the page works on without it).
pub fn storage_set(key: &str, value: &str) {
    #[cfg(feature = "hydrate")]
    {
        if let Some(s) = local_storage() {
            call(&s, "setItem", &[key.into(), value.into()]);
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (key, value);
}

pub fn editor_focus(textarea: &web_sys::HtmlTextAreaElement) {
    #[cfg(feature = "hydrate")]
    {
        match editor() {
            Some(ed) => {
                call(&ed, "focus", &[textarea.clone().into()]);
            }
            None => {
                let _ = textarea.focus();
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = textarea;
}

/// Copies text to the clipboard.
pub fn copy_text(text: &str) {
    #[cfg(feature = "hydrate")]
    {
        if let Some(w) = web_sys::window() {
            if let Ok(clip) = js_sys::Reflect::get(&w.navigator(), &"clipboard".into()) {
                call(&clip, "writeText", &[text.into()]);
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}
