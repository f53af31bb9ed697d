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
