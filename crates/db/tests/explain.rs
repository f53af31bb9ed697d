//! The opt-in search indexes (`enable_search_indexes`) are used by the statements the backend
//! really emits: each search below is captured through sea-orm's metric callback and run again
//! under `EXPLAIN` on a table of 20 000 users.
#![cfg(feature = "postgres")]

mod common;

use std::sync::{Arc, Mutex};

use clientele_backend::CustomerUserSource;
use clientele_db::sea_orm::{ConnectionTrait, Statement};
use clientele_db::{DbBackend, DbConfig};
use clientele_model::search::{FieldSet, SearchSyntax, UserQuery, parse_term};
use common::{Kind, TestDb};

const USERS: usize = 20_000;

async fn plan(db: &DbBackend, stmt: &Statement) -> String {
    let explain = Statement {
        sql: format!("EXPLAIN {}", stmt.sql),
        ..stmt.clone()
    };
    let rows = db.connection().query_all_raw(explain).await.unwrap();
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

fn query(term: &str, syntax: &SearchSyntax) -> UserQuery {
    UserQuery {
        fields: FieldSet::SearchFields {
            exclude_customer_id: false,
        },
        expr: parse_term(term, syntax).unwrap(),
        valid_only: true,
        limit: 250,
        case_sensitive: false,
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn postgres_searches_use_the_search_indexes() {
    let test_db = TestDb::empty(Kind::Postgres).await;
    let config = DbConfig::default();
    let mut conn = clientele_db::sea_orm::Database::connect(clientele_db::connect_options(
        &test_db.url,
        &config,
    ))
    .await
    .unwrap();
    let last: Arc<Mutex<Option<Statement>>> = Arc::default();
    let sink = Arc::clone(&last);
    conn.set_metric_callback(move |info| {
        *sink.lock().unwrap() = Some(info.statement.clone());
    });
    clientele_db::migrate(&conn).await.unwrap();
    conn.execute_unprepared(&format!(
        "INSERT INTO customer_user (login, email, customer_id, first_name, last_name, valid_id, \
         create_time, create_by, change_time, change_by) \
         SELECT 'user' || i, 'user' || i || '@example.com', 'cust-' || (i % 500), \
         'Fïrst' || i, 'Lâst' || i, 1, now(), 1, now(), 1 FROM generate_series(1, {USERS}) i"
    ))
    .await
    .unwrap();
    let db = DbBackend::from_connection(conn, config).unwrap();

    let rare = query("12345", &SearchSyntax::default());
    db.search(&rare).await.unwrap();
    let before = last.lock().unwrap().clone().unwrap();
    db.connection()
        .execute_unprepared("ANALYZE customer_user")
        .await
        .unwrap();
    let plan_before = plan(&db, &before).await;
    assert!(plan_before.contains("Seq Scan"), "{plan_before}");

    clientele_db::enable_search_indexes(db.connection())
        .await
        .unwrap();
    // Idempotent.
    clientele_db::enable_search_indexes(db.connection())
        .await
        .unwrap();
    db.connection()
        .execute_unprepared("ANALYZE customer_user")
        .await
        .unwrap();

    // `*12345*`: one trigram bitmap scan per search field, OR-ed.
    let found = db.search(&rare).await.unwrap();
    assert_eq!(found.len(), 1);
    let stmt = last.lock().unwrap().clone().unwrap();
    assert!(
        stmt.sql.contains("LOWER(\"login\") LIKE LOWER($"),
        "{}",
        stmt.sql
    );
    let p = plan(&db, &stmt).await;
    for c in ["login", "first_name", "last_name", "customer_id"] {
        assert!(
            p.contains(&format!("Bitmap Index Scan on customer_user_{c}_trgm")),
            "{c}: {p}"
        );
    }
    assert!(!p.contains("Seq Scan"), "{p}");

    // Prefix search (prefix '', suffix `*`): `user1234*` is served by an index, no scan.
    let prefix = SearchSyntax {
        prefix: String::new(),
        ..SearchSyntax::default()
    };
    let found = db.search(&query("user1234", &prefix)).await.unwrap();
    assert_eq!(found.len(), 11);
    let stmt = last.lock().unwrap().clone().unwrap();
    let p = plan(&db, &stmt).await;
    assert!(p.contains("Index Scan on customer_user_login_"), "{p}");
    assert!(!p.contains("Seq Scan"), "{p}");

    // A common term, cut by the limit (`user1*`: 11 111 users): the limit is applied below
    // the sort, so only the 250 rows fetched are sorted — no sort of every match and no walk
    // along the login index testing row after row.
    let common = db.search(&query("user1", &prefix)).await.unwrap();
    assert_eq!(common.len(), 250);
    assert!(
        common.iter().all(|u| u.login.as_str().starts_with("user1")),
        "only matching users"
    );
    assert!(
        common
            .windows(2)
            .all(|w| w[0].login.as_str() < w[1].login.as_str()),
        "sorted by login"
    );
    let stmt = last.lock().unwrap().clone().unwrap();
    let p = plan(&db, &stmt).await;
    let sort = p.find("Sort").unwrap_or_else(|| panic!("no sort: {p}"));
    let limit = p.find("Limit").unwrap_or_else(|| panic!("no limit: {p}"));
    assert!(sort < limit, "the sort must be above the limit: {p}");
    assert!(!p.contains("customer_user_login_c"), "{p}");

    // A term fewer users match than the limit: every one of them, sorted.
    let few = db.search(&query("user1234", &prefix)).await.unwrap();
    let logins: Vec<&str> = few.iter().map(|u| u.login.as_str()).collect();
    let mut expected: Vec<String> = std::iter::once("user1234".to_owned())
        .chain((0..10).map(|d| format!("user1234{d}")))
        .collect();
    expected.sort();
    assert_eq!(logins, expected);

    drop(db);
    test_db.drop().await;
}
