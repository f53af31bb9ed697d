//! `clientele init` and `clientele check-config`.

use std::path::Path;

use clientele::config::{Config, CustomerUserConfig, redact_url};
use clientele::db::sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};
use clientele::model::{AttributeMap, StorageType, keys};
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

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// `clientele init`: the migrations ran when the sources were opened; this adds the columns of
/// extra map attributes that the tables lack, creates the search indexes when asked, and
/// reports.
pub async fn init(ctx: &Context, search_indexes: bool) -> CliResult {
    let mut report = Vec::new();
    for (i, (name, db)) in ctx.opened.databases.iter().enumerate() {
        let conn = db.connection();
        let cfg = db.config();
        let mut added = add_missing_columns(conn, &cfg.table, &cfg.settings.map).await?;
        if i == 0 {
            added.extend(
                add_missing_columns(conn, &cfg.company_table, &cfg.company_settings.map).await?,
            );
        }
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

fn identifier(name: &str) -> CliResult<&str> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(name)
    } else {
        Err(CliError::input(format!(
            "{name:?} is not a plain SQL identifier (letters, digits, _); create that column yourself"
        )))
    }
}

fn quote(backend: DatabaseBackend, name: &str) -> String {
    match backend {
        DatabaseBackend::MySql => format!("`{name}`"),
        _ => format!("\"{name}\""),
    }
}

async fn add_missing_columns(
    conn: &DatabaseConnection,
    table: &str,
    map: &AttributeMap,
) -> CliResult<Vec<String>> {
    let backend = conn.get_database_backend();
    let run = |sql: String| conn.execute_raw(Statement::from_string(backend, sql));
    let t = quote(backend, identifier(table)?);
    if run(format!("SELECT 1 FROM {t} WHERE 1 = 0")).await.is_err() {
        return Err(CliError::input(format!(
            "table {table} does not exist and Clientele's migrations don't create it"
        ))
        .hint("create it, or point `table` / `company_table` at an existing table"));
    }
    let mut added = Vec::new();
    for row in map.rows() {
        if row.storage_type == StorageType::DynamicField || row.key == keys::PASSWORD {
            continue;
        }
        let c = quote(backend, identifier(&row.storage)?);
        // Qualified: SQLite reads an unknown bare "name" as a string literal, not an error.
        if run(format!("SELECT {t}.{c} FROM {t} WHERE 1 = 0"))
            .await
            .is_ok()
        {
            continue;
        }
        let ty = match row.storage_type {
            StorageType::Integer => "INTEGER".to_owned(),
            _ => format!("VARCHAR({})", row.effective_max_length()),
        };
        run(format!("ALTER TABLE {t} ADD COLUMN {c} {ty} NULL"))
            .await
            .map_err(|e| {
                CliError::from(clientele::Error::backend(
                    table,
                    format!("adding column {}: {e}", row.storage),
                ))
            })?;
        added.push(format!("{table}.{} {ty} (for {})", row.storage, row.key));
    }
    Ok(added)
}
