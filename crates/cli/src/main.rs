//! `clientele`: the admin command line of Clientele — what OTOBO's console commands and admin
//! screens do for customer users, companies, groups and services, plus CSV / JSON Lines import
//! and export. See `clientele --help` and crates/cli/README.md.
#![forbid(unsafe_code)]

mod attrs;
mod cli;
mod commands;
mod error;
mod output;
mod transfer;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use clientele::config::{Config, OpenOptions, Opened};

use crate::cli::{Cli, Command};
use crate::error::{CliError, CliResult, EXIT_INPUT, EXIT_OK};

/// What every command gets: the configuration, the opened directory and the global options.
pub struct Context {
    /// The configuration in use.
    pub config: Config,
    /// The file it came from (`None`: the SQLite default).
    pub config_path: Option<PathBuf>,
    /// Everything `open` built.
    pub opened: Opened,
    /// `--json`.
    pub json: bool,
    /// `--by`.
    pub by: String,
}

impl Context {
    /// The Directory.
    pub fn dir(&self) -> &clientele::Directory {
        &self.opened.directory
    }
}

/// The SQLite database used when there is no configuration file.
const DEFAULT_DATABASE: &str = "clientele.sqlite";

fn load_config(cli: &Cli) -> CliResult<(Config, Option<PathBuf>)> {
    match &cli.config {
        Some(path) => {
            if !path.exists() {
                return Err(CliError::input(format!(
                    "configuration file {} does not exist",
                    path.display()
                ))
                .hint("check --config / $CLIENTELE_CONFIG, or leave both unset to use ./clientele.toml"));
            }
            Ok((Config::from_path(path)?, Some(path.clone())))
        }
        None => {
            let default = PathBuf::from("clientele.toml");
            if default.exists() {
                return Ok((Config::from_path(&default)?, Some(default)));
            }
            // The local SQLite database is created by `init` only: any other command on a
            // directory without it would leave an empty file behind and then fail.
            let database = PathBuf::from(DEFAULT_DATABASE);
            let creates = matches!(cli.command, Command::Init { plan: false, .. });
            let connects = !matches!(cli.command, Command::CheckConfig { stored: false });
            if connects && !creates && !database.exists() {
                return Err(CliError::unavailable(format!(
                    "no configuration file (./clientele.toml) and no local database \
                     (./{DEFAULT_DATABASE})"
                ))
                .hint(
                    "run `clientele init` to create the local SQLite database, or give --config",
                ));
            }
            Ok((Config::sqlite_file(DEFAULT_DATABASE), None))
        }
    }
}

/// A command other than `init` on a configured SQLite file that does not exist: stop before
/// the driver creates an empty file, and say how to create the database. `init --plan` opens
/// the database as `init` would (an empty file is created) and writes nothing in it.
fn check_databases_exist(cli: &Cli, config: &Config) -> CliResult {
    let creates = matches!(cli.command, Command::Init { .. });
    let connects = !matches!(cli.command, Command::CheckConfig { stored: false });
    if creates || !connects {
        return Ok(());
    }
    match config.missing_sqlite_files().into_iter().next() {
        None => Ok(()),
        Some((source, file)) => Err(CliError::unavailable(format!(
            "source {source:?} is unavailable: the SQLite database {} does not exist",
            file.display()
        ))
        .hint("run `clientele init` to create it (with its schema), or fix the source's url")),
    }
}

/// Whether `--json` is among the arguments (before a `--`), for reporting a usage error clap
/// found before it parsed anything.
fn json_requested() -> bool {
    std::env::args()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

async fn run(cli: Cli) -> CliResult {
    let (config, config_path) = load_config(&cli)?;
    #[cfg(feature = "web")]
    if let Command::Serve(cli::ServeArgs {
        command: Some(cli::ServeCmd::Token(cmd)),
        ..
    }) = &cli.command
    {
        // Tokens live in the configuration file: nothing needs the sources.
        return commands::serve::token(&config, config_path.as_deref(), cmd, cli.json);
    }
    check_databases_exist(&cli, &config)?;
    if let Command::CheckConfig { stored: false } = cli.command {
        return commands::init::check_config(&config, config_path.as_deref(), cli.json);
    }
    let migrate = matches!(cli.command, Command::Init { plan: false, .. });
    let opened = if let Command::Init { plan: true, .. } = cli.command {
        // A plan changes nothing and needs nothing `init` would create: the change feed,
        // which needs the change log, stays off.
        let mut unmigrated = config.clone();
        unmigrated.change_feed = None;
        unmigrated.open_with(OpenOptions { migrate: false }).await?
    } else {
        config.open_with(OpenOptions { migrate }).await?
    };
    let ctx = Context {
        config,
        config_path,
        opened,
        json: cli.json,
        by: cli.by,
    };
    match cli.command {
        Command::Init {
            search_indexes,
            plan: false,
        } => commands::init::init(&ctx, search_indexes).await,
        Command::Init {
            search_indexes,
            plan: true,
        } => commands::init::plan(&ctx, search_indexes).await,
        Command::CheckConfig { .. } => commands::init::check_stored(&ctx).await,
        Command::Company(c) => commands::company::run(&ctx, c).await,
        Command::User(c) => commands::user::run(&ctx, c).await,
        Command::Group(c) => commands::group::run(&ctx, c).await,
        Command::Service(c) => commands::service::run(&ctx, c).await,
        Command::Auth(c) => commands::auth::run(&ctx, c).await,
        Command::Ldap(c) => commands::ldap::run(&ctx, c).await,
        Command::Import(a) => transfer::import(&ctx, a).await,
        Command::Export(a) => transfer::export(&ctx, a).await,
        #[cfg(feature = "web")]
        Command::Serve(a) => commands::serve::serve(&ctx, a.bind).await,
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap's own exit code for usage errors is 2, which here means "backend unavailable".
            let code = if e.use_stderr() { EXIT_INPUT } else { EXIT_OK };
            if e.use_stderr() && json_requested() {
                let text = e.render().to_string();
                let message = text.trim().trim_start_matches("error: ");
                let (message, hint) = match message.split_once("\n\n") {
                    Some((what, usage)) => (what, Some(usage.trim())),
                    None => (message, None),
                };
                let mut error = CliError::input(message);
                error.hint = hint.map(str::to_owned);
                eprintln!("{}", error.to_json());
            } else {
                let _ = e.print();
            }
            return ExitCode::from(code);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(error::EXIT_BACKEND);
        }
    };
    let as_json = cli.json;
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) if e.quiet => ExitCode::from(e.code),
        Err(e) if as_json => {
            eprintln!("{}", e.to_json());
            ExitCode::from(e.code)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.code)
        }
    }
}
