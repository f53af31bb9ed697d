//! Compiling the model's parsed searches into one SQL condition.

use clientele_model::search::{DetailSearch, Direction, Expr as Term, FieldSet};
use clientele_model::{AttributeMap, StorageType, keys};
use sea_orm::sea_query::{
    Alias, Asterisk, Expr, ExprTrait, NullOrdering, Order, Query, SelectStatement,
};

use crate::row::Column;
use crate::sql::{Dialect, all, any, col};

/// The columns of storage fields that are in the map (and not dynamic fields), in order.
pub(crate) fn columns_of(map: &AttributeMap, storage_fields: &[String]) -> Vec<Column> {
    let mut out: Vec<Column> = Vec::new();
    for f in storage_fields {
        let Some(row) = map.by_storage(f) else {
            continue;
        };
        if row.storage_type == StorageType::DynamicField || row.key == keys::PASSWORD {
            continue;
        }
        if out.iter().any(|c| c.name == row.storage) {
            continue;
        }
        out.push(Column {
            name: row.storage.clone(),
            is_text: row.storage_type != StorageType::Integer,
        });
    }
    out
}

/// The condition for a parsed term over `fields`: a positive word matches when any field
/// matches it, a negated word when none does (a `NULL` field never matches).
pub(crate) fn compile(d: Dialect, term: &Term, fields: &[Column], case_insensitive: bool) -> Expr {
    match term {
        Term::And(children) => all(children
            .iter()
            .map(|c| compile(d, c, fields, case_insensitive))
            .collect()),
        Term::Or(children) => any(children
            .iter()
            .map(|c| compile(d, c, fields, case_insensitive))
            .collect()),
        Term::Not(child) => compile(d, child, fields, case_insensitive).not(),
        Term::Match(pattern) => any(fields
            .iter()
            .map(|f| d.matches(col(&f.name), f.is_text, pattern, case_insensitive))
            .collect()),
    }
}

/// What a user search needs to know about the table.
pub(crate) struct UserTable<'a> {
    pub(crate) map: &'a AttributeMap,
    pub(crate) key: &'a str,
    pub(crate) customer_id: &'a str,
    pub(crate) valid: Option<&'a str>,
}

impl UserTable<'_> {
    /// The columns of a field set.
    pub(crate) fn fields(
        &self,
        set: FieldSet,
        search_fields: &[String],
        postmaster_fields: &[String],
    ) -> Vec<Column> {
        match set {
            FieldSet::SearchFields {
                exclude_customer_id,
            } => {
                let customer_id_storage = self.map.storage_of(keys::CUSTOMER_ID);
                let fields: Vec<String> = search_fields
                    .iter()
                    .filter(|f| !(exclude_customer_id && Some(f.as_str()) == customer_id_storage))
                    .cloned()
                    .collect();
                columns_of(self.map, &fields)
            }
            FieldSet::PostmasterFields => columns_of(self.map, postmaster_fields),
            FieldSet::Login => vec![Column {
                name: self.key.to_owned(),
                is_text: true,
            }],
            FieldSet::CustomerId => vec![Column {
                name: self.customer_id.to_owned(),
                is_text: true,
            }],
        }
    }

    /// `valid_id IN (1)` when the table has a validity column.
    pub(crate) fn valid_filter(&self, valid_only: bool) -> Option<Expr> {
        match (valid_only, self.valid) {
            (true, Some(v)) => Some(col(v).is_in([1])),
            _ => None,
        }
    }

    /// The WHERE condition of a detail search (OTOBO `CustomerSearchDetail`): input fields
    /// case-insensitive and whole-value, selections exact, excluded logins case-insensitive,
    /// customer ids exact, all AND-ed.
    pub(crate) fn detail_condition(&self, d: Dialect, q: &DetailSearch) -> Expr {
        let mut parts = Vec::new();
        for c in &q.conditions {
            match self.column_of(&c.attribute) {
                Some(column) => {
                    parts.push(d.matches(col(&column.name), column.is_text, &c.pattern, true))
                }
                // An attribute this source does not store matches nothing.
                None => parts.push(crate::sql::truth(false)),
            }
        }
        for s in &q.selections {
            if s.values.is_empty() {
                continue;
            }
            match self.column_of(&s.attribute) {
                Some(column) if column.is_text => {
                    parts.push(d.in_exact(col(&column.name), &s.values))
                }
                Some(column) => {
                    let ints: Vec<i64> = s
                        .values
                        .iter()
                        .filter_map(|v| v.trim().parse().ok())
                        .collect();
                    if ints.is_empty() {
                        parts.push(crate::sql::truth(false));
                    } else {
                        parts.push(col(&column.name).is_in(ints));
                    }
                }
                None => parts.push(crate::sql::truth(false)),
            }
        }
        if !q.exclude_logins.is_empty() {
            parts.push(d.in_folded(col(self.key), &q.exclude_logins).not());
        }
        if !q.customer_ids.is_empty() {
            parts.push(d.in_exact(col(self.customer_id), &q.customer_ids));
        }
        if let Some(v) = self.valid_filter(q.valid_only) {
            parts.push(v);
        }
        all(parts)
    }

    /// ORDER BY of a detail search: each attribute case-insensitively (missing values first
    /// when ascending), then the login descending unless it was ordered (OTOBO's tie-breaker).
    pub(crate) fn detail_order(&self, d: Dialect, q: &DetailSearch, select: &mut SelectStatement) {
        let mut login_ordered = false;
        for (attribute, direction) in &q.order_by {
            let Some(column) = self.column_of(attribute) else {
                continue;
            };
            if attribute == keys::LOGIN {
                login_ordered = true;
            }
            let order = match direction {
                Direction::Ascending => Order::Asc,
                Direction::Descending => Order::Desc,
            };
            let key = if column.is_text {
                d.folded_sort_key(col(&column.name))
            } else {
                col(&column.name)
            };
            let nulls = match direction {
                Direction::Ascending => NullOrdering::First,
                Direction::Descending => NullOrdering::Last,
            };
            if d == Dialect::Postgres {
                // PostgreSQL sorts NULL last when ascending; MySQL and SQLite already agree.
                select.order_by_expr_with_nulls(key, order, nulls);
            } else {
                select.order_by_expr(key, order);
            }
        }
        let login = d.sort_key(col(self.key));
        if login_ordered {
            select.order_by_expr(login, Order::Asc);
        } else {
            select.order_by_expr(login, Order::Desc);
        }
    }

    fn column_of(&self, attribute: &str) -> Option<Column> {
        if attribute == keys::LOGIN {
            return Some(Column {
                name: self.key.to_owned(),
                is_text: true,
            });
        }
        let row = self.map.by_key(attribute)?;
        if row.storage_type == StorageType::DynamicField || row.key == keys::PASSWORD {
            return None;
        }
        Some(Column {
            name: row.storage.clone(),
            is_text: row.storage_type != StorageType::Integer,
        })
    }
}

/// The alias of the limited result a user search sorts ([`first_hits`]).
const HITS: &str = "clientele_hits";

/// `SELECT * FROM (<select> LIMIT n) AS clientele_hits`: the first `limit` matching rows in
/// whatever order the database finds them cheapest, for the caller to sort.
///
/// A user search returns at most `limit` users sorted by login. Sorting *before* the limit
/// (`ORDER BY login LIMIT n`) makes PostgreSQL either walk the login index and test row after
/// row until `n` match, or fetch and sort every match: on a million users a common term
/// (`*ann*`) or a prefix (`smi*`) took 4–6× as long as OTOBO's unordered statement. Limiting
/// first lets the planner stop at the first `n` matches of the cheapest scan (a trigram or
/// prefix index, or a sequential scan that ends early), and only those `n` rows are sorted.
/// When fewer than `limit` users match, the result is exactly the same; when more match,
/// which `limit` of them are returned is the database's choice, as in OTOBO.
///
/// `key` (the login column) is added to the inner select list when `layout` does not select
/// it, so the outer query can sort by it.
pub(crate) fn first_hits(
    mut select: SelectStatement,
    layout: &crate::row::Layout,
    key: &str,
    limit: usize,
) -> SelectStatement {
    if !layout.columns.iter().any(|c| c.name == key) {
        select.expr(col(key));
    }
    crate::sql::limit(&mut select, limit);
    let mut outer = Query::select();
    outer
        .column(Asterisk)
        .from_subquery(select, Alias::new(HITS));
    outer
}
