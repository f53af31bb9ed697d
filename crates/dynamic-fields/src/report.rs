//! What the mapper did with every rule.

use std::fmt;

use serde::Serialize;

use crate::config::TicketEvent;
use crate::host::FieldType;
use crate::value::FieldValue;

/// The result of handling one event: one [`MappingEntry`] for every rule of the configuration,
/// ordered by target field, then source attribute, then rule position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingReport {
    /// The event handled.
    pub event: TicketEvent,
    /// The login of the ticket's customer user, when it was looked up and the ticket had one.
    pub customer_user: Option<String>,
    /// One entry per mapping rule.
    pub entries: Vec<MappingEntry>,
}

impl MappingReport {
    /// The entries whose field was written or cleared.
    pub fn changed(&self) -> impl Iterator<Item = &MappingEntry> {
        self.entries.iter().filter(|entry| {
            matches!(
                entry.outcome,
                MappingOutcome::Written { .. } | MappingOutcome::Cleared { .. }
            )
        })
    }

    /// The entries an administrator should look at: skipped for a
    /// [warning reason](SkipReason::is_warning), or failed to write.
    pub fn warnings(&self) -> impl Iterator<Item = &MappingEntry> {
        self.entries.iter().filter(|entry| match &entry.outcome {
            MappingOutcome::Skipped { reason } => reason.is_warning(),
            MappingOutcome::Failed { .. } => true,
            MappingOutcome::Written { .. } | MappingOutcome::Cleared { .. } => false,
        })
    }

    /// The entries whose write the sink refused.
    pub fn failures(&self) -> impl Iterator<Item = &MappingEntry> {
        self.entries
            .iter()
            .filter(|entry| matches!(entry.outcome, MappingOutcome::Failed { .. }))
    }

    /// The first entry for the ticket field `target`.
    pub fn entry(&self, target: &str) -> Option<&MappingEntry> {
        self.entries.iter().find(|entry| entry.target == target)
    }
}

/// What happened to one mapping rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingEntry {
    /// The rule's position in [`DynamicFieldMappingConfig::mapping`](crate::DynamicFieldMappingConfig::mapping).
    pub rule: usize,
    /// The rule's source attribute.
    pub source: String,
    /// The rule's target ticket field.
    pub target: String,
    /// What happened.
    pub outcome: MappingOutcome,
}

impl fmt::Display for MappingEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} <- {}: {}", self.target, self.source, self.outcome)
    }
}

/// A write the mapper makes: set a value, or remove it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum WriteAction {
    /// Set the field to this value (its shape matches the field's cardinality).
    Set(FieldValue),
    /// Remove the field's value.
    Clear,
}

/// What happened to one mapping rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum MappingOutcome {
    /// The field was set to `value`.
    Written {
        /// The value written, shaped to the field's cardinality.
        value: FieldValue,
    },
    /// The field was cleared because the source value was missing.
    Cleared {
        /// Why the value was missing.
        cause: MissingCause,
    },
    /// The field was left alone.
    Skipped {
        /// Why.
        reason: SkipReason,
    },
    /// The sink refused the write; the other rules were still applied.
    Failed {
        /// The write that failed.
        action: WriteAction,
        /// The sink's error with its chain of causes, `: `-separated.
        error: String,
    },
}

impl fmt::Display for MappingOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MappingOutcome::Written { value } => write!(f, "written {value:?}"),
            MappingOutcome::Cleared { cause } => write!(f, "cleared ({cause})"),
            MappingOutcome::Skipped { reason } => write!(f, "skipped ({reason})"),
            MappingOutcome::Failed {
                action: WriteAction::Set(value),
                error,
            } => write!(f, "writing {value:?} failed: {error}"),
            MappingOutcome::Failed {
                action: WriteAction::Clear,
                error,
            } => write!(f, "clearing failed: {error}"),
        }
    }
}

/// Why a source value counts as missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum MissingCause {
    /// The ticket has no customer user.
    NoCustomerUser,
    /// The ticket's customer user does not exist in the record source.
    CustomerUserNotFound {
        /// The ticket's customer-user login.
        login: String,
    },
    /// The record has no such attribute.
    AttributeAbsent,
    /// The attribute is `""`, `"0"` or the empty list (Perl-false, as OTOBO sees it).
    AttributeEmpty {
        /// The attribute's value.
        value: FieldValue,
    },
}

impl fmt::Display for MissingCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MissingCause::NoCustomerUser => f.write_str("the ticket has no customer user"),
            MissingCause::CustomerUserNotFound { login } => {
                write!(f, "customer user {login:?} not found")
            }
            MissingCause::AttributeAbsent => {
                f.write_str("the customer record has no such attribute")
            }
            MissingCause::AttributeEmpty { value } => {
                write!(f, "the attribute's value {value:?} counts as empty")
            }
        }
    }
}

/// Why a rule left its field alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum SkipReason {
    /// The mapper is disabled.
    Disabled,
    /// The mapper is not configured for this event.
    EventNotConfigured,
    /// The host has no ticket dynamic field of that name.
    UnknownTargetField,
    /// The ticket dynamic field exists but is invalid.
    InvalidTargetField,
    /// The value does not fit the field's type.
    TypeMismatch {
        /// The field's type.
        field_type: FieldType,
        /// The value that does not fit (one element of a list).
        value: String,
        /// What the field accepts.
        expected: String,
    },
    /// Several values for a single-value field, and the rule rejects that.
    MultiValueIntoSingle {
        /// The values.
        values: Vec<String>,
    },
    /// Policy `never_overwrite_manual`: the field's value was set by hand.
    PolicyKeptManualValue,
    /// Policy `only_if_empty`: the field already has a value.
    PolicyFieldNotEmpty,
    /// The source value is missing and the rule says `keep`.
    MissingValueKept {
        /// Why the value was missing.
        cause: MissingCause,
    },
}

impl SkipReason {
    /// `true` for reasons that point at a configuration or data problem (unknown or invalid
    /// field, a value that does not fit); `false` for the ones the configuration asked for.
    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            SkipReason::UnknownTargetField
                | SkipReason::InvalidTargetField
                | SkipReason::TypeMismatch { .. }
                | SkipReason::MultiValueIntoSingle { .. }
        )
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Disabled => f.write_str("the mapper is disabled"),
            SkipReason::EventNotConfigured => {
                f.write_str("the mapper is not configured for this event")
            }
            SkipReason::UnknownTargetField => f.write_str("no ticket dynamic field of this name"),
            SkipReason::InvalidTargetField => f.write_str("the ticket dynamic field is invalid"),
            SkipReason::TypeMismatch {
                field_type,
                value,
                expected,
            } => write!(
                f,
                "{value:?} does not fit the {field_type} field, which expects {expected}"
            ),
            SkipReason::MultiValueIntoSingle { values } => write!(
                f,
                "{} values {values:?} for a single-value field",
                values.len()
            ),
            SkipReason::PolicyKeptManualValue => {
                f.write_str("policy never_overwrite_manual kept a value set by hand")
            }
            SkipReason::PolicyFieldNotEmpty => {
                f.write_str("policy only_if_empty and the field has a value")
            }
            SkipReason::MissingValueKept { cause } => {
                write!(f, "missing value kept ({cause})")
            }
        }
    }
}
