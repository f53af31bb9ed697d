//! The tables `clientele_db::migrate` creates on an empty database against OTOBO's own
//! ([`common::otobo`]), read back from the database catalogs — `information_schema` and
//! `pg_catalog` on PostgreSQL, `information_schema` on MariaDB, the `pragma` functions on
//! SQLite: column names, order, types, lengths, NULL-ness and defaults, primary keys, unique
//! keys and plain indexes with their names (and MariaDB's index prefixes), foreign keys, and on
//! MariaDB the tables' engine and collation.
//!
//! The ten customer-side tables must be OTOBO's, with two kinds of difference, both listed
//! here exactly: what OTOBO has and Clientele does not create (the audit columns' foreign keys
//! to OTOBO's agent table `users`, and the indexes MariaDB makes for them), and what
//! Clientele's later migrations add (its unique relation indexes, case-insensitive login and
//! company-id indexes, the email lookup index). Migrating an existing OTOBO database must add
//! exactly those additions and change nothing of OTOBO's.

mod common;

use std::collections::BTreeSet;

use clientele_db::DbConfig;
use clientele_db::sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend as Engine, Statement};

use common::otobo::{CUSTOMER_TABLES, references};
use common::{Kind, TestDb};

/// Runs `sql`, whose rows are one text column each.
async fn strings(conn: &DatabaseConnection, sql: &str) -> Vec<String> {
    conn.query_all_raw(Statement::from_string(
        conn.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
    .into_iter()
    .map(|row| {
        row.try_get_by_index::<String>(0)
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    })
    .collect()
}

/// `('valid', 'groups_table', …)`.
fn table_list() -> String {
    let quoted: Vec<String> = CUSTOMER_TABLES.iter().map(|t| format!("'{t}'")).collect();
    format!("({})", quoted.join(", "))
}

/// Everything the catalog says about the ten customer-side tables, one fact a line.
async fn facts(conn: &DatabaseConnection) -> BTreeSet<String> {
    let tables = table_list();
    let queries: Vec<String> = match conn.get_database_backend() {
        Engine::Postgres => vec![
            format!(
                "SELECT format('column %s.%s %s %s len=%s precision=%s null=%s default=%s \
                 identity=%s', table_name, ordinal_position, column_name, data_type, \
                 character_maximum_length, datetime_precision, is_nullable, column_default, \
                 is_identity)::text \
                 FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name IN {tables}"
            ),
            format!(
                "SELECT format('constraint %s %s %s', conrelid::regclass, conname, \
                 pg_get_constraintdef(oid))::text \
                 FROM pg_constraint \
                 WHERE connamespace = current_schema()::regnamespace AND contype IN ('p', 'u', 'f') \
                 AND conrelid::regclass::text IN {tables}"
            ),
            format!(
                "SELECT format('index %s %s', tablename, indexdef)::text FROM pg_indexes \
                 WHERE schemaname = current_schema() AND tablename IN {tables}"
            ),
        ],
        Engine::MySql => vec![
            format!(
                "SELECT CONCAT_WS(' ', 'column', CONCAT(TABLE_NAME, '.', ORDINAL_POSITION), \
                 COLUMN_NAME, COLUMN_TYPE, CONCAT('null=', IS_NULLABLE), \
                 CONCAT('default=', IFNULL(COLUMN_DEFAULT, '-')), CONCAT('extra=', EXTRA), \
                 CONCAT('collation=', IFNULL(COLLATION_NAME, '-'))) \
                 FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN {tables}"
            ),
            format!(
                "SELECT CONCAT_WS(' ', 'index', TABLE_NAME, INDEX_NAME, \
                 IF(NON_UNIQUE = 0, 'unique', 'plain'), \
                 GROUP_CONCAT(CONCAT(IFNULL(COLUMN_NAME, '<expression>'), \
                 IFNULL(CONCAT('(', SUB_PART, ')'), '')) ORDER BY SEQ_IN_INDEX)) \
                 FROM information_schema.STATISTICS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN {tables} \
                 GROUP BY TABLE_NAME, INDEX_NAME, NON_UNIQUE"
            ),
            format!(
                "SELECT CONCAT_WS(' ', 'foreign key', TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, \
                 REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME) \
                 FROM information_schema.KEY_COLUMN_USAGE \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN {tables} \
                 AND REFERENCED_TABLE_NAME IS NOT NULL"
            ),
            format!(
                "SELECT CONCAT_WS(' ', 'table', TABLE_NAME, ENGINE, TABLE_COLLATION) \
                 FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN {tables}"
            ),
        ],
        _ => vec![
            format!(
                "SELECT 'column ' || m.name || '.' || p.cid || ' ' || p.name || ' ' || \
                 upper(replace(p.type, ' ', '')) || ' notnull=' || p.\"notnull\" || \
                 ' default=' || ifnull(p.dflt_value, '-') || ' pk=' || p.pk \
                 FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name IN {tables}"
            ),
            format!(
                "SELECT 'autoincrement ' || name FROM sqlite_master \
                 WHERE type = 'table' AND name IN {tables} AND upper(sql) LIKE '%AUTOINCREMENT%'"
            ),
            format!(
                "SELECT 'index ' || m.name || ' ' || il.name || ' unique=' || il.\"unique\" || \
                 ' origin=' || il.origin || ' partial=' || il.partial || ' (' || \
                 (SELECT group_concat(c, ', ') FROM (SELECT ifnull(x.name, '<expression>') AS c \
                  FROM pragma_index_xinfo(il.name) x WHERE x.key = 1 ORDER BY x.seqno)) || ')' \
                 FROM sqlite_master m JOIN pragma_index_list(m.name) il \
                 WHERE m.type = 'table' AND m.name IN {tables}"
            ),
            format!(
                "SELECT 'foreign key ' || m.name || ' ' || f.\"from\" || ' ' || f.\"table\" || \
                 ' ' || f.\"to\" || ' ' || f.on_update || ' ' || f.on_delete \
                 FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f \
                 WHERE m.type = 'table' AND m.name IN {tables}"
            ),
        ],
    };
    let mut all = BTreeSet::new();
    for q in queries {
        all.extend(strings(conn, &q).await);
    }
    all
}

/// OTOBO's foreign keys from the audit columns to `users`, as `facts` shows them (and on
/// MariaDB the index InnoDB makes for each): what Clientele does not create.
fn audit_references(engine: Engine) -> BTreeSet<String> {
    let mut missing = BTreeSet::new();
    for table in CUSTOMER_TABLES {
        for (name, column, target) in references(table) {
            if target != "users" {
                continue;
            }
            match engine {
                Engine::Postgres => {
                    missing.insert(format!(
                        "constraint {table} {} FOREIGN KEY ({column}) REFERENCES users(id)",
                        name.to_lowercase()
                    ));
                }
                Engine::MySql => {
                    missing.insert(format!("foreign key {table} {name} {column} users id"));
                    missing.insert(format!("index {table} {name} plain {column}"));
                }
                _ => {
                    missing.insert(format!(
                        "foreign key {table} {column} users id NO ACTION NO ACTION"
                    ));
                }
            }
        }
    }
    missing
}

/// What Clientele's own migrations add to the ten tables (`CorrectnessConstraints`), as
/// `facts` shows it.
fn clientele_additions(engine: Engine) -> BTreeSet<String> {
    let uniq = [
        ("customer_user_customer", "user_id, customer_id"),
        ("group_customer_user", "user_id, group_id, permission_key"),
        (
            "group_customer",
            "customer_id, group_id, permission_key, permission_context",
        ),
        ("service_customer_user", "customer_user_login, service_id"),
        ("customer_preferences", "user_id, preferences_key"),
    ];
    let mut added = BTreeSet::new();
    match engine {
        Engine::Postgres => {
            for (table, columns) in uniq {
                added.insert(format!(
                    "index {table} CREATE UNIQUE INDEX {table}_clientele_uniq ON public.{table} \
                     USING btree ({columns})"
                ));
            }
            added.insert(
                "index customer_user CREATE UNIQUE INDEX customer_user_login_lower ON \
                 public.customer_user USING btree (lower((login)::text))"
                    .to_owned(),
            );
            added.insert(
                "index customer_company CREATE UNIQUE INDEX customer_company_customer_id_lower \
                 ON public.customer_company USING btree (lower((customer_id)::text))"
                    .to_owned(),
            );
            added.insert(
                "index customer_user CREATE INDEX customer_user_email_lower ON \
                 public.customer_user USING btree (lower((email)::text))"
                    .to_owned(),
            );
        }
        Engine::MySql => {
            for (table, columns) in uniq {
                added.insert(format!(
                    "index {table} {table}_clientele_uniq unique {}",
                    columns.replace(", ", ",")
                ));
            }
            added.insert("index customer_user customer_user_email plain email".to_owned());
        }
        _ => {
            for (table, columns) in uniq {
                added.insert(format!(
                    "index {table} {table}_clientele_uniq unique=1 origin=c partial=0 ({columns})"
                ));
            }
            added.insert(
                "index customer_user customer_user_login_lower unique=1 origin=c partial=0 \
                 (<expression>)"
                    .to_owned(),
            );
            added.insert(
                "index customer_company customer_company_customer_id_lower unique=1 origin=c \
                 partial=0 (<expression>)"
                    .to_owned(),
            );
            added.insert(
                "index customer_user customer_user_email_lower unique=0 origin=c partial=0 \
                 (<expression>)"
                    .to_owned(),
            );
        }
    }
    added
}

fn show(set: &BTreeSet<String>) -> String {
    set.iter().map(|f| format!("\n  {f}")).collect()
}

/// The `valid` rows, `"<id> <name>"` in id order.
async fn valid_rows(conn: &DatabaseConnection) -> Vec<String> {
    let ids = strings(conn, "SELECT CAST(id AS CHAR(3)) FROM valid ORDER BY id").await;
    let names = strings(conn, "SELECT name FROM valid ORDER BY id").await;
    ids.iter()
        .zip(names)
        .map(|(id, name)| format!("{} {name}", id.trim()))
        .collect()
}

/// A new database of `kind`: migrated by Clientele, or holding OTOBO's schema (`Otobo*`
/// kinds), optionally migrated afterwards.
async fn catalog(kind: Kind, migrate: bool) -> (BTreeSet<String>, Vec<String>) {
    let test_db = TestDb::new(kind).await;
    let db = test_db.connect(DbConfig::default()).await;
    let conn = db.connection();
    if migrate {
        clientele_db::migrate(conn).await.expect("migrate");
    }
    let facts = facts(conn).await;
    let valid = valid_rows(conn).await;
    let _ = conn.close_by_ref().await;
    test_db.drop().await;
    (facts, valid)
}

async fn compare(plain: Kind, otobo: Kind) {
    let engine = plain.engine();
    let (clientele, clientele_valid) = catalog(plain, true).await;
    let (otobo_only, otobo_valid) = catalog(otobo, false).await;
    assert!(
        clientele
            .iter()
            .any(|f| f.starts_with("column customer_user.")),
        "the catalog query found the tables: {}",
        show(&clientele)
    );

    let missing: BTreeSet<String> = otobo_only.difference(&clientele).cloned().collect();
    let extra: BTreeSet<String> = clientele.difference(&otobo_only).cloned().collect();
    let expected_missing = audit_references(engine);
    let expected_extra = clientele_additions(engine);
    assert!(
        missing == expected_missing,
        "what OTOBO has and Clientele does not create; unexpected:{}\nnot missing after all:{}",
        show(&missing.difference(&expected_missing).cloned().collect()),
        show(&expected_missing.difference(&missing).cloned().collect()),
    );
    assert!(
        extra == expected_extra,
        "what Clientele adds; unexpected:{}\nnot added after all:{}",
        show(&extra.difference(&expected_extra).cloned().collect()),
        show(&expected_extra.difference(&extra).cloned().collect()),
    );
    assert_eq!(
        clientele_valid,
        ["1 valid", "2 invalid", "3 invalid-temporarily"]
    );
    assert_eq!(clientele_valid, otobo_valid);

    // On OTOBO's database the migrations add exactly Clientele's objects and keep OTOBO's.
    let (migrated, migrated_valid) = catalog(otobo, true).await;
    let removed: BTreeSet<String> = otobo_only.difference(&migrated).cloned().collect();
    let added: BTreeSet<String> = migrated.difference(&otobo_only).cloned().collect();
    assert!(
        removed.is_empty(),
        "migrating OTOBO's database changed:{}",
        show(&removed)
    );
    assert!(
        added == expected_extra,
        "migrating OTOBO's database added:{}",
        show(&added)
    );
    assert_eq!(migrated_valid, otobo_valid);
}

/// The `valid` rows are Clientele's seed, yet the next row gets the next id: the id column
/// numbers rows on its own, as OTOBO's does (`serial`, `AUTO_INCREMENT`).
async fn valid_ids_continue(kind: Kind) {
    let test_db = TestDb::new(kind).await;
    let db = test_db.connect(DbConfig::default()).await;
    let conn = db.connection();
    clientele_db::migrate(conn).await.expect("migrate");
    common::exec(
        conn,
        "INSERT INTO valid (name, create_by, create_time, change_by, change_time) \
         VALUES ('retired', 1, current_timestamp, 1, current_timestamp)",
    )
    .await;
    assert_eq!(
        valid_rows(conn).await,
        ["1 valid", "2 invalid", "3 invalid-temporarily", "4 retired"]
    );
    let _ = conn.close_by_ref().await;
    test_db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tables_are_otobos() {
    compare(Kind::SqliteFile, Kind::OtoboSqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_valid_ids_continue() {
    valid_ids_continue(Kind::SqliteFile).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn postgres_tables_are_otobos() {
    compare(Kind::Postgres, Kind::OtoboPostgres).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn postgres_valid_ids_continue() {
    valid_ids_continue(Kind::Postgres).await;
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MariaDB: run scripts/test.sh"]
async fn mariadb_tables_are_otobos() {
    compare(Kind::MySql, Kind::OtoboMySql).await;
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs MariaDB: run scripts/test.sh"]
async fn mariadb_valid_ids_continue() {
    valid_ids_continue(Kind::MySql).await;
}
