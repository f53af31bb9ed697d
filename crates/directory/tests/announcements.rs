//! Every public write of the Directory is announced on its change feed, so other instances
//! over the same store never keep serving what it changed. Table-driven: one row per write,
//! each run on a fresh seeded Directory whose feed records what it is told. (The reads are left
//! out: they announce nothing.)

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use clientele_backend::changes::{Change, ChangeFeed, Delivery};
use clientele_backend::{InMemoryBackend, Result};
use clientele_directory::{Directory, DirectoryConfig, Source};
use clientele_model::{
    CustomerCompanyChanges, CustomerUserChanges, NewCustomerCompany, NewCustomerUser, Password,
    Validity, keys,
};
use clientele_password::{Argon2Params, PasswordConfig};

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

/// The public writes, one row each.
#[derive(Clone, Copy, Debug)]
enum Write {
    AddCustomerUser,
    UpdateCustomerUser,
    SetValidity,
    InvalidateCustomerUser,
    SetPassword,
    AuthenticateSuccess,
    AuthenticateFailure,
    ImportCustomerUsers,
    AddCompany,
    UpdateCompany,
    RelateCompany,
    AddGroup,
    SetGroupValidity,
    GrantUser,
    GrantCompany,
    AddUserPermissions,
    RemoveUserPermissions,
    AddCompanyPermissions,
    RemoveCompanyPermissions,
    AddService,
    AssignService,
    SetDefaultService,
    SetPreference,
    DeletePreference,
    GenerateToken,
    CheckToken,
}

const WRITES: [Write; 26] = [
    Write::AddCustomerUser,
    Write::UpdateCustomerUser,
    Write::SetValidity,
    Write::InvalidateCustomerUser,
    Write::SetPassword,
    Write::AuthenticateSuccess,
    Write::AuthenticateFailure,
    Write::ImportCustomerUsers,
    Write::AddCompany,
    Write::UpdateCompany,
    Write::RelateCompany,
    Write::AddGroup,
    Write::SetGroupValidity,
    Write::GrantUser,
    Write::GrantCompany,
    Write::AddUserPermissions,
    Write::RemoveUserPermissions,
    Write::AddCompanyPermissions,
    Write::RemoveCompanyPermissions,
    Write::AddService,
    Write::AssignService,
    Write::SetDefaultService,
    Write::SetPreference,
    Write::DeletePreference,
    Write::GenerateToken,
    Write::CheckToken,
];

const PASSWORD: &str = "Seeded-Secret-1";

/// A Directory over one in-memory store with a recording feed, seeded with companies ACME and
/// GLOBEX, the user `jdoe` (password [`PASSWORD`], preference `UserLanguage`), the group
/// `billing` and the service `hardware`; the feed is emptied after seeding.
async fn seeded() -> (Directory, Arc<Recorder>) {
    let store = Arc::new(InMemoryBackend::new());
    let feed = Arc::new(Recorder::default());
    let mut config = DirectoryConfig {
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
    config.permissions.customer_group_support = true;
    let dir = Directory::builder()
        .source(Source::writable(store.clone()).with_bulk_writer(store.clone()))
        .company_store(store.clone())
        .relation_store(store.clone())
        .preference_store(store.clone())
        .change_feed(feed.clone())
        .config(config)
        .build()
        .unwrap();
    for (id, name) in [("ACME", "Acme"), ("GLOBEX", "Globex")] {
        dir.add_company(NewCustomerCompany::new(id, name), "1")
            .await
            .unwrap();
    }
    dir.add_customer_user(
        NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.test", "ACME")
            .password(PASSWORD),
        "1",
    )
    .await
    .unwrap();
    dir.set_preference("jdoe", "UserLanguage", "de")
        .await
        .unwrap();
    dir.add_group("billing", "1").await.unwrap();
    dir.add_service("hardware", "1").await.unwrap();
    feed.take();
    (dir, feed)
}

async fn run(dir: &Directory, feed: &Recorder, write: Write) -> clientele_directory::Result<()> {
    let new = |login: &str| {
        NewCustomerUser::new(login, "N", "U", &format!("{login}@acme-corp.test"), "ACME")
    };
    match write {
        Write::AddCustomerUser => dir.add_customer_user(new("ann"), "1").await.map(drop),
        Write::UpdateCustomerUser => dir
            .update_customer_user(
                "jdoe",
                CustomerUserChanges::new().set(keys::PHONE, "+49 1"),
                "1",
            )
            .await
            .map(drop),
        Write::SetValidity => dir
            .set_validity("jdoe", Validity::InvalidTemporarily, "1")
            .await
            .map(drop),
        Write::InvalidateCustomerUser => dir.invalidate_customer_user("jdoe", "1").await.map(drop),
        Write::SetPassword => {
            dir.set_password("jdoe", &Password::new("Other-Secret-2"))
                .await
        }
        Write::AuthenticateSuccess => dir
            .authenticate("jdoe", &Password::new(PASSWORD))
            .await
            .map(drop),
        Write::AuthenticateFailure => {
            let refused = dir.authenticate("jdoe", &Password::new("wrong")).await;
            assert!(refused.is_err());
            Ok(())
        }
        Write::ImportCustomerUsers => {
            let report = dir
                .import_customer_users(vec![new("imp1"), new("imp2")], "1")
                .await?;
            assert_eq!(report.inserted, 2, "{report:?}");
            Ok(())
        }
        Write::AddCompany => dir
            .add_company(NewCustomerCompany::new("INITECH", "Initech"), "1")
            .await
            .map(drop),
        Write::UpdateCompany => dir
            .update_company(
                "ACME",
                CustomerCompanyChanges::new().set(keys::COMPANY_CITY, "Berlin"),
                "1",
            )
            .await
            .map(drop),
        Write::RelateCompany => dir.relate_company("jdoe", "GLOBEX", true, "1").await,
        Write::AddGroup => dir.add_group("support", "1").await.map(drop),
        Write::SetGroupValidity => dir.set_group_validity("billing", Validity::Invalid).await,
        Write::GrantUser => dir.grant_user("jdoe", "billing", &["ro"], "1").await,
        Write::GrantCompany => {
            dir.grant_company("ACME", "billing", "Ticket::CustomerID::Same", &["rw"], "1")
                .await
        }
        Write::AddUserPermissions => {
            dir.add_user_permissions("jdoe", "billing", &["ro"], "1")
                .await
        }
        Write::RemoveUserPermissions => {
            dir.remove_user_permissions("jdoe", "billing", &["ro"], "1")
                .await
        }
        Write::AddCompanyPermissions => {
            dir.add_company_permissions("ACME", "billing", "Ticket::CustomerID::Same", &["ro"], "1")
                .await
        }
        Write::RemoveCompanyPermissions => {
            dir.remove_company_permissions(
                "ACME",
                "billing",
                "Ticket::CustomerID::Same",
                &["ro"],
                "1",
            )
            .await
        }
        Write::AddService => dir.add_service("software", "1").await.map(drop),
        Write::AssignService => dir.assign_service("jdoe", "hardware", true, "1").await,
        Write::SetDefaultService => dir.set_default_service("hardware", true, "1").await,
        Write::SetPreference => dir.set_preference("jdoe", "UserTheme", "dark").await,
        Write::DeletePreference => dir.delete_preference("jdoe", "UserLanguage").await,
        Write::GenerateToken => dir.generate_token("jdoe").await.map(drop),
        Write::CheckToken => {
            // The token's own generation announces too: count only what the check adds.
            let token = dir.generate_token("jdoe").await?;
            feed.take();
            assert!(dir.check_token("jdoe", token.expose()).await?);
            Ok(())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_public_write_is_announced() {
    let mut silent = Vec::new();
    for write in WRITES {
        let (dir, feed) = seeded().await;
        run(&dir, &feed, write)
            .await
            .unwrap_or_else(|e| panic!("{write:?} failed: {e}"));
        if feed.take().is_empty() {
            silent.push(write);
        }
    }
    assert!(
        silent.is_empty(),
        "writes that announced nothing: {silent:?}"
    );
}

#[tokio::test]
async fn a_failed_check_of_a_token_writes_and_announces_nothing() {
    let (dir, feed) = seeded().await;
    dir.generate_token("jdoe").await.unwrap();
    feed.take();
    assert!(!dir.check_token("jdoe", "not-the-token").await.unwrap());
    assert!(feed.take().is_empty());
}
