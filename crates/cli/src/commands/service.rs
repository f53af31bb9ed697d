//! `clientele service …`

use serde_json::json;

use super::catalog::{Catalog, service_json};
use crate::Context;
use crate::cli::ServiceCmd;
use crate::error::CliResult;
use crate::output::{Table, json, say};

pub async fn run(ctx: &Context, cmd: ServiceCmd) -> CliResult {
    let dir = ctx.dir();
    match cmd {
        ServiceCmd::Add { name } => {
            let s = dir.add_service(&name, &ctx.by).await?;
            if ctx.json {
                return json(&s);
            }
            say(format!("added service {} (id {})", s.name, s.id));
            Ok(())
        }
        ServiceCmd::Assign {
            login,
            service,
            remove,
        } => {
            dir.assign_service(&login, &service, !remove, &ctx.by)
                .await?;
            if ctx.json {
                return json(&json!({ "login": login, "service": service, "assigned": !remove }));
            }
            if remove {
                say(format!("service {service} removed from {login}"));
            } else {
                say(format!("service {service} assigned to {login}"));
            }
            Ok(())
        }
        ServiceCmd::Default { service, remove } => {
            dir.set_default_service(&service, !remove, &ctx.by).await?;
            if ctx.json {
                return json(&json!({ "service": service, "default": !remove }));
            }
            if remove {
                say(format!("{service} is no longer a default service"));
            } else {
                say(format!(
                    "{service} is a default service: users without services of their own get it"
                ));
            }
            Ok(())
        }
        ServiceCmd::List { user, no_default } => {
            let defaults = dir.default_services().await?;
            let is_default = |id: i64| defaults.iter().any(|d| d.id == id);
            let services = match &user {
                Some(login) if no_default => dir.own_services(login).await?,
                Some(login) => dir.services_for(login).await?,
                None => dir.services().await?,
            };
            if ctx.json {
                let rows: Vec<_> = services
                    .iter()
                    .map(|s| service_json(s, is_default(s.id)))
                    .collect();
                return json(&rows);
            }
            if services.is_empty() {
                match &user {
                    Some(login) if no_default => say(format!("{login} has no services of its own")),
                    Some(login) => say(format!(
                        "{login} may request no service (no own services and no default services)"
                    )),
                    None => say("no services"),
                }
                return Ok(());
            }
            let mut t = Table::new(["ID", "SERVICE", "VALID", "DEFAULT", "COMMENT"]);
            for s in &services {
                t.row([
                    s.id.to_string(),
                    s.name.clone(),
                    s.validity.to_string(),
                    if is_default(s.id) { "yes" } else { "no" }.to_owned(),
                    s.comment.clone().unwrap_or_default(),
                ]);
            }
            t.print()
        }
        ServiceCmd::Users { service } => users(ctx, &service).await,
        ServiceCmd::Edit(edit) => super::catalog::run(ctx, Catalog::Service, edit).await,
    }
}

/// `service users`: the logins a service is assigned to.
async fn users(ctx: &Context, service: &str) -> CliResult {
    let found = ctx.dir().service_users(service).await?;
    if ctx.json {
        return json(&json!({
            "service": service_json(&found.service, found.default),
            "logins": found.logins,
        }));
    }
    if found.default {
        say(format!(
            "{} is a default service: users without services of their own may request it",
            found.service.name
        ));
    }
    if found.logins.is_empty() {
        say(format!("{} is assigned to no user", found.service.name));
        return Ok(());
    }
    let mut t = Table::new(["LOGIN"]);
    for login in found.logins {
        t.row([login.into_string()]);
    }
    t.print()
}
