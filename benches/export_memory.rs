//! Memory of `clientele export users` and `clientele export all` as the directory grows: fills
//! a SQLite file with N generated users through the bulk writer
//! (`DbBackend::import_customer_users`, the path behind `clientele import`), then runs the
//! release-built `clientele export users` (CSV) and `clientele export all` (JSON Lines) on it
//! under `/usr/bin/time` and reports each export's maximum resident set size.
//!
//! ```sh
//! cargo build --release -p clientele-cli
//! cargo bench --bench export_memory
//! ```
//!
//! * `CLIENTELE_EXPORT_USERS` — the sizes, comma-separated (default `100000,1000000`).
//! * `CLIENTELE_BIN` — the binary (default `$CARGO_TARGET_DIR/release/clientele`, else
//!   `target/release/clientele`).
//!
//! A measuring program, not a criterion bench: the figure is one process's peak memory.

#[path = "support/gen.rs"]
mod datagen;

use std::path::PathBuf;
use std::process::Command;

use clientele::db::{DbBackend, DbConfig, ImportRow};
use clientele::model::{AttributeValue, CustomerUser, EmailCheck, NewCustomerUser, Rules, keys};

const SEED: u64 = 20_251_207;
/// Users generated and written at a time.
const SLICE: usize = 100_000;

fn record(rules: &Rules<'_>, i: usize) -> CustomerUser {
    let u = datagen::user(SEED, i);
    NewCustomerUser::new(
        &u.login,
        u.first_name,
        u.last_name,
        &u.email,
        &u.customer_id,
    )
    .with(keys::PHONE, u.phone.as_str())
    .with(keys::CITY, u.city)
    .with(keys::VALID, AttributeValue::Integer(i64::from(u.valid_id)))
    .validate(rules)
    .expect("generated users are valid")
}

fn binary() -> PathBuf {
    if let Ok(bin) = std::env::var("CLIENTELE_BIN") {
        return bin.into();
    }
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    PathBuf::from(target).join("release").join("clientele")
}

/// A SQLite file with `n` users, written in slices through the bulk writer.
async fn fill(file: &std::path::Path, n: usize) {
    let url = format!("sqlite://{}?mode=rwc", file.display());
    let mut config = DbConfig::default();
    config.settings.cache_ttl = 0;
    // No email check: the generator's addresses are at `.example` domains, and the check is
    // not what is measured.
    config.settings.email_unique_check = false;
    let map = config.settings.map.clone();
    let db = DbBackend::connect(&url, config).await.expect("connect");
    clientele::db::migrate(db.connection())
        .await
        .expect("migrate");
    let email = EmailCheck::disabled();
    let rules = Rules {
        map: &map,
        email: &email,
    };
    let mut start = 0;
    while start < n {
        let end = (start + SLICE).min(n);
        let rows: Vec<ImportRow> = (start..end)
            .map(|i| ImportRow::new(record(&rules, i)))
            .collect();
        let report = db
            .import_customer_users(&rows, &clientele::model::Actor::System)
            .await
            .expect("import");
        assert_eq!(report.inserted, end - start, "every generated user is new");
        start = end;
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::var("CLIENTELE_EXPORT_USERS")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .map(|s| {
            s.trim()
                .replace('_', "")
                .parse()
                .expect("a number of users")
        })
        .collect();
    let bin = binary();
    assert!(
        bin.exists(),
        "{} is missing: cargo build --release -p clientele-cli",
        bin.display()
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut results = Vec::new();
    for n in sizes {
        let dir = tempfile::tempdir().expect("temporary directory");
        let db = dir.path().join("clientele.sqlite");
        runtime.block_on(fill(&db, n));
        let config = dir.path().join("clientele.toml");
        std::fs::write(
            &config,
            format!(
                "[[customer_user]]\ntype = \"db\"\nurl = \"sqlite://{}?mode=rwc\"\n",
                db.display()
            ),
        )
        .expect("write the configuration");
        let users = measure(&bin, &config, "users", &dir.path().join("users.csv"));
        let lines = std::fs::read_to_string(dir.path().join("users.csv"))
            .expect("the export")
            .lines()
            .count();
        assert_eq!(lines, n + 1, "a header and every user");
        let all = measure(&bin, &config, "all", &dir.path().join("all.jsonl"));
        for (what, (kib, elapsed)) in [("users", users), ("all", all)] {
            eprintln!(
                "{n} users, export {what}: max RSS {:.1} MiB, {elapsed:.2?}",
                kib as f64 / 1024.0
            );
        }
        results.push((n, users, all));
    }
    println!("\n| users | `export users` max RSS | time | `export all` max RSS | time |");
    println!("|---:|---:|---:|---:|---:|");
    for (n, (ukib, utime), (akib, atime)) in &results {
        println!(
            "| {n} | {:.1} MiB | {utime:.2?} | {:.1} MiB | {atime:.2?} |",
            *ukib as f64 / 1024.0,
            *akib as f64 / 1024.0
        );
    }
}

/// Runs `clientele export <what> <out>` under `/usr/bin/time`: its maximum resident set size
/// in KiB and how long it took.
fn measure(
    bin: &std::path::Path,
    config: &std::path::Path,
    what: &str,
    out: &std::path::Path,
) -> (u64, std::time::Duration) {
    let started = std::time::Instant::now();
    let run = Command::new("/usr/bin/time")
        .args(["-f", "maxrss_kib=%M"])
        .arg(bin)
        .arg("--config")
        .arg(config)
        .args(["export", what])
        .arg(out)
        .output()
        .expect("/usr/bin/time (GNU time) runs the export");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "the export of {what} failed: {stderr}"
    );
    let kib: u64 = stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kib="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maximum RSS in: {stderr}"));
    (kib, elapsed)
}
