//! Effective permissions through the Directory: the permission matrix of
//! `clientele-permissions`, built from what the relation store holds, kept current by every
//! grant and relation write that goes through the Directory (OTOBO leaves its `CustomerGroup`
//! cache stale on relation changes; SPEC §6.3).
//!
//! The matrix is built once, on first use, from one [`RelationStore::relation_snapshot`] call.
//! A user's customer ids (which depend on the user record and its relations) are loaded into the
//! matrix the first time the user is checked and again after any write that could change them;
//! after that a check is a lookup in memory, with no query.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use clientele_model::Actor;
use clientele_model::permission::{GroupId, PermissionContext, PermissionType, Stored};
use clientele_permissions::{
    Change, PermissionFacts, PermissionMatrix, PermissionResolver, PermissionSet, Ticket,
    UserCustomerIds,
};
use dashmap::DashSet;
use serde::Serialize;

use clientele_backend::error::{Entity, Error, Result};
use clientele_backend::traits::*;
use clientele_model::{CustomerUser, Validity};

use crate::Directory;

/// What the Directory keeps for permission checks.
#[derive(Default)]
pub(crate) struct AccessState {
    /// The matrix, and the logins (as stored) whose customer ids in it are current. The two go
    /// together: a new matrix starts with no user marked, whatever was marked for an old one.
    current: RwLock<Option<Current>>,
    /// Bumped by every change of groups, grants or companies, before it is applied: a matrix
    /// built from a snapshot read before such a change is not kept after it (see
    /// [`Directory::current_matrix`]).
    generation: AtomicU64,
    /// Bumped when a user's record or relations change ([`AccessState::forget_user`]): a
    /// user's customer ids read before that are not marked current. A matrix being built is
    /// kept (it holds no customer ids; each user's are loaded on the user's first check).
    users_generation: AtomicU64,
    /// While builds are under way, every generation bump and what it changed. Bumps happen
    /// under this lock, and a build keeps its matrix under it, so a change either shows here
    /// for the build to replay or finds the kept matrix and patches it.
    pending: Mutex<Pending>,
    /// Matrices built from a whole snapshot of the store.
    builds: AtomicU64,
    /// Rows reloaded from the store and patched into the matrix after another instance's
    /// change.
    reloads: AtomicU64,
}

/// How this Directory's permission matrix has been kept current
/// ([`Directory::permission_matrix_stats`]): counts since the Directory was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MatrixStats {
    /// Full builds of the matrix from the store: the first check, and the first check after
    /// the matrix was dropped (a change no narrower path could apply, a gap in the change
    /// feed, a bulk import).
    pub builds: u64,
    /// Announcements of another instance (a user's or a company's grants, a group) applied by
    /// reloading just the rows they name and patching the matrix in place; also this
    /// instance's own additions and removals of types, which are applied the same way.
    pub row_reloads: u64,
}

/// The permission matrix in use and the users whose customer ids it holds.
#[derive(Clone)]
struct Current {
    resolver: Arc<PermissionResolver>,
    fresh: Arc<DashSet<String>>,
}

/// What a change of groups, grants or companies makes a matrix read again; a build under way
/// when the change is made reads it again before it keeps its matrix.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Replay {
    /// A user's direct grants.
    User(String),
    /// A company's grants and validity.
    Company(String),
    /// A group's row.
    Group(GroupId),
    /// Anything: the matrix is dropped.
    Everything,
}

/// The changes that make a matrix hold rows read from the store; `None` when no patch can.
type Diff = Box<dyn FnOnce(&PermissionMatrix) -> Option<Vec<Change>> + Send>;

/// The changes made while builds are under way, with the generation each moved to.
#[derive(Default)]
struct Pending {
    /// Builds under way.
    builds: usize,
    /// `(generation after the change, what to read again)`, in order.
    log: Vec<(u64, Replay)>,
}

/// A build of the matrix under way: changes are logged for it while it lasts.
struct BuildUnderWay<'a> {
    access: &'a AccessState,
    /// The generation when the build started, before its snapshot was read.
    seen: u64,
}

impl<'a> BuildUnderWay<'a> {
    fn start(access: &'a AccessState) -> Self {
        let mut pending = access
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        pending.builds += 1;
        BuildUnderWay {
            access,
            seen: access.generation(),
        }
    }
}

impl Drop for BuildUnderWay<'_> {
    fn drop(&mut self) {
        let mut pending = (self.access.pending.lock()).unwrap_or_else(PoisonError::into_inner);
        pending.builds -= 1;
        if pending.builds == 0 {
            pending.log.clear();
        }
    }
}

/// What became of an attempt to patch the matrix with rows reloaded from the store.
enum Patched {
    /// Applied.
    Done,
    /// Another change came in between the read and the patch: read again.
    Raced,
    /// The rows cannot be expressed as a patch (an unknown group, a renamed one): rebuild.
    Rebuild,
}

/// How often a reload is read again when other changes keep racing it, before the matrix is
/// dropped instead.
const RELOAD_ATTEMPTS: usize = 3;

/// How many rounds a new matrix reads again what changed while it was built (each round what
/// changed during the one before) before it gives up being kept.
const CATCH_UP_ROUNDS: usize = 16;

impl AccessState {
    fn resolver(&self) -> Option<Arc<PermissionResolver>> {
        self.current().map(|c| c.resolver)
    }

    fn current(&self) -> Option<Current> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Moves the generation on for a change of what `replay` names, and logs the change for
    /// the builds under way.
    fn bump(&self, replay: Replay) {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let now = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        if pending.builds > 0 {
            pending.log.push((now, replay));
        }
    }

    /// Drops the matrix; the next check rebuilds it from the store (and a build under way does
    /// not keep its matrix).
    pub(crate) fn reset(&self) {
        self.bump(Replay::Everything);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// A user's customer ids read while this did not move are current.
    fn user_stamp(&self) -> u64 {
        self.users_generation.load(Ordering::SeqCst)
    }

    /// The user's customer ids or validity may have changed.
    pub(crate) fn forget_user(&self, login: &str) {
        self.users_generation.fetch_add(1, Ordering::SeqCst);
        if let Some(current) = self.current() {
            current.fresh.remove(login);
        }
    }

    pub(crate) fn user_grant_changed(
        &self,
        login: &str,
        group: GroupId,
        permissions: &[PermissionType],
    ) {
        self.bump(Replay::User(login.to_owned()));
        let Some(r) = self.resolver() else { return };
        let change = Change::SetUserGrant {
            login: login.to_owned(),
            group,
            permissions: permissions.to_vec(),
        };
        self.apply_or_reset(&r, Some(change));
    }

    pub(crate) fn company_grant_changed(
        &self,
        customer_id: &str,
        group: GroupId,
        context: &PermissionContext,
        permissions: &[PermissionType],
    ) {
        self.bump(Replay::Company(customer_id.to_owned()));
        let Some(r) = self.resolver() else { return };
        let change = Change::SetCompanyGrant {
            customer_id: customer_id.to_owned(),
            group,
            context: context.clone(),
            permissions: permissions.to_vec(),
        };
        self.apply_or_reset(&r, Some(change));
    }

    pub(crate) fn company_validity_changed(&self, customer_id: &str, valid: bool) {
        self.bump(Replay::Company(customer_id.to_owned()));
        let Some(r) = self.resolver() else { return };
        let change = Change::SetCompanyValid {
            customer_id: customer_id.to_owned(),
            valid,
        };
        self.apply_or_reset(&r, Some(change));
    }

    /// Patches `resolver` with the changes `diff` computes from its current matrix, unless
    /// the generation moved on since `seen` (a change this read may have missed). One batch:
    /// readers see all of it or none.
    fn patch(
        &self,
        resolver: &PermissionResolver,
        seen: u64,
        diff: impl FnOnce(&PermissionMatrix) -> Option<Vec<Change>>,
    ) -> Patched {
        let out = resolver.update(|m| {
            // Under the resolver's writer lock: a local write bumps the generation before it
            // applies, so it either shows here or applies after this patch.
            if self.generation() != seen {
                return Err(Patched::Raced);
            }
            let changes = diff(m).ok_or(Patched::Rebuild)?;
            for c in &changes {
                m.apply(c).map_err(|_| Patched::Rebuild)?;
            }
            Ok(())
        });
        match out {
            Ok(()) => {
                self.reloads.fetch_add(1, Ordering::Relaxed);
                Patched::Done
            }
            Err(p) => p,
        }
    }

    fn apply_or_reset(&self, resolver: &PermissionResolver, change: Option<Change>) {
        let applied = change.is_some_and(|c| resolver.apply(&[c]).is_ok());
        if !applied {
            // Anything the incremental path can't express is picked up by a rebuild.
            self.reset();
        }
    }
}

/// Stored grants the configuration does not know ([`Directory::unknown_grants`]): each has a
/// permission type or context that is not configured (or not well-formed), shown as
/// [`Stored::Unknown`]. They stay in the store and grant nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UnknownGrants {
    /// Users' grants with an unknown type.
    pub user_grants: Vec<UserGrant>,
    /// Companies' grants with an unknown type or context.
    pub company_grants: Vec<CompanyGrant>,
}

impl UnknownGrants {
    /// No unknown grant at all.
    pub fn is_empty(&self) -> bool {
        self.user_grants.is_empty() && self.company_grants.is_empty()
    }
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
        Ok(self.current_matrix().await?.resolver)
    }

    /// The matrix in use with its marks of current users, built first when there is none.
    async fn current_matrix(&self) -> Result<Current> {
        if let Some(c) = self.inner.access.current() {
            return Ok(c);
        }
        let access = &self.inner.access;
        // From here every change of groups, grants or companies is logged for this build.
        let build = BuildUnderWay::start(access);
        let seen = build.seen;
        let snapshot = self.relation_snapshot().await?;
        let mut facts = PermissionFacts::new(self.inner.config.permissions.clone());
        for g in &snapshot.groups {
            facts.group(g.id, g.name.clone(), g.validity.is_valid());
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
        // Unknown rows (see `unknown_grants`) grant nothing: they are left out here.
        for g in &snapshot.user_grants {
            if let Stored::Known(t) = &g.permission {
                facts.grant_user(g.login.clone(), g.group_id, [t.clone()]);
            }
        }
        for g in &snapshot.company_grants {
            if let (Stored::Known(t), Stored::Known(c)) = (&g.permission, &g.context) {
                facts.grant_company(g.customer_id.clone(), g.group_id, c.clone(), [t.clone()]);
            }
        }
        // Grants arrive one row per type; merge rows of one key into one set.
        facts.user_grants = merge_user_grants(std::mem::take(&mut facts.user_grants));
        facts.company_grants = merge_company_grants(std::mem::take(&mut facts.company_grants));
        let resolver = Arc::new(
            PermissionResolver::build(&facts)
                .map_err(|e| Error::backend_failure("permissions", e))?,
        );
        access.builds.fetch_add(1, Ordering::Relaxed);
        let built = Current {
            resolver,
            fresh: Arc::default(),
        };
        // Changes made since the snapshot was read (they may or may not be in it): read their
        // rows again and patch them in, until none came in meanwhile; then keep the matrix,
        // under the lock the changes log under, so a later change finds it and patches it.
        let mut done = seen;
        for _ in 0..CATCH_UP_ROUNDS {
            let mut todo = {
                let pending = access
                    .pending
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let now = access.generation();
                if now == done {
                    let mut slot = access
                        .current
                        .write()
                        .unwrap_or_else(PoisonError::into_inner);
                    // Another task may have built one meanwhile; keep theirs so no update is
                    // lost.
                    return Ok(slot.get_or_insert(built).clone());
                }
                let todo: Vec<Replay> = (pending.log.iter())
                    .filter(|(g, _)| *g > done)
                    .map(|(_, r)| r.clone())
                    .collect();
                done = now;
                todo
            };
            todo.sort();
            todo.dedup();
            if todo.contains(&Replay::Everything) {
                break;
            }
            for replay in &todo {
                let Ok(diff) = self.read_rows(replay).await else {
                    return Ok(built);
                };
                let patched = built.resolver.update(|m| {
                    for c in diff(m).ok_or(())? {
                        m.apply(&c).map_err(|_| ())?;
                    }
                    Ok::<(), ()>(())
                });
                if patched.is_err() {
                    return Ok(built);
                }
            }
        }
        // The matrix could not be brought up to date (the store was reset, changes kept
        // coming, a patch was impossible): it answers this one call, which raced the changes,
        // and is not kept; the users marked for it are marked for nothing else.
        Ok(built)
    }

    /// The permission matrix with `login`'s row current. The login must exist.
    pub(crate) async fn matrix_for(&self, login: &str) -> Result<(Arc<PermissionMatrix>, String)> {
        let (m, user) = self.matrix_with_user(login).await?;
        Ok((m, user.login.as_str().to_owned()))
    }

    /// The current permission matrix, as loaded so far (users' customer ids only for the users
    /// checked since their last change): for questions about groups, not about a user.
    pub(crate) async fn permission_matrix(&self) -> Result<Arc<PermissionMatrix>> {
        Ok(self.resolver().await?.snapshot())
    }

    /// [`matrix_for`](Self::matrix_for), with the user's record.
    pub(crate) async fn matrix_with_user(
        &self,
        login: &str,
    ) -> Result<(Arc<PermissionMatrix>, Arc<CustomerUser>)> {
        let access = &self.inner.access;
        // Read before the user is: a change of the user after this point moves it on, so the
        // user is not marked current with stale ids.
        let seen = access.user_stamp();
        let (user, _) = self.require(login).await?;
        let stored = user.login.as_str().to_owned();
        // The marks belong to this matrix: one built after it starts with none.
        let Current { resolver, fresh } = self.current_matrix().await?;
        if !fresh.contains(&stored) {
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
            if access.user_stamp() == seen {
                fresh.insert(stored.clone());
                // A change of the user between the test above and the insert has already
                // removed its entry: undo the insert for it.
                if access.user_stamp() != seen {
                    fresh.remove(&stored);
                }
            }
        }
        Ok((resolver.snapshot(), user))
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
        let names = |set| type_names(&m, set);
        let mut out = Vec::new();
        for g in self.groups().await? {
            let effective = names(m.effective(&stored, g.id));
            if effective.is_empty() {
                continue;
            }
            out.push(EffectivePermission {
                group: g.name,
                effective,
                direct: names(m.raw(&stored, g.id)),
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

impl Directory {
    /// Adds a group.
    pub async fn add_group(&self, name: &str, by: impl Into<Actor>) -> Result<Group> {
        clientele_model::catalog::check_group_name(name)?;
        let g = self
            .relations()?
            .add_group(name, Validity::Valid, &by.into())
            .await?;
        self.inner.access.reset();
        self.announce(&[clientele_backend::changes::Change::Group { id: g.id }])
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
        self.announce(&[clientele_backend::changes::Change::Group { id: g.id }])
            .await;
        Ok(())
    }

    /// Everything stored about groups, grants and company relations, seen through the
    /// configuration: a grant whose permission type or context is not configured shows it as
    /// [`Stored::Unknown`].
    pub async fn relation_snapshot(&self) -> Result<RelationSnapshot> {
        let mut snapshot = self.relations()?.relation_snapshot().await?;
        let config = &self.inner.config.permissions;
        for g in &mut snapshot.user_grants {
            g.permission = take_stored(&mut g.permission).configured(|t| config.knows_type(t));
        }
        for g in &mut snapshot.company_grants {
            g.permission = take_stored(&mut g.permission).configured(|t| config.knows_type(t));
            g.context = take_stored(&mut g.context).configured(|c| config.knows_context(c));
        }
        Ok(snapshot)
    }

    /// The stored grants the configuration does not know: a permission type missing from
    /// `permission_types`, a context that is neither standard nor in `extra_contexts`, or a
    /// stored name that is not well-formed at all. They are never dropped and never make a
    /// check fail; they grant nothing until the configuration names them.
    /// `clientele check-config --stored` lists them.
    pub async fn unknown_grants(&self) -> Result<UnknownGrants> {
        let snapshot = self.relation_snapshot().await?;
        Ok(UnknownGrants {
            user_grants: snapshot
                .user_grants
                .into_iter()
                .filter(|g| matches!(g.permission, Stored::Unknown(_)))
                .collect(),
            company_grants: snapshot
                .company_grants
                .into_iter()
                .filter(|g| {
                    matches!(g.permission, Stored::Unknown(_))
                        || matches!(g.context, Stored::Unknown(_))
                })
                .collect(),
        })
    }
}

/// Moves a stored value out, leaving an empty unknown name behind (replaced at once).
fn take_stored<T>(s: &mut Stored<T>) -> Stored<T> {
    std::mem::replace(s, Stored::Unknown(String::new()))
}

/// The names of the types in a set, in configured order.
pub(crate) fn type_names(m: &PermissionMatrix, set: PermissionSet) -> Vec<String> {
    set.names(m.types())
        .map(|t| t.as_str().to_owned())
        .collect()
}

/// The matrix's index of a configured permission type, or a typed error naming the type.
pub(crate) fn known_type(
    m: &PermissionMatrix,
    type_name: &str,
) -> Result<clientele_permissions::TypeIndex> {
    m.type_index(type_name).ok_or_else(|| Error::NotFound {
        entity: Entity::PermissionType,
        key: type_name.to_owned(),
    })
}

impl Directory {
    /// Changes a group's name, comment or validity and returns it as stored. Grants follow the
    /// group (they hold its id); permission checks see the change at once.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use clientele_backend::{CatalogChanges, InMemoryBackend};
    /// use clientele_directory::Directory;
    ///
    /// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
    /// dir.add_group("billing", "admin").await?;
    /// let changes = CatalogChanges::new()
    ///     .rename("invoicing")
    ///     .comment(Some("Invoices and refunds".into()));
    /// let g = dir.update_group("billing", changes, "admin").await?;
    /// assert_eq!(g.name, "invoicing");
    /// assert_eq!(dir.group("invoicing").await?.comment.as_deref(), Some("Invoices and refunds"));
    /// # Ok::<(), clientele_backend::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn update_group(
        &self,
        name: &str,
        changes: CatalogChanges,
        by: impl Into<Actor>,
    ) -> Result<Group> {
        crate::services::check_catalog_changes(
            &changes,
            clientele_model::catalog::check_group_name,
        )?;
        let group = self.group(name).await?;
        if changes.is_empty() {
            return Ok(group);
        }
        let updated = self
            .relations()?
            .update_group(group.id, &changes, &by.into())
            .await?;
        self.inner.access.reset();
        self.announce(&[clientele_backend::changes::Change::Group { id: group.id }])
            .await;
        Ok(updated)
    }
}

/// Reloading the rows another instance's announcement names.
impl Directory {
    /// How the permission matrix has been kept current so far: full builds from the store,
    /// and announcements of other instances applied by reloading just the rows they name.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use clientele_backend::InMemoryBackend;
    /// use clientele_directory::Directory;
    ///
    /// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
    /// assert_eq!(dir.permission_matrix_stats().builds, 0);
    /// dir.add_group("support", "admin").await?;
    /// dir.group_members("support").await?; // the first question about permissions builds it
    /// assert_eq!(dir.permission_matrix_stats().builds, 1);
    /// # Ok::<(), clientele_backend::Error>(())
    /// # }).unwrap();
    /// ```
    pub fn permission_matrix_stats(&self) -> MatrixStats {
        let access = &self.inner.access;
        MatrixStats {
            builds: access.builds.load(Ordering::Relaxed),
            row_reloads: access.reloads.load(Ordering::Relaxed),
        }
    }

    /// Another instance changed `login`'s grants: reads them from the store again and patches
    /// the user's row of the matrix, as a local grant would. Drops the matrix when that fails.
    pub(crate) async fn reload_user_grants(&self, login: &str) {
        self.reload_rows(Replay::User(login.to_owned())).await;
    }

    /// Another instance changed a company's grants or validity: reads them from the store
    /// again and patches the company's row of the matrix.
    pub(crate) async fn reload_company_grants(&self, customer_id: &str) {
        self.reload_rows(Replay::Company(customer_id.to_owned()))
            .await;
    }

    /// Another instance added a group or changed one: reads it again and adds it to the
    /// matrix or sets its validity there (a rename or a removal rebuilds the matrix).
    pub(crate) async fn reload_group(&self, id: GroupId) {
        self.reload_rows(Replay::Group(id)).await;
    }

    /// Reads from the store what `replay` names, as the changes that make a matrix hold it.
    async fn read_rows(&self, replay: &Replay) -> Result<Diff> {
        let config = &self.inner.config.permissions;
        match replay {
            Replay::User(login) => {
                let rows = self.relations()?.user_grants_of(login).await?;
                let mut stored: BTreeMap<GroupId, Vec<PermissionType>> = BTreeMap::new();
                for mut g in rows {
                    if let Stored::Known(t) =
                        take_stored(&mut g.permission).configured(|t| config.knows_type(t))
                    {
                        stored.entry(g.group_id).or_default().push(t);
                    }
                }
                let login = login.clone();
                Ok(Box::new(move |m: &PermissionMatrix| {
                    user_grant_diff(m, &login, stored)
                }))
            }
            Replay::Company(customer_id) => {
                let rows = self.relations()?.company_grants_of(customer_id).await?;
                let mut stored: BTreeMap<(GroupId, PermissionContext), Vec<PermissionType>> =
                    BTreeMap::new();
                for mut g in rows {
                    let t = take_stored(&mut g.permission).configured(|t| config.knows_type(t));
                    let c = take_stored(&mut g.context).configured(|c| config.knows_context(c));
                    if let (Stored::Known(t), Stored::Known(c)) = (t, c) {
                        stored.entry((g.group_id, c)).or_default().push(t);
                    }
                }
                let valid = match &self.inner.companies {
                    Some(companies) => companies
                        .company(customer_id)
                        .await?
                        .map(|c| c.validity.is_valid()),
                    None => None,
                };
                let customer_id = customer_id.clone();
                Ok(Box::new(move |m: &PermissionMatrix| {
                    company_grant_diff(m, &customer_id, valid, stored)
                }))
            }
            Replay::Group(id) => {
                let id = *id;
                let group = self
                    .relations()?
                    .groups()
                    .await?
                    .into_iter()
                    .find(|g| g.id == id);
                Ok(Box::new(move |m: &PermissionMatrix| {
                    group_diff(m, id, group)
                }))
            }
            // Anything may have changed: no patch expresses it.
            Replay::Everything => Ok(Box::new(|_: &PermissionMatrix| None)),
        }
    }

    /// The common part of the reloads: bump the generation (a matrix being built from an
    /// older snapshot reads the rows again before it is kept), read the rows, patch the matrix
    /// in one batch; read again when a change raced the read, drop the matrix when the rows
    /// cannot be read or patched.
    async fn reload_rows(&self, replay: Replay) {
        let access = &self.inner.access;
        for _ in 0..RELOAD_ATTEMPTS {
            access.bump(replay.clone());
            let Some(resolver) = access.resolver() else {
                // No matrix: the next check builds it from the store as it is now, and a build
                // under way reads these rows again before it keeps its matrix.
                return;
            };
            let seen = access.generation();
            let diff = match self.read_rows(&replay).await {
                Ok(diff) => diff,
                Err(e) => {
                    tracing::warn!(
                        error = %e,
                        what = ?replay,
                        "could not reload what another instance changed; the permission \
                         matrix is dropped and rebuilt on the next check"
                    );
                    break;
                }
            };
            match access.patch(&resolver, seen, diff) {
                Patched::Done => return,
                Patched::Raced => continue,
                Patched::Rebuild => break,
            }
        }
        access.reset();
    }
}

/// The changes that make `login`'s direct grants in `m` exactly `stored`; `None` when a
/// stored grant names a group the matrix does not know.
fn user_grant_diff(
    m: &PermissionMatrix,
    login: &str,
    stored: BTreeMap<GroupId, Vec<PermissionType>>,
) -> Option<Vec<Change>> {
    let mut changes = Vec::new();
    for group in m.user_grant_groups(login) {
        if !stored.contains_key(&group) {
            changes.push(Change::SetUserGrant {
                login: login.to_owned(),
                group,
                permissions: Vec::new(),
            });
        }
    }
    for (group, permissions) in stored {
        m.group_name(group)?;
        changes.push(Change::SetUserGrant {
            login: login.to_owned(),
            group,
            permissions,
        });
    }
    Some(changes)
}

/// The changes that make a company's grants and validity in `m` exactly the stored ones;
/// `None` when that needs a rebuild (an unknown group, a company that is gone).
fn company_grant_diff(
    m: &PermissionMatrix,
    customer_id: &str,
    valid: Option<bool>,
    stored: BTreeMap<(GroupId, PermissionContext), Vec<PermissionType>>,
) -> Option<Vec<Change>> {
    let mut changes = Vec::new();
    match valid {
        Some(valid) => changes.push(Change::SetCompanyValid {
            customer_id: customer_id.to_owned(),
            valid,
        }),
        // The matrix cannot forget a company's validity.
        None if m.company_valid(customer_id).is_some() => return None,
        None => {}
    }
    for (group, context) in m.company_grant_keys(customer_id) {
        if !stored.contains_key(&(group, context.clone())) {
            changes.push(Change::SetCompanyGrant {
                customer_id: customer_id.to_owned(),
                group,
                context,
                permissions: Vec::new(),
            });
        }
    }
    for ((group, context), permissions) in stored {
        m.group_name(group)?;
        changes.push(Change::SetCompanyGrant {
            customer_id: customer_id.to_owned(),
            group,
            context,
            permissions,
        });
    }
    Some(changes)
}

/// The changes that make group `id` in `m` the stored `group`; `None` when that needs a
/// rebuild (a renamed or removed group).
fn group_diff(m: &PermissionMatrix, id: GroupId, group: Option<Group>) -> Option<Vec<Change>> {
    match (group, m.group_name(id)) {
        (None, None) => Some(Vec::new()),
        (None, Some(_)) => None,
        (Some(g), None) => Some(vec![Change::AddGroup(clientele_permissions::Group::new(
            g.id,
            g.name,
            g.validity.is_valid(),
        ))]),
        (Some(g), Some(name)) if name == g.name => Some(vec![Change::SetGroupValid {
            group: id,
            valid: g.validity.is_valid(),
        }]),
        (Some(_), Some(_)) => None,
    }
}
