//! Properties of the search-language parser that must hold for every input.

use clientele_model::search::*;
use proptest::prelude::*;

fn exact_syntax() -> SearchSyntax {
    SearchSyntax {
        prefix: String::new(),
        suffix: String::new(),
        space_means_and: false,
    }
}

fn syntaxes() -> [SearchSyntax; 4] {
    [
        SearchSyntax::default(),
        exact_syntax(),
        SearchSyntax {
            space_means_and: true,
            ..SearchSyntax::default()
        },
        SearchSyntax {
            prefix: String::new(),
            suffix: "*".into(),
            space_means_and: true,
        },
    ]
}

/// The shape `parse_term` promises: no empty or one-child And/Or, no And directly in And, no Or
/// in Or, no Or below And, and Not only around Match.
fn check_shape(expr: &Expr, parent: Option<&Expr>) -> Result<(), String> {
    match expr {
        Expr::Match(_) => Ok(()),
        Expr::Not(inner) => match inner.as_ref() {
            Expr::Match(_) => Ok(()),
            other => Err(format!("Not around {other:?}")),
        },
        Expr::And(children) => {
            if children.len() < 2 {
                return Err(format!("And with {} children", children.len()));
            }
            if matches!(parent, Some(Expr::And(_))) {
                return Err("And inside And".into());
            }
            children.iter().try_for_each(|c| match c {
                Expr::Or(_) => Err("Or inside And".into()),
                c => check_shape(c, Some(expr)),
            })
        }
        Expr::Or(children) => {
            if children.len() < 2 {
                return Err(format!("Or with {} children", children.len()));
            }
            if parent.is_some() {
                return Err("Or below the root".into());
            }
            children.iter().try_for_each(|c| check_shape(c, Some(expr)))
        }
    }
}

fn all_patterns(expr: &Expr) -> Vec<&Pattern> {
    match expr {
        Expr::Match(p) => vec![p],
        Expr::Not(inner) => all_patterns(inner),
        Expr::And(children) | Expr::Or(children) => {
            children.iter().flat_map(all_patterns).collect()
        }
    }
}

fn check_never_panics(term: &str) -> Result<(), TestCaseError> {
    for syntax in syntaxes() {
        match parse_term(term, &syntax) {
            Ok(expr) => {
                prop_assert!(
                    check_shape(&expr, None).is_ok(),
                    "{:?}: {:?}",
                    check_shape(&expr, None),
                    expr
                );
                for p in all_patterns(&expr) {
                    prop_assert!(!p.parts().is_empty(), "empty pattern from {term:?}");
                }
            }
            Err(SearchSyntaxError::TooLong { len, max }) => {
                prop_assert!(len > max);
            }
            Err(SearchSyntaxError::UnterminatedQuote { position }) => {
                prop_assert_eq!(term.chars().nth(position), Some('"'));
            }
            Err(SearchSyntaxError::Empty) => {}
        }
    }
    Ok(())
}

/// The literal characters a term over `%`, `_`, `\`, `'`, NUL and letters stands for: `\\` is one
/// backslash, any other backslash is itself.
fn decode_backslashes(term: &str) -> String {
    let mut out = String::new();
    let mut chars = term.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'\\') {
            chars.next();
        }
        out.push(c);
    }
    out
}

/// The literal text of a pattern's parts, and whether it had any wildcard.
fn literal_text(p: &Pattern) -> (String, usize) {
    let mut text = String::new();
    let mut wildcards = 0;
    for part in p.parts() {
        match part {
            Part::Literal(s) => text.push_str(s),
            Part::Wildcard => wildcards += 1,
        }
    }
    (text, wildcards)
}

proptest! {
    // At least 512 cases; PROPTEST_CASES can ask for more.
    #![proptest_config(ProptestConfig { cases: ProptestConfig::default().cases.max(512), ..ProptestConfig::default() })]

    #[test]
    fn never_panics_on_any_string(term in any::<String>()) {
        check_never_panics(&term)?;
    }

    #[test]
    fn never_panics_on_operator_heavy_strings(
        term in r#"[ \t\n+!"\\*ANDORandor()&|%_'\x00äカ😀a-c]{0,60}"#
    ) {
        check_never_panics(&term)?;
    }

    #[test]
    fn never_panics_on_operator_words(
        words in prop::collection::vec(r#"AND|OR|\+|!|"|\\|\*|[a-cä]{1,3}|"[a-c ]*"| +"#, 0..20)
    ) {
        check_never_panics(&words.concat())?;
        check_never_panics(&words.join(" "))?;
    }

    #[test]
    fn plain_terms_round_trip(term in "[a-zA-Z0-9äö ]{1,30}") {
        let trimmed = term.trim();
        prop_assume!(!trimmed.is_empty());
        prop_assume!(!trimmed.split_whitespace().any(|w| w == "AND" || w == "OR"));
        let collapsed = trimmed.split_whitespace().collect::<Vec<_>>().join(" ");

        prop_assert_eq!(
            parse_term(&term, &exact_syntax()),
            Ok(Expr::Match(Pattern::exact(collapsed.clone())))
        );

        let words: Vec<Expr> =
            trimmed.split_whitespace().map(|w| Expr::Match(Pattern::exact(w))).collect();
        let expected = if words.len() == 1 { words[0].clone() } else { Expr::And(words) };
        let and_syntax = SearchSyntax { space_means_and: true, ..exact_syntax() };
        prop_assert_eq!(parse_term(&term, &and_syntax), Ok(expected));
    }

    #[test]
    fn escaped_specials_stay_literal(
        chars in prop::collection::vec(prop::sample::select(vec![
            '%', '_', '\\', '\'', '"', '\0', 'a', 'Z', 'ä', 'カ',
        ]), 1..40)
    ) {
        let literal: String = chars.iter().collect();
        let term: String = chars
            .iter()
            .map(|c| match c {
                '\\' => r"\\".to_owned(),
                '"' => r#"\""#.to_owned(),
                c => c.to_string(),
            })
            .collect();

        prop_assert_eq!(
            parse_term(&term, &exact_syntax()),
            Ok(Expr::Match(Pattern::exact(literal.clone())))
        );

        let parsed = parse_term(&term, &SearchSyntax::default());
        let Ok(Expr::Match(p)) = parsed else {
            return Err(TestCaseError::fail(format!("{term:?} gave {parsed:?}")));
        };
        prop_assert_eq!(literal_text(&p), (literal.clone(), 2));
        prop_assert_eq!(p.parts().first(), Some(&Part::Wildcard));
        prop_assert_eq!(p.parts().last(), Some(&Part::Wildcard));
    }

    #[test]
    fn unescaped_backslashes_stay_literal(term in r"[%_\\'\x00a-zä]{1,40}") {
        let expected = decode_backslashes(&term);
        let parsed = parse_term(&term, &exact_syntax());
        let Ok(Expr::Match(p)) = parsed else {
            return Err(TestCaseError::fail(format!("{term:?} gave {parsed:?}")));
        };
        prop_assert_eq!(literal_text(&p), (expected, 0));
    }

    #[test]
    fn a_word_matches_itself(word in "[a-zA-Z0-9äöÄÖ%_'()&|\\\\]{1,20}") {
        let parsed = parse_term(&word, &SearchSyntax::default());
        let Ok(Expr::Match(p)) = parsed else {
            return Err(TestCaseError::fail(format!("{word:?} gave {parsed:?}")));
        };
        let value = decode_backslashes(&word);
        prop_assert!(p.matches(&value, false), "{:?} does not match {:?}", p, value);
        prop_assert!(p.matches(&value.to_uppercase(), false));
        prop_assert!(p.matches(&value.to_lowercase(), false));
        prop_assert!(p.matches(&format!("x{value}y"), false), "default syntax is a substring search");
    }
}
