//! The matrix with changed rows still in its log, folded in by merges, and forked by updates
//! of older snapshots, must answer `effective`, `has` and the per-user handle exactly as a
//! naive recomputation from the facts does, at every step; older snapshots must keep their
//! answers.

use std::collections::BTreeMap;

use clientele_permissions::{
    GroupId, PermissionConfig, PermissionContext, PermissionFacts, PermissionMatrix, PermissionSet,
    PermissionType, TypeIndex, UserCustomerIds,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const LOGINS: [&str; 8] = [
    "anna",
    "bob",
    "carl",
    "dora",
    "emil",
    "fay",
    "gus",
    "a-much-longer-login-than-the-rest",
];
const CIDS: [&str; 4] = ["acme", "beta", "core", "dyn"];
/// Group ids; 1 is named "users" (an always-group of both kinds when configured).
const GROUPS: [u64; 6] = [1, 2, 3, 4, 5, 900_000];

/// The facts, as plain maps. Sets are bits: 1 = ro, 2 = rw (`rw` implies `ro`).
#[derive(Clone, Debug, Default)]
struct Naive {
    always: bool,
    valid: BTreeMap<u64, bool>,
    direct: BTreeMap<(String, u64), u64>,
    same: BTreeMap<(String, u64), u64>,
    ids: BTreeMap<String, Vec<String>>,
}

fn implied(bits: u64) -> u64 {
    if bits & 2 != 0 { 3 } else { bits }
}

impl Naive {
    fn effective(&self, login: &str, group: u64) -> u64 {
        if !self.valid.get(&group).copied().unwrap_or(false) {
            return 0;
        }
        let ids = self.ids.get(login).cloned().unwrap_or_default();
        if self.always && group == 1 {
            return 3;
        }
        let mut set = self
            .direct
            .get(&(login.to_owned(), group))
            .copied()
            .unwrap_or(0);
        for id in &ids {
            set |= self.same.get(&(id.clone(), group)).copied().unwrap_or(0);
        }
        set
    }
}

#[derive(Clone, Debug)]
enum Step {
    UserGrant(usize, usize, u64),
    CompanyGrant(usize, usize, u64),
    CustomerIds(usize, Vec<usize>),
    /// Continue from the snapshot taken this many steps ago (a fork of the log).
    Fork(usize),
    Merge,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0..LOGINS.len(), 0..GROUPS.len(), 0u64..4).prop_map(|(u, g, s)| Step::UserGrant(u, g, s)),
        2 => (0..CIDS.len(), 0..GROUPS.len(), 0u64..4).prop_map(|(c, g, s)| Step::CompanyGrant(c, g, s)),
        2 => (0..LOGINS.len(), prop::collection::vec(0..CIDS.len(), 0..3)).prop_map(|(u, c)| Step::CustomerIds(u, c)),
        1 => (1usize..6).prop_map(Step::Fork),
        1 => Just(Step::Merge),
    ]
}

fn check(m: &PermissionMatrix, naive: &Naive, at: &str) -> Result<(), TestCaseError> {
    let ro = m.type_index("ro").unwrap_or(TypeIndex::new(0).unwrap());
    let rw = m.type_index("rw").unwrap_or(TypeIndex::new(1).unwrap());
    for login in LOGINS.iter().copied().chain(["nobody", ""]) {
        let user = m.user(login);
        for &g in &GROUPS {
            let want = if login.is_empty() {
                0
            } else {
                naive.effective(login, g)
            };
            let got = m.effective(login, GroupId(g)).bits();
            prop_assert_eq!(got, want, "{}: effective({}, {})", at, login, g);
            prop_assert_eq!(
                user.effective(GroupId(g)).bits(),
                want,
                "{}: handle {} {}",
                at,
                login,
                g
            );
            prop_assert_eq!(m.has(login, GroupId(g), ro), want & 1 != 0);
            prop_assert_eq!(m.has(login, GroupId(g), rw), want & 2 != 0);
        }
    }
    Ok(())
}

fn set_of(bits: u64) -> PermissionSet {
    PermissionSet::from_bits(bits)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn log_merges_and_forks_answer_like_the_facts(
        always in any::<bool>(),
        valid in prop::collection::vec(prop::bool::weighted(0.8), GROUPS.len()),
        initial in prop::collection::vec((0..LOGINS.len(), 0..GROUPS.len(), 1u64..4), 0..20),
        steps in prop::collection::vec(step(), 1..160),
    ) {
        let mut facts = PermissionFacts::new(PermissionConfig {
            customer_group_support: true,
            always_groups: if always { vec!["users".into()] } else { vec![] },
            company_always_groups: vec![],
            ..PermissionConfig::default()
        });
        let mut naive = Naive { always, ..Naive::default() };
        for (i, &g) in GROUPS.iter().enumerate() {
            let name = if g == 1 { "users".to_owned() } else { format!("g{g}") };
            facts.group(g, name, valid[i]);
            naive.valid.insert(g, valid[i]);
        }
        for &(u, g, s) in &initial {
            let ty = if s == 1 { PermissionType::ro() } else { PermissionType::rw() };
            facts.grant_user(LOGINS[u], GROUPS[g], [ty]);
            naive.direct.insert((LOGINS[u].to_owned(), GROUPS[g]), implied(if s == 1 { 1 } else { 2 }));
        }
        let mut m = PermissionMatrix::build(&facts).unwrap();
        check(&m, &naive, "built")?;
        let mut history: Vec<(PermissionMatrix, Naive)> = vec![(m.clone(), naive.clone())];
        for (i, st) in steps.iter().enumerate() {
            let at = format!("step {i} {st:?}");
            match st {
                Step::UserGrant(u, g, s) => {
                    m.set_user_grant(LOGINS[*u], GroupId(GROUPS[*g]), set_of(*s)).unwrap();
                    let key = (LOGINS[*u].to_owned(), GROUPS[*g]);
                    if *s == 0 { naive.direct.remove(&key); } else { naive.direct.insert(key, implied(*s)); }
                }
                Step::CompanyGrant(c, g, s) => {
                    m.set_company_grant(CIDS[*c], GroupId(GROUPS[*g]), &PermissionContext::SameCustomer, set_of(*s)).unwrap();
                    let key = (CIDS[*c].to_owned(), GROUPS[*g]);
                    if *s == 0 { naive.same.remove(&key); } else { naive.same.insert(key, implied(*s)); }
                }
                Step::CustomerIds(u, cs) => {
                    let mut ids: Vec<String> = Vec::new();
                    for &c in cs {
                        if !ids.iter().any(|i| i == CIDS[c]) {
                            ids.push(CIDS[c].to_owned());
                        }
                    }
                    m.set_customer_ids(LOGINS[*u], &UserCustomerIds::new(ids.first().cloned(), ids.clone())).unwrap();
                    naive.ids.insert(LOGINS[*u].to_owned(), ids);
                }
                Step::Fork(back) => {
                    let i = history.len().saturating_sub(*back);
                    let (old, old_naive) = history[i].clone();
                    m = old;
                    naive = old_naive;
                }
                Step::Merge => {
                    m.merge().unwrap();
                    prop_assert_eq!(m.unmerged_rows(), 0);
                }
            }
            check(&m, &naive, &at)?;
            history.push((m.clone(), naive.clone()));
        }
        // Older snapshots still answer from their own state.
        for (k, (old, old_naive)) in history.iter().enumerate() {
            check(old, old_naive, &format!("snapshot {k}"))?;
        }
        // And the facts it exports rebuild the same matrix.
        let rebuilt = PermissionMatrix::build(&m.to_facts()).unwrap();
        check(&rebuilt, &naive, "rebuilt")?;
    }
}
