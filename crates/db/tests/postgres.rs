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
