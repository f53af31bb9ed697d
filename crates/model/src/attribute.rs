//! The attribute map (OTOBO `Map`): which attributes a source has, where each is stored, and
//! the rules for it. It is configuration, not code: adding a `room` attribute is one row here
//! plus one column in the table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::limits;

/// Attribute keys OTOBO gives special meaning to.
pub mod keys {
    /// `UserLogin`.
    pub const LOGIN: &str = "UserLogin";
    /// `UserPassword`.
    pub const PASSWORD: &str = "UserPassword";
    /// `UserTitle`.
    pub const TITLE: &str = "UserTitle";
    /// `UserFirstname`.
    pub const FIRST_NAME: &str = "UserFirstname";
    /// `UserLastname`.
    pub const LAST_NAME: &str = "UserLastname";
    /// `UserEmail`.
    pub const EMAIL: &str = "UserEmail";
    /// `UserCustomerID` (primary company).
    pub const CUSTOMER_ID: &str = "UserCustomerID";
    /// `UserCustomerIDs` (secondary companies).
    pub const CUSTOMER_IDS: &str = "UserCustomerIDs";
    /// `UserPhone`.
    pub const PHONE: &str = "UserPhone";
    /// `UserFax`.
    pub const FAX: &str = "UserFax";
    /// `UserMobile`.
    pub const MOBILE: &str = "UserMobile";
    /// `UserStreet`.
    pub const STREET: &str = "UserStreet";
    /// `UserZip`.
    pub const ZIP: &str = "UserZip";
    /// `UserCity`.
    pub const CITY: &str = "UserCity";
    /// `UserCountry`.
    pub const COUNTRY: &str = "UserCountry";
    /// `UserComment`.
    pub const COMMENT: &str = "UserComment";
    /// `ValidID`, for users and companies.
    pub const VALID: &str = "ValidID";
    /// `CustomerID`, the company key.
    pub const COMPANY_ID: &str = "CustomerID";
    /// `CustomerCompanyName`.
    pub const COMPANY_NAME: &str = "CustomerCompanyName";
    /// `CustomerCompanyStreet`.
    pub const COMPANY_STREET: &str = "CustomerCompanyStreet";
    /// `CustomerCompanyZIP`.
    pub const COMPANY_ZIP: &str = "CustomerCompanyZIP";
    /// `CustomerCompanyCity`.
    pub const COMPANY_CITY: &str = "CustomerCompanyCity";
    /// `CustomerCompanyCountry`.
    pub const COMPANY_COUNTRY: &str = "CustomerCompanyCountry";
    /// `CustomerCompanyURL`.
    pub const COMPANY_URL: &str = "CustomerCompanyURL";
    /// `CustomerCompanyComment`.
    pub const COMPANY_COMMENT: &str = "CustomerCompanyComment";
    /// `UserID`: OTOBO's compatibility copy of the login in a merged record.
    pub const USER_ID: &str = "UserID";
    /// `UserFullname`: the name fields joined (OTOBO `CustomerName`), in a merged record.
    pub const FULLNAME: &str = "UserFullname";
    /// `UserMailString`: the `"Name" <mail>` display string, in a merged record.
    pub const MAIL_STRING: &str = "UserMailString";
    /// `CustomerCompanyValidID`: the company's validity in a merged record.
    pub const COMPANY_VALID: &str = "CustomerCompanyValidID";
    /// `CreateTime`, `CreateBy`, `ChangeTime`, `ChangeBy`: the audit columns in a record.
    pub const CREATE_TIME: &str = "CreateTime";
    /// See [`CREATE_TIME`].
    pub const CREATE_BY: &str = "CreateBy";
    /// See [`CREATE_TIME`].
    pub const CHANGE_TIME: &str = "ChangeTime";
    /// See [`CREATE_TIME`].
    pub const CHANGE_BY: &str = "ChangeBy";
}

/// How an attribute is stored (OTOBO map column 5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageType {
    /// Text (OTOBO `var`).
    #[default]
    String,
    /// Integer (OTOBO `int`).
    Integer,
    /// A customer-user dynamic field; `storage` names the field (OTOBO `dynamic_field`).
    DynamicField,
}

/// When the UI shows an attribute (OTOBO map column 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shown {
    /// Not shown (0).
    #[default]
    Hidden,
    /// Always shown (1).
    Always,
    /// Shown in the "lite" view only (2).
    Lite,
}

/// One row of the attribute map (all ten OTOBO columns, plus an optional maximum length).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttributeMapping {
    /// Attribute key, e.g. `UserFirstname` or `UserRoom` (column 0).
    pub key: String,
    /// UI label (column 1).
    #[serde(default)]
    pub label: String,
    /// Column or LDAP attribute; for a dynamic field, the field name (column 2).
    pub storage: String,
    /// Whether the UI shows it (column 3).
    #[serde(default)]
    pub shown: Shown,
    /// Must have a value on add and update (column 4).
    #[serde(default)]
    pub required: bool,
    /// Storage type (column 5).
    #[serde(default)]
    pub storage_type: StorageType,
    /// HTTP link template (column 6).
    #[serde(default)]
    pub link: String,
    /// Updates leave it unchanged (column 7).
    #[serde(default)]
    pub read_only: bool,
    /// Link target (column 8).
    #[serde(default)]
    pub link_target: String,
    /// Link CSS classes (column 9).
    #[serde(default)]
    pub link_class: String,
    /// Maximum length in characters; `None` = the OTOBO column size for standard keys, 3 800 for
    /// a dynamic field (`value_text`), 250 for other extra attributes.
    #[serde(default)]
    pub max_length: Option<usize>,
    /// The values the attribute may take, with their labels (OTOBO's `Selections` entry for
    /// this key); empty = any text. A write with another value is refused, naming it.
    #[serde(default, skip_serializing_if = "Selections::is_empty")]
    pub selections: Selections,
}

/// The allowed values of an attribute and their labels: OTOBO's
/// `Selections => { UserTitle => { 'Mr.' => 'Mr.', 'Mrs.' => 'Mrs.' } }` for one key.
///
/// In a configuration file it is a table of value = label, or a list of values that are their
/// own labels:
///
/// ```
/// use clientele_model::attribute::Selections;
///
/// let listed: Selections = serde_json::from_str(r#"["Mr.", "Mrs."]"#).unwrap();
/// let labelled: Selections = serde_json::from_str(r#"{"Mr.": "Mr.", "Mrs.": "Mrs."}"#).unwrap();
/// assert_eq!(listed, labelled);
/// assert!(listed.contains("Mrs.") && !listed.contains("Dr."));
/// assert_eq!(listed.values().collect::<Vec<_>>(), ["Mr.", "Mrs."]);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Selections(BTreeMap<String, String>);

impl Selections {
    /// Values with their labels.
    pub fn new<V: Into<String>, L: Into<String>>(pairs: impl IntoIterator<Item = (V, L)>) -> Self {
        Selections(
            pairs
                .into_iter()
                .map(|(v, l)| (v.into(), l.into()))
                .collect(),
        )
    }

    /// Values that are their own labels.
    pub fn of_values<V: Into<String>>(values: impl IntoIterator<Item = V>) -> Self {
        Selections(
            values
                .into_iter()
                .map(|v| {
                    let v = v.into();
                    (v.clone(), v)
                })
                .collect(),
        )
    }

    /// No selection: any value is allowed.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `value` is one of the allowed values (exactly, as OTOBO compares hash keys).
    pub fn contains(&self, value: &str) -> bool {
        self.0.contains_key(value)
    }

    /// The allowed values, in code-point order.
    pub fn values(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The label of an allowed value.
    pub fn label(&self, value: &str) -> Option<&str> {
        self.0.get(value).map(String::as_str)
    }
}

impl<'de> Deserialize<'de> for Selections {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged, expecting = "a list of values or a table of value = label")]
        enum Raw {
            Labelled(BTreeMap<String, String>),
            Listed(Vec<String>),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Labelled(map) => Selections(map),
            Raw::Listed(values) => Selections::of_values(values),
        })
    }
}

impl AttributeMapping {
    /// A string attribute shown in the UI, neither required nor read-only.
    pub fn new(
        key: impl Into<String>,
        label: impl Into<String>,
        storage: impl Into<String>,
    ) -> Self {
        AttributeMapping {
            key: key.into(),
            label: label.into(),
            storage: storage.into(),
            shown: Shown::Always,
            required: false,
            storage_type: StorageType::String,
            link: String::new(),
            read_only: false,
            link_target: String::new(),
            link_class: String::new(),
            max_length: None,
            selections: Selections::default(),
        }
    }

    /// Restricts it to these values (OTOBO `Selections`); see [`Selections`].
    ///
    /// ```
    /// use clientele_model::attribute::{AttributeMapping, Selections};
    /// let title = AttributeMapping::new("UserTitle", "Title", "title")
    ///     .selections(Selections::of_values(["Mr.", "Mrs.", "Dr."]));
    /// assert!(title.selections.contains("Dr."));
    /// ```
    pub fn selections(mut self, selections: Selections) -> Self {
        self.selections = selections;
        self
    }

    /// Marks it required.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Marks it read-only.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Hides it from the UI.
    pub fn hidden(mut self) -> Self {
        self.shown = Shown::Hidden;
        self
    }

    /// Sets the storage type.
    pub fn storage_type(mut self, storage_type: StorageType) -> Self {
        self.storage_type = storage_type;
        self
    }

    /// Sets the maximum length.
    pub fn max_length(mut self, max: usize) -> Self {
        self.max_length = Some(max);
        self
    }

    /// The maximum length that applies to this attribute (of each value, for a list).
    pub fn effective_max_length(&self) -> usize {
        self.max_length.unwrap_or_else(|| {
            if self.storage_type == StorageType::DynamicField {
                limits::DYNAMIC_FIELD_TEXT
            } else {
                default_max_length(&self.key)
            }
        })
    }
}

/// The OTOBO column size for a standard attribute key (250 for anything else).
pub fn default_max_length(key: &str) -> usize {
    use keys::*;
    match key {
        LOGIN => limits::LOGIN,
        EMAIL => limits::EMAIL,
        CUSTOMER_ID | COMPANY_ID => limits::CUSTOMER_ID,
        CUSTOMER_IDS => limits::CUSTOMER_IDS,
        TITLE => limits::TITLE,
        FIRST_NAME | LAST_NAME => limits::NAME,
        PHONE | FAX | MOBILE | STREET => limits::PHONE_STREET,
        ZIP | CITY | COUNTRY => limits::ZIP_CITY_COUNTRY,
        COMMENT | COMPANY_COMMENT => limits::COMMENT,
        COMPANY_NAME => limits::COMPANY_NAME,
        COMPANY_STREET | COMPANY_ZIP | COMPANY_CITY | COMPANY_COUNTRY | COMPANY_URL => {
            limits::COMPANY_TEXT
        }
        PASSWORD => 128,
        _ => limits::EXTRA_ATTRIBUTE,
    }
}

/// The attribute map of one source: an ordered list of [`AttributeMapping`] rows.
///
/// ```
/// use clientele_model::{AttributeMap, AttributeMapping};
/// let mut map = AttributeMap::otobo_customer_user();
/// map.push(AttributeMapping::new("UserRoom", "Room", "room"));
/// assert_eq!(map.by_key("UserRoom").unwrap().storage, "room");
/// assert_eq!(map.by_storage("first_name").unwrap().key, "UserFirstname");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AttributeMap {
    rows: Vec<AttributeMapping>,
}

impl AttributeMap {
    /// A map from rows.
    pub fn new(rows: Vec<AttributeMapping>) -> Self {
        AttributeMap { rows }
    }

    /// The rows, in order.
    pub fn rows(&self) -> &[AttributeMapping] {
        &self.rows
    }

    /// Appends a row (an extra attribute such as `room`).
    pub fn push(&mut self, row: AttributeMapping) {
        self.rows.push(row);
    }

    /// The row for an attribute key.
    pub fn by_key(&self, key: &str) -> Option<&AttributeMapping> {
        self.rows.iter().find(|r| r.key == key)
    }

    /// The first row stored in a column / LDAP attribute (compared case-insensitively, as LDAP
    /// attribute names are).
    pub fn by_storage(&self, storage: &str) -> Option<&AttributeMapping> {
        self.rows
            .iter()
            .find(|r| r.storage.eq_ignore_ascii_case(storage))
    }

    /// The storage name of an attribute key.
    pub fn storage_of(&self, key: &str) -> Option<&str> {
        self.by_key(key).map(|r| r.storage.as_str())
    }

    /// Rows that are not dynamic fields and not the password (the plain columns).
    pub fn columns(&self) -> impl Iterator<Item = &AttributeMapping> {
        self.rows
            .iter()
            .filter(|r| r.storage_type != StorageType::DynamicField && r.key != keys::PASSWORD)
    }

    /// OTOBO's default customer-user DB map (Defaults.pm `CustomerUser`), reference §1.2.
    pub fn otobo_customer_user() -> Self {
        use keys::*;
        let m = AttributeMapping::new;
        AttributeMap::new(vec![
            m(TITLE, "Title or salutation", "title"),
            m(FIRST_NAME, "Firstname", "first_name").required(),
            m(LAST_NAME, "Lastname", "last_name").required(),
            m(LOGIN, "Username", "login").required(),
            m(PASSWORD, "Password", "pw").hidden(),
            m(EMAIL, "Email", "email").required(),
            m(CUSTOMER_ID, "CustomerID", "customer_id")
                .required()
                .hidden(),
            m(PHONE, "Phone", "phone"),
            m(FAX, "Fax", "fax"),
            m(MOBILE, "Mobile", "mobile"),
            m(STREET, "Street", "street"),
            m(ZIP, "Zip", "zip"),
            m(CITY, "City", "city"),
            m(COUNTRY, "Country", "country"),
            m(COMMENT, "Comment", "comments"),
            m(VALID, "Valid", "valid_id")
                .required()
                .hidden()
                .storage_type(StorageType::Integer),
        ])
    }

    /// OTOBO's default company map (Defaults.pm `CustomerCompany`), reference §1.4.
    pub fn otobo_customer_company() -> Self {
        use keys::*;
        let m = AttributeMapping::new;
        AttributeMap::new(vec![
            m(COMPANY_ID, "CustomerID", "customer_id")
                .required()
                .hidden(),
            m(COMPANY_NAME, "Customer", "name").required(),
            m(COMPANY_STREET, "Street", "street"),
            m(COMPANY_ZIP, "Zip", "zip"),
            m(COMPANY_CITY, "City", "city"),
            m(COMPANY_COUNTRY, "Country", "country"),
            m(COMPANY_URL, "URL", "url"),
            m(COMPANY_COMMENT, "Comment", "comments"),
            m(VALID, "Valid", "valid_id")
                .required()
                .hidden()
                .storage_type(StorageType::Integer),
        ])
    }

    /// OTOBO's commented LDAP example map (reference §1.3): every row read-only, the customer id
    /// taken from `mail` unless configured otherwise.
    pub fn otobo_ldap_example() -> Self {
        use keys::*;
        let m = |k: &str, l: &str, s: &str| AttributeMapping::new(k, l, s).read_only();
        AttributeMap::new(vec![
            m(FIRST_NAME, "Firstname", "givenname").required(),
            m(LAST_NAME, "Lastname", "sn").required(),
            m(LOGIN, "Username", "uid").required(),
            m(EMAIL, "Email", "mail").required(),
            m(CUSTOMER_ID, "CustomerID", "mail").required().hidden(),
            m(PHONE, "Phone", "telephonenumber"),
            m(STREET, "Address", "postaladdress"),
            m(COMMENT, "Comment", "description"),
        ])
    }
}

/// A value of one attribute.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// Text (also the form every value is given in by a user).
    Text(String),
    /// An integer (OTOBO `int` storage).
    Integer(i64),
    /// Several values (an LDAP multi-valued attribute, a multi-value dynamic field).
    List(Vec<String>),
}

impl AttributeValue {
    /// The value as text: lists are joined with `;`.
    pub fn to_text(&self) -> String {
        match self {
            AttributeValue::Text(s) => s.clone(),
            AttributeValue::Integer(i) => i.to_string(),
            AttributeValue::List(l) => l.join(";"),
        }
    }

    /// `true` for an empty text or an empty list.
    pub fn is_empty(&self) -> bool {
        match self {
            AttributeValue::Text(s) => s.is_empty(),
            AttributeValue::Integer(_) => false,
            AttributeValue::List(l) => l.is_empty(),
        }
    }
}

impl From<&str> for AttributeValue {
    fn from(s: &str) -> Self {
        AttributeValue::Text(s.to_owned())
    }
}

impl From<String> for AttributeValue {
    fn from(s: String) -> Self {
        AttributeValue::Text(s)
    }
}

impl From<i64> for AttributeValue {
    fn from(i: i64) -> Self {
        AttributeValue::Integer(i)
    }
}

/// Attribute key → value.
pub type Attributes = BTreeMap<String, AttributeValue>;
