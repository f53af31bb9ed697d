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
