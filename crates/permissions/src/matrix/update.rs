//! Incremental updates: each touches only the rows it affects.

use std::hash::BuildHasher;
use std::sync::Arc;

use clientele_model::permission::{GroupId, PermissionContext};

use super::{
    CompanyRow, GroupRev, PermissionMatrix, UserRow, always_list, check_group,
    checked_customer_ids, lookup, merge_effective, remove_name, upsert, upsert_keyed,
};
use crate::{Change, Group, PermissionError, PermissionSet, UserCustomerIds};

impl PermissionMatrix {
    fn checked_set(&self, set: PermissionSet) -> Result<PermissionSet, PermissionError> {
        let s = &*self.settings;
        if set.bits() & !s.all.bits() != 0 {
            return Err(PermissionError::PermissionSetOutOfRange {
                bits: set.bits(),
                count: s.types.len(),
            });
        }
        Ok(s.implied(set))
    }

    /// The "same customer" grants on one group of a list of companies, united.
    fn same_from_companies(&self, customer_ids: &[Arc<str>], g: u32) -> PermissionSet {
        customer_ids
            .iter()
            .filter_map(|c| self.company(c))
            .fold(PermissionSet::EMPTY, |acc, c| acc | lookup(&c.same, g))
    }

    /// Replaces a customer user's permission set on a group; an empty set revokes.
    ///
    /// Touches the user's row and the group's reverse list only.
    pub fn set_user_grant(
        &mut self,
        login: &str,
        group: GroupId,
        permissions: PermissionSet,
    ) -> Result<(), PermissionError> {
        if login.is_empty() {
            return Err(PermissionError::EmptyLogin);
        }
        let g = self.group_index_checked(group)?;
        let set = self.checked_set(permissions)?;
        let hash = self.hasher.hash_one(login);
        let (login_arc, from_companies) = match self.users.get(hash, login) {
            Some(row) if lookup(&row.direct, g) == set => return Ok(()),
            Some(row) => (
                Arc::clone(&row.login),
                self.same_from_companies(&row.customer_ids, g),
            ),
            None if set.is_empty() => return Ok(()),
            None => (Arc::from(login), PermissionSet::EMPTY),
        };
        let row = self
            .users
            .get_or_insert_with(hash, login, || UserRow::new(Arc::clone(&login_arc)));
        upsert(&mut row.direct, g, set);
        row.set_eff(g, set | from_companies);
        if row.is_default() {
            self.users.remove(hash, login);
        }
        if let Some(rev) = self.rev.get_mut(g as usize) {
            upsert_keyed(&mut rev.direct, &login_arc, set);
        }
        Ok(())
    }

    /// Removes a customer user's grant on a group.
    pub fn revoke_user_grant(
        &mut self,
        login: &str,
        group: GroupId,
    ) -> Result<(), PermissionError> {
        self.set_user_grant(login, group, PermissionSet::EMPTY)
    }

    /// Replaces a company's permission set on a group in a context; an empty set revokes.
    ///
    /// Touches the company's row and, for the "same customer" context, the group's reverse
    /// list and the rows of the users that list this customer id.
    pub fn set_company_grant(
        &mut self,
        customer_id: &str,
        group: GroupId,
        context: &PermissionContext,
        permissions: PermissionSet,
    ) -> Result<(), PermissionError> {
        if customer_id.is_empty() {
            return Err(PermissionError::EmptyCustomerId);
        }
        let g = self.group_index_checked(group)?;
        let set = self.checked_set(permissions)?;
        let hash = self.hasher.hash_one(customer_id);
        let cid_arc = match self.companies.get(hash, customer_id) {
            Some(c) if c.grant(g, context) == set => return Ok(()),
            Some(c) => Arc::clone(&c.id),
            None if set.is_empty() => return Ok(()),
            None => Arc::from(customer_id),
        };
        let company = self
            .companies
            .get_or_insert_with(hash, customer_id, || CompanyRow::new(Arc::clone(&cid_arc)));
        company.set_grant(g, context, set);
        let same = *context == PermissionContext::SameCustomer;
        let members = if same {
            company.members.clone()
        } else {
            Vec::new()
        };
        if company.is_default() {
            self.companies.remove(hash, customer_id);
        }
        if same {
            if let Some(rev) = self.rev.get_mut(g as usize) {
                upsert_keyed(&mut rev.same, &cid_arc, set);
            }
            for login in members {
                self.refresh_user_group(&login, g);
            }
        }
        Ok(())
    }

    /// Removes a company's grant on a group in a context.
    pub fn revoke_company_grant(
        &mut self,
        customer_id: &str,
        group: GroupId,
        context: &PermissionContext,
    ) -> Result<(), PermissionError> {
        self.set_company_grant(customer_id, group, context, PermissionSet::EMPTY)
    }

    /// Recomputes one user's effective entry for one group.
    fn refresh_user_group(&mut self, login: &str, g: u32) {
        let hash = self.hasher.hash_one(login);
        let Some(row) = self.users.get(hash, login) else {
            return;
        };
        let new = lookup(&row.direct, g) | self.same_from_companies(&row.customer_ids, g);
        if row.eff(g) == new {
            return;
        }
        if let Some(row) = self.users.get_mut(hash, login) {
            row.set_eff(g, new);
        }
    }

    /// Replaces a customer user's customer ids (primary, secondary and related).
    ///
    /// Touches the user's row and the rows of the companies that gain or lose the user.
    pub fn set_customer_ids(
        &mut self,
        login: &str,
        customer_ids: &UserCustomerIds,
    ) -> Result<(), PermissionError> {
        if login.is_empty() {
            return Err(PermissionError::EmptyLogin);
        }
        let new_ids = checked_customer_ids(login, customer_ids)?;
        let new_primary = customer_ids.primary.as_deref();
        let hash = self.hasher.hash_one(login);
        let (login_arc, old_ids, old_primary) = match self.users.get(hash, login) {
            Some(row) => {
                if row
                    .customer_ids
                    .iter()
                    .map(|c| &**c)
                    .eq(new_ids.iter().copied())
                    && row.primary.as_deref() == new_primary
                {
                    return Ok(());
                }
                (
                    Arc::clone(&row.login),
                    row.customer_ids.clone(),
                    row.primary.clone(),
                )
            }
            None if new_ids.is_empty() && new_primary.is_none() => return Ok(()),
            None => (Arc::from(login), Vec::new(), None),
        };

        for old in &old_ids {
            if !new_ids.contains(&&**old) {
                self.update_company(old, |c| remove_name(&mut c.members, login));
            }
        }
        for new in &new_ids {
            if !old_ids.iter().any(|o| &**o == *new) {
                self.update_company(new, |c| c.members.push(Arc::clone(&login_arc)));
            }
        }
        if old_primary.as_deref() != new_primary {
            if let Some(old) = &old_primary {
                self.update_company(old, |c| remove_name(&mut c.primary_members, login));
            }
            if let Some(new) = new_primary {
                self.update_company(new, |c| c.primary_members.push(Arc::clone(&login_arc)));
            }
        }

        // Share the companies' id strings; every new id has a company row now.
        let intern = |id: &str| {
            self.company(id)
                .map(|c| Arc::clone(&c.id))
                .unwrap_or_else(|| Arc::from(id))
        };
        let ids: Vec<Arc<str>> = new_ids.iter().map(|id| intern(id)).collect();
        let primary = new_primary.map(intern);
        let direct = self
            .users
            .get(hash, login)
            .map(|r| r.direct.clone())
            .unwrap_or_default();
        let eff = merge_effective(
            &direct,
            ids.iter()
                .filter_map(|c| self.company(c).map(|c| c.same.as_slice())),
        );
        let row = self
            .users
            .get_or_insert_with(hash, login, || UserRow::new(Arc::clone(&login_arc)));
        row.customer_ids = ids;
        row.primary = primary;
        row.eff = eff;
        if row.is_default() {
            self.users.remove(hash, login);
        }
        Ok(())
    }

    /// Applies `f` to a company's row (creating it), dropping the row if it becomes empty.
    fn update_company(&mut self, customer_id: &str, f: impl FnOnce(&mut CompanyRow)) {
        let hash = self.hasher.hash_one(customer_id);
        let company = self.companies.get_or_insert_with(hash, customer_id, || {
            CompanyRow::new(Arc::from(customer_id))
        });
        f(company);
        if company.is_default() {
            self.companies.remove(hash, customer_id);
        }
    }

    /// Marks a customer user valid or invalid (only the reverse query looks at it).
    pub fn set_user_valid(&mut self, login: &str, valid: bool) -> Result<(), PermissionError> {
        if login.is_empty() {
            return Err(PermissionError::EmptyLogin);
        }
        let hash = self.hasher.hash_one(login);
        match self.users.get(hash, login) {
            Some(row) if row.valid == valid => return Ok(()),
            None if valid => return Ok(()),
            _ => {}
        }
        let row = self
            .users
            .get_or_insert_with(hash, login, || UserRow::new(Arc::from(login)));
        row.valid = valid;
        if row.is_default() {
            self.users.remove(hash, login);
        }
        Ok(())
    }

    /// Declares a company and its validity (only [`visible_companies`](Self::visible_companies)
    /// looks at it).
    pub fn set_company_valid(
        &mut self,
        customer_id: &str,
        valid: bool,
    ) -> Result<(), PermissionError> {
        if customer_id.is_empty() {
            return Err(PermissionError::EmptyCustomerId);
        }
        if self
            .company(customer_id)
            .is_some_and(|c| c.valid == Some(valid))
        {
            return Ok(());
        }
        self.update_company(customer_id, |c| c.valid = Some(valid));
        Ok(())
    }

    /// Adds a group. Its id and name must be new; it is an always-group if its name is
    /// configured as one.
    pub fn add_group(&mut self, group: &Group) -> Result<(), PermissionError> {
        check_group(&self.groups, group)?;
        if self.groups.ids.len() >= u32::MAX as usize - 1 {
            return Err(PermissionError::TooManyGroups {
                max: u32::MAX as usize - 1,
            });
        }
        let g = self.groups.ids.len() as u32;
        let state = self.settings.state_for(&group.name, group.valid);
        let index = Arc::make_mut(&mut self.groups);
        let name: Arc<str> = Arc::from(group.name.as_str());
        index.by_id.insert(group.id, g);
        index.by_name.insert(Arc::clone(&name), g);
        index.ids.push(group.id);
        index.names.push(name);
        Arc::make_mut(&mut self.state).push(state);
        if state.always_user || state.always_company {
            Arc::make_mut(&mut self.always).push(g);
        }
        self.rev.push(GroupRev::default());
        Ok(())
    }

    /// Marks a group valid or invalid.
    pub fn set_group_valid(&mut self, group: GroupId, valid: bool) -> Result<(), PermissionError> {
        let g = self.group_index_checked(group)?;
        if self.state.get(g as usize).is_some_and(|s| s.valid != valid)
            && let Some(s) = Arc::make_mut(&mut self.state).get_mut(g as usize)
        {
            s.valid = valid;
        }
        Ok(())
    }

    /// Switches customer-group support on or off (OTOBO `CustomerGroupSupport`).
    pub fn set_customer_group_support(&mut self, enabled: bool) {
        if self.settings.support != enabled {
            Arc::make_mut(&mut self.settings).support = enabled;
        }
    }

    /// Enables or disables the "other customers" context.
    pub fn set_other_customers_context(&mut self, enabled: bool) {
        if self.settings.other_context != enabled {
            Arc::make_mut(&mut self.settings).other_context = enabled;
        }
    }

    /// Replaces the user and company always-groups (by group name). Touches the group flags
    /// only.
    pub fn set_always_groups(
        &mut self,
        always_groups: Vec<String>,
        company_always_groups: Vec<String>,
    ) {
        let settings = Arc::make_mut(&mut self.settings);
        settings.always_groups = always_groups;
        settings.company_always_groups = company_always_groups;
        let settings = Arc::clone(&self.settings);
        let state = Arc::make_mut(&mut self.state);
        for (st, name) in state.iter_mut().zip(self.groups.names.iter()) {
            *st = settings.state_for(name, st.valid);
        }
        self.always = Arc::new(always_list(state));
    }

    /// Applies one change.
    pub fn apply(&mut self, change: &Change) -> Result<(), PermissionError> {
        match change {
            Change::SetUserGrant {
                login,
                group,
                permissions,
            } => {
                let set = PermissionSet::from_types(&self.settings.types, permissions)?;
                self.set_user_grant(login, *group, set)
            }
            Change::RevokeUserGrant { login, group } => self.revoke_user_grant(login, *group),
            Change::SetCompanyGrant {
                customer_id,
                group,
                context,
                permissions,
            } => {
                let set = PermissionSet::from_types(&self.settings.types, permissions)?;
                self.set_company_grant(customer_id, *group, context, set)
            }
            Change::RevokeCompanyGrant {
                customer_id,
                group,
                context,
            } => self.revoke_company_grant(customer_id, *group, context),
            Change::SetCustomerIds {
                login,
                customer_ids,
            } => self.set_customer_ids(login, customer_ids),
            Change::SetUserValid { login, valid } => self.set_user_valid(login, *valid),
            Change::SetCompanyValid { customer_id, valid } => {
                self.set_company_valid(customer_id, *valid)
            }
            Change::AddGroup(group) => self.add_group(group),
            Change::SetGroupValid { group, valid } => self.set_group_valid(*group, *valid),
            Change::SetCustomerGroupSupport { enabled } => {
                self.set_customer_group_support(*enabled);
                Ok(())
            }
            Change::SetOtherCustomersContext { enabled } => {
                self.set_other_customers_context(*enabled);
                Ok(())
            }
            Change::SetAlwaysGroups {
                always_groups,
                company_always_groups,
            } => {
                self.set_always_groups(always_groups.clone(), company_always_groups.clone());
                Ok(())
            }
        }
    }
}
