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
