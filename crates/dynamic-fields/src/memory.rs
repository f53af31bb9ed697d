//! A complete in-memory ticket system and record source, for tests and for trying the mapper
//! out: tickets with a customer user and dynamic-field values that remember whether they were
//! set by hand, and a log of every write the mapper made.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;

use crate::host::{
    CurrentValue, CustomerRecordSource, DynamicFieldDefinition, DynamicFieldSink, TicketSystem,
};
use crate::report::WriteAction;
use crate::value::{CustomerRecord, FieldValue};

/// An error of [`InMemoryTickets`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InMemoryError {
    /// There is no ticket with this id.
    #[error("no ticket {ticket}")]
    UnknownTicket {
        /// The id asked for.
        ticket: u64,
    },
    /// There is no dynamic field of this name.
    #[error("no ticket dynamic field {field:?}")]
    UnknownField {
        /// The name asked for.
        field: String,
    },
}

/// One write the mapper made through [`InMemoryTickets`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedWrite {
    /// The ticket.
    pub ticket: u64,
    /// The field.
    pub field: String,
    /// What was written.
    pub action: WriteAction,
}

#[derive(Debug, Default)]
struct Ticket {
    customer_user: Option<String>,
    values: BTreeMap<String, CurrentValue>,
}

#[derive(Debug, Default)]
struct State {
    fields: Vec<DynamicFieldDefinition>,
    tickets: BTreeMap<u64, Ticket>,
    next_ticket: u64,
    writes: Vec<RecordedWrite>,
}

/// An in-memory ticket system: implements [`TicketSystem`] and [`DynamicFieldSink`] with
/// `u64` ticket ids (starting at 1).
///
/// The sink refuses writes to unknown tickets and to fields that are not defined (valid or
/// not). Values it writes are recorded as automatic; [`set_by_agent`](Self::set_by_agent)
/// plays an agent editing a field by hand.
#[derive(Debug, Default)]
pub struct InMemoryTickets {
    state: Mutex<State>,
}

impl InMemoryTickets {
    /// A ticket system with no fields and no tickets.
    pub fn new() -> Self {
        Self::default()
    }

    /// A ticket system with these dynamic fields.
    pub fn with_fields(fields: impl IntoIterator<Item = DynamicFieldDefinition>) -> Self {
        let tickets = Self::new();
        for field in fields {
            tickets.define_field(field);
        }
        tickets
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic in another thread cannot leave the maps half-updated: every change is one
        // insert or remove.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a dynamic field, or replaces the definition of that name.
    pub fn define_field(&self, field: DynamicFieldDefinition) {
        let mut state = self.state();
        match state
            .fields
            .iter_mut()
            .find(|known| known.name == field.name)
        {
            Some(known) => *known = field,
            None => state.fields.push(field),
        }
    }

    /// Creates a ticket for this customer user (or none); returns its id.
    pub fn create_ticket(&self, customer_user: Option<&str>) -> u64 {
        let mut state = self.state();
        state.next_ticket += 1;
        let id = state.next_ticket;
        state.tickets.insert(
            id,
            Ticket {
                customer_user: customer_user.map(str::to_owned),
                values: BTreeMap::new(),
            },
        );
        id
    }

    /// Changes the ticket's customer user.
    pub fn set_customer_user(
        &self,
        ticket: u64,
        customer_user: Option<&str>,
    ) -> Result<(), InMemoryError> {
        let mut state = self.state();
        let entry = state
            .tickets
            .get_mut(&ticket)
            .ok_or(InMemoryError::UnknownTicket { ticket })?;
        entry.customer_user = customer_user.map(str::to_owned);
        Ok(())
    }

    /// An agent sets (`Some`) or clears (`None`) the field by hand.
    pub fn set_by_agent(
        &self,
        ticket: u64,
        field: &str,
        value: Option<FieldValue>,
    ) -> Result<(), InMemoryError> {
        self.store(
            ticket,
            field,
            CurrentValue {
                value,
                set_manually: true,
            },
        )
    }

    /// The field's value on the ticket.
    pub fn value(&self, ticket: u64, field: &str) -> Option<FieldValue> {
        self.current(ticket, field)
            .and_then(|current| current.value)
    }

    /// The field's value and whether it was set by hand.
    pub fn current(&self, ticket: u64, field: &str) -> Option<CurrentValue> {
        self.state()
            .tickets
            .get(&ticket)
            .and_then(|entry| entry.values.get(field).cloned())
    }

    /// Every write made through the sink, oldest first.
    pub fn writes(&self) -> Vec<RecordedWrite> {
        self.state().writes.clone()
    }

    fn store(&self, ticket: u64, field: &str, value: CurrentValue) -> Result<(), InMemoryError> {
        let mut state = self.state();
        if !state.fields.iter().any(|known| known.name == field) {
            return Err(InMemoryError::UnknownField {
                field: field.to_owned(),
            });
        }
        let entry = state
            .tickets
            .get_mut(&ticket)
            .ok_or(InMemoryError::UnknownTicket { ticket })?;
        entry.values.insert(field.to_owned(), value);
        Ok(())
    }

    fn record_write(&self, ticket: u64, field: &str, action: WriteAction) {
        self.state().writes.push(RecordedWrite {
            ticket,
            field: field.to_owned(),
            action,
        });
    }
}

#[async_trait]
impl TicketSystem for InMemoryTickets {
    type TicketId = u64;
    type Error = InMemoryError;

    async fn customer_user_login(&self, ticket: &u64) -> Result<Option<String>, InMemoryError> {
        self.state()
            .tickets
            .get(ticket)
            .map(|entry| entry.customer_user.clone())
            .ok_or(InMemoryError::UnknownTicket { ticket: *ticket })
    }

    async fn ticket_dynamic_fields(&self) -> Result<Vec<DynamicFieldDefinition>, InMemoryError> {
        Ok(self.state().fields.clone())
    }

    async fn current_values(
        &self,
        ticket: &u64,
        fields: &[String],
    ) -> Result<BTreeMap<String, CurrentValue>, InMemoryError> {
        let state = self.state();
        let entry = state
            .tickets
            .get(ticket)
            .ok_or(InMemoryError::UnknownTicket { ticket: *ticket })?;
        Ok(fields
            .iter()
            .filter_map(|field| {
                entry
                    .values
                    .get(field)
                    .map(|value| (field.clone(), value.clone()))
            })
            .collect())
    }
}

#[async_trait]
impl DynamicFieldSink for InMemoryTickets {
    type TicketId = u64;
    type Error = InMemoryError;

    async fn set_value(
        &self,
        ticket: &u64,
        field: &str,
        value: &FieldValue,
    ) -> Result<(), InMemoryError> {
        self.store(*ticket, field, CurrentValue::automatic(value.clone()))?;
        self.record_write(*ticket, field, WriteAction::Set(value.clone()));
        Ok(())
    }

    async fn clear_value(&self, ticket: &u64, field: &str) -> Result<(), InMemoryError> {
        self.store(*ticket, field, CurrentValue::default())?;
        self.record_write(*ticket, field, WriteAction::Clear);
        Ok(())
    }
}

/// In-memory customer records by exact login; implements [`CustomerRecordSource`].
#[derive(Debug, Default)]
pub struct InMemoryRecords {
    records: Mutex<BTreeMap<String, CustomerRecord>>,
}

impl InMemoryRecords {
    /// No records.
    pub fn new() -> Self {
        Self::default()
    }

    fn records(&self) -> MutexGuard<'_, BTreeMap<String, CustomerRecord>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds or replaces the record of `login`.
    pub fn insert(&self, login: impl Into<String>, record: CustomerRecord) {
        self.records().insert(login.into(), record);
    }

    /// Removes the record of `login`; returns it.
    pub fn remove(&self, login: &str) -> Option<CustomerRecord> {
        self.records().remove(login)
    }
}

impl<L: Into<String>> FromIterator<(L, CustomerRecord)> for InMemoryRecords {
    fn from_iter<I: IntoIterator<Item = (L, CustomerRecord)>>(iter: I) -> Self {
        let records = InMemoryRecords::new();
        for (login, record) in iter {
            records.insert(login, record);
        }
        records
    }
}

#[async_trait]
impl CustomerRecordSource for InMemoryRecords {
    type Error = Infallible;

    async fn record(&self, login: &str) -> Result<Option<CustomerRecord>, Infallible> {
        Ok(self.records().get(login).cloned())
    }
}
