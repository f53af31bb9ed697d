//! What the ticket system provides: its ticket dynamic fields, the ticket's customer user,
//! current field values, a sink for writes, and the merged customer record.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::value::{CustomerRecord, FieldValue};

/// The kind of a ticket dynamic field, as far as it decides which values fit
/// (OTOBO field types).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FieldType {
    /// Single-line text: any text fits.
    Text,
    /// Multi-line text: any text fits.
    TextArea,
    /// A checkbox: `"1"` (checked) or `"0"`.
    Checkbox,
    /// A drop-down: any text, restricted by the definition's
    /// [`possible_values`](DynamicFieldDefinition::possible_values) when the host lists them.
    Dropdown,
    /// A multi-select: like [`FieldType::Dropdown`], several values.
    Multiselect,
    /// A date: `YYYY-MM-DD` or `YYYY-MM-DD 00:00:00`.
    Date,
    /// A date and time: `YYYY-MM-DD HH:MM:SS`.
    DateTime,
    /// Any other type of the host: any text fits; the host's sink decides.
    Other(String),
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldType::Text => f.write_str("Text"),
            FieldType::TextArea => f.write_str("TextArea"),
            FieldType::Checkbox => f.write_str("Checkbox"),
            FieldType::Dropdown => f.write_str("Dropdown"),
            FieldType::Multiselect => f.write_str("Multiselect"),
            FieldType::Date => f.write_str("Date"),
            FieldType::DateTime => f.write_str("DateTime"),
            FieldType::Other(name) => f.write_str(name),
        }
    }
}

/// Whether a ticket dynamic field holds one value or several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Cardinality {
    /// One value: the sink always receives a [`FieldValue::Text`].
    Single,
    /// Several values: the sink always receives a [`FieldValue::List`].
    Multiple,
}

/// A ticket dynamic field as the host declares it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicFieldDefinition {
    /// The field's name (what mapping rules name as `target`; case-sensitive).
    pub name: String,
    /// Its type.
    pub field_type: FieldType,
    /// One value or several.
    pub cardinality: Cardinality,
    /// `false` for a field that exists but is invalid (OTOBO `ValidID` ≠ 1); the mapper never
    /// writes it. A host that knows only its valid fields may leave invalid ones out; they are
    /// then reported as unknown.
    pub valid: bool,
    /// The values the field accepts, when it restricts them (drop-downs, multi-selects); `None`
    /// for no restriction.
    pub possible_values: Option<BTreeSet<String>>,
}

impl DynamicFieldDefinition {
    /// A valid field without value restriction; [`FieldType::Multiselect`] holds several values,
    /// every other type one.
    pub fn new(name: impl Into<String>, field_type: FieldType) -> Self {
        let cardinality = match field_type {
            FieldType::Multiselect => Cardinality::Multiple,
            _ => Cardinality::Single,
        };
        DynamicFieldDefinition {
            name: name.into(),
            field_type,
            cardinality,
            valid: true,
            possible_values: None,
        }
    }

    /// A valid single-value text field.
    pub fn text(name: impl Into<String>) -> Self {
        Self::new(name, FieldType::Text)
    }

    /// This field holding several values (OTOBO 10's multi-value text fields, for example).
    pub fn multi_value(mut self) -> Self {
        self.cardinality = Cardinality::Multiple;
        self
    }

    /// This field holding one value.
    pub fn single_value(mut self) -> Self {
        self.cardinality = Cardinality::Single;
        self
    }

    /// This field marked valid or invalid.
    pub fn with_valid(mut self, valid: bool) -> Self {
        self.valid = valid;
        self
    }

    /// This field accepting only these values.
    pub fn with_possible_values<S: Into<String>>(
        mut self,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        self.possible_values = Some(values.into_iter().map(Into::into).collect());
        self
    }
}

/// The value a ticket dynamic field holds now, and who set it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentValue {
    /// The value, `None` when the field has none.
    pub value: Option<FieldValue>,
    /// `true` when an agent (or anyone but this mapper) set the value by hand, including
    /// clearing it by hand.
    pub set_manually: bool,
}

impl CurrentValue {
    /// A value written automatically (by this mapper or another automation).
    pub fn automatic(value: impl Into<FieldValue>) -> Self {
        CurrentValue {
            value: Some(value.into()),
            set_manually: false,
        }
    }

    /// A value set by hand.
    pub fn manual(value: impl Into<FieldValue>) -> Self {
        CurrentValue {
            value: Some(value.into()),
            set_manually: true,
        }
    }

    /// `true` when the field has no value: none, the empty text or the empty list.
    pub fn is_empty(&self) -> bool {
        self.value.as_ref().is_none_or(FieldValue::is_empty)
    }
}

/// The read side of the ticket system: who a ticket's customer user is, which ticket dynamic
/// fields exist, and what they hold.
#[async_trait]
pub trait TicketSystem: Send + Sync {
    /// How the host identifies a ticket (OTOBO: the numeric `TicketID`).
    type TicketId: fmt::Debug + Send + Sync;
    /// The host's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The login of the ticket's customer user (OTOBO `CustomerUserID`); `None` (or the empty
    /// text) when the ticket has none.
    async fn customer_user_login(
        &self,
        ticket: &Self::TicketId,
    ) -> Result<Option<String>, Self::Error>;

    /// The ticket dynamic fields, valid and invalid (OTOBO `DynamicFieldList(ObjectType =>
    /// 'Ticket')`). When two definitions share a name, the first one counts.
    async fn ticket_dynamic_fields(&self) -> Result<Vec<DynamicFieldDefinition>, Self::Error>;

    /// The current values of `fields` on the ticket. A field missing from the answer has no
    /// value and was not set by hand. The mapper asks only for the fields whose rule's policy
    /// needs them, and not at all when no rule does.
    async fn current_values(
        &self,
        ticket: &Self::TicketId,
        fields: &[String],
    ) -> Result<BTreeMap<String, CurrentValue>, Self::Error>;
}

/// The write side of the ticket system: where the mapper's values go (OTOBO
/// `DynamicField::Backend->ValueSet`).
///
/// The mapper writes only valid fields it found in
/// [`TicketSystem::ticket_dynamic_fields`], always with the value's shape matching the field's
/// [`Cardinality`]. Writes made by the mapper are automatic: a host that tracks manual edits
/// records them as not set by hand.
#[async_trait]
pub trait DynamicFieldSink: Send + Sync {
    /// How the host identifies a ticket; the same type as its [`TicketSystem::TicketId`].
    type TicketId: fmt::Debug + Send + Sync;
    /// The host's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Sets `field` of the ticket to `value`.
    async fn set_value(
        &self,
        ticket: &Self::TicketId,
        field: &str,
        value: &FieldValue,
    ) -> Result<(), Self::Error>;

    /// Removes the value of `field` of the ticket (OTOBO sets `''`).
    async fn clear_value(&self, ticket: &Self::TicketId, field: &str) -> Result<(), Self::Error>;
}

/// Where the merged customer record comes from: given a login, the user's attributes, company
/// attributes, preferences and customer-user dynamic fields in one [`CustomerRecord`] (OTOBO
/// `CustomerUserDataGet` of the multiplexer). The `clientele` facade implements it for its
/// `Directory`.
#[async_trait]
pub trait CustomerRecordSource: Send + Sync {
    /// The source's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The record of the customer user `login`; `None` when there is no such user.
    async fn record(&self, login: &str) -> Result<Option<CustomerRecord>, Self::Error>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiselect_is_multi_value_by_default() {
        assert_eq!(
            DynamicFieldDefinition::new("M", FieldType::Multiselect).cardinality,
            Cardinality::Multiple
        );
        assert_eq!(
            DynamicFieldDefinition::new("D", FieldType::Dropdown).cardinality,
            Cardinality::Single
        );
    }

    #[test]
    fn current_value_emptiness() {
        assert!(CurrentValue::default().is_empty());
        assert!(CurrentValue::manual("").is_empty());
        assert!(CurrentValue::automatic(Vec::<String>::new()).is_empty());
        assert!(!CurrentValue::automatic("0").is_empty());
    }
}
