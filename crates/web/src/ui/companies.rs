//! Companies: OTOBO's AdminCustomerCompany (search, add, edit, invalidate) and the company's
//! users.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use clientele_directory::Entity;
use clientele_model::attribute::AttributeMap;
use clientele_model::{
    CustomerCompany, CustomerCompanyChanges, NewCustomerCompany, Validity, keys,
};
use maud::html;
use serde::Deserialize;

use super::form::{self, FieldError};
use super::users::{LIST_LIMIT, not_found};
use super::{Answer, Fail, Fields, Nav, Page, Ui, fail, layout, seg};
use crate::Problem;

fn company_map(ui: &Ui) -> AttributeMap {
    ui.dir
        .company_settings()
        .map(|s| s.map.clone())
        .unwrap_or_else(AttributeMap::otobo_customer_company)
}

/// The search box's parameters.
#[derive(Deserialize)]
pub(crate) struct ListParams {
    term: Option<String>,
    all: Option<String>,
}

/// `GET /admin/companies`: search and list (at most 1 000).
pub(crate) async fn list(State(ui): State<Ui>, page: Page, Query(p): Query<ListParams>) -> Answer {
    let term = p
        .term
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    let all = p.all.is_some();
    let found = ui
        .dir
        .search_companies_page(term.as_deref(), !all, Some(LIST_LIMIT))
        .await
        .map_err(fail(&page))?;
    let content = html! {
        form.search method="get" action=(page.href("/companies")) {
            label for="term" { "Search" }
            input #term type="search" name="term" value=(term.as_deref().unwrap_or(""));
            label { input type="checkbox" name="all" value="1" checked[all]; " include invalid" }
            button type="submit" #search { "Search" }
        }
        p #summary {
            (found.hits.len()) " shown"
            @if found.more_matched { ", " strong #more { "more match" } ": narrow the search" }
        }
        p { a.button #add-company href=(page.href("/companies/new")) { "Add customer" } }
        table #companies {
            thead { tr { th { "Customer ID" } th { "Name" } th { "City" } th { "Validity" } } }
            tbody {
                @for c in &found.hits {
                    tr {
                        td { a href=(page.href(&format!("/companies/{}", seg(c.customer_id.as_str())))) { (c.customer_id.as_str()) } }
                        td { (c.name) }
                        td { (c.city.as_deref().unwrap_or("")) }
                        td.validity { (c.validity.name()) }
                    }
                }
            }
        }
    };
    Ok(layout(&page, Nav::Companies, "Customers", content).into_response())
}

/// `GET /admin/companies/new`: the add form, built from the company map.
pub(crate) async fn new_form(State(ui): State<Ui>, page: Page) -> Answer {
    Ok(add_form(
        &ui,
        &page,
        &Fields(Vec::new()),
        None,
        StatusCode::OK,
    ))
}

fn add_form(
    ui: &Ui,
    page: &Page,
    given: &Fields,
    error: Option<&FieldError>,
    status: StatusCode,
) -> Response {
    let map = company_map(ui);
    let value = |k: &str| given.get(k).unwrap_or("").to_owned();
    let content = html! {
        (form::general(error, &map, &["validity"]))
        form.record method="post" action=(page.href("/companies")) {
            (page.csrf_field())
            (form::fields(&map, &value, error, false, &[]))
            (form::validity_select(Validity::Valid, error))
            button type="submit" #save { "Add" }
        }
    };
    (
        status,
        layout(page, Nav::Companies, "Add customer", content),
    )
        .into_response()
}

/// `POST /admin/companies`: adds the company.
pub(crate) async fn add(State(ui): State<Ui>, page: Page, fields: Fields) -> Answer {
    let map = company_map(&ui);
    let again = |e: &FieldError| {
        add_form(
            &ui,
            &page,
            &fields,
            Some(e),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
    };
    let validity = match form::validity_of(fields.get("validity")) {
        Ok(v) => v,
        Err(e) => return Ok(again(&e)),
    };
    let mut company = NewCustomerCompany::default();
    for row in form::form_rows(&map) {
        let v = fields.get(&row.key).unwrap_or("").trim();
        if !v.is_empty() || row.key == keys::COMPANY_ID || row.key == keys::COMPANY_NAME {
            company = company.with(&row.key, v);
        }
    }
    if let Some(v) = validity {
        company = company.validity(v);
    }
    match ui.dir.add_company(company, &page.actor).await {
        Ok(c) => Ok(page.redirect(&format!(
            "/companies/{}?saved=1",
            seg(c.customer_id.as_str())
        ))),
        Err(e) => match FieldError::of_refusal(Problem::from(e)) {
            Ok(fe) => Ok(again(&fe)),
            Err(problem) => Err(Fail::new(page.clone(), problem)),
        },
    }
}

/// `GET /admin/companies/{customer_id}`: the edit form and the company's users.
pub(crate) async fn edit(
    State(ui): State<Ui>,
    page: Page,
    Path(id): Path<String>,
    Query(n): Query<super::Notice>,
) -> Answer {
    edit_page(&ui, &page, &id, None, None, n.saved.is_some()).await
}

async fn edit_page(
    ui: &Ui,
    page: &Page,
    id: &str,
    given: Option<&Fields>,
    error: Option<&FieldError>,
    saved: bool,
) -> Answer {
    let company = company_or_404(ui, page, id).await?;
    let map = company_map(ui);
    let stored = |k: &str| {
        company
            .attribute(k)
            .map(|v| v.to_text())
            .unwrap_or_default()
    };
    let value = |k: &str| match given.and_then(|g| g.get(k)) {
        Some(v) => v.to_owned(),
        None => stored(k),
    };
    let id = company.customer_id.as_str();
    let href = format!("/companies/{}", seg(id));
    let users = ui
        .dir
        .users_of_company(id, Some(LIST_LIMIT))
        .await
        .map_err(fail(page))?;
    let content = html! {
        @if saved { p.notice #saved { "Saved." } }
        p.meta { "Validity " strong #validity { (company.validity.name()) } }
        nav.record-links {
            a #groups-link href=(page.href(&format!("{href}/groups"))) { "Groups" }
        }
        (form::general(error, &map, &["validity"]))
        form.record #edit method="post" action=(page.href(&href)) {
            (page.csrf_field())
            (form::fields(&map, &value, error, true, &[keys::COMPANY_ID]))
            (form::validity_select(company.validity, error))
            button type="submit" #save { "Save" }
        }
        @if company.validity == Validity::Valid {
            form method="post" action=(page.href(&format!("{href}/invalidate"))) {
                (page.csrf_field())
                button.danger type="submit" #invalidate { "Invalidate" }
            }
        }
        h2 { "Customer users" }
        table #company-users {
            thead { tr { th { "Login" } th { "Relation" } } }
            tbody {
                @for u in &users {
                    tr {
                        td { a href=(page.href(&format!("/users/{}", seg(u.login.as_str())))) { (u.login.as_str()) } }
                        td { (if u.primary { "primary" } else { "related" }) }
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
    let title = format!("Customer {id}");
    Ok((status, layout(page, Nav::Companies, &title, content)).into_response())
}

/// `POST /admin/companies/{customer_id}`: saves the rows that changed.
pub(crate) async fn update(
    State(ui): State<Ui>,
    page: Page,
    Path(id): Path<String>,
    fields: Fields,
) -> Answer {
    let company = company_or_404(&ui, &page, &id).await?;
    let map = company_map(&ui);
    let mut changes = CustomerCompanyChanges::new();
    for row in form::form_rows(&map).filter(|r| !r.read_only && r.key != keys::COMPANY_ID) {
        let Some(given) = fields.get(&row.key) else {
            continue;
        };
        let given = given.trim();
        let now = company
            .attribute(&row.key)
            .map(|v| v.to_text())
            .unwrap_or_default();
        if given != now {
            changes = changes.set(&row.key, given.to_owned());
        }
    }
    match form::validity_of(fields.get("validity")) {
        Ok(Some(v)) if v != company.validity => changes = changes.validity(v),
        Ok(_) => {}
        Err(e) => return edit_page(&ui, &page, &id, Some(&fields), Some(&e), false).await,
    }
    if !changes.attributes.is_empty()
        && let Err(e) = ui.dir.update_company(&id, changes, &page.actor).await
    {
        return match FieldError::of_refusal(Problem::from(e)) {
            Ok(fe) => edit_page(&ui, &page, &id, Some(&fields), Some(&fe), false).await,
            Err(problem) => Err(Fail::new(page, problem)),
        };
    }
    Ok(page.redirect(&format!("/companies/{}?saved=1", seg(&id))))
}

/// `POST /admin/companies/{customer_id}/invalidate`.
pub(crate) async fn invalidate(State(ui): State<Ui>, page: Page, Path(id): Path<String>) -> Answer {
    ui.dir
        .set_company_validity(&id, Validity::Invalid, &page.actor)
        .await
        .map_err(fail(&page))?;
    Ok(page.redirect(&format!("/companies/{}?saved=1", seg(&id))))
}

/// The company `customer_id` names, or the page saying there is none.
pub(crate) async fn company_or_404(
    ui: &Ui,
    page: &Page,
    customer_id: &str,
) -> Result<CustomerCompany, Fail> {
    ui.dir
        .company(customer_id)
        .await
        .map_err(fail(page))?
        .ok_or_else(|| not_found(page, Entity::Company, customer_id))
}
