//! Services: OTOBO's AdminCustomerUserService from both sides and the default services.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use maud::html;

use super::users::user_or_404;
use super::{Answer, Fields, Nav, Page, Ui, fail, layout, seg};

/// `GET /admin/services`: every service, whether it is a default service (a checkbox), and a
/// link to its users.
pub(crate) async fn list(State(ui): State<Ui>, page: Page) -> Answer {
    let services = ui.dir.services().await.map_err(fail(&page))?;
    let defaults = ui.dir.default_services().await.map_err(fail(&page))?;
    let content = html! {
        p { "A default service may be requested by every customer user without services of its own." }
        form #defaults method="post" action=(page.href("/services")) {
            (page.csrf_field())
            table #services {
                thead { tr { th { "Service" } th { "Validity" } th { "Default" } } }
                tbody {
                    @for s in &services {
                        tr {
                            td { input type="hidden" name="service" value=(s.name);
                                 a href=(page.href(&format!("/services/{}", seg(&s.name)))) { (s.name) } }
                            td { (s.validity.name()) }
                            td { input type="checkbox" name="default" value=(s.name) title={"default: " (s.name)}
                                    checked[defaults.iter().any(|d| d.id == s.id)]; }
                        }
                    }
                }
            }
            button type="submit" #save { "Save" }
        }
    };
    Ok(layout(&page, Nav::Services, "Services", content).into_response())
}

/// `POST /admin/services`: each listed service is a default service when checked.
pub(crate) async fn save_defaults(State(ui): State<Ui>, page: Page, fields: Fields) -> Answer {
    let defaults = ui.dir.default_services().await.map_err(fail(&page))?;
    for name in fields.all("service") {
        let wanted = fields.all("default").any(|d| d == name);
        let now = defaults.iter().any(|d| d.name == name);
        if wanted != now {
            ui.dir
                .set_default_service(name, wanted, &page.actor)
                .await
                .map_err(fail(&page))?;
        }
    }
    Ok(page.redirect("/services"))
}

/// `GET /admin/services/{service}`: the users the service is assigned to.
pub(crate) async fn users(State(ui): State<Ui>, page: Page, Path(service): Path<String>) -> Answer {
    let found = ui.dir.service_users(&service).await.map_err(fail(&page))?;
    let content = html! {
        @if found.default { p.notice #default { "A default service." } }
        table #service-users {
            thead { tr { th { "Login" } } }
            tbody {
                @for l in &found.logins {
                    tr { td { a href=(page.href(&format!("/users/{}/services", seg(l.as_str())))) { (l.as_str()) } } }
                }
            }
        }
    };
    let title = format!("Service {}", found.service.name);
    Ok(layout(&page, Nav::Services, &title, content).into_response())
}

/// `GET /admin/users/{login}/services`: a checkbox a service (its own services), and what it
/// may request in effect (the default services when it has none).
pub(crate) async fn user_services(
    State(ui): State<Ui>,
    page: Page,
    Path(login): Path<String>,
) -> Answer {
    let user = user_or_404(&ui, &page, &login).await?;
    let login = user.login.as_str();
    let all = ui.dir.services().await.map_err(fail(&page))?;
    let own = ui.dir.own_services(login).await.map_err(fail(&page))?;
    let effective = ui.dir.services_for(login).await.map_err(fail(&page))?;
    let content = html! {
        p { a #edit-link href=(page.href(&format!("/users/{}", seg(login)))) { "Back to " (login) } }
        form #assign method="post" action=(page.href(&format!("/users/{}/services", seg(login)))) {
            (page.csrf_field())
            table #services {
                thead { tr { th { "Service" } th { "Assigned" } } }
                tbody {
                    @for s in &all {
                        tr {
                            td { input type="hidden" name="listed" value=(s.name); (s.name) }
                            td { input type="checkbox" name="service" value=(s.name) title={"assigned: " (s.name)}
                                    checked[own.iter().any(|o| o.id == s.id)]; }
                        }
                    }
                }
            }
            button type="submit" #save { "Save" }
        }
        p #effective {
            "May request: "
            (effective.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", "))
            @if own.is_empty() && !effective.is_empty() { " (the default services)" }
        }
    };
    let title = format!("Services of {login}");
    Ok(layout(&page, Nav::Users, &title, content).into_response())
}

/// `POST /admin/users/{login}/services`: each listed service is assigned when checked.
pub(crate) async fn save_user_services(
    State(ui): State<Ui>,
    page: Page,
    Path(login): Path<String>,
    fields: Fields,
) -> Answer {
    let own = ui.dir.own_services(&login).await.map_err(fail(&page))?;
    for name in fields.all("listed") {
        let wanted = fields.all("service").any(|s| s == name);
        let now = own.iter().any(|o| o.name == name);
        if wanted != now {
            ui.dir
                .assign_service(&login, name, wanted, &page.actor)
                .await
                .map_err(fail(&page))?;
        }
    }
    Ok(page.redirect(&format!("/users/{}/services", seg(&login))))
}
