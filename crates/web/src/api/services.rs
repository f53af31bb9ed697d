//! `/api/v1/services`: services, who they are assigned to, and the default services (OTOBO's
//! AdminCustomerUserService screen).

use axum::Json;
use axum::extract::State;
use clientele_backend::traits::Service;
use clientele_directory::Directory;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Acting, Params};
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
    params(("service" = String, Path, description = "The service's full name")),
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
    params(("service" = String, Path, description = "The service's full name")),
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
    params(("service" = String, Path, description = "The service's full name")),
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
