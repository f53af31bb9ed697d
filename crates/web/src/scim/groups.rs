//! `/Groups`: one SCIM group per (group, permission type), `displayName` `group:type`; its
//! members are the users with a direct grant of that type. Adding or removing a member adds
//! or removes that one type (the Directory's grant add/remove); other types stay.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{Extensions, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

use super::error::ScimError;
use super::filter;
use super::patch::{Kind, PatchRequest, parse_path};
use super::user::{encode, location};
use super::{
    GROUP_SCHEMA, ListParams, SCIM_PATH, ScimState, json_body, list_response, principal,
    respond_resource,
};

/// A SCIM group: the group's name and a permission type.
struct ScimGroup {
    group: String,
    kind: String,
    members: Vec<String>,
}

impl ScimGroup {
    fn display_name(&self) -> String {
        format!("{}:{}", self.group, self.kind)
    }

    fn json(&self) -> Value {
        let id = self.display_name();
        let members: Vec<Value> = self
            .members
            .iter()
            .map(|l| json!({"value": l, "display": l, "$ref": location(l), "type": "User"}))
            .collect();
        json!({
            "schemas": [GROUP_SCHEMA],
            "id": id,
            "displayName": id,
            "members": members,
            "meta": {
                "resourceType": "Group",
                "location": format!("{SCIM_PATH}/Groups/{}", encode(&id)),
            },
        })
    }
}

fn types(s: &ScimState) -> Vec<String> {
    s.dir
        .config()
        .permissions
        .permission_types
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect()
}

/// The group and type an id (`group:type`) names; the type is after the last `:`.
async fn find(s: &ScimState, id: &str) -> Result<ScimGroup, ScimError> {
    let not_found = || ScimError::not_found("group", id);
    let (group, kind) = id.rsplit_once(':').ok_or_else(not_found)?;
    if !types(s).iter().any(|t| t == kind) {
        return Err(not_found());
    }
    let Ok(members) = s.dir.group_members(group).await else {
        return Err(not_found());
    };
    Ok(ScimGroup {
        group: members.group.clone(),
        kind: kind.to_owned(),
        members: members
            .users
            .iter()
            .filter(|u| u.permissions.iter().any(|p| p == kind))
            .map(|u| u.login.clone())
            .collect(),
    })
}

async fn all(s: &ScimState) -> Result<Vec<ScimGroup>, ScimError> {
    let kinds = types(s);
    let mut out = Vec::new();
    for g in s.dir.groups().await? {
        let members = s.dir.group_members(&g.name).await?;
        for kind in &kinds {
            out.push(ScimGroup {
                group: g.name.clone(),
                kind: kind.clone(),
                members: members
                    .users
                    .iter()
                    .filter(|u| u.permissions.iter().any(|p| p == kind))
                    .map(|u| u.login.clone())
                    .collect(),
            });
        }
    }
    Ok(out)
}

/// `GET /Groups`.
pub(crate) async fn list(
    State(s): State<ScimState>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    let params = ListParams::read(&query, s.settings.max_results)?;
    let parsed = params.filter.as_deref().map(filter::parse).transpose()?;
    let matching: Vec<Value> = all(&s)
        .await?
        .iter()
        .map(ScimGroup::json)
        .filter(|g| {
            parsed
                .as_ref()
                .is_none_or(|f| filter::matches(f, g, &[GROUP_SCHEMA]))
        })
        .collect();
    let total = matching.len();
    let page = matching
        .into_iter()
        .skip(params.paging.start - 1)
        .take(params.paging.count)
        .collect();
    Ok(list_response(total, params.paging.start, page))
}

/// `GET /Groups/{id}`.
pub(crate) async fn show(
    State(s): State<ScimState>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    Ok(respond_resource(
        StatusCode::OK,
        &find(&s, &id).await?.json(),
    ))
}

/// The logins of a `members` value: `[{"value": login}, …]` (or one such object).
fn member_logins(value: Option<&Value>) -> Result<Vec<String>, ScimError> {
    let items: Vec<&Value> = match value {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        Some(_) => return Err(ScimError::value("members: give a list of {\"value\": id}")),
    };
    items
        .into_iter()
        .map(|i| {
            i.get("value")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| ScimError::value("members: each member needs a value (its id)"))
        })
        .collect()
}

/// Adds and removes the type for these logins.
async fn change(
    s: &ScimState,
    g: &ScimGroup,
    add: &[String],
    remove: &[String],
    by: &clientele_model::Actor,
) -> Result<(), ScimError> {
    for login in add {
        s.dir
            .add_user_permissions(login, &g.group, &[g.kind.as_str()], by.clone())
            .await?;
    }
    for login in remove {
        s.dir
            .remove_user_permissions(login, &g.group, &[g.kind.as_str()], by.clone())
            .await?;
    }
    Ok(())
}

/// `PATCH /Groups/{id}`: `members` add, remove (all, by value filter, or the listed ones) and
/// replace.
pub(crate) async fn patch(
    State(s): State<ScimState>,
    Path(id): Path<String>,
    extensions: Extensions,
    body: Bytes,
) -> Result<Response, ScimError> {
    let by = principal(&extensions)?.actor;
    let request: PatchRequest = json_body(&body)?;
    request.check()?;
    let g = find(&s, &id).await?;
    for op in &request.operations {
        let kind = op.kind()?;
        let (path, value) = match op.path.as_deref().filter(|p| !p.trim().is_empty()) {
            Some(p) => (Some(parse_path(p, &[], GROUP_SCHEMA)?), op.value.clone()),
            // No path: `{"members": […]}` (or a displayName, refused below).
            None => {
                let v = op.value.clone().unwrap_or(Value::Null);
                if let Some(o) = v.as_object()
                    && o.keys().any(|k| k.eq_ignore_ascii_case("displayName"))
                {
                    return Err(read_only_name());
                }
                let members = v
                    .as_object()
                    .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("members")))
                    .map(|(_, m)| m.clone());
                (None, members)
            }
        };
        if let Some(p) = &path
            && !p.attr.eq_ignore_ascii_case("members")
        {
            if p.attr.eq_ignore_ascii_case("displayName") {
                return Err(read_only_name());
            }
            return Err(ScimError::bad(
                "invalidPath",
                format!("path {:?}: a group has displayName and members", p.attr),
            ));
        }
        let current = find(&s, &id).await?.members;
        match kind {
            Kind::Add => change(&s, &g, &member_logins(value.as_ref())?, &[], &by).await?,
            Kind::Replace => {
                let wanted = member_logins(value.as_ref())?;
                let add: Vec<String> = wanted
                    .iter()
                    .filter(|w| !current.contains(w))
                    .cloned()
                    .collect();
                let remove: Vec<String> = current
                    .iter()
                    .filter(|c| !wanted.contains(c))
                    .cloned()
                    .collect();
                change(&s, &g, &add, &remove, &by).await?;
            }
            Kind::Remove => {
                let remove: Vec<String> = match path.as_ref().and_then(|p| p.filter.as_ref()) {
                    Some(f) => current
                        .iter()
                        .filter(|l| filter::matches(f, &json!({"value": l}), &[]))
                        .cloned()
                        .collect(),
                    None if value.is_some() => member_logins(value.as_ref())?,
                    None => current.clone(),
                };
                change(&s, &g, &[], &remove, &by).await?;
            }
        }
    }
    Ok(respond_resource(
        StatusCode::OK,
        &find(&s, &id).await?.json(),
    ))
}

fn read_only_name() -> ScimError {
    ScimError::bad(
        "mutability",
        "displayName: a SCIM group is a group and a permission type; its name cannot change",
    )
}

/// `PUT /Groups/{id}`: the members become the listed ones.
pub(crate) async fn replace(
    State(s): State<ScimState>,
    Path(id): Path<String>,
    extensions: Extensions,
    body: Bytes,
) -> Result<Response, ScimError> {
    let by = principal(&extensions)?.actor;
    let body: Value = json_body(&body)?;
    let g = find(&s, &id).await?;
    if let Some(name) = body.get("displayName").and_then(Value::as_str)
        && name != g.display_name()
    {
        return Err(read_only_name());
    }
    let wanted = member_logins(body.get("members"))?;
    let add: Vec<String> = wanted
        .iter()
        .filter(|w| !g.members.contains(w))
        .cloned()
        .collect();
    let remove: Vec<String> = g
        .members
        .iter()
        .filter(|c| !wanted.contains(c))
        .cloned()
        .collect();
    change(&s, &g, &add, &remove, &by).await?;
    Ok(respond_resource(
        StatusCode::OK,
        &find(&s, &id).await?.json(),
    ))
}

/// `POST /Groups`: `displayName` `group:type` adds the group when it does not exist (the
/// type must be configured) and grants the type to the members; an existing group's type is
/// `409 uniqueness`.
pub(crate) async fn create(
    State(s): State<ScimState>,
    extensions: Extensions,
    body: Bytes,
) -> Result<Response, ScimError> {
    let by = principal(&extensions)?.actor;
    let body: Value = json_body(&body)?;
    let name = body
        .get("displayName")
        .and_then(Value::as_str)
        .ok_or_else(|| ScimError::value("displayName: required (group:type)"))?;
    let (group, _) = name
        .rsplit_once(':')
        .filter(|(g, k)| !g.trim().is_empty() && types(&s).iter().any(|t| t == k))
        .ok_or_else(|| {
            ScimError::value(format!(
                "displayName: give group:type with a configured type ({})",
                types(&s).join(", ")
            ))
        })?;
    if s.dir.group(group).await.is_ok() {
        return Err(ScimError::new(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            format!("group {name:?} exists"),
        ));
    }
    s.dir.add_group(group, by.clone()).await?;
    let g = find(&s, name).await?;
    change(&s, &g, &member_logins(body.get("members"))?, &[], &by).await?;
    Ok(respond_resource(
        StatusCode::CREATED,
        &find(&s, name).await?.json(),
    ))
}
