//! The backend suite on PostgreSQL: a fresh database per test on the server at
//! `CLIENTELE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432`).
#![cfg(feature = "postgres")]

mod common;
#[macro_use]
mod suite;

use clientele_backend::Error;
use clientele_db::{DbBackend, DbConfig};

mod server {
    db_tests!(crate::common::Kind::Postgres, #[ignore = "needs PostgreSQL: run scripts/test.sh"]);

    /// `acme` beside `ACME` and `jdoe` beside `JDoe`, as OTOBO's case-sensitive keys on
    /// PostgreSQL allow: the exact case is taken, `Acme` and `JDOE` are ambiguous.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "needs PostgreSQL: run scripts/test.sh"]
    async fn case_variants_are_never_guessed() {
        crate::suite::case_variants_are_never_guessed(crate::common::Kind::Postgres).await
    }
}

/// A refused connection is reported with its cause from one direct attempt, not as a pool
/// that timed out after `acquire_timeout_ms`; the URL's password is not in the text.
#[tokio::test]
async fn a_refused_connection_names_its_cause() {
    common::assert_refused_with_cause("postgres://postgres:Pw0rd-postgres@127.0.0.1:1/clientele")
        .await;
}

/// Nothing listens on port 1: the backend is unavailable, not broken.
#[tokio::test]
async fn unreachable_server_is_unavailable() {
    let config = DbConfig {
        connect_timeout_ms: 2_000,
        acquire_timeout_ms: 2_000,
        ..DbConfig::default()
    };
    match DbBackend::connect("postgres://postgres@127.0.0.1:1/clientele", config).await {
        Err(Error::Unavailable { backend, .. }) => assert_eq!(backend, "Database Backend"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}
