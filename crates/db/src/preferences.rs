//! Preferences (OTOBO `CustomerUser::Preferences::DB`): key/value rows per login.

use std::collections::BTreeMap;

use async_trait::async_trait;
use clientele_backend::{PreferenceStore, Result};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Order, Query, Value};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use crate::DbBackend;
use crate::error::{Failure, is_retry, is_unique};
use crate::lock::{begin_write, lock_key};
use crate::retry::retry;
use crate::row::read_text;
use crate::sql::col;

impl DbBackend {
    fn prefs(&self) -> Alias {
        Alias::new(self.config.preferences_table.as_str())
    }

    fn pref_user(&self) -> &str {
        &self.config.preferences_user_id_column
    }

    fn pref_key(&self) -> &str {
        &self.config.preferences_key_column
    }

    fn pref_value(&self) -> &str {
        &self.config.preferences_value_column
    }

    fn pref_row(&self, login: &str, key: &str) -> Expr {
        self.dialect
            .eq_exact(col(self.pref_user()), login)
            .and(self.dialect.eq_exact(col(self.pref_key()), key))
    }

    /// Replaces the value under the lock of (login, key): two writers of one key run one after
    /// the other, so one row remains with or without a unique index.
    async fn try_set_preference(&self, login: &str, key: &str, value: &str) -> Result<(), Failure> {
        let tx = begin_write(&self.conn, self.dialect).await?;
        lock_key(&tx, self.dialect, "customer_preferences", &[login, key]).await?;
        let delete = Query::delete()
            .from_table(self.prefs())
            .and_where(self.pref_row(login, key))
            .to_owned();
        tx.execute(&delete).await?;
        let mut insert = Query::insert();
        insert.into_table(self.prefs()).columns([
            Alias::new(self.pref_user()),
            Alias::new(self.pref_key()),
            Alias::new(self.pref_value()),
        ]);
        insert
            .values([
                Expr::val(Value::String(Some(login.to_owned()))),
                Expr::val(Value::String(Some(key.to_owned()))),
                Expr::val(Value::String(Some(value.to_owned()))),
            ])
            .map_err(|e| clientele_backend::Error::backend_failure(self.name(), e))?;
        tx.execute(&insert).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn try_rename_preferences(&self, old: &str, new: &str) -> Result<(), Failure> {
        let tx = begin_write(&self.conn, self.dialect).await?;
        self.rename_preferences_in(&tx, old, new).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves the preferences of `old` to `new` inside `tx`.
    pub(crate) async fn rename_preferences_in(
        &self,
        tx: &DatabaseTransaction,
        old: &str,
        new: &str,
    ) -> Result<(), Failure> {
        let q = Query::select()
            .expr(col(self.pref_key()))
            .from(self.prefs())
            .and_where(self.dialect.eq_exact(col(self.pref_user()), old))
            .to_owned();
        // The old login's values win over values the new login already has.
        for row in &tx.query_all(&q).await? {
            let key = read_text(row, 0)?.unwrap_or_default();
            let delete = Query::delete()
                .from_table(self.prefs())
                .and_where(self.pref_row(new, &key))
                .to_owned();
            tx.execute(&delete).await?;
        }
        let update = Query::update()
            .table(self.prefs())
            .value(Alias::new(self.pref_user()), new)
            .and_where(self.dialect.eq_exact(col(self.pref_user()), old))
            .to_owned();
        tx.execute(&update).await?;
        Ok(())
    }
}

#[async_trait]
impl PreferenceStore for DbBackend {
    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn preferences(&self, login: &str) -> Result<BTreeMap<String, String>> {
        self.bounded(self.name(), async {
            let q = Query::select()
                .exprs([col(self.pref_key()), col(self.pref_value())])
                .from(self.prefs())
                .and_where(self.dialect.eq_exact(col(self.pref_user()), login))
                .to_owned();
            let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
            let mut out = BTreeMap::new();
            for r in &rows {
                let key = read_text(r, 0)
                    .map_err(|e| self.err(e))?
                    .unwrap_or_default();
                let value = read_text(r, 1)
                    .map_err(|e| self.err(e))?
                    .unwrap_or_default();
                out.insert(key, value);
            }
            Ok(out)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn set_preference(&self, login: &str, key: &str, value: &str) -> Result<()> {
        self.bounded(self.name(), async {
            // Two writers of the same key: the unique index refused the second insert; running
            // again replaces the first writer's value.
            retry(
                |f| is_retry(f) || is_unique(f),
                || self.try_set_preference(login, key, value),
            )
            .await
            .map_err(|f| self.fail(f))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn delete_preference(&self, login: &str, key: &str) -> Result<()> {
        self.bounded(self.name(), async {
            let delete = Query::delete()
                .from_table(self.prefs())
                .and_where(self.pref_row(login, key))
                .to_owned();
            self.conn.execute(&delete).await.map_err(|e| self.err(e))?;
            Ok(())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn search_preferences(
        &self,
        key: &str,
        value: Option<&str>,
    ) -> Result<Vec<(String, String)>> {
        self.bounded(self.name(), async {
            let mut q = Query::select();
            q.exprs([col(self.pref_user()), col(self.pref_value())])
                .from(self.prefs())
                .and_where(self.dialect.eq_exact(col(self.pref_key()), key));
            if let Some(v) = value {
                q.and_where(self.dialect.eq_exact(col(self.pref_value()), v));
            }
            q.order_by_expr(self.dialect.sort_key(col(self.pref_user())), Order::Asc);
            let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
            rows.iter()
                .map(|r| {
                    Ok((
                        read_text(r, 0)
                            .map_err(|e| self.err(e))?
                            .unwrap_or_default(),
                        read_text(r, 1)
                            .map_err(|e| self.err(e))?
                            .unwrap_or_default(),
                    ))
                })
                .collect()
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn rename_preferences(&self, old: &str, new: &str) -> Result<()> {
        self.bounded(self.name(), async {
            if old == new {
                return Ok(());
            }
            retry(is_retry, || self.try_rename_preferences(old, new))
                .await
                .map_err(|f| self.fail(f))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn take_preference(&self, login: &str, key: &str, expected: &str) -> Result<bool> {
        self.bounded(self.name(), async {
            // One statement: of two concurrent takers only one deletes the row.
            let delete = Query::delete()
                .from_table(self.prefs())
                .and_where(self.pref_row(login, key))
                .and_where(self.dialect.eq_exact(col(self.pref_value()), expected))
                .to_owned();
            let result = self.conn.execute(&delete).await.map_err(|e| self.err(e))?;
            Ok(result.rows_affected() > 0)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn preferences_after(
        &self,
        after: Option<(&str, &str)>,
        limit: usize,
    ) -> Result<Vec<(String, String, String)>> {
        use sea_orm::sea_query::{ExprTrait, Order};
        self.bounded(self.name(), async {
            if limit == 0 {
                return Ok(Vec::new());
            }
            // Code-point order of (login, key) on every database, the memory store's order.
            let user = self.dialect.sort_key(col(self.pref_user()));
            let key = self.dialect.sort_key(col(self.pref_key()));
            let mut q = Query::select()
                .exprs([
                    col(self.pref_user()),
                    col(self.pref_key()),
                    col(self.pref_value()),
                ])
                .from(self.prefs())
                .to_owned();
            if let Some((login, k)) = after {
                q.and_where(
                    user.clone()
                        .gt(login)
                        .or(user.clone().eq(login).and(key.clone().gt(k))),
                );
            }
            q.order_by_expr(user, Order::Asc)
                .order_by_expr(key, Order::Asc);
            crate::sql::limit(&mut q, limit);
            let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let text = |i| {
                    read_text(r, i)
                        .map(Option::unwrap_or_default)
                        .map_err(|e| self.err(e))
                };
                out.push((text(0)?, text(1)?, text(2)?));
            }
            Ok(out)
        })
        .await
    }
}
