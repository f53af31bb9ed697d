//! The permission matrix: built once from the facts, answers by lookup, updated through a
//! log of changed rows that is folded into a new base now and then.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::mem::size_of;
use std::sync::Arc;

use clientele_model::permission::{GroupId, PermissionContext, PermissionTypes};
use hashbrown::HashTable;

mod build;
mod explain;
mod handle;
mod update;

pub use handle::UserPermissions;

use crate::set::{configured_list, mask};
use crate::store::{
    Base, CompanyRow, Ent, KeyHasher, Kind, Log, NONE, RevRow, Row, UserView, find,
};
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

/// Group ids to dense indices. Ids are usually small consecutive numbers (OTOBO's
/// `groups_table.id`), so most are found by position in `dense`, without hashing.
#[derive(Clone, Debug, Default)]
struct GroupIndex {
    /// Index by id, for ids below its length ([`NONE`]: no such group).
    dense: Vec<u32>,
    /// Ids too large for `dense`.
    sparse: hashbrown::HashMap<GroupId, u32, KeyHasher>,
    by_name: HashMap<Arc<str>, u32>,
    ids: Vec<GroupId>,
    names: Vec<Arc<str>>,
}

impl GroupIndex {
    #[inline]
    fn get(&self, id: GroupId) -> Option<u32> {
        match usize::try_from(id.0).ok().and_then(|i| self.dense.get(i)) {
            Some(&g) if g != NONE => Some(g),
            _ if self.sparse.is_empty() => None,
            _ => self.sparse.get(&id).copied(),
        }
    }

    fn insert(&mut self, id: GroupId, name: &str) -> u32 {
        let g = self.ids.len() as u32;
        // Dense up to four times the group count (and at least 1 024 ids): a few bytes per id.
        let limit = (self.ids.len() + 1).saturating_mul(4).max(1024);
        match usize::try_from(id.0) {
            Ok(i) if i < limit => {
                if self.dense.len() <= i {
                    self.dense.resize(i + 1, NONE);
                }
                if let Some(slot) = self.dense.get_mut(i) {
                    *slot = g;
                }
            }
            _ => {
                self.sparse.insert(id, g);
            }
        }
        let name: Arc<str> = Arc::from(name);
        self.by_name.insert(Arc::clone(&name), g);
        self.ids.push(id);
        self.names.push(name);
        g
    }

    fn heap_bytes(&self) -> usize {
        self.dense.capacity() * size_of::<u32>()
            + self.sparse.capacity() * (size_of::<(GroupId, u32)>() + 1)
            + self.by_name.capacity() * (size_of::<Arc<str>>() + size_of::<u32>() + 1)
            + self.ids.capacity() * size_of::<GroupId>()
            + self.names.capacity() * size_of::<Arc<str>>()
            + self.names.iter().map(|n| n.len() + 16).sum::<usize>()
    }
}

/// Sets out of the palette: every distinct permission set the matrix stores has a one-byte
/// code. Codes only ever get added, so a code in an older row keeps its meaning.
const MAX_SETS: usize = 256;

/// Customer users a log may add before it is folded into the base (their logins are looked up
/// in a small table that each new user copies).
const MAX_NEW_IDS: usize = 256;

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
///
/// # Layout
///
/// The users' sets live in a few long arrays: a hash table (foldhash, seeded at random) from
/// login to the user's place, and five-byte entries `(group, code)` sorted by group, where the
/// code indexes the matrix's small palette of distinct permission sets. A check hashes the
/// login once, compares it with the stored bytes and binary-searches the user's effective
/// entries. Updates append replacement rows to a log shared by the snapshots of one base;
/// when it fills up (about one row per eight users, groups and companies), the next update
/// folds it into a new base. See [`merge`](Self::merge).
#[derive(Clone)]
pub struct PermissionMatrix {
    settings: Arc<Settings>,
    groups: Arc<GroupIndex>,
    state: Arc<Vec<GroupState>>,
    /// Groups that are an always-group of either kind.
    always: Arc<Vec<u32>>,
    palette: Arc<Vec<PermissionSet>>,
    base: Arc<Base>,
    /// Rows changed since the base was built; this snapshot sees the first `seen` entries.
    log: Option<Arc<Log>>,
    seen: usize,
    /// Users and companies added since the base was built: key → id.
    new_users: Arc<HashTable<(Box<str>, u32)>>,
    new_companies: Arc<HashTable<(Box<str>, u32)>>,
    /// Ids handed out (base and new).
    n_users: u32,
    n_companies: u32,
    /// Rows that say something (what the counts report).
    user_rows: usize,
    company_rows: usize,
    merges: u64,
    hasher: KeyHasher,
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
    direct: std::slice::Iter<'a, Ent>,
    same: std::slice::Iter<'a, Ent>,
    current: std::slice::Iter<'a, u32>,
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
        for e in self.direct.by_ref() {
            // OTOBO drops users known to be invalid on this side only (bug #12285); unknown
            // logins are kept.
            if m.set(e.code()).contains(self.ty) {
                let row = m.user_by_id(e.id());
                if row.valid {
                    return Some(row.login);
                }
            }
        }
        loop {
            for &u in self.current.by_ref() {
                // Company members come from a search for valid users; skip the ones the
                // direct side already returned.
                let row = m.user_by_id(u);
                if row.valid && !m.code_set(find(row.direct, self.g)).contains(self.ty) {
                    return Some(row.login);
                }
            }
            let e = self
                .same
                .by_ref()
                .find(|e| m.set(e.code()).contains(self.ty))?;
            self.current = match m.company_by_id(e.id()) {
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
        eff: &'a [Ent],
        has_customer_ids: bool,
        pos: usize,
        always: std::slice::Iter<'a, u32>,
    },
    Raw(std::slice::Iter<'a, Ent>),
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
                eff,
                has_customer_ids,
                pos,
                always,
            } => {
                let (eff, has_customer_ids) = (*eff, *has_customer_ids);
                let always_applies = |g: u32| {
                    m.state
                        .get(g as usize)
                        .is_some_and(|s| s.always_user || (s.always_company && has_customer_ids))
                        && m.settings.all.contains(ty)
                };
                while let Some(e) = eff.get(*pos) {
                    *pos += 1;
                    let g = e.id();
                    if valid(g) && (m.set(e.code()).contains(ty) || always_applies(g)) {
                        return id(g);
                    }
                }
                always
                    .find(|&&g| valid(g) && always_applies(g) && find(eff, g).is_none())
                    .and_then(|&g| id(g))
            }
            GroupIterInner::Raw(it) => it
                .find(|e| valid(e.id()) && m.set(e.code()).contains(ty))
                .and_then(|e| id(e.id())),
        }
    }
}

impl PermissionMatrix {
    // ----- storage -------------------------------------------------------------------------

    /// The set a palette code stands for.
    #[inline]
    fn set(&self, code: u8) -> PermissionSet {
        self.palette
            .get(usize::from(code))
            .copied()
            .unwrap_or_default()
    }

    #[inline]
    fn code_set(&self, code: Option<u8>) -> PermissionSet {
        code.map(|c| self.set(c)).unwrap_or_default()
    }

    /// The newest logged row of an id that this snapshot sees.
    #[inline]
    fn logged(&self, kind: Kind, id: u32) -> Option<&Row> {
        if self.seen == 0 {
            return None;
        }
        self.log.as_deref()?.get(kind, id, self.seen)
    }

    /// A user's row by id; a default row for an id without one.
    fn user_by_id(&self, u: u32) -> UserView<'_> {
        if let Some(Row::User(row)) = self.logged(Kind::User, u) {
            let login = match &row.login {
                Some(login) => login,
                None => self.base.users.login(u),
            };
            return UserView {
                id: u,
                login,
                eff: &row.eff,
                direct: &row.direct,
                cids: &row.cids,
                primary: row.primary,
                valid: row.valid,
            };
        }
        if (u as usize) < self.base.users.len() {
            return self.base.users.view(u);
        }
        UserView {
            id: u,
            login: "",
            eff: &[],
            direct: &[],
            cids: &[],
            primary: NONE,
            valid: true,
        }
    }

    /// The id of a login, given its hash.
    #[inline]
    fn user_id(&self, hash: u64, login: &str) -> Option<u32> {
        if let Some(slot) = self.base.users.find(hash, login) {
            return Some(slot.user);
        }
        if self.new_users.is_empty() {
            return None;
        }
        self.new_users
            .find(hash, |(l, _)| **l == *login)
            .map(|(_, u)| *u)
    }

    #[inline]
    fn row_of(&self, login: &str) -> Option<UserView<'_>> {
        let u = self.user_id(self.hasher.hash_one(login), login)?;
        Some(self.user_by_id(u))
    }

    fn company_id(&self, customer_id: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(customer_id);
        if let Some(c) = self.base.find_company(hash, customer_id) {
            return Some(c);
        }
        if self.new_companies.is_empty() {
            return None;
        }
        self.new_companies
            .find(hash, |(id, _)| **id == *customer_id)
            .map(|(_, c)| *c)
    }

    fn company_by_id(&self, c: u32) -> Option<&CompanyRow> {
        if let Some(Row::Company(row)) = self.logged(Kind::Company, c) {
            return Some(row);
        }
        self.base.companies.get(c as usize).map(|r| &**r)
    }

    #[inline]
    fn company(&self, customer_id: &str) -> Option<&CompanyRow> {
        self.company_by_id(self.company_id(customer_id)?)
    }

    fn company_id_str(&self, c: u32) -> &str {
        self.company_by_id(c).map_or("", |r| &*r.id)
    }

    fn rev(&self, g: u32) -> Option<&RevRow> {
        if let Some(Row::Rev(row)) = self.logged(Kind::Rev, g) {
            return Some(row);
        }
        self.base.revs.get(g as usize).map(|r| &**r)
    }

    /// The "same customer" set of one company on one group.
    fn company_same(&self, c: u32, g: u32) -> PermissionSet {
        self.company_by_id(c)
            .map(|c| self.code_set(find(&c.same, g)))
            .unwrap_or_default()
    }

    // ----- lookups -------------------------------------------------------------------------

    #[inline]
    fn group_index(&self, group: GroupId) -> Option<u32> {
        self.groups.get(group)
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
        self.user_rows
    }

    /// How many companies have a row (a grant, a member or a validity).
    pub fn company_count(&self) -> usize {
        self.company_rows
    }

    /// How many changed rows this snapshot reads from its log rather than from its base
    /// (they are folded in by the update that finds the log full, or by [`merge`](Self::merge)).
    pub fn unmerged_rows(&self) -> usize {
        self.seen
    }

    /// How many times this matrix's log has been folded into a new base since it was built
    /// (counted along the chain of updates that led to this snapshot).
    pub fn merges(&self) -> u64 {
        self.merges
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
        self.row_of(login)
            .map(|r| r.cids)
            .unwrap_or_default()
            .iter()
            .map(|&c| self.company_id_str(c))
    }

    /// The groups on which a customer user holds a direct grant (valid groups or not), sorted
    /// by id: with [`user_grant`](Self::user_grant), what the matrix holds for one user, so a
    /// host can reconcile it with the user's stored grants.
    pub fn user_grant_groups(&self, login: &str) -> Vec<GroupId> {
        let mut out: Vec<GroupId> = self
            .row_of(login)
            .map(|row| row.direct)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| self.groups.ids.get(e.id() as usize).copied())
            .collect();
        out.sort();
        out
    }

    /// The (group, context) keys on which a company holds a grant, sorted: with
    /// [`company_grant`](Self::company_grant), what the matrix holds for one company.
    pub fn company_grant_keys(&self, customer_id: &str) -> Vec<(GroupId, PermissionContext)> {
        let Some(c) = self.company(customer_id) else {
            return Vec::new();
        };
        let id = |g: u32| self.groups.ids.get(g as usize).copied();
        let mut out: Vec<(GroupId, PermissionContext)> = Vec::new();
        out.extend(
            (c.same.iter()).filter_map(|e| Some((id(e.id())?, PermissionContext::SameCustomer))),
        );
        out.extend(
            (c.other.iter()).filter_map(|e| Some((id(e.id())?, PermissionContext::OtherCustomers))),
        );
        out.extend(
            (c.named.iter())
                .filter_map(|(g, n, _)| Some((id(*g)?, PermissionContext::Named(n.to_string())))),
        );
        out.sort();
        out
    }

    /// A company's validity as declared to the matrix; `None` when it was never declared.
    pub fn company_valid(&self, customer_id: &str) -> Option<bool> {
        self.company(customer_id).and_then(|c| c.valid)
    }

    /// A customer user's stored direct grant on a group (`rw` expanded), whatever the group's
    /// validity or the support switch.
    pub fn user_grant(&self, login: &str, group: GroupId) -> PermissionSet {
        match (self.group_index(group), self.row_of(login)) {
            (Some(g), Some(row)) => self.code_set(find(row.direct, g)),
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
            (Some(g), Some(c)) => self.company_grant_of(c, g, context),
            _ => PermissionSet::EMPTY,
        }
    }

    fn company_grant_of(
        &self,
        c: &CompanyRow,
        g: u32,
        context: &PermissionContext,
    ) -> PermissionSet {
        match context {
            PermissionContext::SameCustomer => self.code_set(find(&c.same, g)),
            PermissionContext::OtherCustomers => self.code_set(find(&c.other, g)),
            PermissionContext::Named(name) => c
                .named
                .iter()
                .find(|(ng, n, _)| *ng == g && **n == **name)
                .map(|e| self.set(e.2))
                .unwrap_or_default(),
        }
    }

    // ----- the queries ---------------------------------------------------------------------

    /// The user's effective permission set on a group (OTOBO `GroupMemberList(UserID)`, seen
    /// from one group): one hash of the login, a probe of the table, a binary search of the
    /// group in the user's entries.
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
        let hash = self.hasher.hash_one(login);
        match self.base.users.find(hash, login) {
            Some(slot) => {
                // Rows changed since the base was built are in the log; the others are read
                // straight from the slot, without the user's other arrays.
                if let Some(Row::User(row)) = self.logged(Kind::User, slot.user) {
                    return if state.always_company && !row.cids.is_empty() {
                        s.all
                    } else {
                        self.code_set(find(&row.eff, g))
                    };
                }
                if state.always_company && self.base.users.has_cids(slot.user) {
                    return s.all;
                }
                self.code_set(find(self.base.users.slot_eff(slot), g))
            }
            None if self.new_users.is_empty() => PermissionSet::EMPTY,
            None => match self.user_id(hash, login) {
                Some(u) => self.effective_of(&self.user_by_id(u), g, state),
                None => PermissionSet::EMPTY,
            },
        }
    }

    /// The effective set of a known user on a valid group, support on, not a user
    /// always-group.
    #[inline]
    fn effective_of(&self, row: &UserView<'_>, g: u32, state: &GroupState) -> PermissionSet {
        if state.always_company && !row.cids.is_empty() {
            self.settings.all
        } else {
            self.code_set(find(row.eff, g))
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
            let row = self.row_of(login);
            GroupIterInner::Effective {
                eff: row.map(|r| r.eff).unwrap_or_default(),
                has_customer_ids: row.is_some_and(|r| !r.cids.is_empty()),
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
        self.row_of(login)
            .map(|row| self.code_set(find(row.direct, g)))
            .unwrap_or_default()
    }

    /// `true` when the user's direct grant on a valid group includes the type.
    pub fn has_raw(&self, login: &str, group: GroupId, ty: TypeIndex) -> bool {
        self.raw(login, group).contains(ty)
    }

    /// The valid groups on which the user's direct grant includes the type, in no particular
    /// order.
    pub fn raw_groups(&self, login: &str, ty: TypeIndex) -> GroupIter<'_> {
        let inner = match self.row_of(login) {
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
        match self.rev(g) {
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
        let Some(row) = self.row_of(login) else {
            return Vec::new();
        };
        let s = &*self.settings;
        let mut ids: Vec<&str> = row.cids.iter().map(|&c| self.company_id_str(c)).collect();
        if s.support && s.other_context {
            let valid = |g: u32| self.state.get(g as usize).is_some_and(|st| st.valid);
            let mut groups: Vec<u32> = row
                .cids
                .iter()
                .filter_map(|&c| self.company_by_id(c))
                .flat_map(|c| c.other.iter())
                .filter(|e| valid(e.id()) && s.ro_or_rw(self.set(e.code())))
                .map(|e| e.id())
                .collect();
            groups.sort_unstable();
            groups.dedup();
            for g in groups {
                if let Some(rev) = self.rev(g) {
                    ids.extend(
                        rev.same
                            .iter()
                            .filter(|e| s.ro_or_rw(self.set(e.code())))
                            .map(|e| self.company_id_str(e.id())),
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
        let mut row: Option<Option<UserView<'_>>> = None;
        for module in &rules.modules {
            let passed = match module.check {
                TicketCheck::GroupCheck => self.has(login, ticket.queue_group, ty),
                TicketCheck::CustomerUserIdCheck => ticket
                    .customer_user
                    .is_some_and(|cu| eq_ignore_case(cu, login)),
                TicketCheck::CustomerIdCheck => {
                    !rules.disable_company_ticket_access
                        && ticket.customer_id.is_some_and(|tc| {
                            row.get_or_insert_with(|| self.row_of(login))
                                .is_some_and(|r| {
                                    r.cids
                                        .iter()
                                        .any(|&c| eq_ignore_case(self.company_id_str(c), tc))
                                })
                        })
                }
                TicketCheck::CustomerGroupCheck => {
                    !rules.disable_company_ticket_access
                        && s.support
                        && s.other_context
                        && self.other_context_grants(
                            *row.get_or_insert_with(|| self.row_of(login)),
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
    fn other_context_grants(
        &self,
        row: Option<UserView<'_>>,
        group: GroupId,
        ty: TypeIndex,
    ) -> bool {
        let (Some(row), Some(g)) = (row, self.group_index(group)) else {
            return false;
        };
        if !self.state.get(g as usize).is_some_and(|s| s.valid) {
            return false;
        }
        row.cids
            .iter()
            .filter_map(|&c| self.company_by_id(c))
            .any(|c| self.code_set(find(&c.other, g)).contains(ty))
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
        for u in 0..self.n_users {
            let row = self.user_by_id(u);
            if row.is_default() {
                continue;
            }
            if !row.cids.is_empty() || row.primary != NONE || !row.valid {
                users.push(UserFacts {
                    login: row.login.to_owned(),
                    customer_ids: UserCustomerIds::new(
                        (row.primary != NONE).then(|| self.company_id_str(row.primary).to_owned()),
                        row.cids
                            .iter()
                            .map(|&c| self.company_id_str(c).to_owned())
                            .collect(),
                    ),
                    valid: row.valid,
                });
            }
            for e in row.direct {
                user_grants.push(UserGrant {
                    login: row.login.to_owned(),
                    group: group_id(e.id()),
                    permissions: self.set(e.code()).to_types(types),
                });
            }
        }
        let mut companies = Vec::new();
        let mut company_grants = Vec::new();
        for c in (0..self.n_companies).filter_map(|c| self.company_by_id(c)) {
            if let Some(valid) = c.valid {
                companies.push(CompanyFacts {
                    customer_id: c.id.to_string(),
                    valid,
                });
            }
            let grant = |g: u32, context: PermissionContext, code: u8| CompanyGrant {
                customer_id: c.id.to_string(),
                group: group_id(g),
                context,
                permissions: self.set(code).to_types(types),
            };
            for e in &c.same {
                company_grants.push(grant(e.id(), PermissionContext::SameCustomer, e.code()));
            }
            for e in &c.other {
                company_grants.push(grant(e.id(), PermissionContext::OtherCustomers, e.code()));
            }
            for (g, name, code) in &c.named {
                company_grants.push(grant(*g, PermissionContext::Named(name.to_string()), *code));
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
    /// array lengths (or capacities) times element sizes, string lengths, reference-count
    /// headers, and hash tables at their bucket size plus one control byte per bucket. Parts
    /// shared with other snapshots are counted in full.
    pub fn approximate_heap_bytes(&self) -> usize {
        let new_ids = |t: &HashTable<(Box<str>, u32)>| {
            t.capacity() * (size_of::<(Box<str>, u32)>() + 1)
                + t.iter().map(|(k, _)| k.len()).sum::<usize>()
        };
        self.groups.heap_bytes()
            + self.state.capacity() * size_of::<GroupState>()
            + self.always.capacity() * size_of::<u32>()
            + self.palette.capacity() * size_of::<PermissionSet>()
            + self.base.heap_bytes()
            + self.log.as_ref().map_or(0, |l| l.heap_bytes(self.seen))
            + new_ids(&self.new_users)
            + new_ids(&self.new_companies)
    }
}

impl fmt::Debug for PermissionMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PermissionMatrix")
            .field("customer_group_support", &self.settings.support)
            .field("types", &configured_list(&self.settings.types))
            .field("groups", &self.groups.ids.len())
            .field("users", &self.user_rows)
            .field("companies", &self.company_rows)
            .field("unmerged_rows", &self.seen)
            .finish_non_exhaustive()
    }
}

fn check_group(index: &GroupIndex, group: &Group) -> Result<(), PermissionError> {
    if group.name.is_empty() {
        return Err(PermissionError::EmptyGroupName { group: group.id });
    }
    if index.get(group.id).is_some() {
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

/// The palette code of a set, adding the set to the palette if it is new.
fn code_in(palette: &mut Vec<PermissionSet>, set: PermissionSet) -> Result<u8, PermissionError> {
    if let Some(i) = palette.iter().position(|s| *s == set) {
        return Ok(i as u8);
    }
    if palette.len() >= MAX_SETS {
        return Err(PermissionError::TooManyPermissionSets { max: MAX_SETS });
    }
    palette.push(set);
    Ok((palette.len() - 1) as u8)
}

/// Unites direct entries with company "same customer" entries, group by group.
fn merge_effective<'a>(
    palette: &mut Vec<PermissionSet>,
    direct: &[Ent],
    companies: impl Iterator<Item = &'a [Ent]>,
) -> Result<Vec<Ent>, PermissionError> {
    let mut all: Vec<(u32, PermissionSet)> = direct
        .iter()
        .map(|e| {
            (
                e.id(),
                palette
                    .get(usize::from(e.code()))
                    .copied()
                    .unwrap_or_default(),
            )
        })
        .collect();
    for list in companies {
        all.extend(list.iter().map(|e| {
            (
                e.id(),
                palette
                    .get(usize::from(e.code()))
                    .copied()
                    .unwrap_or_default(),
            )
        }));
    }
    all.sort_unstable_by_key(|e| e.0);
    let mut united: Vec<(u32, PermissionSet)> = Vec::with_capacity(all.len());
    for (g, s) in all {
        match united.last_mut() {
            Some(last) if last.0 == g => last.1 |= s,
            _ => united.push((g, s)),
        }
    }
    let mut out = Vec::with_capacity(united.len());
    for (g, s) in united {
        out.push(Ent::new(g, code_in(palette, s)?));
    }
    Ok(out)
}
