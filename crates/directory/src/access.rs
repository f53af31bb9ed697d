//! Effective permissions through the Directory: the permission matrix of
//! `clientele-permissions`, built from what the relation store holds, kept current by every
//! grant and relation write that goes through the Directory (OTOBO leaves its `CustomerGroup`
//! cache stale on relation changes; SPEC §6.3).
//!
//! The matrix is built once, on first use, from one [`RelationStore::relation_snapshot`] call.
//! A user's customer ids (which depend on the user record and its relations) are loaded into the
//! matrix the first time the user is checked and again after any write that could change them;
//! after that a check is a lookup in memory, with no query.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use clientele_model::permission::{GroupId, PermissionContext, PermissionType};
use clientele_permissions::{
    Change, PermissionFacts, PermissionMatrix, PermissionResolver, Ticket, UserCustomerIds,
};
use dashmap::DashSet;
use serde::Serialize;

use clientele_backend::error::{Entity, Error, Result};
use clientele_backend::traits::*;
use clientele_model::{ValidationError, Validity};

use crate::Directory;

/// What the Directory keeps for permission checks.
#[derive(Default)]
pub(crate) struct AccessState {
    resolver: RwLock<Option<Arc<PermissionResolver>>>,
    /// Logins (as stored) whose customer ids in the matrix are current.
    fresh: DashSet<String>,
    /// Bumped by every change, before it is applied: a matrix built from a snapshot (or a
    /// user's ids read) before a change is not kept after it (see [`Directory::resolver`]).
    generation: AtomicU64,
}

impl AccessState {
    fn resolver(&self) -> Option<Arc<PermissionResolver>> {
        self.resolver
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Drops the matrix; the next check rebuilds it from the store.
    pub(crate) fn reset(&self) {
        self.bump();
        *self
            .resolver
            .write()
            .unwrap_or_else(PoisonError::into_inner) = None;
        self.fresh.clear();
    }

    /// The user's customer ids or validity may have changed.
    pub(crate) fn forget_user(&self, login: &str) {
        self.bump();
        self.fresh.remove(login);
    }

    pub(crate) fn user_grant_changed(&self, login: &str, group: i64, permissions: &[String]) {
        self.bump();
        let Some(r) = self.resolver() else { return };
        let change = types(permissions).and_then(|permissions| {
            Some(Change::SetUserGrant {
                login: login.to_owned(),
                group: group_id(group)?,
                permissions,
            })
        });
        self.apply_or_reset(&r, change);
    }

    pub(crate) fn company_grant_changed(
        &self,
        customer_id: &str,
        group: i64,
        context: &str,
        permissions: &[String],
    ) {
        self.bump();
        let Some(r) = self.resolver() else { return };
        let change = types(permissions).and_then(|permissions| {
            Some(Change::SetCompanyGrant {
                customer_id: customer_id.to_owned(),
                group: group_id(group)?,
                context: PermissionContext::new(context).ok()?,
                permissions,
            })
        });
        self.apply_or_reset(&r, change);
    }

    pub(crate) fn company_validity_changed(&self, customer_id: &str, valid: bool) {
        self.bump();
        let Some(r) = self.resolver() else { return };
        let change = Change::SetCompanyValid {
            customer_id: customer_id.to_owned(),
            valid,
        };
        self.apply_or_reset(&r, Some(change));
    }

    fn apply_or_reset(&self, resolver: &PermissionResolver, change: Option<Change>) {
        let applied = change.is_some_and(|c| resolver.apply(&[c]).is_ok());
        if !applied {
            // Anything the incremental path can't express is picked up by a rebuild.
            self.reset();
        }
    }
}

fn types(permissions: &[String]) -> Option<Vec<PermissionType>> {
    permissions
        .iter()
        .map(|p| PermissionType::new(p.as_str()).ok())
        .collect()
}

/// A stored group id as the matrix's; `None` for a negative one, which no group can have (it
/// is reported or makes the matrix rebuild, never read as group 0).
fn group_id(id: i64) -> Option<GroupId> {
    u64::try_from(id).ok().map(GroupId)
}

/// One row of a user's effective permissions (OTOBO's "Effective Permissions" table).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EffectivePermission {
    /// The group's name.
    pub group: String,
    /// The permission types the user has on it, in configured order.
    pub effective: Vec<String>,
    /// The types granted to the user directly (without companies or always-groups).
    pub direct: Vec<String>,
}

impl Directory {
    async fn resolver(&self) -> Result<Arc<PermissionResolver>> {
        if let Some(r) = self.inner.access.resolver() {
            return Ok(r);
        }
        let seen = self.inner.access.generation();
        let snapshot = self.relations()?.relation_snapshot().await?;
        let mut facts = PermissionFacts::new(self.inner.config.permissions.clone());
        let invalid = |what: &str, value: &str, e: &dyn std::fmt::Display| {
            Error::backend(
                "permissions",
                format!("stored {what} {value:?} is unusable: {e}"),
            )
        };
        let stored_group = |id: i64| {
            group_id(id).ok_or_else(|| invalid("group id", &id.to_string(), &"it is negative"))
        };
        for g in &snapshot.groups {
            facts.group(stored_group(g.id)?, g.name.clone(), g.validity.is_valid());
        }
        if let Some(companies) = &self.inner.companies {
            let all = companies
                .search_companies(&clientele_model::search::CompanyQuery {
                    expr: None,
                    valid_only: false,
                    limit: usize::MAX,
                    case_sensitive: false,
                })
                .await?;
            for c in all {
                facts.company(c.customer_id.into_string(), c.validity.is_valid());
            }
        }
        for g in &snapshot.user_grants {
            let t = PermissionType::new(g.permission.as_str())
                .map_err(|e| invalid("permission", &g.permission, &e))?;
            facts.grant_user(g.login.clone(), stored_group(g.group_id)?, [t]);
        }
        for g in &snapshot.company_grants {
            let t = PermissionType::new(g.permission.as_str())
                .map_err(|e| invalid("permission", &g.permission, &e))?;
            let c = PermissionContext::new(g.context.as_str())
                .map_err(|e| invalid("context", &g.context, &e))?;
            facts.grant_company(g.customer_id.clone(), stored_group(g.group_id)?, c, [t]);
        }
        // Grants arrive one row per type; merge rows of one key into one set.
        facts.user_grants = merge_user_grants(std::mem::take(&mut facts.user_grants));
        facts.company_grants = merge_company_grants(std::mem::take(&mut facts.company_grants));
        let resolver = Arc::new(
            PermissionResolver::build(&facts)
                .map_err(|e| Error::backend_failure("permissions", e))?,
        );
        let mut slot = self
            .inner
            .access
            .resolver
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if self.inner.access.generation() != seen {
            // Something changed after the snapshot was read: this matrix may miss it, so it
            // answers this one call (which raced the change) and is not kept.
            return Ok(resolver);
        }
        // Another task may have built it meanwhile; keep theirs so no update is lost.
        Ok(slot.get_or_insert(resolver).clone())
    }

    /// The permission matrix with `login`'s row current. The login must exist.
    async fn matrix_for(&self, login: &str) -> Result<(Arc<PermissionMatrix>, String)> {
        let (user, _) = self.require(login).await?;
        let stored = user.login.as_str().to_owned();
        let resolver = self.resolver().await?;
        if !self.inner.access.fresh.contains(&stored) {
            let seen = self.inner.access.generation();
            let ids = self.customer_ids(&stored).await?;
            let ids: Vec<String> = ids.into_iter().map(|c| c.into_string()).collect();
            let customer_ids =
                UserCustomerIds::new(Some(user.customer_id.as_str().to_owned()), ids);
            let changes = [
                Change::SetCustomerIds {
                    login: stored.clone(),
                    customer_ids,
                },
                Change::SetUserValid {
                    login: stored.clone(),
                    valid: user.validity.is_valid(),
                },
            ];
            resolver
                .apply(&changes)
                .map_err(|e| Error::backend_failure("permissions", e))?;
            if self.inner.access.generation() == seen {
                self.inner.access.fresh.insert(stored.clone());
            }
        }
        Ok((resolver.snapshot(), stored))
    }

    /// Does the user have permission `type_name` (`ro`, `rw`, …) on the group? (OTOBO
    /// `PermissionCheck`.) After the first call for a user this is a lookup, not a query.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] naming the group ([`Entity::Group`]) when no group has that name,
    /// or naming the type ([`Entity::PermissionType`]) when it is not configured. (OTOBO
    /// answers 0 for both; docs/otobo-differences.md.)
    pub async fn has_permission(&self, login: &str, group: &str, type_name: &str) -> Result<bool> {
        let (m, stored) = self.matrix_for(login).await?;
        let Some(group_id) = m.group_id(group) else {
            return Err(Error::NotFound {
                entity: Entity::Group,
                key: group.to_owned(),
            });
        };
        let ty = known_type(&m, type_name)?;
        Ok(m.has(&stored, group_id, ty))
    }

    /// The user's effective permissions on every group where it has any, by group name
    /// (OTOBO's "Effective Permissions"): direct grants, company grants in the "same
    /// customer" context for every customer id, company always-groups and always-groups.
    pub async fn effective_permissions(&self, login: &str) -> Result<Vec<EffectivePermission>> {
        let (m, stored) = self.matrix_for(login).await?;
        let names = |set: clientele_permissions::PermissionSet| -> Vec<String> {
            m.types()
                .iter()
                .filter(|t| m.type_index(t.as_str()).is_some_and(|i| set.contains(i)))
                .map(|t| t.as_str().to_owned())
                .collect()
        };
        let mut out = Vec::new();
        for g in self.groups().await? {
            let Some(id) = group_id(g.id) else { continue };
            let effective = names(m.effective(&stored, id));
            if effective.is_empty() {
                continue;
            }
            out.push(EffectivePermission {
                group: g.name,
                effective,
                direct: names(m.raw(&stored, id)),
            });
        }
        Ok(out)
    }

    /// May the user access a ticket with permission `type_name`? `ticket.queue_group` is the
    /// queue's group id (see [`Directory::group`]). Follows OTOBO's `CustomerTicket::Permission`
    /// modules as configured in [`DirectoryConfig::permissions`](crate::DirectoryConfig).
    pub async fn can_access_ticket(
        &self,
        login: &str,
        ticket: &Ticket<'_>,
        type_name: &str,
    ) -> Result<bool> {
        let (m, stored) = self.matrix_for(login).await?;
        let t = known_type(&m, type_name)?;
        Ok(m.can_access_ticket(&stored, ticket, t))
    }

    /// The companies a user sees through the "other customers" context (OTOBO
    /// `GroupContextCustomers`).
    pub async fn visible_companies(&self, login: &str) -> Result<Vec<String>> {
        let (m, stored) = self.matrix_for(login).await?;
        Ok(m.visible_companies(&stored)
            .into_iter()
            .map(str::to_owned)
            .collect())
    }
}

fn merge_user_grants(
    grants: Vec<clientele_permissions::UserGrant>,
) -> Vec<clientele_permissions::UserGrant> {
    let mut merged: std::collections::BTreeMap<(String, GroupId), Vec<PermissionType>> =
        Default::default();
    for g in grants {
        merged
            .entry((g.login, g.group))
            .or_default()
            .extend(g.permissions);
    }
    merged
        .into_iter()
        .map(
            |((login, group), permissions)| clientele_permissions::UserGrant {
                login,
                group,
                permissions,
            },
        )
        .collect()
}

fn merge_company_grants(
    grants: Vec<clientele_permissions::CompanyGrant>,
) -> Vec<clientele_permissions::CompanyGrant> {
    let mut merged: std::collections::BTreeMap<
        (String, GroupId, String),
        clientele_permissions::CompanyGrant,
    > = Default::default();
    for g in grants {
        let key = (
            g.customer_id.clone(),
            g.group,
            g.context.as_str().to_owned(),
        );
        match merged.get_mut(&key) {
            Some(m) => m.permissions.extend(g.permissions),
            None => {
                merged.insert(key, g);
            }
        }
    }
    merged.into_values().collect()
}

/// OTOBO's `GroupMemberAdd` rule: `rw` includes everything, so `{rw, …}` is stored as `{rw}`.
pub(crate) fn normalise_permissions(permissions: &[&str]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for p in permissions {
        // The syntax of a type has one owner: clientele_model's PermissionType.
        if let Err(e) = PermissionType::new(*p) {
            return Err(ValidationError::Invalid {
                field: "permission_key".into(),
                value: (*p).to_owned(),
                reason: e.to_string(),
            }
            .into());
        }
        if !out.iter().any(|x| x == p) {
            out.push((*p).to_owned());
        }
    }
    if out.iter().any(|p| p == PermissionType::RW) {
        out = vec![PermissionType::RW.to_owned()];
    }
    out.sort();
    Ok(out)
}

impl Directory {
    /// Adds a group.
    pub async fn add_group(&self, name: &str, by: &str) -> Result<Group> {
        if name.trim().is_empty() {
            return Err(ValidationError::Required {
                field: "group".into(),
            }
            .into());
        }
        let g = self
            .relations()?
            .add_group(name, Validity::Valid, by)
            .await?;
        self.inner.access.reset();
        self.announce(&[clientele_backend::changes::Change::Permissions])
            .await;
        Ok(g)
    }

    /// All groups.
    pub async fn groups(&self) -> Result<Vec<Group>> {
        self.relations()?.groups().await
    }

    /// The group with this name.
    pub async fn group(&self, name: &str) -> Result<Group> {
        self.groups()
            .await?
            .into_iter()
            .find(|g| g.name == name)
            .ok_or_else(|| Error::NotFound {
                entity: Entity::Group,
                key: name.to_owned(),
            })
    }

    /// Sets a group's validity (invalid groups grant nothing).
    pub async fn set_group_validity(&self, name: &str, validity: Validity) -> Result<()> {
        let g = self.group(name).await?;
        self.relations()?.set_group_validity(g.id, validity).await?;
        self.inner.access.reset();
        self.announce(&[clientele_backend::changes::Change::Permissions])
            .await;
        Ok(())
    }

    /// Replaces the user's permission set on a group (SPEC §6.2: no stale rows). `rw` stands
    /// for every type. An empty set revokes.
    pub async fn grant_user(
        &self,
        login: &str,
        group: &str,
        permissions: &[&str],
        by: &str,
    ) -> Result<()> {
        let (user, _) = self.require(login).await?;
        let g = self.group(group).await?;
        let perms = self.checked_permissions(permissions)?;
        self.relations()?
            .set_user_grant(user.login.as_str(), g.id, &perms, by)
            .await?;
        self.inner
            .access
            .user_grant_changed(user.login.as_str(), g.id, &perms);
        self.announce(&[clientele_backend::changes::Change::Permissions])
            .await;
        Ok(())
    }

    /// Replaces a company's permission set on a group in a context
    /// (`Ticket::CustomerID::Same` or `Ticket::CustomerID::Other`).
    pub async fn grant_company(
        &self,
        customer_id: &str,
        group: &str,
        context: &str,
        permissions: &[&str],
        by: &str,
    ) -> Result<()> {
        if self.company_unknown(customer_id).await? {
            return Err(Error::NotFound {
                entity: Entity::Company,
                key: customer_id.to_owned(),
            });
        }
        if context.trim().is_empty() {
            return Err(ValidationError::Required {
                field: "permission_context".into(),
            }
            .into());
        }
        let g = self.group(group).await?;
        let perms = self.checked_permissions(permissions)?;
        self.relations()?
            .set_company_grant(customer_id, g.id, context, &perms, by)
            .await?;
        self.inner
            .access
            .company_grant_changed(customer_id, g.id, context, &perms);
        self.announce(&[clientele_backend::changes::Change::Permissions])
            .await;
        Ok(())
    }

    /// Everything stored about groups, grants and company relations.
    pub async fn relation_snapshot(&self) -> Result<RelationSnapshot> {
        self.relations()?.relation_snapshot().await
    }

    /// Normalises a permission list and refuses types that are not configured
    /// (`System::Customer::Permission`), naming the offending type.
    pub(crate) fn checked_permissions(&self, permissions: &[&str]) -> Result<Vec<String>> {
        let perms = normalise_permissions(permissions)?;
        let configured = &self.inner.config.permissions.permission_types;
        if let Some(p) = perms.iter().find(|p| !configured.contains(p)) {
            let names: Vec<&str> = configured.iter().map(|t| t.as_str()).collect();
            return Err(ValidationError::Invalid {
                field: "permission_key".into(),
                value: p.clone(),
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

/// The matrix's index of a configured permission type, or a typed error naming the type.
fn known_type(m: &PermissionMatrix, type_name: &str) -> Result<clientele_permissions::TypeIndex> {
    m.type_index(type_name).ok_or_else(|| Error::NotFound {
        entity: Entity::PermissionType,
        key: type_name.to_owned(),
    })
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
