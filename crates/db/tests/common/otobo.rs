//! OTOBO's schema for the customer-user tables, loaded the way an OTOBO 10/11 installer loads
//! it into an empty database: the tables (`scripts/database/otobo-schema.*.sql`), the initial
//! rows (`otobo-initial_insert.*.sql`), then the foreign keys (`otobo-schema-post.*.sql`).
//!
//! The eleven tables Clientele reads and writes — `valid`, `users` (OTOBO's agents),
//! `groups_table`, `service`, `customer_user`, `customer_company`, `customer_user_customer`,
//! `group_customer_user`, `group_customer`, `service_customer_user`, `customer_preferences` —
//! and the three that hold customer-user dynamic fields (`dynamic_field`,
//! `dynamic_field_value`, `dynamic_field_obj_id_name`), with OTOBO's column types, primary and
//! unique keys, plain indexes and their names (`reference/otobo-schema-facts.md`). The initial
//! rows are the ones that matter here: `valid` 1 `valid`, 2 `invalid`, 3
//! `invalid-temporarily`; agent 1 `root@localhost`; groups 1 `users`, 2 `admin`, 3 `stats`.
//!
//! Raw `CREATE TABLE` is right here: this simulates a foreign database, not Clientele's schema.
//!
//! OTOBO has no SQLite schema. The SQLite variant is the closest equivalent (the one Clientele's
//! migration uses too): OTOBO's MySQL column types, `INTEGER PRIMARY KEY AUTOINCREMENT` for the
//! auto-numbered ids, unique keys as unique indexes of OTOBO's names, and the foreign keys
//! declared in the tables (SQLite cannot add them afterwards) and checked when the load
//! commits, after the initial rows are in.
#![allow(dead_code)]

use clientele_db::sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend as Engine, Statement, TransactionTrait,
};

/// The ten customer-side tables Clientele's migration creates on an empty database.
pub const CUSTOMER_TABLES: [&str; 10] = [
    "valid",
    "groups_table",
    "service",
    "customer_user",
    "customer_company",
    "customer_user_customer",
    "group_customer_user",
    "group_customer",
    "service_customer_user",
    "customer_preferences",
];

/// The eleven tables Clientele reads and writes: the ten and OTOBO's agent table `users`.
pub const TABLES: [&str; 11] = [
    "valid",
    "users",
    "groups_table",
    "service",
    "customer_user",
    "customer_company",
    "customer_user_customer",
    "group_customer_user",
    "group_customer",
    "service_customer_user",
    "customer_preferences",
];

/// The tables of customer-user dynamic fields.
pub const DYNAMIC_FIELD_TABLES: [&str; 3] = [
    "dynamic_field",
    "dynamic_field_value",
    "dynamic_field_obj_id_name",
];

/// The id of the admin agent every OTOBO installer creates (`root@localhost`), the only agent
/// of a fresh OTOBO database: the one audit actor that satisfies OTOBO's foreign keys.
pub const ADMIN_AGENT: i32 = 1;

/// An index: its name, its columns, and the columns as MySQL indexes them where that differs
/// (a prefix).
struct Index {
    name: &'static str,
    columns: &'static str,
    mysql_columns: Option<&'static str>,
}

const fn index(name: &'static str, columns: &'static str) -> Index {
    Index {
        name,
        columns,
        mysql_columns: None,
    }
}

/// One of OTOBO's tables. Column lines use `{serial}` (an auto-numbered `INTEGER` id),
/// `{small_serial}` (`valid.id`: a `SMALLINT` one on MySQL), `{time}`, `{long_text}` (OTOBO's
/// `VARCHAR(3800)`, a `TEXT` on MySQL) and `{blob}` (OTOBO's `LONGBLOB`, a `TEXT` on
/// PostgreSQL) for what each database spells its own way.
struct Table {
    name: &'static str,
    columns: &'static [&'static str],
    primary_key: &'static str,
    unique: Option<Index>,
    indexes: &'static [Index],
    /// Foreign keys: OTOBO's name, the column, the table whose `id` it references.
    references: &'static [(&'static str, &'static str, &'static str)],
}

const AUDIT: [&str; 4] = [
    "create_time {time} NOT NULL",
    "create_by INTEGER NOT NULL",
    "change_time {time} NOT NULL",
    "change_by INTEGER NOT NULL",
];

macro_rules! with_audit {
    ($($column:expr),* $(,)?) => {
        &[$($column,)* AUDIT[0], AUDIT[1], AUDIT[2], AUDIT[3]]
    };
}

/// OTOBO's fourteen tables, in the order of `otobo-schema.*.sql`.
const SCHEMA: &[Table] = &[
    Table {
        name: "valid",
        columns: with_audit!("id {small_serial}", "name VARCHAR (191) NOT NULL"),
        primary_key: "id",
        unique: Some(index("valid_name", "name")),
        indexes: &[],
        references: &[
            ("FK_valid_create_by_id", "create_by", "users"),
            ("FK_valid_change_by_id", "change_by", "users"),
        ],
    },
    Table {
        name: "users",
        columns: with_audit!(
            "id {serial}",
            "login VARCHAR (191) NOT NULL",
            "pw VARCHAR (128) NOT NULL",
            "title VARCHAR (50) NULL",
            "first_name VARCHAR (100) NOT NULL",
            "last_name VARCHAR (100) NOT NULL",
            "valid_id SMALLINT NOT NULL",
        ),
        primary_key: "id",
        unique: Some(index("users_login", "login")),
        indexes: &[],
        references: &[
            ("FK_users_create_by_id", "create_by", "users"),
            ("FK_users_change_by_id", "change_by", "users"),
            ("FK_users_valid_id_id", "valid_id", "valid"),
        ],
    },
    Table {
        name: "groups_table",
        columns: with_audit!(
            "id {serial}",
            "name VARCHAR (191) NOT NULL",
            "comments VARCHAR (250) NULL",
            "valid_id SMALLINT NOT NULL",
        ),
        primary_key: "id",
        unique: Some(index("groups_name", "name")),
        indexes: &[],
        references: &[
            ("FK_groups_create_by_id", "create_by", "users"),
            ("FK_groups_change_by_id", "change_by", "users"),
            ("FK_groups_valid_id_id", "valid_id", "valid"),
        ],
    },
    Table {
        name: "group_customer_user",
        columns: with_audit!(
            "user_id VARCHAR (100) NOT NULL",
            "group_id INTEGER NOT NULL",
            "permission_key VARCHAR (20) NOT NULL",
            "permission_value SMALLINT NOT NULL",
        ),
        primary_key: "",
        unique: None,
        indexes: &[
            index("group_customer_user_group_id", "group_id"),
            index("group_customer_user_user_id", "user_id"),
        ],
        references: &[
            (
                "FK_group_customer_user_group_id_id",
                "group_id",
                "groups_table",
            ),
            ("FK_group_customer_user_create_by_id", "create_by", "users"),
            ("FK_group_customer_user_change_by_id", "change_by", "users"),
        ],
    },
    Table {
        name: "group_customer",
        columns: with_audit!(
            "customer_id VARCHAR (150) NOT NULL",
            "group_id INTEGER NOT NULL",
            "permission_key VARCHAR (20) NOT NULL",
            "permission_value SMALLINT NOT NULL",
            "permission_context VARCHAR (100) NOT NULL",
        ),
        primary_key: "",
        unique: None,
        indexes: &[
            index("group_customer_customer_id", "customer_id"),
            index("group_customer_group_id", "group_id"),
        ],
        references: &[
            ("FK_group_customer_group_id_id", "group_id", "groups_table"),
            ("FK_group_customer_create_by_id", "create_by", "users"),
            ("FK_group_customer_change_by_id", "change_by", "users"),
        ],
    },
    Table {
        name: "service",
        columns: with_audit!(
            "id {serial}",
            "name VARCHAR (191) NOT NULL",
            "valid_id SMALLINT NOT NULL",
            "comments VARCHAR (250) NULL",
        ),
        primary_key: "id",
        unique: Some(index("service_name", "name")),
        indexes: &[],
        // No foreign key on `valid_id`.
        references: &[
            ("FK_service_create_by_id", "create_by", "users"),
            ("FK_service_change_by_id", "change_by", "users"),
        ],
    },
    Table {
        name: "service_customer_user",
        columns: &[
            "customer_user_login VARCHAR (191) NOT NULL",
            "service_id INTEGER NOT NULL",
            "create_time {time} NOT NULL",
            "create_by INTEGER NOT NULL",
        ],
        primary_key: "",
        unique: None,
        indexes: &[
            Index {
                name: "service_customer_user_customer_user_login",
                columns: "customer_user_login",
                mysql_columns: Some("customer_user_login(10)"),
            },
            index("service_customer_user_service_id", "service_id"),
        ],
        references: &[
            (
                "FK_service_customer_user_service_id_id",
                "service_id",
                "service",
            ),
            (
                "FK_service_customer_user_create_by_id",
                "create_by",
                "users",
            ),
        ],
    },
    Table {
        name: "customer_user",
        columns: with_audit!(
            "id {serial}",
            "login VARCHAR (191) NOT NULL",
            "email VARCHAR (150) NOT NULL",
            "customer_id VARCHAR (150) NOT NULL",
            "pw VARCHAR (128) NULL",
            "title VARCHAR (50) NULL",
            "first_name VARCHAR (100) NOT NULL",
            "last_name VARCHAR (100) NOT NULL",
            "phone VARCHAR (150) NULL",
            "fax VARCHAR (150) NULL",
            "mobile VARCHAR (150) NULL",
            "street VARCHAR (150) NULL",
            "zip VARCHAR (200) NULL",
            "city VARCHAR (200) NULL",
            "country VARCHAR (200) NULL",
            "comments VARCHAR (250) NULL",
            "valid_id SMALLINT NOT NULL",
        ),
        primary_key: "id",
        unique: Some(index("customer_user_login", "login")),
        indexes: &[],
        references: &[
            ("FK_customer_user_create_by_id", "create_by", "users"),
            ("FK_customer_user_change_by_id", "change_by", "users"),
            ("FK_customer_user_valid_id_id", "valid_id", "valid"),
        ],
    },
    Table {
        name: "customer_preferences",
        columns: &[
            "user_id VARCHAR (191) NOT NULL",
            "preferences_key VARCHAR (150) NOT NULL",
            "preferences_value VARCHAR (250) NULL",
        ],
        primary_key: "",
        unique: None,
        indexes: &[index("customer_preferences_user_id", "user_id")],
        references: &[],
    },
    Table {
        // No foreign key at all.
        name: "customer_company",
        columns: with_audit!(
            "customer_id VARCHAR (150) NOT NULL",
            "name VARCHAR (191) NOT NULL",
            "street VARCHAR (200) NULL",
            "zip VARCHAR (200) NULL",
            "city VARCHAR (200) NULL",
            "country VARCHAR (200) NULL",
            "url VARCHAR (200) NULL",
            "comments VARCHAR (250) NULL",
            "valid_id SMALLINT NOT NULL",
        ),
        primary_key: "customer_id",
        unique: Some(index("customer_company_name", "name")),
        indexes: &[],
        references: &[],
    },
    Table {
        name: "customer_user_customer",
        columns: with_audit!(
            "user_id VARCHAR (100) NOT NULL",
            "customer_id VARCHAR (150) NOT NULL",
        ),
        primary_key: "",
        unique: None,
        indexes: &[
            index("customer_user_customer_customer_id", "customer_id"),
            index("customer_user_customer_user_id", "user_id"),
        ],
        references: &[
            (
                "FK_customer_user_customer_create_by_id",
                "create_by",
                "users",
            ),
            (
                "FK_customer_user_customer_change_by_id",
                "change_by",
                "users",
            ),
        ],
    },
    Table {
        name: "dynamic_field_value",
        columns: &[
            "id {serial}",
            "field_id INTEGER NOT NULL",
            "object_id BIGINT NOT NULL",
            "value_text {long_text} NULL",
            "value_date {time} NULL",
            "value_int BIGINT NULL",
        ],
        primary_key: "id",
        unique: None,
        indexes: &[
            index("dynamic_field_value_field_values", "object_id, field_id"),
            index("dynamic_field_value_search_date", "field_id, value_date"),
            index("dynamic_field_value_search_int", "field_id, value_int"),
            Index {
                name: "dynamic_field_value_search_text",
                columns: "field_id, value_text",
                mysql_columns: Some("field_id, value_text(150)"),
            },
        ],
        references: &[(
            "FK_dynamic_field_value_field_id_id",
            "field_id",
            "dynamic_field",
        )],
    },
    Table {
        name: "dynamic_field",
        columns: with_audit!(
            "id {serial}",
            "internal_field SMALLINT NOT NULL DEFAULT 0",
            "name VARCHAR (191) NOT NULL",
            "label VARCHAR (200) NOT NULL",
            "field_order INTEGER NOT NULL",
            "field_type VARCHAR (200) NOT NULL",
            "object_type VARCHAR (100) NOT NULL",
            "config {blob} NULL",
            "valid_id SMALLINT NOT NULL",
        ),
        primary_key: "id",
        unique: Some(index("dynamic_field_name", "name")),
        indexes: &[],
        references: &[
            ("FK_dynamic_field_create_by_id", "create_by", "users"),
            ("FK_dynamic_field_change_by_id", "change_by", "users"),
            ("FK_dynamic_field_valid_id_id", "valid_id", "valid"),
        ],
    },
    Table {
        name: "dynamic_field_obj_id_name",
        columns: &[
            "object_id {serial}",
            "object_name VARCHAR (191) NOT NULL",
            "object_type VARCHAR (100) NOT NULL",
        ],
        primary_key: "object_id",
        unique: Some(index(
            "dynamic_field_object_name",
            "object_name, object_type",
        )),
        indexes: &[],
        references: &[],
    },
];

/// A column line with the database's spelling of the placeholders.
fn column(engine: Engine, line: &str) -> String {
    let (serial, small_serial, time, long_text, blob) = match engine {
        Engine::Postgres => (
            "serial NOT NULL",
            "serial NOT NULL",
            "timestamp(0)",
            "VARCHAR (3800)",
            "TEXT",
        ),
        Engine::MySql => (
            "INTEGER NOT NULL AUTO_INCREMENT",
            "SMALLINT NOT NULL AUTO_INCREMENT",
            "DATETIME",
            "TEXT",
            "LONGBLOB",
        ),
        _ => (
            "INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT",
            "INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT",
            "DATETIME",
            "TEXT",
            "TEXT",
        ),
    };
    line.replace("{serial}", serial)
        .replace("{small_serial}", small_serial)
        .replace("{time}", time)
        .replace("{long_text}", long_text)
        .replace("{blob}", blob)
}

/// The tables and their indexes (`otobo-schema.*.sql`).
pub fn schema(engine: Engine) -> Vec<String> {
    create_statements(engine, |_| true, true)
}

/// Some of OTOBO's tables, with their indexes but without any foreign key: a database that
/// holds only these (an OTOBO database seen through a few of its tables).
pub fn tables_without_references(engine: Engine, tables: &[&str]) -> Vec<String> {
    create_statements(engine, |t| tables.contains(&t), false)
}

fn create_statements(
    engine: Engine,
    wanted: impl Fn(&str) -> bool,
    with_references: bool,
) -> Vec<String> {
    let mut statements = Vec::new();
    for t in SCHEMA.iter().filter(|t| wanted(t.name)) {
        let mut lines: Vec<String> = t.columns.iter().map(|c| column(engine, c)).collect();
        let serial_key = t.columns.iter().any(|c| {
            c.split_once(' ')
                .is_some_and(|(name, ty)| name == t.primary_key && ty.ends_with("serial}"))
        });
        // SQLite's auto-numbered key is declared in its column (`PRIMARY KEY AUTOINCREMENT`).
        let key_in_column = engine == Engine::Sqlite && serial_key;
        if !t.primary_key.is_empty() && !key_in_column {
            lines.push(format!("PRIMARY KEY({})", t.primary_key));
        }
        let mut after = Vec::new();
        match engine {
            Engine::Postgres => {
                if let Some(u) = &t.unique {
                    lines.push(format!("CONSTRAINT {} UNIQUE ({})", u.name, u.columns));
                }
                for i in t.indexes {
                    after.push(format!(
                        "CREATE INDEX {} ON {} ({})",
                        i.name, t.name, i.columns
                    ));
                }
            }
            Engine::MySql => {
                if let Some(u) = &t.unique {
                    lines.push(format!("UNIQUE INDEX {} ({})", u.name, u.columns));
                }
                for i in t.indexes {
                    let columns = i.mysql_columns.unwrap_or(i.columns);
                    lines.push(format!("INDEX {} ({columns})", i.name));
                }
            }
            _ => {
                for (name, column, table) in t.references.iter().filter(|_| with_references) {
                    lines.push(format!(
                        "CONSTRAINT {name} FOREIGN KEY ({column}) REFERENCES {table} (id)"
                    ));
                }
                if let Some(u) = &t.unique {
                    after.push(format!(
                        "CREATE UNIQUE INDEX {} ON {} ({})",
                        u.name, t.name, u.columns
                    ));
                }
                for i in t.indexes {
                    after.push(format!(
                        "CREATE INDEX {} ON {} ({})",
                        i.name, t.name, i.columns
                    ));
                }
            }
        }
        statements.push(format!(
            "CREATE TABLE {} (\n    {}\n)",
            t.name,
            lines.join(",\n    ")
        ));
        statements.extend(after);
    }
    statements
}

/// The initial rows that matter here, inserted as OTOBO's installer does (ids from the
/// sequence, `current_timestamp`, created by agent 1).
pub fn initial_rows() -> Vec<String> {
    let audit = "1, current_timestamp, 1, current_timestamp";
    let mut rows: Vec<String> = ["valid", "invalid", "invalid-temporarily"]
        .iter()
        .map(|name| {
            format!(
                "INSERT INTO valid (name, create_by, create_time, change_by, change_time) \
                 VALUES ('{name}', {audit})"
            )
        })
        .collect();
    rows.push(format!(
        "INSERT INTO users (first_name, last_name, login, pw, valid_id, create_by, create_time, \
         change_by, change_time) VALUES ('Admin', 'OTOBO', 'root@localhost', 'roK20XGbWEsSM', 1, \
         {audit})"
    ));
    for (name, comments) in [
        ("users", "Group for default access."),
        ("admin", "Group of all administrators."),
        ("stats", "Group for statistics access."),
    ] {
        rows.push(format!(
            "INSERT INTO groups_table (name, comments, valid_id, create_by, create_time, \
             change_by, change_time) VALUES ('{name}', '{comments}', 1, {audit})"
        ));
    }
    rows
}

/// Agents 2 to 9 (`agent2` … `agent9`), as an OTOBO in use has beside `root@localhost`: the
/// suites write as some of them, and OTOBO's foreign keys want them to exist.
pub fn shop_agents() -> Vec<String> {
    let audit = "1, current_timestamp, 1, current_timestamp";
    (2..=9)
        .map(|n| {
            format!(
                "INSERT INTO users (first_name, last_name, login, pw, valid_id, create_by, \
                 create_time, change_by, change_time) VALUES ('Agent', '{n}', 'agent{n}', \
                 'x', 1, {audit})"
            )
        })
        .collect()
}

/// The foreign keys of OTOBO's post step (`otobo-schema-post.*.sql`). SQLite's are declared
/// in its tables instead: there is nothing to add afterwards.
pub fn foreign_keys(engine: Engine) -> Vec<String> {
    if engine == Engine::Sqlite {
        return Vec::new();
    }
    SCHEMA
        .iter()
        .flat_map(|t| {
            t.references.iter().map(move |(name, column, table)| {
                format!(
                    "ALTER TABLE {} ADD CONSTRAINT {name} FOREIGN KEY ({column}) REFERENCES {table} (id)",
                    t.name
                )
            })
        })
        .collect()
}

/// The foreign keys OTOBO has on `table` (OTOBO's names): `(name, column, referenced table)`.
pub fn references(table: &str) -> Vec<(&'static str, &'static str, &'static str)> {
    SCHEMA
        .iter()
        .filter(|t| t.name == table)
        .flat_map(|t| t.references.iter().copied())
        .collect()
}

/// Loads OTOBO's schema, initial rows, a shop's agents ([`shop_agents`]) and foreign keys into the empty database `conn` is
/// connected to.
pub async fn load(conn: &DatabaseConnection) {
    let engine = conn.get_database_backend();
    let statements = schema(engine)
        .into_iter()
        .chain(initial_rows())
        .chain(shop_agents())
        .chain(foreign_keys(engine));
    let run = |sql: String| Statement::from_string(engine, sql);
    if engine == Engine::Sqlite {
        // The foreign keys are in the tables already: check them when the load commits, after
        // the initial rows (valid and users refer to each other).
        let tx = conn.begin().await.expect("begin the OTOBO load");
        tx.execute_raw(run("PRAGMA defer_foreign_keys = ON".into()))
            .await
            .expect("defer foreign keys");
        for sql in statements {
            tx.execute_raw(run(sql.clone()))
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        tx.commit().await.expect("commit the OTOBO load");
    } else {
        for sql in statements {
            conn.execute_raw(run(sql.clone()))
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }
}
