//! Servers failing under the Directory.
//!
//! * `postgres_restart_during_writes`: a throwaway PostgreSQL instance of this test's own
//!   (`initdb` into a temporary directory, a free loopback port; never the shared server) is
//!   stopped with `pg_ctl stop -m fast` while a task adds users in a loop, kept down for a
//!   moment and started again. Adds fail with a retryable outage error (`Unavailable` or
//!   `Timeout`) while it is down, succeed again through the same Directory afterwards, and
//!   every acknowledged add is in the database. The instance is stopped and removed at the end,
//!   also when the test fails (a drop guard).
//! * `hanging_server_is_cut_by_the_timeout`: a loopback listener that accepts connections and
//!   never answers stands in for a hung PostgreSQL; connecting fails with `Timeout` or
//!   `Unavailable` within a generous bound of the configured timeouts instead of hanging.
//!
//! slapd killed and restarted (LDAP users unavailable then back, DB users served throughout) is
//! tested in `crates/ldap/tests/slapd/` (the outage tests); it is not repeated here.
#![cfg(feature = "postgres")]

use std::time::{Duration, Instant};

#[cfg(feature = "postgres")]
use clientele::DbConfig;

#[cfg(feature = "postgres")]
mod throwaway {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// A PostgreSQL instance in a temporary directory, stopped and removed on drop.
    pub struct Pg {
        pub port: u16,
        bin: PathBuf,
        data: PathBuf,
        dir: PathBuf,
        log: PathBuf,
    }

    fn bin_dir() -> PathBuf {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL binaries under /usr/lib/postgresql (run scripts/test.sh)")
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
            .collect();
        found.sort();
        found
            .pop()
            .expect("no initdb/pg_ctl under /usr/lib/postgresql/*/bin")
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port()
    }

    /// Runs a PostgreSQL binary as the `postgres` OS user (initdb refuses root).
    fn as_postgres(bin: &Path, args: &[&str]) -> std::process::Output {
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("runuser {}: {e}", bin.display()));
        assert!(
            out.status.success(),
            "{} {args:?} failed: {}{}",
            bin.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    impl Pg {
        /// `initdb` and start; panics (fails the test) when that is not possible.
        pub fn start() -> Pg {
            let bin = bin_dir();
            let dir = std::env::temp_dir().join(format!(
                "clientele-pg-{}-{}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos()
            ));
            std::fs::create_dir_all(&dir).expect("temporary directory");
            let status = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(status.success(), "chown postgres {}", dir.display());
            let data = dir.join("data");
            let log = dir.join("server.log");
            let pg = Pg {
                port: free_port(),
                bin,
                data,
                dir,
                log,
            };
            as_postgres(
                &pg.bin.join("initdb"),
                &[
                    "-D",
                    pg.data.to_str().unwrap(),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
            );
            pg.ctl_start();
            pg
        }

        pub fn url(&self) -> String {
            format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
        }

        pub fn ctl_start(&self) {
            let opts = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                self.port,
                self.dir.display()
            );
            as_postgres(
                &self.bin.join("pg_ctl"),
                &[
                    "-D",
                    self.data.to_str().unwrap(),
                    "-l",
                    self.log.to_str().unwrap(),
                    "-o",
                    &opts,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            );
        }

        pub fn ctl_stop_fast(&self) {
            as_postgres(
                &self.bin.join("pg_ctl"),
                &[
                    "-D",
                    self.data.to_str().unwrap(),
                    "-m",
                    "fast",
                    "-w",
                    "-t",
                    "60",
                    "stop",
                ],
            );
        }
    }

    impl Drop for Pg {
        fn drop(&mut self) {
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"))
                .args(["-D", self.data.to_str().unwrap(), "-m", "immediate", "-w"])
                .arg("stop")
                .output();
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

#[cfg(feature = "postgres")]
fn fault_config() -> DbConfig {
    let mut config = DbConfig::default();
    config.settings.name = "db".into();
    config.company_settings.name = "db-companies".into();
    config.max_connections = 4;
    config.acquire_timeout_ms = 2_000;
    config.connect_timeout_ms = 2_000;
    config
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn postgres_restart_during_writes() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use clientele::backend::password::{Argon2Params, PasswordConfig};
    use clientele::db::sea_orm::{ConnectionTrait, Statement};
    use clientele::model::{NewCustomerCompany, NewCustomerUser, Password};
    use clientele::{DbBackend, Directory, DirectoryConfig};

    let pg = throwaway::Pg::start();
    let db = Arc::new(
        DbBackend::connect(&pg.url(), fault_config())
            .await
            .expect("connect to the throwaway instance"),
    );
    clientele::db::migrate(db.connection())
        .await
        .expect("migrate");
    let dir = Arc::new(
        Directory::builder()
            .writable_source(db.clone())
            .company_store(db.clone())
            .relation_store(db.clone())
            .preference_store(db.clone())
            .config(DirectoryConfig {
                passwords: PasswordConfig {
                    argon2: Argon2Params {
                        memory_kib: 1024,
                        iterations: 1,
                        parallelism: 1,
                    },
                    ..PasswordConfig::default()
                },
                ..DirectoryConfig::default()
            })
            .build()
            .expect("directory"),
    );
    dir.add_company(NewCustomerCompany::new("ACME", "Acme"), "t")
        .await
        .expect("company");

    // The write load: one add after another, each login new; outcome and time of each.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (dir, stop) = (dir.clone(), stop.clone());
        tokio::spawn(async move {
            let started = Instant::now();
            let mut outcomes = Vec::new();
            let mut i = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let login = format!("w{i}");
                let new = NewCustomerUser::new(
                    &login,
                    "W",
                    "Load",
                    &format!("{login}@acme-corp.com"),
                    "ACME",
                )
                .password(Password::new("pw"));
                let r = dir.add_customer_user(new, "t").await.map(|_| ());
                outcomes.push((started.elapsed(), login, r));
                i += 1;
                if i > 100_000 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            outcomes
        })
    };

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let down_at = Instant::now();
    let pg = tokio::task::spawn_blocking(move || {
        pg.ctl_stop_fast();
        // Longer than twice the acquire timeout: an add waiting for a connection cannot span
        // the whole outage and succeed, so at least one add must see it.
        std::thread::sleep(Duration::from_millis(5_000));
        pg.ctl_start();
        pg
    })
    .await
    .expect("restart");
    let outage = down_at.elapsed();
    // Keep writing for a while after the restart, then stop the load.
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop.store(true, Ordering::SeqCst);
    let outcomes = load.await.expect("load task");

    let failures: Vec<_> = outcomes.iter().filter(|o| o.2.is_err()).collect();
    let acked: Vec<&String> = outcomes
        .iter()
        .filter(|o| o.2.is_ok())
        .map(|o| &o.1)
        .collect();
    for (_, login, r) in &failures {
        let e = r.as_ref().unwrap_err();
        assert!(
            e.is_outage() && e.is_retryable(),
            "add {login} failed with a non-outage error during the restart: {e:?}"
        );
    }
    assert!(
        !failures.is_empty(),
        "no add failed while PostgreSQL was down"
    );
    let first_fail = failures.first().unwrap().0;
    let last_fail = failures.last().unwrap().0;
    let recovered = outcomes
        .iter()
        .skip_while(|o| o.0 <= last_fail)
        .filter(|o| o.2.is_ok())
        .count();
    assert!(
        recovered >= 10,
        "only {recovered} adds succeeded after the restart"
    );
    assert!(
        outcomes.last().unwrap().2.is_ok(),
        "the last add failed: the same Directory did not recover"
    );

    // Every acknowledged add is in the database.
    let conn = db.connection();
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT login FROM customer_user".to_owned(),
        ))
        .await
        .expect("read back");
    let stored: std::collections::HashSet<String> = rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    let missing: Vec<&&String> = acked.iter().filter(|l| !stored.contains(**l)).collect();
    assert!(missing.is_empty(), "acknowledged adds missing: {missing:?}");
    let kinds: std::collections::BTreeMap<String, usize> =
        failures.iter().fold(Default::default(), |mut m, o| {
            let e = o.2.as_ref().unwrap_err();
            let k = format!("{e:?}")
                .split([' ', '{', '('])
                .next()
                .unwrap()
                .to_owned();
            *m.entry(k).or_default() += 1;
            m
        });
    println!(
        "faults postgres restart: {} adds, {} acknowledged (all present), {} failed {kinds:?} \
         between {:.2} s and {:.2} s of the load; server down-and-up took {:.2} s; {recovered} \
         adds succeeded afterwards through the same Directory",
        outcomes.len(),
        acked.len(),
        failures.len(),
        first_fail.as_secs_f64(),
        last_fail.as_secs_f64(),
        outage.as_secs_f64(),
    );
    drop(dir);
    let _ = db.connection().close_by_ref().await;
    drop(pg);
}

/// Accepts TCP connections on loopback and never writes a byte: a server that hangs.
fn hanging_listener() -> (u16, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            match listener.accept() {
                Ok((s, _)) => held.push(s),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
            if held.len() > 64 {
                break;
            }
        }
    });
    (port, handle)
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_server_is_cut_by_the_timeout() {
    let (port, _listener) = hanging_listener();
    let mut config = fault_config();
    config.connect_timeout_ms = 1_000;
    config.acquire_timeout_ms = 1_000;
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    let started = Instant::now();
    let r = tokio::time::timeout(
        Duration::from_secs(30),
        clientele::DbBackend::connect(&url, config),
    )
    .await
    .expect("connect to a hanging server was not cut by the configured timeout");
    let took = started.elapsed();
    let e = r.expect_err("a server that never answers cannot be connected to");
    assert!(
        e.is_outage() && e.is_retryable(),
        "not classified as an outage: {e:?}"
    );
    // Generous: the configured timeout is 1 s; this is a bound, not a measurement.
    assert!(took < Duration::from_secs(15), "took {took:?}");
    println!(
        "faults hanging server: connect failed after {:.2} s with {e}",
        took.as_secs_f64()
    );
}
