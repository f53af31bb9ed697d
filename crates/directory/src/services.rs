//! Services and default services (OTOBO `CustomerUserService`).

use clientele_backend::changes::Change;
use clientele_backend::error::{Entity, Error, Result};
use clientele_backend::traits::*;
use clientele_model::catalog::{check_comment, check_service_name};
use clientele_model::{Actor, Login, Validity};
use serde::Serialize;

use crate::Directory;

impl Directory {
    /// Adds a service.
    ///
    /// A child is added below its parent by its full name (OTOBO's `Parent::Child`): adding
    /// `Email::Outbound` needs `Email`, else [`Error::NotFound`] names the missing parent. An
    /// empty segment or a `:` at a segment's end is refused naming the field `service`
    /// ([`check_service_name`]).
    pub async fn add_service(&self, name: &str, by: impl Into<Actor>) -> Result<Service> {
        self.add_service_as(name, Validity::Valid, by).await
    }

    /// Adds a service with this validity (an import restoring an invalid service).
    pub async fn add_service_as(
        &self,
        name: &str,
        validity: Validity,
        by: impl Into<Actor>,
    ) -> Result<Service> {
        check_service_name(name)?;
        let added = self
            .relations()?
            .add_service(name, validity, &by.into())
            .await?;
        self.announce(&[Change::Services]).await;
        Ok(added)
    }

    /// All services.
    pub async fn services(&self) -> Result<Vec<Service>> {
        self.relations()?.services().await
    }

    pub(crate) async fn service(&self, name: &str) -> Result<Service> {
        self.services()
            .await?
            .into_iter()
            .find(|s| s.name == name)
            .ok_or_else(|| Error::NotFound {
                entity: Entity::Service,
                key: name.to_owned(),
            })
    }

    /// Assigns a service to a user or removes it; success is reported either way (OTOBO returned
    /// false for a successful removal, SPEC §6.4).
    pub async fn assign_service(
        &self,
        login: &str,
        service: &str,
        active: bool,
        by: impl Into<Actor>,
    ) -> Result<()> {
        let (user, _) = self.require(login).await?;
        let s = self.service(service).await?;
        self.relations()?
            .set_user_service(user.login.as_str(), s.id, active, &by.into())
            .await?;
        self.announce(&[Change::Services]).await;
        Ok(())
    }

    /// Makes a service a default service (for users without services of their own) or not.
    pub async fn set_default_service(
        &self,
        service: &str,
        active: bool,
        by: impl Into<Actor>,
    ) -> Result<()> {
        let s = self.service(service).await?;
        self.relations()?
            .set_user_service(DEFAULT_SERVICES_LOGIN, s.id, active, &by.into())
            .await?;
        self.announce(&[Change::Services]).await;
        Ok(())
    }

    /// The default services.
    pub async fn default_services(&self) -> Result<Vec<Service>> {
        self.relations()?
            .user_services(DEFAULT_SERVICES_LOGIN)
            .await
    }

    /// The valid services a user may request: their own, or the default services when they have
    /// none (a fallback, not a merge).
    pub async fn services_for(&self, login: &str) -> Result<Vec<Service>> {
        let (user, _) = self.require(login).await?;
        let own = self.relations()?.user_services(user.login.as_str()).await?;
        if own.is_empty() {
            self.default_services().await
        } else {
            Ok(own)
        }
    }
}

/// The users of a service ([`Directory::service_users`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceUsers {
    /// The service.
    pub service: Service,
    /// It is a default service: users without services of their own may request it too.
    pub default: bool,
    /// The logins it is assigned to, sorted (the default pseudo-login left out).
    pub logins: Vec<Login>,
}

impl Directory {
    /// The services assigned to the user itself, without the default-service fallback of
    /// [`services_for`](Self::services_for) (OTOBO `CustomerUserServiceMemberList` with
    /// `DefaultServices => 0`); valid services only. The user must exist.
    pub async fn own_services(&self, login: &str) -> Result<Vec<Service>> {
        let (user, _) = self.require(login).await?;
        self.relations()?.user_services(user.login.as_str()).await
    }

    /// The users a service is assigned to, seen from the service's end (OTOBO's Customer Users
    /// ↔ Services screen opened on a service), and whether it is a default service. Listed
    /// whatever the service's validity (OTOBO lists nothing for an invalid service; an
    /// administrator sees the assignments that would count again once it is valid).
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use clientele_backend::InMemoryBackend;
    /// use clientele_directory::Directory;
    /// use clientele_model::{NewCustomerCompany, NewCustomerUser};
    ///
    /// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
    /// dir.add_company(NewCustomerCompany::new("ACME", "Acme Corp"), "admin").await?;
    /// dir.add_customer_user(
    ///     NewCustomerUser::new("jdoe", "John", "Doe", "jdoe@acme-corp.com", "ACME"),
    ///     "admin",
    /// )
    /// .await?;
    /// dir.add_service("vpn", "admin").await?;
    /// dir.assign_service("jdoe", "vpn", true, "admin").await?;
    /// let users = dir.service_users("vpn").await?;
    /// assert_eq!(users.logins[0].as_str(), "jdoe");
    /// assert!(!users.default);
    /// # Ok::<(), clientele_backend::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn service_users(&self, name: &str) -> Result<ServiceUsers> {
        let service = self.service(name).await?;
        let mut default = false;
        let mut logins = Vec::new();
        for login in self.relations()?.service_users(service.id).await? {
            if login == DEFAULT_SERVICES_LOGIN {
                default = true;
            } else {
                logins.push(Login::from_stored(login));
            }
        }
        Ok(ServiceUsers {
            service,
            default,
            logins,
        })
    }

    /// Changes a service's name, comment or validity (OTOBO `ServiceUpdate`) and returns it as
    /// stored. A new name is the full name: renaming `Email` to `Mail` renames `Email::Outbound`
    /// to `Mail::Outbound` with it, in one transaction of the store; `Email::Outbound` →
    /// `Mail::Outbound` moves it below `Mail`, which must exist ([`Error::NotFound`] names the
    /// missing parent). Services are invalidated, never deleted.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use std::sync::Arc;
    /// use clientele_backend::{CatalogChanges, InMemoryBackend};
    /// use clientele_directory::Directory;
    ///
    /// let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
    /// dir.add_service("Email", "admin").await?;
    /// dir.add_service("Email::Outbound", "admin").await?;
    /// dir.update_service("Email", CatalogChanges::new().rename("Mail"), "admin").await?;
    /// let names: Vec<String> = dir.services().await?.into_iter().map(|s| s.name).collect();
    /// assert_eq!(names, ["Mail", "Mail::Outbound"]);
    /// # Ok::<(), clientele_backend::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn update_service(
        &self,
        name: &str,
        changes: CatalogChanges,
        by: impl Into<Actor>,
    ) -> Result<Service> {
        check_catalog_changes(&changes, check_service_name)?;
        let service = self.service(name).await?;
        if changes.is_empty() {
            return Ok(service);
        }
        let updated = self
            .relations()?
            .update_service(service.id, &changes, &by.into())
            .await?;
        self.announce(&[Change::Services]).await;
        Ok(updated)
    }
}

/// Refuses a change whose new name (checked by `check_name`) or comment can't be stored, naming
/// the field.
pub(crate) fn check_catalog_changes(
    changes: &CatalogChanges,
    check_name: fn(&str) -> std::result::Result<(), clientele_model::ValidationError>,
) -> Result<()> {
    if let Some(name) = &changes.name {
        check_name(name)?;
    }
    if let Some(Some(comment)) = &changes.comment {
        check_comment(comment)?;
    }
    Ok(())
}
