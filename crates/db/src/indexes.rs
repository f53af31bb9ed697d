//! Opt-in indexes for searches over large tables (issue 9): [`enable_search_indexes`].
//!
//! Not part of [`migrate`](crate::migrate): a trigram index costs disk space and write time,
//! and on an OTOBO database an administrator should choose when to build it.

use clientele_backend::Result;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend as Engine};

use crate::error::map_db_err;

/// The columns of Clientele's default search fields (OTOBO `CustomerUserSearchFields`) and the
/// postmaster field.
const SEARCH_COLUMNS: &[&str] = &["login", "first_name", "last_name", "customer_id", "email"];

/// The statements [`enable_search_indexes`] runs on this database, in order. Every statement
/// is idempotent (`IF NOT EXISTS`).
///
/// * **PostgreSQL**: the `pg_trgm` extension; per search column a GIN trigram index on
///   `lower(col)` (serves `LOWER(col) LIKE LOWER('%term%')`, also with a leading wildcard, and
///   prefix patterns of three or more characters) and a b-tree `lower(col) text_pattern_ops`
///   index (serves `LIKE 'smi%'` prefixes of any length in every collation); and a b-tree on
///   `login COLLATE "C"`, the order results are returned in (a detail search ordered by login can
///   walk it; a plain search fetches its limited rows first and sorts only those).
/// * **MySQL/MariaDB**: a b-tree index per search column (prefix terms; the backend's
///   `CAST(LOWER(col) AS BINARY) LIKE …` shape cannot use it, see the README); no index serves
///   `*term*` — the scan is the documented fallback.
/// * **SQLite**: none; a search is a scan with the `REGEXP` function (documented fallback).
pub fn search_index_statements(engine: Engine) -> Vec<String> {
    match engine {
        Engine::Postgres => {
            let mut out = vec!["CREATE EXTENSION IF NOT EXISTS pg_trgm".to_owned()];
            for c in SEARCH_COLUMNS {
                out.push(format!(
                    "CREATE INDEX IF NOT EXISTS customer_user_{c}_trgm ON customer_user \
                     USING gin (lower({c}) gin_trgm_ops)"
                ));
                out.push(format!(
                    "CREATE INDEX IF NOT EXISTS customer_user_{c}_lower_prefix ON customer_user \
                     (lower({c}) text_pattern_ops)"
                ));
            }
            out.push(
                "CREATE INDEX IF NOT EXISTS customer_user_login_c ON customer_user \
                 (login COLLATE \"C\")"
                    .to_owned(),
            );
            out
        }
        Engine::MySql => SEARCH_COLUMNS
            .iter()
            .filter(|c| **c != "login" && **c != "email")
            .map(|c| format!("CREATE INDEX customer_user_{c}_prefix ON customer_user ({c})"))
            .collect(),
        _ => Vec::new(),
    }
}

/// Creates the search indexes of [`search_index_statements`] on the `customer_user` table of
/// Clientele's default schema. Opt-in and idempotent; run it after [`migrate`](crate::migrate).
///
/// On PostgreSQL it needs the `pg_trgm` extension to be available (it ships with PostgreSQL's
/// contrib package) and the right to create it. On MySQL/MariaDB an index that already exists
/// is left alone. Searches need no other change: the statements the backend already emits
/// (`LOWER(col) LIKE LOWER($1)`) are planned onto these indexes when they exist.
pub async fn enable_search_indexes(conn: &DatabaseConnection) -> Result<()> {
    let engine = conn.get_database_backend();
    for sql in search_index_statements(engine) {
        if let Err(e) = conn.execute_unprepared(&sql).await {
            // MySQL has no CREATE INDEX IF NOT EXISTS: error 1061 is "duplicate key name".
            if engine == Engine::MySql && e.to_string().contains("1061") {
                continue;
            }
            return Err(map_db_err("search indexes", 0, e));
        }
    }
    Ok(())
}
