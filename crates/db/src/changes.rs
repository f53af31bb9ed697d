//! A [`ChangeFeed`] through the database the instances share: PostgreSQL `LISTEN`/`NOTIFY`,
//! and on MySQL/MariaDB and SQLite the `clientele_change_log` table, polled.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use clientele_backend::changes::{Change, ChangeFeed, Delivery};
use clientele_backend::{Error, Result};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Order, Query, Value};
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::error::map_db_err;
use crate::row::{read_int, read_text};
use crate::sql::{Dialect, col};
use crate::{DbBackend, now_epoch};

/// The change-log table (MySQL/MariaDB, SQLite), created by [`migrate`](crate::migrate).
pub(crate) const CHANGE_LOG: &str = "clientele_change_log";

fn t(name: &str) -> Alias {
    Alias::new(name)
}

/// How a [`DbChangeFeed`] behaves. The defaults suit most installations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangeFeedConfig {
    /// The `NOTIFY` channel (PostgreSQL). Instances that should hear each other use the same
    /// one. Default `clientele_changes`.
    pub channel: String,
    /// How often the change log is read (MySQL/MariaDB, SQLite), in milliseconds: the longest
    /// another instance serves a stale record after a write, plus the query's time.
    /// Default 1 000.
    pub poll_interval_ms: u64,
    /// How long rows stay in the change log, in seconds (MySQL/MariaDB, SQLite). A reader that
    /// could not read for longer drops all its caches. Default 3 600.
    pub retention_secs: u64,
}

impl Default for ChangeFeedConfig {
    fn default() -> Self {
        ChangeFeedConfig {
            channel: "clientele_changes".into(),
            poll_interval_ms: 1_000,
            retention_secs: 3_600,
        }
    }
}

impl ChangeFeedConfig {
    fn check(&self) -> Result<()> {
        let c = &self.channel;
        if c.is_empty()
            || c.len() > 63
            || !c.starts_with(|ch: char| ch.is_ascii_lowercase() || ch == '_')
            || !c
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_')
        {
            return Err(Error::Config(format!(
                "change feed channel {c:?}: use 1–63 lower-case ASCII letters, digits or _, \
                 not starting with a digit"
            )));
        }
        if self.poll_interval_ms == 0 {
            return Err(Error::Config(
                "change feed poll_interval_ms must be at least 1".into(),
            ));
        }
        if self.retention_secs < 60 {
            return Err(Error::Config(
                "change feed retention_secs must be at least 60".into(),
            ));
        }
        Ok(())
    }
}

/// What travels between instances.
#[derive(Serialize, Deserialize)]
struct Envelope {
    /// The announcing instance.
    i: String,
    /// The change.
    c: Change,
}

/// The position before the first change: the log's ids start at 1.
const BEFORE_FIRST_CHANGE: i64 = 0;
/// Prune the change log on every this-many announcements of an instance.
const PRUNE_EVERY: u64 = 256;
/// Rows read per poll.
const BATCH: u64 = 1_000;
/// How long an id below the highest one seen is waited for (a writer that took its id before
/// another but committed after it) before it is taken for a rolled-back insert.
const GAP_WAIT: Duration = Duration::from_secs(30);
/// At most this many missing ids are waited for; more means ids are not dense (e.g. a
/// Galera cluster's `auto_increment_increment`) and the reader falls back on a gap.
const GAPS_MAX: usize = 10_000;

/// Clientele's change feed on the shared database. Create one per Directory with
/// [`DbChangeFeed::new`], pass it to `DirectoryBuilder::change_feed`, and call
/// `Directory::follow_changes`:
///
/// - **PostgreSQL**: each write is announced with `NOTIFY` on the configured channel and heard
///   by every instance that `LISTEN`s on it, at once (one pooled connection is kept for
///   listening). A lost listening connection is reported as a gap.
/// - **MySQL/MariaDB and SQLite**: each write adds a row to `clientele_change_log` (created by
///   [`migrate`](crate::migrate)); every instance reads new rows every `poll_interval_ms`.
///   Rows older than `retention_secs` are pruned by the writers.
///
/// ```
/// use std::sync::Arc;
/// use clientele_directory::Directory;
/// use clientele_db::{ChangeFeedConfig, DbBackend, DbChangeFeed, DbConfig};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let db = Arc::new(DbBackend::connect("sqlite::memory:", DbConfig::default()).await?);
/// clientele_db::migrate(db.connection()).await?;
/// let feed = DbChangeFeed::new(&db, ChangeFeedConfig::default())?;
/// let dir = Directory::builder()
///     .writable_source(db.clone())
///     .relation_store(db.clone())
///     .change_feed(Arc::new(feed))
///     .build()?;
/// dir.follow_changes()?;
/// # Ok::<(), clientele_backend::Error>(())
/// # }).unwrap();
/// ```
pub struct DbChangeFeed {
    conn: DatabaseConnection,
    dialect: Dialect,
    name: String,
    config: ChangeFeedConfig,
    /// The backend's `query_timeout_ms`: bounds each announcement and each read of the log.
    timeout: Option<Duration>,
    instance: String,
    published: AtomicU64,
    reader: Mutex<Reader>,
}

enum Reader {
    /// Not reading yet.
    Idle,
    #[cfg(feature = "postgres")]
    Listening(sqlx::postgres::PgListener),
    Polling(Poll),
}

struct Poll {
    /// The highest id read.
    last: i64,
    /// Ids below `last` not seen yet, with when they were first missed.
    missing: BTreeMap<i64, Instant>,
    /// When the log was last read.
    read_at: Instant,
}

impl std::fmt::Debug for DbChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbChangeFeed")
            .field("backend", &self.name)
            .field("instance", &self.instance)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl DbChangeFeed {
    /// A feed over `backend`'s database, sharing its connection pool.
    pub fn new(backend: &DbBackend, config: ChangeFeedConfig) -> Result<DbChangeFeed> {
        config.check()?;
        Ok(DbChangeFeed {
            conn: backend.connection().clone(),
            dialect: backend.dialect,
            name: backend.config().settings.name.clone(),
            timeout: backend.config().query_timeout(),
            config,
            instance: format!("{:032x}", rand::random::<u128>()),
            published: AtomicU64::new(0),
            reader: Mutex::new(Reader::Idle),
        })
    }

    /// Checks that the feed can work on this database: on MySQL/MariaDB and SQLite the
    /// change log must exist ([`migrate`](crate::migrate) creates it).
    pub async fn check(&self) -> Result<()> {
        if self.dialect == Dialect::Postgres {
            return Ok(());
        }
        self.max_id().await.map(|_| ()).map_err(|e| match e {
            Error::Backend { .. } => Error::Config(format!(
                "the change feed needs the {CHANGE_LOG} table, which is missing or unreadable \
                 ({e}): run `clientele init` on this database (from Rust: clientele_db::migrate)"
            )),
            other => other,
        })
    }

    /// This instance's random id, as it appears in announcements.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    fn err(&self, e: sea_orm::DbErr) -> Error {
        map_db_err(&self.name, 0, e)
    }

    fn encode(&self, change: &Change) -> Result<String> {
        serde_json::to_string(&Envelope {
            i: self.instance.clone(),
            c: change.clone(),
        })
        .map_err(|e| Error::backend_failure(&self.name, e))
    }

    /// The change in `payload` unless this instance sent it; `Err` for a payload this
    /// version cannot read (the caller then drops everything).
    fn decode(&self, payload: &str) -> std::result::Result<Option<Change>, ()> {
        let e: Envelope = serde_json::from_str(payload).map_err(|_| ())?;
        Ok((e.i != self.instance).then_some(e.c))
    }

    async fn append(&self, payload: String) -> Result<()> {
        let now = now_epoch();
        let insert = Query::insert()
            .into_table(t(CHANGE_LOG))
            .columns([
                Alias::new("instance"),
                Alias::new("payload"),
                Alias::new("created_at"),
            ])
            .values_panic([
                Expr::val(self.instance.clone()),
                Expr::val(payload),
                Expr::val(now),
            ])
            .to_owned();
        self.conn.execute(&insert).await.map_err(|e| self.err(e))?;
        if self
            .published
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PRUNE_EVERY)
        {
            let horizon = now - i64::try_from(self.config.retention_secs).unwrap_or(i64::MAX);
            let delete = Query::delete()
                .from_table(t(CHANGE_LOG))
                .and_where(col("created_at").lt(horizon))
                .to_owned();
            self.conn.execute(&delete).await.map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    async fn max_id(&self) -> Result<i64> {
        let q = Query::select()
            .expr(Func::max(col("id")))
            .from(t(CHANGE_LOG))
            .to_owned();
        let row = self.conn.query_one(&q).await.map_err(|e| self.err(e))?;
        Ok(match row {
            // MAX over an empty log is NULL: nothing has been announced yet.
            Some(r) => match read_int(&r, 0).map_err(|e| self.err(e))? {
                Some(newest) => newest,
                None => BEFORE_FIRST_CHANGE,
            },
            None => BEFORE_FIRST_CHANGE,
        })
    }

    /// One read of the log: `None` when nothing new came from other instances.
    async fn poll_once(&self, poll: &mut Poll) -> Result<Option<Delivery>> {
        let now = Instant::now();
        let retention = Duration::from_secs(self.config.retention_secs);
        if now.duration_since(poll.read_at) > retention / 2 {
            // Rows this reader never saw may have been pruned meanwhile.
            poll.last = self.max_id().await?;
            poll.missing.clear();
            poll.read_at = Instant::now();
            return Ok(Some(Delivery::Gap));
        }
        poll.missing
            .retain(|_, at| now.duration_since(*at) < GAP_WAIT);
        let mut cond = col("id").gt(poll.last);
        if !poll.missing.is_empty() {
            let ids: Vec<Value> = poll
                .missing
                .keys()
                .take(crate::sql::IN_LIST_MAX)
                .map(|id| Value::BigInt(Some(*id)))
                .collect();
            cond = cond.or(col("id").is_in(ids));
        }
        let q = Query::select()
            .exprs([col("id"), col("instance"), col("payload")])
            .from(t(CHANGE_LOG))
            .and_where(cond)
            .order_by(Alias::new("id"), Order::Asc)
            .limit(BATCH)
            .to_owned();
        let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
        poll.read_at = Instant::now();
        let mut changes = Vec::new();
        let mut unreadable = false;
        for r in &rows {
            let id = crate::row::read_id(r, 0).map_err(|e| self.err(e))?;
            let instance = read_text(r, 1)
                .map_err(|e| self.err(e))?
                .unwrap_or_default();
            let payload = read_text(r, 2)
                .map_err(|e| self.err(e))?
                .unwrap_or_default();
            if poll.missing.remove(&id).is_none() && id > poll.last {
                for skipped in poll.last + 1..id {
                    poll.missing.insert(skipped, now);
                }
                poll.last = id;
            }
            if instance == self.instance {
                continue;
            }
            match self.decode(&payload) {
                Ok(Some(c)) => changes.push(c),
                Ok(None) => {}
                Err(()) => unreadable = true,
            }
        }
        if unreadable || poll.missing.len() > GAPS_MAX {
            poll.missing.clear();
            return Ok(Some(Delivery::Gap));
        }
        Ok((!changes.is_empty()).then_some(Delivery::Changes(changes)))
    }

    #[cfg(feature = "postgres")]
    async fn listen(&self) -> Result<sqlx::postgres::PgListener> {
        let pool = self.conn.get_postgres_connection_pool();
        let mut l = sqlx::postgres::PgListener::connect_with(pool)
            .await
            .map_err(|e| self.unavailable(e))?;
        l.listen(&self.config.channel)
            .await
            .map_err(|e| self.unavailable(e))?;
        Ok(l)
    }

    #[cfg(feature = "postgres")]
    fn unavailable(&self, e: sqlx::Error) -> Error {
        Error::Unavailable {
            backend: self.name.clone(),
            source: Box::new(e),
        }
    }

    #[cfg(feature = "postgres")]
    async fn receive(&self, l: &mut sqlx::postgres::PgListener) -> Result<Delivery> {
        loop {
            let first = match l.try_recv().await {
                Ok(Some(n)) => n,
                // The connection was lost (and is being re-established): notifications sent
                // meanwhile are gone.
                Ok(None) => return Ok(Delivery::Gap),
                Err(e) => return Err(self.unavailable(e)),
            };
            let mut changes = Vec::new();
            let mut next = Some(first);
            while let Some(n) = next {
                match self.decode(n.payload()) {
                    Ok(Some(c)) => changes.push(c),
                    Ok(None) => {}
                    Err(()) => return Ok(Delivery::Gap),
                }
                next = l.next_buffered();
            }
            if !changes.is_empty() {
                return Ok(Delivery::Changes(changes));
            }
        }
    }

    /// `op` under the backend's query timeout.
    async fn bounded<T>(&self, op: impl Future<Output = Result<T>>) -> Result<T> {
        let Some(limit) = self.timeout else {
            return op.await;
        };
        tokio::time::timeout(limit, op).await.unwrap_or_else(|_| {
            Err(Error::Timeout {
                backend: self.name.clone(),
                millis: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            })
        })
    }
}

#[async_trait]
impl ChangeFeed for DbChangeFeed {
    async fn publish(&self, change: &Change) -> Result<()> {
        self.bounded(self.publish_now(change)).await
    }

    async fn next(&self) -> Result<Delivery> {
        let mut reader = self.reader.lock().await;
        loop {
            match &mut *reader {
                Reader::Idle => {
                    let started = self
                        .bounded(async {
                            Ok(match self.dialect {
                                #[cfg(feature = "postgres")]
                                Dialect::Postgres => Reader::Listening(self.listen().await?),
                                _ => Reader::Polling(Poll {
                                    last: self.max_id().await?,
                                    missing: BTreeMap::new(),
                                    read_at: Instant::now(),
                                }),
                            })
                        })
                        .await?;
                    *reader = started;
                    // Whatever was cached before the feed was read may be stale.
                    return Ok(Delivery::Gap);
                }
                // Waiting for a notification has no time limit: silence is normal.
                #[cfg(feature = "postgres")]
                Reader::Listening(l) => return self.receive(l).await,
                Reader::Polling(poll) => {
                    if let Some(d) = self.bounded(self.poll_once(poll)).await? {
                        return Ok(d);
                    }
                    tokio::time::sleep(Duration::from_millis(self.config.poll_interval_ms)).await;
                }
            }
        }
    }
}

impl DbChangeFeed {
    async fn publish_now(&self, change: &Change) -> Result<()> {
        let payload = self.encode(change)?;
        match self.dialect {
            Dialect::Postgres => {
                let q = Query::select()
                    .expr(self.dialect.cust(
                        "pg_notify({}, {})",
                        vec![Expr::val(self.config.channel.clone()), Expr::val(payload)],
                    ))
                    .to_owned();
                self.conn.query_one(&q).await.map_err(|e| self.err(e))?;
                Ok(())
            }
            Dialect::MySql | Dialect::Sqlite => self.append(payload).await,
        }
    }
}
