//! What `init` would do, as data: [`plan_migration`] inspects a database and lists every object
//! the migrations would add or drop, every duplicate row they would merge, and every row that
//! stops them; [`migrate_with`] executes exactly such a plan.

use std::fmt;

use clientele_backend::{Error, Result};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, TransactionTrait};
use sea_orm_migration::prelude::*;
use serde::Serialize;
use serde::ser::SerializeMap;

use super::catalog::{Catalog, MIGRATIONS, sql_of, table_objects};
use super::{ChangeLog, CorrectnessConstraints, OtoboNeighbour, OtoboTables, alias};
use crate::error::map_db_err;

/// How [`migrate_with`] and [`plan_migration`] shape the schema.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MigrateOptions {
    /// OTOBO keeps running on the same database (`[otobo] coexist = true`). The migrations then
    /// add nothing to OTOBO's tables — no unique index, no plain index — and drop the ones an
    /// earlier `init` without coexistence added there. Clientele's own tables
    /// (`clientele_migrations`, `clientele_lock`, `clientele_change_log`) are still created:
    /// Clientele's uniqueness rules then hold through its locks, which every write takes in
    /// either mode.
    pub coexist: bool,
}

/// What kind of database object a [`PlannedObject`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A table.
    Table,
    /// A column of a table.
    Column,
    /// A primary key (PostgreSQL names it `<table>_pkey`, MySQL and SQLite `PRIMARY`).
    PrimaryKey,
    /// A unique constraint declared in a PostgreSQL table (with its index of the same name).
    UniqueKey,
    /// A unique index.
    UniqueIndex,
    /// A plain (non-unique) index.
    Index,
    /// A foreign key.
    ForeignKey,
    /// Rows written into a table (the `valid` rows, the lock rows, a migration record).
    Rows,
}

impl ObjectKind {
    /// The kind in words: `"unique index"`, `"primary key"`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Table => "table",
            ObjectKind::Column => "column",
            ObjectKind::PrimaryKey => "primary key",
            ObjectKind::UniqueKey => "unique key",
            ObjectKind::UniqueIndex => "unique index",
            ObjectKind::Index => "index",
            ObjectKind::ForeignKey => "foreign key",
            ObjectKind::Rows => "rows",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a [`PlannedObject`] is added or dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// The object is created (rows: written).
    Add,
    /// The object is dropped.
    Drop,
}

/// One object a migration adds or drops.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedObject {
    /// Added or dropped.
    pub change: Change,
    /// What it is.
    pub kind: ObjectKind,
    /// The table it belongs to (a table's own name for [`ObjectKind::Table`]).
    pub table: String,
    /// Its name as the database's catalog shows it; for [`ObjectKind::Rows`] what the rows
    /// are (`"1024 lock rows"`, a migration's name).
    pub name: String,
    /// The columns of an index, key or foreign key (an expression such as `lower(login)` as
    /// written); a column's own name for [`ObjectKind::Column`].
    pub columns: Vec<String>,
    /// The statements that make the change, in order. Empty when an earlier statement of the
    /// plan makes it too: a new table's columns and keys come with its `CREATE TABLE`.
    pub sql: Vec<String>,
}

impl fmt::Display for PlannedObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.change {
            Change::Add => "+",
            Change::Drop => "-",
        };
        match self.kind {
            ObjectKind::Table => write!(f, "{sign} table {}", self.table),
            ObjectKind::Column => write!(f, "{sign} column {}.{}", self.table, self.name),
            ObjectKind::Rows => write!(f, "{sign} rows in {}: {}", self.table, self.name),
            kind => {
                write!(f, "{sign} {kind} {} on {}", self.name, self.table)?;
                if !self.columns.is_empty() {
                    write!(f, " ({})", self.columns.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

/// A row as column/value pairs, every value as the database's text of it (`None` for NULL).
/// Values that may be secrets (a preference whose key names a token or password) are replaced
/// by `(secret, not shown)`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowValues(pub Vec<(String, Option<String>)>);

impl RowValues {
    /// The value of `column`, if the row has that column (`Some(None)` for NULL).
    pub fn get(&self, column: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v.as_deref())
    }
}

impl Serialize for RowValues {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (c, v) in &self.0 {
            map.serialize_entry(c, v)?;
        }
        map.end()
    }
}

impl fmt::Display for RowValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (c, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            match v {
                Some(v) => write!(f, "{c}={v:?}")?,
                None => write!(f, "{c}=NULL")?,
            }
        }
        Ok(())
    }
}

/// Rows that hold the same key and the same values, of which all but one are dropped so a
/// unique index can be added. Only such exact duplicates are merged; rows that disagree are a
/// [`Conflict`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedMerge {
    /// The table.
    pub table: String,
    /// The unique index the merge makes room for.
    pub index: String,
    /// The row that stays (of several, the one created first).
    pub kept: RowValues,
    /// The rows dropped: the same key and values as `kept`, differing at most in the audit
    /// columns (`create_time`, `create_by`, `change_time`, `change_by`).
    pub dropped: Vec<RowValues>,
    /// The statements that drop them.
    pub sql: Vec<String>,
}

/// Why rows stop the migration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictKind {
    /// Values that differ only in case (two logins, two customer ids) where a case-insensitive
    /// unique index would be added.
    CaseVariants,
    /// Rows with the same key (as the database compares it: case-insensitively on MySQL's
    /// `_ci` collations) but different values, where a unique index would be added.
    Disagreeing,
}

/// Rows that stop the migration: a unique index cannot be added while they are there, and
/// Clientele does not choose between them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// Why.
    pub kind: ConflictKind,
    /// The table.
    pub table: String,
    /// The unique index that cannot be added.
    pub index: String,
    /// The index's columns (`lower(login)`, `user_id, preferences_key`).
    pub columns: Vec<String>,
    /// Every row of the conflict.
    pub rows: Vec<RowValues>,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let columns = self.columns.join(", ");
        match self.kind {
            ConflictKind::CaseVariants => write!(
                f,
                "{}: {} rows differ only in case in {columns}, and the unique index {} on \
                 ({columns}) allows one of them",
                self.table,
                self.rows.len(),
                self.index
            )?,
            ConflictKind::Disagreeing => write!(
                f,
                "{}: {} rows have the same ({columns}) but different values, and the unique \
                 index {} allows one of them",
                self.table,
                self.rows.len(),
                self.index
            )?,
        }
        for row in &self.rows {
            write!(f, "\n    row {row}")?;
        }
        Ok(())
    }
}

/// `init` refused: rows stop the migration ([`Conflict`]s). Nothing was changed — no schema
/// object, no row, no migration record. The source of the [`Error::Backend`] that
/// [`migrate_with`] returns; downcast it to read the conflicts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationRefused {
    /// Every conflict, each with every offending row.
    pub conflicts: Vec<Conflict>,
}

impl fmt::Display for MigrationRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the migration changed nothing: {} set(s) of rows stop it",
            self.conflicts.len()
        )?;
        for c in &self.conflicts {
            write!(f, "\n  {c}")?;
        }
        write!(
            f,
            "\nResolve each (keep one of the rows: rename or delete the others) and run it \
             again. If OTOBO keeps running on this database, set [otobo] coexist = true instead: \
             then no unique index is added to OTOBO's tables."
        )
    }
}

impl std::error::Error for MigrationRefused {}

/// One migration of [`Migrator`](super::Migrator), or a step run on every `init`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    /// The migration's name as `clientele_migrations` records it, or the step's name.
    pub name: String,
    /// Whether the step is recorded in `clientele_migrations` (a migration) or runs on every
    /// `init` (the record table itself, the constraints of the mode).
    pub recorded: bool,
    /// What the step is for.
    pub about: String,
    /// The duplicate rows merged, before `objects`.
    pub merges: Vec<PlannedMerge>,
    /// The objects added or dropped, in order (a migration's record last).
    pub objects: Vec<PlannedObject>,
}

impl PlannedStep {
    fn is_empty(&self) -> bool {
        self.merges.is_empty() && self.objects.is_empty()
    }
}

/// What `init` would do to a database: see [`plan_migration`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MigrationPlan {
    /// `"PostgreSQL"`, `"MySQL/MariaDB"` or `"SQLite"`.
    pub database: String,
    /// The plan is for coexistence with OTOBO ([`MigrateOptions::coexist`]).
    pub coexist: bool,
    /// The steps with something to do, in order.
    pub steps: Vec<PlannedStep>,
    /// The rows that stop the migration. While there are any, [`migrate_with`] refuses and
    /// changes nothing.
    pub conflicts: Vec<Conflict>,
}

impl MigrationPlan {
    /// Nothing to do: no object, no merge, no conflict.
    pub fn is_empty(&self) -> bool {
        self.steps.iter().all(PlannedStep::is_empty) && self.conflicts.is_empty()
    }

    /// Every object added or dropped, in order.
    pub fn objects(&self) -> impl Iterator<Item = &PlannedObject> {
        self.steps.iter().flat_map(|s| s.objects.iter())
    }

    /// Every merge of duplicate rows, in order.
    pub fn merges(&self) -> impl Iterator<Item = &PlannedMerge> {
        self.steps.iter().flat_map(|s| s.merges.iter())
    }

    /// The migrations that would be recorded as applied.
    pub fn migrations(&self) -> impl Iterator<Item = &str> {
        self.steps
            .iter()
            .filter(|s| s.recorded)
            .map(|s| s.name.as_str())
    }

    /// The refusal [`migrate_with`] would return, if rows stop the migration.
    pub fn refusal(&self) -> Option<MigrationRefused> {
        (!self.conflicts.is_empty()).then(|| MigrationRefused {
            conflicts: self.conflicts.clone(),
        })
    }
}

/// Clientele's migrations in order, each able to plan itself on a [`Catalog`].
#[derive(Clone, Copy)]
enum Migration {
    Tables,
    Constraints,
    ChangeLog,
    Neighbour,
}

const MIGRATION_ORDER: [Migration; 4] = [
    Migration::Tables,
    Migration::Constraints,
    Migration::ChangeLog,
    Migration::Neighbour,
];

impl Migration {
    fn name(self) -> &'static str {
        match self {
            Migration::Tables => OtoboTables.name(),
            Migration::Constraints => CorrectnessConstraints.name(),
            Migration::ChangeLog => ChangeLog.name(),
            Migration::Neighbour => OtoboNeighbour.name(),
        }
    }

    fn about(self) -> &'static str {
        match self {
            Migration::Tables => "OTOBO's customer-side tables, where missing",
            Migration::Constraints => {
                "Clientele's constraints (without coexistence) and, on MySQL/MariaDB, its lock \
                 table"
            }
            Migration::ChangeLog => {
                "the change log that carries cache invalidations (not on PostgreSQL)"
            }
            Migration::Neighbour => {
                "drops groups_table_name, a copy of OTOBO's groups_name that older versions added"
            }
        }
    }

    async fn plan(
        self,
        cat: &mut Catalog<'_>,
        options: MigrateOptions,
        conflicts: &mut Vec<Conflict>,
    ) -> Result<(Vec<PlannedMerge>, Vec<PlannedObject>), DbErr> {
        match self {
            Migration::Tables => Ok((Vec::new(), super::tables::plan(cat).await?)),
            Migration::Constraints => super::constraints::plan(cat, options, conflicts).await,
            Migration::ChangeLog => Ok((Vec::new(), super::change_log::plan(cat).await?)),
            Migration::Neighbour => Ok((Vec::new(), super::neighbour::plan(cat).await?)),
        }
    }
}

fn database_name(backend: DbBackend) -> &'static str {
    match backend {
        DbBackend::Postgres => "PostgreSQL",
        DbBackend::MySql => "MySQL/MariaDB",
        _ => "SQLite",
    }
}

/// The statement `sea-orm-migration` creates its record table with (`clientele_migrations`:
/// `version` and `applied_at`, keyed by `version`).
fn record_table(backend: DbBackend) -> TableCreateStatement {
    let schema = sea_orm::Schema::new(backend);
    let mut stmt = schema.create_table_from_entity(sea_orm_migration::seaql_migrations::Entity);
    stmt.table(alias(MIGRATIONS)).if_not_exists();
    stmt
}

/// The record of `name` as `sea-orm-migration` writes it: the name and the time in seconds.
fn record_row(backend: DbBackend, name: &str) -> Result<PlannedObject, DbErr> {
    let mut insert = Query::insert();
    insert
        .into_table(alias(MIGRATIONS))
        .columns([alias("version"), alias("applied_at")])
        .values([name.into(), crate::now_epoch().into()])
        .map_err(|e| DbErr::Migration(e.to_string()))?;
    Ok(PlannedObject {
        change: Change::Add,
        kind: ObjectKind::Rows,
        table: MIGRATIONS.to_owned(),
        name: name.to_owned(),
        columns: Vec::new(),
        sql: vec![sql_of(backend, &insert)],
    })
}

/// The migrations recorded as applied (none when the record table is missing).
async fn applied(cat: &Catalog<'_>) -> Result<Vec<String>, DbErr> {
    if !cat.has_table(MIGRATIONS).await? {
        return Ok(Vec::new());
    }
    let q = Query::select()
        .column(alias("version"))
        .from(alias(MIGRATIONS))
        .to_owned();
    let rows = cat.conn().query_all(&q).await?;
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<std::result::Result<_, _>>()
}

/// Plans `init` on the database `conn` is connected to, changing nothing: every object the
/// migrations would add or drop (tables, columns, keys, indexes, foreign keys, the `valid` and
/// `clientele_lock` rows, the record table `clientele_migrations` and its records), every
/// duplicate row they would merge, and every row that stops them.
///
/// Without [`MigrateOptions::coexist`] that is today's schema: OTOBO's tables where missing,
/// Clientele's unique indexes on the relation, grant, service and preference tables (exact
/// duplicates merged first), case-insensitive unique login and company-id indexes and an email
/// index (PostgreSQL, SQLite: `lower(email)`; MySQL/MariaDB: `email`), the lock table
/// (MySQL/MariaDB) and the change log (MySQL/MariaDB, SQLite). With it, nothing on OTOBO's
/// tables: the indexes an earlier `init` added there are dropped.
///
/// [`migrate_with`] with the same options executes exactly this plan (planned again at that
/// moment).
pub async fn plan_migration(
    conn: &DatabaseConnection,
    options: MigrateOptions,
) -> Result<MigrationPlan> {
    let manager = SchemaManager::new(conn);
    plan_on(&manager, options)
        .await
        .map_err(|e| map_db_err("migrations", 0, e))
}

async fn plan_on(
    manager: &SchemaManager<'_>,
    options: MigrateOptions,
) -> Result<MigrationPlan, DbErr> {
    let backend = manager.get_database_backend();
    let mut cat = Catalog::new(manager);
    let mut plan = MigrationPlan {
        database: database_name(backend).to_owned(),
        coexist: options.coexist,
        steps: Vec::new(),
        conflicts: Vec::new(),
    };
    let applied = applied(&cat).await?;
    let known: Vec<&str> = MIGRATION_ORDER.iter().map(|m| m.name()).collect();
    if let Some(unknown) = applied.iter().find(|a| !known.contains(&a.as_str())) {
        return Err(DbErr::Migration(format!(
            "{MIGRATIONS} records the migration {unknown:?}, which this version of Clientele \
             does not know: the database was set up by a newer version"
        )));
    }
    if !cat.has_table(MIGRATIONS).await? {
        let objects = table_objects(backend, MIGRATIONS, &record_table(backend));
        for o in &objects {
            cat.note(o);
        }
        plan.steps.push(PlannedStep {
            name: MIGRATIONS.to_owned(),
            recorded: false,
            about: "the record of applied migrations".to_owned(),
            merges: Vec::new(),
            objects,
        });
    }
    for m in MIGRATION_ORDER {
        if applied.iter().any(|a| a == m.name()) {
            continue;
        }
        let (merges, mut objects) = m.plan(&mut cat, options, &mut plan.conflicts).await?;
        objects.push(record_row(backend, m.name())?);
        plan.steps.push(PlannedStep {
            name: m.name().to_owned(),
            recorded: true,
            about: m.about().to_owned(),
            merges,
            objects,
        });
    }
    // The constraints follow the mode on every run: a database `init` set up without
    // coexistence loses them when coexistence is switched on, and gets them (back) when it is
    // switched off.
    let (merges, objects) =
        super::constraints::plan(&mut cat, options, &mut plan.conflicts).await?;
    let step = PlannedStep {
        name: if options.coexist {
            "coexistence".to_owned()
        } else {
            "constraints".to_owned()
        },
        recorded: false,
        about: if options.coexist {
            "nothing of Clientele's on OTOBO's tables".to_owned()
        } else {
            "Clientele's constraints, where missing".to_owned()
        },
        merges,
        objects,
    };
    if !step.is_empty() {
        plan.steps.push(step);
    }
    Ok(plan)
}

/// Runs the statements of merges and objects, in order, on `conn`.
pub(crate) async fn execute<C: ConnectionTrait>(
    conn: &C,
    merges: &[PlannedMerge],
    objects: &[PlannedObject],
) -> Result<(), DbErr> {
    let statements = merges
        .iter()
        .flat_map(|m| m.sql.iter())
        .chain(objects.iter().flat_map(|o| o.sql.iter()));
    for sql in statements {
        conn.execute_unprepared(sql).await?;
    }
    Ok(())
}

/// A migration's own `up`: plans it without coexistence on the schema as it is and executes
/// the plan; rows that stop it are reported without a change.
pub(crate) async fn up_without_coexistence(
    manager: &SchemaManager<'_>,
    migration: &str,
) -> Result<(), DbErr> {
    let mut cat = Catalog::new(manager);
    let mut conflicts = Vec::new();
    let Some(m) = MIGRATION_ORDER.iter().find(|m| m.name() == migration) else {
        return Err(DbErr::Migration(format!("unknown migration {migration}")));
    };
    let (merges, objects) = m
        .plan(&mut cat, MigrateOptions::default(), &mut conflicts)
        .await?;
    if !conflicts.is_empty() {
        return Err(DbErr::Migration(MigrationRefused { conflicts }.to_string()));
    }
    execute(manager.get_connection(), &merges, &objects).await
}

/// Applies Clientele's migrations the way `options` asks, after a pre-flight: the plan
/// ([`plan_migration`]) is made first, and when rows stop it (values that differ only in case
/// where a case-insensitive unique index would be added, rows with one key but different
/// values where a unique index would be added) nothing is changed and the error is an
/// [`Error::Backend`] whose source is a [`MigrationRefused`] naming every row. Otherwise each
/// step of the plan runs in a transaction of its own (PostgreSQL and SQLite roll a failed step
/// back whole; MySQL commits each DDL statement as it runs), its record written with it.
///
/// Returns the plan it executed. Safe to run on every start, on Clientele's own schema and on
/// an existing OTOBO database; a second run does nothing.
pub async fn migrate_with(
    conn: &DatabaseConnection,
    options: MigrateOptions,
) -> Result<MigrationPlan> {
    let plan = plan_migration(conn, options).await?;
    if let Some(refused) = plan.refusal() {
        return Err(Error::Backend {
            backend: "migrations".to_owned(),
            source: Box::new(refused),
        });
    }
    let fail = |e| map_db_err("migrations", 0, e);
    for step in plan.steps.iter().filter(|s| !s.is_empty()) {
        let tx = conn.begin().await.map_err(fail)?;
        execute(&tx, &step.merges, &step.objects)
            .await
            .map_err(|e| match crate::error::kind(&e) {
                crate::error::Kind::Other | crate::error::Kind::Unique => fail(DbErr::Migration(
                    format!("step {} of the migration failed: {e}", step.name),
                )),
                _ => fail(e),
            })?;
        tx.commit().await.map_err(fail)?;
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(values: &[(&str, Option<&str>)]) -> RowValues {
        RowValues(
            values
                .iter()
                .map(|(c, v)| ((*c).to_owned(), v.map(str::to_owned)))
                .collect(),
        )
    }

    #[test]
    fn a_refusal_names_every_row() {
        let refused = MigrationRefused {
            conflicts: vec![
                Conflict {
                    kind: ConflictKind::CaseVariants,
                    table: "customer_user".into(),
                    index: "customer_user_login_lower".into(),
                    columns: vec!["lower(login)".into()],
                    rows: vec![
                        row(&[("id", Some("1")), ("login", Some("jdoe"))]),
                        row(&[("id", Some("7")), ("login", Some("JDoe"))]),
                    ],
                },
                Conflict {
                    kind: ConflictKind::Disagreeing,
                    table: "customer_preferences".into(),
                    index: "customer_preferences_clientele_uniq".into(),
                    columns: vec!["user_id".into(), "preferences_key".into()],
                    rows: vec![
                        row(&[("user_id", Some("jdoe")), ("preferences_value", Some("de"))]),
                        row(&[("user_id", Some("jdoe")), ("preferences_value", None)]),
                    ],
                },
            ],
        };
        let text = refused.to_string();
        for fragment in [
            "changed nothing",
            "2 set(s)",
            "differ only in case",
            "id=\"1\", login=\"jdoe\"",
            "id=\"7\", login=\"JDoe\"",
            "same (user_id, preferences_key) but different values",
            "preferences_value=\"de\"",
            "preferences_value=NULL",
            "coexist",
        ] {
            assert!(text.contains(fragment), "{fragment:?} in {text}");
        }
    }

    #[test]
    fn rows_serialise_as_objects_in_column_order() {
        let r = row(&[("b", Some("1")), ("a", None)]);
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"b":"1","a":null}"#);
        assert_eq!(r.get("a"), Some(None));
        assert_eq!(r.get("c"), None);
    }

    #[test]
    fn objects_read_as_changes() {
        let o = PlannedObject {
            change: Change::Drop,
            kind: ObjectKind::UniqueIndex,
            table: "groups_table".into(),
            name: "groups_table_name".into(),
            columns: vec!["name".into()],
            sql: vec![],
        };
        assert_eq!(
            o.to_string(),
            "- unique index groups_table_name on groups_table (name)"
        );
    }
}
