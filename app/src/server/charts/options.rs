//! ECharts options built with `charming` from a shaped result and the chart spec. Value
//! formatting (tooltip, axis and labels) is added in the browser from the spec's number
//! format (`frontend/charts/charts.js`), since ECharts takes formatters as functions.
use super::shape::{Series, Shaped};
use crate::model::chart::{ChartKind, ChartSpec, LegendPos, Stack};
use charming::{
    component::{Axis, Grid, Legend, LegendType},
    datatype::{CompositeValue, DataPointItem},
    element::{
        AreaStyle, AxisPointer, AxisPointerType, AxisType, Color, Emphasis, EmphasisFocus, Label,
        LabelPosition, NameLocation, Orient, Tooltip, Trigger,
    },
    series::{Bar, Line, Pie, Scatter},
    Chart,
};

fn values(s: &Series) -> Vec<CompositeValue> {
    s.values.iter().map(|v| CompositeValue::from(*v)).collect()
}

fn legend(spec: &ChartSpec, entries: usize) -> Option<Legend> {
    if entries < 2 && spec.kind != ChartKind::Pie {
        return None;
    }
    let l = Legend::new().type_(LegendType::Scroll);
    Some(match spec.legend {
        LegendPos::Hidden => return None,
        LegendPos::Top => l.top(0),
        LegendPos::Bottom => l.bottom(0),
        LegendPos::Right => l.right(0).top("middle").orient(Orient::Vertical),
    })
}

fn grid(spec: &ChartSpec, has_legend: bool) -> Grid {
    let top = if has_legend && spec.legend == LegendPos::Top {
        36
    } else {
        16
    };
    let bottom = if has_legend && spec.legend == LegendPos::Bottom {
        36
    } else {
        8
    };
    let right = if has_legend && spec.legend == LegendPos::Right {
        140
    } else {
        16
    };
    Grid::new()
        .left(8)
        .right(right)
        .top(top)
        .bottom(bottom)
        .contain_label(true)
}

fn label(spec: &ChartSpec, position: LabelPosition) -> Option<Label> {
    spec.labels
        .then(|| Label::new().show(true).position(position))
}

/// The option for a category chart (bar, line, area, combo) or a pie.
pub fn categories(spec: &ChartSpec, shaped: &Shaped) -> Chart {
    let colors: Vec<Color> = spec
        .palette
        .colors()
        .iter()
        .map(|c| Color::from(*c))
        .collect();
    let mut chart = Chart::new().color(colors);
    if spec.kind == ChartKind::Pie {
        return pie(chart, spec, shaped);
    }
    let horizontal = spec.horizontal && spec.kind == ChartKind::Bar;
    let category_axis = Axis::new()
        .type_(AxisType::Category)
        .data(shaped.categories.clone())
        .name(spec.x_title.clone())
        .name_location(NameLocation::Middle)
        .name_gap(28);
    let mut value_axis = Axis::new()
        .type_(AxisType::Value)
        .name(spec.y_title.clone())
        .name_location(NameLocation::Middle)
        .name_gap(48);
    if spec.stack == Stack::Percent {
        value_axis = value_axis.max(1);
    }
    let mut second_axis = false;
    for s in &shaped.series {
        let as_line = match spec.kind {
            ChartKind::Line | ChartKind::Area => true,
            ChartKind::Combo => spec.lines.contains(&s.column),
            _ => false,
        };
        if as_line {
            second_axis |= spec.kind == ChartKind::Combo;
            chart = chart.series(line_series(spec, shaped, s));
        } else {
            chart = chart.series(bar_series(spec, s, horizontal));
        }
    }
    let legend = legend(spec, shaped.series.len());
    let has_legend = legend.is_some();
    if let Some(l) = legend {
        chart = chart.legend(l);
    }
    chart = chart.grid(grid(spec, has_legend)).tooltip(
        Tooltip::new()
            .trigger(Trigger::Axis)
            .axis_pointer(AxisPointer::new().type_(if spec.kind == ChartKind::Bar {
                AxisPointerType::Shadow
            } else {
                AxisPointerType::Line
            })),
    );
    if horizontal {
        chart = chart.x_axis(value_axis).y_axis(category_axis.inverse(true));
    } else {
        chart = chart.x_axis(category_axis).y_axis(value_axis);
        if second_axis {
            chart = chart.y_axis(Axis::new().type_(AxisType::Value));
        }
    }
    chart
}

/// A pie (or donut) of the first series over the categories.
fn pie(chart: Chart, spec: &ChartSpec, shaped: &Shaped) -> Chart {
    let Some(first) = shaped.series.first() else {
        return chart;
    };
    let data: Vec<DataPointItem> = shaped
        .categories
        .iter()
        .zip(&first.values)
        .filter_map(|(c, v)| v.map(|v| DataPointItem::new(v).name(c.clone())))
        .collect();
    let radius: CompositeValue = if spec.donut {
        vec!["42%", "70%"].into()
    } else {
        "70%".into()
    };
    let pie = Pie::new()
        .name(first.name.clone())
        .radius(radius)
        .center(vec!["50%", "55%"])
        .avoid_label_overlap(true)
        .data(data)
        .label(
            Label::new()
                .show(spec.labels || shaped.categories.len() <= 12)
                .position(LabelPosition::Outside),
        );
    let mut chart = chart
        .tooltip(Tooltip::new().trigger(Trigger::Item))
        .series(pie);
    if let Some(l) = legend(spec, shaped.categories.len()) {
        chart = chart.legend(l);
    }
    chart
}

/// One series drawn as a line (or an area); a combo's lines go on the second axis.
fn line_series(spec: &ChartSpec, shaped: &Shaped, s: &Series) -> Line {
    let stacked = spec.stack != Stack::None;
    let mut line = Line::new()
        .name(s.name.clone())
        .data(values(s))
        .show_symbol(shaped.categories.len() <= 60)
        .connect_nulls(false)
        .emphasis(Emphasis::new().focus(EmphasisFocus::Series));
    if spec.kind == ChartKind::Area {
        line = line.area_style(AreaStyle::new().opacity(if stacked { 0.7 } else { 0.25 }));
        if stacked {
            line = line.stack("total");
        }
    }
    if spec.kind == ChartKind::Combo {
        line = line.y_axis_index(1);
    }
    if let Some(l) = label(spec, LabelPosition::Top) {
        line = line.label(l);
    }
    line
}

/// One series drawn as bars, stacked when the chart stacks.
fn bar_series(spec: &ChartSpec, s: &Series, horizontal: bool) -> Bar {
    let stacked = spec.stack != Stack::None;
    let mut bar = Bar::new()
        .name(s.name.clone())
        .data(values(s))
        .emphasis(Emphasis::new().focus(EmphasisFocus::Series));
    if stacked {
        bar = bar.stack("total");
    }
    let position = if stacked {
        LabelPosition::Inside
    } else if horizontal {
        LabelPosition::Right
    } else {
        LabelPosition::Top
    };
    if let Some(l) = label(spec, position) {
        bar = bar.label(l);
    }
    bar
}

/// The option for a scatter chart: `[x, y]` or `[x, y, size]` points per group (the browser
/// scales the size column to symbol sizes).
pub fn scatter(spec: &ChartSpec, sets: &[(String, Vec<Vec<f64>>)]) -> Chart {
    let colors: Vec<Color> = spec
        .palette
        .colors()
        .iter()
        .map(|c| Color::from(*c))
        .collect();
    let mut chart = Chart::new()
        .color(colors)
        .tooltip(Tooltip::new().trigger(Trigger::Item))
        .x_axis(
            Axis::new()
                .type_(AxisType::Value)
                .scale(true)
                .name(if spec.x_title.is_empty() {
                    spec.x.clone().unwrap_or_default()
                } else {
                    spec.x_title.clone()
                })
                .name_location(NameLocation::Middle)
                .name_gap(28),
        )
        .y_axis(
            Axis::new()
                .type_(AxisType::Value)
                .scale(true)
                .name(spec.y_title.clone())
                .name_location(NameLocation::Middle)
                .name_gap(48),
        );
    for (name, pts) in sets {
        let data: Vec<CompositeValue> = pts
            .iter()
            .map(|p| CompositeValue::from(p.clone()))
            .collect();
        chart = chart.series(Scatter::new().name(name.clone()).data(data));
    }
    let legend = legend(spec, sets.len());
    let has_legend = legend.is_some();
    if let Some(l) = legend {
        chart = chart.legend(l);
    }
    chart.grid(grid(spec, has_legend))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::chart::Missing;

    fn shaped() -> Shaped {
        Shaped {
            categories: vec!["2024-01".into(), "2024-02".into()],
            series: vec![
                Series {
                    name: "DE".into(),
                    column: "revenue".into(),
                    values: vec![Some(10.0), None],
                },
                Series {
                    name: "FR".into(),
                    column: "revenue".into(),
                    values: vec![Some(5.0), Some(2.5)],
                },
            ],
            ..Default::default()
        }
    }

    fn json(c: &Chart) -> serde_json::Value {
        serde_json::to_value(c).unwrap()
    }

    #[test]
    fn a_line_chart_has_one_series_per_group_with_gaps() {
        let spec = ChartSpec {
            kind: ChartKind::Line,
            missing: Missing::Gap,
            ..Default::default()
        };
        let j = json(&categories(&spec, &shaped()));
        assert_eq!(
            j["xAxis"]["data"],
            serde_json::json!(["2024-01", "2024-02"])
        );
        assert_eq!(j["series"][0]["type"], "line");
        assert_eq!(j["series"][0]["name"], "DE");
        assert_eq!(j["series"][0]["data"], serde_json::json!([10.0, null]));
        assert_eq!(j["tooltip"]["trigger"], "axis");
        assert!(j["legend"].is_object(), "two series get a legend");
    }

    #[test]
    fn stacked_horizontal_bars_and_combo_axes() {
        let spec = ChartSpec {
            kind: ChartKind::Bar,
            horizontal: true,
            stack: Stack::Stacked,
            labels: true,
            ..Default::default()
        };
        let j = json(&categories(&spec, &shaped()));
        assert_eq!(j["yAxis"]["type"], "category");
        assert_eq!(j["xAxis"]["type"], "value");
        assert_eq!(j["series"][1]["stack"], "total");
        assert_eq!(j["series"][0]["label"]["show"], true);

        let mut s = shaped();
        s.series[1].column = "orders".into();
        let combo = ChartSpec {
            kind: ChartKind::Combo,
            lines: vec!["orders".into()],
            ..Default::default()
        };
        let j = json(&categories(&combo, &s));
        assert_eq!(j["series"][0]["type"], "bar");
        assert_eq!(j["series"][1]["type"], "line");
        assert_eq!(j["series"][1]["yAxisIndex"], 1.0);
        assert_eq!(j["yAxis"].as_array().map(Vec::len), Some(2));
    }

    #[test]
    fn pies_name_their_slices_and_donuts_have_a_hole() {
        let spec = ChartSpec {
            kind: ChartKind::Pie,
            donut: true,
            ..Default::default()
        };
        let j = json(&categories(&spec, &shaped()));
        assert_eq!(j["series"][0]["type"], "pie");
        assert_eq!(j["series"][0]["radius"], serde_json::json!(["42%", "70%"]));
        // The NULL of February is no slice.
        assert_eq!(
            j["series"][0]["data"],
            serde_json::json!([{"value": 10.0, "name": "2024-01"}])
        );
    }

    #[test]
    fn scatter_points_keep_their_size() {
        let spec = ChartSpec {
            kind: ChartKind::Scatter,
            x: Some("a".into()),
            ..Default::default()
        };
        let j = json(&scatter(&spec, &[("b".into(), vec![vec![1.0, 2.0, 3.0]])]));
        assert_eq!(j["series"][0]["data"], serde_json::json!([[1.0, 2.0, 3.0]]));
        assert_eq!(j["xAxis"]["name"], "a");
    }
}
