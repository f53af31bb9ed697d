//! Relations: user ↔ company (`customer_user_customer`), grants (`group_customer_user`,
//! `group_customer`), groups, services (`service`, `service_customer_user`).

use std::collections::BTreeSet;

use async_trait::async_trait;
use clientele_backend::{
    CatalogChanges, CompanyGrant, Entity, Error, GrantChange, Group, RelationRow, RelationSnapshot,
    RelationStore, Result, Service, UserGrant,
};
use clientele_model::permission::{GroupId, PermissionContext, PermissionType, Stored};
use clientele_model::{Actor, Audit, CustomerId, Login, Validity};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, Value};
use sea_orm::{
    AccessMode, ConnectionTrait, DatabaseTransaction, IsolationLevel, QueryResult, TransactionTrait,
};

use crate::error::{Failure, is_retry, is_unique};
use crate::lock::{begin_write, lock_key};
use crate::retry::retry;
use crate::row::{read_id, read_int, read_text, read_time, time_value};
use crate::sql::{Dialect, col, tcol};
use crate::{DbBackend, agent_id, now_epoch};

const USER_COMPANY: &str = "customer_user_customer";
const USER_GRANT: &str = "group_customer_user";
const COMPANY_GRANT: &str = "group_customer";
const SERVICE: &str = "service";
const USER_SERVICE: &str = "service_customer_user";

mod catalog;

use catalog::NamedRow;

fn t(name: &str) -> Alias {
    Alias::new(name)
}

fn validity(id: Option<i64>) -> Validity {
    Validity::from_stored_id(id)
}

/// The stored permission set a grant write changes: a user's on a group (`group_customer_user`)
/// or a company's on a group in a context (`group_customer`).
#[derive(Clone, Copy)]
struct GrantKey<'a> {
    table: &'static str,
    holder_column: &'static str,
    holder: &'a str,
    group: GroupId,
    context: Option<&'a str>,
}

/// A group id as OTOBO's integer `id` column holds it; one beyond that column's range names no
/// stored group.
fn group_column(id: GroupId) -> Result<i64, Failure> {
    i64::try_from(id.get()).map_err(|_| {
        Failure::Api(Error::NotFound {
            entity: Entity::Group,
            key: id.to_string(),
        })
    })
}

/// Runs a write transaction again on deadlock or serialization failure (the crate's one retry
/// loop), reporting the last failure as the public error.
macro_rules! retrying {
    ($self:ident, $body:expr) => {
        retry(is_retry, || $body).await.map_err(|f| $self.fail(f))
    };
}

impl DbBackend {
    fn audit_values(&self, by: &Actor, with_change: bool) -> Vec<(&'static str, Value)> {
        let now = now_epoch();
        let agent = Value::Int(Some(agent_id(by)));
        let mut v = vec![
            ("create_time", time_value(now)),
            ("create_by", agent.clone()),
        ];
        if with_change {
            v.push(("change_time", time_value(now)));
            v.push(("change_by", agent));
        }
        v
    }

    async fn insert_row(
        &self,
        tx: &DatabaseTransaction,
        table: &str,
        values: Vec<(&str, Value)>,
    ) -> Result<(), Failure> {
        let mut insert = Query::insert();
        insert
            .into_table(t(table))
            .columns(values.iter().map(|(c, _)| Alias::new(*c)));
        insert
            .values(values.into_iter().map(|(_, v)| Expr::val(v)))
            .map_err(|e| Error::backend_failure(self.name(), e))?;
        tx.execute(&insert).await?;
        Ok(())
    }

    async fn row_exists(
        &self,
        tx: &DatabaseTransaction,
        table: &str,
        condition: Expr,
    ) -> Result<bool, Failure> {
        let q = Query::select()
            .expr(Expr::cust("1"))
            .from(t(table))
            .and_where(condition)
            .limit(1)
            .to_owned();
        Ok(tx.query_one(&q).await?.is_some())
    }

    async fn group_exists(
        &self,
        tx: &DatabaseTransaction,
        group_id: GroupId,
    ) -> Result<(), Failure> {
        if self
            .row_exists(
                tx,
                &self.config.groups_table.clone(),
                col("id").eq(group_column(group_id)?),
            )
            .await?
        {
            Ok(())
        } else {
            Err(Failure::Api(Error::NotFound {
                entity: Entity::Group,
                key: group_id.to_string(),
            }))
        }
    }

    /// Inserts the row unless an equal one exists, under the lock of its key (writers of one
    /// row run one after the other, with or without a unique index); a row another writer
    /// inserted meanwhile (refused by the unique index) counts as done.
    async fn try_relate(
        &self,
        table: &str,
        key: Vec<(&str, &str)>,
        extra: Vec<(&str, Value)>,
    ) -> Result<(), Failure> {
        let tx = begin_write(&self.conn, self.dialect).await?;
        let parts: Vec<&str> = key.iter().map(|(_, v)| *v).collect();
        lock_key(&tx, self.dialect, table, &parts).await?;
        let condition = crate::sql::all(
            key.iter()
                .map(|(c, v)| self.dialect.eq_exact(col(c), v))
                .collect(),
        );
        if !self.row_exists(&tx, table, condition).await? {
            let mut values: Vec<(&str, Value)> = key
                .iter()
                .map(|(c, v)| (*c, Value::String(Some((*v).to_owned()))))
                .collect();
            values.extend(extra);
            match self.insert_row(&tx, table, values).await {
                Err(f) if is_unique(&f) => return Ok(()),
                other => other?,
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// The `wanted` column of the user ↔ company relations whose `by` column is `value`, sorted
    /// and without repeats (a database without the unique index may hold a relation twice).
    async fn related(&self, wanted: &str, by: &str, value: &str) -> Result<Vec<String>> {
        let q = Query::select()
            .expr(col(wanted))
            .from(t(USER_COMPANY))
            .and_where(self.dialect.eq_exact(col(by), value))
            .order_by_expr(self.dialect.sort_key(col(wanted)), Order::Asc)
            .to_owned();
        let mut values: Vec<String> = self
            .strings(&self.conn, &q, 1)
            .await?
            .into_iter()
            .map(|mut r| r.remove(0))
            .collect();
        values.dedup();
        Ok(values)
    }

    async fn delete_where(&self, table: &str, condition: Expr) -> Result<u64, Failure> {
        let delete = Query::delete()
            .from_table(t(table))
            .and_where(condition)
            .to_owned();
        Ok(self.conn.execute(&delete).await?.rows_affected())
    }

    /// Changes one stored permission set in one transaction, under the lock of its key (the
    /// holder, the group and, for a company, the context), so concurrent changes of one set run
    /// one after the other and none is lost.
    async fn try_change_grant(
        &self,
        key: GrantKey<'_>,
        change: GrantChange,
        permissions: &[PermissionType],
        by: &Actor,
    ) -> Result<(), Failure> {
        let column = group_column(key.group)?;
        let tx = begin_write(&self.conn, self.dialect).await?;
        let group = key.group.to_string();
        let mut lock = vec![key.holder, group.as_str()];
        lock.extend(key.context);
        lock_key(&tx, self.dialect, key.table, &lock).await?;
        self.group_exists(&tx, key.group).await?;
        let set: BTreeSet<&str> = permissions.iter().map(PermissionType::as_str).collect();
        let mut delete = Query::delete();
        delete
            .from_table(t(key.table))
            .and_where(self.dialect.eq_exact(col(key.holder_column), key.holder))
            .and_where(col("group_id").eq(column));
        if let Some(context) = key.context {
            delete.and_where(self.dialect.eq_exact(col("permission_context"), context));
        }
        if change != GrantChange::Replace {
            let named = set
                .iter()
                .map(|p| self.dialect.eq_exact(col("permission_key"), p))
                .collect();
            delete.and_where(crate::sql::any(named));
        }
        tx.execute(&delete).await?;
        if change != GrantChange::Remove {
            for p in set {
                let mut values = vec![
                    (
                        key.holder_column,
                        Value::String(Some(key.holder.to_owned())),
                    ),
                    ("group_id", Value::BigInt(Some(column))),
                    ("permission_key", Value::String(Some(p.to_owned()))),
                    ("permission_value", Value::SmallInt(Some(1))),
                ];
                if let Some(context) = key.context {
                    values.push((
                        "permission_context",
                        Value::String(Some(context.to_owned())),
                    ));
                }
                values.extend(self.audit_values(by, true));
                self.insert_row(&tx, key.table, values).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Inserts a named row into `groups_table` or `service` and returns its new id.
    async fn try_add_named(
        &self,
        table: &str,
        entity: Entity,
        name: &str,
        validity: Validity,
        by: &Actor,
    ) -> Result<i64, Failure> {
        let tx = begin_write(&self.conn, self.dialect).await?;
        let id = self
            .insert_named(&tx, table, entity, name, validity, by)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Inserts a named row into `groups_table` or `service` inside `tx` and returns its new id.
    async fn insert_named(
        &self,
        tx: &DatabaseTransaction,
        table: &str,
        entity: Entity,
        name: &str,
        validity: Validity,
        by: &Actor,
    ) -> Result<i64, Failure> {
        if self
            .row_exists(tx, table, self.dialect.eq_exact(col("name"), name))
            .await?
        {
            return Err(self.named_exists(entity, name));
        }
        let mut values = vec![
            ("name", Value::String(Some(name.to_owned()))),
            ("valid_id", Value::SmallInt(Some(validity.id()))),
        ];
        values.extend(self.audit_values(by, true));
        let mut insert = Query::insert();
        insert
            .into_table(t(table))
            .columns(values.iter().map(|(c, _)| Alias::new(*c)));
        insert
            .values(values.into_iter().map(|(_, v)| Expr::val(v)))
            .map_err(|e| Error::backend_failure(self.name(), e))?;
        let inserted = if self.dialect == Dialect::MySql {
            tx.execute(&insert).await.map(|r| r.last_insert_id() as i64)
        } else {
            insert.returning_col(Alias::new("id"));
            match tx.query_one(&insert).await {
                Ok(Some(r)) => read_id(&r, 0),
                Ok(None) => Err(sea_orm::DbErr::RecordNotInserted),
                Err(e) => Err(e),
            }
        };
        match inserted {
            Err(e) if crate::error::kind(&e) == crate::error::Kind::Unique => {
                Err(self.named_exists(entity, name))
            }
            other => Ok(other?),
        }
    }

    fn named_exists(&self, entity: Entity, name: &str) -> Failure {
        Failure::Api(Error::AlreadyExists {
            entity,
            field: "name".into(),
            value: name.into(),
            backend: Some(self.name().to_owned()),
        })
    }

    async fn try_rename_user(&self, old: &str, new: &str) -> Result<(), Failure> {
        let tx = begin_write(&self.conn, self.dialect).await?;
        self.rename_relations_in(&tx, old, new).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves the user's company relations, grants and services from `old` to `new` inside
    /// `tx` (a rename's own transaction, or one of its own).
    pub(crate) async fn rename_relations_in(
        &self,
        tx: &DatabaseTransaction,
        old: &str,
        new: &str,
    ) -> Result<(), Failure> {
        // Rows the new login already has would collide with the renamed ones: drop the old
        // login's duplicates first (the relations are sets).
        let tables: [(&str, &str, &[&str]); 3] = [
            (USER_COMPANY, "user_id", &["customer_id"]),
            (USER_GRANT, "user_id", &["group_id", "permission_key"]),
            (USER_SERVICE, "customer_user_login", &["service_id"]),
        ];
        for (table, login_col, rest) in tables {
            let mut q = Query::select();
            for c in rest {
                q.expr(col(c));
            }
            q.from(t(table))
                .and_where(self.dialect.eq_exact(col(login_col), new));
            let existing = tx.query_all(&q).await?;
            for row in &existing {
                let mut delete = Query::delete();
                delete
                    .from_table(t(table))
                    .and_where(self.dialect.eq_exact(col(login_col), old));
                for (i, c) in rest.iter().enumerate() {
                    delete.and_where(match *c {
                        "group_id" | "service_id" => col(c).eq(read_id(row, i)?),
                        _ => self
                            .dialect
                            .eq_exact(col(c), &read_text(row, i)?.unwrap_or_default()),
                    });
                }
                tx.execute(&delete).await?;
            }
            let update = Query::update()
                .table(t(table))
                .value(Alias::new(login_col), new)
                .and_where(self.dialect.eq_exact(col(login_col), old))
                .to_owned();
            tx.execute(&update).await?;
        }
        Ok(())
    }

    async fn try_set_user_service(
        &self,
        login: &str,
        service_id: i64,
        active: bool,
        by: &Actor,
    ) -> Result<(), Failure> {
        let tx = begin_write(&self.conn, self.dialect).await?;
        let service = service_id.to_string();
        lock_key(&tx, self.dialect, USER_SERVICE, &[login, service.as_str()]).await?;
        if !self
            .row_exists(&tx, SERVICE, col("id").eq(service_id))
            .await?
        {
            return Err(Failure::Api(Error::NotFound {
                entity: Entity::Service,
                key: service_id.to_string(),
            }));
        }
        let condition = self
            .dialect
            .eq_exact(col("customer_user_login"), login)
            .and(col("service_id").eq(service_id));
        if active {
            if !self.row_exists(&tx, USER_SERVICE, condition).await? {
                let mut values = vec![
                    ("customer_user_login", Value::String(Some(login.to_owned()))),
                    ("service_id", Value::BigInt(Some(service_id))),
                ];
                values.extend(self.audit_values(by, false));
                match self.insert_row(&tx, USER_SERVICE, values).await {
                    Err(f) if is_unique(&f) => return Ok(()),
                    other => other?,
                }
            }
        } else {
            let delete = Query::delete()
                .from_table(t(USER_SERVICE))
                .and_where(condition)
                .to_owned();
            tx.execute(&delete).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A group id read from the database: OTOBO's ids are positive, so a negative one is a
    /// typed error naming it rather than some other group.
    fn group_id(&self, id: i64) -> Result<GroupId> {
        u64::try_from(id).map(GroupId).map_err(|_| {
            Error::backend(
                self.name(),
                format!("a stored group id is negative ({id}); OTOBO's ids are positive"),
            )
        })
    }

    fn group(&self, row: NamedRow) -> Result<Group> {
        Ok(Group {
            id: self.group_id(row.id)?,
            name: row.name,
            validity: row.validity,
            comment: row.comment,
        })
    }

    /// Rows of `id`, `name`, `valid_id`, `comments` (in that order) of `groups_table` or
    /// `service`.
    fn named_rows(&self, rows: &[QueryResult]) -> Result<Vec<NamedRow>> {
        rows.iter()
            .map(|r| {
                let text = |i| read_text(r, i).map_err(|e| self.err(e));
                Ok(NamedRow {
                    id: read_id(r, 0).map_err(|e| self.err(e))?,
                    name: text(1)?.unwrap_or_default(),
                    validity: validity(read_int(r, 2).map_err(|e| self.err(e))?),
                    // OTOBO writes '' for an empty comment.
                    comment: text(3)?.filter(|c| !c.is_empty()),
                })
            })
            .collect()
    }

    async fn list_named<C: ConnectionTrait>(&self, conn: &C, table: &str) -> Result<Vec<NamedRow>> {
        let q = Query::select()
            .exprs([col("id"), col("name"), col("valid_id"), col("comments")])
            .from(t(table))
            .order_by(Alias::new("id"), Order::Asc)
            .to_owned();
        let rows = conn.query_all(&q).await.map_err(|e| self.err(e))?;
        self.named_rows(&rows)
    }

    async fn strings<C: ConnectionTrait>(
        &self,
        conn: &C,
        q: &sea_orm::sea_query::SelectStatement,
        columns: usize,
    ) -> Result<Vec<Vec<String>>> {
        let rows = conn.query_all(q).await.map_err(|e| self.err(e))?;
        rows.iter()
            .map(|r| {
                (0..columns)
                    .map(|i| {
                        read_text(r, i)
                            .map(Option::unwrap_or_default)
                            .map_err(|e| self.err(e))
                    })
                    .collect()
            })
            .collect()
    }
}

#[async_trait]
impl RelationStore for DbBackend {
    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn set_user_company(
        &self,
        login: &str,
        customer_id: &str,
        active: bool,
        by: &Actor,
    ) -> Result<()> {
        self.bounded(self.name(), async {
            let by = &self.actor(by).await?;
            if !active {
                let condition = self
                    .dialect
                    .eq_exact(col("user_id"), login)
                    .and(self.dialect.eq_exact(col("customer_id"), customer_id));
                return self
                    .delete_where(USER_COMPANY, condition)
                    .await
                    .map(|_| ())
                    .map_err(|f| self.fail(f));
            }
            let extra = self.audit_values(by, true);
            retrying!(
                self,
                self.try_relate(
                    USER_COMPANY,
                    vec![("user_id", login), ("customer_id", customer_id)],
                    extra.clone()
                )
            )
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn user_companies(&self, login: &str) -> Result<Vec<CustomerId>> {
        self.bounded(self.name(), async {
            let ids = self.related("customer_id", "user_id", login).await?;
            Ok(ids.into_iter().map(CustomerId::from_stored).collect())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn company_users(&self, customer_id: &str) -> Result<Vec<Login>> {
        self.bounded(self.name(), async {
            let logins = self.related("user_id", "customer_id", customer_id).await?;
            Ok(logins.into_iter().map(Login::from_stored).collect())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn rename_user(&self, old: &str, new: &str) -> Result<()> {
        self.bounded(self.name(), async {
            if old == new {
                return Ok(());
            }
            retrying!(self, self.try_rename_user(old, new))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn add_group(&self, name: &str, validity: Validity, by: &Actor) -> Result<Group> {
        self.bounded(self.name(), async {
            let by = &self.actor(by).await?;
            let table = self.config.groups_table.clone();
            let id: i64 = retrying!(
                self,
                self.try_add_named(&table, Entity::Group, name, validity, by)
            )?;
            self.group(NamedRow {
                id,
                name: name.to_owned(),
                validity,
                comment: None,
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn set_group_validity(&self, group_id: GroupId, validity: Validity) -> Result<()> {
        self.bounded(self.name(), async {
            let update = Query::update()
                .table(t(&self.config.groups_table))
                .value(Alias::new("valid_id"), validity.id())
                .value(Alias::new("change_time"), time_value(now_epoch()))
                .and_where(col("id").eq(group_column(group_id).map_err(|f| self.fail(f))?))
                .to_owned();
            let result = self.conn.execute(&update).await.map_err(|e| self.err(e))?;
            if result.rows_affected() == 0 {
                return Err(Error::NotFound {
                    entity: Entity::Group,
                    key: group_id.to_string(),
                });
            }
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn groups(&self) -> Result<Vec<Group>> {
        self.bounded(self.name(), async {
            let table = self.config.groups_table.clone();
            self.list_named(&self.conn, &table)
                .await?
                .into_iter()
                .map(|row| self.group(row))
                .collect()
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn change_user_grant(
        &self,
        login: &str,
        group_id: GroupId,
        change: GrantChange,
        permissions: &[PermissionType],
        by: &Actor,
    ) -> Result<()> {
        let key = GrantKey {
            table: USER_GRANT,
            holder_column: "user_id",
            holder: login,
            group: group_id,
            context: None,
        };
        self.bounded(self.name(), async {
            let by = &self.actor(by).await?;
            retrying!(self, self.try_change_grant(key, change, permissions, by))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn change_company_grant(
        &self,
        customer_id: &str,
        group_id: GroupId,
        context: &PermissionContext,
        change: GrantChange,
        permissions: &[PermissionType],
        by: &Actor,
    ) -> Result<()> {
        let key = GrantKey {
            table: COMPANY_GRANT,
            holder_column: "customer_id",
            holder: customer_id,
            group: group_id,
            context: Some(context.as_str()),
        };
        self.bounded(self.name(), async {
            let by = &self.actor(by).await?;
            retrying!(self, self.try_change_grant(key, change, permissions, by))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn relation_snapshot(&self) -> Result<RelationSnapshot> {
        self.bounded(self.name(), async {
            // One snapshot for all four reads, so a grant written meanwhile is either in every part
            // or in none.
            let tx = match self.dialect {
                Dialect::Sqlite => self.conn.begin().await,
                _ => {
                    self.conn
                        .begin_with_config(
                            Some(IsolationLevel::RepeatableRead),
                            Some(AccessMode::ReadOnly),
                        )
                        .await
                }
            }
            .map_err(|e| self.err(e))?;
            let table = self.config.groups_table.clone();
            let groups = self
                .list_named(&tx, &table)
                .await?
                .into_iter()
                .map(|row| self.group(row))
                .collect::<Result<_>>()?;
            let q = Query::select()
                .exprs([col("user_id"), col("group_id"), col("permission_key")])
                .from(t(USER_GRANT))
                .and_where(col("permission_value").eq(1))
                .to_owned();
            let text = |r: &QueryResult, i| -> Result<String> {
                Ok(read_text(r, i)
                    .map_err(|e| self.err(e))?
                    .unwrap_or_default())
            };
            let group = |r: &QueryResult, i| -> Result<GroupId> {
                self.group_id(read_id(r, i).map_err(|e| self.err(e))?)
            };
            let rows = tx.query_all(&q).await.map_err(|e| self.err(e))?;
            let mut user_grants = BTreeSet::new();
            for r in &rows {
                user_grants.insert(UserGrant {
                    login: text(r, 0)?,
                    group_id: group(r, 1)?,
                    permission: Stored::parse(text(r, 2)?),
                });
            }
            let q = Query::select()
                .exprs([
                    col("customer_id"),
                    col("group_id"),
                    col("permission_key"),
                    col("permission_context"),
                ])
                .from(t(COMPANY_GRANT))
                .and_where(col("permission_value").eq(1))
                .to_owned();
            let rows = tx.query_all(&q).await.map_err(|e| self.err(e))?;
            let mut company_grants = BTreeSet::new();
            for r in &rows {
                company_grants.insert(CompanyGrant {
                    customer_id: text(r, 0)?,
                    group_id: group(r, 1)?,
                    permission: Stored::parse(text(r, 2)?),
                    context: Stored::parse(text(r, 3)?),
                });
            }
            let q = Query::select()
                .exprs([col("user_id"), col("customer_id")])
                .from(t(USER_COMPANY))
                .to_owned();
            let user_companies: BTreeSet<(String, String)> = self
                .strings(&tx, &q, 2)
                .await?
                .into_iter()
                .map(|mut r| {
                    let c = r.remove(1);
                    (r.remove(0), c)
                })
                .collect();
            tx.commit().await.map_err(|e| self.err(e))?;
            Ok(RelationSnapshot {
                groups,
                user_grants: user_grants.into_iter().collect(),
                company_grants: company_grants.into_iter().collect(),
                user_companies: user_companies.into_iter().collect(),
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn user_grants_of(&self, login: &str) -> Result<Vec<UserGrant>> {
        self.bounded(self.name(), async {
            // One indexed read (`group_customer_user_user_id`).
            let q = Query::select()
                .exprs([col("group_id"), col("permission_key")])
                .from(t(USER_GRANT))
                .and_where(self.dialect.eq_exact(col("user_id"), login))
                .and_where(col("permission_value").eq(1))
                .to_owned();
            let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
            let mut grants = BTreeSet::new();
            for r in &rows {
                let id = read_id(r, 0).map_err(|e| self.err(e))?;
                let key = read_text(r, 1).map_err(|e| self.err(e))?;
                grants.insert(UserGrant {
                    login: login.to_owned(),
                    group_id: self.group_id(id)?,
                    permission: Stored::parse(key.unwrap_or_default()),
                });
            }
            Ok(grants.into_iter().collect())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn company_grants_of(&self, customer_id: &str) -> Result<Vec<CompanyGrant>> {
        self.bounded(self.name(), async {
            // One indexed read (`group_customer_customer_id`).
            let q = Query::select()
                .exprs([
                    col("group_id"),
                    col("permission_key"),
                    col("permission_context"),
                ])
                .from(t(COMPANY_GRANT))
                .and_where(self.dialect.eq_exact(col("customer_id"), customer_id))
                .and_where(col("permission_value").eq(1))
                .to_owned();
            let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
            let mut grants = BTreeSet::new();
            for r in &rows {
                let id = read_id(r, 0).map_err(|e| self.err(e))?;
                let text = |i| -> Result<String> {
                    Ok(read_text(r, i)
                        .map_err(|e| self.err(e))?
                        .unwrap_or_default())
                };
                grants.insert(CompanyGrant {
                    customer_id: customer_id.to_owned(),
                    group_id: self.group_id(id)?,
                    permission: Stored::parse(text(1)?),
                    context: Stored::parse(text(2)?),
                });
            }
            Ok(grants.into_iter().collect())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn add_service(&self, name: &str, validity: Validity, by: &Actor) -> Result<Service> {
        self.bounded(self.name(), async {
            let by = &self.actor(by).await?;
            let id: i64 = retrying!(self, self.try_add_service(name, validity, by))?;
            Ok(Service {
                id,
                name: name.to_owned(),
                validity,
                comment: None,
            })
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn services(&self) -> Result<Vec<Service>> {
        self.bounded(self.name(), async {
            Ok(self
                .list_named(&self.conn, SERVICE)
                .await?
                .into_iter()
                .map(Service::from)
                .collect())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn set_user_service(
        &self,
        login: &str,
        service_id: i64,
        active: bool,
        by: &Actor,
    ) -> Result<()> {
        self.bounded(self.name(), async {
            let by = &self.actor(by).await?;
            retrying!(
                self,
                self.try_set_user_service(login, service_id, active, by)
            )
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn user_services(&self, login: &str) -> Result<Vec<Service>> {
        self.bounded(self.name(), async {
            let q = Query::select()
                .distinct()
                .exprs([
                    tcol(SERVICE, "id"),
                    tcol(SERVICE, "name"),
                    tcol(SERVICE, "valid_id"),
                    tcol(SERVICE, "comments"),
                ])
                .from(t(USER_SERVICE))
                .inner_join(
                    t(SERVICE),
                    tcol(SERVICE, "id").equals((t(USER_SERVICE), t("service_id"))),
                )
                .and_where(
                    self.dialect
                        .eq_exact(tcol(USER_SERVICE, "customer_user_login"), login),
                )
                .and_where(tcol(SERVICE, "valid_id").eq(1))
                .order_by_expr(tcol(SERVICE, "id"), Order::Asc)
                .to_owned();
            let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
            Ok(self
                .named_rows(&rows)?
                .into_iter()
                .map(Service::from)
                .collect())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn service_users(&self, service_id: i64) -> Result<Vec<String>> {
        self.bounded(self.name(), async {
            self.try_service_users(service_id)
                .await
                .map_err(|f| self.fail(f))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn update_group(
        &self,
        group_id: GroupId,
        changes: &CatalogChanges,
        by: &Actor,
    ) -> Result<Group> {
        self.bounded(self.name(), async {
            let by = &self.actor(by).await?;
            let id = group_column(group_id).map_err(|f| self.fail(f))?;
            let row = retrying!(self, self.try_update_group(id, changes, by))?;
            self.group(row)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn update_service(
        &self,
        service_id: i64,
        changes: &CatalogChanges,
        by: &Actor,
    ) -> Result<Service> {
        self.bounded(self.name(), async {
            let by = &self.actor(by).await?;
            retrying!(self, self.try_update_service(service_id, changes, by))
        })
        .await
    }

    async fn service_assignments(&self) -> Result<Vec<(String, i64)>> {
        self.bounded(self.name(), async {
            let q = Query::select()
                .exprs([
                    tcol(USER_SERVICE, "customer_user_login"),
                    tcol(USER_SERVICE, "service_id"),
                ])
                .from(t(USER_SERVICE))
                .to_owned();
            let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
            let mut out = BTreeSet::new();
            for r in &rows {
                let login = read_text(r, 0).map_err(|e| self.err(e))?;
                let id = read_id(r, 1).map_err(|e| self.err(e))?;
                out.insert((login.unwrap_or_default(), id));
            }
            Ok(out.into_iter().collect())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn relation_audits(&self) -> Result<Vec<(RelationRow, Audit)>> {
        self.bounded(self.name(), async {
            let text = |r: &QueryResult, i| -> Result<String> {
                Ok(read_text(r, i)
                    .map_err(|e| self.err(e))?
                    .unwrap_or_default())
            };
            let id = |r: &QueryResult, i| read_id(r, i).map_err(|e| self.err(e));
            let mut out = Vec::new();
            let groups_table = self.config.groups_table.clone();
            for r in self
                .audit_rows(&self.conn, &groups_table, &["name"], true, false)
                .await?
            {
                let row = RelationRow::Group { name: text(&r, 0)? };
                out.push((row, self.audit_at(&r, 1, true)?));
            }
            for r in self
                .audit_rows(&self.conn, SERVICE, &["name"], true, false)
                .await?
            {
                let row = RelationRow::Service { name: text(&r, 0)? };
                out.push((row, self.audit_at(&r, 1, true)?));
            }
            let key = ["user_id", "customer_id"];
            for r in self
                .audit_rows(&self.conn, USER_COMPANY, &key, true, false)
                .await?
            {
                let row = RelationRow::UserCompany {
                    login: text(&r, 0)?,
                    customer_id: text(&r, 1)?,
                };
                out.push((row, self.audit_at(&r, 2, true)?));
            }
            let key = ["user_id", "group_id", "permission_key"];
            for r in self
                .audit_rows(&self.conn, USER_GRANT, &key, true, true)
                .await?
            {
                let row = RelationRow::UserGrant {
                    login: text(&r, 0)?,
                    group_id: self.group_id(id(&r, 1)?)?,
                    permission: text(&r, 2)?,
                };
                out.push((row, self.audit_at(&r, 3, true)?));
            }
            let key = [
                "customer_id",
                "group_id",
                "permission_key",
                "permission_context",
            ];
            for r in self
                .audit_rows(&self.conn, COMPANY_GRANT, &key, true, true)
                .await?
            {
                let row = RelationRow::CompanyGrant {
                    customer_id: text(&r, 0)?,
                    group_id: self.group_id(id(&r, 1)?)?,
                    permission: text(&r, 2)?,
                    context: text(&r, 3)?,
                };
                out.push((row, self.audit_at(&r, 4, true)?));
            }
            let key = ["customer_user_login", "service_id"];
            for r in self
                .audit_rows(&self.conn, USER_SERVICE, &key, false, false)
                .await?
            {
                let row = RelationRow::UserService {
                    login: text(&r, 0)?,
                    service_id: id(&r, 1)?,
                };
                out.push((row, self.audit_at(&r, 2, false)?));
            }
            // OTOBO keeps no unique key on these tables: a row stored twice is reported once.
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out.dedup_by(|a, b| a.0 == b.0);
            Ok(out)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn restore_relation_audit(&self, row: &RelationRow, audit: &Audit) -> Result<bool> {
        self.bounded(self.name(), async {
            let target = self.audit_target(row)?;
            // An agent is recorded by id; anything else keeps what the write stored.
            let agent = |by: &Option<String>| {
                by.as_deref()
                    .and_then(|s| s.trim().parse::<i32>().ok())
                    .filter(|id| *id >= 1)
                    .map(|id| Value::Int(Some(id)))
            };
            let mut values = Vec::new();
            if let Some(at) = audit.created_at {
                values.push(("create_time", time_value(at)));
            }
            if let Some(by) = agent(&audit.created_by) {
                values.push(("create_by", by));
            }
            if target.with_change {
                if let Some(at) = audit.changed_at {
                    values.push(("change_time", time_value(at)));
                }
                if let Some(by) = agent(&audit.changed_by) {
                    values.push(("change_by", by));
                }
            }
            let key = target.key.iter().map(|(column, value)| match value {
                KeyValue::Text(text) => self.dialect.eq_exact(col(column), text),
                KeyValue::Id(id) => col(column).eq(*id),
            });
            if values.is_empty() {
                // Nothing to write: answer whether the row is there.
                let mut q = Query::select();
                q.expr(Expr::val(1)).from(t(&target.table)).limit(1);
                key.for_each(|condition| {
                    q.and_where(condition);
                });
                let found = self.conn.query_one(&q).await.map_err(|e| self.err(e))?;
                return Ok(found.is_some());
            }
            let mut update = Query::update();
            update.table(t(&target.table)).values(
                values
                    .into_iter()
                    .map(|(column, value)| (Alias::new(column), Expr::val(value))),
            );
            key.for_each(|condition| {
                update.and_where(condition);
            });
            let result = self.conn.execute(&update).await.map_err(|e| self.err(e))?;
            Ok(result.rows_affected() > 0)
        })
        .await
    }
}

/// Where one relation row's audit values live: its table, the columns and values that find it,
/// and whether the table keeps the last change (`service_customer_user` does not).
struct AuditTarget {
    table: String,
    key: Vec<(&'static str, KeyValue)>,
    with_change: bool,
}

/// A key value of a relation row: text compared exactly, or an integer id.
enum KeyValue {
    Text(String),
    Id(i64),
}

impl DbBackend {
    /// Every row of `table` (only those with `permission_value` 1 when `granted`), as the
    /// result rows of `key` followed by the audit columns.
    async fn audit_rows<C: ConnectionTrait>(
        &self,
        conn: &C,
        table: &str,
        key: &[&str],
        with_change: bool,
        granted: bool,
    ) -> Result<Vec<QueryResult>> {
        let mut q = Query::select();
        q.exprs(key.iter().map(|c| col(c)))
            .exprs([col("create_time"), col("create_by")])
            .from(t(table));
        if with_change {
            q.exprs([col("change_time"), col("change_by")]);
        }
        if granted {
            q.and_where(col("permission_value").eq(1));
        }
        conn.query_all(&q.to_owned()).await.map_err(|e| self.err(e))
    }

    /// The audit values of a row read by [`audit_rows`](Self::audit_rows), from column `at`.
    fn audit_at(&self, row: &QueryResult, at: usize, with_change: bool) -> Result<Audit> {
        let by = |i| -> Result<Option<String>> {
            Ok(read_int(row, i)
                .map_err(|e| self.err(e))?
                .map(|id| id.to_string()))
        };
        let mut audit = Audit {
            created_at: read_time(row, at).map_err(|e| self.err(e))?,
            created_by: by(at + 1)?,
            ..Audit::default()
        };
        if with_change {
            audit.changed_at = read_time(row, at + 2).map_err(|e| self.err(e))?;
            audit.changed_by = by(at + 3)?;
        }
        Ok(audit)
    }

    /// The table and key of a relation row.
    fn audit_target(&self, row: &RelationRow) -> Result<AuditTarget> {
        use KeyValue::{Id, Text};
        let target = |table: &str, key, with_change| AuditTarget {
            table: table.to_owned(),
            key,
            with_change,
        };
        let group = |id: GroupId| group_column(id).map_err(|f| self.fail(f));
        Ok(match row {
            RelationRow::Group { name } => target(
                &self.config.groups_table,
                vec![("name", Text(name.clone()))],
                true,
            ),
            RelationRow::Service { name } => {
                target(SERVICE, vec![("name", Text(name.clone()))], true)
            }
            RelationRow::UserCompany { login, customer_id } => target(
                USER_COMPANY,
                vec![
                    ("user_id", Text(login.clone())),
                    ("customer_id", Text(customer_id.clone())),
                ],
                true,
            ),
            RelationRow::UserGrant {
                login,
                group_id,
                permission,
            } => target(
                USER_GRANT,
                vec![
                    ("user_id", Text(login.clone())),
                    ("group_id", Id(group(*group_id)?)),
                    ("permission_key", Text(permission.clone())),
                ],
                true,
            ),
            RelationRow::CompanyGrant {
                customer_id,
                group_id,
                permission,
                context,
            } => target(
                COMPANY_GRANT,
                vec![
                    ("customer_id", Text(customer_id.clone())),
                    ("group_id", Id(group(*group_id)?)),
                    ("permission_key", Text(permission.clone())),
                    ("permission_context", Text(context.clone())),
                ],
                true,
            ),
            RelationRow::UserService { login, service_id } => target(
                USER_SERVICE,
                vec![
                    ("customer_user_login", Text(login.clone())),
                    ("service_id", Id(*service_id)),
                ],
                false,
            ),
            other => {
                return Err(Error::backend_failure(
                    self.name(),
                    format!("no audit values are kept for {other:?}"),
                ));
            }
        })
    }
}
