//! [`open`]: from a [`Config`] to a running [`Directory`].

use std::sync::Arc;

use clientele_backend::{Error, Result};
use clientele_db::{DbBackend, DbChangeFeed, MigrateOptions, MigrationPlan};
use clientele_directory::{Directory, Source};
use clientele_dynamic_fields::DynamicFieldMappingConfig;

use super::{Config, CustomerUserConfig};

/// What [`open_with`] does besides connecting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// Run Clientele's migrations ([`clientele_db::migrate_with`]) on every `db` source's
    /// database before use: create the missing OTOBO tables and add the constraints — with
    /// `[otobo] coexist = true` none on OTOBO's tables. Safe on an existing OTOBO database;
    /// rows the constraints cannot take stop it before any change. Default off: opening never
    /// changes a schema unless asked.
    pub migrate: bool,
}

/// Everything [`open`] built.
pub struct Opened {
    /// The Directory over every configured source.
    pub directory: Directory,
    /// The dynamic-field mapper's configuration, for the host's ticket event pipeline (with
    /// [`DirectoryRecords`](crate::DirectoryRecords) as its record source).
    pub dynamic_field_mapping: DynamicFieldMappingConfig,
    /// The `db` sources, in configuration order, by source name. The first one also holds the
    /// companies, relations, grants, services and preferences.
    pub databases: Vec<(String, Arc<DbBackend>)>,
    /// The `ldap` sources, in configuration order, by source name (not yet connected: the first
    /// call that needs the server connects).
    #[cfg(feature = "ldap")]
    pub ldap: Vec<(String, Arc<clientele_ldap::LdapBackend>)>,
    /// With [`OpenOptions::migrate`]: what the migrations did, per database (by the name of
    /// the first source using it).
    pub migrations: Vec<(String, MigrationPlan)>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("sources", &self.directory.source_names())
            .finish_non_exhaustive()
    }
}

/// Connects every source of `config` and builds the Directory, without touching any schema.
/// See [`open_with`].
pub async fn open(config: &Config) -> Result<Opened> {
    open_with(config, OpenOptions::default()).await
}

/// Connects every source of `config` in order and builds the [`Directory`]:
///
/// * a `db` source connects to its URL (`url`, or the variable `url_env` names) and, when
///   [`OpenOptions::migrate`] is set, runs the migrations (for coexistence with OTOBO when
///   `[otobo] coexist = true`, see [`clientele_db::MigrateOptions`]); it is a writable source unless its
///   settings say `read_only`. With `[otobo] coexist = true` its users and companies are cached
///   for at most `[otobo] cache_ttl` seconds (default 0: not at all);
/// * an `ldap` source is checked and created without connecting (OTOBO's `Die => 0`): a server
///   that is down makes searches skip it, not the start fail;
/// * the **first** `db` source is also the company store (with `[customer_company]`'s settings),
///   the relation store (user ↔ company, groups, grants, services) and the preference store.
///   With no `db` source at all there are none of those, and the calls that need them answer
///   [`Error::Config`](crate::Error::Config);
/// * with `[change_feed]` ([`Config::change_feed`]), the Directory announces its writes on a
///   [`DbChangeFeed`](clientele_db::DbChangeFeed) over the first `db` source's database and
///   follows the other instances' announcements (a task on the current tokio runtime).
///
/// An unreachable database is [`Error::Unavailable`](crate::Error::Unavailable).
pub async fn open_with(config: &Config, options: OpenOptions) -> Result<Opened> {
    let mut builder = Directory::builder().config(config.directory.clone());
    let mut databases: Vec<(String, Arc<DbBackend>)> = Vec::new();
    #[cfg(feature = "ldap")]
    let mut ldap = Vec::new();
    let mut migrated: Vec<String> = Vec::new();
    let mut migrations = Vec::new();
    for source in &config.customer_user {
        match source {
            CustomerUserConfig::Db(db) => {
                let url = db.resolved_url()?;
                let mut db_config = db.db.clone();
                if databases.is_empty() {
                    db_config.company_settings = config.customer_company.clone();
                }
                let otobo = &config.directory.otobo;
                if otobo.coexist {
                    // OTOBO writes without telling Clientele: cache no longer than allowed.
                    let cap = otobo.cache_ttl;
                    let s = &mut db_config.settings;
                    s.cache_ttl = s.cache_ttl.min(cap);
                    let c = &mut db_config.company_settings;
                    c.cache_ttl = c.cache_ttl.min(cap);
                }
                let backend = Arc::new(DbBackend::connect(&url, db_config).await?);
                if options.migrate && !migrated.contains(&url) {
                    let done = clientele_db::migrate_with(
                        backend.connection(),
                        MigrateOptions {
                            coexist: otobo.coexist,
                        },
                    )
                    .await?;
                    migrations.push((source.name().to_owned(), done));
                    migrated.push(url);
                }
                if databases.is_empty() {
                    builder = builder
                        .company_store(backend.clone())
                        .relation_store(backend.clone())
                        .preference_store(backend.clone());
                }
                builder = builder
                    .source(Source::writable(backend.clone()).with_bulk_writer(backend.clone()));
                databases.push((source.name().to_owned(), backend));
            }
            #[cfg(feature = "ldap")]
            CustomerUserConfig::Ldap(l) => {
                let backend = Arc::new(clientele_ldap::LdapBackend::new((**l).clone())?);
                let binder: Arc<dyn clientele_backend::BindAuthenticator> = backend.clone();
                builder = builder
                    .source(Source::read_only(backend.clone()).with_bind_authenticator(binder));
                ldap.push((source.name().to_owned(), backend));
            }
        }
    }
    if let Some(feed) = &config.change_feed {
        let Some((_, db)) = databases.first() else {
            return Err(Error::Config(
                "[change_feed] needs a type = \"db\" source: the feed runs through its database"
                    .into(),
            ));
        };
        let feed = DbChangeFeed::new(db, feed.clone())?;
        feed.check().await?;
        builder = builder.change_feed(Arc::new(feed));
    }
    let directory = builder.build()?;
    if config.change_feed.is_some() {
        directory.follow_changes()?;
    }
    Ok(Opened {
        directory,
        dynamic_field_mapping: config.dynamic_field_mapping.clone(),
        databases,
        #[cfg(feature = "ldap")]
        ldap,
        migrations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{NewCustomerCompany, NewCustomerUser};

    #[tokio::test]
    async fn opens_sqlite_and_wires_every_store() {
        let config = Config::from_toml_str(
            r#"
            [[customer_user]]
            type = "db"
            url = "sqlite::memory:"
            [customer_user.settings]
            name = "Main"

            [customer_company]
            search_limit = 5

            [permissions]
            customer_group_support = true
            "#,
        )
        .unwrap();
        let opened = open_with(&config, OpenOptions { migrate: true })
            .await
            .unwrap();
        let dir = &opened.directory;
        assert_eq!(dir.source_names(), ["Main"]);
        dir.add_company(NewCustomerCompany::new("ACME", "Acme"), "1")
            .await
            .unwrap();
        dir.add_customer_user(
            NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"),
            "1",
        )
        .await
        .unwrap();
        dir.add_group("support", "1").await.unwrap();
        dir.grant_user("jdoe", "support", &["ro"], "1")
            .await
            .unwrap();
        assert!(dir.has_permission("jdoe", "support", "ro").await.unwrap());
        assert!(!dir.has_permission("jdoe", "support", "rw").await.unwrap());
        dir.set_preference("jdoe", "UserLanguage", "de")
            .await
            .unwrap();
        assert_eq!(opened.databases.len(), 1);
        assert_eq!(
            opened.databases[0].1.config().company_settings.search_limit,
            5
        );
    }

    #[tokio::test]
    async fn change_feed_is_read_and_needs_the_change_log() {
        let text = "[change_feed]\npoll_interval_ms = 250\n\n[[customer_user]]\ntype = \"db\"\n\
                    url = \"sqlite::memory:\"\n";
        let config = Config::from_toml_str(text).unwrap();
        assert_eq!(config.change_feed.as_ref().unwrap().poll_interval_ms, 250);
        // Not migrated: no change log, and the error says what to do.
        let e = open(&config).await.unwrap_err();
        assert!(
            matches!(&e, crate::Error::Config(m) if m.contains("clientele_change_log") && m.contains("migrate")),
            "{e}"
        );
        let opened = open_with(&config, OpenOptions { migrate: true })
            .await
            .unwrap();
        assert!(
            opened.directory.follow_changes().is_err(),
            "already following"
        );
        let bad =
            Config::from_toml_str(&text.replace("poll_interval_ms = 250", "channel = \"No-Such\""))
                .unwrap();
        let e = open(&bad).await.unwrap_err();
        assert!(
            matches!(&e, crate::Error::Config(m) if m.contains("channel")),
            "{e}"
        );
        let unknown = Config::from_toml_str(&text.replace("poll_interval_ms", "poll_intervall_ms"));
        assert!(unknown.is_err());
    }

    /// `[otobo] coexist = true` reaches the migrations: nothing of Clientele's on OTOBO's
    /// tables, and what they did is reported.
    #[tokio::test]
    async fn coexistence_reaches_the_migrations() {
        let text = "[[customer_user]]\ntype = \"db\"\nurl = \"sqlite::memory:\"\n";
        for coexist in [false, true] {
            let config =
                Config::from_toml_str(&format!("{text}\n[otobo]\ncoexist = {coexist}\n")).unwrap();
            let opened = open_with(&config, OpenOptions { migrate: true })
                .await
                .unwrap();
            let [(name, plan)] = &opened.migrations[..] else {
                panic!("one database, migrated once: {:?}", opened.migrations);
            };
            assert_eq!(name, "Database Backend");
            assert_eq!(plan.coexist, coexist);
            let unique = plan
                .objects()
                .any(|o| o.name == "customer_preferences_clientele_uniq");
            assert_eq!(unique, !coexist, "{plan:#?}");
        }
    }

    #[tokio::test]
    async fn missing_url_variable_is_a_config_error() {
        let config = Config::from_toml_str(
            "[[customer_user]]\ntype = \"db\"\nurl_env = \"CLIENTELE_TEST_SURELY_UNSET_URL\"\n",
        )
        .unwrap();
        let e = open(&config).await.unwrap_err();
        assert!(matches!(e, crate::Error::Config(_)), "{e}");
    }
}
