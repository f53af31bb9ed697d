//! Migration 1: OTOBO's customer-side tables (reference §10), created only where missing.

use sea_orm::{DbBackend, DbErr};
use sea_orm_migration::prelude::*;

use super::alias;
use super::catalog::{Catalog, index_object, sql_of, table_objects};
use super::plan::{Change, ObjectKind, PlannedObject};

/// Creates `valid`, `groups_table`, `service`, `customer_company`, `customer_user`,
/// `customer_user_customer`, `group_customer_user`, `group_customer`, `service_customer_user`
/// and `customer_preferences` as OTOBO 10/11's installer creates them, and inserts OTOBO's three
/// `valid` rows.
///
/// On PostgreSQL and MySQL/MariaDB every column (name, order, type, length, NULL-ness), primary
/// key, unique key and plain index is OTOBO's, with OTOBO's names — `serial` ids on PostgreSQL,
/// a `SMALLINT AUTO_INCREMENT` `valid.id` and a 10-character prefix index on
/// `service_customer_user.customer_user_login` on MySQL — and so are the foreign keys between
/// these tables: `valid_id` of `groups_table` and `customer_user` to `valid`, `group_id` of the
/// two grant tables to `groups_table`, `service_customer_user.service_id` to `service`. OTOBO
/// has no SQLite schema; there the same column types are used, ids are `INTEGER PRIMARY KEY
/// AUTOINCREMENT` (SQLite's only auto-numbered column) and the unique keys are unique indexes
/// of OTOBO's names.
///
/// What Clientele leaves out: OTOBO's agent table `users`, and with it the foreign keys of the
/// audit columns (`create_by`, `change_by`) to it. On an existing OTOBO database the `CREATE
/// TABLE IF NOT EXISTS` statements find every table there and change nothing.
pub struct OtoboTables;

impl MigrationName for OtoboTables {
    fn name(&self) -> &str {
        "m20250601_000001_otobo_tables"
    }
}

/// A column type of OTOBO's schema.
#[derive(Clone, Copy)]
enum Ty {
    /// An auto-numbered `INTEGER` id: `serial` on PostgreSQL, `AUTO_INCREMENT` on MySQL.
    Serial,
    /// `valid.id`: `serial` on PostgreSQL, but a `SMALLINT AUTO_INCREMENT` on MySQL.
    SmallSerial,
    SmallInt,
    Integer,
    Varchar(u32),
    /// `timestamp(0)` on PostgreSQL, `DATETIME` elsewhere.
    Time,
}

struct Column {
    name: &'static str,
    ty: Ty,
    null: bool,
}

const fn col(name: &'static str, ty: Ty) -> Column {
    Column {
        name,
        ty,
        null: false,
    }
}

const fn nullable(name: &'static str, ty: Ty) -> Column {
    Column {
        name,
        ty,
        null: true,
    }
}

/// OTOBO's audit columns: `create_time`, `create_by` and, with `change`, `change_time`,
/// `change_by`.
const AUDIT: [Column; 4] = [
    col("create_time", Ty::Time),
    col("create_by", Ty::Integer),
    col("change_time", Ty::Time),
    col("change_by", Ty::Integer),
];

/// A plain index of OTOBO's: its name, its column and, on MySQL, the prefix length OTOBO
/// indexes.
struct PlainIndex {
    name: &'static str,
    column: &'static str,
    mysql_prefix: Option<u32>,
}

const fn plain(name: &'static str, column: &'static str) -> PlainIndex {
    PlainIndex {
        name,
        column,
        mysql_prefix: None,
    }
}

/// A foreign key OTOBO's "post" step adds: its name as OTOBO writes it (PostgreSQL folds it to
/// lower case), the column, and the table whose `id` it references.
struct Reference {
    name: &'static str,
    column: &'static str,
    table: &'static str,
}

const fn reference(name: &'static str, column: &'static str, table: &'static str) -> Reference {
    Reference {
        name,
        column,
        table,
    }
}

/// One of OTOBO's tables.
struct OtoboTable {
    name: &'static str,
    columns: Vec<Column>,
    /// The primary key's column (OTOBO's are single-column).
    primary_key: Option<&'static str>,
    /// The unique key: its name and its column.
    unique: Option<(&'static str, &'static str)>,
    indexes: Vec<PlainIndex>,
    references: Vec<Reference>,
}

/// OTOBO's `permission_key` and `permission_context` widths, as the permission vocabulary
/// states them.
const PERMISSION_KEY_LEN: u32 = clientele_model::permission::MAX_PERMISSION_TYPE_LEN as u32;
const PERMISSION_CONTEXT_LEN: u32 = clientele_model::permission::MAX_PERMISSION_CONTEXT_LEN as u32;

fn with_audit(mut columns: Vec<Column>, change: bool) -> Vec<Column> {
    let [create_time, create_by, change_time, change_by] = AUDIT;
    columns.extend([create_time, create_by]);
    if change {
        columns.extend([change_time, change_by]);
    }
    columns
}

/// The ten tables in creation order (referenced tables first), as OTOBO's
/// `otobo-schema.*.sql` and `otobo-schema-post.*.sql` define them.
fn otobo_tables() -> Vec<OtoboTable> {
    use Ty::{Integer, Serial, SmallInt, SmallSerial, Varchar};
    vec![
        OtoboTable {
            name: "valid",
            columns: with_audit(
                vec![col("id", SmallSerial), col("name", Varchar(191))],
                true,
            ),
            primary_key: Some("id"),
            unique: Some(("valid_name", "name")),
            indexes: vec![],
            references: vec![],
        },
        OtoboTable {
            name: "groups_table",
            columns: with_audit(
                vec![
                    col("id", Serial),
                    col("name", Varchar(191)),
                    nullable("comments", Varchar(250)),
                    col("valid_id", SmallInt),
                ],
                true,
            ),
            primary_key: Some("id"),
            unique: Some(("groups_name", "name")),
            indexes: vec![],
            references: vec![reference("FK_groups_valid_id_id", "valid_id", "valid")],
        },
        OtoboTable {
            // OTOBO gives `service.valid_id` no foreign key.
            name: "service",
            columns: with_audit(
                vec![
                    col("id", Serial),
                    col("name", Varchar(191)),
                    col("valid_id", SmallInt),
                    nullable("comments", Varchar(250)),
                ],
                true,
            ),
            primary_key: Some("id"),
            unique: Some(("service_name", "name")),
            indexes: vec![],
            references: vec![],
        },
        OtoboTable {
            // OTOBO gives `customer_company` no foreign key at all.
            name: "customer_company",
            columns: with_audit(
                vec![
                    col("customer_id", Varchar(150)),
                    col("name", Varchar(191)),
                    nullable("street", Varchar(200)),
                    nullable("zip", Varchar(200)),
                    nullable("city", Varchar(200)),
                    nullable("country", Varchar(200)),
                    nullable("url", Varchar(200)),
                    nullable("comments", Varchar(250)),
                    col("valid_id", SmallInt),
                ],
                true,
            ),
            primary_key: Some("customer_id"),
            unique: Some(("customer_company_name", "name")),
            indexes: vec![],
            references: vec![],
        },
        OtoboTable {
            name: "customer_user",
            columns: with_audit(
                vec![
                    col("id", Serial),
                    col("login", Varchar(191)),
                    col("email", Varchar(150)),
                    col("customer_id", Varchar(150)),
                    nullable("pw", Varchar(128)),
                    nullable("title", Varchar(50)),
                    col("first_name", Varchar(100)),
                    col("last_name", Varchar(100)),
                    nullable("phone", Varchar(150)),
                    nullable("fax", Varchar(150)),
                    nullable("mobile", Varchar(150)),
                    nullable("street", Varchar(150)),
                    nullable("zip", Varchar(200)),
                    nullable("city", Varchar(200)),
                    nullable("country", Varchar(200)),
                    nullable("comments", Varchar(250)),
                    col("valid_id", SmallInt),
                ],
                true,
            ),
            primary_key: Some("id"),
            unique: Some(("customer_user_login", "login")),
            indexes: vec![],
            references: vec![reference(
                "FK_customer_user_valid_id_id",
                "valid_id",
                "valid",
            )],
        },
        OtoboTable {
            name: "customer_user_customer",
            columns: with_audit(
                vec![
                    col("user_id", Varchar(100)),
                    col("customer_id", Varchar(150)),
                ],
                true,
            ),
            primary_key: None,
            unique: None,
            indexes: vec![
                plain("customer_user_customer_customer_id", "customer_id"),
                plain("customer_user_customer_user_id", "user_id"),
            ],
            references: vec![],
        },
        OtoboTable {
            name: "group_customer_user",
            columns: with_audit(
                vec![
                    col("user_id", Varchar(100)),
                    col("group_id", Integer),
                    col("permission_key", Varchar(PERMISSION_KEY_LEN)),
                    col("permission_value", SmallInt),
                ],
                true,
            ),
            primary_key: None,
            unique: None,
            indexes: vec![
                plain("group_customer_user_group_id", "group_id"),
                plain("group_customer_user_user_id", "user_id"),
            ],
            references: vec![reference(
                "FK_group_customer_user_group_id_id",
                "group_id",
                "groups_table",
            )],
        },
        OtoboTable {
            name: "group_customer",
            columns: with_audit(
                vec![
                    col("customer_id", Varchar(150)),
                    col("group_id", Integer),
                    col("permission_key", Varchar(PERMISSION_KEY_LEN)),
                    col("permission_value", SmallInt),
                    col("permission_context", Varchar(PERMISSION_CONTEXT_LEN)),
                ],
                true,
            ),
            primary_key: None,
            unique: None,
            indexes: vec![
                plain("group_customer_customer_id", "customer_id"),
                plain("group_customer_group_id", "group_id"),
            ],
            references: vec![reference(
                "FK_group_customer_group_id_id",
                "group_id",
                "groups_table",
            )],
        },
        OtoboTable {
            name: "service_customer_user",
            columns: with_audit(
                vec![
                    col("customer_user_login", Varchar(191)),
                    col("service_id", Integer),
                ],
                false,
            ),
            primary_key: None,
            unique: None,
            indexes: vec![
                PlainIndex {
                    name: "service_customer_user_customer_user_login",
                    column: "customer_user_login",
                    mysql_prefix: Some(10),
                },
                plain("service_customer_user_service_id", "service_id"),
            ],
            references: vec![reference(
                "FK_service_customer_user_service_id_id",
                "service_id",
                "service",
            )],
        },
        OtoboTable {
            name: "customer_preferences",
            columns: vec![
                col("user_id", Varchar(191)),
                col("preferences_key", Varchar(150)),
                nullable("preferences_value", Varchar(250)),
            ],
            primary_key: None,
            unique: None,
            indexes: vec![plain("customer_preferences_user_id", "user_id")],
            references: vec![],
        },
    ]
}

/// The columns the migration creates `table` with, if it is one of OTOBO's tables it creates.
pub(crate) fn otobo_columns(table: &str) -> Option<Vec<&'static str>> {
    otobo_tables()
        .into_iter()
        .find(|t| t.name == table)
        .map(|t| t.columns.iter().map(|c| c.name).collect())
}

/// The column as OTOBO's DDL for `backend` spells it.
fn column_def(backend: DbBackend, c: &Column, primary_key: bool) -> ColumnDef {
    let (ty, auto_increment) = match (c.ty, backend) {
        (Ty::Serial | Ty::SmallSerial, DbBackend::Postgres) => ("serial".to_owned(), false),
        (Ty::SmallSerial, DbBackend::MySql) => ("SMALLINT".to_owned(), true),
        // SQLite numbers a column automatically only as `INTEGER PRIMARY KEY`.
        (Ty::Serial | Ty::SmallSerial, _) => ("INTEGER".to_owned(), true),
        (Ty::SmallInt, _) => ("SMALLINT".to_owned(), false),
        (Ty::Integer, _) => ("INTEGER".to_owned(), false),
        (Ty::Varchar(n), _) => (format!("VARCHAR({n})"), false),
        (Ty::Time, DbBackend::Postgres) => ("timestamp(0)".to_owned(), false),
        (Ty::Time, _) => ("DATETIME".to_owned(), false),
    };
    let mut def = ColumnDef::new(alias(c.name));
    def.custom(alias(&ty));
    if c.null {
        def.null();
    } else {
        def.not_null();
    }
    if primary_key {
        def.primary_key();
    }
    if auto_increment {
        def.auto_increment();
    }
    def
}

/// A foreign key's name as the database stores OTOBO's unquoted one.
fn reference_name(backend: DbBackend, name: &str) -> String {
    match backend {
        DbBackend::Postgres => name.to_lowercase(),
        _ => name.to_owned(),
    }
}

fn create_statement(backend: DbBackend, table: &OtoboTable) -> TableCreateStatement {
    let mut t = Table::create();
    t.table(alias(table.name)).if_not_exists();
    if backend == DbBackend::MySql {
        // OTOBO's MySQL database: InnoDB, utf8mb4, a case-insensitive collation.
        t.engine("InnoDB")
            .character_set("utf8mb4")
            .collate("utf8mb4_unicode_ci");
    }
    for c in &table.columns {
        t.col(column_def(backend, c, table.primary_key == Some(c.name)));
    }
    // PostgreSQL's unique keys are constraints (`CONSTRAINT valid_name UNIQUE (name)`); MySQL
    // declares unique keys and plain indexes in the table, before OTOBO's post step adds the
    // foreign keys — so a foreign key uses OTOBO's index rather than getting one of its own.
    if backend != DbBackend::Sqlite
        && let Some((name, column)) = table.unique
    {
        t.index(Index::create().name(name).col(alias(column)).unique());
    }
    if backend == DbBackend::MySql {
        for i in &table.indexes {
            let mut index = Index::create();
            index.name(i.name);
            match i.mysql_prefix {
                Some(prefix) => index.col((alias(i.column), prefix)),
                None => index.col(alias(i.column)),
            };
            t.index(&mut index);
        }
    }
    for r in &table.references {
        t.foreign_key(
            ForeignKey::create()
                .name(reference_name(backend, r.name))
                .from(alias(table.name), alias(r.column))
                .to(alias(r.table), alias("id")),
        );
    }
    t
}

/// The indexes PostgreSQL and SQLite create after the table (SQLite: the unique key too, so it
/// keeps OTOBO's name): name, column, unique.
fn separate_indexes(
    backend: DbBackend,
    table: &OtoboTable,
) -> Vec<(&'static str, &'static str, bool)> {
    let mut wanted = Vec::new();
    if backend == DbBackend::Sqlite
        && let Some((name, column)) = table.unique
    {
        wanted.push((name, column, true));
    }
    if backend != DbBackend::MySql {
        wanted.extend(table.indexes.iter().map(|i| (i.name, i.column, false)));
    }
    wanted
}

/// What the migration adds to the schema `cat` describes: each table that is missing (with its
/// columns, keys, indexes and foreign keys), each of OTOBO's indexes a table lacks, and OTOBO's
/// three `valid` rows when that table is empty.
pub(crate) async fn plan(cat: &mut Catalog<'_>) -> Result<Vec<PlannedObject>, DbErr> {
    let backend = cat.backend();
    let mut out = Vec::new();
    for table in otobo_tables() {
        if !cat.has_table(table.name).await? {
            for o in table_objects(backend, table.name, &create_statement(backend, &table)) {
                cat.note(&o);
                out.push(o);
            }
        }
        for (name, column, unique) in separate_indexes(backend, &table) {
            if cat.has_index(table.name, name).await? {
                continue;
            }
            let mut i = Index::create();
            i.name(name).table(alias(table.name)).col(alias(column));
            if unique {
                i.unique();
            }
            let o = index_object(backend, table.name, &i);
            cat.note(&o);
            out.push(o);
        }
        if table.name == "valid" && !cat.is_filled("valid") && cat.count("valid").await? == 0 {
            let rows = seed_valid(backend)?;
            cat.note(&rows);
            out.push(rows);
        }
    }
    Ok(out)
}

#[async_trait::async_trait]
impl MigrationTrait for OtoboTables {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::plan::up_without_coexistence(manager, self.name()).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "the OTOBO tables migration is not reversed: it would drop customer data".into(),
        ))
    }
}

/// OTOBO's three validity rows (1 `valid`, 2 `invalid`, 3 `invalid-temporarily`, by OTOBO's
/// admin agent 1), for an empty `valid` table.
fn seed_valid(backend: DbBackend) -> Result<PlannedObject, DbErr> {
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
        insert
            .values([
                id.into(),
                name.into(),
                now.clone(),
                1.into(),
                now.clone(),
                1.into(),
            ])
            .map_err(|e| DbErr::Migration(e.to_string()))?;
    }
    let mut sql = vec![sql_of(backend, &insert)];
    if backend == DbBackend::Postgres {
        // The ids were given, so the serial's sequence has not moved: move it past them, as
        // OTOBO's own inserts (which leave the id to the sequence) would have.
        sql.push(
            "SELECT setval(pg_get_serial_sequence('valid', 'id'), (SELECT MAX(id) FROM valid))"
                .to_owned(),
        );
    }
    Ok(PlannedObject {
        change: Change::Add,
        kind: ObjectKind::Rows,
        table: "valid".to_owned(),
        name: "3 rows: 1 valid, 2 invalid, 3 invalid-temporarily".to_owned(),
        columns: Vec::new(),
        sql,
    })
}
