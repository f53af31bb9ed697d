//! The backend suite on MySQL/MariaDB: a fresh database per test on the server at
//! `CLIENTELE_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`).
#![cfg(feature = "mysql")]

mod common;
#[macro_use]
mod suite;

use clientele_backend::Error;
use clientele_db::{DbBackend, DbConfig};

mod server {
    db_tests!(crate::common::Kind::MySql, #[ignore = "needs MariaDB: run scripts/test.sh"]);
}

/// A refused connection is reported with its cause from one direct attempt, not as a pool
/// that timed out after `acquire_timeout_ms`; the URL's password is not in the text.
#[tokio::test]
async fn a_refused_connection_names_its_cause() {
    common::assert_refused_with_cause("mysql://root:Pw0rd-mysql@127.0.0.1:1/clientele").await;
}

/// Nothing listens on port 1: the backend is unavailable, not broken.
#[tokio::test]
async fn unreachable_server_is_unavailable() {
    let config = DbConfig {
        connect_timeout_ms: 2_000,
        acquire_timeout_ms: 2_000,
        ..DbConfig::default()
    };
    match DbBackend::connect("mysql://root@127.0.0.1:1/clientele", config).await {
        Err(Error::Unavailable { backend, .. }) => assert_eq!(backend, "Database Backend"),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

/// The premise of the pre-filter searches use on MySQL (`mysql_like` in src/sql.rs): in a
/// case-insensitive collation, every character whose `LOWER()` is one ASCII character other
/// than `i` and `k` matches that character under `LIKE`. Checked for every Unicode code point in
/// each common collation of this server; a counterexample would let the pre-filter drop a user
/// the exact comparison finds.
#[tokio::test]
#[ignore = "needs MariaDB: run scripts/test.sh"]
async fn collation_like_covers_every_character_that_lower_cases_to_ascii() {
    use clientele_db::sea_orm::{ConnectionTrait, DbBackend as Engine, Statement};
    let f = common::Fixture::new(common::Kind::MySql).await;
    let conn = f.db.connection();
    let collations: Vec<String> = conn
        .query_all_raw(Statement::from_string(
            Engine::MySql,
            "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN \
             ('utf8mb4_general_ci', 'utf8mb4_unicode_ci', 'utf8mb4_unicode_520_ci', \
              'utf8mb4_uca1400_ai_ci', 'utf8mb4_0900_ai_ci')",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    assert!(
        collations.iter().any(|c| c == "utf8mb4_unicode_ci"),
        "{collations:?}"
    );
    for collation in &collations {
        // Every scalar value (no surrogates) as one utf8mb4 character, and its lower case.
        let sql = format!(
            "SELECT COUNT(*), COALESCE(GROUP_CONCAT(HEX(seq)), '') FROM ( \
               SELECT seq, CONVERT(CHAR(seq USING utf32) USING utf8mb4) COLLATE {collation} AS c \
               FROM seq_1_to_1114111 WHERE seq < 55296 OR seq > 57343) t \
             WHERE LENGTH(LOWER(c)) = 1 AND LOWER(c) NOT IN ('i', 'k') \
               AND NOT (c LIKE CONCAT(IF(LOWER(c) IN ('%', '_', '\\\\'), '\\\\', ''), LOWER(c)))"
        );
        let row = conn
            .query_one_raw(Statement::from_string(Engine::MySql, sql))
            .await
            .unwrap()
            .unwrap();
        let count: i64 = row.try_get_by_index(0).unwrap();
        let which: String = row.try_get_by_index(1).unwrap();
        assert_eq!(count, 0, "{collation}: code points {which}");
    }
    f.finish().await;
}
