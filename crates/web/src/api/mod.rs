//! The JSON API under `/api/v1`: one module per admin screen, each handler a Directory call.
//!
//! Routes are registered from their `#[utoipa::path]` annotations (utoipa-axum's `routes!`),
//! so the OpenAPI document lists exactly the routes the router serves.

mod companies;
mod groups;
mod services;
mod users;

use std::collections::BTreeMap;

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use clientele_model::{Actor, AttributeValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{AppState, Principal, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Clientele JSON API",
        version = "1",
        description = "Customer users, companies, group grants and services of an \
                       OTOBO/Znuny-compatible directory. Errors are RFC 9457 problem details."
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "users", description = "Customer users (OTOBO AdminCustomerUser)"),
        (name = "companies", description = "Customer companies (OTOBO AdminCustomerCompany)"),
        (name = "groups", description = "Group grants and members (AdminCustomerUserGroup, \
                                         AdminCustomerGroup)"),
        (name = "services", description = "Services and default services \
                                           (AdminCustomerUserService)")
    )
)]
struct ApiDoc;

/// Declares the bearer scheme and puts every operation behind it.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// The answers every operation may give besides its own: `401` without accepted credentials,
/// `400` for a path or query parameter that can't be read, `503` when a source is unreachable;
/// a write also `422` (the credentials' actor is not one the database records, `by`);
/// an operation with a body also `400` (not JSON), `413` (too large), `415` (not
/// `application/json`) and `422` (a field refused). Added to each operation of the document
/// that does not list them itself, so the document names every status the server answers.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let problem = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    crate::PROBLEM_JSON,
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                )
                .build()
        };
        for item in openapi.paths.paths.values_mut() {
            let writes = [
                &mut item.put,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ];
            let ops = writes
                .into_iter()
                .flatten()
                .map(|op| (true, op))
                .chain(item.get.iter_mut().map(|op| (false, op)));
            for (writes, op) in ops {
                let mut common = vec![
                    (
                        "400",
                        "A path or query parameter can't be read; `field` names it",
                    ),
                    ("401", "No accepted credentials"),
                    ("503", "A source is unreachable; try again later"),
                ];
                if writes {
                    common.push((
                        "422",
                        "A field is refused, or the credentials' actor is not one this \
                         database records (`field`: `by`)",
                    ));
                }
                if op.request_body.is_some() {
                    common.extend([
                        ("400", "The body is not JSON; `field` names it"),
                        ("413", "The body is larger than the server accepts"),
                        ("415", "The body is not `application/json`"),
                        ("422", "A field is refused; `field` names it"),
                    ]);
                }
                for (status, description) in common {
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| problem(description).into());
                }
            }
        }
    }
}

/// Every route of the API with its document.
pub(crate) fn routes() -> OpenApiRouter<AppState> {
    let mut router = operations();
    // After the operations are registered: the modifiers of `ApiDoc` run before.
    CommonResponses.modify(router.get_openapi_mut());
    router
}

/// Every operation, each from its annotation.
fn operations() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(users::search, users::add))
        .routes(routes!(users::show, users::update))
        .routes(routes!(users::invalidate))
        .routes(routes!(users::companies))
        .routes(routes!(users::relate, users::unrelate))
        .routes(routes!(users::groups))
        .routes(routes!(users::services))
        .routes(routes!(users::assign_service, users::unassign_service))
        .routes(routes!(companies::search, companies::add))
        .routes(routes!(companies::show, companies::update))
        .routes(routes!(companies::invalidate))
        .routes(routes!(companies::users))
        .routes(routes!(users::set_password))
        .routes(routes!(users::preferences))
        .routes(routes!(users::set_preference, users::delete_preference))
        .routes(routes!(groups::list, groups::add))
        .routes(routes!(groups::show, groups::update))
        .routes(routes!(groups::invalidate))
        .routes(routes!(groups::validate))
        .routes(routes!(groups::members))
        .routes(routes!(groups::change_grant))
        .routes(routes!(services::list, services::add))
        .routes(routes!(services::show, services::update))
        .routes(routes!(services::invalidate))
        .routes(routes!(services::validate))
        .routes(routes!(services::users))
        .routes(routes!(services::set_default, services::unset_default))
}

// ------------------------------------------------------------------ extractors

/// The request's actor, put there by the authentication layer.
pub(crate) struct Acting(pub(crate) Actor);

impl<S: Send + Sync> FromRequestParts<S> for Acting {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        parts
            .extensions
            .get::<Principal>()
            .map(|p| Acting(p.actor.clone()))
            .ok_or_else(Problem::unauthorized)
    }
}

/// A JSON body whose refusal is a problem document (`400`, `413`, `415`, `422` with the field).
pub(crate) struct Body<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        axum::Json::<T>::from_request(request, state)
            .await
            .map(|axum::Json(v)| Body(v))
            .map_err(Problem::from)
    }
}

/// Path parameters whose refusal is a problem document.
pub(crate) struct Params<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Params<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| Params(v))
            .map_err(Problem::from)
    }
}

/// A query string whose refusal is a problem document naming the parameter.
pub(crate) struct Q<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Q<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Problem> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Q(v))
            .map_err(Problem::from)
    }
}

// ------------------------------------------------------------------ shared shapes

/// What a page of a search says beside its hits.
#[derive(Serialize, ToSchema)]
pub(crate) struct PageInfo {
    /// The limit applied to the merged list.
    limit: usize,
    /// More matched than the page shows: ask again with a larger `limit` or a narrower term.
    more_matched: bool,
    /// The sources that failed and were left out: users they hold may be missing.
    missing_sources: Vec<String>,
}

impl PageInfo {
    fn of<T>(page: &clientele_directory::SearchPage<T>) -> Self {
        PageInfo {
            limit: page.limit,
            more_matched: page.more_matched,
            // Only the names: why a source failed is in the server's log, not in a response.
            missing_sources: page
                .missing_sources
                .iter()
                .map(|m| m.source.clone())
                .collect(),
        }
    }
}

/// The `?temporarily=` of an invalidation.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvalidateParams {
    /// `invalid-temporarily` instead of `invalid`.
    #[serde(default)]
    temporarily: bool,
}

impl InvalidateParams {
    fn validity(&self) -> clientele_model::Validity {
        if self.temporarily {
            clientele_model::Validity::InvalidTemporarily
        } else {
            clientele_model::Validity::Invalid
        }
    }
}

/// Attribute values as JSON gives them: text, an integer, a list of texts, or `null` to clear.
/// Anything else is refused naming `attributes.<key>`.
pub(crate) fn attribute_values(
    attributes: BTreeMap<String, Value>,
) -> Result<Vec<(String, AttributeValue)>, Problem> {
    attributes
        .into_iter()
        .map(|(key, value)| {
            let field = format!("attributes.{key}");
            let v = match value {
                Value::String(s) => AttributeValue::Text(s),
                Value::Null => AttributeValue::Text(String::new()),
                Value::Number(n) => AttributeValue::Integer(n.as_i64().ok_or_else(|| {
                    Problem::invalid(&field, format!("{field}: {n} is not a whole number"))
                })?),
                Value::Array(items) => AttributeValue::List(
                    items
                        .into_iter()
                        .map(|i| match i {
                            Value::String(s) => Ok(s),
                            _ => Err(Problem::invalid(
                                &field,
                                format!("{field}: a list may hold only texts"),
                            )),
                        })
                        .collect::<Result<_, _>>()?,
                ),
                Value::Bool(_) | Value::Object(_) => {
                    return Err(Problem::invalid(
                        &field,
                        format!("{field}: give a text, a whole number, a list of texts or null"),
                    ));
                }
            };
            Ok((key, v))
        })
        .collect()
}

/// `422` naming `field` unless the list holds at least one non-blank item.
pub(crate) fn require_nonempty(field: &str, items: &[String], what: &str) -> Result<(), Problem> {
    if items.iter().all(|s| s.trim().is_empty()) {
        return Err(Problem::invalid(
            field,
            format!("{field}: give at least one {what}"),
        ));
    }
    Ok(())
}

/// Changes to a group or a service: what is given is written, the rest stays.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"comment": "Reviewed"}))]
pub(crate) struct CatalogEdit {
    /// A new name; for a service the new full name (its descendants are renamed with it, and
    /// a new `Parent::Name` needs `Parent`).
    name: Option<String>,
    /// A new comment; `""` clears it.
    comment: Option<String>,
    /// `valid`, `invalid` or `invalid-temporarily`.
    #[schema(value_type = Option<String>, example = "valid")]
    validity: Option<clientele_model::Validity>,
}

impl CatalogEdit {
    /// The changes, or `422` when nothing is to change.
    fn changes(self) -> Result<clientele_backend::CatalogChanges, Problem> {
        let mut changes = clientele_backend::CatalogChanges::new();
        if let Some(name) = self.name {
            changes = changes.rename(name);
        }
        if let Some(comment) = self.comment {
            changes = changes.comment(Some(comment));
        }
        if let Some(validity) = self.validity {
            changes = changes.validity(validity);
        }
        if changes.is_empty() {
            return Err(Problem::invalid(
                "name",
                "nothing to change: give at least one of name, comment, validity",
            ));
        }
        Ok(changes)
    }
}

/// The changes of `POST …/invalidate` and `POST …/validate` of a group or a service.
fn validity_change(validity: clientele_model::Validity) -> clientele_backend::CatalogChanges {
    clientele_backend::CatalogChanges::new().validity(validity)
}

/// The problem of a refused group or service write, naming the request's field: the
/// Directory names a refused name after its catalog (`group`, `service`), the request calls it
/// `name`, and a refused comment `comment`. A missing parent of a `Parent::Child` name stays a `404` naming the parent.
fn catalog_problem(noun: &'static str) -> impl Fn(clientele_directory::Error) -> Problem {
    move |e| match e {
        clientele_directory::Error::Invalid(v) if v.field() == noun => {
            Problem::invalid("name", v.to_string())
        }
        clientele_directory::Error::Invalid(v)
            if v.field() == clientele_model::catalog::COMMENT_FIELD =>
        {
            Problem::invalid("comment", v.to_string())
        }
        other => other.into(),
    }
}
