//! How the configuration file is read: the reused config structs of the crates, laid out the
//! way OTOBO's `Kernel/Config.pm` lays out its keys, without `#[serde(flatten)]` (which cannot
//! be combined with `deny_unknown_fields` and would lose the line of an unknown key).
//!
//! Two small tools do it:
//!
//! * [`Intercept`] hands every key of a table to a derived struct's deserializer except the
//!   ones a [`Taker`] claims; the claimed ones are read separately (or refused). The top level
//!   of the file is a [`DirectoryConfig`] plus the claimed `customer_user`, `customer_company`
//!   and `dynamic_field_mapping`; a `type = "db"` entry is a [`DbConfig`] plus the claimed `url`
//!   and `url_env`.
//! * Every key goes through the TOML deserializer's own key handling, so an error — an unknown
//!   key included — keeps the key's position in the file.

use std::fmt;

use clientele_backend::CompanySettings;
use clientele_db::{ChangeFeedConfig, DbConfig};
use clientele_directory::DirectoryConfig;
use clientele_dynamic_fields::DynamicFieldMappingConfig;
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};

use super::{Config, CustomerUserConfig, DbSourceConfig};

/// What a [`Taker`] does with a key.
pub(super) enum Claim {
    /// The key is read by the taker.
    Take,
    /// The key is refused with this message.
    Reject(String),
    /// The key goes to the struct being deserialized.
    Pass,
}

/// Claims some keys of a table and reads their values.
pub(super) trait Taker<'de> {
    fn claims(&self, key: &str) -> Claim;
    fn take<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

enum KeyOutcome<K, V> {
    Forward(V),
    Taken(String, K),
}

/// Reads a key; hands it to the wrapped seed unless the taker claims it. Runs inside the TOML
/// deserializer's key handling, so an error here carries the key's position.
struct KeySeed<'t, K, T> {
    seed: K,
    taker: &'t T,
}

impl<'de, K: DeserializeSeed<'de>, T: Taker<'de>> DeserializeSeed<'de> for KeySeed<'_, K, T> {
    type Value = KeyOutcome<K, K::Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let key = String::deserialize(d)?;
        match self.taker.claims(&key) {
            Claim::Take => Ok(KeyOutcome::Taken(key, self.seed)),
            Claim::Reject(message) => Err(de::Error::custom(message)),
            Claim::Pass => {
                let key_de: de::value::StringDeserializer<D::Error> = key.into_deserializer();
                self.seed.deserialize(key_de).map(KeyOutcome::Forward)
            }
        }
    }
}

/// A map whose claimed keys are read by a taker and whose other keys go to the consumer.
pub(super) struct Intercept<'t, A, T> {
    inner: A,
    taker: &'t mut T,
}

impl<'t, A, T> Intercept<'t, A, T> {
    pub(super) fn new(inner: A, taker: &'t mut T) -> Self {
        Intercept { inner, taker }
    }
}

impl<'de, A: MapAccess<'de>, T: Taker<'de>> MapAccess<'de> for Intercept<'_, A, T> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let mut seed = seed;
        loop {
            let outcome = self.inner.next_key_seed(KeySeed {
                seed,
                taker: &*self.taker,
            })?;
            match outcome {
                None => return Ok(None),
                Some(KeyOutcome::Forward(v)) => return Ok(Some(v)),
                Some(KeyOutcome::Taken(key, s)) => {
                    seed = s;
                    self.taker.take(&key, &mut self.inner)?;
                }
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }
}

// ------------------------------------------------------------------ the top level

#[derive(Default)]
struct TopLevel {
    customer_user: Option<Vec<CustomerUserConfig>>,
    customer_company: Option<CompanySettings>,
    dynamic_field_mapping: Option<DynamicFieldMappingConfig>,
    change_feed: Option<ChangeFeedConfig>,
    #[cfg(feature = "web")]
    web: Option<clientele_web::ServeSettings>,
}

impl<'de> Taker<'de> for TopLevel {
    fn claims(&self, key: &str) -> Claim {
        match key {
            "customer_user" | "customer_company" | "dynamic_field_mapping" | "change_feed" => {
                Claim::Take
            }
            #[cfg(feature = "web")]
            "web" => Claim::Take,
            #[cfg(not(feature = "web"))]
            "web" => Claim::Reject(
                "`web`: the [web] section is read by builds with the `web` feature (the \
                 `clientele` command line has it)"
                    .to_owned(),
            ),
            "customer_user1" | "customer_user2" | "CustomerUser" | "CustomerUser1" => {
                Claim::Reject(format!(
                    "`{key}`: sources are entries of one [[customer_user]] array, in OTOBO's \
                     order (the first is CustomerUser, the second CustomerUser1, …)"
                ))
            }
            _ => Claim::Pass,
        }
    }

    fn take<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "customer_user" => self.customer_user = Some(map.next_value()?),
            "customer_company" => self.customer_company = Some(map.next_value()?),
            "change_feed" => self.change_feed = Some(map.next_value()?),
            #[cfg(feature = "web")]
            "web" => self.web = Some(map.next_value()?),
            _ => self.dynamic_field_mapping = Some(map.next_value()?),
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ConfigVisitor)
    }
}

struct ConfigVisitor;

impl<'de> Visitor<'de> for ConfigVisitor {
    type Value = Config;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Clientele configuration table")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Config, A::Error> {
        let mut top = TopLevel::default();
        let directory = DirectoryConfig::deserialize(MapAccessDeserializer::new(Intercept::new(
            map, &mut top,
        )))?;
        let customer_user = top.customer_user.ok_or_else(|| {
            de::Error::custom(
                "no customer-user source: add a [[customer_user]] entry (type = \"db\" with a url, \
                 or type = \"ldap\")",
            )
        })?;
        Ok(Config {
            customer_user,
            customer_company: top.customer_company.unwrap_or_default(),
            directory,
            dynamic_field_mapping: top.dynamic_field_mapping.unwrap_or_default(),
            change_feed: top.change_feed,
            #[cfg(feature = "web")]
            web: top.web.unwrap_or_default(),
        })
    }
}

// ------------------------------------------------------------------ one [[customer_user]] entry

/// The `type` of a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum SourceKind {
    Db,
    Ldap,
}

/// Reads the first key of an entry, which must be `type`.
struct TypeKey;

impl<'de> DeserializeSeed<'de> for TypeKey {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        let key = String::deserialize(d)?;
        if key == "type" {
            Ok(())
        } else {
            Err(de::Error::custom(format!(
                "`type` must be the first key of a [[customer_user]] entry, found `{key}`; \
                 start the entry with type = \"db\" or type = \"ldap\""
            )))
        }
    }
}

/// Reads the value of `type`, refusing `ldap` when this build has no LDAP backend.
struct TypeValue;

impl<'de> DeserializeSeed<'de> for TypeValue {
    type Value = SourceKind;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<SourceKind, D::Error> {
        let kind = SourceKind::deserialize(d)?;
        if kind == SourceKind::Ldap && !cfg!(feature = "ldap") {
            return Err(de::Error::custom(
                "type = \"ldap\" needs Clientele built with its `ldap` feature",
            ));
        }
        Ok(kind)
    }
}

#[derive(Default)]
struct DbConnection {
    url: Option<String>,
    url_env: Option<String>,
}

impl<'de> Taker<'de> for DbConnection {
    fn claims(&self, key: &str) -> Claim {
        match key {
            "url" | "url_env" => Claim::Take,
            "company_settings" => Claim::Reject(
                "company settings are not part of a [[customer_user]] entry; put them in the \
                 [customer_company] table"
                    .into(),
            ),
            _ => Claim::Pass,
        }
    }

    fn take<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        let value: String = map.next_value()?;
        if key == "url" {
            self.url = Some(value);
        } else {
            self.url_env = Some(value);
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for CustomerUserConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EntryVisitor)
    }
}

struct EntryVisitor;

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = CustomerUserConfig;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a [[customer_user]] table starting with type = \"db\" or type = \"ldap\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CustomerUserConfig, A::Error> {
        if map.next_key_seed(TypeKey)?.is_none() {
            return Err(de::Error::missing_field("type"));
        }
        match map.next_value_seed(TypeValue)? {
            SourceKind::Db => {
                let mut conn = DbConnection::default();
                let db = DbConfig::deserialize(MapAccessDeserializer::new(Intercept::new(
                    map, &mut conn,
                )))?;
                Ok(CustomerUserConfig::Db(Box::new(DbSourceConfig {
                    url: conn.url,
                    url_env: conn.url_env,
                    db,
                })))
            }
            #[cfg(feature = "ldap")]
            SourceKind::Ldap => {
                let ldap =
                    clientele_ldap::LdapConfig::deserialize(MapAccessDeserializer::new(map))?;
                Ok(CustomerUserConfig::Ldap(Box::new(ldap)))
            }
            #[cfg(not(feature = "ldap"))]
            SourceKind::Ldap => Err(de::Error::custom(
                "type = \"ldap\" needs Clientele built with its `ldap` feature",
            )),
        }
    }
}
