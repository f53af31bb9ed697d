//! Bulk import of new customer users: every row checked as an add is, the valid ones written by
//! the source's [`BulkWriter`](clientele_backend::BulkWriter) in few statements (one
//! [`add`](clientele_backend::CustomerUserWriter::add) each when the source has none), every
//! written login announced on the change feed.

use clientele_model::Actor;
use std::collections::HashMap;

use clientele_backend::changes::Change;
use clientele_backend::error::Result;
use clientele_backend::{ImportReport, ImportRow, RejectedRow, add_each};
use clientele_model::NewCustomerUser;
use tracing::Instrument;

use crate::Directory;
use crate::source::Slot;
use crate::transfer::RecordedUser;
use crate::users::missing_company;

/// Up to this many written logins are announced one by one; a larger import announces its
/// source as changed as a whole (one message instead of one per user).
const ANNOUNCE_EACH_UP_TO: usize = 1_000;

impl Directory {
    /// Adds many new users to the configured target source (default: the first writable one);
    /// see [`import_customer_users_to`](Self::import_customer_users_to).
    pub async fn import_customer_users(
        &self,
        rows: Vec<NewCustomerUser>,
        by: impl Into<Actor>,
    ) -> Result<ImportReport> {
        let name = self.target()?.name().to_owned();
        self.import_customer_users_to(&name, rows, by).await
    }

    /// Adds many new users to the named source at once: the bulk path behind `clientele
    /// import`.
    ///
    /// Each row is checked as [`add_customer_user_to`](Self::add_customer_user_to) checks it —
    /// the source's map, the primary company, the login (and, with `email_unique_check`, the
    /// address) unused in every *other* source — and a
    /// row that fails is reported in [`ImportReport::rejected`] with its index and error,
    /// without stopping the others. The source then stores the valid rows, refusing taken logins
    /// and emails atomically (also reported per row). A row is never an update, and a row
    /// without a password gets none (no generated password is made that nobody would see); a
    /// row with one has it hashed as an add would.
    ///
    /// Every login written is dropped from the caches and announced on the change feed, so
    /// other instances do not keep a cached "no such user" for it.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use clientele_directory::{Directory, InMemoryBackend};
    /// use clientele_model::{NewCustomerCompany, NewCustomerUser};
    ///
    /// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
    /// dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "admin").await?;
    /// let rows = vec![
    ///     NewCustomerUser::new("ann", "Ann", "A", "ann@acme-corp.com", "ACME"),
    ///     NewCustomerUser::new("bob", "Bob", "B", "bob@acme-corp.com", "NOPE"),
    ///     NewCustomerUser::new("ANN", "Ann", "Again", "ann2@acme-corp.com", "ACME"),
    /// ];
    /// let report = dir.import_customer_users(rows, "admin").await?;
    /// assert_eq!(report.inserted, 1);
    /// let refused: Vec<usize> = report.rejected.iter().map(|r| r.index).collect();
    /// assert_eq!(refused, [1, 2]); // no such company; login taken by row 0
    /// assert!(dir.customer_user("ann").await?.is_some());
    /// # Ok::<(), clientele_backend::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn import_customer_users_to(
        &self,
        source: &str,
        rows: Vec<NewCustomerUser>,
        by: impl Into<Actor>,
    ) -> Result<ImportReport> {
        let rows = rows.into_iter().map(RecordedUser::new).collect();
        self.import_users(source, rows, by.into()).await
    }

    /// [`import_customer_users_to`](Self::import_customer_users_to) of rows that may carry
    /// their hash and audit values.
    pub(crate) async fn import_users(
        &self,
        source: &str,
        rows: Vec<RecordedUser>,
        by: Actor,
    ) -> Result<ImportReport> {
        let slot = self.slot(source)?;
        let writer = slot.writer()?.clone();
        let mut report = ImportReport::default();
        let mut valid = Vec::with_capacity(rows.len());
        let mut positions = Vec::with_capacity(rows.len());
        let mut companies: HashMap<String, bool> = HashMap::new();
        for (index, new) in rows.into_iter().enumerate() {
            match self.import_row(slot, new, &mut companies).await {
                Ok(row) => {
                    valid.push(row);
                    positions.push(index);
                }
                Err(error) if error.is_outage() => return Err(error),
                Err(error) => report.rejected.push(RejectedRow { index, error }),
            }
        }
        let written = if valid.is_empty() {
            ImportReport::default()
        } else {
            let span = tracing::info_span!("backend.add_many", backend = %slot.name());
            let result = match &slot.source.bulk {
                Some(bulk) => bulk.add_many(&valid, &by).instrument(span).await,
                None => {
                    add_each(writer.as_ref(), &valid, &by)
                        .instrument(span)
                        .await
                }
            };
            // Whatever was written before a failure is announced too.
            let outcome = match &result {
                Ok(r) => Some(r.rejected.iter().map(|r| r.index).collect::<Vec<_>>()),
                Err(_) => None,
            };
            self.after_import(slot, &valid, outcome.as_deref()).await;
            result?
        };
        report.inserted = written.inserted;
        report
            .rejected
            .extend(written.rejected.into_iter().map(|r| RejectedRow {
                index: positions[r.index],
                error: r.error,
            }));
        report.rejected.sort_by_key(|r| r.index);
        Ok(report)
    }

    /// One row checked as an add checks it, with its password hashed when it has one.
    async fn import_row(
        &self,
        slot: &Slot,
        recorded: RecordedUser,
        companies: &mut HashMap<String, bool>,
    ) -> Result<ImportRow> {
        let RecordedUser {
            user: new,
            password_hash,
            audit,
        } = recorded;
        let mut user = new.validate(&slot.rules())?;
        self.check_new_password(new.password.as_ref())?;
        user.audit = audit;
        // Each company is looked up once per import.
        let company = user.customer_id.as_str().to_owned();
        let exists = match companies.get(&company) {
            Some(&known) => known,
            None => {
                let known = !self.company_missing(slot, &user).await?;
                companies.insert(company, known);
                known
            }
        };
        if !exists {
            return Err(missing_company(&user));
        }
        // The target refuses its own taken logins atomically; the other sources are asked.
        self.login_unused(&user.login, Some(slot)).await?;
        self.email_unused(&user, slot).await?;
        let mut row = ImportRow::new(user);
        if let Some(hash) = password_hash.filter(|h| !h.is_empty()) {
            row.password_hash = Some(hash);
        } else if let Some(password) = new.password.filter(|p| !p.is_empty()) {
            row.password_hash = Some(self.hash(&password).await?);
        }
        Ok(row)
    }

    /// Drops the written logins from the cache and announces them. `rejected` are the indexes
    /// of `rows` that were not written; `None` when the store failed part-way and which rows
    /// it wrote is unknown: then every row counts as possibly written.
    async fn after_import(&self, slot: &Slot, rows: &[ImportRow], rejected: Option<&[usize]>) {
        let written: Vec<&ImportRow> = rows
            .iter()
            .enumerate()
            .filter(|(i, _)| rejected.is_none_or(|r| r.binary_search(i).is_err()))
            .map(|(_, row)| row)
            .collect();
        if written.is_empty() {
            return;
        }
        let changes: Vec<Change> = if written.len() <= ANNOUNCE_EACH_UP_TO {
            for row in &written {
                slot.cache.invalidate_user(row.user.login.as_str());
            }
            written
                .iter()
                .map(|row| Change::User {
                    source: slot.name().to_owned(),
                    login: row.user.login.as_str().to_owned(),
                })
                .collect()
        } else {
            slot.cache.clear();
            vec![Change::Source {
                source: slot.name().to_owned(),
            }]
        };
        self.announce(&changes).await;
    }
}
