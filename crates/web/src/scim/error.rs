//! SCIM errors (RFC 7644 §3.12): `urn:ietf:params:scim:api:messages:2.0:Error` documents with
//! `status` as a string and a `scimType`, served as `application/scim+json`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clientele_directory::Error;
use serde::Serialize;

use super::{ERROR_SCHEMA, SCIM_JSON};

/// A SCIM error response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ScimError {
    pub(crate) status: StatusCode,
    pub(crate) scim_type: Option<&'static str>,
    pub(crate) detail: String,
}

#[derive(Serialize)]
struct Body<'a> {
    schemas: [&'static str; 1],
    status: String,
    #[serde(rename = "scimType", skip_serializing_if = "Option::is_none")]
    scim_type: Option<&'a str>,
    detail: &'a str,
}

impl ScimError {
    pub(crate) fn new(
        status: StatusCode,
        scim_type: Option<&'static str>,
        detail: impl Into<String>,
    ) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
        }
    }

    /// `400` with a `scimType` (`invalidValue`, `invalidFilter`, `invalidSyntax`, …).
    pub(crate) fn bad(scim_type: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    /// `400 invalidFilter`.
    pub(crate) fn filter(detail: impl Into<String>) -> Self {
        Self::bad("invalidFilter", detail)
    }

    /// `400 invalidValue`.
    pub(crate) fn value(detail: impl Into<String>) -> Self {
        Self::bad("invalidValue", detail)
    }

    /// `404` for a resource.
    pub(crate) fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            None,
            format!("{what} {id:?} not found"),
        )
    }

    pub(crate) fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            None,
            "SCIM needs a bearer token of scope scim (Authorization: Bearer <token>)",
        )
    }

    pub(crate) fn precondition(id: &str) -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            None,
            format!("{id:?} changed since the version given in If-Match; read it again"),
        )
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let body = Body {
            schemas: [ERROR_SCHEMA],
            status: self.status.as_u16().to_string(),
            scim_type: self.scim_type,
            detail: &self.detail,
        };
        let mut response = (self.status, Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<Error> for ScimError {
    fn from(e: Error) -> Self {
        match e {
            Error::NotFound { entity, key } => ScimError::new(
                StatusCode::NOT_FOUND,
                None,
                format!("{entity} {key:?} not found"),
            ),
            Error::AlreadyExists {
                entity,
                field,
                value,
                ..
            } => ScimError::new(
                StatusCode::CONFLICT,
                Some("uniqueness"),
                format!("{entity} with {field} {value:?} already exists"),
            ),
            Error::Ambiguous { entity, key, .. } => ScimError::new(
                StatusCode::CONFLICT,
                Some("uniqueness"),
                format!("{entity} {key:?} matches several records that differ only in case"),
            ),
            Error::ReadOnly { backend } => ScimError::new(
                StatusCode::BAD_REQUEST,
                Some("mutability"),
                format!("source {backend:?} is read-only; its users cannot be changed here"),
            ),
            Error::Invalid(v) => ScimError::value(v.to_string()),
            Error::Search(s) => ScimError::filter(format!("filter refused: {s}")),
            Error::Conflict { login } => ScimError::precondition(&login),
            Error::AuthenticationFailed => ScimError::unauthorized(),
            Error::Unavailable { backend, .. } | Error::Timeout { backend, .. } => {
                tracing::warn!(source = %backend, "source unavailable");
                ScimError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    None,
                    format!("source {backend:?} is unavailable; try again later"),
                )
            }
            other => {
                tracing::error!(error = %other, "SCIM request failed inside the directory");
                ScimError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    "the request failed inside the server; its log says why",
                )
            }
        }
    }
}
