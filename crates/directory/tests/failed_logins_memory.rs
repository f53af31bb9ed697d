//! Memory driven by unauthenticated input: 200 000 failed logins, each with a distinct random
//! name, against a Directory that caches look-ups for a day. Every one of them is a cached "no
//! such user"; the cache must stay within its capacity however many arrive. The resident-memory
//! growth is printed with the default bound and with a bound too large to matter (what an
//! unbounded cache would do), for comparison. Its own test binary, so no other test's
//! allocations blur the figures.

use std::sync::Arc;

use clientele_backend::{CompanySettings, InMemoryBackend, SourceSettings};
use clientele_directory::{CacheStats, Directory, DirectoryConfig, Error};
use clientele_model::Password;
use clientele_password::{Argon2Params, PasswordConfig, generate_token};

const ATTEMPTS: usize = 200_000;

/// Resident memory of this process in KiB, from /proc (Linux).
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// A Directory over an in-memory store whose source caches for a day with this capacity, and
/// the cheapest hashing argon2 allows (the test is about the cache, not the hash).
fn directory(capacity: usize) -> Directory {
    let settings = SourceSettings {
        name: "memory".into(),
        cache_ttl: 86_400,
        cache_capacity: capacity,
        ..SourceSettings::default()
    };
    let store = Arc::new(InMemoryBackend::with_settings(
        settings,
        CompanySettings::default(),
    ));
    let config = DirectoryConfig {
        passwords: PasswordConfig {
            argon2: Argon2Params {
                memory_kib: 8,
                iterations: 1,
                parallelism: 1,
            },
            ..PasswordConfig::default()
        },
        ..DirectoryConfig::default()
    };
    Directory::in_memory_with(store, config).expect("directory")
}

/// Runs the failed logins; the cache's sizes afterwards and the RSS growth in KiB.
async fn fail_logins(dir: &Directory) -> (CacheStats, u64) {
    let before = rss_kib();
    let password = Password::new("wrong");
    for _ in 0..ATTEMPTS {
        let login = generate_token();
        match dir.authenticate(&login, &password).await {
            Err(Error::AuthenticationFailed) => {}
            other => panic!("an unknown login must fail to authenticate, got {other:?}"),
        }
    }
    let stats = dir.cache_stats()[0].1;
    (stats, rss_kib().saturating_sub(before))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_leave_the_cache_within_its_capacity() {
    let capacity = clientele_backend::settings::DEFAULT_CACHE_CAPACITY;
    let bounded = directory(capacity);
    let (stats, growth) = fail_logins(&bounded).await;
    println!(
        "bounded (capacity {capacity}): {} entries ({} \"no such user\"), RSS +{} KiB",
        stats.entries(),
        stats.missing,
        growth
    );
    assert!(stats.missing > 0, "failed logins are cached: {stats:?}");
    assert!(
        stats.entries() <= capacity,
        "{} entries after {ATTEMPTS} failed logins, capacity {capacity}",
        stats.entries()
    );
    drop(bounded);

    // The same run where the bound cannot bite: what an unbounded cache holds.
    let loose = directory(ATTEMPTS * 8);
    let (stats, growth) = fail_logins(&loose).await;
    println!(
        "bound out of reach (capacity {}): {} entries, RSS +{} KiB",
        ATTEMPTS * 8,
        stats.entries(),
        growth
    );
    assert!(
        stats.missing > capacity,
        "without a bound in reach, every failed login stays cached: {stats:?}"
    );
}
