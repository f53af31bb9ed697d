//! Bulk import on PostgreSQL: `DbBackend::import_customer_users` (the path behind
//! `clientele import`) against PostgreSQL's own `COPY … FROM STDIN` of the same users as CSV —
//! the physical limit — each into an identical, empty, migrated `customer_user` table.
//!
//! ```sh
//! cargo bench --bench import --features postgres
//! ```
//!
//! Environment:
//! * `CLIENTELE_BENCH_POSTGRES_URL` — server (default `postgres://postgres@127.0.0.1:5432`);
//!   the benchmark creates the database `clientele_bench_import` on it and drops it at the end.
//! * `CLIENTELE_BENCH_IMPORT_USERS` — how many users (default 1 000 000).
//! * `CLIENTELE_BENCH_IMPORT_RUNS` — how many times each side runs (default 3; the median is
//!   reported).
//!
//! `COPY` runs through `psql -c "\copy …"` (so `psql` must be on the `PATH`): the CSV is written
//! to a temporary file first and only the `psql` process is timed. The import side is timed
//! around `import_customer_users` calls alone; generating and validating the records (done in
//! slices of 100 000 to bound memory) is timed separately and printed. Both tables carry the
//! indexes of Clientele's migration (unique `login` and `lower(login)`, `lower(email)`, …).
//! Each run starts from an empty table (`TRUNCATE`).

#[path = "support/gen.rs"]
mod datagen;

use std::io::Write;
use std::time::{Duration, Instant};

use clientele::db::sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use clientele::db::{DbBackend, DbConfig, ImportRow};
use clientele::model::{
    AttributeMap, AttributeValue, CustomerUser, EmailCheck, NewCustomerUser, Rules, keys,
};

const SEED: u64 = 20_251_127;
const DB_NAME: &str = "clientele_bench_import";
/// Users generated, validated and imported at a time.
const SLICE: usize = 100_000;
/// The audit values both sides write.
const AUDIT_TIME: &str = "2025-01-01 00:00:00";

fn server() -> String {
    std::env::var("CLIENTELE_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_owned()
}

fn env_usize(name: &str, default: usize) -> usize {
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

async fn count(conn: &DatabaseConnection, table: &str) -> i64 {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            format!("SELECT COUNT(*) FROM {table}"),
        ))
        .await
        .expect("count")
        .expect("one row");
    row.try_get_by_index::<i64>(0).expect("count")
}

/// Generated user `i` as a validated record, as `clientele import` would build it.
fn record(rules: &Rules<'_>, i: usize) -> CustomerUser {
    let u = datagen::user(SEED, i);
    let mut new = NewCustomerUser::new(
        &u.login,
        u.first_name,
        u.last_name,
        &u.email,
        &u.customer_id,
    )
    .with(keys::PHONE, u.phone.as_str())
    .with(keys::CITY, u.city)
    .with(keys::VALID, AttributeValue::Integer(i64::from(u.valid_id)));
    if let Some(t) = u.title {
        new = new.with(keys::TITLE, t);
    }
    new.validate(rules).expect("generated users are valid")
}

/// The CSV `COPY` reads: the generator's columns plus the audit columns the import writes.
fn write_csv(path: &std::path::Path, n: usize) {
    let f = std::fs::File::create(path).expect("create CSV");
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    for i in 0..n {
        let u = datagen::user(SEED, i);
        writeln!(
            w,
            "{},{AUDIT_TIME},1,{AUDIT_TIME},1",
            datagen::csv_fields(&u)
        )
        .expect("write CSV");
    }
    w.flush().expect("write CSV");
}

fn copy(path: &std::path::Path) -> Duration {
    let sql = format!(
        "\\copy copy_customer_user (login, email, customer_id, title, first_name, last_name, \
         phone, city, valid_id, create_time, create_by, change_time, change_by) FROM '{}' \
         WITH (FORMAT csv)",
        path.display()
    );
    let t = Instant::now();
    let out = std::process::Command::new("psql")
        .arg(format!("{}/{DB_NAME}", server()))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", &sql])
        .output()
        .expect("psql on the PATH");
    let elapsed = t.elapsed();
    assert!(
        out.status.success(),
        "psql \\copy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

/// One import of users `0..n` through the bulk path: (time inside `import_customer_users`,
/// time generating and validating the records).
async fn import(db: &DbBackend, n: usize) -> (Duration, Duration) {
    let map = AttributeMap::otobo_customer_user();
    let email = EmailCheck::default();
    let rules = Rules {
        map: &map,
        email: &email,
    };
    let mut in_import = Duration::ZERO;
    let mut preparing = Duration::ZERO;
    let mut start = 0;
    while start < n {
        let end = (start + SLICE).min(n);
        let t = Instant::now();
        let rows: Vec<ImportRow> = (start..end)
            .map(|i| ImportRow::new(record(&rules, i)))
            .collect();
        preparing += t.elapsed();
        let t = Instant::now();
        let report = db
            .import_customer_users(&rows, &"1".into())
            .await
            .expect("import");
        in_import += t.elapsed();
        assert!(
            report.rejected.is_empty(),
            "generated users are unique: {:?}",
            report.rejected.first()
        );
        assert_eq!(report.inserted, end - start);
        start = end;
    }
    (in_import, preparing)
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let n = env_usize("CLIENTELE_BENCH_IMPORT_USERS", 1_000_000);
    let runs = env_usize("CLIENTELE_BENCH_IMPORT_RUNS", 3).max(1);
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let csv = std::env::temp_dir().join(format!("clientele_import_{}.csv", std::process::id()));

    let (copies, imports, preparing) = rt.block_on(async {
        let admin = Database::connect(format!("{}/postgres", server()))
            .await
            .expect("PostgreSQL reachable (scripts/test.sh starts it)");
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
        let mut config = DbConfig::default();
        config.settings.cache_ttl = 0;
        let db = DbBackend::connect(&format!("{}/{DB_NAME}", server()), config)
            .await
            .expect("connect");
        let conn = db.connection().clone();
        clientele::db::migrate(&conn).await.expect("migrate");
        // The same table, indexes and defaults, for COPY.
        exec(
            &conn,
            "CREATE TABLE copy_customer_user (LIKE customer_user INCLUDING ALL)",
        )
        .await;

        let t = Instant::now();
        write_csv(&csv, n);
        eprintln!(
            "import bench: {n} users written as CSV in {:.1?}",
            t.elapsed()
        );

        let mut copies = Vec::new();
        let mut imports = Vec::new();
        let mut preparing = Vec::new();
        for run in 1..=runs {
            exec(&conn, "TRUNCATE copy_customer_user").await;
            exec(&conn, "CHECKPOINT").await;
            let c = copy(&csv);
            assert_eq!(count(&conn, "copy_customer_user").await, n as i64);

            exec(&conn, "TRUNCATE customer_user").await;
            exec(&conn, "CHECKPOINT").await;
            let (i, p) = import(&db, n).await;
            assert_eq!(count(&conn, "customer_user").await, n as i64);
            eprintln!(
                "import bench: run {run}/{runs}: COPY {c:.2?}, import {i:.2?} ({:.2}×), \
                 records built in {p:.2?}",
                i.as_secs_f64() / c.as_secs_f64()
            );
            copies.push(c);
            imports.push(i);
            preparing.push(p);
        }
        drop(db);
        let _ = conn.close().await;
        exec(
            &admin,
            &format!("DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"),
        )
        .await;
        let _ = admin.close().await;
        (copies, imports, preparing)
    });
    let _ = std::fs::remove_file(&csv);

    let (c, i, p) = (median(&copies), median(&imports), median(&preparing));
    println!("\nImport of {n} customer users into PostgreSQL (median of {runs} runs)\n");
    println!("| path | time | rows/s | vs COPY |");
    println!("|---|---:|---:|---:|");
    println!(
        "| `COPY … FROM STDIN` (psql `\\copy`, CSV) | {c:.2?} | {:.0} | 1.00× |",
        n as f64 / c.as_secs_f64()
    );
    println!(
        "| `DbBackend::import_customer_users` | {i:.2?} | {:.0} | {:.2}× |",
        n as f64 / i.as_secs_f64(),
        i.as_secs_f64() / c.as_secs_f64()
    );
    println!("\nBuilding and validating the records for the import (not in its time): {p:.2?}");
}
