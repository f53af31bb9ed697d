//! Authentication (OTOBO `CustomerAuth`), password changes, generated passwords and one-time
//! tokens.

use clientele_backend::error::{Error, Result};
use clientele_model::{Login, Password, Token, ValidationError, keys};
use clientele_password::{Verification, generate_token};

use crate::{Directory, epoch};

/// Preference holding the failed-login counter (OTOBO `UserLoginFailed`).
pub const PREF_LOGIN_FAILED: &str = "UserLoginFailed";

/// Preference holding the last successful login, epoch seconds (OTOBO `UserLastLogin`).
pub const PREF_LAST_LOGIN: &str = "UserLastLogin";

/// Preference holding the digest of the one-time token (OTOBO `UserToken`).
pub const PREF_TOKEN: &str = "UserToken";

pub(crate) struct AuthOutcome {
    pub(crate) login: Option<Login>,
    pub(crate) known_login: Option<Login>,
    /// The index of the source that owns the login, when it is known.
    pub(crate) slot: Option<usize>,
}

pub(crate) fn token_digest(token: &str) -> String {
    clientele_password::token_digest(token)
}

impl Directory {
    /// Sets a new password (hashed with the current algorithm) in the owning source.
    pub async fn set_password(&self, login: &str, password: &Password) -> Result<()> {
        if password.is_empty() {
            return Err(ValidationError::Required {
                field: keys::PASSWORD.into(),
            }
            .into());
        }
        self.check_password_writable()?;
        self.check_new_password(Some(password))?;
        let (user, i) = self.require(login).await?;
        let slot = &self.inner.slots[i];
        let writer = slot.writer()?.clone();
        let hash = self.hash(password).await?;
        writer.set_password_hash(&user.login, &hash).await?;
        self.user_changed(i, user.login.as_str()).await;
        Ok(())
    }

    /// A new random password of the configured length (OTOBO `GenerateRandomPassword`) that
    /// the password policy accepts.
    pub fn generate_password(&self) -> Result<Password> {
        self.generate_password_within_policy()
    }

    /// Checks a login and password (OTOBO `CustomerAuth`). The owning source decides how: a
    /// stored hash (any OTOBO format; a legacy hash is upgraded on success when configured) or a
    /// bind. Unknown users, wrong passwords, empty passwords and invalid users all get
    /// [`Error::AuthenticationFailed`], after comparable work. Failed attempts are counted in the
    /// `UserLoginFailed` preference; success resets it and records `UserLastLogin`.
    pub async fn authenticate(&self, login: &str, password: &Password) -> Result<Login> {
        let outcome = self.check_credentials(login, password).await?;
        let Some(user_login) = outcome.login else {
            if let (Some(known), Some(slot)) = (outcome.known_login, outcome.slot)
                && let Some(failures) = self.count_failure(known.as_str()).await
            {
                self.lock_after_failures(slot, &known, failures).await;
                self.user_changed(slot, known.as_str()).await;
            }
            return Err(Error::AuthenticationFailed);
        };
        if let Some(p) = &self.inner.preferences {
            p.set_preference(user_login.as_str(), PREF_LOGIN_FAILED, "0")
                .await?;
            p.set_preference(user_login.as_str(), PREF_LAST_LOGIN, &epoch().to_string())
                .await?;
        }
        // The preferences above, and a rehashed password, are writes other instances hear of.
        if let Some(slot) = outcome.slot {
            self.user_changed(slot, user_login.as_str()).await;
        }
        Ok(user_login)
    }

    /// Counts a failed login in `UserLoginFailed`; the count recorded, if it was.
    pub(crate) async fn count_failure(&self, login: &str) -> Option<u64> {
        let Some(p) = &self.inner.preferences else {
            return None;
        };
        let current = match p.preferences(login).await {
            Ok(prefs) => prefs
                .get(PREF_LOGIN_FAILED)
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0),
            Err(_) => return None,
        };
        match p
            .set_preference(login, PREF_LOGIN_FAILED, &(current + 1).to_string())
            .await
        {
            Ok(()) => Some(current + 1),
            Err(e) => {
                tracing::warn!(error = %e, "could not record a failed login");
                None
            }
        }
    }

    pub(crate) async fn check_credentials(
        &self,
        login: &str,
        password: &Password,
    ) -> Result<AuthOutcome> {
        let found = match self.find(login).await {
            // Several stored case variants and none exact: no one logs in with this spelling,
            // and the answer must not tell that the login exists.
            Err(Error::Ambiguous { .. }) => None,
            // A login no user can have (a NUL in it): the same answer as an unknown one.
            Err(Error::Invalid(_)) => None,
            other => other?,
        };
        let Some((user, i)) = found else {
            self.dummy_verify(password).await;
            return Ok(AuthOutcome {
                login: None,
                known_login: None,
                slot: None,
            });
        };
        let fail = |known: Option<Login>| AuthOutcome {
            login: None,
            known_login: known,
            slot: Some(i),
        };
        if password.is_empty() || !user.validity.is_valid() {
            self.dummy_verify(password).await;
            return Ok(fail(Some(user.login.clone())));
        }
        let slot = &self.inner.slots[i];
        if let Some(store) = &slot.source.passwords {
            let Some((stored_login, hash)) = store.password_hash(login).await? else {
                self.dummy_verify(password).await;
                return Ok(fail(Some(user.login.clone())));
            };
            let Some(hash) = hash.filter(|h| !h.is_empty()) else {
                self.dummy_verify(password).await;
                return Ok(fail(Some(user.login.clone())));
            };
            let hasher = self.inner.hasher.clone();
            let (pw, h, l) = (password.clone(), hash.clone(), stored_login.to_string());
            let verdict = tokio::task::spawn_blocking(move || hasher.verify(&h, &l, &pw))
                .await
                .map_err(|e| Error::backend_failure("password verification", e))?;
            return match verdict {
                Verification::Valid { needs_rehash } => {
                    // The hasher decides: legacy formats when upgrading is on, and hashes
                    // made with other algorithms or parameters than the current ones.
                    if needs_rehash && let Ok(writer) = slot.writer() {
                        // A password the configured algorithm cannot take whole (bcrypt's 72
                        // bytes) keeps its old hash: the login itself succeeded.
                        match self.hash(password).await {
                            Ok(new_hash) => {
                                writer.set_password_hash(&stored_login, &new_hash).await?;
                            }
                            Err(e) => tracing::warn!(
                                login = %stored_login,
                                error = %e,
                                "password not rehashed; the stored hash stays"
                            ),
                        }
                    }
                    Ok(AuthOutcome {
                        login: Some(stored_login),
                        known_login: None,
                        slot: Some(i),
                    })
                }
                Verification::Invalid => Ok(fail(Some(user.login.clone()))),
            };
        }
        if let Some(binder) = &slot.source.binder {
            let ok = binder.bind(user.login.as_str(), password).await?;
            return Ok(if ok {
                AuthOutcome {
                    login: Some(user.login.clone()),
                    known_login: None,
                    slot: Some(i),
                }
            } else {
                fail(Some(user.login.clone()))
            });
        }
        self.dummy_verify(password).await;
        Ok(fail(Some(user.login.clone())))
    }

    pub(crate) async fn dummy_verify(&self, password: &Password) {
        let hasher = self.inner.hasher.clone();
        let pw = password.clone();
        // The result is irrelevant; the work keeps unknown users as slow as known ones.
        let _ = tokio::task::spawn_blocking(move || hasher.dummy_verify(&pw)).await;
    }

    /// A new one-time token for the user (OTOBO `TokenGenerate`), e.g. for a password-reset
    /// link. Only a digest is stored; a new token replaces the old one. The [`Token`] never
    /// shows in `Debug` output; [`Token::expose`] gives its text.
    pub async fn generate_token(&self, login: &str) -> Result<Token> {
        let (user, i) = self.require(login).await?;
        let token = Token::new(generate_token());
        self.preference_store()?
            .set_preference(
                user.login.as_str(),
                PREF_TOKEN,
                &token_digest(token.expose()),
            )
            .await?;
        self.user_changed(i, user.login.as_str()).await;
        Ok(token)
    }

    /// Checks and consumes a token (OTOBO `TokenCheck`): `true` once, `false` afterwards and for
    /// any other value. Two concurrent checks of one token cannot both succeed.
    pub async fn check_token(&self, login: &str, token: &str) -> Result<bool> {
        if token.is_empty() {
            return Ok(false);
        }
        let Some((user, i)) = self.find(login).await? else {
            return Ok(false);
        };
        let taken = self
            .preference_store()?
            .take_preference(user.login.as_str(), PREF_TOKEN, &token_digest(token))
            .await?;
        if taken {
            self.user_changed(i, user.login.as_str()).await;
        }
        Ok(taken)
    }
}
