//! Opt-in indexes for searches over large tables: [`enable_search_indexes`], and what the
//! backend finds of them on its user table ([`SearchIndexes`]).
//!
//! Not part of [`migrate`](crate::migrate): an index costs disk space and write time, and on an
//! OTOBO database an administrator should choose when to build it.

use std::collections::HashMap;

use clientele_backend::Result;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend as Engine, DbErr, Statement};

use crate::error::map_db_err;

/// The table [`enable_search_indexes`] indexes.
pub(crate) const TABLE: &str = "customer_user";

/// The columns of Clientele's default search fields (OTOBO `CustomerUserSearchFields`) and the
/// postmaster field, with their length in Clientele's own schema.
const SEARCH_COLUMNS: &[(&str, u32)] = &[
    ("login", 191),
    ("first_name", 100),
    ("last_name", 100),
    ("customer_id", 150),
    ("email", 150),
];

/// The FTS5 table that indexes the search columns of user table `table` on SQLite.
pub(crate) fn fts_table(table: &str) -> String {
    format!("{table}_search")
}

/// The `COLLATE NOCASE` b-tree index on `column` of `table` on SQLite.
fn nocase_index(table: &str, column: &str) -> String {
    format!("{table}_{column}_nocase")
}

/// Prefix of the generated lower-case columns on MySQL/MariaDB.
const LOWERED: &str = "clientele_lc_";

/// PostgreSQL: the stored generated column holding the lower-cased search columns, joined.
pub(crate) const SEARCH_TEXT: &str = "clientele_search";

/// PostgreSQL: what separates the values in [`SEARCH_TEXT`] (no search value holds it: the
/// model refuses control characters).
const SEARCH_TEXT_SEPARATOR: &str = "E'\\x01'";

/// A search column as [`enable_search_indexes`] finds it on MySQL/MariaDB.
struct MySqlColumn {
    name: String,
    length: u32,
    charset: String,
}

/// The statements [`enable_search_indexes`] runs on a database of Clientele's own schema, in
/// order. Each is idempotent.
///
/// * **PostgreSQL**: the `pg_trgm` extension; a stored generated column `clientele_search`
///   holding the lower-cased search columns joined (a search that has to scan tests it first,
///   one `LIKE` on ready lower-case text instead of a `lower()` per field and row); per search
///   column (`login`, `first_name`, `last_name`, `customer_id`, `email`) a GIN trigram index
///   on `lower(col)` (serves `LOWER(col) LIKE LOWER('%term%')`, also with a leading wildcard)
///   and a b-tree `lower(col) text_pattern_ops` index (serves prefixes, `LIKE 'smi%'`, of any
///   length in every collation); and a b-tree on `login COLLATE "C"`, the order detail
///   searches sort by.
/// * **SQLite**: an FTS5 table `customer_user_search` with the trigram tokenizer over the search
///   columns, kept in step with `customer_user` by three triggers and filled once when it is
///   new (`'rebuild'`); and a `COLLATE NOCASE` b-tree per search column (prefixes).
/// * **MySQL/MariaDB**: per search column a generated column `clientele_lc_<col>`
///   (`LOWER(col)`, virtual, binary collation, so it takes no space in the rows) with a b-tree
///   index: it serves prefix and whole-value terms. No MariaDB index serves `*term*`; for
///   that, a trigram side table `clientele_customer_user_trigram` over `login`, `first_name`,
///   `last_name` and `customer_id`, kept exact by three triggers on `customer_user` and filled
///   once (in chunks of 50 000 users; the fill is listed as one statement), with the numbers
///   table `clientele_trigram_positions` its triggers cut values with (see
///   [`trigram_index_problems`](crate::trigram_index_problems) for the privileges it needs).
///   [`enable_search_indexes`] sizes each generated column from the real one, so on an OTOBO
///   database (`login VARCHAR(200)`) the statements differ in that length only.
pub fn search_index_statements(engine: Engine) -> Vec<String> {
    match engine {
        Engine::Postgres => postgres_statements(),
        Engine::MySql => {
            let columns: Vec<MySqlColumn> = SEARCH_COLUMNS
                .iter()
                .map(|(name, length)| MySqlColumn {
                    name: (*name).to_owned(),
                    length: *length,
                    charset: "utf8mb4".to_owned(),
                })
                .collect();
            let mut out: Vec<String> = columns.iter().flat_map(mysql_statements).collect();
            out.extend(crate::trigram::statements(TABLE));
            out
        }
        _ => {
            let mut out = sqlite_fts_statements();
            out.push(format!(
                "INSERT INTO {fts}({fts}) VALUES ('rebuild')",
                fts = fts_table(TABLE)
            ));
            out.extend(sqlite_nocase_statements());
            out
        }
    }
}

fn postgres_statements() -> Vec<String> {
    let joined = SEARCH_COLUMNS
        .iter()
        .map(|(c, _)| format!("coalesce(lower({c}), '')"))
        .collect::<Vec<_>>()
        .join(&format!(" || {SEARCH_TEXT_SEPARATOR} || "));
    let mut out = vec![
        "CREATE EXTENSION IF NOT EXISTS pg_trgm".to_owned(),
        format!(
            "ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS {SEARCH_TEXT} text \
             GENERATED ALWAYS AS ({joined}) STORED"
        ),
    ];
    for (c, _) in SEARCH_COLUMNS {
        out.push(format!(
            "CREATE INDEX IF NOT EXISTS {TABLE}_{c}_trgm ON {TABLE} \
             USING gin (lower({c}) gin_trgm_ops)"
        ));
        out.push(format!(
            "CREATE INDEX IF NOT EXISTS {TABLE}_{c}_lower_prefix ON {TABLE} \
             (lower({c}) text_pattern_ops)"
        ));
    }
    out.push(format!(
        "CREATE INDEX IF NOT EXISTS {TABLE}_login_c ON {TABLE} (login COLLATE \"C\")"
    ));
    out
}

/// The columns a [`SEARCH_TEXT`] column lower-cases, read from its generation expression as
/// PostgreSQL prints it (`COALESCE(lower((login)::text), ''::text) || …`).
fn search_text_columns(expression: &str) -> Vec<String> {
    SEARCH_COLUMNS
        .iter()
        .map(|(c, _)| *c)
        .filter(|c| {
            expression.contains(&format!("lower(({c})::text)"))
                || expression.contains(&format!("lower({c})"))
        })
        .map(str::to_owned)
        .collect()
}

/// The FTS5 table and its triggers (without the initial `'rebuild'`).
fn sqlite_fts_statements() -> Vec<String> {
    let fts = fts_table(TABLE);
    let cols: Vec<&str> = SEARCH_COLUMNS.iter().map(|(c, _)| *c).collect();
    let list = cols.join(", ");
    let new_values = cols
        .iter()
        .map(|c| format!("new.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let old_values = cols
        .iter()
        .map(|c| format!("old.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let insert = format!("INSERT INTO {fts}(rowid, {list}) VALUES (new.id, {new_values});");
    let delete =
        format!("INSERT INTO {fts}({fts}, rowid, {list}) VALUES ('delete', old.id, {old_values});");
    vec![
        // Trigrams, case folded, accents kept (`remove_diacritics` is off by default).
        format!(
            "CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5({list}, \
             content='{TABLE}', content_rowid='id', tokenize='trigram')"
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS {fts}_insert AFTER INSERT ON {TABLE} BEGIN {insert} END"
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS {fts}_delete AFTER DELETE ON {TABLE} BEGIN {delete} END"
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS {fts}_update AFTER UPDATE OF {list} ON {TABLE} \
             BEGIN {delete} {insert} END"
        ),
    ]
}

fn sqlite_nocase_statements() -> Vec<String> {
    SEARCH_COLUMNS
        .iter()
        .map(|(c, _)| {
            format!(
                "CREATE INDEX IF NOT EXISTS {} ON {TABLE} ({c} COLLATE NOCASE)",
                nocase_index(TABLE, c)
            )
        })
        .collect()
}

/// The generated column and its index for one column (MySQL/MariaDB).
fn mysql_statements(c: &MySqlColumn) -> [String; 2] {
    let name = &c.name;
    let charset = &c.charset;
    [
        format!(
            "ALTER TABLE {TABLE} ADD COLUMN {LOWERED}{name} VARCHAR({}) CHARACTER SET {charset} \
             COLLATE {charset}_bin AS (LOWER({name})) VIRTUAL",
            c.length
        ),
        format!("CREATE INDEX {TABLE}_{LOWERED}{name} ON {TABLE} ({LOWERED}{name})"),
    ]
}

/// Creates the search indexes of [`search_index_statements`] on the `customer_user` table.
/// Opt-in and idempotent; run it after [`migrate`](crate::migrate).
///
/// Searches need no other change: on PostgreSQL the planner picks the indexes for the
/// statements the backend already emits; on SQLite and MySQL/MariaDB a
/// [`DbBackend`](crate::DbBackend) notices them on its next search after
/// [`DbBackend::enable_search_indexes`](crate::DbBackend::enable_search_indexes), or within a
/// minute when another process made them, and shapes its statements to use them.
///
/// * PostgreSQL needs the `pg_trgm` extension (PostgreSQL's contrib package) and the right to
///   create it, and PostgreSQL 12 or later (generated columns). Adding `clientele_search`
///   rewrites the table once (under a minute for a million users, with the table locked).
///   Tools that write `customer_user` with `INSERT … SELECT *` or without a column list (OTOBO
///   does not) must leave it out.
/// * SQLite needs FTS5 with the trigram tokenizer (SQLite 3.34 or later, built in with the
///   bundled SQLite). Filling the index reads the whole table once (about half a minute for a
///   million users); later calls leave a filled index alone.
/// * MySQL/MariaDB: the generated columns are added only where missing, each as long as the
///   column it lowers and in its character set; adding an index rebuilds nothing else. Tools
///   that write `customer_user` with `INSERT … SELECT *` or without a column list (OTOBO does
///   not) must leave the `clientele_lc_` columns out. The trigram side table is built where
///   it is missing, incomplete or marked stale, from nothing, and left alone when complete
///   (about ten minutes per million users on the benchmark machine, docs/benchmarks.md); each chunk of its fill holds OTOBO's
///   writes to the users it reads until it is done. It needs the `TRIGGER` privilege: without
///   it (or, with binary logging on, without `SUPER` or `log_bin_trust_function_creators`)
///   nothing is changed and the error says what is missing. Tables whose search columns are not
///   UTF-8 text do not get it. [`remove_trigram_index`](crate::remove_trigram_index) removes it.
pub async fn enable_search_indexes(conn: &DatabaseConnection) -> Result<()> {
    let engine = conn.get_database_backend();
    let fail = |e: DbErr| map_db_err("search indexes", 0, e);
    match engine {
        Engine::Postgres => {
            for sql in postgres_statements() {
                conn.execute_unprepared(&sql).await.map_err(fail)?;
            }
        }
        Engine::MySql => {
            let problems = crate::trigram::trigram_index_problems(conn).await?;
            if !problems.is_empty() {
                return Err(fail(DbErr::Custom(problems.join("; "))));
            }
            let columns = mysql_columns(conn).await.map_err(fail)?;
            let lowered = mysql_lowered(&mysql_collations(conn, TABLE).await.map_err(fail)?);
            for c in &columns {
                let [add, index] = mysql_statements(c);
                if !lowered.contains_key(&c.name) {
                    conn.execute_unprepared(&add).await.map_err(fail)?;
                }
                if let Err(e) = conn.execute_unprepared(&index).await {
                    // No CREATE INDEX IF NOT EXISTS on MySQL: 1061 is "duplicate key name".
                    if !e.to_string().contains("1061") {
                        return Err(fail(e));
                    }
                }
            }
            crate::trigram::enable(conn).await.map_err(fail)?;
        }
        _ => {
            let new = !sqlite_has_table(conn, &fts_table(TABLE))
                .await
                .map_err(fail)?;
            for sql in sqlite_fts_statements() {
                conn.execute_unprepared(&sql).await.map_err(fail)?;
            }
            if new {
                let fts = fts_table(TABLE);
                conn.execute_unprepared(&format!("INSERT INTO {fts}({fts}) VALUES ('rebuild')"))
                    .await
                    .map_err(fail)?;
            }
            for sql in sqlite_nocase_statements() {
                conn.execute_unprepared(&sql).await.map_err(fail)?;
            }
        }
    }
    Ok(())
}

/// The search columns of `customer_user` on MySQL/MariaDB with their length and character set.
async fn mysql_columns(conn: &DatabaseConnection) -> std::result::Result<Vec<MySqlColumn>, DbErr> {
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            Engine::MySql,
            "SELECT COLUMN_NAME, CAST(CHARACTER_MAXIMUM_LENGTH AS SIGNED), CHARACTER_SET_NAME \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            [TABLE.into()],
        ))
        .await?;
    let mut found = HashMap::new();
    for r in rows {
        let name: String = r.try_get_by_index(0)?;
        let length: Option<i64> = r.try_get_by_index(1)?;
        let charset: Option<String> = r.try_get_by_index(2)?;
        found.insert(name.to_ascii_lowercase(), (length, charset));
    }
    let mut out = Vec::new();
    for (name, _) in SEARCH_COLUMNS {
        match found.get(*name) {
            Some((Some(length), Some(charset))) => out.push(MySqlColumn {
                name: (*name).to_owned(),
                length: u32::try_from(*length).unwrap_or(u32::MAX),
                charset: charset.clone(),
            }),
            // A column missing, or not text: nothing to index.
            _ => continue,
        }
    }
    Ok(out)
}

/// Column → its collation (empty for a column that is not text), for every column of `table`
/// on MySQL/MariaDB.
async fn mysql_collations(
    conn: &impl ConnectionTrait,
    table: &str,
) -> std::result::Result<HashMap<String, String>, DbErr> {
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            Engine::MySql,
            "SELECT COLUMN_NAME, COALESCE(COLLATION_NAME, '') FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            [table.into()],
        ))
        .await?;
    let mut out = HashMap::new();
    for r in rows {
        out.insert(r.try_get_by_index(0)?, r.try_get_by_index(1)?);
    }
    Ok(out)
}

/// Column → its generated lower-case column, among `collations`' columns.
fn mysql_lowered(collations: &HashMap<String, String>) -> HashMap<String, String> {
    collations
        .keys()
        .filter_map(|name| {
            let column = name.strip_prefix(LOWERED)?;
            Some((column.to_owned(), name.clone()))
        })
        .collect()
}

async fn sqlite_has_table(
    conn: &impl ConnectionTrait,
    name: &str,
) -> std::result::Result<bool, DbErr> {
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            Engine::Sqlite,
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
            [name.into()],
        ))
        .await?;
    Ok(row.is_some())
}

/// What a backend found of the search indexes (and, on MySQL, of the collations) of its user
/// table. PostgreSQL needs none of this: its planner picks expression indexes by itself.
#[derive(Debug, Default)]
pub(crate) struct SearchIndexes {
    /// SQLite: the FTS5 trigram table and the columns it covers.
    pub(crate) fts: Option<(String, Vec<String>)>,
    /// SQLite: columns with a `COLLATE NOCASE` b-tree.
    pub(crate) nocase: Vec<String>,
    /// MySQL/MariaDB: column → its generated lower-case column.
    pub(crate) lowered: HashMap<String, String>,
    /// MySQL/MariaDB: the table has an `id` column (OTOBO's tables do; a foreign table may
    /// not), so a search can scan for ids and read the records of its hits afterwards.
    pub(crate) has_id: bool,
    /// MySQL/MariaDB: text columns of a case-insensitive collation (`…_ci`), on which the
    /// collation's own `LIKE` can pre-filter (not an index: found on every MySQL table).
    pub(crate) folding: Vec<String>,
    /// MySQL/MariaDB: the trigram index ([`crate::trigram`]), when complete and exact.
    pub(crate) trigram: Option<crate::trigram::TrigramIndex>,
    /// PostgreSQL: the columns [`SEARCH_TEXT`] holds, lower-cased (empty when the table has no
    /// such column).
    pub(crate) search_text: Vec<String>,
}

impl SearchIndexes {
    /// Looks the indexes of user table `table` up.
    pub(crate) async fn find(
        conn: &impl ConnectionTrait,
        table: &str,
    ) -> std::result::Result<SearchIndexes, DbErr> {
        match conn.get_database_backend() {
            Engine::MySql => {
                let catalog = crate::trigram::catalog(conn, table).await?;
                let trigram = crate::trigram::find_in(conn, table, &catalog).await?;
                let collations = catalog.collations;
                Ok(SearchIndexes {
                    trigram,
                    lowered: mysql_lowered(&collations),
                    has_id: collations.contains_key("id"),
                    folding: collations
                        .into_iter()
                        .filter(|(_, collation)| collation.ends_with("_ci"))
                        .map(|(column, _)| column)
                        .collect(),
                    ..SearchIndexes::default()
                })
            }
            Engine::Sqlite => {
                let mut out = SearchIndexes::default();
                let fts = fts_table(table);
                if sqlite_has_table(conn, &fts).await? {
                    let rows = conn
                        .query_all_raw(Statement::from_sql_and_values(
                            Engine::Sqlite,
                            "SELECT name FROM pragma_table_info(?)",
                            [fts.clone().into()],
                        ))
                        .await?;
                    let columns = rows
                        .iter()
                        .map(|r| r.try_get_by_index::<String>(0))
                        .collect::<std::result::Result<Vec<_>, _>>()?;
                    out.fts = Some((fts, columns));
                }
                let rows = conn
                    .query_all_raw(Statement::from_sql_and_values(
                        Engine::Sqlite,
                        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
                        [table.into()],
                    ))
                    .await?;
                for r in rows {
                    let name: String = r.try_get_by_index(0)?;
                    if let Some(column) = name
                        .strip_prefix(&format!("{table}_"))
                        .and_then(|n| n.strip_suffix("_nocase"))
                    {
                        out.nocase.push(column.to_owned());
                    }
                }
                Ok(out)
            }
            Engine::Postgres => {
                let row = conn
                    .query_one_raw(Statement::from_sql_and_values(
                        Engine::Postgres,
                        "SELECT generation_expression FROM information_schema.columns \
                         WHERE table_schema = current_schema() AND table_name = $1 \
                         AND column_name = $2 AND is_generated = 'ALWAYS'",
                        [table.into(), SEARCH_TEXT.into()],
                    ))
                    .await?;
                let expression: Option<String> = match row {
                    Some(r) => r.try_get_by_index(0)?,
                    None => None,
                };
                Ok(SearchIndexes {
                    search_text: expression
                        .map(|e| search_text_columns(&e))
                        .unwrap_or_default(),
                    ..SearchIndexes::default()
                })
            }
            _ => Ok(SearchIndexes::default()),
        }
    }

    /// PostgreSQL: whether [`SEARCH_TEXT`] holds every one of `columns`.
    pub(crate) fn search_text_over(&self, columns: &[crate::row::Column]) -> bool {
        covers(&self.search_text, columns)
    }

    /// SQLite: the FTS table when it covers every one of `columns`.
    pub(crate) fn fts_over(&self, columns: &[crate::row::Column]) -> Option<&str> {
        let (table, covered) = self.fts.as_ref()?;
        covers(covered, columns).then_some(table.as_str())
    }
}

/// Whether `columns` are some text columns, every one of them among `covered`.
fn covers(covered: &[String], columns: &[crate::row::Column]) -> bool {
    !columns.is_empty()
        && columns
            .iter()
            .all(|c| c.is_text && covered.iter().any(|f| f == &c.name))
}
