//! Customer users: the stored record, the input for a new one, and a change set.

use serde::{Deserialize, Serialize};

use crate::attribute::{AttributeValue, Attributes, keys};
use crate::error::{ValidationError, shorten};
use crate::ids::{CustomerId, Email, Login};
use crate::secret::Password;
use crate::validation::{Mode, Rules, validate};
use crate::validity::Validity;

/// When a record was created and changed, and by whom (OTOBO `create_time`, `create_by`,
/// `change_time`, `change_by`; absent for a `ForeignDB` table or an LDAP entry).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audit {
    /// Creation time, seconds since the Unix epoch (UTC).
    pub created_at: Option<i64>,
    /// Who created it (an agent id or name).
    pub created_by: Option<String>,
    /// Last change, seconds since the Unix epoch (UTC).
    pub changed_at: Option<i64>,
    /// Who changed it last.
    pub changed_by: Option<String>,
}

/// A customer user as stored in a backend.
///
/// Standard attributes are fields; extra attributes declared in the attribute map (e.g.
/// `UserRoom`) live in [`extra`](Self::extra), keyed by attribute key. [`attribute`](Self::attribute),
/// [`attributes`](Self::attributes) and [`from_attributes`](Self::from_attributes) give uniform
/// access by key, which is what map-driven backends use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerUser {
    /// `UserLogin`.
    pub login: Login,
    /// `UserTitle`.
    pub title: Option<String>,
    /// `UserFirstname`.
    pub first_name: String,
    /// `UserLastname`.
    pub last_name: String,
    /// `UserEmail`.
    pub email: Email,
    /// `UserCustomerID`: the primary company.
    pub customer_id: CustomerId,
    /// `UserCustomerIDs`: secondary companies stored on the user record.
    pub secondary_customer_ids: Vec<CustomerId>,
    /// `UserPhone`.
    pub phone: Option<String>,
    /// `UserFax`.
    pub fax: Option<String>,
    /// `UserMobile`.
    pub mobile: Option<String>,
    /// `UserStreet`.
    pub street: Option<String>,
    /// `UserZip`.
    pub zip: Option<String>,
    /// `UserCity`.
    pub city: Option<String>,
    /// `UserCountry`.
    pub country: Option<String>,
    /// `UserComment`.
    pub comment: Option<String>,
    /// `ValidID`.
    pub validity: Validity,
    /// Extra attributes from the map, by attribute key.
    pub extra: Attributes,
    /// Audit fields.
    pub audit: Audit,
}

fn opt(v: &Option<String>) -> Option<AttributeValue> {
    v.as_ref().map(|s| AttributeValue::Text(s.clone()))
}

fn text(v: Option<&AttributeValue>) -> Option<String> {
    v.map(AttributeValue::to_text).filter(|s| !s.is_empty())
}

impl CustomerUser {
    /// The value of an attribute by key (`UserFirstname`, `ValidID`, `UserRoom`, …).
    /// `ValidID` is an integer; `UserCustomerIDs` is the `;`-joined list.
    pub fn attribute(&self, key: &str) -> Option<AttributeValue> {
        use keys::*;
        match key {
            LOGIN => Some(self.login.as_str().into()),
            TITLE => opt(&self.title),
            FIRST_NAME => Some(self.first_name.as_str().into()),
            LAST_NAME => Some(self.last_name.as_str().into()),
            EMAIL => Some(self.email.as_str().into()),
            CUSTOMER_ID => Some(self.customer_id.as_str().into()),
            CUSTOMER_IDS => (!self.secondary_customer_ids.is_empty())
                .then(|| CustomerId::join_list(&self.secondary_customer_ids).into()),
            PHONE => opt(&self.phone),
            FAX => opt(&self.fax),
            MOBILE => opt(&self.mobile),
            STREET => opt(&self.street),
            ZIP => opt(&self.zip),
            CITY => opt(&self.city),
            COUNTRY => opt(&self.country),
            COMMENT => opt(&self.comment),
            VALID => Some(AttributeValue::Integer(self.validity.id().into())),
            PASSWORD => None,
            other => self.extra.get(other).cloned(),
        }
    }

    /// Every attribute that has a value, by key (the password is never among them).
    pub fn attributes(&self) -> Attributes {
        let mut out = Attributes::new();
        for key in STANDARD_KEYS {
            if let Some(v) = self.attribute(key) {
                out.insert(key.to_string(), v);
            }
        }
        for (k, v) in &self.extra {
            out.insert(k.clone(), v.clone());
        }
        out
    }

    /// Builds a user from attributes read from a store, without the input rules (stored data may
    /// predate them). Missing login, email or customer id is an error naming the attribute.
    pub fn from_attributes(mut attributes: Attributes) -> Result<Self, ValidationError> {
        use keys::*;
        let mut take = |k: &str| attributes.remove(k);
        let required = |v: Option<AttributeValue>, k: &str| -> Result<String, ValidationError> {
            text(v.as_ref()).ok_or_else(|| ValidationError::Required { field: k.into() })
        };
        let login = Login::from_stored(required(take(LOGIN), LOGIN)?);
        let email = Email::from_stored(text(take(EMAIL).as_ref()).unwrap_or_default());
        let customer_id =
            CustomerId::from_stored(text(take(CUSTOMER_ID).as_ref()).unwrap_or_default());
        let validity = match take(VALID) {
            None => Validity::Valid,
            Some(AttributeValue::Integer(i)) => Validity::from_id(i)?,
            Some(v) => {
                let t = v.to_text();
                let id = t
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| ValidationError::Invalid {
                        field: VALID.into(),
                        value: shorten(&t),
                        reason: "not an integer".into(),
                    })?;
                Validity::from_id(id)?
            }
        };
        let secondary_customer_ids = match take(CUSTOMER_IDS) {
            Some(AttributeValue::List(l)) => {
                l.iter().flat_map(|s| CustomerId::split_list(s)).collect()
            }
            Some(v) => CustomerId::split_list(&v.to_text()),
            None => Vec::new(),
        };
        let user = CustomerUser {
            login,
            title: text(take(TITLE).as_ref()),
            first_name: text(take(FIRST_NAME).as_ref()).unwrap_or_default(),
            last_name: text(take(LAST_NAME).as_ref()).unwrap_or_default(),
            email,
            customer_id,
            secondary_customer_ids,
            phone: text(take(PHONE).as_ref()),
            fax: text(take(FAX).as_ref()),
            mobile: text(take(MOBILE).as_ref()),
            street: text(take(STREET).as_ref()),
            zip: text(take(ZIP).as_ref()),
            city: text(take(CITY).as_ref()),
            country: text(take(COUNTRY).as_ref()),
            comment: text(take(COMMENT).as_ref()),
            validity,
            extra: Attributes::new(),
            audit: Audit::default(),
        };
        attributes.remove(PASSWORD);
        let extra = attributes
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        Ok(CustomerUser { extra, ..user })
    }

    /// The display name from the name fields (OTOBO `CustomerName`): the non-empty values of the
    /// given attribute keys joined with `join`.
    pub fn name_from(&self, keys: &[&str], join: &str) -> String {
        keys.iter()
            .filter_map(|k| self.attribute(k))
            .map(|v| v.to_text())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(join)
    }
}

/// The standard attribute keys a [`CustomerUser`] has fields for.
pub const STANDARD_KEYS: [&str; 16] = [
    keys::LOGIN,
    keys::TITLE,
    keys::FIRST_NAME,
    keys::LAST_NAME,
    keys::EMAIL,
    keys::CUSTOMER_ID,
    keys::CUSTOMER_IDS,
    keys::PHONE,
    keys::FAX,
    keys::MOBILE,
    keys::STREET,
    keys::ZIP,
    keys::CITY,
    keys::COUNTRY,
    keys::COMMENT,
    keys::VALID,
];

/// The input for a new customer user. Every value is given as text and checked by
/// [`validate`](Self::validate) against the target source's attribute map.
///
/// ```
/// use clientele_model::{AttributeMap, EmailCheck, NewCustomerUser, Rules};
/// let map = AttributeMap::otobo_customer_user();
/// let email = EmailCheck::default();
/// let new = NewCustomerUser::new("jdoe", "John", "Doe", "john.doe@acme-corp.com", "ACME")
///     .with("UserPhone", "+49 30 1234");
/// let user = new.validate(&Rules { map: &map, email: &email }).unwrap();
/// assert_eq!(user.phone.as_deref(), Some("+49 30 1234"));
///
/// let bad = NewCustomerUser::new("jdoe", "", "Doe", "john.doe@acme-corp.com", "ACME");
/// assert_eq!(bad.validate(&Rules { map: &map, email: &email }).unwrap_err().field(), "UserFirstname");
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NewCustomerUser {
    /// Attribute key → value as given.
    pub attributes: Attributes,
    /// The password; `None` or empty = generate one.
    pub password: Option<Password>,
}

impl NewCustomerUser {
    /// A valid user with the five attributes OTOBO requires by default.
    pub fn new(
        login: &str,
        first_name: &str,
        last_name: &str,
        email: &str,
        customer_id: &str,
    ) -> Self {
        NewCustomerUser::default()
            .with(keys::LOGIN, login)
            .with(keys::FIRST_NAME, first_name)
            .with(keys::LAST_NAME, last_name)
            .with(keys::EMAIL, email)
            .with(keys::CUSTOMER_ID, customer_id)
    }

    /// Sets an attribute (a standard key or an extra one from the map).
    pub fn with(mut self, key: &str, value: impl Into<AttributeValue>) -> Self {
        self.attributes.insert(key.to_owned(), value.into());
        self
    }

    /// Sets the validity.
    pub fn validity(self, validity: Validity) -> Self {
        self.with(keys::VALID, AttributeValue::Integer(validity.id().into()))
    }

    /// Sets the password.
    pub fn password(mut self, password: impl Into<Password>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The login as given (may be missing or invalid until validated).
    pub fn login(&self) -> Option<String> {
        self.attributes
            .get(keys::LOGIN)
            .map(AttributeValue::to_text)
    }

    /// Validates against the rules and returns the record to store. A missing `ValidID` means
    /// valid.
    pub fn validate(&self, rules: &Rules<'_>) -> Result<CustomerUser, ValidationError> {
        let mut attributes = self.attributes.clone();
        attributes
            .entry(keys::VALID.into())
            .or_insert(AttributeValue::Integer(1));
        validate(&attributes, rules, Mode::Add)?;
        typed_user(attributes)
    }
}

/// Checks the identifier newtypes' own rules, then builds the record.
fn typed_user(attributes: Attributes) -> Result<CustomerUser, ValidationError> {
    let get = |k: &str| {
        attributes
            .get(k)
            .map(AttributeValue::to_text)
            .unwrap_or_default()
    };
    Login::new(get(keys::LOGIN))?;
    Email::new(get(keys::EMAIL))?;
    CustomerId::new(get(keys::CUSTOMER_ID))?;
    if let Some(ids) = attributes.get(keys::CUSTOMER_IDS) {
        for id in CustomerId::split_list(&ids.to_text()) {
            CustomerId::new(id.into_string()).map_err(|e| match e {
                ValidationError::Required { .. } => ValidationError::Required {
                    field: keys::CUSTOMER_IDS.into(),
                },
                other => other,
            })?;
        }
    }
    CustomerUser::from_attributes(attributes)
}

/// A change set for an existing customer user. Only the attributes set here change; setting an
/// attribute to `""` clears it. Setting `UserLogin` renames the user.
///
/// `expected_change_time` enables optimistic concurrency: when set, the update fails with a
/// conflict if the stored record changed since the caller read it.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CustomerUserChanges {
    /// Attribute key → new value.
    pub attributes: Attributes,
    /// A new password.
    pub password: Option<Password>,
}

impl CustomerUserChanges {
    /// An empty change set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Changes an attribute.
    pub fn set(mut self, key: &str, value: impl Into<AttributeValue>) -> Self {
        self.attributes.insert(key.to_owned(), value.into());
        self
    }

    /// Changes the validity.
    pub fn validity(self, validity: Validity) -> Self {
        self.set(keys::VALID, AttributeValue::Integer(validity.id().into()))
    }

    /// Sets a new password.
    pub fn password(mut self, password: impl Into<Password>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// The new login, when this change renames the user.
    pub fn new_login(&self) -> Option<String> {
        self.attributes
            .get(keys::LOGIN)
            .map(AttributeValue::to_text)
    }

    /// Applies the changes to `current` and validates the result. Read-only map rows keep their
    /// stored value (OTOBO skips them in the UPDATE); changing one is an error naming it.
    pub fn apply(
        &self,
        current: &CustomerUser,
        rules: &Rules<'_>,
    ) -> Result<CustomerUser, ValidationError> {
        let mut attributes = current.attributes();
        for (key, value) in &self.attributes {
            if let Some(row) = rules.map.by_key(key)
                && row.read_only
                && current.attribute(key).as_ref() != Some(value)
            {
                return Err(ValidationError::Invalid {
                    field: key.clone(),
                    value: shorten(&value.to_text()),
                    reason: "the attribute is read-only in this source".into(),
                });
            }
            if value.is_empty() {
                attributes.remove(key);
            } else {
                attributes.insert(key.clone(), value.clone());
            }
        }
        validate(&attributes, rules, Mode::Update)?;
        let mut user = typed_user(attributes)?;
        user.audit = current.audit.clone();
        Ok(user)
    }
}
