//! The page's query string, decoded exactly once.
//!
//! leptos_router's `use_query_map` percent-decodes each value a second time after the URL
//! parser already did, so a value holding `%` comes out changed: a shared link whose `next`
//! carries `p_kind=a%26b` lands on `p_kind=a&b`, and a parameter value `%41` turns into
//! `A`. Pages read their query through [`use_query`] instead.
use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// Decoded query pairs, in order; a key may repeat.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query(Vec<(String, String)>);

impl Query {
    /// Parses a raw query string (with or without its leading `?`).
    pub fn parse(search: &str) -> Self {
        let raw = search.strip_prefix('?').unwrap_or(search);
        Self(
            url::form_urlencoded::parse(raw.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    /// Every value of `key`, or `None` when it is absent.
    pub fn get_all(&self, key: &str) -> Option<Vec<String>> {
        let all: Vec<String> = self
            .0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect();
        (!all.is_empty()).then_some(all)
    }
}

/// The current page's query, following navigation.
pub fn use_query() -> Memo<Query> {
    let location = use_location();
    Memo::new(move |_| Query::parse(&location.search.get()))
}

#[cfg(test)]
mod tests {
    use super::Query;

    #[test]
    fn values_are_decoded_once() {
        let q = Query::parse("?next=%2Finsights%2F1%3Fp_kind%3Da%2526b%2520c&p=%2541&p=x+y");
        assert_eq!(
            q.get("next").as_deref(),
            Some("/insights/1?p_kind=a%26b%20c")
        );
        assert_eq!(
            q.get_all("p"),
            Some(vec!["%41".to_string(), "x y".to_string()])
        );
        assert_eq!(q.get("missing"), None);
        assert_eq!(q.get_all("missing"), None);
    }
}
