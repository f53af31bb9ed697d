//! Literal-or-wildcard patterns.

use serde::{Deserialize, Serialize};

/// One piece of a [`Pattern`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Part {
    /// Text that must appear exactly as written (every character literal).
    Literal(String),
    /// Any run of characters, including none (the user's `*`).
    Wildcard,
}

/// A whole-value pattern: literal parts and wildcards, anchored at both ends.
///
/// `smi*` is `[Literal("smi"), Wildcard]`; `*a%b*` is `[Wildcard, Literal("a%b"), Wildcard]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pattern {
    parts: Vec<Part>,
}

impl Pattern {
    /// A pattern from parts; adjacent literals are joined, runs of wildcards collapse to one and
    /// empty literals are dropped, so equal patterns have equal parts.
    pub fn new(parts: impl IntoIterator<Item = Part>) -> Self {
        let mut out: Vec<Part> = Vec::new();
        for part in parts {
            match part {
                Part::Literal(s) if s.is_empty() => {}
                Part::Literal(s) => match out.last_mut() {
                    Some(Part::Literal(prev)) => prev.push_str(&s),
                    _ => out.push(Part::Literal(s)),
                },
                Part::Wildcard => {
                    if out.last() != Some(&Part::Wildcard) {
                        out.push(Part::Wildcard)
                    }
                }
            }
        }
        Pattern { parts: out }
    }

    /// A pattern that matches exactly `value` (every character literal).
    pub fn exact(value: impl Into<String>) -> Self {
        Self::new([Part::Literal(value.into())])
    }

    /// A pattern where each `*` in `value` is a wildcard and every other character is literal,
    /// as OTOBO reads a login or customer-id search (`*` explicit, no implicit wrapping).
    pub fn from_wildcards(value: &str) -> Self {
        let mut parts = Vec::new();
        for (i, piece) in value.split('*').enumerate() {
            if i > 0 {
                parts.push(Part::Wildcard);
            }
            parts.push(Part::Literal(piece.to_owned()));
        }
        Self::new(parts)
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// `true` when the pattern has no wildcard (an equality test is enough).
    pub fn is_exact(&self) -> bool {
        !self.parts.contains(&Part::Wildcard)
    }

    /// `true` when the pattern is only wildcards (it matches every value, even the empty one).
    pub fn matches_everything(&self) -> bool {
        self.parts.iter().all(|p| *p == Part::Wildcard) && !self.parts.is_empty()
    }

    /// The literal text when [`is_exact`](Self::is_exact), else `None`.
    pub fn as_exact(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Literal(s)] => Some(s),
            _ => None,
        }
    }

    /// The pattern with every literal lower-cased (used for case-insensitive comparison).
    pub fn to_lowercase(&self) -> Self {
        Pattern::new(self.parts.iter().map(|p| match p {
            Part::Literal(s) => Part::Literal(s.to_lowercase()),
            Part::Wildcard => Part::Wildcard,
        }))
    }

    /// Does `value` match the whole pattern? Case-insensitive comparison lower-cases both sides
    /// (Unicode lower case, the same rule the SQL backends apply with `LOWER()`).
    pub fn matches(&self, value: &str, case_sensitive: bool) -> bool {
        if case_sensitive {
            glob_match(&self.parts, value)
        } else {
            glob_match(&self.to_lowercase().parts, &value.to_lowercase())
        }
    }

    /// Renders the pattern back with `*` for wildcards (literal `*` cannot be told apart; for
    /// display and cache keys only).
    pub fn display(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Literal(s) => s.as_str(),
                Part::Wildcard => "*",
            })
            .collect()
    }
}

/// Anchored glob match over literal parts and wildcards, greedy-free (linear in practice).
fn glob_match(parts: &[Part], value: &str) -> bool {
    let mut rest = value;
    let mut anchored = true;
    let last = parts.len();
    for (i, part) in parts.iter().enumerate() {
        match part {
            Part::Wildcard => anchored = false,
            Part::Literal(lit) => {
                let is_last = i + 1 == last;
                if anchored {
                    if !rest.starts_with(lit.as_str()) {
                        return false;
                    }
                    rest = &rest[lit.len()..];
                } else if is_last {
                    // The final literal after a wildcard must end the value.
                    return rest.ends_with(lit.as_str());
                } else {
                    match rest.find(lit.as_str()) {
                        Some(pos) => rest = &rest[pos + lit.len()..],
                        None => return false,
                    }
                }
                anchored = true;
            }
        }
    }
    !anchored || rest.is_empty() || matches!(parts.last(), Some(Part::Wildcard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_wildcards() {
        let p = Pattern::from_wildcards("smi*");
        assert!(p.matches("smith", true));
        assert!(!p.matches("xsmith", true));
        assert!(Pattern::from_wildcards("*mit*").matches("smith", true));
        assert!(Pattern::from_wildcards("*th").matches("smith", true));
        assert!(!Pattern::from_wildcards("*th").matches("smithy", true));
        assert!(Pattern::exact("a%b").matches("a%b", true));
        assert!(!Pattern::exact("a%b").matches("axxb", true));
        assert!(Pattern::from_wildcards("a*b*c").matches("aXbYc", true));
        assert!(!Pattern::from_wildcards("a*b*c").matches("aXbYcd", true));
        assert!(Pattern::from_wildcards("*").matches("", true));
        assert!(Pattern::exact("").matches("", true));
        assert!(!Pattern::exact("").matches("x", true));
        assert!(Pattern::from_wildcards("*a*a").matches("aa", true));
        assert!(!Pattern::from_wildcards("a*a").matches("a", true));
    }

    #[test]
    fn case_rule() {
        let p = Pattern::from_wildcards("ÄRGER*");
        assert!(p.matches("ärger macht", false));
        assert!(!p.matches("ärger macht", true));
    }

    #[test]
    fn normalises_parts() {
        let p = Pattern::new([
            Part::Wildcard,
            Part::Wildcard,
            Part::Literal("a".into()),
            Part::Literal("b".into()),
        ]);
        assert_eq!(p.parts(), &[Part::Wildcard, Part::Literal("ab".into())]);
    }
}
