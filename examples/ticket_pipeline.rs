//! A small in-memory ticket system that embeds the dynamic-field mapper.
//!
//! ```text
//! cargo run --example ticket_pipeline
//! ```
//!
//! Customer data lives in a Clientele [`Directory`]; tickets, their dynamic fields and an event
//! bus live in the host. On "ticket created" and "ticket customer changed" the mapper copies
//! customer-user and company attributes into the ticket's fields, following each field's
//! policy. The run creates a ticket, changes its customer, lets an agent edit a field by hand,
//! changes the customer again, and prints the fields after each step.

use std::collections::VecDeque;
use std::sync::Arc;

use clientele::dynamic_fields::memory::InMemoryTickets;
use clientele::dynamic_fields::{
    DynamicFieldDefinition, DynamicFieldMapper, DynamicFieldMappingConfig, FieldValue, ManualEdit,
    MappingRule, TicketEvent, WritePolicy,
};
use clientele::model::{Actor, NewCustomerCompany, NewCustomerUser, keys};
use clientele::{Directory, DirectoryRecords, InMemoryBackend};

/// The host's event bus: events wait here until the pipeline runs them.
#[derive(Default)]
struct EventBus {
    queue: VecDeque<(TicketEvent, u64)>,
}

const FIELDS: [&str; 6] = [
    "CustomerLogin",
    "CustomerFirstname",
    "CustomerLastname",
    "CustomerCompany",
    "CustomerID",
    "CustomerRoom",
];

fn show(step: &str, tickets: &InMemoryTickets, ticket: u64) {
    println!("\n{step}");
    for f in FIELDS {
        let v = match tickets.current(ticket, f) {
            Some(c) => match c.value {
                Some(FieldValue::Text(t)) => format!(
                    "{t:?}{}",
                    if c.set_manually {
                        " (set by an agent)"
                    } else {
                        ""
                    }
                ),
                Some(FieldValue::List(l)) => format!("{l:?}"),
                None => "(empty)".into(),
            },
            None => "(empty)".into(),
        };
        println!("  {f:<18} {v}");
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Customer data: two companies, two customer users, an extra `UserRoom` attribute.
    let dir = Directory::in_memory(Arc::new(InMemoryBackend::with_settings(
        {
            let mut s = clientele::SourceSettings {
                name: "memory".into(),
                cache_ttl: 0,
                ..Default::default()
            };
            s.map.push(clientele::model::AttributeMapping::new(
                "UserRoom", "Room", "room",
            ));
            s
        },
        clientele::CompanySettings::default(),
    )));
    dir.add_company(
        NewCustomerCompany::new("ACME", "Acme Corporation"),
        Actor::System,
    )
    .await?;
    dir.add_company(
        NewCustomerCompany::new("GLOBEX", "Globex Inc."),
        Actor::System,
    )
    .await?;
    dir.add_customer_user(
        NewCustomerUser::new("jsmith", "John", "Smith", "john@acme-corp.com", "ACME")
            .with("UserRoom", "B-201"),
        Actor::System,
    )
    .await?;
    dir.add_customer_user(
        NewCustomerUser::new("anna", "Anna", "Berg", "anna@globex-inc.com", "GLOBEX"),
        Actor::System,
    )
    .await?;

    // The mapping: OTOBO's five fields plus the room, which agents may also edit by hand and
    // therefore keeps their value.
    let config = DynamicFieldMappingConfig::new()
        .with_enabled(true)
        .with_rule(MappingRule::new(keys::LOGIN, "CustomerLogin"))
        .with_rule(MappingRule::new(keys::FIRST_NAME, "CustomerFirstname"))
        .with_rule(MappingRule::new(keys::LAST_NAME, "CustomerLastname"))
        .with_rule(MappingRule::new(keys::COMPANY_NAME, "CustomerCompany"))
        .with_rule(MappingRule::new(keys::COMPANY_ID, "CustomerID"))
        .with_rule(
            MappingRule::new("UserRoom", "CustomerRoom")
                .with_policy(WritePolicy::NeverOverwriteManual),
        );
    // The host declares which fields agents edit by hand; a conflicting policy would fail here.
    let editable = [ManualEdit::new("CustomerRoom", "AgentTicketZoom")];
    let mapper = DynamicFieldMapper::checked(config, &editable)?;

    let tickets = InMemoryTickets::with_fields(FIELDS.map(DynamicFieldDefinition::text));
    let records = DirectoryRecords::new(dir.clone());
    let mut bus = EventBus::default();

    // 1. A ticket is created for John.
    let ticket = tickets.create_ticket(Some("jsmith"));
    bus.queue.push_back((TicketEvent::TicketCreate, ticket));
    run(&mut bus, &mapper, &tickets, &records).await?;
    show("1. ticket created for jsmith", &tickets, ticket);

    // 2. The ticket's customer changes to Anna: every field is rewritten; Anna has no room,
    //    so that field is cleared (OTOBO's behaviour for missing data).
    tickets.set_customer_user(ticket, Some("anna"))?;
    bus.queue
        .push_back((TicketEvent::TicketCustomerUpdate, ticket));
    run(&mut bus, &mapper, &tickets, &records).await?;
    show("2. customer changed to anna", &tickets, ticket);

    // 3. An agent types a room by hand.
    tickets.set_by_agent(ticket, "CustomerRoom", Some(FieldValue::text("Lobby")))?;
    show("3. an agent sets CustomerRoom by hand", &tickets, ticket);

    // 4. Back to John: the mapped fields follow, the agent's room is kept.
    tickets.set_customer_user(ticket, Some("jsmith"))?;
    bus.queue
        .push_back((TicketEvent::TicketCustomerUpdate, ticket));
    run(&mut bus, &mapper, &tickets, &records).await?;
    show("4. customer changed back to jsmith", &tickets, ticket);
    Ok(())
}

async fn run(
    bus: &mut EventBus,
    mapper: &DynamicFieldMapper,
    tickets: &InMemoryTickets,
    records: &DirectoryRecords,
) -> Result<(), Box<dyn std::error::Error>> {
    while let Some((event, ticket)) = bus.queue.pop_front() {
        let report = mapper
            .handle(&event, &ticket, tickets, tickets, records)
            .await?;
        for entry in &report.entries {
            println!("  [{event}] {entry}");
        }
    }
    Ok(())
}
