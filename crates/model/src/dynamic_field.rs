//! Customer-user dynamic fields (OTOBO `dynamic_field` with object type `CustomerUser`): the
//! field types, a field's definition as a store holds it, and the rules a value of each type
//! must follow. A map row with [`StorageType::DynamicField`](crate::StorageType::DynamicField)
//! names the field in its `storage`; the backend that stores such rows loads the definition and
//! checks values through [`DynamicFieldDefinition::values_to_store`].
//!
//! ```
//! use clientele_model::dynamic_field::{DynamicFieldDefinition, DynamicFieldType};
//! use clientele_model::AttributeValue;
//!
//! let department = DynamicFieldDefinition {
//!     name: "Department".into(),
//!     field_type: DynamicFieldType::Dropdown,
//!     possible_values: vec!["sales".into(), "support".into()],
//! };
//! assert!(department.values_to_store("UserDepartment", &"sales".into()).is_ok());
//! let refused = department
//!     .values_to_store("UserDepartment", &"marketing".into())
//!     .unwrap_err();
//! assert_eq!(refused.field(), "UserDepartment");
//! assert!(refused.to_string().contains("marketing"));
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::attribute::AttributeValue;
use crate::error::{ValidationError, shorten};
use crate::search::{DynamicFieldOperator, Pattern};

/// The object type of customer-user dynamic fields (`dynamic_field.object_type`).
pub const CUSTOMER_USER_OBJECT_TYPE: &str = "CustomerUser";

/// The field types Clientele stores (OTOBO `dynamic_field.field_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DynamicFieldType {
    /// One line of text (`Text`).
    Text,
    /// Several lines of text (`TextArea`).
    TextArea,
    /// One of the configured possible values (`Dropdown`).
    Dropdown,
    /// Any number of the configured possible values (`Multiselect`), one stored row each.
    Multiselect,
    /// A date (`Date`), stored at midnight.
    Date,
    /// A date and time to the second (`DateTime`).
    DateTime,
    /// `0` or `1` (`Checkbox`).
    Checkbox,
}

/// Which column of `dynamic_field_value` a field type's values live in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ValueColumn {
    /// `value_text`.
    Text,
    /// `value_date`.
    Date,
    /// `value_int`.
    Integer,
}

impl DynamicFieldType {
    /// The type OTOBO names `name` (`Text`, `TextArea`, `Dropdown`, `Multiselect`, `Date`,
    /// `DateTime`, `Checkbox`); `None` for any other type (a custom driver).
    pub fn from_otobo(name: &str) -> Option<Self> {
        Some(match name {
            "Text" => Self::Text,
            "TextArea" => Self::TextArea,
            "Dropdown" => Self::Dropdown,
            "Multiselect" => Self::Multiselect,
            "Date" => Self::Date,
            "DateTime" => Self::DateTime,
            "Checkbox" => Self::Checkbox,
            _ => return None,
        })
    }

    /// OTOBO's name of the type.
    pub fn otobo_name(self) -> &'static str {
        match self {
            Self::Text => "Text",
            Self::TextArea => "TextArea",
            Self::Dropdown => "Dropdown",
            Self::Multiselect => "Multiselect",
            Self::Date => "Date",
            Self::DateTime => "DateTime",
            Self::Checkbox => "Checkbox",
        }
    }

    /// The column its values are stored in.
    pub fn column(self) -> ValueColumn {
        match self {
            Self::Text | Self::TextArea | Self::Dropdown | Self::Multiselect => ValueColumn::Text,
            Self::Date | Self::DateTime => ValueColumn::Date,
            Self::Checkbox => ValueColumn::Integer,
        }
    }

    /// Whether its values are chosen from the configured possible values.
    pub fn has_possible_values(self) -> bool {
        matches!(self, Self::Dropdown | Self::Multiselect)
    }
}

impl fmt::Display for DynamicFieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.otobo_name())
    }
}

/// A calendar date and time to the second, without a time zone (OTOBO's `value_date`,
/// `YYYY-MM-DD HH:MM:SS`). Ordered in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FieldDateTime {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
}

impl FieldDateTime {
    /// A date and time from its parts, `None` when they are no such moment (month 13,
    /// 30 February, hour 24, a year outside 1–9999).
    pub fn new(
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    ) -> Option<Self> {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let days_in_month = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if !(1..=9999).contains(&year)
            || !(1..=days_in_month).contains(&day)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return None;
        }
        Some(FieldDateTime {
            year: year as u16,
            month: month as u8,
            day: day as u8,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
        })
    }

    /// Reads `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS` (a `T` may stand for the
    /// space); a date alone is midnight. Surrounding white space is ignored.
    ///
    /// ```
    /// use clientele_model::dynamic_field::FieldDateTime;
    /// let t = FieldDateTime::parse("2024-02-29 13:05").unwrap();
    /// assert_eq!(t.to_string(), "2024-02-29 13:05:00");
    /// assert!(FieldDateTime::parse("2023-02-29").is_none());
    /// assert!(FieldDateTime::parse("yesterday").is_none());
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (date, time) = match text.find([' ', 'T']) {
            Some(i) => (&text[..i], Some(text[i + 1..].trim_start())),
            None => (text, None),
        };
        let number = |s: &str, len: usize| -> Option<u32> {
            (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        let mut d = date.split('-');
        let year = number(d.next()?, 4)?;
        let month = number(d.next()?, 2)?;
        let day = number(d.next()?, 2)?;
        if d.next().is_some() {
            return None;
        }
        let (hour, minute, second) = match time {
            None => (0, 0, 0),
            Some(t) => {
                let mut p = t.split(':');
                let hour = number(p.next()?, 2)?;
                let minute = number(p.next()?, 2)?;
                let second = match p.next() {
                    Some(s) => number(s, 2)?,
                    None => 0,
                };
                if p.next().is_some() {
                    return None;
                }
                (hour, minute, second)
            }
        };
        Self::new(year as i32, month, day, hour, minute, second)
    }

    /// The year.
    pub fn year(&self) -> i32 {
        i32::from(self.year)
    }
    /// The month, 1–12.
    pub fn month(&self) -> u32 {
        u32::from(self.month)
    }
    /// The day of the month, 1–31.
    pub fn day(&self) -> u32 {
        u32::from(self.day)
    }
    /// The hour, 0–23.
    pub fn hour(&self) -> u32 {
        u32::from(self.hour)
    }
    /// The minute, 0–59.
    pub fn minute(&self) -> u32 {
        u32::from(self.minute)
    }
    /// The second, 0–59.
    pub fn second(&self) -> u32 {
        u32::from(self.second)
    }

    /// Whether the time is midnight (a date alone).
    pub fn is_midnight(&self) -> bool {
        self.hour == 0 && self.minute == 0 && self.second == 0
    }

    /// `YYYY-MM-DD`.
    pub fn date_string(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for FieldDateTime {
    /// `YYYY-MM-DD HH:MM:SS`, as OTOBO writes `value_date`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:02}:{:02}:{:02}",
            self.date_string(),
            self.hour,
            self.minute,
            self.second
        )
    }
}

/// One stored value of a dynamic field: one `dynamic_field_value` row.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DynamicFieldValue {
    /// `value_text`.
    Text(String),
    /// `value_date`.
    Date(FieldDateTime),
    /// `value_int`.
    Integer(i64),
}

/// What a search value of a dynamic-field condition is compared with, checked against the
/// field's type ([`DynamicFieldDefinition::search_operand`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DynamicFieldOperand {
    /// A text compared case-insensitively (`Equals` and the ordering operators on text types).
    Text(String),
    /// A whole-value pattern with `*` wildcards, case-insensitive (`Like` on text types).
    Pattern(Pattern),
    /// A moment (date types).
    Date(FieldDateTime),
    /// An integer (`Checkbox`).
    Integer(i64),
}

/// A customer-user dynamic field as its store defines it: the name a map row's `storage`
/// gives, its type, and for `Dropdown` / `Multiselect` the possible values (the keys of OTOBO's
/// `PossibleValues`, which are what is stored).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DynamicFieldDefinition {
    /// The field's name (`dynamic_field.name`).
    pub name: String,
    /// Its type.
    pub field_type: DynamicFieldType,
    /// The values a `Dropdown` or `Multiselect` accepts; unused for other types.
    pub possible_values: Vec<String>,
}

impl DynamicFieldDefinition {
    fn refuse(&self, key: &str, value: &str, reason: impl Into<String>) -> ValidationError {
        ValidationError::Invalid {
            field: key.to_owned(),
            value: shorten(value),
            reason: format!(
                "{} (dynamic field {:?}, type {})",
                reason.into(),
                self.name,
                self.field_type
            ),
        }
    }

    fn possible(&self, key: &str, value: &str) -> Result<(), ValidationError> {
        if self.possible_values.iter().any(|p| p == value) {
            return Ok(());
        }
        let mut shown: Vec<&str> = self
            .possible_values
            .iter()
            .take(10)
            .map(String::as_str)
            .collect();
        if self.possible_values.len() > shown.len() {
            shown.push("…");
        }
        Err(self.refuse(
            key,
            value,
            format!(
                "not one of the field's possible values ({})",
                if shown.is_empty() {
                    "none are configured".to_owned()
                } else {
                    shown.join(", ")
                }
            ),
        ))
    }

    /// The rows to store for the attribute `key`'s value, checked against the field: one row
    /// for a single-valued type, one per selected value (duplicates dropped, order kept) for a
    /// `Multiselect`; none for an empty value (the field is cleared).
    ///
    /// * `Dropdown` / `Multiselect`: every value must be one of the possible values;
    /// * `Date`: a date (`YYYY-MM-DD`; a time, if given, must be midnight);
    /// * `DateTime`: `YYYY-MM-DD HH:MM:SS` (or `HH:MM`, or a date alone for midnight);
    /// * `Checkbox`: `0` or `1`;
    /// * only a `Multiselect` takes several values.
    ///
    /// Errors are [`ValidationError::Invalid`] naming `key`, the value and the field.
    pub fn values_to_store(
        &self,
        key: &str,
        value: &AttributeValue,
    ) -> Result<Vec<DynamicFieldValue>, ValidationError> {
        let texts: Vec<String> = match value {
            AttributeValue::Text(t) => vec![t.clone()],
            AttributeValue::Integer(i) => vec![i.to_string()],
            AttributeValue::List(l) => l.clone(),
        };
        let mut texts: Vec<String> = texts.into_iter().filter(|t| !t.is_empty()).collect();
        if self.field_type == DynamicFieldType::Multiselect {
            let mut seen = std::collections::HashSet::new();
            texts.retain(|t| seen.insert(t.clone()));
        } else if texts.len() > 1 {
            return Err(self.refuse(
                key,
                &value.to_text(),
                "the field takes one value, not a list",
            ));
        }
        texts.into_iter().map(|t| self.one_value(key, t)).collect()
    }

    fn one_value(&self, key: &str, text: String) -> Result<DynamicFieldValue, ValidationError> {
        match self.field_type {
            DynamicFieldType::Text | DynamicFieldType::TextArea => {
                Ok(DynamicFieldValue::Text(text))
            }
            DynamicFieldType::Dropdown | DynamicFieldType::Multiselect => {
                self.possible(key, &text)?;
                Ok(DynamicFieldValue::Text(text))
            }
            DynamicFieldType::Date => match FieldDateTime::parse(&text) {
                Some(d) if d.is_midnight() => Ok(DynamicFieldValue::Date(d)),
                _ => Err(self.refuse(key, &text, "not a date (YYYY-MM-DD)")),
            },
            DynamicFieldType::DateTime => match FieldDateTime::parse(&text) {
                Some(d) => Ok(DynamicFieldValue::Date(d)),
                None => Err(self.refuse(key, &text, "not a date and time (YYYY-MM-DD HH:MM:SS)")),
            },
            DynamicFieldType::Checkbox => match text.trim() {
                "0" => Ok(DynamicFieldValue::Integer(0)),
                "1" => Ok(DynamicFieldValue::Integer(1)),
                _ => Err(self.refuse(key, &text, "a checkbox is 0 or 1")),
            },
        }
    }

    /// The attribute value of the stored rows (in the order they were stored), as a record
    /// carries it: a text for `Text`, `TextArea` and `Dropdown`, a list for `Multiselect`,
    /// `YYYY-MM-DD` for `Date`, `YYYY-MM-DD HH:MM:SS` for `DateTime`, an integer for `Checkbox`.
    /// `None` when nothing (or only empty text) is stored; rows in a column the type does not
    /// use are ignored.
    pub fn attribute_value(&self, stored: &[DynamicFieldValue]) -> Option<AttributeValue> {
        let texts = || {
            stored.iter().filter_map(|v| match v {
                DynamicFieldValue::Text(t) if !t.is_empty() => Some(t.clone()),
                _ => None,
            })
        };
        let date = || {
            stored.iter().find_map(|v| match v {
                DynamicFieldValue::Date(d) => Some(*d),
                _ => None,
            })
        };
        match self.field_type {
            DynamicFieldType::Text | DynamicFieldType::TextArea | DynamicFieldType::Dropdown => {
                texts().next().map(AttributeValue::Text)
            }
            DynamicFieldType::Multiselect => {
                let all: Vec<String> = texts().collect();
                (!all.is_empty()).then_some(AttributeValue::List(all))
            }
            DynamicFieldType::Date => date().map(|d| AttributeValue::Text(d.date_string())),
            DynamicFieldType::DateTime => date().map(|d| AttributeValue::Text(d.to_string())),
            DynamicFieldType::Checkbox => stored.iter().find_map(|v| match v {
                DynamicFieldValue::Integer(i) => Some(AttributeValue::Integer(*i)),
                _ => None,
            }),
        }
    }

    /// A search value of a condition on the attribute `key`, checked against the field's type
    /// (OTOBO runs `ValueValidate` on each): a date for date types, `0` or `1` for a
    /// `Checkbox`. `Like` takes `*` wildcards on text types; on other types a value without
    /// `*` is an equality test and one with `*` is refused. A search value of a `Dropdown` need
    /// not be a possible value: it finds nothing. Errors name `key` and the value.
    pub fn search_operand(
        &self,
        key: &str,
        operator: DynamicFieldOperator,
        value: &str,
    ) -> Result<(DynamicFieldOperator, DynamicFieldOperand), ValidationError> {
        let like = operator == DynamicFieldOperator::Like;
        if self.field_type.column() == ValueColumn::Text {
            return Ok(if like {
                (
                    operator,
                    DynamicFieldOperand::Pattern(Pattern::from_wildcards(value)),
                )
            } else {
                (operator, DynamicFieldOperand::Text(value.to_owned()))
            });
        }
        let operator = if like {
            if value.contains('*') {
                return Err(self.refuse(
                    key,
                    value,
                    "Like with wildcards applies to text fields only",
                ));
            }
            DynamicFieldOperator::Equals
        } else {
            operator
        };
        let operand = match self.field_type {
            DynamicFieldType::Date => match FieldDateTime::parse(value) {
                Some(d) if d.is_midnight() => DynamicFieldOperand::Date(d),
                _ => return Err(self.refuse(key, value, "not a date (YYYY-MM-DD)")),
            },
            DynamicFieldType::DateTime => match FieldDateTime::parse(value) {
                Some(d) => DynamicFieldOperand::Date(d),
                None => {
                    return Err(self.refuse(
                        key,
                        value,
                        "not a date and time (YYYY-MM-DD HH:MM:SS)",
                    ));
                }
            },
            _ => match value.trim() {
                "0" => DynamicFieldOperand::Integer(0),
                "1" => DynamicFieldOperand::Integer(1),
                _ => return Err(self.refuse(key, value, "a checkbox is 0 or 1")),
            },
        };
        Ok((operator, operand))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(field_type: DynamicFieldType) -> DynamicFieldDefinition {
        DynamicFieldDefinition {
            name: "F".into(),
            field_type,
            possible_values: vec!["a".into(), "b".into()],
        }
    }

    #[test]
    fn dates() {
        assert!(FieldDateTime::parse("2024-02-29").is_some());
        assert!(FieldDateTime::parse("1900-02-29").is_none());
        assert!(FieldDateTime::parse("2000-02-29").is_some());
        assert!(FieldDateTime::parse("2024-13-01").is_none());
        assert!(FieldDateTime::parse("2024-1-01").is_none());
        assert!(FieldDateTime::parse("2024-01-01 24:00:00").is_none());
        assert!(FieldDateTime::parse("2024-01-01 23:59:60").is_none());
        assert!(FieldDateTime::parse("2024-01-01 1:00").is_none());
        assert!(FieldDateTime::parse("+024-01-01").is_none());
        assert_eq!(
            FieldDateTime::parse("2024-01-01T08:30:05")
                .unwrap()
                .to_string(),
            "2024-01-01 08:30:05"
        );
        assert!(
            FieldDateTime::parse("2024-01-01 00:00:01").unwrap()
                > FieldDateTime::parse("2024-01-01").unwrap()
        );
    }

    #[test]
    fn values_by_type() {
        let v = |t, value: AttributeValue| field(t).values_to_store("K", &value);
        assert_eq!(
            v(
                DynamicFieldType::Multiselect,
                AttributeValue::List(vec!["b".into(), "a".into(), "b".into()])
            )
            .unwrap(),
            [
                DynamicFieldValue::Text("b".into()),
                DynamicFieldValue::Text("a".into())
            ]
        );
        assert!(
            v(
                DynamicFieldType::Multiselect,
                AttributeValue::List(vec!["c".into()])
            )
            .is_err()
        );
        assert!(
            v(
                DynamicFieldType::Dropdown,
                AttributeValue::List(vec!["a".into(), "b".into()])
            )
            .is_err()
        );
        assert!(v(DynamicFieldType::Dropdown, "".into()).unwrap().is_empty());
        assert_eq!(
            v(DynamicFieldType::Checkbox, AttributeValue::Integer(1)).unwrap(),
            [DynamicFieldValue::Integer(1)]
        );
        assert!(v(DynamicFieldType::Checkbox, "2".into()).is_err());
        assert!(v(DynamicFieldType::Date, "2024-05-01 10:00:00".into()).is_err());
        assert!(v(DynamicFieldType::Date, "2024-05-01 00:00:00".into()).is_ok());
        let e = v(DynamicFieldType::DateTime, "soon".into()).unwrap_err();
        assert_eq!(e.field(), "K");
        assert!(e.to_string().contains("soon"), "{e}");
    }

    #[test]
    fn stored_values_read_back() {
        let date = FieldDateTime::parse("2024-05-01").unwrap();
        assert_eq!(
            field(DynamicFieldType::Date).attribute_value(&[DynamicFieldValue::Date(date)]),
            Some(AttributeValue::Text("2024-05-01".into()))
        );
        assert_eq!(
            field(DynamicFieldType::DateTime).attribute_value(&[DynamicFieldValue::Date(date)]),
            Some(AttributeValue::Text("2024-05-01 00:00:00".into()))
        );
        assert_eq!(
            field(DynamicFieldType::Multiselect).attribute_value(&[]),
            None
        );
        assert_eq!(
            field(DynamicFieldType::Text)
                .attribute_value(&[DynamicFieldValue::Text(String::new())]),
            None
        );
    }

    #[test]
    fn search_operands() {
        use DynamicFieldOperator::*;
        let date = field(DynamicFieldType::Date);
        assert!(matches!(
            date.search_operand("K", Like, "2024-01-01").unwrap(),
            (Equals, DynamicFieldOperand::Date(_))
        ));
        assert!(date.search_operand("K", Like, "2024*").is_err());
        assert!(date.search_operand("K", GreaterThan, "later").is_err());
        assert!(matches!(
            field(DynamicFieldType::Dropdown)
                .search_operand("K", Like, "x*")
                .unwrap(),
            (Like, DynamicFieldOperand::Pattern(_))
        ));
    }
}
