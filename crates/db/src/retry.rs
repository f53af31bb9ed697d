//! The one retry loop of the crate: a write transaction runs again when the database reports a
//! deadlock or a serialization failure, after a jittered pause that grows with each try, so two
//! writers that collided do not collide again in lockstep.

use std::future::Future;
use std::time::Duration;

use crate::error::Failure;

/// How many times a write transaction is tried in all.
pub(crate) const ATTEMPTS: usize = 3;

/// The pause before the second try; each later pause doubles it. Each is drawn from half to
/// one and a half times its nominal length.
const FIRST_PAUSE: Duration = Duration::from_millis(4);

/// Runs `attempt` until it succeeds, fails in a way `again` does not retry, or has been tried
/// [`ATTEMPTS`] times; the last failure is returned as it is. `again` is usually
/// [`is_retry`](crate::error::is_retry) (deadlock, serialization failure).
pub(crate) async fn retry<T, F, Fut>(
    again: impl Fn(&Failure) -> bool,
    mut attempt: F,
) -> Result<T, Failure>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let mut tries = 1;
    loop {
        match attempt().await {
            Err(f) if tries < ATTEMPTS && again(&f) => {
                tokio::time::sleep(pause(tries)).await;
                tries += 1;
            }
            done => return done,
        }
    }
}

/// The jittered pause after try number `tries` (1-based).
fn pause(tries: usize) -> Duration {
    let nominal = FIRST_PAUSE * 2u32.saturating_pow(tries.saturating_sub(1) as u32);
    nominal.mul_f64(0.5 + rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::error::Error as _;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use sea_orm::error::{DbErr, RuntimeErr, SqlxError};
    use sea_orm::sqlx::error::{DatabaseError, ErrorKind};

    use super::*;
    use crate::error::{Kind, is_retry, kind, map_db_err};

    /// A driver error with a chosen SQLSTATE, as a server would send it.
    #[derive(Debug)]
    struct ServerSays(&'static str);

    impl std::fmt::Display for ServerSays {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "server error {}", self.0)
        }
    }

    impl std::error::Error for ServerSays {}

    impl DatabaseError for ServerSays {
        fn message(&self) -> &str {
            "injected"
        }
        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed(self.0))
        }
        fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
            self
        }
        fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
            self
        }
        fn kind(&self) -> ErrorKind {
            ErrorKind::Other
        }
    }

    fn server_error(code: &'static str) -> DbErr {
        DbErr::Exec(RuntimeErr::SqlxError(std::sync::Arc::new(
            SqlxError::Database(Box::new(ServerSays(code))),
        )))
    }

    /// Fails with `code` for the first `failures` tries, then succeeds; counts the tries.
    async fn run(code: &'static str, failures: usize) -> (Result<&'static str, Failure>, usize) {
        let tries = AtomicUsize::new(0);
        let result = retry(is_retry, || async {
            let n = tries.fetch_add(1, Ordering::SeqCst);
            if n < failures {
                Err(Failure::Db(server_error(code)))
            } else {
                Ok("written")
            }
        })
        .await;
        (result, tries.load(Ordering::SeqCst))
    }

    #[tokio::test]
    async fn deadlocks_and_serialization_failures_are_tried_again() {
        assert_eq!(
            kind(&server_error("40P01")),
            Kind::Retry,
            "deadlock detected"
        );
        assert_eq!(
            kind(&server_error("40001")),
            Kind::Retry,
            "serialization failure"
        );
        for code in ["40P01", "40001"] {
            let (result, tries) = run(code, ATTEMPTS - 1).await;
            assert_eq!(result.ok(), Some("written"), "{code}");
            assert_eq!(tries, ATTEMPTS, "{code}");
        }
    }

    #[tokio::test]
    async fn the_last_failure_is_returned_after_every_try() {
        let (result, tries) = run("40P01", usize::MAX).await;
        assert!(matches!(result, Err(Failure::Db(_))));
        assert_eq!(tries, ATTEMPTS);
    }

    #[tokio::test]
    async fn other_failures_are_not_tried_again() {
        // 23503: a foreign-key violation; running the transaction again cannot help.
        let (result, tries) = run("23503", usize::MAX).await;
        assert!(matches!(result, Err(Failure::Db(_))));
        assert_eq!(tries, 1);
    }

    #[test]
    fn pauses_grow_and_stay_within_their_jitter() {
        for tries in 1..=4 {
            let nominal = FIRST_PAUSE * 2u32.pow(tries as u32 - 1);
            for _ in 0..100 {
                let p = pause(tries);
                assert!(
                    p >= nominal / 2 && p <= nominal * 3 / 2,
                    "{p:?} after try {tries}"
                );
            }
        }
    }

    /// Regression: runtime failures were flattened into strings, losing the driver's error.
    #[test]
    fn a_database_error_keeps_the_driver_error_as_its_source() {
        let public = map_db_err("DB", 30_000, server_error("23503"));
        let mut chain: Option<&(dyn std::error::Error + 'static)> = public.source();
        let mut found = false;
        while let Some(e) = chain {
            // sqlx hands the server's error on as a `Box<dyn DatabaseError>`, which the
            // driver-specific type (PgDatabaseError, MySqlDatabaseError, …) is read from.
            if let Some(db) = e.downcast_ref::<Box<dyn DatabaseError>>()
                && db.try_downcast_ref::<ServerSays>().is_some()
            {
                found = true;
            }
            chain = e.source();
        }
        assert!(
            found,
            "the driver's error is reachable through source(): {public:?}"
        );
    }
}
