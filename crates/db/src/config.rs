//! [`DbConfig`]: where the DB backend finds its tables and columns, and how it connects.

use std::time::Duration;

use clientele_backend::{CompanySettings, Error, SourceSettings};
use clientele_model::{StorageType, keys};
use serde::{Deserialize, Serialize};

/// The configuration of one DB backend: OTOBO's `CustomerUser` `Params` (`Table`, `ForeignDB`),
/// `CustomerKey`, `CustomerID`, `CustomerValid`, the same keys of `CustomerCompany`, the
/// preferences table, and the connection pool.
///
/// Defaults are OTOBO's (reference §1.1, §1.4, §6), so `DbConfig::default()` fits both
/// Clientele's own schema (created by [`migrate`](crate::migrate)) and an untouched OTOBO
/// database. Column names come from the attribute maps in [`settings`](Self::settings) and
/// [`company_settings`](Self::company_settings) and from the key/id/valid fields here: an extra
/// map row such as `UserRoom → room` needs a `room` column and no code.
///
/// ```
/// use clientele_db::DbConfig;
///
/// // An OTOBO table without the audit columns (OTOBO `ForeignDB => 1`) and without validity.
/// let config: DbConfig = serde_json::from_str(r#"{
///     "table": "crm_contacts",
///     "customer_valid": "",
///     "foreign_db": true
/// }"#).unwrap();
/// assert_eq!(config.customer_valid_column(), None);
/// assert_eq!(config.customer_key, "login");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DbConfig {
    /// The customer-user source settings: name, attribute map, field lists, case rule, limits.
    pub settings: SourceSettings,
    /// The company source settings: name, company map, search fields, case rule, limits.
    pub company_settings: CompanySettings,
    /// The customer-user table (OTOBO `Params => { Table }`, default `customer_user`).
    pub table: String,
    /// The login column every lookup uses (OTOBO `CustomerKey`, default `login`).
    pub customer_key: String,
    /// The primary customer-id column (OTOBO `CustomerID`, default `customer_id`).
    pub customer_id_column: String,
    /// The validity column (OTOBO `CustomerValid`, default `valid_id`). `None` or `""` = the
    /// table has no validity: every user counts as valid and nothing is filtered.
    pub customer_valid: Option<String>,
    /// The table has no `create_time`/`create_by`/`change_time`/`change_by` columns (OTOBO
    /// `ForeignDB`). Audit data then reads as absent and optimistic concurrency checks compare
    /// against "no change time".
    pub foreign_db: bool,
    /// The company table (default `customer_company`).
    pub company_table: String,
    /// The company key column (OTOBO `CustomerCompanyKey`, default `customer_id`).
    pub company_key: String,
    /// The company validity column (OTOBO `CustomerCompanyValid`, default `valid_id`); `None`
    /// or `""` = no validity.
    pub company_valid: Option<String>,
    /// The company table has no audit columns (OTOBO `ForeignDB` of `CustomerCompany`).
    pub company_foreign_db: bool,
    /// The preferences table (OTOBO `CustomerPreferences => { Params => { Table } }`).
    pub preferences_table: String,
    /// Its login column (OTOBO `TableUserID`, default `user_id`).
    pub preferences_user_id_column: String,
    /// Its key column (OTOBO `TableKey`, default `preferences_key`).
    pub preferences_key_column: String,
    /// Its value column (OTOBO `TableValue`, default `preferences_value`).
    pub preferences_value_column: String,
    /// The group table: `groups_table` in OTOBO, `groups` in Znuny and OTRS.
    pub groups_table: String,
    /// OTOBO's agent table (`users` in OTOBO, Znuny and OTRS). Where it exists, the audit
    /// columns' foreign keys point at it, so every actor must be an agent it holds: an id
    /// (`--by 2`) or a login (`--by root@localhost`), checked before any write. Where it does
    /// not exist (a database Clientele created), an actor is an id or nobody.
    pub agents_table: String,
    /// The agent id recorded for changes nobody in particular made ([`Actor::System`]: an
    /// import, a script). Default `1`, OTOBO's `root@localhost`.
    ///
    /// [`Actor::System`]: clientele_model::Actor::System
    pub system_agent_id: i32,
    /// The most connections the pool opens (PostgreSQL, MySQL and SQLite files; an in-memory
    /// SQLite database always uses exactly one, since each connection would be a new database).
    pub max_connections: u32,
    /// How long a call waits for a free pooled connection before it fails with
    /// [`Error::Timeout`](clientele_backend::Error::Timeout), in milliseconds.
    pub acquire_timeout_ms: u64,
    /// How long opening a connection may take, in milliseconds. Default 5 000: a server that
    /// does not answer (a wrong host, a firewall dropping packets) is reported after this long
    /// as unavailable, with the URL it was trying (its password hidden); one that refuses or
    /// rejects the login is reported at once with the server's reason. Separate from
    /// [`query_timeout_ms`](Self::query_timeout_ms), which bounds each operation afterwards.
    pub connect_timeout_ms: u64,
    /// How long one operation of the backend (a read, a write with its transaction and
    /// retries, a login's password lookup) may take in all, in milliseconds, before it fails
    /// with [`Error::Timeout`](clientele_backend::Error::Timeout) naming the backend and this
    /// limit. `0` = no limit.
    ///
    /// The pool's timeouts above only cover getting a connection: a server that stops answering
    /// in the middle of a query — a frozen VM, a network partition — would otherwise leave the
    /// caller waiting forever, since the driver has no read timeout. The limit is enforced on the
    /// client, so it also holds when the server cannot cancel anything. A write cut by it may
    /// still have been committed (the reply was lost, not necessarily the commit); it is
    /// reported as a timeout, never as a success.
    pub query_timeout_ms: u64,
    /// SQLite: how long a writer waits for another writer's lock, in milliseconds.
    pub sqlite_busy_timeout_ms: u64,
}

impl Default for DbConfig {
    fn default() -> Self {
        DbConfig {
            settings: SourceSettings::default(),
            company_settings: CompanySettings::default(),
            table: "customer_user".into(),
            customer_key: "login".into(),
            customer_id_column: "customer_id".into(),
            customer_valid: Some("valid_id".into()),
            foreign_db: false,
            company_table: "customer_company".into(),
            company_key: "customer_id".into(),
            company_valid: Some("valid_id".into()),
            company_foreign_db: false,
            preferences_table: "customer_preferences".into(),
            preferences_user_id_column: "user_id".into(),
            preferences_key_column: "preferences_key".into(),
            preferences_value_column: "preferences_value".into(),
            groups_table: "groups_table".into(),
            agents_table: "users".into(),
            system_agent_id: 1,
            max_connections: 10,
            acquire_timeout_ms: 30_000,
            connect_timeout_ms: 5_000,
            query_timeout_ms: 30_000,
            sqlite_busy_timeout_ms: 5_000,
        }
    }
}

impl DbConfig {
    /// The customer-user validity column, if there is one.
    pub fn customer_valid_column(&self) -> Option<&str> {
        self.customer_valid.as_deref().filter(|c| !c.is_empty())
    }

    /// The company validity column, if there is one.
    pub fn company_valid_column(&self) -> Option<&str> {
        self.company_valid.as_deref().filter(|c| !c.is_empty())
    }

    /// The acquire timeout as a [`Duration`].
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms)
    }

    /// The query timeout as a [`Duration`], or `None` for `query_timeout_ms = 0` (no limit).
    pub fn query_timeout(&self) -> Option<Duration> {
        (self.query_timeout_ms > 0).then(|| Duration::from_millis(self.query_timeout_ms))
    }

    /// Refuses a configuration the backend cannot work with, saying what to fix.
    pub fn check(&self) -> Result<(), Error> {
        let named = [
            ("table", &self.table),
            ("customer_key", &self.customer_key),
            ("customer_id_column", &self.customer_id_column),
            ("company_table", &self.company_table),
            ("company_key", &self.company_key),
            ("preferences_table", &self.preferences_table),
            (
                "preferences_user_id_column",
                &self.preferences_user_id_column,
            ),
            ("preferences_key_column", &self.preferences_key_column),
            ("preferences_value_column", &self.preferences_value_column),
            ("groups_table", &self.groups_table),
            ("agents_table", &self.agents_table),
        ];
        if self.system_agent_id < 1 {
            return Err(Error::Config(format!(
                "db backend: system_agent_id = {} is not an agent id (1 or more; OTOBO's \
                 root@localhost is 1)",
                self.system_agent_id
            )));
        }
        for (field, value) in named {
            if value.trim().is_empty() {
                return Err(Error::Config(format!(
                    "db backend: `{field}` must name a table or column"
                )));
            }
        }
        // OTOBO: "note: Login, Email and CustomerID needed!"
        for key in [keys::LOGIN, keys::EMAIL, keys::CUSTOMER_ID] {
            match self.settings.map.by_key(key) {
                Some(row) if row.storage_type != StorageType::DynamicField => {}
                Some(_) => {
                    return Err(Error::Config(format!(
                        "db backend {:?}: map row {key} must be a column, not a dynamic field",
                        self.settings.name
                    )));
                }
                None => {
                    return Err(Error::Config(format!(
                        "db backend {:?}: the attribute map needs a {key} row",
                        self.settings.name
                    )));
                }
            }
        }
        if self.company_settings.map.by_key(keys::COMPANY_ID).is_none() {
            return Err(Error::Config(format!(
                "db backend {:?}: the company map needs a {} row",
                self.company_settings.name,
                keys::COMPANY_ID
            )));
        }
        if self.max_connections == 0 {
            return Err(Error::Config(
                "db backend: `max_connections` must be at least 1".into(),
            ));
        }
        Ok(())
    }
}
