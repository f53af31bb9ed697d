//! Where an effective permission comes from.

use clientele_model::permission::PermissionContext;

use crate::PermissionSet;

/// One reason a customer user has permissions on a group; see
/// [`PermissionMatrix::origins`](crate::PermissionMatrix::origins).
///
/// The effective set of a user on a group is the union of the sets of its origins, always:
/// [`Origin::permissions`] of every origin united gives
/// [`PermissionMatrix::effective`](crate::PermissionMatrix::effective).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Origin<'a> {
    /// Customer-group support is off (OTOBO `CustomerGroupSupport = 0`): every customer user
    /// has every type on every valid group.
    SupportOff,
    /// The user's own grant (OTOBO `group_customer_user`), `rw` expanded.
    Direct(PermissionSet),
    /// A grant of one of the user's customer ids (OTOBO `group_customer`), `rw` expanded. Only
    /// the "same customer" context gives effective permissions.
    Company {
        /// The customer id the grant is given to.
        customer_id: &'a str,
        /// The context of the grant (always [`PermissionContext::SameCustomer`] today).
        context: PermissionContext,
        /// The granted set.
        permissions: PermissionSet,
    },
    /// The group is one of the user always-groups (OTOBO `CustomerGroupAlwaysGroups`): every
    /// type, for every customer user.
    AlwaysGroup,
    /// The group is one of the company always-groups (OTOBO
    /// `CustomerGroupCompanyAlwaysGroups`) and the user has a customer id: every type.
    CompanyAlwaysGroup,
}

impl Origin<'_> {
    /// The set this origin gives, out of `all` (every configured type).
    pub fn permissions(&self, all: PermissionSet) -> PermissionSet {
        match self {
            Origin::Direct(set) => *set,
            Origin::Company { permissions, .. } => *permissions,
            Origin::SupportOff | Origin::AlwaysGroup | Origin::CompanyAlwaysGroup => all,
        }
    }

    /// `true` for the origins that hold for a whole class of users rather than for grants of
    /// this one: support off and the two kinds of always-group.
    pub fn is_implicit(&self) -> bool {
        matches!(
            self,
            Origin::SupportOff | Origin::AlwaysGroup | Origin::CompanyAlwaysGroup
        )
    }
}
