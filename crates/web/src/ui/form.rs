//! Forms built from an attribute map: one field a row (custom rows such as `UserRoom`
//! included), required rows marked, selections as `<select>`, read-only rows shown but not
//! editable. A refusal is shown next to the field it names.

use clientele_model::attribute::{AttributeMap, AttributeMapping, StorageType};
use clientele_model::{Validity, keys};
use maud::{Markup, html};

use crate::Problem;

/// A refusal to show on a form: the field it names (an attribute key, a storage name or a
/// form field) and the message.
#[derive(Clone, Debug)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) message: String,
}

impl FieldError {
    pub(crate) fn new(field: &str, message: impl Into<String>) -> Self {
        FieldError {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The problem's field and detail; `None` when it names no field.
    pub(crate) fn of(problem: &Problem) -> Option<Self> {
        problem.field.as_ref().map(|f| FieldError {
            field: f.clone(),
            message: problem.detail.clone(),
        })
    }

    /// What a refused write shows: the form again with this error at its field, or (`Err`)
    /// an error page — for a failure on the server's side, or a refusal naming no field.
    pub(crate) fn of_refusal(problem: Problem) -> Result<Self, Problem> {
        match FieldError::of(&problem) {
            Some(e) if problem.status < 500 => Ok(e),
            _ => Err(problem),
        }
    }

    fn names(&self, row: &AttributeMapping) -> bool {
        self.field.eq_ignore_ascii_case(&row.key) || self.field.eq_ignore_ascii_case(&row.storage)
    }

    /// Whether the error belongs to a field that is not a row of `map` (shown above the form).
    pub(crate) fn is_general(&self, map: &AttributeMap, own: &[&str]) -> bool {
        !form_rows(map).any(|r| self.names(r)) && !own.contains(&self.field.as_str())
    }
}

/// The rows a form shows: every row but the password and the validity (own fields).
pub(crate) fn form_rows(map: &AttributeMap) -> impl Iterator<Item = &AttributeMapping> {
    map.rows()
        .iter()
        .filter(|r| r.key != keys::PASSWORD && r.key != keys::VALID)
}

/// The id of a row's input.
pub(crate) fn input_id(key: &str) -> String {
    format!("f-{key}")
}

/// The fields of `map`, with `value(key)` filled in. `editing`: read-only rows and `locked`
/// keys are shown disabled (not sent).
pub(crate) fn fields(
    map: &AttributeMap,
    value: &dyn Fn(&str) -> String,
    error: Option<&FieldError>,
    editing: bool,
    locked: &[&str],
) -> Markup {
    html! {
        @for row in form_rows(map) {
            @let id = input_id(&row.key);
            @let v = value(&row.key);
            @let fixed = editing && (row.read_only || locked.contains(&row.key.as_str()));
            @let label = if row.label.is_empty() { row.key.as_str() } else { row.label.as_str() };
            div.field {
                label for=(id) {
                    (label)
                    @if row.required && !fixed { span.required title="required" { " *" } }
                    @if fixed { span.readonly { " (read-only)" } }
                }
                @if fixed {
                    input id=(id) type="text" value=(v) disabled;
                } @else if !row.selections.is_empty() {
                    select id=(id) name=(row.key) required[row.required] {
                        @if !row.required { option value="" selected[v.is_empty()] { "-" } }
                        @for option in row.selections.values() {
                            option value=(option) selected[option == v] {
                                (row.selections.label(option).unwrap_or(option))
                            }
                        }
                    }
                } @else {
                    input id=(id) type=(if row.storage_type == StorageType::Integer { "number" } else { "text" })
                        name=(row.key) value=(v) maxlength=(row.effective_max_length())
                        required[row.required];
                }
                @if let Some(e) = error.filter(|e| e.names(row)) {
                    p.error id={(id) "-error"} { (e.message) }
                }
            }
        }
    }
}

/// The validity select (`name="validity"`).
pub(crate) fn validity_select(current: Validity, error: Option<&FieldError>) -> Markup {
    html! {
        div.field {
            label for="f-validity" { "Validity" }
            select #f-validity name="validity" {
                @for v in Validity::ALL {
                    option value=(v.name()) selected[v == current] { (v.name()) }
                }
            }
            @if let Some(e) = error.filter(|e| e.field == "validity") {
                p.error #f-validity-error { (e.message) }
            }
        }
    }
}

/// An error the form's fields do not show, above the form.
pub(crate) fn general(error: Option<&FieldError>, map: &AttributeMap, own: &[&str]) -> Markup {
    html! {
        @if let Some(e) = error.filter(|e| e.is_general(map, own)) {
            p.error #form-error { (e.message) }
        }
    }
}

/// The value of `validity` in a form, refused naming the field.
pub(crate) fn validity_of(text: Option<&str>) -> Result<Option<Validity>, FieldError> {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| {
            FieldError::new(
                "validity",
                format!("validity: {t:?} is not one of valid, invalid, invalid-temporarily"),
            )
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_model::attribute::Selections;

    #[test]
    fn rows_become_fields() {
        let mut map = AttributeMap::otobo_customer_user();
        map.push(AttributeMapping::new("UserRoom", "Room", "room").required());
        map.push(
            AttributeMapping::new("UserTitle2", "Salutation", "title2")
                .selections(Selections::of_values(["Mr.", "Mrs."])),
        );
        let err = FieldError::new("room", "UserRoom: required");
        let html = fields(&map, &|k| format!("<{k}>"), Some(&err), false, &[]).into_string();
        assert!(html.contains(r#"name="UserRoom""#), "{html}");
        assert!(html.contains("Room<span class=\"required\""), "{html}");
        assert!(html.contains("<select id=\"f-UserTitle2\""), "{html}");
        assert!(html.contains(r#"id="f-UserRoom-error""#), "{html}");
        assert!(html.contains("&lt;UserLogin&gt;"), "escaped: {html}");
        assert!(!html.contains("UserPassword"), "{html}");
    }

    #[test]
    fn read_only_rows_are_disabled_when_editing() {
        let map = AttributeMap::otobo_ldap_example();
        let html = fields(&map, &|_| String::new(), None, true, &[]).into_string();
        assert!(!html.contains("name="), "{html}");
        assert!(html.contains("(read-only)"), "{html}");
    }

    #[test]
    fn a_bad_validity_names_the_field() {
        assert_eq!(validity_of(Some("valid")).unwrap(), Some(Validity::Valid));
        assert_eq!(validity_of(Some("")).unwrap(), None);
        assert_eq!(validity_of(Some("gone")).unwrap_err().field, "validity");
    }
}
