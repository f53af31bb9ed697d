//! How fast is a customer-group permission check, and what does the matrix cost?
//!
//! Data (issue 4): 100 000 customer users, 10 000 groups, 1 000 000 direct grants (10 distinct
//! groups per user), 10 000 companies with 10 "same customer" grants each, every user in 1–3
//! companies; 80 % of the grants are `ro`, 20 % `rw`. Generated from a fixed seed.
//!
//! The same facts are loaded into casbin-rs as an RBAC-with-domains model (the domain is the
//! permission type; companies are roles; see docs/benchmarks.md), and both answer the same
//! `(user, group, type)` queries side by side.
//!
//! Run: `cargo bench --bench permissions`. Results and method: docs/benchmarks.md.
//!
//! `CLIENTELE_BENCH_PROFILE=<loop>` runs one loop instead of the bench, for a profiler (the
//! loops are functions of their own, `permissions::profile_*`, so callgrind can collect just
//! them with `--toggle-collect`): `hot` (clientele, 16 hot queries), `hot-floor` (the floor,
//! the same queries), `random` and `random-floor` (all 1 024 queries), `grant` (grants through
//! the resolver) and `casbin-grant` (casbin's `add_policy`, the same grants).
//! `CLIENTELE_BENCH_PROFILE_N` sets the number of checks or grants (default 1 000 000 checks,
//! 60 000 grants).

use std::hint::black_box;
use std::time::{Duration, Instant};

use casbin::prelude::*;
use clientele_permissions::{
    Change, GroupId, PermissionConfig, PermissionContext, PermissionFacts, PermissionMatrix,
    PermissionResolver, PermissionSet, PermissionType, TypeIndex, UserCustomerIds,
};
use criterion::{Criterion, SamplingMode};

const SEED: u64 = 0x5eed_c11e_47e1_e000;
const USERS: usize = 100_000;
const GROUPS: usize = 10_000;
const GRANTS_PER_USER: usize = 10; // 1 000 000 direct grants
const COMPANIES: usize = 10_000;
const GRANTS_PER_COMPANY: usize = 10; // 100 000 company grants
const QUERIES: usize = 1024;

/// splitmix64: tiny, deterministic, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// `k` distinct values below `n`.
    fn distinct(&mut self, k: usize, n: usize) -> Vec<usize> {
        let mut out = Vec::with_capacity(k);
        while out.len() < k {
            let v = self.below(n);
            if !out.contains(&v) {
                out.push(v);
            }
        }
        out
    }
}

/// The raw relations both systems are loaded from.
struct Data {
    /// Per user: its companies (the first is the primary).
    user_companies: Vec<Vec<usize>>,
    /// (user, group, rw?)
    direct: Vec<(usize, usize, bool)>,
    /// (company, group, rw?)
    company: Vec<(usize, usize, bool)>,
}

fn login(u: usize) -> String {
    format!("u{u}")
}
fn company(c: usize) -> String {
    format!("c{c}")
}
fn group_obj(g: usize) -> String {
    format!("g{}", g + 1)
}
fn group_id(g: usize) -> GroupId {
    GroupId(g as u64 + 1)
}

fn generate() -> Data {
    let mut rng = Rng(SEED);
    let user_companies = (0..USERS)
        .map(|_| {
            let k = 1 + rng.below(3);
            rng.distinct(k, COMPANIES)
        })
        .collect();
    let mut direct = Vec::with_capacity(USERS * GRANTS_PER_USER);
    for u in 0..USERS {
        for g in rng.distinct(GRANTS_PER_USER, GROUPS) {
            direct.push((u, g, rng.below(5) == 0));
        }
    }
    let mut company_grants = Vec::with_capacity(COMPANIES * GRANTS_PER_COMPANY);
    for c in 0..COMPANIES {
        for g in rng.distinct(GRANTS_PER_COMPANY, GROUPS) {
            company_grants.push((c, g, rng.below(5) == 0));
        }
    }
    Data {
        user_companies,
        direct,
        company: company_grants,
    }
}

fn perms(rw: bool) -> [PermissionType; 1] {
    [if rw {
        PermissionType::rw()
    } else {
        PermissionType::ro()
    }]
}

fn facts(data: &Data) -> PermissionFacts {
    let mut f = PermissionFacts::new(PermissionConfig {
        customer_group_support: true,
        // casbin has no notion of always-groups; keep both sides answering the same question.
        always_groups: vec![],
        company_always_groups: vec![],
        ..PermissionConfig::default()
    });
    for g in 0..GROUPS {
        f.group(group_id(g), group_obj(g), true);
    }
    for (u, companies) in data.user_companies.iter().enumerate() {
        let ids: Vec<String> = companies.iter().map(|&c| company(c)).collect();
        f.customer_user(login(u), UserCustomerIds::new(ids.first().cloned(), ids));
    }
    for &(u, g, rw) in &data.direct {
        f.grant_user(login(u), group_id(g), perms(rw));
    }
    for &(c, g, rw) in &data.company {
        f.grant_company(
            company(c),
            group_id(g),
            PermissionContext::SameCustomer,
            perms(rw),
        );
    }
    f
}

const CASBIN_MODEL: &str = r#"
[request_definition]
r = sub, dom, obj

[policy_definition]
p = sub, dom, obj

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = r.obj == p.obj && (r.dom == p.dom || p.dom == "rw") && g(r.sub, p.sub, r.dom)
"#;

fn casbin_enforcer(rt: &tokio::runtime::Runtime, data: &Data) -> Enforcer {
    let dom = |rw: bool| if rw { "rw" } else { "ro" }.to_owned();
    let mut policies: Vec<Vec<String>> = Vec::with_capacity(data.direct.len() + data.company.len());
    for &(u, g, rw) in &data.direct {
        policies.push(vec![login(u), dom(rw), group_obj(g)]);
    }
    for &(c, g, rw) in &data.company {
        policies.push(vec![company(c), dom(rw), group_obj(g)]);
    }
    // A user belongs to each of its companies in every type domain.
    let mut links: Vec<Vec<String>> = Vec::new();
    for (u, companies) in data.user_companies.iter().enumerate() {
        for &c in companies {
            for d in ["ro", "rw"] {
                links.push(vec![login(u), company(c), d.to_owned()]);
            }
        }
    }
    rt.block_on(async {
        let model = DefaultModel::from_str(CASBIN_MODEL)
            .await
            .expect("casbin model");
        let mut e = Enforcer::new(model, NullAdapter)
            .await
            .expect("casbin enforcer");
        e.add_policies(policies).await.expect("casbin policies");
        e.add_grouping_policies(links)
            .await
            .expect("casbin role links");
        e
    })
}

struct Query {
    login: String,
    group: GroupId,
    obj: String,
    ty: TypeIndex,
    dom: &'static str,
}

/// Half are granted (directly or through a company), half are random pairs (mostly denied).
fn queries(data: &Data, m: &PermissionMatrix) -> Vec<Query> {
    let mut rng = Rng(SEED ^ 0xabcd);
    let ro = m.type_index("ro").expect("ro");
    let rw = m.type_index("rw").expect("rw");
    (0..QUERIES)
        .map(|i| {
            let u = rng.below(USERS);
            let g = match i % 4 {
                0 | 1 => data.direct[u * GRANTS_PER_USER + rng.below(GRANTS_PER_USER)].1,
                2 => {
                    let cs = &data.user_companies[u];
                    let c = cs[rng.below(cs.len())];
                    data.company[c * GRANTS_PER_COMPANY + rng.below(GRANTS_PER_COMPANY)].1
                }
                _ => rng.below(GROUPS),
            };
            let is_rw = rng.below(4) == 0;
            Query {
                login: login(u),
                group: group_id(g),
                obj: group_obj(g),
                ty: if is_rw { rw } else { ro },
                dom: if is_rw { "rw" } else { "ro" },
            }
        })
        .collect()
}

/// The floor: the simplest structure that answers the same question. A `hashbrown` map
/// (foldhash, random seed) from login to the user's effective permissions, precomputed from
/// the same facts: sorted `(group id, bits)` pairs, bit 0 `ro`, bit 1 `rw` (`rw` implies `ro`).
/// A check is one lookup and one binary search.
struct Floor {
    map: hashbrown::HashMap<Box<str>, FloorRow, foldhash::fast::RandomState>,
}

/// A user's effective permissions in the floor: `(group id, bits)`, sorted by group.
type FloorRow = Box<[(u32, u8)]>;

impl Floor {
    fn build(data: &Data) -> Self {
        let bits = |rw: bool| if rw { 0b11 } else { 0b01 };
        let mut map = hashbrown::HashMap::with_capacity_and_hasher(USERS, Default::default());
        let mut by_company: Vec<Vec<(u32, u8)>> = vec![Vec::new(); COMPANIES];
        for &(c, g, rw) in &data.company {
            by_company[c].push((group_id(g).0 as u32, bits(rw)));
        }
        let mut direct: Vec<Vec<(u32, u8)>> = vec![Vec::new(); USERS];
        for &(u, g, rw) in &data.direct {
            direct[u].push((group_id(g).0 as u32, bits(rw)));
        }
        for (u, mut list) in direct.into_iter().enumerate() {
            for &c in &data.user_companies[u] {
                list.extend_from_slice(&by_company[c]);
            }
            list.sort_unstable_by_key(|e| e.0);
            let mut out: Vec<(u32, u8)> = Vec::with_capacity(list.len());
            for (g, b) in list {
                match out.last_mut() {
                    Some(last) if last.0 == g => last.1 |= b,
                    _ => out.push((g, b)),
                }
            }
            map.insert(login(u).into_boxed_str(), out.into_boxed_slice());
        }
        Floor { map }
    }

    #[inline]
    fn has(&self, login: &str, group: u32, bit: u8) -> bool {
        match self.map.get(login) {
            Some(list) => match list.binary_search_by_key(&group, |e| e.0) {
                Ok(i) => list[i].1 & bit != 0,
                Err(_) => false,
            },
            None => false,
        }
    }

    /// Same accounting as the matrix's: buckets plus a control byte each, string lengths,
    /// slice lengths.
    fn heap_bytes(&self) -> usize {
        self.map.capacity() * (std::mem::size_of::<(Box<str>, FloorRow)>() + 1)
            + self
                .map
                .iter()
                .map(|(k, v)| k.len() + std::mem::size_of_val::<[(u32, u8)]>(v))
                .sum::<usize>()
    }
}

fn floor_bit(q: &Query) -> u8 {
    if q.dom == "rw" { 0b10 } else { 0b01 }
}

/// Resident set size of this process, from /proc (Linux); 0 elsewhere.
fn rss_bytes() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Time this thread has spent on a CPU, in nanoseconds (Linux); 0 elsewhere. On a shared
/// machine a long loop is descheduled now and then; its CPU time is the fairer figure.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples.get(samples.len() / 2).copied().unwrap_or(f64::NAN)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// `CLIENTELE_BENCH_PROFILE_N`, or `default`.
fn profile_n(default: usize) -> usize {
    std::env::var("CLIENTELE_BENCH_PROFILE_N")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// A random grant: (user, group, `rw` rather than `ro`).
fn random_grant(rng: &mut Rng) -> (usize, usize, bool) {
    let u = rng.below(USERS);
    let grp = rng.below(GROUPS);
    let rw = rng.below(2) == 0;
    (u, grp, rw)
}

/// The resolver's change for a grant of [`random_grant`].
fn grant_change((u, grp, rw): (usize, usize, bool)) -> Change {
    Change::SetUserGrant {
        login: login(u),
        group: group_id(grp),
        permissions: perms(rw).to_vec(),
    }
}

/// The grants the `grant` and `casbin-grant` loops make: random users, groups and types, as
/// in the bench, made before the loop so it times the grants alone.
fn profile_grants() -> Vec<(usize, usize, bool)> {
    let mut rng = Rng(SEED ^ 0x77);
    (0..profile_n(60_000))
        .map(|_| random_grant(&mut rng))
        .collect()
}

/// Runs the loop `what` names (see the module docs) and prints its wall time.
fn profile(what: &str, data: &Data, matrix: &PermissionMatrix, floor: &Floor) {
    let queries = queries(data, matrix);
    let started = Instant::now();
    let n = match what {
        "hot" => profile_checks(matrix, &queries[..16], profile_n(1_000_000)),
        "hot-floor" => profile_floor_checks(floor, &queries[..16], profile_n(1_000_000)),
        "random" => profile_checks(matrix, &queries, profile_n(1_000_000)),
        "random-floor" => profile_floor_checks(floor, &queries, profile_n(1_000_000)),
        "grant" => {
            let changes = profile_grants().into_iter().map(grant_change).collect();
            profile_resolver_grants(&PermissionResolver::new(matrix.clone()), changes)
        }
        other => panic!(
            "CLIENTELE_BENCH_PROFILE={other:?}: one of hot, hot-floor, random, random-floor, \
             grant, casbin-grant"
        ),
    };
    println!("profile {what}: {n} in {:.1?}", started.elapsed());
}

/// `n` checks on the matrix, cycling through `queries`; returns how many were allowed.
#[inline(never)]
fn profile_checks(m: &PermissionMatrix, queries: &[Query], n: usize) -> usize {
    (0..n)
        .filter(|i| {
            let q = &queries[i % queries.len()];
            m.has(black_box(&q.login), q.group, q.ty)
        })
        .count()
}

/// The same checks on the floor.
#[inline(never)]
fn profile_floor_checks(f: &Floor, queries: &[Query], n: usize) -> usize {
    (0..n)
        .filter(|i| {
            let q = &queries[i % queries.len()];
            f.has(black_box(&q.login), q.group.0 as u32, floor_bit(q))
        })
        .count()
}

/// One `apply` per change, as the bench's grants through the resolver; returns the merges.
#[inline(never)]
fn profile_resolver_grants(resolver: &PermissionResolver, changes: Vec<Change>) -> usize {
    for c in changes {
        resolver.apply(&[c]).expect("grant");
    }
    resolver.snapshot().merges() as usize
}

/// casbin's `add_policy` for the same grants (the rules made before the loop, as the
/// resolver's changes are).
#[inline(never)]
fn profile_casbin_grants(
    rt: &tokio::runtime::Runtime,
    enforcer: &mut Enforcer,
    rules: Vec<Vec<String>>,
) {
    for rule in rules {
        rt.block_on(enforcer.add_policy(rule)).expect("add_policy");
    }
}

fn main() {
    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);

    let t = Instant::now();
    let data = generate();
    let facts = facts(&data);
    println!(
        "facts: {} users, {} groups, {} direct grants, {} companies with {} grants ({:.1?} to generate)",
        USERS,
        GROUPS,
        facts.user_grants.len(),
        COMPANIES,
        facts.company_grants.len(),
        t.elapsed()
    );

    // Build both once, for the memory figures and the queries.
    let rss0 = rss_bytes();
    let t = Instant::now();
    let matrix = PermissionMatrix::build(&facts).expect("matrix");
    let ours_build = t.elapsed();
    let rss1 = rss_bytes();
    println!(
        "clientele-permissions: built in {ours_build:.2?}; approximate heap {:.1} MiB by own accounting, RSS +{:.1} MiB",
        mib(matrix.approximate_heap_bytes()),
        mib(rss1.saturating_sub(rss0)),
    );

    let rss4 = rss_bytes();
    let t = Instant::now();
    let floor = Floor::build(&data);
    let floor_build = t.elapsed();
    let rss5 = rss_bytes();
    println!(
        "floor (hashbrown map of precomputed sets): built in {floor_build:.2?}; heap {:.1} MiB by the same accounting, RSS +{:.1} MiB",
        mib(floor.heap_bytes()),
        mib(rss5.saturating_sub(rss4)),
    );

    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");
    let profiling = std::env::var("CLIENTELE_BENCH_PROFILE").ok();
    if let Some(what) = profiling.as_deref().filter(|w| *w != "casbin-grant") {
        profile(what, &data, &matrix, &floor);
        return;
    }
    let rss2 = rss_bytes();
    let t = Instant::now();
    let mut enforcer = casbin_enforcer(&rt, &data);
    let casbin_build = t.elapsed();
    let rss3 = rss_bytes();
    println!(
        "casbin: built in {casbin_build:.2?} (policies and role links already as strings); RSS +{:.1} MiB",
        mib(rss3.saturating_sub(rss2)),
    );

    if profiling.is_some() {
        let rules = profile_grants()
            .into_iter()
            .map(|(u, g, rw)| {
                vec![
                    login(u),
                    (if rw { "rw" } else { "ro" }).to_owned(),
                    group_obj(g),
                ]
            })
            .collect();
        let started = Instant::now();
        profile_casbin_grants(&rt, &mut enforcer, rules);
        println!("profile casbin-grant: {:.1?}", started.elapsed());
        return;
    }

    let queries = queries(&data, &matrix);
    let granted = queries
        .iter()
        .filter(|q| matrix.has(&q.login, q.group, q.ty))
        .count();
    println!("queries: {QUERIES}, of which {granted} granted");
    // Same facts, same question: check that both agree on a sample (casbin is slow here).
    for q in queries.iter().step_by(QUERIES / 16) {
        let theirs = enforcer
            .enforce((q.login.as_str(), q.dom, q.obj.as_str()))
            .expect("enforce");
        assert_eq!(
            matrix.has(&q.login, q.group, q.ty),
            theirs,
            "disagreement on {} {} {}",
            q.login,
            q.obj,
            q.dom
        );
    }
    println!("ours and casbin agree on 16 sampled queries");
    for q in &queries {
        assert_eq!(
            matrix.has(&q.login, q.group, q.ty),
            floor.has(&q.login, q.group.0 as u32, floor_bit(q)),
            "floor disagrees on {} {} {}",
            q.login,
            q.obj,
            q.dom
        );
        assert_eq!(
            matrix.has(&q.login, q.group, q.ty),
            matrix.user(&q.login).has(q.group, q.ty)
        );
    }
    println!("ours and the floor agree on all {QUERIES} queries");

    // The same matrix with 1 000 grants in its log, not yet folded into the base.
    let mut unmerged = matrix.clone();
    {
        let mut rng = Rng(SEED ^ 0x99);
        let ro_set = unmerged.permission_set(["ro"]).expect("ro");
        for _ in 0..1000 {
            let u = rng.below(USERS);
            let g = rng.below(GROUPS);
            unmerged
                .set_user_grant(&login(u), group_id(g), ro_set)
                .expect("grant");
        }
        assert_eq!(unmerged.merges(), 0, "1 000 grants fit the log");
        println!(
            "matrix with 1 000 unmerged grants: {} rows in the log, {} merges",
            unmerged.unmerged_rows(),
            unmerged.merges()
        );
    }

    let mask = QUERIES - 1;
    let ours_has = |q: &Query| matrix.has(black_box(&q.login), q.group, q.ty);
    let unmerged_has = |q: &Query| unmerged.has(black_box(&q.login), q.group, q.ty);
    let floor_has = |q: &Query| floor.has(black_box(&q.login), q.group.0 as u32, floor_bit(q));
    let ours_groups = |q: &Query, out: &mut Vec<GroupId>| {
        out.clear();
        out.extend(matrix.groups(black_box(&q.login), q.ty));
        out.len()
    };
    let casbin_has = |e: &Enforcer, q: &Query| {
        e.enforce((q.login.as_str(), q.dom, q.obj.as_str()))
            .expect("enforce")
    };
    // casbin lists permissions per domain; rw implies ro here, so a ro list asks both.
    let casbin_groups = |e: &Enforcer, q: &Query| {
        let mut n = e
            .get_implicit_permissions_for_user(&q.login, Some(q.dom))
            .len();
        if q.dom == "ro" {
            n += e
                .get_implicit_permissions_for_user(&q.login, Some("rw"))
                .len();
        }
        n
    };
    let change = grant_change;
    let ro = matrix.type_index("ro").expect("ro");
    let rw = matrix.type_index("rw").expect("rw");

    // Medians timed here, side by side, so the run prints them whatever criterion's filters.
    {
        let mut out: Vec<GroupId> = Vec::with_capacity(64);
        let per_query = |f: &mut dyn FnMut(&Query)| {
            let samples = (0..201)
                .map(|_| {
                    let t = Instant::now();
                    queries.iter().for_each(&mut *f);
                    t.elapsed().as_nanos() as f64 / QUERIES as f64
                })
                .collect();
            median(samples)
        };
        let singles = |n: usize, f: &mut dyn FnMut(usize)| {
            let samples = (0..n)
                .map(|i| {
                    let t = Instant::now();
                    f(i);
                    t.elapsed().as_nanos() as f64
                })
                .collect();
            median(samples)
        };
        let has_ours = per_query(&mut |q| {
            black_box(ours_has(q));
        });
        let has_floor = per_query(&mut |q| {
            black_box(floor_has(q));
        });
        let has_unmerged = per_query(&mut |q| {
            black_box(unmerged_has(q));
        });
        let hot = |f: &mut dyn FnMut(&Query)| {
            let hot = &queries[..16];
            let samples = (0..201)
                .map(|_| {
                    let t = Instant::now();
                    for _ in 0..64 {
                        hot.iter().for_each(&mut *f);
                    }
                    t.elapsed().as_nanos() as f64 / (64 * 16) as f64
                })
                .collect();
            median(samples)
        };
        let has_hot = hot(&mut |q| {
            black_box(ours_has(q));
        });
        let has_hot_floor = hot(&mut |q| {
            black_box(floor_has(q));
        });
        let has_hot_unmerged = hot(&mut |q| {
            black_box(unmerged_has(q));
        });
        // One request of a host: find the user once, then check 16 groups.
        let handle_checks = {
            let samples = (0..201)
                .map(|_| {
                    let t = Instant::now();
                    for q in &queries[..64] {
                        let user = matrix.user(black_box(&q.login));
                        for p in &queries[..16] {
                            black_box(user.has(p.group, p.ty));
                        }
                    }
                    t.elapsed().as_nanos() as f64 / (64 * 16) as f64
                })
                .collect();
            median(samples)
        };
        let has_casbin = singles(15, &mut |i| {
            black_box(casbin_has(&enforcer, &queries[(i * 67) & mask]));
        });
        let groups_ours = per_query(&mut |q| {
            black_box(ours_groups(q, &mut out));
        });
        let groups_casbin = singles(15, &mut |i| {
            black_box(casbin_groups(&enforcer, &queries[(i * 67) & mask]));
        });
        let resolver = PermissionResolver::new(matrix.clone());
        let mut rng = Rng(SEED ^ 0x77);
        let grant_resolver = singles(2001, &mut |_| {
            resolver
                .apply(&[change(random_grant(&mut rng))])
                .expect("grant")
        });
        // Amortised: many grants in a row, the merges they trigger included.
        const GRANTS: usize = 60_000;
        let merges_before = resolver.snapshot().merges();
        let (t, c0) = (Instant::now(), cpu_ns());
        for _ in 0..GRANTS {
            resolver
                .apply(&[change(random_grant(&mut rng))])
                .expect("grant");
        }
        let grant_amortised = t.elapsed().as_nanos() as f64 / GRANTS as f64;
        let grant_amortised_cpu = (cpu_ns() - c0) as f64 / GRANTS as f64;
        let grant_merges = resolver.snapshot().merges() - merges_before;
        let grant_batch = singles(101, &mut |_| {
            let batch: Vec<Change> = (0..100).map(|_| change(random_grant(&mut rng))).collect();
            resolver.apply(&batch).expect("grant")
        }) / 100.0;
        let mut casbin_rng = Rng(SEED ^ 0x77);
        let grant_casbin = singles(2001, &mut |_| {
            let (u, grp, is_rw) = random_grant(&mut casbin_rng);
            let ty = if is_rw { "rw" } else { "ro" };
            rt.block_on(enforcer.add_policy(vec![login(u), ty.to_owned(), group_obj(grp)]))
                .expect("add_policy");
        });
        let (t, c0) = (Instant::now(), cpu_ns());
        for _ in 0..GRANTS {
            let (u, grp, is_rw) = random_grant(&mut casbin_rng);
            let ty = if is_rw { "rw" } else { "ro" };
            rt.block_on(enforcer.add_policy(vec![login(u), ty.to_owned(), group_obj(grp)]))
                .expect("add_policy");
        }
        let grant_casbin_amortised = t.elapsed().as_nanos() as f64 / GRANTS as f64;
        let grant_casbin_amortised_cpu = (cpu_ns() - c0) as f64 / GRANTS as f64;
        drop(resolver);
        println!();
        println!("medians (ns), same facts, same queries, this run:");
        println!(
            "  has()                clientele {has_ours:>12.1}   casbin enforce() {has_casbin:>14.1}   ratio {:>10.0}x",
            has_casbin / has_ours
        );
        println!(
            "  has() vs floor       clientele {has_ours:>12.1}   floor            {has_floor:>14.1}   ratio {:>10.2}x (clientele / floor)",
            has_ours / has_floor
        );
        println!(
            "  has(), 1000 unmerged clientele {has_unmerged:>12.1}   floor            {has_floor:>14.1}   ratio {:>10.2}x",
            has_unmerged / has_floor
        );
        println!(
            "  has(), 16 hot users  clientele {has_hot:>12.1}   floor            {has_hot_floor:>14.1}   ratio {:>10.2}x",
            has_hot / has_hot_floor
        );
        println!(
            "  hot, 1000 unmerged   clientele {has_hot_unmerged:>12.1}   floor            {has_hot_floor:>14.1}   ratio {:>10.2}x",
            has_hot_unmerged / has_hot_floor
        );
        println!("  user(login) then 16 checks: {handle_checks:.1} per check");
        println!(
            "  user's group list    clientele {groups_ours:>12.1}   casbin implicit  {groups_casbin:>14.1}   ratio {:>10.0}x",
            groups_casbin / groups_ours
        );
        println!(
            "  grant (resolver)     clientele {grant_resolver:>12.1}   casbin add_policy {grant_casbin:>13.1}   ratio {:>10.2}x",
            grant_casbin / grant_resolver
        );
        println!(
            "  grant, {GRANTS} in a row clientele {grant_amortised:>8.1}   casbin add_policy {grant_casbin_amortised:>13.1}   ratio {:>10.2}x  ({grant_merges} merges included)",
            grant_casbin_amortised / grant_amortised
        );
        println!(
            "    the same, CPU time  clientele {grant_amortised_cpu:>12.1}   casbin add_policy {grant_casbin_amortised_cpu:>13.1}   ratio {:>10.2}x",
            grant_casbin_amortised_cpu / grant_amortised_cpu
        );
        println!("  grant (batch of 100) clientele {grant_batch:>12.1} per grant");
        println!(
            "  build                clientele {:>12.0}   casbin {:>24.0}   ratio {:>10.1}x",
            ours_build.as_nanos() as f64,
            casbin_build.as_nanos() as f64,
            casbin_build.as_secs_f64() / ours_build.as_secs_f64()
        );
        println!();
    }

    {
        let mut g = c.benchmark_group("permissions/has");
        let mut i = 0usize;
        g.bench_function("clientele", |b| {
            b.iter(|| {
                let q = &queries[i & mask];
                i = i.wrapping_add(1);
                ours_has(q)
            })
        });
        let mut i = 0usize;
        g.bench_function("floor", |b| {
            b.iter(|| {
                let q = &queries[i & mask];
                i = i.wrapping_add(1);
                floor_has(q)
            })
        });
        let mut i = 0usize;
        g.bench_function("clientele_1000_unmerged", |b| {
            b.iter(|| {
                let q = &queries[i & mask];
                i = i.wrapping_add(1);
                unmerged_has(q)
            })
        });
        let mut i = 0usize;
        g.bench_function("clientele_16_hot_users", |b| {
            b.iter(|| {
                let q = &queries[i & 15];
                i = i.wrapping_add(1);
                ours_has(q)
            })
        });
        let mut i = 0usize;
        g.bench_function("floor_16_hot_users", |b| {
            b.iter(|| {
                let q = &queries[i & 15];
                i = i.wrapping_add(1);
                floor_has(q)
            })
        });
        let mut i = 0usize;
        g.bench_function("clientele_1000_unmerged_16_hot_users", |b| {
            b.iter(|| {
                let q = &queries[i & 15];
                i = i.wrapping_add(1);
                unmerged_has(q)
            })
        });
        let mut i = 0usize;
        let user = matrix.user(&queries[0].login);
        g.bench_function("clientele_user_handle", |b| {
            b.iter(|| {
                let q = &queries[i & 15];
                i = i.wrapping_add(1);
                user.has(black_box(q.group), q.ty)
            })
        });
        g.sampling_mode(SamplingMode::Flat).sample_size(10);
        let mut i = 0usize;
        g.bench_function("casbin", |b| {
            b.iter(|| {
                let q = &queries[(i * 67) & mask];
                i = i.wrapping_add(1);
                casbin_has(&enforcer, q)
            })
        });
        g.finish();
    }

    {
        let mut g = c.benchmark_group("permissions/user_groups");
        let mut i = 0usize;
        let mut out: Vec<GroupId> = Vec::with_capacity(64);
        g.bench_function("clientele", |b| {
            b.iter(|| {
                let q = &queries[i & mask];
                i = i.wrapping_add(1);
                ours_groups(q, &mut out)
            })
        });
        g.sampling_mode(SamplingMode::Flat).sample_size(10);
        let mut i = 0usize;
        g.bench_function("casbin", |b| {
            b.iter(|| {
                let q = &queries[(i * 67) & mask];
                i = i.wrapping_add(1);
                casbin_groups(&enforcer, q)
            })
        });
        g.finish();
    }

    {
        let mut g = c.benchmark_group("permissions/grant");
        let resolver = PermissionResolver::new(matrix.clone());
        let mut rng = Rng(SEED ^ 0x1234);
        g.bench_function("clientele_resolver", |b| {
            b.iter(|| {
                resolver
                    .apply(&[change(random_grant(&mut rng))])
                    .expect("grant")
            })
        });
        let mut owned = matrix.clone();
        g.bench_function("clientele_in_place", |b| {
            b.iter(|| {
                let (u, grp, is_rw) = random_grant(&mut rng);
                let set = PermissionSet::single(if is_rw { rw } else { ro });
                owned
                    .set_user_grant(&login(u), group_id(grp), set)
                    .expect("grant")
            })
        });
        drop(owned);
        g.bench_function("casbin", |b| {
            b.iter(|| {
                let (u, grp, is_rw) = random_grant(&mut rng);
                let ty = if is_rw { "rw" } else { "ro" };
                rt.block_on(enforcer.add_policy(vec![login(u), ty.to_owned(), group_obj(grp)]))
                    .expect("add_policy")
            })
        });
        g.finish();
    }

    {
        let mut g = c.benchmark_group("permissions/build");
        g.sampling_mode(SamplingMode::Flat)
            .sample_size(10)
            .measurement_time(Duration::from_secs(10));
        g.bench_function("clientele", |b| {
            b.iter_with_large_drop(|| PermissionMatrix::build(black_box(&facts)).expect("matrix"))
        });
        g.finish();
    }

    c.final_summary();
}
