//! Checks racing the permission matrix being dropped and rebuilt, and users being forgotten.
//!
//! A user's customer ids are loaded into the matrix on the user's first check and the user is
//! then marked current. When the matrix is dropped between fetching it and marking the user,
//! the mark must not carry over to the next matrix: that one would never get the user's ids,
//! and every company grant of the user would stay invisible until the user changes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clientele_backend::InMemoryBackend;
use clientele_backend::changes::Change;
use clientele_directory::{Directory, DirectoryConfig};
use clientele_model::{NewCustomerCompany, NewCustomerUser};

const SAME: &str = "Ticket::CustomerID::Same";

async fn world() -> (Directory, Directory) {
    let store = Arc::new(InMemoryBackend::new());
    let mut config = DirectoryConfig::default();
    config.permissions.customer_group_support = true;
    let writer = Directory::in_memory_with(store.clone(), config.clone()).unwrap();
    writer.add_group("support", "t").await.unwrap();
    writer
        .add_company(NewCustomerCompany::new("ACME", "Acme"), "t")
        .await
        .unwrap();
    writer
        .add_customer_user(
            NewCustomerUser::new("jdoe", "J", "Doe", "jdoe@example.test", "ACME"),
            "t",
        )
        .await
        .unwrap();
    // Only through the company: the answer depends on the user's customer ids being loaded.
    writer
        .grant_company("ACME", "support", SAME, &["rw"], "t")
        .await
        .unwrap();
    let reader = Directory::in_memory_with(store, config).unwrap();
    (writer, reader)
}

/// Drops the matrix (as a gap in the change feed or a bulk import does) and forgets the user
/// (as another instance's change of the user does) over and over while checks run; every
/// check, and the checks after the churn, must see the company's grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_matrix_never_keeps_a_user_marked_current() {
    for round in 0..20 {
        let (_writer, reader) = world().await;
        let stop = Arc::new(AtomicBool::new(false));
        let churn = {
            let reader = reader.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut k = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if k.is_multiple_of(3) {
                        reader.apply_change(&Change::Relations {
                            login: "jdoe".into(),
                        });
                    } else {
                        reader.apply_change(&Change::Permissions);
                    }
                    k += 1;
                    tokio::task::yield_now().await;
                }
            })
        };
        for check in 0..300 {
            assert!(
                reader
                    .has_permission("jdoe", "support", "rw")
                    .await
                    .unwrap(),
                "round {round}, check {check} during the churn: the company's grant is lost"
            );
        }
        stop.store(true, Ordering::Relaxed);
        churn.await.unwrap();
        for check in 0..3 {
            assert!(
                reader
                    .has_permission("jdoe", "support", "rw")
                    .await
                    .unwrap(),
                "round {round}, check {check} after the churn: the company's grant is lost"
            );
        }
    }
}

/// Grants written while the matrix is being built: the build reads the rows of what changed
/// meanwhile again and keeps its matrix, so the checks after it do not build again, and the
/// kept matrix answers as one built afterwards does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_racing_grant_writes_is_kept_and_current() {
    const USERS: usize = 60;
    const GROUPS: usize = 12;
    const ROUNDS: u64 = 15;
    let store = Arc::new(InMemoryBackend::new());
    let mut config = DirectoryConfig::default();
    config.permissions.customer_group_support = true;
    let dir = Directory::in_memory_with(store.clone(), config.clone()).unwrap();
    for g in 0..GROUPS {
        dir.add_group(&format!("g{g}"), "t").await.unwrap();
    }
    dir.add_company(NewCustomerCompany::new("ACME", "Acme"), "t")
        .await
        .unwrap();
    for u in 0..USERS {
        let login = format!("u{u}");
        let user =
            NewCustomerUser::new(&login, "U", "Ser", &format!("{login}@example.test"), "ACME");
        dir.add_customer_user(user, "t").await.unwrap();
        dir.grant_user(&login, &format!("g{}", u % GROUPS), &["ro"], "t")
            .await
            .unwrap();
    }
    for round in 0..ROUNDS {
        // Drop the matrix, then check while another task writes grants.
        dir.apply_change(&Change::Permissions);
        let builds_before = dir.permission_matrix_stats().builds;
        let writer = {
            let dir = dir.clone();
            tokio::spawn(async move {
                for k in 0..40usize {
                    let n = (round as usize) * 40 + k;
                    let login = format!("u{}", n % USERS);
                    let group = format!("g{}", (n * 7) % GROUPS);
                    let types: &[&str] = if n.is_multiple_of(3) {
                        &["rw"]
                    } else {
                        &["ro"]
                    };
                    if n.is_multiple_of(2) {
                        dir.grant_user(&login, &group, types, "t").await.unwrap();
                    } else {
                        dir.add_user_permissions(&login, &group, types, "t")
                            .await
                            .unwrap();
                    }
                    tokio::task::yield_now().await;
                }
            })
        };
        for k in 0..20 {
            dir.has_permission(&format!("u{}", k % USERS), "g1", "ro")
                .await
                .unwrap();
        }
        writer.await.unwrap();
        let built = dir.permission_matrix_stats().builds - builds_before;
        assert!(
            built <= 2,
            "round {round}: {built} builds for 20 checks; a build racing the writes was not kept"
        );
    }
    // What the kept matrix answers is what a matrix built now answers.
    let fresh = Directory::in_memory_with(store, config).unwrap();
    for u in 0..USERS {
        let login = format!("u{u}");
        for g in 0..GROUPS {
            let group = format!("g{g}");
            for ty in ["ro", "rw"] {
                assert_eq!(
                    dir.has_permission(&login, &group, ty).await.unwrap(),
                    fresh.has_permission(&login, &group, ty).await.unwrap(),
                    "{ty} on {group} for {login}"
                );
            }
        }
    }
}
