//! Customer companies (OTOBO "Customer").

use serde::{Deserialize, Serialize};

use crate::attribute::{AttributeValue, Attributes, keys};
use crate::error::{ValidationError, shorten};
use crate::ids::CustomerId;
use crate::user::Audit;
use crate::validation::{Mode, Rules, validate};
use crate::validity::Validity;

/// A customer company as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerCompany {
    /// `CustomerID`, the key.
    pub customer_id: CustomerId,
    /// `CustomerCompanyName` (unique).
    pub name: String,
    /// `CustomerCompanyStreet`.
    pub street: Option<String>,
    /// `CustomerCompanyZIP`.
    pub zip: Option<String>,
    /// `CustomerCompanyCity`.
    pub city: Option<String>,
    /// `CustomerCompanyCountry`.
    pub country: Option<String>,
    /// `CustomerCompanyURL`.
    pub url: Option<String>,
    /// `CustomerCompanyComment`.
    pub comment: Option<String>,
    /// `ValidID`.
    pub validity: Validity,
    /// Extra attributes from the company map.
    pub extra: Attributes,
    /// Audit fields.
    pub audit: Audit,
}

/// The standard attribute keys a [`CustomerCompany`] has fields for.
pub const COMPANY_KEYS: [&str; 9] = [
    keys::COMPANY_ID,
    keys::COMPANY_NAME,
    keys::COMPANY_STREET,
    keys::COMPANY_ZIP,
    keys::COMPANY_CITY,
    keys::COMPANY_COUNTRY,
    keys::COMPANY_URL,
    keys::COMPANY_COMMENT,
    keys::VALID,
];

fn text(v: Option<AttributeValue>) -> Option<String> {
    v.map(|v| v.to_text()).filter(|s| !s.is_empty())
}

impl CustomerCompany {
    /// The value of an attribute by key.
    pub fn attribute(&self, key: &str) -> Option<AttributeValue> {
        use keys::*;
        let o = |v: &Option<String>| v.as_ref().map(|s| AttributeValue::Text(s.clone()));
        match key {
            COMPANY_ID => Some(self.customer_id.as_str().into()),
            COMPANY_NAME => Some(self.name.as_str().into()),
            COMPANY_STREET => o(&self.street),
            COMPANY_ZIP => o(&self.zip),
            COMPANY_CITY => o(&self.city),
            COMPANY_COUNTRY => o(&self.country),
            COMPANY_URL => o(&self.url),
            COMPANY_COMMENT => o(&self.comment),
            VALID => Some(AttributeValue::Integer(self.validity.id().into())),
            other => self.extra.get(other).cloned(),
        }
    }

    /// Every attribute that has a value.
    pub fn attributes(&self) -> Attributes {
        let mut out: Attributes = COMPANY_KEYS
            .iter()
            .filter_map(|k| self.attribute(k).map(|v| (k.to_string(), v)))
            .collect();
        out.extend(self.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }

    /// Builds a company from stored attributes.
    pub fn from_attributes(mut a: Attributes) -> Result<Self, ValidationError> {
        use keys::*;
        let customer_id = text(a.remove(COMPANY_ID)).ok_or_else(|| ValidationError::Required {
            field: COMPANY_ID.into(),
        })?;
        let validity = match a.remove(VALID) {
            None => Validity::Valid,
            Some(AttributeValue::Integer(i)) => Validity::from_id(i)?,
            Some(v) => {
                let t = v.to_text();
                Validity::from_id(t.trim().parse().map_err(|_| ValidationError::Invalid {
                    field: VALID.into(),
                    value: shorten(&t),
                    reason: "not an integer".into(),
                })?)?
            }
        };
        Ok(CustomerCompany {
            customer_id: CustomerId::from_stored(customer_id),
            name: text(a.remove(COMPANY_NAME)).unwrap_or_default(),
            street: text(a.remove(COMPANY_STREET)),
            zip: text(a.remove(COMPANY_ZIP)),
            city: text(a.remove(COMPANY_CITY)),
            country: text(a.remove(COMPANY_COUNTRY)),
            url: text(a.remove(COMPANY_URL)),
            comment: text(a.remove(COMPANY_COMMENT)),
            validity,
            extra: a.into_iter().filter(|(_, v)| !v.is_empty()).collect(),
            audit: Audit::default(),
        })
    }
}

/// The input for a new company.
///
/// ```
/// use clientele_model::{AttributeMap, EmailCheck, NewCustomerCompany, Rules};
/// let map = AttributeMap::otobo_customer_company();
/// let email = EmailCheck::default();
/// let c = NewCustomerCompany::new("ACME", "Acme Corporation").with("CustomerCompanyCity", "Berlin");
/// let company = c.validate(&Rules { map: &map, email: &email }).unwrap();
/// assert_eq!(company.city.as_deref(), Some("Berlin"));
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NewCustomerCompany {
    /// Attribute key → value.
    pub attributes: Attributes,
}

impl NewCustomerCompany {
    /// A valid company with its id and name.
    pub fn new(customer_id: &str, name: &str) -> Self {
        NewCustomerCompany::default()
            .with(keys::COMPANY_ID, customer_id)
            .with(keys::COMPANY_NAME, name)
    }

    /// Sets an attribute.
    pub fn with(mut self, key: &str, value: impl Into<AttributeValue>) -> Self {
        self.attributes.insert(key.to_owned(), value.into());
        self
    }

    /// Sets the validity.
    pub fn validity(self, validity: Validity) -> Self {
        self.with(keys::VALID, AttributeValue::Integer(validity.id().into()))
    }

    /// Validates and returns the record to store.
    pub fn validate(&self, rules: &Rules<'_>) -> Result<CustomerCompany, ValidationError> {
        let mut a = self.attributes.clone();
        a.entry(keys::VALID.into())
            .or_insert(AttributeValue::Integer(1));
        validate(&a, rules, Mode::Add)?;
        CustomerId::new(
            a.get(keys::COMPANY_ID)
                .map(|v| v.to_text())
                .unwrap_or_default(),
        )?;
        CustomerCompany::from_attributes(a)
    }
}

/// A change set for a company; `""` clears an attribute. Changing `CustomerID` is refused (OTOBO
/// renames users and tickets on such a change; Clientele does not do that implicitly).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CustomerCompanyChanges {
    /// Attribute key → new value.
    pub attributes: Attributes,
}

impl CustomerCompanyChanges {
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

    /// Applies the changes and validates the result.
    pub fn apply(
        &self,
        current: &CustomerCompany,
        rules: &Rules<'_>,
    ) -> Result<CustomerCompany, ValidationError> {
        let mut a = current.attributes();
        for (k, v) in &self.attributes {
            if k == keys::COMPANY_ID && v.to_text() != current.customer_id.as_str() {
                return Err(ValidationError::Invalid {
                    field: k.clone(),
                    value: shorten(&v.to_text()),
                    reason: "a company's customer id cannot be changed".into(),
                });
            }
            if v.is_empty() {
                a.remove(k);
            } else {
                a.insert(k.clone(), v.clone());
            }
        }
        validate(&a, rules, Mode::Update)?;
        let mut c = CustomerCompany::from_attributes(a)?;
        c.audit = current.audit.clone();
        Ok(c)
    }
}
