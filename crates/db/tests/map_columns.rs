//! `DbBackend::add_map_columns`: a column for every attribute-map row its table lacks, built
//! with sea-query on each database, idempotent, and a typed refusal naming a name that is not a
//! plain SQL identifier.

mod common;

use clientele_backend::Error;
use clientele_db::DbConfig;
use clientele_model::{AttributeMapping, StorageType};
use common::{Fixture, Kind, test_config};

fn with_rows(rows: Vec<AttributeMapping>) -> DbConfig {
    let mut config = test_config();
    for row in rows {
        config.settings.map.push(row);
    }
    config
}

async fn run(kind: Kind) {
    let mut floor = AttributeMapping::new("UserFloor", "Floor", "floor");
    floor.storage_type = StorageType::Integer;
    let config = with_rows(vec![
        AttributeMapping::new("UserRoom", "Room", "room"),
        floor,
    ]);
    let fx = Fixture::with_config(kind, config).await;
    let added: Vec<String> = fx
        .db
        .add_map_columns(true)
        .await
        .expect("columns added")
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(added.len(), 2, "{added:?}");
    assert!(
        added[0].starts_with("customer_user.room VARCHAR("),
        "{added:?}"
    );
    assert_eq!(added[1], "customer_user.floor INTEGER (for UserFloor)");
    assert!(
        fx.db.add_map_columns(true).await.unwrap().is_empty(),
        "a second run adds nothing"
    );
    fx.finish().await;

    let odd = with_rows(vec![AttributeMapping::new(
        "UserOdd",
        "Odd",
        "odd\"; DROP TABLE x",
    )]);
    let fx = Fixture::with_config(kind, odd).await;
    match fx.db.add_map_columns(false).await {
        Err(Error::Config(message)) => assert!(message.contains("DROP TABLE"), "{message}"),
        other => panic!("expected a refusal naming the column, got {other:?}"),
    }
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_map_columns() {
    run(Kind::SqliteFile).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn postgres_map_columns() {
    run(Kind::Postgres).await;
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MariaDB: run scripts/test.sh"]
async fn mariadb_map_columns() {
    run(Kind::MySql).await;
}
