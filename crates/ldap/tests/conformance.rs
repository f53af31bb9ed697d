//! The read-only conformance subsets of both levels against the LDAP backend on a real
//! OpenLDAP server: `clientele_backend::conformance::read` on the backend's trait objects
//! (`storage::…`) and `clientele_directory::conformance::read` through a Directory over it
//! (`directory::…`).
//!
//! One throwaway slapd (scripts/slapd.sh) serves the whole run, started by the first trial and
//! stopped when the run ends. Each trial gets an organisational unit of its own below the
//! suffix, seeded with the suite's data by ldap3 add operations as the rootdn and deleted
//! afterwards; the backend's base DN is that unit, so the server's own test people are out of
//! sight. The trials are ignored unless asked for (`scripts/test.sh` passes
//! `--include-ignored`), and fail when slapd cannot be started.

#[path = "slapd/server.rs"]
mod server;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use clientele_backend::conformance::read::{ReadHarness, ReadStores, SEED, SeedUser, read_trials};
use clientele_backend::{InMemoryBackend, SourceSettings};
use clientele_directory::conformance::read as directory_read;
use clientele_directory::{Directory, DirectoryConfig, Source};
use clientele_ldap::{LdapBackend, LdapConfig};
use clientele_model::Password;
use clientele_password::{Argon2Params, PasswordConfig};
use ldap3::{Ldap, LdapConnAsync};

use server::Slapd;

const IGNORED: Option<&str> = Some("needs slapd: run scripts/test.sh");

/// The run's server, started by the first trial that needs it.
static SERVER: Mutex<Option<Arc<Slapd>>> = Mutex::new(None);

/// Numbers the trials' organisational units.
static NEXT_UNIT: AtomicUsize = AtomicUsize::new(0);

fn server() -> Arc<Slapd> {
    let mut server = SERVER.lock().unwrap_or_else(PoisonError::into_inner);
    Arc::clone(server.get_or_insert_with(|| Arc::new(Slapd::start())))
}

/// A connection bound as the rootdn.
async fn admin(slapd: &Slapd) -> Ldap {
    let (conn, mut ldap) = LdapConnAsync::new(&slapd.url())
        .await
        .expect("connect to slapd");
    ldap3::drive!(conn);
    ldap.simple_bind(
        &slapd.var("CLIENTELE_LDAP_ADMIN_DN"),
        &slapd.var("CLIENTELE_LDAP_ADMIN_PW"),
    )
    .await
    .and_then(|r| r.success())
    .expect("bind as the rootdn");
    ldap
}

fn values<const N: usize>(v: [&str; N]) -> HashSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A seed user as an `inetOrgPerson`: `o` holds the primary customer id, `departmentNumber`
/// the secondary ones, `description: gesperrt` marks the invalid user (the valid filter of
/// [`config`]), `userPassword` the password for binds.
fn entry(seed: &SeedUser) -> Vec<(String, HashSet<String>)> {
    let full_name = format!("{} {}", seed.first_name, seed.last_name);
    let mut attrs = vec![
        ("objectClass".to_owned(), values(["inetOrgPerson"])),
        ("uid".to_owned(), values([seed.login])),
        ("cn".to_owned(), values([full_name.as_str()])),
        ("givenName".to_owned(), values([seed.first_name])),
        ("sn".to_owned(), values([seed.last_name])),
        ("mail".to_owned(), values([seed.email])),
        ("o".to_owned(), values([seed.customer_id])),
        ("userPassword".to_owned(), values([seed.password])),
    ];
    if !seed.secondary_customer_ids.is_empty() {
        attrs.push((
            "departmentNumber".to_owned(),
            seed.secondary_customer_ids
                .iter()
                .map(|s| s.to_string())
                .collect(),
        ));
    }
    if !seed.validity.is_valid() {
        attrs.push(("description".to_owned(), values(["gesperrt"])));
    }
    attrs
}

/// An organisational unit of one trial, holding the seed.
struct Unit {
    slapd: Arc<Slapd>,
    dn: String,
}

impl Unit {
    async fn seeded() -> Unit {
        let slapd = tokio::task::spawn_blocking(server)
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let name = format!("read-{}", NEXT_UNIT.fetch_add(1, Ordering::SeqCst));
        let dn = format!("ou={name},{}", slapd.var("CLIENTELE_LDAP_BASE"));
        let mut ldap = admin(&slapd).await;
        ldap.add(
            &dn,
            vec![
                ("objectClass".to_owned(), values(["organizationalUnit"])),
                ("ou".to_owned(), values([name.as_str()])),
            ],
        )
        .await
        .and_then(|r| r.success())
        .unwrap_or_else(|e| panic!("adding {dn}: {e}"));
        let unit = Unit { slapd, dn };
        for seed in SEED {
            let user_dn = unit.user_dn(seed);
            ldap.add(&user_dn, entry(seed))
                .await
                .and_then(|r| r.success())
                .unwrap_or_else(|e| panic!("adding {user_dn}: {e}"));
        }
        let _ = ldap.unbind().await;
        unit
    }

    fn user_dn(&self, seed: &SeedUser) -> String {
        format!("uid={},{}", ldap3::dn_escape(seed.login), self.dn)
    }

    /// The LDAP source over this unit, searching the fields the seed's answers assume (login,
    /// first and last name, primary customer id) with the LDAP example's prefix search.
    fn backend(&self) -> Arc<LdapBackend> {
        let s = &self.slapd;
        let fields = |v: &[&str]| v.iter().map(|f| f.to_string()).collect::<Vec<_>>();
        let config = LdapConfig {
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
                search_fields: fields(&["uid", "givenname", "sn", "o"]),
                list_fields: fields(&["givenname", "sn", "mail"]),
                ..LdapConfig::default_settings()
            },
            ..LdapConfig::new(s.url(), &self.dn)
        };
        Arc::new(LdapBackend::new(config).expect("LDAP configuration"))
    }

    /// Deletes the seed and the unit.
    async fn remove(self) {
        let mut ldap = admin(&self.slapd).await;
        for seed in SEED {
            let dn = self.user_dn(seed);
            ldap.delete(&dn)
                .await
                .and_then(|r| r.success())
                .unwrap_or_else(|e| panic!("deleting {dn}: {e}"));
        }
        ldap.delete(&self.dn)
            .await
            .and_then(|r| r.success())
            .unwrap_or_else(|e| panic!("deleting {}: {e}", self.dn));
        let _ = ldap.unbind().await;
    }
}

/// The storage level: the backend's own trait objects.
struct Storage {
    unit: Unit,
    ldap: Arc<LdapBackend>,
}

#[async_trait]
impl ReadHarness for Storage {
    async fn setup() -> Self {
        let unit = Unit::seeded().await;
        let ldap = unit.backend();
        Storage { unit, ldap }
    }
    fn stores(&self) -> ReadStores {
        ReadStores::new(self.ldap.clone()).with_binder(self.ldap.clone())
    }
    async fn teardown(self) {
        drop(self.ldap);
        self.unit.remove().await;
    }
}

/// The Directory level: the LDAP source alone (read-only, bind authentication), preferences
/// in memory.
struct Through {
    unit: Unit,
    directory: Directory,
}

#[async_trait]
impl directory_read::ReadHarness for Through {
    async fn setup() -> Self {
        let unit = Unit::seeded().await;
        let ldap = unit.backend();
        // Cheap hashing: only unknown users' stand-in verification uses it here.
        let config = DirectoryConfig {
            passwords: PasswordConfig {
                argon2: Argon2Params {
                    memory_kib: 64,
                    iterations: 1,
                    parallelism: 1,
                },
                ..PasswordConfig::default()
            },
            ..DirectoryConfig::default()
        };
        let directory = Directory::builder()
            .source(Source::read_only(ldap.clone()).with_bind_authenticator(ldap))
            .preference_store(Arc::new(InMemoryBackend::new()))
            .config(config)
            .build()
            .expect("directory over LDAP");
        Through { unit, directory }
    }
    fn directory(&self) -> &Directory {
        &self.directory
    }
    fn passwords_known(&self) -> bool {
        true
    }
    async fn teardown(self) {
        drop(self.directory);
        self.unit.remove().await;
    }
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut all = read_trials::<Storage>("storage", IGNORED);
    all.extend(directory_read::read_trials::<Through>("directory", IGNORED));
    let conclusion = libtest_mimic::run(&args, all);
    // Stops slapd and removes its directory (the statics are never dropped on their own).
    drop(SERVER.lock().unwrap_or_else(PoisonError::into_inner).take());
    conclusion.exit();
}
