//! Migration 2: the constraints OTOBO lacks and correctness needs.

use sea_orm::{ConnectionTrait, DbBackend, DbErr};
use sea_orm_migration::prelude::*;

use super::{alias, exec, quote};

/// Adds, to Clientele's schema or an existing OTOBO database:
///
/// | index | on | why |
/// |---|---|---|
/// | `customer_user_customer_clientele_uniq` | `(user_id, customer_id)` | a relation is there or not |
/// | `group_customer_user_clientele_uniq` | `(user_id, group_id, permission_key)` | one row per grant |
/// | `group_customer_clientele_uniq` | `(customer_id, group_id, permission_key, permission_context)` | one row per grant |
/// | `service_customer_user_clientele_uniq` | `(customer_user_login, service_id)` | one row per assignment |
/// | `customer_preferences_clientele_uniq` | `(user_id, preferences_key)` | one value per key |
/// | `customer_user_login_lower` (PostgreSQL, SQLite) | `lower(login)`, unique | `Bob` and `bob` are one login |
/// | `customer_company_customer_id_lower` (PostgreSQL, SQLite) | `lower(customer_id)`, unique | company ids compare case-insensitively |
/// | `customer_user_email_lower` / `customer_user_email` | `lower(email)` / `email` | email checks and postmaster searches use an index |
/// | table `clientele_lock` (MySQL/MariaDB) | 1024 rows | the row locks that serialise email-uniqueness checks and grant replacement |
///
/// MySQL/MariaDB needs no lower-case login index: OTOBO's `customer_user_login` index already
/// compares with the table's case-insensitive collation. Duplicate rows in the relation tables
/// (OTOBO has no constraint there) are merged before each unique index is created.
pub struct CorrectnessConstraints;

impl MigrationName for CorrectnessConstraints {
    fn name(&self) -> &str {
        "m20250601_000002_correctness_constraints"
    }
}

/// A table without a unique key in OTOBO: its key columns and the other columns.
struct Dedupe {
    table: &'static str,
    index: &'static str,
    key: &'static [&'static str],
    rest: &'static [&'static str],
}

const AUDIT: &[&str] = &["create_time", "create_by", "change_time", "change_by"];

const DEDUPES: &[Dedupe] = &[
    Dedupe {
        table: "customer_user_customer",
        index: "customer_user_customer_clientele_uniq",
        key: &["user_id", "customer_id"],
        rest: AUDIT,
    },
    Dedupe {
        table: "group_customer_user",
        index: "group_customer_user_clientele_uniq",
        key: &["user_id", "group_id", "permission_key"],
        rest: &[
            "permission_value",
            "create_time",
            "create_by",
            "change_time",
            "change_by",
        ],
    },
    Dedupe {
        table: "group_customer",
        index: "group_customer_clientele_uniq",
        key: &[
            "customer_id",
            "group_id",
            "permission_key",
            "permission_context",
        ],
        rest: &[
            "permission_value",
            "create_time",
            "create_by",
            "change_time",
            "change_by",
        ],
    },
    Dedupe {
        table: "service_customer_user",
        index: "service_customer_user_clientele_uniq",
        key: &["customer_user_login", "service_id"],
        rest: &["create_time", "create_by"],
    },
    Dedupe {
        table: "customer_preferences",
        index: "customer_preferences_clientele_uniq",
        key: &["user_id", "preferences_key"],
        rest: &["preferences_value"],
    },
];

/// Number of rows in `clientele_lock` (MySQL): email and grant-key hashes are spread over these.
pub(crate) const LOCK_ROWS: i32 = 1024;

/// Merges duplicate rows (same key) into one, keeping the largest value of each other column.
async fn dedupe(manager: &SchemaManager<'_>, d: &Dedupe) -> Result<(), DbErr> {
    let b = manager.get_database_backend();
    let q = |s: &str| quote(b, s);
    let table = q(d.table);
    let tmp = q("clientele_dedupe");
    let keys: Vec<String> = d.key.iter().map(|c| q(c)).collect();
    let rest_max: Vec<String> = d
        .rest
        .iter()
        .map(|c| format!("MAX({}) AS {}", q(c), q(c)))
        .collect();
    let all: Vec<String> = d.key.iter().chain(d.rest).map(|c| q(c)).collect();
    let matching: Vec<String> = d
        .key
        .iter()
        .map(|c| format!("{tmp}.{col} = {table}.{col}", col = q(c)))
        .collect();
    exec(
        manager,
        format!(
            "CREATE TEMPORARY TABLE {tmp} AS SELECT {keys}, {rest} FROM {table} GROUP BY {keys} HAVING COUNT(*) > 1",
            keys = keys.join(", "),
            rest = rest_max.join(", "),
        ),
    )
    .await?;
    exec(
        manager,
        format!(
            "DELETE FROM {table} WHERE EXISTS (SELECT 1 FROM {tmp} WHERE {})",
            matching.join(" AND ")
        ),
    )
    .await?;
    exec(
        manager,
        format!(
            "INSERT INTO {table} ({cols}) SELECT {cols} FROM {tmp}",
            cols = all.join(", ")
        ),
    )
    .await?;
    let drop = match b {
        DbBackend::MySql => format!("DROP TEMPORARY TABLE {tmp}"),
        _ => format!("DROP TABLE {tmp}"),
    };
    exec(manager, drop).await
}

async fn lower_unique(
    manager: &SchemaManager<'_>,
    table: &str,
    column: &str,
    index: &str,
    what: &str,
) -> Result<(), DbErr> {
    if manager.has_index(table, index).await? {
        return Ok(());
    }
    let b = manager.get_database_backend();
    let sql = format!(
        "CREATE UNIQUE INDEX {} ON {} (lower({}))",
        quote(b, index),
        quote(b, table),
        quote(b, column)
    );
    exec(manager, sql).await.map_err(|e| {
        DbErr::Migration(format!(
            "cannot create {index}: {table} holds {what} that differ only in case ({e}); find them \
             with `SELECT lower({column}) FROM {table} GROUP BY lower({column}) HAVING COUNT(*) > 1`, \
             resolve them, and run the migration again"
        ))
    })
}

#[async_trait::async_trait]
impl MigrationTrait for CorrectnessConstraints {
    /// One connection for the whole migration: the merge of duplicates uses a temporary table,
    /// which only the connection that made it can see.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        for d in DEDUPES {
            if manager.has_index(d.table, d.index).await? {
                continue;
            }
            dedupe(manager, d).await?;
            let mut i = Index::create();
            i.name(d.index).table(alias(d.table)).unique();
            for c in d.key {
                i.col(alias(c));
            }
            manager.create_index(i).await?;
        }
        match b {
            DbBackend::MySql => {
                if !manager
                    .has_index("customer_user", "customer_user_email")
                    .await?
                {
                    manager
                        .create_index(
                            Index::create()
                                .name("customer_user_email")
                                .table(alias("customer_user"))
                                .col(alias("email"))
                                .take(),
                        )
                        .await?;
                }
                create_lock_table(manager).await?;
            }
            _ => {
                lower_unique(
                    manager,
                    "customer_user",
                    "login",
                    "customer_user_login_lower",
                    "logins",
                )
                .await?;
                lower_unique(
                    manager,
                    "customer_company",
                    "customer_id",
                    "customer_company_customer_id_lower",
                    "customer ids",
                )
                .await?;
                if !manager
                    .has_index("customer_user", "customer_user_email_lower")
                    .await?
                {
                    exec(
                        manager,
                        format!(
                            "CREATE INDEX {} ON {} (lower({}))",
                            quote(b, "customer_user_email_lower"),
                            quote(b, "customer_user"),
                            quote(b, "email")
                        ),
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        let mut drops: Vec<(&str, &str)> = DEDUPES.iter().map(|d| (d.table, d.index)).collect();
        if b == DbBackend::MySql {
            drops.push(("customer_user", "customer_user_email"));
            manager
                .drop_table(
                    Table::drop()
                        .table(alias("clientele_lock"))
                        .if_exists()
                        .take(),
                )
                .await?;
        } else {
            drops.push(("customer_user", "customer_user_login_lower"));
            drops.push(("customer_company", "customer_company_customer_id_lower"));
            drops.push(("customer_user", "customer_user_email_lower"));
        }
        for (table, index) in drops {
            if manager.has_index(table, index).await? {
                manager
                    .drop_index(Index::drop().name(index).table(alias(table)).to_owned())
                    .await?;
            }
        }
        Ok(())
    }
}

async fn create_lock_table(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(alias("clientele_lock"))
                .if_not_exists()
                .engine("InnoDB")
                .col(
                    ColumnDef::new(alias("id"))
                        .integer()
                        .not_null()
                        .primary_key(),
                )
                .take(),
        )
        .await?;
    let conn = manager.get_connection();
    let count = Query::select()
        .expr_as(Expr::col(alias("id")).count(), alias("n"))
        .from(alias("clientele_lock"))
        .to_owned();
    let n: i64 = match conn.query_one(&count).await? {
        Some(r) => r.try_get("", "n")?,
        None => 0,
    };
    if n >= i64::from(LOCK_ROWS) {
        return Ok(());
    }
    // Rows a half-finished earlier run left behind are replaced: the rows carry no data.
    conn.execute(
        &Query::delete()
            .from_table(alias("clientele_lock"))
            .to_owned(),
    )
    .await?;
    let mut insert = Query::insert();
    insert
        .into_table(alias("clientele_lock"))
        .columns([alias("id")]);
    for id in 0..LOCK_ROWS {
        insert
            .values([id.into()])
            .map_err(|e| DbErr::Migration(e.to_string()))?;
    }
    conn.execute(&insert).await.map(|_| ())
}
