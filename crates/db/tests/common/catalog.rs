//! A database's schema as a set of objects read from its catalog — tables, columns, primary
//! keys, unique keys, indexes, foreign keys — and every row of every table, to compare a
//! database before and after `init` with what `init --plan` said.
//!
//! An object is `(kind, table, name)`, the kind spelled as [`ObjectKind::as_str`] spells it.
//! Primary keys are named as [`PlannedObject`]s name them (`<table>_pkey` on PostgreSQL,
//! `PRIMARY` elsewhere); PostgreSQL's indexes that back a primary or unique key are the key;
//! SQLite's foreign keys, which the catalog does not name, are named by their column.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use clientele_db::sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend as Engine, Statement};
use clientele_db::{Change, MigrationPlan, ObjectKind};

/// `(kind, table, name)`.
pub type Object = (String, String, String);

/// Runs `sql`, whose rows are text columns.
pub async fn rows(conn: &DatabaseConnection, sql: &str) -> Vec<Vec<Option<String>>> {
    let found = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    found
        .iter()
        .map(|r| {
            let mut values = Vec::new();
            let mut i = 0;
            while let Ok(v) = r.try_get_by_index::<Option<String>>(i) {
                values.push(v);
                i += 1;
            }
            values
        })
        .collect()
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// Every object of the database's schema.
pub async fn snapshot(conn: &DatabaseConnection) -> BTreeSet<Object> {
    let queries: Vec<(&str, &str)> = match conn.get_database_backend() {
        Engine::Postgres => vec![
            (
                "table",
                "SELECT table_name::text, table_name::text FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
            ),
            (
                "column",
                "SELECT table_name::text, column_name::text FROM information_schema.columns \
                 WHERE table_schema = current_schema()",
            ),
            (
                "",
                "SELECT CASE contype WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique key' \
                 ELSE 'foreign key' END, conrelid::regclass::text, conname::text \
                 FROM pg_constraint WHERE connamespace = current_schema()::regnamespace \
                 AND contype IN ('p', 'u', 'f')",
            ),
            (
                "",
                "SELECT CASE WHEN ix.indisunique THEN 'unique index' ELSE 'index' END, \
                 t.relname::text, i.relname::text \
                 FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid \
                 JOIN pg_class t ON t.oid = ix.indrelid \
                 WHERE t.relnamespace = current_schema()::regnamespace AND NOT EXISTS \
                 (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid \
                  AND c.conrelid = ix.indrelid AND c.contype IN ('p', 'u'))",
            ),
        ],
        Engine::MySql => vec![
            (
                "table",
                "SELECT TABLE_NAME, TABLE_NAME FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'",
            ),
            (
                "column",
                "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE()",
            ),
            (
                "",
                "SELECT DISTINCT CASE WHEN INDEX_NAME = 'PRIMARY' THEN 'primary key' \
                 WHEN NON_UNIQUE = 0 THEN 'unique index' ELSE 'index' END, TABLE_NAME, \
                 INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE()",
            ),
            (
                "",
                "SELECT 'foreign key', TABLE_NAME, CONSTRAINT_NAME \
                 FROM information_schema.TABLE_CONSTRAINTS \
                 WHERE TABLE_SCHEMA = DATABASE() AND CONSTRAINT_TYPE = 'FOREIGN KEY'",
            ),
        ],
        _ => vec![
            (
                "table",
                "SELECT name, name FROM sqlite_master \
                 WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            ),
            (
                "column",
                "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'",
            ),
            (
                "",
                "SELECT DISTINCT 'primary key', m.name, 'PRIMARY' FROM sqlite_master m \
                 JOIN pragma_table_info(m.name) p \
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND p.pk > 0",
            ),
            (
                "",
                "SELECT CASE WHEN il.\"unique\" = 1 THEN 'unique index' ELSE 'index' END, \
                 m.name, il.name FROM sqlite_master m JOIN pragma_index_list(m.name) il \
                 WHERE m.type = 'table' AND il.origin = 'c'",
            ),
            (
                "",
                "SELECT 'foreign key', m.name, f.\"from\" FROM sqlite_master m \
                 JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
            ),
        ],
    };
    let mut all = BTreeSet::new();
    for (kind, sql) in queries {
        for r in rows(conn, sql).await {
            if kind.is_empty() {
                all.insert((text(&r[0]), text(&r[1]), text(&r[2])));
            } else {
                all.insert((kind.to_owned(), text(&r[0]), text(&r[1])));
            }
        }
    }
    all
}

/// The schema objects `plan` adds and drops, as [`snapshot`] names them.
pub fn planned(plan: &MigrationPlan, engine: Engine) -> (BTreeSet<Object>, BTreeSet<Object>) {
    let mut added = BTreeSet::new();
    let mut dropped = BTreeSet::new();
    for o in plan.objects() {
        if o.kind == ObjectKind::Rows {
            continue;
        }
        let name = if engine == Engine::Sqlite && o.kind == ObjectKind::ForeignKey {
            o.columns.join(",")
        } else {
            o.name.clone()
        };
        let object = (o.kind.as_str().to_owned(), o.table.clone(), name);
        match o.change {
            Change::Add => added.insert(object),
            Change::Drop => dropped.insert(object),
        };
    }
    (added, dropped)
}

/// Asserts that the schema went from `before` to `after` exactly as `plan` said.
pub fn assert_as_planned(
    before: &BTreeSet<Object>,
    after: &BTreeSet<Object>,
    plan: &MigrationPlan,
    engine: Engine,
) {
    let (added, dropped) = planned(plan, engine);
    let really_added: BTreeSet<Object> = after.difference(before).cloned().collect();
    let really_dropped: BTreeSet<Object> = before.difference(after).cloned().collect();
    assert!(
        really_added == added,
        "added but not planned: {:#?}\nplanned but not added: {:#?}",
        really_added.difference(&added).collect::<Vec<_>>(),
        added.difference(&really_added).collect::<Vec<_>>(),
    );
    assert!(
        really_dropped == dropped,
        "dropped but not planned: {:#?}\nplanned but not dropped: {:#?}",
        really_dropped.difference(&dropped).collect::<Vec<_>>(),
        dropped.difference(&really_dropped).collect::<Vec<_>>(),
    );
}

/// Every row of every table, each value as the database's text of it, rows sorted.
pub async fn dump(conn: &DatabaseConnection) -> BTreeMap<String, Vec<Vec<Option<String>>>> {
    let engine = conn.get_database_backend();
    let cast = if engine == Engine::MySql {
        "CHAR"
    } else {
        "TEXT"
    };
    let objects = snapshot(conn).await;
    let mut columns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (kind, table, name) in &objects {
        if kind == "column" {
            columns.entry(table.clone()).or_default().push(name.clone());
        }
    }
    let quote = |s: &str| match engine {
        Engine::MySql => format!("`{s}`"),
        _ => format!("\"{s}\""),
    };
    let mut out = BTreeMap::new();
    for (table, cols) in columns {
        let select: Vec<String> = cols
            .iter()
            .map(|c| format!("CAST({} AS {cast})", quote(c)))
            .collect();
        let mut found = rows(
            conn,
            &format!("SELECT {} FROM {}", select.join(", "), quote(&table)),
        )
        .await;
        found.sort();
        out.insert(table, found);
    }
    out
}

/// The migrations recorded in `clientele_migrations` (none when the table is missing).
pub async fn recorded(conn: &DatabaseConnection) -> Vec<String> {
    let has = snapshot(conn).await.contains(&(
        "table".into(),
        "clientele_migrations".into(),
        "clientele_migrations".into(),
    ));
    if !has {
        return Vec::new();
    }
    let mut v: Vec<String> = rows(conn, "SELECT version FROM clientele_migrations")
        .await
        .into_iter()
        .map(|r| text(&r[0]))
        .collect();
    v.sort();
    v
}
