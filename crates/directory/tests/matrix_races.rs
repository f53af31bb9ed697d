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
