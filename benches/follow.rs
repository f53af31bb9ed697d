//! A grant written on one instance, seen by another: two Directories on one PostgreSQL
//! database, each with its own pool and `DbChangeFeed` (`LISTEN`/`NOTIFY`), the permission
//! bench's data shape (100 000 users, 10 000 groups, 1 000 000 direct grants, 10 000
//! companies with 10 "same customer" grants each, every user in 1–3 companies).
//!
//! ```sh
//! cargo bench --bench follow --features postgres
//! ```
//!
//! For each write, A grants a user `rw` on a group it had nothing on; the clock starts when
//! A's call returns and stops at B's first correct `has_permission` answer, B being polled in
//! a tight loop (every check timed: the slowest is reported too). Two ways, in the same run:
//!
//! * **rows** — today's path: A announces `Change::UserGrants`, B reloads that user's grants
//!   (one indexed query) and patches its matrix in place;
//! * **rebuild** — the behaviour before it, forced: A writes without a feed and
//!   `Change::Permissions` is announced right after, so B drops its matrix and the next check
//!   rebuilds it from the whole store.
//!
//! Environment:
//! * `CLIENTELE_BENCH_POSTGRES_URL` — server (default `postgres://postgres@127.0.0.1:5432`);
//!   the bench creates the database `clientele_bench_follow` and drops it at the end.
//! * `CLIENTELE_BENCH_FOLLOW_USERS` — customer users (default 100 000; grants are ten times
//!   as many, groups and companies a tenth).
//! * `CLIENTELE_BENCH_FOLLOW_WRITES` — writes per way (default 30; medians reported).

use std::sync::Arc;
use std::time::{Duration, Instant};

use clientele::backend::changes::{Change, ChangeFeed};
use clientele::db::sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use clientele::db::{ChangeFeedConfig, DbBackend, DbChangeFeed, DbConfig};
use clientele::directory::{Directory, DirectoryConfig, Source};

const DB_NAME: &str = "clientele_bench_follow";
/// Grants per user and per company.
const PER: u64 = 10;

fn server() -> String {
    std::env::var("CLIENTELE_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_owned()
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

async fn exec(conn: &DatabaseConnection, sql: &str) {
    conn.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The `k`-th group (1-based id) of user `u`: distinct for k < groups.
fn user_group(u: u64, k: u64, groups: u64) -> u64 {
    (u * 7919 + k * 1013) % groups + 1
}

/// Fills the migrated database in a few statements of the server's own.
async fn seed(conn: &DatabaseConnection, users: u64, groups: u64, companies: u64) {
    const AUDIT: &str = "now(), 1, now(), 1";
    let statements = [
        format!(
            "INSERT INTO groups_table (id, name, valid_id, create_time, create_by, change_time, \
             change_by) SELECT g, 'g' || g, 1, {AUDIT} FROM generate_series(1, {groups}) g"
        ),
        format!(
            "INSERT INTO customer_company (customer_id, name, valid_id, create_time, create_by, \
             change_time, change_by) SELECT 'c' || c, 'Company ' || c, 1, {AUDIT} \
             FROM generate_series(0, {companies} - 1) c"
        ),
        format!(
            "INSERT INTO customer_user (login, email, customer_id, first_name, last_name, \
             valid_id, create_time, create_by, change_time, change_by) \
             SELECT 'u' || u, 'u' || u || '@example.test', 'c' || (u % {companies}), 'F', 'L', \
             1, {AUDIT} FROM generate_series(0, {users} - 1) u"
        ),
        // 0–2 companies besides the primary one.
        format!(
            "INSERT INTO customer_user_customer (user_id, customer_id, create_time, create_by, \
             change_time, change_by) SELECT 'u' || u, 'c' || ((u * 31 + 7 * k) % {companies}), \
             {AUDIT} FROM generate_series(0, {users} - 1) u, generate_series(1, 2) k \
             WHERE k <= u % 3"
        ),
        format!(
            "INSERT INTO group_customer_user (user_id, group_id, permission_key, \
             permission_value, create_time, create_by, change_time, change_by) \
             SELECT 'u' || u, (u * 7919 + k * 1013) % {groups} + 1, \
             CASE WHEN (u + k) % 5 = 0 THEN 'rw' ELSE 'ro' END, 1, {AUDIT} \
             FROM generate_series(0, {users} - 1) u, generate_series(0, {PER} - 1) k"
        ),
        format!(
            "INSERT INTO group_customer (customer_id, group_id, permission_key, \
             permission_value, permission_context, create_time, create_by, change_time, \
             change_by) SELECT 'c' || c, (c * 17 + k * 997) % {groups} + 1, \
             CASE WHEN (c + k) % 5 = 0 THEN 'rw' ELSE 'ro' END, 1, \
             'Ticket::CustomerID::Same', {AUDIT} \
             FROM generate_series(0, {companies} - 1) c, generate_series(0, {PER} - 1) k"
        ),
        "SELECT setval(pg_get_serial_sequence('groups_table', 'id'), \
         (SELECT max(id) FROM groups_table))"
            .to_owned(),
        "ANALYZE".to_owned(),
    ];
    for sql in &statements {
        exec(conn, sql).await;
    }
}

fn directory(db: &Arc<DbBackend>, feed: Option<Arc<dyn ChangeFeed>>) -> Directory {
    let mut config = DirectoryConfig::default();
    config.permissions.customer_group_support = true;
    let mut b = Directory::builder()
        .source(Source::writable(db.clone()))
        .company_store(db.clone())
        .relation_store(db.clone())
        .preference_store(db.clone())
        .config(config);
    if let Some(feed) = feed {
        b = b.change_feed(feed);
    }
    b.build().expect("directory")
}

/// One way's figures: per write, the latency and the slowest check of B while waiting.
#[derive(Default)]
struct Figures {
    latency: Vec<Duration>,
    slowest: Vec<Duration>,
    checks: usize,
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn max(v: &[Duration]) -> Duration {
    v.iter().copied().max().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Polls B until it answers `true`; returns the time since `start` and the slowest check.
async fn until_granted(
    b: &Directory,
    login: &str,
    group: &str,
    start: Instant,
) -> (Duration, Duration, usize) {
    let mut slowest = Duration::ZERO;
    let mut checks = 0;
    loop {
        let t = Instant::now();
        let ok = b
            .has_permission(login, group, "rw")
            .await
            .expect("check on B");
        slowest = slowest.max(t.elapsed());
        checks += 1;
        if ok {
            return (start.elapsed(), slowest, checks);
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "B never saw {login}'s grant on {group}"
        );
        // Let the follower task run even on a busy runtime.
        tokio::task::yield_now().await;
    }
}

fn main() {
    let users = env_u64("CLIENTELE_BENCH_FOLLOW_USERS", 100_000).max(100);
    let writes = env_u64("CLIENTELE_BENCH_FOLLOW_WRITES", 30).max(1);
    let groups = (users / 10).max(PER + 2 * writes + 1);
    let companies = (users / 10).max(1);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");

    let (rows, rebuild, build) = rt.block_on(async {
        let admin = Database::connect(format!("{}/postgres", server()))
            .await
            .expect("PostgreSQL reachable at CLIENTELE_BENCH_POSTGRES_URL");
        exec(
            &admin,
            &format!("DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"),
        )
        .await;
        exec(
            &admin,
            &format!("CREATE DATABASE {DB_NAME} ENCODING 'UTF8'"),
        )
        .await;
        let url = format!("{}/{DB_NAME}", server());
        let connect = || async {
            Arc::new(
                DbBackend::connect(&url, DbConfig::default())
                    .await
                    .expect("connect"),
            )
        };
        let db_a = connect().await;
        let db_b = connect().await;
        clientele::db::migrate(db_a.connection())
            .await
            .expect("migrate");
        let t = Instant::now();
        seed(db_a.connection(), users, groups, companies).await;
        eprintln!(
            "follow bench: {users} users, {} grants, {groups} groups, {companies} companies \
             seeded in {:.1?}",
            users * PER,
            t.elapsed()
        );

        let feed = |db: &Arc<DbBackend>| -> Arc<DbChangeFeed> {
            Arc::new(DbChangeFeed::new(db, ChangeFeedConfig::default()).expect("feed"))
        };
        let a = directory(&db_a, Some(feed(&db_a)));
        // The old behaviour: a writer without a feed, and `Permissions` announced after it.
        let a_silent = directory(&db_a, None);
        let announcer = feed(&db_a);
        let b = directory(&db_b, Some(feed(&db_b)));
        b.follow_changes().expect("follow");
        // Let the feed's listener start: its first delivery is a gap that drops everything.
        tokio::time::sleep(Duration::from_millis(500)).await;

        let t = Instant::now();
        b.has_permission("u0", "g1", "ro")
            .await
            .expect("first check");
        let build = t.elapsed();
        eprintln!("follow bench: B's first check (matrix built) took {build:.1?}");

        let mut out = [Figures::default(), Figures::default()];
        for (way, figures) in out.iter_mut().enumerate() {
            for i in 0..writes {
                // A user spread over the range, a group it holds nothing on.
                let u = (i * 2 + way as u64) * (users / (2 * writes)).max(1) % users;
                let login = format!("u{u}");
                // A group the user holds nothing on (not even through a company); checking it
                // makes B's matrix and this user's row current before the write.
                let mut k = PER + i;
                let group = loop {
                    let group = format!("g{}", user_group(u, k, groups));
                    if !b.has_permission(&login, &group, "rw").await.expect("check") {
                        break group;
                    }
                    k += writes;
                };
                let start = if way == 0 {
                    a.grant_user(&login, &group, &["rw"], "1")
                        .await
                        .expect("grant");
                    Instant::now()
                } else {
                    a_silent
                        .grant_user(&login, &group, &["rw"], "1")
                        .await
                        .expect("grant");
                    announcer
                        .publish(&Change::Permissions)
                        .await
                        .expect("announce");
                    Instant::now()
                };
                let (latency, slowest, checks) = until_granted(&b, &login, &group, start).await;
                figures.latency.push(latency);
                figures.slowest.push(slowest);
                figures.checks += checks;
            }
            eprintln!(
                "follow bench: {}: median {} to B's first correct answer, slowest check {}",
                ["rows", "rebuild"][way],
                ms(median(&figures.latency)),
                ms(max(&figures.slowest))
            );
        }
        let stats = b.permission_matrix_stats();
        eprintln!("follow bench: B's matrix: {stats:?}");
        drop((a, a_silent, b, announcer));
        let _ = db_a.connection().close_by_ref().await;
        let _ = db_b.connection().close_by_ref().await;
        exec(
            &admin,
            &format!("DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"),
        )
        .await;
        let _ = admin.close().await;
        let [rows, rebuild] = out;
        (rows, rebuild, build)
    });

    println!(
        "\nA grant on instance A seen by instance B: {users} users, {} direct grants, \
         PostgreSQL NOTIFY, {writes} writes per way (B's first build took {})\n",
        users * PER,
        ms(build)
    );
    println!(
        "| way | median latency | max latency | median slowest check | slowest check | checks |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, f) in [
        ("rows (UserGrants, reload one user)", &rows),
        ("rebuild (Permissions)", &rebuild),
    ] {
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            ms(median(&f.latency)),
            ms(max(&f.latency)),
            ms(median(&f.slowest)),
            ms(max(&f.slowest)),
            f.checks
        );
    }
}
