//! Write transactions and the locks that keep concurrent writers from interleaving.
//!
//! OTOBO's schema has no unique index on `email` (and existing databases may hold duplicates),
//! so the check "no other user has this address" and the insert must not interleave with
//! another writer's. Likewise a grant is replaced by "delete the old rows, insert the new
//! ones", and OTOBO's grant tables have no unique index either: two writers replacing the same
//! grant at once would both delete nothing and both insert, leaving the union of their sets.
//! Beside a running OTOBO (`[otobo] coexist`) the database has no unique index of Clientele's
//! at all — no case-insensitive one on logins and company ids, none on the relation, grant,
//! service and preference rows — so the same holds for every check-then-write.
//! Each such write first locks a key (the folded email or login, the company id, the
//! relation's, grant's, assignment's or preference's key), in either mode; the checks after
//! the lock decide. Each database gets the cheapest lock that gives that:
//!
//! * **PostgreSQL**: `pg_advisory_xact_lock(class, hash(key))`, held until the
//!   transaction ends; writers of different keys do not wait for each other (logins are spread
//!   over 1024 locks, so a bulk import holds at most that many for them).
//! * **MySQL/MariaDB**: `SELECT … FOR UPDATE` on one of the 1024 rows of `clientele_lock`
//!   (chosen by the hash), in a `READ COMMITTED` transaction so the check after the lock sees
//!   the other writer's committed row. (`GET_LOCK` would outlive the transaction on a pooled
//!   connection if a caller were cancelled; a row lock cannot.)
//! * **SQLite**: `BEGIN IMMEDIATE` takes the database's write lock at the start, so writers run
//!   one after another.

use clientele_backend::Error;
use sea_orm::sea_query::{ExprTrait, Query};
use sea_orm::{
    ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, IsolationLevel,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::error::Failure;
use crate::migration::constraints::{LOCK_ROWS, LOCK_TABLE};
use crate::sql::{Dialect, col};

/// `pg_advisory_xact_lock` class id for Clientele's locks ("Clie").
pub(crate) const PG_LOCK_CLASS: i32 = 0x436c_6965;

/// `pg_advisory_xact_lock` class id for Clientele's login locks ("CliL").
pub(crate) const PG_LOGIN_CLASS: i32 = 0x436c_694c;

/// The number of login locks logins are spread over.
pub(crate) const LOGIN_BUCKETS: u64 = 1024;

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

/// One lock of [`lock_all`]: on PostgreSQL the advisory lock `(class, low 32 bits of hash)`,
/// on MySQL/MariaDB the row `hash mod 1024` of `clientele_lock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lock {
    class: i32,
    hash: u64,
}

impl Lock {
    /// What the lock takes on `dialect`: a class and a key (MySQL: the lock row's id).
    fn slot(self, dialect: Dialect) -> (i32, i32) {
        match dialect {
            Dialect::MySql => (0, (self.hash % LOCK_ROWS as u64) as i32),
            _ => (self.class, (self.hash & 0xffff_ffff) as u32 as i32),
        }
    }
}

/// The lock of a (case-folded) email address.
pub(crate) fn email_lock(email: &str) -> Lock {
    Lock {
        class: PG_LOCK_CLASS,
        hash: fnv1a(email.to_lowercase().as_bytes()),
    }
}

/// The lock of a key: its scope and its parts, case-folded (so over-locking rather than
/// under-locking on case-insensitive databases).
pub(crate) fn key_lock(scope: &str, parts: &[&str]) -> Lock {
    let mut key = scope.to_owned();
    for p in parts {
        key.push('\0');
        key.push_str(&p.to_lowercase());
    }
    Lock {
        class: PG_LOCK_CLASS,
        hash: fnv1a(key.as_bytes()),
    }
}

/// The lock of a (case-folded) login, where the database needs one: on PostgreSQL, whose
/// unique index on the login (OTOBO's `customer_user_login`) compares exactly, so without
/// Clientele's `lower(login)` index (beside OTOBO) only the lock keeps `JDoe` from being added
/// beside `jdoe`. MySQL/MariaDB's index compares with the table's case-insensitive collation
/// and refuses the second writer by itself; SQLite's writers run one after another. One of
/// [`LOGIN_BUCKETS`] locks, so an import of thousands of logins takes at most that many
/// (PostgreSQL's lock table is small).
pub(crate) fn login_lock(dialect: Dialect, login: &str) -> Option<Lock> {
    (dialect == Dialect::Postgres).then(|| {
        let hash = key_lock("customer_user.login", &[login]).hash;
        Lock {
            class: PG_LOGIN_CLASS,
            hash: hash % LOGIN_BUCKETS,
        }
    })
}

/// Serialises writers of the same key until the transaction ends.
pub(crate) async fn lock_key(
    tx: &DatabaseTransaction,
    dialect: Dialect,
    scope: &str,
    parts: &[&str],
) -> Result<(), Failure> {
    lock_all(tx, dialect, &[key_lock(scope, parts)]).await
}

/// Takes `locks` until the transaction ends, in one statement: each lock once, in a fixed
/// order, so two writers that need some of the same locks cannot deadlock on them.
///
/// These locks, not unique indexes, keep Clientele's uniqueness rules (one login and one
/// company id whatever the case, one email address, one row per relation, grant, assignment
/// and preference key) among Clientele's writers: beside a running OTOBO the database has no
/// such index (`[otobo] coexist`), and the checks after the lock then decide alone.
pub(crate) async fn lock_all(
    tx: &DatabaseTransaction,
    dialect: Dialect,
    locks: &[Lock],
) -> Result<(), Failure> {
    let mut slots: Vec<(i32, i32)> = locks.iter().map(|l| l.slot(dialect)).collect();
    slots.sort_unstable();
    slots.dedup();
    if slots.is_empty() {
        return Ok(());
    }
    match dialect {
        Dialect::Sqlite => Ok(()),
        Dialect::Postgres => {
            tx.execute_unprepared(&pg_lock_statement(&slots)).await?;
            Ok(())
        }
        Dialect::MySql => {
            let ids: Vec<i32> = slots.iter().map(|(_, id)| *id).collect();
            let q = Query::select()
                .expr(col("id"))
                .from(sea_orm::sea_query::Alias::new(LOCK_TABLE))
                .and_where(col("id").is_in(ids.clone()))
                .order_by(
                    sea_orm::sea_query::Alias::new("id"),
                    sea_orm::sea_query::Order::Asc,
                )
                .lock_exclusive()
                .to_owned();
            match tx.query_all(&q).await {
                Ok(found) if found.len() == ids.len() => Ok(()),
                Ok(_) => Err(missing_lock_table()),
                Err(e) if e.to_string().contains(LOCK_TABLE) => Err(missing_lock_table()),
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// The statement that takes the advisory locks `slots` (sorted) on PostgreSQL in their order
/// (the arrays are read in order). Integers only: nothing from the input reaches the text.
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn pg_lock_statement(slots: &[(i32, i32)]) -> String {
    let list = |pick: fn(&(i32, i32)) -> i32| {
        slots
            .iter()
            .map(|s| pick(s).to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        "SELECT pg_advisory_xact_lock(c, k) FROM unnest(ARRAY[{}]::int[], ARRAY[{}]::int[]) AS t(c, k)",
        list(|s| s.0),
        list(|s| s.1)
    )
}

/// The advisory locks of `locks` on PostgreSQL, sorted, each once (for
/// [`pg_lock_statement`]).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) fn pg_slots(locks: &[Lock]) -> Vec<(i32, i32)> {
    let mut slots: Vec<(i32, i32)> = locks.iter().map(|l| l.slot(Dialect::Postgres)).collect();
    slots.sort_unstable();
    slots.dedup();
    slots
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
    use super::*;

    #[test]
    fn hash_is_stable() {
        // The value is part of the locking protocol between processes: it must never change.
        assert_eq!(super::fnv1a(b"a@example.com"), 0xc3fb_7bfb_ec41_e131);
    }

    #[test]
    fn email_locks_keep_their_keys() {
        // Instances of earlier versions lock addresses by these keys; so must this one.
        let lock = email_lock("A@Example.com");
        assert_eq!(
            lock.slot(Dialect::Postgres),
            (PG_LOCK_CLASS, 0xec41_e131_u32 as i32)
        );
        assert_eq!(
            lock.slot(Dialect::MySql),
            (0, (0xc3fb_7bfb_ec41_e131_u64 % 1024) as i32)
        );
    }

    #[test]
    fn logins_share_1024_locks_and_only_postgres_takes_them() {
        let a = login_lock(Dialect::Postgres, "JDoe").unwrap();
        assert_eq!(Some(a), login_lock(Dialect::Postgres, "jdoe"));
        let (class, key) = a.slot(Dialect::Postgres);
        assert_eq!(class, PG_LOGIN_CLASS);
        assert!((0..1024).contains(&key));
        assert_eq!(login_lock(Dialect::MySql, "jdoe"), None);
        assert_eq!(login_lock(Dialect::Sqlite, "jdoe"), None);
    }

    #[test]
    fn postgres_locks_are_taken_sorted_and_once() {
        let locks = [
            key_lock("t", &["b"]),
            email_lock("x@y.z"),
            key_lock("t", &["B"]),
        ];
        let slots = pg_slots(&locks);
        assert_eq!(slots.len(), 2, "b and B are one lock");
        assert!(slots.windows(2).all(|w| w[0] < w[1]));
        let sql = pg_lock_statement(&slots);
        assert!(sql.starts_with("SELECT pg_advisory_xact_lock(c, k) FROM unnest(ARRAY["));
        assert!(sql.contains(&slots[0].1.to_string()), "{sql}");
    }
}
