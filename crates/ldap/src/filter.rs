//! Compiling the model's parsed search ([`Expr`] of [`Pattern`]s) into one RFC 4515 filter.
//!
//! Every literal is escaped (`ldap3::ldap_escape` for UTF-8 directories; hex escapes of the
//! charset's bytes otherwise); only [`Part::Wildcard`] becomes an unescaped `*`. Attribute names
//! come from the configuration and are checked when the backend is built, never from user input.

use clientele_model::search::{Expr, Part, Pattern};

use crate::charset::Charset;

/// A filter that matches no entry (every entry has an object class). Used for patterns that
/// cannot match any stored value: the empty pattern, or a literal the charset cannot encode.
pub(crate) const MATCH_NOTHING: &str = "(!(objectClass=*))";

/// A filter that matches every entry.
pub(crate) const MATCH_EVERYTHING: &str = "(objectClass=*)";

/// Compiles patterns and expressions for one directory charset.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FilterCompiler {
    charset: Charset,
}

impl FilterCompiler {
    pub(crate) fn new(charset: Charset) -> Self {
        FilterCompiler { charset }
    }

    /// A literal as an escaped assertion value; `None` when the charset cannot encode it.
    pub(crate) fn escape(&self, literal: &str) -> Option<String> {
        match self.charset {
            Charset::Utf8 => Some(ldap3::ldap_escape(literal).into_owned()),
            other => {
                let bytes = other.encode(literal)?;
                let mut out = String::with_capacity(bytes.len() * 3);
                for &b in bytes.iter() {
                    // Printable ASCII other than the four specials stays readable; everything
                    // else (the charset's high bytes, controls, NUL) goes as \xx.
                    if b.is_ascii_graphic() && !matches!(b, b'*' | b'(' | b')' | b'\\') || b == b' '
                    {
                        out.push(char::from(b));
                    } else {
                        out.push_str(&format!("\\{b:02x}"));
                    }
                }
                Some(out)
            }
        }
    }

    /// `(attr=value)` with the value escaped: an exact (equality) match.
    pub(crate) fn equality(&self, attr: &str, value: &str) -> String {
        if value.is_empty() {
            return MATCH_NOTHING.to_owned();
        }
        match self.escape(value) {
            Some(v) => format!("({attr}={v})"),
            None => MATCH_NOTHING.to_owned(),
        }
    }

    /// One attribute against a whole-value pattern: presence for `*`, equality for a pattern
    /// without wildcards, a substring assertion otherwise.
    pub(crate) fn pattern(&self, attr: &str, pattern: &Pattern) -> String {
        if pattern.matches_everything() {
            return format!("({attr}=*)");
        }
        let mut value = String::new();
        for part in pattern.parts() {
            match part {
                Part::Wildcard => value.push('*'),
                Part::Literal(l) => match self.escape(l) {
                    Some(e) => value.push_str(&e),
                    None => return MATCH_NOTHING.to_owned(),
                },
            }
        }
        if value.is_empty() {
            // The empty pattern matches only the empty value, which LDAP does not store.
            return MATCH_NOTHING.to_owned();
        }
        format!("({attr}={value})")
    }

    /// The expression over `attrs`: a word matches when any attribute matches it; a negated
    /// word when none does.
    pub(crate) fn expr(&self, expr: &Expr, attrs: &[String]) -> String {
        match expr {
            Expr::And(children) => and(children.iter().map(|c| self.expr(c, attrs)).collect()),
            Expr::Or(children) => or(children.iter().map(|c| self.expr(c, attrs)).collect()),
            Expr::Not(child) => not(&self.expr(child, attrs)),
            Expr::Match(p) => or(attrs.iter().map(|a| self.pattern(a, p)).collect()),
        }
    }
}

/// `(&…)` of the parts; one part stays as it is; none matches everything.
pub(crate) fn and(parts: Vec<String>) -> String {
    match parts.len() {
        0 => MATCH_EVERYTHING.to_owned(),
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("(&{})", parts.concat()),
    }
}

/// `(|…)` of the parts; one part stays as it is; none matches nothing.
pub(crate) fn or(parts: Vec<String>) -> String {
    match parts.len() {
        0 => MATCH_NOTHING.to_owned(),
        1 => parts.into_iter().next().unwrap_or_default(),
        _ => format!("(|{})", parts.concat()),
    }
}

/// `(!f)`.
pub(crate) fn not(part: &str) -> String {
    format!("(!{part})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_model::search::{SearchSyntax, parse_term};
    use proptest::prelude::*;

    fn c() -> FilterCompiler {
        FilterCompiler::new(Charset::Utf8)
    }

    fn attrs(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn ldap_syntax() -> SearchSyntax {
        SearchSyntax {
            prefix: String::new(),
            suffix: "*".into(),
            space_means_and: false,
        }
    }

    #[test]
    fn shapes() {
        let c = c();
        let p = |s: &str| Pattern::from_wildcards(s);
        assert_eq!(c.pattern("uid", &p("jdoe")), "(uid=jdoe)");
        assert_eq!(c.pattern("uid", &p("j*")), "(uid=j*)");
        assert_eq!(c.pattern("uid", &p("*d*e")), "(uid=*d*e)");
        assert_eq!(c.pattern("uid", &p("*")), "(uid=*)");
        assert_eq!(c.pattern("uid", &p("**")), "(uid=*)");
        assert_eq!(c.pattern("uid", &Pattern::exact("")), MATCH_NOTHING);

        let one = parse_term("smi", &ldap_syntax()).unwrap();
        assert_eq!(c.expr(&one, &attrs(&["uid"])), "(uid=smi*)");
        assert_eq!(
            c.expr(&one, &attrs(&["uid", "cn", "mail"])),
            "(|(uid=smi*)(cn=smi*)(mail=smi*))"
        );
        let and_not = parse_term("jdoe+!john", &ldap_syntax()).unwrap();
        assert_eq!(
            c.expr(&and_not, &attrs(&["uid", "cn"])),
            "(&(|(uid=jdoe*)(cn=jdoe*))(!(|(uid=john*)(cn=john*))))"
        );
        let or_and = parse_term("a OR b+c", &ldap_syntax()).unwrap();
        assert_eq!(
            c.expr(&or_and, &attrs(&["uid"])),
            "(|(uid=a*)(&(uid=b*)(uid=c*)))"
        );
        assert_eq!(c.expr(&one, &[]), MATCH_NOTHING);
        assert_eq!(and(vec![]), MATCH_EVERYTHING);
        assert_eq!(and(vec!["(a=1)".into(), "(b=2)".into()]), "(&(a=1)(b=2))");
    }

    #[test]
    fn escaping() {
        let c = c();
        // The user's specials are literals; only the pattern's own wildcards stay `*`.
        let term = parse_term(r"*)(uid=*", &ldap_syntax()).unwrap();
        assert_eq!(c.expr(&term, &attrs(&["uid"])), r"(uid=*\29\28uid=*)");
        let term = parse_term(r"admin)(|(uid=*", &ldap_syntax()).unwrap();
        assert_eq!(
            c.expr(&term, &attrs(&["uid"])),
            r"(uid=admin\29\28|\28uid=*)"
        );
        assert_eq!(c.equality("uid", r"\2a"), r"(uid=\5c2a)");
        assert_eq!(c.equality("uid", "jdoe\0"), r"(uid=jdoe\00)");
        assert_eq!(c.equality("uid", "x*(y)\\z"), r"(uid=x\2a\28y\29\5cz)");
        assert_eq!(
            c.pattern("cn", &Pattern::exact("Star*Man")),
            r"(cn=Star\2aMan)"
        );
        assert_eq!(c.equality("uid", "jmüller"), "(uid=jmüller)");
        assert_eq!(c.equality("uid", ""), MATCH_NOTHING);
    }

    #[test]
    fn latin1_literals_are_hex_escaped_bytes() {
        let c = FilterCompiler::new(Charset::Latin1);
        assert_eq!(c.equality("cn", "Jürgen (x)"), r"(cn=J\fcrgen \28x\29)");
        assert_eq!(c.equality("cn", "カスミ"), MATCH_NOTHING);
        assert_eq!(
            c.pattern("cn", &Pattern::from_wildcards("カ*")),
            MATCH_NOTHING
        );
        assert!(ldap3::parse_filter(c.equality("cn", "Jürgen\0*")).is_ok());
    }

    #[test]
    fn ldap3_accepts_the_shapes() {
        let c = c();
        for f in [
            c.pattern("uid", &Pattern::from_wildcards("*a*b*")),
            c.equality("uid", "x*(y)\\z\0"),
            MATCH_NOTHING.to_owned(),
            MATCH_EVERYTHING.to_owned(),
        ] {
            assert!(ldap3::parse_filter(&f).is_ok(), "{f}");
        }
    }

    /// Checks what the parser cannot: the filter is balanced and every `\` starts a two-digit
    /// hex escape, so no user `(`, `)`, `\` or NUL reaches the filter unescaped.
    fn well_formed(f: &str) -> bool {
        let bytes = f.as_bytes();
        let mut depth = 0i64;
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth < 0 {
                        return false;
                    }
                }
                b'\\' => {
                    let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
                    if !(hex(i + 1) && hex(i + 2)) {
                        return false;
                    }
                    i += 2;
                }
                0 => return false,
                _ => {}
            }
            i += 1;
        }
        depth == 0
    }

    fn any_part() -> impl Strategy<Value = Part> {
        prop_oneof![
            Just(Part::Wildcard),
            // Arbitrary Unicode, plus a bias towards the filter specials.
            any::<String>().prop_map(Part::Literal),
            "[()*\\\\\\x00a-c=|&!]{1,6}".prop_map(Part::Literal),
        ]
    }

    fn any_pattern() -> impl Strategy<Value = Pattern> {
        prop::collection::vec(any_part(), 0..6).prop_map(Pattern::new)
    }

    fn any_expr() -> impl Strategy<Value = Expr> {
        let leaf = any_pattern().prop_map(Expr::Match);
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
                inner.prop_map(|e| Expr::Not(Box::new(e))),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_pattern_gives_a_filter_ldap3_parses(expr in any_expr(), n in 1usize..4) {
            let names = ["uid", "cn", "mail"];
            let f = c().expr(&expr, &attrs(&names[..n]));
            prop_assert!(ldap3::parse_filter(&f).is_ok(), "{}", f);
            prop_assert!(well_formed(&f), "{}", f);
        }

        #[test]
        fn literals_never_leak_specials(lit in any::<String>()) {
            let escaped = c().escape(&lit).unwrap();
            prop_assert!(!escaped.contains(['(', ')', '*', '\0']));
            let f = format!("(cn={escaped})");
            prop_assert!(well_formed(&f));
            // Escaping is lossless: unescaping gives the literal back.
            let back = ldap3::ldap_unescape(escaped.as_str()).unwrap();
            prop_assert_eq!(back.as_ref(), lit.as_str());
        }

        #[test]
        fn latin1_literals_never_leak_specials(lit in "[\\x00-\\xff]{0,12}") {
            let escaped = FilterCompiler::new(Charset::Latin1).escape(&lit).unwrap();
            prop_assert!(escaped.is_ascii());
            prop_assert!(!escaped.contains(['(', ')', '*', '\0']));
            let f = format!("(cn={escaped})");
            prop_assert!(well_formed(&f));
        }
    }
}
