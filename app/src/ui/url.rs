//! Addresses and what goes into them: an insight's parameter values as `p_name=value`, a
//! dashboard's filter values as `f_name=value`, and the address a drill-down link opens for
//! one row.
use crate::{
    model::{
        dashboard::DashboardId,
        insight::{DrillLink, DrillSource, DrillTarget, InsightId, UrlValues},
        params::ParamSpec,
    },
    ui::components::layout::urlencode,
};

/// Today's date where the code runs (the browser's clock in the browser).
pub fn today() -> chrono::NaiveDate {
    #[cfg(feature = "hydrate")]
    {
        let d = js_sys::Date::new_0();
        chrono::NaiveDate::from_ymd_opt(d.get_full_year() as i32, d.get_month() + 1, d.get_date())
            .unwrap_or_default()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        chrono::Utc::now().date_naive()
    }
}

/// The query string for a set of parameter values (`p_name=value`, repeated for lists).
pub fn query_string(values: &UrlValues) -> String {
    prefixed_query("p_", values)
}

/// Values as `<prefix>name=value` pairs (`p_` for an insight's parameters, `f_` for a
/// dashboard's filters).
pub fn prefixed_query(prefix: &str, values: &UrlValues) -> String {
    let mut parts = vec![];
    for (name, vs) in values {
        for v in vs {
            parts.push(format!("{prefix}{}={}", name, urlencode(v)));
        }
    }
    parts.join("&")
}

/// Parameter values from the URL, for the given specs.
pub fn url_values(specs: &[ParamSpec], get_all: impl Fn(&str) -> Option<Vec<String>>) -> UrlValues {
    prefixed_values("p_", specs, get_all)
}

/// Values named `<prefix>name` in the URL, for the given specs.
pub fn prefixed_values(
    prefix: &str,
    specs: &[ParamSpec],
    get_all: impl Fn(&str) -> Option<Vec<String>>,
) -> UrlValues {
    specs
        .iter()
        .filter_map(|s| {
            get_all(&format!("{prefix}{}", s.name))
                .map(|v| {
                    (
                        s.name.clone(),
                        v.into_iter().filter(|x| !x.is_empty()).collect::<Vec<_>>(),
                    )
                })
                .filter(|(_, v)| !v.is_empty())
        })
        .collect()
}

/// The URL a drill-down link opens for one row, or `None` when a value it needs is missing.
pub fn drill_href(
    link: &DrillLink,
    columns: &[String],
    row: &[Option<String>],
    current: &UrlValues,
) -> Option<String> {
    let col = |name: &str| {
        columns
            .iter()
            .position(|c| c == name)
            .and_then(|i| row.get(i).cloned().flatten())
    };
    match &link.target {
        DrillTarget::Insight {
            insight_id,
            mapping,
        } => {
            let mut values = UrlValues::new();
            for (target, source) in mapping {
                let v = match source {
                    DrillSource::Column(c) => col(c).map(|v| vec![v]),
                    DrillSource::Constant(v) => Some(vec![v.clone()]),
                    DrillSource::Param(p) => current.get(p).cloned(),
                };
                if let Some(v) = v {
                    values.insert(target.clone(), v);
                }
            }
            let q = query_string(&values);
            Some(if q.is_empty() {
                format!("/insights/{}", insight_id.0)
            } else {
                format!("/insights/{}?{q}", insight_id.0)
            })
        }
        DrillTarget::Url { template } => {
            let mut out = template.clone();
            for (i, c) in columns.iter().enumerate() {
                let needle = format!("{{{{{c}}}}}");
                if out.contains(&needle) {
                    let v = row.get(i).cloned().flatten().unwrap_or_default();
                    out = out.replace(&needle, &urlencode(&v).replace('/', "%2F"));
                }
            }
            Some(out)
        }
    }
}

/// The insight's address with these parameter values.
pub fn insight_url(id: InsightId, values: &UrlValues) -> String {
    let q = query_string(values);
    if q.is_empty() {
        format!("/insights/{}", id.0)
    } else {
        format!("/insights/{}?{q}", id.0)
    }
}

/// A dashboard's address with these filter values (`f_name=value`).
pub fn dashboard_url(id: DashboardId, values: &UrlValues) -> String {
    let q = prefixed_query("f_", values);
    if q.is_empty() {
        format!("/dashboards/{}", id.0)
    } else {
        format!("/dashboards/{}?{q}", id.0)
    }
}

/// `url` with `view=` added when one is chosen (`table` or `chart`).
pub fn with_view(url: String, view: Option<String>) -> String {
    match view {
        Some(v) => with_param(url, "view", &v),
        None => url,
    }
}

/// `url` with `key=value` added to its query string.
pub fn with_param(url: String, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={}", urlencode(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drill_hrefs_fill_the_target_parameters() {
        let link = DrillLink {
            column: "customer".into(),
            target: DrillTarget::Insight {
                insight_id: InsightId(7),
                mapping: vec![
                    ("id".into(), DrillSource::Column("customer_id".into())),
                    ("period".into(), DrillSource::Param("period".into())),
                ],
            },
        };
        let cols = vec!["customer".to_string(), "customer_id".to_string()];
        let row = vec![Some("Ann & Bob".to_string()), Some("42".to_string())];
        let mut cur = UrlValues::new();
        cur.insert("period".into(), vec!["last_7_days".into()]);
        assert_eq!(
            drill_href(&link, &cols, &row, &cur).unwrap(),
            "/insights/7?p_id=42&p_period=last_7_days"
        );
        let url = DrillLink {
            column: "customer".into(),
            target: DrillTarget::Url {
                template: "https://x.example/c/{{customer}}".into(),
            },
        };
        assert_eq!(
            drill_href(&url, &cols, &row, &cur).unwrap(),
            "https://x.example/c/Ann%20%26%20Bob"
        );
    }

    #[test]
    fn query_strings_repeat_lists() {
        let mut v = UrlValues::new();
        v.insert("a".into(), vec!["x y".into(), "z".into()]);
        v.insert("b".into(), vec!["2024-01-01~2024-01-31".into()]);
        assert_eq!(
            query_string(&v),
            "p_a=x%20y&p_a=z&p_b=2024-01-01~2024-01-31"
        );
    }
}
