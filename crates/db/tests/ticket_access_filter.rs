//! The ticket access filter's documented SQL, run as written on a host's SQLite ticket table
//! through sea-orm, selects exactly the tickets `Directory::can_access_ticket` allows — over
//! random grants in both contexts, primary and related companies, always-groups, the support
//! and "other customers" switches and disabled company ticket access, for every user and type.
//!
//! The SQL is the file the rustdoc of `Directory::ticket_access_filter` includes, and
//! docs/guide.md must show the same text.

use std::collections::BTreeSet;
use std::sync::Arc;

use clientele_backend::InMemoryBackend;
use clientele_db::sea_orm::{
    ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value,
};
use clientele_directory::{Directory, DirectoryConfig};
use clientele_model::{NewCustomerCompany, NewCustomerUser};
use clientele_password::{Argon2Params, PasswordConfig};
use clientele_permissions::{
    GroupId, PermissionConfig, PermissionTypes, Ticket, TicketAccessRules,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// The query exactly as documented.
const FILTER_SQL: &str = include_str!("../../directory/src/ticket_access_filter.sql");

const SAME: &str = "Ticket::CustomerID::Same";
const OTHER: &str = "Ticket::CustomerID::Other";
const TYPES: [&str; 3] = ["ro", "move_into", "rw"];
const GROUPS: [&str; 4] = ["users", "g2", "g3", "g4"];
const COMPANIES: [&str; 3] = ["acme", "beta", "gamma"];
const LOGINS: [&str; 3] = ["anna", "bob", "carl"];
/// What tickets name as their customer user and customer id: other cases, strangers, none.
const TICKET_USERS: [Option<&str>; 5] =
    [Some("anna"), Some("BOB"), Some("Carl"), Some("zed"), None];
const TICKET_IDS: [Option<&str>; 6] = [
    Some("acme"),
    Some("ACME"),
    Some("Beta"),
    Some("gamma"),
    Some("zeta"),
    None,
];

#[derive(Clone, Debug)]
struct Scenario {
    support: bool,
    other_context: bool,
    disable_company_access: bool,
    always: Vec<&'static str>,
    users: Vec<(usize, Vec<usize>)>,
    user_grants: Vec<(usize, usize, Vec<&'static str>)>,
    company_grants: Vec<(usize, usize, bool, Vec<&'static str>)>,
    /// (customer user, customer id, queue group index; the last one is a group no one knows).
    tickets: Vec<(usize, usize, usize)>,
}

fn some_of<T: Clone + std::fmt::Debug + 'static>(items: Vec<T>) -> impl Strategy<Value = Vec<T>> {
    let n = items.len();
    prop::sample::subsequence(items, 0..=n)
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        (
            prop::bool::weighted(0.85),
            prop::bool::weighted(0.7),
            prop::bool::weighted(0.2),
            some_of(vec!["users", "g2"]),
        ),
        prop::collection::vec(
            (0..COMPANIES.len(), some_of((0..COMPANIES.len()).collect())),
            LOGINS.len(),
        ),
        prop::collection::vec(
            (0..LOGINS.len(), 0..GROUPS.len(), some_of(TYPES.to_vec())),
            0..6,
        ),
        prop::collection::vec(
            (
                0..COMPANIES.len(),
                0..GROUPS.len(),
                any::<bool>(),
                some_of(TYPES.to_vec()),
            ),
            0..8,
        ),
        prop::collection::vec(
            (0..TICKET_USERS.len(), 0..TICKET_IDS.len(), 0..=GROUPS.len()),
            1..40,
        ),
    )
        .prop_map(
            |((support, other_context, disable_company_access, always), users, ug, cg, tickets)| {
                Scenario {
                    support,
                    other_context,
                    disable_company_access,
                    always,
                    users,
                    user_grants: ug,
                    company_grants: cg,
                    tickets,
                }
            },
        )
}

async fn directory(s: &Scenario) -> (Directory, Vec<GroupId>) {
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
            other_customers_context: s.other_context,
            permission_types: PermissionTypes::new(TYPES).unwrap(),
            always_groups: s.always.iter().map(|g| g.to_string()).collect(),
            ticket_access: TicketAccessRules {
                disable_company_ticket_access: s.disable_company_access,
                ..TicketAccessRules::default()
            },
            ..PermissionConfig::default()
        },
        ..DirectoryConfig::default()
    };
    let dir = Directory::in_memory_with(Arc::new(InMemoryBackend::new()), config).unwrap();
    for c in COMPANIES {
        dir.add_company(NewCustomerCompany::new(c, &format!("{c} Inc.")), "t")
            .await
            .unwrap();
    }
    let mut ids = Vec::new();
    for g in GROUPS {
        ids.push(dir.add_group(g, "t").await.unwrap().id);
    }
    for (login, (primary, related)) in LOGINS.iter().zip(&s.users) {
        let email = format!("{login}@example.test");
        let new = NewCustomerUser::new(login, "F", "L", &email, COMPANIES[*primary]);
        dir.add_customer_user(new, "t").await.unwrap();
        for &c in related {
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
    (dir, ids)
}

/// The host's ticket table: its customer user, customer id and its queue's group.
async fn ticket_table(db: &DatabaseConnection, rows: &[(Option<&str>, Option<&str>, u64)]) {
    db.execute_unprepared(
        "DROP TABLE IF EXISTS ticket;
         CREATE TABLE ticket (
             id INTEGER PRIMARY KEY,
             customer_user_id TEXT NULL,
             customer_id TEXT NULL,
             queue_group_id INTEGER NOT NULL
         )",
    )
    .await
    .unwrap();
    for (i, (user, customer, group)) in rows.iter().enumerate() {
        db.execute_raw(Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "INSERT INTO ticket (id, customer_user_id, customer_id, queue_group_id) VALUES (?, ?, ?, ?)",
            [
                Value::from(i as i64 + 1),
                Value::from(user.map(str::to_owned)),
                Value::from(customer.map(str::to_owned)),
                Value::from(*group as i64),
            ],
        ))
        .await
        .unwrap();
    }
}

async fn check(s: &Scenario, db: &DatabaseConnection) -> Result<(), TestCaseError> {
    let (dir, group_ids) = directory(s).await;
    let unknown_group = GroupId(group_ids.iter().map(|g| g.0).max().unwrap_or(0) + 100);
    let rows: Vec<(Option<&str>, Option<&str>, u64)> = s
        .tickets
        .iter()
        .map(|&(u, c, g)| {
            let group = group_ids.get(g).copied().unwrap_or(unknown_group);
            (TICKET_USERS[u], TICKET_IDS[c], group.0)
        })
        .collect();
    ticket_table(db, &rows).await;
    for login in LOGINS {
        for ty in TYPES {
            let filter = dir.ticket_access_filter(login, ty).await.unwrap();
            prop_assert!(filter.has_default_clauses());
            let found = db
                .query_all_raw(Statement::from_sql_and_values(
                    DbBackend::Sqlite,
                    FILTER_SQL,
                    [
                        Value::from(json(&filter.group_ids)),
                        Value::from(filter.customer_user.clone()),
                        Value::from(json(&filter.customer_ids)),
                        Value::from(json(&filter.other_context_group_ids)),
                    ],
                ))
                .await
                .unwrap();
            let selected: BTreeSet<i64> = found
                .iter()
                .map(|r| r.try_get_by_index::<i64>(0).unwrap())
                .collect();
            let mut allowed = BTreeSet::new();
            for (i, (user, customer, group)) in rows.iter().enumerate() {
                let ticket = Ticket {
                    customer_user: *user,
                    customer_id: *customer,
                    queue_group: GroupId(*group),
                };
                if dir.can_access_ticket(login, &ticket, ty).await.unwrap() {
                    allowed.insert(i as i64 + 1);
                }
                prop_assert_eq!(filter.matches(&ticket), allowed.contains(&(i as i64 + 1)));
            }
            prop_assert_eq!(
                &selected,
                &allowed,
                "{} {}: filter {:?} over {:?}",
                login,
                ty,
                &filter,
                &rows
            );
        }
    }
    Ok(())
}

/// A list as the JSON array the query binds.
fn json<T: serde::Serialize>(list: &T) -> String {
    serde_json::to_string(list).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn documented_sql_selects_exactly_the_accessible_tickets(s in scenario()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let db = Database::connect("sqlite::memory:").await.unwrap();
            check(&s, &db).await
        })?;
    }
}

/// The guide shows the query the test runs, character for character.
#[test]
fn the_guide_shows_the_tested_query() {
    let guide = include_str!("../../../docs/guide.md");
    assert!(
        guide.contains(&format!("```sql\n{FILTER_SQL}```")),
        "docs/guide.md must show crates/directory/src/ticket_access_filter.sql as a sql block"
    );
}
