//! Services and default services (OTOBO `CustomerUserService`).

use clientele_backend::changes::Change;
use clientele_backend::error::{Entity, Error, Result};
use clientele_backend::traits::*;
use clientele_model::Actor;
use clientele_model::{ValidationError, Validity};

use crate::Directory;

impl Directory {
    /// Adds a service.
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
        if name.trim().is_empty() {
            return Err(ValidationError::Required {
                field: "service".into(),
            }
            .into());
        }
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
