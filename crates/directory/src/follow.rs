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
    /// matrix when groups or grants changed. Called by the task [`follow_changes`] starts; a
    /// host with its own transport can call it directly.
    ///
    /// [`follow_changes`]: Directory::follow_changes
    pub fn apply_change(&self, change: &Change) {
        match change {
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
    /// last clone of the Directory is dropped. Needs a tokio runtime. Returns an error when the
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
                            dir.apply_change(c);
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
