//! The backend suite on SQLite, in memory and in a file, plus SQLite-only behaviour.

mod common;
#[macro_use]
mod suite;

use clientele_backend::{CustomerUserSource, Error};
use clientele_db::sea_orm::TransactionTrait;
use clientele_db::{DbBackend, DbConfig};

use common::{Fixture, Kind, test_config};

mod memory {
    db_tests!(crate::common::Kind::SqliteMemory);
}

mod file {
    db_tests!(crate::common::Kind::SqliteFile);
}

/// `acme` beside `ACME` and `jdoe` beside `JDoe`, as OTOBO's schema allows on SQLite too: the
/// exact case is taken, `Acme` and `JDOE` are ambiguous.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn case_variants_are_never_guessed() {
    suite::case_variants_are_never_guessed(Kind::SqliteFile).await
}

/// A call that cannot get a pooled connection in time reports a timeout, with the backend name.
#[tokio::test]
async fn pool_timeout_is_reported() {
    let mut config = test_config();
    config.acquire_timeout_ms = 200;
    let f = Fixture::with_config(Kind::SqliteMemory, config).await;
    // The one connection of an in-memory database is held by this transaction.
    let tx = f.db.connection().begin().await.unwrap();
    match f.db.get("jdoe").await {
        Err(Error::Timeout { backend, millis }) => {
            assert_eq!(backend, "db");
            assert!(millis >= 200);
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    tx.rollback().await.unwrap();
    assert!(f.db.get("jdoe").await.unwrap().is_none());
    f.finish().await;
}

/// The query timeout cuts an operation that would otherwise wait longer (here: for the one
/// connection, held by a transaction, under a long acquire timeout), on every store trait, with
/// the store's name and the limit.
#[tokio::test]
async fn query_timeout_cuts_a_waiting_operation() {
    use clientele_backend::{CompanyStore, PreferenceStore, RelationStore};

    let mut config = test_config();
    config.acquire_timeout_ms = 20_000;
    config.query_timeout_ms = 200;
    let f = Fixture::with_config(Kind::SqliteMemory, config).await;
    let tx = f.db.connection().begin().await.unwrap();
    let started = std::time::Instant::now();
    let outcomes = [
        ("get", f.db.get("jdoe").await.map(|_| ()), "db"),
        (
            "company",
            f.db.company("ACME").await.map(|_| ()),
            "db-companies",
        ),
        (
            "preferences",
            f.db.preferences("jdoe").await.map(|_| ()),
            "db",
        ),
        ("groups", f.db.groups().await.map(|_| ()), "db"),
    ];
    let took = started.elapsed();
    for (op, outcome, name) in outcomes {
        match outcome {
            Err(e @ Error::Timeout { .. }) => {
                assert!(e.is_outage() && e.is_retryable(), "{op}: {e:?}");
                assert_eq!(
                    e.to_string(),
                    format!("backend {name:?} timed out after 200 ms"),
                    "{op}"
                );
            }
            other => panic!("{op}: expected Timeout, got {other:?}"),
        }
    }
    // Four cuts of 200 ms; far below the 20 s acquire timeout they would otherwise wait.
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
    tx.rollback().await.unwrap();
    assert!(f.db.get("jdoe").await.unwrap().is_none());
    f.finish().await;
}

/// `query_timeout_ms`: 30 s by default, `0` = no limit.
#[test]
fn query_timeout_setting() {
    assert_eq!(DbConfig::default().query_timeout_ms, 30_000);
    assert_eq!(
        DbConfig::default().query_timeout(),
        Some(std::time::Duration::from_secs(30))
    );
    let off: DbConfig = serde_json::from_str(r#"{"query_timeout_ms": 0}"#).unwrap();
    assert_eq!(off.query_timeout(), None);
}

/// A directory that does not exist cannot hold the database file.
#[tokio::test]
async fn unusable_file_is_unavailable() {
    match DbBackend::connect(
        "sqlite:///nonexistent-dir/clientele/x.db",
        DbConfig::default(),
    )
    .await
    {
        Err(Error::Unavailable { backend, .. }) => assert_eq!(backend, "Database Backend"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// Configuration mistakes are refused up front, naming what to fix.
#[tokio::test]
async fn bad_config_is_refused() {
    let config = DbConfig {
        table: " ".into(),
        ..DbConfig::default()
    };
    assert!(matches!(
        DbBackend::connect("sqlite::memory:", config).await,
        Err(Error::Config(_))
    ));
    let config = DbConfig {
        settings: clientele_backend::SourceSettings {
            map: clientele_model::AttributeMap::otobo_customer_company(),
            ..Default::default()
        },
        ..DbConfig::default()
    };
    match DbBackend::connect("sqlite::memory:", config).await {
        Err(Error::Config(m)) => assert!(m.contains("UserLogin"), "{m}"),
        other => panic!("{other:?}"),
    }
    let parsed: Result<DbConfig, _> = serde_json::from_str(r#"{"tabel": "x"}"#);
    assert!(parsed.is_err(), "unknown keys are refused");
}
