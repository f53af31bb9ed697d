//! Two Directories on one database, each with its own `DbChangeFeed` (PostgreSQL `NOTIFY`, the
//! polled change log on SQLite): every grant, revoke, group and company write through A is
//! heard by B, which reloads just the rows the announcement names into its permission matrix.
//! After each write B must come to answer every `has_permission` exactly as a Directory freshly
//! built over the same database, and it must never rebuild its matrix for it.
//!
//! The PostgreSQL test is ignored by default and fails (it is not skipped) when the server at
//! `CLIENTELE_TEST_POSTGRES_URL` is missing.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clientele_backend::{CatalogChanges, GrantChange};
use clientele_db::{ChangeFeedConfig, DbBackend, DbChangeFeed};
use clientele_directory::{Directory, DirectoryConfig, Source};
use clientele_model::{NewCustomerCompany, NewCustomerUser, Validity};
use clientele_permissions::{PermissionConfig, PermissionTypes};

use common::{Fixture, Kind, test_config};

const SAME: &str = "Ticket::CustomerID::Same";
const OTHER: &str = "Ticket::CustomerID::Other";
const TYPES: [&str; 3] = ["ro", "move_into", "rw"];
const COMPANIES: [&str; 3] = ["ACME", "GLOBEX", "BETA"];
const LOGINS: [&str; 3] = ["anna", "bert", "cleo"];
/// How long B may take to show a write (the change log is polled every 10 ms here).
const BOUND: Duration = Duration::from_secs(10);

fn config() -> DirectoryConfig {
    DirectoryConfig {
        permissions: PermissionConfig {
            customer_group_support: true,
            other_customers_context: true,
            permission_types: PermissionTypes::new(TYPES).unwrap(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn directory(db: &Arc<DbBackend>, feed: Option<DbChangeFeed>) -> Directory {
    let mut b = Directory::builder()
        .source(Source::writable(db.clone()).with_bulk_writer(db.clone()))
        .company_store(db.clone())
        .relation_store(db.clone())
        .preference_store(db.clone())
        .config(config());
    if let Some(feed) = feed {
        b = b.change_feed(Arc::new(feed));
    }
    b.build().unwrap()
}

fn feed(db: &DbBackend) -> DbChangeFeed {
    let config = ChangeFeedConfig {
        poll_interval_ms: 10,
        ..ChangeFeedConfig::default()
    };
    DbChangeFeed::new(db, config).unwrap()
}

/// Whether B answers every (user, group, type) as a Directory built afresh; the first
/// difference otherwise.
async fn differs(b: &Directory, db: &Arc<DbBackend>, groups: &[String]) -> Option<String> {
    let fresh = directory(db, None);
    for login in LOGINS {
        for group in groups {
            for ty in TYPES {
                let want = fresh.has_permission(login, group, ty).await.unwrap();
                // A group added on A is unknown to B until its announcement arrives.
                let got = match b.has_permission(login, group, ty).await {
                    Err(clientele_backend::Error::NotFound {
                        entity: clientele_backend::Entity::Group,
                        ..
                    }) => return Some(format!("{group} not yet known to B")),
                    other => other.unwrap(),
                };
                if got != want {
                    return Some(format!("{ty} on {group} for {login}: {got}, not {want}"));
                }
            }
        }
    }
    None
}

async fn run(kind: Kind) {
    let fx = Fixture::new(kind).await;
    // B has a pool of its own, as another process would.
    let other = fx.test_db.connect(test_config()).await;
    let a = directory(&fx.db, Some(feed(&fx.db)));
    let b = directory(&other, Some(feed(&other)));
    b.follow_changes().unwrap();

    for c in COMPANIES {
        a.add_company(NewCustomerCompany::new(c, c), "1")
            .await
            .unwrap();
    }
    let mut groups: Vec<String> = ["users", "g1", "g2", "g3"].map(String::from).to_vec();
    for g in &groups {
        a.add_group(g, "1").await.unwrap();
    }
    for (i, login) in LOGINS.into_iter().enumerate() {
        let user = NewCustomerUser::new(
            login,
            "F",
            "L",
            &format!("{login}@example.test"),
            COMPANIES[i],
        );
        a.add_customer_user(user, "1").await.unwrap();
    }
    a.relate_company("anna", "BETA", true, "1").await.unwrap();
    // Let B hear the seeding, then build its matrix once.
    let start = Instant::now();
    while let Some(d) = differs(&b, &other, &groups).await {
        assert!(start.elapsed() < BOUND, "seeding never reached B: {d}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let builds = b.permission_matrix_stats().builds;

    // Every kind of write that used to make B rebuild its whole matrix.
    let mut step = 0;
    macro_rules! write {
        ($what:expr, $call:expr) => {{
            step += 1;
            $call.await.unwrap_or_else(|e| panic!("{}: {e}", $what));
            let start = Instant::now();
            while let Some(d) = differs(&b, &other, &groups).await {
                assert!(
                    start.elapsed() < BOUND,
                    "step {step} ({}): B still differs after {BOUND:?}: {d}",
                    $what
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }};
    }
    write!(
        "grant user",
        a.grant_user("anna", "g1", &["ro", "move_into"], "1")
    );
    write!("grant user rw", a.grant_user("bert", "g2", &["rw"], "1"));
    write!(
        "add user types",
        a.change_user_permissions("anna", "g1", GrantChange::Add, &["rw"], "1")
    );
    write!(
        "remove user types",
        a.change_user_permissions("anna", "g1", GrantChange::Remove, &["rw", "ro"], "1")
    );
    write!("revoke user", a.grant_user("bert", "g2", &[], "1"));
    write!(
        "grant company same",
        a.grant_company("BETA", "g3", SAME, &["ro"], "1")
    );
    write!(
        "grant company other",
        a.grant_company("GLOBEX", "g2", OTHER, &["rw"], "1")
    );
    write!(
        "add company types",
        a.change_company_permissions("BETA", "g3", SAME, GrantChange::Add, &["move_into"], "1")
    );
    write!(
        "remove company types",
        a.change_company_permissions("BETA", "g3", SAME, GrantChange::Remove, &["ro"], "1")
    );
    write!(
        "company invalid",
        a.set_company_validity("BETA", Validity::Invalid, "1")
    );
    write!(
        "company valid",
        a.set_company_validity("BETA", Validity::Valid, "1")
    );
    write!(
        "group invalid",
        a.set_group_validity("g1", Validity::Invalid)
    );
    write!(
        "group valid",
        a.update_group("g1", CatalogChanges::new().validity(Validity::Valid), "1")
    );
    groups.push("late".into());
    write!("add group", a.add_group("late", "1"));
    write!(
        "grant on the new group",
        a.grant_user("cleo", "late", &["ro"], "1")
    );

    let stats = b.permission_matrix_stats();
    assert_eq!(stats.builds, builds, "B rebuilt its matrix: {stats:?}");
    assert!(stats.row_reloads >= step, "{stats:?} after {step} writes");

    drop((a, b));
    let _ = other.connection().close_by_ref().await;
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_follows_grant_writes_on_sqlite_by_reloading_rows() {
    run(Kind::SqliteFile).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn b_follows_grant_writes_on_postgres_by_reloading_rows() {
    run(Kind::Postgres).await;
}
