//! One insight: a form of typed parameter inputs that live in the URL (`?p_name=value`, both
//! ways), the result grid with drill-down links, export links, versions with a side-by-side
//! diff and revert, and (for editors) the editor for SQL, parameters and drill-downs.
//!
//! - `page`: the page and its body (loading, the values in the URL, running, the layout)
//! - `head`: name, actions and downloads; `params_form`: the parameter form with Run;
//!   `views`: the result as a table or a chart, with the chart's settings
//! - the address (`ui/url.rs`), the parameter inputs (`ui/components/param_input.rs`) and the
//!   chart (`ui/components/chart.rs`) are shared with dashboards
//! - `editor`: the editor (name, connection, SQL, parameters; one parameter's settings are
//!   `ui/components/param_spec.rs`)
//! - `to_dashboard`: "Add to dashboard"
//! - `drill`: the drill-down editor and the insight picker it shares with `spec`
//! - `versions`: the version list, compare and revert
//! - `chart_form`: the chart's settings
//! - `export`: a download's progress
mod chart_form;
mod drill;
mod editor;
mod export;
mod head;
mod page;
mod params_form;
mod to_dashboard;
mod versions;
mod views;

pub use crate::ui::url::{drill_href, query_string, today, url_values};
pub use page::InsightPage;
