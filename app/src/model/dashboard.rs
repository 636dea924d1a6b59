//! Dashboards: tiles of insights (and text) on a 12-column grid, with filters that feed the
//! tiles' parameters. Pure rules: the layout (placing without overlap, moves and resizes),
//! which filter feeds which parameter, and the checks a draft passes before it is stored.
use super::{
    insight::{FolderId, InsightId, UrlValues, ViewSpec},
    params::{ParamKind, ParamSpec},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Columns of the grid.
pub const COLUMNS: u16 = 12;
/// Rows of a tile at most (a row is 80 px on a wide screen).
pub const MAX_HEIGHT: u16 = 12;
/// Tiles on one dashboard at most.
pub const MAX_TILES: usize = 60;
/// Filters on one dashboard at most.
pub const MAX_FILTERS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DashboardId(pub i64);

impl std::fmt::Display for DashboardId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What a dashboard is made of: everything an editor changes, stored as one version per save.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DashboardDraft {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub folder_id: Option<FolderId>,
    /// The filters above the tiles: parameter specs (same kinds and URL forms as an insight's
    /// parameters), their values in the URL as `f_<name>`.
    #[serde(default)]
    pub filters: Vec<ParamSpec>,
    #[serde(default)]
    pub tiles: Vec<Tile>,
    /// Rerun every tile in the background every this many minutes (0: off).
    #[serde(default)]
    pub refresh_minutes: u32,
    /// Minutes the tiles' results are reused, over each insight's own cache time (`None`:
    /// each insight's; 0: tiles always read the database).
    #[serde(default)]
    pub cache_minutes: Option<u32>,
}

/// The auto-refresh intervals offered, in minutes (0: off).
pub const REFRESH_CHOICES: [u32; 5] = [0, 1, 5, 15, 60];

/// One tile: where it sits on the grid and what it shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tile {
    /// Stable within its dashboard (the URL of a tile's run, the layout's keys).
    pub id: u32,
    #[serde(default)]
    pub x: u16,
    #[serde(default)]
    pub y: u16,
    #[serde(default = "default_w")]
    pub w: u16,
    #[serde(default = "default_h")]
    pub h: u16,
    pub content: TileContent,
}

fn default_w() -> u16 {
    6
}
fn default_h() -> u16 {
    4
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
// A board holds at most 60 tiles and most are insight tiles: boxing the large variant would
// save little and cost an indirection in every match and in serde.
#[allow(clippy::large_enum_variant)]
pub enum TileContent {
    /// An insight's result: its saved view, or `view` chosen for this tile.
    Insight {
        insight_id: InsightId,
        /// Shown above the tile; empty: the insight's name.
        #[serde(default)]
        title: String,
        #[serde(default)]
        view: Option<ViewSpec>,
        /// How the dashboard's filters feed this tile's parameters; a filter without an entry
        /// feeds the parameter of the same name and kind, if there is one.
        #[serde(default)]
        links: Vec<FilterLink>,
        /// Cross-filtering: a click on this column (a bar, a point, a cell) sets that
        /// dashboard filter to the clicked value, instead of following a drill-down.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        click: Option<CrossFilter>,
    },
    /// Markdown, rendered to sanitized HTML by the server.
    Text { markdown: String },
    /// A section heading.
    Heading { text: String },
}

/// One filter's mapping on one tile: the parameter it fills, or none (the tile ignores it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterLink {
    pub filter: String,
    pub param: Option<String>,
}

/// "Clicking `column` sets filter `filter`".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossFilter {
    pub column: String,
    pub filter: String,
}

/// The address a cross-filtering click opens: this board with the clicked value in `filter`
/// and the other filters as they are. `{{column}}` is the slot the click fills (a drill-down
/// URL template, so charts and cells fill it the same way).
pub fn cross_filter_template(
    board: DashboardId,
    cf: &CrossFilter,
    current: &UrlValues,
    encode: impl Fn(&str) -> String,
) -> String {
    let mut parts = vec![];
    for (name, vs) in current {
        if *name != cf.filter {
            for v in vs {
                parts.push(format!("f_{name}={}", encode(v)));
            }
        }
    }
    parts.push(format!("f_{}={{{{{}}}}}", cf.filter, cf.column));
    format!("/dashboards/{}?{}", board.0, parts.join("&"))
}

/// A dashboard as its page opens it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dashboard {
    pub id: DashboardId,
    pub version: i64,
    pub draft: DashboardDraft,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub owner: Option<String>,
    pub deleted: bool,
    /// May the caller change it (editors and admins; a viewer on their own dashboards).
    pub can_edit: bool,
    /// What each tile needs to be drawn, by tile id: the insight's name and parameters (or
    /// why it cannot be shown), the rendered Markdown of a text tile.
    pub tiles: Vec<TileInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TileInfo {
    pub id: u32,
    /// The insight's name (insight tiles).
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub params: Vec<ParamSpec>,
    /// The insight's saved view (what the tile shows unless it chose another).
    #[serde(default)]
    pub view: ViewSpec,
    #[serde(default)]
    pub drill: Vec<super::insight::DrillLink>,
    /// Sanitized HTML of a text tile.
    #[serde(default)]
    pub html: String,
    /// Why the tile cannot be shown (the insight is gone, in the trash…).
    #[serde(default)]
    pub problem: Option<String>,
}

/// A row of the dashboard list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DashboardSummary {
    pub id: DashboardId,
    pub name: String,
    pub description: String,
    pub folder_id: Option<FolderId>,
    pub tiles: usize,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
    pub can_edit: bool,
}

impl Tile {
    fn right(&self) -> u16 {
        self.x + self.w
    }
    fn bottom(&self) -> u16 {
        self.y + self.h
    }
    fn overlaps(&self, o: &Tile) -> bool {
        self.x < o.right() && o.x < self.right() && self.y < o.bottom() && o.y < self.bottom()
    }
    /// Width and height within the grid's bounds, and `x` so the tile fits.
    fn clamp(&mut self) {
        self.w = self.w.clamp(1, COLUMNS);
        self.h = self.h.clamp(1, MAX_HEIGHT);
        self.x = self.x.min(COLUMNS - self.w);
    }
}

/// Places tiles without overlap: `first` (a tile being moved or resized) keeps its place;
/// the others, in reading order, are pushed below whatever they overlap, then every tile
/// rises as far as it can (no gaps above a tile). The result is in reading order.
pub fn reflow(tiles: &mut Vec<Tile>, first: Option<u32>) {
    for t in tiles.iter_mut() {
        t.clamp();
    }
    tiles.sort_by_key(|t| (Some(t.id) != first, t.y, t.x, t.id));
    // Push down: each tile below everything placed before it that it overlaps.
    let mut placed: Vec<Tile> = Vec::with_capacity(tiles.len());
    for mut t in tiles.drain(..) {
        while let Some(o) = placed.iter().find(|o| o.overlaps(&t)) {
            t.y = o.bottom();
        }
        placed.push(t);
    }
    // Compact up, in order of height on the page.
    placed.sort_by_key(|t| (t.y, t.x, t.id));
    let mut out: Vec<Tile> = Vec::with_capacity(placed.len());
    for mut t in placed {
        while t.y > 0 {
            let up = Tile {
                y: t.y - 1,
                ..t.clone()
            };
            if out.iter().any(|o| o.overlaps(&up)) {
                break;
            }
            t.y -= 1;
        }
        out.push(t);
    }
    out.sort_by_key(|t| (t.y, t.x, t.id));
    *tiles = out;
}

/// A keyboard or menu step on one tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    Up,
    Down,
    Left,
    Right,
    Wider,
    Narrower,
    Taller,
    Shorter,
}

/// Moves or resizes one tile by a step, then reflows. Up and down swap places with the
/// nearest tile above or below that shares a column.
pub fn step(tiles: &mut Vec<Tile>, id: u32, s: Step) {
    let Some(i) = tiles.iter().position(|t| t.id == id) else {
        return;
    };
    let t = tiles[i].clone();
    let shares_columns = |o: &Tile| o.id != t.id && o.x < t.right() && t.x < o.right();
    {
        let m = &mut tiles[i];
        match s {
            Step::Left => m.x = m.x.saturating_sub(1),
            Step::Right => m.x = (m.x + 1).min(COLUMNS - m.w),
            Step::Wider => {
                m.w = (m.w + 1).min(COLUMNS);
                if m.right() > COLUMNS {
                    m.x = COLUMNS - m.w;
                }
            }
            Step::Narrower => m.w = m.w.saturating_sub(1).max(1),
            Step::Taller => m.h = (m.h + 1).min(MAX_HEIGHT),
            Step::Shorter => m.h = m.h.saturating_sub(1).max(1),
            Step::Up | Step::Down => {}
        }
    }
    match s {
        Step::Up => {
            let above = tiles
                .iter()
                .filter(|o| shares_columns(o) && o.bottom() <= t.y)
                .max_by_key(|o| (o.bottom(), o.y))
                .map(|o| o.y);
            if let Some(y) = above {
                tiles[i].y = y;
            }
        }
        Step::Down => {
            // Down past the next tile is that tile going up past this one.
            let below = tiles
                .iter()
                .filter(|o| shares_columns(o) && o.y >= t.bottom())
                .min_by_key(|o| (o.y, o.x))
                .map(|o| o.id);
            if let Some(b) = below {
                return step(tiles, b, Step::Up);
            }
        }
        _ => {}
    }
    reflow(tiles, Some(id));
}

/// Moves a tile to a cell (dragging), then reflows with it in place.
pub fn place(tiles: &mut Vec<Tile>, id: u32, x: u16, y: u16) {
    if let Some(t) = tiles.iter_mut().find(|t| t.id == id) {
        t.x = x;
        t.y = y;
    }
    reflow(tiles, Some(id));
}

/// Resizes a tile (dragging its corner), then reflows with it in place.
pub fn resize(tiles: &mut Vec<Tile>, id: u32, w: u16, h: u16) {
    if let Some(t) = tiles.iter_mut().find(|t| t.id == id) {
        t.w = w;
        t.h = h;
    }
    reflow(tiles, Some(id));
}

/// A new tile's id and place: below everything, full width for headings.
pub fn append(tiles: &mut Vec<Tile>, content: TileContent) -> u32 {
    let id = tiles.iter().map(|t| t.id).max().unwrap_or(0) + 1;
    let (w, h) = match content {
        TileContent::Heading { .. } => (COLUMNS, 1),
        TileContent::Text { .. } => (6, 3),
        TileContent::Insight { .. } => (6, 4),
    };
    let y = tiles.iter().map(Tile::bottom).max().unwrap_or(0);
    // Next to the last tile when there is room on its row.
    let (x, y) = match tiles
        .iter()
        .filter(|t| t.bottom() == y)
        .max_by_key(|t| t.right())
    {
        Some(last) if last.right() + w <= COLUMNS && w < COLUMNS => {
            let row_free = !tiles
                .iter()
                .any(|o| o.right() > last.right() && o.y < last.bottom() && o.bottom() > last.y);
            if row_free {
                (last.right(), last.y)
            } else {
                (0, y)
            }
        }
        _ => (0, y),
    };
    tiles.push(Tile {
        id,
        x,
        y,
        w,
        h,
        content,
    });
    reflow(tiles, Some(id));
    id
}

fn kinds_fit(filter: ParamKind, param: ParamKind) -> bool {
    use ParamKind::*;
    filter == param
        || matches!(
            (filter, param),
            (Number, Integer)
                | (Integer, Number)
                | (Enum, Text)
                | (Text, Enum)
                | (Query, Text)
                | (Text, Query)
                | (Query, Enum)
                | (Enum, Query)
                | (Date, DateTime)
        )
}

/// The parameter a filter feeds on a tile with these parameters: the tile's own choice when
/// it made one (`Some(None)`: it ignores the filter), else the parameter of the same name
/// (case-insensitive) whose kind fits.
pub fn linked_param<'a>(
    filter: &ParamSpec,
    links: &[FilterLink],
    params: &'a [ParamSpec],
) -> Option<&'a ParamSpec> {
    if let Some(l) = links.iter().find(|l| l.filter == filter.name) {
        return l
            .param
            .as_ref()
            .and_then(|p| params.iter().find(|s| &s.name == p));
    }
    params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(&filter.name) && kinds_fit(filter.kind, p.kind))
}

/// The parameter values a tile runs with: each filter's value (in URL form) given to the
/// parameter it feeds; filters without a value leave the parameter to its default.
pub fn tile_values(
    filters: &[ParamSpec],
    links: &[FilterLink],
    params: &[ParamSpec],
    filter_values: &UrlValues,
) -> UrlValues {
    let mut out = UrlValues::new();
    for f in filters {
        let Some(p) = linked_param(f, links, params) else {
            continue;
        };
        let v = filter_values
            .get(&f.name)
            .filter(|v| !v.is_empty())
            .cloned()
            .or_else(|| (!f.default.is_empty()).then(|| f.default.clone()));
        if let Some(v) = v {
            out.insert(p.name.clone(), v);
        }
    }
    out
}

/// Checks a draft (trimmed names, sizes, unique tile ids and filter names, tiles within the
/// grid). Errors name the field: `name`, `description`, `filters`, `tiles`.
pub fn validate(d: &mut DashboardDraft) -> Result<(), (String, String)> {
    let err = |f: &str, m: &str| Err((f.to_string(), m.to_string()));
    d.name = d.name.trim().to_string();
    if d.name.is_empty() {
        return err("name", "Give the dashboard a name.");
    }
    if d.name.chars().count() > 200 {
        return err("name", "Use at most 200 characters.");
    }
    if d.description.len() > 20_000 {
        return err("description", "Use at most 20,000 characters.");
    }
    if !REFRESH_CHOICES.contains(&d.refresh_minutes) {
        return err(
            "refresh_minutes",
            "Refresh every 1, 5, 15 or 60 minutes, or never.",
        );
    }
    if d.cache_minutes
        .is_some_and(|m| m > super::run::MAX_CACHE_MINUTES)
    {
        return err(
            "cache_minutes",
            "Reuse results for at most 1440 minutes (a day).",
        );
    }
    if d.filters.len() > MAX_FILTERS {
        return err("filters", "At most 20 filters.");
    }
    super::params::validate_specs(&d.filters).map_err(|(_, m)| ("filters".to_string(), m))?;
    if d.tiles.len() > MAX_TILES {
        return err("tiles", "At most 60 tiles on one dashboard.");
    }
    let mut ids = std::collections::HashSet::new();
    for t in &mut d.tiles {
        if !ids.insert(t.id) {
            return err("tiles", "Two tiles have the same id.");
        }
        match &mut t.content {
            TileContent::Text { markdown } if markdown.len() > 20_000 => {
                return err("tiles", "A text tile holds at most 20,000 characters.");
            }
            TileContent::Heading { text } => {
                *text = text.trim().to_string();
                if text.chars().count() > 200 {
                    return err("tiles", "A heading holds at most 200 characters.");
                }
            }
            TileContent::Insight {
                title,
                links,
                click,
                ..
            } => {
                if let Some(cf) = click {
                    cf.column = cf.column.trim().to_string();
                    if cf.column.is_empty() {
                        *click = None;
                    } else if !d.filters.iter().any(|f| f.name == cf.filter) {
                        return err(
                            "tiles",
                            "A tile's click sets a filter the dashboard does not have.",
                        );
                    }
                }
                *title = title.trim().to_string();
                if title.chars().count() > 200 {
                    return err("tiles", "A tile title holds at most 200 characters.");
                }
                if links.len() > MAX_FILTERS {
                    return err("tiles", "Too many filter links on a tile.");
                }
            }
            TileContent::Text { .. } => {}
        }
    }
    reflow(&mut d.tiles, None);
    Ok(())
}

/// What changed between two saves, in words ("tiles, filters").
pub fn change_summary(old: Option<&DashboardDraft>, new: &DashboardDraft) -> String {
    let Some(old) = old else {
        return "Created".into();
    };
    let mut parts = vec![];
    if old.name != new.name {
        parts.push("name");
    }
    if old.description != new.description {
        parts.push("description");
    }
    if old.folder_id != new.folder_id {
        parts.push("folder");
    }
    if old.filters != new.filters {
        parts.push("filters");
    }
    if old.refresh_minutes != new.refresh_minutes {
        parts.push("refresh");
    }
    if old.cache_minutes != new.cache_minutes {
        parts.push("cache time");
    }
    let layout = |d: &DashboardDraft| {
        d.tiles
            .iter()
            .map(|t| (t.id, t.x, t.y, t.w, t.h))
            .collect::<Vec<_>>()
    };
    let contents = |d: &DashboardDraft| {
        d.tiles
            .iter()
            .map(|t| (t.id, t.content.clone()))
            .collect::<Vec<_>>()
    };
    if contents(old) != contents(new) {
        parts.push("tiles");
    } else if layout(old) != layout(new) {
        parts.push("layout");
    }
    if parts.is_empty() {
        "No changes".into()
    } else {
        let mut s = parts.join(", ");
        s[..1].make_ascii_uppercase();
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(id: u32, x: u16, y: u16, w: u16, h: u16) -> Tile {
        Tile {
            id,
            x,
            y,
            w,
            h,
            content: TileContent::Heading {
                text: format!("t{id}"),
            },
        }
    }
    fn spots(tiles: &[Tile]) -> Vec<(u32, u16, u16, u16, u16)> {
        tiles.iter().map(|t| (t.id, t.x, t.y, t.w, t.h)).collect()
    }
    fn no_overlap(tiles: &[Tile]) {
        for a in tiles {
            for b in tiles {
                assert!(a.id == b.id || !a.overlaps(b), "{a:?} overlaps {b:?}");
            }
            assert!(a.right() <= COLUMNS);
        }
    }

    #[test]
    fn reflow_pushes_down_and_closes_gaps() {
        let mut t = vec![
            tile(1, 0, 0, 6, 4),
            tile(2, 3, 2, 6, 4),
            tile(3, 0, 20, 12, 2),
        ];
        reflow(&mut t, None);
        no_overlap(&t);
        assert_eq!(
            spots(&t),
            vec![(1, 0, 0, 6, 4), (2, 3, 4, 6, 4), (3, 0, 8, 12, 2)]
        );
        // Out-of-grid sizes are brought back.
        let mut t = vec![tile(1, 10, 0, 40, 0)];
        reflow(&mut t, None);
        assert_eq!(spots(&t), vec![(1, 0, 0, 12, 1)]);
    }

    #[test]
    fn a_moved_tile_keeps_its_place_and_others_make_room() {
        let mut t = vec![
            tile(1, 0, 0, 6, 4),
            tile(2, 6, 0, 6, 4),
            tile(3, 0, 4, 12, 2),
        ];
        place(&mut t, 3, 0, 0);
        no_overlap(&t);
        assert_eq!(
            spots(&t),
            vec![(3, 0, 0, 12, 2), (1, 0, 2, 6, 4), (2, 6, 2, 6, 4)]
        );
        resize(&mut t, 1, 12, 3);
        no_overlap(&t);
        assert_eq!(
            spots(&t),
            vec![(3, 0, 0, 12, 2), (1, 0, 2, 12, 3), (2, 6, 5, 6, 4)]
        );
    }

    #[test]
    fn steps_move_and_resize_within_the_grid() {
        let mut t = vec![
            tile(1, 0, 0, 12, 2),
            tile(2, 0, 2, 12, 3),
            tile(3, 0, 5, 6, 2),
        ];
        step(&mut t, 2, Step::Up);
        no_overlap(&t);
        assert_eq!(spots(&t)[0], (2, 0, 0, 12, 3));
        assert_eq!(spots(&t)[1], (1, 0, 3, 12, 2));
        step(&mut t, 2, Step::Down);
        no_overlap(&t);
        assert_eq!(
            spots(&t),
            vec![(1, 0, 0, 12, 2), (2, 0, 2, 12, 3), (3, 0, 5, 6, 2)]
        );
        step(&mut t, 3, Step::Right);
        step(&mut t, 3, Step::Wider);
        assert_eq!(spots(&t)[2], (3, 1, 5, 7, 2));
        for _ in 0..20 {
            step(&mut t, 3, Step::Wider);
            step(&mut t, 3, Step::Taller);
        }
        assert_eq!(spots(&t)[2], (3, 0, 5, 12, MAX_HEIGHT));
        step(&mut t, 1, Step::Down);
        no_overlap(&t);
        assert_eq!(t.iter().map(|t| t.id).collect::<Vec<_>>(), vec![2, 1, 3]);
        // The last tile stays put going down; the first going up.
        step(&mut t, 3, Step::Down);
        step(&mut t, 2, Step::Up);
        assert_eq!(t.iter().map(|t| t.id).collect::<Vec<_>>(), vec![2, 1, 3]);
    }

    #[test]
    fn new_tiles_go_beside_the_last_or_below() {
        let mut t = vec![];
        let a = append(
            &mut t,
            TileContent::Text {
                markdown: "a".into(),
            },
        );
        let b = append(
            &mut t,
            TileContent::Text {
                markdown: "b".into(),
            },
        );
        let c = append(&mut t, TileContent::Heading { text: "c".into() });
        assert_eq!((a, b, c), (1, 2, 3));
        assert_eq!(
            spots(&t),
            vec![(1, 0, 0, 6, 3), (2, 6, 0, 6, 3), (3, 0, 3, 12, 1)]
        );
    }

    #[test]
    fn filters_feed_parameters_by_name_or_by_choice() {
        let filters = vec![
            ParamSpec::new("country", ParamKind::Text),
            ParamSpec::new("period", ParamKind::DateRange),
            ParamSpec::new("limit", ParamKind::Integer),
        ];
        let params = vec![
            ParamSpec::new("Country", ParamKind::Enum),
            ParamSpec::new("span", ParamKind::DateRange),
            ParamSpec::new("limit", ParamKind::Date),
        ];
        let mut vals = UrlValues::new();
        vals.insert("country".into(), vec!["France".into()]);
        vals.insert("period".into(), vec!["last_30_days".into()]);
        vals.insert("limit".into(), vec!["5".into()]);
        // By name and fitting kind: country -> Country; limit's kinds do not fit.
        let out = tile_values(&filters, &[], &params, &vals);
        assert_eq!(out.len(), 1);
        assert_eq!(out["Country"], vec!["France".to_string()]);
        // Chosen: period -> span; country ignored.
        let links = vec![
            FilterLink {
                filter: "period".into(),
                param: Some("span".into()),
            },
            FilterLink {
                filter: "country".into(),
                param: None,
            },
        ];
        let out = tile_values(&filters, &links, &params, &vals);
        assert_eq!(out.len(), 1);
        assert_eq!(out["span"], vec!["last_30_days".to_string()]);
        // A filter's default applies when the URL has no value.
        let mut f = filters.clone();
        f[0].default = vec!["Spain".into()];
        let out = tile_values(&f, &[], &params, &UrlValues::new());
        assert_eq!(out["Country"], vec!["Spain".to_string()]);
    }

    #[test]
    fn drafts_are_checked() {
        let mut d = DashboardDraft {
            name: "  Sales ".into(),
            ..Default::default()
        };
        assert!(validate(&mut d).is_ok());
        assert_eq!(d.name, "Sales");
        d.tiles = vec![tile(1, 0, 0, 6, 2), tile(1, 6, 0, 6, 2)];
        assert_eq!(validate(&mut d).unwrap_err().0, "tiles");
        d.tiles = vec![];
        d.name = " ".into();
        assert_eq!(validate(&mut d).unwrap_err().0, "name");
        d.name = "x".into();
        d.filters = vec![ParamSpec::new("bad name", ParamKind::Text)];
        assert_eq!(validate(&mut d).unwrap_err().0, "filters");
    }

    #[test]
    fn summaries_name_what_changed() {
        let a = DashboardDraft {
            name: "A".into(),
            tiles: vec![tile(1, 0, 0, 6, 2)],
            ..Default::default()
        };
        assert_eq!(change_summary(None, &a), "Created");
        let mut b = a.clone();
        b.tiles[0].x = 3;
        assert_eq!(change_summary(Some(&a), &b), "Layout");
        b.name = "B".into();
        b.filters = vec![ParamSpec::new("x", ParamKind::Text)];
        assert_eq!(change_summary(Some(&a), &b), "Name, filters, layout");
    }

    #[test]
    fn old_layouts_still_open() {
        // A tile saved without a place or size gets the defaults.
        let d: DashboardDraft = serde_json::from_str(
            r#"{"name":"Old","tiles":[{"id":1,"content":{"type":"text","markdown":"hi"}}]}"#,
        )
        .unwrap();
        assert_eq!((d.tiles[0].w, d.tiles[0].h), (6, 4));
    }
}
