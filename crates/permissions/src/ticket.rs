//! Ticket access for customer users (OTOBO `CustomerTicket::Permission`).

use clientele_model::permission::GroupId;
use serde::{Deserialize, Serialize};

/// The facts of a ticket that customer ticket access looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket<'a> {
    /// The ticket's customer user login (OTOBO `CustomerUserID`), if any.
    pub customer_user: Option<&'a str>,
    /// The ticket's customer id (OTOBO `CustomerID`), if any.
    pub customer_id: Option<&'a str>,
    /// The group of the ticket's queue.
    pub queue_group: GroupId,
}

/// One of OTOBO's four customer ticket permission checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketCheck {
    /// `1-GroupCheck`: the user has the requested type on the queue's group (effective
    /// permissions, including always-groups and company grants).
    GroupCheck,
    /// `2-CustomerUserIDCheck`: the ticket's customer user is the user (compared ignoring case).
    CustomerUserIdCheck,
    /// `3-CustomerIDCheck`: the ticket's customer id is one of the user's customer ids
    /// (ignoring case). Off when company ticket access is disabled.
    CustomerIdCheck,
    /// `4-CustomerGroupCheck`: one of the user's companies has the requested type on the
    /// queue's group in the "other customers" context. Off when company ticket access is
    /// disabled, customer-group support is off, or the "other customers" context is not
    /// enabled.
    CustomerGroupCheck,
}

/// One configured check and how its answer is used (OTOBO `Required` / `Granted`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TicketPermissionModule {
    /// What is checked.
    pub check: TicketCheck,
    /// A failed check denies access at once.
    pub required: bool,
    /// A passed check grants access at once.
    pub granted: bool,
}

/// The customer ticket permission rules (OTOBO `CustomerTicket::Permission###…` and
/// `Ticket::Frontend::CustomerDisableCompanyTicketAccess`).
///
/// The modules run in order. A check that passes and is `granted` allows access; a check that
/// fails and is `required` denies it; if no module decides, access is denied. The default is
/// OTOBO's: the queue-group check is required, and any of the other three grants, so a customer
/// needs the queue-group permission **and** (owns the ticket, or shares its customer id, or has
/// "other customers" access).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct TicketAccessRules {
    /// The checks, in the order they run (OTOBO sorts them by their config key).
    pub modules: Vec<TicketPermissionModule>,
    /// Switches the two company checks off (OTOBO
    /// `Ticket::Frontend::CustomerDisableCompanyTicketAccess`, default off).
    pub disable_company_ticket_access: bool,
}

impl Default for TicketAccessRules {
    fn default() -> Self {
        let module = |check, required, granted| TicketPermissionModule {
            check,
            required,
            granted,
        };
        TicketAccessRules {
            modules: vec![
                module(TicketCheck::GroupCheck, true, false),
                module(TicketCheck::CustomerUserIdCheck, false, true),
                module(TicketCheck::CustomerIdCheck, false, true),
                module(TicketCheck::CustomerGroupCheck, false, true),
            ],
            disable_company_ticket_access: false,
        }
    }
}

/// Compares like Perl's `lc $a eq lc $b`, without allocating.
pub(crate) fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_comparison() {
        assert!(eq_ignore_case("Anna", "aNNA"));
        assert!(eq_ignore_case("ÄRGER", "ärger"));
        assert!(!eq_ignore_case("anna", "anna2"));
        assert!(eq_ignore_case("", ""));
    }
}
