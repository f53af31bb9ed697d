//! Schema additions the configuration asks for: a column for every attribute-map row whose
//! table lacks it (the `room` of a map with an extra row). Built with sea-query, never from
//! strings; run by `clientele init` through [`DbBackend::add_map_columns`].

use std::fmt;

use clientele_backend::{Error, Result};
use clientele_model::{AttributeMap, StorageType, keys};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Alias, ColumnDef, Expr, ExprTrait, Query, Table};

use crate::DbBackend;

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
    /// a second run adds nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] when a table does not exist (Clientele's migrations create only
    /// OTOBO's tables) or a name is not a plain SQL identifier; a database error naming the
    /// column when the `ALTER TABLE` fails.
    pub async fn add_map_columns(&self, with_company: bool) -> Result<Vec<AddedColumn>> {
        let cfg = self.config();
        let mut added = self.add_columns(&cfg.table, &cfg.settings.map).await?;
        if with_company {
            added.extend(
                self.add_columns(&cfg.company_table, &cfg.company_settings.map)
                    .await?,
            );
        }
        Ok(added)
    }

    async fn add_columns(&self, table: &str, map: &AttributeMap) -> Result<Vec<AddedColumn>> {
        let conn = self.connection();
        let backend = conn.get_database_backend();
        let t = Alias::new(plain_identifier(table)?);
        let probe = Query::select()
            .expr(Expr::val(1))
            .from(t.clone())
            .and_where(Expr::val(1).eq(0))
            .to_owned();
        if conn.query_all(&probe).await.is_err() {
            return Err(Error::Config(format!(
                "table {table} does not exist and Clientele's migrations don't create it; \
                 create it, or point `table` / `company_table` at an existing table"
            )));
        }
        let mut added = Vec::new();
        for row in map.rows() {
            if row.storage_type == StorageType::DynamicField || row.key == keys::PASSWORD {
                continue;
            }
            let c = Alias::new(plain_identifier(&row.storage)?);
            // Qualified: SQLite reads an unknown bare name in quotes as a string literal.
            let probe = Query::select()
                .column((t.clone(), c.clone()))
                .from(t.clone())
                .and_where(Expr::val(1).eq(0))
                .to_owned();
            if conn.query_all(&probe).await.is_ok() {
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
            conn.execute_raw(backend.build(&alter)).await.map_err(|e| {
                Error::backend_failure(table, crate::error::DatabaseFailure::new(e))
            })?;
            added.push(AddedColumn {
                table: table.to_owned(),
                column: row.storage.clone(),
                sql_type,
                attribute: row.key.clone(),
            });
        }
        Ok(added)
    }
}
