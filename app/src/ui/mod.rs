//! Pages, components and context providers.
pub mod components;
pub mod context;
pub mod js;
pub mod pages;
pub mod query;
pub mod url;
