//! An alert's condition: its fields as the form holds them (text, as typed), read from and
//! into a `Rule`, and the editor that shows the fields the chosen kind needs.
use crate::{
    api::alerts::alert_columns,
    error::AppError,
    model::{
        alert::{Op, RowCondition, Rule, Selector, Threshold},
        insight::{InsightId, UrlValues},
    },
    ui::components::feedback::FieldNote,
};
use leptos::prelude::*;

/// The condition's fields as the form holds them (text, as typed).
#[derive(Clone, Copy)]
pub(super) struct RuleFields {
    kind: RwSignal<String>,
    /// The threshold's column, or the per-row key column.
    column: RwSignal<String>,
    /// The per-row condition's column (optional).
    row_column: RwSignal<String>,
    selector: RwSignal<String>,
    op: RwSignal<String>,
    value: RwSignal<String>,
}

impl RuleFields {
    pub(super) fn new(rule: &Rule) -> Self {
        let (kind, column, selector, op, value) = match rule {
            Rule::AnyRows => (
                "any_rows",
                String::new(),
                Selector::First,
                Op::Gt,
                String::new(),
            ),
            Rule::NoRows => (
                "no_rows",
                String::new(),
                Selector::First,
                Op::Gt,
                String::new(),
            ),
            Rule::Always => (
                "always",
                String::new(),
                Selector::First,
                Op::Gt,
                String::new(),
            ),
            Rule::Threshold(t) => (
                "threshold",
                t.column.clone(),
                t.selector,
                t.op,
                t.value.to_string(),
            ),
            Rule::PerRow {
                key_column,
                condition,
            } => (
                "per_row",
                key_column.clone(),
                Selector::First,
                condition.as_ref().map(|c| c.op).unwrap_or(Op::Gt),
                condition
                    .as_ref()
                    .map(|c| c.value.to_string())
                    .unwrap_or_default(),
            ),
        };
        let row_column = match rule {
            Rule::PerRow {
                condition: Some(c), ..
            } => c.column.clone(),
            _ => String::new(),
        };
        RuleFields {
            kind: RwSignal::new(kind.to_string()),
            column: RwSignal::new(column),
            row_column: RwSignal::new(row_column),
            selector: RwSignal::new(selector.name().to_string()),
            op: RwSignal::new(op.symbol().to_string()),
            value: RwSignal::new(value),
        }
    }

    /// The rule the fields describe; a threshold or row condition needs a number.
    pub(super) fn rule(self) -> Result<Rule, AppError> {
        let number = self
            .value
            .get_untracked()
            .trim()
            .parse::<f64>()
            .unwrap_or(f64::NAN);
        let column = self.column.get_untracked().trim().to_string();
        let row_column = self.row_column.get_untracked().trim().to_string();
        let op = parse_op(&self.op.get_untracked());
        let rule = match self.kind.get_untracked().as_str() {
            "any_rows" => Rule::AnyRows,
            "no_rows" => Rule::NoRows,
            "always" => Rule::Always,
            "per_row" => Rule::PerRow {
                key_column: column,
                condition: (!row_column.is_empty()).then_some(RowCondition {
                    column: row_column,
                    op,
                    value: number,
                }),
            },
            _ => Rule::Threshold(Threshold {
                column,
                selector: Selector::from_name(&self.selector.get_untracked()),
                op,
                value: number,
            }),
        };
        let needs_number = matches!(
            &rule,
            Rule::Threshold(_)
                | Rule::PerRow {
                    condition: Some(_),
                    ..
                }
        );
        if needs_number && !number.is_finite() {
            return Err(AppError::field("value", "Enter a number."));
        }
        Ok(rule)
    }
}

/// The condition: its kind, then the fields that kind needs; column fields offer the
/// insight's columns (with the alert's values).
#[component]
pub(super) fn RuleEditor(
    rule: RuleFields,
    insight_id: InsightId,
    params: UrlValues,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let RuleFields {
        kind,
        column,
        row_column,
        selector,
        op,
        value,
    } = rule;
    let columns = LocalResource::new(move || alert_columns(insight_id, params.clone()));
    // One alert form is open at a time, on the insight's page or the alert's.
    let column_list_id = "alert-columns";
    view! {
        <datalist id=column_list_id data-test="alert-column-list">
            {move || columns.get().and_then(|r| r.ok()).unwrap_or_default().into_iter()
                .map(|c| view! { <option value=c.clone()></option> }).collect_view()}
        </datalist>
        <label>"Condition"
            <select data-test="rule-kind" prop:value=move || kind.get() on:change=move |ev| kind.set(event_target_value(&ev))>
                <option value="threshold">"A value crosses a threshold"</option>
                <option value="any_rows">"The result has rows"</option>
                <option value="no_rows">"The result has no rows"</option>
                <option value="per_row">"Per row (one alert per key value)"</option>
                <option value="always">"Always (send the result every run)"</option>
            </select>
        </label>
        <Show when=move || kind.get() == "threshold">
            <div class="row">
                <label>"Take"
                    <select data-test="rule-selector" prop:value=move || selector.get() on:change=move |ev| selector.set(event_target_value(&ev))>
                        {Selector::ALL.iter().map(|s| view! { <option value=s.name()>{s.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Column"<input data-test="rule-column" list=column_list_id autocomplete="off" prop:value=move || column.get() on:input=move |ev| column.set(event_target_value(&ev))/></label>
            </div>
            <FieldNote error field="column"/>
        </Show>
        <Show when=move || kind.get() == "per_row">
            <label>"Key column"<input data-test="rule-key" list=column_list_id autocomplete="off" prop:value=move || column.get() on:input=move |ev| column.set(event_target_value(&ev))/></label>
            <FieldNote error field="key_column"/>
            <label>"Only rows where column (optional)"<input list=column_list_id autocomplete="off" prop:value=move || row_column.get() on:input=move |ev| row_column.set(event_target_value(&ev))/></label>
            <FieldNote error field="condition_column"/>
        </Show>
        <Show when=move || kind.get() == "threshold" || (kind.get() == "per_row" && !row_column.get().trim().is_empty())>
            <div class="row">
                <label>"is"
                    <select data-test="rule-op" prop:value=move || op.get() on:change=move |ev| op.set(event_target_value(&ev))>
                        {[">", ">=", "<", "<=", "=", "!="].into_iter().map(|o| view! { <option value=o>{o}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Value"<input data-test="rule-value" inputmode="decimal" prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/></label>
            </div>
            <FieldNote error field="value"/>
        </Show>
    }
}

fn parse_op(s: &str) -> Op {
    match s {
        ">=" => Op::Ge,
        "<" => Op::Lt,
        "<=" => Op::Le,
        "=" => Op::Eq,
        "!=" => Op::Ne,
        _ => Op::Gt,
    }
}
