//! `clientele init`, `clientele init --plan` and `clientele check-config`.

use std::path::Path;

use clientele::config::{Config, CustomerUserConfig, redact_url};
use clientele::db::{
    MigrateOptions, MigrationPlan, PlannedObject, plan_migration, search_index_statements,
    trigram_index_problems,
};
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

/// `clientele init`: the migrations ran when the sources were opened (for coexistence with
/// OTOBO when `[otobo] coexist = true`); this adds the columns of extra map attributes that the
/// tables lack, creates the search indexes when asked, and reports what changed.
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
    let migrations = &ctx.opened.migrations;
    if ctx.json {
        let sources: Vec<_> = report
            .iter()
            .map(|(name, added, indexes)| {
                json!({ "source": name, "added_columns": added, "search_indexes": indexes })
            })
            .collect();
        let migrations: Vec<_> = migrations
            .iter()
            .map(|(name, plan)| json!({ "source": name, "done": plan }))
            .collect();
        return json(&json!({ "schema": "ready", "sources": sources, "migrations": migrations }));
    }
    for (name, added, indexes) in &report {
        say(format!("source {name:?}: schema ready"));
        if let Some((_, plan)) = migrations.iter().find(|(n, _)| n == name) {
            for m in plan.merges() {
                say(format!(
                    "  merged {} duplicate row(s) of {} into one: {}",
                    m.dropped.len() + 1,
                    m.table,
                    m.kept
                ));
            }
            // The objects with statements of their own: a new table's columns and keys come
            // with it.
            for o in plan.objects().filter(|o| !o.sql.is_empty()) {
                say(format!("  {o}"));
            }
        }
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

/// A statement as the plan prints it for people: on one line, long ones cut (`--json` has
/// them whole).
fn statement_line(sql: &str) -> String {
    const MAX: usize = 160;
    let one_line = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= MAX {
        return one_line;
    }
    let cut: String = one_line.chars().take(MAX).collect();
    format!(
        "{cut} … ({} characters; --json shows it whole)",
        one_line.chars().count()
    )
}

/// `clientele init --plan`: what `init` would do to each database, changing nothing — the
/// objects it would add or drop with their statements, the duplicate rows it would merge, the
/// columns of extra map attributes, and the rows that would make it refuse (then exit code 1).
pub async fn plan(ctx: &Context, search_indexes: bool) -> CliResult {
    let options = MigrateOptions {
        coexist: ctx.config.directory.otobo.coexist,
    };
    let urls: Vec<Option<String>> = ctx
        .config
        .customer_user
        .iter()
        .filter_map(|s| match s {
            CustomerUserConfig::Db(db) => Some(db.resolved_url().ok()),
            #[allow(unreachable_patterns)]
            _ => None,
        })
        .collect();
    let mut planned: Vec<SourcePlan> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, (name, db)) in ctx.opened.databases.iter().enumerate() {
        // Sources sharing a database share its migrations: planned once.
        let url = urls.get(i).cloned().flatten();
        let first = match &url {
            Some(u) if seen.contains(u) => false,
            Some(u) => {
                seen.push(u.clone());
                true
            }
            None => true,
        };
        let migration = if first {
            Some(plan_migration(db.connection(), options).await?)
        } else {
            None
        };
        let columns = db.plan_map_columns(i == 0).await?;
        let (indexes, index_problems) = if search_indexes && db.config().table == "customer_user" {
            (
                search_index_statements(db.connection().get_database_backend()),
                // MySQL/MariaDB: what the trigram index's triggers need of the account.
                trigram_index_problems(db.connection()).await?,
            )
        } else {
            (Vec::new(), Vec::new())
        };
        planned.push(SourcePlan {
            name: name.clone(),
            migration,
            columns,
            indexes,
            index_problems,
        });
    }
    let conflicts: usize = planned
        .iter()
        .filter_map(|p| p.migration.as_ref())
        .map(|m| m.conflicts.len())
        .sum();
    let index_problems: usize = planned.iter().map(|p| p.index_problems.len()).sum();
    if ctx.json {
        let sources: Vec<_> = planned
            .iter()
            .map(|p| {
                json!({
                    "source": p.name,
                    "migrations": p.migration,
                    "map_columns": p.columns,
                    "search_indexes": if search_indexes { Some(&p.indexes) } else { None },
                    "search_index_problems": if search_indexes { Some(&p.index_problems) } else { None },
                })
            })
            .collect();
        json(&json!({
            "coexist": options.coexist,
            "refused": conflicts > 0 || index_problems > 0,
            "sources": sources
        }))?;
    } else {
        for p in &planned {
            say_plan(p, search_indexes);
        }
        if planned.is_empty() {
            say("no database source configured; nothing to plan");
        }
    }
    if conflicts == 0 && index_problems > 0 {
        return Err(CliError::input(format!(
            "init --search-indexes would refuse and change nothing: {index_problems} missing \
             privilege(s) or setting(s) (listed above)"
        ))
        .hint(
            "grant the TRIGGER privilege on the database (and, with binary logging on, SUPER or \
             log_bin_trust_function_creators = 1), or run init without --search-indexes",
        ));
    }
    if conflicts > 0 {
        return Err(CliError::input(format!(
            "init would refuse and change nothing: {conflicts} set(s) of rows stop it (listed above)"
        ))
        .hint(
            "keep one row of each set (rename or delete the others) and run `clientele init --plan` \
             again; if OTOBO keeps running on this database, set [otobo] coexist = true instead",
        ));
    }
    Ok(())
}

/// What `init` would do for one source.
struct SourcePlan {
    name: String,
    /// The migrations' plan; `None` for a source whose database an earlier source shares.
    migration: Option<MigrationPlan>,
    /// The columns of extra map rows.
    columns: Vec<PlannedObject>,
    /// The search-index statements, when asked for.
    indexes: Vec<String>,
    /// What keeps the account from creating them (MySQL/MariaDB: the TRIGGER privilege, and
    /// with binary logging on SUPER or `log_bin_trust_function_creators`).
    index_problems: Vec<String>,
}

fn say_plan(p: &SourcePlan, search_indexes: bool) {
    let (name, columns, indexes) = (&p.name, &p.columns, &p.indexes);
    let mut nothing = true;
    match &p.migration {
        Some(plan) => {
            say(format!(
                "source {name:?} ({}, {}): init would",
                plan.database,
                if plan.coexist {
                    "beside a running OTOBO: nothing on OTOBO's tables"
                } else {
                    "without coexistence"
                }
            ));
            for step in &plan.steps {
                nothing = false;
                say(format!("  {} — {}", step.name, step.about));
                for m in &step.merges {
                    say(format!(
                        "    merge {} identical row(s) of {} into one (for {}): keep {}",
                        m.dropped.len() + 1,
                        m.table,
                        m.index,
                        m.kept
                    ));
                    for d in &m.dropped {
                        say(format!("      drop {d}"));
                    }
                    for sql in &m.sql {
                        say(format!("        {}", statement_line(sql)));
                    }
                }
                for o in &step.objects {
                    say(format!("    {o}"));
                    for sql in &o.sql {
                        say(format!("        {}", statement_line(sql)));
                    }
                }
            }
            if !plan.conflicts.is_empty() {
                nothing = false;
                say("  and it refuses, changing nothing, while these rows are there:");
                for c in &plan.conflicts {
                    say(format!("    {c}"));
                }
            }
        }
        None => say(format!(
            "source {name:?}: its database is an earlier source's (planned there); init would"
        )),
    }
    if !columns.is_empty() {
        nothing = false;
        say("  map columns — a column for each extra attribute of the map");
        for o in columns {
            say(format!("    {o}"));
            for sql in &o.sql {
                say(format!("        {}", statement_line(sql)));
            }
        }
    }
    if search_indexes {
        if indexes.is_empty() {
            say("  search indexes: skipped, they are made for the table customer_user");
        } else {
            nothing = false;
            say("  search indexes — these statements, each only where its object is missing:");
            for sql in indexes {
                say(format!("        {}", statement_line(sql)));
            }
            if p.index_problems.is_empty() {
                if indexes.iter().any(|s| s.contains("CREATE TRIGGER")) {
                    say("    privileges: the account may create the trigram index's triggers");
                }
            } else {
                say("  and init --search-indexes refuses, changing nothing, while:");
                for problem in &p.index_problems {
                    say(format!("    {problem}"));
                }
            }
        }
    }
    if nothing {
        say("  change nothing: the schema is ready");
    }
}
