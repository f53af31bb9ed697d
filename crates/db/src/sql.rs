//! The SQL pieces that differ between SQLite, PostgreSQL and MySQL/MariaDB, built with
//! sea-query so every value from a user is a bound parameter.
//!
//! The one rule the three must agree on is text comparison (SPEC §4, issue 3):
//!
//! * **case-insensitive** (the default) is "lower-case both sides, then compare", with the
//!   database's Unicode-aware `LOWER()` on PostgreSQL and MySQL; SQLite's `LOWER()` folds ASCII
//!   only, so SQLite compares with the Rust `regex` crate's Unicode case folding through the
//!   `REGEXP` function sqlx registers on each connection;
//! * **case-sensitive** compares exactly;
//! * **accents always count**: MariaDB's default collations are accent-insensitive (`ä` = `a`),
//!   so on MySQL both sides are cast to `BINARY` after lower-casing;
//! * **a missing value matches nothing**: a `NULL` (or OTOBO's empty string) never matches a
//!   pattern, so `!word` finds users whose phone is `NULL`.

use clientele_model::search::{Part, Pattern};
use sea_orm::DbBackend;
use sea_orm::sea_query::{Alias, BinOper, Expr, ExprTrait, Func, SelectStatement, Value};

/// The database family a statement is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
    MySql,
}

/// The SQLite collation that compares Unicode-lower-cased text.
pub(crate) const FOLDED_COLLATION: &str = "clientele_folded";

/// Longest list bound as `IN (?, ?, …)`; longer lists travel as one JSON parameter.
pub(crate) const IN_LIST_MAX: usize = 1000;

pub(crate) fn col(name: &str) -> Expr {
    Expr::col(Alias::new(name))
}

pub(crate) fn tcol(table: &str, name: &str) -> Expr {
    Expr::col((Alias::new(table), Alias::new(name)))
}

/// `1 = 1` / `1 = 0`: portable constants for empty AND / OR.
pub(crate) fn truth(value: bool) -> Expr {
    Expr::cust(if value { "1 = 1" } else { "1 = 0" })
}

/// Escapes `\`, `%` and `_` so a literal matches only itself in `LIKE … ESCAPE '\'`.
pub(crate) fn like_escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len() + 4);
    for c in literal.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The `LIKE` pattern of a [`Pattern`]: literals escaped, wildcards `%`.
pub(crate) fn like_pattern(pattern: &Pattern) -> String {
    pattern
        .parts()
        .iter()
        .map(|p| match p {
            Part::Literal(l) => like_escape(l),
            Part::Wildcard => "%".to_owned(),
        })
        .collect()
}

/// A `LIKE` pattern every value matching `pattern` also matches: the characters `exact`
/// accepts stand for themselves (escaped), every other one becomes `_` (any one character), a
/// wildcard `%`. With how many characters it starts before its first `_` or `%` (what a b-tree
/// range narrows by).
fn like_superset(pattern: &Pattern, exact: impl Fn(char) -> bool) -> (String, usize) {
    let mut out = String::new();
    let mut leading = 0;
    let mut open = true;
    for p in pattern.parts() {
        match p {
            Part::Literal(l) => {
                for c in l.chars() {
                    if exact(c) {
                        out.push_str(&like_escape(c.encode_utf8(&mut [0; 4])));
                        leading += usize::from(open);
                    } else {
                        out.push('_');
                        open = false;
                    }
                }
            }
            Part::Wildcard => {
                out.push('%');
                open = false;
            }
        }
    }
    (out, leading)
}

/// SQLite's superset pattern ([`like_superset`]): SQLite's `LIKE` folds ASCII letters only, so
/// ASCII characters stand for themselves except `s` and `k`, whose Unicode case folding also
/// takes in `ſ` (long s) and `K` (Kelvin sign).
pub(crate) fn sqlite_like(pattern: &Pattern) -> (String, usize) {
    like_superset(pattern, |c| {
        c.is_ascii() && !matches!(c, 's' | 'S' | 'k' | 'K')
    })
}

/// MySQL/MariaDB: the superset pattern ([`like_superset`]) for a case-insensitive (`…_ci`)
/// collation, where a character and its lower case compare equal. ASCII characters stand for
/// themselves except `i` and `k`: `İ` (dotted capital I) and `K` (Kelvin sign) lower-case to
/// them but compare unequal in some collations (`utf8mb4_general_ci`). `tests/mysql.rs` checks
/// the premise, code point by code point, in each common collation of the server it runs on.
pub(crate) fn mysql_like(pattern: &Pattern) -> String {
    like_superset(pattern, |c| {
        c.is_ascii() && !matches!(c, 'i' | 'I' | 'k' | 'K')
    })
    .0
}

/// SQLite: `text LIKE <superset> AND text REGEXP <exact>`. The `LIKE` is SQLite's own C code
/// and drops most rows before the `REGEXP` callback runs; a `COLLATE NOCASE` index serves it
/// when the pattern starts with text.
fn sqlite_regexp(text: Expr, pattern: &Pattern, case_insensitive: bool) -> Expr {
    let (superset, _) = sqlite_like(pattern);
    like(text.clone(), Expr::val(superset)).and(text.binary(
        BinOper::Custom("REGEXP"),
        Expr::val(regex_pattern(pattern, case_insensitive)),
    ))
}

/// An anchored regular expression for a [`Pattern`] (SQLite's `REGEXP`).
pub(crate) fn regex_pattern(pattern: &Pattern, case_insensitive: bool) -> String {
    let mut out = String::from(if case_insensitive { "(?is)^" } else { "(?s)^" });
    for p in pattern.parts() {
        match p {
            Part::Literal(l) => out.push_str(&regex::escape(l)),
            Part::Wildcard => out.push_str(".*"),
        }
    }
    out.push('$');
    out
}

impl Dialect {
    pub(crate) fn of(backend: DbBackend) -> Dialect {
        match backend {
            DbBackend::Postgres => Dialect::Postgres,
            DbBackend::MySql => Dialect::MySql,
            _ => Dialect::Sqlite,
        }
    }

    /// A custom expression from a template whose `{}` are replaced, in order, by `args`
    /// (rendered by sea-query, so values stay bound).
    pub(crate) fn cust(self, template: &str, args: Vec<Expr>) -> Expr {
        let mut sql = String::with_capacity(template.len() + 8);
        let mut n = 0;
        let mut rest = template;
        while let Some(i) = rest.find("{}") {
            sql.push_str(&rest[..i]);
            n += 1;
            match self {
                Dialect::Postgres => sql.push_str(&format!("${n}")),
                _ => sql.push('?'),
            }
            rest = &rest[i + 2..];
        }
        sql.push_str(rest);
        Expr::cust_with_exprs(sql, args)
    }

    /// The column as text (integer storage is cast, so patterns can apply to it).
    pub(crate) fn as_text(self, column: Expr) -> Expr {
        let ty = match self {
            Dialect::Postgres => "VARCHAR",
            Dialect::MySql => "CHAR",
            Dialect::Sqlite => "TEXT",
        };
        Func::cast_as(column, Alias::new(ty)).into()
    }

    /// MySQL: `CAST(e AS BINARY)` so comparisons are byte-exact whatever the collation.
    fn binary(self, e: Expr) -> Expr {
        match self {
            Dialect::MySql => Func::cast_as(e, Alias::new("BINARY")).into(),
            _ => e,
        }
    }

    /// The key to sort text by: code-point order, the same on every database (PostgreSQL's
    /// and MariaDB's collations would otherwise sort linguistically or ignore case).
    pub(crate) fn sort_key(self, e: Expr) -> Expr {
        match self {
            Dialect::Postgres => self.cust("{} COLLATE \"C\"", vec![e]),
            Dialect::MySql => self.binary(e),
            Dialect::Sqlite => e,
        }
    }

    /// The key to sort text by case-insensitively: the lower-cased value in code-point order.
    /// SQLite's `LOWER()` folds ASCII only, so SQLite sorts with the `clientele_folded`
    /// collation [`connect_options`](crate::connect_options) registers (Rust's Unicode lower
    /// case, the same rule as everywhere else).
    pub(crate) fn folded_sort_key(self, e: Expr) -> Expr {
        match self {
            Dialect::Sqlite => self.cust(&format!("{{}} COLLATE {FOLDED_COLLATION}"), vec![e]),
            _ => self.sort_key(Func::lower(e).into()),
        }
    }

    /// `NULLIF(text, '')`: OTOBO's empty string as `NULL`, for an ordering that puts the two
    /// together, as every read takes them alike.
    pub(crate) fn empty_as_null(self, text: Expr) -> Expr {
        self.cust("NULLIF({}, '')", vec![text])
    }

    /// The column holds a value: not `NULL` and, for text, not OTOBO's empty string.
    pub(crate) fn present(self, column: Expr, is_text: bool) -> Expr {
        if is_text {
            column.clone().is_not_null().and(column.ne(""))
        } else {
            column.is_not_null()
        }
    }

    /// `column` matches the whole pattern under the case rule. Never `NULL`: a missing value is
    /// `false`, so `NOT` of it is `true`.
    pub(crate) fn matches(
        self,
        column: Expr,
        is_text: bool,
        pattern: &Pattern,
        case_insensitive: bool,
    ) -> Expr {
        let present = self.present(column.clone(), is_text);
        if pattern.matches_everything() {
            return present;
        }
        present.and(self.compare_column(column, is_text, pattern, case_insensitive))
    }

    /// Like [`matches`](Self::matches), for a place where a `NULL` result counts as no match:
    /// a word that is not under a `NOT` (an odd number of them), inside `AND`s and `OR`s only,
    /// where SQL's `NULL` can only end as "row left out", never as "row found". There the
    /// presence test is left out when the pattern needs at least one character, because
    /// neither a `NULL` nor an empty value can then match; a scan saves two comparisons per
    /// field and row.
    pub(crate) fn matches_positive(
        self,
        column: Expr,
        is_text: bool,
        pattern: &Pattern,
        case_insensitive: bool,
    ) -> Expr {
        if !needs_text(pattern) {
            return self.matches(column, is_text, pattern, case_insensitive);
        }
        self.compare_column(column, is_text, pattern, case_insensitive)
    }

    /// The comparison of [`matches`](Self::matches) without the presence test, on the column's
    /// text (an integer column is compared as its text).
    fn compare_column(
        self,
        column: Expr,
        is_text: bool,
        pattern: &Pattern,
        case_insensitive: bool,
    ) -> Expr {
        let text = if is_text {
            column
        } else {
            self.as_text(column)
        };
        self.compare(text, pattern, case_insensitive)
    }

    /// PostgreSQL: `clientele_search LIKE LOWER('%…%')`, a test every user with a search column
    /// matching `pattern` case-insensitively also passes: the column holds the lower-cased
    /// search columns joined ([`enable_search_indexes`](crate::enable_search_indexes)), so a
    /// lower-cased value matching the pattern is a piece of it, and the pattern with a `%` on
    /// either end finds that piece. AND-ed in front of a word's per-field comparison, it lets a
    /// scan drop most rows with one `LIKE` on ready lower-case text, where the comparison
    /// lower-cases every field of every row.
    pub(crate) fn search_text_filter(self, pattern: &Pattern) -> Expr {
        let parts = pattern.parts();
        let open = |part: Option<&Part>| match part {
            Some(Part::Wildcard) => "",
            _ => "%",
        };
        let text = format!(
            "{}{}{}",
            open(parts.first()),
            like_pattern(pattern),
            open(parts.last())
        );
        let p: Expr = Func::lower(Expr::val(text)).into();
        like(col(crate::indexes::SEARCH_TEXT), p)
    }

    fn compare(self, text: Expr, pattern: &Pattern, case_insensitive: bool) -> Expr {
        if let Some(exact) = pattern.as_exact() {
            return self.equals(text, exact, case_insensitive);
        }
        match self {
            Dialect::Sqlite => sqlite_regexp(text, pattern, case_insensitive),
            _ => {
                let p = Expr::val(like_pattern(pattern));
                let (left, right) = if case_insensitive {
                    (
                        self.binary(Func::lower(text).into()),
                        self.binary(Func::lower(p).into()),
                    )
                } else {
                    (self.binary(text), self.binary(p))
                };
                like(left, right)
            }
        }
    }

    /// MySQL: a cheaper condition every value of `column` matching `pattern` (by either case
    /// rule) also meets, AND-ed in front of the exact comparison:
    ///
    /// * `clientele_lc_column LIKE LOWER('abc%')`, on the indexed generated lower-case column
    ///   of binary collation ([`enable_search_indexes`](crate::enable_search_indexes)), when the
    ///   column has one and the pattern starts with text: MariaDB reads a range of the index;
    /// * otherwise `column LIKE '%abc%'` in the column's own case-insensitive collation (see
    ///   [`mysql_like`]): a range of the column's own index for a prefix (OTOBO's `login`,
    ///   `email`), and in a scan a test that needs no `LOWER()` and no conversion, so the exact
    ///   comparison runs on few rows only.
    ///
    /// (SQLite needs no guard: [`compare`](Self::compare) always starts with a `LIKE` that a
    /// `COLLATE NOCASE` index serves.)
    pub(crate) fn index_guard(
        self,
        column: &str,
        pattern: &Pattern,
        indexes: &crate::indexes::SearchIndexes,
    ) -> Option<Expr> {
        if self != Dialect::MySql {
            return None;
        }
        if let (Some(lowered), Some(Part::Literal(_))) =
            (indexes.lowered.get(column), pattern.parts().first())
        {
            let p: Expr = Func::lower(Expr::val(like_pattern(pattern))).into();
            return Some(like(col(lowered), p));
        }
        if indexes.folding.iter().any(|c| c == column) {
            return Some(like(col(column), Expr::val(mysql_like(pattern))));
        }
        None
    }

    /// Whole-value equality under the case rule (the column must be text).
    pub(crate) fn equals(self, text: Expr, value: &str, case_insensitive: bool) -> Expr {
        let v = Expr::val(value);
        match (self, case_insensitive) {
            (Dialect::Sqlite, true) if value.is_ascii() => {
                Expr::expr(Func::lower(text)).eq(Func::lower(v))
            }
            (Dialect::Sqlite, true) => sqlite_regexp(text, &Pattern::exact(value), true),
            (_, true) => self
                .binary(Func::lower(text).into())
                .eq(self.binary(Func::lower(v).into())),
            (_, false) => self.binary(text).eq(self.binary(v)),
        }
    }

    /// Equality for a key lookup: like [`equals`](Self::equals), plus on MySQL the plain
    /// `col = ?` first so the (case-insensitive) index narrows the rows.
    pub(crate) fn key_equals(self, column: Expr, value: &str, case_insensitive: bool) -> Expr {
        let exact = self.equals(column.clone(), value, case_insensitive);
        match self {
            Dialect::MySql => column.eq(value).and(exact),
            _ => exact,
        }
    }

    /// Byte-exact equality (relation and preference rows), index-friendly on every database.
    pub(crate) fn eq_exact(self, column: Expr, value: &str) -> Expr {
        self.key_equals(column, value, false)
    }

    /// `column IN values` compared byte-exactly; any number of values. Up to
    /// [`IN_LIST_MAX`] values are bound one by one, more travel as a single JSON array
    /// parameter (no statement-parameter limit applies).
    pub(crate) fn in_exact(self, column: Expr, values: &[String]) -> Expr {
        if values.is_empty() {
            return truth(false);
        }
        if values.len() <= IN_LIST_MAX {
            let left = self.binary(column);
            return left.is_in(values.iter().map(|v| self.binary(Expr::val(v.as_str()))));
        }
        self.in_json(self.binary(column), values, |e| self.binary(e))
    }

    /// `LOWER(column) IN (LOWER(values))`: case-insensitive membership, any number of values.
    pub(crate) fn in_folded(self, column: Expr, values: &[String]) -> Expr {
        if values.is_empty() {
            return truth(false);
        }
        if self == Dialect::Sqlite {
            // Unicode folding through REGEXP, one alternation per chunk of values.
            let chunks: Vec<Expr> = values
                .chunks(IN_LIST_MAX)
                .map(|chunk| {
                    let alternatives: Vec<String> =
                        chunk.iter().map(|v| regex::escape(v)).collect();
                    column.clone().binary(
                        BinOper::Custom("REGEXP"),
                        Expr::val(format!("(?is)^(?:{})$", alternatives.join("|"))),
                    )
                })
                .collect();
            return any(chunks);
        }
        let left = self.binary(Func::lower(column).into());
        if values.len() <= IN_LIST_MAX {
            return left.is_in(
                values
                    .iter()
                    .map(|v| self.binary(Func::lower(Expr::val(v.as_str())).into())),
            );
        }
        self.in_json(left, values, |e| self.binary(Func::lower(e).into()))
    }

    /// `left IN (SELECT f(x) FROM <JSON array parameter>)`.
    fn in_json(self, left: Expr, values: &[String], f: impl Fn(Expr) -> Expr) -> Expr {
        let json = serde_json::to_string(values).unwrap_or_else(|_| "[]".to_owned());
        let element = Expr::cust("clientele_set.x");
        let set = match self {
            Dialect::Postgres => {
                "SELECT {} FROM json_array_elements_text(CAST({} AS json)) AS clientele_set(x)"
            }
            Dialect::MySql => {
                "SELECT {} FROM JSON_TABLE({}, '$[*]' COLUMNS (x VARCHAR(1024) PATH '$')) AS clientele_set"
            }
            Dialect::Sqlite => {
                "SELECT {} FROM (SELECT value AS x FROM json_each({})) AS clientele_set"
            }
        };
        let sub = self.cust(set, vec![f(element), Expr::val(json)]);
        self.cust("{} IN ({})", vec![left, sub])
    }
}

/// `left LIKE right ESCAPE '\\'`.
fn like(left: Expr, right: Expr) -> Expr {
    let escaped = Expr::Binary(
        Box::new(right),
        BinOper::Escape,
        Box::new(Expr::Constant(Value::Char(Some('\\')))),
    );
    left.binary(BinOper::Like, escaped)
}

/// Whether every value matching `pattern` has at least one character (it has literal text).
pub(crate) fn needs_text(pattern: &Pattern) -> bool {
    pattern
        .parts()
        .iter()
        .any(|p| matches!(p, Part::Literal(l) if !l.is_empty()))
}

/// `LIMIT n`, left out when `n` is beyond what a database can take (a caller asking for
/// "everything" with `usize::MAX`).
pub(crate) fn limit(q: &mut SelectStatement, n: usize) {
    if let Ok(n) = i64::try_from(n) {
        q.limit(n as u64);
    }
}

/// OR of the expressions (`1 = 0` when there are none).
pub(crate) fn any(mut exprs: Vec<Expr>) -> Expr {
    match exprs.len() {
        0 => truth(false),
        1 => exprs.remove(0),
        _ => {
            let mut it = exprs.into_iter();
            let first = it.next().unwrap_or_else(|| truth(false));
            it.fold(first, |acc, e| acc.or(e))
        }
    }
}

/// AND of the expressions (`1 = 1` when there are none).
pub(crate) fn all(mut exprs: Vec<Expr>) -> Expr {
    match exprs.len() {
        0 => truth(true),
        1 => exprs.remove(0),
        _ => {
            let mut it = exprs.into_iter();
            let first = it.next().unwrap_or_else(|| truth(true));
            it.fold(first, |acc, e| acc.and(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{MysqlQueryBuilder, PostgresQueryBuilder, Query, SqliteQueryBuilder};

    #[test]
    fn like_escapes_sql_wildcards_only() {
        assert_eq!(like_escape(r"50%_off\now"), r"50\%\_off\\now");
        let p = Pattern::from_wildcards("a%*b_");
        assert_eq!(like_pattern(&p), r"a\%%b\_");
    }

    #[test]
    fn regex_is_anchored_and_literal() {
        let p = Pattern::from_wildcards("a.b*(c)");
        assert_eq!(regex_pattern(&p, true), r"(?is)^a\.b.*\(c\)$");
    }

    #[test]
    fn values_are_bound_not_inlined() {
        let p = Pattern::from_wildcards("*O'Brien%*");
        for d in [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite] {
            let q = Query::select()
                .column(Alias::new("login"))
                .from(Alias::new("customer_user"))
                .and_where(d.matches(col("last_name"), true, &p, true))
                .to_owned();
            let (sql, values) = match d {
                Dialect::Postgres => q.build(PostgresQueryBuilder),
                Dialect::MySql => q.build(MysqlQueryBuilder),
                Dialect::Sqlite => q.build(SqliteQueryBuilder),
            };
            assert!(!sql.contains("Brien"), "{sql}");
            assert!(!values.0.is_empty());
        }
    }

    #[test]
    fn mysql_compares_lowered_bytes() {
        let q = Query::select()
            .column(Alias::new("login"))
            .from(Alias::new("t"))
            .and_where(Dialect::MySql.matches(
                col("c"),
                true,
                &Pattern::from_wildcards("*ä*"),
                true,
            ))
            .to_owned();
        let (sql, _) = q.build(MysqlQueryBuilder);
        assert!(
            sql.contains("CAST(LOWER(`c`) AS BINARY) LIKE CAST(LOWER(?) AS BINARY) ESCAPE '\\\\'"),
            "{sql}"
        );
    }
}
