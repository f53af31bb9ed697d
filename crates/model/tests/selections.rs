//! OTOBO's `Selections`: a map row with allowed values refuses any other value on add and on
//! update, naming the attribute and the value, and carries the values (and labels) in its row.

use clientele_model::{
    AttributeMap, AttributeMapping, CustomerUserChanges, EmailCheck, NewCustomerUser, Rules,
    Selections, ValidationError, keys,
};

fn map() -> AttributeMap {
    let mut map = AttributeMap::otobo_customer_user();
    let rows: Vec<AttributeMapping> = map
        .rows()
        .iter()
        .cloned()
        .map(|row| {
            if row.key == keys::TITLE {
                row.selections(Selections::new([("Mr.", "Mister"), ("Mrs.", "Missus")]))
            } else {
                row
            }
        })
        .collect();
    map = AttributeMap::new(rows);
    map.push(
        AttributeMapping::new("UserRegion", "Region", "region")
            .selections(Selections::of_values(["EMEA", "APAC"])),
    );
    map
}

fn jdoe() -> NewCustomerUser {
    NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.test", "ACME")
}

#[test]
fn values_outside_the_selections_are_refused_naming_them() {
    let map = map();
    let email = EmailCheck::default();
    let rules = Rules {
        map: &map,
        email: &email,
    };

    let ok = jdoe().with(keys::TITLE, "Mrs.").with("UserRegion", "APAC");
    assert!(ok.validate(&rules).is_ok());
    // Nothing at all is fine: the row is not required.
    assert!(jdoe().validate(&rules).is_ok());

    for (key, value) in [
        (keys::TITLE, "Dr."),
        ("UserRegion", "emea"),
        (keys::TITLE, "Mister"),
    ] {
        match jdoe().with(key, value).validate(&rules) {
            Err(ValidationError::Invalid {
                field,
                value: got,
                reason,
            }) => {
                assert_eq!((field.as_str(), got.as_str()), (key, value));
                assert!(reason.contains("allowed values"), "{reason}");
            }
            other => panic!("{key}={value}: expected Invalid, got {other:?}"),
        }
    }

    // An update is held to the same list.
    let user = ok.validate(&rules).unwrap();
    let changed = CustomerUserChanges::new().set("UserRegion", "LATAM");
    match changed.apply(&user, &rules) {
        Err(ValidationError::Invalid { field, value, .. }) => {
            assert_eq!((field.as_str(), value.as_str()), ("UserRegion", "LATAM"));
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn the_row_carries_the_values_and_labels() {
    let map = map();
    let title = map.by_key(keys::TITLE).unwrap();
    assert_eq!(
        title.selections.values().collect::<Vec<_>>(),
        ["Mr.", "Mrs."]
    );
    assert_eq!(title.selections.label("Mrs."), Some("Missus"));
    // A row without selections serialises as before; one with them lists them.
    let json = serde_json::to_value(map.by_key(keys::CITY).unwrap()).unwrap();
    assert!(json.get("selections").is_none());
    let json = serde_json::to_value(title).unwrap();
    assert_eq!(json["selections"]["Mrs."], "Missus");
    // A configuration names them as a list or a table.
    let row: AttributeMapping = serde_json::from_str(
        r#"{"key": "UserRegion", "storage": "region", "selections": ["EMEA", "APAC"]}"#,
    )
    .unwrap();
    assert!(row.selections.contains("EMEA"));
}
