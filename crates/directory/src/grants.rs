//! Writing grants through the Directory: a user's or a company's permission set on a group,
//! replaced as a whole (OTOBO's `GroupMemberAdd`) or changed one type at a time.
//!
//! Every write checks its input first (a type must be well-formed and, except when removed,
//! configured; a company context must be configured), lets the relation store change the set in
//! one step (so concurrent changes of one set are never lost), keeps the permission matrix
//! current and announces the change on the feed.

use clientele_backend::changes::Change;
use clientele_backend::error::{Entity, Error, Result};
use clientele_backend::traits::GrantChange;
use clientele_model::permission::{PermissionContext, PermissionType};
use clientele_model::{Actor, ValidationError};

use crate::Directory;

impl Directory {
    /// Replaces the user's permission set on a group (SPEC §6.2: no stale rows). `rw` stands
    /// for every type, so a set holding it is stored as `rw` alone. An empty set revokes.
    pub async fn grant_user(
        &self,
        login: &str,
        group: &str,
        permissions: &[&str],
        by: impl Into<Actor>,
    ) -> Result<()> {
        self.change_user_permissions(login, group, GrantChange::Replace, permissions, by)
            .await
    }

    /// Adds permission types to the user's set on a group; the types it holds stay (an `ro`
    /// granted before an `rw` is still there after the `rw` is removed again). Two concurrent
    /// adds both land.
    pub async fn add_user_permissions(
        &self,
        login: &str,
        group: &str,
        permissions: &[&str],
        by: impl Into<Actor>,
    ) -> Result<()> {
        self.change_user_permissions(login, group, GrantChange::Add, permissions, by)
            .await
    }

    /// Removes permission types from the user's set on a group; the others stay. A type that
    /// is no longer configured may be removed too.
    pub async fn remove_user_permissions(
        &self,
        login: &str,
        group: &str,
        permissions: &[&str],
        by: impl Into<Actor>,
    ) -> Result<()> {
        self.change_user_permissions(login, group, GrantChange::Remove, permissions, by)
            .await
    }

    /// Replaces a company's permission set on a group in a context
    /// (`Ticket::CustomerID::Same`, `Ticket::CustomerID::Other` or one of `extra_contexts`).
    pub async fn grant_company(
        &self,
        customer_id: &str,
        group: &str,
        context: &str,
        permissions: &[&str],
        by: impl Into<Actor>,
    ) -> Result<()> {
        let change = GrantChange::Replace;
        self.change_company_permissions(customer_id, group, context, change, permissions, by)
            .await
    }

    /// Adds permission types to a company's set on a group in a context; the others stay.
    pub async fn add_company_permissions(
        &self,
        customer_id: &str,
        group: &str,
        context: &str,
        permissions: &[&str],
        by: impl Into<Actor>,
    ) -> Result<()> {
        let change = GrantChange::Add;
        self.change_company_permissions(customer_id, group, context, change, permissions, by)
            .await
    }

    /// Removes permission types from a company's set on a group in a context.
    pub async fn remove_company_permissions(
        &self,
        customer_id: &str,
        group: &str,
        context: &str,
        permissions: &[&str],
        by: impl Into<Actor>,
    ) -> Result<()> {
        let change = GrantChange::Remove;
        self.change_company_permissions(customer_id, group, context, change, permissions, by)
            .await
    }

    /// Changes the user's permission set on a group as `change` says: what
    /// [`grant_user`](Self::grant_user), [`add_user_permissions`](Self::add_user_permissions)
    /// and [`remove_user_permissions`](Self::remove_user_permissions) do, for a caller that
    /// holds the change as a value.
    pub async fn change_user_permissions(
        &self,
        login: &str,
        group: &str,
        change: GrantChange,
        permissions: &[&str],
        by: impl Into<Actor>,
    ) -> Result<()> {
        let by = by.into();
        let (user, _) = self.require(login).await?;
        let g = self.group(group).await?;
        let perms = self.grant_types(change, permissions)?;
        let login = user.login.as_str();
        self.relations()?
            .change_user_grant(login, g.id, change, &perms, &by)
            .await?;
        match change {
            GrantChange::Replace => self.inner.access.user_grant_changed(login, g.id, &perms),
            // The new set depends on what was stored: the user's grants are read again and
            // patched into the matrix, as another instance's change is.
            _ => self.reload_user_grants(login).await,
        }
        self.announce(&[Change::UserGrants {
            login: login.to_owned(),
        }])
        .await;
        Ok(())
    }

    /// Changes a company's permission set on a group in a context as `change` says (see
    /// [`change_user_permissions`](Self::change_user_permissions)).
    pub async fn change_company_permissions(
        &self,
        customer_id: &str,
        group: &str,
        context: &str,
        change: GrantChange,
        permissions: &[&str],
        by: impl Into<Actor>,
    ) -> Result<()> {
        let by = by.into();
        if self.company_unknown(customer_id).await? {
            return Err(Error::NotFound {
                entity: Entity::Company,
                key: customer_id.to_owned(),
            });
        }
        let context = self.checked_context(context)?;
        let g = self.group(group).await?;
        let perms = self.grant_types(change, permissions)?;
        self.relations()?
            .change_company_grant(customer_id, g.id, &context, change, &perms, &by)
            .await?;
        match change {
            GrantChange::Replace => {
                self.inner
                    .access
                    .company_grant_changed(customer_id, g.id, &context, &perms)
            }
            _ => self.reload_company_grants(customer_id).await,
        }
        self.announce(&[Change::CompanyGrants {
            customer_id: customer_id.to_owned(),
        }])
        .await;
        Ok(())
    }

    /// The types a grant write stores: a replaced set normalised (`rw` alone when it is in
    /// it), added types as given; both only configured types. Removed types need only be
    /// well-formed, so a type dropped from the configuration can still be removed.
    fn grant_types(
        &self,
        change: GrantChange,
        permissions: &[&str],
    ) -> Result<Vec<PermissionType>> {
        match change {
            GrantChange::Replace => self.configured(normalise_permissions(permissions)?),
            GrantChange::Remove => parsed_permissions(permissions),
            _ => self.configured(parsed_permissions(permissions)?),
        }
    }

    /// A context as given to a company grant: well-formed and configured, or a validation
    /// error naming the field and the configured contexts.
    pub(crate) fn checked_context(&self, context: &str) -> Result<PermissionContext> {
        let config = &self.inner.config.permissions;
        let invalid = |reason: String| ValidationError::Invalid {
            field: "permission_context".into(),
            value: context.to_owned(),
            reason,
        };
        if context.trim().is_empty() {
            return Err(ValidationError::Required {
                field: "permission_context".into(),
            }
            .into());
        }
        let parsed = PermissionContext::new(context).map_err(|e| invalid(e.to_string()))?;
        if !config.knows_context(&parsed) {
            let mut names = vec![
                PermissionContext::SAME_CUSTOMER.to_owned(),
                PermissionContext::OTHER_CUSTOMERS.to_owned(),
            ];
            names.extend(config.extra_contexts.iter().map(ToString::to_string));
            return Err(invalid(format!(
                "not a configured context (configured: {})",
                names.join(", ")
            ))
            .into());
        }
        Ok(parsed)
    }

    /// The types unchanged, or a validation error naming the first one that is not configured
    /// (`System::Customer::Permission`).
    fn configured(&self, perms: Vec<PermissionType>) -> Result<Vec<PermissionType>> {
        let config = &self.inner.config.permissions;
        if let Some(p) = perms.iter().find(|p| !config.knows_type(p)) {
            let names: Vec<&str> = config.permission_types.iter().map(|t| t.as_str()).collect();
            return Err(ValidationError::Invalid {
                field: "permission_key".into(),
                value: p.to_string(),
                reason: format!(
                    "not a configured permission type (configured: {})",
                    names.join(", ")
                ),
            }
            .into());
        }
        Ok(perms)
    }
}

/// Permission type names, each well-formed (a validation error names the first that is not),
/// without repeats, sorted.
fn parsed_permissions(permissions: &[&str]) -> Result<Vec<PermissionType>> {
    let mut out: Vec<PermissionType> = Vec::new();
    for p in permissions {
        // The syntax of a type has one owner: clientele_model's PermissionType.
        let t = PermissionType::new(*p).map_err(|e| ValidationError::Invalid {
            field: "permission_key".into(),
            value: (*p).to_owned(),
            reason: e.to_string(),
        })?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out.sort();
    Ok(out)
}

/// OTOBO's `GroupMemberAdd` rule: `rw` includes everything, so `{rw, …}` is stored as `{rw}`.
pub(crate) fn normalise_permissions(permissions: &[&str]) -> Result<Vec<PermissionType>> {
    let out = parsed_permissions(permissions)?;
    if out.iter().any(PermissionType::is_rw) {
        return Ok(vec![PermissionType::rw()]);
    }
    Ok(out)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rw_swallows_the_rest() {
        assert_eq!(normalise_permissions(&["ro", "rw"]).unwrap(), vec!["rw"]);
        assert_eq!(
            normalise_permissions(&["ro", "move_into", "ro"]).unwrap(),
            vec!["move_into", "ro"]
        );
        assert!(normalise_permissions(&["r w"]).is_err());
    }
}
