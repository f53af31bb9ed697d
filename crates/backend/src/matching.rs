//! Evaluating a parsed query against records in memory: the reference semantics the SQL and
//! LDAP compilers must agree with, used by the in-memory backend.

use clientele_model::search::{
    DetailSearch, Direction, DynamicFieldCondition, DynamicFieldOperator, Expr, FieldSet, Pattern,
    UserQuery,
};
use clientele_model::{AttributeValue, CustomerUser, keys};

use crate::settings::SourceSettings;

/// The attribute keys a field set covers, for a source's settings.
pub fn field_keys(settings: &SourceSettings, fields: FieldSet) -> Vec<String> {
    let storage = |key| settings.map.storage_of(key).unwrap_or(key);
    let login = storage(keys::LOGIN);
    let customer_id = storage(keys::CUSTOMER_ID);
    settings.keys_for(&settings.storage_fields(fields, login, customer_id))
}

fn values(user: &CustomerUser, key: &str) -> Vec<String> {
    match user.attribute(key) {
        None => Vec::new(),
        Some(AttributeValue::List(l)) => l,
        Some(v) => vec![v.to_text()],
    }
}

/// Does the user match the expression over the given attribute keys? A missing value matches
/// nothing (as SQL `NULL LIKE …` does not); a negated word matches when no field matches.
pub fn matches_expr(
    user: &CustomerUser,
    expr: &Expr,
    keys: &[String],
    case_sensitive: bool,
) -> bool {
    let values: Vec<String> = keys.iter().flat_map(|k| values(user, k)).collect();
    expr.matches_values(&values, case_sensitive)
}

/// Does the user satisfy the whole query (expression and validity)?
pub fn matches_query(user: &CustomerUser, query: &UserQuery, settings: &SourceSettings) -> bool {
    if query.valid_only && !user.validity.is_valid() {
        return false;
    }
    let keys = field_keys(settings, query.fields);
    matches_expr(user, &query.expr, &keys, query.case_sensitive)
}

/// Does the user satisfy a detail search's conditions (not its order or limit)?
pub fn matches_detail(user: &CustomerUser, search: &DetailSearch) -> bool {
    if search.valid_only && !user.validity.is_valid() {
        return false;
    }
    let login = user.login.as_str();
    if search
        .exclude_logins
        .iter()
        .any(|l| l.to_lowercase() == login.to_lowercase())
    {
        return false;
    }
    if !search.customer_ids.is_empty()
        && !search
            .customer_ids
            .iter()
            .any(|c| c == user.customer_id.as_str())
    {
        return false;
    }
    for cond in &search.conditions {
        if !values(user, &cond.attribute)
            .iter()
            .any(|v| cond.pattern.matches(v, false))
        {
            return false;
        }
    }
    for sel in &search.selections {
        if sel.values.is_empty() {
            continue;
        }
        if !values(user, &sel.attribute)
            .iter()
            .any(|v| sel.values.contains(v))
        {
            return false;
        }
    }
    search
        .dynamic_fields
        .iter()
        .all(|cond| matches_dynamic_field(user, cond))
}

/// Does one of the user's values of the condition's attribute pass every active operator (any
/// of each operator's values)? Without a type to go by, an integer value is compared as an
/// integer and anything else as text: case-insensitively, ordered by the lower-cased text in
/// code-point order (which orders `YYYY-MM-DD HH:MM:SS` dates in time).
fn matches_dynamic_field(user: &CustomerUser, cond: &DynamicFieldCondition) -> bool {
    let active: Vec<_> = cond.active().collect();
    if active.is_empty() {
        return true;
    }
    let stored: Vec<AttributeValue> = match user.attribute(&cond.attribute) {
        None => Vec::new(),
        Some(AttributeValue::List(l)) => l.into_iter().map(AttributeValue::Text).collect(),
        Some(v) => vec![v],
    };
    stored.iter().any(|v| {
        active
            .iter()
            .all(|(op, wanted)| wanted.iter().any(|w| holds(*op, v, w)))
    })
}

fn holds(op: DynamicFieldOperator, stored: &AttributeValue, wanted: &str) -> bool {
    use std::cmp::Ordering::*;
    let ordering = match stored {
        AttributeValue::Integer(i) => match wanted.trim().parse::<i64>() {
            Ok(w) => i.cmp(&w),
            Err(_) => return false,
        },
        other => {
            let text = other.to_text();
            if op == DynamicFieldOperator::Like {
                return Pattern::from_wildcards(wanted).matches(&text, false);
            }
            text.to_lowercase().cmp(&wanted.to_lowercase())
        }
    };
    match op {
        DynamicFieldOperator::Equals | DynamicFieldOperator::Like => ordering == Equal,
        DynamicFieldOperator::GreaterThan => ordering == Greater,
        DynamicFieldOperator::GreaterThanEquals => ordering != Less,
        DynamicFieldOperator::SmallerThan => ordering == Less,
        DynamicFieldOperator::SmallerThanEquals => ordering != Greater,
    }
}

/// Sorts users as a detail search asks: each order key compared case-insensitively, missing
/// values first in ascending order, and the login (descending unless ordered) breaking ties.
pub fn sort_detail(users: &mut [CustomerUser], search: &DetailSearch) {
    let login_ordered = search.order_by.iter().any(|(k, _)| k == keys::LOGIN);
    users.sort_by(|a, b| {
        for (key, dir) in &search.order_by {
            let va = a.attribute(key).map(|v| v.to_text().to_lowercase());
            let vb = b.attribute(key).map(|v| v.to_text().to_lowercase());
            let ord = va.cmp(&vb);
            let ord = if *dir == Direction::Descending {
                ord.reverse()
            } else {
                ord
            };
            if ord.is_ne() {
                return ord;
            }
        }
        if login_ordered {
            std::cmp::Ordering::Equal
        } else {
            b.login.as_str().cmp(a.login.as_str())
        }
    });
}
