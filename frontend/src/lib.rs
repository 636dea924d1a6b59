#![recursion_limit = "512"]
//! Browser entry point: hydrates the server-rendered page.
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // Async, as `leptos::mount::hydrate_lazy`: pages are lazy routes, and a page's part of the
    // bundle loads before its part of the document hydrates. Once all of it has, the body
    // says so (`data-hydrated`): tests, and people's scripts, wait for it.
    _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async {
        let body = leptos::prelude::document()
            .body()
            .expect("the page has a body");
        let app = leptos::mount::hydrate_from_async(body.clone(), app::App).await;
        app.forget();
        let _ = body.set_attribute("data-hydrated", "true");
    });
}
