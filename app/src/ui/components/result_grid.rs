//! The results grid shared by the workbench and insight pages: a virtual grid that shows
//! only the rows in view, pages from the server snapshot and sorts on the server.
use crate::{
    api::workbench::fetch_rows,
    model::{
        query::Column,
        run::{RunState, Sort},
    },
    ui::{
        components::{
            feedback::{plural, thousands},
            run::RunCtl,
        },
        js,
    },
};
use leptos::{html, prelude::*};
use std::collections::HashMap;

pub const ROW_H: f64 = 28.0;
pub const PAGE: u64 = 200;

/// 1-based line and column of a 1-based character position.
fn line_col(sql: &str, position: u32) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for c in sql.chars().take(position.saturating_sub(1) as usize) {
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// True when a column holds numbers, from its type (`int8`, `NUMERIC(10,2)`, `DOUBLE`,
/// `INT UNSIGNED`…), or, when the engine names no type (SQLite expressions), from its values.
fn numeric_column(c: &Column, sample: &[Option<&str>]) -> bool {
    let ty = c.type_name.to_ascii_lowercase();
    let first = ty
        .split(|ch: char| ch == '(' || ch.is_whitespace())
        .next()
        .unwrap_or("");
    const NUMERIC: [&str; 22] = [
        "int",
        "int2",
        "int4",
        "int8",
        "integer",
        "smallint",
        "bigint",
        "tinyint",
        "mediumint",
        "serial",
        "serial4",
        "serial8",
        "bigserial",
        "numeric",
        "decimal",
        "real",
        "float",
        "float4",
        "float8",
        "double",
        "number",
        "money",
    ];
    if NUMERIC.contains(&first) {
        return true;
    }
    matches!(first, "" | "null" | "unknown")
        && sample.iter().any(Option::is_some)
        && sample.iter().flatten().all(|v| plain_number(v))
}

/// `-12`, `3.25`: digits with an optional sign and decimals (no exponent).
fn plain_number(v: &str) -> bool {
    let v = v.strip_prefix('-').unwrap_or(v);
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Columns that hold identifiers or years read better without separators (`2024`, not
/// `2,024`).
fn plain_column(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "id" || n.ends_with("_id") || n == "year" || n.ends_with("_year")
}

/// A number as a spreadsheet shows it: `1234567.5` → `1,234,567.5`. Anything else unchanged.
pub fn group_digits(v: &str) -> String {
    if !plain_number(v) {
        return v.to_string();
    }
    let (sign, rest) = match v.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", v),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut out = String::from(sign);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// The link of a cell (its column index and row), if it leads somewhere (a drill-down).
pub type CellLink = Callback<(usize, Vec<Option<String>>), Option<String>>;

/// Rows of a result by page, as they arrived from the server.
type Pages = RwSignal<HashMap<u64, Vec<Vec<Option<String>>>>>;

/// One cell: `None` while its page is not here, `Some(None)` for NULL.
fn cell_at(pages: Pages, r: u64, c: usize) -> Option<Option<String>> {
    pages.with(|m| {
        m.get(&(r / PAGE))
            .and_then(|p| p.get((r % PAGE) as usize))
            .and_then(|row| row.get(c).cloned())
    })
}

/// The result of a run (a [`RunCtl`]): status line, error, the selected cell's value and the
/// grid. Pages come from the server as the grid scrolls; header clicks sort on the server.
/// With `link_for`, cells of some columns are links (drill-downs): it gets the column index
/// and the whole row and returns the URL, if any.
#[component]
pub fn ResultPanel(
    ctl: RunCtl,
    #[prop(optional)] link_for: Option<CellLink>,
    /// In a dashboard tile: no status line, error or cell bar (the tile's head says rows and
    /// time and shows errors with Retry); a truncation warning still shows.
    #[prop(optional)]
    compact: bool,
) -> impl IntoView {
    let RunCtl {
        run,
        pages,
        selected,
        ..
    } = ctl;
    let scroll_top = RwSignal::new(0.0f64);
    let grid = NodeRef::<html::Div>::new();
    let viewport = 480.0f64;
    let row_count =
        Signal::derive(move || run.with(|r| r.as_ref().map(|r| r.row_count).unwrap_or(0)));
    let columns = Signal::derive(move || {
        run.with(|r| r.as_ref().map(|r| r.columns.clone()).unwrap_or_default())
    });
    let run_id = Signal::derive(move || run.with(|r| r.as_ref().map(|r| r.id.clone())));
    // A new result starts at its first row.
    Effect::new(move |_| {
        run_id.track();
        scroll_top.set(0.0);
        if let Some(el) = grid.get_untracked() {
            el.set_scroll_top(0);
        }
    });
    let layout = Layout::new(columns, pages);
    let window = Memo::new(move |_| {
        let n = row_count.get();
        let first = ((scroll_top.get() / ROW_H).floor() as u64).saturating_sub(10);
        let last = (first + (viewport / ROW_H).ceil() as u64 + 30).min(n);
        (first.min(n), last)
    });
    fetch_pages(ctl, window);
    let selected_value = move || {
        selected
            .get()
            .and_then(|(r, c)| cell_at(pages, r, c).map(|v| (r, c, v)))
    };
    view! {
        <RunStatus ctl compact/>
        <Show when=move || !columns.with(|c| c.is_empty())>
            <div class="cell-bar" class:hidden=compact data-test="cell-bar">
                {move || match selected_value() {
                    Some((r, c, v)) => {
                        let name = columns.with(|cols| cols.get(c).map(|x| x.name.clone()).unwrap_or_default());
                        let text = v.clone().unwrap_or_default();
                        view! {
                            <span class="muted small">{format!("Row {}, {}: ", r + 1, name)}</span>
                            <span class="mono cell-value">{match v { Some(t) => t.into_any(), None => view! { <span class="null">"NULL"</span> }.into_any() }}</span>
                            <button class="button small" data-test="copy-cell" on:click=move |_| js::copy_text(&text)>"Copy"</button>
                        }.into_any()
                    }
                    None => view! { <span class="muted small">"Click a cell to see and copy its value. Click a column header to sort."</span> }.into_any(),
                }}
            </div>
            <div class="grid-scroll" node_ref=grid data-test="grid" tabindex="0" style=format!("max-height:{viewport}px")
                on:scroll=move |ev| {
                    let t = event_target::<web_sys::Element>(&ev).scroll_top();
                    scroll_top.set(t as f64);
                }
                on:keydown=move |ev| {
                    if (ev.ctrl_key() || ev.meta_key()) && ev.key() == "c" {
                        if let Some((_, _, v)) = selected_value() { js::copy_text(&v.unwrap_or_default()); }
                    }
                }>
                <GridHead ctl columns layout/>
                <div class="grid-body" style=move || format!("height:{}px", row_count.get() as f64 * ROW_H)>
                    <GridRows ctl columns layout window link_for/>
                </div>
            </div>
        </Show>
    }
}

/// Column widths (from the header and the values of a loaded page) and which columns are
/// numbers (right-aligned, with thousands separators unless plain, e.g. ids and years).
#[derive(Clone, Copy)]
struct Layout {
    widths: Memo<Vec<f64>>,
    numeric: Memo<Vec<(bool, bool)>>,
}

impl Layout {
    fn new(columns: Signal<Vec<Column>>, pages: Pages) -> Self {
        let widths = Memo::new(move |_| {
            columns.with(|cols| {
                pages.with(|m| {
                    let sample = m.get(&0).or_else(|| m.values().next());
                    cols.iter()
                        .enumerate()
                        .map(|(i, c)| column_width(c, i, sample))
                        .collect::<Vec<f64>>()
                })
            })
        });
        let numeric = Memo::new(move |_| {
            columns.with(|cols| {
                pages.with(|m| {
                    let sample = m.get(&0).or_else(|| m.values().next());
                    cols.iter()
                        .enumerate()
                        .map(|(i, c)| {
                            let values: Vec<Option<&str>> = sample
                                .map(|rows| {
                                    rows.iter()
                                        .take(50)
                                        .map(|r| r.get(i).and_then(|v| v.as_deref()))
                                        .collect()
                                })
                                .unwrap_or_default();
                            (numeric_column(c, &values), plain_column(&c.name))
                        })
                        .collect::<Vec<(bool, bool)>>()
                })
            })
        });
        Layout { widths, numeric }
    }

    /// The grid's `grid-template-columns`: the row number, then each column.
    fn template(self) -> String {
        let w: Vec<String> = self.widths.get().iter().map(|w| format!("{w}px")).collect();
        format!("64px {}", w.join(" "))
    }
}

/// A column's width in pixels: its name, type and longest value among the first 50 rows.
fn column_width(c: &Column, i: usize, sample: Option<&Vec<Vec<Option<String>>>>) -> f64 {
    let longest = sample
        .map(|rows| {
            rows.iter()
                .take(50)
                .map(|r| {
                    r.get(i).and_then(|v| v.as_ref()).map_or(4, |v| {
                        let n = v.chars().count();
                        // Room for thousands separators.
                        if plain_number(v) {
                            n + n / 3
                        } else {
                            n
                        }
                    })
                })
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0);
    let chars = c
        .name
        .chars()
        .count()
        .max(c.type_name.chars().count())
        .max(longest);
    (chars as f64 * 8.2 + 28.0).clamp(80.0, 360.0)
}

/// Fetches the pages the visible rows need (and refetches partial ones while the result
/// grows); a sort over a growing result waits until the result is complete.
fn fetch_pages(ctl: RunCtl, window: Memo<(u64, u64)>) {
    let RunCtl {
        run,
        sort,
        pages,
        loading,
        generation,
        ..
    } = ctl;
    Effect::new(move |_| {
        let (first, last) = window.get();
        let (id, n, done) = match run.with(|r| {
            r.as_ref()
                .map(|r| (r.id.clone(), r.row_count, r.state.finished()))
        }) {
            Some(x) => x,
            None => return,
        };
        if id.0.is_empty() || last == 0 {
            return;
        }
        let s = sort.get();
        let gen = generation.get();
        if s.is_some() && !done {
            return;
        }
        for p in first / PAGE..=(last.saturating_sub(1)) / PAGE {
            let have = pages.with_untracked(|m| m.get(&p).map(|r| r.len() as u64));
            let want = PAGE.min(n - p * PAGE);
            if have.is_some_and(|h| h >= want) || loading.with_value(|l| l.contains(&(gen, p))) {
                continue;
            }
            loading.update_value(|l| {
                l.insert((gen, p));
            });
            let id = id.clone();
            // Part of the grid's paging loop, not an action: one request per missing page,
            // several at once, each answer kept only for the `generation` (run and sort) it
            // was asked for and unmarked in `loading` whatever happens.
            leptos::task::spawn_local(async move {
                let result = fetch_rows(id, p * PAGE, PAGE as u32, s).await;
                // The page may have been left meanwhile: `try_` accessors then do nothing.
                loading.try_update_value(|l| {
                    l.remove(&(gen, p));
                });
                if generation.try_get_untracked() != Some(gen) {
                    return;
                }
                if let Ok(page) = result {
                    pages.try_update(|m| {
                        m.insert(p, page.rows);
                    });
                }
            });
        }
    });
}

/// The status line (queued, running, rows and time, failed, cancelled), a truncation
/// warning, and the database's error with its line and column when the SQL as sent is known.
#[component]
fn RunStatus(ctl: RunCtl, compact: bool) -> impl IntoView {
    let RunCtl { run, sql_text, .. } = ctl;
    move || {
        run.get().map(|r| {
            let status = match r.state {
                RunState::Queued => match r.queue_position {
                    Some(p) if p > 0 => format!("Queued: {} ahead on this connection…", plural(u64::from(p), "run", "runs")),
                    _ => "Queued…".to_string(),
                },
                RunState::Running => format!("Running… {} so far", plural(r.row_count, "row", "rows")),
                RunState::Done => format!("{} in {} ms", plural(r.row_count, "row", "rows"), thousands(r.elapsed_ms)),
                RunState::Failed => format!("Failed after {} ms", thousands(r.elapsed_ms)),
                RunState::Cancelled => format!("Cancelled after {} ms", thousands(r.elapsed_ms)),
            };
            let truncated = r.truncated.then(|| {
                let note = if r.truncated_by_size {
                    format!("Truncated by size after {}: the result is larger than the server keeps. Select fewer or narrower columns, or export it.", plural(r.row_count, "row", "rows"))
                } else {
                    format!("Stopped at the {}-row limit: the result has more rows.", thousands(r.row_count))
                };
                view! { <span class="status warn" data-test="truncated" data-by-size=r.truncated_by_size.to_string()>{note}</span> }
            });
            if compact {
                return truncated.into_any();
            }
            view! {
                <div class=format!("wb-status state-{}", r.state.as_str()) data-test="run-status" data-state=r.state.as_str() data-rows=r.row_count.to_string()>
                    <span>{status}</span>
                    {truncated}
                </div>
                {r.error.clone().map(|e| {
                    // Positions refer to the SQL as sent; without that text (an insight's
                    // compiled SQL) there is no line to name.
                    let sent = sql_text.get_untracked();
                    let at = e.position.filter(|_| !sent.is_empty()).map(|p| { let (l, c) = line_col(&sent, p); format!(" (line {l}, column {c})") }).unwrap_or_default();
                    view! {
                        <div class="note error" role="alert" data-test="run-error">
                            <strong>{e.message.clone()}</strong>{at}
                            {e.code.clone().map(|c| view! { <span class="muted small">{format!(" SQLSTATE {c}")}</span> })}
                        </div>
                    }
                })}
            }.into_any()
        })
    }
}

/// The header: a button per column; a click sorts ascending, descending, then not at all
/// (on the server, once the result is complete).
#[component]
fn GridHead(ctl: RunCtl, columns: Signal<Vec<Column>>, layout: Layout) -> impl IntoView {
    let RunCtl {
        run,
        sort,
        pages,
        generation,
        selected,
        ..
    } = ctl;
    let click = move |i: usize| {
        if !run.with_untracked(|r| r.as_ref().is_some_and(|r| r.state.finished())) {
            return;
        }
        let next = match sort.get_untracked() {
            Some(s) if s.column as usize == i && !s.descending => Some(Sort {
                column: i as u32,
                descending: true,
            }),
            Some(s) if s.column as usize == i => None,
            _ => Some(Sort {
                column: i as u32,
                descending: false,
            }),
        };
        generation.update(|g| *g += 1);
        pages.set(HashMap::new());
        selected.set(None);
        sort.set(next);
    };
    view! {
        <div class="grid-head" style=move || format!("grid-template-columns:{}", layout.template())>
            <div class="gh rownum">"#"</div>
            {move || columns.get().into_iter().enumerate().map(|(i, c)| {
                let num = move || layout.numeric.with(|n| n.get(i).is_some_and(|x| x.0));
                let arrow = move || match sort.get() { Some(s) if s.column as usize == i => if s.descending { " ▼" } else { " ▲" }, _ => "" };
                view! {
                    <button class="gh" class:num=num data-test="col-header" title=format!("{} ({}) — click to sort", c.name, c.type_name) on:click=move |_| click(i)>
                        <span class="gh-name">{c.name.clone()}{arrow}</span>
                        <span class="gh-type">{c.type_name.clone()}</span>
                    </button>
                }
            }).collect_view()}
        </div>
    }
}

/// The rows in view (and a margin), each cell a value, NULL, a drill-down link, or "…" while
/// its page is on the way; a click selects a cell.
#[component]
fn GridRows(
    ctl: RunCtl,
    columns: Signal<Vec<Column>>,
    layout: Layout,
    window: Memo<(u64, u64)>,
    link_for: Option<CellLink>,
) -> impl IntoView {
    let RunCtl {
        pages, selected, ..
    } = ctl;
    let row_values = move |r: u64| -> Option<Vec<Option<String>>> {
        pages.with_untracked(|m| {
            m.get(&(r / PAGE))
                .and_then(|p| p.get((r % PAGE) as usize))
                .cloned()
        })
    };
    move || {
        let (first, last) = window.get();
        let ncols = columns.with(|c| c.len());
        let tpl = layout.template();
        let kinds = layout.numeric.get();
        (first..last).map(|r| {
            let kinds = kinds.clone();
            let tpl = tpl.clone();
            view! {
                <div class="grid-row" data-row=r.to_string() style=format!("top:{}px;grid-template-columns:{}", r as f64 * ROW_H, tpl)>
                    <div class="gc rownum">{(r + 1).to_string()}</div>
                    {(0..ncols).map(|c| {
                        let v = cell_at(pages, r, c);
                        let is_sel = move || selected.get() == Some((r, c));
                        let href = link_for.and_then(|f| row_values(r).and_then(|row| f.run((c, row))));
                        let (num, plain) = kinds.get(c).copied().unwrap_or((false, false));
                        let v = if num && !plain { v.map(|x| x.map(|t| group_digits(&t))) } else { v };
                        view! {
                            <div class="gc" class:num=num class:sel=is_sel on:click=move |_| selected.set(Some((r, c)))>
                                {match (v, href) {
                                    (None, _) => view! { <span class="pending">"…"</span> }.into_any(),
                                    (Some(None), _) => view! { <span class="null">"NULL"</span> }.into_any(),
                                    (Some(Some(t)), Some(h)) => view! { <a class="drill" data-test="drill-link" href=h>{t}</a> }.into_any(),
                                    (Some(Some(t)), None) => t.into_any(),
                                }}
                            </div>
                        }
                    }).collect_view()}
                </div>
            }
        }).collect_view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_become_lines_and_columns() {
        assert_eq!(line_col("select\n  nope", 10), (2, 3));
        assert_eq!(line_col("x", 1), (1, 1));
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(group_digits("1000000"), "1,000,000");
        assert_eq!(group_digits("-1234567.125"), "-1,234,567.125");
        assert_eq!(group_digits("999"), "999");
        assert_eq!(group_digits("0.5"), "0.5");
        assert_eq!(group_digits("1e10"), "1e10");
        assert_eq!(group_digits("12ab"), "12ab");
        assert_eq!(group_digits(""), "");
    }

    #[test]
    fn numeric_columns_come_from_types_or_values() {
        let col = |n: &str, t: &str| Column {
            name: n.into(),
            type_name: t.into(),
        };
        assert!(numeric_column(&col("n", "INT8"), &[]));
        assert!(numeric_column(&col("n", "NUMERIC(10,2)"), &[]));
        assert!(numeric_column(&col("n", "INT UNSIGNED"), &[]));
        assert!(!numeric_column(&col("n", "INTERVAL"), &[]));
        assert!(!numeric_column(&col("n", "TEXT"), &[Some("12")]));
        assert!(numeric_column(
            &col("n", ""),
            &[Some("12"), None, Some("-3.5")]
        ));
        assert!(!numeric_column(&col("n", ""), &[Some("12"), Some("x")]));
        assert!(!numeric_column(&col("n", ""), &[None]));
        assert!(plain_column("customer_id") && plain_column("Year") && !plain_column("total"));
    }
}
