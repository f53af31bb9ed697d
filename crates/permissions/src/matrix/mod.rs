//! The permission matrix: built once from the facts, answers by lookup, updated row by row.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::mem::size_of;
use std::sync::Arc;

use clientele_model::permission::{GroupId, PermissionContext, PermissionTypes};

mod build;
mod explain;
mod update;

use crate::set::{configured_list, mask};
use crate::store::{ChunkedVec, IntHasher, Keyed, ShardedMap};
use crate::ticket::eq_ignore_case;
use crate::{
    CompanyFacts, CompanyGrant, Group, PermissionConfig, PermissionError, PermissionFacts,
    PermissionSet, Ticket, TicketAccessRules, TicketCheck, TypeIndex, UserCustomerIds, UserFacts,
    UserGrant,
};

/// The configuration, with the masks the queries need.
#[derive(Clone, Debug)]
struct Settings {
    support: bool,
    other_context: bool,
    types: PermissionTypes,
    all: PermissionSet,
    rw: TypeIndex,
    ro: Option<TypeIndex>,
    always_groups: Vec<String>,
    company_always_groups: Vec<String>,
    extra_contexts: Vec<PermissionContext>,
    ticket_access: TicketAccessRules,
}

impl Settings {
    fn new(config: &PermissionConfig) -> Self {
        let types = config.permission_types.clone();
        // `PermissionTypes` guarantees 1..=64 entries with `rw` last.
        let rw = TypeIndex::clamped(types.rw_index());
        Settings {
            support: config.customer_group_support,
            other_context: config.other_customers_context,
            all: PermissionSet::from_bits(mask(types.len())),
            ro: TypeIndex::of(&types, "ro"),
            rw,
            types,
            always_groups: config.always_groups.clone(),
            company_always_groups: config.company_always_groups.clone(),
            extra_contexts: config.extra_contexts.clone(),
            ticket_access: config.ticket_access.clone(),
        }
    }

    fn config(&self) -> PermissionConfig {
        PermissionConfig {
            customer_group_support: self.support,
            permission_types: self.types.clone(),
            always_groups: self.always_groups.clone(),
            company_always_groups: self.company_always_groups.clone(),
            other_customers_context: self.other_context,
            extra_contexts: self.extra_contexts.clone(),
            ticket_access: self.ticket_access.clone(),
        }
    }

    /// What a stored set means: `rw` implies every type.
    #[inline]
    fn implied(&self, set: PermissionSet) -> PermissionSet {
        if set.contains(self.rw) { self.all } else { set }
    }

    /// `permission_key IN ('ro', 'rw')`, also when `ro` is not configured.
    fn ro_or_rw(&self, set: PermissionSet) -> bool {
        set.contains(self.rw) || self.ro.is_some_and(|ro| set.contains(ro))
    }

    fn state_for(&self, name: &str, valid: bool) -> GroupState {
        GroupState {
            valid,
            always_user: self.always_groups.iter().any(|n| n == name),
            always_company: self.company_always_groups.iter().any(|n| n == name),
        }
    }
}

/// Per group: validity and whether it is an always-group of either kind.
#[derive(Clone, Copy, Debug, Default)]
struct GroupState {
    valid: bool,
    always_user: bool,
    always_company: bool,
}

#[derive(Clone, Debug, Default)]
struct GroupIndex {
    by_id: HashMap<GroupId, u32, BuildHasherDefault<IntHasher>>,
    by_name: HashMap<Arc<str>, u32>,
    ids: Vec<GroupId>,
    names: Vec<Arc<str>>,
}

/// The reverse index of one group: who holds a direct grant and which companies hold a grant
/// in the "same customer" context.
#[derive(Clone, Debug, Default)]
struct GroupRev {
    direct: Vec<(Arc<str>, PermissionSet)>,
    same: Vec<(Arc<str>, PermissionSet)>,
}

/// One customer user's row. Sets are stored with `rw` already expanded.
///
/// The fields a check reads come first and the login's first bytes are copied into the row,
/// so a lookup compares the key and finds the group without following the login pointer.
#[derive(Clone, Debug)]
#[repr(C)]
struct UserRow {
    login: Arc<str>,
    login_prefix: [u8; LOGIN_PREFIX],
    /// Direct grants united with the "same customer" grants of every customer id, sorted by
    /// group index.
    eff: Vec<(u32, PermissionSet)>,
    /// Direct grants, sorted by group index.
    direct: Vec<(u32, PermissionSet)>,
    customer_ids: Vec<Arc<str>>,
    primary: Option<Arc<str>>,
    valid: bool,
}

const LOGIN_PREFIX: usize = 24;

impl Keyed for UserRow {
    fn key(&self) -> &str {
        &self.login
    }

    #[inline]
    fn is_key(&self, key: &str) -> bool {
        // The fat pointer holds the length, so this reads no other memory.
        if key.len() != self.login.len() {
            return false;
        }
        match self.login_prefix.get(..key.len()) {
            Some(prefix) => prefix == key.as_bytes(),
            None => *self.login == *key,
        }
    }
}

impl UserRow {
    fn new(login: Arc<str>) -> Self {
        let mut login_prefix = [0u8; LOGIN_PREFIX];
        let bytes = login.as_bytes();
        let n = bytes.len().min(LOGIN_PREFIX);
        login_prefix[..n].copy_from_slice(&bytes[..n]);
        UserRow {
            login,
            login_prefix,
            valid: true,
            primary: None,
            customer_ids: Vec::new(),
            direct: Vec::new(),
            eff: Vec::new(),
        }
    }

    /// A row that says nothing beyond what an unknown login means.
    fn is_default(&self) -> bool {
        self.valid
            && self.primary.is_none()
            && self.customer_ids.is_empty()
            && self.direct.is_empty()
    }

    #[inline]
    fn eff(&self, g: u32) -> PermissionSet {
        lookup(&self.eff, g)
    }

    fn set_eff(&mut self, g: u32, set: PermissionSet) {
        upsert(&mut self.eff, g, set);
    }

    fn heap_bytes(&self) -> usize {
        size_of::<UserRow>()
            + 16
            + self.login.len()
            + self.customer_ids.capacity() * size_of::<Arc<str>>()
            + self.direct.capacity() * size_of::<(u32, PermissionSet)>()
            + self.eff.capacity() * size_of::<(u32, PermissionSet)>()
    }
}

/// One company's row. Sets are stored with `rw` already expanded.
#[derive(Clone, Debug)]
struct CompanyRow {
    id: Arc<str>,
    valid: Option<bool>,
    same: Vec<(u32, PermissionSet)>,
    other: Vec<(u32, PermissionSet)>,
    named: Vec<(u32, Arc<str>, PermissionSet)>,
    /// Users that list this id among their customer ids.
    members: Vec<Arc<str>>,
    /// Users whose primary customer id this is.
    primary_members: Vec<Arc<str>>,
}

impl Keyed for CompanyRow {
    fn key(&self) -> &str {
        &self.id
    }
}

impl CompanyRow {
    fn new(id: Arc<str>) -> Self {
        CompanyRow {
            id,
            valid: None,
            same: Vec::new(),
            other: Vec::new(),
            named: Vec::new(),
            members: Vec::new(),
            primary_members: Vec::new(),
        }
    }

    fn is_default(&self) -> bool {
        self.valid.is_none()
            && self.same.is_empty()
            && self.other.is_empty()
            && self.named.is_empty()
            && self.members.is_empty()
            && self.primary_members.is_empty()
    }

    fn grant(&self, g: u32, context: &PermissionContext) -> PermissionSet {
        match context {
            PermissionContext::SameCustomer => lookup(&self.same, g),
            PermissionContext::OtherCustomers => lookup(&self.other, g),
            PermissionContext::Named(name) => self
                .named
                .iter()
                .find(|(ng, n, _)| *ng == g && **n == **name)
                .map(|e| e.2)
                .unwrap_or_default(),
        }
    }

    fn set_grant(&mut self, g: u32, context: &PermissionContext, set: PermissionSet) {
        match context {
            PermissionContext::SameCustomer => upsert(&mut self.same, g, set),
            PermissionContext::OtherCustomers => upsert(&mut self.other, g, set),
            PermissionContext::Named(name) => {
                let pos = self
                    .named
                    .iter()
                    .position(|(ng, n, _)| *ng == g && **n == **name);
                match (pos, set.is_empty()) {
                    (Some(i), true) => {
                        self.named.remove(i);
                    }
                    (Some(i), false) => {
                        if let Some(e) = self.named.get_mut(i) {
                            e.2 = set;
                        }
                    }
                    (None, false) => self.named.push((g, Arc::from(name.as_str()), set)),
                    (None, true) => {}
                }
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        size_of::<CompanyRow>()
            + 16
            + self.id.len()
            + self.same.capacity() * size_of::<(u32, PermissionSet)>()
            + self.other.capacity() * size_of::<(u32, PermissionSet)>()
            + self.named.iter().map(|n| n.1.len() + 16).sum::<usize>()
            + self.named.capacity() * size_of::<(u32, Arc<str>, PermissionSet)>()
            + (self.members.capacity() + self.primary_members.capacity()) * size_of::<Arc<str>>()
    }
}

#[inline]
fn lookup(list: &[(u32, PermissionSet)], g: u32) -> PermissionSet {
    match list.binary_search_by_key(&g, |e| e.0) {
        Ok(i) => list.get(i).map(|e| e.1).unwrap_or_default(),
        Err(_) => PermissionSet::EMPTY,
    }
}

fn upsert(list: &mut Vec<(u32, PermissionSet)>, g: u32, set: PermissionSet) {
    match list.binary_search_by_key(&g, |e| e.0) {
        Ok(i) if set.is_empty() => {
            list.remove(i);
        }
        Ok(i) => {
            if let Some(e) = list.get_mut(i) {
                e.1 = set;
            }
        }
        Err(i) if !set.is_empty() => list.insert(i, (g, set)),
        Err(_) => {}
    }
}

fn upsert_keyed(list: &mut Vec<(Arc<str>, PermissionSet)>, key: &Arc<str>, set: PermissionSet) {
    match (list.iter().position(|(k, _)| **k == **key), set.is_empty()) {
        (Some(i), true) => {
            list.swap_remove(i);
        }
        (Some(i), false) => {
            if let Some(e) = list.get_mut(i) {
                e.1 = set;
            }
        }
        (None, false) => list.push((Arc::clone(key), set)),
        (None, true) => {}
    }
}

fn remove_name(list: &mut Vec<Arc<str>>, name: &str) {
    if let Some(i) = list.iter().position(|n| &**n == name) {
        list.swap_remove(i);
    }
}

/// Sorts by group, keeps the last set given for each group (a later grant replaces an earlier
/// one), and drops empty sets.
fn last_wins(list: &mut Vec<(u32, PermissionSet)>) {
    list.sort_by_key(|e| e.0);
    let mut out: Vec<(u32, PermissionSet)> = Vec::with_capacity(list.len());
    for &(g, s) in list.iter() {
        match out.last_mut() {
            Some(last) if last.0 == g => last.1 = s,
            _ => out.push((g, s)),
        }
    }
    out.retain(|e| !e.1.is_empty());
    out.shrink_to_fit();
    *list = out;
}

/// Unites direct grants with the given company "same customer" lists.
fn merge_effective<'a>(
    direct: &[(u32, PermissionSet)],
    companies: impl Iterator<Item = &'a [(u32, PermissionSet)]>,
) -> Vec<(u32, PermissionSet)> {
    let mut all: Vec<(u32, PermissionSet)> = direct.to_vec();
    for list in companies {
        all.extend_from_slice(list);
    }
    all.sort_unstable_by_key(|e| e.0);
    let mut out: Vec<(u32, PermissionSet)> = Vec::with_capacity(all.len());
    for (g, s) in all {
        match out.last_mut() {
            Some(last) if last.0 == g => last.1 |= s,
            _ => out.push((g, s)),
        }
    }
    out.shrink_to_fit();
    out
}

/// The effective-permission matrix of every customer user on every group.
///
/// Built once from [`PermissionFacts`] with [`PermissionMatrix::build`]; every query is a
/// lookup that allocates nothing (except [`visible_companies`](Self::visible_companies)).
///
/// # Snapshots and updates
///
/// A matrix is a value. Cloning it is cheap: the clone shares all rows with the original, and
/// an update through `&mut self` copies only the shard, chunk and rows it changes (copy on
/// write). An older clone therefore keeps answering from the state it was taken in: a reader
/// holding a snapshot never sees a half-applied change. [`PermissionResolver`] packages this
/// as "readers take an `Arc` snapshot, a writer publishes a new one".
///
/// A failed update returns an error before changing anything.
///
/// # Rules (OTOBO `Kernel/System/CustomerGroup.pm`)
///
/// With customer-group support on, the effective set of a user on a **valid** group is the
/// union of:
/// * the user's direct grant;
/// * the company grants in the "same customer" context of **every** customer id of the user;
/// * every type, if the group is a company always-group and the user has a customer id;
/// * every type, if the group is a user always-group.
///
/// `rw` implies every type; no other type implies anything. Invalid groups give nothing. With
/// support off, every user has every type on every valid group. An empty login has no
/// permission at all (OTOBO refuses the call).
///
/// [`PermissionResolver`]: crate::PermissionResolver
#[derive(Clone)]
pub struct PermissionMatrix {
    settings: Arc<Settings>,
    groups: Arc<GroupIndex>,
    state: Arc<Vec<GroupState>>,
    /// Groups that are an always-group of either kind.
    always: Arc<Vec<u32>>,
    rev: ChunkedVec<GroupRev>,
    users: ShardedMap<UserRow>,
    companies: ShardedMap<CompanyRow>,
    hasher: RandomState,
}

/// The members of a group for a type (the reverse query).
#[derive(Debug)]
pub enum Members<'a> {
    /// Customer-group support is off: every customer user has the permission (OTOBO returns
    /// the list of groups here instead, a known quirk).
    Everyone,
    /// The logins that have it.
    Listed(MemberIter<'a>),
}

impl<'a> Members<'a> {
    /// The listed logins, or `None` for [`Members::Everyone`].
    pub fn listed(self) -> Option<MemberIter<'a>> {
        match self {
            Members::Everyone => None,
            Members::Listed(it) => Some(it),
        }
    }
}

/// Iterator over the logins of a group's members; see [`PermissionMatrix::members`].
pub struct MemberIter<'a> {
    matrix: &'a PermissionMatrix,
    g: u32,
    ty: TypeIndex,
    direct: std::slice::Iter<'a, (Arc<str>, PermissionSet)>,
    same: std::slice::Iter<'a, (Arc<str>, PermissionSet)>,
    current: std::slice::Iter<'a, Arc<str>>,
}

impl fmt::Debug for MemberIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberIter").finish_non_exhaustive()
    }
}

impl<'a> MemberIter<'a> {
    fn empty(matrix: &'a PermissionMatrix) -> Self {
        MemberIter {
            matrix,
            g: 0,
            ty: TypeIndex::clamped(0),
            direct: [].iter(),
            same: [].iter(),
            current: [].iter(),
        }
    }
}

impl<'a> Iterator for MemberIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let m = self.matrix;
        for (login, set) in self.direct.by_ref() {
            // OTOBO drops users known to be invalid on this side only (bug #12285); unknown
            // logins are kept.
            if set.contains(self.ty) && m.user(login).is_none_or(|r| r.valid) {
                return Some(login);
            }
        }
        loop {
            for login in self.current.by_ref() {
                // Company members come from a search for valid users; skip the ones the
                // direct side already returned.
                if let Some(row) = m.user(login)
                    && row.valid
                    && !lookup(&row.direct, self.g).contains(self.ty)
                {
                    return Some(&row.login);
                }
            }
            let (cid, _) = self.same.by_ref().find(|(_, set)| set.contains(self.ty))?;
            self.current = match m.company(cid) {
                Some(c) => c.primary_members.iter(),
                None => [].iter(),
            };
        }
    }
}

/// Iterator over group ids; see [`PermissionMatrix::groups`] and
/// [`PermissionMatrix::raw_groups`].
pub struct GroupIter<'a> {
    matrix: &'a PermissionMatrix,
    ty: TypeIndex,
    inner: GroupIterInner<'a>,
}

enum GroupIterInner<'a> {
    Empty,
    AllValid(std::ops::Range<usize>),
    Effective {
        row: Option<&'a UserRow>,
        has_customer_ids: bool,
        pos: usize,
        always: std::slice::Iter<'a, u32>,
    },
    Raw(std::slice::Iter<'a, (u32, PermissionSet)>),
}

impl fmt::Debug for GroupIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupIter").finish_non_exhaustive()
    }
}

impl Iterator for GroupIter<'_> {
    type Item = GroupId;

    fn next(&mut self) -> Option<GroupId> {
        let m = self.matrix;
        let ty = self.ty;
        let valid = |g: u32| m.state.get(g as usize).is_some_and(|s| s.valid);
        let id = |g: u32| m.groups.ids.get(g as usize).copied();
        match &mut self.inner {
            GroupIterInner::Empty => None,
            GroupIterInner::AllValid(range) => {
                if !m.settings.all.contains(ty) {
                    return None;
                }
                range
                    .by_ref()
                    .find(|&g| valid(g as u32))
                    .and_then(|g| id(g as u32))
            }
            GroupIterInner::Effective {
                row,
                has_customer_ids,
                pos,
                always,
            } => {
                let (row, has_customer_ids) = (*row, *has_customer_ids);
                let always_applies = |g: u32| {
                    m.state
                        .get(g as usize)
                        .is_some_and(|s| s.always_user || (s.always_company && has_customer_ids))
                        && m.settings.all.contains(ty)
                };
                if let Some(row) = row {
                    while let Some(&(g, set)) = row.eff.get(*pos) {
                        *pos += 1;
                        if valid(g) && (set.contains(ty) || always_applies(g)) {
                            return id(g);
                        }
                    }
                }
                let in_row =
                    |g: u32| row.is_some_and(|r| r.eff.binary_search_by_key(&g, |e| e.0).is_ok());
                always
                    .find(|&&g| valid(g) && always_applies(g) && !in_row(g))
                    .and_then(|&g| id(g))
            }
            GroupIterInner::Raw(it) => it
                .find(|(g, set)| valid(*g) && set.contains(ty))
                .and_then(|(g, _)| id(*g)),
        }
    }
}
impl PermissionMatrix {
    // ----- lookups -------------------------------------------------------------------------

    #[inline]
    fn user(&self, login: &str) -> Option<&UserRow> {
        self.users.get(self.hasher.hash_one(login), login)
    }

    #[inline]
    fn company(&self, customer_id: &str) -> Option<&CompanyRow> {
        self.companies
            .get(self.hasher.hash_one(customer_id), customer_id)
    }

    #[inline]
    fn group_index(&self, group: GroupId) -> Option<u32> {
        self.groups.by_id.get(&group).copied()
    }

    fn group_index_checked(&self, group: GroupId) -> Result<u32, PermissionError> {
        self.group_index(group)
            .ok_or(PermissionError::UnknownGroup { group })
    }

    /// The configured permission types.
    pub fn types(&self) -> &PermissionTypes {
        &self.settings.types
    }

    /// The index of a configured permission type, for the queries.
    pub fn type_index(&self, name: &str) -> Option<TypeIndex> {
        TypeIndex::of(&self.settings.types, name)
    }

    /// A permission set from type names; a name that is not configured is an error.
    pub fn permission_set<I, S>(&self, names: I) -> Result<PermissionSet, PermissionError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        PermissionSet::from_names(&self.settings.types, names)
    }

    /// The settings the matrix answers with.
    pub fn config(&self) -> PermissionConfig {
        self.settings.config()
    }

    /// How many groups the matrix knows (valid or not).
    pub fn group_count(&self) -> usize {
        self.groups.ids.len()
    }

    /// How many customer users have a row (a grant, a customer id or a validity).
    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    /// How many companies have a row (a grant, a member or a validity).
    pub fn company_count(&self) -> usize {
        self.companies.len()
    }

    /// The id of the group with this name.
    pub fn group_id(&self, name: &str) -> Option<GroupId> {
        let g = self.groups.by_name.get(name)?;
        self.groups.ids.get(*g as usize).copied()
    }

    /// The name of a group.
    pub fn group_name(&self, group: GroupId) -> Option<&str> {
        let g = self.group_index(group)?;
        self.groups.names.get(g as usize).map(|n| &**n)
    }

    /// Whether a group is valid; `None` for an unknown group.
    pub fn group_valid(&self, group: GroupId) -> Option<bool> {
        let g = self.group_index(group)?;
        self.state.get(g as usize).map(|s| s.valid)
    }

    /// A customer user's customer ids, as last set.
    pub fn customer_ids(&self, login: &str) -> impl Iterator<Item = &str> {
        self.user(login)
            .map(|r| r.customer_ids.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|s| &**s)
    }

    /// A customer user's stored direct grant on a group (`rw` expanded), whatever the group's
    /// validity or the support switch.
    pub fn user_grant(&self, login: &str, group: GroupId) -> PermissionSet {
        match (self.group_index(group), self.user(login)) {
            (Some(g), Some(row)) => lookup(&row.direct, g),
            _ => PermissionSet::EMPTY,
        }
    }

    /// A company's stored grant on a group in a context (`rw` expanded), whatever the group's
    /// validity or the support switch.
    pub fn company_grant(
        &self,
        customer_id: &str,
        group: GroupId,
        context: &PermissionContext,
    ) -> PermissionSet {
        match (self.group_index(group), self.company(customer_id)) {
            (Some(g), Some(c)) => c.grant(g, context),
            _ => PermissionSet::EMPTY,
        }
    }

    // ----- the queries ---------------------------------------------------------------------

    /// The user's effective permission set on a group (OTOBO `GroupMemberList(UserID)`, seen
    /// from one group): a hash lookup of the user and a binary search of the group in the
    /// user's row.
    #[inline]
    pub fn effective(&self, login: &str, group: GroupId) -> PermissionSet {
        if login.is_empty() {
            return PermissionSet::EMPTY;
        }
        let Some(g) = self.group_index(group) else {
            return PermissionSet::EMPTY;
        };
        let Some(state) = self.state.get(g as usize) else {
            return PermissionSet::EMPTY;
        };
        let s = &*self.settings;
        if !state.valid {
            return PermissionSet::EMPTY;
        }
        if !s.support || state.always_user {
            return s.all;
        }
        match self.user(login) {
            None => PermissionSet::EMPTY,
            Some(row) if state.always_company && !row.customer_ids.is_empty() => s.all,
            Some(row) => row.eff(g),
        }
    }

    /// `true` when the user effectively has the type on the group.
    #[inline]
    pub fn has(&self, login: &str, group: GroupId, ty: TypeIndex) -> bool {
        self.effective(login, group).contains(ty)
    }

    /// OTOBO `PermissionCheck(UserID, GroupName, Type)`: [`has`](Self::has) by group name and
    /// type name; `false` for an unknown group or type.
    pub fn check(&self, login: &str, group_name: &str, type_name: &str) -> bool {
        match (self.group_id(group_name), self.type_index(type_name)) {
            (Some(group), Some(ty)) => self.has(login, group, ty),
            _ => false,
        }
    }

    /// The groups on which the user effectively has the type (OTOBO
    /// `GroupMemberList(UserID, Type, Result => 'ID')`), in no particular order.
    pub fn groups(&self, login: &str, ty: TypeIndex) -> GroupIter<'_> {
        let inner = if login.is_empty() {
            GroupIterInner::Empty
        } else if !self.settings.support {
            GroupIterInner::AllValid(0..self.groups.ids.len())
        } else {
            let row = self.user(login);
            GroupIterInner::Effective {
                row,
                has_customer_ids: row.is_some_and(|r| !r.customer_ids.is_empty()),
                pos: 0,
                always: self.always.iter(),
            }
        };
        GroupIter {
            matrix: self,
            ty,
            inner,
        }
    }

    /// The user's direct grant on a valid group (`rw` expanded); empty for an invalid group.
    ///
    /// Unlike OTOBO's `RawPermissions => 1`, this is the direct grant only: no always-groups,
    /// and no "everything" when customer-group support is off. It answers "what is stored
    /// for this user", e.g. for an admin screen, not "what may this user do".
    pub fn raw(&self, login: &str, group: GroupId) -> PermissionSet {
        let Some(g) = self.group_index(group) else {
            return PermissionSet::EMPTY;
        };
        if !self.state.get(g as usize).is_some_and(|s| s.valid) {
            return PermissionSet::EMPTY;
        }
        self.user(login)
            .map(|row| lookup(&row.direct, g))
            .unwrap_or_default()
    }

    /// `true` when the user's direct grant on a valid group includes the type.
    pub fn has_raw(&self, login: &str, group: GroupId, ty: TypeIndex) -> bool {
        self.raw(login, group).contains(ty)
    }

    /// The valid groups on which the user's direct grant includes the type, in no particular
    /// order.
    pub fn raw_groups(&self, login: &str, ty: TypeIndex) -> GroupIter<'_> {
        let inner = match self.user(login) {
            Some(row) => GroupIterInner::Raw(row.direct.iter()),
            None => GroupIterInner::Empty,
        };
        GroupIter {
            matrix: self,
            ty,
            inner,
        }
    }

    /// Who has the type on a group (OTOBO `GroupMemberList(GroupID, Type)`), following
    /// OTOBO's rules for the reverse direction:
    ///
    /// * users with a direct grant, except users marked invalid (unknown users are kept);
    /// * valid users whose **primary** customer id has a grant in the "same customer"
    ///   context (secondary and related ids do not count in this direction);
    /// * no always-groups;
    /// * nothing for an invalid or unknown group; [`Members::Everyone`] when support is off.
    ///
    /// Each login is returned once, in no particular order. OTOBO cuts the company side at
    /// the customer-user search limit; Clientele does not.
    pub fn members(&self, group: GroupId, ty: TypeIndex) -> Members<'_> {
        let Some(g) = self.group_index(group) else {
            return Members::Listed(MemberIter::empty(self));
        };
        if !self.state.get(g as usize).is_some_and(|s| s.valid) {
            return Members::Listed(MemberIter::empty(self));
        }
        if !self.settings.support {
            return Members::Everyone;
        }
        match self.rev.get(g as usize) {
            Some(rev) => Members::Listed(MemberIter {
                matrix: self,
                g,
                ty,
                direct: rev.direct.iter(),
                same: rev.same.iter(),
                current: [].iter(),
            }),
            None => Members::Listed(MemberIter::empty(self)),
        }
    }

    /// The companies whose tickets the user may see through the "other customers" context
    /// (OTOBO `GroupContextCustomers`), sorted and without repeats.
    ///
    /// The user's own customer ids, plus — when support is on and the context is enabled —
    /// every company with `ro` (or `rw`) in the "same customer" context on a valid group on
    /// which one of the user's companies has `ro` (or `rw`) in the "other customers" context.
    /// As in OTOBO, only companies declared valid are kept.
    pub fn visible_companies(&self, login: &str) -> Vec<&str> {
        let Some(row) = self.user(login) else {
            return Vec::new();
        };
        let s = &*self.settings;
        let mut ids: Vec<&str> = row.customer_ids.iter().map(|c| &**c).collect();
        if s.support && s.other_context {
            let valid = |g: u32| self.state.get(g as usize).is_some_and(|st| st.valid);
            let mut groups: Vec<u32> = row
                .customer_ids
                .iter()
                .filter_map(|c| self.company(c))
                .flat_map(|c| c.other.iter())
                .filter(|(g, set)| valid(*g) && s.ro_or_rw(*set))
                .map(|(g, _)| *g)
                .collect();
            groups.sort_unstable();
            groups.dedup();
            for g in groups {
                if let Some(rev) = self.rev.get(g as usize) {
                    ids.extend(
                        rev.same
                            .iter()
                            .filter(|(_, set)| s.ro_or_rw(*set))
                            .map(|(c, _)| &**c),
                    );
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids.retain(|id| self.company(id).and_then(|c| c.valid) == Some(true));
        ids
    }

    /// Whether the customer user may access the ticket with the type (OTOBO
    /// `TicketCustomerPermission`), by the configured [`TicketAccessRules`].
    pub fn can_access_ticket(&self, login: &str, ticket: &Ticket<'_>, ty: TypeIndex) -> bool {
        if login.is_empty() {
            return false;
        }
        let s = &*self.settings;
        let rules = &s.ticket_access;
        let mut row: Option<Option<&UserRow>> = None;
        for module in &rules.modules {
            let passed = match module.check {
                TicketCheck::GroupCheck => self.has(login, ticket.queue_group, ty),
                TicketCheck::CustomerUserIdCheck => ticket
                    .customer_user
                    .is_some_and(|cu| eq_ignore_case(cu, login)),
                TicketCheck::CustomerIdCheck => {
                    !rules.disable_company_ticket_access
                        && ticket.customer_id.is_some_and(|tc| {
                            row.get_or_insert_with(|| self.user(login))
                                .is_some_and(|r| {
                                    r.customer_ids.iter().any(|c| eq_ignore_case(c, tc))
                                })
                        })
                }
                TicketCheck::CustomerGroupCheck => {
                    !rules.disable_company_ticket_access
                        && s.support
                        && s.other_context
                        && self.other_context_grants(
                            *row.get_or_insert_with(|| self.user(login)),
                            ticket.queue_group,
                            ty,
                        )
                }
            };
            if passed && module.granted {
                return true;
            }
            if !passed && module.required {
                return false;
            }
        }
        false
    }

    /// `true` when one of the user's companies has the type on the (valid) group in the
    /// "other customers" context.
    fn other_context_grants(&self, row: Option<&UserRow>, group: GroupId, ty: TypeIndex) -> bool {
        let (Some(row), Some(g)) = (row, self.group_index(group)) else {
            return false;
        };
        if !self.state.get(g as usize).is_some_and(|s| s.valid) {
            return false;
        }
        row.customer_ids
            .iter()
            .filter_map(|c| self.company(c))
            .any(|c| lookup(&c.other, g).contains(ty))
    }

    // ----- export and accounting -----------------------------------------------------------

    /// The facts this matrix answers from, sorted by key. Building a matrix from them gives
    /// one that answers every query the same way.
    pub fn to_facts(&self) -> PermissionFacts {
        let types = &self.settings.types;
        let group_id = |g: u32| self.groups.ids.get(g as usize).copied().unwrap_or_default();
        let groups = self
            .groups
            .ids
            .iter()
            .zip(self.groups.names.iter())
            .zip(self.state.iter())
            .map(|((id, name), st)| Group::new(*id, name.to_string(), st.valid))
            .collect();
        let mut users = Vec::new();
        let mut user_grants = Vec::new();
        for row in self.users.values() {
            if !row.customer_ids.is_empty() || row.primary.is_some() || !row.valid {
                users.push(UserFacts {
                    login: row.login.to_string(),
                    customer_ids: UserCustomerIds::new(
                        row.primary.as_deref().map(str::to_owned),
                        row.customer_ids.iter().map(|c| c.to_string()).collect(),
                    ),
                    valid: row.valid,
                });
            }
            for &(g, set) in &row.direct {
                user_grants.push(UserGrant {
                    login: row.login.to_string(),
                    group: group_id(g),
                    permissions: set.to_types(types),
                });
            }
        }
        let mut companies = Vec::new();
        let mut company_grants = Vec::new();
        for c in self.companies.values() {
            if let Some(valid) = c.valid {
                companies.push(CompanyFacts {
                    customer_id: c.id.to_string(),
                    valid,
                });
            }
            let grant = |g: u32, context: PermissionContext, set: PermissionSet| CompanyGrant {
                customer_id: c.id.to_string(),
                group: group_id(g),
                context,
                permissions: set.to_types(types),
            };
            for &(g, set) in &c.same {
                company_grants.push(grant(g, PermissionContext::SameCustomer, set));
            }
            for &(g, set) in &c.other {
                company_grants.push(grant(g, PermissionContext::OtherCustomers, set));
            }
            for (g, name, set) in &c.named {
                company_grants.push(grant(*g, PermissionContext::Named(name.to_string()), *set));
            }
        }
        users.sort_by(|a, b| a.login.cmp(&b.login));
        user_grants.sort_by(|a, b| (&a.login, a.group).cmp(&(&b.login, b.group)));
        companies.sort_by(|a, b| a.customer_id.cmp(&b.customer_id));
        company_grants.sort_by(|a, b| {
            (&a.customer_id, a.group, &a.context).cmp(&(&b.customer_id, b.group, &b.context))
        });
        PermissionFacts {
            config: self.settings.config(),
            groups,
            users,
            companies,
            user_grants,
            company_grants,
        }
    }

    /// Approximate heap bytes held by this snapshot, counted by walking the structures:
    /// capacities times element sizes, string lengths plus reference-count headers, and hash
    /// tables at one control byte per bucket. Parts shared with other snapshots are counted
    /// in full.
    pub fn approximate_heap_bytes(&self) -> usize {
        let group_index = {
            let g = &*self.groups;
            g.by_id.capacity() * (size_of::<GroupId>() + size_of::<u32>() + 1)
                + g.by_name.capacity() * (size_of::<Arc<str>>() + size_of::<u32>() + 1)
                + g.ids.capacity() * size_of::<GroupId>()
                + g.names.capacity() * size_of::<Arc<str>>()
                + g.names.iter().map(|n| n.len() + 16).sum::<usize>()
        };
        let state = self.state.capacity() * size_of::<GroupState>()
            + self.always.capacity() * size_of::<u32>();
        let rev = self.rev.table_bytes()
            + self
                .rev
                .iter()
                .map(|r| {
                    (r.direct.capacity() + r.same.capacity())
                        * size_of::<(Arc<str>, PermissionSet)>()
                })
                .sum::<usize>();
        let users =
            self.users.table_bytes() + self.users.values().map(UserRow::heap_bytes).sum::<usize>();
        let companies = self.companies.table_bytes()
            + self
                .companies
                .values()
                .map(CompanyRow::heap_bytes)
                .sum::<usize>();
        group_index + state + rev + users + companies
    }
}

impl fmt::Debug for PermissionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermissionMatrix")
            .field("customer_group_support", &self.settings.support)
            .field("types", &configured_list(&self.settings.types))
            .field("groups", &self.groups.ids.len())
            .field("users", &self.users.len())
            .field("companies", &self.companies.len())
            .finish_non_exhaustive()
    }
}

fn check_group(index: &GroupIndex, group: &Group) -> Result<(), PermissionError> {
    if group.name.is_empty() {
        return Err(PermissionError::EmptyGroupName { group: group.id });
    }
    if index.by_id.contains_key(&group.id) {
        return Err(PermissionError::DuplicateGroupId { group: group.id });
    }
    if index.by_name.contains_key(group.name.as_str()) {
        return Err(PermissionError::DuplicateGroupName {
            name: group.name.clone(),
        });
    }
    Ok(())
}

/// The user's customer ids without repeats, refusing empty ones.
fn checked_customer_ids<'a>(
    login: &str,
    ids: &'a UserCustomerIds,
) -> Result<Vec<&'a str>, PermissionError> {
    let empty = || PermissionError::EmptyCustomerIdOfUser {
        login: login.to_owned(),
    };
    if ids.primary.as_deref() == Some("") {
        return Err(empty());
    }
    let mut out: Vec<&str> = Vec::with_capacity(ids.customer_ids.len());
    for id in &ids.customer_ids {
        if id.is_empty() {
            return Err(empty());
        }
        if !out.contains(&id.as_str()) {
            out.push(id);
        }
    }
    Ok(out)
}

fn always_list(state: &[GroupState]) -> Vec<u32> {
    state
        .iter()
        .enumerate()
        .filter(|(_, s)| s.always_user || s.always_company)
        .map(|(g, _)| g as u32)
        .collect()
}
