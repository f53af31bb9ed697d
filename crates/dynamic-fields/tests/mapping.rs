//! The mapper's behaviour end to end, against the in-memory ticket system.

use std::collections::BTreeMap;
use std::convert::Infallible;

use async_trait::async_trait;
use clientele_dynamic_fields::memory::{InMemoryError, InMemoryRecords, InMemoryTickets};
use clientele_dynamic_fields::{
    CurrentValue, CustomerRecord, CustomerRecordSource, DynamicFieldDefinition, DynamicFieldMapper,
    DynamicFieldMappingConfig, DynamicFieldSink, FieldType, FieldValue, ManualEdit, MapperError,
    MappingOutcome, MappingReport, MappingRule, MissingCause, MultiValueIntoSingle, OnMissing,
    SkipReason, TicketEvent, TicketSystem, WriteAction, WritePolicy, keys,
};

const CREATE: TicketEvent = TicketEvent::TicketCreate;
const CUSTOMER_UPDATE: TicketEvent = TicketEvent::TicketCustomerUpdate;

fn enabled(rules: impl IntoIterator<Item = MappingRule>) -> DynamicFieldMappingConfig {
    rules.into_iter().fold(
        DynamicFieldMappingConfig::new().with_enabled(true),
        |config, rule| config.with_rule(rule),
    )
}

fn person(login: &str, first: &str, last: &str, company_id: &str, company: &str) -> CustomerRecord {
    CustomerRecord::builder()
        .user_attribute(keys::USER_LOGIN, login)
        .user_attribute(keys::USER_FIRSTNAME, first)
        .user_attribute(keys::USER_LASTNAME, last)
        .user_attribute(keys::USER_EMAIL, format!("{login}@{company_id}.example"))
        .user_attribute(keys::USER_CUSTOMER_ID, company_id)
        .company_attribute(keys::CUSTOMER_ID, company_id)
        .company_attribute(keys::CUSTOMER_COMPANY_NAME, company)
        .build()
}

fn records() -> InMemoryRecords {
    [
        ("jdoe", person("jdoe", "Jane", "Doe", "acme", "Acme Inc.")),
        (
            "rroe",
            person("rroe", "Richard", "Roe", "globex", "Globex Corp."),
        ),
    ]
    .into_iter()
    .collect()
}

async fn handle(
    config: DynamicFieldMappingConfig,
    event: &TicketEvent,
    ticket: u64,
    tickets: &InMemoryTickets,
    records: &InMemoryRecords,
) -> MappingReport {
    DynamicFieldMapper::new(config)
        .handle(event, &ticket, tickets, tickets, records)
        .await
        .expect("the in-memory host never fails to read")
}

fn outcomes(report: &MappingReport) -> Vec<(&str, &MappingOutcome)> {
    report
        .entries
        .iter()
        .map(|entry| (entry.target.as_str(), &entry.outcome))
        .collect()
}

fn written(value: impl Into<FieldValue>) -> MappingOutcome {
    MappingOutcome::Written {
        value: value.into(),
    }
}

fn skipped(reason: SkipReason) -> MappingOutcome {
    MappingOutcome::Skipped { reason }
}

fn text(value: &str) -> Option<FieldValue> {
    Some(FieldValue::text(value))
}

/// OTOBO's documented use: five text fields from the customer user and company.
fn otobo_config() -> DynamicFieldMappingConfig {
    enabled([
        MappingRule::new(keys::USER_LOGIN, "CustomerLogin"),
        MappingRule::new(keys::USER_FIRSTNAME, "CustomerFirstname"),
        MappingRule::new(keys::USER_LASTNAME, "CustomerLastname"),
        MappingRule::new(keys::CUSTOMER_COMPANY_NAME, "CustomerCompanyName"),
        MappingRule::new(keys::CUSTOMER_ID, "CustomerID"),
    ])
}

fn otobo_tickets() -> InMemoryTickets {
    InMemoryTickets::with_fields(
        [
            "CustomerLogin",
            "CustomerFirstname",
            "CustomerLastname",
            "CustomerCompanyName",
            "CustomerID",
        ]
        .map(DynamicFieldDefinition::text),
    )
}

#[tokio::test]
async fn otobo_case_fills_five_fields_on_create_and_rewrites_them_on_customer_change() {
    let tickets = otobo_tickets();
    let records = records();
    let ticket = tickets.create_ticket(Some("jdoe"));

    let report = handle(otobo_config(), &CREATE, ticket, &tickets, &records).await;
    assert_eq!(report.customer_user.as_deref(), Some("jdoe"));
    assert_eq!(
        outcomes(&report),
        vec![
            ("CustomerCompanyName", &written("Acme Inc.")),
            ("CustomerFirstname", &written("Jane")),
            ("CustomerID", &written("acme")),
            ("CustomerLastname", &written("Doe")),
            ("CustomerLogin", &written("jdoe")),
        ]
    );
    assert_eq!(tickets.value(ticket, "CustomerLogin"), text("jdoe"));
    assert_eq!(
        tickets.value(ticket, "CustomerCompanyName"),
        text("Acme Inc.")
    );

    tickets.set_customer_user(ticket, Some("rroe")).unwrap();
    let report = handle(otobo_config(), &CUSTOMER_UPDATE, ticket, &tickets, &records).await;
    assert_eq!(report.changed().count(), 5);
    assert_eq!(tickets.value(ticket, "CustomerLogin"), text("rroe"));
    assert_eq!(tickets.value(ticket, "CustomerFirstname"), text("Richard"));
    assert_eq!(tickets.value(ticket, "CustomerLastname"), text("Roe"));
    assert_eq!(
        tickets.value(ticket, "CustomerCompanyName"),
        text("Globex Corp.")
    );
    assert_eq!(tickets.value(ticket, "CustomerID"), text("globex"));
    assert_eq!(tickets.writes().len(), 10);
}

#[tokio::test]
async fn writes_are_sorted_by_target_field_whatever_the_configuration_order() {
    let tickets = otobo_tickets();
    let records = records();
    let ticket = tickets.create_ticket(Some("jdoe"));
    let mut reversed = otobo_config();
    reversed.mapping.reverse();

    let first = handle(otobo_config(), &CREATE, ticket, &tickets, &records).await;
    let second = handle(reversed, &CREATE, ticket, &tickets, &records).await;

    let fields: Vec<String> = tickets
        .writes()
        .into_iter()
        .map(|write| write.field)
        .collect();
    let sorted = [
        "CustomerCompanyName",
        "CustomerFirstname",
        "CustomerID",
        "CustomerLastname",
        "CustomerLogin",
    ];
    assert_eq!(fields[..5], sorted);
    assert_eq!(fields[5..], sorted);
    assert_eq!(outcomes(&first), outcomes(&second));
    // `rule` still names each rule's own position.
    assert_eq!(first.entries[0].rule, 3);
    assert_eq!(second.entries[0].rule, 1);
}

#[tokio::test]
async fn overwrite_replaces_a_manual_value() {
    let tickets = otobo_tickets();
    let records = records();
    let ticket = tickets.create_ticket(Some("jdoe"));
    tickets
        .set_by_agent(ticket, "CustomerLogin", text("typed by hand"))
        .unwrap();

    let config = enabled([MappingRule::new(keys::USER_LOGIN, "CustomerLogin")]);
    let report = handle(config, &CREATE, ticket, &tickets, &records).await;

    assert_eq!(outcomes(&report), vec![("CustomerLogin", &written("jdoe"))]);
    assert_eq!(
        tickets.current(ticket, "CustomerLogin"),
        Some(CurrentValue::automatic("jdoe"))
    );
}

#[tokio::test]
async fn never_overwrite_manual_keeps_values_set_by_hand_only() {
    let tickets = otobo_tickets();
    let records = records();
    let config = enabled([
        MappingRule::new(keys::USER_LOGIN, "CustomerLogin")
            .with_policy(WritePolicy::NeverOverwriteManual),
        MappingRule::new("NoSuchAttribute", "CustomerID")
            .with_policy(WritePolicy::NeverOverwriteManual),
    ]);
    let ticket = tickets.create_ticket(Some("jdoe"));

    // Automatic values are rewritten.
    let report = handle(config.clone(), &CREATE, ticket, &tickets, &records).await;
    assert_eq!(report.changed().count(), 2);

    // A value typed by an agent, and a field an agent cleared, stay as they are.
    tickets
        .set_by_agent(ticket, "CustomerLogin", text("agent's choice"))
        .unwrap();
    tickets.set_by_agent(ticket, "CustomerID", None).unwrap();
    tickets.set_customer_user(ticket, Some("rroe")).unwrap();
    let report = handle(config, &CUSTOMER_UPDATE, ticket, &tickets, &records).await;
    assert_eq!(
        outcomes(&report),
        vec![
            ("CustomerID", &skipped(SkipReason::PolicyKeptManualValue)),
            ("CustomerLogin", &skipped(SkipReason::PolicyKeptManualValue)),
        ]
    );
    assert_eq!(
        tickets.value(ticket, "CustomerLogin"),
        text("agent's choice")
    );
    assert_eq!(tickets.writes().len(), 2);
}

#[tokio::test]
async fn only_if_empty_writes_empty_fields_only() {
    let tickets = otobo_tickets();
    let records = records();
    let config = enabled([
        MappingRule::new(keys::USER_LOGIN, "CustomerLogin").with_policy(WritePolicy::OnlyIfEmpty),
        MappingRule::new(keys::USER_FIRSTNAME, "CustomerFirstname")
            .with_policy(WritePolicy::OnlyIfEmpty),
        MappingRule::new(keys::USER_LASTNAME, "CustomerLastname")
            .with_policy(WritePolicy::OnlyIfEmpty),
    ]);
    let ticket = tickets.create_ticket(Some("jdoe"));
    tickets
        .set_by_agent(ticket, "CustomerFirstname", text(""))
        .unwrap();
    tickets
        .set_by_agent(ticket, "CustomerLastname", text("0"))
        .unwrap();

    let report = handle(config.clone(), &CREATE, ticket, &tickets, &records).await;
    assert_eq!(
        outcomes(&report),
        vec![
            ("CustomerFirstname", &written("Jane")),
            // "0" is a value in a ticket field.
            (
                "CustomerLastname",
                &skipped(SkipReason::PolicyFieldNotEmpty)
            ),
            ("CustomerLogin", &written("jdoe")),
        ]
    );

    // Once filled, a new customer does not change them.
    tickets.set_customer_user(ticket, Some("rroe")).unwrap();
    let report = handle(config, &CUSTOMER_UPDATE, ticket, &tickets, &records).await;
    assert!(
        report
            .entries
            .iter()
            .all(|entry| entry.outcome == skipped(SkipReason::PolicyFieldNotEmpty))
    );
    assert_eq!(tickets.value(ticket, "CustomerLogin"), text("jdoe"));
}

#[tokio::test]
async fn a_ticket_without_customer_user_clears_or_keeps() {
    let tickets = otobo_tickets();
    let records = records();
    let ticket = tickets.create_ticket(Some("jdoe"));
    handle(otobo_config(), &CREATE, ticket, &tickets, &records).await;

    tickets.set_customer_user(ticket, None).unwrap();
    let mut config = otobo_config();
    config.mapping[0].on_missing = OnMissing::Keep; // CustomerLogin
    let report = handle(config, &CUSTOMER_UPDATE, ticket, &tickets, &records).await;

    assert_eq!(report.customer_user, None);
    let cleared = MappingOutcome::Cleared {
        cause: MissingCause::NoCustomerUser,
    };
    assert_eq!(
        outcomes(&report),
        vec![
            ("CustomerCompanyName", &cleared),
            ("CustomerFirstname", &cleared),
            ("CustomerID", &cleared),
            ("CustomerLastname", &cleared),
            (
                "CustomerLogin",
                &skipped(SkipReason::MissingValueKept {
                    cause: MissingCause::NoCustomerUser
                })
            ),
        ]
    );
    assert_eq!(tickets.value(ticket, "CustomerFirstname"), None);
    assert_eq!(tickets.value(ticket, "CustomerLogin"), text("jdoe"));

    // An empty login is no customer user, as in OTOBO.
    tickets.set_customer_user(ticket, Some("")).unwrap();
    let report = handle(otobo_config(), &CUSTOMER_UPDATE, ticket, &tickets, &records).await;
    assert_eq!(report.customer_user, None);
    assert_eq!(report.entries[0].outcome, cleared);
}

#[tokio::test]
async fn an_unknown_customer_user_clears_or_keeps() {
    let tickets = otobo_tickets();
    let records = records();
    let ticket = tickets.create_ticket(Some("jdoe"));
    handle(otobo_config(), &CREATE, ticket, &tickets, &records).await;

    tickets.set_customer_user(ticket, Some("gone")).unwrap();
    let mut config = otobo_config();
    config.mapping[1].on_missing = OnMissing::Keep; // CustomerFirstname
    let report = handle(config, &CUSTOMER_UPDATE, ticket, &tickets, &records).await;

    let cause = MissingCause::CustomerUserNotFound {
        login: "gone".into(),
    };
    assert_eq!(report.customer_user.as_deref(), Some("gone"));
    assert_eq!(
        report.entry("CustomerLogin").unwrap().outcome,
        MappingOutcome::Cleared {
            cause: cause.clone()
        }
    );
    assert_eq!(
        report.entry("CustomerFirstname").unwrap().outcome,
        skipped(SkipReason::MissingValueKept { cause })
    );
    assert_eq!(tickets.value(ticket, "CustomerLogin"), None);
    assert_eq!(tickets.value(ticket, "CustomerFirstname"), text("Jane"));
}

#[tokio::test]
async fn missing_zero_and_empty_attributes_count_as_missing() {
    let tickets = InMemoryTickets::with_fields(
        ["Absent", "Zero", "Empty", "EmptyList", "Kept"].map(DynamicFieldDefinition::text),
    );
    let records = InMemoryRecords::new();
    records.insert(
        "jdoe",
        CustomerRecord::new()
            .with(keys::USER_LOGIN, "jdoe")
            .with("UserRoom", "0")
            .with("UserPhone", "")
            .with("DynamicField_Skills", Vec::<String>::new()),
    );
    let ticket = tickets.create_ticket(Some("jdoe"));
    for field in ["Absent", "Zero", "Empty", "EmptyList", "Kept"] {
        tickets.set_by_agent(ticket, field, text("old")).unwrap();
    }
    let config = enabled([
        MappingRule::new("UserFax", "Absent"),
        MappingRule::new("UserRoom", "Zero"),
        MappingRule::new("UserPhone", "Empty"),
        MappingRule::new("DynamicField_Skills", "EmptyList"),
        MappingRule::new("UserRoom", "Kept").with_on_missing(OnMissing::Keep),
    ]);

    let report = handle(config, &CREATE, ticket, &tickets, &records).await;
    assert_eq!(
        outcomes(&report),
        vec![
            (
                "Absent",
                &MappingOutcome::Cleared {
                    cause: MissingCause::AttributeAbsent
                }
            ),
            (
                "Empty",
                &MappingOutcome::Cleared {
                    cause: MissingCause::AttributeEmpty {
                        value: FieldValue::text("")
                    }
                }
            ),
            (
                "EmptyList",
                &MappingOutcome::Cleared {
                    cause: MissingCause::AttributeEmpty {
                        value: FieldValue::List(Vec::new())
                    }
                }
            ),
            (
                "Kept",
                &skipped(SkipReason::MissingValueKept {
                    cause: MissingCause::AttributeEmpty {
                        value: FieldValue::text("0")
                    }
                })
            ),
            (
                "Zero",
                &MappingOutcome::Cleared {
                    cause: MissingCause::AttributeEmpty {
                        value: FieldValue::text("0")
                    }
                }
            ),
        ]
    );
    for field in ["Absent", "Zero", "Empty", "EmptyList"] {
        assert_eq!(tickets.value(ticket, field), None, "{field}");
    }
    assert_eq!(tickets.value(ticket, "Kept"), text("old"));
}

#[tokio::test]
async fn unknown_and_invalid_targets_are_reported_and_the_rest_is_written() {
    let tickets = InMemoryTickets::with_fields([
        DynamicFieldDefinition::text("CustomerLogin"),
        DynamicFieldDefinition::text("Retired").with_valid(false),
    ]);
    let records = records();
    let ticket = tickets.create_ticket(Some("jdoe"));
    let config = enabled([
        MappingRule::new(keys::USER_EMAIL, "Typo"),
        MappingRule::new(keys::USER_LOGIN, "CustomerLogin"),
        MappingRule::new(keys::USER_LASTNAME, "Retired"),
    ]);

    let report = handle(config, &CREATE, ticket, &tickets, &records).await;
    assert_eq!(
        outcomes(&report),
        vec![
            ("CustomerLogin", &written("jdoe")),
            ("Retired", &skipped(SkipReason::InvalidTargetField)),
            ("Typo", &skipped(SkipReason::UnknownTargetField)),
        ]
    );
    let warnings: Vec<&str> = report
        .warnings()
        .map(|entry| entry.target.as_str())
        .collect();
    assert_eq!(warnings, ["Retired", "Typo"]);
    assert_eq!(tickets.value(ticket, "Retired"), None);
    assert_eq!(tickets.writes().len(), 1);
}

fn skills_records() -> InMemoryRecords {
    [(
        "jdoe",
        CustomerRecord::builder()
            .user_attribute(keys::USER_LOGIN, "jdoe")
            .dynamic_field(keys::dynamic_field("Skills"), vec!["rust", "perl", "sql"])
            .build(),
    )]
    .into_iter()
    .collect()
}

#[tokio::test]
async fn multi_value_into_multi_value_field() {
    let tickets = InMemoryTickets::with_fields([
        DynamicFieldDefinition::new("Skills", FieldType::Multiselect),
        DynamicFieldDefinition::text("Tags").multi_value(),
    ]);
    let records = skills_records();
    let ticket = tickets.create_ticket(Some("jdoe"));
    let config = enabled([
        MappingRule::new("DynamicField_Skills", "Skills"),
        MappingRule::new(keys::USER_LOGIN, "Tags"),
    ]);

    let report = handle(config, &CREATE, ticket, &tickets, &records).await;
    let skills = FieldValue::list(["rust", "perl", "sql"]);
    assert_eq!(
        outcomes(&report),
        vec![
            ("Skills", &written(skills.clone())),
            ("Tags", &written(FieldValue::list(["jdoe"]))),
        ]
    );
    assert_eq!(tickets.value(ticket, "Skills"), Some(skills));
}

#[tokio::test]
async fn multi_value_into_single_value_field_is_rejected_or_joined() {
    let tickets =
        InMemoryTickets::with_fields(["Rejected", "Joined"].map(DynamicFieldDefinition::text));
    let records = skills_records();
    let ticket = tickets.create_ticket(Some("jdoe"));
    tickets
        .set_by_agent(ticket, "Rejected", text("untouched"))
        .unwrap();
    let config = enabled([
        MappingRule::new("DynamicField_Skills", "Rejected"),
        MappingRule::new("DynamicField_Skills", "Joined")
            .with_multi_value_into_single(MultiValueIntoSingle::Join(", ".into())),
    ]);

    let report = handle(config, &CREATE, ticket, &tickets, &records).await;
    assert_eq!(
        outcomes(&report),
        vec![
            ("Joined", &written("rust, perl, sql")),
            (
                "Rejected",
                &skipped(SkipReason::MultiValueIntoSingle {
                    values: vec!["rust".into(), "perl".into(), "sql".into()]
                })
            ),
        ]
    );
    assert_eq!(report.warnings().count(), 1);
    assert_eq!(tickets.value(ticket, "Rejected"), text("untouched"));
}

#[tokio::test]
async fn type_mismatch_is_reported() {
    let tickets = InMemoryTickets::with_fields([
        DynamicFieldDefinition::new("VIP", FieldType::Checkbox),
        DynamicFieldDefinition::new("Country", FieldType::Dropdown)
            .with_possible_values(["DE", "FR"]),
    ]);
    let records = InMemoryRecords::new();
    records.insert(
        "jdoe",
        CustomerRecord::new()
            .with("UserVIP", "yes")
            .with(keys::USER_COUNTRY, "Germany"),
    );
    let ticket = tickets.create_ticket(Some("jdoe"));
    let config = enabled([
        MappingRule::new("UserVIP", "VIP"),
        MappingRule::new(keys::USER_COUNTRY, "Country"),
    ]);

    let report = handle(config, &CREATE, ticket, &tickets, &records).await;
    assert_eq!(
        outcomes(&report),
        vec![
            (
                "Country",
                &skipped(SkipReason::TypeMismatch {
                    field_type: FieldType::Dropdown,
                    value: "Germany".into(),
                    expected: "one of the field's possible values".into(),
                })
            ),
            (
                "VIP",
                &skipped(SkipReason::TypeMismatch {
                    field_type: FieldType::Checkbox,
                    value: "yes".into(),
                    expected: "\"0\" or \"1\"".into(),
                })
            ),
        ]
    );
    assert!(tickets.writes().is_empty());
}

/// A host whose every call fails: proves the mapper made no call at all.
struct Unreachable;

#[derive(Debug, thiserror::Error)]
#[error("the host was called")]
struct Called;

#[async_trait]
impl TicketSystem for Unreachable {
    type TicketId = u64;
    type Error = Called;

    async fn customer_user_login(&self, _: &u64) -> Result<Option<String>, Called> {
        Err(Called)
    }

    async fn ticket_dynamic_fields(&self) -> Result<Vec<DynamicFieldDefinition>, Called> {
        Err(Called)
    }

    async fn current_values(
        &self,
        _: &u64,
        _: &[String],
    ) -> Result<BTreeMap<String, CurrentValue>, Called> {
        Err(Called)
    }
}

#[async_trait]
impl DynamicFieldSink for Unreachable {
    type TicketId = u64;
    type Error = Called;

    async fn set_value(&self, _: &u64, _: &str, _: &FieldValue) -> Result<(), Called> {
        Err(Called)
    }

    async fn clear_value(&self, _: &u64, _: &str) -> Result<(), Called> {
        Err(Called)
    }
}

#[async_trait]
impl CustomerRecordSource for Unreachable {
    type Error = Called;

    async fn record(&self, _: &str) -> Result<Option<CustomerRecord>, Called> {
        Err(Called)
    }
}

async fn handle_unreachable(
    config: DynamicFieldMappingConfig,
    event: &TicketEvent,
) -> MappingReport {
    DynamicFieldMapper::new(config)
        .handle(event, &1, &Unreachable, &Unreachable, &Unreachable)
        .await
        .expect("no host call")
}

#[tokio::test]
async fn disabled_config_does_nothing() {
    let config = otobo_config().with_enabled(false);
    let report = handle_unreachable(config.clone(), &CREATE).await;
    assert_eq!(report.entries.len(), 5);
    assert!(
        report
            .entries
            .iter()
            .all(|entry| entry.outcome == skipped(SkipReason::Disabled))
    );
    assert_eq!(report.warnings().count(), 0);

    // OTOBO's shipped default.
    let report = handle_unreachable(DynamicFieldMappingConfig::default(), &CREATE).await;
    assert!(report.entries.is_empty());
}

#[tokio::test]
async fn events_not_configured_do_nothing() {
    let report =
        handle_unreachable(otobo_config(), &TicketEvent::from_name("TicketStateUpdate")).await;
    assert!(
        report
            .entries
            .iter()
            .all(|entry| entry.outcome == skipped(SkipReason::EventNotConfigured))
    );
    assert_eq!(report.entries.len(), 5);

    let create_only = otobo_config().with_events([TicketEvent::TicketCreate]);
    let report = handle_unreachable(create_only, &CUSTOMER_UPDATE).await;
    assert_eq!(
        report.entries[0].outcome,
        skipped(SkipReason::EventNotConfigured)
    );

    // An enabled configuration without rules has nothing to read either.
    let report = handle_unreachable(enabled([]), &CREATE).await;
    assert!(report.entries.is_empty());
}

#[tokio::test]
async fn further_host_events_by_name() {
    let tickets = otobo_tickets();
    let records = records();
    let ticket = tickets.create_ticket(Some("jdoe"));
    let config = otobo_config().with_events(["TicketCreate", "TicketMerge"]);
    let report = handle(
        config,
        &TicketEvent::from_name("TicketMerge"),
        ticket,
        &tickets,
        &records,
    )
    .await;
    assert_eq!(report.changed().count(), 5);
}

#[tokio::test]
async fn a_failed_read_is_an_error_and_nothing_is_written() {
    let tickets = otobo_tickets();
    let records = records();
    let mapper = DynamicFieldMapper::new(otobo_config());
    let error = mapper
        .handle(&CREATE, &99, &tickets, &tickets, &records)
        .await
        .unwrap_err();
    assert!(matches!(&error, MapperError::CustomerUserLookup { ticket, .. } if ticket == "99"));
    assert_eq!(
        error.to_string(),
        "looking up the customer user of ticket 99 failed"
    );
    let source = std::error::Error::source(&error).unwrap();
    assert_eq!(
        source.to_string(),
        InMemoryError::UnknownTicket { ticket: 99 }.to_string()
    );

    let ticket = tickets.create_ticket(Some("jdoe"));
    let error = mapper
        .handle(&CREATE, &ticket, &tickets, &tickets, &Unreachable)
        .await
        .unwrap_err();
    assert!(matches!(&error, MapperError::CustomerRecord { login, .. } if login == "jdoe"));
    assert!(tickets.writes().is_empty());
}

/// Reads from the in-memory system; writes to `Broken` fail.
struct BrokenSink<'a>(&'a InMemoryTickets);

#[async_trait]
impl DynamicFieldSink for BrokenSink<'_> {
    type TicketId = u64;
    type Error = InMemoryError;

    async fn set_value(
        &self,
        ticket: &u64,
        field: &str,
        value: &FieldValue,
    ) -> Result<(), InMemoryError> {
        if field == "Broken" {
            return Err(InMemoryError::UnknownField {
                field: field.into(),
            });
        }
        self.0.set_value(ticket, field, value).await
    }

    async fn clear_value(&self, ticket: &u64, field: &str) -> Result<(), InMemoryError> {
        self.0.clear_value(ticket, field).await
    }
}

#[tokio::test]
async fn a_failed_write_is_recorded_and_the_other_writes_happen() {
    let tickets =
        InMemoryTickets::with_fields(["A", "Broken", "C"].map(DynamicFieldDefinition::text));
    let records = records();
    let ticket = tickets.create_ticket(Some("jdoe"));
    let config = enabled([
        MappingRule::new(keys::USER_LOGIN, "A"),
        MappingRule::new(keys::USER_LOGIN, "Broken"),
        MappingRule::new(keys::USER_LASTNAME, "C"),
    ]);
    let report = DynamicFieldMapper::new(config)
        .handle(&CREATE, &ticket, &tickets, &BrokenSink(&tickets), &records)
        .await
        .unwrap();

    assert_eq!(
        outcomes(&report),
        vec![
            ("A", &written("jdoe")),
            (
                "Broken",
                &MappingOutcome::Failed {
                    action: WriteAction::Set(FieldValue::text("jdoe")),
                    error: "no ticket dynamic field \"Broken\"".into(),
                }
            ),
            ("C", &written("Doe")),
        ]
    );
    assert_eq!(report.failures().count(), 1);
    assert_eq!(report.warnings().count(), 1);
    assert_eq!(tickets.value(ticket, "C"), text("Doe"));
}

#[tokio::test]
async fn current_values_are_read_only_for_policies_that_need_them() {
    /// Counts `current_values` calls, everything else from the in-memory system.
    struct Counting<'a>(&'a InMemoryTickets, std::sync::Mutex<Vec<Vec<String>>>);

    #[async_trait]
    impl TicketSystem for Counting<'_> {
        type TicketId = u64;
        type Error = InMemoryError;

        async fn customer_user_login(&self, ticket: &u64) -> Result<Option<String>, InMemoryError> {
            self.0.customer_user_login(ticket).await
        }

        async fn ticket_dynamic_fields(
            &self,
        ) -> Result<Vec<DynamicFieldDefinition>, InMemoryError> {
            self.0.ticket_dynamic_fields().await
        }

        async fn current_values(
            &self,
            ticket: &u64,
            fields: &[String],
        ) -> Result<BTreeMap<String, CurrentValue>, InMemoryError> {
            self.1.lock().unwrap().push(fields.to_vec());
            self.0.current_values(ticket, fields).await
        }
    }

    let tickets = otobo_tickets();
    let counting = Counting(&tickets, Default::default());
    let records = records();
    let ticket = tickets.create_ticket(Some("jdoe"));

    DynamicFieldMapper::new(otobo_config())
        .handle(&CREATE, &ticket, &counting, &tickets, &records)
        .await
        .unwrap();
    assert!(counting.1.lock().unwrap().is_empty());

    let mut config = otobo_config();
    config.mapping[2].policy = WritePolicy::OnlyIfEmpty;
    DynamicFieldMapper::new(config)
        .handle(&CREATE, &ticket, &counting, &tickets, &records)
        .await
        .unwrap();
    assert_eq!(
        *counting.1.lock().unwrap(),
        vec![vec!["CustomerLastname".to_owned()]]
    );
}

#[tokio::test]
async fn checked_mapper_refuses_overwriting_fields_agents_edit() {
    let editable = [ManualEdit::new("CustomerLogin", "AgentTicketFreeText")];
    let error = DynamicFieldMapper::checked(otobo_config(), &editable).unwrap_err();
    assert!(error.to_string().contains("AgentTicketFreeText"), "{error}");

    let mut config = otobo_config();
    config.mapping[0].policy = WritePolicy::NeverOverwriteManual;
    assert!(DynamicFieldMapper::checked(config, &editable).is_ok());
}

#[tokio::test]
async fn records_from_a_source_with_its_own_error_type() {
    /// A source that is just a map, as a vendor might write it.
    struct Map(BTreeMap<String, CustomerRecord>);

    #[async_trait]
    impl CustomerRecordSource for Map {
        type Error = Infallible;

        async fn record(&self, login: &str) -> Result<Option<CustomerRecord>, Infallible> {
            Ok(self.0.get(login).cloned())
        }
    }

    let tickets = otobo_tickets();
    let ticket = tickets.create_ticket(Some("jdoe"));
    let source = Map(BTreeMap::from([(
        "jdoe".to_owned(),
        person("jdoe", "Jane", "Doe", "acme", "Acme Inc."),
    )]));
    let report = DynamicFieldMapper::new(otobo_config())
        .handle(
            &CREATE,
            &ticket,
            &tickets,
            &tickets,
            &source as &dyn CustomerRecordSource<Error = Infallible>,
        )
        .await
        .unwrap();
    assert_eq!(report.changed().count(), 5);
}

#[tokio::test]
async fn handling_can_be_spawned_onto_another_task() {
    let tickets = std::sync::Arc::new(otobo_tickets());
    let records = std::sync::Arc::new(records());
    let ticket = tickets.create_ticket(Some("jdoe"));
    let mapper = DynamicFieldMapper::new(otobo_config());
    let task = tokio::spawn({
        let tickets = tickets.clone();
        async move {
            mapper
                .handle(&CREATE, &ticket, &*tickets, &*tickets, &*records)
                .await
        }
    });
    let report = task.await.unwrap().unwrap();
    assert_eq!(report.changed().count(), 5);
    assert_eq!(tickets.value(ticket, "CustomerLogin"), text("jdoe"));
}
