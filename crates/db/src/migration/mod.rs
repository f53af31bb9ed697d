//! The schema, as sea-orm migrations.
//!
//! 1. [`OtoboTables`] creates the ten customer-side tables of OTOBO (reference §10) — among them
//!    the small `valid`, `groups_table` and `service` tables Clientele needs when it runs on its
//!    own — as OTOBO's installer creates them: columns, keys, index names and the foreign keys
//!    between them; not OTOBO's agent table `users` nor the audit columns' keys to it. Every
//!    `CREATE` is `IF NOT EXISTS`, so on an existing OTOBO database it only adds what is missing.
//! 2. [`CorrectnessConstraints`] adds what OTOBO lacks and correctness needs: unique relation,
//!    grant, service and preference rows (exact duplicates are merged first), case-insensitive
//!    login and company-id uniqueness on PostgreSQL and SQLite, an email lookup index, and on
//!    MySQL the `clientele_lock` rows that serialise writers' uniqueness checks. Rows it cannot
//!    merge — one key with different values, logins or company ids that differ only in case —
//!    stop it before any change. Beside a running OTOBO ([`MigrateOptions::coexist`]) it adds
//!    nothing to OTOBO's tables, only the lock table.
//! 3. [`ChangeLog`] adds `clientele_change_log` on MySQL/MariaDB and SQLite, through which
//!    [`DbChangeFeed`](crate::DbChangeFeed) tells other instances what to drop from their caches
//!    (PostgreSQL uses `NOTIFY` instead and gets no table).
//! 4. [`OtoboNeighbour`] drops `groups_table_name`, a copy of OTOBO's `groups_name` that older
//!    versions added.
//!
//! After them, on every run, the constraints of step 2 follow the mode: added where missing
//! without coexistence, dropped from OTOBO's tables with it.
//!
//! Applied migrations are recorded in `clientele_migrations`. [`plan_migration`] lists all of
//! it for a database without changing anything; [`migrate_with`] executes that plan.

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

pub(crate) mod catalog;
pub(crate) mod change_log;
pub(crate) mod constraints;
pub(crate) mod neighbour;
pub(crate) mod plan;
pub(crate) mod tables;

pub use change_log::ChangeLog;
pub use constraints::CorrectnessConstraints;
pub use neighbour::OtoboNeighbour;
pub use plan::{
    Change, Conflict, ConflictKind, MigrateOptions, MigrationPlan, MigrationRefused, ObjectKind,
    PlannedMerge, PlannedObject, PlannedStep, RowValues, migrate_with, plan_migration,
};
pub use tables::OtoboTables;

/// Clientele's migrations, in order, without coexistence. Use [`migrate_with`] (or
/// [`migrate`](crate::migrate)), which also checks the rows first and keeps the constraints in
/// step with the mode; this with [`MigratorTrait`] for status and the like.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(OtoboTables),
            Box::new(CorrectnessConstraints),
            Box::new(ChangeLog),
            Box::new(OtoboNeighbour),
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

pub(crate) fn alias(name: &str) -> Alias {
    Alias::new(name)
}
