//! Customer companies and the user ↔ company relations.

use clientele_model::Actor;
use std::sync::Arc;

use clientele_backend::changes::Change;
use clientele_backend::error::{Entity, Error, Result};
use clientele_model::search::{CompanyQuery, parse_term};
use clientele_model::{CustomerCompany, CustomerCompanyChanges, Login, NewCustomerCompany, Rules};

use crate::Directory;
use crate::search::check_search_value;

impl Directory {
    /// The company with this id.
    pub async fn company(&self, customer_id: &str) -> Result<Option<CustomerCompany>> {
        self.companies()?;
        Ok(self
            .find_company(customer_id)
            .await?
            .map(Arc::unwrap_or_clone))
    }

    /// Adds a company (validated against the company map).
    pub async fn add_company(
        &self,
        new: NewCustomerCompany,
        by: impl Into<Actor>,
    ) -> Result<CustomerCompany> {
        let store = self.companies()?;
        let settings = store.settings();
        if settings.read_only {
            return Err(Error::ReadOnly {
                backend: settings.name.clone(),
            });
        }
        let company = new.validate(&Rules {
            map: &settings.map,
            email: &self.inner.email,
        })?;
        store.add_company(&company, &by.into()).await?;
        self.inner
            .access
            .company_validity_changed(company.customer_id.as_str(), company.validity.is_valid());
        self.company_changed(company.customer_id.as_str(), true)
            .await;
        Ok(store
            .company(company.customer_id.as_str())
            .await?
            .unwrap_or(company))
    }

    /// Changes a company; `NotFound` when it does not exist.
    pub async fn update_company(
        &self,
        customer_id: &str,
        changes: CustomerCompanyChanges,
        by: impl Into<Actor>,
    ) -> Result<CustomerCompany> {
        let store = self.companies()?;
        let settings = store.settings();
        if settings.read_only {
            return Err(Error::ReadOnly {
                backend: settings.name.clone(),
            });
        }
        let current = store
            .company(customer_id)
            .await?
            .ok_or_else(|| Error::NotFound {
                entity: Entity::Company,
                key: customer_id.to_owned(),
            })?;
        let updated = changes.apply(
            &current,
            &Rules {
                map: &settings.map,
                email: &self.inner.email,
            },
        )?;
        store.update_company(&updated, &by.into()).await?;
        self.inner
            .access
            .company_validity_changed(updated.customer_id.as_str(), updated.validity.is_valid());
        self.company_changed(
            updated.customer_id.as_str(),
            updated.validity != current.validity,
        )
        .await;
        Ok(store.company(customer_id).await?.unwrap_or(updated))
    }

    /// Searches companies with the search language (`None` lists them all).
    pub async fn search_companies(
        &self,
        term: Option<&str>,
        valid_only: bool,
        limit: Option<usize>,
    ) -> Result<Vec<CustomerCompany>> {
        if let Some(t) = term {
            check_search_value("Search", t)?;
        }
        let store = self.companies()?;
        let s = store.settings();
        let expr = match term {
            Some(t) if !t.trim().is_empty() => Some(parse_term(t, &s.syntax)?),
            _ => None,
        };
        let query = CompanyQuery {
            expr,
            valid_only,
            limit: limit.unwrap_or(s.search_limit),
            case_sensitive: s.case_sensitive,
        };
        store.search_companies(&query).await
    }

    /// Relates a user to an extra company, or removes the relation (OTOBO
    /// `CustomerUserCustomerMemberAdd`). The user and (when a company store exists) the company
    /// must exist.
    pub async fn relate_company(
        &self,
        login: &str,
        customer_id: &str,
        active: bool,
        by: impl Into<Actor>,
    ) -> Result<()> {
        let (user, _) = self.require(login).await?;
        if active && self.company_unknown(customer_id).await? {
            return Err(Error::NotFound {
                entity: Entity::Company,
                key: customer_id.to_owned(),
            });
        }
        self.relations()?
            .set_user_company(user.login.as_str(), customer_id, active, &by.into())
            .await?;
        self.inner.access.forget_user(user.login.as_str());
        self.announce(&[Change::Relations {
            login: user.login.as_str().to_owned(),
        }])
        .await;
        Ok(())
    }

    /// The users related to a company through extra relations.
    pub async fn company_members(&self, customer_id: &str) -> Result<Vec<Login>> {
        self.relations()?.company_users(customer_id).await
    }

    /// The company with this id through the company cache; `None` when there is no such
    /// company or no company store.
    pub(crate) async fn find_company(
        &self,
        customer_id: &str,
    ) -> Result<Option<Arc<CustomerCompany>>> {
        let Some(store) = &self.inner.companies else {
            return Ok(None);
        };
        crate::search::check_lookup_key(clientele_model::keys::COMPANY_ID, customer_id)?;
        let cache = &self.inner.company_cache;
        if let Some(hit) = cache.get(customer_id) {
            return Ok(hit);
        }
        let seen = cache.generation();
        let found = store.company(customer_id).await?.map(Arc::new);
        cache.put(customer_id, found.clone(), seen);
        Ok(found)
    }

    /// Whether a company store is configured and has no company with this id.
    pub(crate) async fn company_unknown(&self, customer_id: &str) -> Result<bool> {
        Ok(self.inner.companies.is_some() && self.find_company(customer_id).await?.is_none())
    }

    /// After a write of a company: drops it from the cache and tells other instances (and,
    /// when its validity changed, the permission matrices).
    async fn company_changed(&self, customer_id: &str, validity_changed: bool) {
        self.inner.company_cache.invalidate(customer_id);
        let mut changes = vec![Change::Company {
            customer_id: customer_id.to_owned(),
        }];
        if validity_changed {
            changes.push(Change::Permissions);
        }
        self.announce(&changes).await;
    }
}
