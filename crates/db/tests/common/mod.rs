//! Test databases: SQLite in memory or in a temporary file, and a freshly created, uniquely
//! named database on the PostgreSQL or MariaDB server, migrated, and dropped at the end; the
//! `Otobo*` kinds first get OTOBO's own tables, rows and foreign keys ([`otobo`]), as an OTOBO
//! installer leaves them; the `Coexist*` kinds too, migrated for coexistence with OTOBO.
//!
//! Server URLs come from `CLIENTELE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432`)
//! and `CLIENTELE_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306`). A server that cannot
//! be reached fails the test: nothing is skipped.
#![allow(dead_code)]

pub mod catalog;
pub mod otobo;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clientele_db::sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend as Engine, Statement,
};
use clientele_db::{DbBackend, DbConfig};

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    SqliteMemory,
    SqliteFile,
    Postgres,
    MySql,
    /// A SQLite file holding OTOBO's schema ([`otobo`]; SQLite's closest equivalent of it).
    OtoboSqlite,
    /// A PostgreSQL database holding OTOBO's schema, as OTOBO's installer creates it.
    OtoboPostgres,
    /// A MariaDB database holding OTOBO's schema, as OTOBO's installer creates it.
    OtoboMySql,
    /// [`Kind::OtoboSqlite`], migrated for coexistence with OTOBO (`[otobo] coexist`).
    CoexistSqlite,
    /// [`Kind::OtoboPostgres`], migrated for coexistence with OTOBO.
    CoexistPostgres,
    /// [`Kind::OtoboMySql`], migrated for coexistence with OTOBO.
    CoexistMySql,
}

impl Kind {
    pub fn engine(self) -> Engine {
        match self.plain() {
            Kind::Postgres => Engine::Postgres,
            Kind::MySql => Engine::MySql,
            _ => Engine::Sqlite,
        }
    }

    /// The kind whose empty database this one starts from: itself, or for an `Otobo*` kind the
    /// SQLite file, PostgreSQL or MariaDB database OTOBO's schema is loaded into.
    pub fn plain(self) -> Kind {
        match self {
            Kind::OtoboSqlite | Kind::CoexistSqlite => Kind::SqliteFile,
            Kind::OtoboPostgres | Kind::CoexistPostgres => Kind::Postgres,
            Kind::OtoboMySql | Kind::CoexistMySql => Kind::MySql,
            plain => plain,
        }
    }

    /// Whether a database of this kind is migrated for coexistence with OTOBO.
    pub fn coexist(self) -> bool {
        matches!(
            self,
            Kind::CoexistSqlite | Kind::CoexistPostgres | Kind::CoexistMySql
        )
    }

    /// The migration options a [`Fixture`] of this kind is migrated with.
    pub fn migrate_options(self) -> clientele_db::MigrateOptions {
        clientele_db::MigrateOptions {
            coexist: self.coexist(),
        }
    }

    /// Whether a new database of this kind holds OTOBO's schema.
    pub fn is_otobo(self) -> bool {
        self != self.plain()
    }
}

/// A database made for one test.
pub struct TestDb {
    pub kind: Kind,
    /// The URL of the database itself.
    pub url: String,
    /// The server database to drop afterwards (servers only).
    server: Option<(String, String)>,
    /// Keeps a SQLite file's directory alive.
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub fn postgres_url() -> String {
    std::env::var("CLIENTELE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_owned()
}

pub fn mysql_url() -> String {
    std::env::var("CLIENTELE_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
        .trim_end_matches('/')
        .to_owned()
}

/// `clientele_t_<pid>_<counter>_<nanos>`: unique per test, and the pid tells a later run
/// whether the test that made it is gone.
fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("clientele_t_{}_{}_{}", std::process::id(), n, nanos)
}

async fn admin(kind: Kind) -> (DatabaseConnection, String) {
    let kind = kind.plain();
    let (base, admin_db) = match kind {
        Kind::Postgres => (postgres_url(), "postgres"),
        Kind::MySql => (mysql_url(), ""),
        _ => unreachable!("only servers have an admin connection"),
    };
    let url = format!("{base}/{admin_db}");
    let conn = Database::connect(&url).await.unwrap_or_else(|e| {
        panic!("cannot reach the {kind:?} test server at {base}: {e} (run scripts/test.sh)")
    });
    (conn, base)
}

/// Runs one SQL statement as given (a test's own DDL or an OTOBO-style raw write).
pub async fn exec(conn: &DatabaseConnection, sql: &str) {
    conn.execute_raw(Statement::from_string(
        conn.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Drops test databases left behind by test processes that no longer run (a panic skips the
/// drop at the end of a test).
async fn drop_stale(conn: &DatabaseConnection, kind: Kind) {
    let list = match kind.engine() {
        Engine::Postgres => {
            "SELECT datname FROM pg_database WHERE datname LIKE 'clientele\\_t\\_%'"
        }
        _ => {
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'clientele\\_t\\_%'"
        }
    };
    let Ok(rows) = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            list.to_owned(),
        ))
        .await
    else {
        return;
    };
    for row in rows {
        let Ok(name) = row.try_get_by_index::<String>(0) else {
            continue;
        };
        let pid = name.split('_').nth(2).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && pid != std::process::id()
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = conn
                .execute_raw(Statement::from_string(
                    conn.get_database_backend(),
                    drop_sql(kind, &name),
                ))
                .await;
        }
    }
}

fn drop_sql(kind: Kind, name: &str) -> String {
    match kind.engine() {
        Engine::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        _ => format!("DROP DATABASE IF EXISTS `{name}`"),
    }
}

impl TestDb {
    /// A new database of this kind: without tables, or for an `Otobo*` kind with OTOBO's schema,
    /// initial rows and foreign keys ([`otobo::load`]).
    pub async fn new(kind: Kind) -> TestDb {
        let test_db = TestDb::empty(kind).await;
        if kind.is_otobo() {
            let db = test_db.connect(DbConfig::default()).await;
            otobo::load(db.connection()).await;
            let _ = db.connection().close_by_ref().await;
        }
        test_db
    }

    /// An empty database of this kind's engine (no tables, whatever the kind).
    pub async fn empty(kind: Kind) -> TestDb {
        match kind.plain() {
            Kind::SqliteMemory => TestDb {
                kind,
                url: "sqlite::memory:".into(),
                server: None,
                _dir: None,
            },
            Kind::SqliteFile => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let path = dir.path().join("clientele.db");
                TestDb {
                    kind,
                    url: format!("sqlite://{}", path.display()),
                    server: None,
                    _dir: Some(dir),
                }
            }
            _ => {
                let (conn, base) = admin(kind).await;
                drop_stale(&conn, kind).await;
                let name = unique_name();
                let create = match kind.engine() {
                    Engine::Postgres => format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8'"),
                    _ => format!(
                        "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
                    ),
                };
                exec(&conn, &create).await;
                let _ = conn.close().await;
                TestDb {
                    kind,
                    url: format!("{base}/{name}"),
                    server: Some((base, name)),
                    _dir: None,
                }
            }
        }
    }

    /// Connects a backend with `config` (no migration).
    pub async fn connect(&self, config: DbConfig) -> Arc<DbBackend> {
        let db = DbBackend::connect(&self.url, config)
            .await
            .unwrap_or_else(|e| panic!("connect {}: {e}", self.url));
        Arc::new(db)
    }

    /// Drops the server database (SQLite files go with their directory).
    pub async fn drop(self) {
        if let Some((_, name)) = &self.server {
            let (conn, _) = admin(self.kind).await;
            exec(&conn, &drop_sql(self.kind, name)).await;
            let _ = conn.close().await;
        }
    }
}

/// A migrated database with a backend on it.
pub struct Fixture {
    pub db: Arc<DbBackend>,
    pub test_db: TestDb,
}

impl Fixture {
    /// A fresh, migrated database with the default configuration.
    pub async fn new(kind: Kind) -> Fixture {
        Fixture::with_config(kind, test_config()).await
    }

    /// A fresh, migrated database with this configuration (migrated for coexistence for the
    /// `Coexist*` kinds).
    pub async fn with_config(kind: Kind, config: DbConfig) -> Fixture {
        let test_db = TestDb::new(kind).await;
        let db = test_db.connect(config).await;
        clientele_db::migrate_with(db.connection(), kind.migrate_options())
            .await
            .expect("migrate");
        Fixture { db, test_db }
    }

    /// Closes the pool and drops the database.
    pub async fn finish(self) {
        let _ = self.db.connection().close_by_ref().await;
        self.test_db.drop().await;
    }

    /// Runs raw SQL (test setup only).
    pub async fn exec(&self, sql: &str) {
        exec(self.db.connection(), sql).await;
    }
}

/// The default configuration with the cache off and a name per test run.
pub fn test_config() -> DbConfig {
    let mut config = DbConfig::default();
    config.settings.name = "db".into();
    config.settings.cache_ttl = 0;
    config.company_settings.name = "db-companies".into();
    config.company_settings.cache_ttl = 0;
    config
}

/// A conformance-suite harness: a Directory over one `DbBackend` (as users, companies,
/// relations and preferences store) on a fresh database of `$kind` with default settings;
/// with `indexed`, the opt-in search indexes are created first.
#[allow(unused_macros)]
macro_rules! db_harness {
    ($name:ident, $kind:expr) => {
        db_harness!($name, $kind, false);
    };
    ($name:ident, $kind:expr, indexed) => {
        db_harness!($name, $kind, true);
    };
    ($name:ident, $kind:expr, $indexed:literal) => {
        /// A Directory over a `DbBackend` on a fresh database.
        pub struct $name {
            directory: clientele_directory::Directory,
            fixture: $crate::common::Fixture,
        }

        #[async_trait::async_trait]
        impl clientele_directory::conformance::Harness for $name {
            async fn setup() -> Self {
                let fixture =
                    $crate::common::Fixture::with_config($kind, clientele_db::DbConfig::default())
                        .await;
                let db = std::sync::Arc::clone(&fixture.db);
                if $indexed {
                    db.enable_search_indexes().await.expect("search indexes");
                }
                let directory = clientele_directory::Directory::builder()
                    .writable_source(db.clone())
                    .company_store(db.clone())
                    .relation_store(db.clone())
                    .preference_store(db)
                    .build()
                    .expect("directory over the db backend");
                $name { directory, fixture }
            }

            fn directory(&self) -> &clientele_directory::Directory {
                &self.directory
            }

            async fn teardown(self) {
                drop(self.directory);
                self.fixture.finish().await;
            }
        }
    };
}

/// Adds a valid user per last name: logins `u00`, `u01`, …, first name `first`, email
/// `<login>@acme-corp.com`, company `ACME`.
pub async fn add_users_named(
    db: &(dyn clientele_backend::CustomerUserWriter + Send + Sync),
    first: &str,
    last_names: &[impl AsRef<str>],
) {
    use clientele_model::{AttributeMap, EmailCheck, NewCustomerUser, Rules};

    let map = AttributeMap::otobo_customer_user();
    let email = EmailCheck::default();
    for (i, last) in last_names.iter().enumerate() {
        let login = format!("u{i:02}");
        let user = NewCustomerUser::new(
            &login,
            first,
            last.as_ref(),
            &format!("{login}@acme-corp.com"),
            "ACME",
        )
        .validate(&Rules {
            map: &map,
            email: &email,
        })
        .unwrap();
        db.add(&user, None, &"1".into()).await.unwrap();
    }
}

/// Connecting to `url` (a server URL whose port nothing listens on) is refused with its cause,
/// from one direct attempt, not as a pool that timed out after `acquire_timeout_ms`; the URL's
/// password (which must contain `Pw0rd`) is not in the error's text.
pub async fn assert_refused_with_cause(url: &str) {
    let e = match DbBackend::connect(url, DbConfig::default()).await {
        Err(e) => e,
        Ok(_) => panic!("nothing listens on {url}"),
    };
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(" | ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    assert!(
        matches!(e, clientele_backend::Error::Unavailable { .. }),
        "{e:?}"
    );
    assert!(text.to_lowercase().contains("refused"), "{text}");
    assert!(!text.contains("pool timed out"), "{text}");
    assert!(!text.contains("Pw0rd"), "{text}");
}
