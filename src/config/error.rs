//! [`ConfigError`]: what is wrong with a configuration file, and where.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A configuration that cannot be used. Parse errors say where: the file, the line and column,
/// and — for an unknown or misplaced key — the key's dotted path.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key, or a value of the wrong type.
    Parse {
        /// The file, when the configuration came from one.
        path: Option<PathBuf>,
        /// 1-based line of the offending key or value (0 when unknown).
        line: usize,
        /// 1-based column.
        column: usize,
        /// The dotted path of the offending key, when the error is about a key
        /// (`permissions.customer_group_suport`, `customer_user[0].settings.search_feilds`).
        key: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// The values are well-formed but do not fit together (says what to change).
    Invalid {
        /// The file, when the configuration came from one.
        path: Option<PathBuf>,
        /// 1-based line of the entry concerned (0 when unknown).
        line: usize,
        /// What is wrong and what to change.
        message: String,
    },
}

impl ConfigError {
    /// The 1-based line the error points at, when known.
    pub fn line(&self) -> Option<usize> {
        match self {
            ConfigError::Parse { line, .. } | ConfigError::Invalid { line, .. } if *line > 0 => {
                Some(*line)
            }
            _ => None,
        }
    }

    /// The dotted path of the offending key, when the error is about a key.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::Parse { key, .. } => key.as_deref(),
            _ => None,
        }
    }

    pub(super) fn with_path(mut self, file: PathBuf) -> Self {
        match &mut self {
            ConfigError::Parse { path, .. } | ConfigError::Invalid { path, .. } => {
                *path = Some(file)
            }
            ConfigError::Io { .. } => {}
        }
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place =
            |f: &mut fmt::Formatter<'_>, path: &Option<PathBuf>, line: usize| match (path, line) {
                (Some(p), 0) => write!(f, "{}: ", p.display()),
                (Some(p), l) => write!(f, "{}: line {l}: ", p.display()),
                (None, 0) => Ok(()),
                (None, l) => write!(f, "line {l}: "),
            };
        match self {
            ConfigError::Io { path, source } => {
                write!(f, "cannot read configuration {}: {source}", path.display())
            }
            ConfigError::Parse {
                path,
                line,
                column,
                key,
                message,
            } => {
                match (path, *line) {
                    (Some(p), 0) => write!(f, "{}: ", p.display())?,
                    (Some(p), l) => write!(f, "{}: line {l}, column {column}: ", p.display())?,
                    (None, 0) => {}
                    (None, l) => write!(f, "line {l}, column {column}: ")?,
                }
                match key {
                    Some(k) if !message.contains(k.rsplit('.').next().unwrap_or(k)) => {
                        write!(f, "{message} (key `{k}`)")
                    }
                    _ => f.write_str(message),
                }
            }
            ConfigError::Invalid {
                path,
                line,
                message,
            } => {
                place(f, path, *line)?;
                f.write_str(message)
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// 1-based line and column of a byte offset.
pub(super) fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..floor_char_boundary(source, offset)];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One step of a path into the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Step {
    Key(String),
    Index(usize),
}

pub(super) fn dotted(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The dotted path of the key whose span is exactly `span`.
pub(super) fn key_at(doc: &DeTable<'_>, span: &Range<usize>) -> Option<String> {
    fn walk_table(t: &DeTable<'_>, span: &Range<usize>, path: &mut Vec<Step>) -> bool {
        for (k, v) in t.iter() {
            path.push(Step::Key(k.get_ref().to_string()));
            if k.span() == *span || walk_value(v, span, path) {
                return true;
            }
            path.pop();
        }
        false
    }
    fn walk_value(v: &Spanned<DeValue<'_>>, span: &Range<usize>, path: &mut Vec<Step>) -> bool {
        match v.get_ref() {
            DeValue::Table(t) => walk_table(t, span, path),
            DeValue::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    path.push(Step::Index(i));
                    if walk_value(item, span, path) {
                        return true;
                    }
                    path.pop();
                }
                false
            }
            _ => false,
        }
    }
    let mut path = Vec::new();
    walk_table(doc, span, &mut path).then(|| dotted(&path))
}

/// The value at a path, if present.
pub(super) fn value_at<'a, 'i>(
    doc: &'a DeTable<'i>,
    path: &[Step],
) -> Option<&'a Spanned<DeValue<'i>>> {
    let (first, rest) = path.split_first()?;
    let Step::Key(k) = first else { return None };
    let mut current = doc
        .iter()
        .find(|(key, _)| key.get_ref() == k)
        .map(|(_, v)| v)?;
    for step in rest {
        current = match (step, current.get_ref()) {
            (Step::Key(k), DeValue::Table(t)) => t
                .iter()
                .find(|(key, _)| key.get_ref() == k)
                .map(|(_, v)| v)?,
            (Step::Index(i), DeValue::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Keys given in `input` that are missing from `output` (the same table after a round trip
/// through the struct): keys the struct does not know and silently dropped. Returns their dotted
/// paths and spans.
pub(super) fn dropped_keys(
    input: &Spanned<DeValue<'_>>,
    output: &toml::Value,
    path: &mut Vec<Step>,
    found: &mut Vec<(String, Range<usize>)>,
) {
    match (input.get_ref(), output) {
        (DeValue::Table(t), toml::Value::Table(o)) => {
            for (k, v) in t.iter() {
                path.push(Step::Key(k.get_ref().to_string()));
                match o.get(k.get_ref().as_ref()) {
                    Some(ov) => dropped_keys(v, ov, path, found),
                    None => found.push((dotted(path), k.span())),
                }
                path.pop();
            }
        }
        (DeValue::Array(a), toml::Value::Array(o)) => {
            for (i, (v, ov)) in a.iter().zip(o.iter()).enumerate() {
                path.push(Step::Index(i));
                dropped_keys(v, ov, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}
