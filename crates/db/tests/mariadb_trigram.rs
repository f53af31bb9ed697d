//! MariaDB's trigram index (`enable_search_indexes`): a side table of (user, trigram) kept by
//! triggers on `customer_user`. It narrows substring searches and never changes what they find,
//! whoever writes the table — Clientele, or raw OTOBO-style SQL behind its back (inserts,
//! updates, renames, deletes, `NULL`s) — and its triggers never make such a write fail.
#![cfg(feature = "mysql")]

mod common;

use std::sync::{Arc, Mutex};

use clientele_backend::{CustomerUserSource, CustomerUserWriter, Expected};
use clientele_db::sea_orm::{ConnectionTrait, DbBackend as Engine, Statement, Value};
use clientele_db::{DbBackend, DbConfig};
use clientele_model::search::{Expr, FieldSet, Pattern, SearchSyntax, UserQuery, parse_term};
use clientele_model::{Actor, Login};
use common::{Fixture, Kind, TestDb};
use proptest::prelude::*;
use tokio::runtime::Runtime;

/// Characters values and terms are drawn from: irregular case folding, accents, SQL and LIKE
/// specials, quotes, NUL, and a few plain ones so that trigrams repeat.
const ALPHABET: &[char] = &[
    'a', 'A', 'n', 'N', 's', 'S', 'ſ', 'k', 'K', '\u{212A}', 'ß', 'ẞ', 'σ', 'ς', 'Σ', 'é', 'É',
    'e', 'i', 'I', 'İ', 'ı', 'ö', 'Ö', '€', '😀', '%', '_', '\\', '"', '\'', ' ', '\0', '1', '2',
];

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 0..=max)
        .prop_map(|chars| chars.into_iter().collect())
}

/// A term: literal runs and `*` wildcards.
fn term() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![3 => text(5), 1 => Just("*".to_owned())], 1..=4)
        .prop_map(|parts| parts.concat())
}

/// A value for a raw write: text, or `NULL`.
fn raw_value() -> impl Strategy<Value = Option<String>> {
    prop_oneof![6 => text(12).prop_map(Some), 1 => Just(None)]
}

/// A write to `customer_user`.
#[derive(Clone, Debug)]
enum Write {
    /// Clientele adds a user with this last name.
    Add(String),
    /// OTOBO-style `INSERT` (login suffix, first name, last name, customer id).
    RawInsert(String, Option<String>, Option<String>, Option<String>),
    /// OTOBO-style `UPDATE` of one column of a user.
    RawUpdate(prop::sample::Index, &'static str, Option<String>),
    /// OTOBO-style rename: `UPDATE customer_user SET login = …`.
    RawRename(prop::sample::Index, String),
    /// OTOBO-style `DELETE` (OTOBO never deletes customer users; an administrator may).
    RawDelete(prop::sample::Index),
    /// Clientele renames a user it added and changes its last name.
    Rename(prop::sample::Index, String),
    /// OTOBO-style validity change: no search column changes.
    RawInvalidate(prop::sample::Index),
}

fn write() -> impl Strategy<Value = Write> {
    let column = prop::sample::select(vec!["login", "first_name", "last_name", "customer_id"]);
    prop_oneof![
        2 => text(10).prop_filter("a name", |s| !s.trim().is_empty() && !s.contains('\0'))
            .prop_map(Write::Add),
        3 => (text(6), raw_value(), raw_value(), raw_value())
            .prop_map(|(l, f, n, c)| Write::RawInsert(l, f, n, c)),
        3 => (any::<prop::sample::Index>(), column, raw_value())
            .prop_map(|(i, c, v)| Write::RawUpdate(i, c, v)),
        2 => (any::<prop::sample::Index>(), text(8)).prop_map(|(i, l)| Write::RawRename(i, l)),
        1 => any::<prop::sample::Index>().prop_map(Write::RawDelete),
        2 => (any::<prop::sample::Index>(), "[a-z]{1,6}").prop_map(|(i, l)| Write::Rename(i, l)),
        1 => any::<prop::sample::Index>().prop_map(Write::RawInvalidate),
    ]
}

/// What [`cut`] cuts from a stored value: which row, where, how long, upper-cased, which ends
/// get a `*`.
type Pick = (prop::sample::Index, prop::sample::Index, usize, bool, u8);

fn picks() -> impl Strategy<Value = Vec<Pick>> {
    prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            1usize..7,
            any::<bool>(),
            0u8..4,
        ),
        1..8,
    )
}

/// Terms cut from stored values, so that they match.
fn cut(values: &[String], picks: &[Pick]) -> Vec<String> {
    if values.is_empty() {
        return Vec::new();
    }
    picks
        .iter()
        .map(|(value, start, len, upper, ends)| {
            let chars: Vec<char> = value.get(values).chars().collect();
            let from = if chars.is_empty() {
                0
            } else {
                start.index(chars.len())
            };
            let piece: String = chars[from..(from + len).min(chars.len())].iter().collect();
            let piece = if *upper { piece.to_uppercase() } else { piece };
            match ends {
                0 => format!("*{piece}*"),
                1 => format!("{piece}*"),
                2 => format!("*{piece}"),
                _ => piece,
            }
        })
        .collect()
}

/// The logins (valid users, up to 1000) a search for `expr` over the search fields finds.
async fn logins(db: &DbBackend, expr: Expr, case_sensitive: bool) -> Vec<String> {
    let q = UserQuery {
        fields: FieldSet::SearchFields {
            exclude_customer_id: false,
        },
        expr,
        valid_only: true,
        limit: 1000,
        case_sensitive,
    };
    db.search_list(&q)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.login.into_string())
        .collect()
}

async fn run(conn: &impl ConnectionTrait, sql: &str, values: Vec<Value>) {
    conn.execute_raw(Statement::from_sql_and_values(Engine::MySql, sql, values))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn strings(conn: &impl ConnectionTrait, sql: &str) -> Vec<String> {
    conn.query_all_raw(Statement::from_string(Engine::MySql, sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

async fn count(conn: &impl ConnectionTrait, sql: &str) -> i64 {
    conn.query_one_raw(Statement::from_string(Engine::MySql, sql))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap()
        .try_get_by_index::<i64>(0)
        .unwrap()
}

/// The side table's rows that a recomputation from `customer_user` (written here by hand, with
/// MariaDB's sequence engine) does not have, plus the recomputed rows the side table lacks.
async fn index_drift(conn: &impl ConnectionTrait) -> i64 {
    let pieces = ["login", "first_name", "last_name", "customer_id"]
        .iter()
        .map(|c| {
            format!(
                "SELECT id, CAST(SUBSTRING(CONVERT(LOWER({c}) USING utf8mb4), seq, 3) AS BINARY) \
                 AS t FROM customer_user JOIN seq_1_to_300 ON seq + 2 <= CHAR_LENGTH({c})"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ");
    let expected = format!("SELECT DISTINCT id, t FROM ({pieces}) AS e");
    let side = "clientele_customer_user_trigram";
    count(
        conn,
        &format!(
            "SELECT CAST((SELECT COUNT(*) FROM {side} s WHERE NOT EXISTS (SELECT 1 FROM ({expected}) \
             AS x WHERE x.id = s.clientele_user_id AND x.t = s.clientele_trigram)) + \
             (SELECT COUNT(*) FROM ({expected}) AS x WHERE NOT EXISTS (SELECT 1 FROM {side} s \
             WHERE x.id = s.clientele_user_id AND x.t = s.clientele_trigram)) AS SIGNED)"
        ),
    )
    .await
}

const RAW_INSERT: &str = "INSERT INTO customer_user (login, email, customer_id, first_name, \
     last_name, valid_id, create_time, create_by, change_time, change_by) \
     VALUES (?, ?, ?, ?, ?, 1, NOW(), 1, NOW(), 1)";

/// Applies `writes` to the database of `indexed`, tracking the logins that exist (`clientele`:
/// those Clientele added and may rename).
async fn apply(
    indexed: &DbBackend,
    writes: &[Write],
    round: usize,
    present: &mut Vec<String>,
    clientele: &mut Vec<String>,
) {
    let conn = indexed.connection();
    for (n, w) in writes.iter().enumerate() {
        let unique = format!("{round}.{n}");
        match w {
            Write::Add(last) => {
                let login = format!("c{unique}");
                common::add_users_named(indexed, "Fïrst", &[last.as_str()]).await;
                // add_users_named names its user u00: rename it at once, by raw SQL.
                run(
                    conn,
                    "UPDATE customer_user SET login = ?, email = ? WHERE login = 'u00'",
                    vec![
                        login.clone().into(),
                        format!("{login}@acme-corp.com").into(),
                    ],
                )
                .await;
                present.push(login.clone());
                clientele.push(login);
            }
            Write::RawInsert(suffix, first, last, customer) => {
                let login = format!("r{unique}{suffix}");
                run(
                    conn,
                    RAW_INSERT,
                    vec![
                        login.clone().into(),
                        format!("r{unique}@example.com").into(),
                        customer.clone().into(),
                        first.clone().into(),
                        last.clone().into(),
                    ],
                )
                .await;
                present.push(login);
            }
            Write::RawUpdate(i, column, value) if !present.is_empty() => {
                if *column == "login" {
                    continue;
                }
                let login = i.get(present).clone();
                run(
                    conn,
                    &format!(
                        "UPDATE customer_user SET {column} = ?, change_time = NOW() \
                         WHERE CAST(login AS BINARY) = CAST(? AS BINARY)"
                    ),
                    vec![value.clone().into(), login.clone().into()],
                )
                .await;
                // Its record may no longer be one Clientele's model accepts.
                clientele.retain(|l| l != &login);
            }
            Write::RawRename(i, suffix) if !present.is_empty() => {
                let at = i.index(present.len());
                let new = format!("o{unique}{suffix}");
                run(
                    conn,
                    "UPDATE customer_user SET login = ? WHERE CAST(login AS BINARY) = CAST(? AS BINARY)",
                    vec![new.clone().into(), present[at].clone().into()],
                )
                .await;
                clientele.retain(|l| l != &present[at]);
                present[at] = new;
            }
            Write::RawDelete(i) if !present.is_empty() => {
                let at = i.index(present.len());
                let gone = present.remove(at);
                run(
                    conn,
                    "DELETE FROM customer_user WHERE CAST(login AS BINARY) = CAST(? AS BINARY)",
                    vec![gone.clone().into()],
                )
                .await;
                clientele.retain(|l| l != &gone);
            }
            Write::Rename(i, new) if !clientele.is_empty() => {
                let old = i.get(clientele).clone();
                let new = format!("n{unique}{new}");
                let login = Login::new(old.as_str()).unwrap();
                let mut user = indexed.get(&old).await.unwrap().unwrap();
                user.login = Login::new(new.as_str()).unwrap();
                user.last_name = format!("Renamed {new}");
                indexed
                    .update(&login, &user, Expected::Any, &Actor::System)
                    .await
                    .unwrap();
                clientele.retain(|l| l != &old);
                clientele.push(new.clone());
                for p in present.iter_mut().filter(|p| **p == old) {
                    *p = new.clone();
                }
            }
            Write::RawInvalidate(i) if !present.is_empty() => {
                run(
                    conn,
                    "UPDATE customer_user SET valid_id = 2 WHERE CAST(login AS BINARY) = CAST(? AS BINARY)",
                    vec![i.get(present).clone().into()],
                )
                .await;
            }
            _ => {}
        }
    }
}

/// On random writes — by Clientele and by raw SQL behind its back — and random terms (random
/// ones and ones cut from the stored values), plain and negated, under both case rules: a
/// backend using the trigram index finds exactly what one ignoring it finds, and the side table
/// holds exactly the trigrams of the stored values.
#[test]
#[ignore = "needs MariaDB: run scripts/test.sh"]
fn trigram_index_never_changes_search_results() {
    let rt = Runtime::new().unwrap();
    let (fixture, indexed, plain) = rt.block_on(async {
        let fixture = Fixture::new(Kind::MySql).await;
        // Covered columns that take NULL, as a foreign schema's may.
        for c in ["first_name", "last_name", "customer_id"] {
            fixture
                .exec(&format!(
                    "ALTER TABLE customer_user MODIFY {c} VARCHAR(150) NULL"
                ))
                .await;
        }
        fixture.db.enable_search_indexes().await.unwrap();
        let indexed = fixture.test_db.connect(common::test_config()).await;
        let plain = Arc::new(
            DbBackend::connect(&fixture.test_db.url, common::test_config())
                .await
                .unwrap()
                .trigram_search(false),
        );
        (fixture, indexed, plain)
    });
    let found = std::sync::atomic::AtomicUsize::new(0);
    let served = std::sync::atomic::AtomicUsize::new(0);
    let round = std::sync::atomic::AtomicUsize::new(0);
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(24));
    runner
        .run(
            &(
                prop::collection::vec(write(), 1..14),
                prop::collection::vec(term(), 1..5),
                picks(),
            ),
            |(writes, random_terms, picks)| {
                rt.block_on(async {
                    let conn = indexed.connection();
                    run(conn, "DELETE FROM customer_user", vec![]).await;
                    let r = round.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let (mut present, mut clientele) = (Vec::new(), Vec::new());
                    apply(&indexed, &writes, r, &mut present, &mut clientele).await;
                    prop_assert_eq!(index_drift(conn).await, 0, "side table drifted");
                    let values = strings(
                        conn,
                        "SELECT CONCAT_WS('', login, first_name, last_name, customer_id) \
                         FROM customer_user",
                    )
                    .await;
                    let terms: Vec<String> = random_terms
                        .into_iter()
                        .chain(cut(&values, &picks))
                        .collect();
                    for t in &terms {
                        let word = Expr::Match(Pattern::from_wildcards(t));
                        if t.split('*').any(|run| run.chars().count() >= 3) {
                            served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        let negated = Expr::Not(Box::new(word.clone()));
                        for expr in [word, negated] {
                            for case_sensitive in [false, true] {
                                let want = logins(&plain, expr.clone(), case_sensitive).await;
                                let got = logins(&indexed, expr.clone(), case_sensitive).await;
                                found.fetch_add(got.len(), std::sync::atomic::Ordering::Relaxed);
                                prop_assert_eq!(
                                    &got,
                                    &want,
                                    "{:?} (case-sensitive: {})",
                                    expr,
                                    case_sensitive
                                );
                            }
                        }
                    }
                    Ok(())
                })
            },
        )
        .unwrap();
    assert!(
        found.into_inner() > 0,
        "the terms found nobody: the comparison proved nothing"
    );
    assert!(
        served.into_inner() > 0,
        "no term had a run of three characters: the index was never asked"
    );
    rt.block_on(async {
        let _ = plain.connection().close_by_ref().await;
        let _ = indexed.connection().close_by_ref().await;
        fixture.finish().await;
    });
}

/// A backend on a fresh database with `n` users `user1` … (first name `Fïrst<i>`, last name
/// `Lâst<i>`, company `acme-<i % 500>`), capturing the last statement it ran.
async fn captured(n: usize) -> (TestDb, DbBackend, Arc<Mutex<Option<Statement>>>) {
    let test_db = TestDb::empty(Kind::MySql).await;
    let config = common::test_config();
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
         create_time, create_by, change_time, change_by) SELECT CONCAT('user', seq), \
         CONCAT('user', seq, '@example.com'), CONCAT('acme-', seq % 500), CONCAT('Fïrst', seq), \
         CONCAT('Lâst', seq), 1, NOW(), 1, NOW(), 1 FROM seq_1_to_{n}"
    ))
    .await
    .unwrap();
    let db = DbBackend::from_connection(conn, config).unwrap();
    (test_db, db, last)
}

fn search(term: &str) -> UserQuery {
    UserQuery {
        fields: FieldSet::SearchFields {
            exclude_customer_id: false,
        },
        expr: parse_term(term, &SearchSyntax::default()).unwrap(),
        valid_only: true,
        limit: 250,
        case_sensitive: false,
    }
}

/// The logins `db` finds for `term`, and whether its statement read the trigram index.
async fn through(
    db: &DbBackend,
    last: &Mutex<Option<Statement>>,
    term: &str,
) -> (Vec<String>, bool) {
    let found = db
        .search(&search(term))
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.login.into_string())
        .collect();
    let sql = last.lock().unwrap().clone().unwrap().sql;
    (found, sql.contains("clientele_customer_user_trigram"))
}

/// The plan of the last statement, one line per table (`table=… type=… key=…`).
async fn last_plan(db: &DbBackend, last: &Mutex<Option<Statement>>) -> String {
    let stmt = last.lock().unwrap().clone().unwrap();
    let explain = Statement {
        sql: format!("EXPLAIN {}", stmt.sql),
        ..stmt
    };
    let rows = db.connection().query_all_raw(explain).await.unwrap();
    rows.iter()
        .map(|r| {
            let get = |c: &str| {
                r.try_get::<Option<String>>("", c)
                    .unwrap()
                    .unwrap_or_default()
            };
            format!(
                "table={} type={} key={}",
                get("table"),
                get("type"),
                get("key")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A substring search reads its candidates from the trigram index (no scan of the user table);
/// a term without a run of three characters searches as before; OTOBO-style writes keep the
/// index exact; a broken side table marks the index stale instead of failing the write, and
/// searches then scan until `enable_search_indexes` rebuilds it; `remove_trigram_index` removes
/// it, and writes go on.
#[tokio::test]
#[ignore = "needs MariaDB: run scripts/test.sh"]
async fn substring_searches_read_the_trigram_index() {
    let (test_db, db, last) = captured(5000).await;
    let (before, used) = through(&db, &last, "1234").await;
    assert!(!used);
    assert_eq!(before, ["user1234"]);

    db.enable_search_indexes().await.unwrap();
    db.connection()
        .execute_unprepared("ANALYZE TABLE customer_user, clientele_customer_user_trigram")
        .await
        .unwrap();
    assert_eq!(index_drift(db.connection()).await, 0);

    let (found, used) = through(&db, &last, "1234").await;
    assert!(used, "the statement reads the side table");
    assert_eq!(found, before);
    let plan = last_plan(&db, &last).await;
    assert!(
        !plan
            .lines()
            .any(|l| l.starts_with("table=customer_user ") && l.contains("type=ALL")),
        "{plan}"
    );
    assert!(plan.contains("table=clientele_tri0 type=ref"), "{plan}");

    // Accents and case: `LÂST12` finds `Lâst12…` through the index.
    let (found, used) = through(&db, &last, "LÂST123").await;
    assert!(used);
    assert_eq!(found.len(), 11, "{found:?}");

    // Prefixes (a union of b-tree ranges), an exact email (not a covered column) and a
    // customer-id wildcard: the statements as without the index.
    let prefix = UserQuery {
        expr: parse_term(
            "user12",
            &SearchSyntax {
                prefix: String::new(),
                ..SearchSyntax::default()
            },
        )
        .unwrap(),
        ..search("x")
    };
    for q in [
        prefix,
        UserQuery {
            fields: FieldSet::PostmasterFields,
            expr: Expr::Match(Pattern::exact("user777@example.com")),
            ..search("x")
        },
        UserQuery {
            fields: FieldSet::CustomerId,
            expr: Expr::Match(Pattern::from_wildcards("acme-12*")),
            ..search("x")
        },
    ] {
        assert!(!db.search(&q).await.unwrap().is_empty(), "{q:?}");
        let sql = last.lock().unwrap().clone().unwrap().sql;
        assert!(!sql.contains("clientele_customer_user_trigram"), "{sql}");
    }

    // Runs shorter than three characters: the search as without the index.
    let (found, used) = through(&db, &last, "*12*34*").await;
    assert!(!used);
    assert!(!found.is_empty());

    // OTOBO-style writes behind Clientele's back: an insert, a rename, an update.
    db.connection()
        .execute_unprepared(
            "INSERT INTO customer_user (login, email, customer_id, first_name, last_name, \
             valid_id, create_time, create_by, change_time, change_by) VALUES ('Zebra-1', \
             'zebra@example.com', 'acme-1', 'Don', 'Quixotic', 1, NOW(), 1, NOW(), 1)",
        )
        .await
        .unwrap();
    db.connection()
        .execute_unprepared("UPDATE customer_user SET login = 'okapi-77' WHERE login = 'user77'")
        .await
        .unwrap();
    db.connection()
        .execute_unprepared("UPDATE customer_user SET last_name = 'Jose' WHERE login = 'user78'")
        .await
        .unwrap();
    db.connection()
        .execute_unprepared("UPDATE customer_user SET last_name = 'José' WHERE login = 'user78'")
        .await
        .unwrap();
    assert_eq!(index_drift(db.connection()).await, 0);
    assert_eq!(
        through(&db, &last, "quixot").await,
        (vec!["Zebra-1".into()], true)
    );
    assert_eq!(
        through(&db, &last, "okapi").await,
        (vec!["okapi-77".into()], true)
    );
    let (found, used) = through(&db, &last, "user77").await;
    assert!(used);
    assert_eq!(
        found.len(),
        10,
        "user770 … user779, no longer user77: {found:?}"
    );
    assert!(!found.contains(&"user77".to_owned()));
    assert_eq!(
        through(&db, &last, "josé").await,
        (vec!["user78".into()], true)
    );

    // The numbers table dropped by hand: the write still succeeds, the index is marked stale,
    // and a backend that looks again searches without it, finding the new user all the same.
    db.connection()
        .execute_unprepared("DROP TABLE clientele_trigram_positions")
        .await
        .unwrap();
    db.connection()
        .execute_unprepared(
            "INSERT INTO customer_user (login, email, customer_id, first_name, last_name, \
             valid_id, create_time, create_by, change_time, change_by) VALUES ('Yak-2', \
             'yak@example.com', 'acme-1', 'Don', 'Pelagic', 1, NOW(), 1, NOW(), 1)",
        )
        .await
        .unwrap();
    let fresh = DbBackend::from_connection(db.connection().clone(), common::test_config()).unwrap();
    assert_eq!(
        through(&fresh, &last, "pelagic").await,
        (vec!["Yak-2".into()], false)
    );
    // `enable_search_indexes` rebuilds it.
    fresh.enable_search_indexes().await.unwrap();
    assert_eq!(index_drift(db.connection()).await, 0);
    assert_eq!(
        through(&fresh, &last, "pelagic").await,
        (vec!["Yak-2".into()], true)
    );

    // Removed: triggers and side table gone, writes go on, searches scan.
    clientele_db::remove_trigram_index(db.connection())
        .await
        .unwrap();
    clientele_db::remove_trigram_index(db.connection())
        .await
        .unwrap();
    assert_eq!(
        count(
            db.connection(),
            "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()"
        )
        .await,
        0
    );
    db.connection()
        .execute_unprepared("UPDATE customer_user SET last_name = 'Gone' WHERE login = 'Yak-2'")
        .await
        .unwrap();
    let fresh = DbBackend::from_connection(db.connection().clone(), common::test_config()).unwrap();
    assert_eq!(
        through(&fresh, &last, "gone").await,
        (vec!["Yak-2".into()], false)
    );

    drop(fresh);
    drop(db);
    test_db.drop().await;
}

/// `trigram_index_problems` names a missing TRIGGER privilege, and `enable_search_indexes` then
/// refuses before changing anything; with the privilege granted both pass.
#[tokio::test]
#[ignore = "needs MariaDB: run scripts/test.sh"]
async fn a_missing_trigger_privilege_is_named_before_anything_changes() {
    let fixture = Fixture::new(Kind::MySql).await;
    assert!(
        clientele_db::trigram_index_problems(fixture.db.connection())
            .await
            .unwrap()
            .is_empty()
    );
    let database = fixture.test_db.url.rsplit('/').next().unwrap().to_owned();
    let account = format!("{database}_u");
    let password = "Trig-Pw-1";
    fixture
        .exec(&format!(
            "CREATE USER '{account}'@'%' IDENTIFIED BY '{password}'"
        ))
        .await;
    fixture
        .exec(&format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, ALTER, INDEX ON `{database}`.* \
             TO '{account}'@'%'"
        ))
        .await;
    let server = common::mysql_url();
    let (scheme, rest) = server.split_once("://").unwrap();
    let host = rest.rsplit('@').next().unwrap();
    let url = format!("{scheme}://{account}:{password}@{host}/{database}");
    let limited = DbBackend::connect(&url, DbConfig::default()).await.unwrap();

    let problems = clientele_db::trigram_index_problems(limited.connection())
        .await
        .unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("TRIGGER privilege"), "{}", problems[0]);
    let refused = limited.enable_search_indexes().await.unwrap_err();
    assert!(
        refused.to_string().contains("TRIGGER") || format!("{refused:?}").contains("TRIGGER"),
        "{refused:?}"
    );
    assert_eq!(
        count(
            fixture.db.connection(),
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME LIKE 'clientele\\_%trigram%'"
        )
        .await,
        0,
        "nothing was created"
    );

    fixture
        .exec(&format!(
            "GRANT TRIGGER ON `{database}`.* TO '{account}'@'%'"
        ))
        .await;
    let limited = DbBackend::connect(&url, DbConfig::default()).await.unwrap();
    assert!(
        clientele_db::trigram_index_problems(limited.connection())
            .await
            .unwrap()
            .is_empty()
    );
    limited.enable_search_indexes().await.unwrap();
    let _ = limited.connection().close_by_ref().await;
    fixture.exec(&format!("DROP USER '{account}'@'%'")).await;
    fixture.finish().await;
}
