//! MySQL/MariaDB: a trigram index for substring searches (`*98765*`), which no MariaDB index
//! serves (InnoDB full-text indexes find words, not pieces of them).
//!
//! Beside the user table sits a side table of (row id, trigram): every three consecutive
//! characters of the lower-cased [`COLUMNS`], one row per distinct trigram and user. Three
//! triggers on the user table keep it exact — whoever writes, Clientele or OTOBO beside it — and
//! nothing else writes it but the one-time fill. A search whose word has literal runs of three
//! characters or more reads the row ids having all of their trigrams first and compares only
//! those rows exactly ([`driver`], [`from_trigrams`]): the index narrows, the comparison decides,
//! so the results are the ones the scan finds.
//!
//! Objects (for user table `customer_user`):
//!
//! * `clientele_customer_user_trigram` (`clientele_user_id BIGINT`, `clientele_trigram
//!   VARBINARY(12)`; primary key (user, trigram), index (trigram, user));
//! * `clientele_trigram_positions`: the numbers 1 to 65 536, which cut a value into its
//!   trigrams in plain SQL (no stored function, so no `log_bin_trust_function_creators`);
//! * triggers `clientele_customer_user_trigram_ai`, `…_au`, `…_ad` (AFTER INSERT, UPDATE,
//!   DELETE). They raise nothing themselves and add no constraint to the user table. Should a
//!   statement of theirs fail on the side tables (dropped by hand, a `LOCK TABLES` without them)
//!   the write goes through and the index is marked stale instead — the *stale mark*, the row
//!   (0, `''`), which no trigram can be — and searches stop using it until
//!   [`enable_search_indexes`](crate::enable_search_indexes) rebuilds it. A deadlock or lock wait
//!   timeout is InnoDB's, as for any write to the table.
//!
//! The case rule is the search's: trigrams of `LOWER(col)` (the column's collation, as the
//! search's `LOWER(col) LIKE LOWER(?)`), compared as bytes; a term's trigrams are `LOWER(?)` of
//! its pieces, the very expression of the search's pattern. Every value matching a term then
//! holds each trigram of the term's literal runs: `LOWER()` maps one character to one character,
//! so a run's lower case is a piece of the value's lower case. A case-sensitive search lowers
//! the term in the columns' own collation instead (then the columns must share one).

use std::collections::HashMap;

use clientele_model::search::{Expr as Term, Part, Pattern};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, SelectStatement};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend as Engine, DbErr, Statement};

use crate::search::Matcher;
use crate::sql::{Dialect, tcol};

/// The columns the side table holds trigrams of: OTOBO's default search fields
/// (`CustomerUserSearchFields`). A search uses the index when all its fields are among them.
pub(crate) const COLUMNS: [&str; 4] = ["login", "first_name", "last_name", "customer_id"];

/// The numbers table that cuts values into trigrams.
pub(crate) const POSITIONS: &str = "clientele_trigram_positions";

/// How many numbers [`POSITIONS`] holds: the longest value a trigger can cut completely. A
/// covered column that can hold longer values (a `MEDIUMTEXT`) keeps the index unused.
const POSITION_COUNT: i64 = 65_536;

/// The side table's columns.
const USER_ID: &str = "clientele_user_id";
const TRIGRAM: &str = "clientele_trigram";

/// At most this many trigrams narrow one search (a join each); more would add work, not
/// precision.
const MAX_TRIGRAMS: usize = 6;

/// Users per statement of the fill, so OTOBO's writes wait for one chunk at most.
const FILL_CHUNK: i64 = 50_000;

/// MariaDB errors a trigger turns into the stale mark instead of failing the write: unknown
/// column or table, a table not locked under `LOCK TABLES`, and value errors.
const TOLERATED_ERRORS: &str = "1048, 1054, 1100, 1146, 1264, 1364, 1366, 1406";

/// The side table of user table `table`.
pub(crate) fn side_table(table: &str) -> String {
    format!("clientele_{table}_trigram")
}

/// The trigger of `table` for `event` (`ai`, `au`, `ad`).
fn trigger(table: &str, event: &str) -> String {
    format!("clientele_{table}_trigram_{event}")
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `value` lower-cased as the search lowers it, in `utf8mb4` with a binary collation, so the
/// pieces of every column compare as bytes.
fn lowered(value: &str) -> String {
    format!("CONVERT(LOWER({value}) USING utf8mb4) COLLATE utf8mb4_bin")
}

/// `SELECT <id>, <trigram>` for every trigram of the `values` (SQL expressions), each lowered.
fn trigrams_select(id: &str, values: &[String], filter: &str) -> String {
    let branches = values
        .iter()
        .map(|v| format!("SELECT {} AS t{filter}", lowered(v)))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    // STRAIGHT_JOIN: the values first, then a range of the numbers for each; the other way
    // round MariaDB compares every number with every value.
    format!(
        "SELECT {id}, CAST(SUBSTRING(v.t, p.n, 3) AS BINARY) FROM ({branches}) AS v \
         STRAIGHT_JOIN {POSITIONS} AS p ON p.n <= CHAR_LENGTH(v.t) - 2"
    )
}

/// The trigrams of the `NEW` row into the side table.
fn insert_new(table: &str) -> String {
    let values: Vec<String> = COLUMNS
        .iter()
        .map(|c| format!("NEW.{}", quote(c)))
        .collect();
    format!(
        "INSERT IGNORE INTO {} ({USER_ID}, {TRIGRAM}) {}",
        quote(&side_table(table)),
        trigrams_select("NEW.`id`", &values, "")
    )
}

/// The stale mark's row.
fn stale_mark(table: &str) -> String {
    format!(
        "INSERT IGNORE INTO {} ({USER_ID}, {TRIGRAM}) VALUES (0, '')",
        quote(&side_table(table))
    )
}

/// A trigger body: the handler that sets the stale mark, then `statements`.
fn trigger_body(table: &str, statements: &str) -> String {
    format!(
        "BEGIN DECLARE CONTINUE HANDLER FOR {TOLERATED_ERRORS} BEGIN \
         DECLARE CONTINUE HANDLER FOR SQLEXCEPTION BEGIN END; {}; END; {statements} END",
        stale_mark(table)
    )
}

/// The three triggers.
fn trigger_statements(table: &str) -> Vec<String> {
    let side = quote(&side_table(table));
    let t = quote(table);
    let delete_old = format!("DELETE FROM {side} WHERE {USER_ID} = OLD.`id`");
    // Compared as bytes: under a `_ci` collation `José` = `jose`, whose trigrams differ.
    let unchanged = std::iter::once("OLD.`id` <=> NEW.`id`".to_owned())
        .chain(COLUMNS.iter().map(|c| {
            let c = quote(c);
            format!("CAST(OLD.{c} AS BINARY) <=> CAST(NEW.{c} AS BINARY)")
        }))
        .collect::<Vec<_>>()
        .join(" AND ");
    vec![
        format!(
            "CREATE TRIGGER IF NOT EXISTS {} AFTER INSERT ON {t} FOR EACH ROW {}",
            quote(&trigger(table, "ai")),
            trigger_body(table, &format!("{};", insert_new(table)))
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS {} AFTER UPDATE ON {t} FOR EACH ROW {}",
            quote(&trigger(table, "au")),
            trigger_body(
                table,
                &format!(
                    "IF NOT ({unchanged}) THEN {delete_old}; {}; END IF;",
                    insert_new(table)
                )
            )
        ),
        format!(
            "CREATE TRIGGER IF NOT EXISTS {} AFTER DELETE ON {t} FOR EACH ROW {}",
            quote(&trigger(table, "ad")),
            trigger_body(table, &format!("{delete_old};"))
        ),
    ]
}

/// The numbers table and its rows (idempotent).
fn positions_statements() -> Vec<String> {
    let digits = (0..16)
        .map(|i| format!("SELECT {i} AS i"))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    vec![
        format!(
            "CREATE TABLE IF NOT EXISTS {POSITIONS} (n INT NOT NULL PRIMARY KEY) ENGINE=InnoDB"
        ),
        format!(
            "INSERT IGNORE INTO {POSITIONS} (n) SELECT 1 + a.i + 16 * b.i + 256 * c.i + 4096 * d.i \
             FROM ({digits}) AS a, ({digits}) AS b, ({digits}) AS c, ({digits}) AS d"
        ),
    ]
}

/// The side table, without its trigram index (added after the fill, sorted at once).
fn side_table_statement(table: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {} ({USER_ID} BIGINT NOT NULL, {TRIGRAM} VARBINARY(12) NOT NULL, \
         PRIMARY KEY ({USER_ID}, {TRIGRAM})) ENGINE=InnoDB",
        quote(&side_table(table))
    )
}

/// The side table's index by trigram, the one searches read.
fn trigram_index_statement(table: &str) -> String {
    let side = side_table(table);
    format!(
        "ALTER TABLE {} ADD INDEX IF NOT EXISTS {} ({TRIGRAM}, {USER_ID})",
        quote(&side),
        quote(&format!("{side}_by_trigram"))
    )
}

/// The fill: the trigrams of the users with `low < id <= high`, or of every user.
fn fill_statement(table: &str, range: Option<(i64, i64)>) -> String {
    let filter = match range {
        Some((low, high)) => format!(
            " FROM {} WHERE `id` > {low} AND `id` <= {high}",
            quote(table)
        ),
        None => format!(" FROM {}", quote(table)),
    };
    let values: Vec<String> = COLUMNS.iter().map(|c| quote(c)).collect();
    // Each branch selects `id` too: the union's rows are (id, t).
    let branches = values
        .iter()
        .map(|v| format!("SELECT `id` AS id, {} AS t{filter}", lowered(v)))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    format!(
        "INSERT IGNORE INTO {} ({USER_ID}, {TRIGRAM}) SELECT v.id, \
         CAST(SUBSTRING(v.t, p.n, 3) AS BINARY) FROM ({branches}) AS v \
         STRAIGHT_JOIN {POSITIONS} AS p ON p.n <= CHAR_LENGTH(v.t) - 2",
        quote(&side_table(table))
    )
}

fn clear_stale_mark(table: &str) -> String {
    format!(
        "DELETE FROM {} WHERE {USER_ID} = 0 AND {TRIGRAM} = ''",
        quote(&side_table(table))
    )
}

/// The statements that build the index on `table` from nothing, in order (the fill as one
/// statement; [`enable`] runs it in chunks of 50 000 users).
pub(crate) fn statements(table: &str) -> Vec<String> {
    let mut out = positions_statements();
    out.push(side_table_statement(table));
    out.push(stale_mark(table));
    out.extend(trigger_statements(table));
    out.push(fill_statement(table, None));
    out.push(trigram_index_statement(table));
    out.push(clear_stale_mark(table));
    out
}

/// The statements that remove the index from `table`: the triggers first, so no write ever
/// meets a trigger without its table.
pub(crate) fn removal_statements(table: &str) -> Vec<String> {
    let mut out: Vec<String> = ["ai", "au", "ad"]
        .iter()
        .map(|e| format!("DROP TRIGGER IF EXISTS {}", quote(&trigger(table, e))))
        .collect();
    out.push(format!(
        "DROP TABLE IF EXISTS {}",
        quote(&side_table(table))
    ));
    out
}

/// A covered column as the catalog describes it.
struct ColumnInfo {
    charset: String,
    collation: String,
    length: i64,
}

/// What one catalog statement tells of user table `table`: its columns, and whether the trigram
/// index's tables and triggers all exist.
pub(crate) struct Catalog {
    /// Column (as the catalog spells it) → its collation (empty for a column that is not text).
    pub(crate) collations: HashMap<String, String>,
    /// Column (lower case) → its character set, collation and length.
    columns: HashMap<String, ColumnInfo>,
    /// The side table, the numbers table and the three triggers exist.
    objects: bool,
}

/// Reads [`Catalog`] in one statement (a search's look-up of its indexes stays one statement
/// where there is no trigram index).
pub(crate) async fn catalog(conn: &impl ConnectionTrait, table: &str) -> Result<Catalog, DbErr> {
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(
            Engine::MySql,
            "SELECT COLUMN_NAME, COALESCE(CHARACTER_SET_NAME, ''), COALESCE(COLLATION_NAME, ''), \
             CAST(COALESCE(CHARACTER_MAXIMUM_LENGTH, 0) AS SIGNED), \
             (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
              AND TABLE_NAME IN (?, ?)), \
             (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() \
              AND EVENT_OBJECT_TABLE = ? AND TRIGGER_NAME IN (?, ?, ?)) \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            [
                side_table(table).into(),
                POSITIONS.into(),
                table.into(),
                trigger(table, "ai").into(),
                trigger(table, "au").into(),
                trigger(table, "ad").into(),
                table.into(),
            ],
        ))
        .await?;
    let mut out = Catalog {
        collations: HashMap::new(),
        columns: HashMap::new(),
        objects: false,
    };
    for r in rows {
        let name: String = r.try_get_by_index(0)?;
        let info = ColumnInfo {
            charset: r.try_get_by_index(1)?,
            collation: r.try_get_by_index(2)?,
            length: r.try_get_by_index(3)?,
        };
        let (tables, triggers): (i64, i64) = (r.try_get_by_index(4)?, r.try_get_by_index(5)?);
        out.objects = tables == 2 && triggers == 3;
        out.collations.insert(name.clone(), info.collation.clone());
        out.columns.insert(name.to_ascii_lowercase(), info);
    }
    Ok(out)
}

/// Why the covered columns of `table` cannot have the index, if they cannot: one missing, not
/// UTF-8 text, or able to hold values longer than [`POSITION_COUNT`] characters.
fn unsuitable(found: &HashMap<String, ColumnInfo>) -> Option<String> {
    if !found.contains_key("id") {
        return Some("the table has no id column".to_owned());
    }
    for c in COLUMNS {
        let Some(info) = found.get(c) else {
            return Some(format!("the table has no column {c}"));
        };
        if !matches!(info.charset.as_str(), "utf8mb4" | "utf8mb3" | "utf8") {
            return Some(format!(
                "column {c} is not UTF-8 text (character set {:?})",
                info.charset
            ));
        }
        if info.length > POSITION_COUNT {
            return Some(format!(
                "column {c} can hold {} characters, more than the {POSITION_COUNT} the triggers cut",
                info.length
            ));
        }
    }
    None
}

/// The one collation the covered columns share, as its `utf8mb4` twin (`utf8mb3_general_ci` →
/// `utf8mb4_general_ci`), for lowering a case-sensitive term the way the columns lower.
fn shared_collation(found: &HashMap<String, ColumnInfo>) -> Option<String> {
    let mut collations = COLUMNS
        .iter()
        .filter_map(|c| found.get(*c))
        .map(|i| i.collation.as_str());
    let first = collations.next()?;
    if !collations.all(|c| c == first) {
        return None;
    }
    let twin = match first.split_once('_') {
        Some(("utf8mb4", _)) => first.to_owned(),
        Some(("utf8mb3" | "utf8", rest)) => format!("utf8mb4_{rest}"),
        _ => return None,
    };
    // Inlined into statements: a catalog name, checked to be nothing but a name.
    twin.chars()
        .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        .then_some(twin)
}

/// The trigram index a backend found on its user table, ready for searches.
#[derive(Debug, Clone)]
pub(crate) struct TrigramIndex {
    /// The side table.
    side: String,
    /// The covered columns' shared collation (`utf8mb4` twin), when they share one: needed to
    /// serve case-sensitive searches.
    collation: Option<String>,
}

/// The trigram index of user table `table`, when it is complete and exact: the side table, the
/// numbers table and the three triggers exist ([`Catalog`]), the stale mark is absent, the
/// numbers go far enough, and the covered columns still suit ([`unsuitable`]).
pub(crate) async fn find_in(
    conn: &impl ConnectionTrait,
    table: &str,
    catalog: &Catalog,
) -> Result<Option<TrigramIndex>, DbErr> {
    if !catalog.objects || unsuitable(&catalog.columns).is_some() {
        return Ok(None);
    }
    let side = side_table(table);
    let row = conn
        .query_one_raw(Statement::from_string(
            Engine::MySql,
            format!(
                "SELECT (SELECT COUNT(*) FROM {} WHERE {USER_ID} = 0 AND {TRIGRAM} = ''), \
                 (SELECT CAST(COALESCE(MAX(n), 0) AS SIGNED) FROM {POSITIONS})",
                quote(&side)
            ),
        ))
        .await?;
    let Some(row) = row else { return Ok(None) };
    let (stale, positions): (i64, i64) = (row.try_get_by_index(0)?, row.try_get_by_index(1)?);
    if stale != 0 || positions < POSITION_COUNT {
        return Ok(None);
    }
    Ok(Some(TrigramIndex {
        side,
        collation: shared_collation(&catalog.columns),
    }))
}

/// What keeps the account on `conn` from creating the trigram index on `customer_user`, in
/// words; empty when nothing does, and on databases other than MySQL/MariaDB.
///
/// * the `TRIGGER` privilege on the table (held globally, on the database or on the table,
///   directly or through the current role);
/// * with binary logging on, MariaDB lets only an account with `SUPER` create triggers unless
///   `log_bin_trust_function_creators` is on.
///
/// The triggers are plain statements (no stored function), so nothing else is needed.
pub async fn trigram_index_problems(
    conn: &DatabaseConnection,
) -> clientele_backend::Result<Vec<String>> {
    if conn.get_database_backend() != Engine::MySql {
        return Ok(Vec::new());
    }
    let fail = |e: DbErr| crate::error::map_db_err("search indexes", 0, e);
    let grantee = "(CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', \
                   SUBSTRING_INDEX(CURRENT_USER(), '@', -1), ''''), \
                   CONCAT('''', COALESCE(CURRENT_ROLE(), ''), ''''))";
    let sql = format!(
        "SELECT \
         (SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES WHERE GRANTEE IN {grantee} \
          AND PRIVILEGE_TYPE = 'TRIGGER') + \
         (SELECT COUNT(*) FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE IN {grantee} \
          AND PRIVILEGE_TYPE = 'TRIGGER' AND DATABASE() LIKE TABLE_SCHEMA) + \
         (SELECT COUNT(*) FROM information_schema.TABLE_PRIVILEGES WHERE GRANTEE IN {grantee} \
          AND PRIVILEGE_TYPE = 'TRIGGER' AND TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?), \
         (SELECT COUNT(*) FROM information_schema.USER_PRIVILEGES WHERE GRANTEE IN {grantee} \
          AND PRIVILEGE_TYPE = 'SUPER'), \
         CAST(@@GLOBAL.log_bin AS SIGNED), CAST(@@GLOBAL.log_bin_trust_function_creators AS SIGNED), \
         CURRENT_USER()"
    );
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            Engine::MySql,
            sql,
            [crate::indexes::TABLE.into()],
        ))
        .await
        .map_err(fail)?;
    let Some(row) = row else {
        return Ok(Vec::new());
    };
    let get = |i: usize| row.try_get_by_index::<i64>(i).map_err(fail);
    let (trigger, superuser, log_bin, trusted) = (get(0)?, get(1)?, get(2)?, get(3)?);
    let user: String = row.try_get_by_index(4).map_err(fail)?;
    let mut out = Vec::new();
    if trigger == 0 {
        out.push(format!(
            "the account {user} lacks the TRIGGER privilege on customer_user, which the trigram \
             index's triggers need (GRANT TRIGGER ON <database>.* TO …)"
        ));
    }
    if log_bin != 0 && trusted == 0 && superuser == 0 {
        out.push(format!(
            "binary logging is on: MariaDB lets the account {user} create triggers only with the \
             SUPER privilege or with log_bin_trust_function_creators = 1"
        ));
    }
    Ok(out)
}

/// Builds the trigram index on [`crate::indexes::TABLE`] where it is missing, incomplete or
/// marked stale (from nothing: the old one is removed first); leaves a complete one alone.
/// Skipped, without error, when the table's covered columns do not suit ([`unsuitable`]).
pub(crate) async fn enable(conn: &DatabaseConnection) -> Result<(), DbErr> {
    let table = crate::indexes::TABLE;
    let found = catalog(conn, table).await?;
    if unsuitable(&found.columns).is_some() || find_in(conn, table, &found).await?.is_some() {
        return Ok(());
    }
    // Triggers first: from here on no write reaches a trigger whose table is missing.
    for sql in removal_statements(table) {
        conn.execute_unprepared(&sql).await?;
    }
    for sql in positions_statements() {
        conn.execute_unprepared(&sql).await?;
    }
    conn.execute_unprepared(&side_table_statement(table))
        .await?;
    // Marked stale until filled: no search uses it meanwhile.
    conn.execute_unprepared(&stale_mark(table)).await?;
    for sql in trigger_statements(table) {
        conn.execute_unprepared(&sql).await?;
    }
    // From here every write keeps its user's trigrams; the fill adds everyone else's. A user
    // the fill reads after a write has its new trigrams already (ignored as duplicates).
    let row = conn
        .query_one_raw(Statement::from_string(
            Engine::MySql,
            format!(
                "SELECT CAST(COALESCE(MIN(`id`), 1) - 1 AS SIGNED), \
                 CAST(COALESCE(MAX(`id`), 0) AS SIGNED) FROM {}",
                quote(table)
            ),
        ))
        .await?;
    let (low, high): (i64, i64) = match row {
        Some(r) => (r.try_get_by_index(0)?, r.try_get_by_index(1)?),
        None => (0, 0),
    };
    let mut from = low;
    while from < high {
        let to = Ord::min(from.saturating_add(FILL_CHUNK), high);
        conn.execute_unprepared(&fill_statement(table, Some((from, to))))
            .await?;
        from = to;
    }
    conn.execute_unprepared(&trigram_index_statement(table))
        .await?;
    conn.execute_unprepared(&clear_stale_mark(table)).await?;
    Ok(())
}

/// Removes the trigram index from `customer_user` on MySQL/MariaDB: its triggers, then its
/// side table (the numbers table, shared and harmless, stays). Searches fall back to scanning
/// from a backend's next look-up of its indexes. Idempotent; does nothing on other databases.
pub async fn remove_trigram_index(conn: &DatabaseConnection) -> clientele_backend::Result<()> {
    if conn.get_database_backend() != Engine::MySql {
        return Ok(());
    }
    for sql in removal_statements(crate::indexes::TABLE) {
        conn.execute_unprepared(&sql)
            .await
            .map_err(|e| crate::error::map_db_err("search indexes", 0, e))?;
    }
    Ok(())
}

/// The trigrams that narrow a search for `term`: those of the first word AND-ed at its top
/// whose literal runs have three characters or more, when the backend found the index, the
/// search's fields are all covered, and (case-sensitive) the columns share a collation.
pub(crate) fn driver(m: &Matcher<'_>, term: &Term) -> Option<Driver> {
    if m.d != Dialect::MySql {
        return None;
    }
    let index = m.indexes.trigram.as_ref()?;
    if m.fields.is_empty()
        || !m
            .fields
            .iter()
            .all(|f| f.is_text && COLUMNS.contains(&f.name.as_str()))
    {
        return None;
    }
    let lower = if m.case_insensitive {
        // The search's own `LOWER(?)`.
        "CAST(CONVERT(LOWER({}) USING utf8mb4) AS BINARY)".to_owned()
    } else {
        let collation = index.collation.as_ref()?;
        format!(
            "CAST(CONVERT(LOWER(CONVERT({{}} USING utf8mb4) COLLATE {collation}) USING utf8mb4) \
             AS BINARY)"
        )
    };
    let windows = first_word_windows(term)?;
    Some(Driver {
        side: index.side.clone(),
        trigrams: windows
            .into_iter()
            .map(|w| m.d.cust(&lower, vec![Expr::val(w)]))
            .collect(),
    })
}

/// The trigrams of the first word at the top of `term` that has some.
fn first_word_windows(term: &Term) -> Option<Vec<String>> {
    match term {
        Term::Match(pattern) => windows(pattern),
        Term::And(children) => children.iter().find_map(first_word_windows),
        _ => None,
    }
}

/// The three-character pieces of `pattern`'s literal runs (runs shorter than three give none),
/// without repeats, at most [`MAX_TRIGRAMS`] of them spread over the runs; `None` when there
/// are none.
fn windows(pattern: &Pattern) -> Option<Vec<String>> {
    let mut all: Vec<String> = Vec::new();
    for part in pattern.parts() {
        if let Part::Literal(l) = part {
            let chars: Vec<char> = l.chars().collect();
            for w in chars.windows(3) {
                let w: String = w.iter().collect();
                if !all.contains(&w) {
                    all.push(w);
                }
            }
        }
    }
    if all.is_empty() {
        return None;
    }
    if all.len() <= MAX_TRIGRAMS {
        return Some(all);
    }
    let n = all.len();
    Some(
        (0..MAX_TRIGRAMS)
            .map(|i| all[i * (n - 1) / (MAX_TRIGRAMS - 1)].clone())
            .collect(),
    )
}

/// The trigrams a search reads its candidates by ([`driver`]).
pub(crate) struct Driver {
    side: String,
    /// Each an expression for the bytes of one trigram.
    trigrams: Vec<Expr>,
}

/// The aliases of the side table in [`from_trigrams`].
fn alias(i: usize) -> String {
    format!("clientele_tri{i}")
}

/// Makes `select` read the user table `table` through the side table: the row ids holding the
/// first trigram, joined to those holding each further one (a primary-key look-up each), then
/// to the user rows by id. The caller's condition still compares every candidate exactly.
pub(crate) fn from_trigrams(select: &mut SelectStatement, table: &str, driver: Driver) {
    let mut trigrams = driver.trigrams.into_iter();
    let Some(first) = trigrams.next() else {
        select.from(Alias::new(table));
        return;
    };
    let side = Alias::new(&driver.side);
    let first_alias = alias(0);
    select.from_as(side.clone(), Alias::new(&first_alias));
    for (i, t) in trigrams.enumerate() {
        let a = alias(i + 1);
        select.join_as(
            JoinType::InnerJoin,
            side.clone(),
            Alias::new(&a),
            Expr::col((Alias::new(&a), Alias::new(USER_ID)))
                .equals((Alias::new(&first_alias), Alias::new(USER_ID)))
                .and(Expr::col((Alias::new(&a), Alias::new(TRIGRAM))).eq(t)),
        );
    }
    select
        .join(
            JoinType::InnerJoin,
            Alias::new(table),
            tcol(table, "id").equals((Alias::new(&first_alias), Alias::new(USER_ID))),
        )
        .and_where(Expr::col((Alias::new(&first_alias), Alias::new(TRIGRAM))).eq(first));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_runs_shorter_than_three_give_no_trigrams() {
        assert_eq!(windows(&Pattern::from_wildcards("*ab*cd*")), None);
        assert_eq!(windows(&Pattern::from_wildcards("ab")), None);
        assert_eq!(
            windows(&Pattern::from_wildcards("*98765*")),
            Some(vec!["987".into(), "876".into(), "765".into()])
        );
        assert_eq!(
            windows(&Pattern::from_wildcards("ab*cde")),
            Some(vec!["cde".into()])
        );
    }

    #[test]
    fn trigrams_are_characters_not_bytes() {
        assert_eq!(
            windows(&Pattern::from_wildcards("*é€x*")),
            Some(vec!["é€x".into()])
        );
        assert_eq!(
            windows(&Pattern::from_wildcards("a%_\\\0b")),
            Some(vec![
                "a%_".into(),
                "%_\\".into(),
                "_\\\0".into(),
                "\\\0b".into()
            ])
        );
    }

    #[test]
    fn long_literals_are_narrowed_by_a_spread_of_trigrams() {
        let w = windows(&Pattern::from_wildcards("abcdefghijklmnopqrstuvwxyz")).unwrap();
        assert_eq!(w.len(), MAX_TRIGRAMS);
        assert_eq!(w.first().map(String::as_str), Some("abc"));
        assert_eq!(w.last().map(String::as_str), Some("xyz"));
    }

    #[test]
    fn triggers_raise_nothing_and_compare_old_values_as_bytes() {
        for sql in trigger_statements("customer_user") {
            assert!(!sql.to_uppercase().contains("SIGNAL"), "{sql}");
            assert!(
                sql.contains("INSERT IGNORE") || sql.contains("DELETE"),
                "{sql}"
            );
        }
        let update = &trigger_statements("customer_user")[1];
        assert!(
            update.contains("CAST(OLD.`login` AS BINARY) <=> CAST(NEW.`login` AS BINARY)"),
            "{update}"
        );
    }

    #[test]
    fn removal_drops_the_triggers_before_the_table() {
        let sql = removal_statements("customer_user");
        assert!(sql[..3].iter().all(|s| s.starts_with("DROP TRIGGER")));
        assert!(sql[3].starts_with("DROP TABLE"));
    }
}
