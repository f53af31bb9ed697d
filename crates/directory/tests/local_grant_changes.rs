//! Adding or removing types of a grant on this instance patches its permission matrix: the
//! user's or company's grants are read again, and the matrix is not rebuilt.

use std::sync::Arc;

use clientele_backend::InMemoryBackend;
use clientele_directory::{Directory, DirectoryConfig};
use clientele_model::{NewCustomerCompany, NewCustomerUser};

const SAME: &str = "Ticket::CustomerID::Same";

#[tokio::test]
async fn adding_and_removing_types_patches_the_matrix_without_a_rebuild() {
    let mut config = DirectoryConfig::default();
    config.permissions.customer_group_support = true;
    let dir = Directory::in_memory_with(Arc::new(InMemoryBackend::new()), config).unwrap();
    dir.add_group("support", "t").await.unwrap();
    dir.add_group("sales", "t").await.unwrap();
    dir.add_company(NewCustomerCompany::new("ACME", "Acme"), "t")
        .await
        .unwrap();
    let jdoe = NewCustomerUser::new("jdoe", "J", "Doe", "jdoe@example.test", "ACME");
    dir.add_customer_user(jdoe, "t").await.unwrap();
    // The matrix is built by the first check.
    assert!(!dir.has_permission("jdoe", "support", "ro").await.unwrap());
    assert_eq!(dir.permission_matrix_stats().builds, 1);

    dir.add_user_permissions("jdoe", "support", &["ro"], "t")
        .await
        .unwrap();
    assert!(dir.has_permission("jdoe", "support", "ro").await.unwrap());
    assert!(!dir.has_permission("jdoe", "support", "rw").await.unwrap());
    dir.add_user_permissions("jdoe", "support", &["rw"], "t")
        .await
        .unwrap();
    assert!(dir.has_permission("jdoe", "support", "rw").await.unwrap());
    dir.remove_user_permissions("jdoe", "support", &["rw", "ro"], "t")
        .await
        .unwrap();
    assert!(!dir.has_permission("jdoe", "support", "ro").await.unwrap());

    dir.add_company_permissions("ACME", "sales", SAME, &["rw"], "t")
        .await
        .unwrap();
    assert!(dir.has_permission("jdoe", "sales", "rw").await.unwrap());
    dir.remove_company_permissions("ACME", "sales", SAME, &["rw"], "t")
        .await
        .unwrap();
    assert!(!dir.has_permission("jdoe", "sales", "ro").await.unwrap());

    let stats = dir.permission_matrix_stats();
    assert_eq!(stats.builds, 1, "the matrix was rebuilt: {stats:?}");
    assert_eq!(stats.row_reloads, 5, "{stats:?}");
}
