//! The case rule is the same on every database: the same data and the same searches give the
//! same results on SQLite, PostgreSQL and MariaDB, with and without the opt-in search indexes —
//! and the same as the in-memory reference backend, whose rule is "Unicode lower case on both
//! sides, accents count".
//!
//! MariaDB's default collations are case- *and* accent-insensitive (`ä` = `a`), PostgreSQL's
//! compare bytes, and SQLite's `LOWER()` folds ASCII only; this test is what proves the backend
//! evens those out.
#![cfg(all(feature = "postgres", feature = "mysql"))]

mod common;

use std::sync::Arc;

use clientele_backend::{CustomerUserSource, CustomerUserWriter, InMemoryBackend};
use clientele_model::search::{
    DetailSearch, Direction, Expr, FieldCondition, FieldSet, Pattern, UserQuery,
};

use common::{Fixture, Kind};

const LAST_NAMES: &[&str] = &[
    "Äpfel",
    "äpfel",
    "apfel",
    "APFEL",
    "École",
    "école",
    "ecole",
    "Ωmega",
    "ωmega",
    "Дмитрий",
    "дмитрий",
    "Øre",
    "øre",
    "ore",
    "a%b",
    "a_b",
    "Ääkkönen",
    "O'Neil",
    "Zebra",
    "zebra",
];

const PATTERNS: &[&str] = &[
    "*ä*",
    "*Ä*",
    "*a*",
    "äpfel",
    "ÄPFEL",
    "Äpfel",
    "apfel",
    "*é*",
    "*É*",
    "é*",
    "É*",
    "e*",
    "*ω*",
    "*Ω*",
    "*мит*",
    "*МИТ*",
    "*ø*",
    "*Ø*",
    "*o*",
    "*%*",
    "*_*",
    "a_b",
    "a%b",
    "*'*",
    "*kk*",
    "*KÖ*",
    "z*",
    "Z*",
    // Three characters or more: served by the search indexes where they exist.
    "*pfel*",
    "*PFEL*",
    "*kkö*",
    "*KKÖ*",
    "*ÉCOLE*",
    "*cole*",
    "zeb*",
    "ZEB*",
    "*a%b*",
    "*'ne*",
    "ape*",
    "APFEL*",
    "Äpf*",
    "*митрий",
    "*ωme*",
    "ØRE",
    "*ebr*",
    "*\"*",
];

async fn fill(db: &(dyn CustomerUserWriter + Send + Sync)) {
    common::add_users_named(db, "Test", LAST_NAMES).await;
}

type Source = Arc<dyn CustomerUserSource + Send + Sync>;

async fn search(db: &Source, pattern: &str, fields: FieldSet, case_sensitive: bool) -> Vec<String> {
    let q = UserQuery {
        fields,
        expr: Expr::Match(Pattern::from_wildcards(pattern)),
        valid_only: true,
        limit: 250,
        case_sensitive,
    };
    db.search(&q)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.login.into_string())
        .collect()
}

async fn detail(db: &Source, d: &DetailSearch) -> Vec<String> {
    db.search_detail(d)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.into_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and MariaDB: run scripts/test.sh"]
async fn same_results_on_every_database() {
    let memory = Arc::new(InMemoryBackend::new());
    fill(memory.as_ref()).await;
    let fixtures = [
        Fixture::new(Kind::SqliteMemory).await,
        Fixture::new(Kind::Postgres).await,
        Fixture::new(Kind::MySql).await,
        Fixture::new(Kind::SqliteMemory).await,
        Fixture::new(Kind::Postgres).await,
        Fixture::new(Kind::MySql).await,
    ];
    let names = [
        "sqlite",
        "postgres",
        "mariadb",
        "sqlite with search indexes",
        "postgres with search indexes",
        "mariadb with search indexes",
    ];
    for (i, f) in fixtures.iter().enumerate() {
        if i >= 3 {
            // Before the users exist: the database keeps the indexes up to date as they are
            // added (tests/explain.rs covers filling them from existing rows).
            f.db.enable_search_indexes().await.unwrap();
        }
        fill(f.db.as_ref()).await;
    }
    let mut sources: Vec<(&str, Source)> = vec![("memory", memory.clone() as Source)];
    for (name, f) in names.into_iter().zip(&fixtures) {
        sources.push((name, f.db.clone() as Source));
    }

    let fields = FieldSet::SearchFields {
        exclude_customer_id: false,
    };
    let mut checked = 0;
    for pattern in PATTERNS {
        for case_sensitive in [false, true] {
            let reference = search(&sources[0].1, pattern, fields, case_sensitive).await;
            for (name, db) in &sources[1..] {
                let got = search(db, pattern, fields, case_sensitive).await;
                assert_eq!(
                    got, reference,
                    "{name} differs from the reference for {pattern:?} (case-sensitive: {case_sensitive})"
                );
                checked += 1;
            }
        }
    }
    for email in ["U03@ACME-CORP.COM", "u03@acme-corp.com", "u03@acme-corp.co"] {
        let reference = search(&sources[0].1, email, FieldSet::PostmasterFields, false).await;
        for (name, db) in &sources[1..] {
            assert_eq!(
                search(db, email, FieldSet::PostmasterFields, false).await,
                reference,
                "{name}: {email}"
            );
        }
    }

    // Detail search: whole-value conditions (always case-insensitive), exclusions, ordering.
    let mut details: Vec<DetailSearch> = ["äpfel", "ÄPFEL", "apfel", "é*", "Ø*", "*МИТ*", "a_b"]
        .into_iter()
        .map(|p| DetailSearch {
            conditions: vec![FieldCondition {
                attribute: "UserLastname".into(),
                pattern: Pattern::from_wildcards(p),
            }],
            valid_only: true,
            ..Default::default()
        })
        .collect();
    for direction in [Direction::Ascending, Direction::Descending] {
        details.push(DetailSearch {
            order_by: vec![("UserLastname".into(), direction)],
            valid_only: true,
            ..Default::default()
        });
    }
    details.push(DetailSearch {
        exclude_logins: vec!["U01".into(), "u02".into()],
        order_by: vec![("UserLogin".into(), Direction::Ascending)],
        valid_only: true,
        ..Default::default()
    });
    for d in &details {
        let reference = detail(&sources[0].1, d).await;
        assert!(
            !reference.is_empty(),
            "a detail search that finds nothing proves little: {d:?}"
        );
        for (name, db) in &sources[1..] {
            assert_eq!(detail(db, d).await, reference, "{name} differs for {d:?}");
        }
    }

    // Spot checks of the rule itself.
    let rule = |p: &'static str, cs: bool| {
        let db = sources[2].1.clone();
        async move { search(&db, p, fields, cs).await }
    };
    assert_eq!(
        rule("äpfel", false).await,
        ["u00", "u01"],
        "case-insensitive, accents count"
    );
    assert_eq!(rule("äpfel", true).await, ["u01"]);
    assert_eq!(rule("apfel", false).await, ["u02", "u03"]);
    assert_eq!(rule("*МИТ*", false).await, ["u09", "u10"]);
    assert!(checked > 100);

    for f in fixtures {
        f.finish().await;
    }
}
