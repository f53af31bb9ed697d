//! The pure part of the mapper: from configuration, event, customer record, field definitions
//! and current values to the list of writes and the report. No I/O.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{
    DynamicFieldMappingConfig, MappingRule, MultiValueIntoSingle, OnMissing, TicketEvent,
    WritePolicy,
};
use crate::host::{Cardinality, CurrentValue, DynamicFieldDefinition, FieldType};
use crate::report::{
    MappingEntry, MappingOutcome, MappingReport, MissingCause, SkipReason, WriteAction,
};
use crate::value::{CustomerRecord, FieldValue};

/// What the host knows about the ticket's customer user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum CustomerLookup {
    /// The ticket has no customer user.
    NoCustomerUser,
    /// The ticket names a customer user the record source does not know.
    NotFound {
        /// The ticket's customer-user login.
        login: String,
    },
    /// The customer user and their merged record.
    Found {
        /// The ticket's customer-user login.
        login: String,
        /// The merged record.
        record: CustomerRecord,
    },
}

impl CustomerLookup {
    /// The login, unless the ticket has no customer user.
    pub fn login(&self) -> Option<&str> {
        match self {
            CustomerLookup::NoCustomerUser => None,
            CustomerLookup::NotFound { login } | CustomerLookup::Found { login, .. } => Some(login),
        }
    }
}

/// One write of a [`MappingPlan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedWrite {
    /// The index of the entry in [`MappingPlan::report`] this write belongs to.
    pub entry: usize,
    /// The ticket field to write.
    pub field: String,
    /// What to write.
    pub action: WriteAction,
}

/// The writes to make for one event, and the report that holds once they succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingPlan {
    /// The writes, in the order to make them: by target field, then source attribute, then
    /// rule position.
    pub writes: Vec<PlannedWrite>,
    /// One entry per rule, in the same order; each write's entry is
    /// [`Written`](MappingOutcome::Written) or [`Cleared`](MappingOutcome::Cleared).
    pub report: MappingReport,
}

/// Computes what to write for `event`, without I/O.
///
/// Every rule of `config` gets exactly one entry in the report. When the mapper is disabled or
/// not configured for the event, every rule is skipped for that reason and nothing else is
/// looked at. Otherwise each rule is decided in this order:
///
/// 1. the target must be a field in `fields` ([`SkipReason::UnknownTargetField`]) and valid
///    ([`SkipReason::InvalidTargetField`]);
/// 2. the source value is taken from the record; when it is missing (see [`MissingCause`]) the
///    rule's [`OnMissing`] decides between a clear and [`SkipReason::MissingValueKept`];
/// 3. a present value is shaped to the field's [`Cardinality`] — a text becomes a one-element
///    list for a multi-value field; a list of several values for a single-value field is
///    rejected ([`SkipReason::MultiValueIntoSingle`]) or joined as the rule says; a
///    one-element list becomes its element — and checked against the field's type and
///    possible values ([`SkipReason::TypeMismatch`]);
/// 4. the rule's [`WritePolicy`] is checked against the field's entry in `current` (a field
///    missing from `current` is empty and not set by hand).
pub fn plan(
    config: &DynamicFieldMappingConfig,
    event: &TicketEvent,
    customer: &CustomerLookup,
    fields: &[DynamicFieldDefinition],
    current: &BTreeMap<String, CurrentValue>,
) -> MappingPlan {
    let gate = if !config.enabled {
        Some(SkipReason::Disabled)
    } else if !config.events.contains(event) {
        Some(SkipReason::EventNotConfigured)
    } else {
        None
    };
    let definitions = definitions_by_name(fields);

    let mut writes = Vec::new();
    let mut entries = Vec::with_capacity(config.mapping.len());
    for index in rule_order(config) {
        let rule = &config.mapping[index];
        let outcome = match &gate {
            Some(reason) => MappingOutcome::Skipped {
                reason: reason.clone(),
            },
            None => decide(
                rule,
                customer,
                definitions.get(rule.target.as_str()).copied(),
                current.get(&rule.target),
            ),
        };
        let action = match &outcome {
            MappingOutcome::Written { value } => Some(WriteAction::Set(value.clone())),
            MappingOutcome::Cleared { .. } => Some(WriteAction::Clear),
            MappingOutcome::Skipped { .. } | MappingOutcome::Failed { .. } => None,
        };
        if let Some(action) = action {
            writes.push(PlannedWrite {
                entry: entries.len(),
                field: rule.target.clone(),
                action,
            });
        }
        entries.push(MappingEntry {
            rule: index,
            source: rule.source.clone(),
            target: rule.target.clone(),
            outcome,
        });
    }

    MappingPlan {
        writes,
        report: MappingReport {
            event: event.clone(),
            customer_user: customer.login().map(str::to_owned),
            entries,
        },
    }
}

/// The fields whose current values [`plan`] needs: the valid, known targets of rules whose
/// policy is not [`WritePolicy::Overwrite`], sorted and without duplicates.
pub fn fields_needing_current_values(
    config: &DynamicFieldMappingConfig,
    fields: &[DynamicFieldDefinition],
) -> Vec<String> {
    let definitions = definitions_by_name(fields);
    let mut needed: Vec<String> = config
        .mapping
        .iter()
        .filter(|rule| rule.policy != WritePolicy::Overwrite)
        .filter(|rule| {
            definitions
                .get(rule.target.as_str())
                .is_some_and(|definition| definition.valid)
        })
        .map(|rule| rule.target.clone())
        .collect();
    needed.sort();
    needed.dedup();
    needed
}

/// The first definition of each name.
fn definitions_by_name(
    fields: &[DynamicFieldDefinition],
) -> BTreeMap<&str, &DynamicFieldDefinition> {
    let mut definitions = BTreeMap::new();
    for field in fields {
        definitions.entry(field.name.as_str()).or_insert(field);
    }
    definitions
}

/// Rule indices by target, source, then position, so writes to one field keep configuration
/// order.
fn rule_order(config: &DynamicFieldMappingConfig) -> Vec<usize> {
    let mut order: Vec<usize> = (0..config.mapping.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (&config.mapping[a], &config.mapping[b]);
        (&ra.target, &ra.source, a).cmp(&(&rb.target, &rb.source, b))
    });
    order
}

fn decide(
    rule: &MappingRule,
    customer: &CustomerLookup,
    definition: Option<&DynamicFieldDefinition>,
    current: Option<&CurrentValue>,
) -> MappingOutcome {
    let skip = |reason| MappingOutcome::Skipped { reason };
    let Some(definition) = definition else {
        return skip(SkipReason::UnknownTargetField);
    };
    if !definition.valid {
        return skip(SkipReason::InvalidTargetField);
    }

    let outcome = match source_value(customer, &rule.source) {
        Err(cause) => match rule.on_missing {
            OnMissing::Keep => return skip(SkipReason::MissingValueKept { cause }),
            OnMissing::Clear => MappingOutcome::Cleared { cause },
        },
        Ok(value) => match shape(value, definition, &rule.multi_value_into_single) {
            Ok(value) => MappingOutcome::Written { value },
            Err(reason) => return skip(reason),
        },
    };

    let blocked = match rule.policy {
        WritePolicy::Overwrite => None,
        WritePolicy::OnlyIfEmpty => current
            .is_some_and(|current| !current.is_empty())
            .then_some(SkipReason::PolicyFieldNotEmpty),
        WritePolicy::NeverOverwriteManual => current
            .is_some_and(|current| current.set_manually)
            .then_some(SkipReason::PolicyKeptManualValue),
    };
    match blocked {
        Some(reason) => skip(reason),
        None => outcome,
    }
}

fn source_value<'a>(
    customer: &'a CustomerLookup,
    attribute: &str,
) -> Result<&'a FieldValue, MissingCause> {
    match customer {
        CustomerLookup::NoCustomerUser => Err(MissingCause::NoCustomerUser),
        CustomerLookup::NotFound { login } => Err(MissingCause::CustomerUserNotFound {
            login: login.clone(),
        }),
        CustomerLookup::Found { record, .. } => match record.get(attribute) {
            None => Err(MissingCause::AttributeAbsent),
            Some(value) if value.is_missing() => Err(MissingCause::AttributeEmpty {
                value: value.clone(),
            }),
            Some(value) => Ok(value),
        },
    }
}

/// The value in the shape the field takes, if it fits.
fn shape(
    value: &FieldValue,
    definition: &DynamicFieldDefinition,
    multi: &MultiValueIntoSingle,
) -> Result<FieldValue, SkipReason> {
    let shaped = match (definition.cardinality, value) {
        (Cardinality::Multiple, FieldValue::Text(text)) => FieldValue::List(vec![text.clone()]),
        (Cardinality::Multiple, FieldValue::List(values)) => FieldValue::List(values.clone()),
        (Cardinality::Single, FieldValue::Text(text)) => FieldValue::Text(text.clone()),
        (Cardinality::Single, FieldValue::List(values)) => match (values.as_slice(), multi) {
            ([only], _) => FieldValue::Text(only.clone()),
            (_, MultiValueIntoSingle::Join(separator)) => FieldValue::Text(values.join(separator)),
            (_, MultiValueIntoSingle::Reject) => {
                return Err(SkipReason::MultiValueIntoSingle {
                    values: values.clone(),
                });
            }
        },
    };
    for item in shaped.values() {
        check_type(definition, item)?;
    }
    Ok(shaped)
}

fn check_type(definition: &DynamicFieldDefinition, value: &str) -> Result<(), SkipReason> {
    let mismatch = |expected: &str| SkipReason::TypeMismatch {
        field_type: definition.field_type.clone(),
        value: value.to_owned(),
        expected: expected.to_owned(),
    };
    let fits = match definition.field_type {
        FieldType::Checkbox => matches!(value, "0" | "1"),
        FieldType::Date => is_date(value) || value.strip_suffix(" 00:00:00").is_some_and(is_date),
        FieldType::DateTime => is_date_time(value),
        FieldType::Text
        | FieldType::TextArea
        | FieldType::Dropdown
        | FieldType::Multiselect
        | FieldType::Other(_) => true,
    };
    if !fits {
        return Err(mismatch(match definition.field_type {
            FieldType::Checkbox => "\"0\" or \"1\"",
            FieldType::Date => "a date YYYY-MM-DD",
            _ => "a date and time YYYY-MM-DD HH:MM:SS",
        }));
    }
    match &definition.possible_values {
        Some(possible) if !possible.contains(value) => {
            Err(mismatch("one of the field's possible values"))
        }
        _ => Ok(()),
    }
}

/// Parses the ASCII digits of `text`, or `None`.
fn number(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `YYYY-MM-DD`, a real calendar day.
fn is_date(text: &str) -> bool {
    let mut parts = text.split('-');
    let (Some(y), Some(m), Some(d), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return false;
    }
    let (Some(year), Some(month), Some(day)) = (number(y), number(m), number(d)) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// `YYYY-MM-DD HH:MM:SS`.
fn is_date_time(text: &str) -> bool {
    let Some((date, time)) = text.split_once(' ') else {
        return false;
    };
    let mut parts = time.split(':');
    let (Some(h), Some(m), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if h.len() != 2 || m.len() != 2 || s.len() != 2 {
        return false;
    }
    matches!(
        (number(h), number(m), number(s)),
        (Some(0..=23), Some(0..=59), Some(0..=59))
    ) && is_date(date)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rules: impl IntoIterator<Item = MappingRule>) -> DynamicFieldMappingConfig {
        rules.into_iter().fold(
            DynamicFieldMappingConfig::new().with_enabled(true),
            |config, rule| config.with_rule(rule),
        )
    }

    fn found(record: CustomerRecord) -> CustomerLookup {
        CustomerLookup::Found {
            login: "jdoe".into(),
            record,
        }
    }

    fn only_outcome(plan: &MappingPlan) -> &MappingOutcome {
        assert_eq!(plan.report.entries.len(), 1);
        &plan.report.entries[0].outcome
    }

    fn run(
        rule: MappingRule,
        record: CustomerRecord,
        field: DynamicFieldDefinition,
    ) -> MappingOutcome {
        let plan = plan(
            &config([rule]),
            &TicketEvent::TicketCreate,
            &found(record),
            &[field],
            &BTreeMap::new(),
        );
        only_outcome(&plan).clone()
    }

    #[test]
    fn dates() {
        for ok in ["2024-02-29", "2000-02-29", "1999-12-31", "2023-04-30"] {
            assert!(is_date(ok), "{ok}");
        }
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2023-04-31",
            "2023-13-01",
            "2023-00-10",
            "2023-1-01",
            "23-01-01",
            "2023-01-01x",
            "2023/01/01",
            "",
            "+023-01-01",
            "2023-01-00",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
        assert!(is_date_time("2024-01-31 23:59:59"));
        assert!(!is_date_time("2024-01-31 24:00:00"));
        assert!(!is_date_time("2024-01-31T10:00:00"));
        assert!(!is_date_time("2024-01-31"));
    }

    #[test]
    fn type_checks() {
        let record = CustomerRecord::new()
            .with("Flag", "1")
            .with("Yes", "yes")
            .with("Day", "2024-05-01")
            .with("Stamp", "2024-05-01 10:20:30");
        let date = DynamicFieldDefinition::new("F", FieldType::Date);
        let date_time = DynamicFieldDefinition::new("F", FieldType::DateTime);
        let checkbox = DynamicFieldDefinition::new("F", FieldType::Checkbox);
        let written = |value: &str| MappingOutcome::Written {
            value: FieldValue::text(value),
        };

        assert_eq!(
            run(
                MappingRule::new("Flag", "F"),
                record.clone(),
                checkbox.clone()
            ),
            written("1")
        );
        assert!(matches!(
            run(MappingRule::new("Yes", "F"), record.clone(), checkbox),
            MappingOutcome::Skipped {
                reason: SkipReason::TypeMismatch { .. }
            }
        ));
        assert_eq!(
            run(MappingRule::new("Day", "F"), record.clone(), date.clone()),
            written("2024-05-01")
        );
        assert!(matches!(
            run(MappingRule::new("Stamp", "F"), record.clone(), date),
            MappingOutcome::Skipped {
                reason: SkipReason::TypeMismatch { .. }
            }
        ));
        assert_eq!(
            run(
                MappingRule::new("Stamp", "F"),
                record.clone(),
                date_time.clone()
            ),
            written("2024-05-01 10:20:30")
        );
        assert_eq!(
            run(MappingRule::new("Day", "F"), record, date_time),
            MappingOutcome::Skipped {
                reason: SkipReason::TypeMismatch {
                    field_type: FieldType::DateTime,
                    value: "2024-05-01".into(),
                    expected: "a date and time YYYY-MM-DD HH:MM:SS".into(),
                }
            }
        );
    }

    #[test]
    fn possible_values_restrict_every_element() {
        let record = CustomerRecord::new()
            .with("Langs", vec!["de", "en"])
            .with("Other", vec!["de", "fr"]);
        let field = DynamicFieldDefinition::new("L", FieldType::Multiselect)
            .with_possible_values(["de", "en"]);
        assert_eq!(
            run(
                MappingRule::new("Langs", "L"),
                record.clone(),
                field.clone()
            ),
            MappingOutcome::Written {
                value: FieldValue::list(["de", "en"])
            }
        );
        assert_eq!(
            run(MappingRule::new("Other", "L"), record, field),
            MappingOutcome::Skipped {
                reason: SkipReason::TypeMismatch {
                    field_type: FieldType::Multiselect,
                    value: "fr".into(),
                    expected: "one of the field's possible values".into(),
                }
            }
        );
    }

    #[test]
    fn one_element_list_fits_a_single_value_field() {
        let record = CustomerRecord::new().with("One", vec!["only"]);
        assert_eq!(
            run(
                MappingRule::new("One", "F"),
                record,
                DynamicFieldDefinition::text("F")
            ),
            MappingOutcome::Written {
                value: FieldValue::text("only")
            }
        );
    }

    #[test]
    fn text_into_multi_value_field_becomes_a_list() {
        let record = CustomerRecord::new().with("Room", "B12");
        assert_eq!(
            run(
                MappingRule::new("Room", "F"),
                record,
                DynamicFieldDefinition::text("F").multi_value()
            ),
            MappingOutcome::Written {
                value: FieldValue::list(["B12"])
            }
        );
    }

    #[test]
    fn first_definition_of_a_name_counts() {
        let fields = [
            DynamicFieldDefinition::text("F").with_valid(false),
            DynamicFieldDefinition::text("F"),
        ];
        let plan = plan(
            &config([MappingRule::new("UserLogin", "F")]),
            &TicketEvent::TicketCreate,
            &found(CustomerRecord::new().with("UserLogin", "jdoe")),
            &fields,
            &BTreeMap::new(),
        );
        assert_eq!(
            only_outcome(&plan),
            &MappingOutcome::Skipped {
                reason: SkipReason::InvalidTargetField
            }
        );
    }

    #[test]
    fn current_values_asked_only_for_policies_that_need_them() {
        let config = config([
            MappingRule::new("A", "Overwritten"),
            MappingRule::new("B", "Manual").with_policy(WritePolicy::NeverOverwriteManual),
            MappingRule::new("C", "Empty").with_policy(WritePolicy::OnlyIfEmpty),
            MappingRule::new("D", "Empty").with_policy(WritePolicy::OnlyIfEmpty),
            MappingRule::new("E", "Unknown").with_policy(WritePolicy::OnlyIfEmpty),
            MappingRule::new("F", "Invalid").with_policy(WritePolicy::OnlyIfEmpty),
        ]);
        let fields = [
            DynamicFieldDefinition::text("Overwritten"),
            DynamicFieldDefinition::text("Manual"),
            DynamicFieldDefinition::text("Empty"),
            DynamicFieldDefinition::text("Invalid").with_valid(false),
        ];
        assert_eq!(
            fields_needing_current_values(&config, &fields),
            vec!["Empty".to_owned(), "Manual".to_owned()]
        );
    }

    #[test]
    fn writes_point_at_their_entries() {
        let config = config([
            MappingRule::new("UserLogin", "Z"),
            MappingRule::new("Nope", "Unknown"),
            MappingRule::new("Missing", "A"),
        ]);
        let plan = plan(
            &config,
            &TicketEvent::TicketCreate,
            &found(CustomerRecord::new().with("UserLogin", "jdoe")),
            &[
                DynamicFieldDefinition::text("A"),
                DynamicFieldDefinition::text("Z"),
            ],
            &BTreeMap::new(),
        );
        assert_eq!(
            plan.writes,
            vec![
                PlannedWrite {
                    entry: 0,
                    field: "A".into(),
                    action: WriteAction::Clear
                },
                PlannedWrite {
                    entry: 2,
                    field: "Z".into(),
                    action: WriteAction::Set(FieldValue::text("jdoe"))
                },
            ]
        );
        assert_eq!(plan.report.entries[1].rule, 1);
        assert_eq!(plan.report.customer_user.as_deref(), Some("jdoe"));
    }
}
