//! The command line's errors and exit codes: 1 for bad input (validation, not found, parse
//! errors, a bad configuration), 2 when a backend is unavailable or failed.

use std::fmt;

use clientele::{ConfigError, Error};

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code for bad input: validation, not found, already exists, read-only, parse errors.
pub const EXIT_INPUT: u8 = 1;
/// Exit code for a backend that is unavailable, timed out or failed.
pub const EXIT_BACKEND: u8 = 2;

/// An error to report, with its exit code and, when known, what to do about it.
#[derive(Debug)]
pub struct CliError {
    /// [`EXIT_INPUT`] or [`EXIT_BACKEND`].
    pub code: u8,
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// Nothing to report: the reader of standard output went away (`clientele … | head`).
    pub quiet: bool,
}

impl CliError {
    /// Bad input.
    pub fn input(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_INPUT,
            message: message.into(),
            hint: None,
            quiet: false,
        }
    }

    /// A database that cannot be used as configured (exit code [`EXIT_BACKEND`], as a server
    /// that does not answer).
    pub fn unavailable(message: impl Into<String>) -> Self {
        CliError {
            code: EXIT_BACKEND,
            ..CliError::input(message)
        }
    }

    /// Standard output was closed by its reader: stop, report nothing, exit 0.
    pub fn closed_output() -> Self {
        CliError {
            code: EXIT_OK,
            message: String::new(),
            hint: None,
            quiet: true,
        }
    }

    /// The error as `--json` reports it on standard error.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": {
                "message": self.message,
                "hint": self.hint,
                "exit_code": self.code,
            }
        })
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// The exit code an error of the library maps to.
pub fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Unavailable { .. } | Error::Timeout { .. } | Error::Backend { .. } => EXIT_BACKEND,
        _ => EXIT_INPUT,
    }
}

fn hint_for(e: &Error) -> Option<String> {
    let text = e.to_string().to_lowercase();
    match e {
        Error::Backend { .. }
            if text.contains("no such table")
                || text.contains("doesn't exist")
                || text.contains("does not exist") =>
        {
            Some("the schema is missing or incomplete; run `clientele init` first".into())
        }
        Error::Backend { .. }
            if text.contains("no such column") || text.contains("unknown column") =>
        {
            Some(
                "a column of the attribute map is missing in the table; `clientele init` adds the \
             columns of extra map attributes"
                    .into(),
            )
        }
        Error::Unavailable { .. } | Error::Timeout { .. } => Some(
            "check that the server is running and reachable, and the url (or the variable url_env \
             names) in the configuration"
                .into(),
        ),
        Error::ReadOnly { .. } => Some(
            "this source is read-only (LDAP sources always are); change the user in the directory \
             itself, or set read_only = false for a database source"
                .into(),
        ),
        Error::Invalid(v) if v.to_string().contains("add the company first") => {
            Some("add it with `clientele company add <ID> --name <NAME>`".into())
        }
        _ => None,
    }
}

impl From<Error> for CliError {
    fn from(e: Error) -> Self {
        if let Error::Backend { source, .. } = &e
            && let Some(refused) = source.downcast_ref::<clientele::db::MigrationRefused>()
        {
            // The rows are the problem, not the database: bad input, with every row named.
            return CliError::input(format!("init refused: {refused}")).hint(
                "`clientele init --plan` lists every row that stops it and everything init would \
                 add; nothing was changed",
            );
        }
        let mut message = e.to_string();
        // Keep the driver's reason visible: Display of the wrapper may omit the source chain.
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            let text = s.to_string();
            if !message.contains(&text) {
                message.push_str(": ");
                message.push_str(&text);
            }
            source = s.source();
        }
        CliError {
            code: exit_code(&e),
            hint: hint_for(&e),
            message,
            quiet: false,
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        CliError::input(format!("configuration: {e}")).hint(
            "docs/configuration.md lists every key; examples/clientele.toml is a full example",
        )
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return CliError::closed_output();
        }
        CliError::input(format!("I/O error: {e}"))
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> Self {
        if e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe) {
            return CliError::closed_output();
        }
        CliError::input(format!("JSON: {e}"))
    }
}

impl From<csv::Error> for CliError {
    fn from(e: csv::Error) -> Self {
        if let csv::ErrorKind::Io(io) = e.kind()
            && io.kind() == std::io::ErrorKind::BrokenPipe
        {
            return CliError::closed_output();
        }
        CliError::input(format!("CSV: {e}"))
    }
}

/// The result type of the commands.
pub type CliResult<T = ()> = Result<T, CliError>;
