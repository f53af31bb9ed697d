//! `/Users`: list with filters, show, create, replace, patch, delete.

use std::collections::{HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use clientele_directory::Directory;
use clientele_model::search::Part;
use clientele_model::search::{
    DetailSearch, Direction, FieldCondition, Pattern, SelectionCondition,
};
use clientele_model::{
    AttributeValue, CustomerUser, CustomerUserChanges, NewCustomerUser, Password, Validity, keys,
};
use serde_json::Value;

use super::error::ScimError;
use super::filter::{self, Filter, Op};
use super::patch::{self, PatchRequest, USER_EXTENSIONS};
use super::user::{EXTERNAL_ID_PREFERENCE, Extras, USER_SCHEMAS, UserInput, to_json, version};
use super::{
    CLIENTELE_SCHEMA, ENTERPRISE_SCHEMA, ListParams, ScimState, USER_SCHEMA, if_match, json_body,
    list_response, principal, respond_resource,
};

/// The validity ids a SCIM list shows: valid and invalid-temporarily (`active: false`); an
/// `invalid` user is deleted as far as SCIM knows.
fn visible() -> SelectionCondition {
    SelectionCondition {
        attribute: keys::VALID.into(),
        values: vec![
            Validity::Valid.id().to_string(),
            Validity::InvalidTemporarily.id().to_string(),
        ],
    }
}

/// A leaf of a filter as the detail search takes it, or `None` when only the record's SCIM
/// form can answer it. `Err` for an attribute Users do not have.
enum Leaf {
    Condition(FieldCondition),
    Selection(SelectionCondition),
    Always,
    Residual,
}

fn pattern(op: Op, value: &str) -> Pattern {
    let v = Part::Literal(value.to_owned());
    match op {
        Op::Eq => Pattern::new([v]),
        Op::Sw => Pattern::new([v, Part::Wildcard]),
        Op::Co => Pattern::new([Part::Wildcard, v, Part::Wildcard]),
    }
}

/// The attributes a filter may name (bare, lower case, first segment).
const KNOWN: [&str; 14] = [
    "id",
    "username",
    "name",
    "displayname",
    "emails",
    "phonenumbers",
    "addresses",
    "active",
    "externalid",
    "meta",
    "organization",
    "customerid",
    "secondarycustomerids",
    "title",
];

fn leaf(f: &Filter) -> Result<Leaf, ScimError> {
    let (attr, present) = match f {
        Filter::Present(a) => (a, true),
        Filter::Compare { attr, .. } => (attr, false),
        _ => return Ok(Leaf::Residual),
    };
    let bare = filter::bare_path(attr, &USER_SCHEMAS);
    let first = bare.split('.').next().unwrap_or_default();
    if !KNOWN.contains(&first) {
        return Err(ScimError::filter(format!(
            "filter: Users have no attribute {attr:?}"
        )));
    }
    let key = match bare.as_str() {
        "id" | "username" => Some(keys::LOGIN),
        "name.givenname" => Some(keys::FIRST_NAME),
        "name.familyname" => Some(keys::LAST_NAME),
        "emails" | "emails.value" => Some(keys::EMAIL),
        "customerid" => Some(keys::CUSTOMER_ID),
        _ => None,
    };
    if present {
        return Ok(match key {
            // Every stored user has a login, a name, an address and a customer id.
            Some(_) => Leaf::Always,
            None if bare == "active" || bare == "meta" => Leaf::Always,
            None => Leaf::Residual,
        });
    }
    let Filter::Compare { op, value, .. } = f else {
        return Ok(Leaf::Residual);
    };
    if bare == "active" {
        let wanted = super::user::boolean(value, "active")
            .map_err(|_| ScimError::filter("filter: active compares with true or false"))?;
        if *op != Op::Eq {
            return Err(ScimError::filter("filter: active supports eq only"));
        }
        let v = if wanted {
            Validity::Valid
        } else {
            Validity::InvalidTemporarily
        };
        return Ok(Leaf::Selection(SelectionCondition {
            attribute: keys::VALID.into(),
            values: vec![v.id().to_string()],
        }));
    }
    match (key, value) {
        (Some(key), Value::String(v)) => Ok(Leaf::Condition(FieldCondition {
            attribute: key.into(),
            pattern: pattern(*op, v),
        })),
        (Some(_), _) => Err(ScimError::filter(format!(
            "filter: {attr} compares with a string"
        ))),
        (None, _) => Ok(Leaf::Residual),
    }
}

/// One alternative of the filter as a detail search, and whether the search alone answers it.
fn compile(conjunction: &[Filter]) -> Result<(DetailSearch, bool), ScimError> {
    let mut search = DetailSearch {
        selections: vec![visible()],
        order_by: vec![(keys::LOGIN.into(), Direction::Ascending)],
        valid_only: false,
        ..DetailSearch::default()
    };
    let mut exact = true;
    for f in conjunction {
        match leaf(f)? {
            Leaf::Condition(c) => search.conditions.push(c),
            Leaf::Selection(s) => search.selections.push(s),
            Leaf::Always => {}
            Leaf::Residual => exact = false,
        }
    }
    Ok((search, exact))
}

/// `GET /Users`.
pub(crate) async fn list(
    State(s): State<ScimState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    let params = ListParams::read(&query, s.settings.max_results)?;
    let paging = &params.paging;
    let parsed = params.filter.as_deref().map(filter::parse).transpose()?;
    let alternatives = match &parsed {
        Some(f) => filter::alternatives(f)?,
        None => vec![vec![]],
    };
    let compiled = alternatives
        .iter()
        .map(|c| compile(c))
        .collect::<Result<Vec<_>, _>>()?;
    let dir = &s.dir;
    let skip = paging.start - 1;
    let mut names = HashMap::new();
    // One exact alternative: the store counts and pages.
    if let [(search, true)] = compiled.as_slice() {
        let total = dir.count_detail(search).await? as usize;
        if paging.count == 0 || skip >= total {
            return Ok(list_response(total, paging.start, Vec::new()));
        }
        let mut page_search = search.clone();
        page_search.limit = Some(skip.saturating_add(paging.count));
        let logins: Vec<String> = dir
            .search_detail(&page_search)
            .await?
            .into_iter()
            .skip(skip)
            .map(|l| l.as_str().to_owned())
            .collect();
        let users = fetch(dir, &logins).await?;
        let mut resources = Vec::with_capacity(users.len());
        for u in &users {
            resources.push(to_json(u, &Extras::of(dir, u, &mut names).await?));
        }
        return Ok(list_response(total, paging.start, resources));
    }
    // Otherwise: the union of the alternatives' candidates, each checked against the filter.
    let mut seen = HashSet::new();
    let mut logins: Vec<String> = Vec::new();
    for (search, _) in &compiled {
        for l in dir.search_detail(search).await? {
            if seen.insert(l.as_str().to_lowercase()) {
                logins.push(l.as_str().to_owned());
            }
        }
    }
    logins.sort();
    let all_exact = compiled.iter().all(|(_, e)| *e);
    let mut resources = Vec::new();
    let mut total = 0;
    if all_exact {
        total = logins.len();
        let page: Vec<String> = logins.into_iter().skip(skip).take(paging.count).collect();
        for u in &fetch(dir, &page).await? {
            resources.push(to_json(u, &Extras::of(dir, u, &mut names).await?));
        }
    } else {
        for u in &fetch(dir, &logins).await? {
            let json = to_json(u, &Extras::of(dir, u, &mut names).await?);
            if parsed
                .as_ref()
                .is_none_or(|f| filter::matches(f, &json, &USER_SCHEMAS))
            {
                total += 1;
                if total > skip && resources.len() < paging.count {
                    resources.push(json);
                }
            }
        }
    }
    Ok(list_response(total, paging.start, resources))
}

/// The users of `logins` that still exist, in order.
async fn fetch(dir: &Directory, logins: &[String]) -> Result<Vec<CustomerUser>, ScimError> {
    let mut out = Vec::with_capacity(logins.len());
    for found in dir.customer_users_by_logins(logins).await? {
        if let Some(u) = found? {
            out.push(u);
        }
    }
    Ok(out)
}

/// The user with this id, unless SCIM deleted it (`invalid`).
async fn visible_user(dir: &Directory, id: &str) -> Result<CustomerUser, ScimError> {
    match dir.customer_user(id).await? {
        Some(u) if u.validity != Validity::Invalid => Ok(u),
        _ => Err(ScimError::not_found("user", id)),
    }
}

async fn show_json(dir: &Directory, user: &CustomerUser) -> Result<Value, ScimError> {
    let mut names = HashMap::new();
    Ok(to_json(user, &Extras::of(dir, user, &mut names).await?))
}

/// `GET /Users/{id}`.
pub(crate) async fn show(
    State(s): State<ScimState>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    let user = visible_user(&s.dir, &id).await?;
    Ok(respond_resource(
        StatusCode::OK,
        &show_json(&s.dir, &user).await?,
    ))
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

/// The changes that make `current` what `input` says; only what differs, so attributes the
/// source's map lacks are not touched when the body leaves them alone.
fn changes_for(
    current: &CustomerUser,
    input: &UserInput,
    customer_id: &str,
) -> CustomerUserChanges {
    let mut changes = CustomerUserChanges::new();
    let wanted: [(&str, String); 13] = [
        (keys::LOGIN, input.user_name.clone()),
        (keys::FIRST_NAME, input.first_name.clone()),
        (keys::LAST_NAME, input.last_name.clone()),
        (keys::EMAIL, input.email.clone()),
        (keys::CUSTOMER_ID, customer_id.to_owned()),
        (keys::TITLE, opt(&input.title)),
        (keys::PHONE, opt(&input.phone)),
        (keys::MOBILE, opt(&input.mobile)),
        (keys::FAX, opt(&input.fax)),
        (keys::STREET, opt(&input.street)),
        (keys::CITY, opt(&input.city)),
        (keys::ZIP, opt(&input.zip)),
        (keys::COUNTRY, opt(&input.country)),
    ];
    for (key, value) in wanted {
        let stored = current
            .attribute(key)
            .map(|v| v.to_text())
            .unwrap_or_default();
        if stored != value {
            changes = changes.set(key, AttributeValue::Text(value));
        }
    }
    if current.validity != input.validity() {
        changes = changes.validity(input.validity());
    }
    if let Some(p) = &input.password {
        changes = changes.password(Password::new(p.clone()));
    }
    changes
}

/// Writes `input` over `current`, checked against `expected` (an `If-Match` version): the
/// version is compared with the record read here, and the write itself fails inside its
/// transaction when the record changed since that read.
async fn write(
    s: &ScimState,
    current: &CustomerUser,
    input: &UserInput,
    expected: Option<&str>,
    by: &clientele_model::Actor,
) -> Result<CustomerUser, ScimError> {
    let dir = &s.dir;
    let login = current.login.as_str();
    if let Some(v) = expected
        && v != version(current)
    {
        return Err(ScimError::precondition(login));
    }
    let customer_id = input
        .resolve_customer_id(s, Some(current.customer_id.as_str()))
        .await?;
    let changes = changes_for(current, input, &customer_id);
    let updated = if expected.is_some() {
        dir.update_customer_user_checked(current, changes, by.clone())
            .await?
    } else {
        dir.update_customer_user(login, changes, by.clone()).await?
    };
    extras_write(dir, &updated, input, by).await?;
    Ok(updated)
}

/// The external id (a preference) and the further customer ids.
async fn extras_write(
    dir: &Directory,
    user: &CustomerUser,
    input: &UserInput,
    by: &clientele_model::Actor,
) -> Result<(), ScimError> {
    let login = user.login.as_str();
    let stored = dir
        .preferences(login)
        .await?
        .get(EXTERNAL_ID_PREFERENCE)
        .cloned();
    match (&input.external_id, stored) {
        (Some(x), s) if s.as_deref() != Some(x.as_str()) => {
            dir.set_preference(login, EXTERNAL_ID_PREFERENCE, x).await?;
        }
        (None, Some(_)) => dir.delete_preference(login, EXTERNAL_ID_PREFERENCE).await?,
        _ => {}
    }
    if let Some(wanted) = &input.secondary {
        let primary = user.customer_id.as_str();
        let have: Vec<String> = dir
            .customer_ids(login)
            .await?
            .into_iter()
            .map(|c| c.into_string())
            .filter(|c| c != primary)
            .collect();
        for id in wanted.iter().filter(|w| !have.contains(w)) {
            if dir.company(id).await?.is_none() {
                return Err(ScimError::value(format!(
                    "secondaryCustomerIds: no company has the customer id {id:?}"
                )));
            }
            dir.relate_company(login, id, true, by.clone()).await?;
        }
        for id in have.iter().filter(|h| !wanted.contains(h)) {
            dir.relate_company(login, id, false, by.clone()).await?;
        }
    }
    Ok(())
}

/// `POST /Users`: adds a user; a user SCIM deleted (`invalid`) is made valid again and
/// updated; an existing visible user is `409 uniqueness`.
pub(crate) async fn create(
    State(s): State<ScimState>,
    extensions: Extensions,
    body: Bytes,
) -> Result<Response, ScimError> {
    let by = principal(&extensions)?.actor;
    let body: Value = json_body(&body)?;
    let input = UserInput::from_json(&body)?;
    let dir = &s.dir;
    if let Some(existing) = dir.customer_user(&input.user_name).await? {
        if existing.validity != Validity::Invalid {
            return Err(ScimError::new(
                StatusCode::CONFLICT,
                Some("uniqueness"),
                format!("userName {:?} is taken", input.user_name),
            ));
        }
        let updated = write(&s, &existing, &input, None, &by).await?;
        return Ok(respond_resource(
            StatusCode::CREATED,
            &show_json(dir, &updated).await?,
        ));
    }
    let source = dir.add_target(s.settings.source.as_deref())?.to_owned();
    let customer_id = input.resolve_customer_id(&s, None).await?;
    let mut new = NewCustomerUser::new(
        &input.user_name,
        &input.first_name,
        &input.last_name,
        &input.email,
        &customer_id,
    )
    .validity(input.validity());
    for (key, value) in [
        (keys::TITLE, &input.title),
        (keys::PHONE, &input.phone),
        (keys::MOBILE, &input.mobile),
        (keys::FAX, &input.fax),
        (keys::STREET, &input.street),
        (keys::CITY, &input.city),
        (keys::ZIP, &input.zip),
        (keys::COUNTRY, &input.country),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            new = new.with(key, v);
        }
    }
    if let Some(p) = &input.password {
        new = new.password(Password::new(p.clone()));
    }
    // A generated password is not shown: the identity provider sets one, or the user resets it.
    let added = dir.add_customer_user_to(&source, new, by.clone()).await?;
    let user = dir
        .customer_user(added.login.as_str())
        .await?
        .ok_or_else(|| ScimError::not_found("user", added.login.as_str()))?;
    extras_write(dir, &user, &input, &by).await?;
    Ok(respond_resource(
        StatusCode::CREATED,
        &show_json(dir, &user).await?,
    ))
}

/// `PUT /Users/{id}`: replaces the user with the body.
pub(crate) async fn replace(
    State(s): State<ScimState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Result<Response, ScimError> {
    let by = principal(&extensions)?.actor;
    let expected = if_match(&headers)?;
    let current = visible_user(&s.dir, &id).await?;
    let body: Value = json_body(&body)?;
    let input = UserInput::from_json(&body)?;
    let updated = write(&s, &current, &input, expected.as_deref(), &by).await?;
    Ok(respond_resource(
        StatusCode::OK,
        &show_json(&s.dir, &updated).await?,
    ))
}

/// `PATCH /Users/{id}`: the operations are applied to the user's SCIM form, which is then
/// written as a `PUT` would write it.
pub(crate) async fn patch(
    State(s): State<ScimState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Result<Response, ScimError> {
    let by = principal(&extensions)?.actor;
    let expected = if_match(&headers)?;
    let request: PatchRequest = json_body(&body)?;
    request.check()?;
    let current = visible_user(&s.dir, &id).await?;
    let mut doc = show_json(&s.dir, &current).await?;
    let before = doc.clone();
    patch::apply(&mut doc, &request.operations, &USER_EXTENSIONS, USER_SCHEMA)?;
    // A changed organization names the company unless the customer id changed with it.
    let at = |d: &Value, schema: &str, attr: &str| d.get(schema).and_then(|e| e.get(attr)).cloned();
    if at(&doc, ENTERPRISE_SCHEMA, "organization") != at(&before, ENTERPRISE_SCHEMA, "organization")
        && at(&doc, CLIENTELE_SCHEMA, "customerId") == at(&before, CLIENTELE_SCHEMA, "customerId")
        && let Some(ours) = doc.get_mut(CLIENTELE_SCHEMA).and_then(Value::as_object_mut)
    {
        ours.remove("customerId");
    }
    let input = UserInput::from_json(&doc)?;
    let updated = write(&s, &current, &input, expected.as_deref(), &by).await?;
    Ok(respond_resource(
        StatusCode::OK,
        &show_json(&s.dir, &updated).await?,
    ))
}

/// `DELETE /Users/{id}`: the user becomes `invalid`; SCIM answers `404` for it from then on.
pub(crate) async fn delete(
    State(s): State<ScimState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Result<StatusCode, ScimError> {
    let by = principal(&extensions)?.actor;
    let expected = if_match(&headers)?;
    let current = visible_user(&s.dir, &id).await?;
    let changes = CustomerUserChanges::new().validity(Validity::Invalid);
    match expected {
        Some(v) if v != version(&current) => return Err(ScimError::precondition(&id)),
        Some(_) => {
            s.dir
                .update_customer_user_checked(&current, changes, by)
                .await?;
        }
        None => {
            s.dir
                .update_customer_user(current.login.as_str(), changes, by)
                .await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}
