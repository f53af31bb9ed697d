//! Database URLs as they may be shown: the one place that knows where a URL carries a secret.

use clientele_backend::Error;
use clientele_backend::error::BoxError;

/// A database URL with every secret replaced by `***`: the password of `user:password@`, and
/// the value of any query parameter whose name holds `password` (`?password=…`,
/// `&sslpassword=…`, in any case). Everything else is kept, so the URL still says which server
/// and database were meant. A string that is not a URL is returned unchanged.
///
/// ```
/// use clientele_db::redact_url;
///
/// assert_eq!(
///     redact_url("postgres://app:s3cret@db.internal:5432/otobo"),
///     "postgres://app:***@db.internal:5432/otobo"
/// );
/// assert_eq!(
///     redact_url("postgres://db.internal/otobo?user=app&password=s3cret&sslmode=require"),
///     "postgres://db.internal/otobo?user=app&password=***&sslmode=require"
/// );
/// assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
/// ```
pub fn redact_url(url: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let mut out = redact_userinfo(head);
    if let Some(query) = query {
        out.push('?');
        let params: Vec<String> = query.split('&').map(redact_param).collect();
        out.push_str(&params.join("&"));
    }
    out
}

/// `text` with every URL in it (`scheme://…`, up to white space or a quote) shown as
/// [`redact_url`] shows it: for messages that may quote a URL from elsewhere — a configuration
/// file's parse error, a driver's error.
///
/// ```
/// use clientele_db::redact_urls_in;
///
/// assert_eq!(
///     redact_urls_in("unknown variant `postgres://app:s3cret@db/otobo`, expected `db`"),
///     "unknown variant `postgres://app:***@db/otobo`, expected `db`"
/// );
/// ```
pub fn redact_urls_in(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let scheme_start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
            .map_or(0, |i| i + 1);
        let end = rest[at..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`' | '<' | '>'))
            .map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..scheme_start]);
        out.push_str(&redact_url(&rest[scheme_start..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The file a SQLite URL names, as the SQLite driver reads the URL (`sqlite://data.db`,
/// `sqlite:///var/lib/crm.sqlite?mode=rwc`, `sqlite:relative.db`); `None` for an in-memory
/// database, any other kind of URL, or a build without the `sqlite` feature.
///
/// [`DbBackend::connect`](crate::DbBackend::connect) creates a missing SQLite file; a caller
/// that only reads can ask first whether the file is there.
///
/// ```
/// use std::path::Path;
/// use clientele_db::sqlite_file;
///
/// # #[cfg(feature = "sqlite")] {
/// assert_eq!(sqlite_file("sqlite://data/crm.sqlite?mode=rwc").as_deref(), Some(Path::new("data/crm.sqlite")));
/// assert_eq!(sqlite_file("sqlite:///var/lib/crm.sqlite").as_deref(), Some(Path::new("/var/lib/crm.sqlite")));
/// # }
/// assert_eq!(sqlite_file("sqlite::memory:"), None);
/// assert_eq!(sqlite_file("postgres://db/otobo"), None);
/// ```
pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    if !url.starts_with("sqlite:") || crate::is_sqlite_memory(url) {
        return None;
    }
    #[cfg(feature = "sqlite")]
    {
        use std::str::FromStr as _;
        sqlx::sqlite::SqliteConnectOptions::from_str(url)
            .ok()
            .map(|o| o.get_filename().to_path_buf())
            .filter(|p| !p.as_os_str().is_empty())
    }
    #[cfg(not(feature = "sqlite"))]
    None
}

fn redact_userinfo(head: &str) -> String {
    let Some((scheme, rest)) = head.split_once("://") else {
        return head.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{path}")
        }
        _ => head.to_owned(),
    }
}

fn redact_param(param: &str) -> String {
    match param.split_once('=') {
        Some((name, _)) if name.to_ascii_lowercase().contains("password") => format!("{name}=***"),
        _ => param.to_owned(),
    }
}

/// The secrets `url` carries, as written: the password of `user:password@` and the values of
/// password query parameters (the ones [`redact_url`] hides).
fn secrets(url: &str) -> Vec<&str> {
    let (head, query) = url.split_once('?').unwrap_or((url, ""));
    let mut out = Vec::new();
    if let Some((_, rest)) = head.split_once("://") {
        let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
        if let Some((userinfo, _)) = authority.rsplit_once('@')
            && let Some((_, password)) = userinfo.split_once(':')
        {
            out.push(password);
        }
    }
    for param in query.split('&') {
        if let Some((name, value)) = param.split_once('=')
            && name.to_ascii_lowercase().contains("password")
        {
            out.push(value);
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// `text` with `url` shown as [`redact_url`] shows it and every other occurrence of one of its
/// secrets replaced by `***`.
fn scrub(text: &str, url: &str) -> String {
    let mut out = text.replace(url, &redact_url(url));
    for secret in secrets(url) {
        out = out.replace(secret, "***");
    }
    out
}

/// An error's text with the secrets taken out, standing in for the driver's error (whose own
/// text, and its sources', may quote the URL).
#[derive(Debug)]
struct Scrubbed(String);

impl std::fmt::Display for Scrubbed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Scrubbed {}

/// `e` without any secret of `url` in its text or in its sources' text: a driver error that
/// quotes the URL (sea-orm's "no supporting driver" for a mistyped scheme does) is replaced by
/// its scrubbed text, the whole chain in one line.
pub(crate) fn without_secrets(e: Error, url: &str) -> Error {
    if secrets(url).is_empty() {
        return e;
    }
    let scrubbed = |source: &BoxError| -> BoxError {
        let mut text = source.to_string();
        let mut next = source.source();
        while let Some(s) = next {
            // A driver's message often repeats its source's: each cause once.
            let cause = s.to_string();
            if !text.contains(&cause) {
                text.push_str(": ");
                text.push_str(&cause);
            }
            next = s.source();
        }
        Box::new(Scrubbed(scrub(&text, url)))
    };
    match e {
        Error::Unavailable { backend, source } => Error::Unavailable {
            source: scrubbed(&source),
            backend,
        },
        Error::Backend { backend, source } => Error::Backend {
            source: scrubbed(&source),
            backend,
        },
        Error::Config(message) => Error::Config(scrub(&message, url)),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::{redact_url, redact_urls_in, without_secrets};
    use clientele_backend::Error;

    #[test]
    fn driver_errors_lose_the_secrets_of_the_url() {
        let url = "postgress://app:s3cret@db:5432/otobo?sslpassword=k3y";
        let driver: clientele_backend::error::BoxError =
            format!("The connection string '{url}' has no supporting driver (password s3cret)")
                .into();
        let e = without_secrets(
            Error::Unavailable {
                backend: "db".into(),
                source: driver,
            },
            url,
        );
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            text.push_str(&s.to_string());
            source = s.source();
        }
        assert!(!text.contains("s3cret") && !text.contains("k3y"), "{text}");
        assert!(text.contains("postgress://app:***@db:5432/otobo"), "{text}");
        let config = without_secrets(Error::Config(format!("bad {url}")), url);
        assert!(!config.to_string().contains("s3cret"), "{config}");
    }

    #[test]
    fn urls_inside_text_are_redacted() {
        let cases = [
            (
                "invalid type: string \"mysql://u:pw@h/d?password=x\", expected u32",
                "invalid type: string \"mysql://u:***@h/d?password=***\", expected u32",
            ),
            (
                "a postgres://u:pw@h/d and `ldap://cn:pw@h` end",
                "a postgres://u:***@h/d and `ldap://cn:***@h` end",
            ),
            ("://u:pw@h", "://u:***@h"),
            ("no url here", "no url here"),
        ];
        for (text, shown) in cases {
            assert_eq!(redact_urls_in(text), shown, "{text}");
        }
    }

    #[test]
    fn secrets_in_userinfo_and_query_are_hidden() {
        let cases = [
            ("mysql://u:pw@h/d", "mysql://u:***@h/d"),
            ("mysql://u@h/d", "mysql://u@h/d"),
            ("postgres://h/d?password=pw", "postgres://h/d?password=***"),
            (
                "postgres://u:a@b@h:1/d?sslmode=disable&PASSWORD=x&sslpassword=y",
                "postgres://u:***@h:1/d?sslmode=disable&PASSWORD=***&sslpassword=***",
            ),
            ("sqlite://file.db?mode=rwc", "sqlite://file.db?mode=rwc"),
            ("postgres:/h?password=pw", "postgres:/h?password=***"),
            ("not a url", "not a url"),
        ];
        for (url, shown) in cases {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }
}
