//! Incremental updates: each appends the rows it changes to the log; a full log is folded into
//! a new base.

use std::hash::BuildHasher;
use std::sync::Arc;

use clientele_model::permission::{GroupId, PermissionContext};
use hashbrown::HashTable;

use super::{
    MAX_NEW_IDS, PermissionMatrix, always_list, check_group, checked_customer_ids, code_in,
    merge_effective,
};
use crate::store::{
    Base, CompanyRow, Kind, Log, NONE, RevRow, Row, UserArraysBuilder, UserRow, UserView, find,
    upsert,
};
use crate::{Change, Group, PermissionError, PermissionSet, UserCustomerIds};

/// Log entries per base: one for every eight users, groups and companies (at least 64), so
/// folding the log into a new base costs about as much per entry as a few row copies.
fn log_capacity(users: usize, groups: usize, companies: usize) -> usize {
    ((users + groups + companies) / 8).clamp(64, u32::MAX as usize / 2)
}

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

    /// The palette code of a set (`None` for the empty set), adding it if new.
    fn code(&mut self, set: PermissionSet) -> Result<Option<u8>, PermissionError> {
        if set.is_empty() {
            return Ok(None);
        }
        if let Some(i) = self.palette.iter().position(|s| *s == set) {
            return Ok(Some(i as u8));
        }
        code_in(Arc::make_mut(&mut self.palette), set).map(Some)
    }

    /// The "same customer" grants on one group of a list of companies, united.
    fn same_from_companies(&self, cids: &[u32], g: u32) -> PermissionSet {
        cids.iter().fold(PermissionSet::EMPTY, |acc, &c| {
            acc | self.company_same(c, g)
        })
    }

    // ----- the log -------------------------------------------------------------------------

    /// Makes sure a row for `id` can be appended in place: this snapshot must be the newest of
    /// its log and the log must have room. Otherwise folds what this snapshot sees into a new
    /// base and starts an empty log.
    fn prepare(&mut self, kind: Kind, id: u32) -> Result<(), PermissionError> {
        if let Some(log) = &self.log
            && log.covers(kind, id)
            && log.is_tip(self.seen)
        {
            return Ok(());
        }
        if self.seen > 0 {
            self.merge()?;
        }
        let groups = self.groups.ids.len();
        let (users, companies) = (self.n_users as usize, self.n_companies as usize);
        self.log = Some(Arc::new(Log::new(
            log_capacity(users, groups, companies),
            users,
            groups,
            companies,
        )));
        self.seen = 0;
        Ok(())
    }

    /// Appends a replacement row for an id.
    fn push(&mut self, kind: Kind, id: u32, mut row: Row) -> Result<(), PermissionError> {
        // A second attempt always succeeds: after a failed one `prepare` starts a log that
        // only this matrix holds.
        for _ in 0..2 {
            self.prepare(kind, id)?;
            let Some(log) = &self.log else { continue };
            match log.append(kind, id, self.seen, row) {
                Ok(()) => {
                    self.seen += 1;
                    return Ok(());
                }
                Err(back) => {
                    row = back;
                    // Another snapshot of this log appended first: fork.
                    if self.seen == 0 {
                        self.log = None;
                    }
                }
            }
        }
        Err(PermissionError::TooLarge {
            what: "log entries",
        })
    }

    fn push_user(&mut self, u: u32, row: UserRow) -> Result<(), PermissionError> {
        self.push(Kind::User, u, Row::User(Arc::new(row)))
    }

    /// Gives a login that has no row yet an id, with `row` as its row.
    fn push_new_user(&mut self, login: &str, mut row: UserRow) -> Result<u32, PermissionError> {
        if self.new_users.len() >= MAX_NEW_IDS {
            self.merge()?;
        }
        if self.n_users == u32::MAX - 1 {
            return Err(PermissionError::TooLarge {
                what: "customer users",
            });
        }
        let u = self.n_users;
        row.login = Some(Box::from(login));
        self.push_user(u, row)?;
        let hasher = self.hasher.clone();
        Arc::make_mut(&mut self.new_users).insert_unique(
            hasher.hash_one(login),
            (Box::from(login), u),
            |(l, _)| hasher.hash_one(&**l),
        );
        self.n_users += 1;
        Ok(u)
    }

    fn push_company(&mut self, c: u32, row: CompanyRow) -> Result<(), PermissionError> {
        self.push(Kind::Company, c, Row::Company(Arc::new(row)))
    }

    fn push_new_company(&mut self, row: CompanyRow) -> Result<u32, PermissionError> {
        if self.new_companies.len() >= MAX_NEW_IDS {
            self.merge()?;
        }
        if self.n_companies == u32::MAX - 1 {
            return Err(PermissionError::TooLarge { what: "companies" });
        }
        let c = self.n_companies;
        let id: Box<str> = row.id.clone();
        self.push_company(c, row)?;
        let hasher = self.hasher.clone();
        Arc::make_mut(&mut self.new_companies).insert_unique(
            hasher.hash_one(&*id),
            (id, c),
            |(k, _)| hasher.hash_one(&**k),
        );
        self.n_companies += 1;
        Ok(c)
    }

    fn push_rev(&mut self, g: u32, row: RevRow) -> Result<(), PermissionError> {
        self.push(Kind::Rev, g, Row::Rev(Arc::new(row)))
    }

    /// A copy of a user's row, to be changed and pushed.
    fn user_row(&self, row: &UserView<'_>) -> UserRow {
        row.to_row(row.id as usize >= self.base.users.len())
    }

    /// Folds the rows this snapshot reads from its log into a new base, so checks no longer
    /// consult the log. Updates do this by themselves when the log is full; a host may call it
    /// at a quiet moment. Other snapshots are not affected.
    ///
    /// ```
    /// use clientele_model::permission::{GroupId, PermissionType};
    /// use clientele_permissions::{PermissionConfig, PermissionFacts, PermissionMatrix};
    ///
    /// let mut facts = PermissionFacts::new(PermissionConfig {
    ///     customer_group_support: true,
    ///     ..PermissionConfig::default()
    /// });
    /// facts.group(2, "billing", true);
    /// let mut m = PermissionMatrix::build(&facts)?;
    /// let ro = m.permission_set(["ro"])?;
    /// m.set_user_grant("anna", GroupId(2), ro)?;
    /// assert_eq!(m.unmerged_rows(), 2); // anna's row and billing's reverse list
    /// m.merge()?;
    /// assert_eq!((m.unmerged_rows(), m.merges()), (0, 1));
    /// assert!(m.has("anna", GroupId(2), m.type_index("ro").unwrap()));
    /// # Ok::<(), clientele_permissions::PermissionError>(())
    /// ```
    pub fn merge(&mut self) -> Result<(), PermissionError> {
        if self.seen == 0 {
            return Ok(());
        }
        let too_large = |_| PermissionError::TooLarge { what: "entries" };
        let (eff, direct, logins) = self.base.users.sizes();
        let extra = self.seen * 64;
        let mut users = UserArraysBuilder::with_capacity(
            self.n_users as usize,
            eff + extra,
            direct + extra,
            logins + self.new_users.iter().map(|(l, _)| l.len()).sum::<usize>(),
        );
        for u in 0..self.n_users {
            users.push(&self.user_by_id(u)).map_err(too_large)?;
        }
        debug_assert_eq!(users.len(), self.n_users as usize);
        let users = users
            .finish(&self.hasher, Some(&self.base.users.table))
            .map_err(too_large)?;
        let revs = (0..self.groups.ids.len() as u32)
            .map(|g| match self.logged(Kind::Rev, g) {
                Some(Row::Rev(row)) => Arc::clone(row),
                _ => self.base.revs.get(g as usize).cloned().unwrap_or_default(),
            })
            .collect();
        let companies: Vec<Arc<CompanyRow>> = (0..self.n_companies)
            .map(|c| match self.logged(Kind::Company, c) {
                Some(Row::Company(row)) => Arc::clone(row),
                _ => self
                    .base
                    .companies
                    .get(c as usize)
                    .cloned()
                    .unwrap_or_else(|| Arc::new(CompanyRow::new(""))),
            })
            .collect();
        let mut company_table: HashTable<u32> = self.base.company_table.clone();
        let hasher = &self.hasher;
        let hash_of = |c: u32| {
            companies
                .get(c as usize)
                .map_or(0, |r| hasher.hash_one(&*r.id))
        };
        for c in self.base.companies.len() as u32..self.n_companies {
            company_table.insert_unique(hash_of(c), c, |&c| hash_of(c));
        }
        self.base = Arc::new(Base {
            users,
            revs,
            companies,
            company_table,
        });
        self.log = None;
        self.seen = 0;
        self.new_users = Arc::default();
        self.new_companies = Arc::default();
        self.merges += 1;
        Ok(())
    }

    // ----- the updates ---------------------------------------------------------------------

    /// Replaces a customer user's permission set on a group; an empty set revokes.
    ///
    /// Appends the user's row and the group's reverse list to the log.
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
        let existing = self.user_id(hash, login).map(|u| self.user_by_id(u));
        let (u, mut row, from_companies, was_default) = match existing {
            Some(view) if self.code_set(find(view.direct, g)) == set => return Ok(()),
            Some(view) => (
                Some(view.id),
                self.user_row(&view),
                self.same_from_companies(view.cids, g),
                view.is_default(),
            ),
            None if set.is_empty() => return Ok(()),
            None => (
                None,
                UserRow {
                    primary: NONE,
                    valid: true,
                    ..UserRow::default()
                },
                PermissionSet::EMPTY,
                true,
            ),
        };
        let code = self.code(set)?;
        let eff_code = self.code(set | from_companies)?;
        upsert(&mut row.direct, g, code);
        upsert(&mut row.eff, g, eff_code);
        let now_default =
            row.valid && row.primary == NONE && row.cids.is_empty() && row.direct.is_empty();
        let u = match u {
            Some(u) => {
                self.push_user(u, row)?;
                u
            }
            None => self.push_new_user(login, row)?,
        };
        self.count_user(was_default, now_default);
        let mut rev = self.rev(g).map(RevRow::to_update).unwrap_or_default();
        upsert(&mut rev.direct, u, code);
        self.push_rev(g, rev)
    }

    fn count_user(&mut self, was_default: bool, now_default: bool) {
        match (was_default, now_default) {
            (true, false) => self.user_rows += 1,
            (false, true) => self.user_rows = self.user_rows.saturating_sub(1),
            _ => {}
        }
    }

    fn count_company(&mut self, was_default: bool, now_default: bool) {
        match (was_default, now_default) {
            (true, false) => self.company_rows += 1,
            (false, true) => self.company_rows = self.company_rows.saturating_sub(1),
            _ => {}
        }
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
    /// Appends the company's row and, for the "same customer" context, the group's reverse
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
        let c = self.company_id(customer_id);
        let current = c.and_then(|c| self.company_by_id(c));
        if current.map_or(PermissionSet::EMPTY, |row| {
            self.company_grant_of(row, g, context)
        }) == set
        {
            return Ok(());
        }
        let mut row = current
            .cloned()
            .unwrap_or_else(|| CompanyRow::new(customer_id));
        let was_default = row.is_default();
        let code = self.code(set)?;
        match context {
            PermissionContext::SameCustomer => upsert(&mut row.same, g, code),
            PermissionContext::OtherCustomers => upsert(&mut row.other, g, code),
            PermissionContext::Named(name) => {
                let pos = row
                    .named
                    .iter()
                    .position(|(ng, n, _)| *ng == g && **n == **name);
                match (pos, code) {
                    (Some(i), None) => {
                        row.named.remove(i);
                    }
                    (Some(i), Some(code)) => {
                        if let Some(e) = row.named.get_mut(i) {
                            e.2 = code;
                        }
                    }
                    (None, Some(code)) => row.named.push((g, Box::from(name.as_str()), code)),
                    (None, None) => {}
                }
            }
        }
        let same = *context == PermissionContext::SameCustomer;
        let members = if same {
            row.members.clone()
        } else {
            Vec::new()
        };
        let now_default = row.is_default();
        let c = match c {
            Some(c) => {
                self.push_company(c, row)?;
                c
            }
            None => self.push_new_company(row)?,
        };
        self.count_company(was_default, now_default);
        if same {
            let mut rev = self.rev(g).map(RevRow::to_update).unwrap_or_default();
            upsert(&mut rev.same, c, code);
            self.push_rev(g, rev)?;
            for u in members {
                self.refresh_user_group(u, g)?;
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
    fn refresh_user_group(&mut self, u: u32, g: u32) -> Result<(), PermissionError> {
        let view = self.user_by_id(u);
        let new = self.code_set(find(view.direct, g)) | self.same_from_companies(view.cids, g);
        if self.code_set(find(view.eff, g)) == new {
            return Ok(());
        }
        let mut row = self.user_row(&view);
        let code = self.code(new)?;
        upsert(&mut row.eff, g, code);
        self.push_user(u, row)
    }

    /// Replaces a customer user's customer ids (primary, secondary and related).
    ///
    /// Appends the user's row and the rows of the companies that gain or lose the user.
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
        let existing = self.user_id(hash, login).map(|u| self.user_by_id(u));
        let (u, old_ids, old_primary, was_default) = match existing {
            Some(view) => {
                let same_ids = view
                    .cids
                    .iter()
                    .map(|&c| self.company_id_str(c))
                    .eq(new_ids.iter().copied());
                let old_primary =
                    (view.primary != NONE).then(|| self.company_id_str(view.primary).to_owned());
                if same_ids && old_primary.as_deref() == new_primary {
                    return Ok(());
                }
                let old_ids: Vec<String> = view
                    .cids
                    .iter()
                    .map(|&c| self.company_id_str(c).to_owned())
                    .collect();
                (view.id, old_ids, old_primary, view.is_default())
            }
            None if new_ids.is_empty() && new_primary.is_none() => return Ok(()),
            None => {
                let row = UserRow {
                    primary: NONE,
                    valid: true,
                    ..UserRow::default()
                };
                (self.push_new_user(login, row)?, Vec::new(), None, true)
            }
        };

        for old in &old_ids {
            if !new_ids.contains(&old.as_str()) {
                self.update_company(old, |c| c.members.retain(|&m| m != u))?;
            }
        }
        for new in &new_ids {
            if !old_ids.iter().any(|o| o == new) {
                self.update_company(new, |c| c.members.push(u))?;
            }
        }
        if old_primary.as_deref() != new_primary {
            if let Some(old) = &old_primary {
                self.update_company(old, |c| c.primary_members.retain(|&m| m != u))?;
            }
            if let Some(new) = new_primary {
                self.update_company(new, |c| c.primary_members.push(u))?;
            }
        }

        // Every id has a company row now.
        let cids: Vec<u32> = new_ids
            .iter()
            .filter_map(|id| self.company_id(id))
            .collect();
        let primary = new_primary.and_then(|p| self.company_id(p)).unwrap_or(NONE);
        let view = self.user_by_id(u);
        let mut row = self.user_row(&view);
        let direct = row.direct.clone();
        let mut palette = (*self.palette).clone();
        let base_palette_len = palette.len();
        let eff = {
            let lists: Vec<&[crate::store::Ent]> = cids
                .iter()
                .filter_map(|&c| self.company_by_id(c).map(|c| c.same.as_slice()))
                .collect();
            merge_effective(&mut palette, &direct, lists.into_iter())?
        };
        if palette.len() != base_palette_len {
            self.palette = Arc::new(palette);
        }
        row.cids = cids;
        row.primary = primary;
        row.eff = eff;
        let now_default =
            row.valid && row.primary == NONE && row.cids.is_empty() && row.direct.is_empty();
        self.push_user(u, row)?;
        self.count_user(was_default, now_default);
        Ok(())
    }

    /// Applies `f` to a company's row (creating it) and appends the result.
    fn update_company(
        &mut self,
        customer_id: &str,
        f: impl FnOnce(&mut CompanyRow),
    ) -> Result<(), PermissionError> {
        let c = self.company_id(customer_id);
        let mut row = c
            .and_then(|c| self.company_by_id(c))
            .cloned()
            .unwrap_or_else(|| CompanyRow::new(customer_id));
        let was_default = row.is_default();
        f(&mut row);
        let now_default = row.is_default();
        match c {
            Some(c) => self.push_company(c, row)?,
            None => {
                self.push_new_company(row)?;
            }
        }
        self.count_company(was_default, now_default);
        Ok(())
    }

    /// Marks a customer user valid or invalid (only the reverse query looks at it).
    pub fn set_user_valid(&mut self, login: &str, valid: bool) -> Result<(), PermissionError> {
        if login.is_empty() {
            return Err(PermissionError::EmptyLogin);
        }
        let hash = self.hasher.hash_one(login);
        match self.user_id(hash, login).map(|u| self.user_by_id(u)) {
            Some(view) if view.valid == valid => Ok(()),
            None if valid => Ok(()),
            Some(view) => {
                let was_default = view.is_default();
                let mut row = self.user_row(&view);
                row.valid = valid;
                let now_default = row.valid
                    && row.primary == NONE
                    && row.cids.is_empty()
                    && row.direct.is_empty();
                self.push_user(view.id, row)?;
                self.count_user(was_default, now_default);
                Ok(())
            }
            None => {
                let row = UserRow {
                    primary: NONE,
                    valid,
                    ..UserRow::default()
                };
                self.push_new_user(login, row)?;
                self.count_user(true, false);
                Ok(())
            }
        }
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
        self.update_company(customer_id, |c| c.valid = Some(valid))
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
        let state = self.settings.state_for(&group.name, group.valid);
        let g = Arc::make_mut(&mut self.groups).insert(group.id, &group.name);
        Arc::make_mut(&mut self.state).push(state);
        if state.always_user || state.always_company {
            Arc::make_mut(&mut self.always).push(g);
        }
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
