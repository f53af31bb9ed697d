//! Customer companies and the user ↔ company relations.

use clientele_model::Actor;
use std::sync::Arc;

use clientele_backend::changes::Change;
use clientele_backend::error::{Entity, Error, Result};
use clientele_backend::traits::{SourcePage, fetch_limit};
use clientele_model::search::{CompanyQuery, CustomerUserSearch, parse_term, sort_by_login};
use clientele_model::{
    Audit, CustomerCompany, CustomerCompanyChanges, Login, NewCustomerCompany, Rules, Validity,
};
use serde::Serialize;

use crate::Directory;
use crate::search::{SearchPage, check_search_value};

impl Directory {
    /// The company with this id.
    pub async fn company(&self, customer_id: &str) -> Result<Option<CustomerCompany>> {
        self.companies()?;
        Ok(self
            .find_company(customer_id)
            .await?
            .map(Arc::unwrap_or_clone))
    }

    /// The company store's settings, its attribute map among them (what a company form is
    /// built from); `None` when no company store is configured.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use clientele_directory::{Directory, InMemoryBackend};
    ///
    /// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
    /// let settings = dir.company_settings().expect("a company store");
    /// assert!(settings.map.by_key("CustomerCompanyName").is_some());
    /// ```
    pub fn company_settings(&self) -> Option<&clientele_backend::settings::CompanySettings> {
        self.inner.companies.as_ref().map(|c| c.settings())
    }

    /// Adds a company (validated against the company map).
    pub async fn add_company(
        &self,
        new: NewCustomerCompany,
        by: impl Into<Actor>,
    ) -> Result<CustomerCompany> {
        self.add_company_with(new, Audit::default(), by.into())
            .await
    }

    /// [`add_company`](Self::add_company) of a company that may carry its audit values.
    pub(crate) async fn add_company_with(
        &self,
        new: NewCustomerCompany,
        audit: Audit,
        by: Actor,
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
        let company = CustomerCompany { audit, ..company };
        store.add_company(&company, &by).await?;
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
    ///
    /// [`search_companies_page`](Self::search_companies_page) also says whether more matched
    /// than the limit.
    pub async fn search_companies(
        &self,
        term: Option<&str>,
        valid_only: bool,
        limit: Option<usize>,
    ) -> Result<Vec<CustomerCompany>> {
        Ok(self
            .search_companies_page(term, valid_only, limit)
            .await?
            .hits)
    }

    /// [`search_companies`](Self::search_companies) as a [`SearchPage`]: the companies, the
    /// limit applied (`limit`, else the company store's `search_limit`) and whether more
    /// matched. The store is asked for one company more than the limit. There is one company
    /// store, so a page is never partial: a failing store is an error.
    pub async fn search_companies_page(
        &self,
        term: Option<&str>,
        valid_only: bool,
        limit: Option<usize>,
    ) -> Result<SearchPage<CustomerCompany>> {
        if let Some(t) = term {
            check_search_value("Search", t)?;
        }
        let store = self.companies()?;
        let s = store.settings();
        let expr = match term {
            Some(t) if !t.trim().is_empty() => Some(parse_term(t, &s.syntax)?),
            _ => None,
        };
        let limit = limit.unwrap_or(s.search_limit);
        let query = CompanyQuery {
            expr,
            valid_only,
            limit: fetch_limit(limit),
            case_sensitive: s.case_sensitive,
        };
        let page = SourcePage::cut(store.search_companies(&query).await?, limit);
        Ok(SearchPage {
            hits: page.hits,
            limit,
            more_matched: page.more_matched,
            missing_sources: Vec::new(),
        })
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
            changes.push(Change::CompanyGrants {
                customer_id: customer_id.to_owned(),
            });
        }
        self.announce(&changes).await;
    }
}

/// One user of a company ([`Directory::users_of_company`]): how the user belongs to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CompanyUser {
    /// The stored login.
    pub login: Login,
    /// The company is the user's primary company (OTOBO `UserCustomerID`,
    /// `customer_user.customer_id`).
    pub primary: bool,
    /// The user is related to the company beside its primary one (OTOBO
    /// `customer_user_customer`, [`Directory::relate_company`]).
    pub related: bool,
}

impl Directory {
    /// The users of a company, seen from the company's end (OTOBO's Customer Users ↔
    /// Customers screen opened on a customer): those whose primary company it is, found with an
    /// exact customer-id search over every source (invalid users included, at most `limit` per
    /// source, by default each source's `search_limit`), and those related to it through
    /// `customer_user_customer`. Sorted by login; a user that is both is listed once, marked
    /// both.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use clientele_backend::InMemoryBackend;
    /// use clientele_directory::Directory;
    /// use clientele_model::{NewCustomerCompany, NewCustomerUser};
    ///
    /// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
    /// for (id, name) in [("ACME", "Acme Corp"), ("GLOBEX", "Globex")] {
    ///     dir.add_company(NewCustomerCompany::new(id, name), "admin").await?;
    /// }
    /// for (login, company) in [("anna", "GLOBEX"), ("jdoe", "ACME")] {
    ///     let email = format!("{login}@acme-corp.com");
    ///     dir.add_customer_user(NewCustomerUser::new(login, "A", "B", &email, company), "admin")
    ///         .await?;
    /// }
    /// dir.relate_company("anna", "ACME", true, "admin").await?;
    /// let users = dir.users_of_company("ACME", None).await?;
    /// assert_eq!(users[0].login.as_str(), "anna");
    /// assert!(users[0].related && !users[0].primary);
    /// assert_eq!(users[1].login.as_str(), "jdoe");
    /// assert!(users[1].primary && !users[1].related);
    /// # Ok::<(), clientele_backend::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn users_of_company(
        &self,
        customer_id: &str,
        limit: Option<usize>,
    ) -> Result<Vec<CompanyUser>> {
        let mut search = CustomerUserSearch::customer_id_raw(customer_id).include_invalid();
        search.limit = limit;
        let primary = self.search_list(&search).await?;
        let related = self.company_members(customer_id).await?;
        let mut users: Vec<CompanyUser> = primary
            .into_iter()
            .map(|hit| CompanyUser {
                login: hit.login,
                primary: true,
                related: false,
            })
            .collect();
        let by_login: std::collections::HashMap<String, usize> = users
            .iter()
            .enumerate()
            .map(|(i, u)| (u.login.folded(), i))
            .collect();
        for login in related {
            match by_login.get(&login.folded()) {
                Some(&i) => users[i].related = true,
                None => users.push(CompanyUser {
                    login,
                    primary: false,
                    related: true,
                }),
            }
        }
        sort_by_login(&mut users, |u| u.login.as_str());
        Ok(users)
    }

    /// Sets a company's validity; companies are never deleted (SPEC §2). `NotFound` when
    /// there is no such company.
    pub async fn set_company_validity(
        &self,
        customer_id: &str,
        validity: Validity,
        by: impl Into<Actor>,
    ) -> Result<CustomerCompany> {
        self.update_company(
            customer_id,
            CustomerCompanyChanges::new().validity(validity),
            by,
        )
        .await
    }

    /// Invalidates a company (OTOBO `ValidID` 2): it is left out of default company searches
    /// and its grants stop counting for its users' permissions.
    pub async fn invalidate_company(
        &self,
        customer_id: &str,
        by: impl Into<Actor>,
    ) -> Result<CustomerCompany> {
        self.set_company_validity(customer_id, Validity::Invalid, by)
            .await
    }
}
