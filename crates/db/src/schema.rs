//! Schema additions the configuration asks for: a column for every attribute-map row whose
//! table lacks it (the `room` of a map with an extra row). Built with sea-query, never from
//! strings; run by `clientele init` through [`DbBackend::add_map_columns`] and listed by
//! `clientele init --plan` through [`DbBackend::plan_map_columns`].

use std::fmt;

use clientele_backend::{Error, Result};
use clientele_model::{AttributeMap, StorageType, keys};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, ColumnDef, Expr, ExprTrait, Query, Table};

use crate::DbBackend;
use crate::migration::{Change, ObjectKind, PlannedObject};

/// A column [`DbBackend::add_map_columns`] added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddedColumn {
    /// The table.
    pub table: String,
    /// The new column.
    pub column: String,
    /// Its SQL type, e.g. `VARCHAR(200)` or `INTEGER`.
    pub sql_type: String,
    /// The attribute-map key it stores, e.g. `UserRoom`.
    pub attribute: String,
}

impl fmt::Display for AddedColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{} {} (for {})",
            self.table, self.column, self.sql_type, self.attribute
        )
    }
}

/// A plain SQL identifier (letters, digits, `_`; not starting with a digit): the only names a
/// column is added under. Anything else is left to the administrator, named in the error.
fn plain_identifier(name: &str) -> Result<&str> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(name)
    } else {
        Err(Error::Config(format!(
            "{name:?} is not a plain SQL identifier (letters, digits, _); create that column yourself"
        )))
    }
}

impl DbBackend {
    /// Adds a nullable column for every row of the customer-user map (and, with
    /// `with_company`, of the company map) whose table lacks it: `VARCHAR(max length)` for
    /// text, `INTEGER` for integers; password and dynamic-field rows are skipped. Idempotent:
    /// a second run adds nothing. Runs exactly what [`plan_map_columns`](Self::plan_map_columns)
    /// lists.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a table does not exist (Clientele's migrations create only
    /// OTOBO's tables) or a name is not a plain SQL identifier; a database error naming the
    /// column when the `ALTER TABLE` fails.
    pub async fn add_map_columns(&self, with_company: bool) -> Result<Vec<AddedColumn>> {
        let conn = self.connection();
        let mut added = Vec::new();
        for (column, sql) in self.missing_columns(with_company).await? {
            conn.execute_unprepared(&sql).await.map_err(|e| {
                Error::backend_failure(&column.table, crate::error::DatabaseFailure::new(e))
            })?;
            added.push(column);
        }
        Ok(added)
    }

    /// The columns [`add_map_columns`](Self::add_map_columns) would add, each with its
    /// `ALTER TABLE` statement, changing nothing. A table the migrations have yet to create is
    /// taken to have the columns they create it with.
    ///
    /// # Errors
    ///
    /// As [`add_map_columns`](Self::add_map_columns), but for the `ALTER TABLE`.
    pub async fn plan_map_columns(&self, with_company: bool) -> Result<Vec<PlannedObject>> {
        Ok(self
            .missing_columns(with_company)
            .await?
            .into_iter()
            .map(|(c, sql)| PlannedObject {
                change: Change::Add,
                kind: ObjectKind::Column,
                table: c.table,
                name: c.column.clone(),
                columns: vec![c.column],
                sql: vec![sql],
            })
            .collect())
    }

    async fn missing_columns(&self, with_company: bool) -> Result<Vec<(AddedColumn, String)>> {
        let cfg = self.config();
        let mut missing = self.missing_in(&cfg.table, &cfg.settings.map).await?;
        if with_company {
            missing.extend(
                self.missing_in(&cfg.company_table, &cfg.company_settings.map)
                    .await?,
            );
        }
        Ok(missing)
    }

    async fn missing_in(
        &self,
        table: &str,
        map: &AttributeMap,
    ) -> Result<Vec<(AddedColumn, String)>> {
        let conn = self.connection();
        let backend = conn.get_database_backend();
        let t = Alias::new(plain_identifier(table)?);
        let probe = Query::select()
            .expr(Expr::val(1))
            .from(t.clone())
            .and_where(Expr::val(1).eq(0))
            .to_owned();
        // A table the migrations have yet to create will have OTOBO's columns.
        let planned = if conn.query_all(&probe).await.is_err() {
            match crate::migration::tables::otobo_columns(table) {
                Some(columns) => Some(columns),
                None => {
                    return Err(Error::Config(format!(
                        "table {table} does not exist and Clientele's migrations don't create \
                         it; create it, or point `table` / `company_table` at an existing table"
                    )));
                }
            }
        } else {
            None
        };
        let mut missing = Vec::new();
        for row in map.rows() {
            if row.storage_type == StorageType::DynamicField || row.key == keys::PASSWORD {
                continue;
            }
            let c = Alias::new(plain_identifier(&row.storage)?);
            let exists = match &planned {
                Some(columns) => columns.contains(&row.storage.as_str()),
                None => {
                    // Qualified: SQLite reads an unknown bare name in quotes as a string literal.
                    let probe = Query::select()
                        .column((t.clone(), c.clone()))
                        .from(t.clone())
                        .and_where(Expr::val(1).eq(0))
                        .to_owned();
                    conn.query_all(&probe).await.is_ok()
                }
            };
            if exists {
                continue;
            }
            let mut column = ColumnDef::new(c);
            let sql_type = match row.storage_type {
                StorageType::Integer => {
                    column.integer();
                    "INTEGER".to_owned()
                }
                _ => {
                    let len = row.effective_max_length();
                    column.string_len(u32::try_from(len).unwrap_or(u32::MAX));
                    format!("VARCHAR({len})")
                }
            };
            column.null();
            let alter = Table::alter()
                .table(t.clone())
                .add_column(&mut column)
                .to_owned();
            missing.push((
                AddedColumn {
                    table: table.to_owned(),
                    column: row.storage.clone(),
                    sql_type,
                    attribute: row.key.clone(),
                },
                backend.build(&alter).to_string(),
            ));
        }
        Ok(missing)
    }
}
