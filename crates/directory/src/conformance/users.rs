//! Adding and reading users, passwords and authentication, and what an add refuses.

use super::*;
use crate::conformance::case;

/// Every standard attribute survives an add and a get unchanged.
pub async fn add_get_round_trip(dir: &Directory) {
    seed_companies(dir).await;
    let new = NewCustomerUser::new("jdoe", "John", "Doe", &mail("john.doe"), "ACME")
        .with(keys::TITLE, "Dr.")
        .with(keys::PHONE, "+49 30 1234-5")
        .with(keys::FAX, "+49 30 1234-6")
        .with(keys::MOBILE, "+49 170 999")
        .with(keys::STREET, "Hauptstraße 1")
        .with(keys::ZIP, "10115")
        .with(keys::CITY, "Berlin")
        .with(keys::COUNTRY, "Germany")
        .with(keys::COMMENT, "first line\nsecond line")
        .password("Secret-1");
    let added = dir.add_customer_user(new, BY).await.expect("add");
    assert_eq!(added.login, "jdoe");
    assert!(
        added.generated_password.is_none(),
        "a given password must not be replaced"
    );
    let u = dir
        .customer_user("jdoe")
        .await
        .expect("get")
        .expect("user present");
    assert_eq!(u.first_name, "John");
    assert_eq!(u.last_name, "Doe");
    assert_eq!(u.email.as_str(), mail("john.doe"));
    assert_eq!(u.customer_id.as_str(), "ACME");
    assert_eq!(u.title.as_deref(), Some("Dr."));
    assert_eq!(u.phone.as_deref(), Some("+49 30 1234-5"));
    assert_eq!(u.fax.as_deref(), Some("+49 30 1234-6"));
    assert_eq!(u.mobile.as_deref(), Some("+49 170 999"));
    assert_eq!(u.street.as_deref(), Some("Hauptstraße 1"));
    assert_eq!(u.zip.as_deref(), Some("10115"));
    assert_eq!(u.city.as_deref(), Some("Berlin"));
    assert_eq!(u.country.as_deref(), Some("Germany"));
    assert_eq!(u.comment.as_deref(), Some("first line\nsecond line"));
    assert_eq!(u.validity, Validity::Valid);
    assert!(
        u.audit.created_at.is_some()
            || u.audit.changed_at.is_some()
            || u.audit == Default::default()
    );
}
case!(add_get_round_trip);

/// Logins with non-Latin scripts, `&`, `_`, `%`, quotes and backslashes are stored exactly.
pub async fn unusual_logins_round_trip(dir: &Directory) {
    seed_companies(dir).await;
    for login in [
        "jürgen.müller",
        "カスタマー",
        "فاطمة",
        "a&b_c",
        "100%_sure",
        "o'brien",
        "back\\slash",
    ] {
        add(dir, login, "Uni", "Code", "ACME").await;
        let u = dir
            .customer_user(login)
            .await
            .expect("get")
            .unwrap_or_else(|| panic!("{login:?} not found"));
        assert_eq!(u.login.as_str(), login);
    }
    assert!(
        dir.customer_user("a&b%c").await.expect("get").is_none(),
        "`%` in a lookup must be literal"
    );
    assert!(dir.customer_user("a&b_").await.expect("get").is_none());
}
case!(unusual_logins_round_trip);

/// Look-up by login ignores case by default (OTOBO `CaseSensitive = 0`).
pub async fn lookup_is_case_insensitive(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "JDoe", "John", "Doe", "ACME").await;
    for variant in ["jdoe", "JDOE", "JDoe", "jDoE"] {
        let u = dir
            .customer_user(variant)
            .await
            .expect("get")
            .unwrap_or_else(|| panic!("{variant} not found"));
        assert_eq!(u.login.as_str(), "JDoe", "the stored spelling is returned");
    }
    assert!(dir.customer_user("jdoe ").await.expect("get").is_none());
    assert!(dir.customer_user("").await.expect("get").is_none());
}
case!(lookup_is_case_insensitive);

/// A blank password is replaced by a generated one (16 characters), returned once, that works.
pub async fn generated_password_on_blank(dir: &Directory) {
    seed_companies(dir).await;
    let added = dir
        .add_customer_user(
            NewCustomerUser::new("gen", "G", "P", &mail("gen"), "ACME"),
            BY,
        )
        .await
        .expect("add");
    let pw = added.generated_password.expect("a generated password");
    assert_eq!(pw.expose().chars().count(), 16);
    assert!(pw.expose().chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(
        dir.authenticate("gen", &pw)
            .await
            .expect("login with generated password"),
        "gen"
    );
    let added = dir
        .add_customer_user(
            NewCustomerUser::new("gen2", "G", "P", &mail("gen2"), "ACME").password(""),
            BY,
        )
        .await
        .expect("add");
    assert!(
        added.generated_password.is_some(),
        "an empty password counts as blank"
    );
}
case!(generated_password_on_blank);

/// A given password authenticates; the login's case follows the lookup rule (SPEC §6.9).
pub async fn given_password_authenticates(dir: &Directory) {
    seed_companies(dir).await;
    dir.add_customer_user(
        NewCustomerUser::new("Alice", "A", "L", &mail("alice"), "ACME").password("Pässwort 1"),
        BY,
    )
    .await
    .expect("add");
    assert_eq!(
        dir.authenticate("Alice", &Password::new("Pässwort 1"))
            .await
            .expect("login"),
        "Alice"
    );
    assert_eq!(
        dir.authenticate("alice", &Password::new("Pässwort 1"))
            .await
            .expect("login lower"),
        "Alice"
    );
}
case!(given_password_authenticates);

/// Unknown user, wrong password and empty password all give the same error.
pub async fn failed_logins_look_alike(dir: &Directory) {
    seed_companies(dir).await;
    dir.add_customer_user(
        NewCustomerUser::new("bob", "B", "B", &mail("bob"), "ACME").password("right"),
        BY,
    )
    .await
    .expect("add");
    for (login, pw) in [
        ("bob", "wrong"),
        ("nobody", "right"),
        ("bob", ""),
        ("", "right"),
        ("bob", "RIGHT"),
    ] {
        match dir.authenticate(login, &Password::new(pw)).await {
            Err(Error::AuthenticationFailed) => {}
            other => panic!("login {login:?}/{pw:?}: expected AuthenticationFailed, got {other:?}"),
        }
    }
    let prefs = dir.preferences("bob").await.expect("prefs");
    assert_eq!(
        prefs.get("UserLoginFailed").map(String::as_str),
        Some("3"),
        "failed logins are counted"
    );
    dir.authenticate("bob", &Password::new("right"))
        .await
        .expect("login");
    let prefs = dir.preferences("bob").await.expect("prefs");
    assert_eq!(prefs.get("UserLoginFailed").map(String::as_str), Some("0"));
    assert!(prefs.contains_key("UserLastLogin"));
}
case!(failed_logins_look_alike);

/// Invalid and invalid-temporarily users cannot log in, with the same error.
pub async fn invalid_users_cannot_log_in(dir: &Directory) {
    seed_companies(dir).await;
    for (login, v) in [
        ("inv", Validity::Invalid),
        ("tmp", Validity::InvalidTemporarily),
    ] {
        dir.add_customer_user(
            NewCustomerUser::new(login, "I", "V", &mail(login), "ACME").password("pw-123"),
            BY,
        )
        .await
        .expect("add");
        dir.set_validity(login, v, BY).await.expect("invalidate");
        assert!(matches!(
            dir.authenticate(login, &Password::new("pw-123")).await,
            Err(Error::AuthenticationFailed)
        ));
        dir.set_validity(login, Validity::Valid, BY)
            .await
            .expect("revalidate");
        dir.authenticate(login, &Password::new("pw-123"))
            .await
            .expect("valid again");
    }
}
case!(invalid_users_cannot_log_in);

/// A second user with the same login — in any case — is refused.
pub async fn duplicate_login_refused(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "dup", "D", "U", "ACME").await;
    let again = NewCustomerUser::new("dup", "X", "Y", &mail("other1"), "ACME");
    assert_exists(dir.add_customer_user(again, BY).await, keys::LOGIN);
    let upper = NewCustomerUser::new("DUP", "X", "Y", &mail("other2"), "ACME");
    assert_exists(dir.add_customer_user(upper, BY).await, keys::LOGIN);
}
case!(duplicate_login_refused);

/// A second user with the same email (ignoring case) is refused, invalid users included.
pub async fn duplicate_email_refused(dir: &Directory) {
    seed_companies(dir).await;
    dir.add_customer_user(
        NewCustomerUser::new("e1", "E", "M", &mail("shared"), "ACME"),
        BY,
    )
    .await
    .expect("add");
    let same = NewCustomerUser::new("e2", "E", "M", &mail("SHARED"), "ACME");
    assert_exists(dir.add_customer_user(same, BY).await, keys::EMAIL);
    dir.invalidate_customer_user("e1", BY)
        .await
        .expect("invalidate");
    let still = NewCustomerUser::new("e3", "E", "M", &mail("shared"), "ACME");
    assert_exists(dir.add_customer_user(still, BY).await, keys::EMAIL);
    assert!(
        dir.customer_user("e2").await.expect("get").is_none(),
        "nothing half-created"
    );
}
case!(duplicate_email_refused);

/// A user whose primary company does not exist is refused, naming `UserCustomerID`.
pub async fn missing_company_refused(dir: &Directory) {
    seed_companies(dir).await;
    let new = NewCustomerUser::new("orphan", "O", "P", &mail("orphan"), "NO-SUCH-COMPANY");
    assert_field(dir.add_customer_user(new, BY).await, keys::CUSTOMER_ID);
    assert!(dir.customer_user("orphan").await.expect("get").is_none());
}
case!(missing_company_refused);

/// Missing required attributes are refused, naming the attribute.
pub async fn required_fields_named(dir: &Directory) {
    seed_companies(dir).await;
    let cases = [
        (
            NewCustomerUser::new("r1", "", "L", &mail("r1"), "ACME"),
            keys::FIRST_NAME,
        ),
        (
            NewCustomerUser::new("r2", "F", "", &mail("r2"), "ACME"),
            keys::LAST_NAME,
        ),
        (
            NewCustomerUser::new("", "F", "L", &mail("r3"), "ACME"),
            keys::LOGIN,
        ),
        (
            NewCustomerUser::new("r4", "F", "L", "", "ACME"),
            keys::EMAIL,
        ),
        (
            NewCustomerUser::new("r5", "F", "L", &mail("r5"), ""),
            keys::CUSTOMER_ID,
        ),
    ];
    for (new, field) in cases {
        assert_field(dir.add_customer_user(new, BY).await, field);
    }
}
case!(required_fields_named);

/// Bad email addresses are refused for valid users, naming `UserEmail`.
pub async fn invalid_email_refused(dir: &Directory) {
    seed_companies(dir).await;
    for bad in [
        "no-at-sign",
        "two@@acme-corp.test",
        "dots..@acme-corp.test",
        "x@example.com",
        "a b@acme-corp.test",
    ] {
        let new = NewCustomerUser::new("mailer", "M", "L", bad, "ACME");
        assert_field(dir.add_customer_user(new, BY).await, keys::EMAIL);
    }
    let quoted = NewCustomerUser::new(
        "quoted",
        "Q",
        "L",
        &format!("\"john doe\"@{DOMAIN}"),
        "ACME",
    );
    dir.add_customer_user(quoted, BY)
        .await
        .expect("a quoted local part is valid");
    let u = dir
        .customer_user("quoted")
        .await
        .expect("get")
        .expect("present");
    assert_eq!(u.email.as_str(), format!("\"john doe\"@{DOMAIN}"));
}
case!(invalid_email_refused);

/// Values longer than the column are refused (never truncated), naming the attribute.
pub async fn overlong_values_refused(dir: &Directory) {
    seed_companies(dir).await;
    let long_name = "x".repeat(101);
    assert_field(
        dir.add_customer_user(
            NewCustomerUser::new("long", &long_name, "L", &mail("long"), "ACME"),
            BY,
        )
        .await,
        keys::FIRST_NAME,
    );
    let long_login = "l".repeat(192);
    assert_field(
        dir.add_customer_user(
            NewCustomerUser::new(&long_login, "F", "L", &mail("long2"), "ACME"),
            BY,
        )
        .await,
        keys::LOGIN,
    );
    let megabyte = "m".repeat(1 << 20);
    assert_field(
        dir.add_customer_user(
            NewCustomerUser::new("mb", "F", "L", &mail("mb"), "ACME").with(keys::CITY, megabyte),
            BY,
        )
        .await,
        keys::CITY,
    );
    let exact = "y".repeat(100);
    add(dir, "exact", &exact, "L", "ACME").await;
    assert_eq!(
        dir.customer_user("exact")
            .await
            .expect("get")
            .expect("present")
            .first_name,
        exact
    );
}
case!(overlong_values_refused);

/// NUL and control characters are refused, naming the attribute.
pub async fn control_characters_refused(dir: &Directory) {
    seed_companies(dir).await;
    assert_field(
        dir.add_customer_user(
            NewCustomerUser::new("nul\0", "F", "L", &mail("nul"), "ACME"),
            BY,
        )
        .await,
        keys::LOGIN,
    );
    assert_field(
        dir.add_customer_user(
            NewCustomerUser::new("nul", "F\0", "L", &mail("nul"), "ACME"),
            BY,
        )
        .await,
        keys::FIRST_NAME,
    );
    match dir
        .add_customer_user(
            NewCustomerUser::new("x", "F", "L", &mail("x"), "ACME").with("UserShoeSize", "44"),
            BY,
        )
        .await
    {
        Err(Error::Invalid(ValidationError::UnknownAttribute { field })) => {
            assert_eq!(field, "UserShoeSize")
        }
        other => panic!("an attribute outside the map must be refused, got {other:?}"),
    }
}
case!(control_characters_refused);
