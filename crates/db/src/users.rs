//! Customer users: lookup, search, writes and password hashes.

use std::collections::HashMap;

use async_trait::async_trait;
use clientele_backend::{
    CustomerUserSource, CustomerUserWriter, Entity, Error, Expected, ListedUser, PasswordStore,
    Result, SourceSettings,
};
use clientele_model::search::{
    DetailSearch, Expr as Term, FieldSet, Pattern, UserQuery, sort_by_login,
};
use clientele_model::{Actor, CustomerId, CustomerUser, Login, keys};
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait, Func, MysqlQueryBuilder, Query, SelectStatement, Value,
};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend as Engine, QueryResult, Statement};

use crate::dynamic_fields::Desired;
use crate::error::{Failure, is_retry, is_unique};
use crate::lock::{begin_write, email_lock, lock_all, login_lock};
use crate::retry::retry;
use crate::row::{AUDIT_COLUMNS, Cell, Layout, exact_or_only, read_text, read_time, time_value};
use crate::search::{Matcher, UserTable, columns_of, compile, from_fts, mysql_prefix_union};
use crate::sql::{Dialect, any, col, tcol};
use crate::{DbBackend, agent_id, new_audit_cells, now_epoch};

/// Logins per statement of `get_many`: as many values as a statement binds one by one
/// ([`IN_LIST_MAX`](crate::sql::IN_LIST_MAX)); with MySQL's second list twice that, well below
/// every database's limit on bound values (SQLite's 32 766 the lowest).
const GET_MANY_CHUNK: usize = crate::sql::IN_LIST_MAX;

/// What an update does to dynamic fields, settled before its transaction.
struct DynamicWrite {
    /// The database has `dynamic_field_obj_id_name`: a rename moves the user's object name
    /// there (OTOBO's values of the login, whatever this map holds).
    objects: bool,
    /// The values to store, when the map has dynamic-field rows.
    desired: Option<Desired>,
}

/// The stored state of a user a write starts from, read in the write's transaction.
struct Current {
    login: String,
    email: Option<String>,
    changed_at: Option<i64>,
    /// Every column of the layout, for the update to write only what it changes.
    stored: Vec<Option<Cell>>,
}

impl DbBackend {
    /// Runs a user write transaction, again on deadlock or serialization failure; a unique
    /// violation means the database's own index refused `login`, which another writer just took.
    async fn write_user<F, Fut>(&self, login: &Login, write: F) -> Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(), Failure>>,
    {
        match retry(is_retry, write).await {
            Ok(()) => Ok(()),
            Err(f) if is_unique(&f) => {
                Err(self.fail(self.exists(Entity::CustomerUser, keys::LOGIN, login.as_str())))
            }
            Err(f) => Err(self.fail(f)),
        }
    }

    fn table(&self) -> Alias {
        Alias::new(self.config.table.as_str())
    }

    fn user_table(&self) -> UserTable<'_> {
        UserTable {
            map: &self.config.settings.map,
            key: &self.config.customer_key,
            customer_id: &self.config.customer_id_column,
            valid: self.config.customer_valid_column(),
        }
    }

    /// `login` compared by the source's case rule.
    fn login_matches(&self, login: &str) -> Expr {
        self.dialect.key_equals(
            col(&self.config.customer_key),
            login,
            !self.config.settings.case_sensitive,
        )
    }

    fn select_users(&self) -> SelectStatement {
        let mut q = Query::select();
        self.users.layout.select(&mut q);
        q.from(self.table());
        q
    }

    /// An [`Error::Ambiguous`] for the login `wanted`, which matched the stored `logins`.
    fn ambiguous_login(&self, wanted: &str, logins: Vec<String>) -> Error {
        crate::ambiguous(
            Entity::CustomerUser,
            keys::LOGIN,
            wanted,
            logins,
            self.name(),
        )
    }

    /// The stored row of the user `login` matches (the exact case, else the only
    /// case-insensitive match, else [`Error::Ambiguous`]), read inside `tx` and locked for the
    /// rest of it where the database has row locks.
    async fn current(
        &self,
        tx: &DatabaseTransaction,
        login: &str,
    ) -> Result<Option<Current>, Failure> {
        let email_col = self
            .config
            .settings
            .map
            .storage_of(keys::EMAIL)
            .map(str::to_owned);
        let mut q = Query::select();
        q.expr(col(&self.config.customer_key));
        q.expr(match &email_col {
            Some(c) => col(c),
            None => Expr::cust("NULL"),
        });
        let layout = &self.users.layout;
        if layout.audit {
            q.expr(col("change_time"));
        }
        let offset = if layout.audit { 3 } else { 2 };
        for c in &layout.columns {
            q.expr(col(&c.name));
        }
        // No limit: every case variant is needed to tell an exact match from an ambiguity.
        q.from(self.table()).and_where(self.login_matches(login));
        if self.dialect != Dialect::Sqlite {
            q.lock_exclusive();
        }
        let rows = tx.query_all(&q).await?;
        let mut found: Vec<Current> = Vec::new();
        for r in &rows {
            found.push(Current {
                login: read_text(r, 0)?.unwrap_or_default(),
                email: read_text(r, 1)?,
                changed_at: if layout.audit { read_time(r, 2)? } else { None },
                stored: layout.stored(r, offset)?,
            });
        }
        exact_or_only(found, |c| c.login.as_str(), login)
            .map_err(|logins| Failure::Api(self.ambiguous_login(login, logins)))
    }

    /// Another user (not `except`, a stored login) has this email in a postmaster field
    /// (case-insensitive, invalid users included, as OTOBO checks).
    async fn email_taken(
        &self,
        tx: &DatabaseTransaction,
        email: &str,
        except: Option<&str>,
    ) -> Result<bool, Failure> {
        let s = &self.config.settings;
        let fields = columns_of(&s.map, &s.postmaster_fields);
        if fields.is_empty() {
            return Ok(false);
        }
        let condition = any(fields
            .iter()
            .map(|f| self.dialect.key_equals(col(&f.name), email, true))
            .collect());
        let q = Query::select()
            .expr(col(&self.config.customer_key))
            .from(self.table())
            .and_where(condition)
            .limit(2)
            .to_owned();
        let rows = tx.query_all(&q).await?;
        for r in &rows {
            let login = read_text(r, 0)?.unwrap_or_default();
            if Some(login.as_str()) != except {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Another row (not `except`, a stored login) has this login by the case rule.
    async fn login_taken(
        &self,
        tx: &DatabaseTransaction,
        login: &str,
        except: Option<&str>,
    ) -> Result<bool, Failure> {
        let q = Query::select()
            .expr(col(&self.config.customer_key))
            .from(self.table())
            .and_where(
                self.dialect
                    .key_equals(col(&self.config.customer_key), login, true),
            )
            .limit(2)
            .to_owned();
        let rows = tx.query_all(&q).await?;
        for r in &rows {
            let stored = read_text(r, 0)?.unwrap_or_default();
            if Some(stored.as_str()) != except {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn exists(&self, entity: Entity, field: &str, value: &str) -> Failure {
        Failure::Api(Error::AlreadyExists {
            entity,
            field: field.into(),
            value: value.into(),
            backend: Some(self.name().to_owned()),
        })
    }

    fn refuse_read_only(&self) -> Result<()> {
        if self.config.settings.read_only {
            return Err(Error::ReadOnly {
                backend: self.name().to_owned(),
            });
        }
        Ok(())
    }

    async fn try_add(
        &self,
        user: &CustomerUser,
        password_hash: Option<&str>,
        by: &Actor,
        dynamic: Option<&Desired>,
    ) -> Result<(), Failure> {
        let tx = begin_write(&self.conn, self.dialect).await?;
        // Adds of one login (and of one address) run one after the other, so the checks below
        // hold without a unique index.
        let mut locks: Vec<_> = login_lock(self.dialect, user.login.as_str())
            .into_iter()
            .collect();
        if self.config.settings.email_unique_check {
            locks.push(email_lock(user.email.as_str()));
        }
        lock_all(&tx, self.dialect, &locks).await?;
        if self.config.settings.email_unique_check
            && self.email_taken(&tx, user.email.as_str(), None).await?
        {
            return Err(self.exists(Entity::CustomerUser, keys::EMAIL, user.email.as_str()));
        }
        if self.login_taken(&tx, user.login.as_str(), None).await? {
            return Err(self.exists(Entity::CustomerUser, keys::LOGIN, user.login.as_str()));
        }
        let mut values = self.users.layout.insert_values(|k| user.attribute(k))?;
        if let (Some(pw), Some(hash)) = (&self.users.password, password_hash) {
            values.push((pw.clone(), Value::String(Some(hash.to_owned()))));
        }
        if self.users.layout.audit {
            let cells = new_audit_cells(&user.audit, now_epoch(), agent_id(by));
            values.extend(AUDIT_COLUMNS.iter().map(|c| (*c).into()).zip(cells));
        }
        let mut insert = Query::insert();
        insert
            .into_table(self.table())
            .columns(values.iter().map(|(c, _)| Alias::new(c.as_str())));
        insert
            .values(values.into_iter().map(|(_, v)| Expr::val(v)))
            .map_err(|e| Error::backend_failure(self.name(), e))?;
        tx.execute(&insert).await?;
        if let Some(desired) = dynamic {
            self.write_values(&tx, user.login.as_str(), desired).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn try_update(
        &self,
        login: &Login,
        user: &CustomerUser,
        expected: Expected,
        by: &Actor,
        move_related: bool,
        dynamic: &DynamicWrite,
    ) -> Result<(), Failure> {
        let tx = begin_write(&self.conn, self.dialect).await?;
        let Some(current) = self.current(&tx, login.as_str()).await? else {
            return Err(Failure::Api(Error::user_not_found(login.as_str())));
        };
        if let Expected::ChangedAt(at) = expected
            && current.changed_at != at
        {
            return Err(Failure::Api(Error::Conflict {
                login: login.to_string(),
            }));
        }
        let email_changed = !current
            .email
            .as_deref()
            .is_some_and(|e| user.email.eq_ignore_case(e));
        let check_email = self.config.settings.email_unique_check && email_changed;
        let mut locks = Vec::new();
        if check_email {
            locks.push(email_lock(user.email.as_str()));
        }
        if user.login.as_str() != current.login {
            locks.extend(login_lock(self.dialect, user.login.as_str()));
        }
        lock_all(&tx, self.dialect, &locks).await?;
        if check_email
            && self
                .email_taken(&tx, user.email.as_str(), Some(&current.login))
                .await?
        {
            return Err(self.exists(Entity::CustomerUser, keys::EMAIL, user.email.as_str()));
        }
        if user.login.as_str() != current.login
            && self
                .login_taken(&tx, user.login.as_str(), Some(&current.login))
                .await?
        {
            return Err(self.exists(Entity::CustomerUser, keys::LOGIN, user.login.as_str()));
        }
        // Only what differs from the row just read: the columns this update leaves alone keep
        // their bytes, whoever wrote them (OTOBO's `''` stays `''`).
        let changes =
            self.users
                .layout
                .changed_values(|k| user.attribute(k), &current.stored, true)?;
        let mut update = Query::update();
        update.table(self.table());
        let touched = !changes.is_empty() || self.users.layout.audit;
        for (c, v) in changes {
            update.value(Alias::new(c), v);
        }
        if self.users.layout.audit {
            // Strictly later than the stored time, so a version read before this write never
            // matches again even within the same second.
            let at = Ord::max(now_epoch(), current.changed_at.unwrap_or(0) + 1);
            update.value(Alias::new("change_time"), time_value(at));
            update.value(Alias::new("change_by"), Value::Int(Some(agent_id(by))));
        }
        update.and_where(
            self.dialect
                .eq_exact(col(&self.config.customer_key), &current.login),
        );
        if touched {
            tx.execute(&update).await?;
        }
        if dynamic.objects && user.login.as_str() != current.login {
            self.rename_values(&tx, &current.login, user.login.as_str())
                .await?;
        }
        if let Some(desired) = &dynamic.desired {
            self.write_values(&tx, user.login.as_str(), desired).await?;
        }
        if move_related && user.login.as_str() != current.login {
            self.rename_relations_in(&tx, &current.login, user.login.as_str())
                .await?;
            self.rename_preferences_in(&tx, &current.login, user.login.as_str())
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn dynamic_write(&self, user: &CustomerUser) -> Result<DynamicWrite> {
        Ok(DynamicWrite {
            objects: self.object_table_exists().await,
            desired: self.desired_values(user).await?,
        })
    }

    fn users_from(&self, rows: &[QueryResult]) -> Result<Vec<CustomerUser>> {
        rows.iter()
            .map(|r| self.users.user(r).map_err(|f| self.fail(f)))
            .collect()
    }

    /// One statement of [`get_many`](CustomerUserSource::get_many): for each of `logins` (at
    /// most [`GET_MANY_CHUNK`], all different and none empty), the stored rows that `get`'s
    /// condition would find for it. `None` when a row the statement found cannot be handed to
    /// a login by `get`'s rule (a collation that folds case unlike Rust): the caller then asks
    /// `get` for each login.
    ///
    /// The rows are handed out by the key the database computes, so by its own rule: with case
    /// counting, the stored login; else on PostgreSQL and MySQL its `LOWER()`, compared with
    /// the logins' lower case; on SQLite, whose `LOWER()` folds ASCII only, the ASCII lower case
    /// for an ASCII login and, for any other, the same regular expression its `REGEXP` ran.
    async fn matched_rows(&self, logins: &[&str]) -> Result<Option<Vec<Vec<CustomerUser>>>> {
        let key = col(&self.config.customer_key);
        let case_insensitive = !self.config.settings.case_sensitive;
        let sqlite_folding = case_insensitive && self.dialect == Dialect::Sqlite;
        // Login position by the key its rows carry.
        let mut by_key: HashMap<String, Vec<usize>> = HashMap::with_capacity(logins.len());
        // SQLite: the logins other than ASCII, matched by regular expression.
        let mut other: Vec<usize> = Vec::new();
        for (i, login) in logins.iter().enumerate() {
            let k = if !case_insensitive {
                (*login).to_owned()
            } else if !sqlite_folding {
                login.to_lowercase()
            } else if login.is_ascii() {
                login.to_ascii_lowercase()
            } else {
                other.push(i);
                continue;
            };
            by_key.entry(k).or_default().push(i);
        }
        let mut q = self.select_users();
        q.expr(if case_insensitive && !sqlite_folding {
            Expr::expr(Func::lower(key.clone()))
        } else {
            key.clone()
        });
        let owned: Vec<String> = logins.iter().map(|l| (*l).to_owned()).collect();
        let condition = if !case_insensitive {
            self.dialect.in_exact(key.clone(), &owned)
        } else if sqlite_folding {
            // `LOWER(login) IN (…)` (the `lower(login)` index serves it) for the ASCII
            // logins, one `REGEXP` for the others.
            self.folded_in(key.clone(), &owned)
        } else {
            self.dialect.in_folded(key.clone(), &owned)
        };
        q.and_where(condition);
        if self.dialect == Dialect::MySql {
            // As `get`: the column's own (case-insensitive) index narrows the rows first.
            q.and_where(key.is_in(logins.iter().copied()));
        }
        let patterns = other
            .iter()
            .map(|&i| crate::sql::regex_pattern(&Pattern::exact(logins[i]), true));
        let Ok(regexes) = regex::RegexSet::new(patterns) else {
            return Ok(None);
        };
        let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
        let layout = &self.users.layout;
        let at = layout.columns.len() + if layout.audit { AUDIT_COLUMNS.len() } else { 0 };
        let mut users = Vec::with_capacity(rows.len());
        let mut owners: Vec<Vec<usize>> = Vec::with_capacity(rows.len());
        for r in &rows {
            let stored = read_text(r, at)
                .map_err(|e| self.err(e))?
                .unwrap_or_default();
            let folded = if sqlite_folding {
                stored.to_ascii_lowercase()
            } else {
                stored.clone()
            };
            let mut mine: Vec<usize> = by_key.get(&folded).cloned().unwrap_or_default();
            if !other.is_empty() {
                mine.extend(regexes.matches(&stored).iter().map(|m| other[m]));
            }
            if mine.is_empty() {
                return Ok(None);
            }
            users.push(self.users.user(r).map_err(|f| self.fail(f))?);
            owners.push(mine);
        }
        self.attach_values(&mut users).await?;
        let mut found: Vec<Vec<CustomerUser>> = (0..logins.len()).map(|_| Vec::new()).collect();
        for (user, mine) in users.into_iter().zip(owners) {
            if let Some((&last, rest)) = mine.split_last() {
                for &i in rest {
                    found[i].push(user.clone());
                }
                found[last].push(user);
            }
        }
        Ok(Some(found))
    }

    /// MySQL: `SELECT <layout columns> FROM (<ids>) AS clientele_hits JOIN <table> ON id …`:
    /// the records of the hits whose ids the statement `ids` (which applies the limit) selects,
    /// read by primary key.
    fn records_of(&self, ids: &str, layout: &Layout) -> String {
        let quote = |name: &str| format!("`{}`", name.replace('`', "``"));
        let table = quote(&self.config.table);
        let mut columns: Vec<String> = layout
            .columns
            .iter()
            .map(|c| format!("{table}.{}", quote(&c.name)))
            .collect();
        if layout.audit {
            columns.extend(
                crate::row::AUDIT_COLUMNS
                    .iter()
                    .map(|a| format!("{table}.{}", quote(a))),
            );
        }
        format!(
            "SELECT {} FROM ({ids}) AS clientele_hits JOIN {table} ON {table}.`id` = \
             clientele_hits.`id`",
            columns.join(", ")
        )
    }

    /// The rows a search finds, each holding `layout`'s columns, in no particular order. Shared
    /// by `search` (whole records) and `search_list` (list fields only), which sort the result
    /// by login.
    ///
    /// The statement is `SELECT … WHERE … LIMIT n` and nothing more: the database stops at the
    /// first `n` matches of the cheapest plan (a trigram or prefix index, or a sequential scan
    /// that ends early). Sorting in the statement (`ORDER BY login LIMIT n`) would make
    /// PostgreSQL walk the login index testing row after row, or fetch and sort every match; on
    /// a million users a common term (`*ann*`) or a prefix (`smi*`) took 4–6× as long as
    /// OTOBO's unordered statement. The at most `n` rows are sorted afterwards, in code-point
    /// order of the login, which is what `COLLATE "C"`, MySQL's binary comparison and SQLite's
    /// `BINARY` would give, without a sort step on the server. When fewer than `n` users
    /// match, the result is the same as with the sort in the statement; when more match, which
    /// `n` are returned is the database's choice, as in OTOBO.
    async fn search_rows(&self, query: &UserQuery, layout: &Layout) -> Result<Vec<QueryResult>> {
        if query.limit == 0 {
            return Ok(Vec::new());
        }
        let table = self.user_table();
        let fields = table.fields(query.fields, &self.config.settings);
        let indexes = self.search_indexes().await?;
        let matcher = Matcher {
            d: self.dialect,
            fields: &fields,
            case_insensitive: !query.case_sensitive,
            indexes: &indexes,
        };
        let valid = table.valid_filter(self.dialect, query.valid_only);
        if self.dialect == Dialect::MySql && indexes.has_id {
            // The ids of the hits first (InnoDB copies every selected column of every row
            // it reads), their records afterwards.
            let (ids, values) = match mysql_prefix_union(
                &matcher,
                &query.expr,
                &self.config.table,
                valid.clone(),
                query.limit,
            ) {
                Some(union) => union,
                None => {
                    let mut q = Query::select();
                    q.expr(tcol(&self.config.table, "id"));
                    // A substring word reads its candidates from the trigram index first.
                    match crate::trigram::driver(&matcher, &query.expr) {
                        Some(driver) => {
                            crate::trigram::from_trigrams(&mut q, &self.config.table, driver)
                        }
                        None => {
                            q.from(self.table());
                        }
                    }
                    q.and_where(matcher.condition(&query.expr));
                    if let Some(v) = valid {
                        q.and_where(v);
                    }
                    crate::sql::limit(&mut q, query.limit);
                    q.build(MysqlQueryBuilder)
                }
            };
            let rows = self
                .conn
                .query_all_raw(Statement::from_sql_and_values(
                    Engine::MySql,
                    self.records_of(&ids, layout),
                    values,
                ))
                .await
                .map_err(|e| self.err(e))?;
            return Ok(rows);
        }
        let mut q = Query::select();
        layout.select(&mut q);
        match matcher.fts_driver(&query.expr) {
            Some((fts, words)) => from_fts(&mut q, &self.config.table, fts, words),
            None => {
                q.from(self.table());
            }
        }
        q.and_where(matcher.condition(&query.expr));
        if let Some(v) = valid {
            q.and_where(v);
        }
        crate::sql::limit(&mut q, query.limit);
        self.conn.query_all(&q).await.map_err(|e| self.err(e))
    }
}

#[async_trait]
impl CustomerUserSource for DbBackend {
    fn settings(&self) -> &SourceSettings {
        &self.config.settings
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn get(&self, login: &str) -> Result<Option<CustomerUser>> {
        self.bounded(self.name(), async {
            // No limit: every case variant is needed to tell an exact match from an ambiguity.
            let mut q = self.select_users();
            q.and_where(self.login_matches(login));
            let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
            let users = self.users_from(&rows)?;
            let mut found = exact_or_only(users, |u| u.login.as_str(), login)
                .map_err(|logins| self.ambiguous_login(login, logins))?;
            if let Some(user) = found.as_mut() {
                self.attach_values(std::slice::from_mut(user)).await?;
            }
            Ok(found)
        })
        .await
    }

    /// One statement per 1 000 different logins (`LOWER(login) IN (…)`, or the
    /// logins themselves when case counts); each login is answered from the rows its own `get`
    /// would have found, by `get`'s rule (the exact case, else the only match, else
    /// `Ambiguous`).
    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name, logins = logins.len()))]
    async fn get_many(&self, logins: &[&str]) -> Result<Vec<Result<Option<CustomerUser>>>> {
        // Each different login once, with how many times it was asked.
        let mut asked: HashMap<&str, usize> = HashMap::with_capacity(logins.len());
        let mut distinct: Vec<&str> = Vec::with_capacity(logins.len());
        for login in logins.iter().copied().filter(|l| !l.is_empty()) {
            let n = asked.entry(login).or_insert(0);
            if *n == 0 {
                distinct.push(login);
            }
            *n += 1;
        }
        // Per login, the rows it matched; a login left out is asked with `get`.
        let mut rows: HashMap<&str, Vec<CustomerUser>> = HashMap::with_capacity(distinct.len());
        for chunk in distinct.chunks(GET_MANY_CHUNK) {
            if let Some(found) = self.bounded(self.name(), self.matched_rows(chunk)).await? {
                rows.extend(chunk.iter().copied().zip(found));
            }
        }
        let mut out = Vec::with_capacity(logins.len());
        for login in logins.iter().copied() {
            let left = asked.get_mut(login);
            let matched = match (left, rows.get_mut(login)) {
                (Some(n), Some(found)) => {
                    *n -= 1;
                    // The last time a login is answered takes its rows; earlier ones copy them.
                    Some(if *n == 0 {
                        std::mem::take(found)
                    } else {
                        found.clone()
                    })
                }
                _ => None,
            };
            match matched {
                Some(found) => out.push(
                    exact_or_only(found, |u| u.login.as_str(), login)
                        .map_err(|stored| self.ambiguous_login(login, stored)),
                ),
                None => match self.get(login).await {
                    Err(e) if e.is_source_failure() => return Err(e),
                    answer => out.push(answer),
                },
            }
        }
        Ok(out)
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn search(&self, query: &UserQuery) -> Result<Vec<CustomerUser>> {
        self.bounded(self.name(), async {
            let rows = self.search_rows(query, &self.users.layout).await?;
            let mut users = self.users_from(&rows)?;
            self.attach_values(&mut users).await?;
            sort_by_login(&mut users, |u| u.login.as_str());
            Ok(users)
        })
        .await
    }

    /// The same statement as `search`, selecting only the login and the list-field columns.
    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn search_list(&self, query: &UserQuery) -> Result<Vec<ListedUser>> {
        self.bounded(self.name(), async {
            let rows = self.search_rows(query, &self.users.list.layout).await?;
            let mut listed = rows
                .iter()
                .map(|r| {
                    self.users
                        .listed(r, &self.config.settings)
                        .map_err(|f| self.fail(f))
                })
                .collect::<Result<Vec<_>>>()?;
            sort_by_login(&mut listed, |u| u.login.as_str());
            Ok(listed)
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn search_detail(&self, query: &DetailSearch) -> Result<Vec<Login>> {
        self.bounded(self.name(), async {
            if query.limit == Some(0) {
                return Ok(Vec::new());
            }
            let table = self.user_table();
            let dynamic = self.dynamic_fields(false).await?;
            let mut q = Query::select();
            q.expr(col(&self.config.customer_key))
                .from(self.table())
                .and_where(table.detail_condition(self.dialect, query, &dynamic)?);
            table.detail_order(self.dialect, query, &mut q);
            if let Some(limit) = query.limit {
                crate::sql::limit(&mut q, limit);
            }
            let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
            rows.iter()
                .map(|r| {
                    read_text(r, 0)
                        .map(|l| Login::from_stored(l.unwrap_or_default()))
                        .map_err(|e| self.err(e))
                })
                .collect()
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn count_detail(&self, query: &DetailSearch) -> Result<u64> {
        self.bounded(self.name(), async {
            let dynamic = self.dynamic_fields(false).await?;
            let q = Query::select()
                .expr(Expr::cust("COUNT(*)"))
                .from(self.table())
                .and_where(
                    self.user_table()
                        .detail_condition(self.dialect, query, &dynamic)?,
                )
                .to_owned();
            let row = self.conn.query_one(&q).await.map_err(|e| self.err(e))?;
            let n = match row {
                Some(r) => crate::row::read_int(&r, 0)
                    .map_err(|e| self.err(e))?
                    .unwrap_or(0),
                None => 0,
            };
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn customer_id_list(
        &self,
        term: Option<&Term>,
        valid_only: bool,
    ) -> Result<Vec<CustomerId>> {
        self.bounded(self.name(), async {
            let table = self.user_table();
            let column = &self.config.customer_id_column;
            let mut q = Query::select();
            q.distinct()
                .expr(col(column))
                .from(self.table())
                .and_where(self.dialect.present(col(column), true));
            if let Some(term) = term {
                let fields = table.fields(FieldSet::CustomerId, &self.config.settings);
                q.and_where(compile(
                    self.dialect,
                    term,
                    &fields,
                    !self.config.settings.case_sensitive,
                ));
            }
            if let Some(v) = table.valid_filter(self.dialect, valid_only) {
                q.and_where(v);
            }
            let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
            let mut ids = Vec::with_capacity(rows.len());
            for r in &rows {
                if let Some(id) = read_text(r, 0).map_err(|e| self.err(e))? {
                    ids.push(id);
                }
            }
            ids.sort();
            ids.dedup();
            ids.sort_by_key(|a| a.to_lowercase());
            Ok(ids.into_iter().map(CustomerId::from_stored).collect())
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn users_after(&self, after: Option<&Login>, limit: usize) -> Result<Vec<CustomerUser>> {
        self.bounded(self.name(), async {
            if limit == 0 {
                return Ok(Vec::new());
            }
            // Code-point order on every database, the order `search` returns (the login's
            // unique index serves it on SQLite).
            let key = self.dialect.sort_key(col(&self.config.customer_key));
            let mut q = self.select_users();
            if let Some(after) = after {
                q.and_where(sea_orm::sea_query::ExprTrait::gt(
                    key.clone(),
                    after.as_str(),
                ));
            }
            q.order_by_expr(key, sea_orm::sea_query::Order::Asc);
            crate::sql::limit(&mut q, limit);
            let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
            let mut users = self.users_from(&rows)?;
            self.attach_values(&mut users).await?;
            Ok(users)
        })
        .await
    }
}

#[async_trait]
impl CustomerUserWriter for DbBackend {
    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn add(
        &self,
        user: &CustomerUser,
        password_hash: Option<&str>,
        by: &Actor,
    ) -> Result<()> {
        self.bounded(self.name(), async {
            self.refuse_read_only()?;
            let by = &self.actor(by).await?;
            let dynamic = self.desired_values(user).await?;
            self.write_user(&user.login, || {
                self.try_add(user, password_hash, by, dynamic.as_ref())
            })
            .await
        })
        .await
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn update(
        &self,
        login: &Login,
        user: &CustomerUser,
        expected: Expected,
        by: &Actor,
    ) -> Result<()> {
        self.bounded(self.name(), async {
            self.refuse_read_only()?;
            let by = &self.actor(by).await?;
            let dynamic = &self.dynamic_write(user).await?;
            self.write_user(&user.login, || {
                self.try_update(login, user, expected, by, false, dynamic)
            })
            .await
        })
        .await
    }

    /// A rename moves the user's relations and preferences in this database in the same
    /// transaction as the record, so no reader ever sees the record under one login and its
    /// grants or preferences under the other.
    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn update_renaming(
        &self,
        login: &Login,
        user: &CustomerUser,
        expected: Expected,
        by: &Actor,
    ) -> Result<bool> {
        self.bounded(self.name(), async {
            self.refuse_read_only()?;
            let by = &self.actor(by).await?;
            let dynamic = &self.dynamic_write(user).await?;
            self.write_user(&user.login, || {
                self.try_update(login, user, expected, by, true, dynamic)
            })
            .await
        })
        .await?;
        Ok(true)
    }

    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn set_password_hash(&self, login: &Login, hash: &str) -> Result<()> {
        self.bounded(self.name(), async {
            self.refuse_read_only()?;
            let Some(pw) = &self.users.password else {
                return Err(Error::Config(format!(
                    "db backend {:?}: the attribute map has no {} row, so passwords cannot be stored",
                    self.name(),
                    keys::PASSWORD
                )));
            };
            let pw = pw.clone();
            let written = retry(is_retry, || async {
                let tx = begin_write(&self.conn, self.dialect).await?;
                // The stored login, its exact case preferred: on a database that holds `JDoe`
                // beside `jdoe`, only the user asked for gets the new hash, and `JDOE` none.
                let Some(current) = self.current(&tx, login.as_str()).await? else {
                    return Err(Failure::Api(Error::user_not_found(login.as_str())));
                };
                let update = Query::update()
                    .table(self.table())
                    .value(Alias::new(pw.as_str()), hash)
                    .and_where(
                        self.dialect
                            .eq_exact(col(&self.config.customer_key), &current.login),
                    )
                    .to_owned();
                tx.execute(&update).await?;
                tx.commit().await?;
                Ok(())
            })
            .await;
            written.map_err(|f| self.fail(f))
        })
        .await
    }
}

#[async_trait]
impl PasswordStore for DbBackend {
    #[tracing::instrument(skip_all, fields(backend = %self.config.settings.name))]
    async fn password_hash(&self, login: &str) -> Result<Option<(Login, Option<String>)>> {
        self.bounded(self.name(), async {
            let login_col = self
                .config
                .settings
                .map
                .storage_of(keys::LOGIN)
                .unwrap_or(&self.config.customer_key)
                .to_owned();
            let mut q = Query::select();
            q.expr(col(&login_col));
            q.expr(match &self.users.password {
                Some(pw) => col(pw),
                None => Expr::cust("NULL"),
            });
            q.from(self.table()).and_where(self.login_matches(login));
            let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
            let mut found = Vec::new();
            for r in &rows {
                let stored = read_text(r, 0)
                    .map_err(|e| self.err(e))?
                    .unwrap_or_default();
                let hash = read_text(r, 1)
                    .map_err(|e| self.err(e))?
                    .filter(|h| !h.is_empty());
                found.push((Login::from_stored(stored), hash));
            }
            exact_or_only(found, |(l, _)| l.as_str(), login)
                .map_err(|logins| self.ambiguous_login(login, logins))
        })
        .await
    }
}
