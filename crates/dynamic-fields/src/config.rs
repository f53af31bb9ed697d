//! The mapping configuration (OTOBO `DynamicFieldFromCustomerUser::Mapping` plus the event
//! module registration) and its load-time check.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A ticket event the mapper can react to.
///
/// Events are identified by their OTOBO name: `TicketCreate`, `TicketCustomerUpdate`, or any
/// other name the host emits ([`TicketEvent::Other`]). Two events are equal when their names
/// are, so `TicketEvent::Other("TicketCreate".into()) == TicketEvent::TicketCreate`.
/// Serialised as the name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum TicketEvent {
    /// A ticket was created (OTOBO `TicketCreate`).
    TicketCreate,
    /// The customer user or customer id of a ticket changed (OTOBO `TicketCustomerUpdate`).
    TicketCustomerUpdate,
    /// Any other event of the host, by name.
    Other(String),
}

impl TicketEvent {
    /// The event with this name; the two OTOBO names give the named variants.
    pub fn from_name(name: impl Into<String>) -> Self {
        let name = name.into();
        match name.as_str() {
            "TicketCreate" => TicketEvent::TicketCreate,
            "TicketCustomerUpdate" => TicketEvent::TicketCustomerUpdate,
            _ => TicketEvent::Other(name),
        }
    }

    /// The event's name.
    pub fn name(&self) -> &str {
        match self {
            TicketEvent::TicketCreate => "TicketCreate",
            TicketEvent::TicketCustomerUpdate => "TicketCustomerUpdate",
            TicketEvent::Other(name) => name,
        }
    }
}

impl PartialEq for TicketEvent {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for TicketEvent {}

impl std::hash::Hash for TicketEvent {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl fmt::Display for TicketEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<String> for TicketEvent {
    fn from(name: String) -> Self {
        TicketEvent::from_name(name)
    }
}

impl From<&str> for TicketEvent {
    fn from(name: &str) -> Self {
        TicketEvent::from_name(name)
    }
}

impl From<TicketEvent> for String {
    fn from(event: TicketEvent) -> Self {
        match event {
            TicketEvent::Other(name) => name,
            named => named.name().to_owned(),
        }
    }
}

/// When a mapping rule may write its ticket field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WritePolicy {
    /// Always write (or clear) the field: OTOBO's behaviour, and the default. A value an agent
    /// set by hand is overwritten on the next event.
    #[default]
    Overwrite,
    /// Write only when the field has no value yet (no value, the empty text or the empty list).
    OnlyIfEmpty,
    /// Write unless the field's current value was set by hand; a manual value is kept.
    NeverOverwriteManual,
}

impl fmt::Display for WritePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WritePolicy::Overwrite => "overwrite",
            WritePolicy::OnlyIfEmpty => "only_if_empty",
            WritePolicy::NeverOverwriteManual => "never_overwrite_manual",
        })
    }
}

/// What a rule does when its source value is missing: the ticket has no customer user, the
/// user is not found, the record lacks the attribute, or the attribute is Perl-false (`""`,
/// `"0"`, the empty list — see [`FieldValue::is_missing`](crate::FieldValue::is_missing)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnMissing {
    /// Clear the ticket field: OTOBO's behaviour (it writes `''`), and the default.
    #[default]
    Clear,
    /// Leave the ticket field as it is.
    Keep,
}

/// What a rule does with a source holding several values when its target field holds one.
///
/// A list with exactly one element is written as that element under either setting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MultiValueIntoSingle {
    /// Skip the field and report the mismatch (the default).
    #[default]
    Reject,
    /// Join the values with this separator (in configuration: `{ join = ", " }`).
    Join(String),
}

/// One mapping rule: copy the customer-record attribute `source` into the ticket dynamic field
/// `target`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingRule {
    /// The attribute key in the [`CustomerRecord`](crate::CustomerRecord): `UserLogin`,
    /// `CustomerCompanyName`, a preference key, `DynamicField_X`, ….
    pub source: String,
    /// The name of the ticket dynamic field to write.
    pub target: String,
    /// When the field may be written (default [`WritePolicy::Overwrite`]).
    #[serde(default)]
    pub policy: WritePolicy,
    /// What to do when the source value is missing (default [`OnMissing::Clear`]).
    #[serde(default)]
    pub on_missing: OnMissing,
    /// What to do with several values for a single-value field (default
    /// [`MultiValueIntoSingle::Reject`]).
    #[serde(default)]
    pub multi_value_into_single: MultiValueIntoSingle,
}

impl MappingRule {
    /// A rule with OTOBO's behaviour: overwrite, clear when missing, reject several values for a
    /// single-value field.
    pub fn new(source: impl Into<String>, target: impl Into<String>) -> Self {
        MappingRule {
            source: source.into(),
            target: target.into(),
            policy: WritePolicy::default(),
            on_missing: OnMissing::default(),
            multi_value_into_single: MultiValueIntoSingle::default(),
        }
    }

    /// This rule with another write policy.
    pub fn with_policy(mut self, policy: WritePolicy) -> Self {
        self.policy = policy;
        self
    }

    /// This rule with another missing-value behaviour.
    pub fn with_on_missing(mut self, on_missing: OnMissing) -> Self {
        self.on_missing = on_missing;
        self
    }

    /// This rule with another multi-value behaviour.
    pub fn with_multi_value_into_single(mut self, multi: MultiValueIntoSingle) -> Self {
        self.multi_value_into_single = multi;
        self
    }
}

/// The configuration of the dynamic-field mapper (OTOBO: the event module
/// `Ticket::EventModulePost###4100-DynamicFieldFromCustomerUser` and the setting
/// `DynamicFieldFromCustomerUser::Mapping`).
///
/// Defaults equal OTOBO's: disabled, reacting to `TicketCreate` and `TicketCustomerUpdate`, no
/// mapping. `mapping` is read either as a list of [`MappingRule`] tables or, like OTOBO's
/// setting, as a table from source attribute to either a target field name or a rule table
/// without `source`:
///
/// ```
/// use clientele_dynamic_fields::{DynamicFieldMappingConfig, MappingRule, WritePolicy};
///
/// let config: DynamicFieldMappingConfig = serde_json::from_str(r#"{
///     "enabled": true,
///     "mapping": {
///         "UserLogin": "CustomerLogin",
///         "UserEmail": { "target": "CustomerEmail", "policy": "only_if_empty" }
///     }
/// }"#).unwrap();
///
/// assert_eq!(config.mapping, vec![
///     MappingRule::new("UserLogin", "CustomerLogin"),
///     MappingRule::new("UserEmail", "CustomerEmail").with_policy(WritePolicy::OnlyIfEmpty),
/// ]);
/// ```
///
/// (In the table form the rules come in the order the format reads the keys, which for some
/// formats is sorted; the mapper sorts the writes anyway.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamicFieldMappingConfig {
    /// Whether the mapper runs at all (default `false`, as OTOBO ships it).
    #[serde(default)]
    pub enabled: bool,
    /// The events it reacts to (default `TicketCreate` and `TicketCustomerUpdate`, OTOBO's
    /// event regex). An empty list means it never runs.
    #[serde(default = "default_events")]
    pub events: Vec<TicketEvent>,
    /// The rules, in configuration order (default: none).
    #[serde(default, deserialize_with = "mapping_form::deserialize")]
    pub mapping: Vec<MappingRule>,
}

fn default_events() -> Vec<TicketEvent> {
    vec![TicketEvent::TicketCreate, TicketEvent::TicketCustomerUpdate]
}

impl Default for DynamicFieldMappingConfig {
    fn default() -> Self {
        DynamicFieldMappingConfig {
            enabled: false,
            events: default_events(),
            mapping: Vec::new(),
        }
    }
}

impl DynamicFieldMappingConfig {
    /// OTOBO's defaults: disabled, the two default events, no mapping.
    pub fn new() -> Self {
        Self::default()
    }

    /// This configuration switched on or off.
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// This configuration reacting to exactly these events.
    pub fn with_events<E: Into<TicketEvent>>(
        mut self,
        events: impl IntoIterator<Item = E>,
    ) -> Self {
        self.events = events.into_iter().map(Into::into).collect();
        self
    }

    /// This configuration with one more rule.
    pub fn with_rule(mut self, rule: MappingRule) -> Self {
        self.mapping.push(rule);
        self
    }

    /// `true` when the mapper is enabled and `event` is one of [`events`](Self::events).
    pub fn reacts_to(&self, event: &TicketEvent) -> bool {
        self.enabled && self.events.contains(event)
    }

    /// Every rule whose target field agents can also edit by hand (as the host declares in
    /// `editable`) while its policy is [`WritePolicy::Overwrite`]: the mapper would silently
    /// replace what the agent typed. Ordered by target field, then source attribute.
    pub fn manual_edit_conflicts(&self, editable: &[ManualEdit]) -> Vec<ManualEditConflict> {
        let mut screens: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for edit in editable {
            let list = screens.entry(edit.field.as_str()).or_default();
            if !list.contains(&edit.screen) {
                list.push(edit.screen.clone());
            }
        }
        let mut conflicts: Vec<ManualEditConflict> = self
            .mapping
            .iter()
            .filter(|rule| rule.policy == WritePolicy::Overwrite)
            .filter_map(|rule| {
                screens
                    .get(rule.target.as_str())
                    .map(|screens| ManualEditConflict {
                        attribute: rule.source.clone(),
                        target: rule.target.clone(),
                        screens: screens.clone(),
                    })
            })
            .collect();
        conflicts.sort_by(|a, b| (&a.target, &a.attribute).cmp(&(&b.target, &b.attribute)));
        conflicts
    }

    /// Every problem of this configuration, to be reported when it is loaded: empty source or
    /// target names, several rules writing one field, and the
    /// [manual-edit conflicts](Self::manual_edit_conflicts) with the host's declaration.
    pub fn check(&self, editable: &[ManualEdit]) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut sources_by_target: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for rule in &self.mapping {
            if rule.source.is_empty() {
                issues.push(ConfigIssue::EmptySource {
                    target: rule.target.clone(),
                });
            }
            if rule.target.is_empty() {
                issues.push(ConfigIssue::EmptyTarget {
                    attribute: rule.source.clone(),
                });
            }
            sources_by_target
                .entry(rule.target.as_str())
                .or_default()
                .push(rule.source.clone());
        }
        issues.extend(
            sources_by_target
                .into_iter()
                .filter(|(target, sources)| !target.is_empty() && sources.len() > 1)
                .map(|(target, sources)| ConfigIssue::DuplicateTarget {
                    target: target.to_owned(),
                    attributes: sources,
                }),
        );
        issues.extend(
            self.manual_edit_conflicts(editable)
                .into_iter()
                .map(ConfigIssue::ManualEditConflict),
        );
        issues
    }

    /// [`check`](Self::check) as a result: `Ok` when there is no issue.
    pub fn validate(&self, editable: &[ManualEdit]) -> Result<(), ConfigError> {
        let issues = self.check(editable);
        if issues.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid { issues })
        }
    }
}

/// The host's declaration that agents can set the ticket dynamic field `field` by hand in the
/// ticket screen `screen` (OTOBO: the field is enabled in e.g.
/// `Ticket::Frontend::AgentTicketFreeText###DynamicField`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ManualEdit {
    /// The ticket dynamic field.
    pub field: String,
    /// The screen in which agents can edit it.
    pub screen: String,
}

impl ManualEdit {
    /// `field` is editable by hand in `screen`.
    pub fn new(field: impl Into<String>, screen: impl Into<String>) -> Self {
        ManualEdit {
            field: field.into(),
            screen: screen.into(),
        }
    }
}

/// A mapped field that agents can also edit by hand while its rule overwrites it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, thiserror::Error)]
#[error(
    "ticket dynamic field {target:?} (mapped from {attribute:?}) can be edited by hand in {screens:?} \
     but its policy is `overwrite`; use `never_overwrite_manual` or `only_if_empty`"
)]
pub struct ManualEditConflict {
    /// The rule's source attribute.
    pub attribute: String,
    /// The rule's target field.
    pub target: String,
    /// The screens in which agents can edit the field, in declaration order.
    pub screens: Vec<String>,
}

/// One problem found by [`DynamicFieldMappingConfig::check`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigIssue {
    /// A mapped field is also edited by hand and the rule overwrites it.
    #[error(transparent)]
    ManualEditConflict(ManualEditConflict),
    /// Several rules write the same field, so all but the last write are lost.
    #[error(
        "ticket dynamic field {target:?} is the target of several rules (from {attributes:?}); \
         only the last write would remain"
    )]
    DuplicateTarget {
        /// The field.
        target: String,
        /// The source attributes of the rules writing it, in configuration order.
        attributes: Vec<String>,
    },
    /// A rule has an empty source attribute.
    #[error("a mapping rule for ticket dynamic field {target:?} has an empty source attribute")]
    EmptySource {
        /// The rule's target field.
        target: String,
    },
    /// A rule has an empty target field name.
    #[error("the mapping rule for attribute {attribute:?} has an empty target field")]
    EmptyTarget {
        /// The rule's source attribute.
        attribute: String,
    },
}

/// A configuration refused by [`DynamicFieldMappingConfig::validate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration has these issues.
    #[error("invalid dynamic-field mapping configuration: {}", join_issues(.issues))]
    Invalid {
        /// Every issue found.
        issues: Vec<ConfigIssue>,
    },
}

fn join_issues(issues: &[ConfigIssue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Reads `mapping` as a list of rules or as a table `source → target | rule without source`.
mod mapping_form {
    use std::fmt;

    use serde::de::value::MapAccessDeserializer;
    use serde::de::{self, MapAccess, SeqAccess, Visitor};
    use serde::{Deserialize, Deserializer};

    use super::{MappingRule, MultiValueIntoSingle, OnMissing, WritePolicy};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<MappingRule>, D::Error> {
        deserializer.deserialize_any(MappingVisitor)
    }

    struct MappingVisitor;

    impl<'de> Visitor<'de> for MappingVisitor {
        type Value = Vec<MappingRule>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of mapping rules or a table from source attribute to target field")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut rules = Vec::new();
            while let Some(rule) = seq.next_element::<MappingRule>()? {
                rules.push(rule);
            }
            Ok(rules)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut rules = Vec::new();
            while let Some(source) = map.next_key::<String>()? {
                let target = map.next_value::<Target>()?;
                rules.push(target.into_rule(source));
            }
            Ok(rules)
        }
    }

    /// The value side of the table form.
    enum Target {
        Name(String),
        Rule(RuleWithoutSource),
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RuleWithoutSource {
        target: String,
        #[serde(default)]
        policy: WritePolicy,
        #[serde(default)]
        on_missing: OnMissing,
        #[serde(default)]
        multi_value_into_single: MultiValueIntoSingle,
    }

    impl Target {
        fn into_rule(self, source: String) -> MappingRule {
            match self {
                Target::Name(target) => MappingRule::new(source, target),
                Target::Rule(rule) => MappingRule {
                    source,
                    target: rule.target,
                    policy: rule.policy,
                    on_missing: rule.on_missing,
                    multi_value_into_single: rule.multi_value_into_single,
                },
            }
        }
    }

    impl<'de> Deserialize<'de> for Target {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(TargetVisitor)
        }
    }

    struct TargetVisitor;

    impl<'de> Visitor<'de> for TargetVisitor {
        type Value = Target;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a target field name or a table with `target` and options")
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
            Ok(Target::Name(value.to_owned()))
        }

        fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
            Ok(Target::Name(value))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            RuleWithoutSource::deserialize(MapAccessDeserializer::new(map)).map(Target::Rule)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<DynamicFieldMappingConfig, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn defaults_are_otobos() {
        let config = parse("{}").unwrap();
        assert_eq!(config, DynamicFieldMappingConfig::default());
        assert!(!config.enabled);
        assert_eq!(
            config.events,
            vec![TicketEvent::TicketCreate, TicketEvent::TicketCustomerUpdate]
        );
        assert!(config.mapping.is_empty());
    }

    #[test]
    fn list_form_with_every_option() {
        let config = parse(
            r#"{
                "enabled": true,
                "events": ["TicketCreate", "TicketQueueUpdate"],
                "mapping": [
                    { "source": "UserLogin", "target": "CustomerLogin" },
                    { "source": "DynamicField_Skills", "target": "Skills",
                      "policy": "never_overwrite_manual", "on_missing": "keep",
                      "multi_value_into_single": { "join": ", " } },
                    { "source": "UserEmail", "target": "Mail",
                      "multi_value_into_single": "reject", "policy": "only_if_empty" }
                ]
            }"#,
        )
        .unwrap();
        assert_eq!(
            config.events,
            vec![
                TicketEvent::TicketCreate,
                TicketEvent::Other("TicketQueueUpdate".into())
            ]
        );
        assert_eq!(
            config.mapping,
            vec![
                MappingRule::new("UserLogin", "CustomerLogin"),
                MappingRule::new("DynamicField_Skills", "Skills")
                    .with_policy(WritePolicy::NeverOverwriteManual)
                    .with_on_missing(OnMissing::Keep)
                    .with_multi_value_into_single(MultiValueIntoSingle::Join(", ".into())),
                MappingRule::new("UserEmail", "Mail").with_policy(WritePolicy::OnlyIfEmpty),
            ]
        );
    }

    #[test]
    fn serialised_config_reads_back() {
        let config = DynamicFieldMappingConfig::new()
            .with_enabled(true)
            .with_events(["TicketCreate", "Custom"])
            .with_rule(
                MappingRule::new("A", "B")
                    .with_multi_value_into_single(MultiValueIntoSingle::Join("|".into())),
            );
        let json = serde_json::to_string(&config).unwrap();
        assert_eq!(parse(&json).unwrap(), config);
    }

    #[test]
    fn unknown_keys_are_refused_everywhere() {
        for json in [
            r#"{ "enable": true }"#,
            r#"{ "mapping": [ { "source": "A", "target": "B", "polcy": "overwrite" } ] }"#,
            r#"{ "mapping": { "A": { "target": "B", "on_mising": "keep" } } }"#,
            r#"{ "mapping": { "A": { "source": "X", "target": "B" } } }"#,
            r#"{ "mapping": [ { "source": "A", "target": "B", "policy": "sometimes" } ] }"#,
            r#"{ "mapping": [ { "source": "A" } ] }"#,
            r#"{ "mapping": { "A": 3 } }"#,
            r#"{ "mapping": "A" }"#,
        ] {
            assert!(parse(json).is_err(), "accepted {json}");
        }
    }

    #[test]
    fn event_equality_is_by_name() {
        assert_eq!(
            TicketEvent::Other("TicketCreate".into()),
            TicketEvent::TicketCreate
        );
        assert_eq!(
            TicketEvent::from_name("TicketCustomerUpdate"),
            TicketEvent::TicketCustomerUpdate
        );
        assert!(matches!(
            TicketEvent::from("TicketCreate"),
            TicketEvent::TicketCreate
        ));
        assert_eq!(String::from(TicketEvent::Other("X".into())), "X");
    }

    #[test]
    fn reacts_only_when_enabled_and_configured() {
        let config = DynamicFieldMappingConfig::new();
        assert!(!config.reacts_to(&TicketEvent::TicketCreate));
        let config = config.with_enabled(true);
        assert!(config.reacts_to(&TicketEvent::TicketCreate));
        assert!(config.reacts_to(&TicketEvent::TicketCustomerUpdate));
        assert!(!config.reacts_to(&TicketEvent::from_name("TicketStateUpdate")));
    }

    #[test]
    fn manual_edit_conflicts_only_for_overwrite() {
        let config = DynamicFieldMappingConfig::new()
            .with_rule(MappingRule::new("UserLogin", "CustomerLogin"))
            .with_rule(
                MappingRule::new("UserEmail", "CustomerEmail")
                    .with_policy(WritePolicy::NeverOverwriteManual),
            )
            .with_rule(MappingRule::new("UserPhone", "Phone").with_policy(WritePolicy::OnlyIfEmpty))
            .with_rule(MappingRule::new("UserCity", "City"));
        let editable = [
            ManualEdit::new("CustomerLogin", "AgentTicketFreeText"),
            ManualEdit::new("CustomerLogin", "AgentTicketPhone"),
            ManualEdit::new("CustomerLogin", "AgentTicketFreeText"),
            ManualEdit::new("CustomerEmail", "AgentTicketFreeText"),
            ManualEdit::new("Phone", "AgentTicketFreeText"),
        ];
        assert_eq!(
            config.manual_edit_conflicts(&editable),
            vec![ManualEditConflict {
                attribute: "UserLogin".into(),
                target: "CustomerLogin".into(),
                screens: vec!["AgentTicketFreeText".into(), "AgentTicketPhone".into()],
            }]
        );
        let err = config.validate(&editable).unwrap_err();
        assert!(err.to_string().contains("\"CustomerLogin\""), "{err}");
        assert!(config.validate(&[]).is_ok());
    }

    #[test]
    fn check_reports_duplicates_and_empty_names() {
        let config = DynamicFieldMappingConfig::new()
            .with_rule(MappingRule::new("UserEmail", "Contact"))
            .with_rule(MappingRule::new("", "X"))
            .with_rule(MappingRule::new("UserPhone", "Contact"))
            .with_rule(MappingRule::new("UserCity", ""));
        assert_eq!(
            config.check(&[]),
            vec![
                ConfigIssue::EmptySource { target: "X".into() },
                ConfigIssue::EmptyTarget {
                    attribute: "UserCity".into()
                },
                ConfigIssue::DuplicateTarget {
                    target: "Contact".into(),
                    attributes: vec!["UserEmail".into(), "UserPhone".into()],
                },
            ]
        );
    }
}
