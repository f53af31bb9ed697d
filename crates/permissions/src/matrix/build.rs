//! Building a matrix from facts in one pass.

use std::hash::BuildHasher;
use std::sync::Arc;

use clientele_model::permission::{GroupId, PermissionContext};
use hashbrown::HashTable;

use super::{
    GroupIndex, PermissionMatrix, Settings, always_list, check_group, checked_customer_ids,
    code_in, merge_effective,
};
use crate::store::{Base, CompanyRow, Ent, KeyHasher, NONE, RevRow, UserArraysBuilder, UserView};
use crate::{
    CompanyFacts, CompanyGrant, PermissionError, PermissionFacts, PermissionSet, UserFacts,
    UserGrant,
};

/// Sorts by group, keeps the last set given for each group (a later grant replaces an earlier
/// one), and drops empty sets.
fn last_wins(list: &mut Vec<(u32, PermissionSet)>) {
    // A stable sort keeps the order of grants on one group, so the last one wins.
    list.sort_by_key(|e| e.0);
    let mut out: Vec<(u32, PermissionSet)> = Vec::with_capacity(list.len());
    for &(g, s) in list.iter() {
        match out.last_mut() {
            Some(last) if last.0 == g => last.1 = s,
            _ => out.push((g, s)),
        }
    }
    out.retain(|e| !e.1.is_empty());
    *list = out;
}

fn encode(
    palette: &mut Vec<PermissionSet>,
    list: &[(u32, PermissionSet)],
) -> Result<Vec<Ent>, PermissionError> {
    let mut out = Vec::with_capacity(list.len());
    for &(g, s) in list {
        out.push(Ent::new(g, code_in(palette, s)?));
    }
    Ok(out)
}

fn too_large(what: &'static str) -> impl Fn(crate::store::TooLarge) -> PermissionError {
    move |_| PermissionError::TooLarge { what }
}

impl PermissionMatrix {
    /// Builds the matrix from facts.
    ///
    /// Errors name the first offending value: a grant on an unknown group, a permission type
    /// that is not configured, two groups with one id or name, an empty login or customer id.
    pub fn build(facts: &PermissionFacts) -> Result<Self, PermissionError> {
        let settings = Settings::new(&facts.config);
        let types = &settings.types;
        let hasher = KeyHasher::default();

        // Groups.
        let n_groups = facts.groups.len();
        if n_groups >= u32::MAX as usize {
            return Err(PermissionError::TooManyGroups {
                max: u32::MAX as usize - 1,
            });
        }
        let mut index = GroupIndex::default();
        let mut state = Vec::with_capacity(n_groups);
        for group in &facts.groups {
            check_group(&index, group)?;
            index.insert(group.id, &group.name);
            state.push(settings.state_for(&group.name, group.valid));
        }
        let group_of = |id: GroupId| {
            index
                .get(id)
                .ok_or(PermissionError::UnknownGroup { group: id })
        };

        // Users and companies, interned to dense indices in order of first appearance.
        // Flat lists rather than a vector per user: fewer, larger allocations, which go back to
        // the system when the build is done instead of leaving holes in the heap.
        struct UserBuild<'f> {
            login: &'f str,
            valid: bool,
            primary: Option<usize>,
            /// Range in `user_cids`.
            customer_ids: (usize, usize),
        }
        struct CompanyBuild {
            row: CompanyRow,
            same: Vec<(u32, PermissionSet)>,
            other: Vec<(u32, PermissionSet)>,
        }
        // The interning tables hold indices only; the keys are in `users` and `companies`.
        let h = foldhash::fast::FixedState::default();
        let mut user_ix: HashTable<u32> = HashTable::with_capacity(facts.users.len());
        let mut users: Vec<UserBuild<'_>> = Vec::with_capacity(facts.users.len());
        let mut user_cids: Vec<u32> = Vec::with_capacity(facts.users.len() * 2);
        // (user, group, position): sorted, the last grant on a group comes last.
        let mut grants: Vec<[u32; 3]> = Vec::with_capacity(facts.user_grants.len());
        // Palette code per grant, by position; `EMPTY` for an empty set.
        const EMPTY: u16 = u16::MAX;
        let mut grant_codes: Vec<u16> = Vec::with_capacity(facts.user_grants.len());
        let mut palette: Vec<PermissionSet> = Vec::new();
        let mut company_ix: HashTable<u32> = HashTable::new();
        let mut companies: Vec<CompanyBuild> = Vec::new();

        fn intern_user<'f>(
            login: &'f str,
            h: &foldhash::fast::FixedState,
            ix: &mut HashTable<u32>,
            users: &mut Vec<UserBuild<'f>>,
        ) -> Result<usize, PermissionError> {
            if login.is_empty() {
                return Err(PermissionError::EmptyLogin);
            }
            let hash = h.hash_one(login);
            let found = ix.find(hash, |&u| {
                users.get(u as usize).is_some_and(|x| x.login == login)
            });
            if let Some(&u) = found {
                return Ok(u as usize);
            }
            users.push(UserBuild {
                login,
                valid: true,
                primary: None,
                customer_ids: (0, 0),
            });
            let u = users.len() - 1;
            ix.insert_unique(hash, u as u32, |&u| {
                users.get(u as usize).map_or(0, |x| h.hash_one(x.login))
            });
            Ok(u)
        }
        fn intern_company(
            id: &str,
            h: &foldhash::fast::FixedState,
            ix: &mut HashTable<u32>,
            companies: &mut Vec<CompanyBuild>,
        ) -> usize {
            let hash = h.hash_one(id);
            let found = ix.find(hash, |&c| {
                companies.get(c as usize).is_some_and(|x| *x.row.id == *id)
            });
            if let Some(&c) = found {
                return c as usize;
            }
            companies.push(CompanyBuild {
                row: CompanyRow::new(id),
                same: Vec::new(),
                other: Vec::new(),
            });
            let c = companies.len() - 1;
            ix.insert_unique(hash, c as u32, |&c| {
                companies
                    .get(c as usize)
                    .map_or(0, |x| h.hash_one(&*x.row.id))
            });
            c
        }

        for UserFacts {
            login,
            customer_ids,
            valid,
        } in &facts.users
        {
            let u = intern_user(login, &h, &mut user_ix, &mut users)?;
            let ids = checked_customer_ids(login, customer_ids)?;
            let start = user_cids.len();
            for id in ids {
                user_cids.push(intern_company(id, &h, &mut company_ix, &mut companies) as u32);
            }
            let primary = customer_ids
                .primary
                .as_deref()
                .map(|p| intern_company(p, &h, &mut company_ix, &mut companies));
            if let Some(user) = users.get_mut(u) {
                user.valid = *valid;
                user.customer_ids = (start, user_cids.len());
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
            let u = intern_user(login, &h, &mut user_ix, &mut users)?;
            let code = if set.is_empty() {
                EMPTY
            } else {
                u16::from(code_in(&mut palette, set)?)
            };
            grants.push([u as u32, g, grant_codes.len() as u32]);
            grant_codes.push(code);
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
            let c = intern_company(customer_id, &h, &mut company_ix, &mut companies);
            if let Some(company) = companies.get_mut(c) {
                match context {
                    PermissionContext::SameCustomer => company.same.push((g, set)),
                    PermissionContext::OtherCustomers => company.other.push((g, set)),
                    // Named contexts are few; last one wins, an empty set removes.
                    PermissionContext::Named(name) => {
                        let named = &mut company.row.named;
                        let pos = named
                            .iter()
                            .position(|(ng, n, _)| *ng == g && **n == **name);
                        match (pos, set.is_empty()) {
                            (Some(i), true) => {
                                named.remove(i);
                            }
                            (Some(i), false) => {
                                let code = code_in(&mut palette, set)?;
                                if let Some(e) = named.get_mut(i) {
                                    e.2 = code;
                                }
                            }
                            (None, false) => {
                                let code = code_in(&mut palette, set)?;
                                named.push((g, Box::from(name.as_str()), code));
                            }
                            (None, true) => {}
                        }
                    }
                }
            }
        }
        for CompanyFacts { customer_id, valid } in &facts.companies {
            if customer_id.is_empty() {
                return Err(PermissionError::EmptyCustomerId);
            }
            let c = intern_company(customer_id, &h, &mut company_ix, &mut companies);
            if let Some(company) = companies.get_mut(c) {
                company.row.valid = Some(*valid);
            }
        }
        if companies.len() >= u32::MAX as usize || users.len() >= u32::MAX as usize {
            return Err(PermissionError::TooLarge {
                what: "customer users or companies",
            });
        }

        // Sets to palette codes.
        // Direct grants by user, then group; the stable sort keeps a later grant on the same
        // group after an earlier one, and the later one wins.
        grants.sort_unstable();
        let mut direct_ents: Vec<Ent> = Vec::with_capacity(grants.len());
        let mut direct_offs: Vec<usize> = Vec::with_capacity(users.len() + 1);
        direct_offs.push(0);
        let mut next_grant = grants.iter().peekable();
        for u in 0..users.len() as u32 {
            while let Some(&&[gu, g, pos]) = next_grant.peek() {
                if gu != u {
                    break;
                }
                next_grant.next();
                let superseded = next_grant.peek().is_some_and(|n| n[0] == u && n[1] == g);
                let code = grant_codes.get(pos as usize).copied().unwrap_or(EMPTY);
                if !superseded && code != EMPTY {
                    direct_ents.push(Ent::new(g, code as u8));
                }
            }
            direct_offs.push(direct_ents.len());
        }
        drop(grants);
        drop(grant_codes);
        drop(user_ix);
        drop(company_ix);
        let directs: Vec<&[Ent]> = direct_offs
            .windows(2)
            .map(|w| direct_ents.get(w[0]..w[1]).unwrap_or_default())
            .collect();
        let cids_of = |user: &UserBuild<'_>| {
            user_cids
                .get(user.customer_ids.0..user.customer_ids.1)
                .unwrap_or_default()
        };
        for company in &mut companies {
            last_wins(&mut company.same);
            last_wins(&mut company.other);
            company.row.same = encode(&mut palette, &company.same)?;
            company.row.other = encode(&mut palette, &company.other)?;
        }

        // Final user ids: only users whose row says something get one.
        let mut ids: Vec<u32> = Vec::with_capacity(users.len());
        let mut next = 0u32;
        for (user, direct) in users.iter().zip(&directs) {
            let default = user.valid
                && user.primary.is_none()
                && cids_of(user).is_empty()
                && direct.is_empty();
            if default {
                ids.push(NONE);
            } else {
                ids.push(next);
                next += 1;
            }
        }
        for (user, &id) in users.iter().zip(&ids) {
            if id == NONE {
                continue;
            }
            for &c in cids_of(user) {
                if let Some(company) = companies.get_mut(c as usize) {
                    company.row.members.push(id);
                }
            }
            if let Some(company) = user.primary.and_then(|p| companies.get_mut(p)) {
                company.row.primary_members.push(id);
            }
        }

        // The reverse index.
        let mut sizes = vec![(0usize, 0usize); n_groups];
        for (&id, direct) in ids.iter().zip(&directs) {
            if id != NONE {
                for e in direct.iter() {
                    if let Some(n) = sizes.get_mut(e.id() as usize) {
                        n.0 += 1;
                    }
                }
            }
        }
        for company in &companies {
            for e in &company.row.same {
                if let Some(n) = sizes.get_mut(e.id() as usize) {
                    n.1 += 1;
                }
            }
        }
        let mut revs: Vec<RevRow> = sizes
            .into_iter()
            .map(|(d, s)| RevRow {
                direct: Vec::with_capacity(d),
                same: Vec::with_capacity(s),
            })
            .collect();
        for (&id, direct) in ids.iter().zip(&directs) {
            if id == NONE {
                continue;
            }
            for e in direct.iter() {
                if let Some(r) = revs.get_mut(e.id() as usize) {
                    r.direct.push(Ent::new(id, e.code()));
                }
            }
        }
        for (c, company) in companies.iter().enumerate() {
            for e in &company.row.same {
                if let Some(r) = revs.get_mut(e.id() as usize) {
                    r.same.push(Ent::new(c as u32, e.code()));
                }
            }
        }

        // The users' arrays.
        let n_users = next as usize;
        // An upper bound of the effective entries, so the array is allocated once.
        let eff_bound: usize = users
            .iter()
            .zip(&ids)
            .zip(&directs)
            .filter(|((_, id), _)| **id != NONE)
            .map(|((user, _), direct)| {
                direct.len()
                    + cids_of(user)
                        .iter()
                        .filter_map(|&c| companies.get(c as usize))
                        .map(|c| c.row.same.len())
                        .sum::<usize>()
            })
            .sum();
        let mut arrays = UserArraysBuilder::with_capacity(
            n_users,
            eff_bound,
            direct_ents.len(),
            users.iter().map(|u| u.login.len()).sum(),
        );
        let mut user_rows = 0;
        for ((user, &id), direct) in users.iter().zip(&ids).zip(&directs) {
            if id == NONE {
                continue;
            }
            let cids = cids_of(user);
            let eff = merge_effective(
                &mut palette,
                direct,
                cids.iter()
                    .filter_map(|&c| companies.get(c as usize).map(|c| c.row.same.as_slice())),
            )?;
            arrays
                .push(&UserView {
                    id,
                    login: user.login,
                    eff: &eff,
                    direct,
                    cids,
                    primary: user.primary.map_or(NONE, |p| p as u32),
                    valid: user.valid,
                })
                .map_err(too_large("entries"))?;
            user_rows += 1;
        }
        let arrays = arrays.finish(&hasher, None).map_err(too_large("entries"))?;

        let mut company_table = HashTable::with_capacity(companies.len());
        let mut rows = Vec::with_capacity(companies.len());
        let mut company_rows = 0;
        for mut company in companies {
            company.row.same.shrink_to_fit();
            company.row.other.shrink_to_fit();
            if !company.row.is_default() {
                company_rows += 1;
            }
            rows.push(Arc::new(company.row));
        }
        for (c, row) in rows.iter().enumerate() {
            company_table.insert_unique(hasher.hash_one(&*row.id), c as u32, |&c: &u32| {
                rows.get(c as usize).map_or(0, |r| hasher.hash_one(&*r.id))
            });
        }
        let n_companies = rows.len() as u32;

        let always = always_list(&state);
        Ok(PermissionMatrix {
            settings: Arc::new(settings),
            groups: Arc::new(index),
            state: Arc::new(state),
            always: Arc::new(always),
            palette: Arc::new(palette),
            base: Arc::new(Base {
                users: arrays,
                revs: revs
                    .into_iter()
                    .map(|mut r| {
                        r.direct.shrink_to_fit();
                        r.same.shrink_to_fit();
                        Arc::new(r)
                    })
                    .collect(),
                companies: rows,
                company_table,
            }),
            log: None,
            seen: 0,
            new_users: Arc::default(),
            new_companies: Arc::default(),
            n_users: n_users as u32,
            n_companies,
            user_rows,
            company_rows,
            merges: 0,
            hasher,
        })
    }
}
