//! The search-language parser: a user's term (`smi*+!john`) into an [`Expr`] tree.
//!
//! The grammar follows OTOBO's `Kernel::System::DB::QueryCondition` as the customer-user search
//! calls it (after `QueryStringEscape`, so `( ) & |` are literal). Where OTOBO's behaviour is
//! surprising or lossy, the rule chosen here is written down on [`parse_term`].
//!
//! Parsing runs in three small passes over `char`s (never byte offsets, so any UTF-8 input is
//! safe): [`lex`] turns characters into atoms (quotes and backslash escapes resolved), [`words`]
//! groups atoms into words and operators, and [`combine`] builds the tree with AND binding tighter
//! than OR.

use serde::{Deserialize, Serialize};

use super::{Expr, Part, Pattern};

/// How a backend reads the search language: the implicit wildcards around every word and what a
/// space between words means.
///
/// The defaults are OTOBO's for the DB backend: prefix `*`, suffix `*` (every word is a substring
/// search) and a space that is part of the word.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SearchSyntax {
    /// Put in front of every word (OTOBO `CustomerUserSearchPrefix`, default `*`). `*` is a
    /// wildcard; every other character is literal.
    pub prefix: String,
    /// Put after every word (OTOBO `CustomerUserSearchSuffix`, default `*`; OTOBO's LDAP example
    /// uses prefix `''` and suffix `*`, a prefix search). `*` is a wildcard; every other character
    /// is literal.
    pub suffix: String,
    /// `true`: whitespace separates words joined by AND, so `john black` finds first name John and
    /// last name Black (the `CustomerUserSearchExtended` switch proposed in Znuny PR #389).
    /// `false` (OTOBO's behaviour and the default): whitespace inside a word is part of it, so
    /// `john black` looks for the phrase "john black" in one field.
    pub space_means_and: bool,
}

impl SearchSyntax {
    /// The longest term [`parse_term`] accepts, in characters after trimming. Longer terms are
    /// refused with [`SearchSyntaxError::TooLong`] rather than truncated.
    pub const MAX_TERM_CHARS: usize = 4096;
}

impl Default for SearchSyntax {
    fn default() -> Self {
        SearchSyntax {
            prefix: "*".to_owned(),
            suffix: "*".to_owned(),
            space_means_and: false,
        }
    }
}

/// Why a search term could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchSyntaxError {
    /// The term has no word to search for: it is empty, only whitespace, or only operators
    /// (`+`, `AND`, `OR`, `!`) and empty quotes.
    #[error("empty search term: it contains no word to search for")]
    Empty,
    /// A `"` opens a quoted phrase that is never closed.
    #[error("unterminated quote: the \" at character {position} is never closed")]
    UnterminatedQuote {
        /// Index, in characters (not bytes) of the term as given, of the opening `"`.
        position: usize,
    },
    /// The term is longer than [`SearchSyntax::MAX_TERM_CHARS`].
    #[error("search term too long: {len} characters, at most {max} allowed")]
    TooLong {
        /// Length of the trimmed term, in characters.
        len: usize,
        /// The most characters allowed.
        max: usize,
    },
}

/// Parses a user's search term into an [`Expr`] tree, once, for every backend.
///
/// # The language
///
/// * **Trimming and limits.** Leading and trailing whitespace is ignored. A term with no word in
///   it (empty, whitespace, only operators, `""`) is [`SearchSyntaxError::Empty`]. A term longer
///   than [`SearchSyntax::MAX_TERM_CHARS`] (4096) characters is [`SearchSyntaxError::TooLong`];
///   it is never truncated.
/// * **Words.** Each word becomes the pattern `prefix + word + suffix`, read with `*` as a
///   wildcard ([`Part::Wildcard`]; runs of wildcards collapse to one). With the default syntax
///   every word is therefore a substring search: `smi` becomes `*smi*`.
/// * **Literals.** Every character other than the operators below is literal: `%`, `_`, `'`,
///   `(`, `)`, `&`, `|`, NUL and any Unicode character. OTOBO's `QueryStringEscape` already makes
///   `( ) & |` literal for customer-user search, so there is no grouping.
/// * **Backslash.** `\` followed by one of `*` `+` `!` `"` `\` yields that character as a literal
///   (`\*` searches a real asterisk, `\\` a backslash). A backslash before anything else, or at
///   the end of the term, is itself literal.
/// * **Quotes.** `"a quoted phrase"` is literal text: whitespace (kept exactly as typed), `+`,
///   `!`, `AND` and `OR` inside it are ordinary characters. `*` inside quotes is still a wildcard
///   and backslash escapes still apply (`\"` is a literal quote). A quoted part joins the text
///   directly around it into one word (`ab"c d"` is the word `abc d`). An unclosed quote is
///   [`SearchSyntaxError::UnterminatedQuote`].
/// * **AND.** `+` joins two words with AND. So does the uppercase word `AND` when it stands alone,
///   with whitespace (or the start or end of the term) on both sides. Lowercase `and` is text.
/// * **OR.** The uppercase word `OR`, standing alone the same way. Lowercase `or` is text.
/// * **NOT.** `!` at the start of a word negates that word: no search field may match it. Only one
///   `!` counts; a `!` anywhere else in a word is literal (`!!a` is NOT `!a`, `a!b` is `a!b`).
/// * **Whitespace.** With `space_means_and = false` (the default, OTOBO's behaviour) a run of
///   whitespace inside a word is part of the word and collapses to one space (`john   black` is
///   the single word `john black`); whitespace next to an operator is dropped. So `a !b` is the
///   single word `a !b`, not a negation. With `space_means_and = true` whitespace separates words
///   joined by AND (`john black` is `john AND black`).
/// * **Precedence.** NOT applies to one word; AND binds tighter than OR, so `a OR b+c` means
///   `a OR (b AND c)`. OTOBO instead returns nothing when AND and OR are mixed at one level; we
///   use precedence so such a term still means something sensible.
/// * **Empty operands.** Operators with nothing between them are dropped, as OTOBO strips leading
///   and trailing operators: `a++b` is `a AND b`, `+a` and `a OR` are `a`, and a `!` with no word
///   after it is ignored.
///
/// # Output shape
///
/// A single word is `Expr::Match(pattern)`, or `Expr::Not(Box::new(Expr::Match(pattern)))` when
/// negated. Otherwise the result is an `And` of words, or an `Or` whose children are words or
/// `And`s of words. An `And` or `Or` always has at least two children, and neither ever directly
/// contains another of its own kind. `Not` only ever wraps a `Match`.
///
/// # Examples
///
/// ```
/// use clientele_model::search::{parse_term, Expr, Part, Pattern, SearchSyntax};
///
/// let default = SearchSyntax::default();
/// let contains = |w: &str| Expr::Match(Pattern::new([Part::Wildcard, Part::Literal(w.into()), Part::Wildcard]));
///
/// // One word: a substring search with the default prefix and suffix `*`.
/// assert_eq!(parse_term("smith", &default), Ok(contains("smith")));
///
/// // OTOBO's `login+!firstname`: the login matches and no field contains "firstname".
/// assert_eq!(
///     parse_term("jdoe+!firstname", &default),
///     Ok(Expr::And(vec![contains("jdoe"), Expr::Not(Box::new(contains("firstname")))])),
/// );
///
/// // AND binds tighter than OR.
/// assert_eq!(
///     parse_term("a OR b AND c", &default),
///     Ok(Expr::Or(vec![contains("a"), Expr::And(vec![contains("b"), contains("c")])])),
/// );
///
/// // A prefix search, as in OTOBO's LDAP example (prefix '', suffix '*'): `smi` is `smi*`.
/// let ldap = SearchSyntax { prefix: String::new(), suffix: "*".into(), space_means_and: false };
/// assert_eq!(
///     parse_term("smi", &ldap),
///     Ok(Expr::Match(Pattern::new([Part::Literal("smi".into()), Part::Wildcard]))),
/// );
///
/// // SQL and LDAP specials are literal; only `*` is a wildcard, and `\*` is a real asterisk.
/// let exact = SearchSyntax { prefix: String::new(), suffix: String::new(), space_means_and: false };
/// assert_eq!(parse_term(r"50%_off\*", &exact), Ok(Expr::Match(Pattern::exact("50%_off*"))));
///
/// // A space is part of the word unless the syntax says it means AND.
/// assert_eq!(parse_term("john   black", &exact), Ok(Expr::Match(Pattern::exact("john black"))));
/// let extended = SearchSyntax { space_means_and: true, ..exact.clone() };
/// assert_eq!(
///     parse_term("john black", &extended),
///     Ok(Expr::And(vec![Expr::Match(Pattern::exact("john")), Expr::Match(Pattern::exact("black"))])),
/// );
///
/// // Quotes keep operators literal.
/// assert_eq!(parse_term(r#""Smith + Sons AND Co""#, &exact), Ok(Expr::Match(Pattern::exact("Smith + Sons AND Co"))));
///
/// // Errors say what was wrong.
/// use clientele_model::search::SearchSyntaxError;
/// assert_eq!(parse_term("  + OR ", &default), Err(SearchSyntaxError::Empty));
/// assert_eq!(parse_term(r#"a "b"#, &default), Err(SearchSyntaxError::UnterminatedQuote { position: 2 }));
/// ```
pub fn parse_term(term: &str, syntax: &SearchSyntax) -> Result<Expr, SearchSyntaxError> {
    let trimmed = term.trim();
    let len = trimmed.chars().count();
    if len > SearchSyntax::MAX_TERM_CHARS {
        return Err(SearchSyntaxError::TooLong {
            len,
            max: SearchSyntax::MAX_TERM_CHARS,
        });
    }
    // `str::trim` and `char::is_whitespace` share Unicode's White_Space property, so this is the
    // number of characters trimmed from the front.
    let offset = term.chars().take_while(|c| c.is_whitespace()).count();
    let atoms = lex(trimmed, offset)?;
    let tokens = words(&atoms, syntax);
    combine(tokens).ok_or(SearchSyntaxError::Empty)
}

/// Characters a backslash turns into literals.
const ESCAPABLE: [char; 5] = ['*', '+', '!', '"', '\\'];

/// One lexed unit of a term, with quotes and escapes already resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Atom {
    /// A run of unquoted whitespace.
    Space,
    /// An unquoted, unescaped `+`.
    Plus,
    /// An unquoted, unescaped `!`.
    Bang,
    /// An opening or closing `"`. Carries no text; it only stops `A"N"D` from reading as `AND`.
    Quote,
    /// A wildcard `*` (quoted or not).
    Star,
    /// A literal character; `plain` when it was neither quoted nor escaped, so that it can be
    /// part of an `AND` or `OR` operator word.
    Char { c: char, plain: bool },
}

/// Splits a trimmed term into atoms. `offset` is the number of characters trimmed from the front,
/// so error positions refer to the term as the user typed it.
fn lex(term: &str, offset: usize) -> Result<Vec<Atom>, SearchSyntaxError> {
    let mut atoms = Vec::new();
    let mut open_quote: Option<usize> = None;
    let mut chars = term.chars().enumerate().peekable();
    while let Some((i, c)) = chars.next() {
        let atom = match c {
            '\\' => match chars.next_if(|&(_, next)| ESCAPABLE.contains(&next)) {
                Some((_, escaped)) => Atom::Char {
                    c: escaped,
                    plain: false,
                },
                None => Atom::Char {
                    c: '\\',
                    plain: false,
                },
            },
            '"' => {
                open_quote = match open_quote {
                    None => Some(offset + i),
                    Some(_) => None,
                };
                Atom::Quote
            }
            '*' => Atom::Star,
            _ if open_quote.is_some() => Atom::Char { c, plain: false },
            '+' => Atom::Plus,
            '!' => Atom::Bang,
            c if c.is_whitespace() => {
                if atoms.last() == Some(&Atom::Space) {
                    continue;
                }
                Atom::Space
            }
            c => Atom::Char { c, plain: true },
        };
        atoms.push(atom);
    }
    match open_quote {
        Some(position) => Err(SearchSyntaxError::UnterminatedQuote { position }),
        None => Ok(atoms),
    }
}

/// A word or an operator, the input of [`combine`].
#[derive(Debug)]
enum Token {
    /// A word, already turned into `Match` or `Not(Match)`.
    Word(Expr),
    /// AND (`+`, `AND`, or whitespace when it means AND).
    And,
    /// OR (`OR`).
    Or,
}

/// If `atoms` starts with the unquoted, unescaped word `AND` or `OR` followed by whitespace or the
/// end of the term, the operator and how many atoms it spans.
fn operator_word(atoms: &[Atom]) -> Option<(Token, usize)> {
    let plain = |c: char| Atom::Char { c, plain: true };
    let ends_at = |n: usize| matches!(atoms.get(n), None | Some(Atom::Space));
    if atoms.starts_with(&[plain('A'), plain('N'), plain('D')]) && ends_at(3) {
        Some((Token::And, 3))
    } else if atoms.starts_with(&[plain('O'), plain('R')]) && ends_at(2) {
        Some((Token::Or, 2))
    } else {
        None
    }
}

/// The word being collected while [`words`] walks the atoms.
#[derive(Default)]
struct WordBuilder {
    parts: Vec<Part>,
    negated: bool,
    /// Whitespace was seen after some content; it becomes one space if more content follows.
    pending_space: bool,
}

impl WordBuilder {
    fn has_content(&self) -> bool {
        !self.parts.is_empty()
    }

    fn push(&mut self, part: Part) {
        if self.pending_space {
            self.pending_space = false;
            self.push(Part::Literal(" ".to_owned()));
        }
        match (self.parts.last_mut(), part) {
            (Some(Part::Literal(prev)), Part::Literal(s)) => prev.push_str(&s),
            (_, part) => self.parts.push(part),
        }
    }

    fn push_char(&mut self, c: char) {
        self.push(Part::Literal(c.to_string()));
    }

    /// Ends the word: pushes it (wrapped in prefix and suffix) when it has content, and starts a
    /// fresh one. A word without content (empty quotes, a lone `!`) is dropped.
    fn finish(&mut self, syntax: &SearchSyntax, tokens: &mut Vec<Token>) {
        let word = std::mem::take(self);
        if !word.has_content() {
            return;
        }
        let parts = affix_parts(&syntax.prefix)
            .chain(word.parts)
            .chain(affix_parts(&syntax.suffix));
        let matched = Expr::Match(Pattern::new(parts));
        tokens.push(Token::Word(if word.negated {
            Expr::Not(Box::new(matched))
        } else {
            matched
        }));
    }
}

/// A prefix or suffix read with `*` as wildcard and everything else literal.
fn affix_parts(affix: &str) -> impl Iterator<Item = Part> + '_ {
    affix.split('*').enumerate().flat_map(|(i, piece)| {
        let wildcard = (i > 0).then_some(Part::Wildcard);
        wildcard
            .into_iter()
            .chain(std::iter::once(Part::Literal(piece.to_owned())))
    })
}

/// Groups atoms into words and operators.
fn words(atoms: &[Atom], syntax: &SearchSyntax) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut word = WordBuilder::default();
    let mut i = 0;
    while i < atoms.len() {
        // Operator words stand alone: whitespace (or the start of the term) before them.
        let at_segment_start = i == 0 || atoms[i - 1] == Atom::Space;
        if at_segment_start && let Some((op, len)) = operator_word(&atoms[i..]) {
            word.finish(syntax, &mut tokens);
            tokens.push(op);
            i += len;
            continue;
        }
        match atoms[i] {
            Atom::Space if syntax.space_means_and => {
                word.finish(syntax, &mut tokens);
                tokens.push(Token::And);
            }
            Atom::Space => word.pending_space = word.has_content(),
            Atom::Plus => {
                word.finish(syntax, &mut tokens);
                tokens.push(Token::And);
            }
            Atom::Bang if !word.has_content() && !word.negated => word.negated = true,
            Atom::Bang => word.push_char('!'),
            Atom::Quote => {}
            Atom::Star => word.push(Part::Wildcard),
            Atom::Char { c, .. } => word.push_char(c),
        }
        i += 1;
    }
    word.finish(syntax, &mut tokens);
    tokens
}

/// Builds the tree: OR of ANDs of words, empty operands dropped, one-child nodes collapsed.
/// `None` when there is no word at all.
fn combine(tokens: Vec<Token>) -> Option<Expr> {
    fn close(conjunction: &mut Vec<Expr>, alternatives: &mut Vec<Expr>) {
        match conjunction.len() {
            0 => {}
            1 => alternatives.extend(conjunction.pop()),
            _ => alternatives.push(Expr::And(std::mem::take(conjunction))),
        }
    }
    let mut alternatives = Vec::new();
    let mut conjunction = Vec::new();
    for token in tokens {
        match token {
            Token::Word(expr) => conjunction.push(expr),
            Token::And => {}
            Token::Or => close(&mut conjunction, &mut alternatives),
        }
    }
    close(&mut conjunction, &mut alternatives);
    match alternatives.len() {
        0 => None,
        1 => alternatives.pop(),
        _ => Some(Expr::Or(alternatives)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(s: &str) -> Part {
        Part::Literal(s.to_owned())
    }

    fn exact_syntax() -> SearchSyntax {
        SearchSyntax {
            prefix: String::new(),
            suffix: String::new(),
            space_means_and: false,
        }
    }

    fn and_syntax() -> SearchSyntax {
        SearchSyntax {
            space_means_and: true,
            ..exact_syntax()
        }
    }

    fn parse(term: &str) -> Expr {
        match parse_term(term, &exact_syntax()) {
            Ok(expr) => expr,
            Err(e) => panic!("{term:?} did not parse: {e}"),
        }
    }

    fn parse_with(term: &str, syntax: &SearchSyntax) -> Expr {
        match parse_term(term, syntax) {
            Ok(expr) => expr,
            Err(e) => panic!("{term:?} did not parse: {e}"),
        }
    }

    /// `Match(exact(s))`.
    fn m(s: &str) -> Expr {
        Expr::Match(Pattern::exact(s))
    }

    /// `Match(*s*)`, the default syntax's word.
    fn contains(s: &str) -> Expr {
        Expr::Match(Pattern::new([Part::Wildcard, lit(s), Part::Wildcard]))
    }

    fn not(e: Expr) -> Expr {
        Expr::Not(Box::new(e))
    }

    #[test]
    fn default_syntax_is_otobos() {
        let d = SearchSyntax::default();
        assert_eq!(d.prefix, "*");
        assert_eq!(d.suffix, "*");
        assert!(!d.space_means_and);
    }

    #[test]
    fn syntax_deserialises_with_defaults() {
        let s: SearchSyntax = match serde_json::from_str(r#"{"prefix": ""}"#) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            s,
            SearchSyntax {
                prefix: String::new(),
                ..SearchSyntax::default()
            }
        );
    }

    #[test]
    fn single_word_with_default_affixes() {
        let d = SearchSyntax::default();
        assert_eq!(parse_with("login", &d), contains("login"));
        // The user's own wildcards merge with the implicit ones.
        assert_eq!(parse_with("login*", &d), contains("login"));
        assert_eq!(parse_with("*login", &d), contains("login"));
        assert_eq!(parse_with("*login*", &d), contains("login"));
        assert_eq!(
            parse_with("lo*in", &d),
            Expr::Match(Pattern::new([
                Part::Wildcard,
                lit("lo"),
                Part::Wildcard,
                lit("in"),
                Part::Wildcard
            ]))
        );
    }

    #[test]
    fn otobo_examples() {
        let d = SearchSyntax::default();
        assert_eq!(
            parse_with("jdoe+firstname", &d),
            Expr::And(vec![contains("jdoe"), contains("firstname")])
        );
        assert_eq!(
            parse_with("jdoe+!firstname", &d),
            Expr::And(vec![contains("jdoe"), not(contains("firstname"))])
        );
        assert_eq!(
            parse_with("jdoe+!firstname_with_not_match", &d),
            Expr::And(vec![
                contains("jdoe"),
                not(contains("firstname_with_not_match"))
            ])
        );
    }

    #[test]
    fn prefix_and_suffix() {
        let ldap = SearchSyntax {
            prefix: String::new(),
            suffix: "*".into(),
            space_means_and: false,
        };
        assert_eq!(
            parse_with("smi", &ldap),
            Expr::Match(Pattern::new([lit("smi"), Part::Wildcard]))
        );
        assert_eq!(
            parse_with("smi", &ldap),
            Expr::Match(Pattern::from_wildcards("smi*"))
        );
        // Affixes: `*` is a wildcard, everything else literal; wildcard runs collapse.
        let odd = SearchSyntax {
            prefix: "%*_".into(),
            suffix: "**x".into(),
            space_means_and: false,
        };
        assert_eq!(
            parse_with("a", &odd),
            Expr::Match(Pattern::new([
                lit("%"),
                Part::Wildcard,
                lit("_a"),
                Part::Wildcard,
                lit("x")
            ]))
        );
        assert_eq!(
            parse_with("!a", &ldap),
            not(Expr::Match(Pattern::from_wildcards("a*")))
        );
    }

    #[test]
    fn empty_terms() {
        for term in [
            "",
            " ",
            "\t\n ",
            "+",
            "++",
            "!",
            "! ",
            "AND",
            "OR",
            "AND OR",
            " + OR AND ! ",
            "\"\"",
            "\"\" + \"\"",
            "!\"\"",
        ] {
            assert_eq!(
                parse_term(term, &SearchSyntax::default()),
                Err(SearchSyntaxError::Empty),
                "{term:?}"
            );
            assert_eq!(
                parse_term(term, &and_syntax()),
                Err(SearchSyntaxError::Empty),
                "{term:?}"
            );
        }
    }

    #[test]
    fn length_cap() {
        let max = SearchSyntax::MAX_TERM_CHARS;
        let ok = "a".repeat(max);
        assert_eq!(parse(&ok), m(&ok));
        // Counted in characters, not bytes, and after trimming.
        let wide = "ä".repeat(max);
        assert_eq!(parse(&format!("  {wide}  ")), m(&wide));
        let long = "a".repeat(max + 1);
        assert_eq!(
            parse_term(&long, &exact_syntax()),
            Err(SearchSyntaxError::TooLong { len: max + 1, max })
        );
        let long_ops = "+".repeat(max * 2);
        assert_eq!(
            parse_term(&long_ops, &exact_syntax()),
            Err(SearchSyntaxError::TooLong { len: max * 2, max })
        );
    }

    #[test]
    fn trims_the_term() {
        assert_eq!(parse("  smith \t"), m("smith"));
        assert_eq!(parse("\u{3000}smith\u{a0}"), m("smith"));
    }

    #[test]
    fn plus_and_operator_words() {
        assert_eq!(parse("a+b"), Expr::And(vec![m("a"), m("b")]));
        assert_eq!(parse("a + b"), Expr::And(vec![m("a"), m("b")]));
        assert_eq!(parse("a AND b"), Expr::And(vec![m("a"), m("b")]));
        assert_eq!(parse("a OR b"), Expr::Or(vec![m("a"), m("b")]));
        assert_eq!(parse("a\tOR\nb"), Expr::Or(vec![m("a"), m("b")]));
        assert_eq!(parse("a+b+c"), Expr::And(vec![m("a"), m("b"), m("c")]));
        assert_eq!(parse("a OR b OR c"), Expr::Or(vec![m("a"), m("b"), m("c")]));
    }

    #[test]
    fn lowercase_and_glued_operator_words_are_text() {
        assert_eq!(parse("a and b"), m("a and b"));
        assert_eq!(parse("a or b"), m("a or b"));
        assert_eq!(parse("a Or b"), m("a Or b"));
        assert_eq!(parse("ANDROID"), m("ANDROID"));
        assert_eq!(parse("BAND"), m("BAND"));
        assert_eq!(
            parse("ORACLE OR SAND"),
            Expr::Or(vec![m("ORACLE"), m("SAND")])
        );
        assert_eq!(parse("a AND+b"), Expr::And(vec![m("a AND"), m("b")]));
        assert_eq!(parse("a+OR b"), Expr::And(vec![m("a"), m("OR b")]));
        assert_eq!(parse("\"AND\""), m("AND"));
        assert_eq!(parse("a \"OR\" b"), m("a OR b"));
        assert_eq!(parse("A\"N\"D"), m("AND"));
        assert_eq!(parse("A\"\"ND"), m("AND"));
        assert_eq!(parse(r"\AND"), m(r"\AND"));
        assert_eq!(parse("!AND"), not(m("AND")));
    }

    #[test]
    fn operator_words_at_the_edges_are_dropped() {
        assert_eq!(parse("AND a"), m("a"));
        assert_eq!(parse("a OR"), m("a"));
        assert_eq!(parse("OR a AND"), m("a"));
        assert_eq!(parse("a AND AND b"), Expr::And(vec![m("a"), m("b")]));
        assert_eq!(parse("a OR OR b"), Expr::Or(vec![m("a"), m("b")]));
        assert_eq!(parse("a AND OR b"), Expr::Or(vec![m("a"), m("b")]));
    }

    #[test]
    fn empty_operands_are_dropped() {
        assert_eq!(parse("a++b"), Expr::And(vec![m("a"), m("b")]));
        assert_eq!(parse("+a"), m("a"));
        assert_eq!(parse("a+"), m("a"));
        assert_eq!(parse("+ a +"), m("a"));
        assert_eq!(parse("a+!+b"), Expr::And(vec![m("a"), m("b")]));
        assert_eq!(parse("a+\"\"+b"), Expr::And(vec![m("a"), m("b")]));
    }

    #[test]
    fn precedence_and_over_or() {
        assert_eq!(
            parse("a OR b+c"),
            Expr::Or(vec![m("a"), Expr::And(vec![m("b"), m("c")])])
        );
        assert_eq!(
            parse("a+b OR c"),
            Expr::Or(vec![Expr::And(vec![m("a"), m("b")]), m("c")])
        );
        assert_eq!(
            parse("a+b OR c+d"),
            Expr::Or(vec![
                Expr::And(vec![m("a"), m("b")]),
                Expr::And(vec![m("c"), m("d")])
            ])
        );
        assert_eq!(
            parse("!a OR b AND !c"),
            Expr::Or(vec![not(m("a")), Expr::And(vec![m("b"), not(m("c"))])])
        );
    }

    #[test]
    fn negation() {
        assert_eq!(parse("!a"), not(m("a")));
        assert_eq!(parse("! a"), not(m("a")));
        assert_eq!(parse("a+!b"), Expr::And(vec![m("a"), not(m("b"))]));
        assert_eq!(parse("a + ! b"), Expr::And(vec![m("a"), not(m("b"))]));
        assert_eq!(parse("!\"a b\""), not(m("a b")));
        // Only at the start of a word, and only once.
        assert_eq!(parse("a!b"), m("a!b"));
        assert_eq!(parse("a!"), m("a!"));
        assert_eq!(parse("!!a"), not(m("!a")));
        assert_eq!(parse("!a!"), not(m("a!")));
        // By default a space is part of the word, so this `!` is inside a word.
        assert_eq!(parse("a !b"), m("a !b"));
        assert_eq!(
            parse_with("a !b", &and_syntax()),
            Expr::And(vec![m("a"), not(m("b"))])
        );
        assert_eq!(parse(r"\!a"), m("!a"));
    }

    #[test]
    fn space_is_part_of_the_word_by_default() {
        assert_eq!(parse("john black"), m("john black"));
        assert_eq!(parse("john   black"), m("john black"));
        assert_eq!(parse("john \t\n black"), m("john black"));
        assert_eq!(parse("a b + c  d"), Expr::And(vec![m("a b"), m("c d")]));
        assert_eq!(parse("a b OR c"), Expr::Or(vec![m("a b"), m("c")]));
        assert_eq!(
            parse_with("john black", &SearchSyntax::default()),
            contains("john black")
        );
    }

    #[test]
    fn space_means_and_when_asked() {
        let s = and_syntax();
        assert_eq!(
            parse_with("john black", &s),
            Expr::And(vec![m("john"), m("black")])
        );
        assert_eq!(
            parse_with("john   black", &s),
            Expr::And(vec![m("john"), m("black")])
        );
        assert_eq!(parse_with("a + b", &s), Expr::And(vec![m("a"), m("b")]));
        assert_eq!(
            parse_with("a b OR c", &s),
            Expr::Or(vec![Expr::And(vec![m("a"), m("b")]), m("c")])
        );
        assert_eq!(
            parse_with("a OR b c", &s),
            Expr::Or(vec![m("a"), Expr::And(vec![m("b"), m("c")])])
        );
        assert_eq!(
            parse_with("\"john black\" x", &s),
            Expr::And(vec![m("john black"), m("x")])
        );
        assert_eq!(parse_with("solo", &s), m("solo"));
    }

    #[test]
    fn quotes() {
        assert_eq!(parse("\"a + b\""), m("a + b"));
        assert_eq!(parse("\"a AND b OR c\""), m("a AND b OR c"));
        assert_eq!(parse("\"!a\""), m("!a"));
        // Whitespace inside quotes is kept exactly.
        assert_eq!(parse("\"a   b\""), m("a   b"));
        assert_eq!(parse("\" a \""), m(" a "));
        // `*` is still our wildcard inside quotes; `\*` is a real asterisk.
        assert_eq!(
            parse("\"a*b\""),
            Expr::Match(Pattern::from_wildcards("a*b"))
        );
        assert_eq!(parse(r#""a\*b""#), m("a*b"));
        assert_eq!(parse(r#""say \"hi\"""#), m("say \"hi\""));
        // A quoted part joins the text around it.
        assert_eq!(parse("ab\"c d\"e"), m("abc de"));
        assert_eq!(parse("\"a\"+\"b\""), Expr::And(vec![m("a"), m("b")]));
        assert_eq!(parse("\"x\" OR \"y\""), Expr::Or(vec![m("x"), m("y")]));
    }

    #[test]
    fn unterminated_quote() {
        let s = exact_syntax();
        assert_eq!(
            parse_term("\"abc", &s),
            Err(SearchSyntaxError::UnterminatedQuote { position: 0 })
        );
        assert_eq!(
            parse_term("ab\"c", &s),
            Err(SearchSyntaxError::UnterminatedQuote { position: 2 })
        );
        // Positions count characters of the term as given, leading whitespace included.
        assert_eq!(
            parse_term("  äö \"x", &s),
            Err(SearchSyntaxError::UnterminatedQuote { position: 5 })
        );
        assert_eq!(
            parse_term("\"a\" \"b", &s),
            Err(SearchSyntaxError::UnterminatedQuote { position: 4 })
        );
        assert_eq!(
            parse_term(r#""a\""#, &s),
            Err(SearchSyntaxError::UnterminatedQuote { position: 0 })
        );
        assert_eq!(
            parse_term("\"", &s),
            Err(SearchSyntaxError::UnterminatedQuote { position: 0 })
        );
    }

    #[test]
    fn sql_and_ldap_specials_are_literal() {
        assert_eq!(parse("50%"), m("50%"));
        assert_eq!(parse("a_b"), m("a_b"));
        assert_eq!(parse("o'brien"), m("o'brien"));
        assert_eq!(parse("(a)"), m("(a)"));
        assert_eq!(parse("a&b"), m("a&b"));
        assert_eq!(parse("a|b"), m("a|b"));
        assert_eq!(parse("a&&b||c"), m("a&&b||c"));
        assert_eq!(
            parse("x)(uid=*"),
            Expr::Match(Pattern::new([lit("x)(uid="), Part::Wildcard]))
        );
        assert_eq!(parse("a\0b"), m("a\0b"));
        assert_eq!(parse("\0"), m("\0"));
        assert_eq!(parse("%"), m("%"));
        assert_eq!(
            parse_with("%_", &SearchSyntax::default()),
            Expr::Match(Pattern::new([Part::Wildcard, lit("%_"), Part::Wildcard]))
        );
    }

    #[test]
    fn backslash_escapes() {
        assert_eq!(parse(r"\*"), m("*"));
        assert_eq!(parse(r"a\*b"), m("a*b"));
        assert_eq!(parse(r"a\+b"), m("a+b"));
        assert_eq!(parse(r"\!a"), m("!a"));
        assert_eq!(parse(r#"\"a"#), m("\"a"));
        assert_eq!(parse(r"a\\b"), m(r"a\b"));
        assert_eq!(
            parse(r"a\\*"),
            Expr::Match(Pattern::new([lit(r"a\"), Part::Wildcard]))
        );
        // A backslash before anything else, or at the end, is literal.
        assert_eq!(parse(r"a\b"), m(r"a\b"));
        assert_eq!(parse(r"a\%"), m(r"a\%"));
        assert_eq!(parse(r"a\"), m(r"a\"));
        assert_eq!(parse(r"\"), m(r"\"));
        assert_eq!(parse(r"\ a"), m(r"\ a"));
        assert_eq!(parse(r"a\ä"), m(r"a\ä"));
        // An escaped `*` is never a wildcard, whatever the affixes say.
        assert_eq!(
            parse_with(r"\*", &SearchSyntax::default()),
            Expr::Match(Pattern::new([Part::Wildcard, lit("*"), Part::Wildcard]))
        );
    }

    #[test]
    fn multibyte_characters() {
        assert_eq!(parse("Müller"), m("Müller"));
        assert_eq!(parse("ä"), m("ä"));
        assert_eq!(parse("カスタマー"), m("カスタマー"));
        assert_eq!(
            parse("カス*"),
            Expr::Match(Pattern::new([lit("カス"), Part::Wildcard]))
        );
        assert_eq!(parse("عميل"), m("عميل"));
        assert_eq!(parse("محمد+علي"), Expr::And(vec![m("محمد"), m("علي")]));
        assert_eq!(parse("!ä\\ö"), not(m("ä\\ö")));
        assert_eq!(parse("\"ä ö\" OR カ"), Expr::Or(vec![m("ä ö"), m("カ")]));
        assert_eq!(parse("😀+👍🏽"), Expr::And(vec![m("😀"), m("👍🏽")]));
        assert_eq!(
            parse_with("カス", &SearchSyntax::default()),
            contains("カス")
        );
    }

    #[test]
    fn output_is_flat() {
        let e = parse("a+b+c OR d OR e+f");
        assert_eq!(
            e,
            Expr::Or(vec![
                Expr::And(vec![m("a"), m("b"), m("c")]),
                m("d"),
                Expr::And(vec![m("e"), m("f")])
            ])
        );
        assert_eq!(parse("a OR"), m("a"));
        assert_eq!(parse("!a+"), not(m("a")));
    }

    #[test]
    fn errors_display_what_was_wrong() {
        assert_eq!(
            SearchSyntaxError::UnterminatedQuote { position: 3 }.to_string(),
            "unterminated quote: the \" at character 3 is never closed"
        );
        assert_eq!(
            SearchSyntaxError::TooLong {
                len: 5000,
                max: 4096
            }
            .to_string(),
            "search term too long: 5000 characters, at most 4096 allowed"
        );
    }
}
