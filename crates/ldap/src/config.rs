//! [`LdapConfig`]: the serde configuration of one LDAP source, with OTOBO's keys in snake_case.

use std::path::PathBuf;

use clientele_backend::SourceSettings;
use clientele_backend::error::{Error, Result};
use clientele_model::Password;
use serde::{Deserialize, Deserializer, Serialize};

/// How deep searches go below [`base_dn`](LdapConfig::base_dn) (OTOBO `SSCOPE`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchScope {
    /// The base entry only.
    Base,
    /// The base entry's immediate children.
    One,
    /// The whole subtree (OTOBO's example, the default).
    #[default]
    Sub,
}

impl SearchScope {
    pub(crate) fn to_ldap(self) -> ldap3::Scope {
        match self {
            SearchScope::Base => ldap3::Scope::Base,
            SearchScope::One => ldap3::Scope::OneLevel,
            SearchScope::Sub => ldap3::Scope::Subtree,
        }
    }
}

/// What a group's membership attribute holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipStyle {
    /// Logins (the customer key's value), as `posixGroup`'s `memberUid` does. OTOBO `UserAttr`
    /// other than `DN` (accepted as `UID`).
    #[default]
    #[serde(alias = "UID", alias = "uid")]
    MemberUid,
    /// The user entry's DN, as `groupOfNames`' `member` and `groupOfUniqueNames`'
    /// `uniqueMember` do. OTOBO `UserAttr => 'DN'` (accepted as `DN`).
    #[serde(alias = "DN", alias = "dn")]
    MemberDn,
}

/// When searches use the paged-results control (RFC 2696).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Paging {
    /// Page when a search may return more entries than the server's
    /// [`size_limit`](LdapConfig::size_limit): searches with a larger limit, and the searches
    /// that must see every match (detail searches, counts, customer-id lists, group members).
    #[default]
    Auto,
    /// Page every search.
    Always,
    /// Never page (for servers without the control); results stop at the server's size limit.
    Never,
}

/// The configuration of one LDAP customer-user source.
///
/// Field names are OTOBO's `$Self->{CustomerUser}` keys for the LDAP module in snake_case; each
/// field's documentation names the OTOBO key it replaces. Defaults are OTOBO's commented LDAP
/// example (reference §1.3) where OTOBO has one. Deserialising refuses unknown keys.
///
/// ```
/// use clientele_ldap::LdapConfig;
/// let config: LdapConfig = serde_json::from_value(serde_json::json!({
///     "url": "ldaps://ldap.example.org",
///     "base_dn": "ou=people,dc=example,dc=org",
///     "customer_id": "o",
///     "valid_filter": "(!(description=gesperrt))",
///     "settings": { "name": "Corporate LDAP" }
/// }))
/// .unwrap();
/// assert_eq!(config.customer_key, "uid");
/// // A partial `settings` table keeps the LDAP defaults for everything it does not name.
/// assert_eq!(config.settings.search_fields, ["uid", "cn", "mail"]);
/// assert_eq!(config.settings.name, "Corporate LDAP");
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LdapConfig {
    /// The server, `ldap://host[:port]` or `ldaps://host[:port]` (OTOBO `Params->{Host}`, whose
    /// port and scheme went into `Params->{Params}`).
    pub url: Option<String>,
    /// Further servers, tried in order after [`url`](Self::url) when a connection fails
    /// (Net::LDAP accepts a list of hosts the same way).
    pub urls: Vec<String>,
    /// Upgrade `ldap://` connections with StartTLS (OTOBO `AuthModule::LDAP::StartTLS`).
    /// `ldaps://` URLs are TLS from the first byte and ignore this switch.
    pub starttls: bool,
    /// PEM file with the CA certificate(s) to trust for `ldaps://` and StartTLS. `None` trusts
    /// the system's certificate store. (Net::LDAP `cafile`.)
    pub ca_file: Option<PathBuf>,
    /// **Dangerous**: accept any server certificate, so anyone on the network path can read
    /// every password sent in a bind and every customer record. For throwaway test servers
    /// only; default `false`. (Net::LDAP `verify => 'none'`.)
    pub tls_no_verify: bool,
    /// Where customer users live (OTOBO `BaseDN`).
    pub base_dn: String,
    /// Search scope below the base DN (OTOBO `SSCOPE`; default `sub`).
    pub scope: SearchScope,
    /// The service account searches bind as (OTOBO `UserDN`); `None` searches anonymously.
    pub bind_dn: Option<String>,
    /// The service account's password (OTOBO `UserPw`). Never printed by `Debug`.
    pub bind_password: Option<Password>,
    /// Read the service password from this environment variable instead (at
    /// [`LdapBackend::new`](crate::LdapBackend::new)), so it need not sit in a config file.
    pub bind_password_env: Option<String>,
    /// AND-ed into every filter, e.g. `(objectClass=inetOrgPerson)` (OTOBO `AlwaysFilter`).
    /// Outer parentheses may be left out.
    pub always_filter: Option<String>,
    /// What a *valid* user matches, e.g. `(!(description=gesperrt))` (OTOBO
    /// `CustomerUserValidFilter`). Users outside it are `invalid`: hidden from searches that ask
    /// for valid users only (OTOBO applied it always, SPEC §6.6) and refused at login.
    pub valid_filter: Option<String>,
    /// Charset of the directory's values (OTOBO `SourceCharset`; default `utf-8`). Values are
    /// decoded from it and search values encoded into it; `iso-8859-1` is decoded exactly,
    /// other labels (`windows-1252`, `iso-8859-15`, …) through `encoding_rs`.
    pub source_charset: String,
    /// The attribute holding the login (OTOBO `CustomerKey`; default `uid`). It is also the
    /// storage of the map's `UserLogin` row.
    pub customer_key: String,
    /// The attribute holding the primary customer id (OTOBO `CustomerID`; default `mail`, as in
    /// OTOBO's example). It is also the storage of the map's `UserCustomerID` row.
    pub customer_id: String,
    /// The attribute holding secondary customer ids, every value one id (the map's
    /// `UserCustomerIDs` row in OTOBO). `None`: no secondary ids.
    pub customer_ids_attribute: Option<String>,
    /// List, search, name and postmaster fields, limits, prefix and suffix, case rule and the
    /// attribute map (the OTOBO keys around `Params`). Defaults:
    /// [`LdapConfig::default_settings`]. A partial table keeps the defaults for keys it omits.
    #[serde(deserialize_with = "settings_over_ldap_defaults")]
    pub settings: SourceSettings,
    /// Only members of this group (or of any group below this DN) are customer users of this
    /// source (OTOBO `Params->{GroupDN}`).
    pub group_dn: Option<String>,
    /// The group's membership attribute (default `memberUid`, OTOBO's only choice).
    pub group_member_attribute: String,
    /// Whether [`group_member_attribute`](Self::group_member_attribute) holds logins or DNs
    /// (default `member_uid`).
    pub group_member_style: MembershipStyle,
    /// How long the members of [`group_dn`](Self::group_dn) are kept between reads, in
    /// seconds (default 60; 0 reads them on every look-up and search). This is the delay
    /// before a removal from the group takes effect for look-ups and searches; a password
    /// check (bind) always reads the membership fresh, so a removed user cannot log in.
    pub group_cache_ttl: u64,
    /// Login gate: only members of this group (or of a group below it) may log in (OTOBO
    /// `Customer::AuthModule::LDAP::GroupDN`). Needs [`access_attr`](Self::access_attr).
    pub auth_group_dn: Option<String>,
    /// The login gate's membership attribute, e.g. `member`, `uniqueMember` or `memberUid`
    /// (OTOBO `Customer::AuthModule::LDAP::AccessAttr`).
    pub access_attr: Option<String>,
    /// What [`access_attr`](Self::access_attr) holds (OTOBO `UserAttr`, default `DN`).
    pub user_attr: MembershipStyle,
    /// Connection timeout per server in milliseconds (default 5 000; OTOBO's Net::LDAP
    /// `timeout` of 120 s covered connecting and every reply).
    pub connect_timeout_ms: u64,
    /// How long to wait for each reply of an operation, in milliseconds (default 30 000).
    pub operation_timeout_ms: u64,
    /// The server's size limit, in entries (default 500, OpenLDAP's; Active Directory's is
    /// 1 000). Searches that may return more use paged results.
    pub size_limit: usize,
    /// Entries per page of a paged search (default 250).
    pub page_size: u32,
    /// When to use paged results (default `auto`).
    pub paging: Paging,
}

impl Default for LdapConfig {
    fn default() -> Self {
        LdapConfig {
            url: None,
            urls: Vec::new(),
            starttls: false,
            ca_file: None,
            tls_no_verify: false,
            base_dn: String::new(),
            scope: SearchScope::Sub,
            bind_dn: None,
            bind_password: None,
            bind_password_env: None,
            always_filter: None,
            valid_filter: None,
            source_charset: "utf-8".into(),
            customer_key: "uid".into(),
            customer_id: "mail".into(),
            customer_ids_attribute: None,
            settings: LdapConfig::default_settings(),
            group_dn: None,
            group_member_attribute: "memberUid".into(),
            group_member_style: MembershipStyle::MemberUid,
            group_cache_ttl: 60,
            auth_group_dn: None,
            access_attr: None,
            user_attr: MembershipStyle::MemberDn,
            connect_timeout_ms: 5_000,
            operation_timeout_ms: 30_000,
            size_limit: 500,
            page_size: 250,
            paging: Paging::Auto,
        }
    }
}

impl LdapConfig {
    /// A configuration for one server and base DN, everything else default.
    pub fn new(url: impl Into<String>, base_dn: impl Into<String>) -> Self {
        LdapConfig {
            url: Some(url.into()),
            base_dn: base_dn.into(),
            ..LdapConfig::default()
        }
    }

    /// The default source settings: OTOBO's commented LDAP example
    /// ([`SourceSettings::otobo_ldap_example`]) — name `LDAP Backend`, search fields
    /// `uid cn mail`, list fields `cn mail`, name fields `givenname sn`, postmaster field `mail`,
    /// prefix `''` and suffix `*` (a prefix search), limit 250, cache off, read-only. The map's
    /// `UserLogin`, `UserCustomerID` and `UserCustomerIDs` rows follow
    /// [`customer_key`](Self::customer_key), [`customer_id`](Self::customer_id) and
    /// [`customer_ids_attribute`](Self::customer_ids_attribute) when the backend is built.
    pub fn default_settings() -> SourceSettings {
        SourceSettings::otobo_ldap_example()
    }

    /// The servers in the order they are tried.
    pub fn server_urls(&self) -> Vec<&str> {
        self.url
            .iter()
            .chain(self.urls.iter())
            .map(String::as_str)
            .collect()
    }

    /// The service password: [`bind_password`](Self::bind_password) or the environment
    /// variable [`bind_password_env`](Self::bind_password_env) names.
    pub(crate) fn resolved_bind_password(&self) -> Result<Option<Password>> {
        match (&self.bind_password, &self.bind_password_env) {
            (Some(_), Some(_)) => Err(config_err(
                "set bind_password or bind_password_env, not both",
            )),
            (Some(p), None) => Ok(Some(p.clone())),
            (None, Some(var)) => match std::env::var(var) {
                Ok(v) => Ok(Some(Password::new(v))),
                Err(_) => Err(config_err(format!(
                    "bind_password_env: the environment variable {var:?} is not set (or not UTF-8)"
                ))),
            },
            (None, None) => Ok(None),
        }
    }
}

pub(crate) fn config_err(message: impl Into<String>) -> Error {
    Error::Config(format!("LDAP: {}", message.into()))
}

/// Deserialises `settings` as an overlay on the LDAP defaults, so `{ name = "X" }` does not
/// silently bring back the DB backend's search fields (which `SourceSettings`' own defaults are).
fn settings_over_ldap_defaults<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<SourceSettings, D::Error> {
    use serde::de::Error as _;
    let given = serde_json::Value::deserialize(d)?;
    let mut base =
        serde_json::to_value(LdapConfig::default_settings()).map_err(D::Error::custom)?;
    overlay(&mut base, given);
    serde_json::from_value(base).map_err(D::Error::custom)
}

/// Objects merge key by key (recursively); anything else replaces.
fn overlay(base: &mut serde_json::Value, given: serde_json::Value) {
    match (base, given) {
        (serde_json::Value::Object(b), serde_json::Value::Object(g)) => {
            for (k, v) in g {
                match b.get_mut(&k) {
                    Some(slot) => overlay(slot, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Checks an attribute description (RFC 4512 §2.5: a name or numeric OID, with options), so
/// configured attribute names can never inject filter syntax.
pub(crate) fn check_attribute(setting: &str, name: &str) -> Result<()> {
    let mut parts = name.split(';');
    let base = parts.next().unwrap_or_default();
    let keystring = |s: &str| {
        let mut c = s.chars();
        c.next().is_some_and(|f| f.is_ascii_alphabetic())
            && c.all(|x| x.is_ascii_alphanumeric() || x == '-')
    };
    let oid = |s: &str| {
        !s.is_empty()
            && s.split('.')
                .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    };
    if (keystring(base) || oid(base)) && parts.all(|o| !o.is_empty() && keystring(o)) {
        Ok(())
    } else {
        Err(config_err(format!(
            "{setting}: {name:?} is not an LDAP attribute name"
        )))
    }
}

/// Trims a configured filter, adds outer parentheses when missing (Net::LDAP accepts both) and
/// checks that it parses. Empty means none.
pub(crate) fn normalise_filter(setting: &str, filter: Option<&str>) -> Result<Option<String>> {
    let Some(f) = filter.map(str::trim).filter(|f| !f.is_empty()) else {
        return Ok(None);
    };
    let f = if f.starts_with('(') {
        f.to_owned()
    } else {
        format!("({f})")
    };
    match ldap3::parse_filter(&f) {
        Ok(_) => Ok(Some(f)),
        Err(()) => Err(config_err(format!(
            "{setting}: {f:?} is not an RFC 4515 filter"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_names() {
        for ok in [
            "uid",
            "givenName",
            "x-custom-1",
            "2.5.4.3",
            "cn;lang-de",
            "userCertificate;binary",
        ] {
            assert!(check_attribute("t", ok).is_ok(), "{ok}");
        }
        for bad in ["", "1x", "u id", "uid)(", "cn=*", "cn;", "2.5..4", "uid\0"] {
            assert!(check_attribute("t", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn filters_are_normalised_and_checked() {
        assert_eq!(
            normalise_filter("f", Some(" objectClass=person "))
                .unwrap()
                .as_deref(),
            Some("(objectClass=person)")
        );
        assert_eq!(normalise_filter("f", Some("  ")).unwrap(), None);
        assert_eq!(normalise_filter("f", None).unwrap(), None);
        let e = normalise_filter("valid_filter", Some("(!(description=gesperrt)")).unwrap_err();
        assert!(e.to_string().contains("valid_filter"), "{e}");
    }

    #[test]
    fn partial_settings_keep_ldap_defaults() {
        let c: LdapConfig = serde_json::from_value(serde_json::json!({
            "url": "ldap://x",
            "settings": { "search_limit": 10, "syntax": { "prefix": "*" } }
        }))
        .unwrap();
        assert_eq!(c.settings.search_limit, 10);
        assert_eq!(c.settings.syntax.prefix, "*");
        assert_eq!(c.settings.syntax.suffix, "*");
        assert_eq!(c.settings.postmaster_fields, ["mail"]);
        assert!(c.settings.read_only);
        assert_eq!(c.settings.cache_ttl, 0);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = serde_json::from_value::<LdapConfig>(serde_json::json!({ "hostname": "x" }))
            .unwrap_err();
        assert!(e.to_string().contains("hostname"), "{e}");
        let e = serde_json::from_value::<LdapConfig>(serde_json::json!({
            "settings": { "search_feilds": [] }
        }))
        .unwrap_err();
        assert!(e.to_string().contains("search_feilds"), "{e}");
    }

    #[test]
    fn otobo_style_names() {
        let c: LdapConfig = serde_json::from_value(serde_json::json!({
            "scope": "one",
            "user_attr": "UID",
            "group_member_style": "member_dn",
            "paging": "always"
        }))
        .unwrap();
        assert_eq!(c.scope, SearchScope::One);
        assert_eq!(c.user_attr, MembershipStyle::MemberUid);
        assert_eq!(c.group_member_style, MembershipStyle::MemberDn);
        assert_eq!(c.paging, Paging::Always);
    }

    #[test]
    fn password_sources() {
        let c = LdapConfig {
            bind_password_env: Some("CLIENTELE_LDAP_TEST_SURELY_UNSET_VARIABLE".into()),
            ..LdapConfig::default()
        };
        assert!(c.resolved_bind_password().is_err());
        let c = LdapConfig {
            bind_password: Some(Password::new("pw")),
            ..LdapConfig::default()
        };
        assert_eq!(c.resolved_bind_password().unwrap().unwrap().expose(), "pw");
        assert!(!format!("{c:?}").contains("\"pw\""));
    }
}
