//! [`DirectoryConfig`]: the Directory-wide settings.

use clientele_model::{EmailCheckConfig, PasswordPolicy};
use clientele_password::{CryptType, PasswordConfig};
use serde::{Deserialize, Serialize};

/// Directory-wide settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DirectoryConfig {
    /// The email syntax check (OTOBO `CheckEmail*`).
    pub email_check: EmailCheckConfig,
    /// Password hashing, verification and generation.
    pub passwords: PasswordConfig,
    /// `[password_policy]`: what a new password must contain, and the failed logins after
    /// which a user is set `invalid-temporarily` (OTOBO's customer `Password` preferences).
    /// Off by default, as in OTOBO.
    pub password_policy: PasswordPolicy,
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
    /// `[otobo]`: the OTOBO whose database Clientele reads, and whether it still runs beside
    /// Clientele on that database.
    pub otobo: OtoboConfig,
}

impl DirectoryConfig {
    /// The password settings in force: [`passwords`](Self::passwords) adjusted for
    /// [`otobo`](Self::otobo). In coexistence, [`PasswordConfig::beside_otobo`] (never a hash
    /// OTOBO cannot verify; with CryptType `plain`, nothing written at all); otherwise
    /// [`PasswordConfig::migrated_from`] (with `plain`, stored values are compared as raw
    /// text first).
    ///
    /// ```
    /// use clientele_directory::{DirectoryConfig, OtoboConfig};
    /// use clientele_password::{CryptType, HashAlgorithm};
    ///
    /// let mut config = DirectoryConfig::default();
    /// assert_eq!(config.effective_passwords().algorithm, HashAlgorithm::Argon2id);
    /// config.otobo = OtoboConfig { coexist: true, ..OtoboConfig::default() };
    /// assert_eq!(config.effective_passwords().algorithm, HashAlgorithm::OtoboBcrypt);
    /// config.otobo.crypt_type = CryptType::Sha512;
    /// assert_eq!(config.effective_passwords().algorithm, HashAlgorithm::Sha512);
    /// ```
    pub fn effective_passwords(&self) -> PasswordConfig {
        if self.otobo.coexist {
            self.passwords.clone().beside_otobo(self.otobo.crypt_type)
        } else {
            self.passwords.clone().migrated_from(self.otobo.crypt_type)
        }
    }
}

/// `[otobo]`: living with the OTOBO (or Znuny) whose database Clientele uses.
///
/// With `coexist = true` OTOBO keeps running on the same database while a shop migrates, and
/// Clientele behaves as a neighbour: it writes only password hashes OTOBO verifies, caches a
/// `db` source's entries for at most [`cache_ttl`](Self::cache_ttl) seconds (OTOBO never
/// announces its writes), and `clientele init` adds no constraint to OTOBO's tables.
/// docs/migrating-from-otobo.md ("Running beside OTOBO") has the whole list.
///
/// ```
/// use clientele_directory::OtoboConfig;
/// use clientele_password::CryptType;
///
/// let otobo = OtoboConfig::default();
/// assert!(!otobo.coexist);
/// assert_eq!(otobo.crypt_type, CryptType::Bcrypt);
/// assert_eq!(otobo.cache_ttl, 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtoboConfig {
    /// OTOBO runs beside Clientele on the same database. Default: `false`.
    pub coexist: bool,
    /// OTOBO's `Customer::AuthModule::DB::CryptType`. In coexistence it decides the format
    /// Clientele writes (see [`CryptType::written_as`]); `plain` also makes stored values
    /// compare as raw text first, in coexistence or not. Default: `bcrypt`, OTOBO's
    /// recommended setting, so Clientele writes `BCRYPT:` hashes beside OTOBO. Set it to what
    /// OTOBO's SysConfig says when that is `plain`, `sha2` or `sha512`.
    pub crypt_type: CryptType,
    /// In coexistence, the longest a `db` source's users and companies stay cached, in
    /// seconds, whatever their own `cache_ttl` says. Default: `0` (no cache), since OTOBO's
    /// writes reach Clientele only through the database.
    pub cache_ttl: u64,
}

impl Default for OtoboConfig {
    fn default() -> Self {
        OtoboConfig {
            coexist: false,
            crypt_type: CryptType::Bcrypt,
            cache_ttl: 0,
        }
    }
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        DirectoryConfig {
            email_check: EmailCheckConfig::default(),
            passwords: PasswordConfig::default(),
            password_policy: PasswordPolicy::default(),
            add_target: None,
            overall_search_limit: None,
            require_company: true,
            permissions: clientele_permissions::PermissionConfig::default(),
            otobo: OtoboConfig::default(),
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
