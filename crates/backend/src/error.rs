//! The one public error type of Clientele's backends and Directory.

use std::fmt;

use clientele_model::ValidationError;
use clientele_model::search::SearchSyntaxError;
use thiserror::Error;

/// A boxed error from a driver (sea-orm, ldap3, …), kept as the source of an [`Error`](enum@Error).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The kinds of things an error can be about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Entity {
    /// A customer user.
    CustomerUser,
    /// A customer company.
    Company,
    /// A group.
    Group,
    /// A service.
    Service,
    /// A backend, by name.
    Backend,
    /// A permission type (`ro`, `rw`, …) that is not configured.
    PermissionType,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Entity::CustomerUser => "customer user",
            Entity::Company => "customer company",
            Entity::Group => "group",
            Entity::Service => "service",
            Entity::Backend => "backend",
            Entity::PermissionType => "permission type",
        })
    }
}

/// Everything that can go wrong. Callers match on meaning, not on backend; errors from a store
/// carry the backend's name.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The thing does not exist.
    #[error("{entity} {key:?} not found")]
    NotFound {
        /// What was looked for.
        entity: Entity,
        /// Its key (login, customer id, group name …).
        key: String,
    },
    /// A unique value is taken.
    #[error(
        "{entity} with {field} {value:?} already exists{}",
        in_backend(backend)
    )]
    AlreadyExists {
        /// What kind of record.
        entity: Entity,
        /// The unique attribute (`UserLogin`, `UserEmail`, `CustomerID`, `CustomerCompanyName`, …).
        field: String,
        /// The value that is taken.
        value: String,
        /// The backend that holds it, when known.
        backend: Option<String>,
    },
    /// A look-up found several stored records for one key and none of them is the one asked
    /// for: a login or customer id compared case-insensitively matched values that differ only
    /// in case (OTOBO's schema allows `acme` beside `ACME` on PostgreSQL), none of them in the
    /// exact case given. Picking one would act on an arbitrary record, so the caller has to ask
    /// for one of `matches` exactly.
    #[error(
        "{entity} {key:?} is ambiguous in backend {backend:?}: its {field} matches {}, and none of \
         them exactly; ask for one of them in its exact case",
        quoted_list(matches)
    )]
    Ambiguous {
        /// What was looked up.
        entity: Entity,
        /// The attribute compared (`UserLogin`, `CustomerID`).
        field: String,
        /// The value asked for.
        key: String,
        /// Every stored value it matched, in code-point order.
        matches: Vec<String>,
        /// The backend that holds them.
        backend: String,
    },
    /// The backend does not accept writes of customer data (LDAP always; any backend by config).
    #[error("backend {backend:?} is read-only")]
    ReadOnly {
        /// The backend's name.
        backend: String,
    },
    /// Input refused by the model's rules; names the field.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The search term could not be parsed.
    #[error("search term refused: {0}")]
    Search(#[from] SearchSyntaxError),
    /// An optimistic-concurrency check failed: the record changed since the caller read it.
    #[error("customer user {login:?} was changed by someone else since it was read")]
    Conflict {
        /// The user.
        login: String,
    },
    /// Login refused. Deliberately the same for an unknown user, a wrong password and an invalid
    /// user, so a caller cannot probe which logins exist.
    #[error("authentication failed")]
    AuthenticationFailed,
    /// The backend cannot be reached (connection refused or lost); retrying later may work.
    #[error("backend {backend:?} is unavailable: {source}")]
    Unavailable {
        /// The backend's name.
        backend: String,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
    /// The backend did not answer in time; retrying later may work.
    #[error("backend {backend:?} timed out after {millis} ms")]
    Timeout {
        /// The backend's name.
        backend: String,
        /// The timeout that expired.
        millis: u64,
    },
    /// The configuration is unusable; says what to fix.
    #[error("configuration: {0}")]
    Config(String),
    /// A row of the attribute map the backend cannot serve, found when it was configured or
    /// connected (or, for a dynamic field removed since, at the next write): names the row.
    #[error(
        "configuration: backend {backend:?} cannot serve attribute-map row {key} (storage \
         {storage:?}): {problem}"
    )]
    MapRow {
        /// The backend's name.
        backend: String,
        /// The row's attribute key, e.g. `UserDepartment`.
        key: String,
        /// The row's storage (for a dynamic field, the field's name).
        storage: String,
        /// What is wrong with it.
        problem: MapRowProblem,
    },
    /// Any other failure inside a backend.
    #[error("backend {backend:?} failed: {source}")]
    Backend {
        /// The backend's name.
        backend: String,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
}

/// Why a backend cannot serve a row of the attribute map ([`Error::MapRow`]).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MapRowProblem {
    /// The backend cannot store dynamic fields at all (the LDAP backend).
    #[error("this backend cannot store dynamic fields; move the row to a database source")]
    DynamicFieldsUnsupported,
    /// The database has no dynamic-field tables (a database Clientele created): Clientele does
    /// not create OTOBO's dynamic-field tables.
    #[error(
        "the database lacks the dynamic-field table(s) {}; Clientele does not create OTOBO's \
         dynamic-field tables, so dynamic-field rows need an OTOBO database",
        tables.join(", ")
    )]
    DynamicFieldTablesMissing {
        /// The tables that are missing.
        tables: Vec<String>,
    },
    /// No dynamic field has the row's storage as its name.
    #[error("no dynamic field of that name exists")]
    UnknownDynamicField,
    /// The dynamic field belongs to another kind of object (a ticket field, …).
    #[error("the dynamic field is for object type {object_type:?}, not CustomerUser")]
    NotACustomerUserField {
        /// The field's object type.
        object_type: String,
    },
    /// The dynamic field is not valid (OTOBO reads only valid fields).
    #[error("the dynamic field is not valid (valid_id {valid_id})")]
    InvalidDynamicField {
        /// The field's validity id.
        valid_id: i64,
    },
    /// The dynamic field has a type Clientele does not store.
    #[error(
        "the dynamic field's type {field_type:?} is not one Clientele stores (Text, TextArea, \
         Dropdown, Multiselect, Date, DateTime, Checkbox)"
    )]
    UnsupportedFieldType {
        /// The field's type.
        field_type: String,
    },
    /// The dynamic field's configuration cannot be read.
    #[error("the dynamic field's configuration cannot be read: {reason}")]
    UnreadableFieldConfig {
        /// What is wrong with it.
        reason: String,
    },
}

/// `"a", "b" and "c"`: each value quoted as `Debug` shows it.
fn quoted_list(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    match quoted.split_last() {
        None => "nothing".to_owned(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn in_backend(b: &Option<String>) -> String {
    b.as_ref()
        .map(|b| format!(" in backend {b:?}"))
        .unwrap_or_default()
}

impl Error {
    /// `true` when trying again later may succeed (unavailable, timeout, conflict).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Error::Unavailable { .. } | Error::Timeout { .. } | Error::Conflict { .. }
        )
    }

    /// `true` for a source that can't be reached or did not answer in time
    /// ([`Error::Unavailable`], [`Error::Timeout`]).
    pub fn is_outage(&self) -> bool {
        matches!(self, Error::Unavailable { .. } | Error::Timeout { .. })
    }

    /// `true` for a failure of the source itself rather than an answer about the request: an
    /// outage ([`is_outage`](Self::is_outage)), a backend failure ([`Error::Backend`], e.g. an
    /// LDAP service account whose bind is refused) or a configuration the source cannot serve
    /// ([`Error::Config`], [`Error::MapRow`]). A multi-source search leaves such a source out
    /// and names it; a refused term, an ambiguous login or a conflict are answers, not
    /// failures.
    pub fn is_source_failure(&self) -> bool {
        self.is_outage()
            || matches!(
                self,
                Error::Backend { .. } | Error::Config(_) | Error::MapRow { .. }
            )
    }

    /// A not-found error for a customer user.
    pub fn user_not_found(login: &str) -> Self {
        Error::NotFound {
            entity: Entity::CustomerUser,
            key: login.to_owned(),
        }
    }

    /// A backend failure that keeps its cause: `source` stays reachable through
    /// [`source`](std::error::Error::source), so a caller can still see the driver's error.
    pub fn backend_failure(backend: &str, source: impl Into<BoxError>) -> Self {
        Error::Backend {
            backend: backend.to_owned(),
            source: source.into(),
        }
    }

    /// A generic backend error from any displayable message.
    pub fn backend(backend: &str, message: impl Into<String>) -> Self {
        Error::Backend {
            backend: backend.to_owned(),
            source: message.into().into(),
        }
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ambiguity_names_the_key_and_every_match() {
        let e = Error::Ambiguous {
            entity: Entity::Company,
            field: "CustomerID".into(),
            key: "Acme".into(),
            matches: vec!["ACME".into(), "acme".into()],
            backend: "db".into(),
        };
        assert_eq!(
            e.to_string(),
            "customer company \"Acme\" is ambiguous in backend \"db\": its CustomerID matches \
             \"ACME\" and \"acme\", and none of them exactly; ask for one of them in its exact \
             case"
        );
        assert!(!e.is_retryable());
        assert_eq!(
            quoted_list(&["a".into(), "b".into(), "c".into()]),
            "\"a\", \"b\" and \"c\""
        );
    }
}
