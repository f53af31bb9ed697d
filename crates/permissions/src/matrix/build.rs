//! Building a matrix from facts in one pass.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::Arc;

use clientele_model::permission::{GroupId, PermissionContext};

use super::{
    CompanyRow, GroupIndex, GroupRev, PermissionMatrix, Settings, UserRow, always_list,
    check_group, checked_customer_ids, last_wins, merge_effective,
};
use crate::store::{ChunkedVec, ShardedMap};
use crate::{
    CompanyFacts, CompanyGrant, PermissionError, PermissionFacts, PermissionSet, UserFacts,
    UserGrant,
};

impl PermissionMatrix {
    /// Builds the matrix from facts.
    ///
    /// Errors name the first offending value: a grant on an unknown group, a permission type
    /// that is not configured, two groups with one id or name, an empty login or customer id.
    pub fn build(facts: &PermissionFacts) -> Result<Self, PermissionError> {
        let settings = Settings::new(&facts.config);
        let types = &settings.types;
        let hasher = RandomState::new();

        // Groups.
        let n_groups = facts.groups.len();
        if n_groups >= u32::MAX as usize {
            return Err(PermissionError::TooManyGroups {
                max: u32::MAX as usize - 1,
            });
        }
        let mut index = GroupIndex {
            by_id: HashMap::with_capacity_and_hasher(n_groups, Default::default()),
            by_name: HashMap::with_capacity(n_groups),
            ids: Vec::with_capacity(n_groups),
            names: Vec::with_capacity(n_groups),
        };
        let mut state = Vec::with_capacity(n_groups);
        for group in &facts.groups {
            check_group(&index, group)?;
            let g = index.ids.len() as u32;
            let name: Arc<str> = Arc::from(group.name.as_str());
            index.by_id.insert(group.id, g);
            index.by_name.insert(Arc::clone(&name), g);
            index.ids.push(group.id);
            index.names.push(name);
            state.push(settings.state_for(&group.name, group.valid));
        }
        let group_of = |id: GroupId| {
            index
                .by_id
                .get(&id)
                .copied()
                .ok_or(PermissionError::UnknownGroup { group: id })
        };

        // Users and companies, interned to dense indices.
        struct UserBuild {
            login: Arc<str>,
            valid: bool,
            primary: Option<usize>,
            customer_ids: Vec<usize>,
            direct: Vec<(u32, PermissionSet)>,
        }
        struct CompanyBuild {
            row: CompanyRow,
        }
        let mut user_ix: HashMap<&str, usize> =
            HashMap::with_capacity(facts.users.len().max(facts.user_grants.len() / 8));
        let mut users: Vec<UserBuild> = Vec::with_capacity(user_ix.capacity());
        let mut company_ix: HashMap<&str, usize> = HashMap::new();
        let mut companies: Vec<CompanyBuild> = Vec::new();

        fn intern_user<'f>(
            login: &'f str,
            ix: &mut HashMap<&'f str, usize>,
            users: &mut Vec<UserBuild>,
        ) -> Result<usize, PermissionError> {
            if login.is_empty() {
                return Err(PermissionError::EmptyLogin);
            }
            Ok(*ix.entry(login).or_insert_with(|| {
                users.push(UserBuild {
                    login: Arc::from(login),
                    valid: true,
                    primary: None,
                    customer_ids: Vec::new(),
                    direct: Vec::new(),
                });
                users.len() - 1
            }))
        }
        fn intern_company<'f>(
            id: &'f str,
            ix: &mut HashMap<&'f str, usize>,
            companies: &mut Vec<CompanyBuild>,
        ) -> usize {
            *ix.entry(id).or_insert_with(|| {
                companies.push(CompanyBuild {
                    row: CompanyRow::new(Arc::from(id)),
                });
                companies.len() - 1
            })
        }

        for UserFacts {
            login,
            customer_ids,
            valid,
        } in &facts.users
        {
            let u = intern_user(login, &mut user_ix, &mut users)?;
            let ids = checked_customer_ids(login, customer_ids)?;
            let mut interned = Vec::with_capacity(ids.len());
            for id in ids {
                interned.push(intern_company(id, &mut company_ix, &mut companies));
            }
            let primary = customer_ids
                .primary
                .as_deref()
                .map(|p| intern_company(p, &mut company_ix, &mut companies));
            if let Some(user) = users.get_mut(u) {
                user.valid = *valid;
                user.customer_ids = interned;
                user.primary = primary;
            }
        }
        for UserGrant {
            login,
            group,
            permissions,
        } in &facts.user_grants
        {
            let g = group_of(*group)?;
            let set = settings.implied(PermissionSet::from_types(types, permissions)?);
            let u = intern_user(login, &mut user_ix, &mut users)?;
            if let Some(user) = users.get_mut(u) {
                user.direct.push((g, set));
            }
        }
        for CompanyGrant {
            customer_id,
            group,
            context,
            permissions,
        } in &facts.company_grants
        {
            if customer_id.is_empty() {
                return Err(PermissionError::EmptyCustomerId);
            }
            let g = group_of(*group)?;
            let set = settings.implied(PermissionSet::from_types(types, permissions)?);
            let c = intern_company(customer_id, &mut company_ix, &mut companies);
            if let Some(company) = companies.get_mut(c) {
                match context {
                    PermissionContext::SameCustomer => company.row.same.push((g, set)),
                    PermissionContext::OtherCustomers => company.row.other.push((g, set)),
                    // Named contexts are few; the incremental path keeps them last-wins too.
                    PermissionContext::Named(_) => company.row.set_grant(g, context, set),
                }
            }
        }
        for CompanyFacts { customer_id, valid } in &facts.companies {
            if customer_id.is_empty() {
                return Err(PermissionError::EmptyCustomerId);
            }
            let c = intern_company(customer_id, &mut company_ix, &mut companies);
            if let Some(company) = companies.get_mut(c) {
                company.row.valid = Some(*valid);
            }
        }

        for user in &mut users {
            last_wins(&mut user.direct);
        }
        for company in &mut companies {
            last_wins(&mut company.row.same);
            last_wins(&mut company.row.other);
        }
        for user in &users {
            for &c in &user.customer_ids {
                if let Some(company) = companies.get_mut(c) {
                    company.row.members.push(Arc::clone(&user.login));
                }
            }
            if let Some(company) = user.primary.and_then(|p| companies.get_mut(p)) {
                company.row.primary_members.push(Arc::clone(&user.login));
            }
        }

        // The reverse index.
        let mut rev = vec![GroupRev::default(); n_groups];
        for user in &users {
            for &(g, set) in &user.direct {
                if let Some(r) = rev.get_mut(g as usize) {
                    r.direct.push((Arc::clone(&user.login), set));
                }
            }
        }
        for company in &companies {
            for &(g, set) in &company.row.same {
                if let Some(r) = rev.get_mut(g as usize) {
                    r.same.push((Arc::clone(&company.row.id), set));
                }
            }
        }

        // The rows.
        let mut user_map = ShardedMap::with_capacity(users.len());
        for user in users {
            let eff = merge_effective(
                &user.direct,
                user.customer_ids
                    .iter()
                    .filter_map(|&c| companies.get(c).map(|c| c.row.same.as_slice())),
            );
            let row = UserRow {
                valid: user.valid,
                primary: user
                    .primary
                    .and_then(|p| companies.get(p).map(|c| Arc::clone(&c.row.id))),
                customer_ids: user
                    .customer_ids
                    .iter()
                    .filter_map(|&c| companies.get(c).map(|c| Arc::clone(&c.row.id)))
                    .collect(),
                direct: user.direct,
                eff,
                ..UserRow::new(user.login)
            };
            if !row.is_default() {
                user_map.insert(hasher.hash_one(&*row.login), Arc::new(row));
            }
        }
        let mut company_map = ShardedMap::with_capacity(companies.len());
        for company in companies {
            if !company.row.is_default() {
                company_map.insert(hasher.hash_one(&*company.row.id), Arc::new(company.row));
            }
        }

        let always = always_list(&state);
        Ok(PermissionMatrix {
            settings: Arc::new(settings),
            groups: Arc::new(index),
            state: Arc::new(state),
            always: Arc::new(always),
            rev: ChunkedVec::from_vec(rev),
            users: user_map,
            companies: company_map,
            hasher,
        })
    }
}
