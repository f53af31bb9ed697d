//! Search at scale on PostgreSQL, SQLite and MySQL/MariaDB: Clientele's search
//! (`DbBackend::search`, the statement the backend builds, over the opt-in
//! `enable_search_indexes`) side by side with **the SQL OTOBO issues for the same term**
//! (reference §3.2/§4), on the same generated users; plus a cached vs uncached lookup by login
//! through the Directory. One run covers every engine selected; each gets its own database and
//! its own table of medians.
//!
//! ```sh
//! cargo bench --bench search                             # SQLite only (the default feature)
//! cargo bench --bench search --features postgres,mysql   # all three
//! CLIENTELE_BENCH_ENGINES=mysql cargo bench --bench search --features mysql
//! ```
//!
//! Environment:
//! * `CLIENTELE_BENCH_ENGINES` — comma list of `postgres`, `sqlite`, `mysql` (also
//!   `postgresql`, `mariadb`), run in that order; default every engine compiled in (features
//!   `sqlite` — on by default —, `postgres`, `mysql`), in the order PostgreSQL, SQLite, MySQL.
//!   Naming an engine whose feature is off is an error.
//! * `CLIENTELE_BENCH_POSTGRES_URL` — PostgreSQL server (default
//!   `postgres://postgres@127.0.0.1:5432`); the benchmark creates the database
//!   `clientele_bench` on it.
//! * `CLIENTELE_BENCH_MYSQL_URL` — MySQL/MariaDB server (default `mysql://root@127.0.0.1:3306`);
//!   the benchmark creates the database `clientele_bench` on it (utf8mb4, `utf8mb4_unicode_ci`,
//!   like OTOBO's MySQL schema).
//! * `CLIENTELE_BENCH_SQLITE_PATH` — the SQLite file (default
//!   `target/clientele_bench.sqlite3` in the workspace), opened with
//!   `clientele::db::connect_options` (which registers the `REGEXP` function and the
//!   `clientele_folded` collation the backend needs; WAL journal).
//! * `CLIENTELE_BENCH_USERS` — how many users on every engine; `CLIENTELE_BENCH_USERS_POSTGRES`,
//!   `CLIENTELE_BENCH_USERS_SQLITE`, `CLIENTELE_BENCH_USERS_MYSQL` override it for one engine.
//!   Defaults: 1 000 000 on PostgreSQL and SQLite, 100 000 on MySQL/MariaDB.
//! * `CLIENTELE_BENCH_CSV` — a file to which each engine's medians are appended as CSV
//!   (`engine,users,case,side,median_ns`), for the scaling plot of
//!   `benches/support/plot_scaling.py`.
//! * `CLIENTELE_BENCH_ONOFF_ROUNDS` — MySQL/MariaDB: rounds of the interleaved comparison of
//!   the trigram index on and off (default 2 001; a case stops after 20 s).
//! * `CLIENTELE_BENCH_KEEP=1` — keep the databases (and the SQLite file) afterwards; a later
//!   run with the same number of users reuses them instead of generating again (checked by the
//!   table `clientele_bench_meta`: number of users and seed). Without it they are dropped at
//!   the end.
//!
//! What runs against what, per engine:
//! * **Clientele** on `customer_user`, after `enable_search_indexes` (what that creates differs
//!   per engine, see `clientele_db::search_index_statements`), twice: `DbBackend::search_list`
//!   (the login and the list fields, which is what OTOBO's `CustomerSearch` returns, so the
//!   like-for-like comparison) and `DbBackend::search` (whole records, 19 columns parsed).
//! * **OTOBO's statement** (`CustomerSearch` with `SearchCaseSensitive` 0, `Prepare(Limit =>
//!   250)`) written out for that engine, values bound — with `$1` on PostgreSQL, with `?` (the
//!   value bound once per placeholder) on MySQL and SQLite:
//!   * `Search` (`QueryCondition`, §4): `LOWER(col) LIKE LOWER(?)` per search field on
//!     PostgreSQL; on MySQL plain `col LIKE ?`, because OTOBO treats MySQL as a
//!     case-insensitive database and leaves the case (and accents) to the column's collation;
//!   * `PostMasterSearch`: `LOWER(email) = LOWER(?)`; `CustomerID`: `LOWER(customer_id) LIKE
//!     LOWER(?)`, on every engine (these two depend only on `SearchCaseSensitive`).
//!   * OTOBO does not run on SQLite. There the statements take the shape OTOBO uses on the
//!     other case-sensitive databases, `LOWER(col) LIKE LOWER(?)` (SQLite's `LOWER` folds ASCII
//!     only, which is enough for the ASCII terms of the cases).
//!
//! OTOBO's statements run twice: on `otobo_customer_user`, a copy of the same rows
//! (`CREATE TABLE … AS SELECT * FROM customer_user`, taken before the search indexes are
//! built) with what OTOBO's own schema puts on that table that a search can use (unique
//! `login`; the foreign key `valid_id` → `valid(id)`, which InnoDB backs with an index) — what
//! an OTOBO installation runs —, and on `customer_user`
//! with Clientele's indexes (to show what the query shape alone gives). The ratios printed are
//! OTOBO-on-its-schema / Clientele, for the list search and for whole records. Before each case the row counts of both sides are printed
//! (and repeated in the table): the times are only comparable when they find the same users.

#[path = "support/gen.rs"]
mod datagen;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clientele::backend::CustomerUserSource;
use clientele::db::sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend as Engine, Statement,
    TransactionTrait, Value,
};
use clientele::db::{DbBackend, DbConfig};
use clientele::directory::Directory;
use clientele::model::search::{Expr, FieldSet, Pattern, SearchSyntax, UserQuery, parse_term};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

const SEED: u64 = 20_251_127;
/// The default name of the benchmark database (`CLIENTELE_BENCH_DB` overrides it).
const DEFAULT_DB_NAME: &str = "clientele_bench";

/// The benchmark database: `CLIENTELE_BENCH_DB`, which must start with `clientele_bench` and
/// hold only letters, digits and `_`, else `clientele_bench`.
fn db_name() -> String {
    match std::env::var("CLIENTELE_BENCH_DB") {
        Ok(name) if !name.is_empty() => {
            assert!(
                name.starts_with(DEFAULT_DB_NAME)
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "CLIENTELE_BENCH_DB must start with {DEFAULT_DB_NAME} and hold only letters, \
                 digits and _: {name:?}"
            );
            name
        }
        _ => DEFAULT_DB_NAME.to_owned(),
    }
}

/// A database engine the benchmark can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Postgres,
    Sqlite,
    MySql,
}

/// Every engine, in the default order.
const KINDS: [Kind; 3] = [Kind::Postgres, Kind::Sqlite, Kind::MySql];

impl Kind {
    /// The name in `CLIENTELE_BENCH_ENGINES`, the feature, and the benchmark ids.
    fn key(self) -> &'static str {
        match self {
            Kind::Postgres => "postgres",
            Kind::Sqlite => "sqlite",
            Kind::MySql => "mysql",
        }
    }

    fn parse(name: &str) -> Option<Kind> {
        match name.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Some(Kind::Postgres),
            "sqlite" | "sqlite3" => Some(Kind::Sqlite),
            "mysql" | "mariadb" => Some(Kind::MySql),
            _ => None,
        }
    }

    /// Whether the feature this engine needs is enabled in this build.
    fn compiled(self) -> bool {
        match self {
            Kind::Postgres => cfg!(feature = "postgres"),
            Kind::Sqlite => cfg!(feature = "sqlite"),
            Kind::MySql => cfg!(feature = "mysql"),
        }
    }

    fn engine(self) -> Engine {
        match self {
            Kind::Postgres => Engine::Postgres,
            Kind::Sqlite => Engine::Sqlite,
            Kind::MySql => Engine::MySql,
        }
    }

    /// How many users: `CLIENTELE_BENCH_USERS_<ENGINE>`, else `CLIENTELE_BENCH_USERS`, else
    /// 1 000 000 (100 000 on MySQL/MariaDB).
    fn users(self) -> usize {
        let default = match self {
            Kind::Postgres | Kind::Sqlite => 1_000_000,
            Kind::MySql => 100_000,
        };
        let var = format!("CLIENTELE_BENCH_USERS_{}", self.key().to_ascii_uppercase());
        env_usize(&var)
            .or_else(|| env_usize("CLIENTELE_BENCH_USERS"))
            .unwrap_or(default)
    }

    /// The URL of the benchmark database.
    fn url(self) -> String {
        match self {
            Kind::Postgres => format!("{}/{}", postgres_server(), db_name()),
            Kind::MySql => format!("{}/{}", mysql_server(), db_name()),
            Kind::Sqlite => format!("sqlite://{}", sqlite_path().display()),
        }
    }

    /// Brings one table into a settled state and refreshes its statistics, so both tables are
    /// compared as equals: `otobo_customer_user` is a freshly written copy, while
    /// `customer_user` carries what loading it with its indexes in place left behind (on
    /// MariaDB a scan of it took 2.5 times as long as the same scan of the copy until it was
    /// rebuilt). MariaDB: `OPTIMIZE TABLE` (a rebuild, then `ANALYZE`); PostgreSQL: `VACUUM
    /// ANALYZE` (hint bits and the visibility map); SQLite: `ANALYZE`.
    fn settle(self, table: &str) -> String {
        match self {
            Kind::MySql => format!("OPTIMIZE TABLE {table}"),
            Kind::Postgres => format!("VACUUM ANALYZE {table}"),
            Kind::Sqlite => format!("ANALYZE {table}"),
        }
    }

    /// The server's version, for the table heading.
    fn version_sql(self) -> &'static str {
        match self {
            Kind::Postgres => "SELECT 'PostgreSQL ' || current_setting('server_version')",
            Kind::Sqlite => "SELECT 'SQLite ' || sqlite_version()",
            Kind::MySql => "SELECT CONCAT('MySQL/MariaDB ', VERSION())",
        }
    }
}

fn env_usize(name: &str) -> Option<usize> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").trim().parse().ok())
}

/// The engines of `CLIENTELE_BENCH_ENGINES`, or every one compiled in.
fn engines() -> Vec<Kind> {
    let list = std::env::var("CLIENTELE_BENCH_ENGINES").unwrap_or_default();
    if list.trim().is_empty() {
        return KINDS.into_iter().filter(|k| k.compiled()).collect();
    }
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let kind = Kind::parse(name).unwrap_or_else(|| {
            panic!("CLIENTELE_BENCH_ENGINES: unknown engine {name:?} (postgres, sqlite, mysql)")
        });
        assert!(
            kind.compiled(),
            "CLIENTELE_BENCH_ENGINES names {name}, but this build lacks the `{0}` feature \
             (cargo bench --bench search --features {0})",
            kind.key()
        );
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    out
}

fn postgres_server() -> String {
    std::env::var("CLIENTELE_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_owned()
}

fn mysql_server() -> String {
    std::env::var("CLIENTELE_BENCH_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
        .trim_end_matches('/')
        .to_owned()
}

fn sqlite_path() -> PathBuf {
    std::env::var_os("CLIENTELE_BENCH_SQLITE_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/clientele_bench.sqlite3")
        })
}

fn keep() -> bool {
    std::env::var("CLIENTELE_BENCH_KEEP").is_ok_and(|v| v == "1")
}

async fn exec(conn: &DatabaseConnection, sql: &str) {
    conn.execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn scalar<T: clientele::db::sea_orm::TryGetable>(
    conn: &DatabaseConnection,
    sql: &str,
) -> Option<T> {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .ok()??;
    row.try_get_by_index::<T>(0).ok()
}

/// The server connection the database is created and dropped on (none for SQLite).
async fn admin(kind: Kind) -> Option<DatabaseConnection> {
    let url = match kind {
        Kind::Postgres => format!("{}/postgres", postgres_server()),
        Kind::MySql => mysql_server(),
        Kind::Sqlite => return None,
    };
    let conn = Database::connect(url).await.unwrap_or_else(|e| {
        panic!(
            "{} server reachable (scripts/test.sh starts it): {e}",
            kind.key()
        )
    });
    Some(conn)
}

/// Drops the benchmark database (SQLite: deletes the file and its WAL files).
async fn drop_database(kind: Kind) {
    match kind {
        Kind::Sqlite => {
            let path = sqlite_path();
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.clone().into_os_string();
                p.push(suffix);
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => panic!("remove {}: {e}", PathBuf::from(p).display()),
                }
            }
        }
        Kind::Postgres | Kind::MySql => {
            let admin = admin(kind).await.expect("server connection");
            let sql = match kind {
                Kind::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db_name()),
                _ => format!("DROP DATABASE IF EXISTS {}", db_name()),
            };
            exec(&admin, &sql).await;
            let _ = admin.close().await;
        }
    }
}

/// An empty benchmark database (an existing one is dropped first).
async fn create_database(kind: Kind) {
    drop_database(kind).await;
    match kind {
        Kind::Sqlite => {
            if let Some(dir) = sqlite_path().parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).expect("directory of the SQLite file");
            }
            // connect_options creates the missing file.
        }
        Kind::Postgres | Kind::MySql => {
            let admin = admin(kind).await.expect("server connection");
            let sql = match kind {
                Kind::Postgres => format!("CREATE DATABASE {} ENCODING 'UTF8'", db_name()),
                _ => format!(
                    "CREATE DATABASE {} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
                    db_name()
                ),
            };
            exec(&admin, &sql).await;
            let _ = admin.close().await;
        }
    }
}

/// The pool `DbBackend::connect` would open (its session settings, and on SQLite its `REGEXP`
/// function and collation, included); both sides' statements run on it.
async fn open(kind: Kind) -> Result<DatabaseConnection, String> {
    let url = kind.url();
    Database::connect(clientele::db::connect_options(&url, &DbConfig::default()))
        .await
        .map_err(|e| format!("{url}: {e}"))
}

/// `clientele_bench` on `kind` with `n` users, generated unless a kept database already holds
/// them.
async fn prepare(kind: Kind, n: usize) -> DatabaseConnection {
    let exists = match kind {
        Kind::Sqlite => sqlite_path().exists(),
        Kind::Postgres | Kind::MySql => true,
    };
    if exists && let Ok(conn) = open(kind).await {
        let have = scalar::<i64>(&conn, "SELECT n FROM clientele_bench_meta").await;
        let seed = scalar::<i64>(&conn, "SELECT seed FROM clientele_bench_meta").await;
        if have == Some(n as i64) && seed == Some(SEED as i64) {
            eprintln!(
                "search bench [{}]: reusing {} with {n} users",
                kind.key(),
                db_name()
            );
            // Indexes a newer Clientele adds (idempotent: existing ones are left alone).
            let t = Instant::now();
            clientele::db::enable_search_indexes(&conn)
                .await
                .expect("search indexes");
            eprintln!(
                "search bench [{}]: search indexes checked in {:.1?}",
                kind.key(),
                t.elapsed()
            );
            return conn;
        }
        let _ = conn.close().await;
    }
    create_database(kind).await;
    let conn = open(kind)
        .await
        .unwrap_or_else(|e| panic!("connect {}: {e}", db_name()));
    clientele::db::migrate(&conn).await.expect("migrate");

    let t = Instant::now();
    datagen::load(&conn, SEED, n).await.expect("load users");
    eprintln!(
        "search bench [{}]: {n} users loaded in {:.1?}",
        kind.key(),
        t.elapsed()
    );

    // OTOBO's schema: the same rows, with OTOBO's own index and constraint on customer_user
    // that matter to a search: unique login, and the foreign key valid_id → valid(id) (on
    // MySQL/MariaDB InnoDB backs a foreign key with an index, which the planner may pick for
    // `valid_id IN (1)`; OTOBO's foreign keys on create_by/change_by point to its users table,
    // which this database does not have). Copied before the search indexes exist: they add
    // generated columns to customer_user, which `SELECT *` would copy as plain ones.
    let t = Instant::now();
    exec(
        &conn,
        "CREATE TABLE otobo_customer_user AS SELECT * FROM customer_user",
    )
    .await;
    exec(
        &conn,
        "CREATE UNIQUE INDEX otobo_customer_user_login ON otobo_customer_user (login)",
    )
    .await;
    if kind != Kind::Sqlite {
        exec(
            &conn,
            "ALTER TABLE otobo_customer_user ADD CONSTRAINT fk_otobo_customer_user_valid_id \
             FOREIGN KEY (valid_id) REFERENCES valid (id)",
        )
        .await;
    }
    eprintln!(
        "search bench [{}]: OTOBO copy in {:.1?}",
        kind.key(),
        t.elapsed()
    );

    let t = Instant::now();
    clientele::db::enable_search_indexes(&conn)
        .await
        .expect("search indexes");
    eprintln!(
        "search bench [{}]: search indexes built in {:.1?}",
        kind.key(),
        t.elapsed()
    );

    let t = Instant::now();
    exec(&conn, &kind.settle("customer_user")).await;
    exec(&conn, &kind.settle("otobo_customer_user")).await;
    exec(
        &conn,
        "CREATE TABLE clientele_bench_meta (n BIGINT NOT NULL, seed BIGINT NOT NULL)",
    )
    .await;
    exec(
        &conn,
        &format!("INSERT INTO clientele_bench_meta (n, seed) VALUES ({n}, {SEED})"),
    )
    .await;
    eprintln!(
        "search bench [{}]: tables settled and analysed in {:.1?}",
        kind.key(),
        t.elapsed()
    );
    conn
}

/// Which of OTOBO's `CustomerSearch` branches a case takes (reference §3.2).
#[derive(Clone, Copy)]
enum Otobo {
    /// `Search`: `QueryCondition` over the four default search fields.
    Search,
    /// `PostMasterSearch` over the one postmaster field, `email`.
    PostMaster,
    /// `CustomerID` with a wildcard.
    CustomerId,
}

/// OTOBO's default `CustomerUserSearchFields`.
const OTOBO_SEARCH_FIELDS: [&str; 4] = ["login", "first_name", "last_name", "customer_id"];

impl Otobo {
    /// The condition OTOBO writes on `kind` with `SearchCaseSensitive` 0.
    fn condition(self, kind: Kind) -> String {
        let p = match kind {
            Kind::Postgres => "$1",
            Kind::Sqlite | Kind::MySql => "?",
        };
        match self {
            // QueryCondition: MySQL counts as a case-insensitive database, so the plain
            // comparison (the collation decides); elsewhere `LOWER(k) LIKE LOWER(?)`.
            Otobo::Search => {
                let one = |c: &&str| match kind {
                    Kind::MySql => format!("{c} LIKE {p}"),
                    Kind::Postgres | Kind::Sqlite => format!("LOWER({c}) LIKE LOWER({p})"),
                };
                let parts: Vec<String> = OTOBO_SEARCH_FIELDS.iter().map(one).collect();
                format!("(({}))", parts.join(" OR "))
            }
            Otobo::PostMaster => format!("LOWER(email) = LOWER({p})"),
            Otobo::CustomerId => format!("LOWER(customer_id) LIKE LOWER({p})"),
        }
    }
}

/// One search case: Clientele's query and OTOBO's statement with its bound value.
struct Case {
    name: &'static str,
    query: UserQuery,
    otobo: Otobo,
    otobo_value: String,
}

fn syntax(prefix: &str, suffix: &str) -> SearchSyntax {
    SearchSyntax {
        prefix: prefix.into(),
        suffix: suffix.into(),
        ..SearchSyntax::default()
    }
}

fn user_query(fields: FieldSet, expr: Expr) -> UserQuery {
    UserQuery {
        fields,
        expr,
        valid_only: true,
        limit: 250,
        case_sensitive: false,
    }
}

fn cases(n: usize) -> Vec<Case> {
    let fields = FieldSet::SearchFields {
        exclude_customer_id: false,
    };
    // A valid user's email (one in twenty generated users is invalid and would find nothing).
    let email = (n * 2 / 3..n)
        .map(|i| datagen::user(SEED, i))
        .find(|u| u.valid_id == 1)
        .map(|u| u.email)
        .unwrap_or_default();
    let customer = datagen::company_id(n / datagen::USERS_PER_COMPANY / 3);
    // `globex-0012` → `globex-001*`: ten companies.
    let customer_wildcard = format!("{}*", &customer[..customer.len() - 1]);
    vec![
        Case {
            name: "rare substring *98765*",
            query: user_query(
                fields,
                parse_term("98765", &SearchSyntax::default()).unwrap(),
            ),
            otobo: Otobo::Search,
            otobo_value: "%98765%".into(),
        },
        Case {
            name: "common substring *ann* (limit 250)",
            query: user_query(fields, parse_term("ann", &SearchSyntax::default()).unwrap()),
            otobo: Otobo::Search,
            otobo_value: "%ann%".into(),
        },
        Case {
            name: "prefix smi* (prefix '')",
            query: user_query(fields, parse_term("smi", &syntax("", "*")).unwrap()),
            otobo: Otobo::Search,
            otobo_value: "smi%".into(),
        },
        Case {
            name: "exact email (postmaster)",
            query: user_query(
                FieldSet::PostmasterFields,
                Expr::Match(Pattern::exact(email.clone())),
            ),
            otobo: Otobo::PostMaster,
            otobo_value: email,
        },
        Case {
            name: "customer-id wildcard",
            query: user_query(
                FieldSet::CustomerId,
                Expr::Match(Pattern::from_wildcards(&customer_wildcard)),
            ),
            // OTOBO CustomerID: `*` → `%`, no implicit wrap.
            otobo: Otobo::CustomerId,
            otobo_value: customer_wildcard.replace('*', "%"),
        },
    ]
}

/// OTOBO's statement (`CustomerSearch`: key + list fields, validity, `Prepare(Limit => 250)`)
/// on `kind`: `$1` bound once on PostgreSQL, the value bound once per `?` elsewhere.
fn otobo_statement(kind: Kind, table: &str, case: &Case) -> Statement {
    let condition = case.otobo.condition(kind);
    let binds = match kind {
        Kind::Postgres => 1,
        Kind::Sqlite | Kind::MySql => condition.matches('?').count(),
    };
    Statement::from_sql_and_values(
        kind.engine(),
        format!(
            "SELECT login, first_name, last_name, email FROM {table} WHERE {condition} AND valid_id IN (1) LIMIT 250"
        ),
        vec![Value::from(case.otobo_value.clone()); binds],
    )
}

/// Per-iteration times of every sample, by benchmark id, for the medians printed at the end.
type Samples = Arc<Mutex<BTreeMap<String, Vec<Duration>>>>;

fn record(samples: &Samples, id: &str, iters: u64, total: Duration) {
    samples
        .lock()
        .unwrap()
        .entry(id.to_owned())
        .or_default()
        .push(total / iters.max(1) as u32);
}

/// `CLIENTELE_BENCH_CSV`: appends this run's medians, one line per case and side
/// (`engine,users,case,side,median_ns`), for `benches/support/plot_scaling.py`.
fn append_csv(path: &std::ffi::OsStr, kind: Kind, n: usize, get: &dyn Fn(&str) -> Duration) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("CLIENTELE_BENCH_CSV {path:?}: {e}"));
    for case in cases(n) {
        let group = format!("{} {}", kind.key(), case.name);
        for (side, id) in [
            ("clientele-list", "clientele-list"),
            ("clientele-records", "clientele"),
            ("otobo", "otobo"),
        ] {
            let median = get(&format!("{group}/{id}"));
            writeln!(
                file,
                "{},{n},\"{}\",{side},{}",
                kind.key(),
                case.name.replace('"', "\"\""),
                median.as_nanos()
            )
            .unwrap_or_else(|e| panic!("CLIENTELE_BENCH_CSV {path:?}: {e}"));
        }
    }
}

/// `CLIENTELE_BENCH_ONOFF_ROUNDS` (default 2 001): rounds of the interleaved on/off
/// comparison; a case stops early after 20 s (but not before 5 rounds), so fast cases get many
/// rounds and slow ones a few.
fn onoff_rounds() -> usize {
    env_usize("CLIENTELE_BENCH_ONOFF_ROUNDS")
        .unwrap_or(2001)
        .max(1)
}

/// Medians of `[list on, list off, records on, records off]` over interleaved rounds.
async fn interleave(on: &DbBackend, off: &DbBackend, query: &UserQuery) -> [Duration; 4] {
    let mut times: [Vec<Duration>; 4] = Default::default();
    let started = Instant::now();
    let rounds = onoff_rounds();
    for round in 0..rounds {
        for k in 0..4 {
            let which = (k + round) % 4;
            let backend = if which % 2 == 0 { on } else { off };
            let t = Instant::now();
            if which < 2 {
                backend.search_list(query).await.expect("list search");
            } else {
                backend.search(query).await.expect("search");
            }
            times[which].push(t.elapsed());
        }
        if round >= 4 && started.elapsed() > Duration::from_secs(20) {
            break;
        }
    }
    times.map(|v| median(&v))
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    if v.is_empty() {
        Duration::ZERO
    } else {
        v[v.len() / 2]
    }
}

/// Runs every case and the lookups on one engine; returns its markdown table.
fn bench_engine(c: &mut Criterion, rt: &Runtime, kind: Kind) -> String {
    let n = kind.users();
    let conn = rt.block_on(prepare(kind, n));
    let version = rt
        .block_on(scalar::<String>(&conn, kind.version_sql()))
        .unwrap_or_else(|| kind.key().to_owned());
    let mut config = DbConfig::default();
    config.settings.cache_ttl = 0;
    let db = Arc::new(
        DbBackend::from_connection(conn.clone(), config).expect("backend over clientele_bench"),
    );
    // MySQL/MariaDB: the same searches ignoring the trigram index, in the same run.
    let no_trigram = (kind == Kind::MySql).then(|| {
        let mut config = DbConfig::default();
        config.settings.cache_ttl = 0;
        Arc::new(
            DbBackend::from_connection(conn.clone(), config)
                .expect("backend over clientele_bench")
                .trigram_search(false),
        )
    });
    let samples: Samples = Arc::default();
    let mut rows = BTreeMap::new();
    let mut interleaved: BTreeMap<&str, [Duration; 4]> = BTreeMap::new();
    // MySQL/MariaDB: the statements a list search sends with the index and without, to tell a
    // difference of plans from a difference of measurements.
    let mut same_statements: BTreeMap<&str, bool> = BTreeMap::new();
    let traced_sql: Arc<Mutex<Vec<String>>> = Arc::default();
    let traced = {
        let mut conn = conn.clone();
        let sink = traced_sql.clone();
        conn.set_metric_callback(move |info| {
            sink.lock().unwrap().push(format!(
                "{} {:?}",
                info.statement.sql, info.statement.values
            ));
        });
        move |with_index: bool| {
            let mut config = DbConfig::default();
            config.settings.cache_ttl = 0;
            DbBackend::from_connection(conn.clone(), config)
                .expect("backend over clientele_bench")
                .trigram_search(with_index)
        }
    };

    for case in cases(n) {
        // Row counts first: the cases are only comparable if both find the same users.
        let ours = rt
            .block_on(db.search(&case.query))
            .expect("clientele search")
            .len();
        let listed = rt
            .block_on(db.search_list(&case.query))
            .expect("clientele list search")
            .len();
        assert_eq!(
            listed, ours,
            "search_list and search found different numbers of users"
        );
        let theirs = rt
            .block_on(conn.query_all_raw(otobo_statement(kind, "otobo_customer_user", &case)))
            .expect("otobo query")
            .len();
        eprintln!(
            "search bench [{}]: {:<36} clientele {ours:>3} rows, OTOBO {theirs:>3} rows{}",
            kind.key(),
            case.name,
            if ours == theirs { "" } else { "  (differ!)" }
        );
        rows.insert(case.name, (ours, theirs));
        if let Some(plain) = &no_trigram {
            let without = rt
                .block_on(plain.search(&case.query))
                .expect("clientele search without the trigram index")
                .len();
            assert_eq!(
                without, ours,
                "{}: the trigram index changed the number of users found",
                case.name
            );
        }

        let group = format!("{} {}", kind.key(), case.name);
        let mut g = c.benchmark_group(&group);
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3));
        let id = format!("{group}/clientele-list");
        g.bench_function("clientele-list", |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    rt.block_on(db.search_list(&case.query)).unwrap();
                }
                let e = t.elapsed();
                record(&samples, &id, iters, e);
                e
            })
        });
        let id = format!("{group}/clientele");
        g.bench_function("clientele", |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    rt.block_on(db.search(&case.query)).unwrap();
                }
                let e = t.elapsed();
                record(&samples, &id, iters, e);
                e
            })
        });
        if let Some(plain) = &no_trigram {
            let id = format!("{group}/clientele-list-no-trigram");
            g.bench_function("clientele-list-no-trigram", |b| {
                b.iter_custom(|iters| {
                    let t = Instant::now();
                    for _ in 0..iters {
                        rt.block_on(plain.search_list(&case.query)).unwrap();
                    }
                    let e = t.elapsed();
                    record(&samples, &id, iters, e);
                    e
                })
            });
            let id = format!("{group}/clientele-no-trigram");
            g.bench_function("clientele-no-trigram", |b| {
                b.iter_custom(|iters| {
                    let t = Instant::now();
                    for _ in 0..iters {
                        rt.block_on(plain.search(&case.query)).unwrap();
                    }
                    let e = t.elapsed();
                    record(&samples, &id, iters, e);
                    e
                })
            });
        }
        for (label, table) in [
            ("otobo", "otobo_customer_user"),
            ("otobo-sql-on-clientele-indexes", "customer_user"),
        ] {
            let id = format!("{group}/{label}");
            let stmt = otobo_statement(kind, table, &case);
            g.bench_function(label, |b| {
                b.iter_custom(|iters| {
                    let t = Instant::now();
                    for _ in 0..iters {
                        rt.block_on(conn.query_all_raw(stmt.clone())).unwrap();
                    }
                    let e = t.elapsed();
                    record(&samples, &id, iters, e);
                    e
                })
            });
        }
        g.finish();

        // The trigram index on and off, interleaved: criterion measures one function after
        // the other, so on a shared machine a change of load between them shows up as a
        // difference. Here every round calls all four in turn (the order rotating), so both
        // sides see the same conditions.
        if let Some(plain) = &no_trigram {
            interleaved.insert(case.name, rt.block_on(interleave(&db, plain, &case.query)));
            let sent = |with_index: bool| {
                traced_sql.lock().unwrap().clear();
                rt.block_on(traced(with_index).search_list(&case.query))
                    .expect("traced list search");
                std::mem::take(&mut *traced_sql.lock().unwrap())
            };
            same_statements.insert(case.name, sent(true) == sent(false));
        }
    }

    // The Directory's hot path: a lookup by login, cached vs uncached.
    let login = datagen::user(SEED, n / 2).login;
    let uncached = Directory::builder()
        .writable_source(db.clone())
        .build()
        .expect("directory");
    // Room for every login the cycling case below walks through.
    let cycled: Vec<String> = (0..n.min(CYCLED))
        .map(|i| datagen::user(SEED, i).login)
        .collect();
    let mut cached_config = DbConfig::default();
    cached_config.settings.cache_capacity = CYCLED + CYCLED / 4;
    let cached_db =
        Arc::new(DbBackend::from_connection(conn.clone(), cached_config).expect("cached backend"));
    let cached = Directory::builder()
        .writable_source(cached_db)
        .build()
        .expect("directory");
    let lookup = format!("{} lookup by login", kind.key());
    let mut g = c.benchmark_group(&lookup);
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for (label, dir) in [("uncached", &uncached), ("cached", &cached)] {
        let id = format!("{lookup}/{label}");
        g.bench_function(label, |b| {
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    assert!(rt.block_on(dir.customer_user(&login)).unwrap().is_some());
                }
                let e = t.elapsed();
                record(&samples, &id, iters, e);
                e
            })
        });
    }
    // The cached hit alone: the loop inside one `block_on`, so the runtime's entry is not
    // what is measured. `customer_user` copies the record out of the cache;
    // `customer_user_shared` hands out the cached `Arc`.
    for (label, shared) in [
        ("cached, one block_on", false),
        ("cached shared, one block_on", true),
    ] {
        let id = format!("{lookup}/{label}");
        g.bench_function(label, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let t = Instant::now();
                    for _ in 0..iters {
                        if shared {
                            assert!(cached.customer_user_shared(&login).await.unwrap().is_some());
                        } else {
                            assert!(cached.customer_user(&login).await.unwrap().is_some());
                        }
                    }
                    let e = t.elapsed();
                    record(&samples, &id, iters, e);
                    e
                })
            })
        });
    }
    // Many different cached users in turn: the cache's size and the processor's caches count.
    rt.block_on(async {
        for l in &cycled {
            assert!(cached.customer_user_shared(l).await.unwrap().is_some());
        }
    });
    let id = format!("{lookup}/cycling");
    g.bench_function("cached shared, cycling", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for i in 0..iters as usize {
                    let l = &cycled[i % cycled.len()];
                    assert!(cached.customer_user_shared(l).await.unwrap().is_some());
                }
                let e = t.elapsed();
                record(&samples, &id, iters, e);
                e
            })
        })
    });
    // Copied hits cycling too: the same loop the code before the bounded cache can run
    // (it had no shared look-up), for the comparison in docs/benchmarks.md.
    let id = format!("{lookup}/cycling copied");
    g.bench_function("cached copied, cycling", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let t = Instant::now();
                for i in 0..iters as usize {
                    let l = &cycled[i % cycled.len()];
                    assert!(cached.customer_user(l).await.unwrap().is_some());
                }
                let e = t.elapsed();
                record(&samples, &id, iters, e);
                e
            })
        })
    });
    g.finish();

    // The table: medians per case and the ratio OTOBO / Clientele.
    let s = samples.lock().unwrap();
    let get = |id: &str| s.get(id).map(|v| median(v)).unwrap_or_default();
    let mut out = format!("\nSearch on {version}, {n} customer users (median per call)\n\n");
    out.push_str(
        "| case | rows Clientele / OTOBO | Clientele list | OTOBO SQL, OTOBO schema | ratio | \
         Clientele records | ratio | OTOBO SQL, Clientele indexes |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    let ratio =
        |theirs: Duration, ours: Duration| theirs.as_secs_f64() / ours.as_secs_f64().max(1e-12);
    for case in cases(n) {
        let group = format!("{} {}", kind.key(), case.name);
        let list = get(&format!("{group}/clientele-list"));
        let records = get(&format!("{group}/clientele"));
        let theirs = get(&format!("{group}/otobo"));
        let theirs_idx = get(&format!("{group}/otobo-sql-on-clientele-indexes"));
        let (rows_ours, rows_theirs) = rows[case.name];
        out.push_str(&format!(
            "| {} | {rows_ours} / {rows_theirs} | {list:.3?} | {theirs:.3?} | {:.1}× | \
             {records:.3?} | {:.1}× | {theirs_idx:.3?} |\n",
            case.name,
            ratio(theirs, list),
            ratio(theirs, records),
        ));
    }
    if let Some(path) = std::env::var_os("CLIENTELE_BENCH_CSV") {
        append_csv(&path, kind, n, &get);
    }
    out.push_str(
        "\nClientele list: `search_list` (login and list fields, what OTOBO's statement \
         returns). Clientele records: `search` (whole records). Ratio: OTOBO on its schema / \
         Clientele.\n",
    );
    if kind == Kind::MySql {
        out.push_str(
            "\nMySQL/MariaDB, the trigram index on and off (the same run; ratio = OTOBO on its \
             schema / Clientele):\n\n| case | rows | list, trigram index | list, without | \
             ratio on | ratio off | records, trigram index | records, without | ratio on | \
             ratio off |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        );
        for case in cases(n) {
            let group = format!("{} {}", kind.key(), case.name);
            let theirs = get(&format!("{group}/otobo"));
            let list = get(&format!("{group}/clientele-list"));
            let list_off = get(&format!("{group}/clientele-list-no-trigram"));
            let records = get(&format!("{group}/clientele"));
            let records_off = get(&format!("{group}/clientele-no-trigram"));
            out.push_str(&format!(
                "| {} | {} | {list:.3?} | {list_off:.3?} | {:.1}× | {:.1}× | {records:.3?} | \
                 {records_off:.3?} | {:.1}× | {:.1}× |\n",
                case.name,
                rows[case.name].0,
                ratio(theirs, list),
                ratio(theirs, list_off),
                ratio(theirs, records),
                ratio(theirs, records_off),
            ));
        }
    }
    if !interleaved.is_empty() {
        out.push_str(&format!(
            "\nMySQL/MariaDB, the trigram index on and off, interleaved ({} rounds at most, \
             each calling all four in turn; on / off = time with the index over time without, \
             1.00 or less means the index does not slow the case; same statements: whether a \
             list search sends the very same SQL and values either way):\n\n| case | same \
             statements | list on | list off | on / off | records on | records off | on / off \
             |\n|---|---|---:|---:|---:|---:|---:|---:|\n",
            onoff_rounds()
        ));
        for case in cases(n) {
            let Some([l_on, l_off, r_on, r_off]) = interleaved.get(case.name) else {
                continue;
            };
            out.push_str(&format!(
                "| {} | {} | {l_on:.3?} | {l_off:.3?} | {:.2} | {r_on:.3?} | {r_off:.3?} | {:.2} \
                 |\n",
                case.name,
                if same_statements.get(case.name) == Some(&true) {
                    "yes"
                } else {
                    "no"
                },
                l_on.as_secs_f64() / l_off.as_secs_f64().max(1e-12),
                r_on.as_secs_f64() / r_off.as_secs_f64().max(1e-12),
            ));
        }
    }
    if kind == Kind::Sqlite {
        out.push_str(
            "\nOTOBO does not run on SQLite: its columns use OTOBO's statement shape \
             `LOWER(col) LIKE LOWER(?)`.\n",
        );
    }
    let un = get(&format!("{lookup}/uncached"));
    let ca = get(&format!("{lookup}/cached"));
    out.push_str("\n| lookup by login | median |\n|---|---:|\n");
    out.push_str(&format!(
        "| uncached ({}) | {un:.3?} |\n| cached (Directory) | {ca:.3?} |\n",
        kind.key()
    ));
    out.push_str(&format!(
        "| ratio | {:.0}× |\n",
        un.as_secs_f64() / ca.as_secs_f64().max(1e-12)
    ));
    out.push_str(&format!(
        "| cached, loop in one `block_on` (record copied) | {:.3?} |\n\
         | cached shared, loop in one `block_on` | {:.3?} |\n\
         | cached shared, cycling {} logins | {:.3?} |\n\
         | cached copied, cycling | {:.3?} |\n",
        get(&format!("{lookup}/cached, one block_on")),
        get(&format!("{lookup}/cached shared, one block_on")),
        cycled.len(),
        get(&format!("{lookup}/cycling")),
        get(&format!("{lookup}/cycling copied")),
    ));
    drop(s);
    if kind == Kind::MySql {
        out.push_str(&mysql_write_overhead(c, rt, &conn, n));
        out.push_str(&mysql_trigram_size(rt, &conn));
    }

    drop(uncached);
    drop(cached);
    drop(db);
    rt.block_on(async {
        let _ = conn.close().await;
        if !keep() {
            drop_database(kind).await;
        }
    });
    out
}

/// MySQL/MariaDB: the triggers of the trigram index.
const TRIGRAM_TRIGGERS: [&str; 3] = [
    "clientele_customer_user_trigram_ai",
    "clientele_customer_user_trigram_au",
    "clientele_customer_user_trigram_ad",
];

/// MySQL/MariaDB: what the trigram index's triggers add to a write — OTOBO-style statements on
/// `customer_user` (an insert, an update of a search column, an update of another column),
/// each timed alone inside a transaction that is then rolled back (so the table and the index
/// stay as they are), with the triggers and without them (dropped for the measurement and
/// created again afterwards). Returns a markdown table of medians.
fn mysql_write_overhead(
    c: &mut Criterion,
    rt: &Runtime,
    conn: &DatabaseConnection,
    n: usize,
) -> String {
    let create: Vec<String> = clientele::db::search_index_statements(Engine::MySql)
        .into_iter()
        .filter(|s| s.starts_with("CREATE TRIGGER"))
        .collect();
    assert_eq!(create.len(), 3, "three trigger statements");
    let writes: [(&str, WriteStatement); 3] = [
        (
            "insert",
            Box::new(|i| {
                Statement::from_sql_and_values(
                    Engine::MySql,
                    "INSERT INTO customer_user (login, email, customer_id, first_name, last_name, \
                     valid_id, create_time, create_by, change_time, change_by) VALUES (?, ?, \
                     'globex-0001', 'Benchmark', 'Wrïter', 1, NOW(), 1, NOW(), 1)",
                    [
                        format!("bench.writer{i}").into(),
                        format!("bench.writer{i}@example.com").into(),
                    ],
                )
            }),
        ),
        (
            "update last_name",
            Box::new(move |i| {
                Statement::from_sql_and_values(
                    Engine::MySql,
                    "UPDATE customer_user SET last_name = ?, change_time = NOW() WHERE id = ?",
                    [
                        format!("Renamed{i}").into(),
                        (1 + (i * 7919) % n as u64).into(),
                    ],
                )
            }),
        ),
        (
            "update phone",
            Box::new(move |i| {
                Statement::from_sql_and_values(
                    Engine::MySql,
                    "UPDATE customer_user SET phone = ?, change_time = NOW() WHERE id = ?",
                    [
                        format!("+49 {i}").into(),
                        (1 + (i * 7919) % n as u64).into(),
                    ],
                )
            }),
        ),
    ];
    let samples: Samples = Arc::default();
    let counter = std::sync::atomic::AtomicU64::new(0);
    for triggers in [true, false] {
        if !triggers {
            for t in TRIGRAM_TRIGGERS {
                rt.block_on(exec(conn, &format!("DROP TRIGGER IF EXISTS {t}")));
            }
        }
        let label = if triggers {
            "with triggers"
        } else {
            "without triggers"
        };
        let mut g = c.benchmark_group(format!("mysql writes {label}"));
        g.sample_size(20)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(2));
        for (name, statement) in &writes {
            let id = format!("{name}/{label}");
            g.bench_function(*name, |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let mut spent = Duration::ZERO;
                        for _ in 0..iters {
                            let i = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let txn = conn.begin().await.expect("transaction");
                            let t = Instant::now();
                            txn.execute_raw(statement(i)).await.expect("write");
                            spent += t.elapsed();
                            txn.rollback().await.expect("rollback");
                        }
                        record(&samples, &id, iters, spent);
                        spent
                    })
                })
            });
        }
        g.finish();
    }
    for sql in &create {
        rt.block_on(exec(conn, sql));
    }
    let s = samples.lock().unwrap();
    let get = |id: &str| s.get(id).map(|v| median(v)).unwrap_or_default();
    let mut out = String::from(
        "\nOTOBO-style writes on customer_user (median per statement, rolled back):\n\n\
         | write | with the trigram triggers | without | added |\n|---|---:|---:|---:|\n",
    );
    for (name, _) in &writes {
        let on = get(&format!("{name}/with triggers"));
        let off = get(&format!("{name}/without triggers"));
        out.push_str(&format!(
            "| {name} | {on:.3?} | {off:.3?} | {:.3?} |\n",
            on.saturating_sub(off)
        ));
    }
    out
}

/// MySQL/MariaDB: the trigram side table's rows and size on disk.
fn mysql_trigram_size(rt: &Runtime, conn: &DatabaseConnection) -> String {
    rt.block_on(async {
        let rows =
            scalar::<i64>(conn, "SELECT COUNT(*) FROM clientele_customer_user_trigram").await;
        exec(conn, "ANALYZE TABLE clientele_customer_user_trigram").await;
        let bytes = scalar::<i64>(
            conn,
            "SELECT CAST(DATA_LENGTH AS SIGNED), CAST(INDEX_LENGTH AS SIGNED) FROM \
             information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND \
             TABLE_NAME = 'clientele_customer_user_trigram'",
        )
        .await;
        let index = scalar::<i64>(
            conn,
            "SELECT CAST(INDEX_LENGTH AS SIGNED) FROM information_schema.TABLES WHERE \
             TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'clientele_customer_user_trigram'",
        )
        .await;
        let table = scalar::<i64>(
            conn,
            "SELECT CAST(DATA_LENGTH + INDEX_LENGTH AS SIGNED) FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'customer_user'",
        )
        .await;
        let mib = |b: Option<i64>| {
            b.map_or("?".to_owned(), |b| {
                format!("{:.0} MiB", b as f64 / 1048576.0)
            })
        };
        format!(
            "\nTrigram side table: {} rows; primary key (data) {}, trigram index {}; customer_user \
             itself (data and indexes) {}.\n",
            rows.map_or("?".to_owned(), |r| r.to_string()),
            mib(bytes),
            mib(index),
            mib(table)
        )
    })
}

/// How many cached logins the cycling look-up case walks through (at most the table's size).
const CYCLED: usize = 100_000;

fn bench(c: &mut Criterion) {
    let rt = Runtime::new().expect("tokio runtime");
    let kinds = engines();
    if kinds.is_empty() {
        eprintln!(
            "search bench: no engine selected (features sqlite, postgres, mysql; \
             CLIENTELE_BENCH_ENGINES)"
        );
        return;
    }
    let mut tables = Vec::new();
    for kind in kinds {
        let table = bench_engine(c, &rt, kind);
        // Printed as soon as the engine is done, and all together at the end.
        println!("{table}");
        tables.push(table);
    }
    if tables.len() > 1 {
        println!("\n## Search, every engine\n");
        for t in &tables {
            println!("{t}");
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);

/// Builds the statement of one timed write, for row `i`.
type WriteStatement = Box<dyn Fn(u64) -> Statement>;
