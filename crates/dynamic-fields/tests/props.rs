//! For arbitrary configurations, records, fields and current values the planner never panics,
//! reports every rule exactly once, and its writes agree with its report.

use std::collections::BTreeMap;

use clientele_dynamic_fields::memory::{InMemoryRecords, InMemoryTickets};
use clientele_dynamic_fields::{
    Cardinality, CurrentValue, CustomerLookup, CustomerRecord, DynamicFieldDefinition,
    DynamicFieldMapper, DynamicFieldMappingConfig, FieldType, FieldValue, MappingOutcome,
    MappingPlan, MappingRule, MultiValueIntoSingle, OnMissing, SkipReason, TicketEvent,
    WriteAction, WritePolicy, plan,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;

/// Names from a small pool, so rules, records and fields often meet.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec!["A", "B", "C", "D", "UserLogin", "DynamicField_X"])
            .prop_map(str::to_owned),
        1 => ".{0,6}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["", "0", "1", "x", "2024-02-29", "2024-02-29 12:00:00"])
            .prop_map(str::to_owned),
        ".{0,8}",
    ]
}

fn value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        text().prop_map(FieldValue::Text),
        vec(text(), 0..4).prop_map(FieldValue::List),
    ]
}

fn rule() -> impl Strategy<Value = MappingRule> {
    (
        name(),
        name(),
        prop::sample::select(vec![
            WritePolicy::Overwrite,
            WritePolicy::OnlyIfEmpty,
            WritePolicy::NeverOverwriteManual,
        ]),
        prop::sample::select(vec![OnMissing::Clear, OnMissing::Keep]),
        prop_oneof![
            Just(MultiValueIntoSingle::Reject),
            ".{0,3}".prop_map(MultiValueIntoSingle::Join)
        ],
    )
        .prop_map(|(source, target, policy, on_missing, multi)| {
            MappingRule::new(source, target)
                .with_policy(policy)
                .with_on_missing(on_missing)
                .with_multi_value_into_single(multi)
        })
}

fn event() -> impl Strategy<Value = TicketEvent> {
    prop_oneof![
        Just(TicketEvent::TicketCreate),
        Just(TicketEvent::TicketCustomerUpdate),
        "[A-Za-z]{0,12}".prop_map(TicketEvent::from_name),
    ]
}

fn config() -> impl Strategy<Value = DynamicFieldMappingConfig> {
    (
        prop::bool::weighted(0.8),
        vec(event(), 0..4),
        vec(rule(), 0..12),
    )
        .prop_map(|(enabled, events, mapping)| DynamicFieldMappingConfig {
            enabled,
            events,
            mapping,
        })
}

fn record() -> impl Strategy<Value = CustomerRecord> {
    btree_map(name(), value(), 0..8).prop_map(|map| map.into_iter().collect())
}

fn customer() -> impl Strategy<Value = CustomerLookup> {
    prop_oneof![
        1 => Just(CustomerLookup::NoCustomerUser),
        1 => ".{0,6}".prop_map(|login| CustomerLookup::NotFound { login }),
        6 => (".{0,6}", record()).prop_map(|(login, record)| CustomerLookup::Found { login, record }),
    ]
}

fn field_type() -> impl Strategy<Value = FieldType> {
    prop_oneof![
        Just(FieldType::Text),
        Just(FieldType::TextArea),
        Just(FieldType::Checkbox),
        Just(FieldType::Dropdown),
        Just(FieldType::Multiselect),
        Just(FieldType::Date),
        Just(FieldType::DateTime),
        "[a-z]{1,5}".prop_map(FieldType::Other),
    ]
}

fn field() -> impl Strategy<Value = DynamicFieldDefinition> {
    (
        name(),
        field_type(),
        any::<bool>(),
        prop::bool::weighted(0.8),
        option::weighted(0.3, vec(text(), 0..4)),
    )
        .prop_map(|(name, field_type, multi, valid, possible)| {
            let mut field = DynamicFieldDefinition::new(name, field_type).with_valid(valid);
            field.cardinality = if multi {
                Cardinality::Multiple
            } else {
                Cardinality::Single
            };
            if let Some(possible) = possible {
                field = field.with_possible_values(possible);
            }
            field
        })
}

fn current() -> impl Strategy<Value = BTreeMap<String, CurrentValue>> {
    btree_map(
        name(),
        (option::of(value()), any::<bool>()).prop_map(|(value, set_manually)| CurrentValue {
            value,
            set_manually,
        }),
        0..6,
    )
}

fn check_plan(
    config: &DynamicFieldMappingConfig,
    event: &TicketEvent,
    fields: &[DynamicFieldDefinition],
    plan: &MappingPlan,
) -> Result<(), TestCaseError> {
    let entries = &plan.report.entries;

    // Every rule exactly once, carrying its own source and target.
    let mut seen = vec![0usize; config.mapping.len()];
    for entry in entries {
        prop_assert!(entry.rule < config.mapping.len());
        seen[entry.rule] += 1;
        let rule = &config.mapping[entry.rule];
        prop_assert_eq!(&entry.source, &rule.source);
        prop_assert_eq!(&entry.target, &rule.target);
    }
    prop_assert!(seen.iter().all(|&count| count == 1), "{:?}", seen);

    // Deterministic order: target, source, rule position.
    let keys: Vec<_> = entries
        .iter()
        .map(|entry| (&entry.target, &entry.source, entry.rule))
        .collect();
    prop_assert!(keys.windows(2).all(|pair| pair[0] < pair[1]));

    // The gates.
    if !config.enabled || !config.events.contains(event) {
        prop_assert!(plan.writes.is_empty());
        let reason = if config.enabled {
            SkipReason::EventNotConfigured
        } else {
            SkipReason::Disabled
        };
        for entry in entries {
            prop_assert_eq!(
                &entry.outcome,
                &MappingOutcome::Skipped {
                    reason: reason.clone()
                }
            );
        }
    }

    // Writes are exactly the written and cleared entries, in entry order, and fit the field.
    let changed: Vec<usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, entry)| {
            matches!(
                entry.outcome,
                MappingOutcome::Written { .. } | MappingOutcome::Cleared { .. }
            )
        })
        .map(|(index, _)| index)
        .collect();
    let written: Vec<usize> = plan.writes.iter().map(|write| write.entry).collect();
    prop_assert_eq!(changed, written);
    for write in &plan.writes {
        let entry = &entries[write.entry];
        prop_assert_eq!(&write.field, &entry.target);
        let definition = fields.iter().find(|field| field.name == write.field);
        prop_assert!(definition.is_some_and(|field| field.valid));
        match (&write.action, &entry.outcome) {
            (WriteAction::Set(value), MappingOutcome::Written { value: reported }) => {
                prop_assert_eq!(value, reported);
                prop_assert!(!value.values().is_empty());
                let multiple =
                    definition.is_some_and(|field| field.cardinality == Cardinality::Multiple);
                prop_assert_eq!(matches!(value, FieldValue::List(_)), multiple);
            }
            (WriteAction::Clear, MappingOutcome::Cleared { .. }) => {}
            (action, outcome) => prop_assert!(false, "{:?} for {:?}", action, outcome),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn planner_reports_every_rule_exactly_once(
        config in config(),
        event in event(),
        customer in customer(),
        fields in vec(field(), 0..8),
        current in current(),
    ) {
        let planned = plan(&config, &event, &customer, &fields, &current);
        check_plan(&config, &event, &fields, &planned)?;
        // Same inputs, same plan.
        prop_assert_eq!(&planned, &plan(&config, &event, &customer, &fields, &current));
    }

    #[test]
    fn mapper_reports_what_the_planner_plans(
        config in config(),
        record in record(),
        fields in vec(field(), 0..8),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build()?;
        // The in-memory system keeps one definition per name, as the planner does.
        let mut fields = fields;
        let mut names = std::collections::BTreeSet::new();
        fields.retain(|field| names.insert(field.name.clone()));
        let tickets = InMemoryTickets::with_fields(fields.clone());
        let records = InMemoryRecords::new();
        records.insert("jdoe", record.clone());
        let ticket = tickets.create_ticket(Some("jdoe"));
        let event = TicketEvent::TicketCreate;

        let report = runtime.block_on(
            DynamicFieldMapper::new(config.clone()).handle(&event, &ticket, &tickets, &tickets, &records),
        )?;
        // A fresh ticket has no values, so the plan with no current values is the mapper's.
        let customer = CustomerLookup::Found { login: "jdoe".into(), record };
        let planned = plan(&config, &event, &customer, &fields, &BTreeMap::new());
        if config.reacts_to(&event) && !config.mapping.is_empty() {
            prop_assert_eq!(&report, &planned.report);
            prop_assert_eq!(tickets.writes().len(), planned.writes.len());
        } else {
            prop_assert!(tickets.writes().is_empty());
            prop_assert_eq!(report.entries.len(), config.mapping.len());
        }
    }
}
