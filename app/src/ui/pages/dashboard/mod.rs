//! One dashboard: filters whose values live in the URL (`?f_name=value`, both ways), tiles
//! on a 12-column grid that each run their insight with the values the filters feed them,
//! and (for its owner and editors) an edit mode with Save / Cancel.
//!
//! - `page`: loading, the filter bar, the grid, auto-refresh
//! - `head`: the name and actions, saving with the conflict check, the board's settings
//! - `tile`: one tile (its run, spinner, elapsed time, error and Retry; table or chart)
//! - `edit`: the editor's panels: adding tiles, the filters, one tile's settings, moving
//! - `versions`: the version list and revert
mod edit;
mod head;
mod page;
mod tile;
mod versions;

pub use page::DashboardPage;
