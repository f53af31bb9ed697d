//! `clientele ldap test`: the first thing an admin needs when LDAP "doesn't work".

use crate::Context;
use crate::cli::LdapCmd;
use crate::error::CliResult;

#[cfg(not(feature = "ldap"))]
pub async fn run(_ctx: &Context, _cmd: LdapCmd) -> CliResult {
    Err(crate::error::CliError::input(
        "this clientele was built without LDAP support; build it with the `ldap` feature",
    ))
}

#[cfg(feature = "ldap")]
pub async fn run(ctx: &Context, cmd: LdapCmd) -> CliResult {
    use clientele::backend::CustomerUserSource;
    use clientele::model::keys;
    use clientele::model::search::{FieldSet, UserQuery, parse_term};
    use serde_json::json;

    use crate::attrs::text;
    use crate::error::CliError;
    use crate::output::{Table, json, say};

    let LdapCmd::Test {
        source,
        term,
        login,
        limit,
    } = cmd;
    let sources: Vec<_> = ctx
        .opened
        .ldap
        .iter()
        .filter(|(name, _)| source.as_deref().is_none_or(|s| s == name))
        .collect();
    if sources.is_empty() {
        let names: Vec<&str> = ctx.opened.ldap.iter().map(|(n, _)| n.as_str()).collect();
        return Err(match source {
            Some(s) if !names.is_empty() => CliError::input(format!(
                "no LDAP source is named {s:?}; the LDAP sources are {}",
                names.join(", ")
            )),
            _ => CliError::input("the configuration has no LDAP source")
                .hint("add a [[customer_user]] entry with type = \"ldap\""),
        });
    }
    let mut failed = None;
    let mut reports = Vec::new();
    for (name, backend) in sources {
        let cfg = backend.config();
        let servers = cfg.server_urls().join(", ");
        let bind = cfg.bind_dn.clone().unwrap_or_else(|| "(anonymous)".into());
        if !ctx.json {
            say(format!("LDAP source {name:?}"));
            say(format!("  servers:  {servers}"));
            say(format!(
                "  tls:      {}",
                if cfg.server_urls().iter().any(|u| u.starts_with("ldaps://")) {
                    "ldaps"
                } else if cfg.starttls {
                    "StartTLS"
                } else {
                    "none (plain ldap://)"
                }
            ));
            say(format!("  bind DN:  {bind}"));
            say(format!("  base DN:  {}", cfg.base_dn));
        }
        if let Err(e) = backend.check_connection().await {
            let mut e = CliError::from(e);
            if e.hint.is_none() && e.message.contains("bind") {
                e = e.hint(
                    "check bind_dn and the password (bind_password, or the variable \
                     bind_password_env names)",
                );
            }
            if ctx.json {
                reports.push(json!({ "source": name, "servers": servers, "bind_dn": bind,
                    "connected": false, "error": e.message }));
            } else {
                say(format!("  connect:  FAILED: {}", e.message));
                if let Some(h) = &e.hint {
                    say(format!("  hint:     {h}"));
                }
            }
            failed = Some(e);
            continue;
        }
        if !ctx.json {
            say("  connect:  ok (connected, bound, base DN readable)");
        }
        let settings = backend.settings();
        let (filter, users) = match &login {
            Some(l) => (
                backend.login_filter(l),
                backend.get(l).await?.into_iter().collect::<Vec<_>>(),
            ),
            None => {
                let query = UserQuery {
                    fields: FieldSet::SearchFields {
                        exclude_customer_id: false,
                    },
                    expr: parse_term(&term, &settings.syntax)
                        .map_err(|e| CliError::input(format!("--term {term:?}: {e}")))?,
                    valid_only: false,
                    limit,
                    case_sensitive: settings.case_sensitive,
                };
                (backend.search_filter(&query), backend.search(&query).await?)
            }
        };
        let entries: Vec<_> = users
            .iter()
            .map(|u| {
                let attrs: serde_json::Map<String, serde_json::Value> = settings
                    .map
                    .rows()
                    .iter()
                    .filter(|r| r.key != keys::PASSWORD)
                    .map(|r| (r.key.clone(), json!(text(u.attribute(&r.key)))))
                    .collect();
                json!({ "login": u.login.as_str(), "validity": u.validity, "attributes": attrs })
            })
            .collect();
        if ctx.json {
            reports.push(json!({ "source": name, "servers": servers, "bind_dn": bind,
                "connected": true, "filter": filter, "entries": entries }));
            continue;
        }
        say(format!("  filter:   {filter}"));
        say(format!(
            "  found:    {} entries (showing at most {limit})",
            users.len()
        ));
        for u in &users {
            say(format!("\n  entry {} ({})", u.login, u.validity));
            let mut t = Table::new(["    ATTRIBUTE", "LDAP ATTRIBUTE", "VALUE"]);
            for r in settings.map.rows() {
                if r.key == keys::PASSWORD {
                    continue;
                }
                t.row([
                    format!("    {}", r.key),
                    r.storage.clone(),
                    text(u.attribute(&r.key)),
                ]);
            }
            t.print()?;
        }
        if users.is_empty() {
            say(
                "  no entries: check base_dn, scope, always_filter, group_dn and the search fields",
            );
        }
    }
    if ctx.json {
        json(&reports)?;
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
