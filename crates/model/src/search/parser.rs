//! Placeholder replaced by the parser implementation.
use serde::{Deserialize, Serialize};
use super::Expr;
/// Syntax settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchSyntax { /** prefix */ pub prefix: String, /** suffix */ pub suffix: String, /** space */ pub space_means_and: bool }
/// Error.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SearchSyntaxError { /** empty */ #[error("empty search term")] Empty }
/// Parse.
pub fn parse_term(_term: &str, _syntax: &SearchSyntax) -> Result<Expr, SearchSyntaxError> { Err(SearchSyntaxError::Empty) }
