//! Runs the real `clientele` binary against a temporary SQLite database.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

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
