//! The audit actor as OTOBO's audit columns need it: the id of an agent in its `users` table.
//!
//! `create_by` / `change_by` reference `users(id)` on five of OTOBO's tables. Every write
//! resolves its [`Actor`] here, before it starts a transaction, so a write by someone who is no
//! agent fails at once, naming the actor, instead of on a foreign key half-way or — on
//! `customer_company`, which has no such key — not at all.

use std::collections::HashMap;
use std::sync::Mutex;

use clientele_backend::{Error, Result};
use clientele_model::actor::AgentId;
use clientele_model::{Actor, ValidationError};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbBackend as Engine, Statement};
use tokio::sync::OnceCell;

use crate::DbBackend;
use crate::sql::{Dialect, col};

/// What a backend knows of the agent table: whether it exists, and the actors found in it.
#[derive(Debug, Default)]
pub(crate) struct Agents {
    table: OnceCell<bool>,
    known: Mutex<HashMap<Actor, AgentId>>,
}

/// The field errors about the actor name.
const FIELD: &str = "by";

fn invalid(by: &Actor, reason: String) -> Error {
    ValidationError::Invalid {
        field: FIELD.into(),
        value: match by {
            Actor::System => String::new(),
            other => other.to_string(),
        },
        reason,
    }
    .into()
}

impl DbBackend {
    /// Who `by` is, as the audit columns record it.
    ///
    /// Where the database has OTOBO's agent table ([`DbConfig::agents_table`], `users`): an
    /// [`Actor::Agent`] id must be an agent there, an [`Actor::Named`] is looked up there by
    /// login (`root@localhost`), and [`Actor::System`] is [`DbConfig::system_agent_id`], which
    /// must be there too. Elsewhere: the id, or `system_agent_id`; a name is refused, since
    /// nothing could record it. Agents found are remembered for the backend's life.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the field `by` and the actor when it is no agent; a
    /// database error when the agent table cannot be read.
    ///
    /// [`DbConfig::agents_table`]: crate::DbConfig::agents_table
    /// [`DbConfig::system_agent_id`]: crate::DbConfig::system_agent_id
    pub async fn resolve_actor(&self, by: &Actor) -> Result<AgentId> {
        if let Some(id) = self
            .agents
            .known
            .lock()
            .ok()
            .and_then(|k| k.get(by).copied())
        {
            return Ok(id);
        }
        let system = AgentId::new(i64::from(self.config.system_agent_id))?;
        let table = &self.config.agents_table;
        let id = if self.has_agent_table().await? {
            let found = match by {
                Actor::System => self.agent_where(col("id").eq(system.get())).await?,
                Actor::Agent(id) => self.agent_where(col("id").eq(id.get())).await?,
                Actor::Named(login) => self.agent_where(col("login").eq(login.as_str())).await?,
            };
            found.ok_or_else(|| {
                let what = match by {
                    Actor::System => format!(
                        "the system agent (system_agent_id = {system}) is not in the {table} \
                         table; set system_agent_id to an agent's id"
                    ),
                    Actor::Agent(id) => format!(
                        "no agent has the id {id} in the {table} table; give an agent's id or \
                         login (e.g. root@localhost)"
                    ),
                    Actor::Named(_) => format!(
                        "no agent has this login in the {table} table; give an agent's id or \
                         login (e.g. root@localhost)"
                    ),
                };
                invalid(by, what)
            })?
        } else {
            match by {
                Actor::System => system,
                Actor::Agent(id) => *id,
                Actor::Named(_) => {
                    return Err(invalid(
                        by,
                        format!(
                            "not an agent id, and this database has no {table} table to look \
                             an agent login up in; give a number (the audit columns hold \
                             agent ids)"
                        ),
                    ));
                }
            }
        };
        if let Ok(mut known) = self.agents.known.lock() {
            known.insert(by.clone(), id);
        }
        Ok(id)
    }

    /// `by` resolved, as the actor the write paths record ([`Actor::Agent`]).
    pub(crate) async fn actor(&self, by: &Actor) -> Result<Actor> {
        self.resolve_actor(by).await.map(Actor::Agent)
    }

    async fn agent_where(&self, condition: Expr) -> Result<Option<AgentId>> {
        let q = Query::select()
            .expr(col("id"))
            .from(Alias::new(self.config.agents_table.as_str()))
            .and_where(condition)
            .limit(1)
            .to_owned();
        let row = self.conn.query_one(&q).await.map_err(|e| self.err(e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: i64 = match row.try_get_by_index::<i32>(0) {
            Ok(id) => i64::from(id),
            Err(_) => row.try_get_by_index::<i64>(0).map_err(|e| self.err(e))?,
        };
        Ok(AgentId::new(id).ok())
    }

    async fn has_agent_table(&self) -> Result<bool> {
        let found = self
            .agents
            .table
            .get_or_try_init(|| async {
                let name = self.config.agents_table.as_str();
                let stmt = match self.dialect {
                    Dialect::Sqlite => Statement::from_sql_and_values(
                        Engine::Sqlite,
                        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                        [name.into()],
                    ),
                    Dialect::Postgres => Statement::from_sql_and_values(
                        Engine::Postgres,
                        "SELECT 1 WHERE to_regclass($1) IS NOT NULL",
                        [name.into()],
                    ),
                    Dialect::MySql => Statement::from_sql_and_values(
                        Engine::MySql,
                        "SELECT 1 FROM information_schema.TABLES \
                         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                        [name.into()],
                    ),
                };
                let row = self
                    .conn
                    .query_one_raw(stmt)
                    .await
                    .map_err(|e| self.err(e))?;
                Ok::<bool, Error>(row.is_some())
            })
            .await?;
        Ok(*found)
    }
}
