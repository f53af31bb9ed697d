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
//! * `postgres_frozen_mid_query_is_cut_by_the_timeout`: a throwaway instance is frozen with
//!   `SIGSTOP` (the postmaster and every child process) while tasks read and write through one
//!   Directory. Queries already on the wire and new operations fail with a retryable outage
//!   error within a bound of the configured query timeout instead of hanging; after `SIGCONT`
//!   the same Directory works again and every acknowledged write is in the database. A drop
//!   guard sends `SIGCONT`, also when the test fails.
//!
//! slapd killed and restarted (LDAP users unavailable then back, DB users served throughout) is
//! tested in `crates/ldap/tests/slapd/` (the outage tests); it is not repeated here.
#![cfg(feature = "postgres")]

use std::time::{Duration, Instant};

#[cfg(feature = "postgres")]
use clientele::DbConfig;

#[cfg(feature = "postgres")]
#[path = "../crates/directory/tests/support/kat.rs"]
mod kat;

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

    /// The processes of a frozen instance; `SIGCONT` to all of them on drop.
    pub struct Frozen {
        pids: Vec<u32>,
        thawed: bool,
    }

    fn signal(sig: &str, pids: &[u32]) -> std::process::ExitStatus {
        Command::new("kill")
            .arg(format!("-{sig}"))
            .args(pids.iter().map(|p| p.to_string()))
            .status()
            .unwrap_or_else(|e| panic!("kill -{sig}: {e}"))
    }

    /// Every process below `root`, from the parent-pid field of `/proc/<pid>/stat` (one pass
    /// over `/proc`).
    fn descendants(root: u32) -> Vec<u32> {
        let mut parent_of: Vec<(u32, u32)> = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
            let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                continue;
            };
            if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
                parent_of.push((pid, ppid));
            }
        }
        let mut found: Vec<u32> = Vec::new();
        let mut queue = vec![root];
        while let Some(parent) = queue.pop() {
            for &(pid, ppid) in &parent_of {
                if ppid == parent && !found.contains(&pid) {
                    found.push(pid);
                    queue.push(pid);
                }
            }
        }
        found
    }

    /// The state letter of a process (`T` = stopped).
    pub fn state_of(pid: u32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        stat[stat.rfind(')')? + 1..]
            .split_whitespace()
            .next()?
            .chars()
            .next()
    }

    impl Pg {
        /// The postmaster's process id (first line of `postmaster.pid`).
        pub fn postmaster_pid(&self) -> u32 {
            let text = std::fs::read_to_string(self.data.join("postmaster.pid"))
                .expect("postmaster.pid of the running instance");
            text.lines()
                .next()
                .and_then(|l| l.trim().parse().ok())
                .expect("a process id in postmaster.pid")
        }

        /// Stops (`SIGSTOP`) the postmaster and every process below it with one `kill`, then
        /// whatever a fork in between added: nothing of the server runs until
        /// [`Frozen::thaw`] or the guard's drop. A stopped postmaster cannot fork, so the list
        /// is complete once a pass finds nothing new.
        pub fn freeze(&self) -> Frozen {
            let postmaster = self.postmaster_pid();
            let mut frozen = Frozen {
                pids: Vec::new(),
                thawed: false,
            };
            let mut batch = vec![postmaster];
            batch.extend(descendants(postmaster));
            while !batch.is_empty() {
                // A child may exit between listing and signalling; the others are stopped.
                signal("STOP", &batch);
                frozen.pids.extend(batch);
                batch = descendants(postmaster)
                    .into_iter()
                    .filter(|p| !frozen.pids.contains(p))
                    .collect();
            }
            frozen
        }
    }

    impl Frozen {
        /// The processes stopped.
        pub fn pids(&self) -> &[u32] {
            &self.pids
        }

        /// `SIGCONT` to every stopped process.
        pub fn thaw(mut self) {
            self.thawed = true;
            let status = signal("CONT", &self.pids);
            assert!(status.success(), "kill -CONT {:?}", self.pids);
        }
    }

    impl Drop for Frozen {
        fn drop(&mut self) {
            if !self.thawed {
                let _ = signal("CONT", &self.pids);
            }
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

/// A migrated database on the throwaway instance and a Directory over it (cheap hashing, every
/// store on the one backend) holding the company `ACME`.
#[cfg(feature = "postgres")]
async fn migrated_directory(
    pg: &throwaway::Pg,
    config: DbConfig,
) -> (
    std::sync::Arc<clientele::DbBackend>,
    std::sync::Arc<clientele::Directory>,
) {
    use std::sync::Arc;

    use clientele::model::NewCustomerCompany;
    use clientele::{DbBackend, Directory};

    let db = Arc::new(
        DbBackend::connect(&pg.url(), config)
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
            .config(kat::cheap_hashing())
            .build()
            .expect("directory"),
    );
    dir.add_company(
        NewCustomerCompany::new("ACME", "Acme"),
        clientele::model::Actor::System,
    )
    .await
    .expect("company");
    (db, dir)
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn postgres_restart_during_writes() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use clientele::db::sea_orm::{ConnectionTrait, Statement};
    use clientele::model::{NewCustomerUser, Password};

    let pg = throwaway::Pg::start();
    let (db, dir) = migrated_directory(&pg, fault_config()).await;

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
                let r = dir
                    .add_customer_user(new, clientele::model::Actor::System)
                    .await
                    .map(|_| ());
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

/// One operation of the freeze test's load: what it was, when it ran (from the load's start),
/// and how it ended.
#[cfg(feature = "postgres")]
struct Op {
    kind: &'static str,
    started: Duration,
    ended: Duration,
    outcome: Result<(), clientele::Error>,
    /// An acknowledged add (the login) or preference write (the value).
    written: Option<String>,
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn postgres_frozen_mid_query_is_cut_by_the_timeout() {
    use std::collections::{BTreeMap, HashMap, HashSet};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use clientele::db::sea_orm::{ConnectionTrait, Statement};
    use clientele::model::search::CustomerUserSearch;
    use clientele::model::{NewCustomerUser, Password};

    const WORKERS: usize = 6;
    const QUERY_TIMEOUT_MS: u64 = 2_000;
    // Generous: a bound, not a measurement. The freeze lasts longer than the bound, so an
    // operation that waited for the server instead of being cut would break it.
    const BOUND: Duration = Duration::from_secs(15);
    const FROZEN_FOR: Duration = Duration::from_secs(18);
    const PREF_KEY: &str = "FaultLoad";

    let pg = throwaway::Pg::start();
    let mut config = fault_config();
    config.query_timeout_ms = QUERY_TIMEOUT_MS;
    // No cache: every read goes to the server.
    config.settings.cache_ttl = 0;
    config.company_settings.cache_ttl = 0;
    let (db, dir) = migrated_directory(&pg, config).await;
    for w in 0..WORKERS {
        let login = format!("seed{w}");
        let new = NewCustomerUser::new(
            &login,
            "Seed",
            "User",
            &format!("{login}@acme-corp.com"),
            "ACME",
        )
        .password(Password::new("seed-pw"));
        dir.add_customer_user(new, clientele::model::Actor::System)
            .await
            .expect("seed user");
    }

    // The load: each worker cycles through an add, a read, a search, a preference write and a
    // login, back to back. Each operation is also capped at 60 s here, so a hang fails the
    // test instead of stalling it.
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| {
            let (dir, stop) = (dir.clone(), stop.clone());
            tokio::spawn(async move {
                let seed = format!("seed{w}");
                let mut ops = Vec::new();
                let mut i = 0usize;
                while !stop.load(Ordering::SeqCst) {
                    let at = started.elapsed();
                    let (kind, written) = match i % 5 {
                        0 => ("add", Some(format!("f{w}x{i}"))),
                        1 => ("read", None),
                        2 => ("search", None),
                        3 => ("preference", Some(i.to_string())),
                        _ => ("login", None),
                    };
                    let op = async {
                        match i % 5 {
                            0 => {
                                let login = written.as_deref().unwrap();
                                let new = NewCustomerUser::new(
                                    login,
                                    "F",
                                    "Load",
                                    &format!("{login}@acme-corp.com"),
                                    "ACME",
                                )
                                .password(Password::new("pw"));
                                dir.add_customer_user(new, clientele::model::Actor::System)
                                    .await
                                    .map(|_| ())
                            }
                            1 => match dir.customer_user(&seed).await {
                                Ok(Some(_)) => Ok(()),
                                Ok(None) => panic!("seed user {seed} not found"),
                                Err(e) => Err(e),
                            },
                            2 => dir
                                .search(&CustomerUserSearch::term("seed*").limit(10))
                                .await
                                .map(|hits| assert_eq!(hits.len(), WORKERS, "search hits")),
                            3 => {
                                dir.set_preference(&seed, PREF_KEY, written.as_deref().unwrap())
                                    .await
                            }
                            _ => dir
                                .authenticate(&seed, &Password::new("seed-pw"))
                                .await
                                .map(|_| ()),
                        }
                    };
                    let outcome = tokio::time::timeout(Duration::from_secs(60), op)
                        .await
                        .unwrap_or_else(|_| panic!("{kind} by worker {w} hung for 60 s"));
                    ops.push(Op {
                        kind,
                        started: at,
                        ended: started.elapsed(),
                        outcome,
                        written,
                    });
                    i += 1;
                    tokio::task::yield_now().await;
                }
                ops
            })
        })
        .collect();

    // Load on a healthy server, then freeze it with queries on the wire.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let freeze_begin = started.elapsed();
    let frozen = pg.freeze();
    let freeze_done = started.elapsed();
    // A signal takes effect asynchronously: wait (boundedly) until no server process runs. A
    // process that exited meanwhile (gone, or a zombie its stopped parent can't reap) does not.
    let running = || {
        frozen
            .pids()
            .iter()
            .filter(
                |p| matches!(throwaway::state_of(**p), Some(c) if !matches!(c, 'T' | 'Z' | 'X')),
            )
            .count()
    };
    let waited = Instant::now();
    while running() > 0 && waited.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        frozen.pids().len() >= 3 && running() == 0,
        "not every server process is stopped: {} still running of {:?}",
        running(),
        frozen.pids()
    );
    let stopped_count = frozen.pids().len();
    tokio::time::sleep(FROZEN_FOR).await;
    let thaw_begin = started.elapsed();
    frozen.thaw();
    let thaw_done = started.elapsed();
    // Keep the load running on the thawed server, through the same Directory.
    tokio::time::sleep(Duration::from_secs(5)).await;
    stop.store(true, Ordering::SeqCst);
    let mut per_worker = Vec::new();
    for w in workers {
        per_worker.push(w.await.expect("load task"));
    }
    let ops: Vec<&Op> = per_worker.iter().flatten().collect();

    // Every operation ended within the bound, hung or not.
    let slowest = ops.iter().map(|o| o.ended - o.started).max().unwrap();
    assert!(slowest < BOUND, "an operation took {slowest:?}");
    // Before the freeze everything worked.
    for o in ops.iter().filter(|o| o.ended < freeze_begin) {
        assert!(
            o.outcome.is_ok(),
            "{} failed on a healthy server: {:?}",
            o.kind,
            o.outcome
        );
    }
    // Whatever failed failed as an outage (`Timeout`/`Unavailable`), retryable.
    for o in &ops {
        if let Err(e) = &o.outcome {
            assert!(
                e.is_outage() && e.is_retryable(),
                "{} failed with a non-outage error: {e:?}",
                o.kind
            );
        }
    }
    // In flight at the freeze: started before every server process was stopped, ended after.
    // Those that had not finished their queries were cut; at least one was.
    let in_flight: Vec<&&Op> = ops
        .iter()
        .filter(|o| o.started < freeze_done && o.ended > freeze_done)
        .collect();
    let cut_in_flight = in_flight.iter().filter(|o| o.outcome.is_err()).count();
    assert!(
        cut_in_flight >= 1,
        "no operation in flight at the freeze was cut ({} in flight)",
        in_flight.len()
    );
    // New operations on the frozen server: every one that ended before the thaw failed.
    let new_while_frozen: Vec<&&Op> = ops
        .iter()
        .filter(|o| o.started > freeze_done && o.ended < thaw_begin)
        .collect();
    for o in &new_while_frozen {
        assert!(
            o.outcome.is_err(),
            "{} succeeded on a frozen server (started {:?}, ended {:?})",
            o.kind,
            o.started,
            o.ended
        );
    }
    assert!(
        new_while_frozen.len() >= WORKERS,
        "only {} operations started and ended while the server was frozen",
        new_while_frozen.len()
    );
    let frozen_kinds: HashSet<&str> = new_while_frozen.iter().map(|o| o.kind).collect();
    let slowest_cut = ops
        .iter()
        .filter(|o| o.outcome.is_err())
        .map(|o| o.ended - o.started)
        .max()
        .unwrap();
    // Recovery through the same Directory: the first success of an operation started after
    // the thaw, and every worker's last operation succeeded.
    let recovered_at = ops
        .iter()
        .filter(|o| o.started >= thaw_done && o.outcome.is_ok())
        .map(|o| o.ended)
        .min()
        .expect("no operation succeeded after the thaw: the Directory did not recover");
    let after_thaw_ok = ops
        .iter()
        .filter(|o| o.started >= thaw_done && o.outcome.is_ok())
        .count();
    for (w, worker_ops) in per_worker.iter().enumerate() {
        let last = worker_ops.last().expect("a worker ran no operation");
        assert!(
            last.outcome.is_ok(),
            "worker {w}'s last {} failed after the thaw: {:?}",
            last.kind,
            last.outcome
        );
    }
    assert!(
        after_thaw_ok >= 10,
        "only {after_thaw_ok} operations succeeded after the thaw"
    );

    // No acknowledged write is missing: every acknowledged add is stored, and each worker's
    // preference holds its last acknowledged value or a value written after it whose
    // acknowledgement was lost to the freeze (a cut write may have been committed).
    let conn = db.connection();
    let backend = conn.get_database_backend();
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT login FROM customer_user".to_owned(),
        ))
        .await
        .expect("read back users");
    let stored: HashSet<String> = rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    let acked_adds: Vec<&str> = ops
        .iter()
        .filter(|o| o.kind == "add" && o.outcome.is_ok())
        .map(|o| o.written.as_deref().unwrap())
        .collect();
    let missing: Vec<&&str> = acked_adds
        .iter()
        .filter(|l| !stored.contains(**l))
        .collect();
    assert!(missing.is_empty(), "acknowledged adds missing: {missing:?}");
    let rows = conn
        .query_all_raw(Statement::from_string(
            backend,
            format!(
                "SELECT user_id, preferences_value FROM customer_preferences \
                 WHERE preferences_key = '{PREF_KEY}'"
            ),
        ))
        .await
        .expect("read back preferences");
    let prefs: HashMap<String, String> = rows
        .iter()
        .map(|r| {
            (
                r.try_get_by_index::<String>(0).unwrap(),
                r.try_get_by_index::<String>(1).unwrap(),
            )
        })
        .collect();
    let mut acked_prefs = 0;
    for (w, worker_ops) in per_worker.iter().enumerate() {
        let writes: Vec<&Op> = worker_ops
            .iter()
            .filter(|o| o.kind == "preference")
            .collect();
        let last_ok = writes
            .iter()
            .rposition(|o| o.outcome.is_ok())
            .expect("no acknowledged preference write");
        acked_prefs += writes.iter().filter(|o| o.outcome.is_ok()).count();
        let allowed: Vec<&str> = writes[last_ok..]
            .iter()
            .map(|o| o.written.as_deref().unwrap())
            .collect();
        let value = prefs.get(&format!("seed{w}")).map(String::as_str);
        assert!(
            value.is_some_and(|v| allowed.contains(&v)),
            "seed{w}'s preference is {value:?}, the last acknowledged write was {:?}",
            allowed[0]
        );
    }

    let failed: Vec<&&Op> = ops.iter().filter(|o| o.outcome.is_err()).collect();
    let kinds: BTreeMap<String, usize> = failed.iter().fold(Default::default(), |mut m, o| {
        let e = o.outcome.as_ref().unwrap_err();
        let k = format!("{e:?}")
            .split([' ', '{', '('])
            .next()
            .unwrap()
            .to_owned();
        *m.entry(k).or_default() += 1;
        m
    });
    let example = failed[0].outcome.as_ref().unwrap_err();
    println!(
        "faults postgres frozen: {} operations by {WORKERS} workers ({} adds and {acked_prefs} \
         preference writes acknowledged, all present); {} processes stopped for {:.1} s \
         (freeze took {:.3} s); {} in flight at the freeze, {cut_in_flight} of them cut; {} new \
         operations on the frozen server ({} kinds), all failed; failures {kinds:?} (e.g. \
         {example}); slowest cut {:.2} s, slowest operation {:.2} s (query timeout {:.1} s, \
         bound {} s); first success {:.2} s after the thaw, {after_thaw_ok} successes after it \
         through the same Directory",
        ops.len(),
        acked_adds.len(),
        stopped_count,
        (thaw_begin - freeze_done).as_secs_f64(),
        (freeze_done - freeze_begin).as_secs_f64(),
        in_flight.len(),
        new_while_frozen.len(),
        frozen_kinds.len(),
        slowest_cut.as_secs_f64(),
        slowest.as_secs_f64(),
        QUERY_TIMEOUT_MS as f64 / 1000.0,
        BOUND.as_secs(),
        (recovered_at - thaw_done).as_secs_f64(),
    );
    drop(dir);
    let _ = db.connection().close_by_ref().await;
    drop(pg);
}
