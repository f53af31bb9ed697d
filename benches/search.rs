//! Search at scale on PostgreSQL: Clientele's search (`DbBackend::search`, the statement the
//! backend builds, over the opt-in `enable_search_indexes`) side by side with **the SQL OTOBO
//! issues for the same term** (reference §3.2/§4), on the same generated users; plus a cached
//! vs uncached lookup by login through the Directory.
//!
//! ```sh
//! cargo bench --bench search --features postgres
//! ```
//!
//! Environment:
//! * `CLIENTELE_BENCH_POSTGRES_URL` — server (default `postgres://postgres@127.0.0.1:5432`);
//!   the benchmark creates the database `clientele_bench` on it.
//! * `CLIENTELE_BENCH_USERS` — how many users (default 1 000 000).
//! * `CLIENTELE_BENCH_KEEP=1` — keep `clientele_bench` afterwards; a later run with the same
//!   number of users reuses it instead of generating again. Without it the database is dropped
//!   at the end.
//!
//! OTOBO's statements run twice: on `otobo_customer_user`, a copy of the same rows with only
//! the indexes of OTOBO's own schema (what an OTOBO installation runs), and on `customer_user`
//! with Clientele's indexes (to show what the query shape alone gives). The ratio printed is
//! OTOBO-on-its-schema / Clientele.

#[path = "support/gen.rs"]
mod datagen;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clientele::backend::{CustomerUserSource, Directory};
use clientele::db::sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend as Engine, Statement, Value,
};
use clientele::db::{DbBackend, DbConfig};
use clientele::model::search::{Expr, FieldSet, Pattern, SearchSyntax, UserQuery, parse_term};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

const SEED: u64 = 20_251_127;
const DB_NAME: &str = "clientele_bench";

fn server() -> String {
    std::env::var("CLIENTELE_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_owned()
}

fn users() -> usize {
    std::env::var("CLIENTELE_BENCH_USERS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(1_000_000)
}

fn keep() -> bool {
    std::env::var("CLIENTELE_BENCH_KEEP").is_ok_and(|v| v == "1")
}

async fn exec(conn: &DatabaseConnection, sql: &str) {
    conn.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn scalar_i64(conn: &DatabaseConnection, sql: &str) -> Option<i64> {
    let row = conn
        .query_one_raw(Statement::from_string(Engine::Postgres, sql.to_owned()))
        .await
        .ok()??;
    row.try_get_by_index::<i64>(0).ok()
}

/// `clientele_bench` with `n` users, generated unless a kept database already holds them.
async fn prepare(n: usize) -> DatabaseConnection {
    let admin = Database::connect(format!("{}/postgres", server()))
        .await
        .expect("PostgreSQL reachable (scripts/test.sh starts it)");
    let url = format!("{}/{DB_NAME}", server());
    // The pool DbBackend::connect would open (its PostgreSQL session settings included); both
    // sides' statements run on it.
    let options = || clientele::db::connect_options(&url, &DbConfig::default());
    if let Ok(conn) = Database::connect(options()).await {
        let have = scalar_i64(&conn, "SELECT n FROM clientele_bench_meta").await;
        let seed = scalar_i64(&conn, "SELECT seed FROM clientele_bench_meta").await;
        if have == Some(n as i64) && seed == Some(SEED as i64) {
            eprintln!("search bench: reusing {DB_NAME} with {n} users");
            return conn;
        }
        let _ = conn.close().await;
    }
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
    let conn = Database::connect(options())
        .await
        .expect("connect clientele_bench");
    clientele::db::migrate(&conn).await.expect("migrate");

    let t = Instant::now();
    datagen::load(&conn, SEED, n).await.expect("load users");
    eprintln!("search bench: {n} users loaded in {:.1?}", t.elapsed());

    let t = Instant::now();
    clientele::db::enable_search_indexes(&conn)
        .await
        .expect("search indexes");
    eprintln!("search bench: search indexes built in {:.1?}", t.elapsed());

    // OTOBO's schema: the same rows, only OTOBO's own index on customer_user (unique login).
    let t = Instant::now();
    exec(
        &conn,
        "CREATE TABLE otobo_customer_user AS SELECT * FROM customer_user",
    )
    .await;
    exec(
        &conn,
        "CREATE UNIQUE INDEX otobo_customer_user_login ON otobo_customer_user (login)",
    )
    .await;
    exec(&conn, "ANALYZE customer_user").await;
    exec(&conn, "ANALYZE otobo_customer_user").await;
    exec(
        &conn,
        &format!(
            "CREATE TABLE clientele_bench_meta AS SELECT {n}::bigint AS n, {SEED}::bigint AS seed"
        ),
    )
    .await;
    eprintln!(
        "search bench: OTOBO copy and ANALYZE in {:.1?}",
        t.elapsed()
    );
    let _ = admin.close().await;
    conn
}

async fn drop_database() {
    let admin = Database::connect(format!("{}/postgres", server()))
        .await
        .expect("PostgreSQL reachable");
    exec(
        &admin,
        &format!("DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"),
    )
    .await;
    let _ = admin.close().await;
}

/// One search case: Clientele's query and OTOBO's statement with its bound values.
struct Case {
    name: &'static str,
    query: UserQuery,
    otobo_where: String,
    otobo_values: Vec<String>,
}

fn syntax(prefix: &str, suffix: &str) -> SearchSyntax {
    SearchSyntax {
        prefix: prefix.into(),
        suffix: suffix.into(),
        ..SearchSyntax::default()
    }
}

fn user_query(fields: FieldSet, expr: Expr) -> UserQuery {
    UserQuery {
        fields,
        expr,
        valid_only: true,
        limit: 250,
        case_sensitive: false,
    }
}

/// OTOBO `QueryCondition` for one word over the four default search fields
/// (`SearchCaseSensitive` 0 on PostgreSQL: `LOWER(col) LIKE LOWER(?)`, bound).
fn otobo_search_fields() -> String {
    "((LOWER(login) LIKE LOWER($1) OR LOWER(first_name) LIKE LOWER($1) \
     OR LOWER(last_name) LIKE LOWER($1) OR LOWER(customer_id) LIKE LOWER($1)))"
        .to_owned()
}

fn cases(n: usize) -> Vec<Case> {
    let fields = FieldSet::SearchFields {
        exclude_customer_id: false,
    };
    let email = datagen::user(SEED, n * 2 / 3).email;
    let customer = datagen::company_id(n / datagen::USERS_PER_COMPANY / 3);
    // `globex-0012` → `globex-001*`: ten companies.
    let customer_wildcard = format!("{}*", &customer[..customer.len() - 1]);
    vec![
        Case {
            name: "rare substring *98765*",
            query: user_query(
                fields,
                parse_term("98765", &SearchSyntax::default()).unwrap(),
            ),
            otobo_where: otobo_search_fields(),
            otobo_values: vec!["%98765%".into()],
        },
        Case {
            name: "common substring *ann* (limit 250)",
            query: user_query(fields, parse_term("ann", &SearchSyntax::default()).unwrap()),
            otobo_where: otobo_search_fields(),
            otobo_values: vec!["%ann%".into()],
        },
        Case {
            name: "prefix smi* (prefix '')",
            query: user_query(fields, parse_term("smi", &syntax("", "*")).unwrap()),
            otobo_where: otobo_search_fields(),
            otobo_values: vec!["smi%".into()],
        },
        Case {
            name: "exact email (postmaster)",
            query: user_query(
                FieldSet::PostmasterFields,
                Expr::Match(Pattern::exact(email.clone())),
            ),
            // OTOBO PostMasterSearch: `LOWER(email) = LOWER(?)` per postmaster field.
            otobo_where: "LOWER(email) = LOWER($1)".into(),
            otobo_values: vec![email],
        },
        Case {
            name: "customer-id wildcard",
            query: user_query(
                FieldSet::CustomerId,
                Expr::Match(Pattern::from_wildcards(&customer_wildcard)),
            ),
            // OTOBO CustomerID: `*` → `%`, no implicit wrap.
            otobo_where: "LOWER(customer_id) LIKE LOWER($1)".into(),
            otobo_values: vec![customer_wildcard.replace('*', "%")],
        },
    ]
}

/// OTOBO's statement (`CustomerSearch`: key + list fields, validity, `Prepare(Limit => 250)`).
fn otobo_statement(table: &str, case: &Case) -> Statement {
    Statement::from_sql_and_values(
        Engine::Postgres,
        format!(
            "SELECT login, first_name, last_name, email FROM {table} WHERE {} AND valid_id IN (1) LIMIT 250",
            case.otobo_where
        ),
        case.otobo_values
            .iter()
            .map(|v| Value::from(v.clone()))
            .collect::<Vec<_>>(),
    )
}

/// Per-iteration times of every sample, by benchmark id, for the medians printed at the end.
type Samples = Arc<Mutex<BTreeMap<String, Vec<Duration>>>>;

fn record(samples: &Samples, id: &str, iters: u64, total: Duration) {
    samples
        .lock()
        .unwrap()
        .entry(id.to_owned())
        .or_default()
        .push(total / iters.max(1) as u32);
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    if v.is_empty() {
        Duration::ZERO
    } else {
        v[v.len() / 2]
    }
}

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");
    let n = users();
    let conn = rt.block_on(prepare(n));
    let mut config = DbConfig::default();
    config.settings.cache_ttl = 0;
    let db = Arc::new(
        DbBackend::from_connection(conn.clone(), config).expect("backend over clientele_bench"),
    );
    let samples: Samples = Arc::default();

    for case in cases(n) {
        // Row counts first: the cases are only comparable if both find the same users.
        let ours = rt
            .block_on(db.search(&case.query))
            .expect("clientele search");
        let theirs = rt
            .block_on(conn.query_all_raw(otobo_statement("otobo_customer_user", &case)))
            .expect("otobo query");
        eprintln!(
            "search bench: {:<36} clientele {:>3} rows, OTOBO {:>3} rows",
            case.name,
            ours.len(),
            theirs.len()
        );

        let mut g = c.benchmark_group(case.name);
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
        let id = format!("{}/clientele", case.name);
        g.bench_function("clientele", |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    rt.block_on(db.search(&case.query)).unwrap();
                }
                let e = t.elapsed();
                record(&samples, &id, iters, e);
                e
            })
        });
        for (label, table) in [
            ("otobo", "otobo_customer_user"),
            ("otobo-sql-on-clientele-indexes", "customer_user"),
        ] {
            let id = format!("{}/{label}", case.name);
            let stmt = otobo_statement(table, &case);
            g.bench_function(label, |b| {
                b.iter_custom(|iters| {
                    let t = Instant::now();
                    for _ in 0..iters {
                        rt.block_on(conn.query_all_raw(stmt.clone())).unwrap();
                    }
                    let e = t.elapsed();
                    record(&samples, &id, iters, e);
                    e
                })
            });
        }
        g.finish();
    }

    // The Directory's hot path: a lookup by login, cached vs uncached.
    let login = datagen::user(SEED, n / 2).login;
    let uncached = Directory::builder()
        .writable_source(db.clone())
        .build()
        .expect("directory");
    let cached_db = Arc::new(
        DbBackend::from_connection(conn.clone(), DbConfig::default()).expect("cached backend"),
    );
    let cached = Directory::builder()
        .writable_source(cached_db)
        .build()
        .expect("directory");
    let mut g = c.benchmark_group("lookup by login");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for (label, dir) in [("uncached", &uncached), ("cached", &cached)] {
        let id = format!("lookup by login/{label}");
        g.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    assert!(rt.block_on(dir.customer_user(&login)).unwrap().is_some());
                }
                let e = t.elapsed();
                record(&samples, &id, iters, e);
                e
            })
        });
    }
    g.finish();

    // The table: medians per case and the ratio OTOBO / Clientele.
    let s = samples.lock().unwrap();
    let get = |id: &str| s.get(id).map(|v| median(v)).unwrap_or_default();
    println!("\nSearch on PostgreSQL, {n} customer users (median per call)\n");
    println!(
        "| case | Clientele | OTOBO SQL, OTOBO schema | ratio | OTOBO SQL, Clientele indexes |"
    );
    println!("|---|---:|---:|---:|---:|");
    for case in cases(n) {
        let ours = get(&format!("{}/clientele", case.name));
        let theirs = get(&format!("{}/otobo", case.name));
        let theirs_idx = get(&format!("{}/otobo-sql-on-clientele-indexes", case.name));
        println!(
            "| {} | {:.3?} | {:.3?} | {:.1}× | {:.3?} |",
            case.name,
            ours,
            theirs,
            theirs.as_secs_f64() / ours.as_secs_f64().max(1e-12),
            theirs_idx
        );
    }
    let un = get("lookup by login/uncached");
    let ca = get("lookup by login/cached");
    println!("\n| lookup by login | median |\n|---|---:|");
    println!("| uncached (PostgreSQL) | {un:.3?} |\n| cached (Directory) | {ca:.3?} |");
    println!(
        "| ratio | {:.0}× |",
        un.as_secs_f64() / ca.as_secs_f64().max(1e-12)
    );
    drop(s);

    drop(uncached);
    drop(cached);
    drop(db);
    rt.block_on(async {
        let _ = conn.close().await;
        if !keep() {
            drop_database().await;
        }
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
