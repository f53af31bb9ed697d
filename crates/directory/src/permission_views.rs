//! Permission views from both ends (OTOBO's "Customer Users ↔ Groups" and "Customers ↔
//! Groups" screens): where each of a user's permissions comes from, who holds which grant on a
//! group, who effectively has each type on it, and the ticket access filter a host turns into
//! its own ticket query.
//!
//! Every answer comes from the same permission matrix as
//! [`Directory::has_permission`]: a user listed as an effective member of a group for a type
//! is exactly a user for whom `has_permission` says yes.

use std::collections::BTreeSet;
use std::fmt;

use clientele_backend::error::{Entity, Error, Result};
use clientele_model::permission::{GroupId, Stored};
use clientele_model::search::{DetailSearch, FieldCondition, Part, Pattern};
use clientele_model::{Login, keys};
use clientele_permissions::{Origin, PermissionMatrix, PermissionSet, TicketAccessFilter};
use futures_util::future::join_all;
use serde::Serialize;

use crate::Directory;
use crate::access::{known_type, type_names};

/// Where a customer user's permissions on a group come from, with the types each origin
/// gives (`rw` expanded, in configured order).
///
/// In JSON it is tagged by `source`: `direct`, `company` (with `customer_id` and `context`),
/// `always_group`, `company_always_group` or `support_off`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum PermissionOrigin {
    /// The user's own grant (OTOBO `group_customer_user`).
    Direct {
        /// The types it gives.
        permissions: Vec<String>,
    },
    /// A grant of one of the user's customer ids (primary, secondary or related company) in
    /// the "same customer" context (OTOBO `group_customer`).
    Company {
        /// The company's customer id.
        customer_id: String,
        /// The grant's context (`Ticket::CustomerID::Same`).
        context: String,
        /// The types it gives.
        permissions: Vec<String>,
    },
    /// The group is a user always-group (OTOBO `CustomerGroupAlwaysGroups`).
    AlwaysGroup {
        /// Every configured type.
        permissions: Vec<String>,
    },
    /// The group is a company always-group (OTOBO `CustomerGroupCompanyAlwaysGroups`) and the
    /// user has a customer id.
    CompanyAlwaysGroup {
        /// Every configured type.
        permissions: Vec<String>,
    },
    /// Customer-group support is off (OTOBO `CustomerGroupSupport = 0`).
    SupportOff {
        /// Every configured type.
        permissions: Vec<String>,
    },
}

impl PermissionOrigin {
    fn of(m: &PermissionMatrix, origin: &Origin<'_>) -> Self {
        let permissions = type_names(m, origin.permissions(m.all_types()));
        match origin {
            Origin::Direct(_) => PermissionOrigin::Direct { permissions },
            Origin::Company {
                customer_id,
                context,
                ..
            } => PermissionOrigin::Company {
                customer_id: (*customer_id).to_owned(),
                context: context.to_string(),
                permissions,
            },
            Origin::AlwaysGroup => PermissionOrigin::AlwaysGroup { permissions },
            Origin::CompanyAlwaysGroup => PermissionOrigin::CompanyAlwaysGroup { permissions },
            Origin::SupportOff => PermissionOrigin::SupportOff { permissions },
        }
    }

    /// The types this origin gives.
    pub fn permissions(&self) -> &[String] {
        match self {
            PermissionOrigin::Direct { permissions }
            | PermissionOrigin::Company { permissions, .. }
            | PermissionOrigin::AlwaysGroup { permissions }
            | PermissionOrigin::CompanyAlwaysGroup { permissions }
            | PermissionOrigin::SupportOff { permissions } => permissions,
        }
    }
}

/// `direct grant`, `company acme (context Ticket::CustomerID::Same)`, `always-group`,
/// `company always-group` or `customer-group support off`.
impl fmt::Display for PermissionOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PermissionOrigin::Direct { .. } => f.write_str("direct grant"),
            PermissionOrigin::Company {
                customer_id,
                context,
                ..
            } => write!(f, "company {customer_id} (context {context})"),
            PermissionOrigin::AlwaysGroup { .. } => f.write_str("always-group"),
            PermissionOrigin::CompanyAlwaysGroup { .. } => f.write_str("company always-group"),
            PermissionOrigin::SupportOff { .. } => f.write_str("customer-group support off"),
        }
    }
}

/// One row of a user's effective permissions with their origins: an
/// [`EffectivePermission`](crate::EffectivePermission) that also says where each type comes
/// from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ExplainedPermission {
    /// The group's name.
    pub group: String,
    /// The types the user has on it, in configured order.
    pub effective: Vec<String>,
    /// The types granted to the user directly.
    pub direct: Vec<String>,
    /// Where the types come from; united, their types are `effective`.
    pub origins: Vec<PermissionOrigin>,
}

/// A direct grant on a group, as stored ([`GroupMembers::users`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GrantedUser {
    /// The login the grant is stored for.
    pub login: String,
    /// The stored types, in configured order (`rw` not expanded).
    pub permissions: Vec<String>,
}

/// A company grant on a group in one context, as stored ([`GroupMembers::companies`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GrantedCompany {
    /// The company's customer id.
    pub customer_id: String,
    /// The context (`Ticket::CustomerID::Same`, `Ticket::CustomerID::Other`, …).
    pub context: String,
    /// The stored types, in configured order (`rw` not expanded).
    pub permissions: Vec<String>,
}

/// Who holds which grant on a group (OTOBO `GroupMemberList(GroupID, RawPermissions => 1)`
/// and `GroupCustomerList(GroupID)` per context): the stored grants, before any rule applies.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupMembers {
    /// The group's name.
    pub group: String,
    /// Its id.
    pub group_id: GroupId,
    /// Only a valid group gives permissions.
    pub valid: bool,
    /// OTOBO `CustomerGroupSupport`; when off, grants are kept but every user has everything.
    pub customer_group_support: bool,
    /// A user always-group: every valid customer user has every type on it.
    pub always_group: bool,
    /// A company always-group: every valid customer user with a customer id has every type.
    pub company_always_group: bool,
    /// The direct grants, by login.
    pub users: Vec<GrantedUser>,
    /// The company grants, by customer id and context.
    pub companies: Vec<GrantedCompany>,
}

/// Why every valid customer user has every type on a group
/// ([`EffectiveGroupMembers::every_valid_user`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EveryValidUser {
    /// The group is a user always-group.
    AlwaysGroup,
    /// Customer-group support is off.
    SupportOff,
}

/// A customer user who effectively has permissions on a group through grants
/// ([`EffectiveGroupMembers::members`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EffectiveMember {
    /// The stored login.
    pub login: String,
    /// The types the user has through its grants, in configured order.
    pub permissions: Vec<String>,
    /// Where they come from: its direct grant and the grants of its companies.
    pub origins: Vec<PermissionOrigin>,
}

/// Who effectively has each permission type on a group, and why.
///
/// A valid customer user has type `T` on the group exactly when
/// * [`every_valid_user`](Self::every_valid_user) is set, or
/// * [`every_valid_user_with_customer_id`](Self::every_valid_user_with_customer_id) is set
///   and the user has a customer id, or
/// * it is listed in [`members`](Self::members) with `T`.
///
/// Always-groups are reported as such, never enumerated: when `every_valid_user` is set,
/// `members` is empty. Invalid users are never listed (OTOBO's reverse query drops them too),
/// although [`Directory::has_permission`] answers for them as OTOBO's `PermissionCheck` does.
///
/// Unlike OTOBO's `GroupMemberList(GroupID)`, which finds company members through their
/// primary customer id only, every customer id counts here (secondary and related companies
/// too), as it does for the user's own view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EffectiveGroupMembers {
    /// The group's name.
    pub group: String,
    /// Its id.
    pub group_id: GroupId,
    /// An invalid group gives no one anything: nothing else is set.
    pub valid: bool,
    /// OTOBO `CustomerGroupSupport`.
    pub customer_group_support: bool,
    /// Set when every valid customer user has every type on the group.
    pub every_valid_user: Option<EveryValidUser>,
    /// Set when every valid customer user with a customer id has every type on the group (a
    /// company always-group).
    pub every_valid_user_with_customer_id: bool,
    /// Valid users with permissions through their own or their companies' grants, by login.
    pub members: Vec<EffectiveMember>,
}

impl EffectiveGroupMembers {
    /// The listed member with this stored login.
    pub fn member(&self, login: &str) -> Option<&EffectiveMember> {
        self.members.iter().find(|m| m.login == login)
    }
}

impl Directory {
    /// The user's effective permissions with where each comes from: the rows of
    /// [`effective_permissions`](Self::effective_permissions), each with its
    /// [`PermissionOrigin`]s (direct grant, a company in a context, an always-group, or
    /// customer-group support being off).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use clientele_backend::InMemoryBackend;
    /// use clientele_directory::{Directory, DirectoryConfig, PermissionOrigin};
    /// use clientele_model::{NewCustomerCompany, NewCustomerUser};
    /// use clientele_permissions::PermissionConfig;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let config = DirectoryConfig {
    ///     permissions: PermissionConfig { customer_group_support: true, ..Default::default() },
    ///     ..Default::default()
    /// };
    /// let dir = Directory::in_memory_with(Arc::new(InMemoryBackend::new()), config)?;
    /// dir.add_company(NewCustomerCompany::new("acme", "Acme"), "admin").await?;
    /// dir.add_customer_user(NewCustomerUser::new("anna", "Anna", "A", "anna@acme.test", "acme"), "admin").await?;
    /// dir.add_group("billing", "admin").await?;
    /// dir.grant_company("acme", "billing", "Ticket::CustomerID::Same", &["ro"], "admin").await?;
    ///
    /// let rows = dir.effective_permissions_with_origins("anna").await?;
    /// let billing = rows.iter().find(|r| r.group == "billing").unwrap();
    /// assert_eq!(billing.effective, ["ro"]);
    /// assert_eq!(billing.origins[0].to_string(), "company acme (context Ticket::CustomerID::Same)");
    /// # Ok::<(), clientele_backend::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn effective_permissions_with_origins(
        &self,
        login: &str,
    ) -> Result<Vec<ExplainedPermission>> {
        let (m, stored) = self.matrix_for(login).await?;
        let mut out = Vec::new();
        for g in self.groups().await? {
            let effective = m.effective(&stored, g.id);
            if effective.is_empty() {
                continue;
            }
            out.push(ExplainedPermission {
                group: g.name,
                effective: type_names(&m, effective),
                direct: type_names(&m, m.raw(&stored, g.id)),
                origins: m
                    .origins(&stored, g.id)
                    .iter()
                    .map(|o| PermissionOrigin::of(&m, o))
                    .collect(),
            });
        }
        Ok(out)
    }

    /// Who holds which grant on a group, as stored: users with direct grants and their types,
    /// companies with their grants per context, and whether the group is an always-group
    /// (OTOBO `GroupMemberList(GroupID, RawPermissions => 1)` and `GroupCustomerList(GroupID)`).
    ///
    /// Grants in a type or context the configuration does not know are left out (they grant
    /// nothing; [`unknown_grants`](Self::unknown_grants) lists them).
    pub async fn group_members(&self, group: &str) -> Result<GroupMembers> {
        let g = self.group(group).await?;
        let m = self.permission_matrix().await?;
        let snapshot = self.relation_snapshot().await?;
        let mut users: Vec<(String, Vec<&str>)> = Vec::new();
        for grant in snapshot.user_grants.iter().filter(|r| r.group_id == g.id) {
            if let Stored::Known(t) = &grant.permission {
                match users.iter_mut().find(|(l, _)| *l == grant.login) {
                    Some((_, types)) => types.push(t.as_str()),
                    None => users.push((grant.login.clone(), vec![t.as_str()])),
                }
            }
        }
        let mut companies: Vec<(String, String, Vec<&str>)> = Vec::new();
        for grant in snapshot
            .company_grants
            .iter()
            .filter(|r| r.group_id == g.id)
        {
            if let (Stored::Known(t), Stored::Known(c)) = (&grant.permission, &grant.context) {
                let context = c.to_string();
                let found = companies
                    .iter_mut()
                    .find(|(id, ctx, _)| *id == grant.customer_id && *ctx == context);
                match found {
                    Some((_, _, types)) => types.push(t.as_str()),
                    None => companies.push((grant.customer_id.clone(), context, vec![t.as_str()])),
                }
            }
        }
        users.sort();
        companies.sort();
        let stored_names = |types: &[&str]| -> Result<Vec<String>> {
            let set = m
                .permission_set(types)
                .map_err(|e| Error::backend_failure("permissions", e))?;
            Ok(set
                .names(m.types())
                .map(|t| t.as_str().to_owned())
                .collect())
        };
        Ok(GroupMembers {
            group: g.name,
            group_id: g.id,
            valid: g.validity.is_valid(),
            customer_group_support: m.customer_group_support(),
            always_group: m.is_always_group(g.id),
            company_always_group: m.is_company_always_group(g.id),
            users: users
                .iter()
                .map(|(login, types)| {
                    Ok(GrantedUser {
                        login: login.clone(),
                        permissions: stored_names(types)?,
                    })
                })
                .collect::<Result<_>>()?,
            companies: companies
                .iter()
                .map(|(customer_id, context, types)| {
                    Ok(GrantedCompany {
                        customer_id: customer_id.clone(),
                        context: context.clone(),
                        permissions: stored_names(types)?,
                    })
                })
                .collect::<Result<_>>()?,
        })
    }

    /// Who effectively has each permission type on a group, each with where it comes from;
    /// always-groups and customer-group support being off are reported as "every valid user",
    /// never enumerated (see [`EffectiveGroupMembers`]).
    ///
    /// The candidates are the users with a direct grant and the users of every company with a
    /// "same customer" grant on the group: by primary customer id (one detail search per
    /// source), by relation, and by secondary customer ids where a source stores them. Each
    /// candidate is then answered by the permission matrix, so the list agrees with
    /// [`has_permission`](Self::has_permission).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use clientele_backend::InMemoryBackend;
    /// use clientele_directory::{Directory, DirectoryConfig};
    /// use clientele_model::{NewCustomerCompany, NewCustomerUser};
    /// use clientele_permissions::PermissionConfig;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let config = DirectoryConfig {
    ///     permissions: PermissionConfig { customer_group_support: true, ..Default::default() },
    ///     ..Default::default()
    /// };
    /// let dir = Directory::in_memory_with(Arc::new(InMemoryBackend::new()), config)?;
    /// dir.add_company(NewCustomerCompany::new("acme", "Acme"), "admin").await?;
    /// dir.add_customer_user(NewCustomerUser::new("anna", "Anna", "A", "anna@acme.test", "acme"), "admin").await?;
    /// dir.add_group("users", "admin").await?;
    /// dir.add_group("billing", "admin").await?;
    /// dir.grant_company("acme", "billing", "Ticket::CustomerID::Same", &["rw"], "admin").await?;
    ///
    /// let billing = dir.effective_group_members("billing").await?;
    /// assert_eq!(billing.members[0].login, "anna");
    /// assert_eq!(billing.members[0].permissions, ["ro", "rw"]);
    /// assert!(billing.every_valid_user.is_none());
    /// // "users" is the default always-group: everyone, not a list.
    /// let users = dir.effective_group_members("users").await?;
    /// assert!(users.every_valid_user.is_some() && users.members.is_empty());
    /// # Ok::<(), clientele_backend::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn effective_group_members(&self, group: &str) -> Result<EffectiveGroupMembers> {
        let g = self.group(group).await?;
        let m = self.permission_matrix().await?;
        let mut out = EffectiveGroupMembers {
            group: g.name,
            group_id: g.id,
            valid: m.group_valid(g.id) == Some(true),
            customer_group_support: m.customer_group_support(),
            every_valid_user: None,
            every_valid_user_with_customer_id: false,
            members: Vec::new(),
        };
        if !out.valid {
            return Ok(out);
        }
        if !m.customer_group_support() {
            out.every_valid_user = Some(EveryValidUser::SupportOff);
            return Ok(out);
        }
        if m.is_always_group(g.id) {
            out.every_valid_user = Some(EveryValidUser::AlwaysGroup);
            return Ok(out);
        }
        out.every_valid_user_with_customer_id = m.is_company_always_group(g.id);
        let mut seen = BTreeSet::new();
        for login in self.member_candidates(&m, g.id).await? {
            let (m, user) = match self.matrix_with_user(&login).await {
                Ok(found) => found,
                // A grant stored for a login no source has: no one to list.
                Err(Error::NotFound {
                    entity: Entity::CustomerUser,
                    ..
                }) => continue,
                Err(e) => return Err(e),
            };
            let stored = user.login.as_str();
            if !user.validity.is_valid() || !seen.insert(stored.to_owned()) {
                continue;
            }
            let origins: Vec<Origin<'_>> = m
                .origins(stored, g.id)
                .into_iter()
                .filter(|o| !o.is_implicit())
                .collect();
            let set = origins.iter().fold(PermissionSet::EMPTY, |acc, o| {
                acc | o.permissions(m.all_types())
            });
            if set.is_empty() {
                continue;
            }
            out.members.push(EffectiveMember {
                login: stored.to_owned(),
                permissions: type_names(&m, set),
                origins: origins
                    .iter()
                    .map(|o| PermissionOrigin::of(&m, o))
                    .collect(),
            });
        }
        out.members.sort_by(|a, b| a.login.cmp(&b.login));
        Ok(out)
    }

    /// Everyone who might hold a grant on the group, directly or through a company (a
    /// superset; the matrix decides).
    async fn member_candidates(&self, m: &PermissionMatrix, group: GroupId) -> Result<Vec<String>> {
        let mut out: Vec<String> = m
            .direct_grantees(group)
            .filter(|(_, set)| !set.is_empty())
            .map(|(login, _)| login.to_owned())
            .collect();
        let companies: Vec<String> = m
            .same_customer_grantees(group)
            .filter(|(_, set)| !set.is_empty())
            .map(|(id, _)| id.to_owned())
            .collect();
        if companies.is_empty() {
            return Ok(out);
        }
        let mut searches = vec![DetailSearch {
            customer_ids: companies.clone(),
            valid_only: true,
            ..DetailSearch::default()
        }];
        let secondary_ids_stored = self
            .inner
            .slots
            .iter()
            .any(|s| s.settings().map.by_key(keys::CUSTOMER_IDS).is_some());
        if secondary_ids_stored {
            // The stored list holds the id somewhere; the matrix sorts out near misses.
            searches.extend(companies.iter().map(|id| DetailSearch {
                conditions: vec![FieldCondition {
                    attribute: keys::CUSTOMER_IDS.to_owned(),
                    pattern: Pattern::new([
                        Part::Wildcard,
                        Part::Literal(id.clone()),
                        Part::Wildcard,
                    ]),
                }],
                valid_only: true,
                ..DetailSearch::default()
            }));
        }
        for search in &searches {
            out.extend(
                self.logins_in_every_source(search)
                    .await?
                    .into_iter()
                    .map(Login::into_string),
            );
        }
        if let Some(relations) = &self.inner.relations {
            for id in &companies {
                out.extend(
                    relations
                        .company_users(id)
                        .await?
                        .into_iter()
                        .map(Login::into_string),
                );
            }
        }
        Ok(out)
    }

    /// The logins each source finds for a detail search, unmerged and unsorted.
    async fn logins_in_every_source(&self, search: &DetailSearch) -> Result<Vec<Login>> {
        let answers = join_all(
            self.inner
                .slots
                .iter()
                .map(|slot| slot.source.reader.search_detail(search)),
        )
        .await;
        let mut out = Vec::new();
        for found in answers {
            out.extend(found?);
        }
        Ok(out)
    }

    /// What a customer user may see of the tickets with permission `type_name`, as lists a
    /// host puts into its own ticket query instead of calling
    /// [`can_access_ticket`](Self::can_access_ticket) per row: the groups the user has the type
    /// on, its customer ids, and the groups it reaches through the "other customers" context,
    /// combined by the configured rules (see [`TicketAccessFilter`]). For every ticket,
    /// `filter.matches(ticket)` equals `can_access_ticket`.
    ///
    /// With OTOBO's default rules a ticket is visible when its queue's group is in
    /// `group_ids` **and** (its customer user is the user, or its customer id is one of
    /// `customer_ids`, or its queue's group is in `other_context_group_ids`). On SQLite, with
    /// the lists bound as JSON arrays (`serde_json::to_string(&filter.group_ids)`):
    ///
    #[doc = concat!("```sql\n", include_str!("ticket_access_filter.sql"), "```")]
    ///
    /// On PostgreSQL bind arrays and write `t.queue_group_id = ANY($1)` and
    /// `LOWER(t.customer_id) = ANY($3)` with the ids lower-cased. SQLite's `LOWER` folds ASCII
    /// letters only; Clientele compares customer ids and logins ignoring Unicode case.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use clientele_backend::InMemoryBackend;
    /// use clientele_directory::{Directory, DirectoryConfig};
    /// use clientele_model::{NewCustomerCompany, NewCustomerUser};
    /// use clientele_permissions::{PermissionConfig, Ticket};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let config = DirectoryConfig {
    ///     permissions: PermissionConfig { customer_group_support: true, ..Default::default() },
    ///     ..Default::default()
    /// };
    /// let dir = Directory::in_memory_with(Arc::new(InMemoryBackend::new()), config)?;
    /// dir.add_company(NewCustomerCompany::new("acme", "Acme"), "admin").await?;
    /// dir.add_customer_user(NewCustomerUser::new("anna", "Anna", "A", "anna@acme.test", "acme"), "admin").await?;
    /// let support = dir.add_group("support", "admin").await?;
    /// dir.grant_user("anna", "support", &["ro"], "admin").await?;
    ///
    /// let filter = dir.ticket_access_filter("anna", "ro").await?;
    /// assert_eq!(filter.group_ids, [support.id]);
    /// assert_eq!(filter.customer_ids, ["acme"]);
    /// let ticket = Ticket { customer_user: None, customer_id: Some("ACME"), queue_group: support.id };
    /// assert!(filter.matches(&ticket));
    /// assert!(dir.can_access_ticket("anna", &ticket, "ro").await?);
    /// # Ok::<(), clientele_backend::Error>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// `NotFound` for an unknown user or a permission type that is not configured.
    pub async fn ticket_access_filter(
        &self,
        login: &str,
        type_name: &str,
    ) -> Result<TicketAccessFilter> {
        let (m, stored) = self.matrix_for(login).await?;
        let ty = known_type(&m, type_name)?;
        Ok(m.ticket_access_filter(&stored, ty))
    }
}
