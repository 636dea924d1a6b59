//! The file picked, and its upload with progress (XMLHttpRequest; `fetch` reports none).
use crate::{error::AppError, model::import::ImportPreview};

/// The picked file and its name.
#[cfg(feature = "hydrate")]
pub(super) fn chosen_file(
    input: &web_sys::HtmlInputElement,
) -> Option<(wasm_bindgen::JsValue, String)> {
    let files = js_sys::Reflect::get(input, &"files".into()).ok()?;
    let file = js_sys::Reflect::get(&files, &0u32.into()).ok()?;
    if file.is_undefined() || file.is_null() {
        return None;
    }
    let name = js_sys::Reflect::get(&file, &"name".into())
        .ok()?
        .as_string()?;
    Some((file, name))
}

#[cfg(not(feature = "hydrate"))]
pub(super) fn chosen_file(
    _: &web_sys::HtmlInputElement,
) -> Option<(wasm_bindgen::JsValue, String)> {
    None
}

/// Uploads a file to `POST /imports` with XMLHttpRequest, which reports upload progress.
#[cfg(feature = "hydrate")]
pub(super) fn send_file(
    file: wasm_bindgen::JsValue,
    name: &str,
    progress: impl Fn(f64) + 'static,
    done: impl FnOnce(Result<ImportPreview, AppError>) + 'static,
) {
    use js_sys::{Array, Function, Reflect};
    use std::{cell::RefCell, rc::Rc};
    use wasm_bindgen::{closure::Closure, JsCast, JsValue};

    fn call(target: &JsValue, method: &str, args: &[JsValue]) -> Option<JsValue> {
        let f: Function = Reflect::get(target, &method.into()).ok()?.dyn_into().ok()?;
        f.apply(target, &args.iter().collect::<Array>()).ok()
    }
    let number =
        |v: &JsValue, key: &str| Reflect::get(v, &key.into()).ok().and_then(|x| x.as_f64());

    let xhr = web_sys::window()
        .and_then(|w| Reflect::get(&w, &"XMLHttpRequest".into()).ok())
        .and_then(|c| c.dyn_into::<Function>().ok())
        .and_then(|c| Reflect::construct(&c, &Array::new()).ok());
    let Some(xhr) = xhr else {
        return done(Err(AppError::Transport(
            "this browser cannot upload files".into(),
        )));
    };
    let url = format!(
        "/imports?name={}",
        crate::ui::components::layout::urlencode(name)
    );
    call(&xhr, "open", &["POST".into(), url.into()]);

    let on_progress = Closure::<dyn FnMut(JsValue)>::new(move |ev: JsValue| {
        if let (Some(loaded), Some(total)) = (number(&ev, "loaded"), number(&ev, "total")) {
            if total > 0.0 {
                progress(loaded / total);
            }
        }
    });
    if let Ok(upload) = Reflect::get(&xhr, &"upload".into()) {
        let _ = Reflect::set(&upload, &"onprogress".into(), on_progress.as_ref());
    }
    on_progress.forget();

    // Called once, by whichever of load, error or abort comes first.
    type Done = Box<dyn FnOnce(Result<ImportPreview, AppError>)>;
    let done: Rc<RefCell<Option<Done>>> = Rc::new(RefCell::new(Some(Box::new(done))));
    let finish = {
        let (xhr, done) = (xhr.clone(), done.clone());
        Closure::<dyn FnMut()>::new(move || {
            let Some(done) = done.borrow_mut().take() else {
                return;
            };
            let status = number(&xhr, "status").unwrap_or(0.0) as u16;
            let text = Reflect::get(&xhr, &"responseText".into())
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default();
            done(match status {
                200 => serde_json::from_str(&text).map_err(|e| AppError::Transport(e.to_string())),
                0 => Err(AppError::Transport(
                    "the upload was cut off (the file may be larger than the server accepts)"
                        .into(),
                )),
                _ => Err(serde_json::from_str::<AppError>(&text).unwrap_or_else(|_| {
                    AppError::Transport(format!("the server answered {status}"))
                })),
            });
        })
    };
    for event in ["onload", "onerror", "onabort"] {
        let _ = Reflect::set(&xhr, &event.into(), finish.as_ref());
    }
    finish.forget();
    call(&xhr, "send", &[file]);
}

#[cfg(not(feature = "hydrate"))]
pub(super) fn send_file(
    _: wasm_bindgen::JsValue,
    _: &str,
    _: impl Fn(f64) + 'static,
    _: impl FnOnce(Result<ImportPreview, AppError>) + 'static,
) {
}
