//! The capability traits a source of customer data implements.
//!
//! They are split the way Keycloak's User Storage SPI and lldap split theirs: a read-only
//! directory implements [`CustomerUserSource`] (and maybe [`BindAuthenticator`]) and nothing
//! else, so "write to LDAP" is not a method that silently does nothing — it does not exist, and
//! the Directory (`clientele-directory`) answers [`Error::ReadOnly`](crate::Error::ReadOnly).
//!
//! Backends receive input that the Directory has already validated and queries that are
//! already parsed; they translate, store and fetch. Uniqueness of logins (and of emails when the
//! source's `email_unique_check` is on) must be enforced by the store itself — a unique index or
//! one transaction — never by a read-then-write.

use std::collections::BTreeMap;

use async_trait::async_trait;
use clientele_model::permission::{GroupId, PermissionContext, PermissionType, Stored};
use clientele_model::search::{CompanyQuery, DetailSearch, Expr, UserQuery};
use clientele_model::{
    Actor, Audit, CustomerCompany, CustomerId, CustomerUser, Login, Password, Validity,
};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::settings::{CompanySettings, SourceSettings};

/// The read side of a customer-user source.
#[async_trait]
pub trait CustomerUserSource: Send + Sync {
    /// The source's settings (name, map, field lists, limits, case rule, read-only flag, …).
    fn settings(&self) -> &SourceSettings;

    /// The user with this login, compared by the source's case rule
    /// (`settings().case_sensitive`; case-insensitive by default). A source that may hold one
    /// login in several cases answers the one in the exact case given, else the only match;
    /// several matches and none exact are [`Error::Ambiguous`](crate::Error::Ambiguous), never
    /// an arbitrary one of them.
    async fn get(&self, login: &str) -> Result<Option<CustomerUser>>;

    /// Many users at once (an import comparing its rows with what is stored): position `i` of
    /// the answer holds what [`get`](Self::get) answers for `logins[i]` — the same user by the
    /// same case rule, `None` for an unknown login, the same refusal
    /// ([`Error::Ambiguous`](crate::Error::Ambiguous), …) for a login `get` refuses. A login
    /// given twice is answered twice. The outer error is a failure of the whole call (the
    /// store is unreachable): no login was answered.
    ///
    /// The default asks `get` for each login in turn, stopping at the first source failure
    /// ([`Error::is_source_failure`](crate::Error::is_source_failure)). A store that can read
    /// many rows in one query overrides it (the SQL and in-memory backends do).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use clientele_backend::{CustomerUserSource, CustomerUserWriter, InMemoryBackend};
    /// use clientele_model::{Actor, EmailCheck, NewCustomerUser, Rules};
    ///
    /// let store = InMemoryBackend::new();
    /// let user = NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme.test", "acme")
    ///     .validate(&Rules { map: &store.settings().map, email: &EmailCheck::disabled() })
    ///     .unwrap();
    /// store.add(&user, None, &Actor::System).await.unwrap();
    ///
    /// let found = store.get_many(&["JDOE", "nobody", "jdoe"]).await.unwrap();
    /// let logins: Vec<Option<String>> = found
    ///     .into_iter()
    ///     .map(|r| r.unwrap().map(|u| u.login.into_string()))
    ///     .collect();
    /// assert_eq!(logins, [Some("jdoe".into()), None, Some("jdoe".into())]);
    /// # });
    /// ```
    async fn get_many(&self, logins: &[&str]) -> Result<Vec<Result<Option<CustomerUser>>>> {
        let mut out = Vec::with_capacity(logins.len());
        for login in logins {
            match self.get(login).await {
                Err(e) if e.is_source_failure() => return Err(e),
                answer => out.push(answer),
            }
        }
        Ok(out)
    }

    /// Users matching the query, at most `query.limit`, sorted by login. When more match, which
    /// ones are returned is the store's choice (the limit may be applied before the sort). One
    /// query to the store.
    async fn search(&self, query: &UserQuery) -> Result<Vec<CustomerUser>>;

    /// Like [`search`](Self::search), but each user only as its login and list-field values:
    /// what OTOBO's `CustomerSearch` returns, enough for a result list or an autocomplete.
    /// Same users, same order, same limit as `search`.
    ///
    /// The default runs `search` and keeps those fields. A store that can read fewer columns
    /// (the SQL backend does) overrides it.
    async fn search_list(&self, query: &UserQuery) -> Result<Vec<ListedUser>> {
        let users = self.search(query).await?;
        let settings = self.settings();
        Ok(users.iter().map(|u| ListedUser::of(u, settings)).collect())
    }

    /// Logins matching a detail search, ordered as asked (the login breaks ties).
    async fn search_detail(&self, query: &DetailSearch) -> Result<Vec<Login>>;

    /// The number of users matching a detail search (limit and order ignored).
    async fn count_detail(&self, query: &DetailSearch) -> Result<u64>;

    /// Distinct primary customer ids of the users, optionally filtered by a parsed term over the
    /// customer-id field (OTOBO `CustomerIDList`), sorted case-insensitively.
    async fn customer_id_list(
        &self,
        term: Option<&Expr>,
        valid_only: bool,
    ) -> Result<Vec<CustomerId>>;

    /// Like [`search`](Self::search), and says whether more users matched than
    /// `query.limit` ([`SourcePage::more_matched`]): an honest "there is more" instead of a
    /// list that silently stops at the limit.
    ///
    /// The default asks [`search`](Self::search) for one user more than the limit and keeps
    /// the limit ([`SourcePage::cut`]): still one query to the store. A store that can also
    /// learn it from elsewhere (an LDAP server answering "size limit exceeded" below the
    /// limit) overrides it.
    async fn search_page(&self, query: &UserQuery) -> Result<SourcePage<CustomerUser>> {
        let found = self.search(&one_more(query)).await?;
        Ok(SourcePage::cut(found, query.limit))
    }

    /// [`search_list`](Self::search_list) as a [`SourcePage`]: the same users as
    /// [`search_page`](Self::search_page), as listed users. The default asks `search_list`
    /// for one user more than the limit.
    async fn search_list_page(&self, query: &UserQuery) -> Result<SourcePage<ListedUser>> {
        let found = self.search_list(&one_more(query)).await?;
        Ok(SourcePage::cut(found, query.limit))
    }

    /// One page of a walk over every user, invalid ones included (an export): up to `limit`
    /// users whose stored login sorts after `after` (from the first when `None`), sorted by
    /// login in the store's order. Passing the last login of a page as the next `after` visits
    /// each user once, whatever the source holds, in memory bounded by `limit`.
    ///
    /// The default runs [`search`](Self::search) over every user for each page and keeps the
    /// page (by byte order of the login): right, but it reads the whole source every time. A
    /// store that can seek overrides it with one query per page (the SQL and in-memory backends
    /// do).
    async fn users_after(&self, after: Option<&Login>, limit: usize) -> Result<Vec<CustomerUser>> {
        let every = clientele_model::search::parse_term("*", &self.settings().syntax)?;
        let query = UserQuery {
            fields: clientele_model::search::FieldSet::Login,
            expr: every,
            valid_only: false,
            limit: usize::MAX,
            case_sensitive: self.settings().case_sensitive,
        };
        let mut users: Vec<CustomerUser> = self
            .search(&query)
            .await?
            .into_iter()
            .filter(|u| after.is_none_or(|a| u.login.as_str() > a.as_str()))
            .collect();
        users.sort_by(|a, b| a.login.as_str().cmp(b.login.as_str()));
        users.truncate(limit);
        Ok(users)
    }
}

/// What a limited search found ([`CustomerUserSource::search_page`]): at most the limit of
/// hits, and whether more matched.
///
/// ```
/// use clientele_backend::SourcePage;
///
/// let page = SourcePage::cut(vec!["a", "b", "c"], 2);
/// assert_eq!(page.hits, ["a", "b"]);
/// assert!(page.more_matched);
/// assert!(!SourcePage::cut(vec!["a", "b"], 2).more_matched);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePage<T> {
    /// What the search returns, at most the limit.
    pub hits: Vec<T>,
    /// More matched than the limit: the hits are not everything the search matches.
    pub more_matched: bool,
}

impl<T> SourcePage<T> {
    /// The page of a search that was asked for one row more than `limit` (see
    /// [`fetch_limit`]): the first `limit` rows, and whether there were more.
    pub fn cut(mut rows: Vec<T>, limit: usize) -> SourcePage<T> {
        let more_matched = rows.len() > limit;
        rows.truncate(limit);
        SourcePage {
            hits: rows,
            more_matched,
        }
    }
}

/// How many rows a store is asked for to fill a page of `limit`: one more, which tells
/// [`SourcePage::cut`] that more matched without counting every match.
pub fn fetch_limit(limit: usize) -> usize {
    limit.saturating_add(1)
}

/// The query asking for [`fetch_limit`] rows.
fn one_more(query: &UserQuery) -> UserQuery {
    UserQuery {
        limit: fetch_limit(query.limit),
        ..query.clone()
    }
}

/// One user of a list search ([`CustomerUserSource::search_list`]): the login and the values of
/// the source's list fields.
///
/// ```
/// use clientele_backend::{ListedUser, SourceSettings};
/// use clientele_model::{EmailCheck, NewCustomerUser, Rules};
///
/// let settings = SourceSettings::default();
/// let user = NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme.example", "acme")
///     .validate(&Rules { map: &settings.map, email: &EmailCheck::disabled() })
///     .unwrap();
/// let listed = ListedUser::of(&user, &settings);
/// assert_eq!(listed.login.as_str(), "jdoe");
/// assert_eq!(listed.list_values, ["John", "Doe", "jdoe@acme.example"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedUser {
    /// The stored login.
    pub login: Login,
    /// The user's values of `list_fields`, as [`SourceSettings::list_values`] gives them.
    pub list_values: Vec<String>,
}

impl ListedUser {
    /// The listed form of a whole record.
    pub fn of(user: &CustomerUser, settings: &SourceSettings) -> ListedUser {
        ListedUser {
            login: user.login.clone(),
            list_values: settings.list_values(user),
        }
    }
}

/// What a write is checked against: the version the caller read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Expected {
    /// Write whatever is stored (OTOBO's behaviour).
    #[default]
    Any,
    /// Only write when the stored `changed_at` still equals this value; otherwise
    /// [`Error::Conflict`](crate::Error::Conflict).
    ChangedAt(Option<i64>),
}

/// The write side of a customer-user source.
#[async_trait]
pub trait CustomerUserWriter: Send + Sync {
    /// Stores a new, validated user with an optional password hash. Refuses a taken login (and a
    /// taken email when `email_unique_check` is on) with `AlreadyExists`, atomically.
    ///
    /// The audit values the record carries are stored as given (an import moving users between
    /// databases keeps when and by whom they were created and changed); the missing ones are
    /// stamped: now, and `by`. A record fresh from validation carries none.
    async fn add(&self, user: &CustomerUser, password_hash: Option<&str>, by: &Actor)
    -> Result<()>;

    /// Replaces the stored user `login` with `user` (which may carry a new login: a rename).
    /// Read-only map rows are not written; a source may write only the attributes that differ
    /// from what it stores. `login` is resolved as [`get`](CustomerUserSource::get) resolves it
    /// (`Ambiguous` included). `NotFound` when there is no such user; `Conflict` when
    /// `expected` does not hold; `AlreadyExists` for a taken new login or email.
    async fn update(
        &self,
        login: &Login,
        user: &CustomerUser,
        expected: Expected,
        by: &Actor,
    ) -> Result<()>;

    /// Like [`update`](Self::update); on a rename it may also move the user's relations and
    /// preferences *held by this same store* to the new login, in the same transaction as the
    /// record. Answers whether it did: `false` (the default, which runs `update`) leaves them to
    /// the caller, who moves them through [`RelationStore::rename_user`] and
    /// [`PreferenceStore::rename_preferences`].
    async fn update_renaming(
        &self,
        login: &Login,
        user: &CustomerUser,
        expected: Expected,
        by: &Actor,
    ) -> Result<bool> {
        self.update(login, user, expected, by).await?;
        Ok(false)
    }

    /// Stores a password hash for the user (`NotFound` when there is no such user).
    async fn set_password_hash(&self, login: &Login, hash: &str) -> Result<()>;
}

/// A source that stores password hashes (OTOBO `CustomerAuth::DB`).
#[async_trait]
pub trait PasswordStore: Send + Sync {
    /// The stored login and password hash for a login. The login is compared by the source's
    /// case rule, the same rule lookup uses (SPEC §6.9). `None` when the user is unknown;
    /// `Some((login, None))` when the user exists without a password.
    async fn password_hash(&self, login: &str) -> Result<Option<(Login, Option<String>)>>;
}

/// A source that checks passwords itself, such as an LDAP bind (OTOBO `CustomerAuth::LDAP`).
#[async_trait]
pub trait BindAuthenticator: Send + Sync {
    /// `Ok(true)` when the credentials are right, `Ok(false)` when the user is unknown or the
    /// password wrong (the two must be indistinguishable), `Err` when the source failed.
    async fn bind(&self, login: &str, password: &Password) -> Result<bool>;
}

/// A store of customer companies (OTOBO `CustomerCompany`).
#[async_trait]
pub trait CompanyStore: Send + Sync {
    /// The store's settings.
    fn settings(&self) -> &CompanySettings;
    /// The company with this customer id (case rule of the settings), resolved among case
    /// variants as [`CustomerUserSource::get`] resolves a login.
    async fn company(&self, customer_id: &str) -> Result<Option<CustomerCompany>>;
    /// Companies matching the query, sorted by customer id.
    async fn search_companies(&self, query: &CompanyQuery) -> Result<Vec<CustomerCompany>>;
    /// Stores a new, validated company; `AlreadyExists` for a taken id or name. Audit values the
    /// record carries are kept, the missing ones stamped, as [`CustomerUserWriter::add`] does.
    async fn add_company(&self, company: &CustomerCompany, by: &Actor) -> Result<()>;
    /// Replaces a company's data; `NotFound` when missing, `AlreadyExists` for a taken name.
    async fn update_company(&self, company: &CustomerCompany, by: &Actor) -> Result<()>;
}

/// A group customers can be granted permissions on (OTOBO `groups_table`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Group {
    /// Its id.
    pub id: GroupId,
    /// Unique name.
    pub name: String,
    /// Only valid groups count for permissions.
    pub validity: Validity,
    /// The administrator's comment (OTOBO `comments`); `None` when empty.
    #[serde(default)]
    pub comment: Option<String>,
}

/// A service customers may request (OTOBO `service`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Service {
    /// Numeric id.
    pub id: i64,
    /// Unique full name: a child's name starts with its parent's and `::` (OTOBO's
    /// `Parent::Child`; see [`clientele_model::catalog`]).
    pub name: String,
    /// Only valid services count.
    pub validity: Validity,
    /// The administrator's comment (OTOBO `comments`); `None` when empty.
    #[serde(default)]
    pub comment: Option<String>,
}

/// Changes to a group or a service ([`RelationStore::update_group`],
/// [`RelationStore::update_service`]): what is set is written, the rest stays.
///
/// ```
/// use clientele_backend::CatalogChanges;
/// use clientele_model::Validity;
///
/// let changes = CatalogChanges::new().rename("Mail").validity(Validity::Invalid);
/// assert_eq!(changes.name.as_deref(), Some("Mail"));
/// assert_eq!(changes.comment, None, "the comment stays");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CatalogChanges {
    /// A new name (for a service, the new full name).
    pub name: Option<String>,
    /// A new comment; `Some(None)` clears it.
    pub comment: Option<Option<String>>,
    /// A new validity.
    pub validity: Option<Validity>,
}

impl CatalogChanges {
    /// No change.
    pub fn new() -> Self {
        Self::default()
    }

    /// Renames the group or service.
    pub fn rename(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the comment (`None` or an empty text clears it).
    pub fn comment(mut self, comment: Option<String>) -> Self {
        self.comment = Some(comment.filter(|c| !c.is_empty()));
        self
    }

    /// Sets the validity.
    pub fn validity(mut self, validity: Validity) -> Self {
        self.validity = Some(validity);
        self
    }

    /// Nothing is to change.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.comment.is_none() && self.validity.is_none()
    }
}

/// One stored grant row of a customer user (OTOBO `group_customer_user` with value 1).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserGrant {
    /// The login.
    pub login: String,
    /// The group.
    pub group_id: GroupId,
    /// The permission key (`ro`, `rw`, `move_into`, …) as stored.
    pub permission: Stored<PermissionType>,
}

/// One stored grant row of a company (OTOBO `group_customer` with value 1).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CompanyGrant {
    /// The customer id.
    pub customer_id: String,
    /// The group.
    pub group_id: GroupId,
    /// The permission key as stored.
    pub permission: Stored<PermissionType>,
    /// The context (`Ticket::CustomerID::Same`, `Ticket::CustomerID::Other`, …) as stored.
    pub context: Stored<PermissionContext>,
}

/// Every stored grant and relation, loaded at once to build the permission matrix.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RelationSnapshot {
    /// All groups.
    pub groups: Vec<Group>,
    /// All user grants.
    pub user_grants: Vec<UserGrant>,
    /// All company grants.
    pub company_grants: Vec<CompanyGrant>,
    /// All user ↔ company relations (login, customer id).
    pub user_companies: Vec<(String, String)>,
}

/// How a grant write changes a stored permission set ([`RelationStore::change_user_grant`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrantChange {
    /// The set becomes exactly the given types (none: everything is revoked).
    Replace,
    /// The given types are added; the others stay.
    Add,
    /// The given types are removed; the others stay.
    Remove,
}

/// The pseudo-login OTOBO stores default services under.
pub const DEFAULT_SERVICES_LOGIN: &str = "<DEFAULT>";

/// Relations: user ↔ company, grants on groups, services.
///
/// Logins here are the stored logins (the Directory resolves case before calling).
#[async_trait]
pub trait RelationStore: Send + Sync {
    /// Relates a user to an extra company (`active`) or removes the relation. Idempotent.
    async fn set_user_company(
        &self,
        login: &str,
        customer_id: &str,
        active: bool,
        by: &Actor,
    ) -> Result<()>;
    /// The extra companies of a user, sorted by customer id.
    async fn user_companies(&self, login: &str) -> Result<Vec<CustomerId>>;
    /// The users related to a company, sorted by login.
    async fn company_users(&self, customer_id: &str) -> Result<Vec<Login>>;
    /// Renames a user in every relation (after a login change).
    async fn rename_user(&self, old: &str, new: &str) -> Result<()>;

    /// Adds a group; `AlreadyExists` for a taken name.
    async fn add_group(&self, name: &str, validity: Validity, by: &Actor) -> Result<Group>;
    /// Changes a group's validity.
    async fn set_group_validity(&self, group_id: GroupId, validity: Validity) -> Result<()>;
    /// All groups, by id.
    async fn groups(&self) -> Result<Vec<Group>>;
    /// Changes the permission set of (user, group) as `change` says, in one step of the store:
    /// two concurrent adds of different types both land, and no write is lost. `NotFound` for
    /// an unknown group.
    async fn change_user_grant(
        &self,
        login: &str,
        group_id: GroupId,
        change: GrantChange,
        permissions: &[PermissionType],
        by: &Actor,
    ) -> Result<()>;
    /// Changes the permission set of (company, group, context) as `change` says, in one step
    /// of the store.
    async fn change_company_grant(
        &self,
        customer_id: &str,
        group_id: GroupId,
        context: &PermissionContext,
        change: GrantChange,
        permissions: &[PermissionType],
        by: &Actor,
    ) -> Result<()>;
    /// Replaces the permission set of (user, group) with `permissions` (empty = revoke all).
    async fn set_user_grant(
        &self,
        login: &str,
        group_id: GroupId,
        permissions: &[PermissionType],
        by: &Actor,
    ) -> Result<()> {
        self.change_user_grant(login, group_id, GrantChange::Replace, permissions, by)
            .await
    }
    /// Replaces the permission set of (company, group, context).
    async fn set_company_grant(
        &self,
        customer_id: &str,
        group_id: GroupId,
        context: &PermissionContext,
        permissions: &[PermissionType],
        by: &Actor,
    ) -> Result<()> {
        self.change_company_grant(
            customer_id,
            group_id,
            context,
            GrantChange::Replace,
            permissions,
            by,
        )
        .await
    }
    /// Everything needed to build the permission matrix, in one call.
    async fn relation_snapshot(&self) -> Result<RelationSnapshot>;

    /// The stored grant rows (with value 1) of one user, exactly this login: what another
    /// instance's [`Change::UserGrants`](crate::changes::Change::UserGrants) makes a Directory
    /// read again. The default filters [`relation_snapshot`](Self::relation_snapshot), which is
    /// right but reads everything; stores answer it with one narrow read.
    async fn user_grants_of(&self, login: &str) -> Result<Vec<UserGrant>> {
        let snapshot = self.relation_snapshot().await?;
        Ok(snapshot
            .user_grants
            .into_iter()
            .filter(|g| g.login == login)
            .collect())
    }

    /// The stored grant rows (with value 1) of one company in every context, exactly this
    /// customer id (see [`user_grants_of`](Self::user_grants_of)).
    async fn company_grants_of(&self, customer_id: &str) -> Result<Vec<CompanyGrant>> {
        let snapshot = self.relation_snapshot().await?;
        Ok(snapshot
            .company_grants
            .into_iter()
            .filter(|g| g.customer_id == customer_id)
            .collect())
    }

    /// Adds a service; `AlreadyExists` for a taken name. A child (`Email::Outbound`) needs its
    /// parent (`Email`): `NotFound` naming the parent otherwise, checked in the same step as
    /// the insert.
    async fn add_service(&self, name: &str, validity: Validity, by: &Actor) -> Result<Service>;
    /// All services, by id.
    async fn services(&self) -> Result<Vec<Service>>;
    /// Assigns a service to a login (or to [`DEFAULT_SERVICES_LOGIN`]) or removes it. Idempotent.
    async fn set_user_service(
        &self,
        login: &str,
        service_id: i64,
        active: bool,
        by: &Actor,
    ) -> Result<()>;
    /// The *valid* services assigned to exactly this login (no default fallback), by id.
    async fn user_services(&self, login: &str) -> Result<Vec<Service>>;

    /// The logins a service is assigned to (OTOBO `CustomerUserServiceMemberList` by
    /// `ServiceID`), [`DEFAULT_SERVICES_LOGIN`] among them when it is a default service, sorted
    /// and without repeats, whatever the service's validity. `NotFound` for an unknown service.
    async fn service_users(&self, service_id: i64) -> Result<Vec<String>>;

    /// Changes a group's name, comment or validity in one step and returns the group as
    /// stored. `NotFound` for an unknown group; `AlreadyExists` for a taken name.
    async fn update_group(
        &self,
        group_id: GroupId,
        changes: &CatalogChanges,
        by: &Actor,
    ) -> Result<Group>;

    /// Changes a service's name, comment or validity and returns the service as stored. A new
    /// name renames every descendant with it (`Email` → `Mail` makes `Email::Outbound`
    /// `Mail::Outbound`) in the same transaction: no reader or writer sees a half-renamed tree.
    /// The new name's parent must exist (`NotFound` naming the parent otherwise), and the new
    /// names must be free (`AlreadyExists`) and valid
    /// ([`check_service_rename`](clientele_model::catalog::check_service_rename)).
    /// `NotFound` for an unknown service.
    async fn update_service(
        &self,
        service_id: i64,
        changes: &CatalogChanges,
        by: &Actor,
    ) -> Result<Service>;

    /// Every service assignment, valid services or not, default services (under
    /// [`DEFAULT_SERVICES_LOGIN`]) included, as (login, service id) sorted by login, then id:
    /// what an export carries. One query to the store.
    async fn service_assignments(&self) -> Result<Vec<(String, i64)>>;

    /// The audit values (creation and last change, time and agent) of every stored group,
    /// service, user ↔ company relation, grant row (with value 1) and service assignment, by
    /// natural key: what an export carries beside the rows themselves. A store that keeps no
    /// such values answers an empty list (the default).
    async fn relation_audits(&self) -> Result<Vec<(RelationRow, Audit)>> {
        Ok(Vec::new())
    }

    /// Writes recorded audit values onto one stored row, as the import of an export does after
    /// writing the row: each value the audit has replaces the stored one, a `None` leaves it.
    /// `Ok(false)` when no such row is stored, or the store keeps no audit values (the default).
    async fn restore_relation_audit(&self, row: &RelationRow, audit: &Audit) -> Result<bool> {
        let _ = (row, audit);
        Ok(false)
    }
}

/// One stored relation row by its natural key, as stored (exact text, the store's ids): what
/// [`RelationStore::relation_audits`] reports audit values for.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RelationRow {
    /// A group, by name.
    Group {
        /// Its name.
        name: String,
    },
    /// A service, by its full name.
    Service {
        /// Its full name (`Parent::Child`).
        name: String,
    },
    /// A user's relation to a company besides the primary one (OTOBO `customer_user_customer`).
    UserCompany {
        /// The login.
        login: String,
        /// The customer id.
        customer_id: String,
    },
    /// One stored user grant row (OTOBO `group_customer_user`).
    UserGrant {
        /// The login.
        login: String,
        /// The group.
        group_id: GroupId,
        /// The permission key as stored.
        permission: String,
    },
    /// One stored company grant row (OTOBO `group_customer`).
    CompanyGrant {
        /// The customer id.
        customer_id: String,
        /// The group.
        group_id: GroupId,
        /// The permission key as stored.
        permission: String,
        /// The context as stored.
        context: String,
    },
    /// A service assignment (OTOBO `service_customer_user`; default services under
    /// [`DEFAULT_SERVICES_LOGIN`]). OTOBO keeps only its creation here.
    UserService {
        /// The login.
        login: String,
        /// The service.
        service_id: i64,
    },
}

/// Per-user preferences (OTOBO `customer_preferences`): always writable, even for users of a
/// read-only source.
#[async_trait]
pub trait PreferenceStore: Send + Sync {
    /// All preferences of a login.
    async fn preferences(&self, login: &str) -> Result<BTreeMap<String, String>>;
    /// Sets one preference (replacing an old value).
    async fn set_preference(&self, login: &str, key: &str, value: &str) -> Result<()>;
    /// Removes one preference.
    async fn delete_preference(&self, login: &str, key: &str) -> Result<()>;
    /// Logins whose preference `key` equals `value` (or that have `key` at all when `None`).
    async fn search_preferences(
        &self,
        key: &str,
        value: Option<&str>,
    ) -> Result<Vec<(String, String)>>;
    /// Moves every preference from `old` to `new` (after a rename).
    async fn rename_preferences(&self, old: &str, new: &str) -> Result<()>;
    /// Atomically removes preference `key` when it currently equals `expected`; `true` when it
    /// did (one-time tokens: two concurrent checks cannot both succeed).
    async fn take_preference(&self, login: &str, key: &str, expected: &str) -> Result<bool>;

    /// One page of a walk over every stored preference (an export): up to `limit` of them as
    /// (login, key, value), sorted by login, then key, starting after the (login, key) pair
    /// `after` (from the first when `None`). One query to the store.
    async fn preferences_after(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, String)>>;
}

/// One customer user for a bulk write ([`BulkWriter`]): a validated record and, optionally, its
/// password hash (as [`PasswordStore`] stores it; hash it beforehand, or leave it out and set a
/// password later).
#[derive(Clone, Debug)]
pub struct ImportRow {
    /// The record, validated against the source's attribute map.
    pub user: CustomerUser,
    /// The stored password hash; `None` stores no password (the user cannot log in until one
    /// is set).
    pub password_hash: Option<String>,
}

impl ImportRow {
    /// A row without a password.
    pub fn new(user: CustomerUser) -> ImportRow {
        ImportRow {
            user,
            password_hash: None,
        }
    }

    /// The same row with this (already hashed) password.
    pub fn with_password_hash(mut self, hash: impl Into<String>) -> ImportRow {
        self.password_hash = Some(hash.into());
        self
    }
}

/// A row that was not written, by its position in the input.
#[derive(Debug)]
pub struct RejectedRow {
    /// The row's index in the slice given to the write.
    pub index: usize,
    /// Why: for a store, [`Error::AlreadyExists`](crate::Error::AlreadyExists) naming the
    /// login or email that is taken; through a Directory, also what validation refused.
    pub error: crate::Error,
}

/// What a bulk write did.
#[derive(Debug, Default)]
pub struct ImportReport {
    /// Rows written.
    pub inserted: usize,
    /// Rows not written, in input order.
    pub rejected: Vec<RejectedRow>,
}

/// Adds the rows one [`CustomerUserWriter::add`] at a time, with a bulk writer's report: a
/// taken login or email is a rejected row, any other error ends the run. What a store without
/// a faster way answers for [`BulkWriter::add_many`], and what a Directory does for a source
/// that has no bulk writer.
pub async fn add_each(
    writer: &(impl CustomerUserWriter + ?Sized),
    rows: &[ImportRow],
    by: &Actor,
) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    for (index, row) in rows.iter().enumerate() {
        match writer
            .add(&row.user, row.password_hash.as_deref(), by)
            .await
        {
            Ok(()) => report.inserted += 1,
            Err(error @ crate::Error::AlreadyExists { .. }) => {
                report.rejected.push(RejectedRow { index, error })
            }
            Err(error) => return Err(error),
        }
    }
    Ok(report)
}

/// The optional bulk capability of a writable source: many new users at once, the path behind
/// an import. A source without it is written one [`CustomerUserWriter::add`] at a time.
#[async_trait]
pub trait BulkWriter: Send + Sync {
    /// Adds every row as [`CustomerUserWriter::add`] would — the same uniqueness rules for
    /// login and email, the same audit columns (kept where the record carries them) — in as few
    /// statements as the store allows.
    /// A row whose login or email is taken (by a stored user or an earlier row) is reported in
    /// [`ImportReport::rejected`], never silently dropped; a row is never updated. Rows already
    /// written stay written when a later batch fails with an error.
    async fn add_many(&self, rows: &[ImportRow], by: &Actor) -> Result<ImportReport>;
}
