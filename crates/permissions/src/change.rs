//! Incremental changes to a matrix, as data.

use clientele_model::permission::{GroupId, PermissionContext, PermissionType};
use serde::{Deserialize, Serialize};

use crate::{Group, UserCustomerIds};

/// One change to the facts behind a matrix.
///
/// Apply one with [`PermissionMatrix::apply`](crate::PermissionMatrix::apply), or a batch
/// atomically with [`PermissionResolver::apply`](crate::PermissionResolver::apply). Each
/// change touches only the rows it affects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// Replaces a customer user's permission set on a group (empty = revoke).
    SetUserGrant {
        /// The user.
        login: String,
        /// The group.
        group: GroupId,
        /// The new set.
        permissions: Vec<PermissionType>,
    },
    /// Removes a customer user's grant on a group.
    RevokeUserGrant {
        /// The user.
        login: String,
        /// The group.
        group: GroupId,
    },
    /// Replaces a company's permission set on a group in a context (empty = revoke).
    SetCompanyGrant {
        /// The company.
        customer_id: String,
        /// The group.
        group: GroupId,
        /// The context.
        context: PermissionContext,
        /// The new set.
        permissions: Vec<PermissionType>,
    },
    /// Removes a company's grant on a group in a context.
    RevokeCompanyGrant {
        /// The company.
        customer_id: String,
        /// The group.
        group: GroupId,
        /// The context.
        context: PermissionContext,
    },
    /// Replaces a customer user's customer ids (primary, secondary and related).
    SetCustomerIds {
        /// The user.
        login: String,
        /// The new ids.
        customer_ids: UserCustomerIds,
    },
    /// Marks a customer user valid or invalid.
    SetUserValid {
        /// The user.
        login: String,
        /// The new validity.
        valid: bool,
    },
    /// Declares a company and its validity.
    SetCompanyValid {
        /// The company.
        customer_id: String,
        /// The new validity.
        valid: bool,
    },
    /// Adds a group.
    AddGroup(Group),
    /// Marks a group valid or invalid.
    SetGroupValid {
        /// The group.
        group: GroupId,
        /// The new validity.
        valid: bool,
    },
    /// Switches customer-group support on or off (OTOBO `CustomerGroupSupport`).
    SetCustomerGroupSupport {
        /// On or off.
        enabled: bool,
    },
    /// Enables or disables the "other customers" context.
    SetOtherCustomersContext {
        /// On or off.
        enabled: bool,
    },
    /// Replaces the user and company always-groups (by group name).
    SetAlwaysGroups {
        /// OTOBO `CustomerGroupAlwaysGroups`.
        always_groups: Vec<String>,
        /// OTOBO `CustomerGroupCompanyAlwaysGroups`.
        company_always_groups: Vec<String>,
    },
}
