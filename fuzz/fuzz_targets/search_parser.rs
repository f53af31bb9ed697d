//! The search-language parser with arbitrary syntax settings: never panics; a term it accepts
//! has at least one word, and parsing is deterministic.
#![no_main]

use clientele_fuzz::FuzzSyntax;
use clientele_model::search::{Expr, SearchSyntax, parse_term};
use libfuzzer_sys::fuzz_target;

fn words(e: &Expr) -> usize {
    match e {
        Expr::And(c) | Expr::Or(c) => c.iter().map(words).sum(),
        Expr::Not(c) => words(c),
        Expr::Match(_) => 1,
    }
}

fuzz_target!(|input: (FuzzSyntax, String)| {
    let (syntax, term) = input;
    let syntax = syntax.syntax();
    if let Ok(expr) = parse_term(&term, &syntax) {
        assert!(words(&expr) >= 1, "accepted {term:?} without a word");
        assert_eq!(parse_term(&term, &syntax), Ok(expr));
        assert!(term.trim().chars().count() <= SearchSyntax::MAX_TERM_CHARS);
    }
});
