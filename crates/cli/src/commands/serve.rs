//! `clientele serve` and `clientele serve token …`

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use clientele::config::Config;
use clientele::web::{self, TokenScope, issue_scoped_token};
use serde_json::json;
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, value};

use super::serve_tokens::ReloadingTokens;
use crate::Context;
use crate::cli::TokenCmd;
use crate::error::{CliError, CliResult};
use crate::output::{Table as Out, json, say};

/// `clientele serve`: the JSON API on the `[web]` section's address until Ctrl-C.
pub async fn serve(ctx: &Context, bind: Option<SocketAddr>) -> CliResult {
    let settings = &ctx.config.web;
    let addr = bind.unwrap_or(settings.bind);
    let scoped = |scope| {
        web::BearerTokens::scoped(&settings.token, scope)
            .map_err(|e| CliError::input(format!("configuration: {e}")))
    };
    let (api, scim) = (scoped(TokenScope::Api)?, scoped(TokenScope::Scim)?);
    // Token changes in the file (`serve token add|revoke`) take effect without a restart, for
    // the JSON API's tokens and for SCIM's alike.
    let config = match &ctx.config_path {
        Some(path) => {
            web::WebConfig::new(ReloadingTokens::new(path, api)).scim(web::scim::ScimConfig::new(
                ReloadingTokens::scoped(path, scim, TokenScope::Scim),
                settings.scim.clone(),
            ))
        }
        None => {
            web::WebConfig::new(api).scim(web::scim::ScimConfig::new(scim, settings.scim.clone()))
        }
    }
    .body_limit(settings.body_limit);
    // One line per request on standard error: method, path, status, actor.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .with_target(false)
        .try_init();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| CliError::input(format!("cannot listen on {addr}: {e}")))?;
    let local = listener.local_addr()?;
    if settings.token.is_empty() {
        eprintln!(
            "note: no bearer token is configured, so every request is refused; \
             `clientele serve token add --actor NAME` creates one, and a running server \
             accepts it within a second"
        );
    }
    if !local.ip().is_loopback() {
        eprintln!(
            "note: listening on {local}, beyond this machine, without TLS; put a TLS reverse \
             proxy in front (docs/web.md)"
        );
    }
    say(format!(
        "listening on http://{local} (OpenAPI document at http://{local}{})",
        web::OPENAPI_PATH
    ));
    let router = web::router(Arc::new(ctx.dir().clone()), config);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    web::serve(listener, router, shutdown).await?;
    Ok(())
}

/// `clientele serve token add|revoke|list`: edits the `[[web.token]]` entries of the
/// configuration file in place (comments and order kept), checking the result still reads.
pub fn token(_config: &Config, path: Option<&Path>, cmd: &TokenCmd, as_json: bool) -> CliResult {
    let path = path.ok_or_else(|| {
        CliError::input(
            "tokens are kept in the configuration file, and there is none (./clientele.toml)",
        )
        .hint("give --config FILE, or create ./clientele.toml with a [[customer_user]] entry")
    })?;
    let text = std::fs::read_to_string(path)?;
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| CliError::input(format!("configuration {}: {e}", path.display())))?;
    match cmd {
        TokenCmd::List => {
            let tokens = stored_tokens(&doc);
            if as_json {
                // `scope` only where it is not the default `api`, as in the file.
                let rows: Vec<_> = tokens
                    .iter()
                    .map(|(id, actor, scope)| {
                        let mut row = json!({ "id": id, "actor": actor });
                        if scope != TokenScope::Api.as_str() {
                            row["scope"] = json!(scope);
                        }
                        row
                    })
                    .collect();
                return json(&rows);
            }
            if tokens.is_empty() {
                say("no tokens; `clientele serve token add --actor NAME` creates one");
                return Ok(());
            }
            let mut t = Out::new(["ID", "ACTOR", "SCOPE"]);
            for (id, actor, scope) in tokens {
                t.row([id, actor, scope]);
            }
            t.print()
        }
        TokenCmd::Add { actor, scim } => {
            let scope = if *scim {
                TokenScope::Scim
            } else {
                TokenScope::Api
            };
            let issued =
                issue_scoped_token(actor, scope).map_err(|e| CliError::input(e.to_string()))?;
            let mut entry = Table::new();
            entry.insert("id", value(issued.stored.id.as_str()));
            entry.insert("actor", value(issued.stored.actor.as_str()));
            entry.insert("sha256", value(issued.stored.sha256.as_str()));
            if scope != TokenScope::Api {
                entry.insert("scope", value(scope.as_str()));
            }
            tokens_mut(&mut doc, path)?.push(entry);
            save(path, &doc)?;
            if as_json {
                return json(&json!({
                    "id": issued.stored.id,
                    "actor": issued.stored.actor,
                    "scope": scope.as_str(),
                    "token": issued.token.as_str(),
                }));
            }
            say(format!(
                "{scope} token {} for actor {:?} added to {}",
                issued.stored.id,
                issued.stored.actor,
                path.display()
            ));
            say(format!(
                "token (shown once, store it now): {}",
                issued.token.as_str()
            ));
            Ok(())
        }
        TokenCmd::Revoke { id, actor } => {
            let tokens = tokens_mut(&mut doc, path)?;
            let before = tokens.len();
            tokens.retain(|t| {
                let field = |k: &str| t.get(k).and_then(Item::as_str).map(str::to_owned);
                let hit = match (id, actor) {
                    (Some(id), _) => field("id").as_deref() == Some(id.as_str()),
                    (None, Some(actor)) => field("actor").as_deref() == Some(actor.as_str()),
                    (None, None) => false,
                };
                !hit
            });
            let removed = before - tokens.len();
            if removed == 0 {
                let what = match (id, actor) {
                    (Some(id), _) => format!("no token has the id {id:?}"),
                    (None, Some(actor)) => format!("no token has the actor {actor:?}"),
                    (None, None) => "give a token id or --actor".to_owned(),
                };
                return Err(CliError::input(what)
                    .hint("`clientele serve token list` shows the tokens' ids and actors"));
            }
            save(path, &doc)?;
            if as_json {
                return json(&json!({ "revoked": removed }));
            }
            say(format!(
                "revoked {removed} token{}; a running `clientele serve` refuses {} within a second",
                if removed == 1 { "" } else { "s" },
                if removed == 1 { "it" } else { "them" }
            ));
            Ok(())
        }
    }
}

/// (id, actor, scope) of each `[[web.token]]` entry.
fn stored_tokens(doc: &DocumentMut) -> Vec<(String, String, String)> {
    let Some(tokens) = doc
        .get("web")
        .and_then(|w| w.get("token"))
        .and_then(Item::as_array_of_tables)
    else {
        return Vec::new();
    };
    tokens
        .iter()
        .map(|t| {
            let field = |k: &str| t.get(k).and_then(Item::as_str).unwrap_or("").to_owned();
            let scope = t.get("scope").and_then(Item::as_str).unwrap_or("api");
            (field("id"), field("actor"), scope.to_owned())
        })
        .collect()
}

/// The `[[web.token]]` array, created (with an implicit `[web]`) when missing.
fn tokens_mut<'d>(doc: &'d mut DocumentMut, path: &Path) -> CliResult<&'d mut ArrayOfTables> {
    let refuse = |what: &str| {
        CliError::input(format!("configuration {}: {what}", path.display()))
            .hint("tokens are [[web.token]] entries with id, actor and sha256")
    };
    let web = doc.entry("web").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let web = web
        .as_table_like_mut()
        .ok_or_else(|| refuse("`web` is not a table"))?;
    let tokens = web
        .entry("token")
        .or_insert(Item::ArrayOfTables(ArrayOfTables::new()));
    if let Some(Array { .. }) = tokens.as_array() {
        return Err(refuse(
            "`web.token` is an inline array; write it as [[web.token]] tables",
        ));
    }
    tokens
        .as_array_of_tables_mut()
        .ok_or_else(|| refuse("`web.token` is not an array of tables"))
}

/// Writes the document after checking it still reads as a configuration.
fn save(path: &Path, doc: &DocumentMut) -> CliResult {
    let text = doc.to_string();
    Config::from_toml_str(&text)?;
    std::fs::write(path, text)?;
    Ok(())
}
