//! [`LdapBackend`]: the read side of a customer-user source on an LDAP directory, and bind
//! authentication.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use clientele_backend::error::{Error, Result};
use clientele_backend::matching::{matches_detail, sort_detail};
use clientele_backend::{
    BindAuthenticator, CustomerUserSource, ListedUser, MapRowProblem, SourcePage, SourceSettings,
    fetch_limit,
};
use clientele_model::search::{DetailSearch, Expr, FieldSet, UserQuery};
use clientele_model::{
    AttributeMapping, AttributeValue, Attributes, Audit, CustomerId, CustomerUser, Email, Login,
    Password, StorageType, ValidationError, Validity, keys,
};
use ldap3::controls::{Control, ControlType, PagedResults};
use ldap3::{Ldap, Scope, SearchOptions};
use tracing::Instrument;

use crate::charset::Charset;
use crate::config::{
    LdapConfig, MembershipStyle, Paging, check_attribute, config_err, normalise_filter,
};
use crate::conn::{Connector, ServiceConnection};
use crate::entry::{Entry, normalise_dn, read_entry};
use crate::error::{Failure, LdapSourceError};
use crate::filter::{FilterCompiler, MATCH_NOTHING, and, not, or};

/// Keys per filter when validity is looked up for a list of users.
const KEYS_PER_FILTER: usize = 500;

/// Requests no attributes (RFC 4511 §4.5.1.8).
const NO_ATTRIBUTES: &str = "1.1";

/// A read-only customer-user source on an LDAP directory (OTOBO
/// `Kernel::System::CustomerUser::LDAP`) that also authenticates by bind (OTOBO
/// `Kernel::System::CustomerAuth::LDAP`).
///
/// It implements [`CustomerUserSource`] and [`BindAuthenticator`] and no write trait: a
/// the Directory (`clientele-directory`) answers writes to it with
/// [`Error::ReadOnly`]. Build it with [`LdapBackend::new`] (no I/O; the connection is opened on
/// first use) or [`LdapBackend::connect`] (checks the server at once, OTOBO `Die => 1`).
///
/// # Behaviour
///
/// * **One search per query.** Every search form compiles to one RFC 4515 filter: the query's
///   expression over the field set's attributes, AND the always-filter, AND (for valid-only
///   searches) the valid filter. Two helpers may add one search each per call, never one per
///   hit: the members of [`group_dn`](LdapConfig::group_dn) (when set, run concurrently), and —
///   for searches that include invalid users — which of the found users fail the valid filter
///   (one search over the found logins).
/// * **Validity** comes from the valid filter: an entry outside it is `invalid`. Lookups by
///   login return invalid users too (marked so), which is how the Directory refuses their login.
/// * **Case.** LDAP matching rules for `uid`, `cn` and `mail` ignore case (and insignificant
///   spaces), so the server cannot honour `case_sensitive = true`. Every result is therefore
///   also checked client-side with the model's matcher ([`Pattern::matches`]) under the source's
///   case rule, so results agree with the database backend. With `case_sensitive = true` or a
///   group filter the server's size limit is not used for the query (client-side filtering
///   needs every candidate); otherwise the limit is sent as `sizelimit` and enforced again here.
/// * **Limits and paging.** A search asks the server for at most `limit` entries. When that is
///   more than the server's [`size_limit`](LdapConfig::size_limit), or the search must see
///   every match (detail searches, counts, customer-id lists, group members), it uses paged
///   results (RFC 2696), so directories larger than the server's limit are searched completely.
///   Which `limit` users come back when more match is the server's choice (as in OTOBO); they
///   are returned sorted by login.
/// * **Connections.** One multiplexed service connection, bound as
///   [`bind_dn`](LdapConfig::bind_dn) (or anonymous), opened lazily and reopened after a
///   failure. Authentication binds on a separate, short-lived connection, never on the service
///   connection.
///
/// [`Pattern::matches`]: clientele_model::search::Pattern::matches
pub struct LdapBackend {
    name: String,
    settings: SourceSettings,
    config: LdapConfig,
    charset: Charset,
    compiler: FilterCompiler,
    always: Option<String>,
    valid: Option<String>,
    user_attrs: Vec<String>,
    /// Where each readable map row's value goes, worked out once from the map.
    plan: Plan,
    scope: Scope,
    conn: ServiceConnection,
    /// Paged searches on the service connection take turns: OpenLDAP keeps one paged-results
    /// state per connection, and a second paged search started meanwhile invalidates the first
    /// one's cookie ("paged results cookie is invalid").
    pager: tokio::sync::Mutex<()>,
    /// The members of `group_dn` and when they were read ([`LdapConfig::group_cache_ttl`]).
    /// Readers share the lock; it is written only when the members are read again.
    members: std::sync::RwLock<Option<(std::time::Instant, Arc<Members>)>>,
}

impl std::fmt::Debug for LdapBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapBackend")
            .field("name", &self.name)
            .field("urls", &self.config.server_urls())
            .field("base_dn", &self.config.base_dn)
            .finish_non_exhaustive()
    }
}

/// One search as it goes to the server.
#[derive(Clone)]
struct SearchRequest {
    base: String,
    scope: Scope,
    filter: String,
    attrs: Vec<String>,
    /// Stop after this many entries.
    limit: Option<usize>,
    /// Page size when paging.
    page: Option<i32>,
    op_timeout: Duration,
    charset: Charset,
}

/// The `CustomerUser` field a map row fills.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Field {
    Login,
    Title,
    FirstName,
    LastName,
    Email,
    CustomerId,
    /// Every value one id (or a `;`/`,`/`|` list of ids).
    CustomerIds,
    Phone,
    Fax,
    Mobile,
    Street,
    Zip,
    City,
    Country,
    Comment,
    /// Any other key: [`CustomerUser::extra`].
    Extra(String),
}

impl Field {
    fn of(key: &str) -> Field {
        match key {
            keys::LOGIN => Field::Login,
            keys::TITLE => Field::Title,
            keys::FIRST_NAME => Field::FirstName,
            keys::LAST_NAME => Field::LastName,
            keys::EMAIL => Field::Email,
            keys::CUSTOMER_ID => Field::CustomerId,
            keys::CUSTOMER_IDS => Field::CustomerIds,
            keys::PHONE => Field::Phone,
            keys::FAX => Field::Fax,
            keys::MOBILE => Field::Mobile,
            keys::STREET => Field::Street,
            keys::ZIP => Field::Zip,
            keys::CITY => Field::City,
            keys::COUNTRY => Field::Country,
            keys::COMMENT => Field::Comment,
            other => Field::Extra(other.to_owned()),
        }
    }
}

/// One readable map row: the field it fills from which attribute. `shared` when another row
/// reads the same attribute, so its values are copied rather than moved out of the entry;
/// `key` numbers the row's key among the map's keys.
#[derive(Clone, Debug)]
struct Slot {
    field: Field,
    storage: String,
    shared: bool,
    key: usize,
}

/// How entries become users: the readable map rows in map order.
#[derive(Clone, Debug)]
struct Plan {
    slots: Vec<Slot>,
    /// How many different keys the slots fill.
    keys: usize,
    /// Whether two rows share a key: the first of them with a value wins.
    repeated_keys: bool,
}

impl Plan {
    fn new(settings: &SourceSettings) -> Plan {
        let mut keys: Vec<&str> = Vec::new();
        let mut slots: Vec<Slot> = Vec::new();
        for row in settings.map.rows().iter().filter(|r| readable_row(r)) {
            let key = match keys.iter().position(|k| *k == row.key) {
                Some(k) => k,
                None => {
                    keys.push(&row.key);
                    keys.len() - 1
                }
            };
            slots.push(Slot {
                field: Field::of(&row.key),
                storage: row.storage.clone(),
                shared: false,
                key,
            });
        }
        for i in 0..slots.len() {
            slots[i].shared = slots
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && o.storage.eq_ignore_ascii_case(&slots[i].storage));
        }
        Plan {
            repeated_keys: keys.len() < slots.len(),
            keys: keys.len(),
            slots,
        }
    }
}

/// The expression with every pattern lower-cased: matching it case-sensitively against
/// lower-cased values is the model's case-insensitive match, without lower-casing the
/// patterns again for every value.
fn lowercased(expr: &Expr) -> Expr {
    match expr {
        Expr::And(c) => Expr::And(c.iter().map(lowercased).collect()),
        Expr::Or(c) => Expr::Or(c.iter().map(lowercased).collect()),
        Expr::Not(c) => Expr::Not(Box::new(lowercased(c))),
        Expr::Match(p) => Expr::Match(p.to_lowercase()),
    }
}

/// A value in lower case (Unicode, as the model's matcher does), borrowed when it already is.
fn lower(v: &str) -> Cow<'_, str> {
    if v.bytes().any(|b| !b.is_ascii() || b.is_ascii_uppercase()) {
        Cow::Owned(v.to_lowercase())
    } else {
        Cow::Borrowed(v)
    }
}

/// A search's client-side check, prepared once for all its entries.
struct Matcher<'a> {
    expr: Cow<'a, Expr>,
    attrs: &'a [String],
    case_sensitive: bool,
}

impl<'a> Matcher<'a> {
    fn new(expr: &'a Expr, attrs: &'a [String], case_sensitive: bool) -> Self {
        let expr = if case_sensitive {
            Cow::Borrowed(expr)
        } else {
            Cow::Owned(lowercased(expr))
        };
        Matcher {
            expr,
            attrs,
            case_sensitive,
        }
    }

    fn matches(&self, entry: &Entry) -> bool {
        let values = self.attrs.iter().flat_map(|a| entry.values(a));
        if self.case_sensitive {
            let values: Vec<&str> = values.map(String::as_str).collect();
            self.expr.matches_values(&values, true)
        } else {
            let values: Vec<Cow<'_, str>> = values.map(|v| lower(v)).collect();
            self.expr.matches_values(&values, true)
        }
    }
}

/// Users in login order, equal logins in their order before (the model's
/// [`sort_by_login`](clientele_model::search::sort_by_login)). The order is worked out on
/// indices and each user moved once into place: sorting the users themselves moves a few
/// hundred bytes per step. An answer already in order (a server that sorts, one user) is kept.
fn sorted_by_login(users: Vec<CustomerUser>) -> Vec<CustomerUser> {
    if users.is_sorted_by(|a, b| a.login.as_str() <= b.login.as_str()) {
        return users;
    }
    let mut by_login: Vec<(&str, usize)> = (users.iter().enumerate())
        .map(|(i, u)| (u.login.as_str(), i))
        .collect();
    clientele_model::search::sort_by_login(&mut by_login, |&(login, _)| login);
    let order: Vec<usize> = by_login.into_iter().map(|(_, i)| i).collect();
    let mut slots: Vec<Option<CustomerUser>> = users.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect()
}

/// Members of the data group, normalised for comparison.
struct Members {
    style: MembershipStyle,
    set: HashSet<String>,
}

impl LdapBackend {
    /// Checks the configuration and builds the backend without connecting.
    ///
    /// Errors are [`Error::Config`] naming the setting: no URL, an unknown charset, an attribute
    /// name or filter that is not valid LDAP, a CA file that cannot be read, a bind DN without a
    /// password, a `ValidID` map row (validity comes from `valid_filter` here), …
    pub fn new(config: LdapConfig) -> Result<Self> {
        let mut settings = config.settings.clone();
        if settings.name.trim().is_empty() {
            return Err(config_err("settings.name: a source needs a name"));
        }
        let urls: Vec<String> = config
            .server_urls()
            .into_iter()
            .map(str::to_owned)
            .collect();
        if urls.is_empty() {
            return Err(config_err("url: no LDAP server configured"));
        }
        for u in &urls {
            let lower = u.to_ascii_lowercase();
            if !["ldap://", "ldaps://", "ldapi://"]
                .iter()
                .any(|s| lower.starts_with(s))
            {
                return Err(config_err(format!(
                    "url: {u:?} is not an ldap://, ldaps:// or ldapi:// URL"
                )));
            }
        }
        let charset = Charset::from_label(&config.source_charset).ok_or_else(|| {
            config_err(format!(
                "source_charset: {:?} is not a charset this backend can decode",
                config.source_charset
            ))
        })?;

        check_attribute("customer_key", &config.customer_key)?;
        check_attribute("customer_id", &config.customer_id)?;
        if let Some(a) = &config.customer_ids_attribute {
            check_attribute("customer_ids_attribute", a)?;
        }
        check_attribute("group_member_attribute", &config.group_member_attribute)?;
        if let Some(a) = &config.access_attr {
            check_attribute("access_attr", a)?;
        }
        for (setting, list) in [
            ("settings.search_fields", &settings.search_fields),
            ("settings.list_fields", &settings.list_fields),
            ("settings.name_fields", &settings.name_fields),
            ("settings.postmaster_fields", &settings.postmaster_fields),
        ] {
            for a in list {
                check_attribute(setting, a)?;
            }
        }
        let always = normalise_filter("always_filter", config.always_filter.as_deref())?;
        let valid = normalise_filter("valid_filter", config.valid_filter.as_deref())?;
        if config.auth_group_dn.is_some() != config.access_attr.is_some() {
            return Err(config_err(
                "auth_group_dn and access_attr go together (OTOBO GroupDN and AccessAttr)",
            ));
        }
        for (setting, v) in [
            ("connect_timeout_ms", config.connect_timeout_ms),
            ("operation_timeout_ms", config.operation_timeout_ms),
            ("page_size", u64::from(config.page_size)),
        ] {
            if v == 0 {
                return Err(config_err(format!("{setting} must be greater than 0")));
            }
        }
        if config.size_limit == 0 {
            return Err(config_err("size_limit must be greater than 0"));
        }
        if config.page_size > i32::MAX as u32 {
            return Err(config_err("page_size is too large"));
        }

        adjust_map(&mut settings, &config)?;
        settings.read_only = true;

        let bind = match (&config.bind_dn, config.resolved_bind_password()?) {
            (Some(dn), Some(pw)) if !pw.is_empty() => Some((dn.clone(), pw)),
            (Some(_), _) => {
                return Err(config_err(
                    "bind_dn needs a non-empty bind_password (or bind_password_env); a bind with \
                     an empty password is an unauthenticated bind",
                ));
            }
            (None, Some(_)) => return Err(config_err("bind_password without bind_dn")),
            (None, None) => None,
        };
        let tls = match (&config.ca_file, config.tls_no_verify) {
            (Some(_), true) => {
                return Err(config_err("set ca_file or tls_no_verify, not both"));
            }
            (Some(path), false) => Some(tls_config(path)?),
            (None, _) => None,
        };
        if config.tls_no_verify {
            tracing::warn!(
                backend = %settings.name,
                "tls_no_verify is on: server certificates are NOT checked; passwords and customer \
                 data can be read by anyone on the network path"
            );
        }

        let mut user_attrs: Vec<String> = Vec::new();
        let mut add = |a: &str| {
            if !user_attrs.iter().any(|x| x.eq_ignore_ascii_case(a)) {
                user_attrs.push(a.to_owned());
            }
        };
        for row in settings.map.rows() {
            if readable_row(row) {
                add(&row.storage);
            }
        }
        for a in settings
            .search_fields
            .iter()
            .chain(&settings.postmaster_fields)
        {
            add(a);
        }

        let connector = Connector::new(
            settings.name.clone(),
            urls,
            config.starttls,
            tls,
            config.tls_no_verify,
            Duration::from_millis(config.connect_timeout_ms),
            Duration::from_millis(config.operation_timeout_ms),
        );
        Ok(LdapBackend {
            name: settings.name.clone(),
            compiler: FilterCompiler::new(charset),
            charset,
            always,
            valid,
            user_attrs,
            plan: Plan::new(&settings),
            scope: config.scope.to_ldap(),
            conn: ServiceConnection::new(connector, bind),
            pager: tokio::sync::Mutex::new(()),
            members: std::sync::RwLock::new(None),
            settings,
            config,
        })
    }

    /// [`new`](Self::new), then checks that the server answers and the base DN exists (OTOBO
    /// `Die => 1`). Must run inside a tokio runtime.
    pub async fn connect(config: LdapConfig) -> Result<Self> {
        let backend = Self::new(config)?;
        backend.check_connection().await?;
        Ok(backend)
    }

    /// Reads the base DN entry over the service connection (connecting if needed).
    pub async fn check_connection(&self) -> Result<()> {
        let req = self.request(
            self.config.base_dn.clone(),
            Scope::Base,
            "(objectClass=*)".into(),
            vec![NO_ATTRIBUTES.into()],
            Some(1),
        );
        let span = tracing::debug_span!("ldap.check", backend = %self.name);
        let found = self.run_search(req).instrument(span).await?.entries;
        if found.is_empty() {
            return Err(Error::backend(
                &self.name,
                format!("base_dn {:?} cannot be read", self.config.base_dn),
            ));
        }
        Ok(())
    }

    /// The configuration as given.
    pub fn config(&self) -> &LdapConfig {
        &self.config
    }

    /// The RFC 4515 filter [`search`](CustomerUserSource::search) sends for a query (for logs,
    /// tests and debugging).
    pub fn search_filter(&self, query: &UserQuery) -> String {
        let attrs = self.field_attrs(query.fields);
        let core = self.compiler.expr(&query.expr, &attrs);
        self.with_standard_filters(core, query.valid_only)
    }

    /// The RFC 4515 filter [`get`](CustomerUserSource::get) sends for a login: an equality
    /// on `customer_key` with the login escaped (`*`, `(`, `)`, `\` and NUL are literals),
    /// AND-ed with `always_filter` (for logs, tests and `clientele ldap test --login`).
    ///
    /// ```
    /// use clientele_ldap::{LdapBackend, LdapConfig};
    ///
    /// let backend = LdapBackend::new(LdapConfig {
    ///     always_filter: Some("(objectClass=inetOrgPerson)".into()),
    ///     ..LdapConfig::new("ldap://127.0.0.1:389", "ou=people,dc=example,dc=org")
    /// })
    /// .unwrap();
    /// assert_eq!(
    ///     backend.login_filter("j*(doe)"),
    ///     r"(&(uid=j\2a\28doe\29)(objectClass=inetOrgPerson))"
    /// );
    /// ```
    pub fn login_filter(&self, login: &str) -> String {
        self.with_standard_filters(self.compiler.equality(self.key(), login), false)
    }

    // ------------------------------------------------------------------ helpers

    fn key(&self) -> &str {
        &self.config.customer_key
    }

    fn with_standard_filters(&self, core: String, valid_only: bool) -> String {
        let mut parts = vec![core];
        parts.extend(self.always.clone());
        if valid_only {
            parts.extend(self.valid.clone());
        }
        and(parts)
    }

    /// The LDAP attributes a field set stands for (the one rule:
    /// [`SourceSettings::storage_fields`]).
    fn field_attrs(&self, fields: FieldSet) -> Vec<String> {
        self.settings
            .storage_fields(fields, self.key(), &self.config.customer_id)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    fn request(
        &self,
        base: String,
        scope: Scope,
        filter: String,
        attrs: Vec<String>,
        limit: Option<usize>,
    ) -> SearchRequest {
        let paged = match self.config.paging {
            Paging::Always => true,
            Paging::Never => false,
            Paging::Auto => limit.is_none_or(|n| n > self.config.size_limit),
        };
        let page = paged.then(|| {
            let size = limit.map_or(self.config.page_size as usize, |n| {
                n.min(self.config.page_size as usize)
            });
            i32::try_from(size.max(1)).unwrap_or(i32::MAX)
        });
        SearchRequest {
            base,
            scope,
            filter,
            attrs,
            limit,
            page,
            op_timeout: Duration::from_millis(self.config.operation_timeout_ms),
            charset: self.charset,
        }
    }

    /// One search below the base DN on the service connection.
    async fn fetch(
        &self,
        filter: String,
        attrs: Vec<String>,
        limit: Option<usize>,
    ) -> Result<Vec<Entry>> {
        Ok(self.fetch_counted(filter, attrs, limit).await?.entries)
    }

    /// [`fetch`](Self::fetch), also saying whether the server stopped at a size limit.
    async fn fetch_counted(
        &self,
        filter: String,
        attrs: Vec<String>,
        limit: Option<usize>,
    ) -> Result<Fetched> {
        let req = self.request(
            self.config.base_dn.clone(),
            self.scope,
            filter,
            attrs,
            limit,
        );
        let span = tracing::debug_span!(
            "ldap.search",
            backend = %self.name,
            filter = %req.filter,
            paged = req.page.is_some(),
            entries = tracing::field::Empty,
        );
        let found = self.run_search(req).instrument(span.clone()).await?;
        span.record("entries", found.entries.len());
        Ok(found)
    }

    /// Runs a search on the service connection; paged ones one at a time.
    async fn run_search(&self, req: SearchRequest) -> Result<Fetched> {
        let _turn = match req.page {
            Some(_) => Some(self.pager.lock().await),
            None => None,
        };
        self.conn.run(|ldap| search_op(ldap, req.clone())).await
    }

    /// The users a search finds, asking the server for at most `wanted` entries (unless the
    /// matching is client-side), sorted by login; and whether the server stopped at a size
    /// limit (result code 4) with more entries left. Not yet cut to the query's limit.
    async fn search_users(
        &self,
        query: &UserQuery,
        wanted: usize,
    ) -> Result<(Vec<CustomerUser>, bool)> {
        let span = tracing::debug_span!("ldap.search_users", backend = %self.name, limit = wanted);
        async {
            let attrs = self.field_attrs(query.fields);
            let filter = self.search_filter(query);
            let client_side_only = query.case_sensitive || self.config.group_dn.is_some();
            let server_limit = (!client_side_only).then_some(wanted);
            let (fetched, members) = tokio::try_join!(
                self.fetch_counted(filter, self.user_attrs.clone(), server_limit),
                self.group_members()
            )?;
            let matcher = Matcher::new(&query.expr, &attrs, query.case_sensitive);
            let entries: Vec<Entry> = fetched
                .entries
                .into_iter()
                .filter(|e| matcher.matches(e) && self.is_member(&members, e))
                .collect();
            let invalid = if query.valid_only {
                HashSet::new()
            } else {
                self.invalid_dns(&entries).await?
            };
            let mut users = sorted_by_login(self.users(entries, &invalid)?);
            users.dedup_by(|a, b| a.login == b.login);
            Ok((users, fetched.size_limited))
        }
        .instrument(span)
        .await
    }

    /// The members of the data group, when one is configured: kept for
    /// [`group_cache_ttl`](LdapConfig::group_cache_ttl) seconds, read again after that.
    async fn group_members(&self) -> Result<Option<Arc<Members>>> {
        if self.config.group_dn.is_none() {
            return Ok(None);
        }
        let ttl = std::time::Duration::from_secs(self.config.group_cache_ttl);
        if !ttl.is_zero() {
            let kept = self
                .members
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .as_ref()
                .filter(|(at, _)| at.elapsed() < ttl)
                .map(|(_, m)| Arc::clone(m));
            if kept.is_some() {
                return Ok(kept);
            }
        }
        self.fresh_group_members().await
    }

    /// The members of the data group read now (one search, paged), and kept for the next
    /// look-ups.
    async fn fresh_group_members(&self) -> Result<Option<Arc<Members>>> {
        let Some(group_dn) = &self.config.group_dn else {
            return Ok(None);
        };
        let attr = self.config.group_member_attribute.clone();
        let req = self.request(
            group_dn.clone(),
            Scope::Subtree,
            format!("({attr}=*)"),
            vec![attr.clone()],
            None,
        );
        let span =
            tracing::debug_span!("ldap.group_members", backend = %self.name, group = %group_dn);
        let entries = self.run_search(req).instrument(span).await?.entries;
        let style = self.config.group_member_style;
        let set = entries
            .iter()
            .flat_map(|e| e.values(&attr).iter())
            .map(|v| self.member_key(style, v))
            .collect();
        let members = Arc::new(Members { style, set });
        if self.config.group_cache_ttl > 0 {
            *self
                .members
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) =
                Some((std::time::Instant::now(), Arc::clone(&members)));
        }
        Ok(Some(members))
    }

    fn member_key(&self, style: MembershipStyle, value: &str) -> String {
        match style {
            MembershipStyle::MemberDn => normalise_dn(value),
            MembershipStyle::MemberUid if self.settings.case_sensitive => value.to_owned(),
            MembershipStyle::MemberUid => value.to_lowercase(),
        }
    }

    fn is_member(&self, members: &Option<Arc<Members>>, entry: &Entry) -> bool {
        let Some(m) = members else { return true };
        match m.style {
            MembershipStyle::MemberDn => m.set.contains(&normalise_dn(&entry.dn)),
            MembershipStyle::MemberUid => entry
                .values(self.key())
                .iter()
                .any(|v| m.set.contains(&self.member_key(m.style, v))),
        }
    }

    /// DNs (normalised) of the entries that fail the valid filter: one search over their
    /// logins (in chunks for very long lists). Empty without a valid filter.
    async fn invalid_dns(&self, entries: &[Entry]) -> Result<HashSet<String>> {
        let Some(valid) = &self.valid else {
            return Ok(HashSet::new());
        };
        let keys: Vec<&str> = entries.iter().filter_map(|e| e.first(self.key())).collect();
        let mut out = HashSet::new();
        for chunk in keys.chunks(KEYS_PER_FILTER) {
            let by_key = or(chunk
                .iter()
                .map(|k| self.compiler.equality(self.key(), k))
                .collect());
            let filter = and(vec![by_key, not(valid)]);
            for e in self.fetch(filter, vec![NO_ATTRIBUTES.into()], None).await? {
                out.insert(normalise_dn(&e.dn));
            }
        }
        Ok(out)
    }

    /// Does the entry satisfy the expression over `attrs` under the case rule? The same rule
    /// as the model's reference matcher, applied to the entry's LDAP values.
    fn entry_matches(entry: &Entry, expr: &Expr, attrs: &[String], case_sensitive: bool) -> bool {
        Matcher::new(expr, attrs, case_sensitive).matches(entry)
    }

    /// The user an entry stands for, through the attribute map. `None` for an entry without a
    /// login (OTOBO skips those too).
    ///
    /// Each readable map row's first non-empty value (every non-blank value for the secondary
    /// customer ids) goes straight into its field, moved out of the entry; the result is the
    /// user [`CustomerUser::from_attributes`] builds from the same values.
    fn to_user(&self, mut entry: Entry, valid: bool) -> Result<Option<CustomerUser>> {
        if entry.first(self.key()).is_none() {
            tracing::debug!(backend = %self.name, dn = %entry.dn, "entry without a login skipped");
            return Ok(None);
        }
        let mut user = CustomerUser {
            login: Login::from_stored(String::new()),
            title: None,
            first_name: String::new(),
            last_name: String::new(),
            email: Email::from_stored(String::new()),
            customer_id: CustomerId::from_stored(String::new()),
            secondary_customer_ids: Vec::new(),
            phone: None,
            fax: None,
            mobile: None,
            street: None,
            zip: None,
            city: None,
            country: None,
            comment: None,
            validity: if valid {
                Validity::Valid
            } else {
                Validity::Invalid
            },
            extra: Attributes::new(),
            audit: Audit::default(),
        };
        let mut login = None;
        // Only needed when rows share a key (an empty `Vec` does not allocate).
        let mut filled = vec![
            false;
            if self.plan.repeated_keys {
                self.plan.keys
            } else {
                0
            }
        ];
        for slot in &self.plan.slots {
            if filled.get(slot.key) == Some(&true) {
                continue;
            }
            let values = if slot.shared {
                Cow::Borrowed(entry.values(&slot.storage))
            } else {
                Cow::Owned(entry.take(&slot.storage))
            };
            if slot.field == Field::CustomerIds {
                if values.iter().any(|v| !v.trim().is_empty()) {
                    user.secondary_customer_ids = values
                        .iter()
                        .filter(|v| !v.trim().is_empty())
                        .flat_map(|v| CustomerId::split_list(v))
                        .collect();
                    if let Some(f) = filled.get_mut(slot.key) {
                        *f = true;
                    }
                }
                continue;
            }
            let first = match values {
                Cow::Borrowed(vs) => vs.iter().find(|v| !v.is_empty()).cloned(),
                Cow::Owned(vs) => vs.into_iter().find(|v| !v.is_empty()),
            };
            let Some(v) = first else { continue };
            if let Some(f) = filled.get_mut(slot.key) {
                *f = true;
            }
            match &slot.field {
                Field::Login => login = Some(v),
                Field::Title => user.title = Some(v),
                Field::FirstName => user.first_name = v,
                Field::LastName => user.last_name = v,
                Field::Email => user.email = Email::from_stored(v),
                Field::CustomerId => user.customer_id = CustomerId::from_stored(v),
                Field::Phone => user.phone = Some(v),
                Field::Fax => user.fax = Some(v),
                Field::Mobile => user.mobile = Some(v),
                Field::Street => user.street = Some(v),
                Field::Zip => user.zip = Some(v),
                Field::City => user.city = Some(v),
                Field::Country => user.country = Some(v),
                Field::Comment => user.comment = Some(v),
                Field::Extra(key) => {
                    user.extra.insert(key.clone(), AttributeValue::Text(v));
                }
                Field::CustomerIds => {}
            }
        }
        user.login = Login::from_stored(login.ok_or_else(|| ValidationError::Required {
            field: keys::LOGIN.into(),
        })?);
        Ok(Some(user))
    }

    /// Entries → users, validity from the invalid set.
    fn users(&self, entries: Vec<Entry>, invalid: &HashSet<String>) -> Result<Vec<CustomerUser>> {
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            let valid = invalid.is_empty() || !invalid.contains(&normalise_dn(&e.dn));
            if let Some(u) = self.to_user(e, valid)? {
                out.push(u);
            }
        }
        Ok(out)
    }

    fn login_matches(&self, entry: &Entry, login: &str) -> bool {
        let cs = self.settings.case_sensitive;
        entry.values(self.key()).iter().any(|v| {
            if cs {
                v == login
            } else {
                v == login || v.to_lowercase() == login.to_lowercase()
            }
        })
    }

    /// The storage attribute of a map key, for detail searches.
    fn storage_for(&self, key: &str) -> Result<&str> {
        match self.settings.map.by_key(key) {
            Some(row) if readable_row(row) => Ok(row.storage.as_str()),
            _ => Err(ValidationError::UnknownAttribute {
                field: key.to_owned(),
            }
            .into()),
        }
    }

    fn detail_filter(&self, q: &DetailSearch) -> Result<String> {
        let mut parts = Vec::new();
        for cond in &q.conditions {
            let attr = self.storage_for(&cond.attribute)?;
            parts.push(self.compiler.pattern(attr, &cond.pattern));
        }
        for sel in q.selections.iter().filter(|s| !s.values.is_empty()) {
            if sel.attribute == keys::VALID {
                parts.extend(self.validity_selection(&sel.values));
                continue;
            }
            let attr = self.storage_for(&sel.attribute)?;
            parts.push(or(sel
                .values
                .iter()
                .map(|v| self.compiler.equality(attr, v))
                .collect()));
        }
        if !q.customer_ids.is_empty() {
            parts.push(or(q
                .customer_ids
                .iter()
                .map(|c| self.compiler.equality(&self.config.customer_id, c))
                .collect()));
        }
        // No map row here is a dynamic field (refused when configured), so no user has a value
        // for one: a condition that asks for a value matches nothing.
        if q.dynamic_fields.iter().any(|d| d.active().next().is_some()) {
            parts.push(MATCH_NOTHING.to_owned());
        }
        if !q.exclude_logins.is_empty() {
            parts.push(not(&or(q
                .exclude_logins
                .iter()
                .map(|l| self.compiler.equality(self.key(), l))
                .collect())));
        }
        if parts.is_empty() {
            parts.push(format!("({}=*)", self.key()));
        }
        Ok(self.with_standard_filters(and(parts), q.valid_only))
    }

    /// A `ValidID` selection as a filter over the valid filter (LDAP has no validity attribute).
    fn validity_selection(&self, values: &[String]) -> Option<String> {
        let ids: Vec<i64> = values
            .iter()
            .filter_map(|v| v.trim().parse().ok())
            .collect();
        let want_valid = ids.contains(&1);
        let want_invalid = ids.iter().any(|i| *i == 2 || *i == 3);
        match (&self.valid, want_valid, want_invalid) {
            (_, true, true) => None,
            (Some(v), true, false) => Some(v.clone()),
            (Some(v), false, true) => Some(not(v)),
            (None, true, false) => None,
            _ => Some(MATCH_NOTHING.to_owned()),
        }
    }

    /// Every user matching a detail search, validity set, not yet ordered or cut.
    async fn detail_users(&self, q: &DetailSearch) -> Result<Vec<CustomerUser>> {
        let filter = self.detail_filter(q)?;
        let (entries, members) = tokio::try_join!(
            self.fetch(filter, self.user_attrs.clone(), None),
            self.group_members()
        )?;
        let entries: Vec<Entry> = entries
            .into_iter()
            .filter(|e| self.is_member(&members, e))
            .collect();
        let invalid = if q.valid_only {
            HashSet::new()
        } else {
            self.invalid_dns(&entries).await?
        };
        let mut users = self.users(entries, &invalid)?;
        users.retain(|u| matches_detail(u, q));
        Ok(users)
    }

    /// A bind as `dn` on a new connection that is closed again right after.
    async fn user_bind(&self, dn: &str, password: &Password) -> Result<bool> {
        let connector = &self.conn.connector;
        let mut ldap = connector.open().await?;
        let result = connector.bind(&mut ldap, dn, password.expose()).await;
        // Best effort: the connection closes when the handle drops anyway.
        let _ = ldap.with_timeout(Duration::from_millis(200)).unbind().await;
        result.map_err(|f| f.into_error(&self.name, connector.op_timeout))
    }

    /// Is `value` in the login gate's group? One search below `auth_group_dn`. DNs are UTF-8
    /// on the wire whatever the source charset; logins are in the source charset.
    async fn passes_gate(&self, value: &str, is_dn: bool) -> Result<bool> {
        let (Some(group), Some(attr)) = (&self.config.auth_group_dn, &self.config.access_attr)
        else {
            return Ok(true);
        };
        let req = self.request(
            group.clone(),
            Scope::Subtree,
            if is_dn {
                format!("({attr}={})", ldap3::ldap_escape(value))
            } else {
                self.compiler.equality(attr, value)
            },
            vec![NO_ATTRIBUTES.into()],
            Some(1),
        );
        Ok(!self.run_search(req).await?.entries.is_empty())
    }
}

/// Map rows the backend reads from the directory (not dynamic fields, password or validity).
fn readable_row(row: &AttributeMapping) -> bool {
    row.storage_type != StorageType::DynamicField
        && row.key != keys::PASSWORD
        && row.key != keys::VALID
}

/// Points the map's login and customer-id rows at the configured attributes (OTOBO keeps
/// `CustomerKey`/`CustomerID` and the map in two places; here the keys win), marks every row
/// read-only and checks the storage names.
fn adjust_map(settings: &mut SourceSettings, config: &LdapConfig) -> Result<()> {
    let mut rows = settings.map.rows().to_vec();
    // OTOBO's LDAP backend left a dynamic-field row to OTOBO's database; this backend has no
    // database, so the row's values would vanish: refused, naming the row.
    if let Some(row) = rows
        .iter()
        .find(|r| r.storage_type == StorageType::DynamicField)
    {
        return Err(Error::MapRow {
            backend: settings.name.clone(),
            key: row.key.clone(),
            storage: row.storage.clone(),
            problem: MapRowProblem::DynamicFieldsUnsupported,
        });
    }
    if rows.iter().any(|r| r.key == keys::VALID) {
        return Err(config_err(
            "settings.map: remove the ValidID row; the LDAP backend derives validity from \
             valid_filter (OTOBO CustomerUserValidFilter)",
        ));
    }
    let mut set = |key: &str, label: &str, storage: &str, required: bool| match rows
        .iter_mut()
        .find(|r| r.key == key)
    {
        Some(row) => row.storage = storage.to_owned(),
        None => {
            let mut row = AttributeMapping::new(key, label, storage);
            row.required = required;
            rows.push(row);
        }
    };
    set(keys::LOGIN, "Username", &config.customer_key, true);
    set(keys::CUSTOMER_ID, "CustomerID", &config.customer_id, true);
    if let Some(a) = &config.customer_ids_attribute {
        set(keys::CUSTOMER_IDS, "CustomerIDs", a, false);
    }
    for row in &mut rows {
        row.read_only = true;
        if readable_row(row) {
            check_attribute(&format!("settings.map row {}", row.key), &row.storage)?;
        }
    }
    settings.map = clientele_model::AttributeMap::new(rows);
    Ok(())
}

/// A rustls client configuration trusting the certificates in a PEM file.
fn tls_config(path: &std::path::Path) -> Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let shown = path.display();
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| config_err(format!("ca_file {shown}: {e}")))?
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| config_err(format!("ca_file {shown}: {e}")))?;
    if certs.is_empty() {
        return Err(config_err(format!(
            "ca_file {shown}: no PEM certificate in it"
        )));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in certs {
        roots
            .add(cert)
            .map_err(|e| config_err(format!("ca_file {shown}: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_err(format!("TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The entries of one search, and whether the server stopped at a size limit (its own or the
/// one asked for) with more entries left.
struct Fetched {
    entries: Vec<Entry>,
    size_limited: bool,
}

/// The cookie of a paged-results response control (RFC 2696 `realSearchControlValue`:
/// a sequence of the size estimate and the cookie); `None` when the value is not one.
fn paged_cookie(value: &[u8]) -> Option<Vec<u8>> {
    use ldap3::asn1::{TagClass, Types, parse_tag};
    let (_, tag) = parse_tag(value).ok()?;
    let mut parts = tag
        .match_class(TagClass::Universal)?
        .match_id(Types::Sequence as u64)?
        .expect_constructed()?
        .into_iter();
    parts.next()?.match_id(Types::Integer as u64)?;
    parts
        .next()?
        .match_id(Types::OctetString as u64)?
        .expect_primitive()
}

/// Runs one (possibly paged) search and reads its entries, stopping after `limit`.
///
/// Paging is done here, one plain ldap3 `streaming_search` per page with the paged-results
/// control, rather than through ldap3's `PagedResults` and `EntriesOnly` adapters: those
/// lock and box a future per adapter for every entry, and the adapter panics on a malformed
/// cookie. Referrals and intermediate responses are skipped, as `EntriesOnly` does.
async fn search_op(mut ldap: Ldap, req: SearchRequest) -> std::result::Result<Fetched, Failure> {
    if req.page.is_none()
        && let Some(n) = req.limit
    {
        ldap.with_search_options(
            SearchOptions::new().sizelimit(i32::try_from(n).unwrap_or(i32::MAX)),
        );
    }
    let mut entries = Vec::new();
    let mut cookie = Vec::new();
    let mut cut = false;
    let (failure, res) = 'pages: loop {
        ldap.with_timeout(req.op_timeout);
        if let Some(size) = req.page {
            ldap.with_controls(PagedResults {
                size,
                cookie: std::mem::take(&mut cookie),
            });
        }
        let mut stream = ldap
            .streaming_search(&req.base, req.scope, &req.filter, &req.attrs)
            .await?;
        let failure = loop {
            match stream.next().await {
                Ok(Some(re)) if re.is_ref() || re.is_intermediate() => {}
                Ok(Some(re)) => match read_entry(re, req.charset) {
                    Ok(e) => {
                        entries.push(e);
                        if req.limit.is_some_and(|n| entries.len() >= n) && req.page.is_some() {
                            cut = true;
                            break None;
                        }
                    }
                    Err(e) => break Some(Failure::Source(e)),
                },
                Ok(None) => break None,
                Err(e) => break Some(Failure::Ldap(e)),
            }
        };
        let msgid = stream.ldap_handle().last_id();
        let res = stream.finish().await;
        if cut || failure.is_some() {
            // Tell the server to stop sending; harmless when it already finished.
            let _ = ldap
                .with_timeout(Duration::from_millis(200))
                .abandon(msgid)
                .await;
            break 'pages (failure, res);
        }
        if req.page.is_some() {
            let next = res.ctrls.iter().find_map(|c| match c {
                Control(Some(ControlType::PagedResults), raw) => Some(raw),
                _ => None,
            });
            if let Some(raw) = next {
                let Some(c) = raw.val.as_deref().and_then(paged_cookie) else {
                    break 'pages (
                        Some(Failure::Source(LdapSourceError::Client(
                            "the server's paged-results control is malformed".into(),
                        ))),
                        res,
                    );
                };
                if !c.is_empty() {
                    cookie = c;
                    continue 'pages;
                }
            }
        }
        break 'pages (None, res);
    };
    if let Some(f) = failure {
        return Err(f);
    }
    let fetched = |entries, size_limited| Fetched {
        entries,
        size_limited,
    };
    if cut {
        return Ok(fetched(entries, false));
    }
    match res.rc {
        0 => Ok(fetched(entries, false)),
        // sizeLimitExceeded: the entries up to the limit are the answer (OTOBO logs this at
        // debug level too, bug#12290), and more matched.
        4 => {
            tracing::debug!(entries = entries.len(), "LDAP size limit reached");
            Ok(fetched(entries, true))
        }
        // noSuchObject: the base (a group DN, a user DN) does not exist.
        32 => Ok(fetched(Vec::new(), false)),
        _ => Err(Failure::Result("search", res)),
    }
}

#[async_trait]
impl CustomerUserSource for LdapBackend {
    fn settings(&self) -> &SourceSettings {
        &self.settings
    }

    async fn get(&self, login: &str) -> Result<Option<CustomerUser>> {
        if login.is_empty() {
            return Ok(None);
        }
        let span = tracing::debug_span!("ldap.get", backend = %self.name, login = %login);
        async {
            let by_login = self.compiler.equality(self.key(), login);
            let filter = self.login_filter(login);
            let invalid_filter = self
                .valid
                .as_ref()
                .map(|v| self.with_standard_filters(and(vec![by_login.clone(), not(v)]), false));
            let invalid = async {
                match invalid_filter {
                    Some(f) => self.fetch(f, vec![NO_ATTRIBUTES.into()], Some(10)).await,
                    None => Ok(Vec::new()),
                }
            };
            let (entries, invalid, members) = tokio::try_join!(
                self.fetch(filter, self.user_attrs.clone(), Some(10)),
                invalid,
                self.group_members()
            )?;
            let Some(entry) = entries
                .into_iter()
                .find(|e| self.login_matches(e, login) && self.is_member(&members, e))
            else {
                return Ok(None);
            };
            let dn = normalise_dn(&entry.dn);
            let valid = !invalid.iter().any(|e| normalise_dn(&e.dn) == dn);
            self.to_user(entry, valid)
        }
        .instrument(span)
        .await
    }

    async fn search(&self, query: &UserQuery) -> Result<Vec<CustomerUser>> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let (mut users, _) = self.search_users(query, query.limit).await?;
        users.truncate(query.limit);
        Ok(users)
    }

    async fn search_detail(&self, query: &DetailSearch) -> Result<Vec<Login>> {
        let span = tracing::debug_span!("ldap.search_detail", backend = %self.name);
        async {
            let mut users = self.detail_users(query).await?;
            sort_detail(&mut users, query);
            if let Some(limit) = query.limit {
                users.truncate(limit);
            }
            Ok(users.into_iter().map(|u| u.login).collect())
        }
        .instrument(span)
        .await
    }

    async fn count_detail(&self, query: &DetailSearch) -> Result<u64> {
        let span = tracing::debug_span!("ldap.count_detail", backend = %self.name);
        async {
            let users = self.detail_users(query).await?;
            Ok(u64::try_from(users.len()).unwrap_or(u64::MAX))
        }
        .instrument(span)
        .await
    }

    async fn customer_id_list(
        &self,
        term: Option<&Expr>,
        valid_only: bool,
    ) -> Result<Vec<CustomerId>> {
        let span = tracing::debug_span!("ldap.customer_id_list", backend = %self.name);
        async {
            let id_attr = vec![self.config.customer_id.clone()];
            let core = match term {
                Some(t) => self.compiler.expr(t, &id_attr),
                None => format!("({}=*)", self.config.customer_id),
            };
            let filter = self.with_standard_filters(core, valid_only);
            let attrs = vec![self.config.customer_id.clone(), self.key().to_owned()];
            let (entries, members) =
                tokio::try_join!(self.fetch(filter, attrs, None), self.group_members())?;
            let cs = self.settings.case_sensitive;
            let mut seen = HashSet::new();
            let mut ids: Vec<String> = entries
                .iter()
                .filter(|e| self.is_member(&members, e))
                .filter(|e| term.is_none_or(|t| Self::entry_matches(e, t, &id_attr, cs)))
                .filter_map(|e| e.first(&self.config.customer_id))
                .filter(|id| seen.insert(id.to_string()))
                .map(str::to_owned)
                .collect();
            ids.sort_by_key(|a| a.to_lowercase());
            Ok(ids.into_iter().map(CustomerId::from_stored).collect())
        }
        .instrument(span)
        .await
    }

    /// Asks the server for one user more than the limit, and counts a "size limit exceeded"
    /// answer (result code 4: the server's own limit was below ours) as "more matched" too.
    async fn search_page(&self, query: &UserQuery) -> Result<SourcePage<CustomerUser>> {
        let (users, size_limited) = self.search_users(query, fetch_limit(query.limit)).await?;
        let mut page = SourcePage::cut(users, query.limit);
        page.more_matched |= size_limited;
        Ok(page)
    }

    /// [`search_page`](CustomerUserSource::search_page)'s users as listed users.
    async fn search_list_page(&self, query: &UserQuery) -> Result<SourcePage<ListedUser>> {
        let page = self.search_page(query).await?;
        Ok(SourcePage {
            hits: (page.hits.iter())
                .map(|u| ListedUser::of(u, &self.settings))
                .collect(),
            more_matched: page.more_matched,
        })
    }
}

#[async_trait]
impl BindAuthenticator for LdapBackend {
    /// Search-then-bind (OTOBO `CustomerAuth::LDAP`): find the user's DN with the service
    /// connection (login by the case rule, always-filter, valid filter, data group), check the
    /// login gate ([`auth_group_dn`](LdapConfig::auth_group_dn)), then bind as that DN on a
    /// separate short-lived connection. An unknown user costs a bind against a DN that does not
    /// exist, so both failures take comparable time and give the same `Ok(false)`. An empty
    /// password is refused without a bind: LDAP treats it as an unauthenticated bind, which
    /// many servers accept.
    async fn bind(&self, login: &str, password: &Password) -> Result<bool> {
        if password.is_empty() || login.is_empty() {
            return Ok(false);
        }
        let span = tracing::info_span!("ldap.bind", backend = %self.name, login = %login);
        async {
            let filter =
                self.with_standard_filters(self.compiler.equality(self.key(), login), true);
            // A password check reads the membership fresh: a user removed from the group
            // cannot log in during the look-ups' cache time.
            let (entries, members) = tokio::try_join!(
                self.fetch(filter, vec![self.key().to_owned()], Some(10)),
                self.fresh_group_members()
            )?;
            let found: Vec<&Entry> = entries
                .iter()
                .filter(|e| self.login_matches(e, login) && self.is_member(&members, e))
                .collect();
            let user = match found.as_slice() {
                [one] => Some(*one),
                [] => None,
                _ => {
                    tracing::warn!(
                        count = found.len(),
                        "login matches several entries; refused"
                    );
                    None
                }
            };
            // Stand-ins for an unknown user, so the same work is done either way.
            let nobody = format!("cn=clientele-unknown-user,{}", self.config.base_dn);
            let dn = user.map_or(nobody.as_str(), |e| e.dn.as_str());
            let gate_value = match self.config.user_attr {
                MembershipStyle::MemberDn => dn.to_owned(),
                MembershipStyle::MemberUid => user
                    .and_then(|e| e.first(self.key()))
                    .unwrap_or(login)
                    .to_owned(),
            };
            let is_dn = self.config.user_attr == MembershipStyle::MemberDn;
            let admitted = self.passes_gate(&gate_value, is_dn).await?;
            let bound = self.user_bind(dn, password).await?;
            let ok = user.is_some() && admitted && bound;
            tracing::debug!(ok, "bind checked");
            Ok(ok)
        }
        .instrument(span)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_model::search::{Pattern, SearchSyntax, parse_term};

    fn backend(config: LdapConfig) -> LdapBackend {
        LdapBackend::new(config).unwrap()
    }

    fn test_config() -> LdapConfig {
        LdapConfig {
            customer_id: "o".into(),
            customer_ids_attribute: Some("departmentNumber".into()),
            always_filter: Some("objectClass=inetOrgPerson".into()),
            valid_filter: Some("(!(description=gesperrt))".into()),
            ..LdapConfig::new("ldap://127.0.0.1:1", "ou=people,dc=example,dc=org")
        }
    }

    #[test]
    fn config_errors_name_the_setting() {
        let cases: Vec<(LdapConfig, &str)> = vec![
            (LdapConfig::default(), "url"),
            (
                LdapConfig {
                    url: Some("http://x".into()),
                    ..LdapConfig::default()
                },
                "url",
            ),
            (
                LdapConfig {
                    source_charset: "klingon".into(),
                    ..test_config()
                },
                "source_charset",
            ),
            (
                LdapConfig {
                    customer_key: "uid)(x".into(),
                    ..test_config()
                },
                "customer_key",
            ),
            (
                LdapConfig {
                    valid_filter: Some("(!(a=b)".into()),
                    ..test_config()
                },
                "valid_filter",
            ),
            (
                LdapConfig {
                    bind_dn: Some("cn=x".into()),
                    ..test_config()
                },
                "bind_dn",
            ),
            (
                LdapConfig {
                    access_attr: Some("member".into()),
                    ..test_config()
                },
                "auth_group_dn",
            ),
            (
                LdapConfig {
                    ca_file: Some("/nonexistent/ca.pem".into()),
                    ..test_config()
                },
                "ca_file",
            ),
        ];
        for (config, setting) in cases {
            let e = LdapBackend::new(config).unwrap_err();
            assert!(matches!(e, Error::Config(_)), "{e}");
            assert!(e.to_string().contains(setting), "{setting}: {e}");
        }
        let mut with_valid_row = test_config();
        with_valid_row
            .settings
            .map
            .push(AttributeMapping::new(keys::VALID, "Valid", "x"));
        assert!(LdapBackend::new(with_valid_row).is_err());
    }

    /// A dynamic-field row would have its values dropped here: the configuration is refused,
    /// naming the row.
    #[test]
    fn dynamic_field_rows_are_refused() {
        let mut config = test_config();
        config.settings.map.push(
            AttributeMapping::new("UserDepartment", "Department", "Department")
                .storage_type(StorageType::DynamicField),
        );
        match LdapBackend::new(config) {
            Err(Error::MapRow {
                key,
                storage,
                problem: MapRowProblem::DynamicFieldsUnsupported,
                ..
            }) => {
                assert_eq!(key, "UserDepartment");
                assert_eq!(storage, "Department");
            }
            Err(e) => panic!("expected a refusal naming the row, got {e}"),
            Ok(_) => panic!("a dynamic-field row was accepted by the LDAP backend"),
        }
    }

    #[test]
    fn map_follows_the_configured_keys() {
        let b = backend(test_config());
        let s = CustomerUserSource::settings(&b);
        assert_eq!(s.map.storage_of(keys::LOGIN), Some("uid"));
        assert_eq!(s.map.storage_of(keys::CUSTOMER_ID), Some("o"));
        assert_eq!(
            s.map.storage_of(keys::CUSTOMER_IDS),
            Some("departmentNumber")
        );
        assert!(s.read_only);
        assert!(s.map.rows().iter().all(|r| r.read_only));
        for a in [
            "uid",
            "o",
            "departmentNumber",
            "cn",
            "mail",
            "givenname",
            "sn",
        ] {
            assert!(
                b.user_attrs.iter().any(|x| x.eq_ignore_ascii_case(a)),
                "{a} requested"
            );
        }
    }

    #[test]
    fn search_filters_combine_always_and_valid() {
        let b = backend(test_config());
        let syntax = CustomerUserSource::settings(&b).syntax.clone();
        let q = |term: &str, valid_only: bool| UserQuery {
            fields: FieldSet::SearchFields {
                exclude_customer_id: false,
            },
            expr: parse_term(term, &syntax).unwrap(),
            valid_only,
            limit: 10,
            case_sensitive: false,
        };
        assert_eq!(
            b.search_filter(&q("smi", true)),
            "(&(|(uid=smi*)(cn=smi*)(mail=smi*))(objectClass=inetOrgPerson)(!(description=gesperrt)))"
        );
        assert_eq!(
            b.search_filter(&q("!x", false)),
            "(&(!(|(uid=x*)(cn=x*)(mail=x*)))(objectClass=inetOrgPerson))"
        );
        let login = UserQuery {
            fields: FieldSet::Login,
            expr: Expr::Match(Pattern::from_wildcards("*)(uid=*")),
            valid_only: false,
            limit: 10,
            case_sensitive: false,
        };
        assert_eq!(
            b.search_filter(&login),
            r"(&(uid=*\29\28uid=*)(objectClass=inetOrgPerson))"
        );
        let ids = UserQuery {
            fields: FieldSet::CustomerId,
            expr: Expr::Match(Pattern::exact("a*b")),
            ..login
        };
        assert_eq!(
            b.search_filter(&ids),
            r"(&(o=a\2ab)(objectClass=inetOrgPerson))"
        );
    }

    #[test]
    fn detail_filters() {
        let b = backend(test_config());
        let q = DetailSearch {
            conditions: vec![clientele_model::search::FieldCondition {
                attribute: keys::LAST_NAME.into(),
                pattern: Pattern::from_wildcards("M*(x)"),
            }],
            selections: vec![clientele_model::search::SelectionCondition {
                attribute: keys::VALID.into(),
                values: vec!["2".into()],
            }],
            exclude_logins: vec!["a*".into()],
            customer_ids: vec!["acme".into(), "globex".into()],
            valid_only: false,
            ..DetailSearch::default()
        };
        assert_eq!(
            b.detail_filter(&q).unwrap(),
            r"(&(&(sn=M*\28x\29)(!(!(description=gesperrt)))(|(o=acme)(o=globex))(!(uid=a\2a)))(objectClass=inetOrgPerson))"
        );
        let unknown = DetailSearch {
            conditions: vec![clientele_model::search::FieldCondition {
                attribute: "UserRoom".into(),
                pattern: Pattern::exact("x"),
            }],
            ..DetailSearch::default()
        };
        let e = b.detail_filter(&unknown).unwrap_err();
        assert!(e.to_string().contains("UserRoom"), "{e}");
        assert_eq!(
            b.detail_filter(&DetailSearch::default()).unwrap(),
            "(&(uid=*)(objectClass=inetOrgPerson))"
        );
    }

    #[test]
    fn entries_become_users_through_the_map() {
        let b = backend(test_config());
        let e = Entry::named("uid=mmustermann,ou=people")
            .with("UID", &["mmustermann"])
            .with("givenName", &["Max"])
            .with("sn", &["Mustermann"])
            .with("mail", &["max@globex.example", "alias@globex.example"])
            .with("o", &["globex"])
            .with("departmentNumber", &["acme", "initech"])
            .with("telephoneNumber", &["+49 89 7654321"]);
        let u = b.to_user(e.clone(), true).unwrap().unwrap();
        assert_eq!(u.login.as_str(), "mmustermann");
        assert_eq!(u.first_name, "Max");
        assert_eq!(u.email.as_str(), "max@globex.example");
        assert_eq!(u.customer_id.as_str(), "globex");
        assert_eq!(
            u.secondary_customer_ids
                .iter()
                .map(CustomerId::as_str)
                .collect::<Vec<_>>(),
            ["acme", "initech"]
        );
        assert_eq!(u.phone.as_deref(), Some("+49 89 7654321"));
        assert!(u.validity.is_valid());
        assert_eq!(
            b.to_user(e.clone(), false).unwrap().unwrap().validity,
            Validity::Invalid
        );
        assert!(b.to_user(Entry::default(), true).unwrap().is_none());
    }

    /// What `to_user` built before it filled the fields directly: the attribute map's values
    /// collected by key (first row with a value wins), then `CustomerUser::from_attributes`.
    fn reference_user(b: &LdapBackend, entry: &Entry, valid: bool) -> Option<CustomerUser> {
        entry.first(b.key())?;
        let mut attrs = Attributes::new();
        for row in b.settings.map.rows() {
            if !readable_row(row) {
                continue;
            }
            let value = if row.key == keys::CUSTOMER_IDS {
                let all: Vec<String> = entry
                    .values(&row.storage)
                    .iter()
                    .filter(|v| !v.trim().is_empty())
                    .cloned()
                    .collect();
                (!all.is_empty()).then_some(AttributeValue::List(all))
            } else {
                entry
                    .first(&row.storage)
                    .map(|v| AttributeValue::Text(v.to_owned()))
            };
            if let Some(v) = value {
                attrs.entry(row.key.clone()).or_insert(v);
            }
        }
        let validity = if valid {
            Validity::Valid
        } else {
            Validity::Invalid
        };
        attrs.insert(
            keys::VALID.into(),
            AttributeValue::Integer(validity.id().into()),
        );
        Some(CustomerUser::from_attributes(attrs).unwrap())
    }

    /// A map where rows share attributes and keys, and one extra key.
    fn tangled_config() -> LdapConfig {
        let mut config = test_config();
        let map = &mut config.settings.map;
        let mut rows = map.rows().to_vec();
        rows.push(AttributeMapping::new("UserRoom", "Room", "roomNumber"));
        // A second row for a key: used only when the first has no value.
        rows.push(AttributeMapping::new(keys::TITLE, "Title", "personalTitle"));
        rows.push(AttributeMapping::new(keys::TITLE, "Title", "title"));
        // Two keys from one attribute.
        rows.push(AttributeMapping::new(keys::COMMENT, "Comment", "SN"));
        rows.push(AttributeMapping::new("UserSurname", "Surname", "sn"));
        *map = clientele_model::AttributeMap::new(rows);
        config
    }

    #[test]
    fn paged_cookies_are_read_without_panicking() {
        // SEQUENCE { INTEGER 0, OCTET STRING 01 02 } and the same with an empty cookie.
        let with_cookie = [0x30, 0x07, 0x02, 0x01, 0x00, 0x04, 0x02, 0x01, 0x02];
        let last_page = [0x30, 0x05, 0x02, 0x01, 0x00, 0x04, 0x00];
        assert_eq!(paged_cookie(&with_cookie), Some(vec![1, 2]));
        assert_eq!(paged_cookie(&last_page), Some(vec![]));
        assert_eq!(paged_cookie(b""), None);
        // No cookie, a cookie that is not an octet string, not a sequence, cut short.
        assert_eq!(paged_cookie(&[0x30, 0x03, 0x02, 0x01, 0x00]), None);
        assert_eq!(
            paged_cookie(&[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x07]),
            None
        );
        assert_eq!(paged_cookie(&[0x04, 0x01, 0x00]), None);
        assert_eq!(paged_cookie(&with_cookie[..6]), None);
    }

    #[test]
    fn case_insensitive_matching_lowercases_once_with_the_same_result() {
        let e = Entry::default()
            .with("uid", &["ÄRGER"])
            .with("cn", &["Straße Ǆ"]);
        let syntax = SearchSyntax::default();
        let attrs = vec!["uid".to_string(), "cn".to_string()];
        for term in ["är*", "*SSE*", "*ǆ", "ärger", "x*", "!str*", "*"] {
            let expr = parse_term(term, &syntax).unwrap();
            for cs in [false, true] {
                let values: Vec<&String> = attrs.iter().flat_map(|a| e.values(a)).collect();
                assert_eq!(
                    LdapBackend::entry_matches(&e, &expr, &attrs, cs),
                    expr.matches_values(&values, cs),
                    "{term} (case-sensitive: {cs})"
                );
            }
        }
    }

    #[test]
    fn users_sort_by_login_keeping_the_order_of_equal_logins() {
        let user = |login: &str, first: &str| CustomerUser {
            first_name: first.into(),
            ..CustomerUser::from_attributes(Attributes::from([(
                keys::LOGIN.to_owned(),
                AttributeValue::Text(login.into()),
            )]))
            .unwrap()
        };
        let users = vec![
            user("b", "1"),
            user("a", "2"),
            user("B", "3"),
            user("a", "4"),
            user("ä", "5"),
        ];
        let mut expected = users.clone();
        clientele_model::search::sort_by_login(&mut expected, |u| u.login.as_str());
        let sorted = sorted_by_login(users);
        assert_eq!(sorted, expected);
        let firsts: Vec<&str> = sorted.iter().map(|u| u.first_name.as_str()).collect();
        assert_eq!(firsts, ["3", "2", "4", "1", "5"]);
        assert_eq!(sorted_by_login(sorted.clone()), sorted);
        assert!(sorted_by_login(Vec::new()).is_empty());
    }

    proptest::proptest! {
        /// Filling the fields directly gives the user the attribute map gave, for any mix of
        /// present, empty, repeated and multi-valued attributes.
        #[test]
        fn direct_mapping_agrees_with_the_attribute_map(
            values in proptest::collection::vec(
                proptest::option::of(proptest::collection::vec(
                    proptest::prop_oneof!["", " ", "a", "B; c", "x,y", "Jürgen"],
                    0..3,
                )),
                12,
            ),
            valid in proptest::bool::ANY,
        ) {
            let b = backend(tangled_config());
            let names = [
                "uid", "givenName", "SN", "mail", "o", "departmentNumber", "telephoneNumber",
                "roomNumber", "personalTitle", "title", "description", "postalAddress",
            ];
            let mut e = Entry::named("uid=x,ou=people");
            for (name, vs) in names.iter().zip(&values) {
                if let Some(vs) = vs {
                    let vs: Vec<&str> = vs.iter().map(|v| &**v).collect();
                    e = e.with(name, &vs);
                }
            }
            let direct = b.to_user(e.clone(), valid).unwrap();
            proptest::prop_assert_eq!(direct, reference_user(&b, &e, valid));
        }
    }

    #[test]
    fn client_side_case_rule() {
        let e = Entry::default()
            .with("uid", &["jdoe"])
            .with("cn", &["John Doe"]);
        let syntax = SearchSyntax {
            prefix: String::new(),
            suffix: "*".into(),
            space_means_and: false,
        };
        let attrs = vec!["uid".to_string(), "cn".to_string()];
        let t = |s: &str| parse_term(s, &syntax).unwrap();
        assert!(LdapBackend::entry_matches(&e, &t("JOHN"), &attrs, false));
        assert!(!LdapBackend::entry_matches(&e, &t("JOHN"), &attrs, true));
        assert!(LdapBackend::entry_matches(&e, &t("John"), &attrs, true));
        assert!(!LdapBackend::entry_matches(
            &e,
            &t("jdoe+!john"),
            &attrs,
            false
        ));
    }

    #[test]
    fn validity_selection_uses_the_valid_filter() {
        let b = backend(test_config());
        let v = |ids: &[&str]| {
            b.validity_selection(&ids.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(v(&["1"]).as_deref(), Some("(!(description=gesperrt))"));
        assert_eq!(
            v(&["2", "3"]).as_deref(),
            Some("(!(!(description=gesperrt)))")
        );
        assert_eq!(v(&["1", "2"]), None);
        assert_eq!(v(&["x"]).as_deref(), Some(MATCH_NOTHING));
    }
}
