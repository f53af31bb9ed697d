//! `clientele init` and `clientele check-config`.

use std::path::Path;

use clientele::config::{Config, CustomerUserConfig, redact_url};
use serde_json::json;

use crate::Context;
use crate::error::{CliError, CliResult};
use crate::output::{Table, json, say};

/// OTOBO's names of the source slots.
pub fn slot_name(index: usize) -> String {
    if index == 0 {
        "CustomerUser".into()
    } else {
        format!("CustomerUser{index}")
    }
}

fn connection(source: &CustomerUserConfig) -> String {
    match source {
        CustomerUserConfig::Db(db) => match (&db.url, &db.url_env) {
            (Some(u), _) => redact_url(u),
            (None, Some(v)) => format!("${v}"),
            (None, None) => "(none)".into(),
        },
        #[cfg(feature = "ldap")]
        CustomerUserConfig::Ldap(l) => {
            let urls = l.server_urls().join(" ");
            format!("{urls} {}", l.base_dn)
        }
        #[allow(unreachable_patterns)]
        _ => String::new(),
    }
}

/// `clientele check-config`: parses the file (done by the caller) and lists the sources.
pub fn check_config(config: &Config, path: Option<&Path>, as_json: bool) -> CliResult {
    let file = path.map_or(
        "(none: the SQLite default ./clientele.sqlite)".to_owned(),
        |p| p.display().to_string(),
    );
    let sources: Vec<_> = config
        .customer_user
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "slot": slot_name(i),
                "name": s.name(),
                "type": s.kind(),
                "connection": connection(s),
                "read_only": s.settings().read_only,
                "cache_ttl": s.settings().cache_ttl,
                "search_limit": s.settings().search_limit,
            })
        })
        .collect();
    if as_json {
        return json(&json!({
            "file": file,
            "sources": sources,
            "customer_group_support": config.directory.permissions.customer_group_support,
            "dynamic_field_mapping": config.dynamic_field_mapping.enabled,
        }));
    }
    say(format!("configuration: {file}: ok"));
    let mut t = Table::new([
        "SLOT",
        "NAME",
        "TYPE",
        "CONNECTION",
        "READ-ONLY",
        "CACHE TTL",
    ]);
    for (i, s) in config.customer_user.iter().enumerate() {
        t.row([
            slot_name(i),
            s.name().to_owned(),
            s.kind().to_owned(),
            connection(s),
            if s.settings().read_only { "yes" } else { "no" }.to_owned(),
            format!("{} s", s.settings().cache_ttl),
        ]);
    }
    t.print()?;
    say(format!(
        "customer-group support: {}; dynamic-field mapping: {}",
        on_off(config.directory.permissions.customer_group_support),
        on_off(config.dynamic_field_mapping.enabled)
    ));
    Ok(())
}

/// `clientele check-config --stored`: the configuration check, then the stored grants the
/// configuration does not know. They are kept and grant nothing; the command fails (exit 1)
/// while there are any, so a script notices.
pub async fn check_stored(ctx: &Context) -> CliResult {
    let unknown = ctx.dir().unknown_grants().await?;
    if ctx.json {
        json(&json!({
            "file": ctx.config_path.as_ref().map(|p| p.display().to_string()),
            "unknown_grants": unknown,
        }))?;
    } else {
        check_config(&ctx.config, ctx.config_path.as_deref(), false)?;
        if unknown.is_empty() {
            say("stored grants: every permission type and context is configured");
        } else {
            let mut t = Table::new(["GRANTEE", "GROUP ID", "PERMISSION", "CONTEXT"]);
            for g in &unknown.user_grants {
                t.row([
                    format!("user {}", g.login),
                    g.group_id.to_string(),
                    g.permission.to_string(),
                    String::new(),
                ]);
            }
            for g in &unknown.company_grants {
                t.row([
                    format!("company {}", g.customer_id),
                    g.group_id.to_string(),
                    g.permission.to_string(),
                    g.context.to_string(),
                ]);
            }
            say("stored grants the configuration does not know (kept, granting nothing):");
            t.print()?;
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        let n = unknown.user_grants.len() + unknown.company_grants.len();
        Err(CliError::input(format!(
            "{n} stored grant(s) name a permission type or context that is not configured"
        ))
        .hint("add it to [permissions] permission_types or extra_contexts, or remove the grant"))
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// `clientele init`: the migrations ran when the sources were opened; this adds the columns of
/// extra map attributes that the tables lack, creates the search indexes when asked, and
/// reports.
pub async fn init(ctx: &Context, search_indexes: bool) -> CliResult {
    let mut report = Vec::new();
    for (i, (name, db)) in ctx.opened.databases.iter().enumerate() {
        let cfg = db.config();
        // The company table belongs to the first database source.
        let added: Vec<String> = db
            .add_map_columns(i == 0)
            .await?
            .iter()
            .map(ToString::to_string)
            .collect();
        let indexes = if !search_indexes {
            "not requested"
        } else if cfg.table != "customer_user" {
            // The indexes are defined for OTOBO's table; another table keeps its own.
            "skipped: they are made for the table customer_user"
        } else {
            db.enable_search_indexes().await?;
            "ready"
        };
        report.push((name.clone(), added, indexes));
    }
    if ctx.json {
        let sources: Vec<_> = report
            .iter()
            .map(|(name, added, indexes)| {
                json!({ "source": name, "added_columns": added, "search_indexes": indexes })
            })
            .collect();
        return json(&json!({ "schema": "ready", "sources": sources }));
    }
    for (name, added, indexes) in &report {
        say(format!("source {name:?}: schema ready"));
        for column in added {
            say(format!("  added column {column}"));
        }
        if search_indexes {
            say(format!("  search indexes: {indexes}"));
        }
    }
    if report.is_empty() {
        say("no database source configured; nothing to create");
    }
    Ok(())
}
