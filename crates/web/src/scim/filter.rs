//! SCIM filters (RFC 7644 §3.4.2.2): parsed into an AST, never pasted into a query.
//!
//! Supported: `eq`, `co`, `sw`, `pr`, `and`, `or` and parentheses; everything else (`ne`,
//! `ew`, `gt`, `not`, value paths …) is refused with `400 invalidFilter`. A value is a JSON
//! literal; its characters are matched literally wherever the filter is compiled to (a `%`,
//! `*` or `)(` is no wildcard, no syntax).

use serde_json::Value;

use super::error::ScimError;

/// The longest filter accepted, in characters.
const MAX_FILTER: usize = 4096;
/// The deepest nesting of parentheses accepted.
const MAX_DEPTH: usize = 32;
/// The most alternatives a filter may expand to (`(a or b) and (c or d)` is four).
pub(crate) const MAX_ALTERNATIVES: usize = 64;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// `eq`: equal.
    Eq,
    /// `co`: contains.
    Co,
    /// `sw`: starts with.
    Sw,
}

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Filter {
    /// Both hold.
    And(Box<Filter>, Box<Filter>),
    /// Either holds.
    Or(Box<Filter>, Box<Filter>),
    /// `attr op value`.
    Compare {
        /// The attribute path as written.
        attr: String,
        /// The operator.
        op: Op,
        /// The literal.
        value: Value,
    },
    /// `attr pr`: the attribute has a non-empty value.
    Present(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Literal(Value),
}

fn tokens(text: &str) -> Result<Vec<Token>, ScimError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '"' => {
                // A JSON string: find its end, honouring escapes, and let serde read it.
                chars.next();
                let mut escaped = false;
                let mut end = None;
                for (j, d) in chars.by_ref() {
                    if escaped {
                        escaped = false;
                    } else if d == '\\' {
                        escaped = true;
                    } else if d == '"' {
                        end = Some(j);
                        break;
                    }
                }
                let end = end.ok_or_else(|| {
                    ScimError::filter(format!("filter: the string at {i} is not closed"))
                })?;
                let value: String = serde_json::from_str(&text[i..=end]).map_err(|_| {
                    ScimError::filter(format!("filter: the string at {i} is not a JSON string"))
                })?;
                out.push(Token::Literal(Value::String(value)));
            }
            '[' | ']' => {
                return Err(ScimError::filter(
                    "filter: value paths (attr[…]) are not supported in filters",
                ));
            }
            _ => {
                let mut word = String::new();
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_whitespace() || matches!(d, '(' | ')' | '"' | '[' | ']') {
                        break;
                    }
                    word.push(d);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
        }
    }
    Ok(out)
}

/// Parses a filter; `400 invalidFilter` naming what is wrong.
///
/// `and` binds tighter than `or`, as RFC 7644 says.
pub(crate) fn parse(text: &str) -> Result<Filter, ScimError> {
    if text.chars().count() > MAX_FILTER {
        return Err(ScimError::filter(format!(
            "filter: longer than {MAX_FILTER} characters"
        )));
    }
    if text.contains('\0') {
        return Err(ScimError::filter("filter: a NUL character is not accepted"));
    }
    let tokens = tokens(text)?;
    if tokens.is_empty() {
        return Err(ScimError::filter("filter: empty"));
    }
    let mut p = Parser { tokens, at: 0 };
    let f = p.or(0)?;
    if p.at != p.tokens.len() {
        return Err(ScimError::filter(format!(
            "filter: unexpected {} after a complete expression",
            p.describe(p.at)
        )));
    }
    Ok(f)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn describe(&self, at: usize) -> String {
        match self.tokens.get(at) {
            None => "end".into(),
            Some(Token::Open) => "'('".into(),
            Some(Token::Close) => "')'".into(),
            Some(Token::Word(w)) => format!("{w:?}"),
            Some(Token::Literal(v)) => format!("value {v}"),
        }
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn or(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.and(depth)?;
        while self.keyword("or") {
            self.at += 1;
            let right = self.and(depth)?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Filter, ScimError> {
        let mut left = self.primary(depth)?;
        while self.keyword("and") {
            self.at += 1;
            let right = self.primary(depth)?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn primary(&mut self, depth: usize) -> Result<Filter, ScimError> {
        if depth > MAX_DEPTH {
            return Err(ScimError::filter(format!(
                "filter: nested deeper than {MAX_DEPTH} parentheses"
            )));
        }
        match self.tokens.get(self.at).cloned() {
            Some(Token::Open) => {
                self.at += 1;
                let inner = self.or(depth + 1)?;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err(ScimError::filter(format!(
                        "filter: expected ')' but found {}",
                        self.describe(self.at)
                    )));
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("not") => Err(ScimError::filter(
                "filter: not(…) is not supported; use eq, co, sw, pr, and, or",
            )),
            Some(Token::Word(attr)) => {
                if !attr
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '_' | '-' | '$'))
                {
                    return Err(ScimError::filter(format!(
                        "filter: {attr:?} is not an attribute path"
                    )));
                }
                self.at += 1;
                let op = match self.tokens.get(self.at) {
                    Some(Token::Word(op)) => op.to_ascii_lowercase(),
                    _ => {
                        return Err(ScimError::filter(format!(
                            "filter: expected an operator after {attr:?} but found {}",
                            self.describe(self.at)
                        )));
                    }
                };
                self.at += 1;
                let op = match op.as_str() {
                    "pr" => return Ok(Filter::Present(attr)),
                    "eq" => Op::Eq,
                    "co" => Op::Co,
                    "sw" => Op::Sw,
                    "ne" | "ew" | "gt" | "ge" | "lt" | "le" => {
                        return Err(ScimError::filter(format!(
                            "filter: the operator {op:?} is not supported; use eq, co, sw or pr"
                        )));
                    }
                    _ => {
                        return Err(ScimError::filter(format!(
                            "filter: {op:?} is not an operator"
                        )));
                    }
                };
                let value = match self.tokens.get(self.at).cloned() {
                    Some(Token::Literal(v)) => v,
                    Some(Token::Word(w)) => literal(&w).ok_or_else(|| {
                        ScimError::filter(format!(
                            "filter: {w:?} is not a value; quote strings (\"…\")"
                        ))
                    })?,
                    _ => {
                        return Err(ScimError::filter(format!(
                            "filter: expected a value after {attr:?} {op:?}"
                        )));
                    }
                };
                self.at += 1;
                if op != Op::Eq && !value.is_string() {
                    return Err(ScimError::filter(
                        "filter: co and sw compare strings; quote the value",
                    ));
                }
                Ok(Filter::Compare { attr, op, value })
            }
            _ => Err(ScimError::filter(format!(
                "filter: expected an attribute or '(' but found {}",
                self.describe(self.at)
            ))),
        }
    }
}

/// `true`, `false`, `null` or a number.
fn literal(word: &str) -> Option<Value> {
    match word.to_ascii_lowercase().as_str() {
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        "null" => Some(Value::Null),
        _ => word.parse::<serde_json::Number>().ok().map(Value::Number),
    }
}

/// The filter as alternatives of conjunctions (`or` of `and`s), each a list of leaves;
/// `400 invalidFilter` beyond [`MAX_ALTERNATIVES`].
pub(crate) fn alternatives(f: &Filter) -> Result<Vec<Vec<Filter>>, ScimError> {
    let out = match f {
        Filter::Or(a, b) => {
            let mut x = alternatives(a)?;
            x.extend(alternatives(b)?);
            x
        }
        Filter::And(a, b) => {
            let (x, y) = (alternatives(a)?, alternatives(b)?);
            if x.len().saturating_mul(y.len()) > MAX_ALTERNATIVES {
                return Err(too_many());
            }
            let mut out = Vec::new();
            for l in &x {
                for r in &y {
                    let mut both = l.clone();
                    both.extend(r.iter().cloned());
                    out.push(both);
                }
            }
            out
        }
        leaf => vec![vec![leaf.clone()]],
    };
    if out.len() > MAX_ALTERNATIVES {
        return Err(too_many());
    }
    Ok(out)
}

fn too_many() -> ScimError {
    ScimError::filter(format!(
        "filter: expands to more than {MAX_ALTERNATIVES} alternatives; simplify it"
    ))
}

/// The attribute path without the schema URN a client may put in front (the core schemas' and
/// the extensions' own), lower-cased: `urn:…:User:name.givenName` is `name.givenname`.
pub(crate) fn bare_path(attr: &str, schemas: &[&str]) -> String {
    let lower = attr.to_ascii_lowercase();
    for s in schemas {
        let s = s.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix(&s)
            && let Some(rest) = rest.strip_prefix(':')
        {
            return rest.to_owned();
        }
    }
    lower
}

/// Does the resource (its SCIM JSON) satisfy the filter? Strings compare case-insensitively
/// (every attribute this server filters on has `caseExact: false`); a multi-valued attribute
/// matches when one of its values does; `emails` alone means `emails.value`.
pub(crate) fn matches(f: &Filter, resource: &Value, schemas: &[&str]) -> bool {
    match f {
        Filter::And(a, b) => matches(a, resource, schemas) && matches(b, resource, schemas),
        Filter::Or(a, b) => matches(a, resource, schemas) || matches(b, resource, schemas),
        Filter::Present(attr) => values_at(resource, attr, schemas).iter().any(|v| {
            !(v.is_null() || v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty))
        }),
        Filter::Compare { attr, op, value } => values_at(resource, attr, schemas)
            .iter()
            .any(|v| compare(v, *op, value)),
    }
}

fn compare(stored: &Value, op: Op, wanted: &Value) -> bool {
    match (stored, wanted) {
        (Value::String(s), Value::String(w)) => {
            let (s, w) = (s.to_lowercase(), w.to_lowercase());
            match op {
                Op::Eq => s == w,
                Op::Co => s.contains(&w),
                Op::Sw => s.starts_with(&w),
            }
        }
        (s, w) => op == Op::Eq && s == w,
    }
}

/// The values at `attr` in `resource`: keys compared case-insensitively, arrays flattened.
fn values_at<'v>(resource: &'v Value, attr: &str, schemas: &[&str]) -> Vec<&'v Value> {
    // An extension's attribute lives in the object named by its schema URN.
    let lower = attr.to_ascii_lowercase();
    let mut start = resource;
    let mut path = bare_path(attr, schemas);
    for s in schemas {
        let s_lower = s.to_ascii_lowercase();
        if lower.starts_with(&format!("{s_lower}:"))
            && let Some(obj) = resource.as_object()
        {
            if let Some((_, ext)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(s)) {
                start = ext;
                path = lower[s_lower.len() + 1..].to_owned();
            }
            break;
        }
    }
    let mut current = vec![start];
    for part in path.split('.') {
        let mut next = Vec::new();
        for v in current {
            let items: Vec<&Value> = match v {
                Value::Array(a) => a.iter().collect(),
                other => vec![other],
            };
            for item in items {
                if let Some(obj) = item.as_object()
                    && let Some((_, found)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(part))
                {
                    next.push(found);
                }
            }
        }
        current = next;
    }
    // `emails` alone: the values of the complex items.
    let mut out = Vec::new();
    for v in current {
        match v {
            Value::Array(items) => {
                for i in items {
                    match i.get("value") {
                        Some(inner) => out.push(inner),
                        None => out.push(i),
                    }
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cmp(attr: &str, op: Op, v: &str) -> Filter {
        Filter::Compare {
            attr: attr.into(),
            op,
            value: json!(v),
        }
    }

    #[test]
    fn and_binds_tighter_than_or() {
        let f = parse(r#"userName eq "a" or userName sw "b" and active eq true"#).unwrap();
        match f {
            Filter::Or(a, b) => {
                assert_eq!(*a, cmp("userName", Op::Eq, "a"));
                assert!(matches!(*b, Filter::And(..)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parentheses_group() {
        let f = parse(r#"(userName eq "a" or userName eq "b") and emails co "x""#).unwrap();
        let alts = alternatives(&f).unwrap();
        assert_eq!(alts.len(), 2);
        assert_eq!(alts[0].len(), 2);
    }

    #[test]
    fn special_characters_are_values() {
        let f = parse(r#"userName eq "a%b*)(c\"d""#).unwrap();
        assert_eq!(f, cmp("userName", Op::Eq, "a%b*)(c\"d"));
    }

    #[test]
    fn refusals_are_invalid_filter() {
        for bad in [
            "",
            "userName",
            r#"userName ne "a""#,
            r#"not (userName eq "a")"#,
            r#"emails[type eq "work"]"#,
            r#"userName eq "a"#,
            r#"(userName eq "a""#,
            r#"userName eq "a" garbage"#,
            "userName eq bare",
            "userName eq \"a\0\"",
        ] {
            let e = parse(bad).expect_err(bad);
            assert_eq!(e.scim_type, Some("invalidFilter"), "{bad}");
        }
    }

    #[test]
    fn matching_json() {
        let user = json!({"userName": "Anna", "emails": [{"value": "anna@x.org"}],
                          "name": {"givenName": "Anna"}, "active": true});
        let yes = |f: &str| matches(&parse(f).unwrap(), &user, &[]);
        assert!(yes(r#"username eq "anna""#));
        assert!(yes(r#"emails co "@X.""#));
        assert!(yes(r#"emails.value sw "ann""#));
        assert!(yes("name.givenName pr"));
        assert!(yes("active eq true"));
        assert!(!yes("active eq false"));
        assert!(!yes("title pr"));
    }
}
