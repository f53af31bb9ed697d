//! A throwaway slapd per test (scripts/slapd.sh), and the configurations the tests share.

use std::collections::HashMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clientele_backend::password::{Argon2Params, PasswordConfig};
use clientele_backend::{
    CompanySettings, Directory, DirectoryConfig, InMemoryBackend, SearchHit, Source, SourceSettings,
};
use clientele_db::{DbBackend, DbConfig};
use clientele_ldap::{LdapBackend, LdapConfig};
use clientele_model::{NewCustomerCompany, NewCustomerUser, Password};

/// Where people live in the test directory.
pub const PEOPLE: &str = "ou=people,dc=example,dc=org";
/// Where groups live.
pub const GROUPS: &str = "ou=groups,dc=example,dc=org";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// A port nobody listens on right now, chosen by the kernel.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn script() -> PathBuf {
    repo_root().join("scripts/slapd.sh")
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
    pub fn freeze(&self) {
        self.signal("STOP");
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

/// The test directory as OTOBO would be configured for it: people below `ou=people`, the
/// reader account, `o` = primary customer id, `departmentNumber` = secondary ids, the
/// `gesperrt` valid filter.
pub fn config(s: &Slapd) -> LdapConfig {
    LdapConfig {
        bind_dn: Some(s.var("CLIENTELE_LDAP_BIND_DN")),
        bind_password: Some(Password::new(s.var("CLIENTELE_LDAP_BIND_PW"))),
        customer_id: "o".into(),
        customer_ids_attribute: Some("departmentNumber".into()),
        always_filter: Some("(objectClass=inetOrgPerson)".into()),
        valid_filter: Some("(!(description=gesperrt))".into()),
        connect_timeout_ms: 2_000,
        operation_timeout_ms: 5_000,
        settings: SourceSettings {
            name: "LDAP".into(),
            ..LdapConfig::default_settings()
        },
        ..LdapConfig::new(s.url(), PEOPLE)
    }
}

pub fn backend(config: LdapConfig) -> Arc<LdapBackend> {
    Arc::new(LdapBackend::new(config).expect("LDAP config"))
}

/// Cheap password hashing: these tests are about LDAP, not argon2's cost.
pub fn directory_config() -> DirectoryConfig {
    DirectoryConfig {
        passwords: PasswordConfig {
            argon2: Argon2Params {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            ..PasswordConfig::default()
        },
        ..DirectoryConfig::default()
    }
}

pub fn ldap_source(ldap: &Arc<LdapBackend>) -> Source {
    Source::read_only(ldap.clone()).with_bind_authenticator(ldap.clone())
}

/// A Directory with the LDAP source alone; preferences in memory.
pub fn ldap_directory(ldap: &Arc<LdapBackend>) -> Directory {
    let prefs = Arc::new(InMemoryBackend::new());
    Directory::builder()
        .source(ldap_source(ldap))
        .preference_store(prefs)
        .config(directory_config())
        .build()
        .expect("directory")
}

/// The writable "DB" source: clientele-db on an in-memory SQLite database, migrated, with its
/// own users: `dbuser` (customer db-customer, password `dbuser-secret`), `dbacme` (customer
/// acme) and a `shared-login` of its own (password `db-shared-secret`, mail
/// shared-login@db.example).
pub async fn db() -> Arc<DbBackend> {
    let config = DbConfig {
        settings: SourceSettings {
            name: "DB".into(),
            cache_ttl: 0,
            ..SourceSettings::default()
        },
        company_settings: CompanySettings {
            name: "DB".into(),
            cache_ttl: 0,
            ..CompanySettings::default()
        },
        ..DbConfig::default()
    };
    let db = Arc::new(
        DbBackend::connect("sqlite::memory:", config)
            .await
            .expect("SQLite in memory"),
    );
    clientele_db::migrate(db.connection())
        .await
        .expect("migrations");
    let seed = Directory::builder()
        .writable_source(db.clone())
        .company_store(db.clone())
        .relation_store(db.clone())
        .preference_store(db.clone())
        .config(directory_config())
        .build()
        .expect("seeding directory");
    for (id, name) in [("acme", "Acme"), ("db-customer", "DB Customer")] {
        seed.add_company(NewCustomerCompany::new(id, name), "test")
            .await
            .expect("company");
    }
    for (login, first, last, mail, customer, pw) in [
        (
            "dbuser",
            "Dora",
            "Base",
            "dora@db.example",
            "db-customer",
            "dbuser-secret",
        ),
        (
            "dbacme",
            "Dan",
            "Acme",
            "dan@db.example",
            "acme",
            "dbacme-secret",
        ),
        (
            "shared-login",
            "Shared",
            "Login (DB)",
            "shared-login@db.example",
            "db-customer",
            "db-shared-secret",
        ),
    ] {
        seed.add_customer_user(
            NewCustomerUser::new(login, first, last, mail, customer).password(pw),
            "test",
        )
        .await
        .expect("seed user");
    }
    db
}

/// A Directory over `[DB, LDAP]` (`ldap_first = false`) or `[LDAP, DB]`; companies, relations
/// and preferences in the DB store.
pub fn chained(db: &Arc<DbBackend>, ldap: &Arc<LdapBackend>, ldap_first: bool) -> Directory {
    let db_source = Source::writable(db.clone());
    let mut b = Directory::builder();
    if ldap_first {
        b = b.source(ldap_source(ldap)).source(db_source);
    } else {
        b = b.source(db_source).source(ldap_source(ldap));
    }
    b.company_store(db.clone())
        .relation_store(db.clone())
        .preference_store(db.clone())
        .config(directory_config())
        .build()
        .expect("directory")
}

/// The logins of search hits, in order.
pub fn logins(hits: &[SearchHit]) -> Vec<String> {
    hits.iter().map(|h| h.user.login.to_string()).collect()
}
