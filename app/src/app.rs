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
    path, Lazy, LazyRoute, SsrMode,
};

/// The content-hashed files a page links: the hydration bundle (`pkg`, the directory under the
/// site root holding `sightline.js`, `sightline.wasm` and the lazy pages' parts, named by the
/// hash of them all), the style sheet, the SQL editor and the chart bundles. The build writes them
/// into `assets.json` beside the site; the server reads it once at start.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SiteAssets {
    pub pkg: String,
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
            pkg: "pkg".into(),
            css: "/pkg/sightline.css".into(),
            editor: crate::ui::js::EDITOR_SCRIPT.into(),
            charts: charts_script(),
        }
    }
}

/// The HTML document the server renders around the app. `options.site_pkg_dir` must be
/// `assets.pkg` and `options.output_name` `sightline`.
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

/// The pages behind the sign-in, in two groups, each a part of its own in the browser bundle
/// (lazy routes): the browser fetches a group the first time one of its pages opens, so the
/// first load carries only the frame, the sign-in page and what every page shares. Two groups,
/// not one part per page: parts per page share code in so many combinations that the cutter
/// made hundreds of small chunks, fetched by the hundred on a page's first visit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Page {
    Home,
    Insights,
    Insight,
    Dashboards,
    Dashboard,
    Setup,
    Welcome,
    Account,
    Connections,
    Workbench,
    Import,
    Alerts,
    Alert,
    Users,
    Plugins,
}

impl Page {
    /// Reading answers (the home page, insights, dashboards) rather than working on the data.
    fn reading(self) -> bool {
        matches!(
            self,
            Page::Home | Page::Insights | Page::Insight | Page::Dashboards | Page::Dashboard
        )
    }
}

/// Reading answers: the home page, insights and dashboards.
#[lazy]
fn reading_page(page: Page) -> AnyView {
    match page {
        Page::Insights => view! { <InsightsPage/> }.into_any(),
        Page::Insight => view! { <InsightPage/> }.into_any(),
        Page::Dashboards => view! { <DashboardsPage/> }.into_any(),
        Page::Dashboard => view! { <DashboardPage/> }.into_any(),
        _ => view! { <HomePage/> }.into_any(),
    }
}

/// Working on the data and the product: connections, the workbench, import, alerts, accounts.
#[lazy]
fn working_page(page: Page) -> AnyView {
    match page {
        Page::Setup => view! { <SetupPage/> }.into_any(),
        Page::Welcome => view! { <WelcomePage/> }.into_any(),
        Page::Account => view! { <AccountPage/> }.into_any(),
        Page::Connections => view! { <ConnectionsPage/> }.into_any(),
        Page::Workbench => view! { <WorkbenchPage/> }.into_any(),
        Page::Import => view! { <ImportPage/> }.into_any(),
        Page::Alerts => view! { <AlertsPage/> }.into_any(),
        Page::Alert => view! { <AlertPage/> }.into_any(),
        Page::Users => view! { <UsersPage/> }.into_any(),
        _ => view! { <PluginsPage/> }.into_any(),
    }
}

const PAGES: [Page; 15] = [
    Page::Home,
    Page::Insights,
    Page::Insight,
    Page::Dashboards,
    Page::Dashboard,
    Page::Setup,
    Page::Welcome,
    Page::Account,
    Page::Connections,
    Page::Workbench,
    Page::Import,
    Page::Alerts,
    Page::Alert,
    Page::Users,
    Page::Plugins,
];

/// The route of `PAGES[P]`: its view comes from its group's part of the bundle.
struct Lazily<const P: usize>;

impl<const P: usize> LazyRoute for Lazily<P> {
    fn data() -> Self {
        Lazily
    }

    /// Hydration waits for this: the group's part must be loaded before its page hydrates.
    async fn preload() {
        #[cfg(target_arch = "wasm32")]
        if PAGES[P].reading() {
            __preload_reading_page().await
        } else {
            __preload_working_page().await
        }
    }

    async fn view(_this: Self) -> AnyView {
        let page = PAGES[P];
        if page.reading() {
            reading_page(page).await
        } else {
            working_page(page).await
        }
    }
}

/// Where `page` is in `PAGES` (checked while compiling).
const fn at(page: Page) -> usize {
    let mut i = 0;
    while i < PAGES.len() {
        if PAGES[i] as usize == page as usize {
            return i;
        }
        i += 1;
    }
    panic!("every page is in PAGES")
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_auth();
    // The browser entry (`frontend`) marks the body `data-hydrated` once every part of the
    // page, lazy pages included, is interactive.

    view! {
        <Title formatter=|t: String| if t.is_empty() { "Sightline".to_string() } else { format!("{t} · Sightline") }/>
        <Router>
            <Routes fallback=|| view! { <NotFound/> }>
                <Route path=path!("/login") view=LoginPage/>
                <Route path=path!("/setup") view={Lazy::<Lazily<{at(Page::Setup)}>>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/welcome") view={Lazy::<Lazily<{at(Page::Welcome)}>>::new()} ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=Shell ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<Lazily<{at(Page::Home)}>>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("account") view={Lazy::<Lazily<{at(Page::Account)}>>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("connections") view={Lazy::<Lazily<{at(Page::Connections)}>>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("workbench") view={Lazy::<Lazily<{at(Page::Workbench)}>>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("insights") view={Lazy::<Lazily<{at(Page::Insights)}>>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("insights/:id") view={Lazy::<Lazily<{at(Page::Insight)}>>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("dashboards") view={Lazy::<Lazily<{at(Page::Dashboards)}>>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("dashboards/:id") view={Lazy::<Lazily<{at(Page::Dashboard)}>>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("import") view={Lazy::<Lazily<{at(Page::Import)}>>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("alerts") view={Lazy::<Lazily<{at(Page::Alerts)}>>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("alerts/:id") view={Lazy::<Lazily<{at(Page::Alert)}>>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("admin/users") view={Lazy::<Lazily<{at(Page::Users)}>>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("admin/plugins") view={Lazy::<Lazily<{at(Page::Plugins)}>>::new()} ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
