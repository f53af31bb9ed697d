//! Errors as RFC 9457 problem details (`application/problem+json`), mapped once from the
//! library's typed errors: a missing thing is `404`, refused input `422` (naming the field),
//! a taken or changed value `409`, an unreachable source `503`. What went wrong inside a
//! source (driver messages, connection details) is logged, never sent.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientele_backend::Entity;
use clientele_directory::Error;
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of a problem document.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document, with the extension members `field` (the request field or
/// attribute key that was wrong) and `key` (the value looked up).
///
/// ```
/// use axum::http::StatusCode;
/// use clientele_web::Problem;
///
/// let p = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", "email is not valid")
///     .field("email");
/// assert_eq!(p.status, 422);
/// assert_eq!(p.field.as_deref(), Some("email"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// The kind of problem (`not-found`, `invalid`, …); served as the `type` URI
    /// `urn:clientele:problem:<kind>`.
    #[serde(rename = "type", serialize_with = "type_uri")]
    #[schema(rename = "type", value_type = String, example = "urn:clientele:problem:not-found")]
    pub kind: &'static str,
    /// A short summary of the kind, the same for every occurrence (the status's reason phrase).
    pub title: &'static str,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong this time, for a person.
    pub detail: String,
    /// The request field or attribute key that was wrong, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The key that was looked up (a login, a customer id, a group name), when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl Problem {
    /// A problem of `kind` (the last part of its type URI) with this status and detail.
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            kind,
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            key: None,
        }
    }

    /// Names the field that was wrong.
    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Names the key that was looked up.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// `401`: no credentials, or ones the authenticator does not know.
    pub fn unauthorized() -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "this route needs credentials the server accepts (for `clientele serve`: \
             Authorization: Bearer <token>)",
        )
    }

    /// `422` for a request field: `field` and what is wrong with it.
    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", detail).field(field)
    }

    /// `404` for a route no handler serves.
    pub fn no_route(path: &str) -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "no-route",
            format!("no route {path:?}; the routes are listed in /api/v1/openapi.json"),
        )
    }

    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

fn type_uri<S: serde::Serializer>(kind: &&'static str, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("urn:clientele:problem:{kind}"))
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status_code();
        let mut response = (status, Json(self)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The API's name of the key of an entity, for `field` of a not-found problem.
fn key_field(entity: Entity) -> &'static str {
    match entity {
        Entity::CustomerUser => "login",
        Entity::Company => "customer_id",
        Entity::Group => "group",
        Entity::Service => "service",
        Entity::Backend => "source",
        Entity::PermissionType => "permissions",
        _ => "key",
    }
}

impl From<Error> for Problem {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound { entity, key } => Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                format!("{entity} {key:?} not found"),
            )
            .field(key_field(entity))
            .key(key),
            Error::AlreadyExists {
                entity,
                field,
                value,
                ..
            } => Problem::new(
                StatusCode::CONFLICT,
                "already-exists",
                format!("{entity} with {field} {value:?} already exists"),
            )
            .field(field)
            .key(value),
            Error::Ambiguous {
                entity,
                field,
                key,
                matches,
                ..
            } => Problem::new(
                StatusCode::CONFLICT,
                "ambiguous",
                format!(
                    "{entity} {key:?} matches {} stored records that differ only in case ({}); \
                     ask for one of them in its exact case",
                    matches.len(),
                    matches.join(", ")
                ),
            )
            .field(field)
            .key(key),
            Error::ReadOnly { backend } => Problem::new(
                StatusCode::CONFLICT,
                "read-only",
                format!("source {backend:?} is read-only"),
            )
            .field("source")
            .key(backend),
            Error::Invalid(v) => {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", v.to_string())
                    .field(v.field())
            }
            Error::Search(s) => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-search",
                format!("search term refused: {s}"),
            )
            .field("term"),
            Error::Conflict { login } => Problem::new(
                StatusCode::CONFLICT,
                "changed",
                format!("customer user {login:?} was changed by someone else since it was read"),
            )
            .field("login")
            .key(login),
            Error::AuthenticationFailed => Problem::unauthorized(),
            Error::Unavailable { backend, .. } | Error::Timeout { backend, .. } => {
                tracing::warn!(source = %backend, "source unavailable");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    format!("source {backend:?} is unavailable; try again later"),
                )
            }
            other => {
                tracing::error!(error = %other, "request failed inside the directory");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the request failed inside the server; its log says why",
                )
            }
        }
    }
}

/// The name between the first pair of backticks of a serde message (`missing field `login``).
fn backticked(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

impl From<JsonRejection> for Problem {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let text = r.body_text();
        let kind = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too-large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid",
            _ => "bad-request",
        };
        let detail = match status {
            StatusCode::PAYLOAD_TOO_LARGE => {
                "the request body is larger than the server accepts".to_owned()
            }
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                "the request body must be JSON (Content-Type: application/json)".to_owned()
            }
            _ => text.clone(),
        };
        let problem = Problem::new(status, kind, detail);
        match backticked(&text) {
            Some(field) if status == StatusCode::UNPROCESSABLE_ENTITY => problem.field(field),
            _ => problem,
        }
    }
}

impl From<PathRejection> for Problem {
    fn from(r: PathRejection) -> Self {
        Problem::new(r.status(), "bad-path", r.body_text())
    }
}

impl From<QueryRejection> for Problem {
    fn from(r: QueryRejection) -> Self {
        let text = r.body_text();
        let problem = Problem::new(StatusCode::BAD_REQUEST, "bad-query", text.clone());
        match backticked(&text).or_else(|| query_parameter(&text)) {
            Some(field) => problem.field(field),
            None => problem,
        }
    }
}

/// The parameter a query-string message starts with (`…query string: limit: invalid digit`).
fn query_parameter(message: &str) -> Option<&str> {
    let rest = message.split_once("query string: ")?.1;
    let (name, _) = rest.split_once(": ")?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clientele_model::ValidationError;

    #[test]
    fn validation_names_the_field() {
        let p = Problem::from(Error::Invalid(ValidationError::Required {
            field: "UserEmail".into(),
        }));
        assert_eq!(p.status, 422);
        assert_eq!(p.field.as_deref(), Some("UserEmail"));
    }

    #[test]
    fn outage_hides_the_driver_message() {
        let p = Problem::from(Error::Unavailable {
            backend: "main".into(),
            source: "connect to postgres://app:hunter2@db failed".into(),
        });
        assert_eq!(p.status, 503);
        assert!(!p.detail.contains("hunter2"), "{}", p.detail);
    }

    #[test]
    fn backticks_give_the_field() {
        assert_eq!(
            backticked("Failed to deserialize: missing field `login` at line 1"),
            Some("login")
        );
        assert_eq!(backticked("no field"), None);
        assert_eq!(
            query_parameter("Failed to deserialize query string: limit: invalid digit"),
            Some("limit")
        );
        assert_eq!(
            query_parameter("Failed to deserialize query string: oops"),
            None
        );
    }
}
