//! `[password_policy]`: new passwords checked on add, update, password change and import, and
//! a user set `invalid-temporarily` after `max_login_failed` failed logins in a row.

use std::sync::Arc;

use clientele_directory::{Directory, DirectoryConfig, Error, PREF_LOGIN_FAILED};
use clientele_model::{
    CustomerUserChanges, NewCustomerCompany, NewCustomerUser, Password, PasswordPolicy,
    PasswordRule, ValidationError, Validity,
};
use clientele_password::{Argon2Params, PasswordConfig};

fn policy() -> PasswordPolicy {
    PasswordPolicy {
        min_size: 10,
        min_2_lower_2_upper_characters: true,
        min_2_characters: true,
        need_digit: true,
        max_login_failed: 3,
    }
}

async fn directory(policy: PasswordPolicy) -> Directory {
    let config = DirectoryConfig {
        passwords: PasswordConfig {
            argon2: Argon2Params {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            ..PasswordConfig::default()
        },
        password_policy: policy,
        ..DirectoryConfig::default()
    };
    let store = Arc::new(clientele_directory::InMemoryBackend::new());
    let dir = Directory::in_memory_with(store, config).unwrap();
    dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "admin")
        .await
        .unwrap();
    dir
}

fn jdoe() -> NewCustomerUser {
    NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME")
}

fn broken_rule(e: Error) -> PasswordRule {
    match e {
        Error::Invalid(ValidationError::PasswordPolicy { field, rule, .. }) => {
            assert_eq!(field, "UserPassword");
            rule
        }
        other => panic!("expected a password-policy error, got {other:?}"),
    }
}

#[tokio::test]
async fn weak_passwords_are_refused_naming_the_rule() {
    let dir = directory(policy()).await;
    let cases = [
        ("Sh0rtPw", PasswordRule::MinSize { min: 10 }),
        ("alllower12345", PasswordRule::TwoLowerTwoUpper),
        ("NoDigitsHereAtAll", PasswordRule::Digit),
    ];
    for (weak, rule) in cases {
        let e = dir
            .add_customer_user(jdoe().password(weak), "admin")
            .await
            .unwrap_err();
        assert_eq!(broken_rule(e), rule, "{weak}");
        assert!(
            !format!("{rule:?}").contains(weak),
            "the error never shows the password"
        );
    }
    assert!(dir.customer_user("jdoe").await.unwrap().is_none());

    dir.add_customer_user(jdoe().password("GoodPassw0rd"), "admin")
        .await
        .unwrap();
    let e = dir
        .set_password("jdoe", &Password::new("weak"))
        .await
        .unwrap_err();
    assert_eq!(broken_rule(e), PasswordRule::MinSize { min: 10 });
    let e = dir
        .update_customer_user(
            "jdoe",
            CustomerUserChanges::new().password("alllower12345"),
            "admin",
        )
        .await
        .unwrap_err();
    assert_eq!(broken_rule(e), PasswordRule::TwoLowerTwoUpper);
    // The old password still works: nothing was changed.
    dir.authenticate("jdoe", &Password::new("GoodPassw0rd"))
        .await
        .unwrap();
    dir.set_password("jdoe", &Password::new("BetterPassw0rd"))
        .await
        .unwrap();

    let report = dir
        .import_customer_users(
            vec![
                NewCustomerUser::new("ann", "Ann", "A", "ann@acme-corp.com", "ACME")
                    .password("weakling"),
                NewCustomerUser::new("bob", "Bob", "B", "bob@acme-corp.com", "ACME")
                    .password("StrongPassw0rd"),
            ],
            "admin",
        )
        .await
        .unwrap();
    assert_eq!(report.inserted, 1);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].index, 0);
}

#[tokio::test]
async fn generated_passwords_meet_the_policy() {
    let dir = directory(policy()).await;
    for i in 0..20 {
        let added = dir
            .add_customer_user(
                NewCustomerUser::new(
                    &format!("u{i}"),
                    "U",
                    "Ser",
                    &format!("u{i}@acme-corp.com"),
                    "ACME",
                ),
                "admin",
            )
            .await
            .unwrap();
        let generated = added.generated_password.expect("a generated password");
        assert!(policy().check(&generated).is_ok());
    }
    let short = PasswordPolicy {
        min_size: 40,
        ..PasswordPolicy::default()
    };
    let dir = directory(short).await;
    let e = dir.add_customer_user(jdoe(), "admin").await.unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.contains("generated_length")),
        "{e}"
    );
}

#[tokio::test]
async fn too_many_failed_logins_make_the_user_invalid_temporarily() {
    let dir = directory(policy()).await;
    dir.add_customer_user(jdoe().password("GoodPassw0rd"), "admin")
        .await
        .unwrap();
    let wrong = Password::new("wrong");
    let right = Password::new("GoodPassw0rd");

    // A success resets the counter: two failures, a success, two failures stay below 3.
    for _ in 0..2 {
        assert!(dir.authenticate("jdoe", &wrong).await.is_err());
    }
    dir.authenticate("jdoe", &right).await.unwrap();
    for _ in 0..2 {
        assert!(dir.authenticate("jdoe", &wrong).await.is_err());
    }
    let user = dir.customer_user("jdoe").await.unwrap().unwrap();
    assert_eq!(user.validity, Validity::Valid);
    assert_eq!(
        dir.preferences("jdoe").await.unwrap()[PREF_LOGIN_FAILED],
        "2"
    );

    // The third failure in a row locks the user; the lock is the validity.
    assert!(matches!(
        dir.authenticate("jdoe", &wrong).await,
        Err(Error::AuthenticationFailed)
    ));
    let user = dir.customer_user("jdoe").await.unwrap().unwrap();
    assert_eq!(user.validity, Validity::InvalidTemporarily);
    assert_eq!(
        dir.preferences("jdoe").await.unwrap()[PREF_LOGIN_FAILED],
        "0"
    );
    assert!(matches!(
        dir.authenticate("jdoe", &right).await,
        Err(Error::AuthenticationFailed)
    ));

    // Set valid again, the user has the whole number of attempts again.
    dir.set_validity("jdoe", Validity::Valid, "admin")
        .await
        .unwrap();
    assert!(dir.authenticate("jdoe", &wrong).await.is_err());
    dir.authenticate("jdoe", &right).await.unwrap();
    let user = dir.customer_user("jdoe").await.unwrap().unwrap();
    assert_eq!(user.validity, Validity::Valid);
}

#[tokio::test]
async fn without_a_policy_nothing_is_refused_or_locked() {
    let dir = directory(PasswordPolicy::default()).await;
    dir.add_customer_user(jdoe().password("x"), "admin")
        .await
        .unwrap();
    for _ in 0..10 {
        assert!(
            dir.authenticate("jdoe", &Password::new("wrong"))
                .await
                .is_err()
        );
    }
    let user = dir.customer_user("jdoe").await.unwrap().unwrap();
    assert_eq!(user.validity, Validity::Valid);
    assert_eq!(
        dir.preferences("jdoe").await.unwrap()[PREF_LOGIN_FAILED],
        "10"
    );
    dir.authenticate("jdoe", &Password::new("x")).await.unwrap();
}
