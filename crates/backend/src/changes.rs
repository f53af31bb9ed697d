//! Keeping several Directories over one shared store current.
//!
//! When Clientele is embedded in several application servers that share one database (or one
//! replicated LDAP), each process has its own Directory (`clientele-directory`) with its own
//! caches and permission matrix. A write through one instance must not leave the others
//! serving the old record until their cache TTL runs out (OTOBO's default is a day).
//!
//! A [`ChangeFeed`] carries that news between instances: every write through a Directory that
//! has a feed is announced with [`ChangeFeed::publish`], and
//! `Directory::follow_changes` starts a task that receives
//! the other instances' announcements and drops exactly what they make stale. What is sent is
//! *what* changed ([`Change`]), never the new value: the receiver reads the store again, so the
//! order in which announcements arrive does not matter.
//!
//! Grant and group writes name the rows they touched ([`Change::UserGrants`],
//! [`Change::CompanyGrants`], [`Change::Group`]), so a receiver reloads just those rows into its
//! permission matrix instead of rebuilding the whole matrix ([`Change::Permissions`], still
//! understood and still announced where no narrower kind fits). Announcements travel as JSON
//! tagged by `kind`; a receiver that does not know a kind (an older version) treats it as
//! "anything may have changed" and drops everything.
//!
//! `clientele-db` implements a feed on the database itself (PostgreSQL `LISTEN`/`NOTIFY`, a
//! polled change-log table on MariaDB/MySQL and SQLite). A feed that may have lost
//! announcements (a dropped connection, a log pruned past the reader) says so with
//! [`Delivery::Gap`], and the Directory then drops everything it cached.
//!
//! ```
//! use clientele_backend::changes::{Change, ChangeFeed, Delivery};
//! use clientele_backend::Result;
//!
//! /// A feed that records what it is told and delivers nothing (one instance alone).
//! #[derive(Default)]
//! struct Recorder(std::sync::Mutex<Vec<Change>>);
//!
//! #[async_trait::async_trait]
//! impl ChangeFeed for Recorder {
//!     async fn publish(&self, change: &Change) -> Result<()> {
//!         self.0.lock().unwrap().push(change.clone());
//!         Ok(())
//!     }
//!     async fn next(&self) -> Result<Delivery> {
//!         std::future::pending().await
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // What a Directory announces after adding `jdoe` to its source `memory`:
//! let feed = Recorder::default();
//! feed.publish(&Change::User { source: "memory".into(), login: "jdoe".into() }).await?;
//! assert_eq!(feed.0.lock().unwrap().len(), 1);
//! # Ok::<(), clientele_backend::Error>(())
//! # }).unwrap();
//! ```

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use clientele_model::permission::GroupId;

/// What a write changed, as far as other instances' caches are concerned.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Change {
    /// A customer user's record, password, validity or preferences changed (or it was added,
    /// or renamed: then both logins are announced).
    User {
        /// The name of the source the user lives in.
        source: String,
        /// The login as stored.
        login: String,
    },
    /// A user's company relations (its customer ids) changed.
    Relations {
        /// The login as stored.
        login: String,
    },
    /// Something the permission matrix is built from changed, without saying what: every
    /// receiver drops its whole matrix and rebuilds it on the next check. Announced for writes
    /// no narrower kind describes, and by versions before [`UserGrants`](Change::UserGrants),
    /// [`CompanyGrants`](Change::CompanyGrants) and [`Group`](Change::Group) existed.
    Permissions,
    /// A customer user's grants changed: a grant, a change of one of its permission sets, a
    /// revoke, or a rename that moved them to or from this login. A receiver reads just this
    /// user's grants from the store again and patches its permission matrix with them.
    ///
    /// Serialised as `{"kind":"user_grants","login":"…"}`.
    UserGrants {
        /// The login as stored.
        login: String,
    },
    /// A company's grants (in any context) or its validity changed. A receiver reads just this
    /// company's grants and validity from the store again and patches its matrix with them.
    ///
    /// Serialised as `{"kind":"company_grants","customer_id":"…"}`.
    CompanyGrants {
        /// The customer id as stored.
        customer_id: String,
    },
    /// A group was added, renamed or changed validity. A receiver reads the group from the
    /// store again and adds it to its matrix or changes its validity there (a rename still
    /// rebuilds the matrix: groups are also named in the always-groups settings).
    ///
    /// Serialised as `{"kind":"group","id":…}`.
    Group {
        /// The group's id (OTOBO `groups_table.id`), the same on every instance.
        id: GroupId,
    },
    /// A customer company was added or changed.
    Company {
        /// The customer id as stored.
        customer_id: String,
    },
    /// Many users of one source changed at once (a bulk import): anything cached for that
    /// source may be stale.
    Source {
        /// The name of the source.
        source: String,
    },
    /// Services, service assignments or default services changed. The Directory caches none of
    /// these; the announcement is for hosts that do.
    Services,
}

/// What [`ChangeFeed::next`] delivers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Changes other instances announced, oldest first.
    Changes(Vec<Change>),
    /// Announcements may have been lost (the connection dropped, or the log was pruned past
    /// this reader): everything cached must be dropped.
    Gap,
}

/// A channel between the Directories that share a store. Implementations must not deliver an
/// instance's own announcements back to it (they would only drop its caches needlessly).
#[async_trait]
pub trait ChangeFeed: Send + Sync {
    /// Announces a change this instance made. Called after the write succeeded.
    async fn publish(&self, change: &Change) -> Result<()>;

    /// Waits for the next changes made by other instances. Only one task calls this at a time.
    /// An error means the feed could not be read now; the follower waits and asks again, and
    /// treats the next delivery as a [`Delivery::Gap`].
    async fn next(&self) -> Result<Delivery>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announcements_keep_their_wire_form() {
        // Announcements of earlier versions still parse.
        let old: Change = serde_json::from_str(r#"{"kind":"permissions"}"#).unwrap();
        assert_eq!(old, Change::Permissions);
        let user: Change =
            serde_json::from_str(r#"{"kind":"user","source":"db","login":"jdoe"}"#).unwrap();
        assert_eq!(
            user,
            Change::User {
                source: "db".into(),
                login: "jdoe".into()
            }
        );
        // The kinds naming grant rows, as documented.
        let cases = [
            (
                Change::UserGrants {
                    login: "jdoe".into(),
                },
                r#"{"kind":"user_grants","login":"jdoe"}"#,
            ),
            (
                Change::CompanyGrants {
                    customer_id: "ACME".into(),
                },
                r#"{"kind":"company_grants","customer_id":"ACME"}"#,
            ),
            (
                Change::Group { id: GroupId(7) },
                r#"{"kind":"group","id":7}"#,
            ),
        ];
        for (change, json) in cases {
            assert_eq!(serde_json::to_string(&change).unwrap(), json);
            assert_eq!(serde_json::from_str::<Change>(json).unwrap(), change);
        }
    }
}
