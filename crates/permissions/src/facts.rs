//! The plain-data inputs of the matrix: configuration, groups, users, companies and grants.

use clientele_model::permission::{GroupId, PermissionContext, PermissionType, PermissionTypes};
use serde::{Deserialize, Serialize};

use crate::TicketAccessRules;

/// The customer-group settings (OTOBO `CustomerGroup*` and `System::Customer::Permission`).
///
/// Defaults are OTOBO's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PermissionConfig {
    /// OTOBO `CustomerGroupSupport` (default off). When off, every customer user has every
    /// permission type on every valid group, and grants are ignored.
    pub customer_group_support: bool,
    /// OTOBO `System::Customer::Permission` (default `["ro", "rw"]`).
    pub permission_types: PermissionTypes,
    /// OTOBO `CustomerGroupAlwaysGroups` (default `["users"]`): group names every customer
    /// user has every type on, whatever else is configured. Names of groups that do not exist
    /// (yet) are ignored until such a group is added.
    pub always_groups: Vec<String>,
    /// OTOBO `CustomerGroupCompanyAlwaysGroups` (default `["users"]`): group names every
    /// customer user *with at least one customer id* has every type on.
    pub company_always_groups: Vec<String>,
    /// Whether the "other customers" context is enabled (OTOBO
    /// `CustomerGroupPermissionContext###100-CustomerID-other`, default off). When off, grants
    /// in that context are kept but give nothing.
    pub other_customers_context: bool,
    /// Further contexts company grants may be given in, beyond "same customer" and "other
    /// customers" (entries of one's own in OTOBO's `CustomerGroupPermissionContext`). Grants in
    /// them are stored and returned; no rule evaluates them. A stored grant in a context that
    /// is neither standard nor listed here is unknown: kept, reported, granting nothing.
    pub extra_contexts: Vec<PermissionContext>,
    /// The customer ticket access rules.
    pub ticket_access: TicketAccessRules,
}

impl PermissionConfig {
    /// Is `ty` one of the configured permission types?
    pub fn knows_type(&self, ty: &PermissionType) -> bool {
        self.permission_types.contains(ty.as_str())
    }

    /// Is `context` configured: one of the two standard contexts (whether or not "other
    /// customers" is enabled) or one of [`extra_contexts`](Self::extra_contexts)?
    pub fn knows_context(&self, context: &PermissionContext) -> bool {
        match context {
            PermissionContext::SameCustomer | PermissionContext::OtherCustomers => true,
            PermissionContext::Named(_) => self.extra_contexts.contains(context),
        }
    }
}

impl Default for PermissionConfig {
    fn default() -> Self {
        PermissionConfig {
            customer_group_support: false,
            permission_types: PermissionTypes::default(),
            always_groups: vec!["users".to_owned()],
            company_always_groups: vec!["users".to_owned()],
            other_customers_context: false,
            extra_contexts: Vec::new(),
            ticket_access: TicketAccessRules::default(),
        }
    }
}

/// A group (OTOBO `groups_table`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Group {
    /// The group's id.
    pub id: GroupId,
    /// Its unique name.
    pub name: String,
    /// `true` when valid (OTOBO `valid_id` 1); invalid groups give no permission at all.
    pub valid: bool,
}

impl Group {
    /// A group.
    pub fn new(id: impl Into<GroupId>, name: impl Into<String>, valid: bool) -> Self {
        Group {
            id: id.into(),
            name: name.into(),
            valid,
        }
    }
}

/// A direct grant: a customer user's permission set on a group (OTOBO `group_customer_user`).
///
/// Setting a grant replaces the user's whole set on that group. An empty set is no grant.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserGrant {
    /// The customer user's login.
    pub login: String,
    /// The group.
    pub group: GroupId,
    /// The granted types (`rw` implies all).
    pub permissions: Vec<PermissionType>,
}

/// A company grant: a company's permission set on a group in a context (OTOBO
/// `group_customer`).
///
/// Setting a grant replaces the company's whole set on that group in that context.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CompanyGrant {
    /// The company's customer id.
    pub customer_id: String,
    /// The group.
    pub group: GroupId,
    /// The context the grant is given in.
    pub context: PermissionContext,
    /// The granted types (`rw` implies all).
    pub permissions: Vec<PermissionType>,
}

/// A customer user's customer ids.
///
/// `customer_ids` is what OTOBO's `CustomerIDs(User)` returns: the secondary ids, the primary
/// id (unless `CustomerUserExcludePrimaryCustomerID` is set) and the related companies
/// (`customer_user_customer`). Company grants in the "same customer" context count for
/// **every** id in it. `primary` is the user's own `customer_id` field: OTOBO's reverse query
/// (who is in group G) finds company members through it only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct UserCustomerIds {
    /// The primary customer id (the user's `customer_id` field).
    pub primary: Option<String>,
    /// All customer ids of the user, as OTOBO's `CustomerIDs(User)` lists them.
    pub customer_ids: Vec<String>,
}

impl UserCustomerIds {
    /// No customer ids at all.
    pub fn none() -> Self {
        UserCustomerIds::default()
    }

    /// Only a primary customer id.
    pub fn primary(customer_id: impl Into<String>) -> Self {
        let id = customer_id.into();
        UserCustomerIds {
            primary: Some(id.clone()),
            customer_ids: vec![id],
        }
    }

    /// A primary id and the full list as given.
    pub fn new(primary: Option<String>, customer_ids: Vec<String>) -> Self {
        UserCustomerIds {
            primary,
            customer_ids,
        }
    }

    /// The list in OTOBO's order: the secondary ids, then the primary (unless
    /// `exclude_primary`, OTOBO `CustomerUserExcludePrimaryCustomerID`), then the related
    /// companies; empty ids and repeats are dropped.
    pub fn from_parts<S: AsRef<str>, R: AsRef<str>>(
        primary: Option<&str>,
        secondary: &[S],
        related: &[R],
        exclude_primary: bool,
    ) -> Self {
        let mut ids: Vec<String> = Vec::new();
        let mut push = |id: &str| {
            if !id.is_empty() && !ids.iter().any(|x| x == id) {
                ids.push(id.to_owned());
            }
        };
        secondary.iter().for_each(|s| push(s.as_ref()));
        if let Some(p) = primary.filter(|_| !exclude_primary) {
            push(p);
        }
        related.iter().for_each(|r| push(r.as_ref()));
        UserCustomerIds {
            primary: primary.filter(|p| !p.is_empty()).map(str::to_owned),
            customer_ids: ids,
        }
    }
}

/// What the matrix needs to know about a customer user beside its grants.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserFacts {
    /// The login.
    pub login: String,
    /// Its customer ids.
    #[serde(default)]
    pub customer_ids: UserCustomerIds,
    /// `false` for an invalid user (OTOBO `valid_id` ≠ 1). Validity only matters to the
    /// reverse query (who is in group G), as in OTOBO; users not listed count as valid.
    #[serde(default = "yes")]
    pub valid: bool,
}

fn yes() -> bool {
    true
}

/// A company's validity (OTOBO `customer_company.valid_id`).
///
/// Only the list of companies visible through the "other customers" context looks at it: as in
/// OTOBO, it keeps only companies that exist and are valid.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CompanyFacts {
    /// The company's customer id.
    pub customer_id: String,
    /// `true` when the company is valid.
    pub valid: bool,
}

/// Everything the permission matrix is built from.
///
/// Later entries replace earlier ones for the same key (user, company, (user, group) or
/// (company, group, context)), like a sequence of writes would.
///
/// ```
/// use clientele_model::permission::{PermissionContext, PermissionType};
/// use clientele_permissions::{PermissionConfig, PermissionFacts, UserCustomerIds};
///
/// let mut facts = PermissionFacts::new(PermissionConfig {
///     customer_group_support: true,
///     ..PermissionConfig::default()
/// });
/// facts
///     .group(1, "users", true)
///     .group(2, "support", true)
///     .customer_user("anna", UserCustomerIds::primary("acme"))
///     .grant_user("anna", 2, [PermissionType::ro()])
///     .grant_company("acme", 2, PermissionContext::SameCustomer, [PermissionType::rw()]);
/// assert_eq!(facts.user_grants.len(), 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PermissionFacts {
    /// The settings.
    pub config: PermissionConfig,
    /// Every group, valid or not.
    pub groups: Vec<Group>,
    /// Customer users with customer ids or a validity.
    pub users: Vec<UserFacts>,
    /// Companies and their validity.
    pub companies: Vec<CompanyFacts>,
    /// Direct grants.
    pub user_grants: Vec<UserGrant>,
    /// Company grants.
    pub company_grants: Vec<CompanyGrant>,
}

impl PermissionFacts {
    /// Empty facts with the given settings.
    pub fn new(config: PermissionConfig) -> Self {
        PermissionFacts {
            config,
            ..PermissionFacts::default()
        }
    }

    /// Adds a group.
    pub fn group(
        &mut self,
        id: impl Into<GroupId>,
        name: impl Into<String>,
        valid: bool,
    ) -> &mut Self {
        self.groups.push(Group::new(id, name, valid));
        self
    }

    /// Adds a valid customer user with its customer ids.
    pub fn customer_user(
        &mut self,
        login: impl Into<String>,
        customer_ids: UserCustomerIds,
    ) -> &mut Self {
        self.users.push(UserFacts {
            login: login.into(),
            customer_ids,
            valid: true,
        });
        self
    }

    /// Adds an invalid customer user with its customer ids.
    pub fn invalid_customer_user(
        &mut self,
        login: impl Into<String>,
        customer_ids: UserCustomerIds,
    ) -> &mut Self {
        self.users.push(UserFacts {
            login: login.into(),
            customer_ids,
            valid: false,
        });
        self
    }

    /// Adds a company with its validity.
    pub fn company(&mut self, customer_id: impl Into<String>, valid: bool) -> &mut Self {
        self.companies.push(CompanyFacts {
            customer_id: customer_id.into(),
            valid,
        });
        self
    }

    /// Sets a customer user's permission set on a group.
    pub fn grant_user(
        &mut self,
        login: impl Into<String>,
        group: impl Into<GroupId>,
        permissions: impl IntoIterator<Item = PermissionType>,
    ) -> &mut Self {
        self.user_grants.push(UserGrant {
            login: login.into(),
            group: group.into(),
            permissions: permissions.into_iter().collect(),
        });
        self
    }

    /// Sets a company's permission set on a group in a context.
    pub fn grant_company(
        &mut self,
        customer_id: impl Into<String>,
        group: impl Into<GroupId>,
        context: PermissionContext,
        permissions: impl IntoIterator<Item = PermissionType>,
    ) -> &mut Self {
        self.company_grants.push(CompanyGrant {
            customer_id: customer_id.into(),
            group: group.into(),
            context,
            permissions: permissions.into_iter().collect(),
        });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_ids_in_otobo_order() {
        let ids = UserCustomerIds::from_parts(
            Some("acme"),
            &["beta", "acme", ""],
            &["gamma", "beta"],
            false,
        );
        assert_eq!(ids.customer_ids, ["beta", "acme", "gamma"]);
        assert_eq!(ids.primary.as_deref(), Some("acme"));
        let ids = UserCustomerIds::from_parts(Some("acme"), &["beta"], &[] as &[&str], true);
        assert_eq!(ids.customer_ids, ["beta"]);
        assert_eq!(ids.primary.as_deref(), Some("acme"));
    }

    #[test]
    fn facts_round_trip_through_serde() {
        let mut facts = PermissionFacts::default();
        facts
            .group(1, "users", true)
            .customer_user("anna", UserCustomerIds::primary("acme"))
            .grant_user("anna", 1, [PermissionType::ro()])
            .grant_company(
                "acme",
                1,
                PermissionContext::OtherCustomers,
                [PermissionType::rw()],
            );
        let json = serde_json::to_string(&facts).unwrap();
        let back: PermissionFacts = serde_json::from_str(&json).unwrap();
        assert_eq!(back, facts);
        let minimal: PermissionFacts =
            serde_json::from_str(r#"{"users":[{"login":"bob"}]}"#).unwrap();
        assert!(minimal.users[0].valid);
        assert_eq!(minimal.config, PermissionConfig::default());
    }
}
