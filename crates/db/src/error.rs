//! Turning driver errors into [`clientele_backend::Error`], with the backend's name.

use clientele_backend::Error;
use sea_orm::error::{ConnAcquireErr, DbErr, RuntimeErr, SqlErr, SqlxError};

/// What a failed step inside the backend was, before it is reported.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The driver failed; mapped by [`map_db_err`].
    Db(DbErr),
    /// The outcome is already a public error (not found, already exists, …).
    Api(Error),
}

impl From<DbErr> for Failure {
    fn from(e: DbErr) -> Self {
        Failure::Db(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Api(e)
    }
}

/// The kinds of driver failure the backend reacts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A unique index refused the row.
    Unique,
    /// A deadlock or serialization failure: running the transaction again may succeed.
    Retry,
    /// A lock or pool wait ran out.
    Timeout,
    /// The server cannot be reached.
    Unavailable,
    /// Anything else.
    Other,
}

fn sqlx_of(e: &DbErr) -> Option<&SqlxError> {
    match e {
        DbErr::Conn(RuntimeErr::SqlxError(s))
        | DbErr::Exec(RuntimeErr::SqlxError(s))
        | DbErr::Query(RuntimeErr::SqlxError(s)) => Some(s),
        _ => None,
    }
}

/// Classifies a driver error.
pub(crate) fn kind(e: &DbErr) -> Kind {
    if let Some(SqlErr::UniqueConstraintViolation(_)) = e.sql_err() {
        return Kind::Unique;
    }
    match e {
        DbErr::ConnectionAcquire(ConnAcquireErr::Timeout) => return Kind::Timeout,
        DbErr::ConnectionAcquire(ConnAcquireErr::ConnectionClosed) => return Kind::Unavailable,
        DbErr::Conn(_) => return Kind::Unavailable,
        _ => {}
    }
    let Some(sqlx) = sqlx_of(e) else {
        return Kind::Other;
    };
    match sqlx {
        SqlxError::PoolTimedOut => Kind::Timeout,
        SqlxError::Io(_)
        | SqlxError::Tls(_)
        | SqlxError::PoolClosed
        | SqlxError::WorkerCrashed
        | SqlxError::Protocol(_) => Kind::Unavailable,
        SqlxError::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            match code.as_str() {
                // PostgreSQL: serialization failure, deadlock detected.
                "40001" | "40P01" => Kind::Retry,
                // PostgreSQL: lock not available, statement timeout.
                "55P03" | "57014" => Kind::Timeout,
                // PostgreSQL: the server is shutting down or cannot take connections.
                "57P01" | "57P02" | "57P03" | "53300" => Kind::Unavailable,
                // SQLite: SQLITE_BUSY / SQLITE_LOCKED and their extended codes.
                c if is_sqlite_busy(c) => Kind::Timeout,
                // MySQL/MariaDB report the SQLSTATE; deadlock is 40001, lock wait timeout HY000
                // with a message.
                _ if db.message().contains("Lock wait timeout exceeded") => Kind::Timeout,
                _ if db.message().contains("Deadlock found") => Kind::Retry,
                _ => Kind::Other,
            }
        }
        _ => Kind::Other,
    }
}

/// SQLite's SQLITE_BUSY (5) and SQLITE_LOCKED (6) and their extended codes, as sqlx reports
/// them. Listed one by one: a SQLSTATE is five characters and may be all digits —
/// PostgreSQL's 22021 (a NUL byte in a parameter) has 5 in its low byte and was once taken
/// for a busy database, so a refused value came back as a timeout.
fn is_sqlite_busy(code: &str) -> bool {
    matches!(code, "5" | "261" | "517" | "773" | "6" | "262" | "518")
}

/// A database failure as the `source` of a public error: sea-orm's message, with the driver's
/// own error (and, below it, the server's) reachable through [`source`](std::error::Error::source).
/// sea-orm's error types print the driver's error but do not hand it on, so a caller walking
/// the chain would otherwise stop at a string.
#[derive(Debug)]
pub struct DatabaseFailure(DbErr);

impl DatabaseFailure {
    pub(crate) fn new(e: DbErr) -> Self {
        DatabaseFailure(e)
    }

    /// sea-orm's error.
    pub fn db_err(&self) -> &DbErr {
        &self.0
    }
}

impl std::fmt::Display for DatabaseFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DatabaseFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match sqlx_of(&self.0) {
            Some(driver) => Some(driver),
            None => std::error::Error::source(&self.0),
        }
    }
}

/// Maps a driver error to the public error type, naming the backend.
pub(crate) fn map_db_err(backend: &str, timeout_ms: u64, e: DbErr) -> Error {
    match kind(&e) {
        Kind::Timeout => Error::Timeout {
            backend: backend.to_owned(),
            millis: timeout_ms,
        },
        Kind::Unavailable => Error::Unavailable {
            backend: backend.to_owned(),
            source: Box::new(DatabaseFailure(e)),
        },
        Kind::Unique | Kind::Retry | Kind::Other => Error::Backend {
            backend: backend.to_owned(),
            source: Box::new(DatabaseFailure(e)),
        },
    }
}

/// Whether the failure is worth running the whole transaction again for.
pub(crate) fn is_retry(f: &Failure) -> bool {
    matches!(f, Failure::Db(e) if kind(e) == Kind::Retry)
}

/// Whether the failure is a unique-index violation.
pub(crate) fn is_unique(f: &Failure) -> bool {
    matches!(f, Failure::Db(e) if kind(e) == Kind::Unique)
}

#[cfg(test)]
mod tests {
    use super::is_sqlite_busy;

    #[test]
    fn only_sqlite_codes_count_as_busy() {
        for code in ["5", "261", "517", "773", "6", "262", "518"] {
            assert!(is_sqlite_busy(code), "{code}");
        }
        // SQLSTATEs with 5 or 6 in their low byte: a NUL in a PostgreSQL parameter (22021),
        // and others that are no lock at all.
        for code in ["22021", "22022", "40001", "23505", "HY000", "1", "2067"] {
            assert!(!is_sqlite_busy(code), "{code}");
        }
    }
}
