//! One module per command group.

pub mod auth;
pub mod catalog;
pub mod company;
pub mod group;
pub mod init;
pub mod ldap;
#[cfg(feature = "web")]
pub mod serve;
#[cfg(feature = "web")]
pub mod serve_tokens;
pub mod service;
pub mod user;

use std::io::{BufRead, IsTerminal};

use crate::error::{CliError, CliResult};

/// Reads a password without putting it on the command line: a prompt without echo on a
/// terminal (asked twice when `confirm`), else the first line of standard input.
pub fn read_password(prompt: &str, confirm: bool) -> CliResult<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt)?;
        if confirm {
            let again = rpassword::prompt_password("Again: ")?;
            if again != first {
                return Err(CliError::input(
                    "the two passwords differ; nothing was changed",
                ));
            }
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    };
    if password.is_empty() {
        return Err(CliError::input(
            "empty password; type one at the prompt or pipe it on standard input",
        ));
    }
    Ok(password)
}
