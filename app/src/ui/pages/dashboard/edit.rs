//! The edit mode's panels: adding tiles (an insight, a text, a heading), the filters (the
//! same settings as an insight's parameters), one tile's settings (title, table or chart,
//! which parameter each filter feeds) and the handles that move and resize a tile (drag its
//! bar or corner, or use the buttons; the keyboard works on a focused tile).
use super::page::Board;
use crate::{
    api::{dashboards::insight_tile, insights::insight_tree},
    error::AppError,
    model::{
        dashboard::{append, place, resize, step, CrossFilter, FilterLink, Step, TileContent},
        insight::{insight_groups, InsightId, ViewKind, ViewSpec},
        params::ParamSpec,
    },
    ui::components::{
        insight_select::{param_label, InsightChoices, InsightSelect},
        param_spec::{new_spec, ParamList, SpecEdit, SpecEditor},
    },
};
use leptos::prelude::*;

/// Grid gap and row height in CSS pixels (as in `style/main.css`, `.dash-grid`).
const GAP: f64 = 12.0;
const ROW: f64 = 80.0;

fn insight_choices() -> Signal<InsightChoices> {
    let tree = LocalResource::new(|| insight_tree(None, false));
    Signal::derive(move || {
        tree.get()
            .and_then(Result::ok)
            .map(|t| insight_groups(&t))
            .unwrap_or_default()
    })
}

#[component]
pub fn AddTiles(board: Board) -> impl IntoView {
    let choices = insight_choices();
    let chosen = RwSignal::new(None::<InsightId>);
    let error = RwSignal::new(None::<AppError>);
    // The tile's infos come first (its parameters, its view); the insight rides along with
    // the answer, as another may be chosen meanwhile.
    let fetch = Action::new_local(|insight: &InsightId| {
        let insight = *insight;
        async move { (insight, insight_tile(insight).await) }
    });
    Effect::new(move |_| match fetch.value().get() {
        Some((insight, Ok(mut info))) => {
            let mut new_id = 0;
            board.draft.update(|d| {
                new_id = append(
                    &mut d.tiles,
                    TileContent::Insight {
                        insight_id: insight,
                        title: String::new(),
                        view: None,
                        links: vec![],
                        click: None,
                    },
                )
            });
            info.id = new_id;
            board.infos.update(|m| {
                m.insert(new_id, info);
            });
            chosen.set(None);
            error.set(None);
        }
        Some((_, Err(e))) => error.set(Some(e)),
        None => {}
    });
    let add_insight = move |_| {
        let Some(insight) = chosen.get_untracked() else {
            error.set(Some(AppError::field(
                "insight",
                "Choose the insight the tile shows.",
            )));
            return;
        };
        fetch.dispatch(insight);
    };
    let add = move |c: TileContent| {
        board.draft.update(|d| {
            append(&mut d.tiles, c);
        })
    };
    view! {
        <div class="add-tiles" data-test="add-tiles">
            <label>"Add an insight"
                <InsightSelect choices value=Signal::derive(move || chosen.get()) set=Callback::new(move |v| chosen.set(v)) test="add-insight-select"/>
            </label>
            <button class="button" type="button" data-test="add-insight-tile" on:click=add_insight>"Add insight"</button>
            <button class="button" type="button" data-test="add-text-tile" on:click=move |_| add(TileContent::Text { markdown: "Write **Markdown** here.".into() })>"Add text"</button>
            <button class="button" type="button" data-test="add-heading-tile" on:click=move |_| add(TileContent::Heading { text: "Section".into() })>"Add heading"</button>
            {move || error.get().map(|e| view! { <span class="field-error">{e.to_string()}</span> })}
        </div>
    }
}

#[component]
pub fn FiltersEditor(board: Board, error: RwSignal<Option<AppError>>) -> impl IntoView {
    let choices = insight_choices();
    let list = ParamList {
        get: Signal::derive(move || board.draft.with(|d| d.filters.clone())),
        update: Callback::new(move |f: SpecEdit| board.draft.update(|d| f(&mut d.filters))),
    };
    let new_name = RwSignal::new(String::new());
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let name = new_name.get_untracked().trim().to_string();
        if name.is_empty() {
            return;
        }
        board.draft.update(|d| d.filters.push(new_spec(&name)));
        new_name.set(String::new());
    };
    let count = Memo::new(move |_| board.draft.with(|d| d.filters.len()));
    let open = RwSignal::new(count.get_untracked() > 0);
    // Made once, here: converted inside the list below, the signal would belong to one
    // rendering of the list and be gone while its editors still read it.
    let error: Signal<Option<AppError>> = error.into();
    view! {
        <section class="filters-editor" data-test="filters-editor">
            <button class="button" type="button" data-test="filters-toggle" aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)>{move || format!("Filters ({})", count.get())}</button>
            <Show when=move || open.get()>
                <p class="muted small">"A filter feeds the parameter of the same name on every tile; choose another parameter, or none, in a tile's settings. Its value is in the address as f_name."</p>
                {move || (0..count.get()).map(|i| view! { <SpecEditor list i error insights=choices/> }).collect_view()}
                <form class="inline-form" on:submit=add>
                    <input type="text" placeholder="Filter name, e.g. country" aria-label="New filter name" data-test="new-filter-name"
                        prop:value=move || new_name.get() on:input=move |ev| new_name.set(event_target_value(&ev))/>
                    <button class="button" type="submit" data-test="add-filter">"Add filter"</button>
                </form>
            </Show>
            {move || error.get().and_then(|e| e.field_message("filters")).map(|m| view! { <span class="field-error" data-test="filters-error">{m}</span> })}
        </section>
    }
}

/// The bar on top of a tile in edit mode: drag handle, move and size buttons, remove; and
/// the corner that resizes it.
#[component]
pub fn TileMenu(board: Board, tile_id: u32) -> impl IntoView {
    let drag = StoredValue::new_local(Vec::<WindowListenerHandle>::new());
    let start = move |ev: leptos::ev::PointerEvent, resizing: bool| {
        if ev.button() != 0 {
            return;
        }
        ev.prevent_default();
        let Some(grid) = document().query_selector(".dash-grid").ok().flatten() else {
            return;
        };
        let col = (f64::from(grid.client_width()) + GAP) / 12.0;
        let row = ROW + GAP;
        let snapshot = board.draft.with_untracked(|d| d.tiles.clone());
        let Some(t) = snapshot.iter().find(|t| t.id == tile_id).cloned() else {
            return;
        };
        let (px, py) = (ev.client_x(), ev.client_y());
        let moving = window_event_listener(leptos::ev::pointermove, move |e| {
            let dc = (f64::from(e.client_x() - px) / col).round() as i32;
            let dr = (f64::from(e.client_y() - py) / row).round() as i32;
            let mut tiles = snapshot.clone();
            if resizing {
                let w = (i32::from(t.w) + dc).clamp(1, 12) as u16;
                let h = (i32::from(t.h) + dr).clamp(1, 12) as u16;
                resize(&mut tiles, tile_id, w, h);
            } else {
                let x = (i32::from(t.x) + dc).clamp(0, 12 - i32::from(t.w)) as u16;
                let y = (i32::from(t.y) + dr).max(0) as u16;
                place(&mut tiles, tile_id, x, y);
            }
            board.draft.update(|d| d.tiles = tiles);
        });
        let done = window_event_listener(leptos::ev::pointerup, move |_| {
            drag.update_value(|hs| {
                for h in hs.drain(..) {
                    h.remove();
                }
            });
        });
        drag.update_value(|hs| {
            hs.push(moving);
            hs.push(done);
        });
    };
    let go = move |s: Step| board.draft.update(|d| step(&mut d.tiles, tile_id, s));
    let remove = move |_| {
        board.draft.update(|d| {
            d.tiles.retain(|t| t.id != tile_id);
            crate::model::dashboard::reflow(&mut d.tiles, None);
        })
    };
    let button = move |label: &'static str, text: &'static str, s: Step| {
        view! { <button class="button tiny ghost" type="button" title=label aria-label=label data-test=format!("tile-{}", label.to_lowercase().replace(' ', "-")) on:click=move |_| go(s)>{text}</button> }
    };
    view! {
        <div class="tile-menu" data-test="tile-menu">
            <span class="drag-handle" title="Drag to move" data-test="drag-handle" on:pointerdown=move |ev| start(ev, false)>"⠿"</span>
            {button("Move up", "↑", Step::Up)}
            {button("Move down", "↓", Step::Down)}
            {button("Move left", "←", Step::Left)}
            {button("Move right", "→", Step::Right)}
            {button("Narrower", "−W", Step::Narrower)}
            {button("Wider", "+W", Step::Wider)}
            {button("Shorter", "−H", Step::Shorter)}
            {button("Taller", "+H", Step::Taller)}
            <button class="button tiny danger" type="button" data-test="tile-remove" on:click=remove>"Remove"</button>
        </div>
        <span class="resize-handle" title="Drag to resize" data-test="resize-handle" on:pointerdown=move |ev| start(ev, true)></span>
    }
}

/// A tile's settings in edit mode, by kind.
#[component]
pub fn TileSettings(board: Board, tile_id: u32) -> impl IntoView {
    let content = Memo::new(move |_| {
        board.draft.with(|d| {
            d.tiles
                .iter()
                .find(|t| t.id == tile_id)
                .map(|t| t.content.clone())
        })
    });
    let update = move |f: Box<dyn FnOnce(&mut TileContent)>| {
        board.draft.update(|d| {
            if let Some(t) = d.tiles.iter_mut().find(|t| t.id == tile_id) {
                f(&mut t.content)
            }
        })
    };
    let params = Memo::new(move |_| {
        board.infos.with(|m| {
            m.get(&tile_id)
                .map(|i| i.params.clone())
                .unwrap_or_default()
        })
    });
    let filters = Memo::new(move |_| board.draft.with(|d| d.filters.clone()));
    // Rebuilt when the kind changes only: typing in these inputs must keep their focus.
    let kind = Memo::new(move |_| {
        content.with(|c| {
            c.as_ref().map(|c| match c {
                TileContent::Heading { .. } => 0u8,
                TileContent::Text { .. } => 1,
                TileContent::Insight { .. } => 2,
            })
        })
    });
    move || {
        match kind.get().and(content.get_untracked()) {
        Some(TileContent::Text { markdown }) => view! {
            <label class="block tile-settings">"Text (Markdown)"
                <textarea rows="4" data-test="tile-markdown" prop:value=markdown
                    on:input=move |ev| { let v = event_target_value(&ev); update(Box::new(move |c| if let TileContent::Text { markdown } = c { *markdown = v })) }></textarea>
            </label>
        }.into_any(),
        Some(TileContent::Heading { text }) => view! {
            <label class="block tile-settings">"Heading"
                <input type="text" data-test="tile-heading-input" prop:value=text
                    on:input=move |ev| { let v = event_target_value(&ev); update(Box::new(move |c| if let TileContent::Heading { text } = c { *text = v })) }/>
            </label>
        }.into_any(),
        Some(TileContent::Insight { title, view, .. }) => {
            let kind = match &view {
                None => "saved",
                Some(v) if v.kind == ViewKind::Chart => "chart",
                Some(_) => "table",
            };
            view! {
                <details class="tile-settings" data-test="tile-settings">
                    <summary>"Tile settings"</summary>
                    <label>"Title"
                        <input type="text" placeholder="The insight's name" data-test="tile-title-input" prop:value=title
                            on:input=move |ev| { let v = event_target_value(&ev); update(Box::new(move |c| if let TileContent::Insight { title, .. } = c { *title = v })) }/>
                    </label>
                    <label>"Show"
                        <select data-test="tile-view" prop:value=kind on:change=move |ev| {
                            let v = event_target_value(&ev);
                            let saved = board.infos.with_untracked(|m| m.get(&tile_id).map(|i| i.view.clone()).unwrap_or_default());
                            update(Box::new(move |c| if let TileContent::Insight { view, .. } = c {
                                *view = match v.as_str() {
                                    "table" => Some(ViewSpec { kind: ViewKind::Table, chart: saved.chart }),
                                    "chart" => Some(ViewSpec { kind: ViewKind::Chart, chart: saved.chart }),
                                    _ => None,
                                };
                            }))
                        }>
                            <option value="saved">"As the insight opens"</option>
                            <option value="table">"Table"</option>
                            <option value="chart">"Chart"</option>
                        </select>
                    </label>
                    {move || (!filters.with(Vec::is_empty)).then(|| {
                        let (column, filter) = match content.get_untracked() {
                            Some(TileContent::Insight { click: Some(cf), .. }) => (cf.column, cf.filter),
                            _ => (String::new(), String::new()),
                        };
                        // Both halves are kept here while only one is chosen.
                        let col_sig = RwSignal::new(column.clone());
                        let filter_sig = RwSignal::new(filter.clone());
                        let set_click = move |column: Option<String>, filter: Option<String>| {
                            if let Some(c) = column { col_sig.set(c); }
                            if let Some(f) = filter { filter_sig.set(f); }
                            let cf = CrossFilter { column: col_sig.get_untracked().trim().to_string(), filter: filter_sig.get_untracked() };
                            update(Box::new(move |c| if let TileContent::Insight { click, .. } = c {
                                *click = (!cf.column.is_empty() && !cf.filter.is_empty()).then_some(cf);
                            }))
                        };
                        view! {
                            <fieldset class="cross-filter" data-test="tile-cross-filter">
                                <legend>"Cross-filter"</legend>
                                <label>"A click on column"
                                    <input type="text" data-test="tile-click-column" placeholder="e.g. country" prop:value=column
                                        on:change=move |ev| set_click(Some(event_target_value(&ev)), None)/>
                                </label>
                                <label>"sets the filter"
                                    <select data-test="tile-click-filter" prop:value=filter on:change=move |ev| set_click(None, Some(event_target_value(&ev)))>
                                        <option value="">"None (drill-downs only)"</option>
                                        {filters.get().into_iter().map(|f| view! { <option value=f.name.clone()>{param_label(&f)}</option> }).collect_view()}
                                    </select>
                                </label>
                            </fieldset>
                        }
                    })}
                    {move || filters.get().into_iter().map(|f| {
                        let links = match content.get_untracked() {
                            Some(TileContent::Insight { links, .. }) => links,
                            _ => vec![],
                        };
                        let chosen = links.iter().find(|l| l.filter == f.name).map(|l| l.param.clone().unwrap_or_else(|| "-".into())).unwrap_or_default();
                        let fname = f.name.clone();
                        view! {
                            <label data-test=format!("tile-link-{}", f.name)>{format!("Filter “{}” feeds", param_label(&f))}
                                <select prop:value=chosen.clone() on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    let fname = fname.clone();
                                    update(Box::new(move |c| if let TileContent::Insight { links, .. } = c {
                                        links.retain(|l| l.filter != fname);
                                        match v.as_str() {
                                            "" => {}
                                            "-" => links.push(FilterLink { filter: fname, param: None }),
                                            p => links.push(FilterLink { filter: fname, param: Some(p.to_string()) }),
                                        }
                                    }))
                                }>
                                    <option value="">"Automatic (same name)"</option>
                                    <option value="-">"Nothing (ignored)"</option>
                                    {params.get().into_iter().map(|p: ParamSpec| view! { <option value=p.name.clone()>{param_label(&p)}</option> }).collect_view()}
                                </select>
                            </label>
                        }
                    }).collect_view()}
                </details>
            }.into_any()
        }
        None => ().into_any(),
    }
    }
}
