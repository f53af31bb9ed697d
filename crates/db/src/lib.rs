//! # clientele-db
//!
//! Clientele's SQL backend on [sea-orm]: customer users, companies, relations, grants, services
//! and preferences in SQLite (a file or memory; the default feature), PostgreSQL (feature
//! `postgres`) or MySQL/MariaDB (feature `mysql`) — in Clientele's own schema, created by
//! [`migrate`], or in an existing OTOBO/Znuny database, whose tables it shares.
//!
//! [`DbBackend`] implements every capability trait of [`clientele_backend`]:
//! [`CustomerUserSource`], [`CustomerUserWriter`], [`PasswordStore`], [`CompanyStore`],
//! [`RelationStore`] and [`PreferenceStore`]. It receives validated records and parsed
//! queries, and translates them into SQL built with sea-query — one statement per search,
//! every user value a bound parameter.
//!
//! ```
//! use clientele_backend::{CustomerUserSource, CustomerUserWriter};
//! use clientele_db::{DbBackend, DbConfig};
//! use clientele_model::search::{parse_term, FieldSet, SearchSyntax, UserQuery};
//! use clientele_model::{AttributeMap, EmailCheck, NewCustomerUser, Rules};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let db = DbBackend::connect("sqlite::memory:", DbConfig::default()).await?;
//! clientele_db::migrate(db.connection()).await?;
//!
//! // Normally the Directory validates and calls the traits; here we do it by hand.
//! let map = AttributeMap::otobo_customer_user();
//! let email = EmailCheck::default();
//! let jdoe = NewCustomerUser::new("jdoe", "John", "Doe", "john.doe@acme-corp.com", "ACME")
//!     .validate(&Rules { map: &map, email: &email })
//!     .unwrap();
//! db.add(&jdoe, None, &"1".into()).await?;
//!
//! let query = UserQuery {
//!     fields: FieldSet::SearchFields { exclude_customer_id: false },
//!     expr: parse_term("DO*", &SearchSyntax::default()).unwrap(),
//!     valid_only: true,
//!     limit: 250,
//!     case_sensitive: false,
//! };
//! let found = db.search(&query).await?;
//! assert_eq!(found[0].login.as_str(), "jdoe");
//! assert!(db.get("JDOE").await?.is_some());
//! # Ok::<(), clientele_backend::Error>(())
//! # }).unwrap();
//! ```
//!
//! See the crate's README for the schema, the constraints Clientele adds to OTOBO's, how email
//! uniqueness is kept under concurrent writers on each database, and how to point the backend
//! at an existing OTOBO database.
//!
//! [sea-orm]: https://www.sea-ql.org/SeaORM/
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod agents;
mod changes;
mod companies;
mod config;
mod dynamic_fields;
mod error;
mod import;
mod indexes;
mod lock;
pub mod migration;
mod preferences;
mod relations;
mod retry;
mod row;
mod schema;
mod search;
mod sql;
mod timeout;
mod trigram;
mod url;
mod users;

use std::sync::Arc;
use std::time::{Duration, Instant};

use clientele_backend::{Error, Result};
use clientele_model::Actor;
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

pub use changes::{ChangeFeedConfig, DbChangeFeed};
pub use clientele_backend::{
    CompanyStore, CustomerUserSource, CustomerUserWriter, PasswordStore, PreferenceStore,
    RelationStore,
};
pub use clientele_backend::{ImportReport, ImportRow, RejectedRow};
pub use config::DbConfig;
pub use error::DatabaseFailure;
pub use import::ImportOptions;
pub use indexes::{enable_search_indexes, search_index_statements};
pub use migration::{
    Change, Conflict, ConflictKind, MigrateOptions, MigrationPlan, MigrationRefused, Migrator,
    ObjectKind, PlannedMerge, PlannedObject, PlannedStep, RowValues, migrate_with, plan_migration,
};
pub use schema::AddedColumn;
/// The sea-orm version this crate is built on, for naming its types (`DatabaseConnection`, …).
pub use sea_orm;
pub use trigram::{remove_trigram_index, trigram_index_problems};
pub use url::{redact_url, redact_urls_in, sqlite_file};

use crate::error::{Failure, map_db_err};
use crate::indexes::SearchIndexes;
use crate::row::UserLayout;
use crate::sql::Dialect;

/// A customer-user, company, relation and preference store in a SQL database.
///
/// Cheap to share: wrap it in an `Arc` and hand clones to a `Directory`. The connection pool
/// inside is sea-orm's (sqlx's).
pub struct DbBackend {
    conn: DatabaseConnection,
    config: DbConfig,
    dialect: Dialect,
    users: UserLayout,
    /// The search indexes last found on the user table, and when.
    indexes: std::sync::Mutex<Option<(Instant, Arc<SearchIndexes>)>>,
    /// Whether searches may use the MySQL/MariaDB trigram index ([`DbBackend::trigram_search`]).
    trigram_search: bool,
    /// The agent table and the audit actors found in it.
    agents: agents::Agents,
    /// The dynamic fields the map's `dynamic_field` rows name, last loaded and when.
    dynamic: dynamic_fields::Cached,
    /// Whether the database has OTOBO's `dynamic_field_obj_id_name`, once looked up.
    dynamic_objects: tokio::sync::OnceCell<bool>,
}

/// How long a backend trusts what it found of the search indexes before it looks again.
const INDEX_RECHECK: Duration = Duration::from_secs(60);

impl std::fmt::Debug for DbBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbBackend")
            .field("name", &self.config.settings.name)
            .field("dialect", &self.dialect)
            .field("table", &self.config.table)
            .finish_non_exhaustive()
    }
}

fn is_sqlite_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// The sea-orm connect options [`DbBackend::connect`] uses for `url`: pool size and timeouts
/// from `config`; for SQLite also the `REGEXP` function and the `clientele_folded` collation
/// (case-insensitive search and ordering need them), a busy timeout, WAL journaling for files, creating a missing file, and exactly one
/// connection for an in-memory database; for PostgreSQL `plan_cache_mode = force_custom_plan`
/// (a search's best plan depends on its term, see docs/benchmarks.md).
///
/// Use it to open a [`DatabaseConnection`] yourself for [`DbBackend::from_connection`].
pub fn connect_options(url: &str, config: &DbConfig) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.acquire_timeout(Duration::from_millis(config.acquire_timeout_ms))
        .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        let memory = is_sqlite_memory(url);
        if memory {
            // Every connection to `sqlite::memory:` would be a database of its own: keep one,
            // forever.
            opts.max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        } else {
            opts.max_connections(config.max_connections);
        }
        #[cfg(feature = "sqlite")]
        {
            let busy = Duration::from_millis(config.sqlite_busy_timeout_ms);
            opts.map_sqlx_sqlite_opts(move |o| {
                let o = o
                    .with_regexp()
                    .collation(sql::FOLDED_COLLATION, |a: &str, b: &str| {
                        a.to_lowercase().cmp(&b.to_lowercase())
                    })
                    .busy_timeout(busy)
                    .create_if_missing(true);
                if memory {
                    o
                } else {
                    o.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                }
            });
        }
    } else {
        opts.max_connections(config.max_connections);
        #[cfg(feature = "postgres")]
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Every statement is planned for its values (PostgreSQL 12 or later). Prepared
            // statements are cached per connection, and after five runs PostgreSQL may switch
            // one to a generic plan that ignores its values. A search's best plan depends on
            // its term: trigram indexes for a rare one (`*98765*`), a scan that stops at the
            // first matches for a common one (`*ann*`); a generic plan picked after rare terms
            // ran `*ann*` through the trigram bitmaps, 5× slower (docs/benchmarks.md).
            opts.map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_custom_plan")]));
        }
    }
    opts
}

impl DbBackend {
    /// Connects to `url` (`sqlite::memory:`, `sqlite:///path/to/file.db`,
    /// `postgres://user@host/db`, `mysql://user@host/db`) and checks the configuration.
    ///
    /// An unreachable server is [`Error::Unavailable`]. The schema is not touched: run
    /// [`migrate`] for Clientele's own schema or the constraints on an OTOBO database.
    ///
    /// When the attribute map has rows of storage type `dynamic_field`, the fields they name
    /// are checked in OTOBO's `dynamic_field` table: a missing, invalid or non-`CustomerUser`
    /// field, or a database without the dynamic-field tables (Clientele does not create them),
    /// is an [`Error::MapRow`] naming the row.
    pub async fn connect(url: &str, config: DbConfig) -> Result<DbBackend> {
        config.check()?;
        probe_server(url, &config)
            .await
            .map_err(|e| url::without_secrets(e, url))?;
        let conn = Database::connect(connect_options(url, &config))
            .await
            .map_err(|e| {
                url::without_secrets(
                    map_db_err(&config.settings.name, config.connect_timeout_ms, e),
                    url,
                )
            })?;
        let db = DbBackend::from_connection(conn, config)?;
        db.check_dynamic_fields().await?;
        Ok(db)
    }

    /// A backend over a connection opened elsewhere. For SQLite the connection must have the
    /// `REGEXP` function and the `clientele_folded` collation registered: open it with
    /// [`connect_options`]; without them searches fail with a backend error naming what is
    /// missing. The fields of dynamic-field map rows are checked at their first use (see
    /// [`connect`](Self::connect)).
    pub fn from_connection(conn: DatabaseConnection, config: DbConfig) -> Result<DbBackend> {
        config.check()?;
        let dialect = Dialect::of(conn.get_database_backend());
        let users = UserLayout::new(&config);
        Ok(DbBackend {
            conn,
            config,
            dialect,
            users,
            indexes: std::sync::Mutex::default(),
            trigram_search: true,
            agents: agents::Agents::default(),
            dynamic: std::sync::Mutex::default(),
            dynamic_objects: tokio::sync::OnceCell::new(),
        })
    }

    /// Creates the opt-in search indexes on `customer_user` ([`enable_search_indexes`]) and
    /// uses them from this backend's next search on.
    pub async fn enable_search_indexes(&self) -> Result<()> {
        enable_search_indexes(&self.conn).await?;
        *self.lock_indexes() = None;
        Ok(())
    }

    /// Whether searches use the MySQL/MariaDB trigram index of
    /// [`enable_search_indexes`] when they find it (the default). Off, they search as without
    /// it, while its triggers keep it exact: to compare the two, or to rule it out.
    pub fn trigram_search(mut self, on: bool) -> DbBackend {
        self.trigram_search = on;
        self
    }

    fn lock_indexes(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Arc<SearchIndexes>)>> {
        self.indexes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The search indexes on the user table: looked up on the first search and again a minute
    /// later (indexes another process creates are picked up then). On PostgreSQL, whose planner
    /// finds expression indexes by itself, the look-up is for the `clientele_search` column.
    pub(crate) async fn search_indexes(&self) -> Result<Arc<SearchIndexes>> {
        if let Some((at, found)) = self.lock_indexes().as_ref()
            && at.elapsed() < INDEX_RECHECK
        {
            return Ok(Arc::clone(found));
        }
        let mut found = SearchIndexes::find(&self.conn, &self.config.table)
            .await
            .map_err(|e| self.err(e))?;
        if !self.trigram_search {
            found.trigram = None;
        }
        let found = Arc::new(found);
        *self.lock_indexes() = Some((Instant::now(), Arc::clone(&found)));
        Ok(found)
    }

    /// The connection pool (to run [`migrate`], or queries of your own).
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// The configuration.
    pub fn config(&self) -> &DbConfig {
        &self.config
    }

    fn name(&self) -> &str {
        &self.config.settings.name
    }

    fn company_name(&self) -> &str {
        &self.config.company_settings.name
    }

    fn err(&self, e: sea_orm::DbErr) -> Error {
        map_db_err(self.name(), self.timeout_ms(), e)
    }

    fn company_err(&self, e: sea_orm::DbErr) -> Error {
        map_db_err(self.company_name(), self.timeout_ms(), e)
    }

    fn timeout_ms(&self) -> u64 {
        match self.dialect {
            Dialect::Sqlite => self
                .config
                .sqlite_busy_timeout_ms
                .max(self.config.acquire_timeout_ms),
            _ => self.config.acquire_timeout_ms,
        }
    }

    fn fail(&self, f: Failure) -> Error {
        match f {
            Failure::Api(e) => e,
            Failure::Db(e) => self.err(e),
        }
    }

    fn company_fail(&self, f: Failure) -> Error {
        match f {
            Failure::Api(e) => e,
            Failure::Db(e) => self.company_err(e),
        }
    }
}

/// One direct connection to a database server before its pool is made, within
/// `connect_timeout_ms`: a server that refuses (a wrong port, a stopped server) or rejects the
/// login is reported at once and with its cause; one that does not answer at all is
/// [`Error::Unavailable`] once `connect_timeout_ms` has passed, saying so. The pool would retry until
/// `acquire_timeout_ms` and then report only that it timed out. Any other URL (SQLite, a
/// mistyped scheme) is left to the pool, which names what is wrong with it.
async fn probe_server(url: &str, config: &DbConfig) -> Result<()> {
    // Only the server drivers built in have something to probe.
    #[cfg(not(any(feature = "postgres", feature = "mysql")))]
    let _ = url;
    let name = &config.settings.name;
    let millis = config.connect_timeout_ms;
    let attempt = async {
        #[cfg(feature = "postgres")]
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            use sea_orm::sqlx::Connection as _;
            return sea_orm::sqlx::postgres::PgConnection::connect(url)
                .await?
                .close()
                .await;
        }
        #[cfg(feature = "mysql")]
        if url.starts_with("mysql://") || url.starts_with("mariadb://") {
            use sea_orm::sqlx::Connection as _;
            return sea_orm::sqlx::mysql::MySqlConnection::connect(url)
                .await?
                .close()
                .await;
        }
        Ok(())
    };
    match tokio::time::timeout(Duration::from_millis(millis), attempt).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(map_db_err(
            name,
            millis,
            sea_orm::DbErr::Conn(sea_orm::RuntimeErr::SqlxError(Arc::new(e))),
        )),
        // Not the query timeout's `Error::Timeout`: nothing answered the connection at all,
        // which the person reading the error fixes in the URL or the network, not in a limit.
        Err(_) => Err(Error::Unavailable {
            backend: name.clone(),
            source: format!(
                "no answer within connect_timeout_ms = {millis} ms while connecting to {}",
                redact_url(url)
            )
            .into(),
        }),
    }
}

/// Applies Clientele's migrations without coexistence: [`migrate_with`] with the default
/// [`MigrateOptions`]. Creates the OTOBO tables that are missing and adds the constraints
/// correctness needs, after checking that the rows allow them (see [`plan_migration`]). Safe to
/// run on every start and on an existing OTOBO database that OTOBO no longer writes (see the
/// README); beside a running OTOBO use [`migrate_with`] with [`MigrateOptions::coexist`].
pub async fn migrate(conn: &DatabaseConnection) -> Result<()> {
    migrate_with(conn, MigrateOptions::default())
        .await
        .map(|_| ())
}

/// An [`Error::Ambiguous`]: a look-up of `key` by `field` in `backend` matched the stored values
/// `matches`, none of them exactly.
fn ambiguous(
    entity: clientele_backend::Entity,
    field: &str,
    key: &str,
    matches: Vec<String>,
    backend: &str,
) -> Error {
    Error::Ambiguous {
        entity,
        field: field.to_owned(),
        key: key.to_owned(),
        matches,
        backend: backend.to_owned(),
    }
}

/// The current time in seconds since the epoch.
fn now_epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// OTOBO's audit columns hold agent ids: an agent's own, or OTOBO's system agent for anybody
/// else (see [`Actor::audit_agent_id`]).
fn agent_id(by: &Actor) -> i32 {
    by.audit_agent_id().get()
}

/// The audit cells of a new row (`create_time`, `create_by`, `change_time`, `change_by`): the
/// values the record carries (an import keeps them), `now` and `agent` for the missing ones. A
/// recorded actor that is no agent id (a name from another kind of store) is recorded as
/// `agent`, since the columns hold ids.
fn new_audit_cells(
    audit: &clientele_model::Audit,
    now: i64,
    agent: i32,
) -> [sea_orm::sea_query::Value; 4] {
    use sea_orm::sea_query::Value;
    let by = |recorded: &Option<String>| {
        let id = recorded
            .as_deref()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .filter(|id| *id >= 1)
            .unwrap_or(agent);
        Value::Int(Some(id))
    };
    [
        row::time_value(audit.created_at.unwrap_or(now)),
        by(&audit.created_by),
        row::time_value(audit.changed_at.unwrap_or(now)),
        by(&audit.changed_by),
    ]
}
