//! `clientele auth check`

use clientele::model::Password;
use serde_json::json;

use super::read_password;
use crate::Context;
use crate::cli::AuthCmd;
use crate::error::{CliError, CliResult};
use crate::output::{json, say};

pub async fn run(ctx: &Context, cmd: AuthCmd) -> CliResult {
    let AuthCmd::Check { login } = cmd;
    let password = Password::new(read_password("Password: ", false)?);
    match ctx.dir().authenticate(&login, &password).await {
        Ok(stored) => {
            if ctx.json {
                return json(&json!({ "login": stored.as_str(), "authenticated": true }));
            }
            say(format!("authenticated: {stored}"));
            Ok(())
        }
        Err(clientele::Error::AuthenticationFailed) => {
            if ctx.json {
                json(&json!({ "login": login, "authenticated": false }))?;
            }
            Err(CliError::input(format!(
                "authentication of {login:?} failed: unknown user, wrong password or invalid user"
            )))
        }
        Err(e) => Err(e.into()),
    }
}
