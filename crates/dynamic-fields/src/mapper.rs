//! The async runner: gathers the plan's inputs through the host traits and applies the writes.

use std::collections::BTreeMap;

use crate::config::{ConfigError, DynamicFieldMappingConfig, ManualEdit, TicketEvent};
use crate::host::{CustomerRecordSource, DynamicFieldSink, TicketSystem};
use crate::plan::{CustomerLookup, MappingPlan, fields_needing_current_values, plan};
use crate::report::{MappingOutcome, MappingReport, WriteAction};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A read from the host failed; nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MapperError {
    /// [`TicketSystem::customer_user_login`] failed.
    #[error("looking up the customer user of ticket {ticket} failed")]
    CustomerUserLookup {
        /// The ticket id, `Debug`-formatted.
        ticket: String,
        /// The host's error.
        source: BoxError,
    },
    /// [`CustomerRecordSource::record`] failed.
    #[error("reading the record of customer user {login:?} failed")]
    CustomerRecord {
        /// The customer user's login.
        login: String,
        /// The source's error.
        source: BoxError,
    },
    /// [`TicketSystem::ticket_dynamic_fields`] failed.
    #[error("listing the ticket dynamic fields failed")]
    FieldDefinitions {
        /// The host's error.
        source: BoxError,
    },
    /// [`TicketSystem::current_values`] failed.
    #[error("reading the current values of fields {fields:?} of ticket {ticket} failed")]
    CurrentValues {
        /// The ticket id, `Debug`-formatted.
        ticket: String,
        /// The fields asked for.
        fields: Vec<String>,
        /// The host's error.
        source: BoxError,
    },
}

/// Copies customer-record attributes into ticket dynamic fields when a ticket event arrives
/// (OTOBO `Kernel::System::Ticket::Event::DynamicFieldFromCustomerUser`).
///
/// The mapper holds only its configuration; the host's traits are passed to
/// [`handle`](Self::handle) on each event, so one mapper serves any number of hosts and tasks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DynamicFieldMapper {
    config: DynamicFieldMappingConfig,
}

impl DynamicFieldMapper {
    /// A mapper with this configuration, unchecked (what OTOBO does).
    pub fn new(config: DynamicFieldMappingConfig) -> Self {
        DynamicFieldMapper { config }
    }

    /// A mapper with this configuration once it passes
    /// [`DynamicFieldMappingConfig::validate`] against the host's declaration of manually
    /// editable fields.
    pub fn checked(
        config: DynamicFieldMappingConfig,
        editable: &[ManualEdit],
    ) -> Result<Self, ConfigError> {
        config.validate(editable)?;
        Ok(DynamicFieldMapper { config })
    }

    /// The configuration.
    pub fn config(&self) -> &DynamicFieldMappingConfig {
        &self.config
    }

    /// Handles `event` on `ticket`: reads what the [`plan`] needs from the host, then writes
    /// through `sink` in plan order.
    ///
    /// When the mapper is disabled, not configured for the event, or has no rules, the host is
    /// not called at all. Otherwise it calls, in this order:
    /// [`customer_user_login`](TicketSystem::customer_user_login),
    /// [`record`](CustomerRecordSource::record) (unless the ticket has no customer user),
    /// [`ticket_dynamic_fields`](TicketSystem::ticket_dynamic_fields),
    /// [`current_values`](TicketSystem::current_values) (only when a rule's policy needs them),
    /// then the sink once per planned write.
    ///
    /// # Errors
    ///
    /// A failed read returns a [`MapperError`] before anything is written. A failed write does
    /// not stop the others: its entry in the report becomes [`MappingOutcome::Failed`] (see
    /// [`MappingReport::failures`]), so the report always says what was and was not written.
    pub async fn handle<T, S, R>(
        &self,
        event: &TicketEvent,
        ticket: &T::TicketId,
        tickets: &T,
        sink: &S,
        records: &R,
    ) -> Result<MappingReport, MapperError>
    where
        T: TicketSystem + ?Sized,
        S: DynamicFieldSink<TicketId = T::TicketId> + ?Sized,
        R: CustomerRecordSource + ?Sized,
    {
        let config = &self.config;
        if !config.reacts_to(event) || config.mapping.is_empty() {
            let nothing = plan(
                config,
                event,
                &CustomerLookup::NoCustomerUser,
                &[],
                &BTreeMap::new(),
            );
            return Ok(nothing.report);
        }

        let login = tickets
            .customer_user_login(ticket)
            .await
            .map_err(|source| MapperError::CustomerUserLookup {
                ticket: format!("{ticket:?}"),
                source: Box::new(source),
            })?;
        // OTOBO's CustomerUserDataGet returns nothing for an empty login.
        let customer = match login.filter(|login| !login.is_empty()) {
            None => CustomerLookup::NoCustomerUser,
            Some(login) => match records.record(&login).await {
                Ok(Some(record)) => CustomerLookup::Found { login, record },
                Ok(None) => CustomerLookup::NotFound { login },
                Err(source) => {
                    return Err(MapperError::CustomerRecord {
                        login,
                        source: Box::new(source),
                    });
                }
            },
        };

        let fields = tickets.ticket_dynamic_fields().await.map_err(|source| {
            MapperError::FieldDefinitions {
                source: Box::new(source),
            }
        })?;
        let needed = fields_needing_current_values(config, &fields);
        let current = if needed.is_empty() {
            BTreeMap::new()
        } else {
            match tickets.current_values(ticket, &needed).await {
                Ok(current) => current,
                Err(source) => {
                    return Err(MapperError::CurrentValues {
                        ticket: format!("{ticket:?}"),
                        fields: needed,
                        source: Box::new(source),
                    });
                }
            }
        };

        let MappingPlan { writes, mut report } = plan(config, event, &customer, &fields, &current);
        for write in writes {
            let result = match &write.action {
                WriteAction::Set(value) => sink.set_value(ticket, &write.field, value).await,
                WriteAction::Clear => sink.clear_value(ticket, &write.field).await,
            };
            if let Err(error) = result
                && let Some(entry) = report.entries.get_mut(write.entry)
            {
                entry.outcome = MappingOutcome::Failed {
                    action: write.action,
                    error: error_chain(&error),
                };
            }
        }
        Ok(report)
    }
}

/// `error: cause: cause …`.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
