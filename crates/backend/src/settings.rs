//! Per-source settings: the OTOBO `CustomerUser`/`CustomerCompany` keys every backend shares.

use clientele_model::search::{DEFAULT_SEARCH_LIMIT, FieldSet, SearchSyntax};
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
    pub fn keys_for(&self, storage_fields: &[impl AsRef<str>]) -> Vec<String> {
        storage_fields
            .iter()
            .filter_map(|f| self.map.by_storage(f.as_ref()).map(|r| r.key.clone()))
            .collect()
    }

    /// The storage fields (columns, LDAP attributes) a query's field set searches — the one rule
    /// every backend follows: `search_fields` (without `customer_id_field` when the set excludes
    /// the customer id; storage names compare ignoring ASCII case), `postmaster_fields`, or the
    /// login or customer-id field the backend names. A set whose list is empty searches the
    /// login field, as OTOBO's LDAP backend does (its DB backend refuses such a search).
    ///
    /// ```
    /// use clientele_backend::SourceSettings;
    /// use clientele_model::search::FieldSet;
    ///
    /// let s = SourceSettings::default();
    /// let all = FieldSet::SearchFields { exclude_customer_id: false };
    /// assert_eq!(s.storage_fields(all, "login", "customer_id"), ["login", "first_name", "last_name", "customer_id"]);
    /// let own = FieldSet::SearchFields { exclude_customer_id: true };
    /// assert!(!s.storage_fields(own, "login", "customer_id").contains(&"customer_id"));
    /// let none = SourceSettings { postmaster_fields: vec![], ..SourceSettings::default() };
    /// assert_eq!(none.storage_fields(FieldSet::PostmasterFields, "login", "customer_id"), ["login"]);
    /// ```
    pub fn storage_fields<'a>(
        &'a self,
        set: FieldSet,
        login_field: &'a str,
        customer_id_field: &'a str,
    ) -> Vec<&'a str> {
        let list: Vec<&str> = match set {
            FieldSet::SearchFields {
                exclude_customer_id,
            } => self
                .search_fields
                .iter()
                .map(String::as_str)
                .filter(|f| !(exclude_customer_id && f.eq_ignore_ascii_case(customer_id_field)))
                .collect(),
            FieldSet::PostmasterFields => {
                self.postmaster_fields.iter().map(String::as_str).collect()
            }
            FieldSet::Login => vec![login_field],
            FieldSet::CustomerId => vec![customer_id_field],
        };
        if list.is_empty() {
            vec![login_field]
        } else {
            list
        }
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
