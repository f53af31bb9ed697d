//! `/api/v1/users`: OTOBO's AdminCustomerUser screen and the user's end of the relation
//! screens (companies, groups, services).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use clientele_directory::{Directory, SearchHit};
use clientele_model::search::CustomerUserSearch;
use clientele_model::{
    AttributeMap, CustomerUser, CustomerUserChanges, NewCustomerUser, Password, Validity, keys,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::{Acting, Body, InvalidateParams, PageInfo, Params, Q, attribute_values};
use crate::{AppState, Problem};

/// `GET /api/v1/users` parameters: one of `term`, `email`, `customer_id` (none lists every
/// login), invalid users with `all`, at most `limit`.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchParams {
    /// A term of the search language (`do*`, `"John Doe"`, `a OR b`), over the search fields.
    term: Option<String>,
    /// An email address (wildcards allowed).
    email: Option<String>,
    /// A customer id (wildcards allowed).
    customer_id: Option<String>,
    /// Include invalid users.
    #[serde(default)]
    all: bool,
    /// The most users to return; default: the sources' `search_limit`.
    limit: Option<usize>,
}

/// A page of users: each user record with `source` and `display` (OTOBO's display string).
#[derive(Serialize, ToSchema)]
pub(crate) struct UserPage {
    /// The users found.
    #[schema(value_type = Vec<Object>)]
    users: Vec<Value>,
    /// The limit, whether more matched, sources left out.
    #[serde(flatten)]
    page: PageInfo,
}

/// Searches customer users (OTOBO `CustomerSearch`), merged over every source.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(SearchParams),
    responses(
        (status = 200, description = "The page of users", body = UserPage),
        (status = 422, description = "The term is refused", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn search(
    State(s): State<AppState>,
    Q(p): Q<SearchParams>,
) -> Result<Json<UserPage>, Problem> {
    let mut search = match (p.term, p.email, p.customer_id) {
        (_, Some(e), _) => CustomerUserSearch::email(e),
        (_, _, Some(c)) => CustomerUserSearch::customer_id(c),
        (Some(t), _, _) => CustomerUserSearch::term(t),
        (None, None, None) => CustomerUserSearch::login("*"),
    };
    if p.all {
        search = search.include_invalid();
    }
    if let Some(l) = p.limit {
        if l == 0 {
            return Err(Problem::invalid("limit", "limit: give at least 1"));
        }
        search = search.limit(l);
    }
    let page = s.dir.search_page(&search).await?;
    Ok(Json(UserPage {
        users: page.hits.iter().map(hit_json).collect(),
        page: PageInfo::of(&page),
    }))
}

/// A new customer user. Without `password` one is generated and returned once.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"login": "jdoe", "first_name": "John", "last_name": "Doe", "email": "jdoe@acme-corp.com", "customer_id": "ACME"}))]
pub(crate) struct NewUser {
    /// `UserLogin`.
    login: String,
    /// `UserFirstname`.
    first_name: String,
    /// `UserLastname`.
    last_name: String,
    /// `UserEmail`.
    email: String,
    /// `UserCustomerID`: the primary company.
    customer_id: String,
    /// Further companies: `UserCustomerIDs` when the source's map has it, else relations
    /// (OTOBO `customer_user_customer`). Each must exist.
    #[serde(default)]
    customer_ids: Vec<String>,
    /// The password; checked against the password policy, stored hashed, never returned.
    password: Option<String>,
    /// The source to add to; default: the configured `add_target`, else the first writable one.
    source: Option<String>,
    /// `valid` (default), `invalid` or `invalid-temporarily`.
    #[schema(value_type = Option<String>, example = "valid")]
    validity: Option<Validity>,
    /// Further attributes by key (`UserPhone`, `UserCity`, `UserRoom`, …).
    #[serde(default)]
    #[schema(value_type = Object)]
    attributes: BTreeMap<String, Value>,
}

/// A user just added.
#[derive(Serialize, ToSchema)]
pub(crate) struct AddedUser {
    /// The stored login.
    login: String,
    /// The source it went to.
    source: String,
    /// The generated password when none was given: shown this once, store it now.
    generated_password: Option<String>,
}

/// Adds a customer user (OTOBO `CustomerUserAdd`).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUser,
    responses(
        (status = 201, description = "Added", body = AddedUser),
        (status = 409, description = "The login or email is taken, or the source is read-only",
         body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field is refused; `field` names it", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn add(
    State(s): State<AppState>,
    Acting(by): Acting,
    Body(new): Body<NewUser>,
) -> Result<(StatusCode, Json<AddedUser>), Problem> {
    let dir = &s.dir;
    // A source the body names that does not exist is a refused field, not a missing resource.
    let source = match dir.add_target(new.source.as_deref()) {
        Ok(source) => source.to_owned(),
        Err(clientele_directory::Error::NotFound { key, .. }) => {
            return Err(Problem::invalid(
                "source",
                format!("source: there is no source {key:?}; leave it out for the default"),
            )
            .key(key));
        }
        Err(e) => return Err(e.into()),
    };
    let map = map_of(dir, &source);
    let mut user = NewCustomerUser::new(
        &new.login,
        &new.first_name,
        &new.last_name,
        &new.email,
        &new.customer_id,
    );
    let (stored_ids, related) = companies_of(&map, new.customer_ids);
    if let Some(ids) = stored_ids {
        user = user.with(keys::CUSTOMER_IDS, ids);
    }
    require_companies(dir, &related).await?;
    for (k, v) in attribute_values(new.attributes)? {
        user = user.with(&k, v);
    }
    if let Some(v) = new.validity {
        user = user.validity(v);
    }
    if let Some(p) = new.password {
        user = user.password(Password::new(p));
    }
    let added = dir.add_customer_user_to(&source, user, &by).await?;
    for id in &related {
        dir.relate_company(added.login.as_str(), id, true, &by)
            .await?;
    }
    Ok((
        StatusCode::CREATED,
        Json(AddedUser {
            login: added.login.as_str().to_owned(),
            source: added.source.clone(),
            generated_password: added
                .generated_password
                .as_ref()
                .map(|p| p.expose().to_owned()),
        }),
    ))
}

/// A customer user's record, its source and every customer id it may act for.
#[derive(Serialize, ToSchema)]
#[schema(value_type = Object)]
pub(crate) struct UserRecord(Value);

/// One customer user (OTOBO `CustomerUserDataGet`).
#[utoipa::path(get, path = "/api/v1/users/{login}", tag = "users",
    params(("login" = String, Path, description = "The login, in any case", example = "anna")),
    responses(
        (status = 200, description = "The user", body = UserRecord),
        (status = 404, description = "No such user", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn show(
    State(s): State<AppState>,
    Params(login): Params<String>,
) -> Result<Json<UserRecord>, Problem> {
    let (user, source) = require(&s.dir, &login).await?;
    Ok(Json(record(&s.dir, &user, &source).await?))
}

/// Changes to a customer user: what is given is written, the rest stays.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"attributes": {"UserCity": "Berlin"}}))]
pub(crate) struct UserChanges {
    /// A new `UserLogin` (renames the user).
    login: Option<String>,
    /// `UserFirstname`.
    first_name: Option<String>,
    /// `UserLastname`.
    last_name: Option<String>,
    /// `UserEmail`.
    email: Option<String>,
    /// `UserCustomerID`.
    customer_id: Option<String>,
    /// Further companies to relate the user to (or `UserCustomerIDs` when the map has it).
    #[serde(default)]
    customer_ids: Vec<String>,
    /// `valid`, `invalid` or `invalid-temporarily`.
    #[schema(value_type = Option<String>)]
    validity: Option<Validity>,
    /// Further attributes by key; `null` clears one.
    #[serde(default)]
    #[schema(value_type = Object)]
    attributes: BTreeMap<String, Value>,
}

/// Changes a customer user (OTOBO `CustomerUserUpdate`).
#[utoipa::path(patch, path = "/api/v1/users/{login}", tag = "users",
    params(("login" = String, Path, description = "The login, in any case", example = "anna")),
    request_body = UserChanges,
    responses(
        (status = 200, description = "The user as stored now", body = UserRecord),
        (status = 404, description = "No such user", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "A new login or email is taken", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "A field is refused; `field` names it", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn update(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params(login): Params<String>,
    Body(body): Body<UserChanges>,
) -> Result<Json<UserRecord>, Problem> {
    let dir = &s.dir;
    let (_, source) = require(dir, &login).await?;
    let map = map_of(dir, &source);
    let mut changes = CustomerUserChanges::new();
    for (k, v) in [
        (keys::LOGIN, body.login),
        (keys::FIRST_NAME, body.first_name),
        (keys::LAST_NAME, body.last_name),
        (keys::EMAIL, body.email),
        (keys::CUSTOMER_ID, body.customer_id),
    ] {
        if let Some(v) = v {
            changes = changes.set(k, v);
        }
    }
    let (stored_ids, related) = companies_of(&map, body.customer_ids);
    if let Some(ids) = stored_ids {
        changes = changes.set(keys::CUSTOMER_IDS, ids);
    }
    require_companies(dir, &related).await?;
    for (k, v) in attribute_values(body.attributes)? {
        changes = changes.set(&k, v);
    }
    if let Some(v) = body.validity {
        changes = changes.validity(v);
    }
    if changes.attributes.is_empty() && related.is_empty() {
        return Err(Problem::invalid(
            "attributes",
            "nothing to change: give at least one field, e.g. email, validity or attributes",
        ));
    }
    for id in &related {
        dir.relate_company(&login, id, true, &by).await?;
    }
    let user = if changes.attributes.is_empty() {
        require(dir, &login).await?.0
    } else {
        dir.update_customer_user(&login, changes, &by).await?
    };
    Ok(Json(record(dir, &user, &source).await?))
}

/// The validity a user or company has now.
#[derive(Serialize, ToSchema)]
pub(crate) struct ValidityNow {
    /// The stored key (login or customer id).
    key: String,
    /// Its validity now.
    #[schema(value_type = String)]
    validity: Validity,
}

/// Invalidates a customer user: it can no longer log in and is left out of default searches.
/// OTOBO never deletes customer users; neither does this.
#[utoipa::path(post, path = "/api/v1/users/{login}/invalidate", tag = "users",
    params(("login" = String, Path, description = "The login", example = "anna"), InvalidateParams),
    responses(
        (status = 200, description = "Invalidated", body = ValidityNow),
        (status = 404, description = "No such user", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn invalidate(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params(login): Params<String>,
    Q(p): Q<InvalidateParams>,
) -> Result<Json<ValidityNow>, Problem> {
    let user = s.dir.set_validity(&login, p.validity(), &by).await?;
    Ok(Json(ValidityNow {
        key: user.login.as_str().to_owned(),
        validity: user.validity,
    }))
}

/// The customer ids a user may act for.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserCompanies {
    /// The login as asked.
    login: String,
    /// Primary first, then secondary and related ones (OTOBO `CustomerIDs`).
    customer_ids: Vec<String>,
}

/// The customer ids a user may act for (OTOBO `CustomerIDs`).
#[utoipa::path(get, path = "/api/v1/users/{login}/companies", tag = "users",
    params(("login" = String, Path, description = "The login", example = "anna")),
    responses(
        (status = 200, description = "The customer ids", body = UserCompanies),
        (status = 404, description = "No such user", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn companies(
    State(s): State<AppState>,
    Params(login): Params<String>,
) -> Result<Json<UserCompanies>, Problem> {
    Ok(Json(user_companies(&s.dir, login).await?))
}

async fn user_companies(dir: &Directory, login: String) -> Result<UserCompanies, Problem> {
    let customer_ids = dir
        .customer_ids(&login)
        .await?
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    Ok(UserCompanies {
        login,
        customer_ids,
    })
}

/// Relates a user to a company beside its primary one (OTOBO AdminCustomerUserCustomer).
#[utoipa::path(put, path = "/api/v1/users/{login}/companies/{customer_id}", tag = "users",
    params(("login" = String, Path, description = "The login", example = "anna"),
           ("customer_id" = String, Path, description = "The company's customer id", example = "ACME")),
    responses(
        (status = 200, description = "The customer ids now", body = UserCompanies),
        (status = 404, description = "No such user or company", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn relate(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params((login, customer_id)): Params<(String, String)>,
) -> Result<Json<UserCompanies>, Problem> {
    s.dir
        .relate_company(&login, &customer_id, true, &by)
        .await?;
    Ok(Json(user_companies(&s.dir, login).await?))
}

/// Removes a user's relation to a company (its primary company stays).
#[utoipa::path(delete, path = "/api/v1/users/{login}/companies/{customer_id}", tag = "users",
    params(("login" = String, Path, description = "The login", example = "anna"),
           ("customer_id" = String, Path, description = "The company's customer id", example = "ACME")),
    responses(
        (status = 200, description = "The customer ids now", body = UserCompanies),
        (status = 404, description = "No such user", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn unrelate(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params((login, customer_id)): Params<(String, String)>,
) -> Result<Json<UserCompanies>, Problem> {
    s.dir
        .relate_company(&login, &customer_id, false, &by)
        .await?;
    Ok(Json(user_companies(&s.dir, login).await?))
}

/// A user's effective permissions, group by group, with where each comes from.
#[derive(Serialize, ToSchema)]
pub(crate) struct EffectiveGroups {
    /// The login as asked.
    login: String,
    /// OTOBO `CustomerGroupSupport`: off means every user has every type on every valid group.
    customer_group_support: bool,
    /// The configured permission types, in order.
    permission_types: Vec<String>,
    /// One row a group: `effective` types, the `direct` grant, and the `origins`.
    #[schema(value_type = Vec<Object>)]
    groups: Value,
}

/// A user's effective groups with the origin of each permission (direct grant, company
/// grant in a context, always-group, support off).
#[utoipa::path(get, path = "/api/v1/users/{login}/groups", tag = "users",
    params(("login" = String, Path, description = "The login", example = "anna")),
    responses(
        (status = 200, description = "The effective permissions", body = EffectiveGroups),
        (status = 404, description = "No such user", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn groups(
    State(s): State<AppState>,
    Params(login): Params<String>,
) -> Result<Json<EffectiveGroups>, Problem> {
    let dir = &s.dir;
    let rows = dir.effective_permissions_with_origins(&login).await?;
    let permissions = &dir.config().permissions;
    Ok(Json(EffectiveGroups {
        login,
        customer_group_support: permissions.customer_group_support,
        permission_types: permissions
            .permission_types
            .iter()
            .map(|t| t.as_str().to_owned())
            .collect(),
        groups: serde_json::to_value(rows).map_err(internal)?,
    }))
}

/// `GET /api/v1/users/{login}/services` parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServicesParams {
    /// Only the services assigned to the user, without the default services it falls back to.
    #[serde(default)]
    own: bool,
}

/// The services a user may request: its own, or the default services when it has none.
#[utoipa::path(get, path = "/api/v1/users/{login}/services", tag = "users",
    params(("login" = String, Path, description = "The login", example = "anna"), ServicesParams),
    responses(
        (status = 200, description = "The services", body = super::services::ServiceList),
        (status = 404, description = "No such user", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn services(
    State(s): State<AppState>,
    Params(login): Params<String>,
    Q(p): Q<ServicesParams>,
) -> Result<Json<super::services::ServiceList>, Problem> {
    let list = if p.own {
        s.dir.own_services(&login).await?
    } else {
        s.dir.services_for(&login).await?
    };
    Ok(Json(super::services::service_list(&s.dir, list).await?))
}

/// A service assigned or not.
#[derive(Serialize, ToSchema)]
pub(crate) struct Assignment {
    /// The login.
    login: String,
    /// The service's name.
    service: String,
    /// Whether it is assigned now.
    assigned: bool,
}

/// Assigns a service to a user (OTOBO AdminCustomerUserService).
#[utoipa::path(put, path = "/api/v1/users/{login}/services/{service}", tag = "users",
    params(("login" = String, Path, description = "The login", example = "anna"),
           ("service" = String, Path, description = "The service's full name", example = "Printing")),
    responses(
        (status = 200, description = "Assigned", body = Assignment),
        (status = 404, description = "No such user or service", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn assign_service(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params((login, service)): Params<(String, String)>,
) -> Result<Json<Assignment>, Problem> {
    s.dir.assign_service(&login, &service, true, &by).await?;
    Ok(Json(Assignment {
        login,
        service,
        assigned: true,
    }))
}

/// Removes a service from a user.
#[utoipa::path(delete, path = "/api/v1/users/{login}/services/{service}", tag = "users",
    params(("login" = String, Path, description = "The login", example = "anna"),
           ("service" = String, Path, description = "The service's full name", example = "Printing")),
    responses(
        (status = 200, description = "Removed", body = Assignment),
        (status = 404, description = "No such user or service", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn unassign_service(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params((login, service)): Params<(String, String)>,
) -> Result<Json<Assignment>, Problem> {
    s.dir.assign_service(&login, &service, false, &by).await?;
    Ok(Json(Assignment {
        login,
        service,
        assigned: false,
    }))
}

// ------------------------------------------------------------------ helpers

pub(crate) fn internal(e: serde_json::Error) -> Problem {
    tracing::error!(error = %e, "a response could not be written as JSON");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the response could not be written",
    )
}

fn map_of(dir: &Directory, source: &str) -> AttributeMap {
    dir.source_settings(source)
        .map(|s| s.map.clone())
        .unwrap_or_else(AttributeMap::otobo_customer_user)
}

/// Further customer ids: the `UserCustomerIDs` value when the map has that row, else the ids
/// to relate the user to (OTOBO's default map keeps them in `customer_user_customer`).
fn companies_of(map: &AttributeMap, ids: Vec<String>) -> (Option<String>, Vec<String>) {
    let ids: Vec<String> = ids
        .into_iter()
        .map(|i| i.trim().to_owned())
        .filter(|i| !i.is_empty())
        .collect();
    if !ids.is_empty() && map.by_key(keys::CUSTOMER_IDS).is_some() {
        return (Some(ids.join(";")), Vec::new());
    }
    (None, ids)
}

/// Refuses ids of companies that do not exist, before anything is written.
async fn require_companies(dir: &Directory, ids: &[String]) -> Result<(), Problem> {
    for id in ids {
        if dir.company(id).await?.is_none() {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                format!("customer_ids: company {id:?} not found; nothing was changed"),
            )
            .field("customer_ids")
            .key(id.clone()));
        }
    }
    Ok(())
}

async fn require(dir: &Directory, login: &str) -> Result<(CustomerUser, String), Problem> {
    dir.customer_user_with_source(login).await?.ok_or_else(|| {
        clientele_directory::Error::NotFound {
            entity: clientele_directory::Entity::CustomerUser,
            key: login.to_owned(),
        }
        .into()
    })
}

/// A user as JSON without anything secret: the record never holds a password, and a map row
/// that would put one among the extra attributes is dropped here too.
fn user_json(user: &CustomerUser) -> Value {
    let mut v = serde_json::to_value(user).unwrap_or(Value::Null);
    if let Some(extra) = v.get_mut("extra").and_then(Value::as_object_mut) {
        extra.retain(|k, _| !k.eq_ignore_ascii_case(keys::PASSWORD));
    }
    v
}

fn hit_json(hit: &SearchHit) -> Value {
    let mut v = user_json(&hit.user);
    if let Some(o) = v.as_object_mut() {
        o.insert("source".into(), json!(hit.source));
        o.insert("display".into(), json!(hit.display));
    }
    v
}

async fn record(dir: &Directory, user: &CustomerUser, source: &str) -> Result<UserRecord, Problem> {
    let ids: Vec<String> = dir
        .customer_ids(user.login.as_str())
        .await?
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    let mut v = user_json(user);
    if let Some(o) = v.as_object_mut() {
        o.insert("source".into(), json!(source));
        o.insert("customer_ids".into(), json!(ids));
    }
    Ok(UserRecord(v))
}

// ------------------------------------------------------------------ password

/// A password change: give `password`, or `generate: true` for a generated one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"password": "Example-Password-42"}))]
pub(crate) struct PasswordChange {
    /// The new password; checked against the password policy, stored hashed, never returned.
    password: Option<String>,
    /// Generate a password the policy accepts instead; it is returned in this response only.
    #[serde(default)]
    generate: bool,
}

/// A password just set.
#[derive(Serialize, ToSchema)]
pub(crate) struct PasswordSet {
    /// The login, as stored.
    login: String,
    /// The generated password when `generate` was asked: shown this once, store it now.
    /// `null` when the password was given.
    generated_password: Option<String>,
}

/// Sets a customer user's password (OTOBO `SetPassword`), given or generated, through the
/// password policy. A given password is never returned; a generated one only in this response.
#[utoipa::path(put, path = "/api/v1/users/{login}/password", tag = "users",
    params(("login" = String, Path, description = "The login, in any case", example = "anna")),
    request_body = PasswordChange,
    responses(
        (status = 200, description = "The password is set", body = PasswordSet),
        (status = 404, description = "No such user", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "The user's source keeps no passwords here (read-only, or \
                                      plain-text passwords shared with OTOBO)", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "The password is refused by the policy, or neither or \
                                      both of `password` and `generate` are given; `field` \
                                      names it", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn set_password(
    State(s): State<AppState>,
    Params(login): Params<String>,
    Body(change): Body<PasswordChange>,
) -> Result<Json<PasswordSet>, Problem> {
    let dir = &s.dir;
    let (password, shown) = match (change.password, change.generate) {
        (Some(p), false) => (Password::new(p), false),
        (None, true) => (dir.generate_password().map_err(refused_config)?, true),
        (Some(_), true) => {
            return Err(Problem::invalid(
                "password",
                "password, generate: give a password or generate: true, not both",
            ));
        }
        (None, false) => {
            return Err(Problem::invalid(
                "password",
                "password: give the new password, or generate: true for a generated one",
            ));
        }
    };
    let (user, _) = require(dir, &login).await?;
    dir.set_password(user.login.as_str(), &password)
        .await
        .map_err(password_problem)?;
    Ok(Json(PasswordSet {
        login: user.login.as_str().to_owned(),
        generated_password: shown.then(|| password.expose().to_owned()),
    }))
}

/// A configuration that refuses password writes is the server's setting, not a fault: `409`
/// with the configuration's message (which names a setting, never a password).
fn refused_config(e: clientele_directory::Error) -> Problem {
    match e {
        clientele_directory::Error::Config(message) => {
            Problem::new(StatusCode::CONFLICT, "refused", message).field("password")
        }
        other => other.into(),
    }
}

/// The problem of a refused password change, naming the request's field `password` rather
/// than the stored attribute (the policy's message names the rule, never the password).
fn password_problem(e: clientele_directory::Error) -> Problem {
    match e {
        clientele_directory::Error::Invalid(v) if v.field() == keys::PASSWORD => Problem::invalid(
            "password",
            v.to_string().replace(keys::PASSWORD, "password"),
        ),
        other => refused_config(other),
    }
}

// ------------------------------------------------------------------ preferences

/// A customer user's preferences (OTOBO `customer_preferences`), as the admin screen shows them.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserPreferences {
    /// The login, as stored.
    login: String,
    /// Every preference by key, except the one-time token's digest (`UserToken`), which is
    /// security state and never shown.
    preferences: BTreeMap<String, String>,
}

/// The preferences of `login` as shown: without the keys that hold secrets.
async fn shown_preferences(dir: &Directory, login: &str) -> Result<UserPreferences, Problem> {
    let (user, _) = require(dir, login).await?;
    let mut preferences = dir.preferences(user.login.as_str()).await?;
    preferences.retain(|k, _| {
        k != clientele_directory::PREF_TOKEN && !k.eq_ignore_ascii_case(keys::PASSWORD)
    });
    Ok(UserPreferences {
        login: user.login.as_str().to_owned(),
        preferences,
    })
}

/// A customer user's preferences (OTOBO AdminCustomerUser with `AdminSetPreferences`).
#[utoipa::path(get, path = "/api/v1/users/{login}/preferences", tag = "users",
    params(("login" = String, Path, description = "The login, in any case", example = "anna")),
    responses(
        (status = 200, description = "The preferences", body = UserPreferences),
        (status = 404, description = "No such user", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn preferences(
    State(s): State<AppState>,
    Params(login): Params<String>,
) -> Result<Json<UserPreferences>, Problem> {
    Ok(Json(shown_preferences(&s.dir, &login).await?))
}

/// The value of a preference.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"value": "de"}))]
pub(crate) struct PreferenceValue {
    /// The value: at most 250 characters, no NUL.
    value: String,
}

/// Sets a preference. Keys that are user data (`UserEmail`, `UserLogin`, …) or security state
/// (`UserToken`) are refused naming the key: change those through the user itself.
#[utoipa::path(put, path = "/api/v1/users/{login}/preferences/{key}", tag = "users",
    params(("login" = String, Path, description = "The login, in any case", example = "anna"),
           ("key" = String, Path, description = "The preference key, e.g. `UserLanguage`", example = "UserLanguage")),
    request_body = PreferenceValue,
    responses(
        (status = 200, description = "The preferences now", body = UserPreferences),
        (status = 404, description = "No such user", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "The key is protected, or the key or value is refused; \
                                      `field` names it", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn set_preference(
    State(s): State<AppState>,
    Params((login, key)): Params<(String, String)>,
    Body(body): Body<PreferenceValue>,
) -> Result<Json<UserPreferences>, Problem> {
    s.dir
        .set_preference(&login, &key, &body.value)
        .await
        .map_err(|e| match e {
            clientele_directory::Error::Invalid(v) => {
                Problem::invalid(v.field(), v.to_string()).key(key.clone())
            }
            other => other.into(),
        })?;
    Ok(Json(shown_preferences(&s.dir, &login).await?))
}

/// Removes a preference (removing one the user does not have changes nothing).
#[utoipa::path(delete, path = "/api/v1/users/{login}/preferences/{key}", tag = "users",
    params(("login" = String, Path, description = "The login, in any case", example = "anna"),
           ("key" = String, Path, description = "The preference key", example = "UserLanguage")),
    responses(
        (status = 200, description = "The preferences now", body = UserPreferences),
        (status = 404, description = "No such user", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn delete_preference(
    State(s): State<AppState>,
    Params((login, key)): Params<(String, String)>,
) -> Result<Json<UserPreferences>, Problem> {
    s.dir.delete_preference(&login, &key).await?;
    Ok(Json(shown_preferences(&s.dir, &login).await?))
}
