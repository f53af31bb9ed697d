//! Customer companies (OTOBO `CustomerCompany::DB`).

use async_trait::async_trait;
use clientele_backend::{CompanySettings, CompanyStore, Entity, Error, Result};
use clientele_model::search::CompanyQuery;
use clientele_model::{Actor, CustomerCompany, keys};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, SelectStatement, Value};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use crate::error::{Failure, is_retry, is_unique};
use crate::lock::{begin_write, lock_key};
use crate::retry::retry;
use crate::row::{AUDIT_COLUMNS, Cell, Layout, company, exact_or_only, time_value};
use crate::search::{columns_of, compile};
use crate::sql::{Dialect, col};
use crate::{DbBackend, agent_id, new_audit_cells, now_epoch};

/// A stored company a write starts from, read in the write's transaction.
struct StoredCompany {
    /// Its key as stored.
    id: String,
    /// Every column of the layout, for the update to write only what it changes.
    stored: Vec<Option<Cell>>,
}

impl DbBackend {
    fn company_layout(&self) -> Layout {
        Layout::new(
            &self.config.company_settings.map,
            !self.config.company_foreign_db,
        )
    }

    fn company_table(&self) -> Alias {
        Alias::new(self.config.company_table.as_str())
    }

    fn company_matches(&self, customer_id: &str) -> Expr {
        self.dialect.key_equals(
            col(&self.config.company_key),
            customer_id,
            !self.config.company_settings.case_sensitive,
        )
    }

    fn select_companies(&self, layout: &Layout) -> SelectStatement {
        let mut q = Query::select();
        layout.select(&mut q);
        q.from(self.company_table());
        q
    }

    fn company_exists(&self, field: &str, value: &str) -> Failure {
        Failure::Api(Error::AlreadyExists {
            entity: Entity::Company,
            field: field.into(),
            value: value.into(),
            backend: Some(self.company_name().to_owned()),
        })
    }

    fn refuse_company_read_only(&self) -> Result<()> {
        if self.config.company_settings.read_only {
            return Err(Error::ReadOnly {
                backend: self.company_name().to_owned(),
            });
        }
        Ok(())
    }

    /// An [`Error::Ambiguous`] for the customer id `wanted`, which matched the stored `ids`.
    fn ambiguous_company(&self, wanted: &str, ids: Vec<String>) -> Error {
        crate::ambiguous(
            Entity::Company,
            keys::COMPANY_ID,
            wanted,
            ids,
            self.company_name(),
        )
    }

    /// Every stored company whose key matches `customer_id` by the company case rule, with all
    /// its layout columns, read inside `tx` and locked for the rest of it where the database has
    /// row locks.
    async fn companies_matching(
        &self,
        tx: &DatabaseTransaction,
        layout: &Layout,
        customer_id: &str,
    ) -> Result<Vec<StoredCompany>, Failure> {
        let mut q = Query::select();
        q.expr(col(&self.config.company_key));
        for c in &layout.columns {
            q.expr(col(&c.name));
        }
        // No limit: every case variant is needed to tell an exact match from an ambiguity.
        q.from(self.company_table())
            .and_where(self.company_matches(customer_id));
        if self.dialect != Dialect::Sqlite {
            q.lock_exclusive();
        }
        let rows = tx.query_all(&q).await?;
        let mut found = Vec::with_capacity(rows.len());
        for r in &rows {
            found.push(StoredCompany {
                id: crate::row::read_text(r, 0)?.unwrap_or_default(),
                stored: layout.stored(r, 1)?,
            });
        }
        Ok(found)
    }

    /// Another company (not `except`) has this name. Names compare exactly (OTOBO's unique index
    /// on `name`; on MySQL the collation may make it stricter).
    async fn company_name_taken(
        &self,
        tx: &DatabaseTransaction,
        name: &str,
        except: Option<&str>,
    ) -> Result<bool, Failure> {
        let Some(name_col) = self
            .config
            .company_settings
            .map
            .storage_of(keys::COMPANY_NAME)
        else {
            return Ok(false);
        };
        let q = Query::select()
            .expr(col(&self.config.company_key))
            .from(self.company_table())
            .and_where(self.dialect.eq_exact(col(name_col), name))
            .limit(2)
            .to_owned();
        for r in &tx.query_all(&q).await? {
            let id = crate::row::read_text(r, 0)?.unwrap_or_default();
            if Some(id.as_str()) != except {
                return Ok(true);
            }
        }
        Ok(false)
    }

    async fn try_add_company(&self, c: &CustomerCompany, by: &Actor) -> Result<(), Failure> {
        let layout = self.company_layout();
        let tx = begin_write(&self.conn, self.dialect).await?;
        // On PostgreSQL, whose key compares exactly, adds of one company id (case-folded) run
        // one after the other, so the check below holds without Clientele's case-insensitive
        // index (beside OTOBO); MySQL/MariaDB's key compares case-insensitively by itself, and
        // SQLite's writers run one after another.
        if self.dialect == Dialect::Postgres {
            lock_key(
                &tx,
                self.dialect,
                "customer_company.customer_id",
                &[c.customer_id.as_str()],
            )
            .await?;
        }
        if !self
            .companies_matching(&tx, &layout, c.customer_id.as_str())
            .await?
            .is_empty()
        {
            return Err(self.company_exists(keys::COMPANY_ID, c.customer_id.as_str()));
        }
        if self.company_name_taken(&tx, &c.name, None).await? {
            return Err(self.company_exists(keys::COMPANY_NAME, &c.name));
        }
        let mut values = layout.insert_values(|k| c.attribute(k))?;
        if layout.audit {
            let cells = new_audit_cells(&c.audit, now_epoch(), agent_id(by));
            values.extend(AUDIT_COLUMNS.iter().map(|c| (*c).into()).zip(cells));
        }
        let mut insert = Query::insert();
        insert
            .into_table(self.company_table())
            .columns(values.iter().map(|(c, _)| Alias::new(c.as_str())));
        insert
            .values(values.into_iter().map(|(_, v)| Expr::val(v)))
            .map_err(|e| Error::backend_failure(self.company_name(), e))?;
        tx.execute(&insert).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn try_update_company(&self, c: &CustomerCompany, by: &Actor) -> Result<(), Failure> {
        let layout = self.company_layout();
        let tx = begin_write(&self.conn, self.dialect).await?;
        let wanted = c.customer_id.as_str();
        let found = self.companies_matching(&tx, &layout, wanted).await?;
        let Some(current) = exact_or_only(found, |s| s.id.as_str(), wanted)
            .map_err(|ids| Failure::Api(self.ambiguous_company(wanted, ids)))?
        else {
            return Err(Failure::Api(Error::NotFound {
                entity: Entity::Company,
                key: c.customer_id.to_string(),
            }));
        };
        if self
            .company_name_taken(&tx, &c.name, Some(&current.id))
            .await?
        {
            return Err(self.company_exists(keys::COMPANY_NAME, &c.name));
        }
        // Only what differs from the row just read (OTOBO's `CustomerCompanyUpdate` writes every
        // column, read-only ones included; the columns left alone here keep their bytes).
        let changes = layout.changed_values(|k| c.attribute(k), &current.stored, false)?;
        let mut update = Query::update();
        update.table(self.company_table());
        let mut touched = layout.audit;
        for (column, v) in changes {
            // The key identifies the row; it is not rewritten.
            if column != self.config.company_key {
                update.value(Alias::new(column), v);
                touched = true;
            }
        }
        if layout.audit {
            update.value(Alias::new("change_time"), time_value(now_epoch()));
            update.value(Alias::new("change_by"), Value::Int(Some(agent_id(by))));
        }
        update.and_where(
            self.dialect
                .eq_exact(col(&self.config.company_key), &current.id),
        );
        if touched {
            tx.execute(&update).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Which field a unique-index refusal was about: the id when a company with it exists now.
    async fn company_conflict(&self, c: &CustomerCompany) -> Error {
        match self.company(c.customer_id.as_str()).await {
            Ok(Some(_)) => {
                self.company_fail(self.company_exists(keys::COMPANY_ID, c.customer_id.as_str()))
            }
            Ok(None) => self.company_fail(self.company_exists(keys::COMPANY_NAME, &c.name)),
            Err(e) => e,
        }
    }
}

#[async_trait]
impl CompanyStore for DbBackend {
    fn settings(&self) -> &CompanySettings {
        &self.config.company_settings
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.company_settings.name))]
    async fn company(&self, customer_id: &str) -> Result<Option<CustomerCompany>> {
        self.bounded(self.company_name(), async {
            let layout = self.company_layout();
            // No limit: every case variant is needed to tell an exact match from an ambiguity.
            let mut q = self.select_companies(&layout);
            q.and_where(self.company_matches(customer_id));
            let rows = self
                .conn
                .query_all(&q)
                .await
                .map_err(|e| self.company_err(e))?;
            let found = rows
                .iter()
                .map(|r| company(&layout, r).map_err(|f| self.company_fail(f)))
                .collect::<Result<Vec<_>>>()?;
            exact_or_only(found, |c| c.customer_id.as_str(), customer_id)
                .map_err(|ids| self.ambiguous_company(customer_id, ids))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.company_settings.name))]
    async fn search_companies(&self, query: &CompanyQuery) -> Result<Vec<CustomerCompany>> {
        self.bounded(self.company_name(), async {
            if query.limit == 0 {
                return Ok(Vec::new());
            }
            let s = &self.config.company_settings;
            let layout = self.company_layout();
            let mut q = self.select_companies(&layout);
            if let Some(expr) = &query.expr {
                let fields = columns_of(&s.map, &s.search_fields);
                q.and_where(compile(self.dialect, expr, &fields, !query.case_sensitive));
            }
            if let (true, Some(v)) = (query.valid_only, self.config.company_valid_column()) {
                q.and_where(col(v).is_in([1]));
            }
            q.order_by_expr(
                self.dialect.sort_key(col(&self.config.company_key)),
                Order::Asc,
            );
            crate::sql::limit(&mut q, query.limit);
            let rows = self
                .conn
                .query_all(&q)
                .await
                .map_err(|e| self.company_err(e))?;
            rows.iter()
                .map(|r| company(&layout, r).map_err(|f| self.company_fail(f)))
                .collect()
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.company_settings.name))]
    async fn add_company(&self, c: &CustomerCompany, by: &Actor) -> Result<()> {
        self.bounded(self.company_name(), async {
            self.refuse_company_read_only()?;
            let by = &self.actor(by).await?;
            match retry(is_retry, || self.try_add_company(c, by)).await {
                Ok(()) => Ok(()),
                Err(f) if is_unique(&f) => Err(self.company_conflict(c).await),
                Err(f) => Err(self.company_fail(f)),
            }
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.company_settings.name))]
    async fn update_company(&self, c: &CustomerCompany, by: &Actor) -> Result<()> {
        self.bounded(self.company_name(), async {
            self.refuse_company_read_only()?;
            let by = &self.actor(by).await?;
            match retry(is_retry, || self.try_update_company(c, by)).await {
                Ok(()) => Ok(()),
                Err(f) if is_unique(&f) => {
                    Err(self.company_fail(self.company_exists(keys::COMPANY_NAME, &c.name)))
                }
                Err(f) => Err(self.company_fail(f)),
            }
        })
        .await
    }
}
