//! Two Directories over one store: A writes, B hears A's announcements and reloads just the
//! rows they name into its permission matrix. After any sequence of grant, revoke, group,
//! company and rename writes on A, B answers every `has_permission` exactly as a Directory
//! freshly built over the same store does — without rebuilding its matrix, except where a
//! patch cannot express the change (a renamed group).
//!
//! The property test hands A's announcements to B through `Directory::apply_change_async`,
//! the call the follower task makes for each change it receives; the last test goes through
//! `follow_changes` and a feed that connects the two instances.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use clientele_backend::changes::{Change, ChangeFeed, Delivery};
use clientele_backend::{CatalogChanges, InMemoryBackend, Result};
use clientele_directory::{Directory, DirectoryConfig, Source};
use clientele_model::{CustomerUserChanges, NewCustomerCompany, NewCustomerUser, Validity, keys};
use clientele_permissions::{PermissionConfig, PermissionTypes};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tokio::sync::mpsc;

const SAME: &str = "Ticket::CustomerID::Same";
const OTHER: &str = "Ticket::CustomerID::Other";
const TYPES: [&str; 3] = ["ro", "move_into", "rw"];
const COMPANIES: [&str; 3] = ["ACME", "GLOBEX", "BETA"];
const USERS: usize = 3;
const GROUPS: usize = 4;

/// A feed that keeps what it is told and delivers nothing.
#[derive(Default)]
struct Recorder(Mutex<Vec<Change>>);

impl Recorder {
    fn take(&self) -> Vec<Change> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[async_trait]
impl ChangeFeed for Recorder {
    async fn publish(&self, change: &Change) -> Result<()> {
        self.0.lock().unwrap().push(change.clone());
        Ok(())
    }
    async fn next(&self) -> Result<Delivery> {
        std::future::pending().await
    }
}

fn config() -> DirectoryConfig {
    DirectoryConfig {
        permissions: PermissionConfig {
            customer_group_support: true,
            other_customers_context: true,
            permission_types: PermissionTypes::new(TYPES).unwrap(),
            ..Default::default()
        },
        ..Default::default()
    }
}

fn directory(store: &Arc<InMemoryBackend>, feed: Option<Arc<dyn ChangeFeed>>) -> Directory {
    let mut b = Directory::builder()
        .source(Source::writable(store.clone()).with_bulk_writer(store.clone()))
        .company_store(store.clone())
        .relation_store(store.clone())
        .preference_store(store.clone())
        .config(config());
    if let Some(feed) = feed {
        b = b.change_feed(feed);
    }
    b.build().unwrap()
}

/// One write through A.
#[derive(Clone, Debug)]
enum Op {
    /// Replace (0), add (1) or remove (2) types of a user's set on a group.
    User(u8, usize, usize, Vec<&'static str>),
    /// The same for a company's set in the "same" (`true`) or "other" context.
    Company(u8, usize, usize, bool, Vec<&'static str>),
    GroupValidity(usize, bool),
    AddGroup,
    RenameGroup(usize),
    CompanyValidity(usize, bool),
    Relate(usize, usize, bool),
    RenameUser(usize),
}

fn types() -> impl Strategy<Value = Vec<&'static str>> {
    prop::sample::subsequence(TYPES.to_vec(), 0..=TYPES.len())
}

fn op() -> impl Strategy<Value = Op> {
    let g = 0..GROUPS + 2;
    prop_oneof![
        6 => (0u8..3, 0..USERS, g.clone(), types()).prop_map(|(k, u, g, t)| Op::User(k, u, g, t)),
        4 => (0u8..3, 0..COMPANIES.len(), g.clone(), any::<bool>(), types())
            .prop_map(|(k, c, g, same, t)| Op::Company(k, c, g, same, t)),
        1 => (g.clone(), any::<bool>()).prop_map(|(g, v)| Op::GroupValidity(g, v)),
        1 => Just(Op::AddGroup),
        1 => g.prop_map(Op::RenameGroup),
        1 => (0..COMPANIES.len(), any::<bool>()).prop_map(|(c, v)| Op::CompanyValidity(c, v)),
        1 => (0..USERS, 0..COMPANIES.len(), any::<bool>()).prop_map(|(u, c, a)| Op::Relate(u, c, a)),
        1 => (0..USERS).prop_map(Op::RenameUser),
    ]
}

/// What A and the test know of the store's names.
struct World {
    logins: Vec<String>,
    groups: Vec<String>,
    renames: usize,
    renamed_groups: usize,
    added_groups: usize,
}

async fn seed(a: &Directory) -> World {
    for c in COMPANIES {
        a.add_company(NewCustomerCompany::new(c, c), "t")
            .await
            .unwrap();
    }
    let mut groups = vec!["users".to_owned()];
    groups.extend((1..GROUPS).map(|g| format!("g{g}")));
    for g in &groups {
        a.add_group(g, "t").await.unwrap();
    }
    let logins: Vec<String> = (0..USERS).map(|u| format!("user{u}")).collect();
    for (u, login) in logins.iter().enumerate() {
        let user = NewCustomerUser::new(
            login,
            "F",
            "L",
            &format!("{login}@example.test"),
            COMPANIES[u % COMPANIES.len()],
        );
        a.add_customer_user(user, "t").await.unwrap();
    }
    World {
        logins,
        groups,
        renames: 0,
        renamed_groups: 0,
        added_groups: 0,
    }
}

async fn write(a: &Directory, w: &mut World, op: &Op) {
    let group = |g: usize| w.groups[g % w.groups.len()].clone();
    let change = |k: u8| match k {
        0 => clientele_backend::GrantChange::Replace,
        1 => clientele_backend::GrantChange::Add,
        _ => clientele_backend::GrantChange::Remove,
    };
    let res = match op {
        Op::User(k, u, g, t) => {
            a.change_user_permissions(&w.logins[*u], &group(*g), change(*k), t, "t")
                .await
        }
        Op::Company(k, c, g, same, t) => {
            let ctx = if *same { SAME } else { OTHER };
            a.change_company_permissions(COMPANIES[*c], &group(*g), ctx, change(*k), t, "t")
                .await
        }
        Op::GroupValidity(g, valid) => {
            let v = if *valid {
                Validity::Valid
            } else {
                Validity::Invalid
            };
            a.set_group_validity(&group(*g), v).await
        }
        Op::AddGroup => {
            w.added_groups += 1;
            let name = format!("new{}", w.added_groups);
            let r = a.add_group(&name, "t").await.map(drop);
            w.groups.push(name);
            r
        }
        Op::RenameGroup(g) => {
            let old = group(*g);
            if old == "users" {
                return;
            }
            w.renames += 1;
            let new = format!("{old}r{}", w.renames);
            let r = a
                .update_group(&old, CatalogChanges::new().rename(new.clone()), "t")
                .await
                .map(drop);
            let i = w.groups.iter().position(|n| *n == old).unwrap();
            w.groups[i] = new;
            w.renamed_groups += 1;
            r
        }
        Op::CompanyValidity(c, valid) => {
            let v = if *valid {
                Validity::Valid
            } else {
                Validity::Invalid
            };
            a.set_company_validity(COMPANIES[*c], v, "t")
                .await
                .map(drop)
        }
        Op::Relate(u, c, active) => {
            a.relate_company(&w.logins[*u], COMPANIES[*c], *active, "t")
                .await
        }
        Op::RenameUser(u) => {
            w.renames += 1;
            let new = format!("user{u}r{}", w.renames);
            let r = a
                .update_customer_user(
                    &w.logins[*u],
                    CustomerUserChanges::new().set(keys::LOGIN, new.clone()),
                    "t",
                )
                .await
                .map(drop);
            w.logins[*u] = new;
            r
        }
    };
    res.unwrap_or_else(|e| panic!("{op:?}: {e}"));
}

/// B answers every (user, group, type) as a Directory built afresh over the store.
async fn same_answers(
    b: &Directory,
    store: &Arc<InMemoryBackend>,
    w: &World,
    after: &str,
) -> std::result::Result<(), TestCaseError> {
    let fresh = directory(store, None);
    for login in &w.logins {
        for group in &w.groups {
            for ty in TYPES {
                let want = fresh.has_permission(login, group, ty).await.unwrap();
                let got = b.has_permission(login, group, ty).await;
                prop_assert_eq!(
                    got.as_ref().ok(),
                    Some(&want),
                    "{} on {} for {} after {}: {:?}",
                    ty,
                    group,
                    login,
                    after,
                    got
                );
            }
        }
    }
    Ok(())
}

async fn check(ops: Vec<Op>) -> std::result::Result<(), TestCaseError> {
    let store = Arc::new(InMemoryBackend::new());
    let feed = Arc::new(Recorder::default());
    let a = directory(&store, Some(feed.clone()));
    let b = directory(&store, None);
    let mut w = seed(&a).await;
    feed.take();
    // B builds its matrix once.
    same_answers(&b, &store, &w, "seeding").await?;
    prop_assert_eq!(b.permission_matrix_stats().builds, 1);
    for op in &ops {
        write(&a, &mut w, op).await;
        for change in feed.take() {
            prop_assert!(
                !matches!(change, Change::Permissions),
                "{:?} announced the whole matrix",
                op
            );
            b.apply_change_async(&change).await;
        }
        same_answers(&b, &store, &w, &format!("{op:?}")).await?;
    }
    // One build at the start, and one after each renamed group (the only write a patch
    // cannot express); every other change was a reload of a few rows.
    let stats = b.permission_matrix_stats();
    prop_assert_eq!(stats.builds, 1 + w.renamed_groups as u64, "{:?}", stats);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn b_answers_like_a_fresh_directory(ops in prop::collection::vec(op(), 1..24)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(check(ops))?;
    }
}

#[tokio::test]
async fn a_single_grant_is_a_row_reload_not_a_rebuild() {
    let store = Arc::new(InMemoryBackend::new());
    let feed = Arc::new(Recorder::default());
    let a = directory(&store, Some(feed.clone()));
    let b = directory(&store, None);
    seed(&a).await;
    a.grant_company("ACME", "g1", SAME, &["ro"], "t")
        .await
        .unwrap();
    feed.take();
    assert!(!b.has_permission("user0", "g2", "ro").await.unwrap());
    assert!(b.has_permission("user0", "g1", "ro").await.unwrap());
    let before = b.permission_matrix_stats();
    assert_eq!(before.builds, 1);

    a.grant_user("user0", "g2", &["rw"], "t").await.unwrap();
    a.remove_company_permissions("ACME", "g1", SAME, &["ro"], "t")
        .await
        .unwrap();
    let announced = feed.take();
    assert_eq!(
        announced,
        vec![
            Change::UserGrants {
                login: "user0".into()
            },
            Change::CompanyGrants {
                customer_id: "ACME".into()
            }
        ]
    );
    for c in &announced {
        b.apply_change_async(c).await;
    }
    assert!(b.has_permission("user0", "g2", "ro").await.unwrap());
    assert!(!b.has_permission("user0", "g1", "ro").await.unwrap());
    let after = b.permission_matrix_stats();
    assert_eq!(after.builds, 1, "B rebuilt its matrix: {after:?}");
    assert_eq!(after.row_reloads, before.row_reloads + 2);

    // The sync path cannot wait for the store: it still drops the matrix.
    b.apply_change(&Change::UserGrants {
        login: "user0".into(),
    });
    assert!(b.has_permission("user0", "g2", "rw").await.unwrap());
    assert_eq!(b.permission_matrix_stats().builds, 2);
}

/// A feed between two instances: what one publishes, the other receives.
struct Link {
    to_peer: mpsc::UnboundedSender<Change>,
    inbox: tokio::sync::Mutex<mpsc::UnboundedReceiver<Change>>,
}

fn link() -> (Arc<Link>, Arc<Link>) {
    let (to_b, from_a) = mpsc::unbounded_channel();
    let (to_a, from_b) = mpsc::unbounded_channel();
    let a = Link {
        to_peer: to_b,
        inbox: tokio::sync::Mutex::new(from_b),
    };
    let b = Link {
        to_peer: to_a,
        inbox: tokio::sync::Mutex::new(from_a),
    };
    (Arc::new(a), Arc::new(b))
}

#[async_trait]
impl ChangeFeed for Link {
    async fn publish(&self, change: &Change) -> Result<()> {
        // The peer may be gone; then nobody needs to hear it.
        let _ = self.to_peer.send(change.clone());
        Ok(())
    }
    async fn next(&self) -> Result<Delivery> {
        let mut inbox = self.inbox.lock().await;
        let Some(first) = inbox.recv().await else {
            return std::future::pending().await;
        };
        let mut changes = vec![first];
        while let Ok(c) = inbox.try_recv() {
            changes.push(c);
        }
        Ok(Delivery::Changes(changes))
    }
}

/// Polls B until it answers `want`; panics after 30 s (generous: the machine may be busy).
///
/// A group added on A is unknown to B until A's announcement of it arrives: until then B
/// answers `NotFound` for that group, which counts as "not yet" here, never as the answer.
async fn eventually(b: &Directory, login: &str, group: &str, ty: &str, want: bool) {
    let start = Instant::now();
    let answer = || async {
        match b.has_permission(login, group, ty).await {
            Err(clientele_backend::Error::NotFound {
                entity: clientele_backend::Entity::Group,
                ..
            }) => None,
            other => Some(other.unwrap()),
        }
    };
    loop {
        let got = answer().await;
        if got == Some(want) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{ty} on {group} for {login} never became {want} (last answer: {got:?})"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_follower_reloads_rows_through_the_feed() {
    let store = Arc::new(InMemoryBackend::new());
    let (la, lb) = link();
    let a = directory(&store, Some(la));
    let b = directory(&store, Some(lb.clone()));
    seed(&a).await;
    // B starts after the seeding: what A announced before is not for it (B reads the store
    // as it is on its first check), so B's inbox starts empty.
    while lb.inbox.lock().await.try_recv().is_ok() {}
    b.follow_changes().unwrap();
    // B's matrix exists before the writes it hears of.
    assert!(!b.has_permission("user1", "g3", "ro").await.unwrap());
    let builds = b.permission_matrix_stats().builds;

    a.grant_user("user1", "g3", &["ro"], "t").await.unwrap();
    eventually(&b, "user1", "g3", "ro", true).await;
    a.grant_company("GLOBEX", "g2", SAME, &["rw"], "t")
        .await
        .unwrap();
    eventually(&b, "user1", "g2", "rw", true).await;
    a.set_group_validity("g2", Validity::Invalid).await.unwrap();
    eventually(&b, "user1", "g2", "rw", false).await;
    a.add_group("late", "t").await.unwrap();
    a.grant_user("user1", "late", &["ro"], "t").await.unwrap();
    eventually(&b, "user1", "late", "ro", true).await;
    a.grant_user("user1", "g3", &[], "t").await.unwrap();
    eventually(&b, "user1", "g3", "ro", false).await;

    let stats = b.permission_matrix_stats();
    assert_eq!(stats.builds, builds, "B rebuilt its matrix: {stats:?}");
    assert!(stats.row_reloads >= 5, "{stats:?}");
}
