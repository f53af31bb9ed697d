//! The group's end of the permission views agrees with the user's end: over random direct
//! grants, primary, secondary and related companies, company grants in both contexts, invalid
//! groups and users, always-groups of both kinds and the support switch, a valid user is
//! reported as an effective member of group G for type T exactly when
//! `Directory::has_permission` says so — always-groups as "every valid user", never
//! enumerated — and the origins of a user's permissions unite to exactly its effective set.

use std::sync::Arc;

use clientele_backend::{CompanySettings, InMemoryBackend, SourceSettings};
use clientele_directory::{Directory, DirectoryConfig, EveryValidUser};
use clientele_model::attribute::{AttributeMapping, AttributeValue};
use clientele_model::{NewCustomerCompany, NewCustomerUser, Validity, keys};
use clientele_password::{Argon2Params, PasswordConfig};
use clientele_permissions::{PermissionConfig, PermissionTypes};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const SAME: &str = "Ticket::CustomerID::Same";
const OTHER: &str = "Ticket::CustomerID::Other";
const TYPES: [&str; 3] = ["ro", "move_into", "rw"];
const GROUPS: [&str; 5] = ["users", "g2", "g3", "g4", "g5"];
/// `acme2` contains `acme`: a search for secondary ids finds near misses the views must drop.
const COMPANIES: [&str; 4] = ["acme", "acme2", "beta", "gamma"];
const LOGINS: [&str; 5] = ["anna", "bob", "carl", "dora", "emil"];

#[derive(Clone, Debug)]
struct User {
    primary: usize,
    secondary: Vec<usize>,
    related: Vec<usize>,
    valid: bool,
}

#[derive(Clone, Debug)]
struct Scenario {
    support: bool,
    exclude_primary: bool,
    always: Vec<&'static str>,
    company_always: Vec<&'static str>,
    invalid_groups: Vec<&'static str>,
    users: Vec<User>,
    user_grants: Vec<(usize, usize, Vec<&'static str>)>,
    company_grants: Vec<(usize, usize, bool, Vec<&'static str>)>,
}

fn some_of<T: Clone + std::fmt::Debug + 'static>(items: Vec<T>) -> impl Strategy<Value = Vec<T>> {
    let n = items.len();
    prop::sample::subsequence(items, 0..=n)
}

fn user() -> impl Strategy<Value = User> {
    (
        0..COMPANIES.len(),
        some_of((0..COMPANIES.len()).collect()),
        some_of((0..COMPANIES.len()).collect()),
        prop::bool::weighted(0.8),
    )
        .prop_map(|(primary, secondary, related, valid)| User {
            primary,
            secondary,
            related,
            valid,
        })
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::bool::weighted(0.85),
        any::<bool>(),
        some_of(vec!["users", "g2"]),
        some_of(vec!["users", "g3"]),
        some_of(vec!["g4", "g5"]),
        prop::collection::vec(user(), LOGINS.len()),
        prop::collection::vec(
            (0..LOGINS.len(), 0..GROUPS.len(), some_of(TYPES.to_vec())),
            0..8,
        ),
        prop::collection::vec(
            (
                0..COMPANIES.len(),
                0..GROUPS.len(),
                prop::bool::weighted(0.7),
                some_of(TYPES.to_vec()),
            ),
            0..8,
        ),
    )
        .prop_map(
            |(
                support,
                exclude_primary,
                always,
                company_always,
                invalid_groups,
                users,
                user_grants,
                company_grants,
            )| Scenario {
                support,
                exclude_primary,
                always,
                company_always,
                invalid_groups,
                users,
                user_grants,
                company_grants,
            },
        )
}

async fn directory(s: &Scenario) -> Directory {
    let mut settings = SourceSettings::default();
    settings.map.push(AttributeMapping::new(
        keys::CUSTOMER_IDS,
        "CustomerIDs",
        "customer_ids",
    ));
    settings.exclude_primary_customer_id = s.exclude_primary;
    let store = Arc::new(InMemoryBackend::with_settings(
        settings,
        CompanySettings::default(),
    ));
    let config = DirectoryConfig {
        passwords: PasswordConfig {
            argon2: Argon2Params {
                memory_kib: 8,
                iterations: 1,
                parallelism: 1,
            },
            ..PasswordConfig::default()
        },
        permissions: PermissionConfig {
            customer_group_support: s.support,
            other_customers_context: true,
            permission_types: PermissionTypes::new(TYPES).unwrap(),
            always_groups: s.always.iter().map(|g| g.to_string()).collect(),
            company_always_groups: s.company_always.iter().map(|g| g.to_string()).collect(),
            ..PermissionConfig::default()
        },
        ..DirectoryConfig::default()
    };
    let dir = Directory::in_memory_with(store, config).unwrap();
    for c in COMPANIES {
        dir.add_company(NewCustomerCompany::new(c, &format!("{c} Inc.")), "t")
            .await
            .unwrap();
    }
    for g in GROUPS {
        dir.add_group(g, "t").await.unwrap();
    }
    for g in &s.invalid_groups {
        dir.set_group_validity(g, Validity::Invalid).await.unwrap();
    }
    for (login, u) in LOGINS.iter().zip(&s.users) {
        let mut new = NewCustomerUser::new(
            login,
            "First",
            "Last",
            &format!("{login}@example.test"),
            COMPANIES[u.primary],
        );
        if !u.valid {
            new = new.validity(Validity::Invalid);
        }
        if !u.secondary.is_empty() {
            let ids = u.secondary.iter().map(|&c| COMPANIES[c].to_owned());
            new = new.with(keys::CUSTOMER_IDS, AttributeValue::List(ids.collect()));
        }
        dir.add_customer_user(new, "t").await.unwrap();
        for &c in &u.related {
            dir.relate_company(login, COMPANIES[c], true, "t")
                .await
                .unwrap();
        }
    }
    for (login, group, types) in &s.user_grants {
        dir.grant_user(LOGINS[*login], GROUPS[*group], types, "t")
            .await
            .unwrap();
    }
    for (company, group, same, types) in &s.company_grants {
        let context = if *same { SAME } else { OTHER };
        dir.grant_company(COMPANIES[*company], GROUPS[*group], context, types, "t")
            .await
            .unwrap();
    }
    dir
}

async fn check(s: &Scenario) -> Result<(), TestCaseError> {
    let dir = directory(s).await;
    for group in GROUPS {
        let members = dir.effective_group_members(group).await.unwrap();
        let always = s.always.contains(&group);
        let valid_group = !s.invalid_groups.contains(&group);
        let expected_everyone = match (valid_group, s.support, always) {
            (false, _, _) => None,
            (true, false, _) => Some(EveryValidUser::SupportOff),
            (true, true, true) => Some(EveryValidUser::AlwaysGroup),
            (true, true, false) => None,
        };
        prop_assert_eq!(members.every_valid_user, expected_everyone, "{}", group);
        if members.every_valid_user.is_some() {
            prop_assert!(
                members.members.is_empty(),
                "never enumerated: {:?}",
                members
            );
        }
        for member in &members.members {
            let mut united: Vec<&str> = Vec::new();
            for origin in &member.origins {
                united.extend(origin.permissions().iter().map(String::as_str));
            }
            for t in TYPES {
                prop_assert_eq!(
                    united.contains(&t),
                    member.permissions.iter().any(|p| p == t)
                );
            }
        }
        for (login, u) in LOGINS.iter().zip(&s.users) {
            let listed = members.member(login);
            if !u.valid {
                prop_assert!(listed.is_none(), "invalid {} listed on {}", login, group);
                continue;
            }
            let has_customer_id = !dir.customer_ids(login).await.unwrap().is_empty();
            for t in TYPES {
                let reported = members.every_valid_user.is_some()
                    || (members.every_valid_user_with_customer_id && has_customer_id)
                    || listed.is_some_and(|m| m.permissions.iter().any(|p| p == t));
                let has = dir.has_permission(login, group, t).await.unwrap();
                prop_assert_eq!(
                    reported,
                    has,
                    "{} {} on {}: {:?}",
                    login,
                    t,
                    group,
                    &members
                );
            }
        }
    }
    // The user's end: the origins unite to the effective set, and the rows are those of
    // `effective_permissions`.
    for login in LOGINS {
        let plain = dir.effective_permissions(login).await.unwrap();
        let explained = dir.effective_permissions_with_origins(login).await.unwrap();
        prop_assert_eq!(plain.len(), explained.len());
        for (p, e) in plain.iter().zip(&explained) {
            prop_assert_eq!(&p.group, &e.group);
            prop_assert_eq!(&p.effective, &e.effective);
            prop_assert_eq!(&p.direct, &e.direct);
            let mut united: Vec<&str> = e
                .origins
                .iter()
                .flat_map(|o| o.permissions().iter().map(String::as_str))
                .collect();
            united.sort();
            united.dedup();
            let mut effective: Vec<&str> = e.effective.iter().map(String::as_str).collect();
            effective.sort();
            prop_assert_eq!(
                united,
                effective,
                "{} on {}: {:?}",
                login,
                &e.group,
                &e.origins
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn group_members_agree_with_has_permission(s in scenario()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(check(&s))?;
    }
}

/// The raw view lists stored grants per user and per company and context; the effective view
/// names a member's company and context.
#[tokio::test]
async fn raw_and_effective_views_of_one_group() {
    let s = Scenario {
        support: true,
        exclude_primary: false,
        always: vec!["users"],
        company_always: vec![],
        invalid_groups: vec![],
        users: vec![
            User {
                primary: 0,
                secondary: vec![],
                related: vec![2],
                valid: true,
            };
            LOGINS.len()
        ],
        user_grants: vec![(0, 1, vec!["ro"])],
        company_grants: vec![(2, 1, true, vec!["rw"]), (3, 1, false, vec!["ro"])],
    };
    let dir = directory(&s).await;
    let raw = dir.group_members("g2").await.unwrap();
    assert_eq!(raw.users.len(), 1);
    assert_eq!(raw.users[0].login, "anna");
    assert_eq!(raw.users[0].permissions, ["ro"]);
    let companies: Vec<(&str, &str, Vec<String>)> = raw
        .companies
        .iter()
        .map(|c| {
            (
                c.customer_id.as_str(),
                c.context.as_str(),
                c.permissions.clone(),
            )
        })
        .collect();
    assert_eq!(
        companies,
        [
            ("beta", SAME, vec!["rw".to_owned()]),
            ("gamma", OTHER, vec!["ro".to_owned()]),
        ]
    );
    assert!(!raw.always_group);
    assert!(dir.group_members("users").await.unwrap().always_group);

    let eff = dir.effective_group_members("g2").await.unwrap();
    let logins: Vec<&str> = eff.members.iter().map(|m| m.login.as_str()).collect();
    assert_eq!(logins, LOGINS, "every user is related to beta");
    let anna = eff.member("anna").unwrap();
    assert_eq!(anna.permissions, TYPES);
    let shown: Vec<String> = anna.origins.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "direct grant",
            "company beta (context Ticket::CustomerID::Same)"
        ]
    );
    assert!(
        dir.group_members("nope").await.is_err(),
        "an unknown group is an error"
    );
}
