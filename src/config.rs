//! The configuration of a whole installation — OTOBO's `Kernel/Config.pm` for the customer-user
//! subsystem — as one TOML file or the same structs built in Rust, and [`open`], which connects
//! everything it describes and returns a ready [`Directory`](crate::Directory).
//!
//! ```toml
//! # overall Directory settings (optional)
//! overall_search_limit = 1000
//!
//! [[customer_user]]                 # OTOBO CustomerUser: the first source
//! type = "db"                       # must be the entry's first key: "db" or "ldap"
//! url = "sqlite://clientele.sqlite?mode=rwc"   # or url_env = "CLIENTELE_DATABASE_URL"
//! table = "customer_user"           # every clientele_db::DbConfig key may follow
//!
//! [customer_user.settings]          # clientele_backend::SourceSettings
//! name = "Database Backend"
//! cache_ttl = 86400
//!
//! [customer_company]                # clientele_backend::CompanySettings
//! search_limit = 250
//!
//! [permissions]                     # clientele_permissions::PermissionConfig
//! customer_group_support = true
//!
//! [passwords]                       # clientele_password::PasswordConfig
//! [email_check]                     # clientele_model::EmailCheckConfig
//! [dynamic_field_mapping]           # clientele_dynamic_fields::DynamicFieldMappingConfig
//!
//! [change_feed]                     # clientele_db::ChangeFeedConfig; present = on: several
//! poll_interval_ms = 1000           # app servers on one database drop each other's stale
//!                                   # cache entries (PostgreSQL NOTIFY, else a change log)
//!
//! [web]                             # clientele_web::ServeSettings (feature `web`):
//! bind = "127.0.0.1:8080"           # what `clientele serve` listens on, its bearer tokens
//! ```
//!
//! Every table is the serde form of a struct the crates already have, so the Rust and the file
//! form are the same thing. Unknown keys are errors naming the key and its line. Secrets stay out
//! of the file: `url_env` names the environment variable holding a database URL, and an LDAP
//! source's `bind_password_env` the one holding its bind password. docs/configuration.md lists
//! every key with its default and the OTOBO key it replaces.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use clientele::config::{Config, OpenOptions};
//! use clientele::model::{Actor, NewCustomerCompany, NewCustomerUser};
//!
//! let config = Config::from_toml_str(r#"
//!     [[customer_user]]
//!     type = "db"
//!     url = "sqlite::memory:"
//!
//!     [permissions]
//!     customer_group_support = true
//! "#).unwrap();
//! let opened = config.open_with(OpenOptions { migrate: true }).await.unwrap();
//! let dir = opened.directory;
//! dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), Actor::System).await.unwrap();
//! dir.add_customer_user(NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"), Actor::System)
//!     .await
//!     .unwrap();
//! assert!(dir.config().permissions.customer_group_support);
//! # });
//! ```

use std::path::{Path, PathBuf};

use clientele_backend::{CompanySettings, SourceSettings};
use clientele_db::{ChangeFeedConfig, DbConfig};
use clientele_directory::{DirectoryConfig, check_sources};
use clientele_dynamic_fields::DynamicFieldMappingConfig;
use serde::Deserialize;
use toml::de::DeTable;

mod de;
mod error;
mod open;

pub use error::ConfigError;
pub use open::{OpenOptions, Opened, open, open_with};

use error::{Step, dropped_keys, key_at, line_column, value_at};

/// The most customer-user sources a configuration may have: OTOBO's `CustomerUser` and
/// `CustomerUser1` … `CustomerUser10`.
pub const MAX_CUSTOMER_USER_SOURCES: usize = clientele_directory::MAX_SOURCES;

/// The environment variable the command line and [`Config::from_env_or_default`] read a
/// configuration path from.
pub const CONFIG_ENV: &str = "CLIENTELE_CONFIG";

/// A whole installation: the customer-user sources in OTOBO order, the company source, the
/// Directory-wide settings and the dynamic-field mapping.
///
/// In the file, [`directory`](Self::directory)'s keys are at the top level (`add_target`,
/// `overall_search_limit`, `require_company`) and in the `[permissions]`, `[passwords]` and
/// `[email_check]` tables.
#[derive(Clone, Debug)]
pub struct Config {
    /// `[[customer_user]]`: the sources, in OTOBO order — index 0 is `CustomerUser`, index 1
    /// `CustomerUser1` … at most [`MAX_CUSTOMER_USER_SOURCES`].
    pub customer_user: Vec<CustomerUserConfig>,
    /// `[customer_company]`: the company source's settings (OTOBO `CustomerCompany`). The
    /// companies live in the database of the first `db` source; its `company_table`,
    /// `company_key`, `company_valid` and `company_foreign_db` keys say where.
    pub customer_company: CompanySettings,
    /// The top-level keys and `[permissions]`, `[passwords]`, `[email_check]`.
    pub directory: DirectoryConfig,
    /// `[dynamic_field_mapping]`: OTOBO `DynamicFieldFromCustomerUser::Mapping` and its event
    /// registration.
    pub dynamic_field_mapping: DynamicFieldMappingConfig,
    /// `[change_feed]`: when present, [`open`] gives the Directory a
    /// [`DbChangeFeed`](clientele_db::DbChangeFeed) on the first `db` source's database and
    /// follows it, so that several application servers sharing that database drop what another
    /// one changed from their caches (within `poll_interval_ms` on MySQL/MariaDB and SQLite, at
    /// once on PostgreSQL). Absent: off, as for a single instance.
    pub change_feed: Option<ChangeFeedConfig>,
    /// `[web]`: what `clientele serve` listens on and the bearer tokens it accepts (feature
    /// `web`); defaults when absent.
    #[cfg(feature = "web")]
    pub web: clientele_web::ServeSettings,
}

/// One `[[customer_user]]` entry: a source of customer users and its settings.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum CustomerUserConfig {
    /// `type = "db"`: a SQL database (OTOBO `Kernel::System::CustomerUser::DB`).
    Db(Box<DbSourceConfig>),
    /// `type = "ldap"`: a read-only LDAP directory (OTOBO `Kernel::System::CustomerUser::LDAP`);
    /// the entry's keys are [`clientele_ldap::LdapConfig`]'s.
    #[cfg(feature = "ldap")]
    Ldap(Box<clientele_ldap::LdapConfig>),
}

impl CustomerUserConfig {
    /// A `db` source at `url` with OTOBO's default tables, columns and settings.
    pub fn db(url: impl Into<String>) -> Self {
        CustomerUserConfig::Db(Box::new(DbSourceConfig::new(url)))
    }

    /// The source's settings (name, map, field lists, limits, …).
    pub fn settings(&self) -> &SourceSettings {
        match self {
            CustomerUserConfig::Db(db) => &db.db.settings,
            #[cfg(feature = "ldap")]
            CustomerUserConfig::Ldap(l) => &l.settings,
        }
    }

    /// The source's settings, to change.
    pub fn settings_mut(&mut self) -> &mut SourceSettings {
        match self {
            CustomerUserConfig::Db(db) => &mut db.db.settings,
            #[cfg(feature = "ldap")]
            CustomerUserConfig::Ldap(l) => &mut l.settings,
        }
    }

    /// The source's name (`settings.name`, OTOBO `Name`).
    pub fn name(&self) -> &str {
        &self.settings().name
    }

    /// `"db"` or `"ldap"`, as in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            CustomerUserConfig::Db(_) => "db",
            #[cfg(feature = "ldap")]
            CustomerUserConfig::Ldap(_) => "ldap",
        }
    }
}

/// A `type = "db"` entry: where the database is, and [`DbConfig`] (tables, columns, pool and the
/// source settings under `settings`).
#[derive(Clone)]
pub struct DbSourceConfig {
    /// The database URL (`sqlite://file.sqlite?mode=rwc`, `sqlite::memory:`,
    /// `postgres://user:pw@host/db`, `mysql://user:pw@host/db`; OTOBO `Params => { DSN, User,
    /// Password }`). Give this or [`url_env`](Self::url_env).
    pub url: Option<String>,
    /// The name of an environment variable holding the URL, so credentials stay out of the file.
    pub url_env: Option<String>,
    /// Tables, columns, pool sizes and timeouts, and the source settings (`settings`).
    /// `company_settings` is taken from [`Config::customer_company`].
    pub db: DbConfig,
}

impl DbSourceConfig {
    /// A source at `url` with OTOBO's defaults.
    pub fn new(url: impl Into<String>) -> Self {
        DbSourceConfig {
            url: Some(url.into()),
            url_env: None,
            db: DbConfig::default(),
        }
    }

    /// The URL: [`url`](Self::url), or the value of the variable [`url_env`](Self::url_env)
    /// names. An [`Error::Config`](crate::Error::Config) says what is missing.
    pub fn resolved_url(&self) -> crate::Result<String> {
        let name = &self.db.settings.name;
        match self.url_given() {
            Ok(UrlGiven::Url(u)) => Ok(u.to_owned()),
            Ok(UrlGiven::Env(var)) => std::env::var(var).map_err(|_| {
                crate::Error::Config(format!(
                    "source {name:?}: url_env names the environment variable {var}, which is not \
                     set; export {var}=<database URL>"
                ))
            }),
            Err(why) => Err(crate::Error::Config(format!("source {name:?}: {why}"))),
        }
    }

    /// Which of `url` and `url_env` names the database, or what is wrong with them: the one
    /// rule the file check and [`resolved_url`](Self::resolved_url) follow.
    fn url_given(&self) -> Result<UrlGiven<'_>, &'static str> {
        match (&self.url, &self.url_env) {
            (Some(u), None) => Ok(UrlGiven::Url(u)),
            (None, Some(var)) => Ok(UrlGiven::Env(var)),
            (Some(_), Some(_)) => Err("give url or url_env, not both"),
            (None, None) => Err("no database given; set url = \"…\" or url_env = \"VARIABLE\""),
        }
    }
}

/// Where a database source's URL comes from.
enum UrlGiven<'a> {
    /// Written in the file.
    Url(&'a str),
    /// In this environment variable.
    Env(&'a str),
}

impl std::fmt::Debug for DbSourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbSourceConfig")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("url_env", &self.url_env)
            .field("db", &self.db)
            .finish()
    }
}

/// A URL with its secrets replaced by `***` (the password of `user:password@` and any
/// `…password=` query parameter): [`clientele_db::redact_url`], re-exported here.
pub use clientele_db::redact_url;

impl Config {
    /// A configuration with these sources and defaults for everything else.
    pub fn new(customer_user: Vec<CustomerUserConfig>) -> Self {
        Config {
            customer_user,
            customer_company: CompanySettings::default(),
            directory: DirectoryConfig::default(),
            dynamic_field_mapping: DynamicFieldMappingConfig::default(),
            change_feed: None,
            #[cfg(feature = "web")]
            web: clientele_web::ServeSettings::default(),
        }
    }

    /// One SQLite file as the only source (created when missing), OTOBO's defaults otherwise:
    /// what the command line uses when there is no configuration file.
    pub fn sqlite_file(path: impl AsRef<Path>) -> Self {
        let url = format!("sqlite://{}?mode=rwc", path.as_ref().display());
        Config::new(vec![CustomerUserConfig::db(url)])
    }

    /// Reads a configuration file. Errors name the file, the line and, for a key, the key.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml_str(&text).map_err(|e| e.with_path(path.to_owned()))
    }

    /// The file named by `$CLIENTELE_CONFIG`, else `./clientele.toml` when it exists, else
    /// [`Config::sqlite_file`]`("clientele.sqlite")`. Returns the path it read, if any.
    pub fn from_env_or_default() -> Result<(Self, Option<PathBuf>), ConfigError> {
        if let Some(p) = std::env::var_os(CONFIG_ENV) {
            let p = PathBuf::from(p);
            return Config::from_path(&p).map(|c| (c, Some(p)));
        }
        let p = PathBuf::from("clientele.toml");
        if p.exists() {
            return Config::from_path(&p).map(|c| (c, Some(p)));
        }
        Ok((Config::sqlite_file("clientele.sqlite"), None))
    }

    /// Parses a configuration from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        let doc = DeTable::parse(text).map_err(|e| parse_error(text, None, &e))?;
        let config = Config::deserialize(
            toml::de::Deserializer::parse(text).map_err(|e| parse_error(text, None, &e))?,
        )
        .map_err(|e| parse_error(text, Some(doc.get_ref()), &e))?;
        config.check_dropped_keys(text, doc.get_ref())?;
        config.check(text, doc.get_ref())?;
        Ok(config)
    }

    /// A few structs the file reuses accept keys they don't know and drop them (no
    /// `deny_unknown_fields`); catch those keys by comparing the input with a round trip.
    fn check_dropped_keys(&self, text: &str, doc: &DeTable<'_>) -> Result<(), ConfigError> {
        let mut checks: Vec<(Vec<Step>, Option<toml::Value>)> = vec![(
            vec![Step::Key("permissions".into())],
            toml::Value::try_from(&self.directory.permissions).ok(),
        )];
        checks.push((
            vec![
                Step::Key("customer_company".into()),
                Step::Key("syntax".into()),
            ],
            toml::Value::try_from(&self.customer_company.syntax).ok(),
        ));
        for (i, source) in self.customer_user.iter().enumerate() {
            checks.push((
                vec![
                    Step::Key("customer_user".into()),
                    Step::Index(i),
                    Step::Key("settings".into()),
                    Step::Key("syntax".into()),
                ],
                toml::Value::try_from(&source.settings().syntax).ok(),
            ));
        }
        for (path, output) in checks {
            let (Some(input), Some(output)) = (value_at(doc, &path), output) else {
                continue;
            };
            let mut found = Vec::new();
            let mut walk = path.clone();
            dropped_keys(input, &output, &mut walk, &mut found);
            if let Some((key, span)) = found.into_iter().next() {
                let (line, column) = line_column(text, span.start);
                let name = key.rsplit('.').next().unwrap_or(&key).to_owned();
                return Err(ConfigError::Parse {
                    path: None,
                    line,
                    column,
                    key: Some(key.clone()),
                    message: format!("unknown field `{name}` in `{key}`"),
                });
            }
        }
        Ok(())
    }

    /// Checks that need the whole configuration.
    // Without the `ldap` feature `Db` is the only kind of source.
    #[allow(irrefutable_let_patterns)]
    fn check(&self, text: &str, doc: &DeTable<'_>) -> Result<(), ConfigError> {
        let entry_line = |i: usize| {
            value_at(doc, &[Step::Key("customer_user".into()), Step::Index(i)])
                .map_or(0, |v| line_column(text, v.span().start).0)
        };
        let invalid = |line: usize, message: String| ConfigError::Invalid {
            path: None,
            line,
            message,
        };
        // The rules of a source list have one home: the Directory's builder asks the same.
        let names: Vec<&str> = self.customer_user.iter().map(|s| s.name()).collect();
        if let Err(e) = check_sources(&names, self.directory.add_target.as_deref()) {
            return Err(invalid(e.index().map_or(0, entry_line), e.to_string()));
        }
        for (i, source) in self.customer_user.iter().enumerate() {
            if let CustomerUserConfig::Db(db) = source
                && let Err(why) = db.url_given()
            {
                let name = source.name();
                return Err(invalid(
                    entry_line(i),
                    format!("customer_user[{i}] ({name:?}): {why}"),
                ));
            }
        }
        Ok(())
    }

    /// The `db` sources whose URL names a SQLite file that does not exist, by source name and
    /// file. [`open`] would create each (the SQLite driver makes a missing file), so a caller
    /// that only reads asks first and tells its user to create the database instead of
    /// leaving an empty file behind. A source whose `url_env` is not set is left to `open`,
    /// which names the variable.
    ///
    /// ```
    /// use clientele::config::{Config, CustomerUserConfig};
    ///
    /// let config = Config::new(vec![CustomerUserConfig::db("sqlite://no/such/dir/crm.sqlite?mode=rwc")]);
    /// let missing = config.missing_sqlite_files();
    /// # #[cfg(feature = "sqlite")]
    /// assert_eq!(missing[0].1, std::path::Path::new("no/such/dir/crm.sqlite"));
    /// assert!(Config::new(vec![CustomerUserConfig::db("sqlite::memory:")]).missing_sqlite_files().is_empty());
    /// ```
    pub fn missing_sqlite_files(&self) -> Vec<(String, PathBuf)> {
        self.customer_user
            .iter()
            .filter_map(|source| match source {
                CustomerUserConfig::Db(db) => {
                    let file = clientele_db::sqlite_file(&db.resolved_url().ok()?)?;
                    (!file.exists()).then(|| (source.name().to_owned(), file))
                }
                #[cfg(feature = "ldap")]
                CustomerUserConfig::Ldap(_) => None,
            })
            .collect()
    }

    /// Connects every source and builds the Directory ([`open`]).
    pub async fn open(&self) -> crate::Result<Opened> {
        open(self).await
    }

    /// Like [`open`](Self::open), with options ([`open_with`]).
    pub async fn open_with(&self, options: OpenOptions) -> crate::Result<Opened> {
        open_with(self, options).await
    }
}

fn parse_error(text: &str, doc: Option<&DeTable<'_>>, e: &toml::de::Error) -> ConfigError {
    let span = e.span();
    let (line, column) = span.as_ref().map_or((0, 0), |s| line_column(text, s.start));
    let key = match (doc, &span) {
        (Some(doc), Some(span)) => key_at(doc, span),
        _ => None,
    };
    // The key the refused value belongs to: the error's own, else the one its line assigns.
    let value_key = key.clone().or_else(|| {
        let before = text.get(..span.as_ref()?.start)?;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = text.get(line_start..)?.lines().next()?;
        let (assigned, _) = line.split_once('=')?;
        Some(assigned.trim().to_owned())
    });
    let message = shown_without_secrets(value_key.as_deref(), e.message().trim_end());
    ConfigError::Parse {
        path: None,
        line,
        column,
        key,
        message,
    }
}

/// A parser's message as it may be shown: the parser quotes the value it refused, which may be
/// a database URL with a password in it, or a password itself. URLs lose their secrets; for a
/// key that holds a secret (a `…password…` key, `url`) no quoted value is shown at all.
fn shown_without_secrets(key: Option<&str>, message: &str) -> String {
    let message = clientele_db::redact_urls_in(message);
    let last = key.map(|k| k.rsplit('.').next().unwrap_or(k).to_ascii_lowercase());
    let secret = last.is_some_and(|k| k.contains("password") || k == "url" || k == "urls");
    if !secret {
        return message;
    }
    let mut out = String::with_capacity(message.len());
    let mut open: Option<char> = None;
    for c in message.chars() {
        match open {
            Some(q) if c == q => {
                out.push_str("***");
                out.push(c);
                open = None;
            }
            Some(_) => {}
            None => {
                out.push(c);
                if c == '`' || c == '"' {
                    open = Some(c);
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(irrefutable_let_patterns)]
mod tests {
    use super::*;

    #[cfg(feature = "web")]
    #[test]
    fn web_section_is_read_and_checked() {
        let base = "[[customer_user]]\ntype = \"db\"\nurl = \"sqlite::memory:\"\n";
        let c = Config::from_toml_str(base).unwrap();
        assert_eq!(c.web.bind.to_string(), "127.0.0.1:8080");
        let text = format!(
            "{base}\n[web]\nbind = \"127.0.0.1:9000\"\nbody_limit = 1024\n\n[[web.token]]\n\
             id = \"abc\"\nactor = \"2\"\nsha256 = \"{}\"\n",
            "0".repeat(64)
        );
        let c = Config::from_toml_str(&text).unwrap();
        assert_eq!(c.web.bind.port(), 9000);
        assert_eq!(c.web.body_limit, 1024);
        assert_eq!(c.web.token[0].actor, "2");
        assert!(c.web.web_config().is_ok());

        let e = Config::from_toml_str(&format!("{base}\n[web]\nlisten = \"x\"\n")).unwrap_err();
        assert!(e.to_string().contains("listen"), "{e}");
        let e = Config::from_toml_str(&format!("{base}\n[web]\nbind = \"nowhere\"\n")).unwrap_err();
        assert!(e.to_string().contains("bind"), "{e}");
    }

    #[test]
    fn minimal_file_gets_otobo_defaults() {
        let c =
            Config::from_toml_str("[[customer_user]]\ntype = \"db\"\nurl = \"sqlite::memory:\"\n")
                .unwrap();
        assert_eq!(c.customer_user.len(), 1);
        let CustomerUserConfig::Db(db) = &c.customer_user[0] else {
            panic!("not a db source")
        };
        assert_eq!(db.db.table, "customer_user");
        assert_eq!(db.db.settings.search_limit, 250);
        assert_eq!(db.db.settings.cache_ttl, 86_400);
        assert!(!c.directory.permissions.customer_group_support);
        assert_eq!(c.directory.permissions.always_groups, ["users"]);
        assert!(!c.dynamic_field_mapping.enabled);
        assert_eq!(c.customer_company.search_limit, 250);
    }

    #[test]
    fn unknown_keys_name_key_and_line() {
        let text = "[[customer_user]]\ntype = \"db\"\nurl = \"sqlite::memory:\"\ntabel = \"x\"\n";
        let e = Config::from_toml_str(text).unwrap_err();
        assert_eq!(e.line(), Some(4), "{e}");
        assert!(e.to_string().contains("tabel"), "{e}");
        assert_eq!(e.key(), Some("customer_user[0].tabel"));

        let text = "[[customer_user]]\ntype = \"db\"\nurl = \"x\"\n[customer_user.settings]\nname = \"A\"\nsearch_feilds = []\n";
        let e = Config::from_toml_str(text).unwrap_err();
        assert_eq!(e.line(), Some(6), "{e}");
        assert!(e.to_string().contains("search_feilds"), "{e}");

        let text = "[[customer_user]]\ntype = \"db\"\nurl = \"x\"\n\n[permissions]\ncustomer_group_suport = true\n";
        let e = Config::from_toml_str(text).unwrap_err();
        assert_eq!(e.line(), Some(6), "{e}");
        assert_eq!(e.key(), Some("permissions.customer_group_suport"), "{e}");

        let text = "overal_search_limit = 3\n[[customer_user]]\ntype = \"db\"\nurl = \"x\"\n";
        let e = Config::from_toml_str(text).unwrap_err();
        assert_eq!(e.line(), Some(1), "{e}");

        let text = "[[customer_user]]\ntype = \"db\"\nurl = \"x\"\n[customer_user.settings.syntax]\nprefx = \"\"\n";
        let e = Config::from_toml_str(text).unwrap_err();
        assert_eq!(e.line(), Some(5), "{e}");
        assert!(e.to_string().contains("prefx"), "{e}");
    }

    #[test]
    fn type_comes_first_and_is_known() {
        let e =
            Config::from_toml_str("[[customer_user]]\nurl = \"x\"\ntype = \"db\"\n").unwrap_err();
        assert_eq!(e.line(), Some(2), "{e}");
        assert!(e.to_string().contains("first key"), "{e}");
        let e = Config::from_toml_str("[[customer_user]]\ntype = \"mongo\"\n").unwrap_err();
        assert_eq!(e.line(), Some(2), "{e}");
    }

    #[test]
    fn connection_is_required_once() {
        let e = Config::from_toml_str("[[customer_user]]\ntype = \"db\"\n").unwrap_err();
        assert!(e.to_string().contains("url_env"), "{e}");
        let e = Config::from_toml_str(
            "[[customer_user]]\ntype = \"db\"\nurl = \"a\"\nurl_env = \"B\"\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("not both"), "{e}");
        let c = Config::from_toml_str(
            "[[customer_user]]\ntype = \"db\"\nurl_env = \"CLIENTELE_TEST_SURELY_UNSET\"\n",
        )
        .unwrap();
        let CustomerUserConfig::Db(db) = &c.customer_user[0] else {
            panic!()
        };
        let e = db.resolved_url().unwrap_err();
        assert!(e.to_string().contains("CLIENTELE_TEST_SURELY_UNSET"), "{e}");
    }

    #[test]
    fn sources_keep_order_and_need_distinct_names() {
        let text = r#"
[[customer_user]]
type = "db"
url = "sqlite::memory:"
[[customer_user]]
type = "db"
url = "sqlite::memory:"
"#;
        let e = Config::from_toml_str(text).unwrap_err();
        assert_eq!(e.line(), Some(5), "{e}");
        let text = r#"
[[customer_user]]
type = "db"
url = "sqlite::memory:"
settings.name = "First"
[[customer_user]]
type = "db"
url = "sqlite::memory:"
settings = { name = "Second", read_only = true }
"#;
        let c = Config::from_toml_str(text).unwrap();
        assert_eq!(c.customer_user[0].name(), "First");
        assert_eq!(c.customer_user[1].name(), "Second");
        assert!(c.customer_user[1].settings().read_only);
    }

    #[test]
    fn company_settings_belong_to_customer_company() {
        let text = "[[customer_user]]\ntype = \"db\"\nurl = \"x\"\n[customer_user.company_settings]\nname = \"C\"\n";
        let e = Config::from_toml_str(text).unwrap_err();
        assert!(e.to_string().contains("[customer_company]"), "{e}");
        assert_eq!(e.line(), Some(4), "{e}");
    }

    #[test]
    fn parse_errors_show_no_secret() {
        for text in [
            "[[customer_user]]\ntype = \"postgres://app:Secr3tPw@db/otobo\"\n",
            "[[customer_user]]\ntype = \"db\"\nurl = \"x\"\nmax_connections = \"mysql://app:Secr3tPw@db/otobo\"\n",
            "[[customer_user]]\ntype = \"db\"\nurl = 7\n",
        ] {
            let e = Config::from_toml_str(text).unwrap_err().to_string();
            assert!(!e.contains("Secr3tPw"), "{e}");
            assert!(e.contains("line"), "{e}");
        }
        #[cfg(feature = "ldap")]
        {
            let text = "[[customer_user]]\ntype = \"ldap\"\nurl = \"ldap://h\"\nbase_dn = \"o=x\"\nbind_password = 1234567\n";
            let e = Config::from_toml_str(text).unwrap_err();
            assert!(!e.to_string().contains("1234567"), "{e}");
            assert_eq!(e.line(), Some(5), "{e}");
        }
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.internal:5432/otobo"),
            "postgres://app:***@db.internal:5432/otobo"
        );
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
        let c = Config::new(vec![CustomerUserConfig::db(
            "mysql://h/d?password=s3cret-q",
        )]);
        assert!(!format!("{c:?}").contains("s3cret-q"), "{c:?}");
        let c = Config::new(vec![CustomerUserConfig::db("mysql://u:pw@h/d")]);
        assert!(!format!("{c:?}").contains("pw@"));
    }
}
