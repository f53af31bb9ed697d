//! Compiling the model's parsed searches into one SQL condition.

use clientele_model::dynamic_field::{DynamicFieldOperand, ValueColumn};
use clientele_model::search::DynamicFieldOperator;
use clientele_model::search::{DetailSearch, Direction, Expr as Term, FieldSet, Part, Pattern};
use clientele_model::{AttributeMap, StorageType, ValidationError, keys};
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, JoinType, NullOrdering, Order, Query, SelectStatement,
};

use crate::dynamic_fields::{Field, Fields};
use crate::indexes::SearchIndexes;
use crate::row::Column;
use crate::sql::{Dialect, all, any, col, tcol};

/// The columns of storage fields that are in the map (and not dynamic fields), in order.
pub(crate) fn columns_of(map: &AttributeMap, storage_fields: &[impl AsRef<str>]) -> Vec<Column> {
    let mut out: Vec<Column> = Vec::new();
    for f in storage_fields {
        let Some(row) = map.by_storage(f.as_ref()) else {
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
    Matcher {
        d,
        fields,
        case_insensitive,
        indexes: &SearchIndexes::default(),
    }
    .condition(term)
}

/// Where a word sits in a term: whether every matching user must match it, and whether it is
/// negated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// AND-ed at the top: [`Matcher::fts_driver`] may serve it.
    Top,
    /// Under an OR: an index can narrow it on its own.
    Positive,
    /// Under a NOT: no index helps.
    Negated,
}

/// Compiles a parsed term, using the search indexes a backend found on its table.
pub(crate) struct Matcher<'a> {
    pub(crate) d: Dialect,
    pub(crate) fields: &'a [Column],
    pub(crate) case_insensitive: bool,
    pub(crate) indexes: &'a SearchIndexes,
}

impl Matcher<'_> {
    /// The condition for the term (see [`compile`]).
    pub(crate) fn condition(&self, term: &Term) -> Expr {
        self.place(term, Place::Top)
    }

    fn place(&self, term: &Term, place: Place) -> Expr {
        match term {
            Term::And(children) => all(children.iter().map(|c| self.place(c, place)).collect()),
            Term::Or(children) => {
                let inner = if place == Place::Negated {
                    place
                } else {
                    Place::Positive
                };
                any(children.iter().map(|c| self.place(c, inner)).collect())
            }
            Term::Not(child) => {
                let inner = if place == Place::Negated {
                    Place::Positive
                } else {
                    Place::Negated
                };
                self.place(child, inner).not()
            }
            Term::Match(pattern) => {
                let fts = self.fts(pattern);
                let word = any(self
                    .fields
                    .iter()
                    .map(|f| {
                        let (column, ci) = (col(&f.name), self.case_insensitive);
                        let exact = match place {
                            Place::Negated => self.d.matches(column, f.is_text, pattern, ci),
                            Place::Top | Place::Positive => {
                                self.d.matches_positive(column, f.is_text, pattern, ci)
                            }
                        };
                        match self.guard(f, pattern) {
                            Some(guard) => guard.and(exact),
                            None => exact,
                        }
                    })
                    .collect());
                // PostgreSQL: one `LIKE` on the joined lower-case search text first.
                let word = if place != Place::Negated
                    && self.d == Dialect::Postgres
                    && self.case_insensitive
                    && crate::sql::needs_text(pattern)
                    && self.indexes.search_text_over(self.fields)
                {
                    self.d.search_text_filter(pattern).and(word)
                } else {
                    word
                };
                match (place, fts) {
                    // `id IN (…)`: under an OR each word reads its own rows from the index.
                    (Place::Positive, Some((table, query))) => self
                        .d
                        .cust(
                            &format!(
                                "{{}} IN (SELECT rowid FROM {table} WHERE {table} MATCH {{}})"
                            ),
                            vec![col("id"), Expr::val(query)],
                        )
                        .and(word),
                    _ => word,
                }
            }
        }
    }

    /// The b-tree guard of one field on MySQL ([`Dialect::index_guard`]), text fields only.
    pub(crate) fn guard(&self, field: &Column, pattern: &Pattern) -> Option<Expr> {
        if !field.is_text || pattern.matches_everything() {
            return None;
        }
        self.d.index_guard(&field.name, pattern, self.indexes)
    }

    /// SQLite: the FTS table and `MATCH` query that find every row where a field could match
    /// `pattern`, when the trigram index covers the fields, the pattern has a literal of three
    /// characters or more, and the b-tree guards do not already narrow every field by three
    /// characters or more (a prefix range is the tighter of the two).
    fn fts(&self, pattern: &Pattern) -> Option<(&str, String)> {
        if self.d != Dialect::Sqlite || pattern.matches_everything() {
            return None;
        }
        let table = self.indexes.fts_over(self.fields)?;
        let narrow = |f: &Column| {
            self.indexes.nocase.contains(&f.name) && crate::sql::sqlite_like(pattern).1 >= 3
        };
        if self.fields.iter().all(narrow) {
            return None;
        }
        let literals: Vec<String> = pattern
            .parts()
            .iter()
            .filter_map(|p| match p {
                Part::Literal(l) if l.chars().count() >= 3 && !l.contains('\0') => {
                    Some(format!("\"{}\"", l.replace('"', "\"\"")))
                }
                _ => None,
            })
            .collect();
        if literals.is_empty() {
            return None;
        }
        let columns: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        Some((
            table,
            format!("{{{}}} : ({})", columns.join(" "), literals.join(" AND ")),
        ))
    }

    /// SQLite: the FTS table and `MATCH` query of the first word AND-ed at the top of `term`
    /// that the trigram index can serve. The caller joins the search to the index's rows
    /// ([`from_fts`]): SQLite then reads matching rows from the index in turn and stops at the
    /// limit, where `id IN (…)` would first collect every match.
    pub(crate) fn fts_driver(&self, term: &Term) -> Option<(&str, String)> {
        match term {
            Term::Match(pattern) => self.fts(pattern),
            Term::And(children) => children.iter().find_map(|c| self.fts_driver(c)),
            _ => None,
        }
    }
}

/// Makes `select` read from the rows of FTS table `fts` that `query` matches, joined to user
/// table `table` by row id, the index's rows first: `FROM (SELECT rowid … MATCH ?) CROSS JOIN
/// table WHERE id = rowid …` (SQLite keeps the tables of a `CROSS JOIN` in the order written). Left to
/// itself, SQLite's planner may scan the user table and probe the index row by row.
pub(crate) fn from_fts(select: &mut SelectStatement, table: &str, fts: &str, query: String) {
    let mut rows = Query::select();
    rows.expr_as(Expr::cust("rowid"), Alias::new(FTS_ID))
        .from(Alias::new(fts))
        .and_where(Expr::cust_with_values(format!("{fts} MATCH ?"), [query]));
    let same_row = tcol(table, "id").equals((Alias::new(FTS_ROWS), Alias::new(FTS_ID)));
    // sea-query writes a CROSS JOIN without its ON, so the condition goes into the WHERE.
    select
        .from_subquery(rows, Alias::new(FTS_ROWS))
        .join(JoinType::CrossJoin, Alias::new(table), same_row.clone())
        .and_where(same_row);
}

/// The alias of the FTS rows [`from_fts`] joins, and of their row id.
const FTS_ROWS: &str = "clientele_fts";
const FTS_ID: &str = "clientele_fts_id";

/// The tests of one dynamic field: per operator, the OR-ed operands.
pub(crate) type FieldTests = Vec<(DynamicFieldOperator, Vec<DynamicFieldOperand>)>;

/// The tests of a detail search on each dynamic field, in the order the fields first appear.
#[derive(Default)]
struct DynamicTests<'f>(Vec<(&'f Field, FieldTests)>);

impl<'f> DynamicTests<'f> {
    fn push(
        &mut self,
        field: &'f Field,
        op: DynamicFieldOperator,
        operands: Vec<DynamicFieldOperand>,
    ) {
        match self.0.iter_mut().find(|(f, _)| f.id == field.id) {
            Some((_, tests)) => tests.push((op, operands)),
            None => self.0.push((field, vec![(op, operands)])),
        }
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
        settings: &clientele_backend::SourceSettings,
    ) -> Vec<Column> {
        let names = settings.storage_fields(set, self.key, self.customer_id);
        match set {
            // The key and customer-id columns are text whatever the map says.
            FieldSet::Login | FieldSet::CustomerId => names
                .into_iter()
                .map(|name| Column {
                    name: name.to_owned(),
                    is_text: true,
                })
                .collect(),
            _ => columns_of(self.map, &names),
        }
    }

    /// `valid_id IN (1)` when the table has a validity column.
    ///
    /// On MySQL it is written `valid_id + 0 IN (1)`, which no index can serve: nearly every
    /// user is valid, yet MariaDB would otherwise read a search's rows through the `valid_id`
    /// index of OTOBO's foreign key (a row lookup per user instead of one pass over the table),
    /// twice as slow for a term that matches few users.
    pub(crate) fn valid_filter(&self, d: Dialect, valid_only: bool) -> Option<Expr> {
        match (valid_only, self.valid) {
            (true, Some(v)) if d == Dialect::MySql => {
                Some(d.cust("{} + 0", vec![col(v)]).is_in([1]))
            }
            (true, Some(v)) => Some(col(v).is_in([1])),
            _ => None,
        }
    }

    /// The WHERE condition of a detail search (OTOBO `CustomerSearchDetail`): input fields
    /// case-insensitive and whole-value, selections exact, dynamic-field conditions as
    /// [`DynamicFieldCondition`](clientele_model::search::DynamicFieldCondition) describes
    /// them, excluded logins case-insensitive, customer ids exact, all AND-ed. A condition or
    /// selection on a dynamic-field attribute is a `Like` or `Equals` test of its stored
    /// values. A search value a dynamic field's type refuses (a date that is none) is an error
    /// naming the attribute and the value.
    pub(crate) fn detail_condition(
        &self,
        d: Dialect,
        q: &DetailSearch,
        dynamic: &Fields,
    ) -> Result<Expr, ValidationError> {
        let mut parts = Vec::new();
        // Per dynamic-field attribute, its tests: all of them apply to one stored value.
        let mut tests = DynamicTests::default();
        for c in &q.conditions {
            if let Some(field) = self.dynamic_field(&c.attribute, dynamic) {
                let operand = match field.definition.field_type.column() {
                    ValueColumn::Text => (
                        DynamicFieldOperator::Like,
                        DynamicFieldOperand::Pattern(c.pattern.clone()),
                    ),
                    _ => match c.pattern.as_exact() {
                        Some(exact) => field.definition.search_operand(
                            &field.key,
                            DynamicFieldOperator::Equals,
                            exact,
                        )?,
                        None => field.definition.search_operand(
                            &field.key,
                            DynamicFieldOperator::Like,
                            &c.pattern.display(),
                        )?,
                    },
                };
                tests.push(field, operand.0, vec![operand.1]);
                continue;
            }
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
            if let Some(field) = self.dynamic_field(&s.attribute, dynamic) {
                let mut operands = Vec::with_capacity(s.values.len());
                for v in &s.values {
                    let (_, operand) = field.definition.search_operand(
                        &field.key,
                        DynamicFieldOperator::Equals,
                        v,
                    )?;
                    operands.push(operand);
                }
                tests.push(field, DynamicFieldOperator::Equals, operands);
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
        for condition in &q.dynamic_fields {
            let active: Vec<_> = condition.active().collect();
            if active.is_empty() {
                continue;
            }
            let Some(field) = self.dynamic_field(&condition.attribute, dynamic) else {
                // Not a dynamic field of this source: nobody here has a value for it.
                parts.push(crate::sql::truth(false));
                continue;
            };
            for (op, values) in active {
                let mut operator = op;
                let mut operands = Vec::with_capacity(values.len());
                for v in values {
                    let (o, operand) = field.definition.search_operand(&field.key, op, v)?;
                    operator = o;
                    operands.push(operand);
                }
                tests.push(field, operator, operands);
            }
        }
        for (field, field_tests) in tests.0 {
            parts.push(crate::dynamic_fields::condition(
                d,
                self.key,
                field,
                &field_tests,
            ));
        }
        if !q.exclude_logins.is_empty() {
            parts.push(d.in_folded(col(self.key), &q.exclude_logins).not());
        }
        if !q.customer_ids.is_empty() {
            parts.push(d.in_exact(col(self.customer_id), &q.customer_ids));
        }
        if let Some(v) = self.valid_filter(d, q.valid_only) {
            parts.push(v);
        }
        Ok(all(parts))
    }

    /// The loaded field of a dynamic-field map row.
    fn dynamic_field<'f>(&self, attribute: &str, dynamic: &'f Fields) -> Option<&'f Field> {
        let row = self.map.by_key(attribute)?;
        if row.storage_type != StorageType::DynamicField {
            return None;
        }
        dynamic.by_key(attribute)
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
                // OTOBO's `''` sorts where `NULL` does: both are "no value".
                d.folded_sort_key(d.empty_as_null(col(&column.name)))
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

/// MySQL: the ids of at most `limit` users matching one prefix word (`smi*`) over `fields`, as
/// a `UNION` of one limited select per field, each a range of that field's generated
/// lower-case index ([`Dialect::index_guard`]); `None` unless every field has such an index
/// and the word starts with text.
///
/// With the fields OR-ed in one select, MariaDB merges the four index ranges, which collects
/// *every* match before the limit applies: a common prefix (`smi*`: some 60 000 of a million
/// users) took 10 ms, half as long again as OTOBO's scan that stops at the 250th match. Each
/// branch of the union stops at `limit` rows of its own range (3 ms below OTOBO's scan at a
/// million users), and a rare prefix reads a few index entries per field.
pub(crate) fn mysql_prefix_union(
    matcher: &Matcher<'_>,
    term: &Term,
    table: &str,
    valid: Option<Expr>,
    limit: usize,
) -> Option<(String, sea_orm::sea_query::Values)> {
    use sea_orm::sea_query::MysqlQueryBuilder;
    let Term::Match(pattern) = term else {
        return None;
    };
    if matcher.d != Dialect::MySql
        || matcher.fields.is_empty()
        || i64::try_from(limit).is_err()
        || !matches!(pattern.parts().first(), Some(Part::Literal(_)))
        || !matcher
            .fields
            .iter()
            .all(|f| f.is_text && matcher.indexes.lowered.contains_key(&f.name))
    {
        return None;
    }
    let mut branches = Vec::new();
    let mut values = Vec::new();
    for f in matcher.fields {
        let guard = matcher.guard(f, pattern)?;
        let mut q = Query::select();
        q.expr(tcol(table, "id"))
            .from(Alias::new(table))
            .and_where(guard)
            .and_where(matcher.d.matches_positive(
                col(&f.name),
                f.is_text,
                pattern,
                matcher.case_insensitive,
            ));
        if let Some(v) = valid.clone() {
            q.and_where(v);
        }
        crate::sql::limit(&mut q, limit);
        let (sql, branch_values) = q.build(MysqlQueryBuilder);
        branches.push(format!("({sql})"));
        values.extend(branch_values.0);
    }
    Some((
        format!("{} LIMIT {limit}", branches.join(" UNION ")),
        sea_orm::sea_query::Values(values),
    ))
}
