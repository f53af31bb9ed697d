//! Database URLs as they may be shown: the one place that knows where a URL carries a secret.

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

#[cfg(test)]
mod tests {
    use super::redact_url;

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
