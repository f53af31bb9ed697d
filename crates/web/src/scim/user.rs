//! The SCIM User resource ↔ a Clientele customer user.

use std::collections::HashMap;

use clientele_directory::Directory;
use clientele_model::{CustomerUser, Validity};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::error::ScimError;
use super::{CLIENTELE_SCHEMA, ENTERPRISE_SCHEMA, ScimState, USER_SCHEMA};

/// The preference the SCIM `externalId` is kept in.
pub(crate) const EXTERNAL_ID_PREFERENCE: &str = "ScimExternalId";

/// The schemas a user filter or patch path may name in front of an attribute.
pub(crate) const USER_SCHEMAS: [&str; 3] = [ENTERPRISE_SCHEMA, CLIENTELE_SCHEMA, USER_SCHEMA];

/// The version of a stored record: a SHA-256 over its serialised form (audit values included,
/// so every write changes it), as a weak entity tag.
pub(crate) fn version(user: &CustomerUser) -> String {
    let bytes = serde_json::to_vec(user).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    let mut hex = String::with_capacity(32);
    for b in &digest[..16] {
        use std::fmt::Write;
        let _ = write!(hex, "{b:02x}");
    }
    format!("W/\"{hex}\"")
}

/// Seconds since the epoch as RFC 3339 (`2024-05-01T12:00:00Z`).
pub(crate) fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// What a response shows beside the record: looked up per request.
pub(crate) struct Extras {
    pub(crate) company_name: Option<String>,
    pub(crate) secondary: Vec<String>,
    pub(crate) external_id: Option<String>,
}

impl Extras {
    /// The company name, further customer ids and external id of `user`.
    pub(crate) async fn of(
        dir: &Directory,
        user: &CustomerUser,
        names: &mut HashMap<String, Option<String>>,
    ) -> Result<Self, ScimError> {
        let id = user.customer_id.as_str().to_owned();
        let company_name = match names.get(&id) {
            Some(n) => n.clone(),
            None => {
                let n = if id.is_empty() {
                    None
                } else {
                    // A Directory without a company store shows no organization.
                    dir.company(&id).await.ok().flatten().map(|c| c.name)
                };
                names.insert(id.clone(), n.clone());
                n
            }
        };
        let secondary = dir
            .customer_ids(user.login.as_str())
            .await?
            .into_iter()
            .map(|c| c.into_string())
            .filter(|c| *c != id)
            .collect();
        let external_id = dir
            .preferences(user.login.as_str())
            .await
            .ok()
            .and_then(|p| p.get(EXTERNAL_ID_PREFERENCE).cloned());
        Ok(Extras {
            company_name,
            secondary,
            external_id,
        })
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// The SCIM representation of `user`. Never holds a password or hash: the record has none.
pub(crate) fn to_json(user: &CustomerUser, extras: &Extras) -> Value {
    let login = user.login.as_str();
    let mut o = Map::new();
    o.insert(
        "schemas".into(),
        json!([USER_SCHEMA, ENTERPRISE_SCHEMA, CLIENTELE_SCHEMA]),
    );
    o.insert("id".into(), json!(login));
    if let Some(x) = &extras.external_id {
        o.insert("externalId".into(), json!(x));
    }
    o.insert("userName".into(), json!(login));
    let formatted = format!("{} {}", user.first_name, user.last_name)
        .trim()
        .to_owned();
    let mut name = Map::new();
    name.insert("givenName".into(), json!(user.first_name));
    name.insert("familyName".into(), json!(user.last_name));
    name.insert("formatted".into(), json!(formatted));
    if let Some(t) = non_empty(&user.title) {
        name.insert("honorificPrefix".into(), json!(t));
    }
    o.insert("name".into(), Value::Object(name));
    o.insert("displayName".into(), json!(formatted));
    if !user.email.as_str().is_empty() {
        o.insert(
            "emails".into(),
            json!([{"value": user.email.as_str(), "type": "work", "primary": true}]),
        );
    }
    let mut phones = Vec::new();
    for (v, kind) in [
        (&user.phone, "work"),
        (&user.mobile, "mobile"),
        (&user.fax, "fax"),
    ] {
        if let Some(v) = non_empty(v) {
            phones.push(json!({"value": v, "type": kind}));
        }
    }
    if !phones.is_empty() {
        o.insert("phoneNumbers".into(), Value::Array(phones));
    }
    let mut address = Map::new();
    for (v, key) in [
        (&user.street, "streetAddress"),
        (&user.city, "locality"),
        (&user.zip, "postalCode"),
        (&user.country, "country"),
    ] {
        if let Some(v) = non_empty(v) {
            address.insert(key.into(), json!(v));
        }
    }
    if !address.is_empty() {
        address.insert("type".into(), json!("work"));
        address.insert("primary".into(), json!(true));
        o.insert("addresses".into(), json!([address]));
    }
    o.insert("active".into(), json!(user.validity == Validity::Valid));
    if let Some(n) = &extras.company_name {
        o.insert(ENTERPRISE_SCHEMA.into(), json!({ "organization": n }));
    }
    o.insert(
        CLIENTELE_SCHEMA.into(),
        json!({
            "customerId": user.customer_id.as_str(),
            "secondaryCustomerIds": extras.secondary,
        }),
    );
    let mut meta = Map::new();
    meta.insert("resourceType".into(), json!("User"));
    if let Some(t) = user.audit.created_at {
        meta.insert("created".into(), json!(rfc3339(t)));
    }
    if let Some(t) = user.audit.changed_at.or(user.audit.created_at) {
        meta.insert("lastModified".into(), json!(rfc3339(t)));
    }
    meta.insert("location".into(), json!(location(login)));
    meta.insert("version".into(), json!(version(user)));
    o.insert("meta".into(), Value::Object(meta));
    Value::Object(o)
}

/// `/scim/v2/Users/<login>`, the login percent-encoded.
pub(crate) fn location(login: &str) -> String {
    format!("{}/Users/{}", super::SCIM_PATH, encode(login))
}

/// Percent-encodes everything but unreserved characters.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A user as a SCIM body gives it, every field read and checked. No `Debug`: it may hold a
/// password.
#[derive(Default)]
pub(crate) struct UserInput {
    pub(crate) user_name: String,
    pub(crate) first_name: String,
    pub(crate) last_name: String,
    pub(crate) title: Option<String>,
    pub(crate) email: String,
    pub(crate) phone: Option<String>,
    pub(crate) mobile: Option<String>,
    pub(crate) fax: Option<String>,
    pub(crate) street: Option<String>,
    pub(crate) city: Option<String>,
    pub(crate) zip: Option<String>,
    pub(crate) country: Option<String>,
    pub(crate) active: bool,
    pub(crate) external_id: Option<String>,
    pub(crate) password: Option<String>,
    pub(crate) organization: Option<String>,
    pub(crate) customer_id: Option<String>,
    pub(crate) secondary: Option<Vec<String>>,
}

/// A member of `o` by name, ignoring case (SCIM attribute names are case-insensitive).
pub(crate) fn get<'v>(o: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    o.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn text(o: &Map<String, Value>, name: &str, field: &str) -> Result<Option<String>, ScimError> {
    match get(o, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ScimError::value(format!("{field}: give a string"))),
    }
}

/// A boolean as JSON, or the strings `"True"`/`"False"` some identity providers send.
pub(crate) fn boolean(v: &Value, field: &str) -> Result<bool, ScimError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::value(format!("{field}: give true or false"))),
    }
}

/// The item of a multi-valued attribute: the primary one, else the first (of `kind` when given).
fn pick<'v>(items: &'v [Value], kind: Option<&str>) -> Option<&'v Map<String, Value>> {
    let of_kind = |i: &&'v Value| {
        kind.is_none_or(|k| {
            i.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case(k))
        })
    };
    let primary = items.iter().filter(of_kind).find(|i| {
        i.get("primary")
            .is_some_and(|p| boolean(p, "primary").unwrap_or(false))
    });
    primary
        .or_else(|| items.iter().find(of_kind))
        .and_then(Value::as_object)
}

fn list<'v>(o: &'v Map<String, Value>, name: &str) -> Result<&'v [Value], ScimError> {
    match get(o, name) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(ScimError::value(format!("{name}: give a list"))),
    }
}

impl UserInput {
    /// Reads a SCIM User body (POST, PUT, or the result of a PATCH).
    pub(crate) fn from_json(body: &Value) -> Result<Self, ScimError> {
        let o = body
            .as_object()
            .ok_or_else(|| ScimError::bad("invalidSyntax", "the body must be a JSON object"))?;
        let user_name = text(o, "userName", "userName")?
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ScimError::value("userName: required"))?;
        let empty = Map::new();
        let name = match get(o, "name") {
            Some(Value::Object(n)) => n,
            None | Some(Value::Null) => &empty,
            Some(_) => return Err(ScimError::value("name: give an object")),
        };
        let display = text(o, "displayName", "displayName")?
            .or(text(name, "formatted", "name.formatted")?)
            .unwrap_or_default();
        let (display_first, display_last) = match display.trim().rsplit_once(' ') {
            Some((f, l)) => (f.trim().to_owned(), l.to_owned()),
            None => (String::new(), display.trim().to_owned()),
        };
        let first_name = text(name, "givenName", "name.givenName")?
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(display_first);
        let last_name = text(name, "familyName", "name.familyName")?
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(if display_last.is_empty() {
                user_name.clone()
            } else {
                display_last
            });
        // Clientele requires a first name: without one, the last name stands in.
        let first_name = if first_name.trim().is_empty() {
            last_name.clone()
        } else {
            first_name
        };
        let title = text(name, "honorificPrefix", "name.honorificPrefix")?;
        let emails = list(o, "emails")?;
        let email = pick(emails, None)
            .map(|e| text(e, "value", "emails.value"))
            .transpose()?
            .flatten()
            .unwrap_or_default();
        let phones = list(o, "phoneNumbers")?;
        let phone_of = |kind: &str| -> Result<Option<String>, ScimError> {
            Ok(pick(phones, Some(kind))
                .map(|p| text(p, "value", "phoneNumbers.value"))
                .transpose()?
                .flatten())
        };
        let mobile = phone_of("mobile")?;
        let fax = phone_of("fax")?;
        // The work number, else any number that is neither mobile nor fax.
        let phone = match phone_of("work")? {
            Some(p) => Some(p),
            None => phones
                .iter()
                .filter_map(Value::as_object)
                .find(|p| {
                    !p.get("type").and_then(Value::as_str).is_some_and(|t| {
                        t.eq_ignore_ascii_case("mobile") || t.eq_ignore_ascii_case("fax")
                    })
                })
                .map(|p| text(p, "value", "phoneNumbers.value"))
                .transpose()?
                .flatten(),
        };
        let addresses = list(o, "addresses")?;
        let address = pick(addresses, None);
        let addr = |key: &str| -> Result<Option<String>, ScimError> {
            match address {
                Some(a) => text(a, key, &format!("addresses.{key}")),
                None => Ok(None),
            }
        };
        let active = match get(o, "active") {
            None | Some(Value::Null) => true,
            Some(v) => boolean(v, "active")?,
        };
        let enterprise = match get(o, ENTERPRISE_SCHEMA) {
            Some(Value::Object(e)) => Some(e),
            None | Some(Value::Null) => None,
            Some(_) => {
                return Err(ScimError::value(format!(
                    "{ENTERPRISE_SCHEMA}: give an object"
                )));
            }
        };
        let organization = match enterprise {
            Some(e) => text(e, "organization", "organization")?,
            None => None,
        };
        let ours = match get(o, CLIENTELE_SCHEMA) {
            Some(Value::Object(e)) => Some(e),
            None | Some(Value::Null) => None,
            Some(_) => {
                return Err(ScimError::value(format!(
                    "{CLIENTELE_SCHEMA}: give an object"
                )));
            }
        };
        let (customer_id, secondary) = match ours {
            Some(e) => {
                let id = text(e, "customerId", "customerId")?.filter(|s| !s.trim().is_empty());
                let secondary = match get(e, "secondaryCustomerIds") {
                    None | Some(Value::Null) => None,
                    Some(Value::Array(a)) => Some(
                        a.iter()
                            .map(|v| {
                                v.as_str().map(str::to_owned).ok_or_else(|| {
                                    ScimError::value("secondaryCustomerIds: give strings")
                                })
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                    Some(_) => return Err(ScimError::value("secondaryCustomerIds: give a list")),
                };
                (id, secondary)
            }
            None => (None, None),
        };
        Ok(UserInput {
            user_name,
            first_name,
            last_name,
            title,
            email,
            phone,
            mobile,
            fax,
            street: addr("streetAddress")?,
            city: addr("locality")?,
            zip: addr("postalCode")?,
            country: addr("country")?,
            active,
            external_id: text(o, "externalId", "externalId")?,
            password: text(o, "password", "password")?,
            organization,
            customer_id,
            secondary,
        })
    }

    /// The customer id: the Clientele extension's `customerId`, else the company named by the
    /// enterprise extension's `organization`, else the configured default, else `current`.
    pub(crate) async fn resolve_customer_id(
        &self,
        s: &ScimState,
        current: Option<&str>,
    ) -> Result<String, ScimError> {
        if let Some(id) = &self.customer_id {
            let id = id.trim();
            if current == Some(id) || s.dir.company(id).await?.is_some() {
                return Ok(id.to_owned());
            }
            return match &s.settings.default_customer_id {
                Some(d) => Ok(d.clone()),
                None => Err(ScimError::value(format!(
                    "customerId: no company has the customer id {id:?}"
                ))),
            };
        }
        if let Some(org) = self
            .organization
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            if let Some(id) = company_by_name(&s.dir, org).await? {
                return Ok(id);
            }
            return match &s.settings.default_customer_id {
                Some(d) => Ok(d.clone()),
                None => Err(ScimError::value(format!(
                    "organization: no company is named {org:?}"
                ))),
            };
        }
        if let Some(c) = current {
            return Ok(c.to_owned());
        }
        match &s.settings.default_customer_id {
            Some(d) => Ok(d.clone()),
            None => Err(ScimError::value(format!(
                "organization: give the company ({ENTERPRISE_SCHEMA} organization) or \
                 customerId ({CLIENTELE_SCHEMA})"
            ))),
        }
    }

    /// The validity `active` stands for.
    pub(crate) fn validity(&self) -> Validity {
        if self.active {
            Validity::Valid
        } else {
            Validity::InvalidTemporarily
        }
    }
}

/// The customer id of the company named `name` (compared ignoring case), if one is.
async fn company_by_name(dir: &Directory, name: &str) -> Result<Option<String>, ScimError> {
    // The companies are listed, not searched with the name pasted into a term.
    let all = dir.search_companies(None, false, Some(100_000)).await?;
    Ok(all
        .into_iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .map(|c| c.customer_id.into_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_714_564_800), "2024-05-01T12:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn entra_booleans() {
        assert!(boolean(&json!("True"), "active").unwrap());
        assert!(!boolean(&json!("False"), "active").unwrap());
        assert!(boolean(&json!("yes"), "active").is_err());
    }

    #[test]
    fn encoding() {
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
        assert_eq!(encode("anna@x.org"), "anna@x.org");
    }
}
