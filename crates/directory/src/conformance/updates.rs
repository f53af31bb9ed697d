//! Updates, renames, validity, conflicts, password changes and concurrent adds.

use super::*;
use crate::conformance::case;

/// Update changes the given attributes and keeps the others; clearing works with `""`.
pub async fn update_changes_only_what_is_given(dir: &Directory) {
    seed_companies(dir).await;
    dir.add_customer_user(
        NewCustomerUser::new("upd", "Old", "Name", &mail("upd"), "ACME")
            .with(keys::PHONE, "123")
            .with(keys::CITY, "Bonn"),
        BY,
    )
    .await
    .expect("add");
    let changes = CustomerUserChanges::new()
        .set(keys::FIRST_NAME, "New")
        .set(keys::PHONE, "");
    let u = dir
        .update_customer_user("UPD", changes, BY)
        .await
        .expect("update");
    assert_eq!(u.first_name, "New");
    assert_eq!(u.last_name, "Name");
    assert_eq!(u.phone, None);
    assert_eq!(u.city.as_deref(), Some("Bonn"));
    let again = dir
        .customer_user("upd")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(again, u, "the cache serves the updated record");
    assert_field(
        dir.update_customer_user(
            "upd",
            CustomerUserChanges::new().set(keys::EMAIL, "bad"),
            BY,
        )
        .await,
        keys::EMAIL,
    );
    assert_field(
        dir.update_customer_user(
            "upd",
            CustomerUserChanges::new().set(keys::CUSTOMER_ID, "NOPE"),
            BY,
        )
        .await,
        keys::CUSTOMER_ID,
    );
}
case!(update_changes_only_what_is_given);

/// Updating a user that does not exist is an error (SPEC §6.8).
pub async fn update_missing_user_is_not_found(dir: &Directory) {
    seed_companies(dir).await;
    match dir
        .update_customer_user("ghost", CustomerUserChanges::new().set(keys::CITY, "X"), BY)
        .await
    {
        Err(Error::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    match dir.set_password("ghost", &Password::new("x")).await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}
case!(update_missing_user_is_not_found);

/// A rename moves the user, its preferences and relations; a taken login is refused.
pub async fn rename(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "before", "R", "N", "ACME").await;
    add(dir, "taken", "T", "K", "ACME").await;
    dir.set_preference("before", "UserLanguage", "de")
        .await
        .expect("pref");
    dir.relate_company("before", "GLOBEX", true, BY)
        .await
        .expect("relate");
    assert_exists(
        dir.update_customer_user(
            "before",
            CustomerUserChanges::new().set(keys::LOGIN, "TAKEN"),
            BY,
        )
        .await,
        keys::LOGIN,
    );
    let u = dir
        .update_customer_user(
            "before",
            CustomerUserChanges::new().set(keys::LOGIN, "after"),
            BY,
        )
        .await
        .expect("rename");
    assert_eq!(u.login, "after");
    assert!(dir.customer_user("before").await.expect("get").is_none());
    assert_eq!(
        dir.preferences("after")
            .await
            .expect("prefs")
            .get("UserLanguage")
            .map(String::as_str),
        Some("de")
    );
    let ids: Vec<String> = dir
        .customer_ids("after")
        .await
        .expect("ids")
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    assert_eq!(ids, ["ACME", "GLOBEX"]);
    let u = dir
        .update_customer_user(
            "after",
            CustomerUserChanges::new().set(keys::LOGIN, "AFTER"),
            BY,
        )
        .await
        .expect("case-only rename");
    assert_eq!(u.login, "AFTER");
}
case!(rename);

/// Users are invalidated, never deleted: still readable, gone from default searches.
pub async fn invalidate_instead_of_delete(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "leaver", "L", "V", "ACME").await;
    let u = dir
        .invalidate_customer_user("leaver", BY)
        .await
        .expect("invalidate");
    assert_eq!(u.validity, Validity::Invalid);
    assert_eq!(
        dir.customer_user("leaver")
            .await
            .expect("get")
            .expect("still there")
            .validity,
        Validity::Invalid
    );
    assert!(
        logins(dir, CustomerUserSearch::login("leaver"))
            .await
            .is_empty()
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::login("leaver").include_invalid()).await,
        ["leaver"]
    );
}
case!(invalidate_instead_of_delete);

/// An update based on a stale read gets `Conflict`, never a silent overwrite.
pub async fn stale_update_conflicts(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "race", "R", "C", "ACME").await;
    let read = dir
        .customer_user("race")
        .await
        .expect("get")
        .expect("present");
    dir.update_customer_user_checked(
        &read,
        CustomerUserChanges::new().set(keys::CITY, "First"),
        "2",
    )
    .await
    .expect("first writer wins");
    match dir
        .update_customer_user_checked(
            &read,
            CustomerUserChanges::new().set(keys::CITY, "Second"),
            "3",
        )
        .await
    {
        Err(Error::Conflict { login }) => assert_eq!(login, "race"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(
        dir.customer_user("race")
            .await
            .expect("get")
            .expect("present")
            .city
            .as_deref(),
        Some("First")
    );
}
case!(stale_update_conflicts);

/// `set_password` replaces the password; the old one stops working.
pub async fn set_password(dir: &Directory) {
    seed_companies(dir).await;
    dir.add_customer_user(
        NewCustomerUser::new("pwd", "P", "W", &mail("pwd"), "ACME").password("old-one"),
        BY,
    )
    .await
    .expect("add");
    dir.set_password("pwd", &Password::new("new-one ✓"))
        .await
        .expect("set");
    assert!(
        dir.authenticate("pwd", &Password::new("old-one"))
            .await
            .is_err()
    );
    dir.authenticate("pwd", &Password::new("new-one ✓"))
        .await
        .expect("new works");
    assert_field(
        dir.set_password("pwd", &Password::new("")).await,
        keys::PASSWORD,
    );
}
case!(set_password);

/// Concurrent adds of one login: exactly one succeeds, the rest get `AlreadyExists`.
pub async fn concurrent_adds_one_winner(dir: &Directory) {
    seed_companies(dir).await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let d = dir.clone();
        tasks.push(tokio::spawn(async move {
            d.add_customer_user(
                NewCustomerUser::new("same", "S", "M", &mail(&format!("same{i}")), "ACME")
                    .password("p"),
                BY,
            )
            .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(_) => ok += 1,
            Err(Error::AlreadyExists { .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(ok, 1, "exactly one concurrent add may win");
}
case!(concurrent_adds_one_winner);
