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

impl TicketAccessRules {
    /// The rules as a condition on a ticket: access is granted when **any** clause holds, and
    /// a clause holds when **every** check in it passes.
    ///
    /// Each granting module gives one clause: its own check and the required checks before
    /// it. This is the decision list the modules make, written out: the first module that
    /// decides would have decided the same way. OTOBO's default gives
    /// `[[GroupCheck, CustomerUserIdCheck], [GroupCheck, CustomerIdCheck],
    /// [GroupCheck, CustomerGroupCheck]]`, that is "queue group AND (own ticket OR own customer
    /// id OR other-customers context)".
    ///
    /// ```
    /// use clientele_permissions::{TicketAccessRules, TicketCheck::*};
    ///
    /// let clauses = TicketAccessRules::default().clauses();
    /// assert_eq!(
    ///     clauses,
    ///     [
    ///         vec![GroupCheck, CustomerUserIdCheck],
    ///         vec![GroupCheck, CustomerIdCheck],
    ///         vec![GroupCheck, CustomerGroupCheck],
    ///     ]
    /// );
    /// ```
    pub fn clauses(&self) -> Vec<Vec<TicketCheck>> {
        let mut required: Vec<TicketCheck> = Vec::new();
        let mut out: Vec<Vec<TicketCheck>> = Vec::new();
        for module in &self.modules {
            if module.granted {
                let mut clause = required.clone();
                if !clause.contains(&module.check) {
                    clause.push(module.check);
                }
                if !out.contains(&clause) {
                    out.push(clause);
                }
            }
            if module.required && !required.contains(&module.check) {
                required.push(module.check);
            }
        }
        out
    }
}

/// What a customer user may see of the tickets, as lists a host turns into its own ticket
/// query, so that it need not call
/// [`can_access_ticket`](crate::PermissionMatrix::can_access_ticket) for every row; see
/// [`PermissionMatrix::ticket_access_filter`](crate::PermissionMatrix::ticket_access_filter).
///
/// A ticket is visible when one of the [`clauses`](Self::clauses) holds, a clause holding
/// when each of its checks passes:
///
/// | check | passes when |
/// |---|---|
/// | [`GroupCheck`](TicketCheck::GroupCheck) | the queue's group is in [`group_ids`](Self::group_ids) |
/// | [`CustomerUserIdCheck`](TicketCheck::CustomerUserIdCheck) | the ticket's customer user equals [`customer_user`](Self::customer_user), ignoring case |
/// | [`CustomerIdCheck`](TicketCheck::CustomerIdCheck) | the ticket's customer id equals one of [`customer_ids`](Self::customer_ids), ignoring case |
/// | [`CustomerGroupCheck`](TicketCheck::CustomerGroupCheck) | the queue's group is in [`other_context_group_ids`](Self::other_context_group_ids) |
///
/// A ticket without a customer user or customer id passes no check on it (SQL's `NULL`
/// compares as false). [`matches`](Self::matches) applies the filter to one ticket and agrees
/// with `can_access_ticket` on every ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketAccessFilter {
    /// The login the filter was made for, as stored.
    pub customer_user: String,
    /// The groups the user effectively has the permission type on, sorted.
    pub group_ids: Vec<GroupId>,
    /// The user's customer ids (OTOBO `CustomerIDs`), as stored; empty when company ticket
    /// access is disabled.
    pub customer_ids: Vec<String>,
    /// The valid groups on which one of the user's companies has the type in the "other
    /// customers" context, sorted; empty when that check is off.
    pub other_context_group_ids: Vec<GroupId>,
    /// The configured rules as OR-ed clauses of AND-ed checks
    /// ([`TicketAccessRules::clauses`]); empty when nothing can be seen (an empty login).
    pub clauses: Vec<Vec<TicketCheck>>,
}

impl TicketAccessFilter {
    /// Does one check pass for the ticket?
    pub fn passes(&self, check: TicketCheck, ticket: &Ticket<'_>) -> bool {
        match check {
            TicketCheck::GroupCheck => self.group_ids.contains(&ticket.queue_group),
            TicketCheck::CustomerUserIdCheck => ticket
                .customer_user
                .is_some_and(|cu| eq_ignore_case(cu, &self.customer_user)),
            TicketCheck::CustomerIdCheck => ticket
                .customer_id
                .is_some_and(|tc| self.customer_ids.iter().any(|c| eq_ignore_case(c, tc))),
            TicketCheck::CustomerGroupCheck => {
                self.other_context_group_ids.contains(&ticket.queue_group)
            }
        }
    }

    /// Does the filter let the user see the ticket?
    pub fn matches(&self, ticket: &Ticket<'_>) -> bool {
        self.clauses
            .iter()
            .any(|clause| clause.iter().all(|check| self.passes(*check, ticket)))
    }

    /// `true` when the clauses are OTOBO's default ones ("queue group AND (own ticket OR own
    /// customer id OR other-customers context)"), the shape the documented SQL is written for.
    pub fn has_default_clauses(&self) -> bool {
        self.clauses == TicketAccessRules::default().clauses()
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
