//! Migration 4: what older versions added that duplicates OTOBO's own objects.

use sea_orm::DbErr;
use sea_orm_migration::prelude::*;

use super::alias;
use super::catalog::{Catalog, sql_of};
use super::plan::{Change, ObjectKind, PlannedObject};

/// Drops `groups_table_name`, the unique index on `groups_table.name` that versions before
/// OTOBO's index names were used added beside OTOBO's own `groups_name` — only where
/// `groups_name` exists too, so a table that has only Clientele's keeps its one unique index.
pub struct OtoboNeighbour;

impl MigrationName for OtoboNeighbour {
    fn name(&self) -> &str {
        "m20261201_000004_otobo_neighbour"
    }
}

/// The drop, where the copy is there.
pub(crate) async fn plan(cat: &mut Catalog<'_>) -> Result<Vec<PlannedObject>, DbErr> {
    let (table, copy, otobo) = ("groups_table", "groups_table_name", "groups_name");
    if !cat.has_table(table).await?
        || !cat.has_index(table, copy).await?
        || !cat.has_index(table, otobo).await?
    {
        return Ok(Vec::new());
    }
    let drop = Index::drop().name(copy).table(alias(table)).to_owned();
    let o = PlannedObject {
        change: Change::Drop,
        kind: ObjectKind::UniqueIndex,
        table: table.to_owned(),
        name: copy.to_owned(),
        columns: vec!["name".to_owned()],
        sql: vec![sql_of(cat.backend(), &drop)],
    };
    cat.note(&o);
    Ok(vec![o])
}

#[async_trait::async_trait]
impl MigrationTrait for OtoboNeighbour {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::plan::up_without_coexistence(manager, self.name()).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The copy duplicated OTOBO's key; nothing is lost without it.
        Ok(())
    }
}
