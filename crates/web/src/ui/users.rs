//! Customer users: OTOBO's AdminCustomerUser (search, list, add, edit, invalidate, password)
//! and AdminCustomerUserCustomer from the user's side.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clientele_directory::Entity;
use clientele_model::attribute::AttributeMap;
use clientele_model::search::CustomerUserSearch;
use clientele_model::{
    CustomerUser, CustomerUserChanges, NewCustomerUser, Password, Validity, keys,
};
use maud::{Markup, html};
use serde::Deserialize;

use super::form::{self, FieldError};
use super::{Answer, Fail, Fields, Nav, Page, Ui, fail, layout, seg};
use crate::Problem;

/// OTOBO's admin list shows the first 1 000 users.
pub(crate) const LIST_LIMIT: usize = 1000;

/// The search box's parameters.
#[derive(Deserialize)]
pub(crate) struct ListParams {
    term: Option<String>,
    limit: Option<String>,
    all: Option<String>,
}

/// `GET /admin/users`: the search box and the users found (`*` when nothing is asked), at most
/// `limit` (1 000), with how many are shown and whether more matched.
pub(crate) async fn list(State(ui): State<Ui>, page: Page, Query(p): Query<ListParams>) -> Answer {
    let term = p
        .term
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("*")
        .to_owned();
    let limit = match p.limit.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        None => LIST_LIMIT,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(Fail::new(
                    page,
                    Problem::invalid(
                        "limit",
                        format!("limit: {l:?} is not a whole number above 0"),
                    ),
                ));
            }
        },
    };
    let all = p.all.is_some();
    let mut search = CustomerUserSearch::term(term.clone()).limit(limit);
    if all {
        search = search.include_invalid();
    }
    let found = ui.dir.search_page(&search).await.map_err(fail(&page))?;
    let content = html! {
        form.search method="get" action=(page.href("/users")) {
            label for="term" { "Search" }
            input #term type="search" name="term" value=(term) placeholder="do* or \"Jane Doe\"";
            label for="limit" { "Limit" }
            input #limit type="number" name="limit" min="1" value=(limit);
            label { input type="checkbox" name="all" value="1" checked[all]; " include invalid" }
            button type="submit" #search { "Search" }
        }
        p #summary {
            (found.hits.len()) " shown"
            @if found.more_matched { ", " strong #more { "more match" } ": narrow the search or raise the limit" }
        }
        @for m in &found.missing_sources {
            p.error { "Source " (m.source) " did not answer; users it holds may be missing." }
        }
        p { a.button #add-user href=(page.href("/users/new")) { "Add customer user" } }
        table #users {
            thead { tr { th { "Login" } th { "Name" } th { "Email" } th { "Customer ID" } th { "Source" } th { "Validity" } } }
            tbody {
                @for hit in &found.hits {
                    @let u = &hit.user;
                    tr {
                        td { a href=(page.href(&format!("/users/{}", seg(u.login.as_str())))) { (u.login.as_str()) } }
                        td { (u.first_name) " " (u.last_name) }
                        td { (u.email.as_str()) }
                        td { (u.customer_id.as_str()) }
                        td { (hit.source) }
                        td.validity { (u.validity.name()) }
                    }
                }
            }
        }
    };
    Ok(layout(&page, Nav::Users, "Customer users", content).into_response())
}

/// The attribute map of a source (OTOBO's default map when the source is unknown).
fn map_of(ui: &Ui, source: &str) -> AttributeMap {
    ui.dir
        .source_settings(source)
        .map(|s| s.map.clone())
        .unwrap_or_else(AttributeMap::otobo_customer_user)
}

/// The sources a user may be added to.
fn writable_sources(ui: &Ui) -> Vec<String> {
    ui.dir
        .source_names()
        .into_iter()
        .filter(|n| ui.dir.is_writable_source(n))
        .collect()
}

/// `GET /admin/users/new`: the add form, built from the add target's attribute map.
pub(crate) async fn new_form(
    State(ui): State<Ui>,
    page: Page,
    Query(q): Query<SourceParam>,
) -> Answer {
    let source = ui
        .dir
        .add_target(q.source.as_deref())
        .map_err(fail(&page))?
        .to_owned();
    Ok(add_form(
        &ui,
        &page,
        &source,
        &Fields(Vec::new()),
        None,
        StatusCode::OK,
    ))
}

/// `?source=` of the add form.
#[derive(Deserialize)]
pub(crate) struct SourceParam {
    source: Option<String>,
}

fn add_form(
    ui: &Ui,
    page: &Page,
    source: &str,
    given: &Fields,
    error: Option<&FieldError>,
    status: StatusCode,
) -> Response {
    let map = map_of(ui, source);
    let value = |k: &str| given.get(k).unwrap_or("").to_owned();
    let sources = writable_sources(ui);
    let content = html! {
        (form::general(error, &map, &["password", "validity", "source"]))
        form.record method="post" action=(page.href("/users")) {
            (page.csrf_field())
            @if sources.len() > 1 {
                div.field {
                    label for="f-source" { "Source" }
                    select #f-source name="source" {
                        @for s in &sources { option value=(s) selected[s == source] { (s) } }
                    }
                }
            } @else {
                input type="hidden" name="source" value=(source);
            }
            (form::fields(&map, &value, error, false, &[]))
            div.field {
                label for="f-password" { "Password" }
                input #f-password type="password" name="password" autocomplete="new-password";
                p.hint { "Leave empty to generate one; it is shown once." }
                @if let Some(e) = error.filter(|e| e.field.eq_ignore_ascii_case("password") || e.field == keys::PASSWORD) {
                    p.error #f-password-error { (e.message) }
                }
            }
            (form::validity_select(
                form::validity_of(given.get("validity")).ok().flatten().unwrap_or(Validity::Valid),
                error,
            ))
            button type="submit" #save { "Add" }
        }
    };
    (
        status,
        layout(page, Nav::Users, "Add customer user", content),
    )
        .into_response()
}

/// A refusal of a form: re-rendered with the message next to the field (`422`), or an error
/// page when it names no field.
fn refused(page: &Page, problem: Problem, render: impl FnOnce(&FieldError) -> Response) -> Answer {
    if problem.status == 404 {
        return Err(Fail::new(page.clone(), problem));
    }
    match FieldError::of_refusal(problem) {
        Ok(e) => Ok(render(&e)),
        Err(problem) => Err(Fail::new(page.clone(), problem)),
    }
}

/// `POST /admin/users`: adds the user; the page shows the generated password once.
pub(crate) async fn add(State(ui): State<Ui>, page: Page, fields: Fields) -> Answer {
    let named = fields.get("source").filter(|s| !s.is_empty());
    let source = ui.dir.add_target(named).map_err(fail(&page))?.to_owned();
    let map = map_of(&ui, &source);
    let again = |e: &FieldError| {
        add_form(
            &ui,
            &page,
            &source,
            &fields,
            Some(e),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let validity = match form::validity_of(fields.get("validity")) {
        Ok(v) => v,
        Err(e) => return Ok(again(&e)),
    };
    let get = |k: &str| fields.get(k).unwrap_or("").trim().to_owned();
    let mut user = NewCustomerUser::new(
        &get(keys::LOGIN),
        &get(keys::FIRST_NAME),
        &get(keys::LAST_NAME),
        &get(keys::EMAIL),
        &get(keys::CUSTOMER_ID),
    );
    for row in form::form_rows(&map) {
        let standard = [
            keys::LOGIN,
            keys::FIRST_NAME,
            keys::LAST_NAME,
            keys::EMAIL,
            keys::CUSTOMER_ID,
        ];
        if standard.contains(&row.key.as_str()) {
            continue;
        }
        let v = get(&row.key);
        if !v.is_empty() {
            user = user.with(&row.key, v);
        }
    }
    if let Some(v) = validity {
        user = user.validity(v);
    }
    if let Some(pw) = fields.get("password").filter(|p| !p.is_empty()) {
        user = user.password(Password::new(pw));
    }
    let added = match ui
        .dir
        .add_customer_user_to(&source, user, &page.actor)
        .await
    {
        Ok(a) => a,
        Err(e) => return refused(&page, Problem::from(e), again),
    };
    let login = added.login.as_str().to_owned();
    let content = html! {
        p #added { "Customer user " strong { (login) } " was added to " (added.source) "." }
        (password_once(added.generated_password.as_ref()))
        (user_links(&page, &login))
    };
    Ok((
        StatusCode::CREATED,
        layout(&page, Nav::Users, "Customer user added", content),
    )
        .into_response())
}

/// A generated password, shown on this page only.
fn password_once(password: Option<&Password>) -> Markup {
    html! {
        @if let Some(p) = password {
            div.once {
                p { "The generated password — shown this once, pass it on now:" }
                output #generated-password { (p.expose()) }
            }
        }
    }
}

fn user_links(page: &Page, login: &str) -> Markup {
    let base = format!("/users/{}", seg(login));
    html! {
        nav.record-links {
            a #edit-link href=(page.href(&base)) { "Edit" }
            a #groups-link href=(page.href(&format!("{base}/groups"))) { "Groups" }
            a #companies-link href=(page.href(&format!("{base}/companies"))) { "Customers" }
            a #services-link href=(page.href(&format!("{base}/services"))) { "Services" }
        }
    }
}

/// `GET /admin/users/{login}`: the edit form, or the record alone when its source or every
/// row is read-only (an LDAP user has no edit form).
pub(crate) async fn edit(
    State(ui): State<Ui>,
    page: Page,
    Path(login): Path<String>,
    Query(n): Query<super::Notice>,
) -> Answer {
    edit_page(&ui, &page, &login, None, None, n.saved.is_some()).await
}

async fn edit_page(
    ui: &Ui,
    page: &Page,
    login: &str,
    given: Option<&Fields>,
    error: Option<&FieldError>,
    saved: bool,
) -> Answer {
    let (user, source) = ui
        .dir
        .customer_user_with_source(login)
        .await
        .map_err(fail(page))?
        .ok_or_else(|| not_found(page, Entity::CustomerUser, login))?;
    let map = map_of(ui, &source);
    let read_only = !ui.dir.is_writable_source(&source);
    let stored = |k: &str| user.attribute(k).map(|v| v.to_text()).unwrap_or_default();
    let value = |k: &str| match given.and_then(|g| g.get(k)) {
        Some(v) => v.to_owned(),
        None => stored(k),
    };
    let login = user.login.as_str().to_owned();
    let href = format!("/users/{}", seg(&login));
    let customer_ids = ui.dir.customer_ids(&login).await.map_err(fail(page))?;
    let content = html! {
        @if saved { p.notice #saved { "Saved." } }
        p.meta {
            "Source " strong #source { (source) }
            @if read_only { " (read-only: the record is shown, not edited)" }
            " · validity " strong #validity { (user.validity.name()) }
            " · customer IDs " span #customer-ids { (customer_ids.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")) }
        }
        (user_links(page, &login))
        @if read_only {
            dl.record {
                @for row in form::form_rows(&map) {
                    dt { (if row.label.is_empty() { &row.key } else { &row.label }) }
                    dd { (stored(&row.key)) }
                }
            }
        } @else {
            (form::general(error, &map, &["validity"]))
            form.record #edit method="post" action=(page.href(&href)) {
                (page.csrf_field())
                (form::fields(&map, &value, error, true, &[]))
                (form::validity_select(user.validity, error))
                button type="submit" #save { "Save" }
            }
            div.actions {
                form method="post" action=(page.href(&format!("{href}/password"))) {
                    (page.csrf_field())
                    button type="submit" #reset-password { "Generate a new password" }
                }
                @if user.validity == Validity::Valid {
                    form method="post" action=(page.href(&format!("{href}/invalidate"))) {
                        (page.csrf_field())
                        button.danger type="submit" #invalidate { "Invalidate" }
                    }
                }
            }
        }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let title = format!("Customer user {login}");
    Ok((status, layout(page, Nav::Users, &title, content)).into_response())
}

pub(crate) fn not_found(page: &Page, entity: Entity, key: &str) -> Fail {
    fail(page)(clientele_directory::Error::NotFound {
        entity,
        key: key.to_owned(),
    })
}

/// The user `login` names, or the page saying there is none.
pub(crate) async fn user_or_404(ui: &Ui, page: &Page, login: &str) -> Result<CustomerUser, Fail> {
    ui.dir
        .customer_user(login)
        .await
        .map_err(fail(page))?
        .ok_or_else(|| not_found(page, Entity::CustomerUser, login))
}

/// `POST /admin/users/{login}`: saves the rows that changed (read-only rows are not sent).
pub(crate) async fn update(
    State(ui): State<Ui>,
    page: Page,
    Path(login): Path<String>,
    fields: Fields,
) -> Answer {
    let (user, source) = ui
        .dir
        .customer_user_with_source(&login)
        .await
        .map_err(fail(&page))?
        .ok_or_else(|| not_found(&page, Entity::CustomerUser, &login))?;
    let map = map_of(&ui, &source);
    let mut changes = CustomerUserChanges::new();
    for row in form::form_rows(&map).filter(|r| !r.read_only) {
        let Some(given) = fields.get(&row.key) else {
            continue;
        };
        let given = given.trim();
        let now = user
            .attribute(&row.key)
            .map(|v| v.to_text())
            .unwrap_or_default();
        if given != now {
            changes = changes.set(&row.key, given.to_owned());
        }
    }
    match form::validity_of(fields.get("validity")) {
        Ok(Some(v)) if v != user.validity => changes = changes.validity(v),
        Ok(_) => {}
        Err(e) => return edit_page(&ui, &page, &login, Some(&fields), Some(&e), false).await,
    }
    let mut stored = user.login.as_str().to_owned();
    if !changes.attributes.is_empty() {
        match ui
            .dir
            .update_customer_user(&login, changes, &page.actor)
            .await
        {
            Ok(u) => stored = u.login.as_str().to_owned(),
            Err(e) => {
                return match FieldError::of_refusal(Problem::from(e)) {
                    Ok(fe) => edit_page(&ui, &page, &login, Some(&fields), Some(&fe), false).await,
                    Err(problem) => Err(Fail::new(page, problem)),
                };
            }
        }
    }
    Ok(page.redirect(&format!("/users/{}?saved=1", seg(&stored))))
}

/// `POST /admin/users/{login}/invalidate`: sets the user `invalid` (OTOBO never deletes).
pub(crate) async fn invalidate(
    State(ui): State<Ui>,
    page: Page,
    Path(login): Path<String>,
) -> Answer {
    let user = ui
        .dir
        .set_validity(&login, Validity::Invalid, &page.actor)
        .await
        .map_err(fail(&page))?;
    Ok(page.redirect(&format!("/users/{}?saved=1", seg(user.login.as_str()))))
}

/// `POST /admin/users/{login}/password`: a new generated password, set and shown once.
pub(crate) async fn reset_password(
    State(ui): State<Ui>,
    page: Page,
    Path(login): Path<String>,
) -> Answer {
    let password = ui.dir.generate_password().map_err(fail(&page))?;
    ui.dir
        .set_password(&login, &password)
        .await
        .map_err(fail(&page))?;
    let content = html! {
        p #reset { "Customer user " strong { (login) } " has a new password." }
        (password_once(Some(&password)))
        (user_links(&page, &login))
    };
    Ok(layout(&page, Nav::Users, "New password", content).into_response())
}

/// `GET /admin/users/{login}/companies`: the customer ids the user acts for; relate another
/// one, remove a relation (OTOBO AdminCustomerUserCustomer).
pub(crate) async fn companies(
    State(ui): State<Ui>,
    page: Page,
    Path(login): Path<String>,
) -> Answer {
    companies_page(&ui, &page, &login, None).await
}

async fn companies_page(ui: &Ui, page: &Page, login: &str, error: Option<&FieldError>) -> Answer {
    let user = ui
        .dir
        .customer_user(login)
        .await
        .map_err(fail(page))?
        .ok_or_else(|| not_found(page, Entity::CustomerUser, login))?;
    let ids = ui.dir.customer_ids(login).await.map_err(fail(page))?;
    let login = user.login.as_str();
    let action = page.href(&format!("/users/{}/companies", seg(login)));
    let content = html! {
        (user_links(page, login))
        table #companies {
            thead { tr { th { "Customer ID" } th { "Relation" } th {} } }
            tbody {
                @for id in &ids {
                    tr {
                        td { a href=(page.href(&format!("/companies/{}", seg(id.as_str())))) { (id.as_str()) } }
                        @if id.as_str() == user.customer_id.as_str() {
                            td { "primary" } td {}
                        } @else {
                            td { "related" }
                            td {
                                form method="post" action=(action) {
                                    (page.csrf_field())
                                    input type="hidden" name="remove" value=(id.as_str());
                                    button type="submit" { "Remove" }
                                }
                            }
                        }
                    }
                }
            }
        }
        form.inline method="post" action=(action) {
            (page.csrf_field())
            label for="f-customer_id" { "Relate to customer ID" }
            input #f-customer_id type="text" name="customer_id" required;
            button type="submit" #relate { "Relate" }
            @if let Some(e) = error { p.error #f-customer_id-error { (e.message) } }
        }
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let title = format!("Customers of {login}");
    Ok((status, layout(page, Nav::Users, &title, content)).into_response())
}

/// `POST /admin/users/{login}/companies`: relates (`customer_id`) or removes (`remove`).
pub(crate) async fn relate(
    State(ui): State<Ui>,
    page: Page,
    Path(login): Path<String>,
    fields: Fields,
) -> Answer {
    let (id, add) = match (fields.get("remove"), fields.get("customer_id")) {
        (Some(r), _) => (r.trim().to_owned(), false),
        (None, Some(c)) => (c.trim().to_owned(), true),
        (None, None) => (String::new(), true),
    };
    if id.is_empty() {
        let e = FieldError::new("customer_id", "customer_id: give a customer ID");
        return companies_page(&ui, &page, &login, Some(&e)).await;
    }
    if add && ui.dir.company(&id).await.map_err(fail(&page))?.is_none() {
        let e = FieldError::new(
            "customer_id",
            format!("customer_id: company {id:?} not found; nothing was changed"),
        );
        return companies_page(&ui, &page, &login, Some(&e)).await;
    }
    if let Err(e) = ui.dir.relate_company(&login, &id, add, &page.actor).await {
        let problem = Problem::from(e);
        if problem.status == 422 {
            let e = FieldError::new("customer_id", problem.detail);
            return companies_page(&ui, &page, &login, Some(&e)).await;
        }
        return Err(Fail::new(page, problem));
    }
    Ok(page.redirect(&format!("/users/{}/companies", seg(&login))))
}
