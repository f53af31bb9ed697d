//! Structured fuzz inputs shared by the targets: search syntax settings and queries built either
//! through the parser or directly as expression trees (shapes the parser never produces).

use arbitrary::Arbitrary;
use clientele_model::search::{Expr, FieldSet, Part, Pattern, SearchSyntax, UserQuery, parse_term};

/// Search syntax settings (OTOBO `CustomerUserSearchPrefix`/`Suffix`, the space-means-AND switch).
#[derive(Arbitrary, Debug)]
pub struct FuzzSyntax {
    pub prefix: String,
    pub suffix: String,
    pub space_means_and: bool,
}

impl FuzzSyntax {
    pub fn syntax(&self) -> SearchSyntax {
        SearchSyntax {
            prefix: self.prefix.clone(),
            suffix: self.suffix.clone(),
            space_means_and: self.space_means_and,
        }
    }
}

/// A pattern piece.
#[derive(Arbitrary, Debug)]
pub enum FuzzPart {
    Literal(String),
    Wildcard,
}

/// An expression tree, depth-limited when converted.
#[derive(Arbitrary, Debug)]
pub enum FuzzExpr {
    And(Vec<FuzzExpr>),
    Or(Vec<FuzzExpr>),
    Not(Box<FuzzExpr>),
    Match(Vec<FuzzPart>),
}

impl FuzzExpr {
    pub fn expr(&self, depth: usize) -> Expr {
        let leaf = || Expr::Match(Pattern::from_wildcards("x"));
        if depth > 6 {
            return leaf();
        }
        match self {
            FuzzExpr::And(c) => Expr::And(c.iter().take(8).map(|e| e.expr(depth + 1)).collect()),
            FuzzExpr::Or(c) => Expr::Or(c.iter().take(8).map(|e| e.expr(depth + 1)).collect()),
            FuzzExpr::Not(c) => Expr::Not(Box::new(c.expr(depth + 1))),
            FuzzExpr::Match(parts) => Expr::Match(Pattern::new(parts.iter().map(|p| match p {
                FuzzPart::Literal(s) => Part::Literal(s.clone()),
                FuzzPart::Wildcard => Part::Wildcard,
            }))),
        }
    }
}

/// Which fields a query applies to.
#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum FuzzFields {
    Search { exclude_customer_id: bool },
    Postmaster,
    Login,
    CustomerId,
}

impl From<FuzzFields> for FieldSet {
    fn from(f: FuzzFields) -> Self {
        match f {
            FuzzFields::Search {
                exclude_customer_id,
            } => FieldSet::SearchFields {
                exclude_customer_id,
            },
            FuzzFields::Postmaster => FieldSet::PostmasterFields,
            FuzzFields::Login => FieldSet::Login,
            FuzzFields::CustomerId => FieldSet::CustomerId,
        }
    }
}

/// The expression of a query: a user's term through the parser, or a tree built directly.
#[derive(Arbitrary, Debug)]
pub enum FuzzTerm {
    Parsed { syntax: FuzzSyntax, term: String },
    Tree(FuzzExpr),
}

/// A whole backend query.
#[derive(Arbitrary, Debug)]
pub struct FuzzQuery {
    pub fields: FuzzFields,
    pub term: FuzzTerm,
    pub valid_only: bool,
    pub limit: u16,
    pub case_sensitive: bool,
}

impl FuzzQuery {
    /// The query, or `None` when the parser refuses the term (a typed error is a fine outcome).
    pub fn query(&self) -> Option<UserQuery> {
        let expr = match &self.term {
            FuzzTerm::Parsed { syntax, term } => parse_term(term, &syntax.syntax()).ok()?,
            FuzzTerm::Tree(t) => t.expr(0),
        };
        Some(UserQuery {
            fields: self.fields.into(),
            expr,
            valid_only: self.valid_only,
            limit: usize::from(self.limit).max(1),
            case_sensitive: self.case_sensitive,
        })
    }
}
