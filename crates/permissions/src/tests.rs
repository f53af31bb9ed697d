//! One test per rule of reference §7 (and the places where Clientele differs).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use clientele_model::permission::{GroupId, PermissionContext, PermissionType, PermissionTypes};

use crate::*;

const SAME: PermissionContext = PermissionContext::SameCustomer;
const OTHER: PermissionContext = PermissionContext::OtherCustomers;

fn ro_() -> PermissionType {
    PermissionType::ro()
}
fn rw_() -> PermissionType {
    PermissionType::rw()
}
fn ty(name: &str) -> PermissionType {
    PermissionType::new(name).unwrap()
}

/// Support on, no always-groups, types `ro, move_into, create, rw`, groups 1..=5 valid and
/// group 9 invalid.
fn facts() -> PermissionFacts {
    let mut f = PermissionFacts::new(PermissionConfig {
        customer_group_support: true,
        permission_types: PermissionTypes::new(["ro", "move_into", "create", "rw"]).unwrap(),
        always_groups: vec![],
        company_always_groups: vec![],
        ..PermissionConfig::default()
    });
    f.group(1, "users", true)
        .group(2, "support", true)
        .group(3, "sales", true)
        .group(4, "billing", true)
        .group(5, "partners", true)
        .group(9, "retired", false);
    f
}

fn build(f: &PermissionFacts) -> PermissionMatrix {
    PermissionMatrix::build(f).unwrap()
}

fn t(m: &PermissionMatrix, name: &str) -> TypeIndex {
    m.type_index(name).unwrap()
}

fn groups(m: &PermissionMatrix, login: &str, name: &str) -> Vec<u64> {
    let mut g: Vec<u64> = m.groups(login, t(m, name)).map(GroupId::get).collect();
    g.sort_unstable();
    g
}

fn members<'m>(m: &'m PermissionMatrix, group: u64, name: &str) -> Option<Vec<&'m str>> {
    m.members(GroupId(group), t(m, name)).listed().map(|it| {
        let mut v: Vec<&str> = it.collect();
        v.sort_unstable();
        v
    })
}

fn names(m: &PermissionMatrix, set: PermissionSet) -> Vec<String> {
    set.names(m.types()).map(|t| t.to_string()).collect()
}

#[test]
fn rw_implies_every_type() {
    let mut f = facts();
    f.customer_user("anna", UserCustomerIds::primary("acme"))
        .grant_user("anna", 2, [rw_()])
        .grant_company("acme", 3, SAME, [rw_()]);
    let m = build(&f);
    for name in ["ro", "move_into", "create", "rw"] {
        assert!(
            m.has("anna", GroupId(2), t(&m, name)),
            "direct rw gives {name}"
        );
        assert!(
            m.has("anna", GroupId(3), t(&m, name)),
            "company rw gives {name}"
        );
    }
    assert_eq!(
        names(&m, m.effective("anna", GroupId(2))),
        ["ro", "move_into", "create", "rw"]
    );
}

#[test]
fn nothing_but_rw_implies_anything() {
    let mut f = facts();
    f.grant_user("anna", 2, [ty("move_into")])
        .grant_user("anna", 3, [ro_()])
        .grant_user("anna", 4, [ro_(), ty("move_into"), ty("create")]);
    let m = build(&f);
    // OTOBO's "Wrong Type Array" test: a move_into-only grant gives nothing for ro.
    assert!(!m.has("anna", GroupId(2), t(&m, "ro")));
    assert!(m.has("anna", GroupId(2), t(&m, "move_into")));
    assert_eq!(groups(&m, "anna", "ro"), [3, 4]);
    assert!(!m.has("anna", GroupId(3), t(&m, "move_into")));
    // Every type but rw is still not rw.
    assert!(!m.has("anna", GroupId(4), t(&m, "rw")));
    assert!(groups(&m, "anna", "rw").is_empty());
}

#[test]
fn setting_a_grant_replaces_the_set() {
    let mut f = facts();
    f.grant_user("anna", 2, [rw_()])
        .grant_user("anna", 2, [ro_()]);
    let m = build(&f);
    // OTOBO's GroupMemberAdd would have kept the rw row here (quirk §7.2).
    assert_eq!(names(&m, m.effective("anna", GroupId(2))), ["ro"]);

    let mut m2 = m.clone();
    let set = m2.permission_set(["move_into"]).unwrap();
    m2.set_user_grant("anna", GroupId(2), set).unwrap();
    assert_eq!(names(&m2, m2.effective("anna", GroupId(2))), ["move_into"]);
    m2.set_user_grant("anna", GroupId(2), PermissionSet::EMPTY)
        .unwrap();
    assert!(m2.effective("anna", GroupId(2)).is_empty());
    assert_eq!(m2.user_count(), 0, "an empty row is dropped");

    // Company grants replace per (company, group, context), other contexts untouched.
    let mut f = facts();
    f.customer_user("bob", UserCustomerIds::primary("acme"))
        .grant_company("acme", 2, SAME, [rw_()])
        .grant_company("acme", 2, OTHER, [ro_()])
        .grant_company("acme", 2, SAME, [ty("create")]);
    let m = build(&f);
    assert_eq!(names(&m, m.effective("bob", GroupId(2))), ["create"]);
    assert_eq!(
        names(&m, m.company_grant("acme", GroupId(2), &OTHER)),
        ["ro"]
    );
}

#[test]
fn user_always_groups_give_every_type_to_everyone() {
    let mut f = facts();
    f.config.always_groups = vec!["users".into(), "retired".into(), "no-such-group".into()];
    let m = build(&f);
    for name in ["ro", "move_into", "create", "rw"] {
        // Even a login the matrix has never heard of, with no customer id.
        assert!(m.has("stranger", GroupId(1), t(&m, name)));
    }
    // Invalid always-groups give nothing; unknown names are ignored.
    assert!(!m.has("stranger", GroupId(9), t(&m, "ro")));
    assert_eq!(groups(&m, "stranger", "create"), [1]);
    // The raw view (direct grants only) does not include them.
    assert!(m.raw("stranger", GroupId(1)).is_empty());
    // An empty login has nothing (OTOBO refuses the call).
    assert!(m.effective("", GroupId(1)).is_empty());
    assert_eq!(m.groups("", t(&m, "ro")).count(), 0);

    // A group added later under an always-group name becomes one.
    let mut m = m;
    m.add_group(&Group::new(20, "no-such-group", true)).unwrap();
    assert!(m.has("stranger", GroupId(20), t(&m, "rw")));
    assert_eq!(groups(&m, "stranger", "ro"), [1, 20]);
}

#[test]
fn company_always_groups_need_a_customer_id() {
    let mut f = facts();
    f.config.company_always_groups = vec!["partners".into()];
    f.customer_user("anna", UserCustomerIds::primary("acme"))
        .grant_user("bob", 2, [ro_()])
        .customer_user(
            "carl",
            UserCustomerIds::from_parts(None, &["beta"], &[] as &[&str], false),
        );
    let m = build(&f);
    assert!(m.has("anna", GroupId(5), t(&m, "move_into")));
    assert!(
        m.has("carl", GroupId(5), t(&m, "rw")),
        "any customer id counts"
    );
    assert!(
        !m.has("bob", GroupId(5), t(&m, "ro")),
        "bob has no customer id"
    );
    assert!(!m.has("stranger", GroupId(5), t(&m, "ro")));
    assert_eq!(groups(&m, "anna", "ro"), [5]);
    assert_eq!(groups(&m, "bob", "ro"), [2]);

    // Losing the last customer id loses the company always-group.
    let mut m = m;
    m.set_customer_ids("anna", &UserCustomerIds::none())
        .unwrap();
    assert!(!m.has("anna", GroupId(5), t(&m, "ro")));
}

#[test]
fn invalid_groups_give_nothing() {
    let mut f = facts();
    f.config.always_groups = vec!["retired".into()];
    f.customer_user("anna", UserCustomerIds::primary("acme"))
        .grant_user("anna", 9, [rw_()])
        .grant_company("acme", 9, SAME, [rw_()]);
    let m = build(&f);
    assert!(m.effective("anna", GroupId(9)).is_empty());
    assert!(m.raw("anna", GroupId(9)).is_empty());
    assert!(groups(&m, "anna", "ro").is_empty());
    assert_eq!(members(&m, 9, "ro"), Some(vec![]));
    // The grant is still stored and comes back with the group.
    assert_eq!(names(&m, m.user_grant("anna", GroupId(9))).len(), 4);
    let mut m = m;
    m.set_group_valid(GroupId(9), true).unwrap();
    assert!(m.has("anna", GroupId(9), t(&m, "create")));
    m.set_group_valid(GroupId(2), false).unwrap();
    assert_eq!(m.group_valid(GroupId(2)), Some(false));
    // Unknown groups give nothing either.
    assert!(m.effective("anna", GroupId(12345)).is_empty());
}

#[test]
fn support_off_gives_everything_on_valid_groups() {
    let mut f = facts();
    f.config.customer_group_support = false;
    f.grant_user("anna", 2, [ro_()]);
    let m = build(&f);
    for name in ["ro", "move_into", "create", "rw"] {
        assert!(m.has("anybody", GroupId(3), t(&m, name)));
    }
    assert!(!m.has("anybody", GroupId(9), t(&m, "ro")));
    assert_eq!(groups(&m, "anybody", "create"), [1, 2, 3, 4, 5]);
    assert!(matches!(
        m.members(GroupId(2), t(&m, "ro")),
        Members::Everyone
    ));
    assert_eq!(members(&m, 9, "ro"), Some(vec![]), "invalid group: nobody");
    // Raw is what is stored, whatever the switch.
    assert_eq!(names(&m, m.raw("anna", GroupId(2))), ["ro"]);
    assert!(m.raw("anybody", GroupId(2)).is_empty());

    let mut m = m;
    m.set_customer_group_support(true);
    assert!(!m.has("anybody", GroupId(3), t(&m, "ro")));
    assert!(m.has("anna", GroupId(2), t(&m, "ro")));
}

#[test]
fn same_customer_grants_count_for_every_customer_id() {
    let mut f = facts();
    f.customer_user(
        "anna",
        UserCustomerIds::from_parts(Some("acme"), &["beta"], &["gamma"], false),
    )
    .grant_company("acme", 2, SAME, [ro_()])
    .grant_company("beta", 3, SAME, [ty("move_into")])
    .grant_company("gamma", 4, SAME, [ty("create")])
    .grant_company("gamma", 2, SAME, [ty("create")]);
    let m = build(&f);
    assert_eq!(names(&m, m.effective("anna", GroupId(2))), ["ro", "create"]);
    assert!(m.has("anna", GroupId(3), t(&m, "move_into")));
    assert!(m.has("anna", GroupId(4), t(&m, "create")));
    // Company grants are not direct grants.
    assert!(m.raw("anna", GroupId(2)).is_empty());
    assert_eq!(m.raw_groups("anna", t(&m, "ro")).count(), 0);

    // With the primary excluded from the list, the primary's grants do not count forward.
    let mut f = facts();
    f.customer_user(
        "anna",
        UserCustomerIds::from_parts(Some("acme"), &["beta"], &[] as &[&str], true),
    )
    .grant_company("acme", 2, SAME, [ro_()]);
    let m = build(&f);
    assert!(!m.has("anna", GroupId(2), t(&m, "ro")));
}

#[test]
fn other_and_named_contexts_never_give_group_permissions() {
    let mut f = facts();
    f.config.other_customers_context = true;
    f.customer_user("anna", UserCustomerIds::primary("acme"))
        .grant_company("acme", 2, OTHER, [rw_()])
        .grant_company(
            "acme",
            3,
            PermissionContext::Named("Partner".into()),
            [rw_()],
        );
    let m = build(&f);
    assert!(m.effective("anna", GroupId(2)).is_empty());
    assert!(m.effective("anna", GroupId(3)).is_empty());
    assert_eq!(members(&m, 2, "ro"), Some(vec![]));
    assert_eq!(
        names(
            &m,
            m.company_grant(
                "acme",
                GroupId(3),
                &PermissionContext::Named("Partner".into())
            )
        )
        .len(),
        4
    );
}

#[test]
fn reverse_query_follows_otobo() {
    let mut f = facts();
    f.config.always_groups = vec!["users".into()];
    f.config.company_always_groups = vec!["users".into()];
    f.customer_user("anna", UserCustomerIds::primary("acme"))
        .customer_user(
            "bob",
            UserCustomerIds::from_parts(Some("beta"), &["acme"], &[] as &[&str], false),
        )
        .invalid_customer_user("carl", UserCustomerIds::primary("acme"))
        .invalid_customer_user("dora", UserCustomerIds::none())
        .customer_user("emil", UserCustomerIds::primary("acme"))
        .grant_company("acme", 2, SAME, [ro_()])
        .grant_user("dora", 2, [ro_()])
        .grant_user("ghost", 2, [rw_()])
        .grant_user("emil", 2, [ro_()])
        .grant_user("anna", 3, [ty("move_into")]);
    let m = build(&f);
    // anna, emil: primary acme (emil also direct: listed once); ghost: unknown but kept;
    // bob: acme is only a secondary id; carl: invalid; dora: invalid on the direct side.
    assert_eq!(members(&m, 2, "ro"), Some(vec!["anna", "emil", "ghost"]));
    // Forward, bob does get acme's grant (every customer id counts).
    assert!(m.has("bob", GroupId(2), t(&m, "ro")));
    assert_eq!(members(&m, 2, "rw"), Some(vec!["ghost"]));
    assert_eq!(members(&m, 3, "move_into"), Some(vec!["anna"]));
    assert_eq!(members(&m, 3, "ro"), Some(vec![]));
    // No always-groups in the reverse direction.
    assert_eq!(members(&m, 1, "ro"), Some(vec![]));
    assert!(m.has("anna", GroupId(1), t(&m, "ro")));
    assert_eq!(members(&m, 777, "ro"), Some(vec![]));
}

#[test]
fn visible_companies_through_the_other_context() {
    let mut f = facts();
    f.config.other_customers_context = true;
    f.customer_user("anna", UserCustomerIds::primary("acme"))
        .company("acme", true)
        .company("beta", true)
        .company("gamma", false)
        .company("delta", true)
        .grant_company("acme", 2, OTHER, [ro_()])
        .grant_company("beta", 2, SAME, [rw_()])
        .grant_company("gamma", 2, SAME, [ro_()])
        .grant_company("delta", 2, SAME, [ty("move_into")])
        .grant_company("epsilon", 2, SAME, [ro_()]);
    let m = build(&f);
    // beta: ro via rw; gamma invalid; delta has no ro; epsilon is not a known company.
    assert_eq!(m.visible_companies("anna"), ["acme", "beta"]);
    assert!(m.visible_companies("stranger").is_empty());

    let mut m = m;
    m.set_other_customers_context(false);
    assert_eq!(m.visible_companies("anna"), ["acme"]);
    m.set_other_customers_context(true);
    m.set_customer_group_support(false);
    assert_eq!(m.visible_companies("anna"), ["acme"]);
    m.set_customer_group_support(true);
    m.set_group_valid(GroupId(2), false).unwrap();
    assert_eq!(m.visible_companies("anna"), ["acme"]);
}

fn ticket<'a>(
    customer_user: Option<&'a str>,
    customer_id: Option<&'a str>,
    group: u64,
) -> Ticket<'a> {
    Ticket {
        customer_user,
        customer_id,
        queue_group: GroupId(group),
    }
}

#[test]
fn ticket_access_default_rules() {
    let mut f = facts();
    f.config.other_customers_context = true;
    f.customer_user(
        "anna",
        UserCustomerIds::from_parts(Some("acme"), &["beta"], &[] as &[&str], false),
    )
    .grant_user("anna", 2, [ro_()])
    .grant_user("anna", 3, [ro_()])
    .grant_company("acme", 3, OTHER, [ro_()]);
    let m = build(&f);
    let ro = t(&m, "ro");
    // Queue group required.
    assert!(!m.can_access_ticket("anna", &ticket(Some("anna"), Some("acme"), 4), ro));
    // Own ticket, ignoring case.
    assert!(m.can_access_ticket("anna", &ticket(Some("ANNA"), Some("zeta"), 2), ro));
    // Shared customer id (any of them), ignoring case.
    assert!(m.can_access_ticket("anna", &ticket(Some("bob"), Some("BETA"), 2), ro));
    // Neither: denied on group 2 ...
    assert!(!m.can_access_ticket("anna", &ticket(Some("bob"), Some("zeta"), 2), ro));
    assert!(!m.can_access_ticket("anna", &ticket(None, None, 2), ro));
    // ... but granted on group 3 through the "other customers" context.
    assert!(m.can_access_ticket("anna", &ticket(Some("bob"), Some("zeta"), 3), ro));
    assert!(!m.can_access_ticket("anna", &ticket(Some("bob"), Some("zeta"), 3), t(&m, "rw")));
    assert!(!m.can_access_ticket("", &ticket(Some(""), Some("zeta"), 3), ro));

    // The other-customers check is off without support or without the context.
    let mut m2 = m.clone();
    m2.set_other_customers_context(false);
    assert!(!m2.can_access_ticket("anna", &ticket(Some("bob"), Some("zeta"), 3), ro));
    let mut m3 = m.clone();
    m3.set_customer_group_support(false);
    // Support off: the group check passes for everyone, the other-customers check is off.
    assert!(!m3.can_access_ticket("anna", &ticket(Some("bob"), Some("zeta"), 3), ro));
    assert!(m3.can_access_ticket("anna", &ticket(Some("bob"), Some("acme"), 4), ro));
}

#[test]
fn ticket_access_rules_are_switchable() {
    let mut f = facts();
    f.config.other_customers_context = true;
    f.config.ticket_access.disable_company_ticket_access = true;
    f.customer_user("anna", UserCustomerIds::primary("acme"))
        .grant_user("anna", 3, [ro_()])
        .grant_company("acme", 3, OTHER, [ro_()]);
    let m = build(&f);
    let ro = t(&m, "ro");
    // Company checks disabled: only the own-ticket check can grant.
    assert!(!m.can_access_ticket("anna", &ticket(Some("bob"), Some("acme"), 3), ro));
    assert!(m.can_access_ticket("anna", &ticket(Some("anna"), None, 3), ro));

    // GroupCheck made non-required and granting; CustomerUserIDCheck required.
    let mut f = facts();
    f.config.ticket_access = TicketAccessRules {
        modules: vec![
            TicketPermissionModule {
                check: TicketCheck::CustomerUserIdCheck,
                required: true,
                granted: false,
            },
            TicketPermissionModule {
                check: TicketCheck::GroupCheck,
                required: false,
                granted: true,
            },
        ],
        disable_company_ticket_access: false,
    };
    f.grant_user("anna", 3, [ro_()]);
    let m = build(&f);
    assert!(m.can_access_ticket("anna", &ticket(Some("anna"), None, 3), ro));
    assert!(!m.can_access_ticket("anna", &ticket(Some("bob"), None, 3), ro));
    assert!(
        !m.can_access_ticket("anna", &ticket(Some("anna"), None, 2), ro),
        "no module decided"
    );

    // No modules at all: denied.
    let mut f = facts();
    f.config.ticket_access.modules.clear();
    f.grant_user("anna", 3, [rw_()]);
    let m = build(&f);
    assert!(!m.can_access_ticket("anna", &ticket(Some("anna"), None, 3), ro));
}

#[test]
fn incremental_updates_touch_the_right_rows() {
    let mut f = facts();
    f.customer_user("anna", UserCustomerIds::primary("acme"))
        .customer_user("bob", UserCustomerIds::primary("beta"));
    let m0 = build(&f);
    let mut m = m0.clone();
    let ro = t(&m, "ro");
    let ro_set = m.permission_set(["ro"]).unwrap();

    m.set_company_grant("acme", GroupId(2), &SAME, ro_set)
        .unwrap();
    assert!(m.has("anna", GroupId(2), ro));
    assert!(!m.has("bob", GroupId(2), ro));
    assert_eq!(members(&m, 2, "ro"), Some(vec!["anna"]));

    // Moving bob to acme gives him acme's grants, and he shows up in the reverse query.
    m.set_customer_ids("bob", &UserCustomerIds::primary("acme"))
        .unwrap();
    assert!(m.has("bob", GroupId(2), ro));
    assert_eq!(members(&m, 2, "ro"), Some(vec!["anna", "bob"]));
    assert_eq!(m.customer_ids("bob").collect::<Vec<_>>(), ["acme"]);

    m.set_user_valid("bob", false).unwrap();
    assert_eq!(members(&m, 2, "ro"), Some(vec!["anna"]));
    assert!(
        m.has("bob", GroupId(2), ro),
        "validity does not change forward answers"
    );

    m.revoke_company_grant("acme", GroupId(2), &SAME).unwrap();
    assert!(!m.has("anna", GroupId(2), ro));
    assert_eq!(m.company_count(), 1, "acme stays: it has members");

    m.add_group(&Group::new(30, "new", true)).unwrap();
    m.set_user_grant("anna", GroupId(30), ro_set).unwrap();
    assert!(m.has("anna", GroupId(30), ro));
    assert_eq!(m.group_name(GroupId(30)), Some("new"));
    assert_eq!(m.group_id("new"), Some(GroupId(30)));

    // The first snapshot saw none of it.
    assert!(!m0.has("anna", GroupId(2), ro));
    assert!(!m0.has("anna", GroupId(30), ro));
    assert_eq!(m0.group_count(), 6);
    assert_eq!(m0.customer_ids("bob").collect::<Vec<_>>(), ["beta"]);

    // Changes through the data form do the same.
    let mut via_changes = m0.clone();
    for change in [
        Change::SetCompanyGrant {
            customer_id: "acme".into(),
            group: GroupId(2),
            context: SAME,
            permissions: vec![ro_()],
        },
        Change::SetCustomerIds {
            login: "bob".into(),
            customer_ids: UserCustomerIds::primary("acme"),
        },
        Change::SetUserValid {
            login: "bob".into(),
            valid: false,
        },
        Change::RevokeCompanyGrant {
            customer_id: "acme".into(),
            group: GroupId(2),
            context: SAME,
        },
        Change::AddGroup(Group::new(30, "new", true)),
        Change::SetUserGrant {
            login: "anna".into(),
            group: GroupId(30),
            permissions: vec![ro_()],
        },
    ] {
        via_changes.apply(&change).unwrap();
    }
    assert_eq!(via_changes.to_facts(), m.to_facts());
}

#[test]
fn errors_name_the_value_and_change_nothing() {
    let mut f = facts();
    f.grant_user("anna", 42, [ro_()]);
    assert_eq!(
        PermissionMatrix::build(&f).unwrap_err(),
        PermissionError::UnknownGroup { group: GroupId(42) }
    );
    let mut f = facts();
    f.group(2, "again", true);
    assert_eq!(
        PermissionMatrix::build(&f).unwrap_err(),
        PermissionError::DuplicateGroupId { group: GroupId(2) }
    );
    let mut f = facts();
    f.group(77, "support", true);
    assert_eq!(
        PermissionMatrix::build(&f).unwrap_err(),
        PermissionError::DuplicateGroupName {
            name: "support".into()
        }
    );
    let mut f = facts();
    f.grant_user("anna", 2, [ty("owner")]);
    let err = PermissionMatrix::build(&f).unwrap_err();
    assert!(
        matches!(&err, PermissionError::UnknownPermissionType { name, .. } if name == "owner"),
        "{err}"
    );
    assert!(err.to_string().contains("owner"));
    let mut f = facts();
    f.grant_user("", 2, [ro_()]);
    assert_eq!(
        PermissionMatrix::build(&f).unwrap_err(),
        PermissionError::EmptyLogin
    );
    let mut f = facts();
    f.customer_user("anna", UserCustomerIds::new(None, vec!["".into()]));
    assert_eq!(
        PermissionMatrix::build(&f).unwrap_err(),
        PermissionError::EmptyCustomerIdOfUser {
            login: "anna".into()
        }
    );

    let m = build(&facts());
    let mut m2 = m.clone();
    assert!(matches!(
        m2.set_user_grant("anna", GroupId(2), PermissionSet::from_bits(1 << 10)),
        Err(PermissionError::PermissionSetOutOfRange { .. })
    ));
    assert!(
        m2.set_company_grant("", GroupId(2), &SAME, PermissionSet::EMPTY)
            .is_err()
    );
    assert!(m2.add_group(&Group::new(2, "x", true)).is_err());
    assert!(m2.add_group(&Group::new(50, "", true)).is_err());
    assert!(m2.set_group_valid(GroupId(50), true).is_err());
    assert_eq!(m2.to_facts(), m.to_facts());
}

#[test]
fn check_by_names_like_otobo_permission_check() {
    let mut f = facts();
    f.grant_user("anna", 2, [ro_()]);
    let m = build(&f);
    assert!(m.check("anna", "support", "ro"));
    assert!(!m.check("anna", "support", "rw"));
    assert!(!m.check("anna", "nope", "ro"));
    assert!(!m.check("anna", "support", "nope"));
}

#[test]
fn resolver_batches_are_atomic() {
    let mut f = facts();
    f.grant_user("anna", 2, [ro_()]);
    let resolver = Arc::new(PermissionResolver::build(&f).unwrap());
    let ro = resolver.snapshot().type_index("ro").unwrap();

    // A failing batch publishes nothing.
    let err = resolver.apply(&[
        Change::RevokeUserGrant {
            login: "anna".into(),
            group: GroupId(2),
        },
        Change::SetUserGrant {
            login: "anna".into(),
            group: GroupId(404),
            permissions: vec![ro_()],
        },
    ]);
    assert_eq!(
        err,
        Err(PermissionError::UnknownGroup {
            group: GroupId(404)
        })
    );
    assert!(resolver.snapshot().has("anna", GroupId(2), ro));

    // Readers never see anna in both groups or in neither while a writer moves her.
    // The writer keeps going until every reader has checked a number of snapshots: on a busy
    // machine a reader thread may otherwise not run before 500 writes are done.
    let stop = Arc::new(AtomicBool::new(false));
    let checks: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let resolver = Arc::clone(&resolver);
            let stop = Arc::clone(&stop);
            let checks = Arc::clone(&checks);
            std::thread::spawn(move || {
                let mut seen = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let m = resolver.snapshot();
                    let a = m.has("anna", GroupId(2), ro);
                    let b = m.has("anna", GroupId(3), ro);
                    assert!(a != b, "half-applied change seen");
                    seen += 1;
                    checks[r].store(seen, Ordering::Relaxed);
                }
                seen
            })
        })
        .collect();
    let mut i = 0;
    while i < 500 || checks.iter().any(|c| c.load(Ordering::Relaxed) < 100) {
        let (from, to) = if i % 2 == 0 { (2, 3) } else { (3, 2) };
        resolver
            .apply(&[
                Change::RevokeUserGrant {
                    login: "anna".into(),
                    group: GroupId(from),
                },
                Change::SetUserGrant {
                    login: "anna".into(),
                    group: GroupId(to),
                    permissions: vec![ro_()],
                },
            ])
            .unwrap();
        i += 1;
    }
    // An even number of moves leaves anna where she started.
    if i % 2 == 1 {
        resolver
            .apply(&[
                Change::RevokeUserGrant {
                    login: "anna".into(),
                    group: GroupId(3),
                },
                Change::SetUserGrant {
                    login: "anna".into(),
                    group: GroupId(2),
                    permissions: vec![ro_()],
                },
            ])
            .unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    assert!(resolver.snapshot().has("anna", GroupId(2), ro));
}

#[test]
fn types_without_ro_still_work() {
    let mut f = facts();
    f.config.permission_types = PermissionTypes::new(["rw"]).unwrap();
    f.config.other_customers_context = true;
    f.customer_user("anna", UserCustomerIds::primary("acme"))
        .company("acme", true)
        .company("beta", true)
        .grant_company("acme", 2, OTHER, [rw_()])
        .grant_company("beta", 2, SAME, [rw_()]);
    let m = build(&f);
    assert_eq!(m.visible_companies("anna"), ["acme", "beta"]);
    assert!(m.type_index("ro").is_none());
}

#[test]
fn approximate_memory_is_counted() {
    let mut f = facts();
    for i in 0..100 {
        f.grant_user(format!("user{i}"), 2, [ro_()]);
    }
    let m = build(&f);
    let bytes = m.approximate_heap_bytes();
    assert!(bytes > 100 * 40, "{bytes}");
    assert!(format!("{m:?}").contains("users: 100"));
}

#[test]
fn long_and_similar_logins_are_told_apart() {
    let long_a = format!("{}a", "x".repeat(30));
    let long_b = format!("{}b", "x".repeat(30));
    let exact = "y".repeat(24);
    let mut f = facts();
    f.grant_user(long_a.as_str(), 2, [ro_()])
        .grant_user(exact.as_str(), 3, [ro_()])
        .grant_user("anna", 4, [ro_()]);
    let m = build(&f);
    let ro = t(&m, "ro");
    assert!(m.has(&long_a, GroupId(2), ro));
    assert!(!m.has(&long_b, GroupId(2), ro));
    assert!(m.has(&exact, GroupId(3), ro));
    assert!(!m.has(&"y".repeat(23), GroupId(3), ro));
    assert!(!m.has(&"y".repeat(25), GroupId(3), ro));
    assert!(
        !m.has("Anna", GroupId(4), ro),
        "logins are compared exactly"
    );
    assert!(!m.has("ann", GroupId(4), ro));
}
