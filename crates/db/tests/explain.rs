//! The opt-in search indexes (`enable_search_indexes`) are used by the statements the backend
//! really emits: each search below is captured through sea-orm's metric callback and run again
//! under `EXPLAIN` (SQLite: `EXPLAIN QUERY PLAN`) on a table of 20 000 users, on each database.

mod common;

use std::sync::{Arc, Mutex};

use clientele_backend::CustomerUserSource;
use clientele_db::sea_orm::{ConnectionTrait, DbBackend as Engine, Statement};
use clientele_db::{DbBackend, DbConfig};
use clientele_model::search::{FieldSet, SearchSyntax, UserQuery, parse_term};
use common::{Kind, TestDb};

const USERS: usize = 20_000;

/// The plan of `stmt`, one line per step.
async fn plan(db: &DbBackend, stmt: &Statement) -> String {
    let engine = db.connection().get_database_backend();
    let explain = Statement {
        sql: match engine {
            Engine::Sqlite => format!("EXPLAIN QUERY PLAN {}", stmt.sql),
            _ => format!("EXPLAIN {}", stmt.sql),
        },
        ..stmt.clone()
    };
    let rows = db.connection().query_all_raw(explain).await.unwrap();
    rows.iter()
        .map(|r| match engine {
            Engine::Sqlite => r.try_get::<String>("", "detail").unwrap(),
            Engine::MySql => {
                let get = |c: &str| {
                    r.try_get::<Option<String>>("", c)
                        .unwrap()
                        .unwrap_or_default()
                };
                format!(
                    "table={} type={} key={} extra={}",
                    get("table"),
                    get("type"),
                    get("key"),
                    get("Extra")
                )
            }
            _ => r.try_get_by_index::<String>(0).unwrap(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A backend on a fresh database of `kind` with 20 000 generated users, and the last statement
/// it ran.
async fn backend(kind: Kind) -> (TestDb, DbBackend, Arc<Mutex<Option<Statement>>>) {
    let test_db = TestDb::empty(kind).await;
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
    let columns = "login, email, customer_id, first_name, last_name, valid_id, \
                   create_time, create_by, change_time, change_by";
    let insert = match kind {
        Kind::Postgres => format!(
            "INSERT INTO customer_user ({columns}) \
             SELECT 'user' || i, 'user' || i || '@example.com', 'acme-' || (i % 500), \
             'Fïrst' || i, 'Lâst' || i, 1, now(), 1, now(), 1 FROM generate_series(1, {USERS}) i"
        ),
        Kind::MySql => format!(
            "INSERT INTO customer_user ({columns}) \
             SELECT CONCAT('user', seq), CONCAT('user', seq, '@example.com'), \
             CONCAT('acme-', seq % 500), CONCAT('Fïrst', seq), CONCAT('Lâst', seq), 1, NOW(), 1, \
             NOW(), 1 FROM seq_1_to_{USERS}"
        ),
        _ => format!(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {USERS}) \
             INSERT INTO customer_user ({columns}) \
             SELECT 'user' || i, 'user' || i || '@example.com', 'acme-' || (i % 500), \
             'Fïrst' || i, 'Lâst' || i, 1, '2025-01-01 00:00:00', 1, '2025-01-01 00:00:00', 1 \
             FROM s"
        ),
    };
    conn.execute_unprepared(&insert).await.unwrap();
    let db = DbBackend::from_connection(conn, config).unwrap();
    (test_db, db, last)
}

async fn analyze(db: &DbBackend) {
    let sql = match db.connection().get_database_backend() {
        Engine::MySql => "ANALYZE TABLE customer_user",
        _ => "ANALYZE customer_user",
    };
    db.connection().execute_unprepared(sql).await.unwrap();
}

/// The statement `db` ran for `q`, its plan and the logins found.
async fn run(
    db: &DbBackend,
    last: &Mutex<Option<Statement>>,
    q: &UserQuery,
) -> (Statement, String, Vec<String>) {
    let found = db.search(q).await.unwrap();
    let stmt = last.lock().unwrap().clone().unwrap();
    let p = plan(db, &stmt).await;
    let logins = found.into_iter().map(|u| u.login.into_string()).collect();
    (stmt, p, logins)
}

fn query(term: &str, syntax: &SearchSyntax) -> UserQuery {
    query_in(
        FieldSet::SearchFields {
            exclude_customer_id: false,
        },
        term,
        syntax,
    )
}

fn query_in(fields: FieldSet, term: &str, syntax: &SearchSyntax) -> UserQuery {
    UserQuery {
        fields,
        expr: parse_term(term, syntax).unwrap(),
        valid_only: true,
        limit: 250,
        case_sensitive: false,
    }
}

/// `user1234` and `user12340` … `user12349`, sorted.
fn user1234() -> Vec<String> {
    let mut expected: Vec<String> = std::iter::once("user1234".to_owned())
        .chain((0..10).map(|d| format!("user1234{d}")))
        .collect();
    expected.sort();
    expected
}

/// No implicit wildcards: `*` only where written.
fn exact_syntax() -> SearchSyntax {
    SearchSyntax {
        prefix: String::new(),
        suffix: String::new(),
        ..SearchSyntax::default()
    }
}

fn prefix_syntax() -> SearchSyntax {
    SearchSyntax {
        prefix: String::new(),
        ..SearchSyntax::default()
    }
}

#[cfg(feature = "postgres")]
#[tokio::test]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn postgres_searches_use_the_search_indexes() {
    let (test_db, db, last) = backend(Kind::Postgres).await;

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
    // Idempotent; through the backend, which then looks for the new column at once.
    db.enable_search_indexes().await.unwrap();
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
    assert!(
        stmt.sql.contains("\"clientele_search\" LIKE LOWER($"),
        "{}",
        stmt.sql
    );

    // A common substring (`*rst1*`, in thousands of first names): whatever the plan, each row
    // is tested against the joined lower-case search text before any field is lower-cased.
    let common = db
        .search(&query("rst1", &SearchSyntax::default()))
        .await
        .unwrap();
    assert_eq!(common.len(), 250);
    assert!(
        common
            .iter()
            .all(|u| u.first_name.to_lowercase().contains("rst1")
                || u.last_name.to_lowercase().contains("rst1")
                || u.login.as_str().contains("rst1")),
        "only matching users"
    );
    let stmt = last.lock().unwrap().clone().unwrap();
    let p = plan(&db, &stmt).await;
    let filter = p
        .lines()
        .find(|l| l.contains("Filter:"))
        .unwrap_or_else(|| panic!("no filter: {p}"));
    assert!(
        filter.contains("(clientele_search ~~ '%rst1%'::text)"),
        "the joined search text comes first: {p}"
    );

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

    // A common term, cut by the limit (`user1*`: 11 111 users): the statement has no sort,
    // so the database stops at the first 250 matches and the backend sorts those — no sort of
    // every match and no walk along the login index testing row after row.
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
    assert!(
        p.starts_with("Limit"),
        "the limit is the top of the plan: {p}"
    );
    assert!(!p.contains("Sort"), "{p}");
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

/// Whether the plan reads the whole user table (SQLite).
fn scans_table(p: &str) -> bool {
    p.lines().any(|l| l.trim() == "SCAN customer_user")
}

#[tokio::test]
async fn sqlite_searches_use_the_search_indexes() {
    let (test_db, db, last) = backend(Kind::SqliteFile).await;
    let rare = query("12345", &SearchSyntax::default());
    let (_, p, found) = run(&db, &last, &rare).await;
    assert!(scans_table(&p), "{p}");
    assert_eq!(found, ["user12345"]);

    db.enable_search_indexes().await.unwrap();
    // Idempotent, and a second call does not fill the index again.
    db.enable_search_indexes().await.unwrap();
    analyze(&db).await;

    // `*12345*`: the trigram index drives, rows are read by primary key, no table scan.
    let (stmt, p, found) = run(&db, &last, &rare).await;
    assert_eq!(found, ["user12345"], "the index holds each row once");
    assert!(stmt.sql.contains("MATCH"), "{}", stmt.sql);
    assert!(p.contains("VIRTUAL TABLE INDEX"), "{p}");
    assert!(
        p.contains("SEARCH customer_user USING INTEGER PRIMARY KEY"),
        "{p}"
    );
    assert!(!scans_table(&p), "{p}");

    // Non-ASCII text, matched case-insensitively through the index: `*ÏRST1234*`.
    let (_, p, found) = run(&db, &last, &query("ÏRST1234", &SearchSyntax::default())).await;
    assert_eq!(found, user1234());
    assert!(p.contains("VIRTUAL TABLE INDEX"), "{p}");

    // A common term, cut by the limit: 250 matching users, sorted, and no table scan.
    let (_, p, found) = run(&db, &last, &query("rst1", &SearchSyntax::default())).await;
    assert_eq!(found.len(), 250);
    assert!(found.windows(2).all(|w| w[0] < w[1]), "sorted by login");
    assert!(!scans_table(&p), "{p}");
    assert!(
        !p.contains("TEMP B-TREE"),
        "no sort in the statement: the first 250 matches end the read: {p}"
    );

    // Prefix `user1234*`: its leading `u` alone is too short for the b-tree, so the trigram
    // index serves it.
    let (_, p, found) = run(&db, &last, &query("user1234", &prefix_syntax())).await;
    assert_eq!(found, user1234());
    assert!(p.contains("VIRTUAL TABLE INDEX"), "{p}");
    assert!(!scans_table(&p), "{p}");

    // Prefix `acme-123*` over the four search fields: one NOCASE b-tree range per field.
    let (_, p, found) = run(&db, &last, &query("acme-123", &prefix_syntax())).await;
    assert_eq!(found.len(), 40);
    assert!(p.contains("MULTI-INDEX OR"), "{p}");
    for c in ["login", "first_name", "last_name", "customer_id"] {
        assert!(
            p.contains(&format!("USING INDEX customer_user_{c}_nocase")),
            "{c}: {p}"
        );
    }
    assert!(!scans_table(&p), "{p}");

    // A two-letter prefix is still a b-tree range (`zz*`, which no customer id starts with).
    let (_, p, found) = run(
        &db,
        &last,
        &query_in(FieldSet::CustomerId, "zz", &prefix_syntax()),
    )
    .await;
    assert!(found.is_empty());
    assert!(
        p.contains("USING INDEX customer_user_customer_id_nocase"),
        "{p}"
    );

    // Exact email (postmaster search).
    let email = query_in(
        FieldSet::PostmasterFields,
        "USER777@example.com",
        &exact_syntax(),
    );
    let (_, p, found) = run(&db, &last, &email).await;
    assert_eq!(found, ["user777"]);
    assert!(!scans_table(&p), "{p}");

    // `12345 OR 12346`: each word reads its own rows from the index.
    let (_, p, found) = run(
        &db,
        &last,
        &query("12345 OR 12346", &SearchSyntax::default()),
    )
    .await;
    assert_eq!(found, ["user12345", "user12346"]);
    assert!(p.matches("VIRTUAL TABLE INDEX").count() >= 2, "{p}");

    // A negated word cannot use an index, and still means "no field matches".
    let (_, p, found) = run(&db, &last, &query("user1234+!user12345", &prefix_syntax())).await;
    let mut expected = user1234();
    expected.retain(|l| l != "user12345");
    assert_eq!(found, expected);
    assert!(!scans_table(&p), "{p}");

    // The triggers keep the index in step with inserts, updates and deletes.
    let exec = |sql: &'static str| {
        let conn = db.connection().clone();
        async move { conn.execute_unprepared(sql).await.unwrap() }
    };
    exec(
        "INSERT INTO customer_user (login, email, customer_id, first_name, last_name, valid_id, \
         create_time, create_by, change_time, change_by) VALUES ('zz-new', 'zz@example.com', \
         'acme-1', 'Don', 'Quixotic', 1, '2025-01-01 00:00:00', 1, '2025-01-01 00:00:00', 1)",
    )
    .await;
    let quixot = query("QUIXOT", &SearchSyntax::default());
    assert_eq!(run(&db, &last, &quixot).await.2, ["zz-new"]);
    exec("UPDATE customer_user SET last_name = 'Bland' WHERE login = 'zz-new'").await;
    assert!(run(&db, &last, &quixot).await.2.is_empty());
    let bland = query("blan", &SearchSyntax::default());
    assert_eq!(run(&db, &last, &bland).await.2, ["zz-new"]);
    exec("DELETE FROM customer_user WHERE login = 'zz-new'").await;
    assert!(run(&db, &last, &bland).await.2.is_empty());

    drop(db);
    test_db.drop().await;
}

/// Whether the plan reads every row of the user table (MariaDB; a derived table of hit ids is
/// read whole by design).
#[cfg(feature = "mysql")]
fn reads_all(p: &str) -> bool {
    p.lines()
        .any(|l| l.starts_with("table=customer_user ") && l.contains("type=ALL"))
}

#[cfg(feature = "mysql")]
#[tokio::test]
#[ignore = "needs MariaDB: run scripts/test.sh"]
async fn mariadb_prefix_searches_use_the_search_indexes() {
    let (test_db, db, last) = backend(Kind::MySql).await;
    let email = query_in(
        FieldSet::PostmasterFields,
        "USER777@example.com",
        &exact_syntax(),
    );
    // Without the search indexes the collation's own `LIKE` pre-filter already reads a range
    // of the email index every OTOBO schema has.
    let (stmt, p, found) = run(&db, &last, &email).await;
    assert_eq!(found, ["user777"]);
    assert!(stmt.sql.contains("`email` LIKE ?"), "{}", stmt.sql);
    assert!(p.contains("type=range key=customer_user_email "), "{p}");

    // `*12345*`: the same pre-filter, in a scan.
    let (stmt, p, found) = run(&db, &last, &query("12345", &SearchSyntax::default())).await;
    assert_eq!(found, ["user12345"]);
    assert!(stmt.sql.contains("`login` LIKE ?"), "{}", stmt.sql);
    assert!(!p.contains("type=range"), "{p}");

    db.enable_search_indexes().await.unwrap();
    db.enable_search_indexes().await.unwrap();
    analyze(&db).await;

    // Exact email: a range on the lower-cased email's index.
    let (stmt, p, found) = run(&db, &last, &email).await;
    assert_eq!(found, ["user777"]);
    assert!(
        stmt.sql.contains("`clientele_lc_email` LIKE LOWER(?)"),
        "{}",
        stmt.sql
    );
    assert!(p.contains("key=customer_user_clientele_lc_email"), "{p}");
    assert!(!reads_all(&p), "{p}");

    // Customer-id wildcard `acme-123*`.
    let (_, p, found) = run(
        &db,
        &last,
        &query_in(FieldSet::CustomerId, "ACME-123*", &exact_syntax()),
    )
    .await;
    assert_eq!(found.len(), 40);
    assert!(
        p.contains("key=customer_user_clientele_lc_customer_id"),
        "{p}"
    );
    assert!(!reads_all(&p), "{p}");

    // Prefix `user1234*` over the four search fields: a union of one limited range per field
    // (an index merge would collect every match of a common prefix before the limit).
    let (stmt, p, found) = run(&db, &last, &query("USER1234", &prefix_syntax())).await;
    assert_eq!(found, user1234());
    assert_eq!(stmt.sql.matches(" UNION ").count(), 3, "{}", stmt.sql);
    for c in ["login", "first_name", "last_name", "customer_id"] {
        assert!(
            p.contains(&format!("type=range key=customer_user_clientele_lc_{c} ")),
            "{c}: {p}"
        );
    }
    assert!(!reads_all(&p), "{p}");

    // `*12345*`: no b-tree serves a leading wildcard; the generated columns are not used (the
    // trigram index reads its candidates instead: tests/mariadb_trigram.rs), same result.
    let (stmt, p, found) = run(&db, &last, &query("12345", &SearchSyntax::default())).await;
    assert_eq!(found, ["user12345"]);
    assert!(!stmt.sql.contains("clientele_lc_"), "{}", stmt.sql);
    assert!(
        !p.contains("type=range") && !p.contains("clientele_lc"),
        "{p}"
    );

    // Rows written afterwards are in the index (the generated column is the row's own).
    db.connection()
        .execute_unprepared(
            "INSERT INTO customer_user (login, email, customer_id, first_name, last_name, \
             valid_id, create_time, create_by, change_time, change_by) VALUES ('ZZ-New', \
             'zz@example.com', 'acme-1', 'Don', 'Quixotic', 1, NOW(), 1, NOW(), 1)",
        )
        .await
        .unwrap();
    let (_, _, found) = run(&db, &last, &query("zz-n", &prefix_syntax())).await;
    assert_eq!(found, ["ZZ-New"]);

    drop(db);
    test_db.drop().await;
}
