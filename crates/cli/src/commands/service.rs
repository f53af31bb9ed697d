//! `clientele service …`

use serde_json::json;

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
        ServiceCmd::List { user } => {
            let defaults = dir.default_services().await?;
            let is_default = |id: i64| defaults.iter().any(|d| d.id == id);
            let services = match &user {
                Some(login) => dir.services_for(login).await?,
                None => dir.services().await?,
            };
            if ctx.json {
                let rows: Vec<_> = services
                    .iter()
                    .map(|s| {
                        json!({
                            "id": s.id,
                            "name": s.name,
                            "validity": s.validity,
                            "default": is_default(s.id),
                        })
                    })
                    .collect();
                return json(&rows);
            }
            if services.is_empty() {
                match &user {
                    Some(login) => say(format!(
                        "{login} may request no service (no own services and no default services)"
                    )),
                    None => say("no services"),
                }
                return Ok(());
            }
            let mut t = Table::new(["ID", "SERVICE", "VALID", "DEFAULT"]);
            for s in &services {
                t.row([
                    s.id.to_string(),
                    s.name.clone(),
                    s.validity.to_string(),
                    if is_default(s.id) { "yes" } else { "no" }.to_owned(),
                ]);
            }
            t.print()
        }
    }
}
