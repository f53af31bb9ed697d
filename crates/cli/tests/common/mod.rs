//! Runs the real `clientele` binary against a temporary SQLite database.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use tempfile::TempDir;

/// Cheap password hashing: every add hashes a (generated) password, and the defaults are
/// deliberately expensive.
pub const CHEAP_PASSWORDS: &str =
    "[passwords]\nargon2 = { memory_kib = 64, iterations = 1, parallelism = 1 }\n";

/// A temporary directory with a configuration file and a SQLite database in it.
pub struct Env {
    pub dir: TempDir,
    pub config: PathBuf,
}

impl Env {
    /// A configuration with one SQLite source, customer-group support on, cheap hashing, and
    /// `extra` appended.
    pub fn new(extra: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("clientele.sqlite");
        let text = format!(
            "[[customer_user]]\ntype = \"db\"\nurl = \"sqlite://{}?mode=rwc\"\n\n[permissions]\ncustomer_group_support = true\n\n{CHEAP_PASSWORDS}\n{extra}",
            db.display()
        );
        Env::with_config(dir, &text)
    }

    /// A configuration file with exactly this text.
    pub fn with_config(dir: TempDir, text: &str) -> Env {
        let config = dir.path().join("clientele.toml");
        std::fs::write(&config, text).unwrap();
        Env { dir, config }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_clientele"));
        c.arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("CLIENTELE_CONFIG")
            .env_remove("CLIENTELE_BY");
        c
    }

    /// Runs with empty standard input.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_stdin(args, "")
    }

    /// Runs with this standard input.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "clientele {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs with `--json`, expects success, parses stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let text = self.ok(&all);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {text}"))
    }

    /// Runs and returns (exit code, stderr).
    pub fn fails(&self, args: &[&str]) -> (i32, String) {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "clientele {args:?} should have failed"
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Every file below `dir` with this extension.
pub fn files_with_extension(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_with_extension(&p, ext));
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The arguments of `user add` for John Doe with this login, email and primary company, then
/// `extra`.
pub fn user_add_args<'a>(
    login: &'a str,
    email: &'a str,
    customer_id: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "user",
        "add",
        "--login",
        login,
        "--first-name",
        "John",
        "--last-name",
        "Doe",
        "--email",
        email,
        "--customer-id",
        customer_id,
    ];
    args.extend_from_slice(extra);
    args
}

/// A database of its own on the PostgreSQL test server (`CLIENTELE_TEST_POSTGRES_URL`, default
/// `postgres://postgres@127.0.0.1:5432`), dropped when the value is. A server that cannot be
/// reached fails the test. Named like the DB crate's test databases
/// (`clientele_t_<pid>_<counter>_<nanos>`), so a run that crashed leaves nothing the next one
/// does not drop.
#[cfg(feature = "postgres")]
pub struct PostgresDb {
    /// The URL of the new database.
    pub url: String,
    name: String,
    server: String,
}

#[cfg(feature = "postgres")]
impl PostgresDb {
    pub fn new() -> PostgresDb {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let server = std::env::var("CLIENTELE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
            .trim_end_matches('/')
            .to_owned();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "clientele_t_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        postgres_admin(&server, &format!("CREATE DATABASE \"{name}\""));
        PostgresDb {
            url: format!("{server}/{name}"),
            name,
            server,
        }
    }
}

#[cfg(feature = "postgres")]
impl Drop for PostgresDb {
    fn drop(&mut self) {
        postgres_admin(
            &self.server,
            &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name),
        );
    }
}

/// Runs one statement on the server's `postgres` database.
#[cfg(feature = "postgres")]
fn postgres_admin(server: &str, sql: &str) {
    use clientele::db::sea_orm::{ConnectionTrait, Database, Statement};
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let conn = Database::connect(format!("{server}/postgres"))
            .await
            .unwrap_or_else(|e| panic!("cannot reach the PostgreSQL test server at {server}: {e}"));
        conn.execute_raw(Statement::from_string(conn.get_database_backend(), sql))
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let _ = conn.close().await;
    });
}

/// A running `clientele serve`, stopped however the test ends.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Env {
    /// Starts `clientele serve` with this configuration on a free loopback port and waits for
    /// the line that names its address; (server, `host:port`). `stderr` is where the server's
    /// log goes (`Stdio::piped()` to read it from `server.0.stderr`).
    pub fn serve(&self, stderr: Stdio) -> (Server, String) {
        let child = Command::new(env!("CARGO_BIN_EXE_clientele"))
            .arg("--config")
            .arg(&self.config)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .current_dir(self.dir.path())
            .env_remove("CLIENTELE_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut server = Server(child);
        let mut line = String::new();
        BufReader::new(server.0.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        (server, addr)
    }
}
