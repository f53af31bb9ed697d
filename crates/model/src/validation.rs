//! Map-driven validation shared by customer users and companies.

use crate::attribute::{AttributeMap, AttributeValue, Attributes, StorageType, keys};
use crate::email::EmailCheck;
use crate::error::{ValidationError, shorten};
use crate::ids::check_text;

/// Attribute keys whose free text may contain line breaks and tabs.
const MULTILINE: [&str; 4] = [
    keys::COMMENT,
    keys::STREET,
    keys::COMPANY_COMMENT,
    keys::COMPANY_STREET,
];

/// Whether a validation is for a new record or for an update (OTOBO checks slightly different
/// things: the password is never required on update).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A new record.
    Add,
    /// A changed record.
    Update,
}

/// The rules for one source: its attribute map and the email check.
#[derive(Clone, Debug)]
pub struct Rules<'a> {
    /// The attribute map of the source the record goes to.
    pub map: &'a AttributeMap,
    /// The email check (applied to `UserEmail` only when the record is valid, as in OTOBO).
    pub email: &'a EmailCheck,
}

/// An empty value, or one of the row's selections when it has any.
fn check_selection(
    key: &str,
    value: &str,
    row: &crate::attribute::AttributeMapping,
) -> Result<(), ValidationError> {
    if value.is_empty() || row.selections.is_empty() || row.selections.contains(value) {
        return Ok(());
    }
    let allowed: Vec<String> = row.selections.values().map(|v| format!("{v:?}")).collect();
    Err(ValidationError::Invalid {
        field: key.to_owned(),
        value: shorten(value),
        reason: format!("not one of the allowed values {}", allowed.join(", ")),
    })
}

/// Checks a whole record given as attributes against the map.
///
/// * every attribute must be in the map (else [`ValidationError::UnknownAttribute`]);
/// * required attributes must be present and non-empty. **Unlike OTOBO, `"0"` counts as a
///   value**: Perl's truthiness made `"0"` missing there; a last name "0" is rare but real, and a
///   typed API has no reason to inherit that (see docs/otobo-differences.md);
/// * lengths are at most the map's maximum (OTOBO's column size by default), in characters;
/// * no NUL or control characters (line breaks allowed in comments, streets and dynamic fields,
///   whose store checks a value against the field's type);
/// * integer attributes must parse as integers;
/// * an attribute whose row has [selections](crate::attribute::Selections) takes one of them
///   (or nothing), as OTOBO's `Selections`;
/// * `UserEmail` passes the email check when `ValidID` is valid (OTOBO lets an invalid user keep a
///   bad address).
pub fn validate(
    attributes: &Attributes,
    rules: &Rules<'_>,
    mode: Mode,
) -> Result<(), ValidationError> {
    for (key, value) in attributes {
        let Some(row) = rules.map.by_key(key) else {
            // Validity is part of the domain even where a source has no column for it.
            if key == keys::VALID {
                continue;
            }
            return Err(ValidationError::UnknownAttribute { field: key.clone() });
        };
        let max = row.effective_max_length();
        // A dynamic field may be a `TextArea`; its store checks the value against the field.
        let multiline =
            MULTILINE.contains(&key.as_str()) || row.storage_type == StorageType::DynamicField;
        match value {
            AttributeValue::Text(s) => {
                check_text(key, s, max, multiline)?;
                check_selection(key, s, row)?;
                if row.storage_type == StorageType::Integer
                    && !s.is_empty()
                    && s.trim().parse::<i64>().is_err()
                {
                    return Err(ValidationError::Invalid {
                        field: key.clone(),
                        value: shorten(s),
                        reason: "not an integer".into(),
                    });
                }
            }
            AttributeValue::Integer(i) => check_selection(key, &i.to_string(), row)?,
            AttributeValue::List(items) => {
                for item in items {
                    check_text(key, item, max, multiline)?;
                    check_selection(key, item, row)?;
                }
            }
        }
    }
    for row in rules.map.rows() {
        if !row.required || row.storage_type == StorageType::DynamicField {
            continue;
        }
        if row.key == keys::PASSWORD && mode == Mode::Update {
            continue;
        }
        let present = attributes.get(&row.key).is_some_and(|v| !v.is_empty());
        if !present {
            return Err(ValidationError::Required {
                field: row.key.clone(),
            });
        }
    }
    let valid = match attributes.get(keys::VALID) {
        None => true,
        Some(AttributeValue::Integer(i)) => *i == 1,
        Some(v) => v.to_text().trim() == "1",
    };
    if valid && let Some(email) = attributes.get(keys::EMAIL) {
        rules.email.check(keys::EMAIL, &email.to_text())?;
    }
    Ok(())
}
