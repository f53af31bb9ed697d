//! `/api/v1/companies`: OTOBO's AdminCustomerCompany screen and the company's users.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use clientele_model::{
    CustomerCompany, CustomerCompanyChanges, NewCustomerCompany, Validity, keys,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::users::internal;
use super::{Acting, Body, InvalidateParams, PageInfo, Params, Q, attribute_values};
use crate::{AppState, Problem};

/// `GET /api/v1/companies` parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchParams {
    /// A term of the search language over customer id and name; none lists every company.
    term: Option<String>,
    /// Include invalid companies.
    #[serde(default)]
    all: bool,
    /// The most companies to return; default: the company source's `search_limit`.
    limit: Option<usize>,
}

/// A page of companies.
#[derive(Serialize, ToSchema)]
pub(crate) struct CompanyPage {
    /// The companies found.
    #[schema(value_type = Vec<Object>)]
    companies: Vec<CustomerCompany>,
    /// The limit, whether more matched.
    #[serde(flatten)]
    page: PageInfo,
}

/// Searches or lists customer companies (OTOBO `CustomerCompanyList`).
#[utoipa::path(get, path = "/api/v1/companies", tag = "companies", params(SearchParams),
    responses(
        (status = 200, description = "The page of companies", body = CompanyPage),
        (status = 422, description = "The term is refused", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn search(
    State(s): State<AppState>,
    Q(p): Q<SearchParams>,
) -> Result<Json<CompanyPage>, Problem> {
    if p.limit == Some(0) {
        return Err(Problem::invalid("limit", "limit: give at least 1"));
    }
    let page = s
        .dir
        .search_companies_page(p.term.as_deref(), !p.all, p.limit)
        .await?;
    let info = PageInfo::of(&page);
    Ok(Json(CompanyPage {
        companies: page.hits,
        page: info,
    }))
}

/// A new customer company.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_id": "INITECH", "name": "Initech"}))]
pub(crate) struct NewCompany {
    /// `CustomerID`.
    customer_id: String,
    /// `CustomerCompanyName`.
    name: String,
    /// `valid` (default), `invalid` or `invalid-temporarily`.
    #[schema(value_type = Option<String>)]
    validity: Option<Validity>,
    /// Further attributes by key (`CustomerCompanyCity`, `CustomerCompanyURL`, …).
    #[serde(default)]
    #[schema(value_type = Object)]
    attributes: BTreeMap<String, Value>,
}

/// A company record.
#[derive(Serialize, ToSchema)]
#[schema(value_type = Object)]
pub(crate) struct CompanyRecord(CustomerCompany);

/// Adds a customer company (OTOBO `CustomerCompanyAdd`).
#[utoipa::path(post, path = "/api/v1/companies", tag = "companies", request_body = NewCompany,
    responses(
        (status = 201, description = "Added", body = CompanyRecord),
        (status = 409, description = "The customer id or name is taken", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "A field is refused; `field` names it", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn add(
    State(s): State<AppState>,
    Acting(by): Acting,
    Body(new): Body<NewCompany>,
) -> Result<(StatusCode, Json<CompanyRecord>), Problem> {
    let mut company = NewCustomerCompany::default()
        .with(keys::COMPANY_ID, new.customer_id.as_str())
        .with(keys::COMPANY_NAME, new.name.as_str());
    for (k, v) in attribute_values(new.attributes)? {
        company = company.with(&k, v);
    }
    if let Some(v) = new.validity {
        company = company.validity(v);
    }
    let added = s.dir.add_company(company, &by).await?;
    Ok((StatusCode::CREATED, Json(CompanyRecord(added))))
}

/// One customer company (OTOBO `CustomerCompanyGet`).
#[utoipa::path(get, path = "/api/v1/companies/{customer_id}", tag = "companies",
    params(("customer_id" = String, Path, description = "The customer id", example = "ACME")),
    responses(
        (status = 200, description = "The company", body = CompanyRecord),
        (status = 404, description = "No such company", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn show(
    State(s): State<AppState>,
    Params(customer_id): Params<String>,
) -> Result<Json<CompanyRecord>, Problem> {
    match s.dir.company(&customer_id).await? {
        Some(c) => Ok(Json(CompanyRecord(c))),
        None => Err(clientele_directory::Error::NotFound {
            entity: clientele_directory::Entity::Company,
            key: customer_id,
        }
        .into()),
    }
}

/// Changes to a company: what is given is written, the rest stays.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Acme Corporation"}))]
pub(crate) struct CompanyChanges {
    /// `CustomerCompanyName`.
    name: Option<String>,
    /// `valid`, `invalid` or `invalid-temporarily`.
    #[schema(value_type = Option<String>)]
    validity: Option<Validity>,
    /// Further attributes by key; `null` clears one.
    #[serde(default)]
    #[schema(value_type = Object)]
    attributes: BTreeMap<String, Value>,
}

/// Changes a customer company (OTOBO `CustomerCompanyUpdate`).
#[utoipa::path(patch, path = "/api/v1/companies/{customer_id}", tag = "companies",
    params(("customer_id" = String, Path, description = "The customer id", example = "ACME")),
    request_body = CompanyChanges,
    responses(
        (status = 200, description = "The company as stored now", body = CompanyRecord),
        (status = 404, description = "No such company", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "The name is another company's", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "A field is refused; `field` names it", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn update(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params(customer_id): Params<String>,
    Body(body): Body<CompanyChanges>,
) -> Result<Json<CompanyRecord>, Problem> {
    let mut changes = CustomerCompanyChanges::new();
    if let Some(name) = body.name {
        changes = changes.set(keys::COMPANY_NAME, name);
    }
    for (k, v) in attribute_values(body.attributes)? {
        changes = changes.set(&k, v);
    }
    if let Some(v) = body.validity {
        changes = changes.validity(v);
    }
    if changes.attributes.is_empty() {
        return Err(Problem::invalid(
            "attributes",
            "nothing to change: give at least one of name, validity, attributes",
        ));
    }
    let company = s.dir.update_company(&customer_id, changes, &by).await?;
    Ok(Json(CompanyRecord(company)))
}

/// The validity a company has now.
#[derive(Serialize, ToSchema)]
pub(crate) struct CompanyValidity {
    /// The customer id.
    customer_id: String,
    /// Its validity now.
    #[schema(value_type = String)]
    validity: Validity,
}

/// Invalidates a company: left out of default searches, its grants no longer count.
#[utoipa::path(post, path = "/api/v1/companies/{customer_id}/invalidate", tag = "companies",
    params(("customer_id" = String, Path, description = "The customer id", example = "ACME"), InvalidateParams),
    responses(
        (status = 200, description = "Invalidated", body = CompanyValidity),
        (status = 404, description = "No such company", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn invalidate(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params(customer_id): Params<String>,
    Q(p): Q<InvalidateParams>,
) -> Result<Json<CompanyValidity>, Problem> {
    let company = s
        .dir
        .set_company_validity(&customer_id, p.validity(), &by)
        .await?;
    Ok(Json(CompanyValidity {
        customer_id: company.customer_id.to_string(),
        validity: company.validity,
    }))
}

/// `GET /api/v1/companies/{customer_id}/users` parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct UsersParams {
    /// The most users per source with it as primary company; default: each source's limit.
    limit: Option<usize>,
}

/// A company's users.
#[derive(Serialize, ToSchema)]
pub(crate) struct CompanyUsers {
    /// The customer id as asked.
    customer_id: String,
    /// Each user: `login`, `primary` (its primary company), `related` (a relation).
    #[schema(value_type = Vec<Object>)]
    users: Value,
}

/// The users of a company, primary and related (OTOBO Customer Users ↔ Customers from the
/// company's end).
#[utoipa::path(get, path = "/api/v1/companies/{customer_id}/users", tag = "companies",
    params(("customer_id" = String, Path, description = "The customer id", example = "ACME"), UsersParams),
    responses((status = 200, description = "The users", body = CompanyUsers)))]
pub(crate) async fn users(
    State(s): State<AppState>,
    Params(customer_id): Params<String>,
    Q(p): Q<UsersParams>,
) -> Result<Json<CompanyUsers>, Problem> {
    let users = s.dir.users_of_company(&customer_id, p.limit).await?;
    Ok(Json(CompanyUsers {
        customer_id,
        users: serde_json::to_value(users).map_err(internal)?,
    }))
}
