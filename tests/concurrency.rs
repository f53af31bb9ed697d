//! Concurrent writers through one Directory (cache on) on SQLite, PostgreSQL and MariaDB: tasks
//! run a random mix of adds, checked updates, relations, grants, searches and logins on a small,
//! shared set of logins and addresses so that they collide, then the database itself is checked.
//!
//! What must hold afterwards (read with raw SQL, not through the Directory):
//! * no login twice (case-insensitively) and no email twice;
//! * every acknowledged add is there, and only one add per login was acknowledged;
//! * per user, each field holds the value of the last acknowledged update of that field (the
//!   acknowledged checked update with the highest version read), or the added value if none;
//! * no two acknowledged checked updates of one user started from the same version read (of
//!   two writers from one read exactly one wins, the other gets `Conflict`);
//! * relation and grant rows are unique; a relation acknowledged only as "on" is there, one
//!   acknowledged only as "off" is not; a user's permission set on a group is exactly one of
//!   the sets acknowledged for it, never a mix of two.
//!
//! Sizes: 8 tasks × 2 000 operations on the servers, 4 × 300 on SQLite. Loopback only; each run
//! is bounded by a timeout.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clientele::db::sea_orm::{ConnectionTrait, Statement};
use clientele::model::search::CustomerUserSearch;
use clientele::model::{
    CustomerUser, CustomerUserChanges, NewCustomerCompany, NewCustomerUser, Password, keys,
};
use clientele::permissions::PermissionTypes;
use clientele::{DbConfig, Directory, DirectoryConfig, Error};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

#[path = "../crates/db/tests/common/mod.rs"]
mod common;
#[path = "../crates/directory/tests/support/kat.rs"]
mod kat;

use common::{Fixture, Kind};

const COMPANIES: usize = 4;
const GROUPS: [&str; 3] = ["g0", "g1", "g2"];
const GRANT_SETS: [&[&str]; 5] = [
    &[],
    &["ro"],
    &["ro", "move_into"],
    &["move_into", "create"],
    &["rw"],
];
/// Updates go to the first this many known users, so that writers meet.
const HOT_USERS: usize = 24;

/// The shape of one run.
#[derive(Clone, Copy)]
struct Load {
    tasks: usize,
    ops: usize,
    /// Logins are drawn from `u0` … `u{logins-1}` (in random letter case).
    logins: usize,
    /// Addresses are drawn from `m0@…` … `m{emails-1}@…`.
    emails: usize,
    seed: u64,
}

fn password_of(login_folded: &str) -> String {
    format!("pw-{login_folded}")
}

fn email(n: usize) -> String {
    format!("m{n}@acme-corp.com")
}

/// A randomly cased login: `u7`, `U7`.
fn login(rng: &mut StdRng, n: usize) -> String {
    if rng.random_bool(0.5) {
        format!("U{n}")
    } else {
        format!("u{n}")
    }
}

#[derive(Debug, Clone)]
struct AddAck {
    login: String,
    email: String,
    first_name: String,
}

#[derive(Debug, Clone)]
struct UpdateAck {
    login: String,
    field: &'static str,
    value: String,
    /// The `changed_at` of the version the update was made from.
    read: Option<i64>,
}

#[derive(Default)]
struct TaskLog {
    ops: usize,
    adds: Vec<AddAck>,
    updates: Vec<UpdateAck>,
    relations: Vec<(String, String, bool)>,
    grants: Vec<(String, String, Vec<String>)>,
    conflicts: usize,
    already_exists: usize,
    races: usize,
    searches: usize,
    logins: usize,
    unexpected: Vec<String>,
}

struct Shared {
    dir: Directory,
    /// Acknowledged logins (as added), in order.
    known: Mutex<Vec<String>>,
}

impl Shared {
    fn pick(&self, rng: &mut StdRng, hot: bool) -> Option<String> {
        let known = self.known.lock().unwrap();
        if known.is_empty() {
            return None;
        }
        let n = if hot {
            known.len().min(HOT_USERS)
        } else {
            known.len()
        };
        Some(known[rng.random_range(0..n)].clone())
    }
}

fn directory_config() -> DirectoryConfig {
    let mut config = kat::cheap_hashing();
    config.permissions.permission_types =
        PermissionTypes::new(["ro", "move_into", "create", "rw"]).unwrap();
    config
}

/// The DB configuration with the caches ON (OTOBO's default TTL).
fn db_config() -> DbConfig {
    let mut config = DbConfig::default();
    config.settings.name = "db".into();
    config.company_settings.name = "db-companies".into();
    assert!(config.settings.cache_ttl > 0, "the cache must be on");
    config
}

async fn task(shared: Arc<Shared>, id: usize, load: Load) -> TaskLog {
    let mut rng = StdRng::seed_from_u64(load.seed.wrapping_add(id as u64 * 7919));
    let mut log = TaskLog::default();
    // The version of each user this task last read or wrote.
    let mut last_read: HashMap<String, CustomerUser> = HashMap::new();
    let dir = &shared.dir;
    macro_rules! unexpected {
        ($what:expr, $e:expr) => {
            log.unexpected
                .push(format!("task {id} {}: {:?}", $what, $e))
        };
    }
    for op in 0..load.ops {
        log.ops += 1;
        let roll = rng.random_range(0..100);
        let known = shared.known.lock().unwrap().len();
        if roll < 20 || known < 4 {
            // Add, colliding on login (any case) and on email.
            let n = rng.random_range(0..load.logins);
            let login = login(&mut rng, n);
            let email = email(rng.random_range(0..load.emails));
            let first = format!("f{id}x{op}");
            let company = format!("C{}", rng.random_range(0..COMPANIES));
            let folded = login.to_lowercase();
            let new = NewCustomerUser::new(&login, &first, "Load", &email, &company)
                .password(Password::new(password_of(&folded)));
            match dir
                .add_customer_user(new, clientele::model::Actor::System)
                .await
            {
                Ok(added) => {
                    assert_eq!(added.login.as_str(), login);
                    log.adds.push(AddAck {
                        login: login.clone(),
                        email,
                        first_name: first,
                    });
                    shared.known.lock().unwrap().push(login);
                }
                Err(Error::AlreadyExists { .. }) => log.already_exists += 1,
                Err(e) => unexpected!("add", e),
            }
        } else if roll < 50 {
            // A checked update from the version this task last read.
            let Some(login) = shared.pick(&mut rng, true) else {
                continue;
            };
            let key = login.to_lowercase();
            let read = match last_read.get(&key) {
                Some(u) => u.clone(),
                None => match dir.customer_user(&login).await {
                    Ok(Some(u)) => u,
                    other => {
                        unexpected!("read before update", other);
                        continue;
                    }
                },
            };
            let (field, value) = match rng.random_range(0..10) {
                0..=3 => (keys::CITY, format!("c{id}x{op}")),
                4..=6 => (keys::COMMENT, format!("n{id}x{op}")),
                7..=8 => (keys::FIRST_NAME, format!("f{id}x{op}")),
                _ => (keys::EMAIL, email(rng.random_range(0..load.emails))),
            };
            let changes = CustomerUserChanges::new().set(field, value.clone());
            match dir
                .update_customer_user_checked(&read, changes, clientele::model::Actor::System)
                .await
            {
                Ok(after) => {
                    log.updates.push(UpdateAck {
                        login: key.clone(),
                        field,
                        value,
                        read: read.audit.changed_at,
                    });
                    last_read.insert(key, after);
                }
                Err(Error::Conflict { .. }) => {
                    log.conflicts += 1;
                    last_read.remove(&key);
                }
                Err(Error::AlreadyExists { .. }) if field == keys::EMAIL => {
                    log.already_exists += 1;
                }
                Err(e) => unexpected!("update", e),
            }
        } else if roll < 55 {
            // Two writers from one read, at the same time: at most one may win.
            let Some(login) = shared.pick(&mut rng, true) else {
                continue;
            };
            let key = login.to_lowercase();
            let read = match dir.customer_user(&login).await {
                Ok(Some(u)) => u,
                other => {
                    unexpected!("read before race", other);
                    continue;
                }
            };
            let a = format!("ra{id}x{op}");
            let b = format!("rb{id}x{op}");
            let (ra, rb) = tokio::join!(
                dir.update_customer_user_checked(
                    &read,
                    CustomerUserChanges::new().set(keys::CITY, a.clone()),
                    clientele::model::Actor::System,
                ),
                dir.update_customer_user_checked(
                    &read,
                    CustomerUserChanges::new().set(keys::COMMENT, b.clone()),
                    clientele::model::Actor::System,
                ),
            );
            log.races += 1;
            for (r, field, value) in [(ra, keys::CITY, a), (rb, keys::COMMENT, b)] {
                match r {
                    Ok(after) => {
                        log.updates.push(UpdateAck {
                            login: key.clone(),
                            field,
                            value,
                            read: read.audit.changed_at,
                        });
                        last_read.insert(key.clone(), after);
                    }
                    Err(Error::Conflict { .. }) => log.conflicts += 1,
                    Err(e) => unexpected!("race update", e),
                }
            }
        } else if roll < 65 {
            let Some(login) = shared.pick(&mut rng, false) else {
                continue;
            };
            let company = format!("C{}", rng.random_range(0..COMPANIES));
            let active = rng.random_bool(0.7);
            match dir
                .relate_company(&login, &company, active, clientele::model::Actor::System)
                .await
            {
                Ok(()) => log.relations.push((login.to_lowercase(), company, active)),
                Err(e) => unexpected!("relate", e),
            }
        } else if roll < 75 {
            let Some(login) = shared.pick(&mut rng, false) else {
                continue;
            };
            let group = GROUPS[rng.random_range(0..GROUPS.len())];
            let set = GRANT_SETS[rng.random_range(0..GRANT_SETS.len())];
            match dir
                .grant_user(&login, group, set, clientele::model::Actor::System)
                .await
            {
                Ok(()) => {
                    let mut perms: Vec<String> = set.iter().map(|p| p.to_string()).collect();
                    perms.sort();
                    log.grants
                        .push((login.to_lowercase(), group.to_owned(), perms));
                }
                Err(e) => unexpected!("grant", e),
            }
        } else if roll < 87 {
            // A search; refreshes this task's view of the users it finds.
            let term = format!("u{}*", rng.random_range(0..10));
            match dir.search(&CustomerUserSearch::term(term)).await {
                Ok(hits) => {
                    log.searches += 1;
                    let mut seen = HashSet::new();
                    for h in &hits {
                        if !seen.insert(h.user.login.as_str().to_lowercase()) {
                            unexpected!("search", format!("{} twice", h.user.login.as_str()));
                        }
                    }
                    for h in hits {
                        last_read.insert(h.user.login.as_str().to_lowercase(), h.user);
                    }
                }
                Err(e) => unexpected!("search", e),
            }
        } else {
            // A login, in any letter case; right and (sometimes) wrong passwords.
            let Some(login) = shared.pick(&mut rng, false) else {
                continue;
            };
            let folded = login.to_lowercase();
            let as_typed = if rng.random_bool(0.5) {
                folded.to_uppercase()
            } else {
                folded.clone()
            };
            let wrong = rng.random_bool(0.2);
            let pw = if wrong {
                Password::new("wrong")
            } else {
                Password::new(password_of(&folded))
            };
            log.logins += 1;
            match (dir.authenticate(&as_typed, &pw).await, wrong) {
                (Ok(l), false) if l.as_str().eq_ignore_ascii_case(&folded) => {}
                (Err(Error::AuthenticationFailed), true) => {}
                (other, _) => unexpected!(format!("login {as_typed} wrong={wrong}"), other),
            }
        }
    }
    log
}

async fn rows(fx: &Fixture, sql: &str, columns: usize) -> Vec<Vec<Option<String>>> {
    let conn = fx.db.connection();
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|r| {
            (0..columns)
                .map(|i| {
                    r.try_get_by_index::<Option<String>>(i)
                        .unwrap_or_else(|e| panic!("{sql} column {i}: {e}"))
                })
                .collect()
        })
        .collect()
}

fn text(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

async fn run(kind: Kind, load: Load) {
    let fx = Fixture::with_config(kind, db_config()).await;
    let db = fx.db.clone();
    let dir = Directory::builder()
        .writable_source(db.clone())
        .company_store(db.clone())
        .relation_store(db.clone())
        .preference_store(db.clone())
        .config(directory_config())
        .build()
        .expect("directory");
    for c in 0..COMPANIES {
        dir.add_company(
            NewCustomerCompany::new(&format!("C{c}"), &format!("Company {c}")),
            clientele::model::Actor::System,
        )
        .await
        .expect("company");
    }
    let mut group_ids = HashMap::new();
    for g in GROUPS {
        let group = dir
            .add_group(g, clientele::model::Actor::System)
            .await
            .expect("group");
        group_ids.insert(group.id.to_string(), g.to_owned());
    }
    let shared = Arc::new(Shared {
        dir,
        known: Mutex::new(Vec::new()),
    });

    let started = Instant::now();
    let handles: Vec<_> = (0..load.tasks)
        .map(|id| tokio::spawn(task(shared.clone(), id, load)))
        .collect();
    let mut logs = Vec::new();
    let bound = Duration::from_secs(900);
    for h in handles {
        let log = tokio::time::timeout(bound, h)
            .await
            .unwrap_or_else(|_| panic!("{kind:?}: the load did not finish within {bound:?}"))
            .expect("task panicked");
        logs.push(log);
    }
    let elapsed = started.elapsed();

    let sum = |f: fn(&TaskLog) -> usize| logs.iter().map(f).sum::<usize>();
    let ops = sum(|l| l.ops);
    let adds = sum(|l| l.adds.len());
    let updates = sum(|l| l.updates.len());
    let conflicts = sum(|l| l.conflicts);
    let already = sum(|l| l.already_exists);
    let races = sum(|l| l.races);
    let relations = sum(|l| l.relations.len());
    let grants = sum(|l| l.grants.len());
    let searches = sum(|l| l.searches);
    let logins = sum(|l| l.logins);
    println!(
        "concurrency {kind:?}: {} tasks x {} ops = {ops} ops in {:.1} s ({:.0} ops/s): \
         {adds} adds, {already} AlreadyExists, {updates} updates acknowledged, {conflicts} \
         Conflict, {races} two-writer races, {relations} relation writes, {grants} grant writes, \
         {searches} searches, {logins} logins",
        load.tasks,
        load.ops,
        elapsed.as_secs_f64(),
        ops as f64 / elapsed.as_secs_f64(),
    );
    let unexpected: Vec<&String> = logs.iter().flat_map(|l| &l.unexpected).collect();
    assert!(
        unexpected.is_empty(),
        "{kind:?}: {} unexpected outcomes, first ones: {:#?}",
        unexpected.len(),
        &unexpected[..unexpected.len().min(10)]
    );
    assert!(
        adds > 0 && already > 0,
        "{kind:?}: the adds did not collide"
    );
    assert!(conflicts > 0, "{kind:?}: no update ever conflicted");

    // ------------------------------------------------------------ the database itself
    let users = rows(
        &fx,
        "SELECT login, email, first_name, city, comments FROM customer_user",
        5,
    )
    .await;
    let mut by_login: HashMap<String, &Vec<Option<String>>> = HashMap::new();
    let mut emails = HashSet::new();
    for u in &users {
        let l = text(&u[0]).to_lowercase();
        assert!(
            by_login.insert(l.clone(), u).is_none(),
            "{kind:?}: login {l} twice"
        );
        let e = text(&u[1]).to_lowercase();
        assert!(emails.insert(e.clone()), "{kind:?}: email {e} twice");
    }

    let mut added: HashMap<String, AddAck> = HashMap::new();
    for a in logs.iter().flat_map(|l| &l.adds) {
        let key = a.login.to_lowercase();
        assert!(
            !added.contains_key(&key),
            "{kind:?}: two adds of {key} acknowledged"
        );
        let row = by_login
            .get(&key)
            .unwrap_or_else(|| panic!("{kind:?}: acknowledged add of {} missing", a.login));
        assert_eq!(
            text(&row[0]),
            a.login,
            "{kind:?}: the login was stored as added"
        );
        added.insert(key, a.clone());
    }
    assert_eq!(users.len(), added.len(), "{kind:?}: users nobody added");

    // Updates: group per user, check one winner per version read, then the last value of each
    // field.
    let mut per_user: HashMap<&str, Vec<&UpdateAck>> = HashMap::new();
    for u in logs.iter().flat_map(|l| &l.updates) {
        per_user.entry(u.login.as_str()).or_default().push(u);
    }
    for (login, acks) in &per_user {
        let mut reads = HashSet::new();
        for a in acks {
            assert!(
                reads.insert(a.read),
                "{kind:?}: {login}: two updates from version {:?} both acknowledged (lost update)",
                a.read
            );
        }
    }
    let columns = [
        (keys::EMAIL, 1),
        (keys::FIRST_NAME, 2),
        (keys::CITY, 3),
        (keys::COMMENT, 4),
    ];
    for (login, a) in &added {
        let row = by_login[login.as_str()];
        let acks = per_user.get(login.as_str()).cloned().unwrap_or_default();
        for (field, i) in columns {
            let last = acks
                .iter()
                .filter(|u| u.field == field)
                .max_by_key(|u| u.read)
                .map(|u| u.value.clone());
            let want = match (last, field) {
                (Some(v), _) => Some(v),
                (None, keys::EMAIL) => Some(a.email.clone()),
                (None, keys::FIRST_NAME) => Some(a.first_name.clone()),
                (None, _) => None,
            };
            let have = row[i].clone().filter(|v| !v.is_empty());
            assert_eq!(
                have, want,
                "{kind:?}: {login}: {field} is not the last acknowledged value"
            );
        }
    }

    // Relations.
    let rel = rows(
        &fx,
        "SELECT user_id, customer_id FROM customer_user_customer",
        2,
    )
    .await;
    let mut present = HashSet::new();
    for r in &rel {
        let pair = (text(&r[0]).to_lowercase(), text(&r[1]));
        assert!(
            present.insert(pair.clone()),
            "{kind:?}: relation {pair:?} twice"
        );
    }
    let mut wanted: HashMap<(String, String), BTreeSet<bool>> = HashMap::new();
    for (l, c, on) in logs.iter().flat_map(|l| &l.relations) {
        wanted
            .entry((l.clone(), c.clone()))
            .or_default()
            .insert(*on);
    }
    for pair in &present {
        assert!(
            wanted.get(pair).is_some_and(|s| s.contains(&true)),
            "{kind:?}: relation {pair:?} nobody made"
        );
    }
    for (pair, states) in &wanted {
        if states.len() == 1 {
            let on = states.contains(&true);
            assert_eq!(
                present.contains(pair),
                on,
                "{kind:?}: relation {pair:?} is not as acknowledged"
            );
        }
    }

    // Grants.
    let grant_rows = rows(
        &fx,
        "SELECT user_id, CAST(group_id AS CHAR(20)), permission_key FROM group_customer_user \
         WHERE permission_value = 1",
        3,
    )
    .await;
    let mut sets: HashMap<(String, String), Vec<String>> = HashMap::new();
    let mut seen_rows = HashSet::new();
    for r in &grant_rows {
        let (l, g, p) = (
            text(&r[0]).to_lowercase(),
            text(&r[1]).trim().to_owned(),
            text(&r[2]),
        );
        assert!(
            seen_rows.insert((l.clone(), g.clone(), p.clone())),
            "{kind:?}: grant row {l} {g} {p} twice"
        );
        let group = group_ids
            .get(&g)
            .unwrap_or_else(|| panic!("unknown group id {g}"));
        sets.entry((l, group.clone())).or_default().push(p);
    }
    let mut acked: HashMap<(String, String), Vec<Vec<String>>> = HashMap::new();
    for (l, g, set) in logs.iter().flat_map(|l| &l.grants) {
        acked
            .entry((l.clone(), g.clone()))
            .or_default()
            .push(set.clone());
    }
    for (pair, choices) in &acked {
        let mut have = sets.remove(pair).unwrap_or_default();
        have.sort();
        assert!(
            choices.contains(&have),
            "{kind:?}: grant {pair:?} is {have:?}, not one of the acknowledged sets"
        );
    }
    assert!(
        sets.is_empty(),
        "{kind:?}: grants nobody made: {:?}",
        sets.keys().collect::<Vec<_>>()
    );

    println!(
        "concurrency {kind:?}: invariants hold over {} users, {} relation rows, {} grant rows",
        users.len(),
        rel.len(),
        grant_rows.len()
    );
    drop(shared);
    drop(db);
    fx.finish().await;
}

#[cfg(any(feature = "postgres", feature = "mysql"))]
const SERVER_LOAD: Load = Load {
    tasks: 8,
    ops: 2_000,
    logins: 600,
    emails: 900,
    seed: 0x5eed_0001,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_writers_on_sqlite() {
    run(
        Kind::SqliteFile,
        Load {
            tasks: 4,
            ops: 300,
            logins: 120,
            emails: 180,
            seed: 0x5eed_0002,
        },
    )
    .await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn mixed_writers_on_postgres() {
    run(Kind::Postgres, SERVER_LOAD).await;
}

#[cfg(feature = "mysql")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs MariaDB: run scripts/test.sh"]
async fn mixed_writers_on_mariadb() {
    run(Kind::MySql, SERVER_LOAD).await;
}
