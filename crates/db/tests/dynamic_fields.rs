//! Customer-user dynamic fields on OTOBO's schema ([`common::otobo`]): map rows of storage type
//! `dynamic_field` store, read and search their values in OTOBO's `dynamic_field_value` and
//! `dynamic_field_obj_id_name` the way OTOBO does, on SQLite, PostgreSQL and MariaDB.
//!
//! The fields are created as OTOBO's admin screen creates them (a `dynamic_field` row, YAML
//! configuration with the `PossibleValues` of a dropdown or multiselect). SQLite runs always;
//! PostgreSQL and MariaDB are marked ignored (`--include-ignored` runs them, and they fail
//! when the server is missing).

mod common;

use std::sync::Arc;

use clientele_backend::{
    CustomerUserSource, CustomerUserWriter, Error, Expected, ImportRow, MapRowProblem,
};
use clientele_db::sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use clientele_db::{DbBackend, DbConfig};
use clientele_model::search::{
    DetailSearch, DynamicFieldCondition, DynamicFieldOperator, FieldCondition, Pattern,
    SelectionCondition,
};
use clientele_model::{
    AttributeMap, AttributeMapping, AttributeValue, CustomerUser, EmailCheck, Login,
    NewCustomerUser, Rules, StorageType, ValidationError,
};
use common::{Kind, TestDb, exec, test_config};

/// `(attribute key, field name, field type, YAML configuration)` of the customer-user fields.
const FIELDS: &[(&str, &str, &str, &str)] = &[
    (
        "UserRoom",
        "Room",
        "Text",
        "---\nDefaultValue: ''\nLink: ''\nRegEx: []\n",
    ),
    (
        "UserNotes",
        "Notes",
        "TextArea",
        "---\nDefaultValue: ''\nRows: ''\nCols: ''\n",
    ),
    (
        "UserDepartment",
        "Department",
        "Dropdown",
        "---\nDefaultValue: ''\nLink: ''\nPossibleNone: '1'\nPossibleValues:\n  it: IT\n  sales: Sales\n  support: Support\nTranslatableValues: '0'\nTreeView: '0'\n",
    ),
    (
        "UserLanguages",
        "Languages",
        "Multiselect",
        "---\nDefaultValue: ~\nPossibleNone: '0'\nPossibleValues:\n  de: German\n  en: English\n  fr: French\nTranslatableValues: '0'\nTreeView: '0'\n",
    ),
    (
        "UserContractStart",
        "ContractStart",
        "Date",
        "---\nDefaultValue: '0'\nYearsInFuture: '5'\nYearsInPast: '5'\nYearsPeriod: '0'\n",
    ),
    (
        "UserLastAudit",
        "LastAudit",
        "DateTime",
        "---\nDefaultValue: '0'\nYearsPeriod: '0'\n",
    ),
    (
        "UserNewsletter",
        "Newsletter",
        "Checkbox",
        "---\nDefaultValue: '0'\n",
    ),
];

/// Inserts a `dynamic_field` row as OTOBO's admin screen does.
async fn create_field(
    conn: &DatabaseConnection,
    name: &str,
    field_type: &str,
    object_type: &str,
    config: &str,
    valid_id: i32,
    order: usize,
) {
    exec(
        conn,
        &format!(
            "INSERT INTO dynamic_field (internal_field, name, label, field_order, field_type, \
             object_type, config, valid_id, create_time, create_by, change_time, change_by) \
             VALUES (0, '{name}', '{name}', {order}, '{field_type}', '{object_type}', '{}', \
             {valid_id}, current_timestamp, 1, current_timestamp, 1)",
            config.replace('\'', "''")
        ),
    )
    .await;
}

/// The default map plus one `dynamic_field` row per field of [`FIELDS`].
fn map() -> AttributeMap {
    let mut map = AttributeMap::otobo_customer_user();
    for (key, name, ..) in FIELDS {
        map.push(AttributeMapping::new(*key, *name, *name).storage_type(StorageType::DynamicField));
    }
    map
}

fn config_with(map: AttributeMap) -> DbConfig {
    let mut config = test_config();
    config.settings.map = map;
    config
}

/// An OTOBO database with the fields of [`FIELDS`] (plus a ticket field `TicketOnly` and an
/// invalid customer-user field `Retired`), and a backend on it whose map has their rows.
async fn otobo_with_fields(kind: Kind) -> (TestDb, Arc<DbBackend>) {
    assert!(kind.is_otobo());
    let test_db = TestDb::new(kind).await;
    let plain = test_db.connect(test_config()).await;
    clientele_db::migrate(plain.connection())
        .await
        .expect("migrate");
    for (i, (_, name, field_type, config)) in FIELDS.iter().enumerate() {
        create_field(
            plain.connection(),
            name,
            field_type,
            "CustomerUser",
            config,
            1,
            i + 1,
        )
        .await;
    }
    create_field(
        plain.connection(),
        "TicketOnly",
        "Text",
        "Ticket",
        "---\n",
        1,
        20,
    )
    .await;
    create_field(
        plain.connection(),
        "Retired",
        "Text",
        "CustomerUser",
        "---\n",
        2,
        21,
    )
    .await;
    let _ = plain.connection().close_by_ref().await;
    let db = test_db.connect(config_with(map())).await;
    (test_db, db)
}

async fn finish(test_db: TestDb, db: Arc<DbBackend>) {
    let _ = db.connection().close_by_ref().await;
    test_db.drop().await;
}

fn user(login: &str, extra: &[(&str, AttributeValue)]) -> CustomerUser {
    let map = map();
    let email = EmailCheck::default();
    let mut new = NewCustomerUser::new(
        login,
        "First",
        "Last",
        &format!("{login}@acme-corp.com"),
        "ACME",
    );
    for (k, v) in extra {
        new = new.with(k, v.clone());
    }
    new.validate(&Rules {
        map: &map,
        email: &email,
    })
    .unwrap()
}

fn list(values: &[&str]) -> AttributeValue {
    AttributeValue::List(values.iter().map(|v| (*v).to_owned()).collect())
}

/// One integer from a raw query.
async fn count(conn: &DatabaseConnection, sql: &str) -> i64 {
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .unwrap_or_else(|| panic!("{sql}: no row"));
    row.try_get_by_index::<i64>(0)
        .or_else(|_| row.try_get_by_index::<i32>(0).map(i64::from))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The object id of a login, as OTOBO maps it.
async fn object_id(conn: &DatabaseConnection, login: &str) -> i64 {
    count(
        conn,
        &format!(
            "SELECT object_id FROM dynamic_field_obj_id_name WHERE object_name = '{login}' AND \
             object_type = 'CustomerUser'"
        ),
    )
    .await
}

/// How many value rows of field `name` of object `object` match `condition`.
async fn rows_where(conn: &DatabaseConnection, object: i64, name: &str, condition: &str) -> i64 {
    count(
        conn,
        &format!(
            "SELECT COUNT(*) FROM dynamic_field_value v JOIN dynamic_field f ON f.id = v.field_id \
             WHERE v.object_id = {object} AND f.name = '{name}' AND ({condition})"
        ),
    )
    .await
}

/// The id of the one value row of field `name` of object `object`.
async fn value_row_id(conn: &DatabaseConnection, object: i64, name: &str) -> i64 {
    count(
        conn,
        &format!(
            "SELECT v.id FROM dynamic_field_value v JOIN dynamic_field f ON f.id = v.field_id \
             WHERE v.object_id = {object} AND f.name = '{name}'"
        ),
    )
    .await
}

/// Every field type round-trips through add, get and update, and is laid out as OTOBO lays it
/// out; an update rewrites only the fields it changes.
async fn round_trip(kind: Kind) {
    let (test_db, db) = otobo_with_fields(kind).await;
    let conn = db.connection();
    let by = "1".into();
    let jdoe = user(
        "jdoe",
        &[
            ("UserRoom", "B-201".into()),
            ("UserNotes", "first line\nsecond line".into()),
            ("UserDepartment", "sales".into()),
            ("UserLanguages", list(&["fr", "de"])),
            ("UserContractStart", "2024-03-01".into()),
            ("UserLastAudit", "2024-05-06 07:08:09".into()),
            ("UserNewsletter", "1".into()),
        ],
    );
    db.add(&jdoe, None, &by).await.unwrap();
    let stored = db.get("jdoe").await.unwrap().expect("jdoe");
    let extra = |u: &CustomerUser, k: &str| u.extra.get(k).cloned();
    assert_eq!(extra(&stored, "UserRoom"), Some("B-201".into()));
    assert_eq!(
        extra(&stored, "UserNotes"),
        Some("first line\nsecond line".into())
    );
    assert_eq!(extra(&stored, "UserDepartment"), Some("sales".into()));
    assert_eq!(extra(&stored, "UserLanguages"), Some(list(&["fr", "de"])));
    assert_eq!(
        extra(&stored, "UserContractStart"),
        Some("2024-03-01".into())
    );
    assert_eq!(
        extra(&stored, "UserLastAudit"),
        Some("2024-05-06 07:08:09".into())
    );
    assert_eq!(
        extra(&stored, "UserNewsletter"),
        Some(AttributeValue::Integer(1))
    );

    // OTOBO's layout: one object row for the login, a row per value in the type's column.
    let object = object_id(conn, "jdoe").await;
    let only = |column: &str| {
        let others: Vec<String> = ["value_text", "value_date", "value_int"]
            .iter()
            .filter(|c| **c != column)
            .map(|c| format!("v.{c} IS NULL"))
            .collect();
        others.join(" AND ")
    };
    let text_only = only("value_text");
    assert_eq!(
        rows_where(
            conn,
            object,
            "Room",
            &format!("v.value_text = 'B-201' AND {text_only}")
        )
        .await,
        1
    );
    assert_eq!(
        rows_where(
            conn,
            object,
            "Department",
            &format!("v.value_text = 'sales' AND {text_only}")
        )
        .await,
        1
    );
    assert_eq!(rows_where(conn, object, "Languages", "1 = 1").await, 2);
    assert_eq!(
        rows_where(
            conn,
            object,
            "Languages",
            &format!("v.value_text IN ('de', 'fr') AND {text_only}")
        )
        .await,
        2
    );
    let date_only = only("value_date");
    assert_eq!(
        rows_where(
            conn,
            object,
            "ContractStart",
            &format!("v.value_date = '2024-03-01 00:00:00' AND {date_only}")
        )
        .await,
        1
    );
    assert_eq!(
        rows_where(
            conn,
            object,
            "LastAudit",
            &format!("v.value_date = '2024-05-06 07:08:09' AND {date_only}")
        )
        .await,
        1
    );
    let int_only = only("value_int");
    assert_eq!(
        rows_where(
            conn,
            object,
            "Newsletter",
            &format!("v.value_int = 1 AND {int_only}")
        )
        .await,
        1
    );
    assert_eq!(
        count(conn, "SELECT COUNT(*) FROM dynamic_field_value").await,
        8,
        "seven fields, two languages"
    );

    // An update: change two fields, clear one, leave the rest.
    let date_row = value_row_id(conn, object, "ContractStart").await;
    let department_row = value_row_id(conn, object, "Department").await;
    let mut changed = stored.clone();
    changed.extra.insert("UserLanguages".into(), list(&["en"]));
    changed
        .extra
        .insert("UserNewsletter".into(), AttributeValue::Integer(0));
    changed.extra.remove("UserRoom");
    db.update(&Login::from_stored("jdoe"), &changed, Expected::Any, &by)
        .await
        .unwrap();
    let again = db.get("jdoe").await.unwrap().expect("jdoe");
    assert_eq!(extra(&again, "UserLanguages"), Some(list(&["en"])));
    assert_eq!(
        extra(&again, "UserNewsletter"),
        Some(AttributeValue::Integer(0))
    );
    assert_eq!(extra(&again, "UserRoom"), None);
    assert_eq!(
        extra(&again, "UserContractStart"),
        Some("2024-03-01".into())
    );
    assert_eq!(rows_where(conn, object, "Room", "1 = 1").await, 0);
    assert_eq!(
        rows_where(conn, object, "Languages", "v.value_text = 'en'").await,
        1
    );
    assert_eq!(rows_where(conn, object, "Languages", "1 = 1").await, 1);
    assert_eq!(
        rows_where(conn, object, "Newsletter", "v.value_int = 0").await,
        1
    );
    assert_eq!(
        value_row_id(conn, object, "ContractStart").await,
        date_row,
        "an unchanged value is not rewritten"
    );
    assert_eq!(
        value_row_id(conn, object, "Department").await,
        department_row
    );

    // A search returns the values with the records.
    let found = db
        .search(&clientele_model::search::UserQuery {
            fields: clientele_model::search::FieldSet::Login,
            expr: clientele_model::search::Expr::Match(Pattern::exact("jdoe")),
            valid_only: true,
            limit: 10,
            case_sensitive: false,
        })
        .await
        .unwrap();
    assert_eq!(found, [again]);

    // A user without dynamic-field values gets no object row.
    db.add(&user("plain", &[]), None, &by).await.unwrap();
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM dynamic_field_obj_id_name WHERE object_name = 'plain'"
        )
        .await,
        0
    );
    finish(test_db, db).await;
}

/// Values written by raw SQL the way OTOBO writes them are read by Clientele.
async fn reads_what_otobo_wrote(kind: Kind) {
    let (test_db, db) = otobo_with_fields(kind).await;
    let conn = db.connection();
    exec(
        conn,
        "INSERT INTO customer_user (login, email, customer_id, pw, title, first_name, last_name, \
         valid_id, create_time, create_by, change_time, change_by) VALUES ('otobo-user', \
         'otobo-user@acme-corp.com', 'ACME', NULL, '', 'Otto', 'Bo', 1, current_timestamp, 1, \
         current_timestamp, 1)",
    )
    .await;
    exec(
        conn,
        "INSERT INTO dynamic_field_obj_id_name (object_name, object_type) VALUES ('otobo-user', \
         'CustomerUser')",
    )
    .await;
    let object = object_id(conn, "otobo-user").await;
    for (name, column, value) in [
        ("Room", "value_text", "'A-1'"),
        ("Department", "value_text", "'support'"),
        ("Languages", "value_text", "'en'"),
        ("Languages", "value_text", "'de'"),
        ("ContractStart", "value_date", "'2023-12-24 00:00:00'"),
        ("LastAudit", "value_date", "'2024-01-02 03:04:05'"),
        ("Newsletter", "value_int", "1"),
    ] {
        // MariaDB cannot read the table an INSERT writes in a subquery: the id first.
        let id = count(
            conn,
            &format!("SELECT id FROM dynamic_field WHERE name = '{name}'"),
        )
        .await;
        exec(
            conn,
            &format!(
                "INSERT INTO dynamic_field_value (field_id, object_id, {column}) VALUES ({id}, \
                 {object}, {value})"
            ),
        )
        .await;
    }
    let u = db.get("otobo-user").await.unwrap().expect("otobo-user");
    assert_eq!(u.extra.get("UserRoom"), Some(&"A-1".into()));
    assert_eq!(u.extra.get("UserDepartment"), Some(&"support".into()));
    assert_eq!(u.extra.get("UserLanguages"), Some(&list(&["en", "de"])));
    assert_eq!(u.extra.get("UserContractStart"), Some(&"2023-12-24".into()));
    assert_eq!(
        u.extra.get("UserLastAudit"),
        Some(&"2024-01-02 03:04:05".into())
    );
    assert_eq!(
        u.extra.get("UserNewsletter"),
        Some(&AttributeValue::Integer(1))
    );
    // Rewriting the record with the values it has changes no value row.
    // (A rewritten row would get a new id, above the highest.)
    let rows = "SELECT COUNT(*) FROM dynamic_field_value";
    let highest = "SELECT MAX(id) FROM dynamic_field_value";
    let before = (count(conn, rows).await, count(conn, highest).await);
    db.update(&u.login, &u, Expected::Any, &"1".into())
        .await
        .unwrap();
    assert_eq!(
        (count(conn, rows).await, count(conn, highest).await),
        before
    );
    finish(test_db, db).await;
}

fn detail(dynamic: Vec<DynamicFieldCondition>) -> DetailSearch {
    DetailSearch {
        dynamic_fields: dynamic,
        valid_only: true,
        ..DetailSearch::default()
    }
}

fn condition(key: &str, tests: &[(DynamicFieldOperator, &[&str])]) -> DynamicFieldCondition {
    tests
        .iter()
        .fold(DynamicFieldCondition::new(key), |c, (op, values)| {
            c.with(*op, values.iter().copied())
        })
}

/// Detail search on dynamic fields finds what OTOBO's would: each operator, `*` wildcards with
/// `%` and `_` literal, OR within an operator's values, AND across operators and fields.
async fn detail_search(kind: Kind) {
    use DynamicFieldOperator::*;
    let (test_db, db) = otobo_with_fields(kind).await;
    let by = "1".into();
    for u in [
        user(
            "anna",
            &[
                ("UserDepartment", "sales".into()),
                ("UserLanguages", list(&["de", "en"])),
                ("UserContractStart", "2024-01-15".into()),
                ("UserLastAudit", "2024-01-15 12:00:00".into()),
                ("UserRoom", "B-201".into()),
                ("UserNewsletter", "1".into()),
            ],
        ),
        user(
            "bert",
            &[
                ("UserDepartment", "support".into()),
                ("UserLanguages", list(&["fr"])),
                ("UserContractStart", "2023-06-01".into()),
                ("UserRoom", "C-3%".into()),
                ("UserNewsletter", "0".into()),
            ],
        ),
        user(
            "cleo",
            &[
                ("UserDepartment", "sales".into()),
                ("UserLanguages", list(&["en"])),
                ("UserContractStart", "2024-07-01".into()),
                ("UserRoom", "b_201".into()),
            ],
        ),
    ] {
        db.add(&u, None, &by).await.unwrap();
    }
    let find = |q: DetailSearch| {
        let db = Arc::clone(&db);
        async move {
            let mut found: Vec<String> = db
                .search_detail(&q)
                .await
                .unwrap_or_else(|e| panic!("{q:?}: {e}"))
                .into_iter()
                .map(Login::into_string)
                .collect();
            found.sort();
            let counted = db.count_detail(&q).await.unwrap();
            assert_eq!(counted, found.len() as u64, "count of {q:?}");
            found
        }
    };
    let by_tests =
        |key: &str, tests: &[(DynamicFieldOperator, &[&str])]| detail(vec![condition(key, tests)]);
    assert_eq!(
        find(by_tests("UserDepartment", &[(Equals, &["sales"])])).await,
        ["anna", "cleo"]
    );
    assert_eq!(
        find(by_tests("UserDepartment", &[(Equals, &["SALES"])])).await,
        ["anna", "cleo"]
    );
    assert_eq!(
        find(by_tests(
            "UserDepartment",
            &[(Equals, &["support", "sales"])]
        ))
        .await,
        ["anna", "bert", "cleo"],
        "values of one operator are OR-ed"
    );
    assert_eq!(
        find(by_tests("UserDepartment", &[(Equals, &["*", ""])])).await,
        ["anna", "bert", "cleo"],
        "a value that is only `*` adds no condition"
    );
    assert_eq!(
        find(by_tests("UserRoom", &[(Like, &["b-*"])])).await,
        ["anna"]
    );
    assert_eq!(
        find(by_tests("UserRoom", &[(Like, &["*%"])])).await,
        ["bert"],
        "% is literal"
    );
    assert_eq!(
        find(by_tests("UserRoom", &[(Like, &["b_*"])])).await,
        ["cleo"],
        "_ is literal"
    );
    assert_eq!(
        find(by_tests("UserRoom", &[(Like, &["*2*"])])).await,
        ["anna", "cleo"]
    );
    assert_eq!(
        find(by_tests(
            "UserContractStart",
            &[(GreaterThan, &["2024-01-01"])]
        ))
        .await,
        ["anna", "cleo"]
    );
    assert_eq!(
        find(by_tests(
            "UserContractStart",
            &[(GreaterThanEquals, &["2024-01-15"])]
        ))
        .await,
        ["anna", "cleo"]
    );
    assert_eq!(
        find(by_tests(
            "UserContractStart",
            &[(SmallerThan, &["2024-01-15"])]
        ))
        .await,
        ["bert"]
    );
    assert_eq!(
        find(by_tests(
            "UserContractStart",
            &[(SmallerThanEquals, &["2024-01-15"])]
        ))
        .await,
        ["anna", "bert"]
    );
    assert_eq!(
        find(by_tests("UserContractStart", &[(Equals, &["2023-06-01"])])).await,
        ["bert"]
    );
    assert_eq!(
        find(by_tests(
            "UserLastAudit",
            &[(GreaterThan, &["2024-01-15 11:59:59"])]
        ))
        .await,
        ["anna"]
    );
    assert_eq!(
        find(by_tests(
            "UserContractStart",
            &[
                (GreaterThan, &["2023-01-01"]),
                (SmallerThan, &["2024-02-01"])
            ]
        ))
        .await,
        ["anna", "bert"],
        "operators are AND-ed"
    );
    // Text ordering compares the lower-cased values.
    assert_eq!(
        find(by_tests("UserRoom", &[(GreaterThan, &["b"])])).await,
        ["anna", "bert", "cleo"]
    );
    assert_eq!(
        find(by_tests("UserRoom", &[(SmallerThan, &["C"])])).await,
        ["anna", "cleo"]
    );
    assert_eq!(
        find(by_tests("UserRoom", &[(SmallerThanEquals, &["b-201"])])).await,
        ["anna"]
    );
    // A multiselect matches on any of its values.
    assert_eq!(
        find(by_tests("UserLanguages", &[(Equals, &["en"])])).await,
        ["anna", "cleo"]
    );
    assert_eq!(
        find(by_tests("UserLanguages", &[(Equals, &["fr", "de"])])).await,
        ["anna", "bert"]
    );
    assert_eq!(
        find(by_tests("UserNewsletter", &[(Equals, &["1"])])).await,
        ["anna"]
    );
    assert_eq!(
        find(by_tests("UserNewsletter", &[(Equals, &["0"])])).await,
        ["bert"]
    );
    // Fields are AND-ed.
    assert_eq!(
        find(detail(vec![
            condition("UserDepartment", &[(Equals, &["sales"])]),
            condition("UserContractStart", &[(GreaterThan, &["2024-02-01"])]),
        ]))
        .await,
        ["cleo"]
    );
    // A condition and a selection on a dynamic field test its values too.
    let mut q = DetailSearch {
        valid_only: true,
        ..DetailSearch::default()
    };
    q.conditions.push(FieldCondition {
        attribute: "UserRoom".into(),
        pattern: Pattern::from_wildcards("c-*"),
    });
    assert_eq!(find(q).await, ["bert"]);
    let mut q = DetailSearch {
        valid_only: true,
        ..DetailSearch::default()
    };
    q.selections.push(SelectionCondition {
        attribute: "UserDepartment".into(),
        values: vec!["support".into(), "it".into()],
    });
    assert_eq!(find(q).await, ["bert"]);
    // A search value the field's type refuses is an error naming the attribute and the value.
    match db
        .search_detail(&by_tests("UserContractStart", &[(GreaterThan, &["soon"])]))
        .await
    {
        Err(Error::Invalid(ValidationError::Invalid { field, value, .. })) => {
            assert_eq!(field, "UserContractStart");
            assert_eq!(value, "soon");
        }
        other => panic!("expected a refusal naming UserContractStart, got {other:?}"),
    }
    // An attribute that is no dynamic field of this source matches nothing.
    assert!(
        find(by_tests("UserShoeSize", &[(Equals, &["42"])]))
            .await
            .is_empty()
    );
    finish(test_db, db).await;
}

/// A value its field does not allow is refused naming the field and the value, and nothing is
/// written; a rename moves the object name; an import writes the values too.
async fn validation_and_rename(kind: Kind) {
    let (test_db, db) = otobo_with_fields(kind).await;
    let conn = db.connection();
    let by = "1".into();
    let bad = user("mona", &[("UserDepartment", "marketing".into())]);
    match db.add(&bad, None, &by).await {
        Err(Error::Invalid(ValidationError::Invalid {
            field,
            value,
            reason,
        })) => {
            assert_eq!(field, "UserDepartment");
            assert_eq!(value, "marketing");
            assert!(reason.contains("Department"), "{reason}");
        }
        other => panic!("expected a refusal naming UserDepartment, got {other:?}"),
    }
    assert!(
        db.get("mona").await.unwrap().is_none(),
        "nothing is written"
    );
    for (key, value) in [
        ("UserLanguages", list(&["de", "xx"])),
        ("UserContractStart", "2024-02-30".into()),
        ("UserLastAudit", "noon".into()),
        ("UserNewsletter", "yes".into()),
    ] {
        match db
            .add(&user("mona", &[(key, value.clone())]), None, &by)
            .await
        {
            Err(Error::Invalid(e)) => assert_eq!(e.field(), key, "{e}"),
            other => panic!("{key} = {value:?}: expected a refusal, got {other:?}"),
        }
    }

    let kim = user(
        "kim",
        &[("UserRoom", "K-1".into()), ("UserLanguages", list(&["de"]))],
    );
    db.add(&kim, None, &by).await.unwrap();
    let object = object_id(conn, "kim").await;
    let mut renamed = db.get("kim").await.unwrap().expect("kim");
    renamed.login = Login::from_stored("kimberly");
    db.update(&Login::from_stored("kim"), &renamed, Expected::Any, &by)
        .await
        .unwrap();
    assert_eq!(
        object_id(conn, "kimberly").await,
        object,
        "the object name moves"
    );
    assert_eq!(
        count(
            conn,
            "SELECT COUNT(*) FROM dynamic_field_obj_id_name WHERE object_name = 'kim'"
        )
        .await,
        0
    );
    let read = db.get("kimberly").await.unwrap().expect("kimberly");
    assert_eq!(read.extra.get("UserRoom"), Some(&"K-1".into()));
    assert_eq!(read.extra.get("UserLanguages"), Some(&list(&["de"])));

    // A bulk import writes each row's values; a row with a refused value is reported.
    let rows = vec![
        ImportRow {
            user: user("imp1", &[("UserDepartment", "it".into())]),
            password_hash: None,
        },
        ImportRow {
            user: user("imp2", &[("UserDepartment", "nope".into())]),
            password_hash: None,
        },
    ];
    let report = db.import_customer_users(&rows, &by).await.unwrap();
    assert_eq!(report.inserted, 1);
    assert_eq!(report.rejected.len(), 1);
    assert_eq!(report.rejected[0].index, 1);
    assert_eq!(
        db.get("imp1")
            .await
            .unwrap()
            .expect("imp1")
            .extra
            .get("UserDepartment"),
        Some(&"it".into())
    );
    finish(test_db, db).await;
}

/// A map row naming a field that is missing, a ticket field or an invalid field is refused when
/// the backend connects, naming the row.
async fn unusable_fields_are_refused(kind: Kind) {
    let (test_db, db) = otobo_with_fields(kind).await;
    let _ = db.connection().close_by_ref().await;
    for (storage, expected) in [
        ("Nope", MapRowProblem::UnknownDynamicField),
        (
            "TicketOnly",
            MapRowProblem::NotACustomerUserField {
                object_type: "Ticket".into(),
            },
        ),
        (
            "Retired",
            MapRowProblem::InvalidDynamicField { valid_id: 2 },
        ),
    ] {
        let mut map = AttributeMap::otobo_customer_user();
        map.push(
            AttributeMapping::new("UserOdd", "Odd", storage)
                .storage_type(StorageType::DynamicField),
        );
        match DbBackend::connect(&test_db.url, config_with(map)).await {
            Err(Error::MapRow {
                key,
                storage: s,
                problem,
                ..
            }) => {
                assert_eq!(key, "UserOdd");
                assert_eq!(s, storage);
                assert_eq!(problem, expected);
            }
            Err(e) => panic!("{storage}: expected a refusal naming the row, got {e}"),
            Ok(_) => panic!("{storage}: the map row was accepted"),
        }
    }
    test_db.drop().await;
}

/// On a database without OTOBO's dynamic-field tables (one Clientele created), a map with a
/// dynamic-field row is refused when the backend connects, naming the row and the tables.
async fn missing_tables_are_named(kind: Kind) {
    let test_db = TestDb::new(kind).await;
    let plain = test_db.connect(test_config()).await;
    clientele_db::migrate(plain.connection())
        .await
        .expect("migrate");
    let _ = plain.connection().close_by_ref().await;
    match DbBackend::connect(&test_db.url, config_with(map())).await {
        Err(e @ Error::MapRow { .. }) => {
            let Error::MapRow { key, problem, .. } = &e else {
                unreachable!()
            };
            assert_eq!(key, "UserRoom");
            assert_eq!(
                *problem,
                MapRowProblem::DynamicFieldTablesMissing {
                    tables: vec![
                        "dynamic_field".into(),
                        "dynamic_field_value".into(),
                        "dynamic_field_obj_id_name".into()
                    ]
                }
            );
            let text = e.to_string();
            assert!(
                text.contains("UserRoom") && text.contains("does not create"),
                "{text}"
            );
        }
        Err(e) => panic!("expected a refusal naming the row, got {e}"),
        Ok(_) => panic!("a dynamic-field row was accepted without the tables"),
    }
    test_db.drop().await;
}

macro_rules! cases {
    ($otobo:expr, $plain:expr $(, #[$attr:meta])?) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])?
        async fn round_trip() {
            crate::round_trip($otobo).await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])?
        async fn reads_what_otobo_wrote() {
            crate::reads_what_otobo_wrote($otobo).await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])?
        async fn detail_search() {
            crate::detail_search($otobo).await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])?
        async fn validation_and_rename() {
            crate::validation_and_rename($otobo).await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])?
        async fn unusable_fields_are_refused() {
            crate::unusable_fields_are_refused($otobo).await
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])?
        async fn missing_tables_are_named() {
            crate::missing_tables_are_named($plain).await
        }
    };
}

mod sqlite {
    cases!(crate::Kind::OtoboSqlite, crate::Kind::SqliteFile);
}

#[cfg(feature = "postgres")]
mod postgres {
    cases!(
        crate::Kind::OtoboPostgres,
        crate::Kind::Postgres,
        #[ignore = "needs PostgreSQL: run scripts/test.sh"]
    );
}

#[cfg(feature = "mysql")]
mod mysql {
    cases!(
        crate::Kind::OtoboMySql,
        crate::Kind::MySql,
        #[ignore = "needs MariaDB: run scripts/test.sh"]
    );
}
