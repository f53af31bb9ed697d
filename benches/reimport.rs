//! Re-import of unchanged rows against their first import, through the command itself: the
//! release-built `clientele import users` reads N generated users from a CSV file into an empty
//! database (every row added), then reads the same file again (every row unchanged). Printed:
//! the median of each, and the ratio re-import / import.
//!
//! ```sh
//! cargo build --release -p clientele-cli --features postgres
//! cargo bench --bench reimport
//! ```
//!
//! * `CLIENTELE_BENCH_REIMPORT_USERS` — how many users (default 100 000).
//! * `CLIENTELE_BENCH_REIMPORT_RUNS` — runs per database (default 3; medians reported). Each
//!   run starts from a new, empty database.
//! * `CLIENTELE_BENCH_REIMPORT_DBS` — `sqlite`, `postgres` or both (default `sqlite,postgres`).
//!   SQLite is a file in a temporary directory; PostgreSQL is the database
//!   `clientele_bench_reimport` on `CLIENTELE_BENCH_POSTGRES_URL` (default
//!   `postgres://postgres@127.0.0.1:5432`), created and dropped with `psql` for each run.
//! * `CLIENTELE_BIN` — the binary (default `$CARGO_TARGET_DIR/release/clientele`, else
//!   `target/release/clientele`); for PostgreSQL it needs the `postgres` feature.
//!
//! Only the two `import users` processes are timed (start to exit, as an administrator waits
//! for them); `clientele init` and the import of the users' companies, which every run needs
//! first, are not. A measuring program, not a criterion bench: each sample is one process.

#[path = "support/gen.rs"]
mod datagen;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const SEED: u64 = 20_251_207;
const PG_DB: &str = "clientele_bench_reimport";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn binary() -> PathBuf {
    if let Ok(bin) = std::env::var("CLIENTELE_BIN") {
        return bin.into();
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    PathBuf::from(target).join("release").join("clientele")
}

fn pg_server() -> String {
    std::env::var("CLIENTELE_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_owned()
}

fn psql(sql: &str) {
    let out = Command::new("psql")
        .arg(format!("{}/postgres", pg_server()))
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .expect("psql on the PATH");
    assert!(
        out.status.success(),
        "{sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The users CSV and the companies CSV their customer ids need.
fn write_inputs(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let users = dir.join("users.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&users).expect("users.csv"));
    writeln!(
        w,
        "login,email,customer_id,title,first_name,last_name,phone,city,valid_id"
    )
    .expect("write");
    let mut companies = std::collections::BTreeSet::new();
    for i in 0..n {
        let u = datagen::user(SEED, i);
        writeln!(w, "{}", datagen::csv_fields(&u)).expect("write");
        companies.insert(u.customer_id);
    }
    w.flush().expect("write");
    let companies_csv = dir.join("companies.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&companies_csv).expect("csv"));
    writeln!(w, "customer_id,name").expect("write");
    for id in companies {
        writeln!(w, "{id},Company {id}").expect("write");
    }
    w.flush().expect("write");
    (users, companies_csv)
}

/// Runs `clientele --config <config> --json <args>`: its JSON summary and how long it took.
fn clientele(config: &Path, args: &[&str]) -> (serde_json::Value, Duration) {
    let started = Instant::now();
    let out = Command::new(binary())
        .arg("--config")
        .arg(config)
        .arg("--json")
        .args(args)
        .output()
        .expect("the clientele binary runs");
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "clientele {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (summary, took)
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

/// One run on a new, empty database at `url`: (import, re-import).
fn run(dir: &Path, url: &str, users: &Path, companies: &Path, n: usize) -> (Duration, Duration) {
    let config = dir.join("clientele.toml");
    std::fs::write(
        &config,
        format!("[[customer_user]]\ntype = \"db\"\nurl = \"{url}\"\n"),
    )
    .expect("write the configuration");
    let users = users.to_str().expect("a UTF-8 path");
    clientele(&config, &["init"]);
    let (summary, _) = clientele(
        &config,
        &[
            "import",
            "companies",
            companies.to_str().expect("a UTF-8 path"),
        ],
    );
    assert_eq!(summary["failed"], 0, "companies: {summary}");
    let (first, import) = clientele(&config, &["import", "users", users]);
    assert_eq!(first["added"], n, "first import: {first}");
    let (again, reimport) = clientele(&config, &["import", "users", users]);
    assert_eq!(again["unchanged"], n, "re-import: {again}");
    (import, reimport)
}

fn main() {
    let n = env_usize("CLIENTELE_BENCH_REIMPORT_USERS", 100_000);
    let runs = env_usize("CLIENTELE_BENCH_REIMPORT_RUNS", 3).max(1);
    let dbs =
        std::env::var("CLIENTELE_BENCH_REIMPORT_DBS").unwrap_or_else(|_| "sqlite,postgres".into());
    let bin = binary();
    assert!(
        bin.exists(),
        "{} is missing: cargo build --release -p clientele-cli --features postgres",
        bin.display()
    );
    let inputs = tempfile::tempdir().expect("temporary directory");
    let (users, companies) = write_inputs(inputs.path(), n);
    let mut results = Vec::new();
    for db in dbs.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let mut imports = Vec::new();
        let mut reimports = Vec::new();
        for r in 1..=runs {
            let dir = tempfile::tempdir().expect("temporary directory");
            let (import, reimport) = match db {
                "sqlite" => {
                    let file = dir.path().join("clientele.sqlite");
                    let url = format!("sqlite://{}?mode=rwc", file.display());
                    run(dir.path(), &url, &users, &companies, n)
                }
                "postgres" => {
                    psql(&format!("DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"));
                    psql(&format!("CREATE DATABASE {PG_DB} ENCODING 'UTF8'"));
                    let url = format!("{}/{PG_DB}", pg_server());
                    let times = run(dir.path(), &url, &users, &companies, n);
                    psql(&format!("DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"));
                    times
                }
                other => panic!("unknown database {other:?}: sqlite or postgres"),
            };
            eprintln!(
                "{db} run {r}/{runs}: import {import:.2?}, re-import {reimport:.2?} ({:.2}×)",
                reimport.as_secs_f64() / import.as_secs_f64()
            );
            imports.push(import);
            reimports.push(reimport);
        }
        results.push((db.to_owned(), median(&imports), median(&reimports)));
    }
    println!("\n`clientele import users` of {n} users, median of {runs} runs\n");
    println!("| database | import (all new) | re-import (all unchanged) | re-import / import |");
    println!("|---|---:|---:|---:|");
    for (db, import, reimport) in results {
        println!(
            "| {db} | {import:.2?} | {reimport:.2?} | {:.2}× |",
            reimport.as_secs_f64() / import.as_secs_f64()
        );
    }
}
