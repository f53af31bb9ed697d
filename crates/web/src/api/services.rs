//! `/api/v1/services`: services, who they are assigned to, and the default services (OTOBO's
//! AdminCustomerUserService screen).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use clientele_backend::traits::Service;
use clientele_directory::Directory;
use clientele_model::Validity;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{
    Acting, Body, CatalogEdit, InvalidateParams, Params, Q, catalog_problem, validity_change,
};
use crate::{AppState, Problem};

/// One service and whether it is a default service.
#[derive(Serialize, ToSchema)]
pub(crate) struct ServiceRow {
    /// The id.
    id: i64,
    /// The full name (`Parent::Child`).
    name: String,
    /// `valid`, `invalid` or `invalid-temporarily`.
    #[schema(value_type = String)]
    validity: clientele_model::Validity,
    /// The administrator's comment.
    comment: Option<String>,
    /// A default service: users without services of their own may request it.
    default: bool,
}

/// A list of services.
#[derive(Serialize, ToSchema)]
pub(crate) struct ServiceList {
    /// The services.
    services: Vec<ServiceRow>,
}

/// The services with their default flags.
pub(crate) async fn service_list(
    dir: &Directory,
    services: Vec<Service>,
) -> Result<ServiceList, Problem> {
    let defaults = dir.default_services().await?;
    Ok(ServiceList {
        services: services.into_iter().map(|s| row(s, &defaults)).collect(),
    })
}

fn row(s: Service, defaults: &[Service]) -> ServiceRow {
    ServiceRow {
        default: defaults.iter().any(|d| d.id == s.id),
        id: s.id,
        name: s.name,
        validity: s.validity,
        comment: s.comment,
    }
}

/// Every service.
#[utoipa::path(get, path = "/api/v1/services", tag = "services",
    responses((status = 200, description = "The services", body = ServiceList)))]
pub(crate) async fn list(State(s): State<AppState>) -> Result<Json<ServiceList>, Problem> {
    let services = s.dir.services().await?;
    Ok(Json(service_list(&s.dir, services).await?))
}

/// A service's users.
#[derive(Serialize, ToSchema)]
pub(crate) struct ServiceUsers {
    /// The service.
    service: ServiceRow,
    /// The logins it is assigned to.
    logins: Vec<String>,
}

/// The users a service is assigned to.
#[utoipa::path(get, path = "/api/v1/services/{service}/users", tag = "services",
    params(("service" = String, Path, description = "The service's full name", example = "Printing")),
    responses(
        (status = 200, description = "The service and its users", body = ServiceUsers),
        (status = 404, description = "No such service", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn users(
    State(s): State<AppState>,
    Params(service): Params<String>,
) -> Result<Json<ServiceUsers>, Problem> {
    let found = s.dir.service_users(&service).await?;
    let mut row = row(found.service, &[]);
    row.default = found.default;
    Ok(Json(ServiceUsers {
        service: row,
        logins: found.logins.into_iter().map(|l| l.into_string()).collect(),
    }))
}

/// Whether a service is a default service now.
#[derive(Serialize, ToSchema)]
pub(crate) struct DefaultFlag {
    /// The service's name.
    service: String,
    /// A default service now.
    default: bool,
}

/// Makes a service a default service (OTOBO's `<DEFAULT>` assignment).
#[utoipa::path(put, path = "/api/v1/services/{service}/default", tag = "services",
    params(("service" = String, Path, description = "The service's full name", example = "Printing")),
    responses(
        (status = 200, description = "A default service now", body = DefaultFlag),
        (status = 404, description = "No such service", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn set_default(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params(service): Params<String>,
) -> Result<Json<DefaultFlag>, Problem> {
    s.dir.set_default_service(&service, true, &by).await?;
    Ok(Json(DefaultFlag {
        service,
        default: true,
    }))
}

/// Makes a service no longer a default service.
#[utoipa::path(delete, path = "/api/v1/services/{service}/default", tag = "services",
    params(("service" = String, Path, description = "The service's full name", example = "Printing")),
    responses(
        (status = 200, description = "No longer a default service", body = DefaultFlag),
        (status = 404, description = "No such service", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn unset_default(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params(service): Params<String>,
) -> Result<Json<DefaultFlag>, Problem> {
    s.dir.set_default_service(&service, false, &by).await?;
    Ok(Json(DefaultFlag {
        service,
        default: false,
    }))
}

// ------------------------------------------------------------------ the catalog of services

/// A new service.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Printing::Mono"}))]
pub(crate) struct NewService {
    /// The full name; a child goes below an existing parent: `Email::Outbound` needs `Email`.
    name: String,
    /// The administrator's comment.
    comment: Option<String>,
    /// `valid` (default), `invalid` or `invalid-temporarily`.
    #[schema(value_type = Option<String>, example = "valid")]
    validity: Option<Validity>,
}

/// The row of one service as stored now, with its default flag.
async fn service_row(dir: &Directory, service: Service) -> Result<ServiceRow, Problem> {
    let defaults = dir.default_services().await?;
    Ok(row(service, &defaults))
}

/// Adds a service (OTOBO AdminService); `Parent::Child` below an existing parent.
#[utoipa::path(post, path = "/api/v1/services", tag = "services", request_body = NewService,
    responses(
        (status = 201, description = "Added", body = ServiceRow),
        (status = 404, description = "The parent of a `Parent::Child` name does not exist",
         body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The name is taken", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "The name or comment is refused; `field` names it",
         body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn add(
    State(s): State<AppState>,
    Acting(by): Acting,
    Body(new): Body<NewService>,
) -> Result<(StatusCode, Json<ServiceRow>), Problem> {
    let dir = &s.dir;
    if let Some(comment) = &new.comment {
        // Checked before the service is added, so a refused comment adds nothing.
        clientele_model::catalog::check_comment(comment)
            .map_err(|e| catalog_problem("service")(e.into()))?;
    }
    let validity = new.validity.unwrap_or(Validity::Valid);
    let mut service = dir
        .add_service_as(&new.name, validity, &by)
        .await
        .map_err(catalog_problem("service"))?;
    if let Some(comment) = new.comment.filter(|c| !c.is_empty()) {
        let changes = clientele_backend::CatalogChanges::new().comment(Some(comment));
        service = dir.update_service(&service.name, changes, &by).await?;
    }
    Ok((StatusCode::CREATED, Json(service_row(dir, service).await?)))
}

/// One service and whether it is a default service.
#[utoipa::path(get, path = "/api/v1/services/{service}", tag = "services",
    params(("service" = String, Path, description = "The service's full name", example = "Printing")),
    responses(
        (status = 200, description = "The service", body = ServiceRow),
        (status = 404, description = "No such service", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn show(
    State(s): State<AppState>,
    Params(service): Params<String>,
) -> Result<Json<ServiceRow>, Problem> {
    let found = s.dir.service_users(&service).await?;
    let mut row = row(found.service, &[]);
    row.default = found.default;
    Ok(Json(row))
}

/// Renames a service (its descendants with it), sets its comment or its validity.
#[utoipa::path(patch, path = "/api/v1/services/{service}", tag = "services",
    params(("service" = String, Path, description = "The service's full name", example = "Printing")),
    request_body = CatalogEdit,
    responses(
        (status = 200, description = "The service as stored now", body = ServiceRow),
        (status = 404, description = "No such service, or the new name's parent is missing",
         body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The new name is taken", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "A field is refused; `field` names it", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn update(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params(service): Params<String>,
    Body(edit): Body<CatalogEdit>,
) -> Result<Json<ServiceRow>, Problem> {
    let changes = edit.changes()?;
    let updated = s
        .dir
        .update_service(&service, changes, &by)
        .await
        .map_err(catalog_problem("service"))?;
    Ok(Json(service_row(&s.dir, updated).await?))
}

/// Invalidates a service: it can no longer be requested; it is never deleted.
#[utoipa::path(post, path = "/api/v1/services/{service}/invalidate", tag = "services",
    params(("service" = String, Path, description = "The service's full name", example = "Printing"),
           InvalidateParams),
    responses(
        (status = 200, description = "The service as stored now", body = ServiceRow),
        (status = 404, description = "No such service", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn invalidate(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params(service): Params<String>,
    Q(p): Q<InvalidateParams>,
) -> Result<Json<ServiceRow>, Problem> {
    let updated = s
        .dir
        .update_service(&service, validity_change(p.validity()), &by)
        .await?;
    Ok(Json(service_row(&s.dir, updated).await?))
}

/// Makes a service valid again.
#[utoipa::path(post, path = "/api/v1/services/{service}/validate", tag = "services",
    params(("service" = String, Path, description = "The service's full name", example = "Printing")),
    responses(
        (status = 200, description = "The service as stored now", body = ServiceRow),
        (status = 404, description = "No such service", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn validate(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params(service): Params<String>,
) -> Result<Json<ServiceRow>, Problem> {
    let updated = s
        .dir
        .update_service(&service, validity_change(Validity::Valid), &by)
        .await?;
    Ok(Json(service_row(&s.dir, updated).await?))
}
