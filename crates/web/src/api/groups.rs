//! `/api/v1/groups`: groups, their members (granted and effective) and grant changes (OTOBO's
//! AdminCustomerUserGroup and AdminCustomerGroup screens).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use clientele_backend::traits::{GrantChange, Group};
use clientele_model::Validity;
use clientele_model::permission::PermissionContext;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::users::internal;
use super::{
    Acting, Body, CatalogEdit, InvalidateParams, Params, Q, catalog_problem, validity_change,
};
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
    params(("group" = String, Path, description = "The group's name", example = "billing"), MembersParams),
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
#[schema(example = json!({"user": "anna", "change": "add", "permissions": ["ro"]}))]
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
    params(("group" = String, Path, description = "The group's name", example = "billing")),
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

// ------------------------------------------------------------------ the catalog of groups

/// One group.
#[derive(Serialize, ToSchema)]
pub(crate) struct GroupRow {
    /// The id (OTOBO `groups_table.id`).
    id: u64,
    /// The unique name.
    name: String,
    /// `valid`, `invalid` or `invalid-temporarily`; an invalid group grants nothing.
    #[schema(value_type = String)]
    validity: Validity,
    /// The administrator's comment.
    comment: Option<String>,
}

impl From<Group> for GroupRow {
    fn from(g: Group) -> Self {
        GroupRow {
            id: g.id.0,
            name: g.name,
            validity: g.validity,
            comment: g.comment,
        }
    }
}

/// A new group.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "support", "comment": "First line"}))]
pub(crate) struct NewGroup {
    /// The unique name.
    name: String,
    /// The administrator's comment.
    comment: Option<String>,
}

/// Adds a group (OTOBO AdminGroup, used by AdminCustomerGroup and AdminCustomerUserGroup).
#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", request_body = NewGroup,
    responses(
        (status = 201, description = "Added", body = GroupRow),
        (status = 409, description = "The name is taken", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "The name or comment is refused; `field` names it",
         body = Problem, content_type = "application/problem+json"),
    ))]
pub(crate) async fn add(
    State(s): State<AppState>,
    Acting(by): Acting,
    Body(new): Body<NewGroup>,
) -> Result<(StatusCode, Json<GroupRow>), Problem> {
    let dir = &s.dir;
    if let Some(comment) = &new.comment {
        // Checked before the group is added, so a refused comment adds nothing.
        clientele_model::catalog::check_comment(comment)
            .map_err(|e| catalog_problem("group")(e.into()))?;
    }
    let mut group = dir
        .add_group(&new.name, &by)
        .await
        .map_err(catalog_problem("group"))?;
    if let Some(comment) = new.comment.filter(|c| !c.is_empty()) {
        let changes = clientele_backend::CatalogChanges::new().comment(Some(comment));
        group = dir.update_group(&group.name, changes, &by).await?;
    }
    Ok((StatusCode::CREATED, Json(group.into())))
}

/// One group.
#[utoipa::path(get, path = "/api/v1/groups/{group}", tag = "groups",
    params(("group" = String, Path, description = "The group's name", example = "billing")),
    responses(
        (status = 200, description = "The group", body = GroupRow),
        (status = 404, description = "No such group", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn show(
    State(s): State<AppState>,
    Params(group): Params<String>,
) -> Result<Json<GroupRow>, Problem> {
    Ok(Json(s.dir.group(&group).await?.into()))
}

/// Renames a group, sets its comment or its validity. Grants follow the group.
#[utoipa::path(patch, path = "/api/v1/groups/{group}", tag = "groups",
    params(("group" = String, Path, description = "The group's name", example = "billing")),
    request_body = CatalogEdit,
    responses(
        (status = 200, description = "The group as stored now", body = GroupRow),
        (status = 404, description = "No such group", body = Problem,
         content_type = "application/problem+json"),
        (status = 409, description = "The new name is taken", body = Problem,
         content_type = "application/problem+json"),
        (status = 422, description = "A field is refused; `field` names it", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn update(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params(group): Params<String>,
    Body(edit): Body<CatalogEdit>,
) -> Result<Json<GroupRow>, Problem> {
    let changes = edit.changes()?;
    Ok(Json(
        s.dir
            .update_group(&group, changes, &by)
            .await
            .map_err(catalog_problem("group"))?
            .into(),
    ))
}

/// Invalidates a group: it grants nothing while invalid; its grants stay stored.
#[utoipa::path(post, path = "/api/v1/groups/{group}/invalidate", tag = "groups",
    params(("group" = String, Path, description = "The group's name", example = "billing"), InvalidateParams),
    responses(
        (status = 200, description = "The group as stored now", body = GroupRow),
        (status = 404, description = "No such group", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn invalidate(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params(group): Params<String>,
    Q(p): Q<InvalidateParams>,
) -> Result<Json<GroupRow>, Problem> {
    let changes = validity_change(p.validity());
    Ok(Json(
        s.dir
            .update_group(&group, changes, &by)
            .await
            .map_err(catalog_problem("group"))?
            .into(),
    ))
}

/// Makes a group valid again: its stored grants count again.
#[utoipa::path(post, path = "/api/v1/groups/{group}/validate", tag = "groups",
    params(("group" = String, Path, description = "The group's name", example = "billing")),
    responses(
        (status = 200, description = "The group as stored now", body = GroupRow),
        (status = 404, description = "No such group", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub(crate) async fn validate(
    State(s): State<AppState>,
    Acting(by): Acting,
    Params(group): Params<String>,
) -> Result<Json<GroupRow>, Problem> {
    let changes = validity_change(Validity::Valid);
    Ok(Json(
        s.dir
            .update_group(&group, changes, &by)
            .await
            .map_err(catalog_problem("group"))?
            .into(),
    ))
}
