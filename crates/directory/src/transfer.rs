//! What moving a directory's data between databases needs: every user a page at a time, the
//! stored password hashes, every service assignment and preference, and users and companies
//! added with the audit values (and hashes) they were exported with.
//!
//! `clientele export` walks these pages, so its memory does not grow with the number of users;
//! `clientele import` writes through [`import_recorded_users_to`](Directory::import_recorded_users_to)
//! and [`add_company_recorded`](Directory::add_company_recorded).

use clientele_backend::error::Result;
use clientele_backend::{ImportReport, RelationRow};
use clientele_model::NewCustomerUser;
use clientele_model::{Actor, Audit, CustomerCompany, CustomerUser, Login, NewCustomerCompany};

use crate::Directory;

/// One customer user as an import restores it: the record, the password hash it had (stored
/// as it is, never hashed again) and its audit values (kept; the missing ones are stamped now
/// and by the importer).
#[derive(Clone, Debug, Default)]
pub struct RecordedUser {
    /// The record, checked as an add checks it. A plain-text password in it is hashed as an
    /// add hashes it, unless `password_hash` is given.
    pub user: NewCustomerUser,
    /// The stored hash to keep, in any format the Directory verifies.
    pub password_hash: Option<String>,
    /// When and by whom the user was created and last changed.
    pub audit: Audit,
}

impl RecordedUser {
    /// A user without a hash or audit values: what a plain import adds.
    pub fn new(user: NewCustomerUser) -> RecordedUser {
        RecordedUser {
            user,
            ..RecordedUser::default()
        }
    }
}

impl Directory {
    /// One page of a walk over every user of the source `source`, invalid ones included: up
    /// to `limit` users whose login sorts after `after` (code-point order), as
    /// [`CustomerUserSource::users_after`](clientele_backend::CustomerUserSource::users_after)
    /// gives them. Read from the source, not the cache (a walk would only evict what is hot).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use clientele_directory::{Directory, InMemoryBackend};
    /// use clientele_model::{NewCustomerCompany, NewCustomerUser};
    ///
    /// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
    /// dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "admin").await?;
    /// for login in ["carl", "anna", "bert"] {
    ///     let email = format!("{login}@acme-corp.com");
    ///     dir.add_customer_user(NewCustomerUser::new(login, "A", "B", &email, "ACME"), "admin")
    ///         .await?;
    /// }
    /// let first = dir.customer_users_after("memory", None, 2).await?;
    /// let next = dir.customer_users_after("memory", Some(&first[1].login), 2).await?;
    /// let logins: Vec<&str> = first.iter().chain(&next).map(|u| u.login.as_str()).collect();
    /// assert_eq!(logins, ["anna", "bert", "carl"]);
    /// # Ok::<(), clientele_backend::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn customer_users_after(
        &self,
        source: &str,
        after: Option<&Login>,
        limit: usize,
    ) -> Result<Vec<CustomerUser>> {
        let slot = self.slot(source)?;
        slot.source.reader.users_after(after, limit).await
    }

    /// The stored password hash of a user of the source `source` (`None`: no password, or a
    /// source that keeps none, such as an LDAP directory): for an export that moves users with
    /// their passwords. Never shown by the command line except into that export.
    pub async fn stored_password_hash(&self, source: &str, login: &str) -> Result<Option<String>> {
        let slot = self.slot(source)?;
        let Some(store) = &slot.source.passwords else {
            return Ok(None);
        };
        Ok(store.password_hash(login).await?.and_then(|(_, hash)| hash))
    }

    /// Every service assignment as (login, service id), default services (under
    /// [`DEFAULT_SERVICES_LOGIN`](clientele_backend::DEFAULT_SERVICES_LOGIN)) and invalid
    /// services included.
    pub async fn service_assignments(&self) -> Result<Vec<(String, i64)>> {
        self.relations()?.service_assignments().await
    }

    /// The audit values of every stored group, service, relation, grant row and service
    /// assignment, by natural key ([`RelationStore::relation_audits`]): what `clientele export
    /// all` writes beside each line. Empty for a store that keeps none (the in-memory one).
    ///
    /// [`RelationStore::relation_audits`]: clientele_backend::RelationStore::relation_audits
    pub async fn relation_audits(&self) -> Result<Vec<(RelationRow, Audit)>> {
        self.relations()?.relation_audits().await
    }

    /// Puts recorded audit values back on one stored relation row after an import wrote it
    /// (the values the audit leaves `None` stay as written); `false` when no such row is
    /// stored or the store keeps no audit values.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use clientele_backend::RelationRow;
    /// use clientele_directory::{Directory, InMemoryBackend};
    /// use clientele_model::Audit;
    ///
    /// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
    /// dir.add_group("support", "admin").await?;
    /// let row = RelationRow::Group { name: "support".into() };
    /// let audit = Audit { created_at: Some(1_000_000_000), ..Audit::default() };
    /// // The in-memory store keeps no audit values for groups.
    /// assert!(!dir.restore_relation_audit(&row, &audit).await?);
    /// assert!(dir.relation_audits().await?.is_empty());
    /// # Ok::<(), clientele_backend::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn restore_relation_audit(&self, row: &RelationRow, audit: &Audit) -> Result<bool> {
        self.relations()?.restore_relation_audit(row, audit).await
    }

    /// One page of a walk over every stored preference: up to `limit` (login, key, value)
    /// after the (login, key) pair `after`, sorted by login, then key.
    pub async fn preferences_after(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, String)>> {
        self.preference_store()?
            .preferences_after(after, limit)
            .await
    }

    /// Adds a company as [`add_company`](Self::add_company) does, keeping the audit values
    /// given (the missing ones are stamped now and `by`): an import restoring an export.
    pub async fn add_company_recorded(
        &self,
        new: NewCustomerCompany,
        audit: Audit,
        by: impl Into<Actor>,
    ) -> Result<CustomerCompany> {
        self.add_company_with(new, audit, by.into()).await
    }

    /// Adds many users as [`import_customer_users_to`](Self::import_customer_users_to) does,
    /// each with the hash and audit values it was exported with: a given hash is stored as it
    /// is (a plain-text password is hashed only when there is none), the audit values are kept.
    ///
    /// An empty hash counts as none. A hash is trusted as given: whoever can hand one in sets
    /// that user's password.
    pub async fn import_recorded_users_to(
        &self,
        source: &str,
        rows: Vec<RecordedUser>,
        by: impl Into<Actor>,
    ) -> Result<ImportReport> {
        self.import_users(source, rows, by.into()).await
    }
}
