//! The schema, as sea-orm migrations.
//!
//! 1. [`OtoboTables`] creates the ten customer-side tables of OTOBO (reference §10) — among them
//!    the small `valid`, `groups_table` and `service` tables Clientele needs when it runs on its
//!    own — as OTOBO's installer creates them: columns, keys, index names and the foreign keys
//!    between them; not OTOBO's agent table `users` nor the audit columns' keys to it. Every
//!    `CREATE` is `IF NOT EXISTS`, so on an existing OTOBO database it only adds what is missing.
//! 2. [`CorrectnessConstraints`] adds what OTOBO lacks and correctness needs: unique relation,
//!    grant, service and preference rows (duplicates are merged first), case-insensitive login
//!    and company-id uniqueness on PostgreSQL and SQLite, an email lookup index, and on MySQL the
//!    `clientele_lock` rows that serialise email-uniqueness checks and grant replacement. An
//!    existing OTOBO database can take it; the one thing it cannot fix alone is two logins that
//!    differ only in case on PostgreSQL, which it reports.
//! 3. [`ChangeLog`] adds `clientele_change_log` on MySQL/MariaDB and SQLite, through which
//!    [`DbChangeFeed`](crate::DbChangeFeed) tells other instances what to drop from their caches
//!    (PostgreSQL uses `NOTIFY` instead and gets no table).
//!
//! Applied migrations are recorded in `clientele_migrations`.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};
use sea_orm_migration::prelude::*;

pub(crate) mod change_log;
pub(crate) mod constraints;
pub(crate) mod tables;

pub use change_log::ChangeLog;
pub use constraints::CorrectnessConstraints;
pub use tables::OtoboTables;

/// Clientele's migrations, in order. Use [`migrate`](crate::migrate), or this with
/// [`MigratorTrait`] for status, steps and the like.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(OtoboTables),
            Box::new(CorrectnessConstraints),
            Box::new(ChangeLog),
        ]
    }

    fn migration_table_name() -> DynIden {
        "clientele_migrations".into()
    }
}

/// Quotes a fixed identifier for raw DDL (never user input).
pub(crate) fn quote(backend: DbBackend, ident: &str) -> String {
    match backend {
        DbBackend::MySql => format!("`{ident}`"),
        _ => format!("\"{ident}\""),
    }
}

pub(crate) async fn exec(manager: &SchemaManager<'_>, sql: String) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    conn.execute_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .map(|_| ())
}

pub(crate) fn alias(name: &str) -> Alias {
    Alias::new(name)
}
