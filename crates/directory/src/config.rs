//! [`DirectoryConfig`]: the Directory-wide settings.

use clientele_model::EmailCheckConfig;
use clientele_password::PasswordConfig;
use serde::{Deserialize, Serialize};

/// Directory-wide settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectoryConfig {
    /// The email syntax check (OTOBO `CheckEmail*`).
    pub email_check: EmailCheckConfig,
    /// Password hashing, verification and generation.
    pub passwords: PasswordConfig,
    /// The source new users go to, by name; `None` = the first writable source.
    pub add_target: Option<String>,
    /// Cap on a merged search result across all sources for searches that name no limit of
    /// their own; `None` = the first source's limit. An explicit limit on a search is always
    /// honoured. OTOBO has no overall cap (Limit × number of backends).
    pub overall_search_limit: Option<usize>,
    /// Refuse a user whose primary company does not exist (SPEC §2; on when company support is).
    pub require_company: bool,
    /// Customer groups: support switch, permission types, always-groups, contexts, ticket
    /// access rules (OTOBO `CustomerGroup*`, `System::Customer::Permission`).
    pub permissions: clientele_permissions::PermissionConfig,
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        DirectoryConfig {
            email_check: EmailCheckConfig::default(),
            passwords: PasswordConfig::default(),
            add_target: None,
            overall_search_limit: None,
            require_company: true,
            permissions: clientele_permissions::PermissionConfig::default(),
        }
    }
}

/// What is wrong with a list of customer-user sources ([`check_sources`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SourceListError {
    /// No source at all.
    #[error("no customer-user source: a directory needs at least one")]
    Empty,
    /// More than [`MAX_SOURCES`](crate::MAX_SOURCES) sources.
    #[error(
        "{count} customer-user sources; at most {max} are allowed (CustomerUser, CustomerUser1 … CustomerUser10)",
        max = crate::MAX_SOURCES
    )]
    TooMany {
        /// How many were given.
        count: usize,
    },
    /// Two sources share a name.
    #[error(
        "customer-user source {index} is named {name:?} like an earlier one; give each source its own settings.name"
    )]
    DuplicateName {
        /// The position of the second one.
        index: usize,
        /// The shared name.
        name: String,
    },
    /// `add_target` names no source.
    #[error("add_target = {target:?} names no source; the sources are {}", names.join(", "))]
    UnknownAddTarget {
        /// The configured target.
        target: String,
        /// The sources' names.
        names: Vec<String>,
    },
}

impl SourceListError {
    /// The position of the source the error is about, when it is about one.
    pub fn index(&self) -> Option<usize> {
        match self {
            SourceListError::TooMany { .. } => Some(crate::MAX_SOURCES),
            SourceListError::DuplicateName { index, .. } => Some(*index),
            SourceListError::Empty | SourceListError::UnknownAddTarget { .. } => None,
        }
    }
}

/// The rules every list of customer-user sources follows, by their names in OTOBO's order:
/// at least one and at most [`MAX_SOURCES`](crate::MAX_SOURCES), names unique, and an
/// `add_target` that names one of them. The Directory's builder and the configuration file's
/// check both ask this.
///
/// ```
/// use clientele_directory::{SourceListError, check_sources};
///
/// assert!(check_sources(&["DB", "LDAP"], Some("DB")).is_ok());
/// assert!(matches!(check_sources(&["DB", "DB"], None), Err(SourceListError::DuplicateName { index: 1, .. })));
/// assert!(matches!(check_sources(&["DB"], Some("LDAP")), Err(SourceListError::UnknownAddTarget { .. })));
/// ```
pub fn check_sources(names: &[&str], add_target: Option<&str>) -> Result<(), SourceListError> {
    if names.is_empty() {
        return Err(SourceListError::Empty);
    }
    if names.len() > crate::MAX_SOURCES {
        return Err(SourceListError::TooMany { count: names.len() });
    }
    for (index, name) in names.iter().enumerate() {
        if names[..index].contains(name) {
            return Err(SourceListError::DuplicateName {
                index,
                name: (*name).to_owned(),
            });
        }
    }
    match add_target {
        Some(target) if !names.contains(&target) => Err(SourceListError::UnknownAddTarget {
            target: target.to_owned(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
        }),
        _ => Ok(()),
    }
}
