//! The LDAP backend's own failures and their mapping onto [`clientele_backend::Error`].
//!
//! Callers match on the backend error's meaning (`Unavailable`, `Timeout`, `Backend`, …); the
//! typed [`LdapSourceError`] rides along as the `source` of `Error::Backend` for those who want
//! the detail (downcast it).

use std::time::Duration;

use clientele_backend::Error;
use ldap3::{LdapError, LdapResult};
use thiserror::Error as ThisError;

/// What went wrong inside the LDAP backend, as the `source` of
/// [`Error::Backend`](clientele_backend::Error::Backend).
#[derive(Debug, ThisError)]
#[non_exhaustive]
pub enum LdapSourceError {
    /// A value of a mapped attribute is not valid in the configured source charset
    /// (OTOBO `SourceCharset`). Nothing is guessed or replaced.
    #[error("attribute {attribute:?} of {dn:?} is not valid {charset}")]
    Charset {
        /// The LDAP attribute.
        attribute: String,
        /// The entry.
        dn: String,
        /// The configured charset.
        charset: String,
    },
    /// The server answered an operation with an error result code.
    #[error("{operation} failed with LDAP result {rc}: {text}")]
    Result {
        /// What was being done (`search`, `bind`, …).
        operation: &'static str,
        /// The LDAP result code (RFC 4511 appendix A).
        rc: u32,
        /// The server's diagnostic message, or the code's name.
        text: String,
    },
    /// The service account (`bind_dn`) could not bind.
    #[error("service bind as {dn:?} refused (LDAP result {rc}: {text})")]
    ServiceBind {
        /// The configured bind DN.
        dn: String,
        /// The LDAP result code.
        rc: u32,
        /// The server's diagnostic message.
        text: String,
    },
    /// TLS could not be established (an untrusted or mismatching certificate, a peer that does
    /// not speak TLS, …). Retrying does not help; the configuration or the server must change.
    #[error("TLS with {url}: {message}")]
    Tls {
        /// The server.
        url: String,
        /// Why.
        message: String,
    },
    /// The server sent an entry this client cannot read.
    #[error("malformed search result entry: {0}")]
    MalformedEntry(String),
    /// Any other client-side failure of the LDAP library.
    #[error("{0}")]
    Client(String),
}

/// An operation's failure before it is turned into the public error.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The LDAP library failed (I/O, timeout, protocol).
    Ldap(LdapError),
    /// The server answered with an error result code.
    Result(&'static str, LdapResult),
    /// Our own typed failure.
    Source(LdapSourceError),
    /// Already mapped.
    Mapped(Error),
}

impl From<LdapError> for Failure {
    fn from(e: LdapError) -> Self {
        Failure::Ldap(e)
    }
}

impl From<LdapSourceError> for Failure {
    fn from(e: LdapSourceError) -> Self {
        Failure::Source(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Mapped(e)
    }
}

impl Failure {
    /// `true` when the connection itself is gone (so a fresh one may succeed at once).
    pub(crate) fn connection_lost(&self) -> bool {
        match self {
            Failure::Ldap(e) => ldap_error_connection_lost(e),
            Failure::Result(_, r) => matches!(r.rc, 52 | 80 | 81),
            Failure::Mapped(Error::Unavailable { .. }) => true,
            _ => false,
        }
    }

    /// The public error, naming the backend. `timeout` is the limit that applied.
    pub(crate) fn into_error(self, backend: &str, timeout: Duration) -> Error {
        match self {
            Failure::Ldap(e) => map_ldap_error(backend, e, timeout, None),
            Failure::Result(op, r) => map_result(backend, op, r, timeout),
            Failure::Source(e) => Error::Backend {
                backend: backend.to_owned(),
                source: Box::new(e),
            },
            Failure::Mapped(e) => e,
        }
    }
}

fn ldap_error_connection_lost(e: &LdapError) -> bool {
    match e {
        LdapError::OpSend { .. }
        | LdapError::ResultRecv { .. }
        | LdapError::IdScrubSend { .. }
        | LdapError::MiscSend { .. }
        | LdapError::EndOfStream => true,
        LdapError::Io { source } => tls_error(source).is_none(),
        LdapError::LdapResult { result } => matches!(result.rc, 52 | 80 | 81),
        _ => false,
    }
}

/// The rustls error inside an I/O error, if the I/O error is a TLS failure.
fn tls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Maps an ldap3 error: connection trouble → `Unavailable`, timeouts → `Timeout`, the rest →
/// `Backend`; always with the backend's name. `url` names the server for TLS errors.
pub(crate) fn map_ldap_error(
    backend: &str,
    e: LdapError,
    timeout: Duration,
    url: Option<&str>,
) -> Error {
    let backend_err = |source: LdapSourceError| Error::Backend {
        backend: backend.to_owned(),
        source: Box::new(source),
    };
    let tls = |message: String| {
        backend_err(LdapSourceError::Tls {
            url: url.unwrap_or("the server").to_owned(),
            message,
        })
    };
    match e {
        LdapError::Timeout { .. } => Error::Timeout {
            backend: backend.to_owned(),
            millis: millis(timeout),
        },
        LdapError::Io { source } => {
            if let Some(t) = tls_error(&source) {
                return tls(t.to_string());
            }
            if source.kind() == std::io::ErrorKind::TimedOut {
                return Error::Timeout {
                    backend: backend.to_owned(),
                    millis: millis(timeout),
                };
            }
            Error::Unavailable {
                backend: backend.to_owned(),
                source: Box::new(source),
            }
        }
        LdapError::Rustls { source } => tls(source.to_string()),
        LdapError::DNSName { source } => tls(source.to_string()),
        e @ (LdapError::OpSend { .. }
        | LdapError::ResultRecv { .. }
        | LdapError::IdScrubSend { .. }
        | LdapError::MiscSend { .. }
        | LdapError::EndOfStream) => Error::Unavailable {
            backend: backend.to_owned(),
            source: Box::new(LdapSourceError::Client(format!("connection lost: {e}"))),
        },
        LdapError::LdapResult { result } => map_result(backend, "operation", result, timeout),
        other => backend_err(LdapSourceError::Client(other.to_string())),
    }
}

/// Maps an LDAP result code that is an error.
pub(crate) fn map_result(
    backend: &str,
    operation: &'static str,
    r: LdapResult,
    timeout: Duration,
) -> Error {
    let rc = r.rc;
    let text = if r.text.is_empty() {
        result_name(rc).to_owned()
    } else {
        r.text
    };
    let source = LdapSourceError::Result {
        operation,
        rc,
        text,
    };
    match rc {
        // timeLimitExceeded
        3 => Error::Timeout {
            backend: backend.to_owned(),
            millis: millis(timeout),
        },
        // busy, unavailable, other (OpenLDAP shutting down), server down (client side)
        51 | 52 | 80 | 81 => Error::Unavailable {
            backend: backend.to_owned(),
            source: Box::new(source),
        },
        _ => Error::Backend {
            backend: backend.to_owned(),
            source: Box::new(source),
        },
    }
}

/// The RFC 4511 name of a result code, for messages without server text.
pub(crate) fn result_name(rc: u32) -> &'static str {
    match rc {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        32 => "noSuchObject",
        34 => "invalidDNSyntax",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        _ => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(rc: u32) -> LdapResult {
        LdapResult {
            rc,
            matched: String::new(),
            text: String::new(),
            refs: vec![],
            ctrls: vec![],
        }
    }

    #[test]
    fn result_codes_map_by_meaning() {
        let t = Duration::from_millis(1500);
        assert!(matches!(
            map_result("LDAP", "search", result(52), t),
            Error::Unavailable { ref backend, .. } if backend == "LDAP"
        ));
        assert!(matches!(
            map_result("LDAP", "search", result(3), t),
            Error::Timeout { millis: 1500, .. }
        ));
        let e = map_result("LDAP", "search", result(50), t);
        assert!(matches!(e, Error::Backend { .. }));
        assert!(e.to_string().contains("LDAP"));
    }

    #[test]
    fn io_errors_are_unavailable_and_timeouts_timeouts() {
        let t = Duration::from_millis(10);
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(matches!(
            map_ldap_error("L", LdapError::Io { source: refused }, t, None),
            Error::Unavailable { .. }
        ));
        let timed_out = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert!(matches!(
            map_ldap_error("L", LdapError::Io { source: timed_out }, t, None),
            Error::Timeout { millis: 10, .. }
        ));
        assert!(matches!(
            map_ldap_error("L", LdapError::EndOfStream, t, None),
            Error::Unavailable { .. }
        ));
        assert!(Failure::Ldap(LdapError::EndOfStream).connection_lost());
    }
}
