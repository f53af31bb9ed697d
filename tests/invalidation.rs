//! Two application servers on one database: two Directories opened from the same
//! configuration, each with its own caches (TTL one day, OTOBO's default) and permission
//! matrix, kept current by the `[change_feed]` (PostgreSQL `NOTIFY`, a polled change log on
//! MariaDB and SQLite).
//!
//! Every write goes through Directory A; the test measures how long Directory B's *cached*
//! reads — look-up by login, a search, a permission check — take to show it, and fails when one
//! takes longer than a generous bound. A third Directory without the feed, on the same
//! database, proves the caches really are on: it keeps serving the old data.
//!
//! Run with `scripts/test.sh`; the server tests fail (they are not skipped) when PostgreSQL or
//! MariaDB is missing.

use std::time::{Duration, Instant};

use clientele::config::{Config, CustomerUserConfig, OpenOptions};
use clientele::db::ChangeFeedConfig;
use clientele::model::search::CustomerUserSearch;
use clientele::model::{CustomerUserChanges, NewCustomerCompany, NewCustomerUser, keys};
use clientele::{Directory, Error};

#[path = "../crates/db/tests/common/mod.rs"]
mod common;

use common::{Fixture, Kind};

/// Writes per kind of change (odd: the last grant round grants, so the feed-less Directory's
/// cached "no permission" is checked against a granted store).
const ROUNDS: usize = 11;
/// No change may take longer than this to show (the poll interval is 1 s).
const BOUND: Duration = Duration::from_secs(10);

fn config(url: &str, feed: bool) -> Config {
    let mut source = CustomerUserConfig::db(url);
    source.settings_mut().name = "db".into();
    assert_eq!(source.settings().cache_ttl, 86_400, "caches must be on");
    let mut config = Config::new(vec![source]);
    config.customer_company.cache_ttl = 86_400;
    config.directory.permissions.customer_group_support = true;
    if feed {
        config.change_feed = Some(ChangeFeedConfig::default());
    }
    config
}

async fn open(url: &str, feed: bool) -> Directory {
    config(url, feed)
        .open_with(OpenOptions { migrate: false })
        .await
        .unwrap_or_else(|e| panic!("open {url}: {e}"))
        .directory
}

/// Waits until `check` holds on B, returning how long it took; panics after [`BOUND`].
async fn visible<F, Fut>(what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, Error>>,
{
    let start = Instant::now();
    loop {
        if check().await.unwrap_or_else(|e| panic!("{what}: {e}")) {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < BOUND,
            "{what}: not visible through the other Directory after {BOUND:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A pseudo-random pause of 0–990 ms before write `k` of round `r`, so that writes do not fall
/// in step with the other Directory's polling (which would flatter the figures).
async fn jitter(r: usize, k: usize) {
    let ms = ((r * 37 + k * 61 + 17) % 100) as u64 * 10;
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

fn summary(mut v: Vec<Duration>) -> String {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "median {:.1} ms, max {:.1} ms (n={})",
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1]),
        v.len()
    )
}

async fn first_name(dir: &Directory, login: &str) -> Result<String, Error> {
    Ok(dir
        .customer_user(login)
        .await?
        .map(|u| u.first_name.clone())
        .unwrap_or_default())
}

/// Company ACME and its user `jdoe` ("John"), through `dir`.
async fn seed(dir: &Directory) {
    dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "1")
        .await
        .expect("company");
    dir.add_customer_user(
        NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"),
        "1",
    )
    .await
    .expect("user");
}

async fn run(kind: Kind) {
    let fx = Fixture::new(kind).await;
    let url = fx.test_db.url.clone();
    let a = open(&url, true).await;
    let b = open(&url, true).await;
    let stale = open(&url, false).await;

    seed(&a).await;
    a.add_group("support", "1").await.expect("group");

    // B and the feed-less Directory cache the record, a search and the permission matrix.
    let search = CustomerUserSearch::term("jdoe");
    for d in [&b, &stale] {
        assert_eq!(first_name(d, "jdoe").await.unwrap(), "John");
        assert_eq!(d.search(&search).await.unwrap().len(), 1);
        assert!(!d.has_permission("jdoe", "support", "ro").await.unwrap());
    }

    let mut records = Vec::new();
    let mut grants = Vec::new();
    let mut searches = Vec::new();
    let mut added = Vec::new();
    for r in 0..ROUNDS {
        // A record update: B's cached look-up must drop it.
        let name = format!("John{r}");
        jitter(r, 0).await;
        a.update_customer_user(
            "jdoe",
            CustomerUserChanges::new().set(keys::FIRST_NAME, name.as_str()),
            "1",
        )
        .await
        .expect("update");
        records.push(
            visible("record update", || async {
                Ok(first_name(&b, "jdoe").await? == name)
            })
            .await,
        );

        // A grant or a revocation: B's permission matrix must follow.
        let on = r % 2 == 0;
        let perms: &[&str] = if on { &["ro"] } else { &[] };
        // B's matrix holds the current state before the write, so the write must reach it.
        assert_eq!(
            b.has_permission("jdoe", "support", "ro").await.unwrap(),
            !on
        );
        jitter(r, 1).await;
        a.grant_user("jdoe", "support", perms, "1")
            .await
            .expect("grant");
        grants.push(
            visible("grant", || async {
                Ok(b.has_permission("jdoe", "support", "ro").await? == on)
            })
            .await,
        );

        // A new user: B's cached search (and its cached "no such user") must drop.
        let login = format!("new{r}");
        let term = CustomerUserSearch::term(&login);
        assert!(b.search(&term).await.unwrap().is_empty());
        assert!(b.customer_user(&login).await.unwrap().is_none());
        jitter(r, 2).await;
        a.add_customer_user(
            NewCustomerUser::new(
                &login,
                "New",
                "User",
                &format!("{login}@acme-corp.com"),
                "ACME",
            ),
            "1",
        )
        .await
        .expect("add");
        // Both from the same start: one announcement drops both entries.
        let start = Instant::now();
        let (mut search_at, mut lookup_at) = (None, None);
        while search_at.is_none() || lookup_at.is_none() {
            if search_at.is_none() && b.search(&term).await.unwrap().len() == 1 {
                search_at = Some(start.elapsed());
            }
            if lookup_at.is_none() && b.customer_user(&login).await.unwrap().is_some() {
                lookup_at = Some(start.elapsed());
            }
            assert!(
                start.elapsed() < BOUND,
                "{login}: not visible through the other Directory after {BOUND:?}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        searches.extend(search_at);
        added.extend(lookup_at);
    }

    // The Directory without a feed still serves what it cached: the caches were on, and the
    // feed is what kept B current.
    assert_eq!(first_name(&stale, "jdoe").await.unwrap(), "John");
    assert!(!stale.has_permission("jdoe", "support", "ro").await.unwrap());

    println!(
        "invalidation {kind:?}: record update {}; grant {}; search after add {}; look-up after \
         add {}",
        summary(records),
        summary(grants),
        summary(searches),
        summary(added)
    );
    drop((a, b, stale));
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_directories_on_one_sqlite_file() {
    run(Kind::SqliteFile).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn two_directories_on_one_postgres_database() {
    run(Kind::Postgres).await;
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MariaDB: run scripts/test.sh"]
async fn two_directories_on_one_mariadb_database() {
    run(Kind::MySql).await;
}

/// A bulk import through Directory A is seen by B, whose cache already said "no such user"
/// for the imported logins: a small import announces each login, one over the announcement
/// limit announces its source as a whole. The feed-less Directory keeps its stale answer,
/// which proves the caches were on.
async fn import_run(kind: Kind) {
    let fx = Fixture::new(kind).await;
    let url = fx.test_db.url.clone();
    let a = open(&url, true).await;
    let b = open(&url, true).await;
    let stale = open(&url, false).await;
    seed(&a).await;
    let row = |i: usize| {
        let login = format!("imp{i:04}");
        let mail = format!("{login}@acme-corp.com");
        NewCustomerUser::new(&login, "Imp", "Orted", &mail, "ACME")
    };
    for (first, count) in [(0, 3), (3, 1_005)] {
        let probe = [
            format!("imp{first:04}"),
            format!("imp{:04}", first + count - 1),
        ];
        for d in [&b, &stale] {
            for login in &probe {
                assert!(d.customer_user(login).await.unwrap().is_none());
            }
        }
        let rows = (first..first + count).map(row).collect();
        let report = a.import_customer_users(rows, "1").await.expect("import");
        assert_eq!(report.inserted, count, "{:?}", report.rejected.first());
        for login in &probe {
            visible(&format!("import of {count}"), || async {
                Ok(b.customer_user(login).await?.is_some())
            })
            .await;
            assert!(
                stale.customer_user(login).await.unwrap().is_none(),
                "the Directory without the feed still has its cached answer"
            );
        }
    }
    drop((a, b, stale));
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_on_one_sqlite_directory_is_seen_by_the_other() {
    import_run(Kind::SqliteFile).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn an_import_on_one_postgres_directory_is_seen_by_the_other() {
    import_run(Kind::Postgres).await;
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MariaDB: run scripts/test.sh"]
async fn an_import_on_one_mariadb_directory_is_seen_by_the_other() {
    import_run(Kind::MySql).await;
}

/// PostgreSQL: the listening connection is killed; the follower must notice the gap, drop its
/// caches and listen again, so a write made afterwards still shows.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn postgres_listener_loss_is_a_gap() {
    use clientele::db::sea_orm::{ConnectionTrait, Statement};

    let fx = Fixture::new(Kind::Postgres).await;
    let url = fx.test_db.url.clone();
    let a = open(&url, true).await;
    let b = open(&url, true).await;
    seed(&a).await;
    assert_eq!(first_name(&b, "jdoe").await.unwrap(), "John");

    // Wait until both listeners are connected, then terminate them.
    let name = url.rsplit('/').next().unwrap().to_owned();
    let listening = format!(
        "SELECT count(*)::bigint FROM pg_stat_activity WHERE datname = '{name}' \
         AND query LIKE 'LISTEN%'"
    );
    let conn = fx.db.connection();
    let count = |sql: String| async move {
        let row = conn
            .query_one_raw(Statement::from_string(conn.get_database_backend(), sql))
            .await
            .expect("pg_stat_activity")
            .expect("a row");
        row.try_get_by_index::<i64>(0).expect("count")
    };
    let start = Instant::now();
    while count(listening.clone()).await < 2 {
        assert!(start.elapsed() < BOUND, "the Directories never listened");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    conn.execute_raw(Statement::from_string(
        conn.get_database_backend(),
        format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' \
             AND query LIKE 'LISTEN%'"
        ),
    ))
    .await
    .expect("terminate the listeners");

    a.update_customer_user(
        "jdoe",
        CustomerUserChanges::new().set(keys::FIRST_NAME, "Jack"),
        "1",
    )
    .await
    .expect("update");
    let took = visible("update after the listener was killed", || async {
        Ok(first_name(&b, "jdoe").await? == "Jack")
    })
    .await;
    println!(
        "invalidation Postgres: update visible {:.1} ms after the listening connections were \
         terminated",
        took.as_secs_f64() * 1000.0
    );
    drop((a, b));
    fx.finish().await;
}
