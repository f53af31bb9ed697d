//! Per-source settings: the OTOBO `CustomerUser`/`CustomerCompany` keys every backend shares.

use clientele_model::search::{DEFAULT_SEARCH_LIMIT, SearchSyntax};
use clientele_model::{AttributeMap, CustomerUser};
use serde::{Deserialize, Serialize};

/// The default [`SourceSettings::cache_capacity`]: users kept cached per source.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

/// OTOBO's default `CacheTTL` for a DB backend: one day, in seconds.
pub const OTOBO_CACHE_TTL: u64 = 60 * 60 * 24;

/// The settings of one customer-user source (OTOBO `$Self->{CustomerUser}` minus `Params`).
/// Field lists name *storage* fields (columns or LDAP attributes), as in OTOBO.
///
/// Defaults are OTOBO's defaults for the DB backend, reference §1.1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourceSettings {
    /// A name for logs and errors (OTOBO `Name`).
    pub name: String,
    /// The attribute map (OTOBO `Map`).
    pub map: AttributeMap,
    /// `CustomerUserSearchFields`.
    pub search_fields: Vec<String>,
    /// `CustomerUserListFields`; the last one should be the email (for `"Name" <mail>`).
    pub list_fields: Vec<String>,
    /// `CustomerUserNameFields`.
    pub name_fields: Vec<String>,
    /// `CustomerUserNameFieldsJoin` (default one space).
    pub name_fields_join: String,
    /// `CustomerUserPostMasterSearchFields`.
    pub postmaster_fields: Vec<String>,
    /// `CustomerUserSearchPrefix`, `CustomerUserSearchSuffix` and the space-means-AND switch.
    pub syntax: SearchSyntax,
    /// `CustomerUserSearchListLimit` (default 250).
    pub search_limit: usize,
    /// `SearchCaseSensitive` (default off).
    pub case_sensitive: bool,
    /// `ReadOnly`: refuse writes of customer data (preferences stay writable).
    pub read_only: bool,
    /// `CacheTTL` in seconds; 0 turns caching off (default one day).
    pub cache_ttl: u64,
    /// How many users the Directory keeps cached for this source (default 10 000; OTOBO's
    /// cache has no bound). Look-ups that found nobody are kept apart, in a quarter of this,
    /// so unknown logins cannot push known users out; cached search results together hold at
    /// most this many rows.
    pub cache_capacity: usize,
    /// `CustomerUserEmailUniqCheck` (default on): an email is unique within this source.
    pub email_unique_check: bool,
    /// `CustomerUserExcludePrimaryCustomerID`.
    pub exclude_primary_customer_id: bool,
    /// `CustomerCompanySupport`: merge the company into the user's data.
    pub company_support: bool,
}

impl Default for SourceSettings {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        SourceSettings {
            name: "Database Backend".into(),
            map: AttributeMap::otobo_customer_user(),
            search_fields: s(&["login", "first_name", "last_name", "customer_id"]),
            list_fields: s(&["first_name", "last_name", "email"]),
            name_fields: s(&["title", "first_name", "last_name"]),
            name_fields_join: " ".into(),
            postmaster_fields: s(&["email"]),
            syntax: SearchSyntax::default(),
            search_limit: DEFAULT_SEARCH_LIMIT,
            case_sensitive: false,
            read_only: false,
            cache_ttl: OTOBO_CACHE_TTL,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            email_unique_check: true,
            exclude_primary_customer_id: false,
            company_support: true,
        }
    }
}

impl SourceSettings {
    /// OTOBO's commented LDAP example (reference §1.3): read-only, prefix `''`, suffix `*`,
    /// cache off, the LDAP example map.
    pub fn otobo_ldap_example() -> Self {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        SourceSettings {
            name: "LDAP Backend".into(),
            map: AttributeMap::otobo_ldap_example(),
            search_fields: s(&["uid", "cn", "mail"]),
            list_fields: s(&["cn", "mail"]),
            name_fields: s(&["givenname", "sn"]),
            name_fields_join: " ".into(),
            postmaster_fields: s(&["mail"]),
            syntax: SearchSyntax {
                prefix: String::new(),
                suffix: "*".into(),
                space_means_and: false,
            },
            search_limit: DEFAULT_SEARCH_LIMIT,
            case_sensitive: false,
            read_only: true,
            cache_ttl: 0,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            email_unique_check: true,
            exclude_primary_customer_id: false,
            company_support: true,
        }
    }

    /// Attribute keys for a list of storage fields (fields not in the map are skipped).
    pub fn keys_for(&self, storage_fields: &[String]) -> Vec<String> {
        storage_fields
            .iter()
            .filter_map(|f| self.map.by_storage(f).map(|r| r.key.clone()))
            .collect()
    }

    /// The user's values of the list fields (`CustomerUserListFields`) as text, in that order;
    /// fields the user has no value for are left out. These are what OTOBO's display string
    /// is made of.
    pub fn list_values(&self, user: &CustomerUser) -> Vec<String> {
        self.keys_for(&self.list_fields)
            .iter()
            .filter_map(|k| user.attribute(k))
            .map(|v| v.to_text())
            .collect()
    }
}

/// The settings of the company source (OTOBO `$Self->{CustomerCompany}`), reference §1.4.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompanySettings {
    /// A name for logs and errors.
    pub name: String,
    /// The company attribute map.
    pub map: AttributeMap,
    /// `CustomerCompanySearchFields`.
    pub search_fields: Vec<String>,
    /// `CustomerCompanyListFields`.
    pub list_fields: Vec<String>,
    /// `CustomerCompanySearchPrefix` / `Suffix`.
    pub syntax: SearchSyntax,
    /// `CustomerCompanySearchListLimit`.
    pub search_limit: usize,
    /// `SearchCaseSensitive`.
    pub case_sensitive: bool,
    /// Refuse writes.
    pub read_only: bool,
    /// `CacheTTL` in seconds; 0 turns caching off (default one day).
    pub cache_ttl: u64,
    /// How many companies the Directory keeps cached (default 10 000), "no such company"
    /// answers included.
    pub cache_capacity: usize,
}

impl Default for CompanySettings {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        CompanySettings {
            name: "Database Backend".into(),
            map: AttributeMap::otobo_customer_company(),
            search_fields: s(&["customer_id", "name"]),
            list_fields: s(&["customer_id", "name"]),
            syntax: SearchSyntax::default(),
            search_limit: DEFAULT_SEARCH_LIMIT,
            case_sensitive: false,
            read_only: false,
            cache_ttl: OTOBO_CACHE_TTL,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
        }
    }
}
