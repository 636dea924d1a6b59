//! The few calls into JavaScript the UI needs: the SQL editor bundle (served from our own
//! origin and loaded on demand) and the clipboard. On the server these do nothing.
#[cfg(feature = "hydrate")]
use wasm_bindgen::{JsCast, JsValue};

/// Where the editor bundle is served from (built by `npm run build:editor`) when the page
/// names no hashed copy in `<meta name="sightline-editor">`.
pub const EDITOR_SCRIPT: &str = "/vendor/sightline-editor.js";

/// The editor bundle's URL: the content-hashed name the server put in the page head.
#[cfg(feature = "hydrate")]
fn editor_script(doc: &web_sys::Document) -> String {
    doc.query_selector("meta[name='sightline-editor']")
        .ok()
        .flatten()
        .and_then(|m| m.get_attribute("content"))
        .filter(|src| src.starts_with('/'))
        .unwrap_or_else(|| EDITOR_SCRIPT.to_string())
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
        if let Some(ed) = editor() {
            call(&ed, "mount", &[ta, opts.into()]);
            return;
        }
        let Some(w) = web_sys::window() else { return };
        let ready = Closure::<dyn Fn()>::new(move || {
            if let Some(ed) = editor() {
                call(&ed, "mount", &[ta.clone(), opts.clone().into()]);
            }
        });
        let _ = w.add_event_listener_with_callback(
            "sightline-editor-ready",
            ready.as_ref().unchecked_ref(),
        );
        ready.forget();
        if let Some(doc) = w.document() {
            let src = editor_script(&doc);
            let present = doc
                .query_selector(&format!("script[src='{src}']"))
                .ok()
                .flatten()
                .is_some();
            if !present {
                if let (Ok(s), Some(head)) = (doc.create_element("script"), doc.head()) {
                    let _ = s.set_attribute("src", &src);
                    let _ = head.append_child(&s);
                }
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (textarea, dialect, on_run);
    }
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
