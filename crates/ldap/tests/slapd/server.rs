//! A throwaway slapd (scripts/slapd.sh: loopback only, its own directory and data), shared by
//! the LDAP tests (`mod server` in this directory) and the LDAP benchmark (`benches/ldap.rs`,
//! through `#[path]`): kernel-chosen ports, the script's `export` lines parsed, signals for
//! outage tests, and the server stopped and its directory removed on drop.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// scripts/slapd.sh, found from the crate being built (the workspace root or crates/ldap).
fn script() -> PathBuf {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .map(|dir| dir.join("scripts/slapd.sh"))
        .find(|path| path.is_file())
        .expect("scripts/slapd.sh in the workspace")
}

/// A port nobody listens on right now, chosen by the kernel.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// Parses the `export NAME='value'` lines scripts/slapd.sh prints.
fn parse_exports(stdout: &str) -> HashMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("export "))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(v);
            (k.to_owned(), v.replace(r"'\''", "'"))
        })
        .collect()
}

/// True when every thread of process `pid` is in the stopped state (`T` in
/// `/proc/<pid>/task/<tid>/stat`). A thread that exits meanwhile is not counted.
fn all_threads_stopped(pid: &str) -> bool {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap_or_else(|e| panic!("/proc/{pid}/task: {e} (did slapd exit?)"));
    tasks.flatten().all(|task| {
        match std::fs::read_to_string(task.path().join("stat")) {
            // The state follows the command name, which is in parentheses and may hold spaces.
            Ok(stat) => stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.trim_start().chars().next())
                .is_some_and(|state| state == 'T'),
            Err(_) => true,
        }
    })
}

/// A running slapd in its own directory; stopped and removed on drop.
pub struct Slapd {
    dir: PathBuf,
    env: HashMap<String, String>,
}

impl Slapd {
    /// Starts a fresh, seeded server. Panics (fails the test) when it cannot: these tests never
    /// skip silently.
    ///
    /// Each server gets ports the kernel picked rather than the script's preferred 3389/3636:
    /// tests run in parallel and stop and restart servers, and a freed 3389 would be taken by
    /// the next test's server at once.
    pub fn start() -> Slapd {
        let mut last = String::new();
        for _ in 0..3 {
            let (ldap, ldaps) = (free_port(), free_port());
            let out = Command::new("bash")
                .arg(script())
                .arg("start")
                .env("CLIENTELE_LDAP_PORT", ldap.to_string())
                .env("CLIENTELE_LDAPS_PORT", ldaps.to_string())
                .output()
                .expect("scripts/slapd.sh could not be run");
            if out.status.success() {
                let env = parse_exports(&String::from_utf8_lossy(&out.stdout));
                let dir = PathBuf::from(
                    env.get("CLIENTELE_LDAP_DIR")
                        .expect("scripts/slapd.sh printed no CLIENTELE_LDAP_DIR"),
                );
                return Slapd { dir, env };
            }
            last = String::from_utf8_lossy(&out.stderr).into_owned();
            if !last.contains("in use") && !last.contains("could not bind") {
                break;
            }
        }
        panic!("scripts/slapd.sh start failed:\n{last}");
    }

    /// A variable from the script's output, e.g. `CLIENTELE_LDAP_CA`.
    pub fn var(&self, name: &str) -> String {
        self.env
            .get(name)
            .unwrap_or_else(|| panic!("scripts/slapd.sh printed no {name}"))
            .clone()
    }

    pub fn url(&self) -> String {
        self.var("CLIENTELE_LDAP_URL")
    }

    pub fn ldaps_url(&self) -> String {
        self.var("CLIENTELE_LDAPS_URL")
    }

    fn port(&self) -> u16 {
        self.url()
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port in CLIENTELE_LDAP_URL")
    }

    fn signal(&self, signal: &str) {
        let pid = self.var("CLIENTELE_LDAP_PID");
        let status = Command::new("bash")
            .arg("-c")
            .arg(format!("kill -{signal} {pid}"))
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} {pid} failed");
    }

    /// Kills slapd (SIGTERM, as an operator would) and waits until its port refuses
    /// connections.
    pub fn kill(&self) {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port())).is_ok() {
            assert!(Instant::now() < deadline, "slapd still accepts connections");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Freezes slapd (SIGSTOP): connections are accepted by the kernel, nothing is answered.
    ///
    /// Returns only once every thread of slapd is stopped. `kill` returns as soon as the signal
    /// is queued, and the kernel wakes a single thread to carry out the stop; until that thread
    /// is scheduled, slapd's other threads go on answering requests. On a busy machine that
    /// window is long enough for a request sent right after `kill` to be served.
    pub fn freeze(&self) {
        self.signal("STOP");
        let pid = self.var("CLIENTELE_LDAP_PID");
        let deadline = Instant::now() + Duration::from_secs(10);
        while !all_threads_stopped(&pid) {
            assert!(
                Instant::now() < deadline,
                "slapd {pid} still has running threads 10 s after SIGSTOP"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Thaws a frozen slapd.
    pub fn thaw(&self) {
        self.signal("CONT");
    }

    /// Starts slapd again on the same ports with the same data.
    pub fn restart(&mut self) {
        let out = Command::new("bash")
            .arg(script())
            .arg("restart")
            .arg(&self.dir)
            .output()
            .expect("scripts/slapd.sh restart could not be run");
        assert!(
            out.status.success(),
            "scripts/slapd.sh restart failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.env = parse_exports(&String::from_utf8_lossy(&out.stdout));
    }
    /// The server's own directory (configuration, data, certificates).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds the entries of an LDIF text as the rootdn, in one `ldapadd` run.
    pub fn ldapadd(&self, ldif: &str) {
        let file = self.dir.join("added.ldif");
        std::fs::write(&file, ldif).expect("write added.ldif");
        let out = Command::new("ldapadd")
            .env("LDAPNOINIT", "1")
            .args(["-x", "-H", &self.url()])
            .args(["-D", &self.var("CLIENTELE_LDAP_ADMIN_DN")])
            .args(["-w", &self.var("CLIENTELE_LDAP_ADMIN_PW")])
            .arg("-f")
            .arg(&file)
            .stdout(Stdio::null())
            .output()
            .expect("ldapadd could not be run");
        assert!(
            out.status.success(),
            "ldapadd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        // A frozen server would ignore SIGTERM for 10 s.
        let pid = self
            .env
            .get("CLIENTELE_LDAP_PID")
            .cloned()
            .unwrap_or_default();
        let _ = Command::new("bash")
            .arg("-c")
            .arg(format!("kill -CONT {pid} 2>/dev/null"))
            .status();
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir)
            .output();
    }
}
