//! Who made a change: the audit actor every write takes.
//!
//! OTOBO's audit columns (`create_by`, `change_by`) hold the id of an agent (`users.id`). A
//! library caller often knows a name rather than an id, or nobody at all (an import, a sync
//! job). [`Actor`] says which of the three it is, so a store never has to guess from a string.
//!
//! ```
//! use clientele_model::Actor;
//!
//! use clientele_model::actor::AgentId;
//!
//! let seven = AgentId::new(7).unwrap();
//! assert_eq!(Actor::from("7"), Actor::Agent(seven));
//! assert_eq!(Actor::from("jdoe"), Actor::Named("jdoe".into()));
//! assert_eq!(Actor::from(""), Actor::System);
//! assert_eq!(Actor::Agent(seven).audit_agent_id(), seven);
//! assert_eq!(Actor::Named("jdoe".into()).audit_agent_id(), AgentId::SYSTEM);
//! assert!(AgentId::new(0).is_err());
//! assert_eq!(Actor::Named("jdoe".into()).to_string(), "jdoe");
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// An OTOBO agent id (`users.id`): between 1 and `i32::MAX`, what OTOBO's `INTEGER` audit
/// columns hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct AgentId(i32);

impl AgentId {
    /// OTOBO's system agent (`root@localhost`), the id it records for changes nobody made by
    /// hand.
    pub const SYSTEM: AgentId = AgentId(1);

    /// An agent id; a validation error naming the field `agent_id` outside 1..=`i32::MAX`.
    pub fn new(id: i64) -> Result<AgentId, ValidationError> {
        match i32::try_from(id) {
            Ok(id) if id >= 1 => Ok(AgentId(id)),
            _ => Err(ValidationError::Invalid {
                field: "agent_id".into(),
                value: id.to_string(),
                reason: format!("an agent id is between 1 and {}", i32::MAX),
            }),
        }
    }

    /// The id as OTOBO's columns store it.
    pub fn get(self) -> i32 {
        self.0
    }
}

impl TryFrom<i64> for AgentId {
    type Error = ValidationError;
    fn try_from(id: i64) -> Result<Self, Self::Error> {
        AgentId::new(id)
    }
}

impl From<AgentId> for i64 {
    fn from(id: AgentId) -> Self {
        i64::from(id.0)
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Who made a change, as the audit columns record it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// Nobody in particular: Clientele itself, a script, an import. OTOBO records such
    /// changes as its system agent ([`AgentId::SYSTEM`]).
    #[default]
    System,
    /// An agent by OTOBO id.
    Agent(AgentId),
    /// Someone known by name only. A store that records agent ids and cannot resolve the name
    /// records [`AgentId::SYSTEM`]; a store that records names keeps it.
    Named(String),
}

impl Actor {
    /// The id an OTOBO audit column records: the agent's id, or the system agent's for
    /// [`Actor::System`] and an unresolved [`Actor::Named`].
    pub fn audit_agent_id(&self) -> AgentId {
        match self {
            Actor::Agent(id) => *id,
            Actor::System | Actor::Named(_) => AgentId::SYSTEM,
        }
    }
}

/// Reads how a command line or a configuration names an actor: an empty string is
/// [`Actor::System`], a positive number that fits OTOBO's id column is [`Actor::Agent`],
/// anything else is [`Actor::Named`] (trimmed).
impl From<&str> for Actor {
    fn from(s: &str) -> Self {
        let s = s.trim();
        if s.is_empty() {
            return Actor::System;
        }
        match s.parse::<i64>().map(AgentId::new) {
            Ok(Ok(id)) => Actor::Agent(id),
            _ => Actor::Named(s.to_owned()),
        }
    }
}

impl From<&String> for Actor {
    fn from(s: &String) -> Self {
        Actor::from(s.as_str())
    }
}

impl From<String> for Actor {
    fn from(s: String) -> Self {
        Actor::from(s.as_str())
    }
}

impl From<&Actor> for Actor {
    fn from(a: &Actor) -> Self {
        a.clone()
    }
}

/// The actor as a store that records names writes it: the name, the agent id, or `system`.
impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::System => f.write_str("system"),
            Actor::Agent(id) => id.fmt(f),
            Actor::Named(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_name_actors() {
        assert_eq!(Actor::from("  "), Actor::System);
        assert_eq!(Actor::from(" 42 "), Actor::Agent(AgentId(42)));
        assert_eq!(Actor::from("0"), Actor::Named("0".into()));
        assert_eq!(Actor::from("-3"), Actor::Named("-3".into()));
        assert_eq!(Actor::from("2147483648"), Actor::Named("2147483648".into()));
        assert_eq!(Actor::from("2147483647"), Actor::Agent(AgentId(i32::MAX)));
        assert_eq!(Actor::from("admin"), Actor::Named("admin".into()));
    }

    #[test]
    fn audit_ids() {
        assert_eq!(Actor::System.audit_agent_id().get(), 1);
        assert_eq!(Actor::Named("x".into()).audit_agent_id().get(), 1);
        assert_eq!(Actor::Agent(AgentId(9)).audit_agent_id().get(), 9);
        assert!(AgentId::new(-1).is_err());
        assert!(AgentId::new(i64::from(i32::MAX) + 1).is_err());
        assert_eq!(Actor::System.to_string(), "system");
    }
}
