//! The crate's error type.

use clientele_model::permission::GroupId;

/// What was wrong with a fact or a change; nothing is applied when one is returned.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PermissionError {
    /// A grant or change names a group the matrix does not know.
    #[error("group {group} does not exist")]
    UnknownGroup {
        /// The unknown group id.
        group: GroupId,
    },
    /// Two groups have the same id.
    #[error("group id {group} is used by more than one group")]
    DuplicateGroupId {
        /// The repeated id.
        group: GroupId,
    },
    /// Two groups have the same name (OTOBO's `groups_table.name` is unique).
    #[error("group name {name:?} is used by more than one group")]
    DuplicateGroupName {
        /// The repeated name.
        name: String,
    },
    /// A group has an empty name.
    #[error("group {group} has an empty name")]
    EmptyGroupName {
        /// The group's id.
        group: GroupId,
    },
    /// A permission type name is not in the configured list.
    #[error("permission type {name:?} is not configured (configured: {configured})")]
    UnknownPermissionType {
        /// The unknown name.
        name: String,
        /// The configured names, comma-separated.
        configured: String,
    },
    /// A permission set has bits beyond the configured types.
    #[error("permission set {bits:#b} has bits beyond the {count} configured permission types")]
    PermissionSetOutOfRange {
        /// The set's bits.
        bits: u64,
        /// How many types are configured.
        count: usize,
    },
    /// A customer user login is empty.
    #[error("a customer user login must not be empty")]
    EmptyLogin,
    /// A company grant or company fact has an empty customer id.
    #[error("a customer id must not be empty")]
    EmptyCustomerId,
    /// A customer user's list of customer ids holds an empty id.
    #[error("customer user {login:?} has an empty customer id in its list")]
    EmptyCustomerIdOfUser {
        /// The user's login.
        login: String,
    },
    /// More groups than the matrix can index.
    #[error("too many groups: at most {max} are supported")]
    TooManyGroups {
        /// The limit.
        max: usize,
    },
    /// More distinct permission sets than the matrix can code: sets are stored as one-byte
    /// codes into a palette of at most 256 distinct sets.
    #[error("too many distinct permission sets: at most {max} are supported")]
    TooManyPermissionSets {
        /// The limit.
        max: usize,
    },
    /// The matrix would hold more entries (grants, customer ids, login bytes) than its `u32`
    /// offsets can address.
    #[error("the permission matrix would hold more than 2^32 {what}")]
    TooLarge {
        /// What overflowed.
        what: &'static str,
    },
}
