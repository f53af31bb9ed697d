//! Announcing this Directory's writes on its [`ChangeFeed`] and applying other instances'.

use std::sync::{Arc, PoisonError, Weak};
use std::time::Duration;

use clientele_backend::changes::{Change, Delivery};
use clientele_backend::error::{Error, Result};

use crate::{Directory, Inner};

/// How long the follower waits after the feed failed before it asks again.
const RETRY_AFTER: Duration = Duration::from_millis(500);

impl Directory {
    /// Tells the other instances about a write. A write that succeeded stays a success when the
    /// announcement fails: the failure is logged, and the other instances fall back on their
    /// cache TTL (or on the gap their feed reports).
    pub(crate) async fn announce(&self, changes: &[Change]) {
        let Some(feed) = &self.inner.feed else { return };
        for change in changes {
            if let Err(e) = feed.publish(change).await {
                tracing::warn!(
                    error = %e,
                    ?change,
                    "a change was not announced to other instances; they may serve the old data \
                     until their cache TTL"
                );
            }
        }
    }

    /// After a write of the user `login` (as stored) of source `slot`: drops it from this
    /// instance's cache and tells the others.
    pub(crate) async fn user_changed(&self, slot: usize, login: &str) {
        let Some(slot) = self.inner.slots.get(slot) else {
            return;
        };
        slot.cache.invalidate_user(login);
        self.announce(&[Change::User {
            source: slot.name().to_owned(),
            login: login.to_owned(),
        }])
        .await;
    }

    /// Drops what a change made by another instance makes stale: the user's cached look-up and
    /// the cached searches of its source, the user's row in the permission matrix, or the whole
    /// matrix when groups or grants changed. It cannot wait for the store, so it drops the
    /// whole matrix for [`Change::UserGrants`], [`Change::CompanyGrants`] and
    /// [`Change::Group`] too; [`apply_change_async`](Self::apply_change_async), which the task
    /// started by [`follow_changes`] uses, reloads just the rows they name. A host with its own
    /// transport can call either directly.
    ///
    /// [`follow_changes`]: Directory::follow_changes
    pub fn apply_change(&self, change: &Change) {
        match change {
            Change::UserGrants { .. } | Change::CompanyGrants { .. } | Change::Group { .. } => {
                self.inner.access.reset()
            }
            Change::User { source, login } => {
                for slot in self.slots_named(source) {
                    slot.cache.invalidate_user(login);
                }
                self.inner.access.forget_user(login);
            }
            Change::Relations { login } => self.inner.access.forget_user(login),
            Change::Permissions => self.inner.access.reset(),
            Change::Source { source } => {
                for slot in self.slots_named(source) {
                    slot.cache.clear();
                }
                // New or changed users may change company memberships in the matrix.
                self.inner.access.reset();
            }
            Change::Company { customer_id } => self.inner.company_cache.invalidate(customer_id),
            // Nothing of services is cached here.
            Change::Services => {}
            // A kind of change this version does not know yet: the safe reading is "anything".
            _ => self.forget_everything(),
        }
    }

    /// Applies a change made by another instance, reading from the store what it names: for
    /// [`Change::UserGrants`], [`Change::CompanyGrants`] and [`Change::Group`] the grants of
    /// that one user or company (and the company's validity), or that group's row, are read
    /// again and patched into the permission matrix as a local write patches it, in one step
    /// (a check sees the matrix before or after, never half of it; checks never wait for the
    /// reload). When there is no matrix yet there is nothing to patch; when the rows cannot be
    /// read or patched (the store is unreachable, a group was renamed) the matrix is dropped
    /// and rebuilt on the next check, as [`apply_change`](Self::apply_change) does. Every
    /// other change is applied as [`apply_change`](Self::apply_change) applies it.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use clientele_backend::changes::Change;
    /// use clientele_backend::InMemoryBackend;
    /// use clientele_directory::{Directory, DirectoryConfig};
    /// use clientele_model::{NewCustomerCompany, NewCustomerUser};
    ///
    /// // Two instances over one store; `b` hears of `a`'s grant by another transport.
    /// let store = Arc::new(InMemoryBackend::new());
    /// let mut config = DirectoryConfig::default();
    /// config.permissions.customer_group_support = true;
    /// let a = Directory::in_memory_with(store.clone(), config.clone())?;
    /// let b = Directory::in_memory_with(store, config)?;
    /// a.add_group("support", "admin").await?;
    /// a.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "admin").await?;
    /// let jdoe = NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME");
    /// a.add_customer_user(jdoe, "admin").await?;
    /// assert!(!b.has_permission("jdoe", "support", "ro").await?);
    ///
    /// a.grant_user("jdoe", "support", &["ro"], "admin").await?;
    /// b.apply_change_async(&Change::UserGrants { login: "jdoe".into() }).await;
    /// assert!(b.has_permission("jdoe", "support", "ro").await?);
    /// // Patched in place, not rebuilt.
    /// assert_eq!(b.permission_matrix_stats().builds, 1);
    /// assert_eq!(b.permission_matrix_stats().row_reloads, 1);
    /// # Ok::<(), clientele_backend::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn apply_change_async(&self, change: &Change) {
        match change {
            Change::UserGrants { login } => self.reload_user_grants(login).await,
            Change::CompanyGrants { customer_id } => self.reload_company_grants(customer_id).await,
            Change::Group { id } => self.reload_group(*id).await,
            other => self.apply_change(other),
        }
    }

    /// The slots another instance's change names: those of its source, or every slot when this
    /// instance has no source of that name (it calls the source differently).
    fn slots_named(&self, source: &str) -> Vec<&crate::source::Slot> {
        let named: Vec<_> = (self.inner.slots.iter())
            .filter(|s| s.name() == source)
            .collect();
        if named.is_empty() {
            self.inner.slots.iter().collect()
        } else {
            named
        }
    }

    /// Drops every cache and the permission matrix (what a [`Delivery::Gap`] calls for).
    pub fn forget_everything(&self) {
        self.clear_caches();
        self.inner.access.reset();
    }

    /// Starts a task that applies the changes other instances announce on this Directory's
    /// feed ([`DirectoryBuilder::change_feed`](crate::DirectoryBuilder::change_feed)) until the
    /// last clone of the Directory is dropped, one after the other with
    /// [`apply_change_async`](Self::apply_change_async): a changed grant or group is reloaded
    /// from the store into the permission matrix, without rebuilding it; a gap in the feed
    /// drops every cache and the matrix. Needs a tokio runtime. Returns an error when the
    /// Directory has no feed or already follows it.
    pub fn follow_changes(&self) -> Result<()> {
        let Some(feed) = self.inner.feed.clone() else {
            return Err(Error::Config(
                "follow_changes: this directory has no change feed; set one with \
                 DirectoryBuilder::change_feed"
                    .into(),
            ));
        };
        let mut follower = self
            .inner
            .follower
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if follower.is_some() {
            return Err(Error::Config(
                "follow_changes: this directory already follows its change feed".into(),
            ));
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let task = tokio::spawn(async move {
            let mut failed = false;
            loop {
                let delivery = feed.next().await;
                let Some(inner) = weak.upgrade() else { return };
                let dir = Directory { inner };
                match delivery {
                    Ok(Delivery::Changes(changes)) if !failed => {
                        for c in &changes {
                            dir.apply_change_async(c).await;
                        }
                    }
                    Ok(_) => {
                        failed = false;
                        dir.forget_everything();
                        tracing::info!("change feed reported a gap: dropped every cache");
                    }
                    Err(e) => {
                        if !failed {
                            tracing::warn!(error = %e, "change feed unreadable; retrying");
                        }
                        // Caches are kept while the feed (usually the database itself) is down,
                        // so reads can still be served; they are dropped when it is back.
                        failed = true;
                        drop(dir);
                        tokio::time::sleep(RETRY_AFTER).await;
                    }
                }
            }
        });
        *follower = Some(task.abort_handle());
        Ok(())
    }
}
