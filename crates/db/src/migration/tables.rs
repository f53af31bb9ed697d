//! Migration 1: OTOBO's tables (reference §10), created only where missing.

use sea_orm::{ConnectionTrait, DbBackend, DbErr};
use sea_orm_migration::prelude::*;

use super::alias;

/// Creates `valid`, `groups_table`, `service`, `customer_company`, `customer_user`,
/// `customer_user_customer`, `group_customer_user`, `group_customer`, `service_customer_user`
/// and `customer_preferences` with OTOBO's names and types, and their OTOBO indexes.
///
/// Differences from OTOBO's schema, all widening: `customer_user_customer.user_id` and
/// `group_customer_user.user_id` are `VARCHAR(191)` (OTOBO: 100) so every login the model
/// accepts fits; the `create_by`/`change_by` columns have no foreign key to OTOBO's agent table
/// `users`, which Clientele does not have.
pub struct OtoboTables;

impl MigrationName for OtoboTables {
    fn name(&self) -> &str {
        "m20250601_000001_otobo_tables"
    }
}

fn audit(t: &mut TableCreateStatement, with_change: bool) {
    t.col(ColumnDef::new(alias("create_time")).date_time().not_null())
        .col(ColumnDef::new(alias("create_by")).integer().not_null());
    if with_change {
        t.col(ColumnDef::new(alias("change_time")).date_time().not_null())
            .col(ColumnDef::new(alias("change_by")).integer().not_null());
    }
}

fn table(backend: DbBackend, name: &str) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(alias(name)).if_not_exists();
    if backend == DbBackend::MySql {
        // OTOBO's MySQL schema: InnoDB, utf8mb4, a case-insensitive collation.
        t.engine("InnoDB")
            .character_set("utf8mb4")
            .collate("utf8mb4_unicode_ci");
    }
    t
}

/// OTOBO's `permission_key` and `permission_context` widths, as the permission vocabulary
/// states them.
const PERMISSION_KEY_LEN: u32 = clientele_model::permission::MAX_PERMISSION_TYPE_LEN as u32;
const PERMISSION_CONTEXT_LEN: u32 = clientele_model::permission::MAX_PERMISSION_CONTEXT_LEN as u32;

fn string(name: &str, len: u32) -> ColumnDef {
    ColumnDef::new(alias(name)).string_len(len).take()
}

fn fk(name: &str, from: (&str, &str), to: (&str, &str)) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(alias(from.0), alias(from.1))
        .to(alias(to.0), alias(to.1))
        .take()
}

async fn index(
    manager: &SchemaManager<'_>,
    table: &str,
    column: &str,
    unique: bool,
) -> Result<(), DbErr> {
    // OTOBO's names: `<table>_<column>`.
    let name = format!("{table}_{column}");
    if manager.has_index(table, &name).await? {
        return Ok(());
    }
    let mut i = Index::create();
    i.name(&name).table(alias(table)).col(alias(column));
    if unique {
        i.unique();
    }
    manager.create_index(i).await
}

#[async_trait::async_trait]
impl MigrationTrait for OtoboTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();

        let mut valid = table(b, "valid");
        valid
            .col(
                ColumnDef::new(alias("id"))
                    .small_integer()
                    .not_null()
                    .primary_key(),
            )
            .col(string("name", 200).not_null());
        audit(&mut valid, true);
        manager.create_table(valid).await?;
        index(manager, "valid", "name", true).await?;
        seed_valid(manager).await?;

        let mut groups = table(b, "groups_table");
        groups
            .col(
                ColumnDef::new(alias("id"))
                    .integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(string("name", 200).not_null())
            .col(string("comments", 250).null())
            .col(ColumnDef::new(alias("valid_id")).small_integer().not_null());
        audit(&mut groups, true);
        groups.foreign_key(&mut fk(
            "fk_groups_table_valid_id_id",
            ("groups_table", "valid_id"),
            ("valid", "id"),
        ));
        manager.create_table(groups).await?;
        index(manager, "groups_table", "name", true).await?;

        let mut service = table(b, "service");
        service
            .col(
                ColumnDef::new(alias("id"))
                    .integer()
                    .not_null()
                    .auto_increment()
                    .primary_key(),
            )
            .col(string("name", 200).not_null())
            .col(ColumnDef::new(alias("valid_id")).small_integer().not_null())
            .col(string("comments", 250).null());
        audit(&mut service, true);
        service.foreign_key(&mut fk(
            "fk_service_valid_id_id",
            ("service", "valid_id"),
            ("valid", "id"),
        ));
        manager.create_table(service).await?;
        index(manager, "service", "name", true).await?;

        let mut company = table(b, "customer_company");
        company
            .col(string("customer_id", 150).not_null().primary_key())
            .col(string("name", 191).not_null())
            .col(string("street", 200).null())
            .col(string("zip", 200).null())
            .col(string("city", 200).null())
            .col(string("country", 200).null())
            .col(string("url", 200).null())
            .col(string("comments", 250).null())
            .col(ColumnDef::new(alias("valid_id")).small_integer().not_null());
        audit(&mut company, true);
        manager.create_table(company).await?;
        index(manager, "customer_company", "name", true).await?;

        let mut user = table(b, "customer_user");
        user.col(
            ColumnDef::new(alias("id"))
                .integer()
                .not_null()
                .auto_increment()
                .primary_key(),
        )
        .col(string("login", 191).not_null())
        .col(string("email", 150).not_null())
        .col(string("customer_id", 150).not_null())
        .col(string("pw", 128).null())
        .col(string("title", 50).null())
        .col(string("first_name", 100).not_null())
        .col(string("last_name", 100).not_null())
        .col(string("phone", 150).null())
        .col(string("fax", 150).null())
        .col(string("mobile", 150).null())
        .col(string("street", 150).null())
        .col(string("zip", 200).null())
        .col(string("city", 200).null())
        .col(string("country", 200).null())
        .col(string("comments", 250).null())
        .col(ColumnDef::new(alias("valid_id")).small_integer().not_null());
        audit(&mut user, true);
        user.foreign_key(&mut fk(
            "fk_customer_user_valid_id_id",
            ("customer_user", "valid_id"),
            ("valid", "id"),
        ));
        manager.create_table(user).await?;
        index(manager, "customer_user", "login", true).await?;

        let mut cuc = table(b, "customer_user_customer");
        cuc.col(string("user_id", 191).not_null())
            .col(string("customer_id", 150).not_null());
        audit(&mut cuc, true);
        manager.create_table(cuc).await?;
        index(manager, "customer_user_customer", "user_id", false).await?;
        index(manager, "customer_user_customer", "customer_id", false).await?;

        let mut gcu = table(b, "group_customer_user");
        gcu.col(string("user_id", 191).not_null())
            .col(ColumnDef::new(alias("group_id")).integer().not_null())
            .col(string("permission_key", PERMISSION_KEY_LEN).not_null())
            .col(
                ColumnDef::new(alias("permission_value"))
                    .small_integer()
                    .not_null(),
            );
        audit(&mut gcu, true);
        gcu.foreign_key(&mut fk(
            "fk_group_customer_user_group_id_id",
            ("group_customer_user", "group_id"),
            ("groups_table", "id"),
        ));
        manager.create_table(gcu).await?;
        index(manager, "group_customer_user", "user_id", false).await?;
        index(manager, "group_customer_user", "group_id", false).await?;

        let mut gc = table(b, "group_customer");
        gc.col(string("customer_id", 150).not_null())
            .col(ColumnDef::new(alias("group_id")).integer().not_null())
            .col(string("permission_key", PERMISSION_KEY_LEN).not_null())
            .col(
                ColumnDef::new(alias("permission_value"))
                    .small_integer()
                    .not_null(),
            )
            .col(string("permission_context", PERMISSION_CONTEXT_LEN).not_null());
        audit(&mut gc, true);
        gc.foreign_key(&mut fk(
            "fk_group_customer_group_id_id",
            ("group_customer", "group_id"),
            ("groups_table", "id"),
        ));
        manager.create_table(gc).await?;
        index(manager, "group_customer", "customer_id", false).await?;
        index(manager, "group_customer", "group_id", false).await?;

        let mut scu = table(b, "service_customer_user");
        scu.col(string("customer_user_login", 191).not_null())
            .col(ColumnDef::new(alias("service_id")).integer().not_null());
        audit(&mut scu, false);
        scu.foreign_key(&mut fk(
            "fk_service_customer_user_service_id_id",
            ("service_customer_user", "service_id"),
            ("service", "id"),
        ));
        manager.create_table(scu).await?;
        index(
            manager,
            "service_customer_user",
            "customer_user_login",
            false,
        )
        .await?;
        index(manager, "service_customer_user", "service_id", false).await?;

        let mut prefs = table(b, "customer_preferences");
        prefs
            .col(string("user_id", 191).not_null())
            .col(string("preferences_key", 150).not_null())
            .col(string("preferences_value", 250).null());
        manager.create_table(prefs).await?;
        index(manager, "customer_preferences", "user_id", false).await?;
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the OTOBO tables migration is not reversed: it would drop customer data".into(),
        ))
    }
}

/// OTOBO's three validity rows, inserted when the table is empty.
async fn seed_valid(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let conn = manager.get_connection();
    let count = Query::select()
        .expr_as(Expr::col(alias("id")).count(), alias("n"))
        .from(alias("valid"))
        .to_owned();
    let row = conn.query_one(&count).await?;
    let n: i64 = match row {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    if n > 0 {
        return Ok(());
    }
    let now = Expr::current_timestamp();
    let mut insert = Query::insert();
    insert.into_table(alias("valid")).columns([
        alias("id"),
        alias("name"),
        alias("create_time"),
        alias("create_by"),
        alias("change_time"),
        alias("change_by"),
    ]);
    for (id, name) in [(1i16, "valid"), (2, "invalid"), (3, "invalid-temporarily")] {
        insert.values_panic([
            id.into(),
            name.into(),
            now.clone(),
            1.into(),
            now.clone(),
            1.into(),
        ]);
    }
    conn.execute(&insert).await.map(|_| ())
}
