//! Write transactions and the locks that keep concurrent writers from interleaving.
//!
//! OTOBO's schema has no unique index on `email` (and existing databases may hold duplicates),
//! so the check "no other user has this address" and the insert must not interleave with
//! another writer's. Likewise a grant is replaced by "delete the old rows, insert the new
//! ones", and OTOBO's grant tables have no unique index either: two writers replacing the same
//! grant at once would both delete nothing and both insert, leaving the union of their sets.
//! Each such write first locks a key (the folded email, or the grant's owner, group and
//! context). Each database gets the cheapest lock that gives that:
//!
//! * **PostgreSQL**: `pg_advisory_xact_lock(class, hash(lower(email)))`, held until the
//!   transaction ends; writers of different addresses do not wait for each other.
//! * **MySQL/MariaDB**: `SELECT … FOR UPDATE` on one of the 1024 rows of `clientele_lock`
//!   (chosen by the hash), in a `READ COMMITTED` transaction so the check after the lock sees
//!   the other writer's committed row. (`GET_LOCK` would outlive the transaction on a pooled
//!   connection if a caller were cancelled; a row lock cannot.)
//! * **SQLite**: `BEGIN IMMEDIATE` takes the database's write lock at the start, so writers run
//!   one after another.

use clientele_backend::Error;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, IsolationLevel,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::error::Failure;
use crate::migration::constraints::LOCK_ROWS;
use crate::sql::{Dialect, col};

/// `pg_advisory_xact_lock` class id for Clientele's email locks ("Clie").
pub(crate) const PG_LOCK_CLASS: i32 = 0x436c_6965;

/// FNV-1a: a hash that is the same in every process and build (the lock must be).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Starts a write transaction: `BEGIN IMMEDIATE` on SQLite, `READ COMMITTED` on MySQL, the
/// default (`READ COMMITTED`) on PostgreSQL.
pub(crate) async fn begin_write(
    conn: &DatabaseConnection,
    dialect: Dialect,
) -> Result<DatabaseTransaction, DbErr> {
    match dialect {
        Dialect::Sqlite => {
            conn.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
        }
        Dialect::MySql => {
            conn.begin_with_config(Some(IsolationLevel::ReadCommitted), None)
                .await
        }
        Dialect::Postgres => conn.begin().await,
    }
}

/// Serialises writers of the same (case-folded) email address until the transaction ends.
pub(crate) async fn lock_email(
    tx: &DatabaseTransaction,
    dialect: Dialect,
    email: &str,
) -> Result<(), Failure> {
    lock_hash(tx, dialect, fnv1a(email.to_lowercase().as_bytes())).await
}

/// Serialises writers of the same key (its parts case-folded, so over-locking rather than
/// under-locking on case-insensitive databases) until the transaction ends.
pub(crate) async fn lock_key(
    tx: &DatabaseTransaction,
    dialect: Dialect,
    scope: &str,
    parts: &[&str],
) -> Result<(), Failure> {
    let mut key = scope.to_owned();
    for p in parts {
        key.push('\0');
        key.push_str(&p.to_lowercase());
    }
    lock_hash(tx, dialect, fnv1a(key.as_bytes())).await
}

async fn lock_hash(tx: &DatabaseTransaction, dialect: Dialect, hash: u64) -> Result<(), Failure> {
    match dialect {
        Dialect::Sqlite => Ok(()),
        Dialect::Postgres => {
            let key = (hash & 0xffff_ffff) as u32 as i32;
            let q = Query::select()
                .expr(dialect.cust(
                    "pg_advisory_xact_lock({}, {})",
                    vec![Expr::val(PG_LOCK_CLASS), Expr::val(key)],
                ))
                .to_owned();
            tx.query_one(&q).await?;
            Ok(())
        }
        Dialect::MySql => {
            let id = (hash % LOCK_ROWS as u64) as i32;
            let q = Query::select()
                .expr(col("id"))
                .from(sea_orm::sea_query::Alias::new("clientele_lock"))
                .and_where(col("id").eq(id))
                .lock_exclusive()
                .to_owned();
            match tx.query_one(&q).await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(missing_lock_table()),
                Err(e) if e.to_string().contains("clientele_lock") => Err(missing_lock_table()),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// The table Clientele serialises writers with on MySQL/MariaDB is not (fully) there: the
/// database was not set up with `clientele init`.
pub(crate) fn missing_lock_table() -> Failure {
    Failure::Api(Error::Config(
        "the clientele_lock table is missing or incomplete: run `clientele init` on this \
         database (from Rust: clientele_db::migrate); it adds the constraints and lock rows that \
         email uniqueness and grant changes need under concurrent writers"
            .into(),
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn hash_is_stable() {
        // The value is part of the locking protocol between processes: it must never change.
        assert_eq!(super::fnv1a(b"a@example.com"), 0xc3fb_7bfb_ec41_e131);
    }
}
