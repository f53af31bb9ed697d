//! Attribute values and the merged customer record the mapper reads from.

use std::collections::BTreeMap;
use std::collections::btree_map;

use serde::{Deserialize, Serialize};

/// One value of a customer-record attribute or of a ticket dynamic field.
///
/// Serialised as a string ([`FieldValue::Text`]) or an array of strings
/// ([`FieldValue::List`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    /// A single text value (OTOBO: a scalar).
    Text(String),
    /// Several values in order (OTOBO: an array reference, as a multi-value customer-user
    /// dynamic field or `UserCustomerIDs` holds them).
    List(Vec<String>),
}

impl FieldValue {
    /// A single text value.
    pub fn text(value: impl Into<String>) -> Self {
        FieldValue::Text(value.into())
    }

    /// A list of values, in the order given.
    pub fn list<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        FieldValue::List(values.into_iter().map(Into::into).collect())
    }

    /// The text of a [`FieldValue::Text`], `None` for a list.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            FieldValue::Text(text) => Some(text),
            FieldValue::List(_) => None,
        }
    }

    /// Every value: one for a text, all of them for a list.
    pub fn values(&self) -> &[String] {
        match self {
            FieldValue::Text(text) => std::slice::from_ref(text),
            FieldValue::List(values) => values,
        }
    }

    /// `true` for the empty text and the empty list: a ticket field holding this has no value
    /// (what [`WritePolicy::OnlyIfEmpty`](crate::WritePolicy::OnlyIfEmpty) looks at).
    pub fn is_empty(&self) -> bool {
        match self {
            FieldValue::Text(text) => text.is_empty(),
            FieldValue::List(values) => values.is_empty(),
        }
    }

    /// `true` when OTOBO would treat the attribute as missing: the empty text, the text `"0"`
    /// (Perl-false; OTOBO writes `$CustomerUserData{$Key} || ''`) and the empty list.
    ///
    /// A list is never Perl-false in OTOBO (an array reference is true); Clientele treats the
    /// empty list as missing because there is nothing to write.
    pub fn is_missing(&self) -> bool {
        match self {
            FieldValue::Text(text) => text.is_empty() || text == "0",
            FieldValue::List(values) => values.is_empty(),
        }
    }
}

impl From<&str> for FieldValue {
    fn from(value: &str) -> Self {
        FieldValue::Text(value.to_owned())
    }
}

impl From<String> for FieldValue {
    fn from(value: String) -> Self {
        FieldValue::Text(value)
    }
}

impl From<Vec<String>> for FieldValue {
    fn from(values: Vec<String>) -> Self {
        FieldValue::List(values)
    }
}

impl From<Vec<&str>> for FieldValue {
    fn from(values: Vec<&str>) -> Self {
        FieldValue::list(values)
    }
}

/// The merged record of one customer user that mapping rules read from: OTOBO's
/// `CustomerUserDataGet` result of the multiplexer (reference §2.10).
///
/// An ordered map from attribute key (`UserLogin`, `UserFirstname`, `CustomerCompanyName`,
/// `DynamicField_Room`, a preference key, …; see [`keys`]) to its [`FieldValue`]. Build one
/// directly with [`CustomerRecord::with`] / [`CustomerRecord::insert`], or with
/// [`CustomerRecord::builder`], which applies OTOBO's precedence between user, company,
/// preference and dynamic-field attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CustomerRecord {
    attributes: BTreeMap<String, FieldValue>,
}

impl CustomerRecord {
    /// An empty record.
    pub fn new() -> Self {
        Self::default()
    }

    /// A builder that merges user, company, preference and dynamic-field attributes with
    /// OTOBO's precedence.
    pub fn builder() -> CustomerRecordBuilder {
        CustomerRecordBuilder::default()
    }

    /// This record with `key` set to `value` (replacing an earlier value).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<FieldValue>) -> Self {
        self.insert(key, value);
        self
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Into<FieldValue>,
    ) -> Option<FieldValue> {
        self.attributes.insert(key.into(), value.into())
    }

    /// The value of `key`, if the record has it.
    pub fn get(&self, key: &str) -> Option<&FieldValue> {
        self.attributes.get(key)
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<FieldValue> {
        self.attributes.remove(key)
    }

    /// `true` when the record has `key` (whatever its value).
    pub fn contains(&self, key: &str) -> bool {
        self.attributes.contains_key(key)
    }

    /// The number of attributes.
    pub fn len(&self) -> usize {
        self.attributes.len()
    }

    /// `true` when the record has no attributes.
    pub fn is_empty(&self) -> bool {
        self.attributes.is_empty()
    }

    /// The attributes, ordered by key.
    pub fn iter(&self) -> btree_map::Iter<'_, String, FieldValue> {
        self.attributes.iter()
    }

    /// The `UserLogin` attribute, when it is a text.
    pub fn login(&self) -> Option<&str> {
        self.get(keys::USER_LOGIN).and_then(FieldValue::as_text)
    }
}

impl<K: Into<String>, V: Into<FieldValue>> FromIterator<(K, V)> for CustomerRecord {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut record = CustomerRecord::new();
        record.extend(iter);
        record
    }
}

impl<K: Into<String>, V: Into<FieldValue>> Extend<(K, V)> for CustomerRecord {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (key, value) in iter {
            self.insert(key, value);
        }
    }
}

impl IntoIterator for CustomerRecord {
    type Item = (String, FieldValue);
    type IntoIter = btree_map::IntoIter<String, FieldValue>;

    fn into_iter(self) -> Self::IntoIter {
        self.attributes.into_iter()
    }
}

impl<'a> IntoIterator for &'a CustomerRecord {
    type Item = (&'a String, &'a FieldValue);
    type IntoIter = btree_map::Iter<'a, String, FieldValue>;

    fn into_iter(self) -> Self::IntoIter {
        self.attributes.iter()
    }
}

/// Builds a [`CustomerRecord`] from its four parts with OTOBO's precedence, whatever the order
/// of the calls: a dynamic-field value beats a preference, which beats a user attribute, which
/// beats a company attribute with the same key.
///
/// That is the order in which OTOBO fills the record: the DB backend returns the user's columns
/// overridden by the user's preferences (reference §3.4), the multiplexer then writes the
/// customer-user dynamic fields over them and finally lets the customer keys override the
/// company's (§2.10) — so the user's `ValidID` wins and the company's travels as
/// `CustomerCompanyValidID` (see [`keys`]).
///
/// ```
/// use clientele_dynamic_fields::{CustomerRecord, FieldValue, keys};
///
/// let record = CustomerRecord::builder()
///     .company_attribute(keys::CUSTOMER_ID, "acme")
///     .company_attribute(keys::CUSTOMER_COMPANY_NAME, "Acme Inc.")
///     .company_attribute(keys::VALID_ID, "2")
///     .user_attribute(keys::USER_LOGIN, "jdoe")
///     .user_attribute(keys::VALID_ID, "1")
///     .preference("UserLanguage", "de")
///     .dynamic_field(keys::dynamic_field("Skills"), vec!["rust", "perl"])
///     .build();
///
/// assert_eq!(record.get(keys::VALID_ID), Some(&FieldValue::text("1")));
/// assert_eq!(record.get("DynamicField_Skills"), Some(&FieldValue::list(["rust", "perl"])));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerRecordBuilder {
    company: CustomerRecord,
    user: CustomerRecord,
    preferences: CustomerRecord,
    dynamic_fields: CustomerRecord,
}

impl CustomerRecordBuilder {
    /// Adds an attribute of the customer user (`UserLogin`, `UserFirstname`, an extra map
    /// attribute such as `UserRoom`, …).
    pub fn user_attribute(mut self, key: impl Into<String>, value: impl Into<FieldValue>) -> Self {
        self.user.insert(key, value);
        self
    }

    /// Adds several customer-user attributes.
    pub fn user_attributes<K, V>(mut self, attributes: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<FieldValue>,
    {
        self.user.extend(attributes);
        self
    }

    /// Adds an attribute of the user's primary company (`CustomerID`, `CustomerCompanyName`, …).
    pub fn company_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<FieldValue>,
    ) -> Self {
        self.company.insert(key, value);
        self
    }

    /// Adds several company attributes.
    pub fn company_attributes<K, V>(mut self, attributes: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<FieldValue>,
    {
        self.company.extend(attributes);
        self
    }

    /// Adds one of the user's preferences (key as stored, e.g. `UserLanguage`).
    pub fn preference(mut self, key: impl Into<String>, value: impl Into<FieldValue>) -> Self {
        self.preferences.insert(key, value);
        self
    }

    /// Adds several preferences.
    pub fn preferences<K, V>(mut self, preferences: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<FieldValue>,
    {
        self.preferences.extend(preferences);
        self
    }

    /// Adds the value of a customer-user dynamic field under its attribute-map key, which by
    /// OTOBO's convention is `DynamicField_<name>` ([`keys::dynamic_field`] builds it). The key
    /// is used exactly as given.
    pub fn dynamic_field(mut self, key: impl Into<String>, value: impl Into<FieldValue>) -> Self {
        self.dynamic_fields.insert(key, value);
        self
    }

    /// Adds several customer-user dynamic-field values (keys used exactly as given).
    pub fn dynamic_fields<K, V>(mut self, values: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<FieldValue>,
    {
        self.dynamic_fields.extend(values);
        self
    }

    /// The merged record.
    pub fn build(self) -> CustomerRecord {
        let mut record = self.company;
        record.extend(self.user);
        record.extend(self.preferences);
        record.extend(self.dynamic_fields);
        record
    }
}

/// The attribute keys OTOBO's default attribute maps use (reference §1.2 and §1.4), for
/// building a [`CustomerRecord`] and writing mapping rules: names for `clientele_model::keys`.
pub mod keys {
    // The values are clientele-model's (`clientele_model::keys`), their one home; these names
    // are the mapping rules' vocabulary.
    /// The login (OTOBO map column `login`).
    pub const USER_LOGIN: &str = clientele_model::keys::LOGIN;
    /// OTOBO's compatibility copy of the login.
    pub const USER_ID: &str = clientele_model::keys::USER_ID;
    /// Title or salutation.
    pub const USER_TITLE: &str = clientele_model::keys::TITLE;
    /// First name.
    pub const USER_FIRSTNAME: &str = clientele_model::keys::FIRST_NAME;
    /// Last name.
    pub const USER_LASTNAME: &str = clientele_model::keys::LAST_NAME;
    /// The full name built from the name fields (OTOBO `CustomerName`).
    pub const USER_FULLNAME: &str = clientele_model::keys::FULLNAME;
    /// E-mail address.
    pub const USER_EMAIL: &str = clientele_model::keys::EMAIL;
    /// `"Name" <mail>` string.
    pub const USER_MAIL_STRING: &str = clientele_model::keys::MAIL_STRING;
    /// The primary company id of the user.
    pub const USER_CUSTOMER_ID: &str = clientele_model::keys::CUSTOMER_ID;
    /// The secondary company ids of the user.
    pub const USER_CUSTOMER_IDS: &str = clientele_model::keys::CUSTOMER_IDS;
    /// Phone.
    pub const USER_PHONE: &str = clientele_model::keys::PHONE;
    /// Fax.
    pub const USER_FAX: &str = clientele_model::keys::FAX;
    /// Mobile phone.
    pub const USER_MOBILE: &str = clientele_model::keys::MOBILE;
    /// Street.
    pub const USER_STREET: &str = clientele_model::keys::STREET;
    /// Zip code.
    pub const USER_ZIP: &str = clientele_model::keys::ZIP;
    /// City.
    pub const USER_CITY: &str = clientele_model::keys::CITY;
    /// Country.
    pub const USER_COUNTRY: &str = clientele_model::keys::COUNTRY;
    /// Comment.
    pub const USER_COMMENT: &str = clientele_model::keys::COMMENT;
    /// The user's validity id (1 valid, 2 invalid, 3 invalid-temporarily).
    pub const VALID_ID: &str = clientele_model::keys::VALID;
    /// The company id (from the company record).
    pub const CUSTOMER_ID: &str = clientele_model::keys::COMPANY_ID;
    /// The company name.
    pub const CUSTOMER_COMPANY_NAME: &str = clientele_model::keys::COMPANY_NAME;
    /// The company street.
    pub const CUSTOMER_COMPANY_STREET: &str = clientele_model::keys::COMPANY_STREET;
    /// The company zip code.
    pub const CUSTOMER_COMPANY_ZIP: &str = clientele_model::keys::COMPANY_ZIP;
    /// The company city.
    pub const CUSTOMER_COMPANY_CITY: &str = clientele_model::keys::COMPANY_CITY;
    /// The company country.
    pub const CUSTOMER_COMPANY_COUNTRY: &str = clientele_model::keys::COMPANY_COUNTRY;
    /// The company URL.
    pub const CUSTOMER_COMPANY_URL: &str = clientele_model::keys::COMPANY_URL;
    /// The company comment.
    pub const CUSTOMER_COMPANY_COMMENT: &str = clientele_model::keys::COMPANY_COMMENT;
    /// The company's validity id (the user's is [`VALID_ID`]).
    pub const CUSTOMER_COMPANY_VALID_ID: &str = clientele_model::keys::COMPANY_VALID;
    /// The prefix of customer-user dynamic-field keys.
    pub const DYNAMIC_FIELD_PREFIX: &str = "DynamicField_";

    /// The record key of the customer-user dynamic field `name`: `DynamicField_<name>`.
    pub fn dynamic_field(name: &str) -> String {
        format!("{DYNAMIC_FIELD_PREFIX}{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_false_values_are_missing() {
        assert!(FieldValue::text("").is_missing());
        assert!(FieldValue::text("0").is_missing());
        assert!(FieldValue::List(Vec::new()).is_missing());
        assert!(!FieldValue::text("00").is_missing());
        assert!(!FieldValue::text(" ").is_missing());
        assert!(!FieldValue::list(["0"]).is_missing());
    }

    #[test]
    fn empty_is_not_zero() {
        assert!(FieldValue::text("").is_empty());
        assert!(!FieldValue::text("0").is_empty());
    }

    #[test]
    fn builder_precedence_does_not_depend_on_call_order() {
        let record = CustomerRecord::builder()
            .dynamic_field("K", "df")
            .preference("K", "pref")
            .user_attribute("K", "user")
            .company_attribute("K", "company")
            .preference("P", "pref")
            .user_attribute("P", "user")
            .company_attribute("C", "company")
            .user_attribute("U", "user")
            .company_attribute("U", "company")
            .build();
        assert_eq!(record.get("K"), Some(&FieldValue::text("df")));
        assert_eq!(record.get("P"), Some(&FieldValue::text("pref")));
        assert_eq!(record.get("U"), Some(&FieldValue::text("user")));
        assert_eq!(record.get("C"), Some(&FieldValue::text("company")));
    }

    #[test]
    fn values_serialise_as_string_or_array() {
        let record = CustomerRecord::new()
            .with("A", "x")
            .with("B", vec!["y", "z"]);
        let json = serde_json::to_string(&record).unwrap();
        assert_eq!(json, r#"{"A":"x","B":["y","z"]}"#);
        let back: CustomerRecord = serde_json::from_str(&json).unwrap();
        assert_eq!(back, record);
    }
}
