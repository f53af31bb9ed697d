//! Attributes by name: `--attr KEY=VALUE`, import columns and export columns, resolved against
//! an attribute map (OTOBO `Map`) by attribute key or by storage column.

use clientele::model::{AttributeMap, AttributeValue, StorageType, Validity, keys};

use crate::error::{CliError, CliResult};

/// Audit columns an export writes and an import skips.
pub const AUDIT_COLUMNS: [&str; 4] = ["CreateTime", "CreateBy", "ChangeTime", "ChangeBy"];

/// The attribute key for a name: an attribute key of the map, or a storage column / LDAP
/// attribute, compared ignoring case.
pub fn resolve(map: &AttributeMap, name: &str) -> Option<String> {
    let name = name.trim();
    if let Some(row) = map.by_key(name) {
        return Some(row.key.clone());
    }
    if let Some(row) = map.rows().iter().find(|r| r.key.eq_ignore_ascii_case(name)) {
        return Some(row.key.clone());
    }
    map.by_storage(name).map(|r| r.key.clone())
}

/// An error for a name that is not in the map, listing what is.
pub fn unknown(map: &AttributeMap, name: &str, what: &str) -> CliError {
    let known: Vec<String> = map
        .rows()
        .iter()
        .filter(|r| r.key != keys::PASSWORD)
        .map(|r| format!("{} ({})", r.key, r.storage))
        .collect();
    CliError::input(format!("{what} `{name}` is not in the attribute map"))
        .hint(format!("known attributes: {}", known.join(", ")))
}

/// Parses `KEY=VALUE` options into (attribute key, value) pairs.
pub fn parse_pairs(map: &AttributeMap, pairs: &[String]) -> CliResult<Vec<(String, String)>> {
    pairs
        .iter()
        .map(|p| {
            let (k, v) = p.split_once('=').ok_or_else(|| {
                CliError::input(format!(
                    "--attr {p:?}: write KEY=VALUE, e.g. --attr room=B-201"
                ))
            })?;
            let key = resolve(map, k).ok_or_else(|| unknown(map, k, "attribute"))?;
            Ok((key, v.to_owned()))
        })
        .collect()
}

/// A value as the model takes it: integers for integer rows (`ValidID` also from its name).
pub fn value_for(map: &AttributeMap, key: &str, text: &str) -> CliResult<AttributeValue> {
    if key == keys::VALID {
        let t = text.trim();
        if t.is_empty() {
            return Ok(AttributeValue::Text(String::new()));
        }
        let validity = match t.parse::<i64>() {
            Ok(id) => Validity::from_id(id).map_err(|e| CliError::input(e.to_string()))?,
            Err(_) => t.parse::<Validity>().map_err(|_| {
                CliError::input(format!(
                    "ValidID = {t:?}: use 1/valid, 2/invalid or 3/invalid-temporarily"
                ))
            })?,
        };
        return Ok(AttributeValue::Integer(validity.id().into()));
    }
    let integer = map
        .by_key(key)
        .is_some_and(|r| r.storage_type == StorageType::Integer);
    if integer && !text.trim().is_empty() {
        let i = text.trim().parse::<i64>().map_err(|_| {
            CliError::input(format!("{key} = {text:?} is not valid: not an integer"))
        })?;
        return Ok(AttributeValue::Integer(i));
    }
    Ok(AttributeValue::Text(text.to_owned()))
}

/// The text of a value as exports and comparisons use it.
pub fn text(value: Option<AttributeValue>) -> String {
    value.map(|v| v.to_text()).unwrap_or_default()
}

/// The columns an export writes for a map: every attribute key except the password, in map
/// order, then the given extra keys that the map lacks.
pub fn export_columns(map: &AttributeMap, extra: &[&str]) -> Vec<String> {
    let mut cols: Vec<String> = map
        .rows()
        .iter()
        .filter(|r| r.key != keys::PASSWORD && r.storage_type != StorageType::DynamicField)
        .map(|r| r.key.clone())
        .collect();
    for k in extra {
        if !cols.iter().any(|c| c == k) {
            cols.push((*k).to_owned());
        }
    }
    cols
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele::model::AttributeMapping;

    #[test]
    fn resolves_keys_and_columns() {
        let mut map = AttributeMap::otobo_customer_user();
        map.push(AttributeMapping::new("UserRoom", "Room", "room"));
        assert_eq!(resolve(&map, "room").as_deref(), Some("UserRoom"));
        assert_eq!(resolve(&map, "UserRoom").as_deref(), Some("UserRoom"));
        assert_eq!(
            resolve(&map, "first_name").as_deref(),
            Some("UserFirstname")
        );
        assert_eq!(
            resolve(&map, "userfirstname").as_deref(),
            Some("UserFirstname")
        );
        assert_eq!(resolve(&map, "nope"), None);
        assert_eq!(
            parse_pairs(&map, &["room=B-201".into()]).unwrap(),
            [("UserRoom".to_owned(), "B-201".to_owned())]
        );
        assert!(parse_pairs(&map, &["room".into()]).is_err());
    }

    #[test]
    fn validity_by_id_or_name() {
        let map = AttributeMap::otobo_customer_user();
        assert_eq!(
            value_for(&map, "ValidID", "invalid").unwrap(),
            AttributeValue::Integer(2)
        );
        assert_eq!(
            value_for(&map, "ValidID", "3").unwrap(),
            AttributeValue::Integer(3)
        );
        assert!(value_for(&map, "ValidID", "7").is_err());
    }
}
