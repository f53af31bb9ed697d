//! The known-answer vectors of `fixtures/password_kat.tsv`, parsed for the tests that use them
//! (this crate's, and the Directory's login tests through a `#[path]` module).
#![allow(dead_code)]

const FIXTURE: &str = include_str!("../fixtures/password_kat.tsv");

/// One vector: a stored value computed by an independent tool, its password and a wrong one.
pub struct Vector {
    pub line: usize,
    pub format: String,
    pub login: String,
    pub password: String,
    pub stored: String,
    pub wrong: String,
}

fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            other => panic!("bad escape \\{other:?} in fixture field {field:?}"),
        }
    }
    out
}

/// Every vector of the fixture file.
pub fn vectors() -> Vec<Vector> {
    FIXTURE
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.starts_with('#') && !line.is_empty())
        .map(|(i, line)| {
            let fields: Vec<String> = line.split('\t').map(unescape).collect();
            let [format, login, password, stored, wrong, _source] = <[String; 6]>::try_from(fields)
                .unwrap_or_else(|f| panic!("line {}: {} fields", i + 1, f.len()));
            Vector {
                line: i + 1,
                format,
                login,
                password,
                stored,
                wrong,
            }
        })
        .collect()
}

/// The legacy formats an OTOBO database may hold.
pub const LEGACY_FORMATS: [&str; 8] = [
    "des",
    "md5_crypt",
    "apr1",
    "sha1",
    "sha256",
    "sha512",
    "otobo_bcrypt",
    "plain",
];
