//! Queries that explain the matrix: where a user's permissions come from, who holds grants on a
//! group, and the ticket access filter.

use clientele_model::permission::{GroupId, PermissionContext};

use super::PermissionMatrix;
use crate::store::find;
use crate::{Origin, PermissionSet, TicketAccessFilter, TypeIndex};

impl PermissionMatrix {
    /// Where the user's effective permissions on a group come from: its direct grant, each of
    /// its customer ids with a grant in the "same customer" context, the always-groups, or
    /// customer-group support being off. United, the origins' sets are exactly
    /// [`effective`](Self::effective).
    ///
    /// Empty for an empty login and for an unknown or invalid group. With support off the only
    /// origin is [`Origin::SupportOff`]. Company origins come in the order of the user's
    /// customer ids.
    ///
    /// ```
    /// use clientele_model::permission::{GroupId, PermissionContext, PermissionType};
    /// use clientele_permissions::{
    ///     Origin, PermissionConfig, PermissionFacts, PermissionMatrix, UserCustomerIds,
    /// };
    ///
    /// let mut facts = PermissionFacts::new(PermissionConfig {
    ///     customer_group_support: true,
    ///     ..PermissionConfig::default()
    /// });
    /// facts
    ///     .group(1, "users", true)
    ///     .group(2, "billing", true)
    ///     .customer_user("anna", UserCustomerIds::new(Some("acme".into()), vec!["beta".into(), "acme".into()]))
    ///     .grant_user("anna", 2, [PermissionType::ro()])
    ///     .grant_company("beta", 2, PermissionContext::SameCustomer, [PermissionType::rw()]);
    /// let m = PermissionMatrix::build(&facts)?;
    /// let origins = m.origins("anna", GroupId(2));
    /// assert!(matches!(origins[0], Origin::Direct(_)));
    /// assert!(matches!(origins[1], Origin::Company { customer_id: "beta", .. }));
    /// assert_eq!(m.origins("anna", GroupId(1)), [Origin::AlwaysGroup, Origin::CompanyAlwaysGroup]);
    /// # Ok::<(), clientele_permissions::PermissionError>(())
    /// ```
    pub fn origins(&self, login: &str, group: GroupId) -> Vec<Origin<'_>> {
        let mut out = Vec::new();
        if login.is_empty() {
            return out;
        }
        let Some(g) = self.group_index(group) else {
            return out;
        };
        let Some(state) = self.state.get(g as usize).filter(|s| s.valid) else {
            return out;
        };
        if !self.settings.support {
            out.push(Origin::SupportOff);
            return out;
        }
        let row = self.row_of(login);
        if let Some(row) = row {
            let direct = self.code_set(find(row.direct, g));
            if !direct.is_empty() {
                out.push(Origin::Direct(direct));
            }
            for company in row.cids.iter().filter_map(|&c| self.company_by_id(c)) {
                let same = self.code_set(find(&company.same, g));
                if !same.is_empty() {
                    out.push(Origin::Company {
                        customer_id: &company.id,
                        context: PermissionContext::SameCustomer,
                        permissions: same,
                    });
                }
            }
        }
        if state.always_user {
            out.push(Origin::AlwaysGroup);
        }
        if state.always_company && row.is_some_and(|r| !r.cids.is_empty()) {
            out.push(Origin::CompanyAlwaysGroup);
        }
        out
    }

    /// Every configured permission type, as a set.
    pub fn all_types(&self) -> PermissionSet {
        self.settings.all
    }

    /// OTOBO `CustomerGroupSupport`: when off, everyone has everything on every valid group.
    pub fn customer_group_support(&self) -> bool {
        self.settings.support
    }

    /// `true` when the group is one of the user always-groups (every customer user has every
    /// type on it, if it is valid).
    pub fn is_always_group(&self, group: GroupId) -> bool {
        self.group_index(group)
            .and_then(|g| self.state.get(g as usize))
            .is_some_and(|s| s.always_user)
    }

    /// `true` when the group is one of the company always-groups (every customer user with a
    /// customer id has every type on it, if it is valid).
    pub fn is_company_always_group(&self, group: GroupId) -> bool {
        self.group_index(group)
            .and_then(|g| self.state.get(g as usize))
            .is_some_and(|s| s.always_company)
    }

    /// The logins with a direct grant on the group and their sets (`rw` expanded), whatever
    /// the group's validity, in no particular order.
    pub fn direct_grantees(&self, group: GroupId) -> impl Iterator<Item = (&str, PermissionSet)> {
        self.group_index(group)
            .and_then(|g| self.rev(g))
            .map(|rev| rev.direct.as_slice())
            .unwrap_or_default()
            .iter()
            .map(move |e| (self.user_by_id(e.id()).login, self.set(e.code())))
    }

    /// The customer ids with a grant on the group in the "same customer" context and their
    /// sets (`rw` expanded), whatever the group's validity, in no particular order.
    pub fn same_customer_grantees(
        &self,
        group: GroupId,
    ) -> impl Iterator<Item = (&str, PermissionSet)> {
        self.group_index(group)
            .and_then(|g| self.rev(g))
            .map(|rev| rev.same.as_slice())
            .unwrap_or_default()
            .iter()
            .map(move |e| (self.company_id_str(e.id()), self.set(e.code())))
    }

    /// What the user may see of the tickets with the type, as lists a host puts into its own
    /// ticket query (see [`TicketAccessFilter`]). For every ticket,
    /// `filter.matches(ticket) == self.can_access_ticket(login, ticket, ty)`.
    ///
    /// ```
    /// use clientele_model::permission::{GroupId, PermissionType};
    /// use clientele_permissions::{
    ///     PermissionConfig, PermissionFacts, PermissionMatrix, Ticket, UserCustomerIds,
    /// };
    ///
    /// let mut facts = PermissionFacts::new(PermissionConfig {
    ///     customer_group_support: true,
    ///     ..PermissionConfig::default()
    /// });
    /// facts
    ///     .group(10, "hardware", true)
    ///     .customer_user("anna", UserCustomerIds::primary("acme"))
    ///     .grant_user("anna", 10, [PermissionType::ro()]);
    /// let m = PermissionMatrix::build(&facts)?;
    /// let filter = m.ticket_access_filter("anna", m.type_index("ro").unwrap());
    /// assert_eq!(filter.group_ids, [GroupId(10)]);
    /// assert_eq!(filter.customer_ids, ["acme"]);
    /// let ticket = Ticket { customer_user: None, customer_id: Some("ACME"), queue_group: GroupId(10) };
    /// assert!(filter.matches(&ticket));
    /// # Ok::<(), clientele_permissions::PermissionError>(())
    /// ```
    pub fn ticket_access_filter(&self, login: &str, ty: TypeIndex) -> TicketAccessFilter {
        let s = &*self.settings;
        let rules = &s.ticket_access;
        let mut filter = TicketAccessFilter {
            customer_user: login.to_owned(),
            group_ids: Vec::new(),
            customer_ids: Vec::new(),
            other_context_group_ids: Vec::new(),
            clauses: Vec::new(),
        };
        if login.is_empty() {
            return filter;
        }
        filter.clauses = rules.clauses();
        filter.group_ids = self.groups(login, ty).collect();
        filter.group_ids.sort_unstable();
        let row = self.row_of(login);
        if rules.disable_company_ticket_access {
            return filter;
        }
        if let Some(row) = row {
            filter.customer_ids = row
                .cids
                .iter()
                .map(|&c| self.company_id_str(c).to_owned())
                .collect();
            if s.support && s.other_context {
                let valid = |g: u32| self.state.get(g as usize).is_some_and(|st| st.valid);
                let mut groups: Vec<GroupId> = row
                    .cids
                    .iter()
                    .filter_map(|&c| self.company_by_id(c))
                    .flat_map(|c| c.other.iter())
                    .filter(|e| valid(e.id()) && self.set(e.code()).contains(ty))
                    .filter_map(|e| self.groups.ids.get(e.id() as usize).copied())
                    .collect();
                groups.sort_unstable();
                groups.dedup();
                filter.other_context_group_ids = groups;
            }
        }
        filter
    }
}
