//! Every trait method of `DbBackend`, run the same way on each database.
//!
//! Each function makes a fresh, migrated database of the given kind and drops it at the end.
//! The per-database test files instantiate them with [`db_tests!`].
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use clientele_backend::{
    CompanyStore, CustomerUserSource, CustomerUserWriter, DEFAULT_SERVICES_LOGIN, Entity, Error,
    Expected, ListedUser, PasswordStore, PreferenceStore, RelationStore,
};
use clientele_db::{DbBackend, DbConfig};
use clientele_model::permission::{GroupId, PermissionContext, PermissionType};
use clientele_model::search::{
    CompanyQuery, DetailSearch, Direction, Expr, FieldCondition, FieldSet, Part, Pattern,
    SearchSyntax, SelectionCondition, UserQuery, parse_term,
};
use clientele_model::{
    AttributeMap, AttributeMapping, CustomerCompany, CustomerUser, EmailCheck, Login,
    NewCustomerCompany, NewCustomerUser, Rules, Validity,
};

use crate::common::{Fixture, Kind, TestDb, test_config};

/// Instantiates every suite function as a `#[tokio::test]` for one database kind.
macro_rules! db_tests {
    ($kind:expr $(, #[$attr:meta])*) => {
        db_tests!(@each $kind, [$(#[$attr])*],
            users_roundtrip, passwords, duplicate_login_and_email, email_check_off, updates,
            read_only_rows_are_kept, search_terms, list_search, search_field_sets, hostile_input,
            case_rule,
            detail_search, detail_search_many_company_ids, customer_id_list, companies,
            user_companies, groups_and_grants, stored_grant_names, services, preferences, extra_attribute_room,
            no_n_plus_one, race_same_login, race_same_email, concurrent_take_preference,
            migrate_twice, audit_actors, user_update_keeps_otobo_row, user_add_writes_otobo_empties,
            company_update_keeps_otobo_row, company_add_writes_otobo_empties,
            empty_text_in_integer_column_reads_as_absent, null_and_empty_read_alike);
    };
    (@each $kind:expr, $attrs:tt, $($name:ident),*) => {
        $( db_tests!(@one $kind, $attrs, $name); )*
    };
    (@one $kind:expr, [$($attr:tt)*], $name:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $($attr)*
        async fn $name() {
            crate::suite::$name($kind).await
        }
    };
}

pub fn email_check() -> EmailCheck {
    EmailCheck::default()
}

/// A validated user for the default map.
pub fn user(login: &str, first: &str, last: &str, email: &str, customer_id: &str) -> CustomerUser {
    new_user(login, first, last, email, customer_id)
        .validate(&Rules {
            map: &AttributeMap::otobo_customer_user(),
            email: &email_check(),
        })
        .unwrap()
}

pub fn new_user(
    login: &str,
    first: &str,
    last: &str,
    email: &str,
    customer_id: &str,
) -> NewCustomerUser {
    NewCustomerUser::new(login, first, last, email, customer_id)
}

pub fn validated(map: &AttributeMap, new: NewCustomerUser) -> CustomerUser {
    new.validate(&Rules {
        map,
        email: &email_check(),
    })
    .unwrap()
}

pub fn company(id: &str, name: &str) -> CustomerCompany {
    NewCustomerCompany::new(id, name)
        .validate(&Rules {
            map: &AttributeMap::otobo_customer_company(),
            email: &email_check(),
        })
        .unwrap()
}

pub fn term(t: &str) -> UserQuery {
    UserQuery {
        fields: FieldSet::SearchFields {
            exclude_customer_id: false,
        },
        expr: parse_term(t, &SearchSyntax::default()).unwrap(),
        valid_only: true,
        limit: 250,
        case_sensitive: false,
    }
}

pub fn pattern_query(fields: FieldSet, pattern: Pattern) -> UserQuery {
    UserQuery {
        fields,
        expr: Expr::Match(pattern),
        valid_only: true,
        limit: 250,
        case_sensitive: false,
    }
}

pub fn logins(users: &[CustomerUser]) -> Vec<String> {
    users.iter().map(|u| u.login.to_string()).collect()
}

pub fn login_strings(logins: &[Login]) -> Vec<String> {
    logins.iter().map(|l| l.to_string()).collect()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn assert_exists(result: Result<(), Error>, entity: Entity, field: &str) {
    match result {
        Err(Error::AlreadyExists {
            entity: e,
            field: f,
            ..
        }) if e == entity && f == field => {}
        other => panic!("expected AlreadyExists {entity} {field}, got {other:?}"),
    }
}

/// Four users: anna and bob at ACME, carl (invalid) and dora at OTHER; only bob and dora have a
/// phone, and anna's city is Berlin.
pub async fn people(db: &DbBackend) {
    let map = AttributeMap::otobo_customer_user();
    let users = [
        new_user("anna", "Anna", "Smith", "anna@acme-corp.com", "ACME").with("UserCity", "Berlin"),
        new_user("bob", "Bob", "Smithers", "bob@acme-corp.com", "ACME")
            .with("UserPhone", "+49 30 555")
            .with("UserCity", "Hamburg"),
        new_user("carl", "Carl", "Jones", "carl@other-corp.com", "OTHER")
            .validity(Validity::Invalid),
        new_user("dora", "Dora", "Black", "dora@other-corp.com", "OTHER").with("UserPhone", "555"),
    ];
    for u in users {
        db.add(&validated(&map, u), None, &"1".into())
            .await
            .unwrap();
    }
}

pub async fn users_roundtrip(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    let map = AttributeMap::otobo_customer_user();
    let jdoe = validated(
        &map,
        new_user("jdoe", "John", "Doe", "john.doe@acme-corp.com", "ACME")
            .with("UserTitle", "Dr.")
            .with("UserPhone", "+49 30 1234")
            .with("UserComment", "line one\nline two")
            .with("UserCountry", "Deutschland"),
    );
    db.add(&jdoe, None, &"7".into()).await.unwrap();
    let got = db
        .get("JDOE")
        .await
        .unwrap()
        .expect("case-insensitive lookup");
    assert_eq!(got.login.as_str(), "jdoe");
    assert_eq!(got.title.as_deref(), Some("Dr."));
    assert_eq!(got.first_name, "John");
    assert_eq!(got.email.as_str(), "john.doe@acme-corp.com");
    assert_eq!(got.customer_id.as_str(), "ACME");
    assert_eq!(got.phone.as_deref(), Some("+49 30 1234"));
    assert_eq!(got.comment.as_deref(), Some("line one\nline two"));
    assert_eq!(got.country.as_deref(), Some("Deutschland"));
    assert_eq!(got.fax, None);
    assert_eq!(got.validity, Validity::Valid);
    assert_eq!(got.audit.created_by.as_deref(), Some("7"));
    assert_eq!(got.audit.changed_by.as_deref(), Some("7"));
    let created = got.audit.created_at.expect("created_at");
    assert!(
        (created - now()).abs() < 120,
        "created_at {created} is not now"
    );
    assert_eq!(got.audit.changed_at, Some(created));
    // Everything but the audit data round-trips.
    let mut expected = jdoe.clone();
    expected.audit = got.audit.clone();
    assert_eq!(got, expected);

    // A `by` that is no agent is refused before any write, naming the field: this database
    // has no agent table to look the name up in, and the audit columns hold agent ids. Nobody in
    // particular is recorded as OTOBO's root agent.
    let jane = user("jane", "Jane", "Doe", "jane@acme-corp.com", "ACME");
    let refused = db.add(&jane, None, &"admin".into()).await.unwrap_err();
    assert!(
        matches!(&refused, Error::Invalid(clientele_model::ValidationError::Invalid { field, value, .. })
            if field == "by" && value == "admin"),
        "{refused:?}"
    );
    assert!(db.get("jane").await.unwrap().is_none());
    db.add(&jane, None, &clientele_model::Actor::System)
        .await
        .unwrap();
    assert_eq!(
        db.get("jane")
            .await
            .unwrap()
            .unwrap()
            .audit
            .created_by
            .as_deref(),
        Some("1")
    );

    let invalid = validated(
        &map,
        new_user("gone", "Gone", "Away", "gone@acme-corp.com", "ACME")
            .validity(Validity::InvalidTemporarily),
    );
    db.add(&invalid, None, &"1".into()).await.unwrap();
    assert_eq!(
        db.get("gone").await.unwrap().unwrap().validity,
        Validity::InvalidTemporarily
    );

    assert!(db.get("nobody").await.unwrap().is_none());
    assert!(
        db.get("jdo").await.unwrap().is_none(),
        "lookup is exact, not a prefix"
    );
    assert!(
        db.get("jdo%").await.unwrap().is_none(),
        "no SQL wildcards in lookups"
    );
    f.finish().await;
}

pub async fn passwords(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    db.add(
        &user("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"),
        None,
        &"1".into(),
    )
    .await
    .unwrap();
    let hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    db.add(
        &user("ann", "Ann", "Lee", "ann@acme-corp.com", "ACME"),
        Some(hash),
        &"1".into(),
    )
    .await
    .unwrap();
    let (login, pw) = db.password_hash("JDOE").await.unwrap().unwrap();
    assert_eq!(login.as_str(), "jdoe");
    assert_eq!(pw, None);
    assert_eq!(
        db.password_hash("ann").await.unwrap().unwrap().1.as_deref(),
        Some(hash)
    );
    db.set_password_hash(
        &Login::new("JDoe").unwrap(),
        "$argon2id$v=19$m=19456,t=2,p=1$x$y",
    )
    .await
    .unwrap();
    assert_eq!(
        db.password_hash("jdoe")
            .await
            .unwrap()
            .unwrap()
            .1
            .as_deref(),
        Some("$argon2id$v=19$m=19456,t=2,p=1$x$y")
    );
    assert!(db.password_hash("nobody").await.unwrap().is_none());
    match db
        .set_password_hash(&Login::new("nobody").unwrap(), "x")
        .await
    {
        Err(Error::NotFound {
            entity: Entity::CustomerUser,
            ..
        }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    // The hash is not an attribute of the user.
    assert!(db.get("ann").await.unwrap().unwrap().extra.is_empty());
    f.finish().await;
}

pub async fn duplicate_login_and_email(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    db.add(
        &user("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"),
        None,
        &"1".into(),
    )
    .await
    .unwrap();
    assert_exists(
        db.add(
            &user("JDoe", "Other", "Person", "other@acme-corp.com", "ACME"),
            None,
            &"1".into(),
        )
        .await,
        Entity::CustomerUser,
        "UserLogin",
    );
    assert_exists(
        db.add(
            &user("jdoe2", "Other", "Person", "JDOE@ACME-CORP.COM", "ACME"),
            None,
            &"1".into(),
        )
        .await,
        Entity::CustomerUser,
        "UserEmail",
    );
    // Invalid users keep their address (OTOBO checks with Valid => 0).
    let map = AttributeMap::otobo_customer_user();
    let invalid = validated(
        &map,
        new_user("old", "Old", "User", "old@acme-corp.com", "ACME").validity(Validity::Invalid),
    );
    db.add(&invalid, None, &"1".into()).await.unwrap();
    assert_exists(
        db.add(
            &user("new", "New", "User", "old@acme-corp.com", "ACME"),
            None,
            &"1".into(),
        )
        .await,
        Entity::CustomerUser,
        "UserEmail",
    );
    match db
        .add(
            &user("jdoe", "J", "D", "jd@acme-corp.com", "ACME"),
            None,
            &"1".into(),
        )
        .await
    {
        Err(Error::AlreadyExists { backend, value, .. }) => {
            assert_eq!(backend.as_deref(), Some("db"));
            assert_eq!(value, "jdoe");
        }
        other => panic!("{other:?}"),
    }
    f.finish().await;
}

pub async fn email_check_off(kind: Kind) {
    let mut config = test_config();
    config.settings.email_unique_check = false;
    let f = Fixture::with_config(kind, config).await;
    f.db.add(
        &user("a", "A", "A", "same@acme-corp.com", "ACME"),
        None,
        &"1".into(),
    )
    .await
    .unwrap();
    f.db.add(
        &user("b", "B", "B", "same@acme-corp.com", "ACME"),
        None,
        &"1".into(),
    )
    .await
    .unwrap();
    assert_exists(
        f.db.add(
            &user("A", "A", "A", "x@acme-corp.com", "ACME"),
            None,
            &"1".into(),
        )
        .await,
        Entity::CustomerUser,
        "UserLogin",
    );
    f.finish().await;
}

pub async fn updates(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    db.add(
        &user("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"),
        None,
        &"1".into(),
    )
    .await
    .unwrap();
    db.add(
        &user("other", "Other", "One", "other@acme-corp.com", "ACME"),
        None,
        &"1".into(),
    )
    .await
    .unwrap();
    let current = db.get("jdoe").await.unwrap().unwrap();
    let login = Login::new("JDOE").unwrap();

    let mut changed = current.clone();
    changed.first_name = "Johnny".into();
    changed.phone = Some("123".into());
    db.update(&login, &changed, Expected::Any, &"5".into())
        .await
        .unwrap();
    let after = db.get("jdoe").await.unwrap().unwrap();
    assert_eq!(after.first_name, "Johnny");
    assert_eq!(after.phone.as_deref(), Some("123"));
    assert_eq!(after.audit.created_at, current.audit.created_at);
    assert_eq!(after.audit.created_by.as_deref(), Some("1"));
    assert_eq!(after.audit.changed_by.as_deref(), Some("5"));
    assert!(
        after.audit.changed_at > current.audit.changed_at,
        "change time strictly increases"
    );

    // Optimistic concurrency: the version read before the last write no longer matches.
    let mut stale = current.clone();
    stale.last_name = "Stale".into();
    match db
        .update(
            &login,
            &stale,
            Expected::ChangedAt(current.audit.changed_at),
            &"1".into(),
        )
        .await
    {
        Err(Error::Conflict { .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
    let mut fresh = after.clone();
    fresh.last_name = "Fresh".into();
    db.update(
        &login,
        &fresh,
        Expected::ChangedAt(after.audit.changed_at),
        &"1".into(),
    )
    .await
    .unwrap();
    assert_eq!(db.get("jdoe").await.unwrap().unwrap().last_name, "Fresh");

    // Clearing an attribute.
    let mut cleared = db.get("jdoe").await.unwrap().unwrap();
    cleared.phone = None;
    db.update(&login, &cleared, Expected::Any, &"1".into())
        .await
        .unwrap();
    assert_eq!(db.get("jdoe").await.unwrap().unwrap().phone, None);

    // Email: a case change of the own address is fine, another user's address is not.
    let mut own = db.get("jdoe").await.unwrap().unwrap();
    own.email = clientele_model::Email::new("JDOE@acme-corp.com").unwrap();
    db.update(&login, &own, Expected::Any, &"1".into())
        .await
        .unwrap();
    let mut taken = own.clone();
    taken.email = clientele_model::Email::new("Other@Acme-Corp.com").unwrap();
    assert_exists(
        db.update(&login, &taken, Expected::Any, &"1".into()).await,
        Entity::CustomerUser,
        "UserEmail",
    );

    // Renames: to a free login, to a case variant of itself, not to a taken one.
    let mut renamed = db.get("jdoe").await.unwrap().unwrap();
    renamed.login = Login::new("john.doe").unwrap();
    db.update(&login, &renamed, Expected::Any, &"1".into())
        .await
        .unwrap();
    assert!(db.get("jdoe").await.unwrap().is_none());
    assert_eq!(
        db.get("john.doe").await.unwrap().unwrap().first_name,
        "Johnny"
    );
    let mut cased = renamed.clone();
    cased.login = Login::new("John.Doe").unwrap();
    db.update(
        &Login::new("john.doe").unwrap(),
        &cased,
        Expected::Any,
        &"1".into(),
    )
    .await
    .unwrap();
    assert_eq!(
        db.get("john.doe").await.unwrap().unwrap().login.as_str(),
        "John.Doe"
    );
    let mut clash = cased.clone();
    clash.login = Login::new("OTHER").unwrap();
    assert_exists(
        db.update(
            &Login::new("John.Doe").unwrap(),
            &clash,
            Expected::Any,
            &"1".into(),
        )
        .await,
        Entity::CustomerUser,
        "UserLogin",
    );

    match db
        .update(
            &Login::new("nobody").unwrap(),
            &clash,
            Expected::Any,
            &"1".into(),
        )
        .await
    {
        Err(Error::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
    f.finish().await;
}

pub async fn read_only_rows_are_kept(kind: Kind) {
    let mut config = test_config();
    let rows: Vec<AttributeMapping> = config
        .settings
        .map
        .rows()
        .iter()
        .cloned()
        .map(|r| {
            if r.key == "UserComment" {
                r.read_only()
            } else {
                r
            }
        })
        .collect();
    config.settings.map = AttributeMap::new(rows);
    let f = Fixture::with_config(kind, config.clone()).await;
    let u = validated(
        &config.settings.map,
        new_user("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME")
            .with("UserComment", "imported"),
    );
    // OTOBO writes read-only rows on INSERT and skips them on UPDATE.
    f.db.add(&u, None, &"1".into()).await.unwrap();
    let mut changed = u.clone();
    changed.comment = Some("changed".into());
    changed.city = Some("Berlin".into());
    f.db.update(&u.login, &changed, Expected::Any, &"1".into())
        .await
        .unwrap();
    let got = f.db.get("jdoe").await.unwrap().unwrap();
    assert_eq!(got.comment.as_deref(), Some("imported"));
    assert_eq!(got.city.as_deref(), Some("Berlin"));
    f.finish().await;
}

pub async fn search_terms(kind: Kind) {
    let mut config = test_config();
    config.settings.search_fields.push("phone".into());
    let f = Fixture::with_config(kind, config).await;
    let db = &f.db;
    people(db).await;
    let s = |t: &str| {
        let q = term(t);
        async move { logins(&db.search(&q).await.unwrap()) }
    };
    assert_eq!(s("smith").await, ["anna", "bob"]);
    assert_eq!(s("SMI*").await, ["anna", "bob"]);
    assert_eq!(s("smith+!bob").await, ["anna"]);
    assert_eq!(s("anna OR dora").await, ["anna", "dora"]);
    assert_eq!(s("smith AND bob").await, ["bob"]);
    // NOT: a NULL phone does not match "555", so anna is found.
    assert_eq!(s("!555").await, ["anna"]);
    assert_eq!(s("!smith").await, ["dora"]);
    assert_eq!(s("\"30 555\"").await, ["bob"]);
    assert_eq!(s("nobody").await, Vec::<String>::new());

    let mut all = term("!nobody");
    all.valid_only = false;
    assert_eq!(
        logins(&db.search(&all).await.unwrap()),
        ["anna", "bob", "carl", "dora"]
    );
    all.limit = usize::MAX;
    assert_eq!(db.search(&all).await.unwrap().len(), 4, "no limit at all");
    all.limit = 2;
    assert_eq!(logins(&db.search(&all).await.unwrap()), ["anna", "bob"]);
    all.limit = 0;
    assert!(db.search(&all).await.unwrap().is_empty());

    let mut cs = term("Smith");
    cs.case_sensitive = true;
    assert_eq!(logins(&db.search(&cs).await.unwrap()), ["anna", "bob"]);
    let mut cs = term("smith");
    cs.case_sensitive = true;
    assert!(db.search(&cs).await.unwrap().is_empty());

    // Full records come back.
    let found = db.search(&term("bob")).await.unwrap();
    assert_eq!(found[0].phone.as_deref(), Some("+49 30 555"));
    assert_eq!(found[0].city.as_deref(), Some("Hamburg"));
    f.finish().await;
}

/// `search_list` finds the users `search` finds, in the same order, with the list values
/// `ListedUser::of` takes from the whole records: for OTOBO's list fields, for list fields
/// that some users lack (title, phone, city) or that repeat one, and for list fields read
/// through a partial record (validity).
pub async fn list_search(kind: Kind) {
    let lists: [&[&str]; 3] = [
        &["first_name", "last_name", "email"],
        &[
            "login",
            "title",
            "phone",
            "city",
            "first_name",
            "email",
            "phone",
        ],
        &["valid_id", "customer_id", "email"],
    ];
    for list in lists {
        let mut config = test_config();
        config.settings.search_fields.push("phone".into());
        config.settings.list_fields = list.iter().map(|f| f.to_string()).collect();
        let f = Fixture::with_config(kind, config.clone()).await;
        let db = &f.db;
        people(db).await;
        let mut terms: Vec<UserQuery> = ["smith", "!555", "*", "anna OR dora", "nobody", "555"]
            .iter()
            .map(|t| term(t))
            .collect();
        let mut all = term("*");
        all.valid_only = false;
        terms.push(all.clone());
        for q in terms {
            let listed = db.search_list(&q).await.unwrap();
            let records = db.search(&q).await.unwrap();
            let expected: Vec<ListedUser> = records
                .iter()
                .map(|u| ListedUser::of(u, &config.settings))
                .collect();
            assert_eq!(listed, expected, "list fields {list:?}, query {:?}", q.expr);
        }
        // With more matches than the limit, which users come back is the database's choice;
        // they are sorted all the same.
        all.limit = 2;
        let two = db.search_list(&all).await.unwrap();
        assert_eq!(two.len(), 2);
        assert!(two[0].login.as_str() < two[1].login.as_str());
        let bob = db.search_list(&term("bob")).await.unwrap();
        let values: Vec<&str> = bob[0].list_values.iter().map(String::as_str).collect();
        match list.len() {
            3 if list[0] == "first_name" => {
                assert_eq!(values, ["Bob", "Smithers", "bob@acme-corp.com"])
            }
            3 => assert_eq!(values, ["1", "ACME", "bob@acme-corp.com"]),
            _ => assert_eq!(
                values,
                [
                    "bob",
                    "+49 30 555",
                    "Hamburg",
                    "Bob",
                    "bob@acme-corp.com",
                    "+49 30 555"
                ]
            ),
        }
        f.finish().await;
    }
}

pub async fn search_field_sets(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    people(db).await;
    let q = |fields, p: Pattern, valid_only: bool| {
        let mut q = pattern_query(fields, p);
        q.valid_only = valid_only;
        async move { logins(&db.search(&q).await.unwrap()) }
    };
    assert_eq!(
        q(FieldSet::Login, Pattern::from_wildcards("B*"), true).await,
        ["bob"]
    );
    assert_eq!(
        q(FieldSet::Login, Pattern::exact("bo"), true).await,
        Vec::<String>::new()
    );
    assert_eq!(
        q(FieldSet::CustomerId, Pattern::from_wildcards("oth*"), false).await,
        ["carl", "dora"]
    );
    assert_eq!(
        q(FieldSet::CustomerId, Pattern::exact("OTHER"), true).await,
        ["dora"]
    );
    assert_eq!(
        q(
            FieldSet::PostmasterFields,
            Pattern::exact("BOB@ACME-CORP.COM"),
            true
        )
        .await,
        ["bob"]
    );
    assert_eq!(
        q(FieldSet::PostmasterFields, Pattern::exact("bob@acme"), true).await,
        Vec::<String>::new()
    );
    let with_id = FieldSet::SearchFields {
        exclude_customer_id: false,
    };
    let without_id = FieldSet::SearchFields {
        exclude_customer_id: true,
    };
    assert_eq!(
        q(with_id, Pattern::from_wildcards("*acm*"), true).await,
        ["anna", "bob"]
    );
    assert_eq!(
        q(without_id, Pattern::from_wildcards("*acm*"), true).await,
        Vec::<String>::new()
    );
    f.finish().await;
}

pub async fn hostile_input(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    let odd = [
        ("50%off", "Per%cent"),
        ("50xoff", "Plain"),
        ("a_b", "Under_score"),
        ("axb", "Underxscore"),
        ("back\\slash", "Back\\slash"),
        ("backxslash", "Backxslash"),
        ("o'brien", "O'Brien"),
        ("quote\"d", "Quo\"ted"),
        ("semi;colon", "Drop Table"),
    ];
    for (i, (login, last)) in odd.iter().enumerate() {
        db.add(
            &user(login, "Odd", last, &format!("odd{i}@acme-corp.com"), "ACME"),
            None,
            &"1".into(),
        )
        .await
        .unwrap();
    }
    let sub = |s: &str| Pattern::new([Part::Wildcard, Part::Literal(s.into()), Part::Wildcard]);
    let fields = FieldSet::SearchFields {
        exclude_customer_id: false,
    };
    let find = |p: Pattern| {
        let q = pattern_query(fields, p);
        async move { logins(&db.search(&q).await.unwrap()) }
    };
    assert_eq!(find(sub("%")).await, ["50%off"]);
    assert_eq!(find(sub("0%o")).await, ["50%off"]);
    assert_eq!(find(sub("_")).await, ["a_b"]);
    assert_eq!(find(sub("\\")).await, ["back\\slash"]);
    assert_eq!(find(sub("k\\s")).await, ["back\\slash"]);
    assert_eq!(find(sub("'")).await, ["o'brien"]);
    assert_eq!(find(sub("o'b")).await, ["o'brien"]);
    assert_eq!(find(sub("\"")).await, ["quote\"d"]);
    assert_eq!(
        find(sub("; DROP TABLE customer_user; --")).await,
        Vec::<String>::new()
    );
    assert_eq!(find(Pattern::exact("50%off")).await, ["50%off"]);
    assert_eq!(find(Pattern::exact("a_b")).await, ["a_b"]);
    // Regular-expression characters are literal too (SQLite matches with REGEXP).
    assert_eq!(find(sub(".*")).await, Vec::<String>::new());
    assert_eq!(find(sub("(")).await, Vec::<String>::new());
    // Through the search language as well.
    assert_eq!(logins(&db.search(&term("50%")).await.unwrap()), ["50%off"]);
    assert_eq!(logins(&db.search(&term("a_b")).await.unwrap()), ["a_b"]);
    assert_eq!(
        logins(&db.search(&term("o'brien")).await.unwrap()),
        ["o'brien"]
    );
    // Lookups, detail conditions, email checks bind their values too.
    assert_eq!(db.get("A_B").await.unwrap().unwrap().login.as_str(), "a_b");
    assert!(db.get("a%b").await.unwrap().is_none());
    assert!(db.get("' OR '1'='1").await.unwrap().is_none());
    let detail = DetailSearch {
        conditions: vec![FieldCondition {
            attribute: "UserLastname".into(),
            pattern: Pattern::from_wildcards("under_*"),
        }],
        valid_only: true,
        ..Default::default()
    };
    assert_eq!(
        login_strings(&db.search_detail(&detail).await.unwrap()),
        ["a_b"]
    );
    f.finish().await;
}

pub async fn case_rule(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    for (login, last) in [
        ("m1", "Müller"),
        ("m2", "MÜLLER"),
        ("m3", "Muller"),
        ("m4", "müller"),
    ] {
        db.add(
            &user(login, "M", last, &format!("{login}@acme-corp.com"), "ACME"),
            None,
            &"1".into(),
        )
        .await
        .unwrap();
    }
    let fields = FieldSet::SearchFields {
        exclude_customer_id: false,
    };
    let find = |p: &str, cs: bool| {
        let mut q = pattern_query(fields, Pattern::from_wildcards(p));
        q.case_sensitive = cs;
        async move { logins(&db.search(&q).await.unwrap()) }
    };
    assert_eq!(find("*müller*", false).await, ["m1", "m2", "m4"]);
    assert_eq!(find("*MÜLLER*", false).await, ["m1", "m2", "m4"]);
    assert_eq!(find("*muller*", false).await, ["m3"], "accents count");
    assert_eq!(find("Müller", false).await, ["m1", "m2", "m4"]);
    assert_eq!(find("*Müller*", true).await, ["m1"]);
    assert_eq!(find("Müller", true).await, ["m1"]);
    assert_eq!(find("*ü*", true).await, ["m1", "m4"]);
    f.finish().await;
}

pub async fn detail_search(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    people(db).await;
    let run = |d: DetailSearch| async move { login_strings(&db.search_detail(&d).await.unwrap()) };
    let cond = |a: &str, p: &str| FieldCondition {
        attribute: a.into(),
        pattern: Pattern::from_wildcards(p),
    };
    let base = DetailSearch {
        valid_only: true,
        ..Default::default()
    };
    // No order: login descending (OTOBO's default).
    assert_eq!(run(base.clone()).await, ["dora", "bob", "anna"]);
    assert_eq!(db.count_detail(&base).await.unwrap(), 3);
    let all = DetailSearch {
        valid_only: false,
        ..base.clone()
    };
    assert_eq!(db.count_detail(&all).await.unwrap(), 4);

    // Input fields: case-insensitive, whole value, no implicit wildcards.
    let d = DetailSearch {
        conditions: vec![cond("UserFirstname", "ANNA")],
        ..base.clone()
    };
    assert_eq!(run(d).await, ["anna"]);
    let d = DetailSearch {
        conditions: vec![cond("UserLastname", "smith")],
        ..base.clone()
    };
    assert_eq!(run(d).await, ["anna"]);
    let d = DetailSearch {
        conditions: vec![cond("UserLastname", "SMITH*")],
        ..base.clone()
    };
    assert_eq!(run(d.clone()).await, ["bob", "anna"]);
    assert_eq!(db.count_detail(&d).await.unwrap(), 2);
    let d = DetailSearch {
        conditions: vec![cond("UserLastname", "smith*"), cond("UserCity", "berlin")],
        ..base.clone()
    };
    assert_eq!(run(d).await, ["anna"]);
    // A missing value never matches, even `*`.
    let d = DetailSearch {
        conditions: vec![cond("UserPhone", "*")],
        ..base.clone()
    };
    assert_eq!(run(d).await, ["dora", "bob"]);
    // An attribute the map does not have matches nothing.
    let d = DetailSearch {
        conditions: vec![cond("UserShoeSize", "*")],
        ..base.clone()
    };
    assert!(run(d).await.is_empty());

    // Selections: exact values; integers for integer attributes.
    let d = DetailSearch {
        selections: vec![SelectionCondition {
            attribute: "UserCity".into(),
            values: vec!["Berlin".into(), "Hamburg".into()],
        }],
        ..base.clone()
    };
    assert_eq!(run(d).await, ["bob", "anna"]);
    let d = DetailSearch {
        selections: vec![SelectionCondition {
            attribute: "UserCity".into(),
            values: vec!["berlin".into()],
        }],
        ..base.clone()
    };
    assert!(run(d).await.is_empty());
    let d = DetailSearch {
        selections: vec![SelectionCondition {
            attribute: "ValidID".into(),
            values: vec!["2".into(), "3".into()],
        }],
        valid_only: false,
        ..base.clone()
    };
    assert_eq!(run(d).await, ["carl"]);
    let d = DetailSearch {
        selections: vec![SelectionCondition {
            attribute: "UserCity".into(),
            values: vec![],
        }],
        ..base.clone()
    };
    assert_eq!(
        run(d).await.len(),
        3,
        "an empty selection adds no condition"
    );

    // Exclusion list: case-insensitive.
    let d = DetailSearch {
        exclude_logins: vec!["ANNA".into(), "Dora".into()],
        ..base.clone()
    };
    assert_eq!(run(d).await, ["bob"]);

    // Company ids: exact.
    let d = DetailSearch {
        customer_ids: vec!["ACME".into()],
        ..base.clone()
    };
    assert_eq!(run(d).await, ["bob", "anna"]);
    let d = DetailSearch {
        customer_ids: vec!["acme".into()],
        ..base.clone()
    };
    assert!(run(d).await.is_empty());

    // Ordering: by attribute and direction, login breaking ties (descending unless ordered).
    let d = DetailSearch {
        order_by: vec![("UserCustomerID".into(), Direction::Ascending)],
        ..base.clone()
    };
    assert_eq!(run(d).await, ["bob", "anna", "dora"]);
    let d = DetailSearch {
        order_by: vec![
            ("UserCustomerID".into(), Direction::Descending),
            ("UserLogin".into(), Direction::Ascending),
        ],
        ..base.clone()
    };
    assert_eq!(run(d).await, ["dora", "anna", "bob"]);
    let d = DetailSearch {
        order_by: vec![("UserLastname".into(), Direction::Ascending)],
        ..base.clone()
    };
    assert_eq!(run(d).await, ["dora", "anna", "bob"]);
    // Missing values first when ascending, last when descending.
    let d = DetailSearch {
        order_by: vec![("UserPhone".into(), Direction::Ascending)],
        ..base.clone()
    };
    assert_eq!(run(d).await, ["anna", "bob", "dora"]);
    let d = DetailSearch {
        order_by: vec![("UserPhone".into(), Direction::Descending)],
        ..base.clone()
    };
    assert_eq!(run(d).await, ["dora", "bob", "anna"]);
    // Limit (count ignores it).
    let d = DetailSearch {
        order_by: vec![("UserLogin".into(), Direction::Ascending)],
        limit: Some(2),
        ..base.clone()
    };
    assert_eq!(run(d.clone()).await, ["anna", "bob"]);
    assert_eq!(db.count_detail(&d).await.unwrap(), 3);
    let d = DetailSearch {
        limit: Some(usize::MAX),
        ..d
    };
    assert_eq!(run(d).await, ["anna", "bob", "dora"]);
    f.finish().await;
}

pub async fn detail_search_many_company_ids(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    people(db).await;
    // Far more ids than one IN list or statement may hold on some databases.
    let mut ids: Vec<String> = (0..2500).map(|i| format!("C{i:05}")).collect();
    ids.push("OTHER".into());
    let d = DetailSearch {
        customer_ids: ids.clone(),
        valid_only: false,
        ..Default::default()
    };
    assert_eq!(
        login_strings(&db.search_detail(&d).await.unwrap()),
        ["dora", "carl"]
    );
    assert_eq!(db.count_detail(&d).await.unwrap(), 2);
    let excluded: Vec<String> = (0..1500)
        .map(|i| format!("USER{i}"))
        .chain(["CARL".to_owned()])
        .collect();
    let d = DetailSearch {
        exclude_logins: excluded,
        ..d
    };
    assert_eq!(
        login_strings(&db.search_detail(&d).await.unwrap()),
        ["dora"]
    );
    f.finish().await;
}

pub async fn customer_id_list(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    people(db).await;
    db.add(
        &user("eve", "Eve", "Lower", "eve@acme-corp.com", "acme-b"),
        None,
        &"1".into(),
    )
    .await
    .unwrap();
    let ids = |t: Option<Expr>, valid| async move {
        db.customer_id_list(t.as_ref(), valid)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(None, true).await, ["ACME", "acme-b", "OTHER"]);
    assert_eq!(
        ids(Some(Expr::Match(Pattern::from_wildcards("ac*"))), true).await,
        ["ACME", "acme-b"]
    );
    assert_eq!(
        ids(Some(Expr::Match(Pattern::exact("OTHER"))), true).await,
        ["OTHER"]
    );
    f.finish().await;
}

pub async fn companies(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    let acme = NewCustomerCompany::new("ACME", "Acme Corporation")
        .with("CustomerCompanyCity", "Berlin")
        .with("CustomerCompanyURL", "https://acme-corp.com")
        .validate(&Rules {
            map: &AttributeMap::otobo_customer_company(),
            email: &email_check(),
        })
        .unwrap();
    db.add_company(&acme, &"3".into()).await.unwrap();
    let got = db
        .company("acme")
        .await
        .unwrap()
        .expect("case-insensitive company id");
    assert_eq!(got.customer_id.as_str(), "ACME");
    assert_eq!(got.name, "Acme Corporation");
    assert_eq!(got.city.as_deref(), Some("Berlin"));
    assert_eq!(got.url.as_deref(), Some("https://acme-corp.com"));
    assert_eq!(got.audit.created_by.as_deref(), Some("3"));
    assert!(got.audit.created_at.is_some());
    assert!(db.company("nope").await.unwrap().is_none());

    let add = |c: CustomerCompany| async move { db.add_company(&c, &"1".into()).await };
    match add(company("acme", "Another")).await {
        Err(Error::AlreadyExists {
            entity: Entity::Company,
            field,
            backend,
            ..
        }) => {
            assert_eq!(field, "CustomerID");
            assert_eq!(backend.as_deref(), Some("db-companies"));
        }
        other => panic!("{other:?}"),
    }
    match add(company("ACME2", "Acme Corporation")).await {
        Err(Error::AlreadyExists {
            entity: Entity::Company,
            field,
            ..
        }) => assert_eq!(field, "CustomerCompanyName"),
        other => panic!("{other:?}"),
    }
    add(company("OTHER", "Other Ltd")).await.unwrap();
    let closed = NewCustomerCompany::new("CLOSED", "Closed Inc")
        .validity(Validity::Invalid)
        .validate(&Rules {
            map: &AttributeMap::otobo_customer_company(),
            email: &email_check(),
        })
        .unwrap();
    add(closed).await.unwrap();

    let mut changed = got.clone();
    changed.city = None;
    changed.comment = Some("key account".into());
    db.update_company(&changed, &"4".into()).await.unwrap();
    let after = db.company("ACME").await.unwrap().unwrap();
    assert_eq!(after.city, None);
    assert_eq!(after.comment.as_deref(), Some("key account"));
    assert_eq!(after.audit.changed_by.as_deref(), Some("4"));
    assert_eq!(after.audit.created_by.as_deref(), Some("3"));
    let mut clash = after.clone();
    clash.name = "Other Ltd".into();
    match db.update_company(&clash, &"1".into()).await {
        Err(Error::AlreadyExists { field, .. }) => assert_eq!(field, "CustomerCompanyName"),
        other => panic!("{other:?}"),
    }
    match db
        .update_company(&company("MISSING", "Missing"), &"1".into())
        .await
    {
        Err(Error::NotFound {
            entity: Entity::Company,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }

    let search = |t: Option<&str>, valid_only: bool, limit: usize| {
        let q = CompanyQuery {
            expr: t.map(|t| parse_term(t, &SearchSyntax::default()).unwrap()),
            valid_only,
            limit,
            case_sensitive: false,
        };
        async move {
            db.search_companies(&q)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.customer_id.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search(None, true, 250).await, ["ACME", "OTHER"]);
    assert_eq!(search(None, false, 250).await, ["ACME", "CLOSED", "OTHER"]);
    assert_eq!(search(None, false, 1).await, ["ACME"]);
    assert_eq!(search(Some("corp"), true, 250).await, ["ACME"]);
    assert_eq!(search(Some("!acme"), false, 250).await, ["CLOSED", "OTHER"]);
    f.finish().await;
}

pub async fn user_companies(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    db.set_user_company("jdoe", "OTHER", true, &"1".into())
        .await
        .unwrap();
    db.set_user_company("jdoe", "OTHER", true, &"1".into())
        .await
        .unwrap();
    db.set_user_company("jdoe", "BETA", true, &"1".into())
        .await
        .unwrap();
    db.set_user_company("anna", "OTHER", true, &"1".into())
        .await
        .unwrap();
    let ids = |l: &str| {
        let l = l.to_owned();
        async move {
            db.user_companies(&l)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("jdoe").await, ["BETA", "OTHER"]);
    assert_eq!(
        login_strings(&db.company_users("OTHER").await.unwrap()),
        ["anna", "jdoe"]
    );
    // Relations compare exactly: the Directory passes stored logins.
    assert!(ids("JDOE").await.is_empty());
    db.set_user_company("jdoe", "BETA", false, &"1".into())
        .await
        .unwrap();
    db.set_user_company("jdoe", "BETA", false, &"1".into())
        .await
        .unwrap();
    assert_eq!(ids("jdoe").await, ["OTHER"]);

    // Renaming moves every relation; rows the new login already has are not duplicated.
    let g = db
        .add_group("users", Validity::Valid, &"1".into())
        .await
        .unwrap();
    let s = db
        .add_service("Printing", Validity::Valid, &"1".into())
        .await
        .unwrap();
    db.set_user_grant("jdoe", g.id, &[PermissionType::ro()], &"1".into())
        .await
        .unwrap();
    db.set_user_service("jdoe", s.id, true, &"1".into())
        .await
        .unwrap();
    db.set_user_company("john", "OTHER", true, &"1".into())
        .await
        .unwrap();
    db.rename_user("jdoe", "john").await.unwrap();
    assert!(ids("jdoe").await.is_empty());
    assert_eq!(ids("john").await, ["OTHER"]);
    assert_eq!(db.user_services("john").await.unwrap().len(), 1);
    let snapshot = db.relation_snapshot().await.unwrap();
    assert_eq!(snapshot.user_grants.len(), 1);
    assert_eq!(snapshot.user_grants[0].login, "john");
    assert_eq!(
        snapshot.user_companies,
        [
            ("anna".to_owned(), "OTHER".to_owned()),
            ("john".to_owned(), "OTHER".to_owned())
        ]
    );
    f.finish().await;
}

pub async fn groups_and_grants(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    let users = db
        .add_group("users", Validity::Valid, &"1".into())
        .await
        .unwrap();
    let admins = db
        .add_group("admins", Validity::Valid, &"1".into())
        .await
        .unwrap();
    assert_ne!(users.id, admins.id);
    match db.add_group("users", Validity::Valid, &"1".into()).await {
        Err(Error::AlreadyExists {
            entity: Entity::Group,
            field,
            ..
        }) => assert_eq!(field, "name"),
        other => panic!("{other:?}"),
    }
    db.set_group_validity(admins.id, Validity::Invalid)
        .await
        .unwrap();
    let groups = db.groups().await.unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0], users);
    assert_eq!(groups[1].validity, Validity::Invalid);
    match db.set_group_validity(GroupId(9999), Validity::Valid).await {
        Err(Error::NotFound {
            entity: Entity::Group,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }

    let p = |v: &[&str]| {
        v.iter()
            .map(|s| PermissionType::new(*s).unwrap())
            .collect::<Vec<_>>()
    };
    let ctx = |c: &str| PermissionContext::new(c).unwrap();
    db.set_user_grant("jdoe", users.id, &p(&["ro", "rw", "ro"]), &"1".into())
        .await
        .unwrap();
    // Setting replaces the set: no stale rows (OTOBO keeps `ro` here).
    db.set_user_grant("jdoe", users.id, &p(&["rw"]), &"1".into())
        .await
        .unwrap();
    db.set_user_grant("jdoe", admins.id, &p(&["ro"]), &"1".into())
        .await
        .unwrap();
    db.set_user_grant("jdoe", admins.id, &[], &"1".into())
        .await
        .unwrap();
    match db
        .set_user_grant("jdoe", GroupId(9999), &p(&["ro"]), &"1".into())
        .await
    {
        Err(Error::NotFound {
            entity: Entity::Group,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    db.set_company_grant(
        "ACME",
        users.id,
        &ctx("Ticket::CustomerID::Same"),
        &p(&["ro", "rw"]),
        &"1".into(),
    )
    .await
    .unwrap();
    db.set_company_grant(
        "ACME",
        users.id,
        &ctx("Ticket::CustomerID::Other"),
        &p(&["ro"]),
        &"1".into(),
    )
    .await
    .unwrap();
    db.set_company_grant(
        "ACME",
        users.id,
        &ctx("Ticket::CustomerID::Same"),
        &p(&["ro"]),
        &"1".into(),
    )
    .await
    .unwrap();
    match db
        .set_company_grant("ACME", GroupId(9999), &ctx("x"), &p(&["ro"]), &"1".into())
        .await
    {
        Err(Error::NotFound {
            entity: Entity::Group,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    let s = db.relation_snapshot().await.unwrap();
    assert_eq!(s.groups.len(), 2);
    let grants: Vec<(String, GroupId, String)> = s
        .user_grants
        .iter()
        .map(|g| (g.login.clone(), g.group_id, g.permission.to_string()))
        .collect();
    assert_eq!(grants, [("jdoe".to_owned(), users.id, "rw".to_owned())]);
    let company: Vec<(String, String)> = s
        .company_grants
        .iter()
        .map(|g| (g.context.to_string(), g.permission.to_string()))
        .collect();
    assert_eq!(
        company,
        [
            ("Ticket::CustomerID::Other".to_owned(), "ro".to_owned()),
            ("Ticket::CustomerID::Same".to_owned(), "ro".to_owned()),
        ]
    );
    assert!(
        s.company_grants
            .iter()
            .all(|g| g.customer_id == "ACME" && g.group_id == users.id)
    );
    f.finish().await;
}

/// Stored names load as they are: a malformed permission key or context is `Stored::Unknown`
/// (never an error, never dropped); a negative group id is a typed error naming it, never
/// read as some other group.
pub async fn stored_grant_names(kind: Kind) {
    use clientele_model::permission::Stored;
    let f = Fixture::new(kind).await;
    let db = &f.db;
    let users = db
        .add_group("users", Validity::Valid, &"1".into())
        .await
        .unwrap();
    let at = "'2024-01-01 00:00:00'";
    let audit = "create_time, create_by, change_time, change_by) VALUES";
    f.exec(&format!(
        "INSERT INTO group_customer_user (user_id, group_id, permission_key, permission_value, \
         {audit} ('jdoe', {}, 'r-w', 1, {at}, 1, {at}, 1)",
        users.id
    ))
    .await;
    f.exec(&format!(
        "INSERT INTO group_customer (customer_id, group_id, permission_key, permission_value, \
         permission_context, {audit} ('ACME', {}, 'ro', 1, '', {at}, 1, {at}, 1)",
        users.id
    ))
    .await;
    let s = db.relation_snapshot().await.unwrap();
    assert_eq!(s.user_grants.len(), 1);
    assert_eq!(s.user_grants[0].permission, Stored::Unknown("r-w".into()));
    assert_eq!(s.company_grants.len(), 1);
    assert_eq!(s.company_grants[0].context, Stored::Unknown(String::new()));
    assert_eq!(
        s.company_grants[0].permission,
        Stored::Known(PermissionType::ro())
    );

    f.exec(&format!(
        "INSERT INTO groups_table (id, name, valid_id, {audit} (-5, 'negative', 1, {at}, 1, {at}, 1)"
    ))
    .await;
    match db.groups().await {
        Err(e @ Error::Backend { .. }) => assert!(e.to_string().contains("-5"), "{e}"),
        other => panic!("a negative group id must be a typed error: {other:?}"),
    }
    f.finish().await;
}

pub async fn services(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    let printing = db
        .add_service("Printing", Validity::Valid, &"1".into())
        .await
        .unwrap();
    let email = db
        .add_service("Email", Validity::Valid, &"1".into())
        .await
        .unwrap();
    let retired = db
        .add_service("Fax", Validity::Invalid, &"1".into())
        .await
        .unwrap();
    match db.add_service("Email", Validity::Valid, &"1".into()).await {
        Err(Error::AlreadyExists {
            entity: Entity::Service,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(
        db.services().await.unwrap(),
        [printing.clone(), email.clone(), retired.clone()]
    );
    for s in [&printing, &email, &retired] {
        db.set_user_service("jdoe", s.id, true, &"1".into())
            .await
            .unwrap();
    }
    db.set_user_service("jdoe", printing.id, true, &"1".into())
        .await
        .unwrap();
    db.set_user_service(DEFAULT_SERVICES_LOGIN, email.id, true, &"1".into())
        .await
        .unwrap();
    // Only valid services count.
    assert_eq!(
        db.user_services("jdoe").await.unwrap(),
        [printing.clone(), email.clone()]
    );
    db.set_user_service("jdoe", printing.id, false, &"1".into())
        .await
        .unwrap();
    db.set_user_service("jdoe", printing.id, false, &"1".into())
        .await
        .unwrap();
    assert_eq!(
        db.user_services("jdoe").await.unwrap(),
        std::slice::from_ref(&email)
    );
    // No fallback here: the Directory applies default services.
    assert!(db.user_services("anna").await.unwrap().is_empty());
    assert_eq!(
        db.user_services(DEFAULT_SERVICES_LOGIN).await.unwrap(),
        [email]
    );
    match db.set_user_service("jdoe", 9999, true, &"1".into()).await {
        Err(Error::NotFound {
            entity: Entity::Service,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    f.finish().await;
}

pub async fn preferences(kind: Kind) {
    let f = Fixture::new(kind).await;
    let db = &f.db;
    db.set_preference("jdoe", "UserLanguage", "de")
        .await
        .unwrap();
    db.set_preference("jdoe", "UserLanguage", "en")
        .await
        .unwrap();
    db.set_preference("jdoe", "UserTheme", "dark")
        .await
        .unwrap();
    db.set_preference("jdoe", "Empty", "").await.unwrap();
    db.set_preference("anna", "UserLanguage", "EN")
        .await
        .unwrap();
    let expected: BTreeMap<String, String> =
        [("Empty", ""), ("UserLanguage", "en"), ("UserTheme", "dark")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    assert_eq!(db.preferences("jdoe").await.unwrap(), expected);
    assert!(
        db.preferences("JDOE").await.unwrap().is_empty(),
        "logins compare exactly"
    );
    assert_eq!(
        db.search_preferences("UserLanguage", None).await.unwrap(),
        [
            ("anna".to_owned(), "EN".to_owned()),
            ("jdoe".to_owned(), "en".to_owned())
        ]
    );
    assert_eq!(
        db.search_preferences("UserLanguage", Some("en"))
            .await
            .unwrap(),
        [("jdoe".to_owned(), "en".to_owned())]
    );
    db.delete_preference("jdoe", "UserTheme").await.unwrap();
    db.delete_preference("jdoe", "UserTheme").await.unwrap();
    assert!(
        !db.preferences("jdoe")
            .await
            .unwrap()
            .contains_key("UserTheme")
    );

    db.set_preference("john", "UserLanguage", "fr")
        .await
        .unwrap();
    db.set_preference("john", "UserTimeZone", "UTC")
        .await
        .unwrap();
    db.rename_preferences("jdoe", "john").await.unwrap();
    assert!(db.preferences("jdoe").await.unwrap().is_empty());
    let john = db.preferences("john").await.unwrap();
    assert_eq!(john["UserLanguage"], "en", "the renamed user's values win");
    assert_eq!(john["UserTimeZone"], "UTC");
    assert_eq!(john["Empty"], "");

    db.set_preference("john", "Token", "abc").await.unwrap();
    assert!(!db.take_preference("john", "Token", "ABC").await.unwrap());
    assert!(db.take_preference("john", "Token", "abc").await.unwrap());
    assert!(!db.take_preference("john", "Token", "abc").await.unwrap());
    assert!(!db.take_preference("nobody", "Token", "abc").await.unwrap());
    f.finish().await;
}

pub async fn concurrent_take_preference(kind: Kind) {
    let f = Fixture::new(kind).await;
    f.db.set_preference("jdoe", "Token", "secret")
        .await
        .unwrap();
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let db = Arc::clone(&f.db);
            tokio::spawn(
                async move { db.take_preference("jdoe", "Token", "secret").await.unwrap() },
            )
        })
        .collect();
    let mut taken = 0;
    for t in tasks {
        if t.await.unwrap() {
            taken += 1;
        }
    }
    assert_eq!(taken, 1);
    f.finish().await;
}

/// The map gains `UserRoom → room`, the table a `room` column: no code changes.
pub async fn extra_attribute_room(kind: Kind) {
    let mut config = test_config();
    config
        .settings
        .map
        .push(AttributeMapping::new("UserRoom", "Room", "room"));
    config.settings.search_fields.push("room".into());
    let f = Fixture::with_config(kind, config.clone()).await;
    f.exec("ALTER TABLE customer_user ADD room VARCHAR(250) NULL")
        .await;
    let db = &f.db;
    let map = &config.settings.map;
    db.add(
        &validated(
            map,
            new_user("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME").with("UserRoom", "B-201"),
        ),
        None,
        &"1".into(),
    )
    .await
    .unwrap();
    db.add(
        &validated(
            map,
            new_user("anna", "Anna", "Doe", "anna@acme-corp.com", "ACME").with("UserRoom", "A-101"),
        ),
        None,
        &"1".into(),
    )
    .await
    .unwrap();
    db.add(
        &validated(
            map,
            new_user("bob", "Bob", "Doe", "bob@acme-corp.com", "ACME"),
        ),
        None,
        &"1".into(),
    )
    .await
    .unwrap();
    let got = db.get("jdoe").await.unwrap().unwrap();
    assert_eq!(got.attribute("UserRoom").unwrap().to_text(), "B-201");
    assert_eq!(logins(&db.search(&term("b-2")).await.unwrap()), ["jdoe"]);
    let d = DetailSearch {
        order_by: vec![("UserRoom".into(), Direction::Ascending)],
        valid_only: true,
        ..Default::default()
    };
    assert_eq!(
        login_strings(&db.search_detail(&d).await.unwrap()),
        ["bob", "anna", "jdoe"]
    );
    let d = DetailSearch {
        conditions: vec![FieldCondition {
            attribute: "UserRoom".into(),
            pattern: Pattern::from_wildcards("a-*"),
        }],
        valid_only: true,
        ..Default::default()
    };
    assert_eq!(
        login_strings(&db.search_detail(&d).await.unwrap()),
        ["anna"]
    );
    let mut moved = got.clone();
    moved.extra.insert("UserRoom".into(), "C-301".into());
    db.update(&got.login, &moved, Expected::Any, &"1".into())
        .await
        .unwrap();
    assert_eq!(
        db.get("jdoe")
            .await
            .unwrap()
            .unwrap()
            .attribute("UserRoom")
            .unwrap()
            .to_text(),
        "C-301"
    );
    f.finish().await;
}

/// A search is one statement; reading a user with relations and preferences is a fixed number
/// of statements, however many rows they have.
pub async fn no_n_plus_one(kind: Kind) {
    let test_db = TestDb::new(kind).await;
    let config = test_config();
    let statements = Arc::new(AtomicUsize::new(0));
    let mut conn = clientele_db::sea_orm::Database::connect(clientele_db::connect_options(
        &test_db.url,
        &config,
    ))
    .await
    .unwrap();
    let counter = Arc::clone(&statements);
    conn.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    clientele_db::migrate(&conn).await.unwrap();
    let db = DbBackend::from_connection(conn, config).unwrap();
    for i in 0..30 {
        db.add(
            &user(
                &format!("user{i:02}"),
                "Many",
                "Users",
                &format!("u{i}@acme-corp.com"),
                "ACME",
            ),
            None,
            &"1".into(),
        )
        .await
        .unwrap();
        db.set_user_company("user00", &format!("C{i}"), true, &"1".into())
            .await
            .unwrap();
        db.set_preference("user00", &format!("key{i}"), "v")
            .await
            .unwrap();
    }
    // The first search also looks up which search indexes exist (once a minute), whatever the
    // number of rows.
    statements.store(0, Ordering::SeqCst);
    let found = db.search(&term("users")).await.unwrap();
    assert_eq!(found.len(), 30);
    let lookup = match kind.engine() {
        clientele_db::sea_orm::DbBackend::Sqlite => 2,
        _ => 1,
    };
    assert_eq!(statements.load(Ordering::SeqCst), 1 + lookup);
    statements.store(0, Ordering::SeqCst);
    let found = db.search(&term("users")).await.unwrap();
    assert_eq!(found.len(), 30);
    assert_eq!(
        statements.load(Ordering::SeqCst),
        1,
        "one statement per search"
    );

    statements.store(0, Ordering::SeqCst);
    let d = DetailSearch {
        valid_only: true,
        ..Default::default()
    };
    assert_eq!(db.search_detail(&d).await.unwrap().len(), 30);
    assert_eq!(db.count_detail(&d).await.unwrap(), 30);
    assert_eq!(statements.load(Ordering::SeqCst), 2);

    statements.store(0, Ordering::SeqCst);
    db.get("user00").await.unwrap().unwrap();
    assert_eq!(db.user_companies("user00").await.unwrap().len(), 30);
    assert_eq!(db.preferences("user00").await.unwrap().len(), 30);
    assert_eq!(statements.load(Ordering::SeqCst), 3);
    let _ = db.connection().close_by_ref().await;
    test_db.drop().await;
}

async fn race(kind: Kind, same_login: bool) {
    let f = Fixture::new(kind).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let db = Arc::clone(&f.db);
            tokio::spawn(async move {
                let (login, email) = if same_login {
                    // Case variants of one login, each with its own address.
                    (
                        if i % 2 == 0 {
                            "racer".to_owned()
                        } else {
                            "RACER".to_owned()
                        },
                        format!("r{i}@acme-corp.com"),
                    )
                } else {
                    (
                        format!("racer{i}"),
                        if i % 2 == 0 {
                            "race@acme-corp.com".into()
                        } else {
                            "RACE@acme-corp.com".into()
                        },
                    )
                };
                db.add(
                    &user(&login, "Race", "Condition", &email, "ACME"),
                    None,
                    &"1".into(),
                )
                .await
            })
        })
        .collect();
    let mut ok = 0;
    let mut exists = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(Error::AlreadyExists { field, .. }) => {
                assert_eq!(field, if same_login { "UserLogin" } else { "UserEmail" });
                exists += 1;
            }
            Err(e) => panic!("unexpected error under contention: {e:?}"),
        }
    }
    assert_eq!((ok, exists), (1, 49));
    let mut all = term("racer");
    all.valid_only = false;
    assert_eq!(f.db.search(&all).await.unwrap().len(), 1);
    f.finish().await;
}

pub async fn race_same_login(kind: Kind) {
    race(kind, true).await;
}

pub async fn race_same_email(kind: Kind) {
    race(kind, false).await;
}

pub async fn migrate_twice(kind: Kind) {
    let f = Fixture::new(kind).await;
    clientele_db::migrate(f.db.connection()).await.unwrap();
    f.db.add(
        &user("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"),
        None,
        &"1".into(),
    )
    .await
    .unwrap();
    clientele_db::migrate(f.db.connection()).await.unwrap();
    assert!(f.db.get("jdoe").await.unwrap().is_some());
    f.finish().await;
}

/// Every column of OTOBO's `customer_user`, in its order.
const USER_COLUMNS: &[&str] = &[
    "id",
    "login",
    "email",
    "customer_id",
    "pw",
    "title",
    "first_name",
    "last_name",
    "phone",
    "fax",
    "mobile",
    "street",
    "zip",
    "city",
    "country",
    "comments",
    "valid_id",
    "create_time",
    "create_by",
    "change_time",
    "change_by",
];

/// Every column of OTOBO's `customer_company`, in its order.
const COMPANY_COLUMNS: &[&str] = &[
    "customer_id",
    "name",
    "street",
    "zip",
    "city",
    "country",
    "url",
    "comments",
    "valid_id",
    "create_time",
    "create_by",
    "change_time",
    "change_by",
];

/// The row of `table` whose `key` column is `value`, every column of `columns` as the
/// database's text of it (`NULL` as `None`, `''` as `Some("")`): what another program reading
/// the table sees.
pub async fn raw_row(
    f: &Fixture,
    table: &str,
    columns: &[&str],
    key: &str,
    value: &str,
) -> BTreeMap<String, Option<String>> {
    use clientele_db::sea_orm::{ConnectionTrait, Statement};
    let text = match f.test_db.kind {
        Kind::MySql => "CHAR",
        _ => "TEXT",
    };
    let select: Vec<String> = columns
        .iter()
        .map(|c| format!("CAST({c} AS {text})"))
        .collect();
    let sql = format!(
        "SELECT {} FROM {table} WHERE {key} = '{value}'",
        select.join(", ")
    );
    let conn = f.db.connection();
    let rows = conn
        .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "one row of {table} with {key} = {value:?}");
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let v = rows[0]
                .try_get_by_index::<Option<String>>(i)
                .unwrap_or_else(|e| panic!("{table}.{c}: {e}"));
            ((*c).to_owned(), v)
        })
        .collect()
}

/// `after` equals `before` in every column but `changed`.
fn same_except(
    before: &BTreeMap<String, Option<String>>,
    after: &BTreeMap<String, Option<String>>,
    changed: &[&str],
) {
    for (column, old) in before {
        if !changed.contains(&column.as_str()) {
            assert_eq!(&after[column], old, "{column} must keep its stored bytes");
        }
    }
}

/// A user as OTOBO's `CustomerUserAdd` writes it: `''` in every empty optional column, a
/// sha256-hex password, agent ids in the audit columns.
const OTOBO_USER: &str = "INSERT INTO customer_user (login, email, customer_id, pw, title, \
     first_name, last_name, phone, fax, mobile, street, zip, city, country, comments, valid_id, \
     create_time, create_by, change_time, change_by) VALUES ('mmustermann', \
     'max@mustermann-gmbh.de', 'MUSTER', \
     'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', '', 'Max', \
     'Mustermann', '', '', '', '', '', 'München', '', '', 1, '2023-05-04 10:11:12', 2, \
     '2023-05-04 10:11:12', 3)";

/// A phone-only update of a row OTOBO wrote changes the phone and the audit columns, and
/// every other column keeps its bytes: OTOBO's `''` stays `''`, the password and the creation
/// data stay as they were.
pub async fn user_update_keeps_otobo_row(kind: Kind) {
    let f = Fixture::new(kind).await;
    f.exec(OTOBO_USER).await;
    let row = |f| raw_row(f, "customer_user", USER_COLUMNS, "login", "mmustermann");
    let before = row(&f).await;
    assert_eq!(before["fax"].as_deref(), Some(""));

    // OTOBO's empty strings read as no value, as NULL does.
    let max = f.db.get("mmustermann").await.unwrap().unwrap();
    assert_eq!((max.title.as_deref(), max.fax.as_deref()), (None, None));
    assert_eq!(
        (max.phone.as_deref(), max.city.as_deref()),
        (None, Some("München"))
    );

    let mut changed = max.clone();
    changed.phone = Some("+49 89 123".into());
    f.db.update(&max.login, &changed, Expected::Any, &"5".into())
        .await
        .unwrap();
    let after = row(&f).await;
    same_except(&before, &after, &["phone", "change_time", "change_by"]);
    assert_eq!(after["phone"].as_deref(), Some("+49 89 123"));
    assert_eq!(after["change_by"].as_deref(), Some("5"));
    assert_ne!(after["change_time"], before["change_time"]);

    // Emptying a value writes what OTOBO writes for an empty field, and nothing else moves.
    let mut cleared = f.db.get("mmustermann").await.unwrap().unwrap();
    cleared.city = None;
    f.db.update(&max.login, &cleared, Expected::Any, &"5".into())
        .await
        .unwrap();
    let last = row(&f).await;
    same_except(&after, &last, &["city", "change_time"]);
    assert_eq!(last["city"].as_deref(), Some(""));
    assert_eq!(f.db.get("mmustermann").await.unwrap().unwrap().city, None);
    f.finish().await;
}

/// An add writes `''` in the empty text columns, as OTOBO's `CustomerUserAdd` does, and leaves
/// the password `NULL` when there is no hash (OTOBO sets it with `SetPassword` afterwards).
pub async fn user_add_writes_otobo_empties(kind: Kind) {
    let f = Fixture::new(kind).await;
    f.db.add(
        &user("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"),
        None,
        &"1".into(),
    )
    .await
    .unwrap();
    let row = raw_row(&f, "customer_user", USER_COLUMNS, "login", "jdoe").await;
    for column in [
        "title", "phone", "fax", "mobile", "street", "zip", "city", "country", "comments",
    ] {
        assert_eq!(row[column].as_deref(), Some(""), "{column}");
    }
    assert_eq!(row["pw"], None, "no hash, no password");
    assert_eq!(row["first_name"].as_deref(), Some("John"));
    assert_eq!(row["valid_id"].as_deref(), Some("1"));
    let got = f.db.get("jdoe").await.unwrap().unwrap();
    assert_eq!((got.title, got.phone, got.comment), (None, None, None));
    f.finish().await;
}

/// The company counterpart of [`user_update_keeps_otobo_row`]: a city-only update of a row
/// OTOBO wrote keeps every other column's bytes.
pub async fn company_update_keeps_otobo_row(kind: Kind) {
    let f = Fixture::new(kind).await;
    f.exec(
        "INSERT INTO customer_company (customer_id, name, street, zip, city, country, url, \
         comments, valid_id, create_time, create_by, change_time, change_by) VALUES ('MUSTER', \
         'Mustermann GmbH', 'Hauptstr. 1', '', '', '', '', '', 1, '2023-05-04 10:11:12', 2, \
         '2023-05-04 10:11:12', 2)",
    )
    .await;
    let row = |f| {
        raw_row(
            f,
            "customer_company",
            COMPANY_COLUMNS,
            "customer_id",
            "MUSTER",
        )
    };
    let before = row(&f).await;
    let muster = f.db.company("MUSTER").await.unwrap().unwrap();
    assert_eq!(
        (muster.url.as_deref(), muster.city.as_deref()),
        (None, None)
    );
    assert_eq!(muster.street.as_deref(), Some("Hauptstr. 1"));

    let mut changed = muster.clone();
    changed.city = Some("München".into());
    f.db.update_company(&changed, &"4".into()).await.unwrap();
    let after = row(&f).await;
    same_except(&before, &after, &["city", "change_time", "change_by"]);
    assert_eq!(after["city"].as_deref(), Some("München"));
    assert_eq!(after["change_by"].as_deref(), Some("4"));
    f.finish().await;
}

/// A company add writes `''` in the empty text columns, as rows OTOBO's company screen adds
/// hold them.
pub async fn company_add_writes_otobo_empties(kind: Kind) {
    let f = Fixture::new(kind).await;
    f.db.add_company(&company("ACME", "Acme Corporation"), &"1".into())
        .await
        .unwrap();
    let row = raw_row(
        &f,
        "customer_company",
        COMPANY_COLUMNS,
        "customer_id",
        "ACME",
    )
    .await;
    for column in ["street", "zip", "city", "country", "url", "comments"] {
        assert_eq!(row[column].as_deref(), Some(""), "{column}");
    }
    assert_eq!(row["name"].as_deref(), Some("Acme Corporation"));
    let got = f.db.company("ACME").await.unwrap().unwrap();
    assert_eq!((got.url, got.comment), (None, None));
    f.finish().await;
}

/// An integer attribute kept in a text column (a table of its own shape) reads `''` as no
/// value, as it reads `NULL`, and an update that does not change it leaves it `''`.
pub async fn empty_text_in_integer_column_reads_as_absent(kind: Kind) {
    let mut config = test_config();
    config.settings.map.push(
        AttributeMapping::new("UserLevel", "Level", "level")
            .storage_type(clientele_model::StorageType::Integer),
    );
    let f = Fixture::with_config(kind, config).await;
    f.exec("ALTER TABLE customer_user ADD level VARCHAR(10) NULL")
        .await;
    f.exec(OTOBO_USER).await;
    f.exec("UPDATE customer_user SET level = '' WHERE login = 'mmustermann'")
        .await;
    let max = f.db.get("mmustermann").await.unwrap().unwrap();
    assert_eq!(max.attribute("UserLevel"), None);
    let mut changed = max.clone();
    changed.phone = Some("+49 89 123".into());
    f.db.update(&max.login, &changed, Expected::Any, &"1".into())
        .await
        .unwrap();
    let row = raw_row(&f, "customer_user", &["level"], "login", "mmustermann").await;
    assert_eq!(row["level"].as_deref(), Some(""));
    f.exec("UPDATE customer_user SET level = NULL WHERE login = 'mmustermann'")
        .await;
    let max = f.db.get("mmustermann").await.unwrap().unwrap();
    assert_eq!(max.attribute("UserLevel"), None);
    f.exec("UPDATE customer_user SET level = '7' WHERE login = 'mmustermann'")
        .await;
    let max = f.db.get("mmustermann").await.unwrap().unwrap();
    assert_eq!(max.attribute("UserLevel"), Some(7.into()));
    f.finish().await;
}

/// `NULL` (Clientele's older writes, other tools) and `''` (OTOBO) in one table read alike:
/// both are no value in a record, in a detail condition and in a detail ordering, where they
/// sort together with the login breaking ties.
pub async fn null_and_empty_read_alike(kind: Kind) {
    let f = Fixture::new(kind).await;
    let at = "'2023-05-04 10:11:12'";
    for (login, value) in [("anna", "NULL"), ("bob", "''"), ("carl", "'555'")] {
        f.exec(&format!(
            "INSERT INTO customer_user (login, email, customer_id, first_name, last_name, phone, \
             city, valid_id, create_time, create_by, change_time, change_by) VALUES ('{login}', \
             '{login}@acme-corp.com', 'ACME', 'F', 'L', {value}, {value}, 1, {at}, 1, {at}, 1)"
        ))
        .await;
    }
    for (id, value) in [("A", "NULL"), ("B", "''")] {
        f.exec(&format!(
            "INSERT INTO customer_company (customer_id, name, url, comments, valid_id, \
             create_time, create_by, change_time, change_by) VALUES ('{id}', 'Company {id}', \
             {value}, {value}, 1, {at}, 1, {at}, 1)"
        ))
        .await;
    }
    let db = &f.db;
    for login in ["anna", "bob"] {
        let u = db.get(login).await.unwrap().unwrap();
        assert_eq!((u.phone, u.city), (None, None), "{login}");
    }
    for id in ["A", "B"] {
        let c = db.company(id).await.unwrap().unwrap();
        assert_eq!((c.url, c.comment), (None, None), "{id}");
    }
    let order = |direction| DetailSearch {
        order_by: vec![("UserPhone".into(), direction)],
        valid_only: true,
        ..Default::default()
    };
    let run = |d: DetailSearch| async move { login_strings(&db.search_detail(&d).await.unwrap()) };
    assert_eq!(
        run(order(Direction::Ascending)).await,
        ["bob", "anna", "carl"]
    );
    assert_eq!(
        run(order(Direction::Descending)).await,
        ["carl", "bob", "anna"]
    );
    let any_phone = DetailSearch {
        conditions: vec![FieldCondition {
            attribute: "UserPhone".into(),
            pattern: Pattern::from_wildcards("*"),
        }],
        valid_only: true,
        ..Default::default()
    };
    assert_eq!(run(any_phone).await, ["carl"]);
    f.finish().await;
}

/// A database holding case variants of one login and of one customer id, as OTOBO's schema
/// allows on PostgreSQL and SQLite (Clientele's migration forbids them; here its two
/// lower-case unique indexes are dropped again): a look-up takes the exact-case row, and one
/// that matches several rows, none exactly, is [`Error::Ambiguous`] naming them all — for
/// reads, updates and passwords alike, and nothing is written.
pub async fn case_variants_are_never_guessed(kind: Kind) {
    let f = Fixture::new(kind).await;
    f.exec("DROP INDEX customer_user_login_lower").await;
    f.exec("DROP INDEX customer_company_customer_id_lower")
        .await;
    let at = "'2023-05-04 10:11:12'";
    for (id, name) in [("acme", "Acme lower"), ("ACME", "Acme upper")] {
        f.exec(&format!(
            "INSERT INTO customer_company (customer_id, name, valid_id, create_time, create_by, \
             change_time, change_by) VALUES ('{id}', '{name}', 1, {at}, 1, {at}, 1)"
        ))
        .await;
    }
    for (login, first) in [("jdoe", "lower"), ("JDoe", "mixed")] {
        f.exec(&format!(
            "INSERT INTO customer_user (login, email, customer_id, pw, first_name, last_name, \
             valid_id, create_time, create_by, change_time, change_by) VALUES ('{login}', \
             '{first}@acme-corp.com', 'ACME', 'hash-{first}', '{first}', 'Doe', 1, {at}, 1, \
             {at}, 1)"
        ))
        .await;
    }
    let db = &f.db;

    // The exact case wins.
    assert_eq!(
        db.company("acme").await.unwrap().unwrap().name,
        "Acme lower"
    );
    assert_eq!(
        db.company("ACME").await.unwrap().unwrap().name,
        "Acme upper"
    );
    assert_eq!(db.get("jdoe").await.unwrap().unwrap().first_name, "lower");
    assert_eq!(db.get("JDoe").await.unwrap().unwrap().first_name, "mixed");
    let (login, hash) = db.password_hash("JDoe").await.unwrap().unwrap();
    assert_eq!(
        (login.as_str(), hash.as_deref()),
        ("JDoe", Some("hash-mixed"))
    );

    // No exact case: never an arbitrary one.
    let company_ambiguity = |e: Error| {
        assert_ambiguous(
            e,
            Entity::Company,
            "CustomerID",
            "Acme",
            &["ACME", "acme"],
            "db-companies",
        )
    };
    company_ambiguity(db.company("Acme").await.unwrap_err());
    let user_ambiguity = |e: Error| {
        assert_ambiguous(
            e,
            Entity::CustomerUser,
            "UserLogin",
            "JDOE",
            &["JDoe", "jdoe"],
            "db",
        )
    };
    user_ambiguity(db.get("JDOE").await.unwrap_err());
    user_ambiguity(db.password_hash("JDOE").await.unwrap_err());
    // The batched look-up answers each login alike: the exact case, the ambiguity, nobody.
    let many = db
        .get_many(&["JDOE", "jdoe", "nobody", "JDoe", "JDOE", "jDOE"])
        .await
        .unwrap();
    let mut many = many.into_iter();
    user_ambiguity(many.next().unwrap().unwrap_err());
    assert_eq!(many.next().unwrap().unwrap().unwrap().first_name, "lower");
    assert_eq!(many.next().unwrap().unwrap(), None);
    assert_eq!(many.next().unwrap().unwrap().unwrap().first_name, "mixed");
    user_ambiguity(many.next().unwrap().unwrap_err());
    match many.next().unwrap() {
        Err(Error::Ambiguous { key, .. }) => assert_eq!(key, "jDOE"),
        other => panic!("jDOE is ambiguous too, got {other:?}"),
    }
    // A login by the ambiguous spelling fails like an unknown login: it does not tell that
    // the login exists.
    let dir = clientele_directory::Directory::builder()
        .writable_source(f.db.clone())
        .company_store(f.db.clone())
        .build()
        .unwrap();
    match dir
        .authenticate("JDOE", &clientele_model::Password::new("whatever"))
        .await
    {
        Err(Error::AuthenticationFailed) => {}
        other => panic!("expected AuthenticationFailed, got {other:?}"),
    }

    // Writes by an ambiguous key change nothing.
    let users_before = (
        raw_row(&f, "customer_user", USER_COLUMNS, "login", "jdoe").await,
        raw_row(&f, "customer_user", USER_COLUMNS, "login", "JDoe").await,
    );
    let jdoe = Login::new("JDOE").unwrap();
    let mut changed = db.get("jdoe").await.unwrap().unwrap();
    changed.phone = Some("123".into());
    user_ambiguity(
        db.update(&jdoe, &changed, Expected::Any, &"1".into())
            .await
            .unwrap_err(),
    );
    user_ambiguity(db.set_password_hash(&jdoe, "new-hash").await.unwrap_err());
    let users_after = (
        raw_row(&f, "customer_user", USER_COLUMNS, "login", "jdoe").await,
        raw_row(&f, "customer_user", USER_COLUMNS, "login", "JDoe").await,
    );
    assert_eq!(users_before, users_after);
    let mut acme = db.company("acme").await.unwrap().unwrap();
    acme.customer_id = clientele_model::CustomerId::new("Acme").unwrap();
    acme.comment = Some("changed".into());
    company_ambiguity(db.update_company(&acme, &"1".into()).await.unwrap_err());
    assert_eq!(db.company("acme").await.unwrap().unwrap().comment, None);
    assert_eq!(db.company("ACME").await.unwrap().unwrap().comment, None);
    // An add of a third variant is refused as taken.
    match db
        .add_company(&company("Acme", "Acme third"), &"1".into())
        .await
    {
        Err(Error::AlreadyExists { field, .. }) => assert_eq!(field, "CustomerID"),
        other => panic!("{other:?}"),
    }

    // The exact case is written, and only it.
    db.update(
        &Login::new("jdoe").unwrap(),
        &changed,
        Expected::Any,
        &"1".into(),
    )
    .await
    .unwrap();
    assert_eq!(
        db.get("jdoe").await.unwrap().unwrap().phone.as_deref(),
        Some("123")
    );
    assert_eq!(db.get("JDoe").await.unwrap().unwrap().phone, None);
    f.finish().await;
}

/// A configuration with the default map, for tests that tweak one thing.
pub fn config() -> DbConfig {
    test_config()
}

/// Who a write is by, resolved before anything is written: on a database without OTOBO's agent
/// table an agent id or nobody; with it, an agent it holds, by id or by login. Anything else is
/// refused naming the field `by`, with nothing written.
pub async fn audit_actors(kind: Kind) {
    use clientele_model::{Actor, ValidationError};

    fn refused_by(result: clientele_backend::Result<()>, actor: &str) {
        match result {
            Err(Error::Invalid(ValidationError::Invalid {
                field,
                value,
                reason,
            })) => {
                assert_eq!((field.as_str(), value.as_str()), ("by", actor), "{reason}");
            }
            other => panic!("{actor}: expected a validation error on `by`, got {other:?}"),
        }
    }

    // A database Clientele created: no agent table.
    let f = Fixture::new(kind).await;
    f.db.add(
        &user("a", "A", "A", "a@acme-corp.com", "ACME"),
        None,
        &"99".into(),
    )
    .await
    .unwrap();
    let a = f.db.get("a").await.unwrap().unwrap();
    assert_eq!(a.audit.created_by.as_deref(), Some("99"));
    let b = user("b", "B", "B", "b@acme-corp.com", "ACME");
    refused_by(f.db.add(&b, None, &"admin".into()).await, "admin");
    assert!(f.db.get("b").await.unwrap().is_none());
    refused_by(
        f.db.add_company(&company("X", "X Inc"), &"admin".into())
            .await,
        "admin",
    );
    assert!(f.db.company("X").await.unwrap().is_none());
    assert_eq!(f.db.resolve_actor(&Actor::System).await.unwrap().get(), 1);
    f.finish().await;

    // OTOBO's agent table, as its installer leaves it (root@localhost is agent 1), plus one agent.
    let f = Fixture::new(kind).await;
    f.exec(
        "CREATE TABLE users (id INTEGER NOT NULL, login VARCHAR(191) NOT NULL, \
         pw VARCHAR(128) NOT NULL, PRIMARY KEY (id))",
    )
    .await;
    f.exec("INSERT INTO users (id, login, pw) VALUES (1, 'root@localhost', 'x'), (2, 'agent.smith', 'x')")
        .await;
    for actor in ["99", "admin"] {
        refused_by(f.db.add(&b, None, &actor.into()).await, actor);
        // customer_company has no foreign key in OTOBO: refused all the same.
        refused_by(
            f.db.add_company(&company("X", "X Inc"), &actor.into())
                .await,
            actor,
        );
    }
    assert!(f.db.get("b").await.unwrap().is_none());
    assert!(f.db.company("X").await.unwrap().is_none());
    f.db.add(&b, None, &"root@localhost".into()).await.unwrap();
    let got = f.db.get("b").await.unwrap().unwrap();
    assert_eq!(got.audit.created_by.as_deref(), Some("1"));
    f.db.add_company(&company("X", "X Inc"), &"2".into())
        .await
        .unwrap();
    let x = f.db.company("X").await.unwrap().unwrap();
    assert_eq!(x.audit.created_by.as_deref(), Some("2"));
    f.db.add(
        &user("c", "C", "C", "c@acme-corp.com", "ACME"),
        None,
        &"agent.smith".into(),
    )
    .await
    .unwrap();
    let c = f.db.get("c").await.unwrap().unwrap();
    assert_eq!(c.audit.created_by.as_deref(), Some("2"));
    assert_eq!(f.db.resolve_actor(&Actor::System).await.unwrap().get(), 1);
    f.finish().await;
}

/// `e` is `Ambiguous` about this entity, field and key, naming every stored match (also in its
/// text) and the backend.
fn assert_ambiguous(
    e: Error,
    entity: Entity,
    field: &str,
    key: &str,
    matches: &[&str],
    backend: &str,
) {
    let text = e.to_string();
    match e {
        Error::Ambiguous {
            entity: got,
            field: f,
            key: k,
            matches: m,
            backend: b,
        } => {
            assert_eq!(got, entity);
            assert_eq!((f.as_str(), k.as_str()), (field, key));
            assert_eq!(m, matches);
            assert_eq!(b, backend);
            for value in matches {
                assert!(text.contains(&format!("\"{value}\"")), "{text}");
            }
        }
        other => panic!("expected Ambiguous naming {matches:?}, got {other:?}"),
    }
}
