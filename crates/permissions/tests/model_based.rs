//! Model-based test: a deliberately naive implementation of reference §7.5 / §7.7 / §7.8,
//! written as loops over the facts, must agree with the matrix on random facts and after
//! every step of a random sequence of incremental changes. The matrix is also compared with
//! one rebuilt from scratch, and an old snapshot must keep answering as it did.

use std::collections::BTreeSet;

use clientele_permissions::{
    Change, CompanyFacts, CompanyGrant, Group, GroupId, Members, PermissionConfig,
    PermissionContext, PermissionFacts, PermissionMatrix, PermissionSet, PermissionType,
    PermissionTypes, Ticket, TicketAccessRules, TicketCheck, TicketPermissionModule,
    UserCustomerIds, UserFacts, UserGrant,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

// ----- the naive model -------------------------------------------------------------------------

/// The facts as OTOBO's tables would hold them; every query loops over them.
#[derive(Clone, Debug)]
struct Naive {
    support: bool,
    other_context: bool,
    types: Vec<String>,
    always_groups: Vec<String>,
    company_always_groups: Vec<String>,
    rules: TicketAccessRules,
    /// `groups_table`: (id, name, valid).
    groups: Vec<(u64, String, bool)>,
    /// `group_customer_user`: (login, group, types as granted).
    user_grants: Vec<(String, u64, BTreeSet<String>)>,
    /// `group_customer`: (customer id, group, context, types as granted).
    company_grants: Vec<(String, u64, String, BTreeSet<String>)>,
    /// `customer_user`: (login, primary, CustomerIDs list, valid).
    users: Vec<(String, Option<String>, Vec<String>, bool)>,
    /// `customer_company`: (customer id, valid).
    companies: Vec<(String, bool)>,
}

const SAME: &str = "Ticket::CustomerID::Same";
const OTHER: &str = "Ticket::CustomerID::Other";

impl Naive {
    fn valid_group(&self, gid: u64) -> bool {
        self.groups
            .iter()
            .any(|(id, _, valid)| *id == gid && *valid)
    }

    fn all_valid_groups(&self) -> BTreeSet<u64> {
        let mut out = BTreeSet::new();
        for (id, _, valid) in &self.groups {
            if *valid {
                out.insert(*id);
            }
        }
        out
    }

    fn group_named(&self, name: &str) -> Option<u64> {
        for (id, n, valid) in &self.groups {
            if n == name && *valid {
                return Some(*id);
            }
        }
        None
    }

    /// `CustomerIDs(User)`.
    fn customer_ids(&self, login: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (l, _, ids, _) in &self.users {
            if l == login {
                for id in ids {
                    if !out.contains(id) {
                        out.push(id.clone());
                    }
                }
            }
        }
        out
    }

    /// `permission_key IN (?Type, 'rw')`.
    fn key_matches(set: &BTreeSet<String>, ty: &str) -> bool {
        set.contains(ty) || set.contains("rw")
    }

    /// `GroupCustomerList(CustomerID => cid, Type, Context)`.
    fn group_customer_list_by_customer(&self, cid: &str, ty: &str, context: &str) -> BTreeSet<u64> {
        let mut data = BTreeSet::new();
        if !self.support {
            data = self.all_valid_groups();
        } else {
            for (c, g, cx, set) in &self.company_grants {
                if c == cid && cx == context && self.valid_group(*g) && Self::key_matches(set, ty) {
                    data.insert(*g);
                }
            }
        }
        if context == SAME {
            for name in &self.company_always_groups {
                if let Some(g) = self.group_named(name) {
                    data.insert(g);
                }
            }
        }
        data
    }

    /// `GroupCustomerList(GroupID => gid, Type, Context)` with support on.
    fn group_customer_list_by_group(&self, gid: u64, ty: &str, context: &str) -> BTreeSet<String> {
        let mut data = BTreeSet::new();
        for (c, g, cx, set) in &self.company_grants {
            if *g == gid && cx == context && self.valid_group(*g) && Self::key_matches(set, ty) {
                data.insert(c.clone());
            }
        }
        data
    }

    /// `GroupMemberList(UserID => login, Type)`.
    fn groups_of(&self, login: &str, ty: &str) -> BTreeSet<u64> {
        if login.is_empty() {
            return BTreeSet::new();
        }
        let mut data = BTreeSet::new();
        if !self.support {
            data = self.all_valid_groups();
        } else {
            for (l, g, set) in &self.user_grants {
                if l == login && self.valid_group(*g) && Self::key_matches(set, ty) {
                    data.insert(*g);
                }
            }
            for cid in self.customer_ids(login) {
                data.extend(self.group_customer_list_by_customer(&cid, ty, SAME));
            }
        }
        for name in &self.always_groups {
            if let Some(g) = self.group_named(name) {
                data.insert(g);
            }
        }
        data
    }

    /// Direct grants only (Clientele's `raw`).
    fn direct_groups_of(&self, login: &str, ty: &str) -> BTreeSet<u64> {
        let mut data = BTreeSet::new();
        for (l, g, set) in &self.user_grants {
            if l == login && self.valid_group(*g) && Self::key_matches(set, ty) {
                data.insert(*g);
            }
        }
        data
    }

    /// OTOBO's `RawPermissions => 1`.
    fn otobo_raw_groups_of(&self, login: &str, ty: &str) -> BTreeSet<u64> {
        if !self.support {
            return self.all_valid_groups();
        }
        let mut data = self.direct_groups_of(login, ty);
        for name in &self.always_groups {
            if let Some(g) = self.group_named(name) {
                data.insert(g);
            }
        }
        data
    }

    fn user_valid(&self, login: &str) -> Option<bool> {
        self.users
            .iter()
            .find(|(l, ..)| l == login)
            .map(|(.., valid)| *valid)
    }

    /// `GroupMemberList(GroupID => gid, Type)`; `None` means everyone (support off).
    fn members_of(&self, gid: u64, ty: &str) -> Option<BTreeSet<String>> {
        if !self.valid_group(gid) {
            return Some(BTreeSet::new());
        }
        if !self.support {
            return None;
        }
        let mut data = BTreeSet::new();
        for (l, g, set) in &self.user_grants {
            if *g == gid && Self::key_matches(set, ty) && self.user_valid(l) != Some(false) {
                data.insert(l.clone());
            }
        }
        for cid in self.group_customer_list_by_group(gid, ty, SAME) {
            for (l, primary, _, valid) in &self.users {
                if primary.as_deref() == Some(cid.as_str()) && *valid {
                    data.insert(l.clone());
                }
            }
        }
        Some(data)
    }

    /// `GroupContextCustomers(CustomerUserID)`.
    fn context_customers(&self, login: &str) -> BTreeSet<String> {
        let mut ids: Vec<String> = self.customer_ids(login);
        if self.support && self.other_context {
            let mut groups = BTreeSet::new();
            for cid in &ids {
                groups.extend(self.group_customer_list_by_customer(cid, "ro", OTHER));
            }
            for g in groups {
                ids.extend(self.group_customer_list_by_group(g, "ro", SAME));
            }
        }
        let mut out = BTreeSet::new();
        for id in ids {
            if self.companies.iter().any(|(c, valid)| *c == id && *valid) {
                out.insert(id);
            }
        }
        out
    }

    /// `TicketCustomerPermission`.
    fn ticket_access(
        &self,
        login: &str,
        customer_user: Option<&str>,
        customer_id: Option<&str>,
        queue_group: u64,
        ty: &str,
    ) -> bool {
        if login.is_empty() {
            return false;
        }
        let disabled = self.rules.disable_company_ticket_access;
        for module in &self.rules.modules {
            let passed = match module.check {
                TicketCheck::GroupCheck => self.groups_of(login, ty).contains(&queue_group),
                TicketCheck::CustomerUserIdCheck => {
                    customer_user.map(str::to_lowercase) == Some(login.to_lowercase())
                }
                TicketCheck::CustomerIdCheck => {
                    !disabled
                        && customer_id.is_some_and(|tc| {
                            self.customer_ids(login)
                                .iter()
                                .any(|c| c.to_lowercase() == tc.to_lowercase())
                        })
                }
                TicketCheck::CustomerGroupCheck => {
                    !disabled
                        && self.support
                        && self.other_context
                        && self.customer_ids(login).iter().any(|cid| {
                            self.group_customer_list_by_customer(cid, ty, OTHER)
                                .contains(&queue_group)
                        })
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

    // ----- writes ------------------------------------------------------------------------------

    fn group_exists(&self, gid: u64) -> bool {
        self.groups.iter().any(|(id, ..)| *id == gid)
    }

    fn user_entry(&mut self, login: &str) -> &mut (String, Option<String>, Vec<String>, bool) {
        if let Some(i) = self.users.iter().position(|(l, ..)| l == login) {
            &mut self.users[i]
        } else {
            self.users.push((login.to_owned(), None, Vec::new(), true));
            self.users.last_mut().unwrap()
        }
    }

    /// Applies a change; `false` when it must be refused.
    fn apply(&mut self, change: &Change) -> bool {
        let names = |p: &[PermissionType]| -> BTreeSet<String> {
            p.iter().map(|t| t.as_str().to_owned()).collect()
        };
        match change {
            Change::SetUserGrant {
                login,
                group,
                permissions,
            } => {
                if login.is_empty() || !self.group_exists(group.0) {
                    return false;
                }
                self.user_grants
                    .retain(|(l, g, _)| !(l == login && *g == group.0));
                if !permissions.is_empty() {
                    self.user_grants
                        .push((login.clone(), group.0, names(permissions)));
                }
            }
            Change::RevokeUserGrant { login, group } => {
                if login.is_empty() || !self.group_exists(group.0) {
                    return false;
                }
                self.user_grants
                    .retain(|(l, g, _)| !(l == login && *g == group.0));
            }
            Change::SetCompanyGrant {
                customer_id,
                group,
                context,
                permissions,
            } => {
                if customer_id.is_empty() || !self.group_exists(group.0) {
                    return false;
                }
                let cx = context.as_str();
                self.company_grants
                    .retain(|(c, g, x, _)| !(c == customer_id && *g == group.0 && x == cx));
                if !permissions.is_empty() {
                    self.company_grants.push((
                        customer_id.clone(),
                        group.0,
                        cx.to_owned(),
                        names(permissions),
                    ));
                }
            }
            Change::RevokeCompanyGrant {
                customer_id,
                group,
                context,
            } => {
                if customer_id.is_empty() || !self.group_exists(group.0) {
                    return false;
                }
                let cx = context.as_str();
                self.company_grants
                    .retain(|(c, g, x, _)| !(c == customer_id && *g == group.0 && x == cx));
            }
            Change::SetCustomerIds {
                login,
                customer_ids,
            } => {
                if login.is_empty() {
                    return false;
                }
                let entry = self.user_entry(login);
                entry.1 = customer_ids.primary.clone();
                entry.2 = customer_ids.customer_ids.clone();
            }
            Change::SetUserValid { login, valid } => {
                if login.is_empty() {
                    return false;
                }
                self.user_entry(login).3 = *valid;
            }
            Change::SetCompanyValid { customer_id, valid } => {
                self.companies.retain(|(c, _)| c != customer_id);
                self.companies.push((customer_id.clone(), *valid));
            }
            Change::AddGroup(group) => {
                if self.group_exists(group.id.0)
                    || self.groups.iter().any(|(_, n, _)| *n == group.name)
                {
                    return false;
                }
                self.groups
                    .push((group.id.0, group.name.clone(), group.valid));
            }
            Change::SetGroupValid { group, valid } => {
                match self.groups.iter_mut().find(|(id, ..)| *id == group.0) {
                    Some(g) => g.2 = *valid,
                    None => return false,
                }
            }
            Change::SetCustomerGroupSupport { enabled } => self.support = *enabled,
            Change::SetOtherCustomersContext { enabled } => self.other_context = *enabled,
            Change::SetAlwaysGroups {
                always_groups,
                company_always_groups,
            } => {
                self.always_groups = always_groups.clone();
                self.company_always_groups = company_always_groups.clone();
            }
        }
        true
    }

    fn to_facts(&self) -> PermissionFacts {
        let ty = |s: &BTreeSet<String>| -> Vec<PermissionType> {
            s.iter()
                .map(|t| PermissionType::new(t.clone()).unwrap())
                .collect()
        };
        PermissionFacts {
            config: PermissionConfig {
                customer_group_support: self.support,
                permission_types: PermissionTypes::new(self.types.clone()).unwrap(),
                always_groups: self.always_groups.clone(),
                company_always_groups: self.company_always_groups.clone(),
                other_customers_context: self.other_context,
                extra_contexts: Vec::new(),
                ticket_access: self.rules.clone(),
            },
            groups: self
                .groups
                .iter()
                .map(|(id, name, valid)| Group::new(*id, name.clone(), *valid))
                .collect(),
            users: self
                .users
                .iter()
                .map(|(login, primary, ids, valid)| UserFacts {
                    login: login.clone(),
                    customer_ids: UserCustomerIds::new(primary.clone(), ids.clone()),
                    valid: *valid,
                })
                .collect(),
            companies: self
                .companies
                .iter()
                .map(|(c, valid)| CompanyFacts {
                    customer_id: c.clone(),
                    valid: *valid,
                })
                .collect(),
            user_grants: self
                .user_grants
                .iter()
                .map(|(login, g, set)| UserGrant {
                    login: login.clone(),
                    group: GroupId(*g),
                    permissions: ty(set),
                })
                .collect(),
            company_grants: self
                .company_grants
                .iter()
                .map(|(c, g, cx, set)| CompanyGrant {
                    customer_id: c.clone(),
                    group: GroupId(*g),
                    context: PermissionContext::new(cx.clone()).unwrap(),
                    permissions: ty(set),
                })
                .collect(),
        }
    }
}

// ----- comparison ------------------------------------------------------------------------------

const LOGINS: [&str; 5] = ["ann", "bob", "cy", "dee", "Ann"];
const CIDS: [&str; 4] = ["acme", "beta", "gamma", "Acme"];
const GROUP_NAMES: [&str; 8] = ["users", "g2", "g3", "g4", "g5", "g6", "g7", "g8"];

fn assert_agree(m: &PermissionMatrix, n: &Naive) -> Result<(), TestCaseError> {
    let logins = LOGINS.iter().copied().chain(["stranger", ""]);
    let gids: Vec<u64> = (1..=8).chain([99]).collect();
    for login in logins {
        for (i, name) in n.types.iter().enumerate() {
            let ty = m.type_index(name).unwrap();
            prop_assert_eq!(ty.get(), i);
            let expected = n.groups_of(login, name);
            let got: BTreeSet<u64> = m.groups(login, ty).map(GroupId::get).collect();
            prop_assert_eq!(&got, &expected, "groups({:?}, {})", login, name);
            prop_assert_eq!(
                m.groups(login, ty).count(),
                expected.len(),
                "groups() repeats an id"
            );
            let direct = n.direct_groups_of(login, name);
            let raw: BTreeSet<u64> = m.raw_groups(login, ty).map(GroupId::get).collect();
            prop_assert_eq!(&raw, &direct, "raw_groups({:?}, {})", login, name);
            if n.support && !login.is_empty() {
                // Clientele's raw view plus the always-groups is OTOBO's RawPermissions.
                let mut with_always = raw.clone();
                for name in &n.always_groups {
                    with_always.extend(n.group_named(name));
                }
                prop_assert_eq!(with_always, n.otobo_raw_groups_of(login, name));
            }
            for &g in &gids {
                prop_assert_eq!(
                    m.has(login, GroupId(g), ty),
                    expected.contains(&g),
                    "has({:?}, {}, {})",
                    login,
                    g,
                    name
                );
                prop_assert_eq!(
                    m.effective(login, GroupId(g)).contains(ty),
                    expected.contains(&g)
                );
                prop_assert_eq!(m.has_raw(login, GroupId(g), ty), direct.contains(&g));
                if let Some((_, gname, _)) = n.groups.iter().find(|(id, ..)| *id == g) {
                    prop_assert_eq!(m.check(login, gname, name), expected.contains(&g));
                }
            }
            let filter = m.ticket_access_filter(login, ty);
            for &g in &gids {
                for cu in [None, Some(login.to_uppercase()), Some("bob".to_owned())] {
                    for ci in [None, Some("ACME"), Some("beta")] {
                        let ticket = Ticket {
                            customer_user: cu.as_deref(),
                            customer_id: ci,
                            queue_group: GroupId(g),
                        };
                        prop_assert_eq!(
                            m.can_access_ticket(login, &ticket, ty),
                            n.ticket_access(login, cu.as_deref(), ci, g, name),
                            "can_access_ticket({:?}, {:?}, {})",
                            login,
                            ticket,
                            name
                        );
                        prop_assert_eq!(
                            filter.matches(&ticket),
                            m.can_access_ticket(login, &ticket, ty),
                            "ticket_access_filter({:?}, {}) = {:?} on {:?}",
                            login,
                            name,
                            &filter,
                            ticket
                        );
                    }
                }
            }
        }
        let visible: BTreeSet<String> = m
            .visible_companies(login)
            .into_iter()
            .map(str::to_owned)
            .collect();
        prop_assert_eq!(
            visible,
            n.context_customers(login),
            "visible_companies({:?})",
            login
        );
        prop_assert_eq!(
            m.customer_ids(login).map(str::to_owned).collect::<Vec<_>>(),
            n.customer_ids(login)
        );
        assert_origins_explain(m, login, &gids)?;
    }
    for &g in &gids {
        for name in &n.types {
            let ty = m.type_index(name).unwrap();
            let expected = n.members_of(g, name);
            match m.members(GroupId(g), ty) {
                Members::Everyone => prop_assert!(expected.is_none(), "members({g}, {name})"),
                Members::Listed(it) => {
                    let got: Vec<String> = it.map(str::to_owned).collect();
                    let set: BTreeSet<String> = got.iter().cloned().collect();
                    prop_assert_eq!(got.len(), set.len(), "members() repeats a login");
                    prop_assert_eq!(Some(set), expected, "members({}, {})", g, name);
                }
            }
        }
    }
    Ok(())
}

/// The origins of a user's permissions on a group unite to exactly its effective set, and the
/// reverse indexes name exactly the stored grants.
fn assert_origins_explain(
    m: &PermissionMatrix,
    login: &str,
    gids: &[u64],
) -> Result<(), TestCaseError> {
    for &g in gids {
        let group = GroupId(g);
        let origins = m.origins(login, group);
        let united = origins.iter().fold(PermissionSet::EMPTY, |acc, o| {
            acc | o.permissions(m.all_types())
        });
        prop_assert_eq!(
            united,
            m.effective(login, group),
            "origins({:?}, {}) = {:?}",
            login,
            g,
            &origins
        );
        prop_assert!(
            origins
                .iter()
                .all(|o| !o.permissions(m.all_types()).is_empty())
        );
        let direct = m
            .direct_grantees(group)
            .find(|(l, _)| *l == login)
            .map(|(_, set)| set)
            .unwrap_or_default();
        prop_assert_eq!(direct, m.user_grant(login, group));
    }
    Ok(())
}

// ----- strategies ------------------------------------------------------------------------------

fn type_lists() -> impl Strategy<Value = Vec<String>> {
    prop::sample::select(vec![
        vec!["rw"],
        vec!["ro", "rw"],
        vec!["ro", "move_into", "rw"],
        vec!["ro", "move_into", "create", "rw"],
    ])
    .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

fn login() -> impl Strategy<Value = String> {
    prop::sample::select(LOGINS.to_vec()).prop_map(str::to_owned)
}

fn cid() -> impl Strategy<Value = String> {
    prop::sample::select(CIDS.to_vec()).prop_map(str::to_owned)
}

fn perms(types: Vec<String>) -> impl Strategy<Value = Vec<PermissionType>> {
    let n = types.len();
    prop::sample::subsequence(types, 0..=n).prop_map(|v| {
        v.into_iter()
            .map(|t| PermissionType::new(t).unwrap())
            .collect()
    })
}

fn context() -> impl Strategy<Value = PermissionContext> {
    prop_oneof![
        4 => Just(PermissionContext::SameCustomer),
        3 => Just(PermissionContext::OtherCustomers),
        1 => Just(PermissionContext::Named("Partner".into())),
    ]
}

fn customer_ids() -> impl Strategy<Value = UserCustomerIds> {
    (prop::option::of(cid()), prop::collection::vec(cid(), 0..4))
        .prop_map(|(primary, ids)| UserCustomerIds::new(primary, ids))
}

fn group_names() -> impl Strategy<Value = Vec<String>> {
    prop::sample::subsequence(vec!["users", "g2", "g7", "nope"], 0..=3)
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

fn rules() -> impl Strategy<Value = TicketAccessRules> {
    let module = (
        prop::sample::select(vec![
            TicketCheck::GroupCheck,
            TicketCheck::CustomerUserIdCheck,
            TicketCheck::CustomerIdCheck,
            TicketCheck::CustomerGroupCheck,
        ]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(check, required, granted)| TicketPermissionModule {
            check,
            required,
            granted,
        });
    prop_oneof![
        3 => (any::<bool>()).prop_map(|disable| TicketAccessRules {
            disable_company_ticket_access: disable,
            ..TicketAccessRules::default()
        }),
        1 => (prop::collection::vec(module, 0..5), any::<bool>()).prop_map(|(modules, disable)| {
            TicketAccessRules { modules, disable_company_ticket_access: disable }
        }),
    ]
}

fn change(types: Vec<String>) -> impl Strategy<Value = Change> {
    let gid = (1u64..=7).prop_map(GroupId);
    prop_oneof![
        6 => (login(), gid.clone(), perms(types.clone())).prop_map(|(login, group, permissions)| {
            Change::SetUserGrant { login, group, permissions }
        }),
        5 => (cid(), gid.clone(), context(), perms(types)).prop_map(
            |(customer_id, group, context, permissions)| Change::SetCompanyGrant {
                customer_id, group, context, permissions
            }
        ),
        1 => (login(), gid.clone()).prop_map(|(login, group)| Change::RevokeUserGrant { login, group }),
        1 => (cid(), gid.clone(), context()).prop_map(|(customer_id, group, context)| {
            Change::RevokeCompanyGrant { customer_id, group, context }
        }),
        4 => (login(), customer_ids()).prop_map(|(login, customer_ids)| {
            Change::SetCustomerIds { login, customer_ids }
        }),
        1 => (login(), any::<bool>()).prop_map(|(login, valid)| Change::SetUserValid { login, valid }),
        1 => (cid(), any::<bool>()).prop_map(|(customer_id, valid)| {
            Change::SetCompanyValid { customer_id, valid }
        }),
        1 => (6u64..=7, prop::sample::select(GROUP_NAMES.to_vec()), any::<bool>())
            .prop_map(|(id, name, valid)| Change::AddGroup(Group::new(id, name, valid))),
        1 => (gid, any::<bool>()).prop_map(|(group, valid)| Change::SetGroupValid { group, valid }),
        1 => any::<bool>().prop_map(|enabled| Change::SetCustomerGroupSupport { enabled }),
        1 => any::<bool>().prop_map(|enabled| Change::SetOtherCustomersContext { enabled }),
        1 => (group_names(), group_names()).prop_map(|(always_groups, company_always_groups)| {
            Change::SetAlwaysGroups { always_groups, company_always_groups }
        }),
    ]
}

#[derive(Debug, Clone)]
struct Scenario {
    naive: Naive,
    /// Initial facts as a sequence of writes (later ones replace earlier ones).
    initial: Vec<Change>,
    changes: Vec<Change>,
    snapshot_at: usize,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    type_lists().prop_flat_map(|types| {
        let config = (
            prop::bool::weighted(0.8),
            prop::bool::weighted(0.7),
            group_names(),
            group_names(),
            rules(),
            prop::collection::vec(any::<bool>(), 5),
            prop::collection::vec(prop::option::weighted(0.8, any::<bool>()), CIDS.len()),
        );
        let initial = prop::collection::vec(
            change(types.clone()).prop_filter("existing groups only", |c| match c {
                Change::SetUserGrant { group, .. } | Change::SetCompanyGrant { group, .. } => {
                    group.0 <= 5
                }
                Change::SetCustomerIds { .. }
                | Change::SetUserValid { .. }
                | Change::SetCompanyValid { .. } => true,
                _ => false,
            }),
            0..25,
        );
        let changes = prop::collection::vec(change(types.clone()), 1..24);
        (Just(types), config, initial, changes, 0usize..24).prop_map(
            |(
                types,
                (support, other, always, company_always, rules, valid, declared),
                initial,
                changes,
                snapshot_at,
            )| {
                let naive = Naive {
                    support,
                    other_context: other,
                    types,
                    always_groups: always,
                    company_always_groups: company_always,
                    rules,
                    groups: (1..=5u64)
                        .map(|id| {
                            (
                                id,
                                GROUP_NAMES[id as usize - 1].to_owned(),
                                valid[id as usize - 1],
                            )
                        })
                        .collect(),
                    user_grants: vec![],
                    company_grants: vec![],
                    users: vec![],
                    companies: CIDS
                        .iter()
                        .zip(declared)
                        .filter_map(|(c, valid)| valid.map(|v| (c.to_string(), v)))
                        .collect(),
                };
                Scenario {
                    naive,
                    initial,
                    changes,
                    snapshot_at,
                }
            },
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn matrix_agrees_with_the_naive_model(scenario in scenario()) {
        let Scenario { mut naive, initial, changes, snapshot_at } = scenario;
        for c in &initial {
            prop_assert!(naive.apply(c), "initial facts are valid");
        }

        // Built from facts.
        let mut matrix = PermissionMatrix::build(&naive.to_facts()).unwrap();
        assert_agree(&matrix, &naive)?;

        // Then changed step by step.
        let mut snapshot: Option<(PermissionMatrix, Naive)> = None;
        for (i, c) in changes.iter().enumerate() {
            if i == snapshot_at {
                snapshot = Some((matrix.clone(), naive.clone()));
            }
            let before = matrix.to_facts();
            let accepted = naive.apply(c);
            let result = matrix.apply(c);
            prop_assert_eq!(result.is_ok(), accepted, "{:?} -> {:?}", c, result);
            if result.is_err() {
                prop_assert_eq!(matrix.to_facts(), before, "a refused change changed nothing");
            }
            assert_agree(&matrix, &naive)?;
        }

        // A rebuild from the naive facts, and from the matrix's own export, agree too.
        let rebuilt = PermissionMatrix::build(&naive.to_facts()).unwrap();
        assert_agree(&rebuilt, &naive)?;
        prop_assert_eq!(rebuilt.to_facts(), matrix.to_facts());
        let reexported = PermissionMatrix::build(&matrix.to_facts()).unwrap();
        assert_agree(&reexported, &naive)?;

        // An old snapshot still answers as it did when taken.
        if let Some((old, old_naive)) = snapshot {
            assert_agree(&old, &old_naive)?;
        }
    }
}
