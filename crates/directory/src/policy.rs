//! The password policy ([`PasswordPolicy`], `[password_policy]`): new passwords checked
//! against its rules, and a user set `invalid-temporarily` after too many failed logins in a
//! row (OTOBO `PasswordMaxLoginFailed`).

use clientele_backend::error::{Error, Result};
use clientele_model::{Actor, Login, Password, PasswordPolicy, Validity};
use clientele_password::generate_password;

use crate::Directory;
use crate::auth::PREF_LOGIN_FAILED;

/// How many generated passwords are drawn before giving up on one the policy accepts. A
/// 16-character alphanumeric password breaks an all-on policy about one time in twelve, so
/// this is never reached with a length the configuration check allows.
const GENERATION_TRIES: usize = 64;

impl Directory {
    /// The password policy in force.
    pub fn password_policy(&self) -> &PasswordPolicy {
        &self.inner.config.password_policy
    }

    /// Checks a password an add, an update or a password change is about to store: blank
    /// ones are left to the caller (a generated password, or none).
    pub(crate) fn check_new_password(&self, password: Option<&Password>) -> Result<()> {
        match password {
            Some(p) if !p.is_empty() => Ok(self.password_policy().check(p)?),
            _ => Ok(()),
        }
    }

    /// A generated password the policy accepts, of the configured length.
    pub(crate) fn generate_password_within_policy(&self) -> Result<Password> {
        let length = self.inner.hasher.config().generated_length;
        let policy = self.password_policy();
        if length < policy.min_size {
            return Err(Error::Config(format!(
                "passwords: generated_length {length} is below [password_policy] min_size {}; \
                 generated passwords would break the policy",
                policy.min_size
            )));
        }
        for _ in 0..GENERATION_TRIES {
            let password =
                generate_password(length).map_err(|e| Error::Config(format!("passwords: {e}")))?;
            if policy.check(&password).is_ok() {
                return Ok(password);
            }
        }
        Err(Error::Config(format!(
            "passwords: no generated password of {length} characters met [password_policy] \
             in {GENERATION_TRIES} tries; raise generated_length"
        )))
    }

    /// After a failed login that brought the user's `UserLoginFailed` counter to `failures`:
    /// when that reaches `max_login_failed`, a valid user is set `invalid-temporarily` in the
    /// source that owns it (OTOBO's `CustomerAuth`) and the counter starts over, so a user an
    /// administrator sets valid again gets the whole number of attempts again.
    ///
    /// A read-only source (LDAP) cannot take the validity: the user stays as the source says,
    /// the counter keeps counting, and a warning is logged; lock such accounts in the source
    /// itself (an LDAP server's password policy).
    pub(crate) async fn lock_after_failures(&self, slot: usize, login: &Login, failures: u64) {
        if !self.password_policy().locks_after(failures) {
            return;
        }
        let source = &self.inner.slots[slot];
        if let Err(e) = source.writer() {
            tracing::warn!(
                login = %login,
                failures,
                error = %e,
                "too many failed logins, but the source is read-only: the user stays valid"
            );
            return;
        }
        match self.find(login.as_str()).await {
            Ok(Some((user, _))) if user.validity == Validity::Valid => {}
            _ => return,
        }
        match self
            .set_validity(login.as_str(), Validity::InvalidTemporarily, Actor::System)
            .await
        {
            Ok(_) => {
                tracing::warn!(
                    login = %login,
                    failures,
                    "too many failed logins: the user is now invalid-temporarily"
                );
                if let Some(p) = &self.inner.preferences
                    && let Err(e) = p
                        .set_preference(login.as_str(), PREF_LOGIN_FAILED, "0")
                        .await
                {
                    tracing::warn!(login = %login, error = %e, "failed-login counter not reset");
                }
            }
            Err(e) => tracing::warn!(
                login = %login,
                failures,
                error = %e,
                "too many failed logins, but the user could not be set invalid-temporarily"
            ),
        }
    }
}
