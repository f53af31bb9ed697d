//! The search language shared by every backend.
//!
//! A user's term (`"smi*+!john"`) is parsed once, by [`parse_term`], into an [`Expr`] tree. Each
//! backend compiles that tree into its own query language (SQL with bound parameters, an RFC 4515
//! LDAP filter, or an in-memory predicate); nobody re-parses strings. Literal text and wildcards are
//! kept apart in a [`Pattern`], so a `%`, `_`, `\`, quote or NUL typed by a user is always a
//! literal and only our own `*` is a wildcard.

mod parser;
mod pattern;
mod query;

pub use parser::{SearchSyntax, SearchSyntaxError, parse_term};
pub use pattern::{Part, Pattern};
pub use query::*;

use serde::{Deserialize, Serialize};

/// A parsed search term: a boolean tree over "some search field matches this pattern".
///
/// OTOBO's meaning carries over: a positive word matches when *any* configured search field
/// matches it; a negated word matches when *no* search field matches it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Expr {
    /// Every child must match.
    And(Vec<Expr>),
    /// At least one child must match.
    Or(Vec<Expr>),
    /// The child must not match.
    Not(Box<Expr>),
    /// Some search field matches the pattern.
    Match(Pattern),
}

/// Puts search results in the order every backend and the Directory's merge return them: by
/// login, in code-point order (what `COLLATE "C"`, MySQL's binary comparison and SQLite's
/// `BINARY` give).
///
/// ```
/// use clientele_model::search::sort_by_login;
///
/// let mut logins = vec!["jdoe", "JDoe", "anna"];
/// sort_by_login(&mut logins, |l| l);
/// assert_eq!(logins, ["JDoe", "anna", "jdoe"]);
/// ```
pub fn sort_by_login<T>(items: &mut [T], login: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| login(a).cmp(login(b)));
}

impl Expr {
    /// Does a record match, given every value of its searched fields (all fields' values in
    /// one list)? The one evaluation rule: the in-memory backend and the LDAP backend's
    /// client-side check both call it, and the SQL and LDAP filter compilers must agree with it.
    /// A positive word matches when any value matches its pattern, a negated word when none
    /// does; a record without values matches no positive word.
    ///
    /// ```
    /// use clientele_model::search::{SearchSyntax, parse_term};
    ///
    /// let expr = parse_term("jo*+!doe", &SearchSyntax::default()).unwrap();
    /// assert!(expr.matches_values(&["John", "Smith"], false));
    /// assert!(!expr.matches_values(&["John", "Doe"], false));
    /// assert!(!expr.matches_values(&["JOHN"], true));
    /// ```
    pub fn matches_values<S: AsRef<str>>(&self, values: &[S], case_sensitive: bool) -> bool {
        match self {
            Expr::And(children) => children
                .iter()
                .all(|c| c.matches_values(values, case_sensitive)),
            Expr::Or(children) => children
                .iter()
                .any(|c| c.matches_values(values, case_sensitive)),
            Expr::Not(child) => !child.matches_values(values, case_sensitive),
            Expr::Match(pattern) => values
                .iter()
                .any(|v| pattern.matches(v.as_ref(), case_sensitive)),
        }
    }
}
