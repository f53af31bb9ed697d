//! `clientele group …`

use clientele::backend::GrantChange;
use clientele::model::permission::{GroupId, PermissionContext};
use serde_json::json;

use crate::Context;
use crate::cli::{Grantee, GroupCmd};
use crate::error::{CliError, CliResult};
use crate::output::{Table, json, say};

/// `same` / `other` or a context name.
fn context_name(context: &str) -> String {
    match context {
        "same" => PermissionContext::SAME_CUSTOMER.to_owned(),
        "other" => PermissionContext::OTHER_CUSTOMERS.to_owned(),
        other => other.to_owned(),
    }
}

/// The stored permission set of a user or company on a group.
async fn current_set(
    ctx: &Context,
    grantee: &Grantee,
    group_id: GroupId,
    context: &str,
) -> CliResult<(String, Vec<String>)> {
    let dir = ctx.dir();
    let snapshot = dir.relation_snapshot().await?;
    if let Some(login) = &grantee.user {
        let user = dir
            .customer_user(login)
            .await?
            .ok_or_else(|| CliError::input(format!("customer user {login:?} not found")))?;
        let stored = user.login.as_str().to_owned();
        let set = snapshot
            .user_grants
            .iter()
            .filter(|g| g.login == stored && g.group_id == group_id)
            .map(|g| g.permission.to_string())
            .collect();
        return Ok((stored, set));
    }
    let company = grantee.company.clone().unwrap_or_default();
    let set = snapshot
        .company_grants
        .iter()
        .filter(|g| g.customer_id == company && g.group_id == group_id && g.context == context)
        .map(|g| g.permission.to_string())
        .collect();
    Ok((company, set))
}

/// Changes the grantee's set on a group; the Directory resolves the login's stored case.
async fn edit_grant(
    ctx: &Context,
    grantee: &Grantee,
    group: &str,
    context: &str,
    change: GrantChange,
    permissions: &[String],
) -> CliResult {
    let perms: Vec<&str> = permissions.iter().map(String::as_str).collect();
    let (dir, by) = (ctx.dir(), &ctx.by);
    match (&grantee.user, &grantee.company) {
        (Some(login), _) => {
            dir.change_user_permissions(login, group, change, &perms, by)
                .await?
        }
        (None, company) => {
            let company = company.as_deref().unwrap_or_default();
            dir.change_company_permissions(company, group, context, change, &perms, by)
                .await?
        }
    }
    Ok(())
}

fn describe(grantee: &Grantee, key: &str, context: &str) -> String {
    if grantee.user.is_some() {
        format!("user {key}")
    } else {
        format!("company {key} ({context})")
    }
}

pub async fn run(ctx: &Context, cmd: GroupCmd) -> CliResult {
    let dir = ctx.dir();
    match cmd {
        GroupCmd::Add { name } => {
            let g = dir.add_group(&name, &ctx.by).await?;
            if ctx.json {
                return json(&g);
            }
            say(format!("added group {} (id {})", g.name, g.id));
            Ok(())
        }
        GroupCmd::List => {
            let groups = dir.groups().await?;
            if ctx.json {
                return json(&groups);
            }
            let mut t = Table::new(["ID", "NAME", "VALID", "COMMENT"]);
            for g in groups {
                t.row([
                    g.id.to_string(),
                    g.name,
                    g.validity.to_string(),
                    g.comment.unwrap_or_default(),
                ]);
            }
            t.print()
        }
        GroupCmd::Grant {
            group,
            grantee,
            context,
            permissions,
            set,
        } => {
            let context = context_name(&context);
            let g = dir.group(&group).await?;
            let change = if set {
                GrantChange::Replace
            } else {
                GrantChange::Add
            };
            edit_grant(ctx, &grantee, &group, &context, change, &permissions).await?;
            let (key, now) = current_set(ctx, &grantee, g.id, &context).await?;
            report(ctx, &grantee, &key, &group, &context, &now)
        }
        GroupCmd::Revoke {
            group,
            grantee,
            context,
            permissions,
        } => {
            let context = context_name(&context);
            let g = dir.group(&group).await?;
            let change = if permissions.is_empty() {
                GrantChange::Replace
            } else {
                GrantChange::Remove
            };
            edit_grant(ctx, &grantee, &group, &context, change, &permissions).await?;
            let (key, remaining) = current_set(ctx, &grantee, g.id, &context).await?;
            if remaining.iter().any(|p| p == "rw") && permissions.iter().any(|p| p != "rw") {
                eprintln!(
                    "note: {} keeps rw on {group}, and rw implies every other type",
                    describe(&grantee, &key, &context)
                );
            }
            report(ctx, &grantee, &key, &group, &context, &remaining)
        }
        GroupCmd::Effective { login } => effective(ctx, &login).await,
        GroupCmd::Edit(edit) => {
            super::catalog::run(ctx, super::catalog::Catalog::Group, edit).await
        }
    }
}

fn report(
    ctx: &Context,
    grantee: &Grantee,
    key: &str,
    group: &str,
    context: &str,
    set: &[String],
) -> CliResult {
    if ctx.json {
        return json(&json!({
            "group": group,
            "user": grantee.user.as_ref().map(|_| key),
            "company": grantee.company.as_ref().map(|_| key),
            "context": grantee.company.as_ref().map(|_| context),
            "permissions": set,
        }));
    }
    let shown = if set.is_empty() {
        "nothing".to_owned()
    } else {
        set.join(" ")
    };
    say(format!(
        "{} now has {shown} on {group}",
        describe(grantee, key, context)
    ));
    Ok(())
}

async fn effective(ctx: &Context, login: &str) -> CliResult {
    let dir = ctx.dir();
    let rows = dir.effective_permissions(login).await?;
    let types: Vec<String> = dir
        .config()
        .permissions
        .permission_types
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect();
    let support = dir.config().permissions.customer_group_support;
    if ctx.json {
        return json(&json!({
            "login": login,
            "customer_group_support": support,
            "permission_types": types,
            "groups": rows,
        }));
    }
    if !support {
        say(
            "customer_group_support is off: every customer user has every permission type on \
             every valid group (OTOBO CustomerGroupSupport = 0)",
        );
    }
    if rows.is_empty() {
        say(format!("{login} has no permission on any group"));
        return Ok(());
    }
    let mut header = vec!["GROUP".to_owned()];
    header.extend(types.iter().cloned());
    header.push("DIRECT GRANT".into());
    let mut t = Table::new(header);
    for r in &rows {
        let mut cells = vec![r.group.clone()];
        for ty in &types {
            cells.push(if r.effective.contains(ty) { "x" } else { "-" }.to_owned());
        }
        cells.push(if r.direct.is_empty() {
            "(company or always-group)".to_owned()
        } else {
            r.direct.join(" ")
        });
        t.row(cells);
    }
    t.print()
}
