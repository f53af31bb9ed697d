//! `/api/v1/groups`: groups, their members (granted and effective) and grant changes (OTOBO's
//! AdminCustomerUserGroup and AdminCustomerGroup screens).

use axum::Json;
use axum::extract::State;
use clientele_backend::traits::GrantChange;
use clientele_model::permission::PermissionContext;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::users::internal;
use super::{Acting, Body, Params, Q};
use crate::{AppState, Problem};

/// The groups.
#[derive(Serialize, ToSchema)]
pub(crate) struct GroupList {
    /// Each group: `id`, `name`, `validity`, `comment`.
    #[schema(value_type = Vec<Object>)]
    groups: Value,
}

/// Every group, valid or not.
#[utoipa::path(get, path = "/api/v1/groups", tag = "groups",
    responses((status = 200, description = "The groups", body = GroupList)))]
pub(crate) async fn list(State(s): State<AppState>) -> Result<Json<GroupList>, Problem> {
    let groups = s.dir.groups().await?;
    Ok(Json(GroupList {
        groups: serde_json::to_value(groups).map_err(internal)?,
    }))
}

/// `GET /api/v1/groups/{group}/members` parameters.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct MembersParams {
    /// Who has which permission in effect (grants of users, of their companies, always-groups)
    /// instead of the stored grants.
    #[serde(default)]
    effective: bool,
}

/// A group's members, as stored grants or in effect.
#[derive(Serialize, ToSchema)]
#[schema(value_type = Object)]
pub(crate) struct Members(Value);

/// A group's members: the users and companies granted on it (raw), or every user with a
/// permission on it and where the permission comes from (`?effective=true`).
#[utoipa::path(get, path = "/api/v1/groups/{group}/members", tag = "groups",
    params(("group" = String, Path, description = "The group's name"), MembersParams),
    responses(
        (status = 200, description = "The members", body = Members),
        (status = 404, description = "No such group", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn members(
    State(s): State<AppState>,
    Params(group): Params<String>,
    Q(p): Q<MembersParams>,
) -> Result<Json<Members>, Problem> {
    let value = if p.effective {
        serde_json::to_value(s.dir.effective_group_members(&group).await?)
    } else {
        serde_json::to_value(s.dir.group_members(&group).await?)
    };
    Ok(Json(Members(value.map_err(internal)?)))
}

/// How a grant change treats the stored set.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ChangeKind {
    /// Add the types; the others stay.
    Add,
    /// Remove the types; the others stay.
    Remove,
    /// Replace the set with the types (an empty list revokes every type).
    Replace,
}

/// A change of one user's or one company's permission set on the group.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantRequest {
    /// The user whose set changes (give `user` or `company`).
    user: Option<String>,
    /// The company whose set changes (give `user` or `company`).
    company: Option<String>,
    /// For a company: `same` (its own tickets, default), `other` (other customers' tickets)
    /// or a configured context name.
    context: Option<String>,
    /// Add, remove or replace.
    change: ChangeKind,
    /// Permission types (`ro`, `rw`, …); `rw` implies every type.
    permissions: Vec<String>,
}

/// The stored set after a change.
#[derive(Serialize, ToSchema)]
pub(crate) struct GrantSet {
    /// The group.
    group: String,
    /// The user, as stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    /// The company.
    #[serde(skip_serializing_if = "Option::is_none")]
    company: Option<String>,
    /// The company's context.
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<String>,
    /// The stored types now.
    permissions: Vec<String>,
}

fn context_name(context: &str) -> String {
    match context {
        "same" => PermissionContext::SAME_CUSTOMER.to_owned(),
        "other" => PermissionContext::OTHER_CUSTOMERS.to_owned(),
        other => other.to_owned(),
    }
}

/// Adds, removes or replaces permission types of a user or a company on a group.
#[utoipa::path(post, path = "/api/v1/groups/{group}/grants", tag = "groups",
    params(("group" = String, Path, description = "The group's name")),
    request_body = GrantRequest,
    responses(
        (status = 200, description = "The stored set now", body = GrantSet),
        (status = 404, description = "No such group, user or company", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "A type or context is refused", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn change_grant(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params(group): Params<String>,
    Body(req): Body<GrantRequest>,
) -> Result<Json<GrantSet>, Problem> {
    let dir = &s.dir;
    let change = match req.change {
        ChangeKind::Add => GrantChange::Add,
        ChangeKind::Remove => GrantChange::Remove,
        ChangeKind::Replace => GrantChange::Replace,
    };
    if !matches!(change, GrantChange::Replace) {
        super::require_nonempty("permissions", &req.permissions, "permission type")?;
    }
    let perms: Vec<&str> = req.permissions.iter().map(String::as_str).collect();
    match (req.user, req.company) {
        (Some(login), None) => {
            if req.context.is_some() {
                return Err(Problem::invalid(
                    "context",
                    "context: only a company's grant has a context",
                ));
            }
            dir.change_user_permissions(&login, &group, change, &perms, &by)
                .await?;
            let g = dir.group(&group).await?;
            let stored = match dir.customer_user(&login).await? {
                Some(u) => u.login.as_str().to_owned(),
                None => login,
            };
            let snapshot = dir.relation_snapshot().await?;
            let permissions = snapshot
                .user_grants
                .iter()
                .filter(|g2| g2.login == stored && g2.group_id == g.id)
                .map(|g2| g2.permission.to_string())
                .collect();
            Ok(Json(GrantSet {
                group: g.name,
                user: Some(stored),
                company: None,
                context: None,
                permissions,
            }))
        }
        (None, Some(company)) => {
            let context = context_name(req.context.as_deref().unwrap_or("same"));
            dir.change_company_permissions(&company, &group, &context, change, &perms, &by)
                .await?;
            let g = dir.group(&group).await?;
            let snapshot = dir.relation_snapshot().await?;
            let permissions = snapshot
                .company_grants
                .iter()
                .filter(|g2| {
                    g2.customer_id == company
                        && g2.group_id == g.id
                        && g2.context == context.as_str()
                })
                .map(|g2| g2.permission.to_string())
                .collect();
            Ok(Json(GrantSet {
                group: g.name,
                user: None,
                company: Some(company),
                context: Some(context),
                permissions,
            }))
        }
        _ => Err(Problem::invalid(
            "user",
            "user, company: give exactly one of them",
        )),
    }
}
