//! The polled change log (`clientele_change_log`) read by `DbChangeFeed` on SQLite — the same
//! code MySQL/MariaDB uses: rows are written here by hand to create what concurrent writers
//! create (ids committed out of order, another instance's rows, an unreadable payload).
//! Two Directories kept current through it are in the workspace's tests/invalidation.rs.

mod common;

use std::time::Duration;

use clientele_backend::changes::{Change, ChangeFeed, Delivery};
use clientele_db::sea_orm::{ConnectionTrait, Statement};
use clientele_db::{ChangeFeedConfig, DbChangeFeed};

use common::{Fixture, Kind};

fn config() -> ChangeFeedConfig {
    ChangeFeedConfig {
        poll_interval_ms: 10,
        ..ChangeFeedConfig::default()
    }
}

/// A row as another instance would write it.
async fn row(fx: &Fixture, id: i64, payload: &str) {
    let conn = fx.db.connection();
    conn.execute_raw(Statement::from_sql_and_values(
        conn.get_database_backend(),
        "INSERT INTO clientele_change_log (id, instance, payload, created_at) VALUES (?, ?, ?, ?)",
        [
            id.into(),
            "other".into(),
            payload.into(),
            1_700_000_000_i64.into(),
        ],
    ))
    .await
    .expect("insert a change-log row");
}

fn user(login: &str) -> String {
    format!(r#"{{"i":"other","c":{{"kind":"user","source":"db","login":"{login}"}}}}"#)
}

fn users(logins: &[&str]) -> Delivery {
    Delivery::Changes(
        logins
            .iter()
            .map(|l| Change::User {
                source: "db".into(),
                login: (*l).into(),
            })
            .collect(),
    )
}

async fn next(feed: &DbChangeFeed) -> Delivery {
    tokio::time::timeout(Duration::from_secs(10), feed.next())
        .await
        .expect("a delivery within 10 s")
        .expect("the change log is readable")
}

#[tokio::test]
async fn rows_committed_out_of_order_are_still_delivered() {
    let fx = Fixture::new(Kind::SqliteFile).await;
    let feed = DbChangeFeed::new(&fx.db, config()).unwrap();
    feed.check().await.unwrap();
    // The first read only sets the starting point: what was cached before may be stale.
    assert_eq!(next(&feed).await, Delivery::Gap);

    row(&fx, 1, &user("a")).await;
    row(&fx, 3, &user("c")).await;
    assert_eq!(next(&feed).await, users(&["a", "c"]));
    // Id 2 was taken before 3 but committed after it: it must not be skipped.
    row(&fx, 2, &user("b")).await;
    assert_eq!(next(&feed).await, users(&["b"]));
    row(&fx, 4, &user("d")).await;
    assert_eq!(next(&feed).await, users(&["d"]));
    fx.finish().await;
}

#[tokio::test]
async fn own_rows_are_not_delivered_and_unreadable_ones_are_a_gap() {
    let fx = Fixture::new(Kind::SqliteFile).await;
    let feed = DbChangeFeed::new(&fx.db, config()).unwrap();
    assert_eq!(next(&feed).await, Delivery::Gap);

    // This instance's own announcement is in the log but not delivered back.
    feed.publish(&Change::Permissions).await.unwrap();
    let own = tokio::time::timeout(Duration::from_millis(300), feed.next()).await;
    assert!(own.is_err(), "own announcement delivered: {own:?}");

    // A payload this version cannot read (a newer kind, say): drop everything.
    row(&fx, 100, r#"{"i":"other","c":{"kind":"something_new"}}"#).await;
    assert_eq!(next(&feed).await, Delivery::Gap);

    // Another instance's announcement, written through the feed of a second instance.
    let other = DbChangeFeed::new(&fx.db, config()).unwrap();
    assert_ne!(other.instance(), feed.instance());
    other
        .publish(&Change::Relations {
            login: "jdoe".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        next(&feed).await,
        Delivery::Changes(vec![Change::Relations {
            login: "jdoe".into()
        }])
    );
    fx.finish().await;
}

#[tokio::test]
async fn a_database_without_the_change_log_is_a_config_error() {
    let fx = Fixture::new(Kind::SqliteMemory).await;
    fx.exec("DROP TABLE clientele_change_log").await;
    let feed = DbChangeFeed::new(&fx.db, config()).unwrap();
    match feed.check().await {
        Err(clientele_backend::Error::Config(m)) => {
            assert!(
                m.contains("clientele_change_log") && m.contains("migrate"),
                "{m}"
            )
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
    let bad = ChangeFeedConfig {
        channel: "Bad Channel".into(),
        ..ChangeFeedConfig::default()
    };
    assert!(matches!(
        DbChangeFeed::new(&fx.db, bad),
        Err(clientele_backend::Error::Config(_))
    ));
    fx.finish().await;
}
