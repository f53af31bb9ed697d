//! Groups and services administered: the users of a service, renames, comments and validity,
//! and OTOBO's `Parent::Child` service hierarchy (`service.name` holds the full path; OTOBO's
//! schema has no parent column, so neither does this one).
//!
//! Every write that reads or changes the hierarchy — adding a service, changing one — runs under
//! one lock of the `service` table, in one transaction: a child can't be added below a parent
//! that a concurrent rename is moving away, and no reader sees a half-renamed tree.

use std::collections::BTreeSet;

use clientele_backend::{CatalogChanges, Entity, Error, Service};
use clientele_model::catalog;
use clientele_model::{Actor, Validity};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query, UpdateStatement, Value};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use super::{SERVICE, USER_SERVICE, t};
use crate::error::{Failure, is_unique};
use crate::lock::{begin_write, lock_key};
use crate::row::{read_text, time_value};
use crate::sql::col;
use crate::{DbBackend, agent_id, now_epoch};

/// The lock key every hierarchy write of `service` takes, and every rename of a group.
const NAMES: &str = "names";

/// One row of `groups_table` or `service`.
pub(super) struct NamedRow {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) validity: Validity,
    pub(super) comment: Option<String>,
}

impl From<NamedRow> for Service {
    fn from(row: NamedRow) -> Service {
        Service {
            id: row.id,
            name: row.name,
            validity: row.validity,
            comment: row.comment,
        }
    }
}

fn service_not_found(key: impl ToString) -> Failure {
    Failure::Api(Error::NotFound {
        entity: Entity::Service,
        key: key.to_string(),
    })
}

impl DbBackend {
    /// Adds a service, its parent (when it has one) checked in the same transaction.
    pub(super) async fn try_add_service(
        &self,
        name: &str,
        validity: Validity,
        by: &Actor,
    ) -> Result<i64, Failure> {
        let tx = begin_write(&self.conn, self.dialect).await?;
        lock_key(&tx, self.dialect, SERVICE, &[NAMES]).await?;
        self.require_parent_service(&tx, name).await?;
        let id = self
            .insert_named(&tx, SERVICE, Entity::Service, name, validity, by)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// `NotFound` naming the parent when `name` is a child whose parent is not stored.
    async fn require_parent_service(
        &self,
        tx: &DatabaseTransaction,
        name: &str,
    ) -> Result<(), Failure> {
        match catalog::parent_service(name) {
            Some(parent)
                if !self
                    .row_exists(tx, SERVICE, self.dialect.eq_exact(col("name"), parent))
                    .await? =>
            {
                Err(service_not_found(parent))
            }
            _ => Ok(()),
        }
    }

    /// The row of `groups_table` or `service` with this id.
    pub(super) async fn named_row<C: ConnectionTrait>(
        &self,
        conn: &C,
        table: &str,
        id: i64,
    ) -> Result<Option<NamedRow>, Failure> {
        let q = Query::select()
            .exprs([col("id"), col("name"), col("valid_id"), col("comments")])
            .from(t(table))
            .and_where(col("id").eq(id))
            .to_owned();
        let rows = conn.query_all(&q).await?;
        Ok(self.named_rows(&rows)?.into_iter().next())
    }

    /// The statement writing the comment and validity of `changes` (when set) and the audit
    /// columns of row `id`.
    fn catalog_update(
        &self,
        table: &str,
        id: i64,
        changes: &CatalogChanges,
        by: &Actor,
    ) -> UpdateStatement {
        let mut update = Query::update();
        update.table(t(table));
        if let Some(comment) = &changes.comment {
            update.value(Alias::new("comments"), Value::String(comment.clone()));
        }
        if let Some(validity) = changes.validity {
            update.value(Alias::new("valid_id"), validity.id());
        }
        update
            .value(Alias::new("change_time"), time_value(now_epoch()))
            .value(Alias::new("change_by"), agent_id(by))
            .and_where(col("id").eq(id));
        update
    }

    /// Sets row `id`'s name inside `tx`; a taken name (by the unique index, whatever its case
    /// rule) is `AlreadyExists`.
    async fn set_name(
        &self,
        tx: &DatabaseTransaction,
        table: &str,
        entity: Entity,
        id: i64,
        name: &str,
    ) -> Result<(), Failure> {
        let update = Query::update()
            .table(t(table))
            .value(Alias::new("name"), name)
            .and_where(col("id").eq(id))
            .to_owned();
        match tx.execute(&update).await {
            Err(e) if is_unique(&Failure::Db(e.clone())) => Err(self.named_exists(entity, name)),
            other => other.map(|_| ()).map_err(Failure::from),
        }
    }

    pub(super) async fn try_update_group(
        &self,
        id: i64,
        changes: &CatalogChanges,
        by: &Actor,
    ) -> Result<NamedRow, Failure> {
        let table = self.config.groups_table.clone();
        let tx = begin_write(&self.conn, self.dialect).await?;
        lock_key(&tx, self.dialect, &table, &[NAMES]).await?;
        let not_found = || {
            Failure::Api(Error::NotFound {
                entity: Entity::Group,
                key: id.to_string(),
            })
        };
        let current = self
            .named_row(&tx, &table, id)
            .await?
            .ok_or_else(not_found)?;
        if let Some(name) = changes.name.as_deref().filter(|n| *n != current.name) {
            let taken = self
                .dialect
                .eq_exact(col("name"), name)
                .and(col("id").ne(id));
            if self.row_exists(&tx, &table, taken).await? {
                return Err(self.named_exists(Entity::Group, name));
            }
            self.set_name(&tx, &table, Entity::Group, id, name).await?;
        }
        tx.execute(&self.catalog_update(&table, id, changes, by))
            .await?;
        let updated = self
            .named_row(&tx, &table, id)
            .await?
            .ok_or_else(not_found)?;
        tx.commit().await?;
        Ok(updated)
    }

    pub(super) async fn try_update_service(
        &self,
        id: i64,
        changes: &CatalogChanges,
        by: &Actor,
    ) -> Result<Service, Failure> {
        let tx = begin_write(&self.conn, self.dialect).await?;
        lock_key(&tx, self.dialect, SERVICE, &[NAMES]).await?;
        let current = self
            .named_row(&tx, SERVICE, id)
            .await?
            .ok_or_else(|| service_not_found(id))?;
        if let Some(new) = changes.name.as_deref().filter(|n| *n != current.name) {
            self.rename_service_tree(&tx, &current, new).await?;
        }
        tx.execute(&self.catalog_update(SERVICE, id, changes, by))
            .await?;
        let updated = self
            .named_row(&tx, SERVICE, id)
            .await?
            .ok_or_else(|| service_not_found(id))?;
        tx.commit().await?;
        Ok(updated.into())
    }

    /// Renames a service and every descendant inside `tx`, after checking every new name:
    /// all of it is written, or (an error) none.
    async fn rename_service_tree(
        &self,
        tx: &DatabaseTransaction,
        current: &NamedRow,
        new: &str,
    ) -> Result<(), Failure> {
        let old = current.name.as_str();
        // The whole table, read under the lock: services are few (an OTOBO installation has
        // hundreds at most), and matching the descendants here rather than with LIKE keeps the
        // prefix exact on every database's collation.
        let all = self.list_named(tx, SERVICE).await?;
        let descendants: Vec<&NamedRow> = all
            .iter()
            .filter(|r| catalog::is_descendant(&r.name, old))
            .collect();
        catalog::check_service_rename(old, new, descendants.iter().map(|r| r.name.as_str()))
            .map_err(|e| Failure::Api(e.into()))?;
        self.require_parent_service(tx, new).await?;
        let mut moves = vec![(current.id, new.to_owned())];
        moves.extend(descendants.iter().filter_map(|r| {
            catalog::renamed_descendant(&r.name, old, new).map(|name| (r.id, name))
        }));
        let moving: BTreeSet<i64> = moves.iter().map(|(id, _)| *id).collect();
        for (_, name) in &moves {
            if all
                .iter()
                .any(|r| !moving.contains(&r.id) && r.name == *name)
            {
                return Err(self.named_exists(Entity::Service, name));
            }
        }
        for (id, name) in &moves {
            self.set_name(tx, SERVICE, Entity::Service, *id, name)
                .await?;
        }
        Ok(())
    }

    /// The logins assigned to a service, sorted, each once.
    pub(super) async fn try_service_users(&self, id: i64) -> Result<Vec<String>, Failure> {
        let exists = Query::select()
            .expr(Expr::cust("1"))
            .from(t(SERVICE))
            .and_where(col("id").eq(id))
            .limit(1)
            .to_owned();
        if self.conn.query_one(&exists).await?.is_none() {
            return Err(service_not_found(id));
        }
        let q = Query::select()
            .expr(col("customer_user_login"))
            .from(t(USER_SERVICE))
            .and_where(col("service_id").eq(id))
            .to_owned();
        let rows = self.conn.query_all(&q).await?;
        let mut logins = rows
            .iter()
            .map(|r| read_text(r, 0).map(Option::unwrap_or_default))
            .collect::<Result<Vec<String>, _>>()?;
        logins.sort();
        logins.dedup();
        Ok(logins)
    }
}
