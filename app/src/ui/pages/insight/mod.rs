//! One insight: a form of typed parameter inputs that live in the URL (`?p_name=value`, both
//! ways), the result grid with drill-down links, export links, versions with a side-by-side
//! diff and revert, and (for editors) the editor for SQL, parameters and drill-downs.
//!
//! - `page`: the page and its body (loading, running, the layout of the panels)
//! - `url`: the insight's address, parameter values in the query string, drill-down links
//! - `params`: the inputs of the parameter form, one per kind
//! - `editor`: the editor (name, connection, SQL, parameters); `spec` one parameter's settings
//! - `drill`: the drill-down editor and the insight picker it shares with `spec`
//! - `versions`: the version list, compare and revert
//! - `chart`: the chart of the result (drawn by the chart bundle), clicks and downloads;
//!   `chart_form` its settings
//! - `export`: a download's progress
mod chart;
mod chart_form;
mod drill;
mod editor;
mod export;
mod page;
mod params;
mod spec;
mod url;
mod versions;

pub use editor::specs_for_sql;
pub use page::InsightPage;
pub use url::{drill_href, query_string, today, url_values};
