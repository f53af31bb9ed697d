//! The schema as a plan sees it: the database's catalog, with the objects the plan so far adds
//! or drops laid over it, so each migration plans on the schema the earlier ones leave.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::sea_query::{IndexCreateStatement, TableCreateStatement};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, StatementBuilder};
use sea_orm_migration::{SchemaManager, SchemaManagerConnection};

use super::plan::{Change, ObjectKind, PlannedObject};

/// The table `sea-orm-migration` records applied migrations in.
pub(crate) const MIGRATIONS: &str = "clientele_migrations";

/// A statement as the database runs it, values written out.
pub(crate) fn sql_of<S: StatementBuilder>(backend: DbBackend, statement: &S) -> String {
    backend.build(statement).to_string()
}

/// A primary key's name as the catalog shows it.
pub(crate) fn primary_key_name(backend: DbBackend, table: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("{table}_pkey"),
        _ => "PRIMARY".to_owned(),
    }
}

/// The objects `CREATE TABLE` statement `stmt` makes: the table (carrying the statement), its
/// columns, primary key, keys and indexes declared in it, foreign keys, and on MySQL the index
/// InnoDB adds for a foreign key whose column no declared index starts with.
pub(crate) fn table_objects(
    backend: DbBackend,
    table: &str,
    stmt: &TableCreateStatement,
) -> Vec<PlannedObject> {
    let object = |kind, name: String, columns: Vec<String>| PlannedObject {
        change: Change::Add,
        kind,
        table: table.to_owned(),
        name,
        columns,
        sql: Vec::new(),
    };
    let mut out = vec![PlannedObject {
        sql: vec![sql_of(backend, stmt)],
        ..object(ObjectKind::Table, table.to_owned(), Vec::new())
    }];
    let mut primary: Vec<String> = Vec::new();
    for c in stmt.get_columns() {
        let name = c.get_column_name();
        if c.get_column_spec().primary_key {
            primary.push(name.clone());
        }
        out.push(object(ObjectKind::Column, name.clone(), vec![name]));
    }
    let mut leading: Vec<String> = primary.first().cloned().into_iter().collect();
    let mut keys = Vec::new();
    for i in stmt.get_indexes() {
        let columns = i.get_index_spec().get_column_names();
        if i.is_primary_key() {
            primary = columns;
            leading.extend(primary.first().cloned());
            continue;
        }
        leading.extend(columns.first().cloned());
        let kind = match (i.is_unique_key(), backend) {
            (true, DbBackend::Postgres) => ObjectKind::UniqueKey,
            (true, _) => ObjectKind::UniqueIndex,
            (false, _) => ObjectKind::Index,
        };
        let name = i.get_index_spec().get_name().unwrap_or_default().to_owned();
        keys.push(object(kind, name, columns));
    }
    if !primary.is_empty() {
        out.push(object(
            ObjectKind::PrimaryKey,
            primary_key_name(backend, table),
            primary,
        ));
    }
    out.extend(keys);
    let mut implied = Vec::new();
    for fk in stmt.get_foreign_key_create_stmts() {
        let fk = fk.get_foreign_key();
        let name = fk.get_name().unwrap_or_default().to_owned();
        let columns = fk.get_columns();
        if backend == DbBackend::MySql
            && columns
                .first()
                .is_some_and(|c| !leading.iter().any(|l| l == c))
        {
            implied.push(object(ObjectKind::Index, name.clone(), columns.clone()));
        }
        out.push(object(ObjectKind::ForeignKey, name, columns));
    }
    out.extend(implied);
    out
}

/// The object an index statement makes on `table`.
pub(crate) fn index_object(
    backend: DbBackend,
    table: &str,
    stmt: &IndexCreateStatement,
) -> PlannedObject {
    PlannedObject {
        change: Change::Add,
        kind: if stmt.is_unique_key() {
            ObjectKind::UniqueIndex
        } else {
            ObjectKind::Index
        },
        table: table.to_owned(),
        name: stmt
            .get_index_spec()
            .get_name()
            .unwrap_or_default()
            .to_owned(),
        columns: stmt.get_index_spec().get_column_names(),
        sql: vec![sql_of(backend, stmt)],
    }
}

/// The database's catalog with the plan's changes over it.
pub(crate) struct Catalog<'a> {
    manager: &'a SchemaManager<'a>,
    /// Tables the plan creates (`true`) or drops (`false`).
    tables: BTreeMap<String, bool>,
    /// Indexes and keys the plan creates (`true`) or drops (`false`), by table and name.
    indexes: BTreeMap<(String, String), bool>,
    /// Tables the plan writes rows into.
    filled: BTreeSet<String>,
}

impl<'a> Catalog<'a> {
    pub(crate) fn new(manager: &'a SchemaManager<'a>) -> Self {
        Catalog {
            manager,
            tables: BTreeMap::new(),
            indexes: BTreeMap::new(),
            filled: BTreeSet::new(),
        }
    }

    pub(crate) fn backend(&self) -> DbBackend {
        self.manager.get_database_backend()
    }

    /// The connection, for reading rows.
    pub(crate) fn conn(&self) -> &SchemaManagerConnection<'a> {
        self.manager.get_connection()
    }

    /// Whether the table exists once the plan so far has run.
    pub(crate) async fn has_table(&self, table: &str) -> Result<bool, DbErr> {
        match self.tables.get(table) {
            Some(planned) => Ok(*planned),
            None => self.manager.has_table(table).await,
        }
    }

    /// The table is one the plan creates: it holds no rows yet.
    pub(crate) fn is_new(&self, table: &str) -> bool {
        self.tables.get(table) == Some(&true)
    }

    /// Whether the index or key `name` exists on `table` once the plan so far has run.
    pub(crate) async fn has_index(&self, table: &str, name: &str) -> Result<bool, DbErr> {
        if let Some(planned) = self.indexes.get(&(table.to_owned(), name.to_owned())) {
            return Ok(*planned);
        }
        if self.tables.contains_key(table) {
            // A table the plan creates has only what the plan gives it.
            return Ok(false);
        }
        self.manager.has_index(table, name).await
    }

    /// The number of rows of `table` (none in a table the plan creates).
    pub(crate) async fn count(&self, table: &str) -> Result<i64, DbErr> {
        if self.is_new(table) {
            return Ok(0);
        }
        let q = sea_orm::sea_query::Query::select()
            .expr(sea_orm::sea_query::Expr::cust("COUNT(*)"))
            .from(super::alias(table))
            .to_owned();
        match self.conn().query_one(&q).await? {
            Some(row) => crate::row::read_int(&row, 0).map(|n| n.unwrap_or(0)),
            None => Ok(0),
        }
    }

    /// Whether the plan so far writes rows into `table`.
    pub(crate) fn is_filled(&self, table: &str) -> bool {
        self.filled.contains(table)
    }

    /// Lays `object` over the catalog.
    pub(crate) fn note(&mut self, object: &PlannedObject) {
        let present = object.change == Change::Add;
        match object.kind {
            ObjectKind::Table => {
                self.tables.insert(object.table.clone(), present);
            }
            ObjectKind::PrimaryKey
            | ObjectKind::UniqueKey
            | ObjectKind::UniqueIndex
            | ObjectKind::Index => {
                self.indexes
                    .insert((object.table.clone(), object.name.clone()), present);
            }
            ObjectKind::Rows => {
                self.filled.insert(object.table.clone());
            }
            ObjectKind::Column | ObjectKind::ForeignKey => {}
        }
    }
}
