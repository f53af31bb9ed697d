//! Migration 3: the change log that carries cache invalidations between instances on
//! MySQL/MariaDB and SQLite (PostgreSQL uses `NOTIFY` and needs no table).

use sea_orm::DbBackend;
use sea_orm_migration::prelude::*;

use super::alias;
use super::catalog::{Catalog, table_objects};
use super::plan::PlannedObject;
use crate::changes::CHANGE_LOG;

/// Creates `clientele_change_log` (MySQL/MariaDB, SQLite): one row per write announced by a
/// [`DbChangeFeed`](crate::DbChangeFeed) — an auto-increment `id` the readers follow, the
/// announcing `instance`, the `payload` (which user, relation or permission changed; never a
/// value such as a password) and `created_at` (epoch seconds) for pruning. On PostgreSQL it
/// does nothing.
pub struct ChangeLog;

impl MigrationName for ChangeLog {
    fn name(&self) -> &str {
        "m20261127_000003_change_log"
    }
}

/// `clientele_change_log` where it is missing (not on PostgreSQL).
pub(crate) async fn plan(cat: &mut Catalog<'_>) -> Result<Vec<PlannedObject>, DbErr> {
    let b = cat.backend();
    if b == DbBackend::Postgres || cat.has_table(CHANGE_LOG).await? {
        return Ok(Vec::new());
    }
    let mut t = Table::create();
    t.table(alias(CHANGE_LOG))
        .if_not_exists()
        .col(
            ColumnDef::new(alias("id"))
                .big_integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(ColumnDef::new(alias("instance")).string_len(64).not_null())
        .col(ColumnDef::new(alias("payload")).text().not_null())
        .col(ColumnDef::new(alias("created_at")).big_integer().not_null());
    if b == DbBackend::MySql {
        t.engine("InnoDB").character_set("utf8mb4");
    }
    let objects = table_objects(b, CHANGE_LOG, &t);
    for o in &objects {
        cat.note(o);
    }
    Ok(objects)
}

#[async_trait::async_trait]
impl MigrationTrait for ChangeLog {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::plan::up_without_coexistence(manager, self.name()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(alias(CHANGE_LOG)).if_exists().take())
            .await
    }
}
