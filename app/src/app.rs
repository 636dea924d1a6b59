//! The document shell and the route table.
use crate::ui::{
    components::layout::Shell,
    context::auth::provide_auth,
    pages::{
        account::AccountPage,
        admin::{plugins::PluginsPage, users::UsersPage},
        alerts::{AlertPage, AlertsPage},
        connections::ConnectionsPage,
        dashboard::DashboardPage,
        dashboards::DashboardsPage,
        home::HomePage,
        import::ImportPage,
        insight::InsightPage,
        insights::InsightsPage,
        login::LoginPage,
        not_found::NotFound,
        setup::SetupPage,
        welcome::WelcomePage,
        workbench::WorkbenchPage,
    },
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{ParentRoute, Route, Router, Routes},
    path, SsrMode,
};

/// The content-hashed files a page links: the hydration bundle (`app`, the JS and wasm file
/// name without extension), the style sheet, the SQL editor and the chart bundles. The build writes them
/// into `assets.json` beside the site; the server reads it once at start.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SiteAssets {
    pub app: String,
    pub css: String,
    pub editor: String,
    #[serde(default = "charts_script")]
    pub charts: String,
}

fn charts_script() -> String {
    crate::ui::js::CHARTS_SCRIPT.into()
}

impl Default for SiteAssets {
    /// The unhashed names, for a site laid out without the manifest.
    fn default() -> Self {
        Self {
            app: "sightline".into(),
            css: "/pkg/sightline.css".into(),
            editor: crate::ui::js::EDITOR_SCRIPT.into(),
            charts: charts_script(),
        }
    }
}

/// The HTML document the server renders around the app. `options.output_name` must be
/// `assets.app`.
pub fn shell(options: LeptosOptions, assets: SiteAssets) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="data:,"/>
                <link rel="stylesheet" href=assets.css/>
                <meta name="sightline-editor" content=assets.editor/>
                <meta name="sightline-charts" content=assets.charts/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_auth();
    // Tests (and people) can tell when the page has become interactive.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Title formatter=|t: String| if t.is_empty() { "Sightline".to_string() } else { format!("{t} · Sightline") }/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=LoginPage/>
                <Route path=path!("/setup") view=SetupPage ssr=SsrMode::Async/>
                <Route path=path!("/welcome") view=WelcomePage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=Shell ssr=SsrMode::Async>
                    <Route path=path!("") view=HomePage ssr=SsrMode::Async/>
                    <Route path=path!("account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("connections") view=ConnectionsPage ssr=SsrMode::Async/>
                    <Route path=path!("workbench") view=WorkbenchPage ssr=SsrMode::Async/>
                    <Route path=path!("insights") view=InsightsPage ssr=SsrMode::Async/>
                    <Route path=path!("insights/:id") view=InsightPage ssr=SsrMode::Async/>
                    <Route path=path!("dashboards") view=DashboardsPage ssr=SsrMode::Async/>
                    <Route path=path!("dashboards/:id") view=DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("import") view=ImportPage ssr=SsrMode::Async/>
                    <Route path=path!("alerts") view=AlertsPage ssr=SsrMode::Async/>
                    <Route path=path!("alerts/:id") view=AlertPage ssr=SsrMode::Async/>
                    <Route path=path!("admin/users") view=UsersPage ssr=SsrMode::Async/>
                    <Route path=path!("admin/plugins") view=PluginsPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
