//! Names and comments of groups and services (OTOBO `groups_table`, `service`), and the
//! service hierarchy OTOBO keeps in the names.
//!
//! OTOBO stores no parent id: `service.name` holds the full path, its segments joined by `::`
//! (`Email::Outbound` is the child `Outbound` of `Email`), and `ServiceAdd` builds that name from
//! a parent and a short name without `::`. A child needs its parent; renaming a service renames
//! every descendant (`ServiceUpdate`). These functions are the one home of those rules; stores
//! apply them inside their own transaction.
//!
//! ```
//! use clientele_model::catalog::{check_service_name, parent_service, renamed_descendant};
//!
//! assert!(check_service_name("Email::Outbound").is_ok());
//! assert_eq!(parent_service("Email::Outbound::SMTP"), Some("Email::Outbound"));
//! assert_eq!(parent_service("Email"), None);
//! assert_eq!(
//!     renamed_descendant("Email::Outbound", "Email", "Mail").as_deref(),
//!     Some("Mail::Outbound")
//! );
//! let err = check_service_name("Email::::Outbound").unwrap_err();
//! assert_eq!(err.field(), "service");
//! ```

use crate::ValidationError;
use crate::limits;

/// What joins the segments of a service's full name (OTOBO's `::`).
pub const SERVICE_SEPARATOR: &str = "::";

/// The field a refused group name is reported under.
pub const GROUP_FIELD: &str = "group";

/// The field a refused service name is reported under.
pub const SERVICE_FIELD: &str = "service";

/// The field a refused comment of a group or service is reported under (OTOBO's column).
pub const COMMENT_FIELD: &str = "comments";

/// The start of a refused value, for an error message.
fn shown(value: &str) -> String {
    value.chars().take(64).collect()
}

/// Checks a name for a column of `max` characters: not blank, no control character, not too
/// long. The error names `field`.
fn check_name(field: &str, name: &str, max: usize) -> Result<(), ValidationError> {
    if name.trim().is_empty() {
        return Err(ValidationError::Required {
            field: field.into(),
        });
    }
    if let Some((position, character)) = name.chars().enumerate().find(|(_, c)| c.is_control()) {
        return Err(ValidationError::ForbiddenCharacter {
            field: field.into(),
            character,
            position,
        });
    }
    let len = name.chars().count();
    if len > max {
        return Err(ValidationError::TooLong {
            field: field.into(),
            len,
            max,
            value: shown(name),
        });
    }
    Ok(())
}

/// Checks a group name (`groups_table.name VARCHAR(191)`): not blank, no control character, at
/// most [`limits::GROUP_NAME`] characters. The error names the field `group`.
pub fn check_group_name(name: &str) -> Result<(), ValidationError> {
    check_name(GROUP_FIELD, name, limits::GROUP_NAME)
}

/// Checks a service's full name (`service.name VARCHAR(191)`): not blank, no control
/// character, at most [`limits::SERVICE_NAME`] characters, and every `::`-separated segment
/// non-empty, without surrounding spaces and without a `:` at either end (so `A:::B` is refused
/// rather than read one way or the other; OTOBO refuses `::` inside a segment). The error names
/// the field `service`.
pub fn check_service_name(name: &str) -> Result<(), ValidationError> {
    check_name(SERVICE_FIELD, name, limits::SERVICE_NAME)?;
    for segment in name.split(SERVICE_SEPARATOR) {
        let reason = if segment.is_empty() {
            "has an empty segment: `::` separates a parent's name from a child's, and neither \
             may be empty"
        } else if segment.trim() != segment {
            "has a segment with spaces at its start or end"
        } else if segment.starts_with(':') || segment.ends_with(':') {
            "has a segment starting or ending with `:`; a segment can't contain `::`"
        } else {
            continue;
        };
        return Err(ValidationError::Invalid {
            field: SERVICE_FIELD.into(),
            value: shown(name),
            reason: reason.into(),
        });
    }
    Ok(())
}

/// Checks a comment of a group or service (`comments VARCHAR(250)`): at most
/// [`limits::COMMENT`] characters and no NUL. The error names the field `comments`.
pub fn check_comment(comment: &str) -> Result<(), ValidationError> {
    if let Some(position) = comment.chars().position(|c| c == '\0') {
        return Err(ValidationError::ForbiddenCharacter {
            field: COMMENT_FIELD.into(),
            character: '\0',
            position,
        });
    }
    let len = comment.chars().count();
    if len > limits::COMMENT {
        return Err(ValidationError::TooLong {
            field: COMMENT_FIELD.into(),
            len,
            max: limits::COMMENT,
            value: shown(comment),
        });
    }
    Ok(())
}

/// The full name of a service's parent: everything before the last `::`; `None` for a
/// top-level service.
pub fn parent_service(name: &str) -> Option<&str> {
    name.rsplit_once(SERVICE_SEPARATOR)
        .map(|(parent, _)| parent)
}

/// Whether `name` lies below `ancestor` in the hierarchy (`Email::Outbound` below `Email`, not
/// `Emails` nor `Email` itself). Compared exactly, as OTOBO compares service names.
pub fn is_descendant(name: &str, ancestor: &str) -> bool {
    name.strip_prefix(ancestor)
        .is_some_and(|rest| rest.starts_with(SERVICE_SEPARATOR))
}

/// The new full name of `name` when its ancestor `old` is renamed to `new`; `None` when `name`
/// is not below `old`.
pub fn renamed_descendant(name: &str, old: &str, new: &str) -> Option<String> {
    if is_descendant(name, old) {
        Some(format!("{new}{}", &name[old.len()..]))
    } else {
        None
    }
}

/// Checks that the service `old` may be renamed to `new` with its descendants (each of
/// `descendants`, by full name): `new` is well-formed, is not below `old` (a service can't be
/// moved below itself), and no descendant's new name is too long. The parent of `new` must
/// exist besides; that is the store's to check, in the rename's transaction.
pub fn check_service_rename<'a>(
    old: &str,
    new: &str,
    descendants: impl IntoIterator<Item = &'a str>,
) -> Result<(), ValidationError> {
    check_service_name(new)?;
    if is_descendant(new, old) {
        return Err(ValidationError::Invalid {
            field: SERVICE_FIELD.into(),
            value: shown(new),
            reason: format!("a service can't be moved below itself ({old})"),
        });
    }
    for name in descendants {
        if let Some(renamed) = renamed_descendant(name, old, new) {
            check_name(SERVICE_FIELD, &renamed, limits::SERVICE_NAME)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_refuse_empty_and_ambiguous_segments() {
        for good in [
            "Email",
            "Email::Outbound",
            "A::B::C",
            "IT: Hardware",
            "a b::c d",
        ] {
            assert!(check_service_name(good).is_ok(), "{good}");
        }
        for bad in [
            "", " ", "::", "Email::", "::Email", "A::::B", "A:::B", "A::B:", ":A", "A:: B",
        ] {
            let err = check_service_name(bad).unwrap_err();
            assert_eq!(err.field(), SERVICE_FIELD, "{bad}: {err}");
        }
        let long = "x".repeat(limits::SERVICE_NAME + 1);
        assert!(matches!(
            check_service_name(&long),
            Err(ValidationError::TooLong { .. })
        ));
        assert!(matches!(
            check_service_name("a\nb"),
            Err(ValidationError::ForbiddenCharacter { position: 1, .. })
        ));
    }

    #[test]
    fn descendants_are_below_a_separator_only() {
        assert!(is_descendant("Email::Outbound", "Email"));
        assert!(is_descendant("Email::Outbound::SMTP", "Email"));
        assert!(!is_descendant("Emails::Outbound", "Email"));
        assert!(!is_descendant("Email", "Email"));
        assert!(!is_descendant("email::Outbound", "Email"));
        assert_eq!(renamed_descendant("Emails::x", "Email", "Mail"), None);
        assert_eq!(
            renamed_descendant("Email::Out::SMTP", "Email::Out", "Mail").as_deref(),
            Some("Mail::SMTP")
        );
    }

    #[test]
    fn renames_check_the_new_names_of_descendants() {
        assert!(check_service_rename("Email", "Mail", ["Email::Outbound"]).is_ok());
        let below_itself = check_service_rename("Email", "Email::Inner", []).unwrap_err();
        assert_eq!(below_itself.field(), SERVICE_FIELD);
        let long = "y".repeat(limits::SERVICE_NAME - 4);
        let err = check_service_rename("E", &long, ["E::child"]).unwrap_err();
        assert!(matches!(err, ValidationError::TooLong { .. }), "{err}");
    }

    #[test]
    fn comments_and_group_names() {
        assert!(check_comment("").is_ok());
        assert_eq!(check_comment("a\0").unwrap_err().field(), COMMENT_FIELD);
        assert!(check_comment(&"c".repeat(limits::COMMENT + 1)).is_err());
        assert!(check_group_name("billing").is_ok());
        assert_eq!(check_group_name(" ").unwrap_err().field(), GROUP_FIELD);
    }
}
