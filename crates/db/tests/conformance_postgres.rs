//! The backend conformance suite, through a Directory over `DbBackend`, on PostgreSQL (a fresh
//! database per test on `CLIENTELE_TEST_POSTGRES_URL`).
#![cfg(feature = "postgres")]

#[macro_use]
mod common;

mod plain {
    db_harness!(Postgres, crate::common::Kind::Postgres);
    clientele_directory::conformance_suite!(Postgres, #[ignore = "needs PostgreSQL: run scripts/test.sh"]);
}

/// With the opt-in search indexes (trigram and prefix indexes, the `clientele_search` column).
mod indexed {
    db_harness!(PostgresIndexed, crate::common::Kind::Postgres, indexed);
    clientele_directory::conformance_suite!(PostgresIndexed, #[ignore = "needs PostgreSQL: run scripts/test.sh"]);
}
