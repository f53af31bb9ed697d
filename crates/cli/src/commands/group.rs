//! `clientele group …`

use clientele::backend::GrantChange;
use clientele::model::permission::{GroupId, PermissionContext};
use serde_json::json;

use clientele::directory::{EveryValidUser, PermissionOrigin};
use clientele::permissions::TicketCheck;

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
        GroupCmd::Members { group, effective } => members(ctx, &group, effective).await,
        GroupCmd::AccessFilter {
            login,
            permission_type,
        } => access_filter(ctx, &login, &permission_type).await,
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
    let rows = dir.effective_permissions_with_origins(login).await?;
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
    header.push("FROM".into());
    let mut t = Table::new(header);
    for r in &rows {
        let mut cells = vec![r.group.clone()];
        cells.extend(type_marks(&types, &r.effective));
        cells.push(if r.direct.is_empty() {
            "-".to_owned()
        } else {
            r.direct.join(" ")
        });
        cells.push(origins_text(&r.origins));
        t.row(cells);
    }
    t.print()
}

/// The configured permission types, in order.
fn configured_types(ctx: &Context) -> Vec<String> {
    ctx.dir()
        .config()
        .permissions
        .permission_types
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect()
}

/// `x` or `-` per configured type.
fn type_marks<'a>(types: &'a [String], has: &'a [String]) -> impl Iterator<Item = String> + 'a {
    types
        .iter()
        .map(|ty| if has.contains(ty) { "x" } else { "-" }.to_owned())
}

/// Where permissions come from, for people: `direct grant; company acme (context …)`.
fn origins_text(origins: &[PermissionOrigin]) -> String {
    let shown: Vec<String> = origins.iter().map(ToString::to_string).collect();
    shown.join("; ")
}

/// `clientele group members GROUP [--effective]`.
async fn members(ctx: &Context, group: &str, effective: bool) -> CliResult {
    if effective {
        return effective_members(ctx, group).await;
    }
    let view = ctx.dir().group_members(group).await?;
    if ctx.json {
        return json(&view);
    }
    if !view.valid {
        say(format!("{group} is invalid: its grants give no permission"));
    }
    if !view.customer_group_support {
        say(
            "customer_group_support is off: every customer user has every permission type on \
             every valid group; the grants below are kept but not used",
        );
    }
    if view.always_group {
        say(format!(
            "{group} is an always-group: every valid customer user has every permission type on it"
        ));
    }
    if view.company_always_group {
        say(format!(
            "{group} is a company always-group: every valid customer user with a customer id has \
             every permission type on it"
        ));
    }
    if view.users.is_empty() && view.companies.is_empty() {
        say(format!("no grants on {group}"));
        return Ok(());
    }
    let mut t = Table::new(["KIND", "NAME", "CONTEXT", "PERMISSIONS"]);
    for c in &view.companies {
        t.row([
            "company".to_owned(),
            c.customer_id.clone(),
            c.context.clone(),
            c.permissions.join(" "),
        ]);
    }
    for u in &view.users {
        t.row([
            "user".to_owned(),
            u.login.clone(),
            "-".to_owned(),
            u.permissions.join(" "),
        ]);
    }
    t.print()
}

/// `clientele group members GROUP --effective`.
async fn effective_members(ctx: &Context, group: &str) -> CliResult {
    let view = ctx.dir().effective_group_members(group).await?;
    if ctx.json {
        return json(&view);
    }
    if !view.valid {
        say(format!(
            "{group} is invalid: no one has any permission on it"
        ));
        return Ok(());
    }
    match view.every_valid_user {
        Some(EveryValidUser::AlwaysGroup) => say(format!(
            "every valid customer user has every permission type on {group} (always-group)"
        )),
        Some(EveryValidUser::SupportOff) => say(format!(
            "every valid customer user has every permission type on {group} \
             (customer_group_support is off)"
        )),
        None => {}
    }
    if view.every_valid_user_with_customer_id {
        say(format!(
            "every valid customer user with a customer id has every permission type on {group} \
             (company always-group); users with grants of their own follow"
        ));
    }
    if view.every_valid_user.is_some() {
        return Ok(());
    }
    if view.members.is_empty() {
        say(format!("no customer user has a grant on {group}"));
        return Ok(());
    }
    let types = configured_types(ctx);
    let mut header = vec!["LOGIN".to_owned()];
    header.extend(types.iter().cloned());
    header.push("FROM".into());
    let mut t = Table::new(header);
    for m in &view.members {
        let mut cells = vec![m.login.clone()];
        cells.extend(type_marks(&types, &m.permissions));
        cells.push(origins_text(&m.origins));
        t.row(cells);
    }
    t.print()
}

/// `clientele group access-filter LOGIN [--type T]`.
async fn access_filter(ctx: &Context, login: &str, permission_type: &str) -> CliResult {
    let dir = ctx.dir();
    let filter = dir.ticket_access_filter(login, permission_type).await?;
    let names = |ids: &[GroupId]| -> Vec<String> { ids.iter().map(ToString::to_string).collect() };
    if ctx.json {
        return json(&json!({
            "login": filter.customer_user,
            "permission_type": permission_type,
            "group_ids": filter.group_ids,
            "customer_user": filter.customer_user,
            "customer_ids": filter.customer_ids,
            "other_context_group_ids": filter.other_context_group_ids,
            "clauses": filter.clauses,
            "default_clauses": filter.has_default_clauses(),
        }));
    }
    let list = |items: Vec<String>| {
        if items.is_empty() {
            "(none)".to_owned()
        } else {
            items.join(" ")
        }
    };
    let lines = [
        ("group ids", list(names(&filter.group_ids))),
        ("customer user", filter.customer_user.clone()),
        ("customer ids", list(filter.customer_ids.clone())),
        (
            "other-customers group ids",
            list(names(&filter.other_context_group_ids)),
        ),
    ];
    for (label, value) in lines {
        say(format!("{:<27}{value}", format!("{label}:")));
    }
    let rule: Vec<String> = filter
        .clauses
        .iter()
        .map(|clause| {
            let checks: Vec<String> = clause.iter().map(|c| check_text(*c).to_owned()).collect();
            format!("({})", checks.join(" AND "))
        })
        .collect();
    say(format!("visible when: {}", list(vec![rule.join(" OR ")])));
    Ok(())
}

/// One ticket check, in the words of the filter's lists.
fn check_text(check: TicketCheck) -> &'static str {
    match check {
        TicketCheck::GroupCheck => "queue group in group ids",
        TicketCheck::CustomerUserIdCheck => "customer user is the user",
        TicketCheck::CustomerIdCheck => "customer id in customer ids",
        TicketCheck::CustomerGroupCheck => "queue group in other-customers group ids",
    }
}
