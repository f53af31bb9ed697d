//! LDAP searches through Clientele against `ldapsearch`, on the same throwaway slapd.
//!
//! Issue 9 (LDAP part): a search returning 1 000 entries through `LdapBackend` (what a
//! `Directory` runs, cache off) vs `ldapsearch` for the same filter and attributes on the same
//! server, and a paged search of 10 000 entries. `ldapsearch` runs as a process, so its figure
//! includes process start, connect and bind; the same `ldapsearch` on a filter that matches
//! nothing shows that fixed cost.
//!
//! Data: 10 500 customer users (names, logins, emails, phones and cities from
//! `benches/support/gen.rs`, reproducible from the seed) below `ou=customers`, loaded with
//! `ldapadd`; 10 customers of 1 000 valid users each, and 500 users outside the valid filter.
//! The server (scripts/slapd.sh) answers at most 500 entries to a plain search, so every
//! search here is paged.
//!
//! The floor of the dependency is measured too: the same paged search through ldap3 alone, every
//! entry dropped unread, once through ldap3's adapters (`EntriesOnly` + `PagedResults`) and once
//! paged by hand with the paged-results control on plain `streaming_search` calls.
//!
//! Run: `cargo bench --bench ldap --features ldap`. Environment:
//!
//! * `CLIENTELE_BENCH_RUNS`: timed runs (default 15);
//! * `CLIENTELE_BENCH_WARMUP`: warm-up runs (default 2);
//! * `CLIENTELE_BENCH_CASES`: a comma-separated list of case names (as printed) to run alone,
//!   e.g. `all backend 250` for a profile under `valgrind --tool=callgrind`; the up-front
//!   agreement checks are then skipped (each timed case still checks its entry count).
//!
//! Results and method: docs/benchmarks.md.

#[path = "support/gen.rs"]
mod datagen;
#[path = "support/ldap.rs"]
mod ldap_support;
#[path = "../crates/ldap/tests/slapd/server.rs"]
mod slapd_server;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clientele_backend::{CustomerUserSource, InMemoryBackend, SourceSettings};
use clientele_directory::{Directory, DirectoryConfig, Source};
use clientele_ldap::{LdapBackend, LdapConfig, Paging};
use clientele_model::search::{CustomerUserSearch, Expr, FieldSet, Pattern, UserQuery, parse_term};
use clientele_model::{Password, StorageType, keys};

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults as PagedAdapter};
use ldap3::controls::{Control, ControlType, PagedResults};
use ldap3::{Ldap, LdapConnAsync, Scope};

use ldap_support::{CUSTOMERS, customer_of};
use slapd_server::Slapd;

const SEED: u64 = 0x1da9_5eed_0009;
const VALID: usize = 10_000;
const INVALID: usize = 500;
const COMPANIES: usize = 10; // 1 000 valid users each
const WARMUP: usize = 2;
/// The backend's default operation timeout, which ldap3 applies to every reply it waits for.
const OP_TIMEOUT: Duration = Duration::from_secs(30);

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

/// CPU time (user + system) used so far by this process (all its threads) and by its
/// waited-for children (the `ldapsearch` runs), from /proc/self/stat in clock ticks.
struct Cpu {
    own: u64,
    children: u64,
}

fn cpu() -> Cpu {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name, which ends with the last ')': state is field 3, utime 14,
    // stime 15, cutime 16, cstime 17.
    let rest = &stat[stat.rfind(')').expect("stat format") + 2..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    Cpu {
        own: f[11] + f[12],
        children: f[13] + f[14],
    }
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 on Linux).
fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The reader account's view of `ou=customers`, configured as the slapd tests configure
/// `ou=people`: `o` is the customer id, the `gesperrt` valid filter, default paging (page size
/// 250 above the server's limit of 500), cache off (the LDAP default).
fn config(s: &Slapd) -> LdapConfig {
    LdapConfig {
        bind_dn: Some(s.var("CLIENTELE_LDAP_BIND_DN")),
        bind_password: Some(Password::new(s.var("CLIENTELE_LDAP_BIND_PW"))),
        customer_id: "o".into(),
        customer_ids_attribute: Some("departmentNumber".into()),
        always_filter: Some("(objectClass=inetOrgPerson)".into()),
        valid_filter: Some("(!(description=gesperrt))".into()),
        settings: SourceSettings {
            name: "LDAP".into(),
            ..LdapConfig::default_settings()
        },
        ..LdapConfig::new(s.url(), CUSTOMERS)
    }
}

/// The attributes `LdapBackend` asks for: the readable map rows, the search and the
/// postmaster fields (the same rule as the backend's own list).
fn requested_attributes(settings: &SourceSettings) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let rows = settings.map.rows().iter().filter(|r| {
        r.storage_type != StorageType::DynamicField
            && r.key != keys::PASSWORD
            && r.key != keys::VALID
    });
    for a in rows
        .map(|r| &r.storage)
        .chain(&settings.search_fields)
        .chain(&settings.postmaster_fields)
    {
        if !out.iter().any(|x| x.eq_ignore_ascii_case(a)) {
            out.push(a.clone());
        }
    }
    out
}

/// One `ldapsearch` invocation as the reader account.
struct LdapSearch {
    url: String,
    bind_dn: String,
    bind_pw: String,
    filter: String,
    attrs: Vec<String>,
    /// `-E pr=N/noprompt`
    page: Option<u32>,
}

impl LdapSearch {
    fn command(&self) -> Command {
        let mut c = Command::new("ldapsearch");
        c.env("LDAPNOINIT", "1")
            .args(["-LLL", "-x", "-H", &self.url])
            .args(["-D", &self.bind_dn, "-w", &self.bind_pw])
            .args(["-b", CUSTOMERS, "-s", "sub"]);
        if let Some(p) = self.page {
            c.args(["-E", &format!("pr={p}/noprompt")]);
        }
        c.arg(&self.filter).args(&self.attrs);
        c
    }

    /// Timed: output to /dev/null, exit status must be 0.
    fn time(&self) -> Duration {
        let t = Instant::now();
        let status = self
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("ldapsearch could not be run");
        let took = t.elapsed();
        assert!(status.success(), "ldapsearch failed: {status}");
        took
    }

    /// Untimed: the number of entries (`dn:` lines) and the exit code.
    fn count(&self) -> (usize, i32) {
        let out = self
            .command()
            .output()
            .expect("ldapsearch could not be run");
        let n = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.starts_with("dn:") || l.starts_with("dn::"))
            .count();
        (n, out.status.code().unwrap_or(-1))
    }
}

/// What the Directory sends the source for a customer-id search (`Directory::query_for`).
fn customer_id_query(id: &str, limit: usize) -> UserQuery {
    UserQuery {
        fields: FieldSet::CustomerId,
        expr: Expr::Match(Pattern::from_wildcards(id)),
        valid_only: true,
        limit,
        case_sensitive: false,
    }
}

/// One `CustomerUserSource::search` through the backend, timed; `want` entries expected.
fn timed_search<'a>(
    rt: &'a tokio::runtime::Runtime,
    backend: &'a LdapBackend,
    query: &'a UserQuery,
    want: usize,
) -> Box<dyn Fn() -> Duration + 'a> {
    Box::new(move || {
        let t = Instant::now();
        let n = rt.block_on(backend.search(query)).expect("search").len();
        let took = t.elapsed();
        assert_eq!(n, want);
        took
    })
}

/// One `Directory::search` (one LDAP source, cache off), timed; `want` hits expected.
fn timed_dir<'a>(
    rt: &'a tokio::runtime::Runtime,
    dir: &'a Directory,
    search: &'a CustomerUserSearch,
    want: usize,
) -> Box<dyn Fn() -> Duration + 'a> {
    Box::new(move || {
        let t = Instant::now();
        let n = rt.block_on(dir.search(search)).expect("search").len();
        let took = t.elapsed();
        assert_eq!(n, want);
        took
    })
}

/// The floor of the dependency: ldap3 alone on its own bound connection, the same filter,
/// attributes and page size as the backend, every entry counted and dropped unread.
struct Floor {
    ldap: Ldap,
    filter: String,
    attrs: Vec<String>,
    page: i32,
}

impl Floor {
    async fn open(s: &Slapd, filter: String, attrs: Vec<String>, page: i32) -> Floor {
        let (conn, mut ldap) = LdapConnAsync::new(&s.url()).await.expect("connect");
        tokio::spawn(async move {
            let _ = conn.drive().await;
        });
        ldap.simple_bind(
            &s.var("CLIENTELE_LDAP_BIND_DN"),
            &s.var("CLIENTELE_LDAP_BIND_PW"),
        )
        .await
        .expect("bind")
        .success()
        .expect("bind");
        Floor {
            ldap,
            filter,
            attrs,
            page,
        }
    }

    /// Through ldap3's adapters, as `Ldap::search` and the adapter documentation do it.
    async fn adapters(&self) -> usize {
        let mut ldap = self.ldap.clone();
        ldap.with_timeout(OP_TIMEOUT);
        let adapters: Vec<Box<dyn Adapter<'static, String, Vec<String>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedAdapter::new(self.page)),
        ];
        let mut stream = ldap
            .streaming_search_with(
                adapters,
                CUSTOMERS,
                Scope::Subtree,
                &self.filter,
                self.attrs.clone(),
            )
            .await
            .expect("search");
        let mut n = 0;
        while let Some(entry) = stream.next().await.expect("entry") {
            drop(entry);
            n += 1;
        }
        stream.finish().await.success().expect("search result");
        n
    }

    /// Paged by hand: one plain `streaming_search` per page with the paged-results control,
    /// the cookie read from each page's result.
    async fn by_hand(&self) -> usize {
        let mut ldap = self.ldap.clone();
        let mut cookie = Vec::new();
        let mut n = 0;
        loop {
            ldap.with_timeout(OP_TIMEOUT).with_controls(PagedResults {
                size: self.page,
                cookie: std::mem::take(&mut cookie),
            });
            let mut stream = ldap
                .streaming_search(CUSTOMERS, Scope::Subtree, &self.filter, self.attrs.clone())
                .await
                .expect("search");
            while let Some(entry) = stream.next().await.expect("entry") {
                if !entry.is_ref() && !entry.is_intermediate() {
                    n += 1;
                }
            }
            let res = stream.finish().await.success().expect("search result");
            let next = res.ctrls.iter().find_map(|c| match c {
                Control(Some(ControlType::PagedResults), raw) => {
                    Some(raw.parse::<PagedResults>().cookie)
                }
                _ => None,
            });
            match next {
                Some(c) if !c.is_empty() => cookie = c,
                _ => return n,
            }
        }
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let runs = env_usize("CLIENTELE_BENCH_RUNS", 15).max(1);
    let warmup = env_usize("CLIENTELE_BENCH_WARMUP", WARMUP);
    let only: Option<Vec<String>> = std::env::var("CLIENTELE_BENCH_CASES").ok().map(|v| {
        v.split(',')
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty())
            .collect()
    });

    let t = Instant::now();
    let slapd = Slapd::start();
    println!(
        "slapd started ({}, {}) in {:.1} s",
        slapd.url(),
        slapd.dir().display(),
        t.elapsed().as_secs_f64()
    );
    let ldif = ldap_support::customers_ldif(SEED, VALID, INVALID, COMPANIES);
    let t = Instant::now();
    slapd.ldapadd(&ldif);
    println!(
        "loaded {} customer users ({VALID} valid in {COMPANIES} customers, {INVALID} invalid) \
         with ldapadd in {:.1} s",
        VALID + INVALID,
        t.elapsed().as_secs_f64()
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");

    let cfg = config(&slapd);
    assert_eq!(cfg.settings.cache_ttl, 0, "LDAP source cache is off");
    let backend = Arc::new(LdapBackend::new(cfg.clone()).expect("LDAP config"));
    let backend_500 = Arc::new(
        LdapBackend::new(LdapConfig {
            page_size: 500,
            ..cfg.clone()
        })
        .expect("LDAP config"),
    );
    let unpaged = Arc::new(
        LdapBackend::new(LdapConfig {
            paging: Paging::Never,
            ..cfg.clone()
        })
        .expect("LDAP config"),
    );
    let dir = Directory::builder()
        .source(Source::read_only(backend.clone()))
        .preference_store(Arc::new(InMemoryBackend::new()))
        .config(DirectoryConfig::default())
        .build()
        .expect("directory");

    let settings = CustomerUserSource::settings(&*backend).clone();
    let attrs = requested_attributes(&settings);
    let company = customer_of(3, COMPANIES);
    let q1000 = customer_id_query(&company, 1000);
    let q0 = customer_id_query("nobody-0000", 1000);
    let q_all = UserQuery {
        fields: FieldSet::SearchFields {
            exclude_customer_id: false,
        },
        expr: parse_term("*", &settings.syntax).expect("term"),
        valid_only: true,
        limit: VALID,
        case_sensitive: false,
    };
    let s1000 = CustomerUserSearch::customer_id(&company).limit(1000);
    let s_all = CustomerUserSearch::term("*").limit(VALID);

    let ls = |query: &UserQuery, page: Option<u32>| LdapSearch {
        url: slapd.url(),
        bind_dn: slapd.var("CLIENTELE_LDAP_BIND_DN"),
        bind_pw: slapd.var("CLIENTELE_LDAP_BIND_PW"),
        filter: backend.search_filter(query),
        attrs: attrs.clone(),
        page,
    };
    let ls1000 = ls(&q1000, Some(250));
    let ls0 = ls(&q0, Some(250));
    let ls_all_250 = ls(&q_all, Some(250));
    let ls_all_500 = ls(&q_all, Some(500));
    let ls1000_unpaged = ls(&q1000, None);
    println!("filter (1 000 entries):  {}", ls1000.filter);
    println!("filter (0 entries):      {}", ls0.filter);
    println!("filter (10 000 entries): {}", ls_all_250.filter);
    println!("attributes: {}", attrs.join(" "));

    let floor = rt.block_on(Floor::open(
        &slapd,
        ls_all_250.filter.clone(),
        attrs.clone(),
        250,
    ));

    // Same answers on both sides before anything is timed.
    if only.is_none() {
        let search = |b: &LdapBackend, q: &UserQuery| rt.block_on(b.search(q)).expect("search");
        assert_eq!(search(&backend, &q1000).len(), 1000);
        assert_eq!(rt.block_on(dir.search(&s1000)).expect("search").len(), 1000);
        assert_eq!(search(&backend, &q0).len(), 0);
        assert_eq!(search(&backend, &q_all).len(), VALID);
        assert_eq!(search(&backend_500, &q_all).len(), VALID);
        assert_eq!(
            rt.block_on(dir.search(&s_all)).expect("search").len(),
            VALID
        );
        assert_eq!(rt.block_on(floor.adapters()), VALID);
        assert_eq!(rt.block_on(floor.by_hand()), VALID);
        assert_eq!(ls1000.count(), (1000, 0));
        assert_eq!(ls0.count(), (0, 0));
        assert_eq!(ls_all_250.count(), (VALID, 0));
        assert_eq!(ls_all_500.count(), (VALID, 0));
        // Paging really happens: without it the server stops at its size limit (500, exit code
        // 4 sizeLimitExceeded for ldapsearch).
        let (n, code) = ls1000_unpaged.count();
        let unpaged_n = search(&unpaged, &q_all).len();
        println!(
            "without paging: ldapsearch gets {n} of 1 000 entries (exit code {code}), \
             LdapBackend (paging = never) {unpaged_n} of {VALID}"
        );
        assert_eq!((n, code, unpaged_n), (500, 4, 500));
        println!("both sides agree; timing {runs} runs after {warmup} warm-up runs, interleaved");
    } else {
        println!(
            "cases {only:?} only, {runs} runs after {warmup} warm-up runs, no agreement checks"
        );
    }

    let floor_check = |n: usize| assert_eq!(n, VALID);
    type Case<'a> = (&'a str, Box<dyn Fn() -> Duration + 'a>);
    let all_cases: Vec<Case> = vec![
        ("1000 backend", timed_search(&rt, &backend, &q1000, 1000)),
        ("1000 directory", timed_dir(&rt, &dir, &s1000, 1000)),
        ("1000 ldapsearch", Box::new(|| ls1000.time())),
        ("0 backend", timed_search(&rt, &backend, &q0, 0)),
        ("0 ldapsearch", Box::new(|| ls0.time())),
        (
            "all backend 250",
            timed_search(&rt, &backend, &q_all, VALID),
        ),
        ("all directory 250", timed_dir(&rt, &dir, &s_all, VALID)),
        (
            "all backend 500",
            timed_search(&rt, &backend_500, &q_all, VALID),
        ),
        (
            "all ldap3 adapters 250",
            Box::new(|| {
                let t = Instant::now();
                let n = rt.block_on(floor.adapters());
                let took = t.elapsed();
                floor_check(n);
                took
            }),
        ),
        (
            "all ldap3 by hand 250",
            Box::new(|| {
                let t = Instant::now();
                let n = rt.block_on(floor.by_hand());
                let took = t.elapsed();
                floor_check(n);
                took
            }),
        ),
        ("all ldapsearch 250", Box::new(|| ls_all_250.time())),
        ("all ldapsearch 500", Box::new(|| ls_all_500.time())),
    ];
    let cases: Vec<Case> = all_cases
        .into_iter()
        .filter(|(name, _)| only.as_ref().is_none_or(|o| o.iter().any(|c| c == name)))
        .collect();
    assert!(!cases.is_empty(), "CLIENTELE_BENCH_CASES names no case");
    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    // Client CPU per case: this process's own for Clientele, the children's for ldapsearch.
    let mut cpu_ticks = vec![0u64; cases.len()];
    for run in 0..warmup + runs {
        for (k, (_, f)) in cases.iter().enumerate() {
            let before = cpu();
            let d = f();
            let after = cpu();
            if run >= warmup {
                samples[k].push(d);
                cpu_ticks[k] += (after.own - before.own) + (after.children - before.children);
            }
        }
    }
    let tick_ms = 1e3 / ticks_per_second();
    let index = |name: &str| cases.iter().position(|(n, _)| *n == name);
    let cpu_ms = |name: &str| index(name).map(|k| cpu_ticks[k] as f64 * tick_ms / runs as f64);
    let med: Vec<Duration> = samples.iter().cloned().map(median).collect();
    let get = |name: &str| index(name).map(|k| med[k]);
    let spread = |name: &str| {
        index(name).map(|k| {
            let v = &samples[k];
            (
                ms(*v.iter().min().expect("runs")),
                ms(*v.iter().max().expect("runs")),
            )
        })
    };

    let fixed = get("0 ldapsearch");
    let own_fixed = get("0 backend");
    let ratio = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
        (Some(a), Some(b)) if !a.is_zero() && !b.is_zero() => {
            format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64())
        }
        _ => "–".to_owned(),
    };
    let sub = |a: Option<Duration>, b: Option<Duration>| Some(a?.saturating_sub(b?));
    let time = |name: &str| match (get(name), spread(name)) {
        (Some(d), Some((lo, hi))) => format!("{:.2} ms [{lo:.1}–{hi:.1}]", ms(d)),
        _ => "–".to_owned(),
    };
    let cpu_cell = |name: &str| cpu_ms(name).map_or("–".to_owned(), |c| format!("{c:.1} ms"));
    let per_entry = |name: &str, entries: usize| match cpu_ms(name) {
        Some(c) if entries > 0 => format!("{:.1} µs", c * 1e3 / entries as f64),
        _ => "–".to_owned(),
    };
    let cpu_ratio = |ours: &str, theirs: &str| match (cpu_ms(ours), cpu_ms(theirs)) {
        (Some(o), Some(t)) if t > 0.0 => format!("{:.2}×", o / t),
        _ => "–".to_owned(),
    };
    let row = |label: &str, ours: &str, theirs: &str, entries: usize| {
        let (o, t) = (get(ours), get(theirs));
        let net_ratio = ratio(o, sub(t, fixed));
        let both_net = if entries == 0 {
            "–".to_owned()
        } else {
            ratio(sub(o, own_fixed), sub(t, fixed))
        };
        println!(
            "| {label} | {} | {} | {} | {net_ratio} | {both_net} | {} / {} | {} / {} | {} |",
            time(ours),
            time(theirs),
            ratio(o, t),
            cpu_cell(ours),
            cpu_cell(theirs),
            per_entry(ours, entries),
            per_entry(theirs, entries),
            cpu_ratio(ours, theirs),
        );
    };
    println!();
    println!("medians of {runs} runs [min–max], same server, same filter and attributes:");
    println!(
        "| case | Clientele | ldapsearch (process) | Clientele / ldapsearch | Clientele / (ldapsearch − its 0-entry run) | both minus their 0-entry runs | client CPU per search, Clientele / ldapsearch | client CPU per entry, Clientele / ldapsearch | client CPU, Clientele / ldapsearch |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    row(
        "1 000 entries, LdapBackend::search (4 pages of 250)",
        "1000 backend",
        "1000 ldapsearch",
        1000,
    );
    row(
        "1 000 entries, Directory::search (cache off)",
        "1000 directory",
        "1000 ldapsearch",
        1000,
    );
    row(
        "0 entries (fixed cost), LdapBackend::search",
        "0 backend",
        "0 ldapsearch",
        0,
    );
    row(
        "10 000 entries paged, LdapBackend::search, page 250 (default)",
        "all backend 250",
        "all ldapsearch 250",
        VALID,
    );
    row(
        "10 000 entries paged, Directory::search, page 250",
        "all directory 250",
        "all ldapsearch 250",
        VALID,
    );
    row(
        "10 000 entries paged, LdapBackend::search, page 500",
        "all backend 500",
        "all ldapsearch 500",
        VALID,
    );
    row(
        "10 000 entries paged, ldap3 alone through its adapters, entries dropped (floor), page 250",
        "all ldap3 adapters 250",
        "all ldapsearch 250",
        VALID,
    );
    row(
        "10 000 entries paged, ldap3 alone paged by hand, entries dropped (floor), page 250",
        "all ldap3 by hand 250",
        "all ldapsearch 250",
        VALID,
    );
    if let Some(fixed) = fixed {
        println!(
            "ldapsearch fixed cost (process start, connect, bind, empty search): {:.2} ms; \
             ldapsearch pages: -E pr=250/noprompt (1 000 entries, 10 000 by 250), -E pr=500/noprompt (10 000 by 500)",
            ms(fixed)
        );
    }
    println!(
        "client CPU: user + system time per search (mean), all threads of this process for \
         Clientele and ldap3, the ldapsearch process for ldapsearch; slapd's own CPU is in neither"
    );
    drop(cases);
    drop(floor);
    drop(rt);
    drop(slapd);
}
