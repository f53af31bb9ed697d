//! Per-user preferences (OTOBO `customer_preferences`), with OTOBO's protected keys.

use std::collections::BTreeMap;

use clientele_backend::error::{Error, Result};
use clientele_model::{Login, ValidationError, keys};
use serde::Serialize;

use crate::Directory;
use crate::auth::PREF_TOKEN;

/// Preference keys that can't be set through preferences (OTOBO's blacklist, reference §2.15):
/// they are user data, and changing them there would bypass validation.
pub const PROTECTED_PREFERENCE_KEYS: [&str; 23] = [
    keys::USER_ID,
    keys::LOGIN,
    keys::PASSWORD,
    keys::FIRST_NAME,
    keys::LAST_NAME,
    keys::FULLNAME,
    keys::STREET,
    keys::CITY,
    keys::ZIP,
    keys::COUNTRY,
    keys::COMMENT,
    keys::CUSTOMER_ID,
    keys::TITLE,
    keys::EMAIL,
    keys::CHANGE_TIME,
    keys::CHANGE_BY,
    keys::CREATE_TIME,
    keys::CREATE_BY,
    keys::PHONE,
    keys::MOBILE,
    keys::FAX,
    keys::MAIL_STRING,
    keys::VALID,
];

pub(crate) fn check_preference(key: &str, value: &str) -> Result<()> {
    let bad = |field: &str, reason: &str| -> Error {
        ValidationError::Invalid {
            field: field.into(),
            value: String::new(),
            reason: reason.into(),
        }
        .into()
    };
    if key.is_empty() {
        return Err(ValidationError::Required {
            field: "preferences_key".into(),
        }
        .into());
    }
    if key.chars().count() > clientele_model::limits::PREFERENCE_KEY
        || key.chars().any(char::is_control)
    {
        return Err(bad(
            "preferences_key",
            "at most 150 characters, no control characters",
        ));
    }
    if value.chars().count() > clientele_model::limits::PREFERENCE_VALUE || value.contains('\0') {
        return Err(bad(
            key,
            "a preference value has at most 250 characters and no NUL",
        ));
    }
    Ok(())
}

impl Directory {
    /// All preferences of a user (the user must exist).
    pub async fn preferences(&self, login: &str) -> Result<BTreeMap<String, String>> {
        let (user, _) = self.require(login).await?;
        self.preference_store()?
            .preferences(user.login.as_str())
            .await
    }

    /// Sets a preference. Works for users of read-only sources too; protected keys (login,
    /// email, validity, …) are refused with an error naming the key.
    pub async fn set_preference(&self, login: &str, key: &str, value: &str) -> Result<()> {
        check_preference(key, value)?;
        if PROTECTED_PREFERENCE_KEYS.contains(&key) || key == PREF_TOKEN {
            return Err(ValidationError::Invalid {
                field: key.into(),
                value: String::new(),
                reason: "this key is user data or security state and can't be set as a preference"
                    .into(),
            }
            .into());
        }
        let (user, i) = self.require(login).await?;
        self.preference_store()?
            .set_preference(user.login.as_str(), key, value)
            .await?;
        self.user_changed(i, user.login.as_str()).await;
        Ok(())
    }

    /// Removes a preference.
    pub async fn delete_preference(&self, login: &str, key: &str) -> Result<()> {
        let (user, i) = self.require(login).await?;
        self.preference_store()?
            .delete_preference(user.login.as_str(), key)
            .await?;
        self.user_changed(i, user.login.as_str()).await;
        Ok(())
    }
}

/// A user whose preference matched a search ([`Directory::users_with_preference`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PreferenceMatch {
    /// The login the preference is stored under.
    pub login: Login,
    /// The preference's value.
    pub value: String,
}

impl Directory {
    /// The users whose preference `key` equals `value` exactly, or who have `key` at all when
    /// `value` is `None` (OTOBO `SearchPreferences`, which passes the value to `LIKE`: there a
    /// `%` in it is a wildcard, here it is literal). Sorted by login. The one-time token can't be
    /// searched for: the error names its key.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use clientele_backend::InMemoryBackend;
    /// use clientele_directory::Directory;
    /// use clientele_model::{NewCustomerCompany, NewCustomerUser};
    ///
    /// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
    /// dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "admin").await?;
    /// dir.add_customer_user(
    ///     NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"),
    ///     "admin",
    /// )
    /// .await?;
    /// dir.set_preference("jdoe", "UserLanguage", "de").await?;
    /// let found = dir.users_with_preference("UserLanguage", Some("de")).await?;
    /// assert_eq!(found[0].login.as_str(), "jdoe");
    /// assert!(dir.users_with_preference("UserLanguage", Some("fr")).await?.is_empty());
    /// # Ok::<(), clientele_backend::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn users_with_preference(
        &self,
        key: &str,
        value: Option<&str>,
    ) -> Result<Vec<PreferenceMatch>> {
        check_preference(key, value.unwrap_or_default())?;
        if key == PREF_TOKEN {
            return Err(ValidationError::Invalid {
                field: key.into(),
                value: String::new(),
                reason: "the one-time token is security state and can't be searched for".into(),
            }
            .into());
        }
        let mut found: Vec<PreferenceMatch> = self
            .preference_store()?
            .search_preferences(key, value)
            .await?
            .into_iter()
            .map(|(login, value)| PreferenceMatch {
                login: Login::from_stored(login),
                value,
            })
            .collect();
        clientele_model::search::sort_by_login(&mut found, |m| m.login.as_str());
        Ok(found)
    }
}
