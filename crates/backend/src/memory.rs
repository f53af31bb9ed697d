//! [`InMemoryBackend`]: a complete store of every kind, held in process memory.
//!
//! It is an honest implementation of every trait — not a mock — so hosts can run Clientele
//! without a database (tests, demos, small tools), and it is the reference the conformance
//! suite is first proven on.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use clientele_model::permission::{GroupId, PermissionContext, PermissionType, Stored};
use clientele_model::search::{
    CompanyQuery, DetailSearch, Expr, FieldSet, UserQuery, sort_by_login,
};
use clientele_model::{
    Actor, Audit, CustomerCompany, CustomerId, CustomerUser, Login, Validity, keys,
};

use crate::error::{Entity, Error, Result};
use crate::matching::{field_keys, matches_detail, matches_expr, matches_query, sort_detail};
use crate::settings::{CompanySettings, SourceSettings};
use crate::traits::*;

#[derive(Default)]
struct State {
    users: BTreeMap<String, (CustomerUser, Option<String>)>,
    companies: BTreeMap<String, CustomerCompany>,
    user_companies: BTreeSet<(String, String)>,
    groups: BTreeMap<GroupId, Group>,
    user_grants: BTreeSet<UserGrant>,
    company_grants: BTreeSet<CompanyGrant>,
    services: BTreeMap<i64, Service>,
    user_services: BTreeSet<(String, i64)>,
    preferences: BTreeMap<String, BTreeMap<String, String>>,
}

/// A store of customer users, companies, relations and preferences in memory: complete and
/// honest (uniqueness, case rules, validity and relations behave as in the SQL backend), for
/// tests, examples and hosts that want no database.
///
/// ```
/// use clientele_backend::{CompanyStore, InMemoryBackend, RelationStore};
/// use clientele_model::{EmailCheck, NewCustomerCompany, Rules, Validity};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let store = InMemoryBackend::new();
/// let rules = Rules { map: &CompanyStore::settings(&store).map, email: &EmailCheck::disabled() };
/// let acme = NewCustomerCompany::new("ACME", "Acme Corp").validate(&rules)?;
/// store.add_company(&acme, &"admin".into()).await?;
/// assert!(store.company("acme").await?.is_some());
/// let billing = store.add_group("billing", Validity::Valid, &"admin".into()).await?;
/// assert_eq!(store.groups().await?, vec![billing]);
/// # Ok::<(), clientele_backend::Error>(())
/// # }).unwrap();
/// ```
pub struct InMemoryBackend {
    settings: SourceSettings,
    company_settings: CompanySettings,
    state: Mutex<State>,
}

impl Default for InMemoryBackend {
    fn default() -> Self {
        Self::new()
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl InMemoryBackend {
    /// An empty store with OTOBO's default settings (named `memory`, cache off).
    pub fn new() -> Self {
        let settings = SourceSettings {
            name: "memory".into(),
            cache_ttl: 0,
            ..SourceSettings::default()
        };
        let company_settings = CompanySettings {
            name: "memory".into(),
            cache_ttl: 0,
            ..CompanySettings::default()
        };
        Self::with_settings(settings, company_settings)
    }

    /// An empty store with the given settings.
    pub fn with_settings(settings: SourceSettings, company_settings: CompanySettings) -> Self {
        InMemoryBackend {
            settings,
            company_settings,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than refusing every later call would; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn user_key(&self, login: &str) -> String {
        if self.settings.case_sensitive {
            login.to_owned()
        } else {
            login.to_lowercase()
        }
    }

    fn company_key(&self, id: &str) -> String {
        if self.company_settings.case_sensitive {
            id.to_owned()
        } else {
            id.to_lowercase()
        }
    }

    fn email_taken(&self, state: &State, email: &str, except: Option<&str>) -> bool {
        let keys = field_keys(&self.settings, FieldSet::PostmasterFields);
        let email = email.to_lowercase();
        state.users.iter().any(|(k, (u, _))| {
            Some(k.as_str()) != except
                && keys.iter().any(|key| {
                    u.attribute(key)
                        .is_some_and(|v| v.to_text().to_lowercase() == email)
                })
        })
    }

    fn name(&self) -> String {
        self.settings.name.clone()
    }
}

/// The audit of a new record: the values it carries (an import keeps them), `now` and `by`
/// for the missing ones.
fn stamp_new(audit: &mut Audit, by: &Actor) {
    let t = now();
    audit.created_at.get_or_insert(t);
    audit.changed_at.get_or_insert(t);
    audit.created_by.get_or_insert_with(|| by.to_string());
    audit.changed_by.get_or_insert_with(|| by.to_string());
}

impl InMemoryBackend {
    /// A page of [`CustomerUserSource::users_after`]: the stored users sorted by login in
    /// code-point order, after `after`.
    fn page_of_users(&self, after: Option<&Login>, limit: usize) -> Vec<CustomerUser> {
        let state = self.state();
        let mut users: Vec<CustomerUser> = state
            .users
            .values()
            .map(|(u, _)| u)
            .filter(|u| after.is_none_or(|a| u.login.as_str() > a.as_str()))
            .cloned()
            .collect();
        drop(state);
        sort_by_login(&mut users, |u| u.login.as_str());
        users.truncate(limit);
        users
    }
}

fn sorted_by_login(mut users: Vec<CustomerUser>) -> Vec<CustomerUser> {
    sort_by_login(&mut users, |u| u.login.as_str());
    users
}

#[async_trait]
impl CustomerUserSource for InMemoryBackend {
    fn settings(&self) -> &SourceSettings {
        &self.settings
    }

    async fn get(&self, login: &str) -> Result<Option<CustomerUser>> {
        Ok(self
            .state()
            .users
            .get(&self.user_key(login))
            .map(|(u, _)| u.clone()))
    }

    /// Every login under one hold of the lock.
    async fn get_many(&self, logins: &[&str]) -> Result<Vec<Result<Option<CustomerUser>>>> {
        let state = self.state();
        Ok(logins
            .iter()
            .map(|login| {
                Ok(state
                    .users
                    .get(&self.user_key(login))
                    .map(|(u, _)| u.clone()))
            })
            .collect())
    }

    async fn search(&self, query: &UserQuery) -> Result<Vec<CustomerUser>> {
        let state = self.state();
        let found = state
            .users
            .values()
            .map(|(u, _)| u)
            .filter(|u| matches_query(u, query, &self.settings))
            .cloned()
            .collect();
        let mut found = sorted_by_login(found);
        found.truncate(query.limit);
        Ok(found)
    }

    async fn search_detail(&self, query: &DetailSearch) -> Result<Vec<Login>> {
        let mut found: Vec<CustomerUser> = self
            .state()
            .users
            .values()
            .map(|(u, _)| u)
            .filter(|u| matches_detail(u, query))
            .cloned()
            .collect();
        sort_detail(&mut found, query);
        if let Some(limit) = query.limit {
            found.truncate(limit);
        }
        Ok(found.into_iter().map(|u| u.login).collect())
    }

    async fn count_detail(&self, query: &DetailSearch) -> Result<u64> {
        Ok(self
            .state()
            .users
            .values()
            .filter(|(u, _)| matches_detail(u, query))
            .count() as u64)
    }

    async fn customer_id_list(
        &self,
        term: Option<&Expr>,
        valid_only: bool,
    ) -> Result<Vec<CustomerId>> {
        let keys = vec![keys::CUSTOMER_ID.to_owned()];
        let ids: BTreeSet<String> = self
            .state()
            .users
            .values()
            .map(|(u, _)| u)
            .filter(|u| !valid_only || u.validity.is_valid())
            .filter(|u| {
                term.is_none_or(|t| matches_expr(u, t, &keys, self.settings.case_sensitive))
            })
            .map(|u| u.customer_id.as_str().to_owned())
            .collect();
        let mut ids: Vec<String> = ids.into_iter().collect();
        ids.sort_by_key(|a| a.to_lowercase());
        Ok(ids.into_iter().map(CustomerId::from_stored).collect())
    }

    async fn users_after(&self, after: Option<&Login>, limit: usize) -> Result<Vec<CustomerUser>> {
        Ok(self.page_of_users(after, limit))
    }
}

/// One row at a time: memory has no statements to save, and the rules are `add`'s.
#[async_trait]
impl BulkWriter for InMemoryBackend {
    async fn add_many(&self, rows: &[ImportRow], by: &Actor) -> Result<ImportReport> {
        add_each(self, rows, by).await
    }
}

#[async_trait]
impl CustomerUserWriter for InMemoryBackend {
    async fn add(
        &self,
        user: &CustomerUser,
        password_hash: Option<&str>,
        by: &Actor,
    ) -> Result<()> {
        let key = self.user_key(user.login.as_str());
        let mut state = self.state();
        if state.users.contains_key(&key) {
            return Err(Error::AlreadyExists {
                entity: Entity::CustomerUser,
                field: keys::LOGIN.into(),
                value: user.login.to_string(),
                backend: Some(self.name()),
            });
        }
        if self.settings.email_unique_check && self.email_taken(&state, user.email.as_str(), None) {
            return Err(Error::AlreadyExists {
                entity: Entity::CustomerUser,
                field: keys::EMAIL.into(),
                value: user.email.to_string(),
                backend: Some(self.name()),
            });
        }
        let mut stored = user.clone();
        stamp_new(&mut stored.audit, by);
        state
            .users
            .insert(key, (stored, password_hash.map(str::to_owned)));
        Ok(())
    }

    async fn update(
        &self,
        login: &Login,
        user: &CustomerUser,
        expected: Expected,
        by: &Actor,
    ) -> Result<()> {
        let old_key = self.user_key(login.as_str());
        let new_key = self.user_key(user.login.as_str());
        let mut state = self.state();
        let Some((current, hash)) = state.users.get(&old_key).cloned() else {
            return Err(Error::user_not_found(login.as_str()));
        };
        if let Expected::ChangedAt(at) = expected
            && current.audit.changed_at != at
        {
            return Err(Error::Conflict {
                login: login.to_string(),
            });
        }
        if new_key != old_key && state.users.contains_key(&new_key) {
            return Err(Error::AlreadyExists {
                entity: Entity::CustomerUser,
                field: keys::LOGIN.into(),
                value: user.login.to_string(),
                backend: Some(self.name()),
            });
        }
        if self.settings.email_unique_check
            && !current.email.eq_ignore_case(user.email.as_str())
            && self.email_taken(&state, user.email.as_str(), Some(&old_key))
        {
            return Err(Error::AlreadyExists {
                entity: Entity::CustomerUser,
                field: keys::EMAIL.into(),
                value: user.email.to_string(),
                backend: Some(self.name()),
            });
        }
        let mut stored = user.clone();
        // Read-only rows keep the stored value.
        for row in self.settings.map.rows().iter().filter(|r| r.read_only) {
            if let Some(v) = current.attribute(&row.key) {
                let mut attrs = stored.attributes();
                attrs.insert(row.key.clone(), v);
                stored = CustomerUser::from_attributes(attrs)?;
            }
        }
        stored.audit = current.audit.clone();
        // Strictly increasing so a version read before this write never matches again.
        stored.audit.changed_at = Some(now().max(current.audit.changed_at.unwrap_or(0) + 1));
        stored.audit.changed_by = Some(by.to_string());
        state.users.remove(&old_key);
        state.users.insert(new_key, (stored, hash));
        Ok(())
    }

    async fn set_password_hash(&self, login: &Login, hash: &str) -> Result<()> {
        let key = self.user_key(login.as_str());
        match self.state().users.get_mut(&key) {
            Some((_, pw)) => {
                *pw = Some(hash.to_owned());
                Ok(())
            }
            None => Err(Error::user_not_found(login.as_str())),
        }
    }
}

#[async_trait]
impl PasswordStore for InMemoryBackend {
    async fn password_hash(&self, login: &str) -> Result<Option<(Login, Option<String>)>> {
        Ok(self
            .state()
            .users
            .get(&self.user_key(login))
            .map(|(u, pw)| (u.login.clone(), pw.clone())))
    }
}

#[async_trait]
impl CompanyStore for InMemoryBackend {
    fn settings(&self) -> &CompanySettings {
        &self.company_settings
    }

    async fn company(&self, customer_id: &str) -> Result<Option<CustomerCompany>> {
        Ok(self
            .state()
            .companies
            .get(&self.company_key(customer_id))
            .cloned())
    }

    async fn search_companies(&self, query: &CompanyQuery) -> Result<Vec<CustomerCompany>> {
        let keys = self
            .company_settings
            .search_fields
            .iter()
            .filter_map(|f| {
                self.company_settings
                    .map
                    .by_storage(f)
                    .map(|r| r.key.clone())
            })
            .collect::<Vec<_>>();
        let state = self.state();
        let mut found: Vec<CustomerCompany> = state
            .companies
            .values()
            .filter(|c| !query.valid_only || c.validity.is_valid())
            .filter(|c| {
                query
                    .expr
                    .as_ref()
                    .is_none_or(|e| company_matches(c, e, &keys, query.case_sensitive))
            })
            .cloned()
            .collect();
        found.sort_by(|a, b| a.customer_id.as_str().cmp(b.customer_id.as_str()));
        found.truncate(query.limit);
        Ok(found)
    }

    async fn add_company(&self, company: &CustomerCompany, by: &Actor) -> Result<()> {
        let key = self.company_key(company.customer_id.as_str());
        let mut state = self.state();
        if state.companies.contains_key(&key) {
            return Err(company_exists(
                keys::COMPANY_ID,
                company.customer_id.as_str(),
                &self.company_settings.name,
            ));
        }
        if state.companies.values().any(|c| c.name == company.name) {
            return Err(company_exists(
                keys::COMPANY_NAME,
                &company.name,
                &self.company_settings.name,
            ));
        }
        let mut stored = company.clone();
        stamp_new(&mut stored.audit, by);
        state.companies.insert(key, stored);
        Ok(())
    }

    async fn update_company(&self, company: &CustomerCompany, by: &Actor) -> Result<()> {
        let key = self.company_key(company.customer_id.as_str());
        let mut state = self.state();
        if state
            .companies
            .iter()
            .any(|(k, c)| *k != key && c.name == company.name)
        {
            return Err(company_exists(
                keys::COMPANY_NAME,
                &company.name,
                &self.company_settings.name,
            ));
        }
        let Some(current) = state.companies.get_mut(&key) else {
            return Err(Error::NotFound {
                entity: Entity::Company,
                key: company.customer_id.to_string(),
            });
        };
        let audit = current.audit.clone();
        *current = company.clone();
        current.audit = audit;
        current.audit.changed_at = Some(now());
        current.audit.changed_by = Some(by.to_string());
        Ok(())
    }
}

fn company_exists(field: &str, value: &str, backend: &str) -> Error {
    Error::AlreadyExists {
        entity: Entity::Company,
        field: field.into(),
        value: value.into(),
        backend: Some(backend.into()),
    }
}

fn company_matches(c: &CustomerCompany, expr: &Expr, keys: &[String], cs: bool) -> bool {
    match expr {
        Expr::And(x) => x.iter().all(|e| company_matches(c, e, keys, cs)),
        Expr::Or(x) => x.iter().any(|e| company_matches(c, e, keys, cs)),
        Expr::Not(e) => !company_matches(c, e, keys, cs),
        Expr::Match(p) => keys
            .iter()
            .filter_map(|k| c.attribute(k))
            .any(|v| p.matches(&v.to_text(), cs)),
    }
}

#[async_trait]
impl RelationStore for InMemoryBackend {
    async fn set_user_company(
        &self,
        login: &str,
        customer_id: &str,
        active: bool,
        _by: &Actor,
    ) -> Result<()> {
        let entry = (login.to_owned(), customer_id.to_owned());
        let mut state = self.state();
        if active {
            state.user_companies.insert(entry);
        } else {
            state.user_companies.remove(&entry);
        }
        Ok(())
    }

    async fn user_companies(&self, login: &str) -> Result<Vec<CustomerId>> {
        Ok(self
            .state()
            .user_companies
            .iter()
            .filter(|(l, _)| l == login)
            .map(|(_, c)| CustomerId::from_stored(c.clone()))
            .collect())
    }

    async fn company_users(&self, customer_id: &str) -> Result<Vec<Login>> {
        let mut logins: Vec<Login> = self
            .state()
            .user_companies
            .iter()
            .filter(|(_, c)| c == customer_id)
            .map(|(l, _)| Login::from_stored(l.clone()))
            .collect();
        logins.sort();
        Ok(logins)
    }

    async fn rename_user(&self, old: &str, new: &str) -> Result<()> {
        let mut state = self.state();
        let s = &mut *state;
        s.user_companies = std::mem::take(&mut s.user_companies)
            .into_iter()
            .map(|(l, c)| {
                if l == old {
                    (new.to_owned(), c)
                } else {
                    (l, c)
                }
            })
            .collect();
        s.user_grants = std::mem::take(&mut s.user_grants)
            .into_iter()
            .map(|mut g| {
                if g.login == old {
                    g.login = new.to_owned();
                }
                g
            })
            .collect();
        s.user_services = std::mem::take(&mut s.user_services)
            .into_iter()
            .map(|(l, id)| {
                if l == old {
                    (new.to_owned(), id)
                } else {
                    (l, id)
                }
            })
            .collect();
        Ok(())
    }

    async fn add_group(&self, name: &str, validity: Validity, _by: &Actor) -> Result<Group> {
        add_named(
            &mut self.state().groups,
            Entity::Group,
            name,
            self.name(),
            |id, name| Group {
                id,
                name,
                validity,
                comment: None,
            },
        )
    }

    async fn set_group_validity(&self, group_id: GroupId, validity: Validity) -> Result<()> {
        match self.state().groups.get_mut(&group_id) {
            Some(g) => {
                g.validity = validity;
                Ok(())
            }
            None => Err(Error::NotFound {
                entity: Entity::Group,
                key: group_id.to_string(),
            }),
        }
    }

    async fn groups(&self) -> Result<Vec<Group>> {
        Ok(self.state().groups.values().cloned().collect())
    }

    async fn change_user_grant(
        &self,
        login: &str,
        group_id: GroupId,
        change: GrantChange,
        permissions: &[PermissionType],
        _by: &Actor,
    ) -> Result<()> {
        let mut state = self.state();
        state.require_group(group_id)?;
        let touched = |g: &UserGrant| {
            g.login == login
                && g.group_id == group_id
                && (change == GrantChange::Replace
                    || g.permission
                        .known()
                        .is_some_and(|t| permissions.contains(t)))
        };
        state.user_grants.retain(|g| !touched(g));
        if change != GrantChange::Remove {
            for p in permissions {
                state.user_grants.insert(UserGrant {
                    login: login.to_owned(),
                    group_id,
                    permission: Stored::Known(p.clone()),
                });
            }
        }
        Ok(())
    }

    async fn change_company_grant(
        &self,
        customer_id: &str,
        group_id: GroupId,
        context: &PermissionContext,
        change: GrantChange,
        permissions: &[PermissionType],
        _by: &Actor,
    ) -> Result<()> {
        let mut state = self.state();
        state.require_group(group_id)?;
        let touched = |g: &CompanyGrant| {
            g.customer_id == customer_id
                && g.group_id == group_id
                && g.context.known() == Some(context)
                && (change == GrantChange::Replace
                    || g.permission
                        .known()
                        .is_some_and(|t| permissions.contains(t)))
        };
        state.company_grants.retain(|g| !touched(g));
        if change != GrantChange::Remove {
            for p in permissions {
                state.company_grants.insert(CompanyGrant {
                    customer_id: customer_id.to_owned(),
                    group_id,
                    permission: Stored::Known(p.clone()),
                    context: Stored::Known(context.clone()),
                });
            }
        }
        Ok(())
    }

    async fn relation_snapshot(&self) -> Result<RelationSnapshot> {
        let s = self.state();
        Ok(RelationSnapshot {
            groups: s.groups.values().cloned().collect(),
            user_grants: s.user_grants.iter().cloned().collect(),
            company_grants: s.company_grants.iter().cloned().collect(),
            user_companies: s.user_companies.iter().cloned().collect(),
        })
    }

    async fn user_grants_of(&self, login: &str) -> Result<Vec<UserGrant>> {
        Ok(self
            .state()
            .user_grants
            .iter()
            .filter(|g| g.login == login)
            .cloned()
            .collect())
    }

    async fn company_grants_of(&self, customer_id: &str) -> Result<Vec<CompanyGrant>> {
        Ok(self
            .state()
            .company_grants
            .iter()
            .filter(|g| g.customer_id == customer_id)
            .cloned()
            .collect())
    }

    async fn add_service(&self, name: &str, validity: Validity, _by: &Actor) -> Result<Service> {
        let mut state = self.state();
        state.require_parent_service(name)?;
        add_named(
            &mut state.services,
            Entity::Service,
            name,
            self.name(),
            |id, name| Service {
                id,
                name,
                validity,
                comment: None,
            },
        )
    }

    async fn services(&self) -> Result<Vec<Service>> {
        Ok(self.state().services.values().cloned().collect())
    }

    async fn set_user_service(
        &self,
        login: &str,
        service_id: i64,
        active: bool,
        _by: &Actor,
    ) -> Result<()> {
        let mut state = self.state();
        if !state.services.contains_key(&service_id) {
            return Err(Error::NotFound {
                entity: Entity::Service,
                key: service_id.to_string(),
            });
        }
        let entry = (login.to_owned(), service_id);
        if active {
            state.user_services.insert(entry);
        } else {
            state.user_services.remove(&entry);
        }
        Ok(())
    }

    async fn user_services(&self, login: &str) -> Result<Vec<Service>> {
        let state = self.state();
        Ok(state
            .user_services
            .iter()
            .filter(|(l, _)| l == login)
            .filter_map(|(_, id)| state.services.get(id))
            .filter(|s| s.validity.is_valid())
            .cloned()
            .collect())
    }

    async fn service_users(&self, service_id: i64) -> Result<Vec<String>> {
        let state = self.state();
        state.require_service(service_id)?;
        Ok(state
            .user_services
            .iter()
            .filter(|(_, id)| *id == service_id)
            .map(|(login, _)| login.clone())
            .collect())
    }

    async fn update_group(
        &self,
        group_id: GroupId,
        changes: &CatalogChanges,
        _by: &Actor,
    ) -> Result<Group> {
        let mut state = self.state();
        if let Some(name) = &changes.name
            && state
                .groups
                .iter()
                .any(|(id, g)| *id != group_id && g.name == *name)
        {
            return Err(named_exists(Entity::Group, name, self.name()));
        }
        let Some(group) = state.groups.get_mut(&group_id) else {
            return Err(Error::NotFound {
                entity: Entity::Group,
                key: group_id.to_string(),
            });
        };
        if let Some(name) = &changes.name {
            name.clone_into(&mut group.name);
        }
        apply_catalog_changes(changes, &mut group.comment, &mut group.validity);
        Ok(group.clone())
    }

    async fn update_service(
        &self,
        service_id: i64,
        changes: &CatalogChanges,
        _by: &Actor,
    ) -> Result<Service> {
        let mut state = self.state();
        let old = state.require_service(service_id)?.name.clone();
        // Every new name, checked before anything is written: the rename is all or nothing.
        let mut renamed: Vec<(i64, String)> = Vec::new();
        if let Some(new) = changes.name.as_deref().filter(|new| *new != old) {
            let descendants = state
                .services
                .values()
                .filter(|s| clientele_model::catalog::is_descendant(&s.name, &old));
            clientele_model::catalog::check_service_rename(
                &old,
                new,
                descendants.clone().map(|s| s.name.as_str()),
            )?;
            renamed.push((service_id, new.to_owned()));
            renamed.extend(descendants.filter_map(|s| {
                clientele_model::catalog::renamed_descendant(&s.name, &old, new)
                    .map(|name| (s.id, name))
            }));
            state.require_parent_service(new)?;
            let moving: BTreeSet<i64> = renamed.iter().map(|(id, _)| *id).collect();
            for (_, name) in &renamed {
                if state
                    .services
                    .values()
                    .any(|s| !moving.contains(&s.id) && s.name == *name)
                {
                    return Err(named_exists(Entity::Service, name, self.name()));
                }
            }
        }
        for (id, name) in renamed {
            if let Some(s) = state.services.get_mut(&id) {
                s.name = name;
            }
        }
        let service = state
            .services
            .get_mut(&service_id)
            .ok_or_else(|| service_not_found(service_id))?;
        apply_catalog_changes(changes, &mut service.comment, &mut service.validity);
        Ok(service.clone())
    }

    async fn service_assignments(&self) -> Result<Vec<(String, i64)>> {
        Ok(self.state().user_services.iter().cloned().collect())
    }
}

/// Writes the comment and validity of `changes`, when set, into a group's or service's fields
/// (a new name is each one's own: a service's renames its descendants).
fn apply_catalog_changes(
    changes: &CatalogChanges,
    comment: &mut Option<String>,
    validity: &mut Validity,
) {
    if let Some(c) = &changes.comment {
        c.clone_into(comment);
    }
    if let Some(v) = changes.validity {
        *validity = v;
    }
}

fn named_exists(entity: Entity, name: &str, backend: String) -> Error {
    Error::AlreadyExists {
        entity,
        field: "name".into(),
        value: name.into(),
        backend: Some(backend),
    }
}

fn service_not_found(key: impl ToString) -> Error {
    Error::NotFound {
        entity: Entity::Service,
        key: key.to_string(),
    }
}

#[async_trait]
impl PreferenceStore for InMemoryBackend {
    async fn preferences(&self, login: &str) -> Result<BTreeMap<String, String>> {
        Ok(self
            .state()
            .preferences
            .get(login)
            .cloned()
            .unwrap_or_default())
    }

    async fn set_preference(&self, login: &str, key: &str, value: &str) -> Result<()> {
        self.state()
            .preferences
            .entry(login.to_owned())
            .or_default()
            .insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    async fn delete_preference(&self, login: &str, key: &str) -> Result<()> {
        if let Some(p) = self.state().preferences.get_mut(login) {
            p.remove(key);
        }
        Ok(())
    }

    async fn search_preferences(
        &self,
        key: &str,
        value: Option<&str>,
    ) -> Result<Vec<(String, String)>> {
        Ok(self
            .state()
            .preferences
            .iter()
            .filter_map(|(login, p)| p.get(key).map(|v| (login.clone(), v.clone())))
            .filter(|(_, v)| value.is_none_or(|want| want == v))
            .collect())
    }

    async fn rename_preferences(&self, old: &str, new: &str) -> Result<()> {
        let mut state = self.state();
        if let Some(p) = state.preferences.remove(old) {
            state
                .preferences
                .entry(new.to_owned())
                .or_default()
                .extend(p);
        }
        Ok(())
    }

    async fn take_preference(&self, login: &str, key: &str, expected: &str) -> Result<bool> {
        let mut state = self.state();
        let Some(p) = state.preferences.get_mut(login) else {
            return Ok(false);
        };
        if p.get(key).map(String::as_str) == Some(expected) {
            p.remove(key);
            Ok(true)
        } else {
            Ok(false)
        }
    }

    async fn preferences_after(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, String)>> {
        let state = self.state();
        Ok(state
            .preferences
            .iter()
            .flat_map(|(login, p)| p.iter().map(move |(k, v)| (login, k, v)))
            .filter(|(login, k, _)| after.is_none_or(|a| (login.as_str(), k.as_str()) > a))
            .take(limit)
            .map(|(login, k, v)| (login.clone(), k.clone(), v.clone()))
            .collect())
    }
}

/// Something with an id and a unique name: a group or a service.
trait Named {
    fn name(&self) -> &str;
}

impl Named for Group {
    fn name(&self) -> &str {
        &self.name
    }
}

impl Named for Service {
    fn name(&self) -> &str {
        &self.name
    }
}

/// The id of a named row.
trait RowId: Copy + Ord {
    /// The id after `last` (the highest so far), or the first id of an empty table.
    fn after(last: Option<Self>) -> Self;
}

impl RowId for GroupId {
    fn after(last: Option<Self>) -> Self {
        GroupId(last.map_or(1, |l| l.0 + 1))
    }
}

impl RowId for i64 {
    fn after(last: Option<Self>) -> Self {
        last.map_or(1, |l| l + 1)
    }
}

/// Adds a uniquely named row with the next id (1 in an empty table), built by `make`, and
/// returns it.
fn add_named<K: RowId, T: Named + Clone>(
    rows: &mut BTreeMap<K, T>,
    entity: Entity,
    name: &str,
    backend: String,
    make: impl FnOnce(K, String) -> T,
) -> Result<T> {
    if rows.values().any(|r| r.name() == name) {
        return Err(named_exists(entity, name, backend));
    }
    let id = K::after(rows.keys().next_back().copied());
    let row = make(id, name.to_owned());
    rows.insert(id, row.clone());
    Ok(row)
}

impl State {
    fn require_service(&self, service_id: i64) -> Result<&Service> {
        self.services
            .get(&service_id)
            .ok_or_else(|| service_not_found(service_id))
    }

    /// A child service needs its parent (OTOBO keeps the hierarchy in the names).
    fn require_parent_service(&self, name: &str) -> Result<()> {
        match clientele_model::catalog::parent_service(name) {
            Some(parent) if !self.services.values().any(|s| s.name == parent) => {
                Err(service_not_found(parent))
            }
            _ => Ok(()),
        }
    }

    fn require_group(&self, group_id: GroupId) -> Result<()> {
        if self.groups.contains_key(&group_id) {
            Ok(())
        } else {
            Err(Error::NotFound {
                entity: Entity::Group,
                key: group_id.to_string(),
            })
        }
    }
}
