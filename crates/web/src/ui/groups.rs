//! Group grants: OTOBO's AdminCustomerUserGroup (user ↔ group, ro/rw and the configured
//! types) and AdminCustomerGroup (company ↔ group, in contexts), from either side.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use clientele_backend::traits::GrantChange;
use clientele_directory::Entity;
use clientele_model::permission::PermissionContext;
use maud::{Markup, html};

use super::companies::company_or_404;
use super::users::{not_found, user_or_404};
use super::{Answer, Fail, Fields, Nav, Page, Ui, fail, layout, seg};
use crate::Problem;

/// The configured permission types, in order.
fn types(ui: &Ui) -> Vec<String> {
    ui.dir
        .config()
        .permissions
        .permission_types
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect()
}

/// The configured contexts of company grants, in order.
fn contexts(ui: &Ui) -> Vec<String> {
    let p = &ui.dir.config().permissions;
    let mut out = vec![PermissionContext::SAME_CUSTOMER.to_owned()];
    if p.other_customers_context {
        out.push(PermissionContext::OTHER_CUSTOMERS.to_owned());
    }
    out.extend(p.extra_contexts.iter().map(|c| c.as_str().to_owned()));
    out.dedup();
    out
}

fn support_note(ui: &Ui) -> Markup {
    html! {
        @if !ui.dir.config().permissions.customer_group_support {
            p.notice #support-off {
                "Customer group support is off: every customer user has every permission on \
                 every valid group. Grants are kept, and count once it is on."
            }
        }
    }
}

/// The types checked for `key` among values `"{type index}|{key}"` of `name`.
fn checked(fields: &Fields, name: &str, key: &str, types: &[String]) -> Vec<String> {
    fields
        .all(name)
        .filter_map(|v| v.split_once('|'))
        .filter(|(_, k)| *k == key)
        .filter_map(|(i, _)| i.parse::<usize>().ok().and_then(|i| types.get(i)))
        .cloned()
        .collect()
}

fn same(a: &[String], b: &[String]) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}

/// `GET /admin/groups`: the groups, each linking to its members.
pub(crate) async fn list(State(ui): State<Ui>, page: Page) -> Answer {
    let groups = ui.dir.groups().await.map_err(fail(&page))?;
    let content = html! {
        (support_note(&ui))
        table #groups {
            thead { tr { th { "Group" } th { "Validity" } th { "Comment" } } }
            tbody {
                @for g in &groups {
                    tr {
                        td { a href=(page.href(&format!("/groups/{}", seg(&g.name)))) { (g.name) } }
                        td { (g.validity.name()) }
                        td { (g.comment.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    };
    Ok(layout(&page, Nav::Groups, "Groups", content).into_response())
}

/// `GET /admin/users/{login}/groups`: one row a group, one checkbox a type (the stored
/// grant), and what the user has in effect with where it comes from.
pub(crate) async fn user_matrix(
    State(ui): State<Ui>,
    page: Page,
    Path(login): Path<String>,
) -> Answer {
    let user = user_or_404(&ui, &page, &login).await?;
    let login = user.login.as_str();
    let groups = ui.dir.groups().await.map_err(fail(&page))?;
    let rows = ui
        .dir
        .effective_permissions_with_origins(login)
        .await
        .map_err(fail(&page))?;
    let types = types(&ui);
    let content = html! {
        (support_note(&ui))
        p { a #edit-link href=(page.href(&format!("/users/{}", seg(login)))) { "Back to " (login) } }
        form #matrix method="post" action=(page.href(&format!("/users/{}/groups", seg(login)))) {
            (page.csrf_field())
            table.matrix {
                thead { tr { th { "Group" } @for t in &types { th { (t) } } th { "In effect" } } }
                tbody {
                    @for g in &groups {
                        @let row = rows.iter().find(|r| r.group == g.name);
                        tr {
                            td { input type="hidden" name="group" value=(g.name); (g.name) }
                            @for (i, t) in types.iter().enumerate() {
                                td {
                                    input type="checkbox" name="perm" value={(i) "|" (g.name)}
                                        title={(g.name) ": " (t)}
                                        checked[row.is_some_and(|r| r.direct.contains(t))];
                                }
                            }
                            td.effective {
                                @if let Some(r) = row {
                                    (r.effective.join(", "))
                                    @if !r.origins.is_empty() {
                                        " (" (r.origins.iter().map(|o| o.to_string()).collect::<Vec<_>>().join("; ")) ")"
                                    }
                                }
                            }
                        }
                    }
                }
            }
            button type="submit" #save { "Save" }
        }
    };
    let title = format!("Groups of {login}");
    Ok(layout(&page, Nav::Users, &title, content).into_response())
}

/// `POST /admin/users/{login}/groups`: each listed group's grant becomes the checked types
/// (only the groups whose grant changed are written).
pub(crate) async fn save_user_matrix(
    State(ui): State<Ui>,
    page: Page,
    Path(login): Path<String>,
    fields: Fields,
) -> Answer {
    let rows = ui
        .dir
        .effective_permissions_with_origins(&login)
        .await
        .map_err(fail(&page))?;
    let types = types(&ui);
    for group in fields.all("group") {
        let wanted = checked(&fields, "perm", group, &types);
        let now = rows
            .iter()
            .find(|r| r.group == group)
            .map(|r| r.direct.clone())
            .unwrap_or_default();
        if same(&wanted, &now) {
            continue;
        }
        let perms: Vec<&str> = wanted.iter().map(String::as_str).collect();
        ui.dir
            .change_user_permissions(&login, group, GrantChange::Replace, &perms, &page.actor)
            .await
            .map_err(fail(&page))?;
    }
    Ok(page.redirect(&format!("/users/{}/groups", seg(&login))))
}

/// `GET /admin/companies/{customer_id}/groups`: one row a group, a checkbox a context and type.
pub(crate) async fn company_matrix(
    State(ui): State<Ui>,
    page: Page,
    Path(id): Path<String>,
) -> Answer {
    let company = company_or_404(&ui, &page, &id).await?;
    let id = company.customer_id.as_str();
    let groups = ui.dir.groups().await.map_err(fail(&page))?;
    let grants = company_grants(&ui, &page, id).await?;
    let types = types(&ui);
    let contexts = contexts(&ui);
    let content = html! {
        (support_note(&ui))
        p { a href=(page.href(&format!("/companies/{}", seg(id)))) { "Back to " (id) } }
        form #matrix method="post" action=(page.href(&format!("/companies/{}/groups", seg(id)))) {
            (page.csrf_field())
            table.matrix {
                thead {
                    tr { th rowspan="2" { "Group" } @for c in &contexts { th colspan=(types.len()) { (c) } } }
                    tr { @for _ in &contexts { @for t in &types { th { (t) } } } }
                }
                tbody {
                    @for g in &groups {
                        tr {
                            td { input type="hidden" name="group" value=(g.name); (g.name) }
                            @for (ci, c) in contexts.iter().enumerate() {
                                @for (ti, t) in types.iter().enumerate() {
                                    td {
                                        input type="checkbox" name="perm" value={(ci) "|" (ti) "|" (g.name)}
                                            title={(g.name) ": " (t) " (" (c) ")"}
                                            checked[grants.iter().any(|(gid, ctx, ty)| *gid == g.id.get() && ctx == c && ty == t)];
                                    }
                                }
                            }
                        }
                    }
                }
            }
            button type="submit" #save { "Save" }
        }
    };
    let title = format!("Groups of customer {id}");
    Ok(layout(&page, Nav::Companies, &title, content).into_response())
}

/// The company's stored grants: (group id, context, type).
async fn company_grants(
    ui: &Ui,
    page: &Page,
    id: &str,
) -> Result<Vec<(u64, String, String)>, Fail> {
    let snapshot = ui.dir.relation_snapshot().await.map_err(fail(page))?;
    Ok(snapshot
        .company_grants
        .into_iter()
        .filter(|g| g.customer_id == id)
        .map(|g| {
            (
                g.group_id.get(),
                g.context.as_str().to_owned(),
                g.permission.as_str().to_owned(),
            )
        })
        .collect())
}

/// `POST /admin/companies/{customer_id}/groups`: each listed group's grant in each context
/// becomes the checked types.
pub(crate) async fn save_company_matrix(
    State(ui): State<Ui>,
    page: Page,
    Path(id): Path<String>,
    fields: Fields,
) -> Answer {
    let groups = ui.dir.groups().await.map_err(fail(&page))?;
    let grants = company_grants(&ui, &page, &id).await?;
    let types = types(&ui);
    let contexts = contexts(&ui);
    for name in fields.all("group") {
        let Some(g) = groups.iter().find(|g| g.name == name) else {
            return Err(not_found(&page, Entity::Group, name));
        };
        for (ci, context) in contexts.iter().enumerate() {
            let wanted: Vec<String> = fields
                .all("perm")
                .filter_map(|v| {
                    let (c, rest) = v.split_once('|')?;
                    let (t, group) = rest.split_once('|')?;
                    let t = types.get(t.parse::<usize>().ok()?)?;
                    (c.parse::<usize>().ok()? == ci && group == name).then(|| t.clone())
                })
                .collect();
            let now: Vec<String> = grants
                .iter()
                .filter(|(gid, ctx, _)| *gid == g.id.get() && ctx == context)
                .map(|(_, _, t)| t.clone())
                .collect();
            if same(&wanted, &now) {
                continue;
            }
            let perms: Vec<&str> = wanted.iter().map(String::as_str).collect();
            ui.dir
                .change_company_permissions(
                    &id,
                    name,
                    context,
                    GrantChange::Replace,
                    &perms,
                    &page.actor,
                )
                .await
                .map_err(fail(&page))?;
        }
    }
    Ok(page.redirect(&format!("/companies/{}/groups", seg(&id))))
}

/// `GET /admin/groups/{group}`: the group's side: users with a direct grant (a checkbox a
/// type, and a row to grant another user), companies with their grants per context, and the
/// members in effect.
pub(crate) async fn members(State(ui): State<Ui>, page: Page, Path(group): Path<String>) -> Answer {
    let m = ui.dir.group_members(&group).await.map_err(fail(&page))?;
    let effective = ui
        .dir
        .effective_group_members(&group)
        .await
        .map_err(fail(&page))?;
    let types = types(&ui);
    let href = format!("/groups/{}", seg(&m.group));
    let content = html! {
        (support_note(&ui))
        @if !m.valid { p.notice { "The group is not valid: it gives no one anything." } }
        @if m.always_group { p.notice { "Every valid customer user has every type on this group (an always-group)." } }
        h2 { "Customer users" }
        form #matrix method="post" action=(page.href(&href)) {
            (page.csrf_field())
            table.matrix {
                thead { tr { th { "Login" } @for t in &types { th { (t) } } } }
                tbody {
                    @for u in &m.users {
                        tr {
                            td { input type="hidden" name="login" value=(u.login);
                                 a href=(page.href(&format!("/users/{}", seg(&u.login)))) { (u.login) } }
                            @for (i, t) in types.iter().enumerate() {
                                td { input type="checkbox" name="perm" value={(i) "|" (u.login)}
                                        title={(u.login) ": " (t)} checked[u.permissions.contains(t)]; }
                            }
                        }
                    }
                    tr.new {
                        td { input #f-new_login type="text" name="new_login" placeholder="login"; }
                        @for (i, t) in types.iter().enumerate() {
                            td { input type="checkbox" name="new_perm" value=(i) title={"new: " (t)}; }
                        }
                    }
                }
            }
            button type="submit" #save { "Save" }
        }
        h2 { "Customers" }
        table #group-companies {
            thead { tr { th { "Customer ID" } th { "Context" } th { "Types" } } }
            tbody {
                @for c in &m.companies {
                    tr {
                        td { a href=(page.href(&format!("/companies/{}/groups", seg(&c.customer_id)))) { (c.customer_id) } }
                        td { (c.context) }
                        td { (c.permissions.join(", ")) }
                    }
                }
            }
        }
        h2 { "In effect" }
        table #effective {
            thead { tr { th { "Login" } th { "Types" } } }
            tbody {
                @for e in &effective.members {
                    tr { td { (e.login) } td { (e.permissions.join(", ")) } }
                }
            }
        }
    };
    let title = format!("Group {}", m.group);
    Ok(layout(&page, Nav::Groups, &title, content).into_response())
}

/// `POST /admin/groups/{group}`: each listed user's grant becomes the checked types; a login in
/// `new_login` is granted the `new_perm` types.
pub(crate) async fn save_members(
    State(ui): State<Ui>,
    page: Page,
    Path(group): Path<String>,
    fields: Fields,
) -> Answer {
    let m = ui.dir.group_members(&group).await.map_err(fail(&page))?;
    let types = types(&ui);
    for login in fields.all("login") {
        let wanted = checked(&fields, "perm", login, &types);
        let now = m
            .users
            .iter()
            .find(|u| u.login == login)
            .map(|u| u.permissions.clone())
            .unwrap_or_default();
        if same(&wanted, &now) {
            continue;
        }
        let perms: Vec<&str> = wanted.iter().map(String::as_str).collect();
        ui.dir
            .change_user_permissions(login, &group, GrantChange::Replace, &perms, &page.actor)
            .await
            .map_err(fail(&page))?;
    }
    let new_login = fields.get("new_login").unwrap_or("").trim();
    if !new_login.is_empty() {
        let perms: Vec<&str> = fields
            .all("new_perm")
            .filter_map(|i| i.parse::<usize>().ok().and_then(|i| types.get(i)))
            .map(String::as_str)
            .collect();
        if perms.is_empty() {
            return Err(Fail::new(
                page,
                Problem::invalid("new_perm", "new_perm: check at least one type to grant"),
            ));
        }
        ui.dir
            .change_user_permissions(new_login, &group, GrantChange::Add, &perms, &page.actor)
            .await
            .map_err(fail(&page))?;
    }
    Ok(page.redirect(&format!("/groups/{}", seg(&group))))
}
