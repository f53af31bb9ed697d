//! Bulk import of customer users: [`DbBackend::import_customer_users`].
//!
//! Adding users one by one costs a transaction, a lock and three or four round trips each. An
//! import of many users instead checks and writes them in batches: per statement of
//! [`ImportOptions::rows_per_statement`] rows one query for the logins already taken, one for
//! the addresses already taken (when the source checks email uniqueness), and one multi-row
//! `INSERT`; [`ImportOptions::statements_per_transaction`] statements share a transaction. On
//! PostgreSQL the checks send their values as one JSON array parameter and the rows are
//! written with `COPY … FROM STDIN` (CSV) inside the transaction: a multi-row `INSERT` with
//! twenty thousand bound values costs more to parse and plan than to run, and PostgreSQL
//! inserts `COPY` rows in batches.
//! Passwords are optional and arrive already hashed, so no hashing happens here.
//!
//! The rules are those of [`CustomerUserWriter::add`]: a login is taken when another row has it
//! by the case-insensitive rule; an address is taken when another user has it in a postmaster
//! field (case-insensitive, invalid users included) and `email_unique_check` is on. A row that
//! would break either is not written and comes back in [`ImportReport::rejected`] with
//! [`Error::AlreadyExists`] naming the login or the address — also when the row it collides
//! with is an earlier row of the same import. Under concurrent writers the same locks as a
//! single add are taken (per address and per login), so both rules hold with or without a
//! unique index; if a writer that takes no such lock (OTOBO) takes a login between the check
//! and the insert and a unique index refuses the row, that transaction is rolled back and its
//! rows are added one by one, each reported on its own.

use std::collections::HashSet;

use clientele_backend::{
    BulkWriter, CustomerUserWriter, Entity, Error, ImportReport, ImportRow, RejectedRow, Result,
};
use clientele_model::{Actor, keys};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, Query, Value};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use crate::error::{Failure, is_retry, is_unique};
use crate::lock::{Lock, begin_write, email_lock, lock_all, login_lock};
use crate::retry::retry;
use crate::row::{AUDIT_COLUMNS, read_text};
use crate::search::columns_of;
use crate::sql::{Dialect, any, col};
use crate::{DbBackend, agent_id, new_audit_cells, now_epoch};

/// The bulk capability through which a Directory imports: [`DbBackend::import_customer_users`].
#[async_trait::async_trait]
impl BulkWriter for DbBackend {
    async fn add_many(&self, rows: &[ImportRow], by: &Actor) -> Result<ImportReport> {
        self.import_customer_users(rows, by).await
    }
}

/// How an import batches its writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportOptions {
    /// Rows per `INSERT` (lowered when the database's limit on bound values demands it).
    pub rows_per_statement: usize,
    /// `INSERT` statements per transaction. On PostgreSQL the rows of a whole transaction
    /// (`rows_per_statement × statements_per_transaction`) are checked and written with one
    /// `COPY`, and the transaction holds one advisory lock per address (10 000 with the
    /// defaults) and up to 1 024 for the logins: lower it if the server's lock table
    /// (`max_locks_per_transaction`) is small.
    pub statements_per_transaction: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            rows_per_statement: 1000,
            statements_per_transaction: 10,
        }
    }
}

impl ImportOptions {
    /// These batch sizes (each at least 1).
    pub fn new(rows_per_statement: usize, statements_per_transaction: usize) -> ImportOptions {
        ImportOptions {
            rows_per_statement: rows_per_statement.max(1),
            statements_per_transaction: statements_per_transaction.max(1),
        }
    }
}

/// Bound values per statement stay below this (SQLite allows 32 766, PostgreSQL and MySQL
/// 65 535).
const MAX_BOUND_VALUES: usize = 30_000;

impl DbBackend {
    /// Adds many customer users at once, in batches (see [`ImportOptions::default`]): the bulk
    /// path behind `clientele import`.
    ///
    /// Every row is added as [`CustomerUserWriter::add`] would add it — the same uniqueness
    /// rules for login and email, the same audit columns (`by` as the creating agent) — but
    /// with one multi-row `INSERT` per batch instead of a transaction per user. Rows whose
    /// login or address is taken (by a stored user or an earlier row of `rows`) are reported
    /// in [`ImportReport::rejected`] with [`Error::AlreadyExists`], never silently dropped;
    /// every other row is written. A row is never updated: existing users stay as they are.
    ///
    /// Rows of a transaction that committed stay stored when a later one fails; an error
    /// (database unreachable, …) ends the import and is returned.
    pub async fn import_customer_users(
        &self,
        rows: &[ImportRow],
        by: &Actor,
    ) -> Result<ImportReport> {
        self.import_customer_users_with(rows, by, ImportOptions::default())
            .await
    }

    /// [`import_customer_users`](Self::import_customer_users) with these batch sizes.
    pub async fn import_customer_users_with(
        &self,
        rows: &[ImportRow],
        by: &Actor,
        options: ImportOptions,
    ) -> Result<ImportReport> {
        if self.config.settings.read_only {
            return Err(Error::ReadOnly {
                backend: self.name().to_owned(),
            });
        }
        let by = &self.actor(by).await?;
        let mut report = ImportReport::default();
        if self.has_dynamic_fields() {
            // Each user's dynamic-field values are checked against its fields and written
            // with its row: one add per user.
            self.import_one_by_one(rows, 0, by, &mut report, true)
                .await?;
            return Ok(report);
        }
        let per_statement = options
            .rows_per_statement
            .min(MAX_BOUND_VALUES / self.import_columns().len().max(1))
            .max(1);
        let per_transaction = per_statement * options.statements_per_transaction.max(1);
        let mut base = 0;
        for chunk in rows.chunks(per_transaction) {
            let written = retry(is_retry, || {
                self.import_transaction(chunk, base, per_statement, by)
            })
            .await;
            match written {
                Ok(done) => {
                    report.inserted += done.inserted;
                    report.rejected.extend(done.rejected);
                }
                // Another writer took a login between our check and our insert: add the rows
                // one by one, so each collision is reported on its own row.
                Err(f) if is_unique(&f) => {
                    self.import_one_by_one(chunk, base, by, &mut report, false)
                        .await?;
                }
                Err(f) => return Err(self.fail(f)),
            }
            base += chunk.len();
        }
        Ok(report)
    }

    /// Adds the rows one at a time; a row whose login or address is taken (and, with
    /// `reject_invalid`, one with a value its dynamic field refuses) is reported, not written.
    async fn import_one_by_one(
        &self,
        chunk: &[ImportRow],
        base: usize,
        by: &Actor,
        report: &mut ImportReport,
        reject_invalid: bool,
    ) -> Result<()> {
        for (i, row) in chunk.iter().enumerate() {
            match self.add(&row.user, row.password_hash.as_deref(), by).await {
                Ok(()) => report.inserted += 1,
                Err(error @ Error::AlreadyExists { .. }) => report.rejected.push(RejectedRow {
                    index: base + i,
                    error,
                }),
                Err(error @ Error::Invalid(_)) if reject_invalid => {
                    report.rejected.push(RejectedRow {
                        index: base + i,
                        error,
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The columns an imported row is written to, in order.
    fn import_columns(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .users
            .layout
            .columns
            .iter()
            .map(|c| c.name.clone())
            .collect();
        if let Some(pw) = &self.users.password {
            out.push(pw.clone());
        }
        if self.users.layout.audit {
            out.extend(AUDIT_COLUMNS.iter().map(|c| (*c).to_owned()));
        }
        out
    }

    fn taken(&self, field: &str, value: &str) -> Error {
        Error::AlreadyExists {
            entity: Entity::CustomerUser,
            field: field.into(),
            value: value.into(),
            backend: Some(self.name().to_owned()),
        }
    }

    /// One transaction: its statements' rows checked and inserted.
    async fn import_transaction(
        &self,
        chunk: &[ImportRow],
        base: usize,
        per_statement: usize,
        by: &Actor,
    ) -> std::result::Result<ImportReport, Failure> {
        #[cfg(feature = "postgres")]
        if self.dialect == Dialect::Postgres {
            // No limit on bound values there, and every large message costs a round trip
            // (sqlx leaves Nagle's algorithm on, so over TCP its tail waits for the server's
            // delayed acknowledgement, up to 40 ms): the whole transaction's rows are checked
            // and copied at once.
            return self
                .import_transaction_copy(chunk, base, chunk.len().max(1), by)
                .await;
        }
        self.import_transaction_sql(chunk, base, per_statement, by)
            .await
    }

    /// [`import_transaction`](Self::import_transaction) with SQL statements only.
    async fn import_transaction_sql(
        &self,
        chunk: &[ImportRow],
        base: usize,
        per_statement: usize,
        by: &Actor,
    ) -> std::result::Result<ImportReport, Failure> {
        let tx = begin_write(&self.conn, self.dialect).await?;
        let mut report = ImportReport::default();
        let now = now_epoch();
        let agent = agent_id(by);
        let mut offset = base;
        for part in chunk.chunks(per_statement) {
            let keep = self.check_rows(&tx, part, offset, &mut report).await?;
            if !keep.is_empty() {
                let insert = self.insert_statement(part, &keep, now, agent)?;
                tx.execute(&insert).await?;
                report.inserted += keep.len();
            }
            offset += part.len();
        }
        tx.commit().await?;
        report.rejected.sort_by_key(|r| r.index);
        Ok(report)
    }

    /// The positions in `part` that may be written; the others are added to `report`.
    async fn check_rows(
        &self,
        tx: &DatabaseTransaction,
        part: &[ImportRow],
        offset: usize,
        report: &mut ImportReport,
    ) -> std::result::Result<Vec<usize>, Failure> {
        let candidates = self.distinct_rows(part, offset, report);
        if candidates.is_empty() {
            return Ok(candidates);
        }
        // Against the stored rows (earlier statements of this transaction included).
        let wanted: Vec<String> = candidates
            .iter()
            .map(|&i| part[i].user.login.as_str().to_owned())
            .collect();
        let emails = emails_of(part, &candidates);
        lock_all(tx, self.dialect, &self.import_locks(&wanted, &emails)).await?;
        let key = self.config.customer_key.clone();
        let taken_logins = self.stored_folded(tx, &[key], &wanted).await?;
        let taken_emails = if self.config.settings.email_unique_check {
            self.stored_folded(tx, &self.postmaster_columns(), &emails)
                .await?
        } else {
            HashSet::new()
        };
        Ok(self.untaken(
            part,
            offset,
            candidates,
            &taken_logins,
            &taken_emails,
            report,
        ))
    }

    /// The postmaster fields' columns (where an address counts as taken).
    fn postmaster_columns(&self) -> Vec<String> {
        let s = &self.config.settings;
        columns_of(&s.map, &s.postmaster_fields)
            .into_iter()
            .map(|c| c.name)
            .collect()
    }

    /// The candidates whose login and address are not taken; the others go to `report`.
    fn untaken(
        &self,
        part: &[ImportRow],
        offset: usize,
        candidates: Vec<usize>,
        taken_logins: &HashSet<String>,
        taken_emails: &HashSet<String>,
        report: &mut ImportReport,
    ) -> Vec<usize> {
        let check_email = self.config.settings.email_unique_check;
        let mut keep = Vec::with_capacity(candidates.len());
        for i in candidates {
            let user = &part[i].user;
            let error = if taken_logins.contains(&fold(user.login.as_str())) {
                self.taken(keys::LOGIN, user.login.as_str())
            } else if check_email && taken_emails.contains(&fold(user.email.as_str())) {
                self.taken(keys::EMAIL, user.email.as_str())
            } else {
                keep.push(i);
                continue;
            };
            report.rejected.push(RejectedRow {
                index: offset + i,
                error,
            });
        }
        keep
    }

    /// The positions in `part` whose login (and address) no earlier row of `part` has; the
    /// others go to `report`.
    fn distinct_rows(
        &self,
        part: &[ImportRow],
        offset: usize,
        report: &mut ImportReport,
    ) -> Vec<usize> {
        let check_email = self.config.settings.email_unique_check;
        // Within the statement: the first row with a login (or address) wins.
        let mut logins = HashSet::with_capacity(part.len());
        let mut emails = HashSet::with_capacity(part.len());
        let mut candidates = Vec::with_capacity(part.len());
        for (i, row) in part.iter().enumerate() {
            let login = fold(row.user.login.as_str());
            if !logins.insert(login) {
                report.rejected.push(RejectedRow {
                    index: offset + i,
                    error: self.taken(keys::LOGIN, row.user.login.as_str()),
                });
                continue;
            }
            if check_email && !emails.insert(fold(row.user.email.as_str())) {
                report.rejected.push(RejectedRow {
                    index: offset + i,
                    error: self.taken(keys::EMAIL, row.user.email.as_str()),
                });
                continue;
            }
            candidates.push(i);
        }
        candidates
    }

    /// The values of `columns` (folded) of the stored rows where any of them equals one of
    /// `values` case-insensitively.
    async fn stored_folded(
        &self,
        tx: &DatabaseTransaction,
        columns: &[String],
        values: &[String],
    ) -> std::result::Result<HashSet<String>, Failure> {
        if columns.is_empty() || values.is_empty() {
            return Ok(HashSet::new());
        }
        let mut q = Query::select();
        for c in columns {
            q.expr(col(c));
        }
        q.from(Alias::new(self.config.table.as_str()))
            .and_where(any(columns
                .iter()
                .map(|c| self.folded_in(col(c), values))
                .collect()));
        let rows = tx.query_all(&q).await?;
        let mut out = HashSet::with_capacity(rows.len());
        for r in &rows {
            for i in 0..columns.len() {
                if let Some(v) = read_text(r, i)? {
                    out.insert(fold(&v));
                }
            }
        }
        Ok(out)
    }

    /// The values of one row, in [`import_columns`](Self::import_columns) order; empty ones as
    /// an add writes them (`''`, `0`), the password column `NULL` without a hash.
    fn row_values(&self, row: &ImportRow, now: i64, agent: i32) -> Result<Vec<Value>> {
        let mut values: Vec<Value> = self
            .users
            .layout
            .insert_values(|k| row.user.attribute(k))?
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        if self.users.password.is_some() {
            values.push(Value::String(row.password_hash.clone()));
        }
        if self.users.layout.audit {
            values.extend(new_audit_cells(&row.user.audit, now, agent));
        }
        Ok(values)
    }

    /// `column` equals one of `values` case-insensitively. On SQLite, whose `LOWER()` folds
    /// ASCII only, ASCII values are compared with `LOWER(column) IN (…)` (the lower-case
    /// indexes serve it) and only the others with the Unicode-aware `REGEXP`.
    pub(crate) fn folded_in(&self, column: Expr, values: &[String]) -> Expr {
        if self.dialect != Dialect::Sqlite {
            return self.dialect.in_folded(column, values);
        }
        let (ascii, other): (Vec<&String>, Vec<&String>) =
            values.iter().partition(|v| v.is_ascii());
        let mut parts = Vec::new();
        if !ascii.is_empty() {
            parts.push(
                Expr::expr(Func::lower(column.clone()))
                    .is_in(ascii.iter().map(|v| v.to_ascii_lowercase())),
            );
        }
        if !other.is_empty() {
            let other: Vec<String> = other.into_iter().cloned().collect();
            parts.push(self.dialect.in_folded(column, &other));
        }
        any(parts)
    }

    /// The locks a single add of each login and address takes ([`crate::lock`]): the
    /// logins', and the addresses' when the source checks email uniqueness.
    fn import_locks(&self, logins: &[String], emails: &[String]) -> Vec<Lock> {
        let mut locks: Vec<Lock> = logins
            .iter()
            .filter_map(|l| login_lock(self.dialect, l))
            .collect();
        if self.config.settings.email_unique_check {
            locks.extend(emails.iter().map(|e| email_lock(e)));
        }
        locks
    }

    /// The multi-row `INSERT` of `part[keep]`.
    fn insert_statement(
        &self,
        part: &[ImportRow],
        keep: &[usize],
        now: i64,
        agent: i32,
    ) -> std::result::Result<sea_orm::sea_query::InsertStatement, Failure> {
        let mut insert = Query::insert();
        insert
            .into_table(Alias::new(self.config.table.as_str()))
            .columns(self.import_columns().iter().map(|c| Alias::new(c.as_str())));
        for &i in keep {
            let values = self.row_values(&part[i], now, agent)?;
            insert
                .values(values.into_iter().map(Expr::val))
                .map_err(|e| Error::backend_failure(self.name(), e))?;
        }
        Ok(insert)
    }
}

/// The addresses of `part[positions]`.
fn emails_of(part: &[ImportRow], positions: &[usize]) -> Vec<String> {
    positions
        .iter()
        .map(|&i| part[i].user.email.as_str().to_owned())
        .collect()
}

/// A PostgreSQL identifier, quoted.
#[cfg(feature = "postgres")]
fn pg_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The case-insensitive form of a login or an address.
fn fold(s: &str) -> String {
    s.to_lowercase()
}

#[cfg(feature = "postgres")]
mod copy {
    //! The PostgreSQL path: checks and `COPY … FROM STDIN` on one pooled connection.

    use clientele_model::Actor;
    use std::collections::HashSet;
    use std::io::Write as _;
    use std::sync::Arc;

    use sea_orm::error::{DbErr, RuntimeErr};
    use sea_orm::sea_query::Value;
    use sea_orm::sqlx::postgres::PgConnection;
    use sea_orm::sqlx::{self, AssertSqlSafe, Row as _};

    use super::{ImportReport, ImportRow, emails_of, fold, pg_ident};
    use crate::error::Failure;
    use crate::lock::{pg_lock_statement, pg_slots};
    use clientele_backend::Error;

    use crate::{DbBackend, agent_id, now_epoch};

    fn db(e: sqlx::Error) -> Failure {
        Failure::Db(DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e))))
    }

    impl DbBackend {
        /// One transaction on PostgreSQL: per statement-sized part, the same checks as
        /// [`check_rows`](DbBackend::check_rows) (the values as one JSON parameter), then the
        /// rows that may be written with `COPY … FROM STDIN` (CSV).
        pub(super) async fn import_transaction_copy(
            &self,
            chunk: &[ImportRow],
            base: usize,
            per_statement: usize,
            by: &Actor,
        ) -> Result<ImportReport, Failure> {
            let pool = self.conn.get_postgres_connection_pool();
            let mut tx = pool.begin().await.map_err(db)?;
            // The table grows faster than its statistics: planned for the few rows it held at
            // the last ANALYZE, a check of a thousand addresses became a sequential scan of the
            // whole table, per statement. For this transaction only, the checks' lookups use
            // the lower-case indexes whatever the statistics say.
            sqlx::query("SELECT set_config('enable_seqscan', 'off', true)")
                .execute(&mut *tx)
                .await
                .map_err(db)?;
            let mut report = ImportReport::default();
            let (now, agent) = (now_epoch(), agent_id(by));
            let table = pg_ident(&self.config.table);
            let columns: Vec<String> = self.import_columns().iter().map(|c| pg_ident(c)).collect();
            let copy_sql = format!(
                "COPY {table} ({}) FROM STDIN WITH (FORMAT csv)",
                columns.join(", ")
            );
            let key = vec![self.config.customer_key.clone()];
            let mut offset = base;
            for part in chunk.chunks(per_statement) {
                let candidates = self.distinct_rows(part, offset, &mut report);
                if !candidates.is_empty() {
                    let logins: Vec<String> = candidates
                        .iter()
                        .map(|&i| part[i].user.login.as_str().to_owned())
                        .collect();
                    let wanted = emails_of(part, &candidates);
                    let slots = pg_slots(&self.import_locks(&logins, &wanted));
                    sqlx::query(AssertSqlSafe(pg_lock_statement(&slots)))
                        .execute(&mut *tx)
                        .await
                        .map_err(db)?;
                    let taken_logins = self.pg_taken(&mut tx, &table, &key, &logins).await?;
                    let taken_emails = if self.config.settings.email_unique_check {
                        self.pg_taken(&mut tx, &table, &self.postmaster_columns(), &wanted)
                            .await?
                    } else {
                        HashSet::new()
                    };
                    let keep = self.untaken(
                        part,
                        offset,
                        candidates,
                        &taken_logins,
                        &taken_emails,
                        &mut report,
                    );
                    if !keep.is_empty() {
                        let mut csv = Vec::with_capacity(keep.len() * 256);
                        for &i in &keep {
                            self.csv_row(&mut csv, &part[i], now, agent)?;
                        }
                        let mut copy = tx.copy_in_raw(&copy_sql).await.map_err(db)?;
                        copy.send(csv).await.map_err(db)?;
                        copy.finish().await.map_err(db)?;
                        report.inserted += keep.len();
                    }
                }
                offset += part.len();
            }
            tx.commit().await.map_err(db)?;
            report.rejected.sort_by_key(|r| r.index);
            Ok(report)
        }

        /// The folded `values` that equal, case-insensitively, the value of one of `columns`
        /// in a stored row: one index lookup per value and column (a subquery per value, so
        /// no join order to get wrong).
        async fn pg_taken(
            &self,
            conn: &mut PgConnection,
            table: &str,
            columns: &[String],
            values: &[String],
        ) -> Result<HashSet<String>, Failure> {
            let json = serde_json::to_string(values)
                .map_err(|e| Failure::Api(Error::backend_failure(self.name(), e)))?;
            let mut out = HashSet::new();
            for c in columns {
                let c = pg_ident(c);
                let sql = format!(
                    "SELECT s.x FROM json_array_elements_text(CAST($1 AS json)) AS s(x) \
                     WHERE (SELECT 1 FROM {table} WHERE LOWER({c}) = LOWER(s.x) LIMIT 1) \
                     IS NOT NULL"
                );
                let rows = sqlx::query(AssertSqlSafe(sql))
                    .bind(&json)
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(db)?;
                for r in &rows {
                    if let Some(v) = r.try_get::<Option<String>, _>(0).map_err(db)? {
                        out.insert(fold(&v));
                    }
                }
            }
            Ok(out)
        }

        /// One CSV line (`COPY … WITH (FORMAT csv)`): text always quoted, so an empty string
        /// stays one; a missing value is an empty field, `NULL`.
        fn csv_row(
            &self,
            out: &mut Vec<u8>,
            row: &ImportRow,
            now: i64,
            agent: i32,
        ) -> Result<(), Failure> {
            for (k, v) in self.row_values(row, now, agent)?.into_iter().enumerate() {
                if k > 0 {
                    out.push(b',');
                }
                let written = match v {
                    Value::String(None)
                    | Value::BigInt(None)
                    | Value::Int(None)
                    | Value::ChronoDateTime(None) => Ok(()),
                    Value::String(Some(s)) => {
                        out.push(b'"');
                        for b in s.bytes() {
                            if b == b'"' {
                                out.push(b'"');
                            }
                            out.push(b);
                        }
                        out.push(b'"');
                        Ok(())
                    }
                    Value::BigInt(Some(i)) => write!(out, "{i}"),
                    Value::Int(Some(i)) => write!(out, "{i}"),
                    Value::ChronoDateTime(Some(t)) => {
                        write!(out, "{}", t.format("%Y-%m-%d %H:%M:%S"))
                    }
                    other => {
                        return Err(Failure::Api(Error::backend(
                            self.name(),
                            format!("import: no CSV form for {other:?}"),
                        )));
                    }
                };
                written.map_err(|e| Failure::Api(Error::backend_failure(self.name(), e)))?;
            }
            out.push(b'\n');
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_at_least_one() {
        let o = ImportOptions::new(0, 0);
        assert_eq!((o.rows_per_statement, o.statements_per_transaction), (1, 1));
    }
}
