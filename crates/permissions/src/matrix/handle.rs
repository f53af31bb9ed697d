//! A customer user's permissions, looked up once for many checks.

use std::fmt;

use clientele_model::permission::GroupId;

use super::PermissionMatrix;
use crate::store::UserView;
use crate::{PermissionSet, TypeIndex};

/// One customer user's permissions in one snapshot: the login is hashed and found once, and
/// every check after that is a binary search in the user's row. For hosts that check many
/// groups for the same user within one request (a queue list, a menu).
///
/// Answers exactly as [`PermissionMatrix::effective`] and [`PermissionMatrix::has`] do for the
/// same login.
///
/// ```
/// use clientele_model::permission::{GroupId, PermissionType};
/// use clientele_permissions::{PermissionConfig, PermissionFacts, PermissionMatrix};
///
/// let mut facts = PermissionFacts::new(PermissionConfig {
///     customer_group_support: true,
///     ..PermissionConfig::default()
/// });
/// facts
///     .group(1, "users", true) // the default always-group
///     .group(10, "hardware", true)
///     .group(11, "billing", true)
///     .grant_user("anna", 10, [PermissionType::ro()]);
/// let m = PermissionMatrix::build(&facts)?;
/// let ro = m.type_index("ro").unwrap();
///
/// let anna = m.user("anna");
/// assert!(anna.has(GroupId(10), ro));
/// assert!(!anna.has(GroupId(11), ro));
/// assert!(anna.has(GroupId(1), ro));
/// let visible: Vec<GroupId> = [10, 11, 12].map(GroupId).into_iter().filter(|&g| anna.has(g, ro)).collect();
/// assert_eq!(visible, [GroupId(10)]);
/// # Ok::<(), clientele_permissions::PermissionError>(())
/// ```
#[derive(Clone, Copy)]
pub struct UserPermissions<'a> {
    matrix: &'a PermissionMatrix,
    empty_login: bool,
    row: Option<UserView<'a>>,
}

impl fmt::Debug for UserPermissions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserPermissions")
            .field("login", &self.row.map(|r| r.login))
            .finish_non_exhaustive()
    }
}

impl<'a> UserPermissions<'a> {
    /// `true` when the matrix has a row for the login (a grant, a customer id or a validity).
    pub fn is_known(&self) -> bool {
        self.row.is_some_and(|r| !r.is_default())
    }

    /// The user's effective permission set on a group; see [`PermissionMatrix::effective`].
    #[inline]
    pub fn effective(&self, group: GroupId) -> PermissionSet {
        let m = self.matrix;
        if self.empty_login {
            return PermissionSet::EMPTY;
        }
        let Some(g) = m.group_index(group) else {
            return PermissionSet::EMPTY;
        };
        let Some(state) = m.state.get(g as usize).filter(|s| s.valid) else {
            return PermissionSet::EMPTY;
        };
        if !m.settings.support || state.always_user {
            return m.settings.all;
        }
        match &self.row {
            Some(row) => m.effective_of(row, g, state),
            None => PermissionSet::EMPTY,
        }
    }

    /// `true` when the user effectively has the type on the group; see
    /// [`PermissionMatrix::has`].
    #[inline]
    pub fn has(&self, group: GroupId, ty: TypeIndex) -> bool {
        self.effective(group).contains(ty)
    }
}

impl PermissionMatrix {
    /// The permissions of one customer user, for many checks without finding the login again.
    /// See [`UserPermissions`].
    pub fn user(&self, login: &str) -> UserPermissions<'_> {
        UserPermissions {
            matrix: self,
            empty_login: login.is_empty(),
            row: if login.is_empty() {
                None
            } else {
                self.row_of(login)
            },
        }
    }
}
