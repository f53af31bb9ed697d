//! Customer-user dynamic fields in OTOBO's tables: map rows of storage type `dynamic_field`
//! read, written and searched the way OTOBO does.
//!
//! * `dynamic_field` defines a field: its `name` is the map row's `storage`, `object_type` must
//!   be `CustomerUser`, `valid_id` 1, and `config` is YAML whose `PossibleValues` keys are what
//!   a `Dropdown` or `Multiselect` may store.
//! * `dynamic_field_obj_id_name` gives a login (`object_name`, object type `CustomerUser`) a
//!   numeric `object_id`; the row is made with the user's first value.
//! * `dynamic_field_value` holds one row per value (`field_id`, `object_id`): text types in
//!   `value_text`, date types in `value_date`, a checkbox in `value_int`; a `Multiselect` one row
//!   per selected value.
//!
//! Writes run in the transaction of the user row and rewrite only the fields whose values
//! changed (delete the field's rows, insert the new ones, as OTOBO's `ValueSet` does). A rename
//! moves `object_name` (OTOBO's `UpdateDynamicFieldObjectName` event). Clientele never creates
//! these tables: a map with dynamic-field rows needs an OTOBO database, and a database without
//! them is refused when the backend connects ([`MapRowProblem::DynamicFieldTablesMissing`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::{NaiveDate, NaiveDateTime};
use clientele_backend::{Error, MapRowProblem, Result};
use clientele_model::dynamic_field::{
    CUSTOMER_USER_OBJECT_TYPE, DynamicFieldDefinition, DynamicFieldOperand, DynamicFieldType,
    DynamicFieldValue, FieldDateTime, ValueColumn,
};
use clientele_model::search::DynamicFieldOperator;
use clientele_model::{AttributeMap, AttributeMapping, CustomerUser, StorageType};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, JoinType, Query, SelectStatement, Value};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use crate::DbBackend;
use crate::error::Failure;
use crate::row::{read_id, read_int, read_text};
use crate::sql::{Dialect, IN_LIST_MAX, all, any, col, tcol};

/// `dynamic_field`.
const FIELD_TABLE: &str = "dynamic_field";
/// `dynamic_field_value`.
const VALUE_TABLE: &str = "dynamic_field_value";
/// `dynamic_field_obj_id_name`.
const OBJECT_TABLE: &str = "dynamic_field_obj_id_name";
/// The aliases of the value and object tables in statements that join them.
const V: &str = "clientele_dfv";
const O: &str = "clientele_dfo";

/// How long a backend trusts the field definitions it loaded for reads and searches; every
/// write loads them afresh, so a value is always checked against the current configuration.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// One dynamic-field map row and the field it names.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    /// The map row's attribute key.
    pub(crate) key: String,
    /// `dynamic_field.id`.
    pub(crate) id: i64,
    /// The field's name, type and possible values.
    pub(crate) definition: DynamicFieldDefinition,
}

/// The dynamic fields of a source's map, as loaded from `dynamic_field`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fields {
    pub(crate) fields: Vec<Field>,
}

impl Fields {
    pub(crate) fn by_key(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.key == key)
    }

    fn by_id(&self, id: i64) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }

    fn ids(&self) -> Vec<i64> {
        self.fields.iter().map(|f| f.id).collect()
    }
}

/// The loaded definitions and when they were loaded.
pub(crate) type Cached = std::sync::Mutex<Option<(Instant, Arc<Fields>)>>;

/// The dynamic-field rows of a map.
pub(crate) fn rows(map: &AttributeMap) -> Vec<&AttributeMapping> {
    map.rows()
        .iter()
        .filter(|r| r.storage_type == StorageType::DynamicField)
        .collect()
}

/// The rows a write stores for a record: per field, its values checked against it.
pub(crate) struct Desired(Vec<(Field, Vec<DynamicFieldValue>)>);

/// Reads `PossibleValues` (its keys: what is stored) from a field's YAML configuration.
/// OTOBO writes the configuration with Perl's YAML module: a mapping whose `PossibleValues` is
/// a mapping of stored value to shown label. Keys that YAML reads as numbers or booleans are
/// taken as written.
fn possible_values(config: Option<&str>) -> Result<Vec<String>, String> {
    let Some(text) = config.filter(|c| !c.trim().is_empty()) else {
        return Ok(Vec::new());
    };
    let parsed: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let Some(values) = parsed.get("PossibleValues") else {
        return Ok(Vec::new());
    };
    let mapping = match values {
        serde_yaml_ng::Value::Null => return Ok(Vec::new()),
        serde_yaml_ng::Value::Mapping(m) => m,
        _ => return Err("PossibleValues is not a mapping".into()),
    };
    mapping
        .keys()
        .map(|k| match k {
            serde_yaml_ng::Value::String(s) => Ok(s.clone()),
            serde_yaml_ng::Value::Number(n) => Ok(n.to_string()),
            serde_yaml_ng::Value::Bool(b) => Ok(if *b { "1" } else { "0" }.to_owned()),
            other => Err(format!("a PossibleValues key {other:?} is not a scalar")),
        })
        .collect()
}

fn naive(t: &FieldDateTime) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(t.year(), t.month(), t.day())?.and_hms_opt(
        t.hour(),
        t.minute(),
        t.second(),
    )
}

fn from_naive(t: NaiveDateTime) -> Option<FieldDateTime> {
    use chrono::{Datelike, Timelike};
    FieldDateTime::new(
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    )
}

/// A `value_date` as a bound value.
fn date_value(t: &FieldDateTime) -> Value {
    Value::ChronoDateTime(naive(t))
}

/// A `value_date` column read as a moment (a `DATETIME`, or OTOBO's text on SQLite).
fn read_date(row: &QueryResult, i: usize) -> Result<Option<FieldDateTime>, DbErr> {
    if let Ok(v) = row.try_get_by_index::<Option<NaiveDateTime>>(i) {
        return Ok(v.and_then(from_naive));
    }
    Ok(read_text(row, i)?.and_then(|s| FieldDateTime::parse(s.split('.').next().unwrap_or(""))))
}

/// The stored value of a row in the column the field's type uses; `None` for an empty one.
fn read_value(
    row: &QueryResult,
    offset: usize,
    field_type: DynamicFieldType,
) -> Result<Option<DynamicFieldValue>, DbErr> {
    Ok(match field_type.column() {
        ValueColumn::Text => read_text(row, offset)?
            .filter(|t| !t.is_empty())
            .map(DynamicFieldValue::Text),
        ValueColumn::Date => read_date(row, offset + 1)?.map(DynamicFieldValue::Date),
        ValueColumn::Integer => read_int(row, offset + 2)?.map(DynamicFieldValue::Integer),
    })
}

fn value_columns(q: &mut SelectStatement) {
    q.expr(tcol(V, "value_text"))
        .expr(tcol(V, "value_date"))
        .expr(tcol(V, "value_int"));
}

fn object_type_is_customer_user() -> Expr {
    tcol(O, "object_type").eq(CUSTOMER_USER_OBJECT_TYPE)
}

/// `a <op> b`.
fn compare(op: DynamicFieldOperator, a: Expr, b: Expr) -> Expr {
    match op {
        DynamicFieldOperator::Equals | DynamicFieldOperator::Like => a.eq(b),
        DynamicFieldOperator::GreaterThan => a.gt(b),
        DynamicFieldOperator::GreaterThanEquals => a.gte(b),
        DynamicFieldOperator::SmallerThan => a.lt(b),
        DynamicFieldOperator::SmallerThanEquals => a.lte(b),
    }
}

/// The test of one stored value (`clientele_dfv`) against one search operand.
fn test(d: Dialect, op: DynamicFieldOperator, operand: &DynamicFieldOperand) -> Expr {
    let text = tcol(V, "value_text");
    match operand {
        DynamicFieldOperand::Pattern(p) => d.matches(text, true, p, true),
        DynamicFieldOperand::Text(t) if op == DynamicFieldOperator::Equals => {
            d.present(text.clone(), true).and(d.equals(text, t, true))
        }
        DynamicFieldOperand::Text(t) => compare(
            op,
            d.folded_sort_key(text),
            d.folded_sort_key(Expr::val(t.as_str())),
        ),
        DynamicFieldOperand::Date(t) => {
            compare(op, tcol(V, "value_date"), Expr::val(date_value(t)))
        }
        DynamicFieldOperand::Integer(i) => compare(op, tcol(V, "value_int"), Expr::val(*i)),
    }
}

/// `<login column> IN (SELECT object_name …)`: the users with a stored value of `field` that
/// passes every test (each a list of OR-ed operands). All tests apply to the same stored
/// value, as in OTOBO's one join per field.
pub(crate) fn condition(
    d: Dialect,
    login: &str,
    field: &Field,
    tests: &crate::search::FieldTests,
) -> Expr {
    let mut sub = Query::select();
    sub.expr(tcol(O, "object_name"))
        .from_as(Alias::new(OBJECT_TABLE), Alias::new(O))
        .join_as(
            JoinType::InnerJoin,
            Alias::new(VALUE_TABLE),
            Alias::new(V),
            tcol(V, "object_id").equals((Alias::new(O), Alias::new("object_id"))),
        )
        .and_where(object_type_is_customer_user())
        .and_where(tcol(V, "field_id").eq(field.id))
        .and_where(all(tests
            .iter()
            .map(|(op, operands)| any(operands.iter().map(|x| test(d, *op, x)).collect()))
            .collect()));
    col(login).in_subquery(sub)
}

impl DbBackend {
    /// Whether the map has dynamic-field rows.
    pub(crate) fn has_dynamic_fields(&self) -> bool {
        !rows(&self.config.settings.map).is_empty()
    }

    fn map_row_error(&self, row: &AttributeMapping, problem: MapRowProblem) -> Error {
        Error::MapRow {
            backend: self.name().to_owned(),
            key: row.key.clone(),
            storage: row.storage.clone(),
            problem,
        }
    }

    /// The fields the map's dynamic-field rows name: from the cache for reads and searches
    /// (loaded at most a minute ago), loaded afresh with `fresh` (writes, the connect check).
    ///
    /// # Errors
    ///
    /// [`Error::MapRow`] naming the first row whose field is missing, not a `CustomerUser`
    /// field, not valid, of a type Clientele does not store or with an unreadable
    /// configuration — or, when the database has no dynamic-field tables, the first row with
    /// [`MapRowProblem::DynamicFieldTablesMissing`].
    pub(crate) async fn dynamic_fields(&self, fresh: bool) -> Result<Arc<Fields>> {
        let rows = rows(&self.config.settings.map);
        if rows.is_empty() {
            return Ok(Arc::default());
        }
        if !fresh {
            let cached = self
                .dynamic
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((at, fields)) = cached.as_ref()
                && at.elapsed() < RECHECK
            {
                return Ok(Arc::clone(fields));
            }
        }
        let names: Vec<String> = rows.iter().map(|r| r.storage.clone()).collect();
        let q = Query::select()
            .columns(
                [
                    "id",
                    "name",
                    "field_type",
                    "object_type",
                    "config",
                    "valid_id",
                ]
                .map(Alias::new),
            )
            .from(Alias::new(FIELD_TABLE))
            .and_where(col("name").is_in(names))
            .to_owned();
        let found = match self.conn.query_all(&q).await {
            Ok(found) => found,
            Err(e) => {
                let missing = self.missing_tables().await;
                if missing.is_empty() {
                    return Err(self.err(e));
                }
                return Err(self.map_row_error(
                    rows[0],
                    MapRowProblem::DynamicFieldTablesMissing { tables: missing },
                ));
            }
        };
        let mut defined = Vec::with_capacity(found.len());
        for r in &found {
            let read = || -> Result<_, DbErr> {
                Ok((
                    read_id(r, 0)?,
                    read_text(r, 1)?.unwrap_or_default(),
                    read_text(r, 2)?.unwrap_or_default(),
                    read_text(r, 3)?.unwrap_or_default(),
                    read_text(r, 4)?,
                    read_int(r, 5)?.unwrap_or(0),
                ))
            };
            defined.push(read().map_err(|e| self.err(e))?);
        }
        let mut fields = Vec::with_capacity(rows.len());
        for row in rows {
            // Exactly the name: MariaDB's collation would also find other cases.
            let Some((id, name, field_type, object_type, config, valid_id)) =
                defined.iter().find(|d| d.1 == row.storage)
            else {
                return Err(self.map_row_error(row, MapRowProblem::UnknownDynamicField));
            };
            if object_type != CUSTOMER_USER_OBJECT_TYPE {
                return Err(self.map_row_error(
                    row,
                    MapRowProblem::NotACustomerUserField {
                        object_type: object_type.clone(),
                    },
                ));
            }
            if *valid_id != 1 {
                return Err(self.map_row_error(
                    row,
                    MapRowProblem::InvalidDynamicField {
                        valid_id: *valid_id,
                    },
                ));
            }
            let Some(kind) = DynamicFieldType::from_otobo(field_type) else {
                return Err(self.map_row_error(
                    row,
                    MapRowProblem::UnsupportedFieldType {
                        field_type: field_type.clone(),
                    },
                ));
            };
            let possible = if kind.has_possible_values() {
                possible_values(config.as_deref()).map_err(|reason| {
                    self.map_row_error(row, MapRowProblem::UnreadableFieldConfig { reason })
                })?
            } else {
                Vec::new()
            };
            fields.push(Field {
                key: row.key.clone(),
                id: *id,
                definition: DynamicFieldDefinition {
                    name: name.clone(),
                    field_type: kind,
                    possible_values: possible,
                },
            });
        }
        let fields = Arc::new(Fields { fields });
        *self
            .dynamic
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((Instant::now(), Arc::clone(&fields)));
        Ok(fields)
    }

    /// OTOBO's dynamic-field tables this database lacks.
    async fn missing_tables(&self) -> Vec<String> {
        let mut missing = Vec::new();
        for table in [FIELD_TABLE, VALUE_TABLE, OBJECT_TABLE] {
            let probe = Query::select()
                .expr(Expr::val(1))
                .from(Alias::new(table))
                .and_where(Expr::val(1).eq(0))
                .to_owned();
            if self.conn.query_all(&probe).await.is_err() {
                missing.push(table.to_owned());
            }
        }
        missing
    }

    /// Whether the database has `dynamic_field_obj_id_name` (an OTOBO database), looked up once.
    pub(crate) async fn object_table_exists(&self) -> bool {
        *self
            .dynamic_objects
            .get_or_init(|| async {
                let probe = Query::select()
                    .expr(Expr::val(1))
                    .from(Alias::new(OBJECT_TABLE))
                    .and_where(Expr::val(1).eq(0))
                    .to_owned();
                self.conn.query_all(&probe).await.is_ok()
            })
            .await
    }

    /// Checks the dynamic-field rows of the map against the database (when it has any): run by
    /// [`connect`](DbBackend::connect); a backend made with
    /// [`from_connection`](DbBackend::from_connection) checks at its first use of them.
    pub(crate) async fn check_dynamic_fields(&self) -> Result<()> {
        self.dynamic_fields(true).await.map(|_| ())
    }

    /// What a write stores for `user`'s dynamic-field attributes, checked against the fields
    /// as they are defined now. An absent or empty value clears the field.
    pub(crate) async fn desired_values(&self, user: &CustomerUser) -> Result<Option<Desired>> {
        if !self.has_dynamic_fields() {
            return Ok(None);
        }
        let fields = self.dynamic_fields(true).await?;
        let mut desired = Vec::with_capacity(fields.fields.len());
        for field in &fields.fields {
            let values = match user.attribute(&field.key) {
                None => Vec::new(),
                Some(v) => field.definition.values_to_store(&field.key, &v)?,
            };
            desired.push((field.clone(), values));
        }
        Ok(Some(Desired(desired)))
    }

    /// The object id of `login` (exactly) in `dynamic_field_obj_id_name`; made when missing
    /// and `create` is set.
    async fn object_id<C: ConnectionTrait>(
        &self,
        tx: &C,
        login: &str,
        create: bool,
    ) -> Result<Option<i64>, Failure> {
        let find = Query::select()
            .columns([Alias::new("object_id"), Alias::new("object_name")])
            .from_as(Alias::new(OBJECT_TABLE), Alias::new(O))
            .and_where(tcol(O, "object_name").eq(login))
            .and_where(object_type_is_customer_user())
            .to_owned();
        for _ in 0..2 {
            for r in tx.query_all(&find).await? {
                if read_text(&r, 1)?.as_deref() == Some(login) {
                    return Ok(Some(read_id(&r, 0)?));
                }
            }
            if !create {
                return Ok(None);
            }
            let mut insert = Query::insert();
            insert
                .into_table(Alias::new(OBJECT_TABLE))
                .columns([Alias::new("object_name"), Alias::new("object_type")])
                .values([login.into(), CUSTOMER_USER_OBJECT_TYPE.into()])
                .map_err(|e| Error::backend_failure(self.name(), e))?;
            tx.execute(&insert).await?;
        }
        Err(Failure::Api(Error::backend(
            self.name(),
            format!("{OBJECT_TABLE}: the row made for {login:?} cannot be read back"),
        )))
    }

    /// Stores the desired values of `login`'s dynamic fields inside `tx`: a field whose stored
    /// values (as a read gives them) already equal the desired ones is left alone; any other
    /// has its rows deleted and the desired ones inserted.
    pub(crate) async fn write_values<C: ConnectionTrait>(
        &self,
        tx: &C,
        login: &str,
        desired: &Desired,
    ) -> Result<(), Failure> {
        let mut object = self.object_id(tx, login, false).await?;
        let mut stored: HashMap<i64, Vec<DynamicFieldValue>> = HashMap::new();
        if let Some(id) = object {
            let mut q = Query::select();
            q.expr(tcol(V, "field_id"));
            value_columns(&mut q);
            q.from_as(Alias::new(VALUE_TABLE), Alias::new(V))
                .and_where(tcol(V, "object_id").eq(id))
                .and_where(tcol(V, "field_id").is_in(desired.0.iter().map(|(f, _)| f.id)))
                .order_by_expr(tcol(V, "id"), sea_orm::Order::Asc);
            for r in tx.query_all(&q).await? {
                let field_id = read_id(&r, 0)?;
                if let Some((field, _)) = desired.0.iter().find(|(f, _)| f.id == field_id)
                    && let Some(v) = read_value(&r, 1, field.definition.field_type)?
                {
                    stored.entry(field_id).or_default().push(v);
                }
            }
        }
        for (field, values) in &desired.0 {
            if stored.get(&field.id).map_or(&[][..], Vec::as_slice) == values.as_slice() {
                continue;
            }
            let id = match object {
                Some(id) => id,
                None if values.is_empty() => continue,
                None => {
                    let id = self.object_id(tx, login, true).await?.unwrap_or_default();
                    object = Some(id);
                    id
                }
            };
            let delete = Query::delete()
                .from_table(Alias::new(VALUE_TABLE))
                .and_where(col("object_id").eq(id))
                .and_where(col("field_id").eq(field.id))
                .to_owned();
            tx.execute(&delete).await?;
            for v in values {
                let (text, date, int) = match v {
                    DynamicFieldValue::Text(t) => (Some(t.clone()), None, None),
                    DynamicFieldValue::Date(t) => (None, naive(t), None),
                    DynamicFieldValue::Integer(i) => (None, None, Some(*i)),
                };
                let mut insert = Query::insert();
                insert
                    .into_table(Alias::new(VALUE_TABLE))
                    .columns(
                        [
                            "field_id",
                            "object_id",
                            "value_text",
                            "value_date",
                            "value_int",
                        ]
                        .map(Alias::new),
                    )
                    .values([
                        Expr::val(field.id),
                        Expr::val(id),
                        Expr::val(Value::String(text)),
                        Expr::val(Value::ChronoDateTime(date)),
                        Expr::val(Value::BigInt(int)),
                    ])
                    .map_err(|e| Error::backend_failure(self.name(), e))?;
                tx.execute(&insert).await?;
            }
        }
        Ok(())
    }

    /// Moves `old`'s dynamic-field values to `new` inside `tx` (OTOBO's
    /// `UpdateDynamicFieldObjectName`).
    pub(crate) async fn rename_values<C: ConnectionTrait>(
        &self,
        tx: &C,
        old: &str,
        new: &str,
    ) -> Result<(), Failure> {
        let update = Query::update()
            .table(Alias::new(OBJECT_TABLE))
            .value(Alias::new("object_name"), new)
            .and_where(self.dialect.eq_exact(col("object_name"), old))
            .and_where(col("object_type").eq(CUSTOMER_USER_OBJECT_TYPE))
            .to_owned();
        tx.execute(&update).await?;
        Ok(())
    }

    /// Adds the dynamic-field values of each user (by its exact login) to its record: one
    /// query per thousand users.
    pub(crate) async fn attach_values(&self, users: &mut [CustomerUser]) -> Result<()> {
        if users.is_empty() || !self.has_dynamic_fields() {
            return Ok(());
        }
        let fields = self.dynamic_fields(false).await?;
        let mut found: HashMap<String, Vec<(i64, DynamicFieldValue)>> = HashMap::new();
        for chunk in users.chunks(IN_LIST_MAX) {
            let logins: Vec<String> = chunk.iter().map(|u| u.login.as_str().to_owned()).collect();
            let mut q = Query::select();
            q.expr(tcol(O, "object_name")).expr(tcol(V, "field_id"));
            value_columns(&mut q);
            q.from_as(Alias::new(VALUE_TABLE), Alias::new(V))
                .join_as(
                    JoinType::InnerJoin,
                    Alias::new(OBJECT_TABLE),
                    Alias::new(O),
                    tcol(O, "object_id").equals((Alias::new(V), Alias::new("object_id"))),
                )
                .and_where(object_type_is_customer_user())
                .and_where(tcol(O, "object_name").is_in(logins))
                .and_where(tcol(V, "field_id").is_in(fields.ids()))
                .order_by_expr(tcol(V, "id"), sea_orm::Order::Asc);
            let rows = self.conn.query_all(&q).await.map_err(|e| self.err(e))?;
            for r in &rows {
                let read = || -> Result<_, DbErr> {
                    let name = read_text(r, 0)?.unwrap_or_default();
                    let field_id = read_id(r, 1)?;
                    let value = match fields.by_id(field_id) {
                        Some(f) => read_value(r, 2, f.definition.field_type)?,
                        None => None,
                    };
                    Ok((name, field_id, value))
                };
                let (name, field_id, value) = read().map_err(|e| self.err(e))?;
                if let Some(v) = value {
                    found.entry(name).or_default().push((field_id, v));
                }
            }
        }
        for user in users {
            // Compared exactly: MariaDB's collation also matched other cases of the login.
            let Some(values) = found.get(user.login.as_str()) else {
                continue;
            };
            for field in &fields.fields {
                let of_field: Vec<DynamicFieldValue> = values
                    .iter()
                    .filter(|(id, _)| *id == field.id)
                    .map(|(_, v)| v.clone())
                    .collect();
                if let Some(v) = field.definition.attribute_value(&of_field) {
                    user.extra.insert(field.key.clone(), v);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn possible_values_as_otobo_writes_them() {
        let config = "---\nDefaultValue: ''\nPossibleNone: '0'\nPossibleValues:\n  sales: Sales\n  \
                      support: Support\n  '3': Three\n  4: Four\nTranslatableValues: '0'\n";
        assert_eq!(
            possible_values(Some(config)).unwrap(),
            ["sales", "support", "3", "4"]
        );
        assert!(possible_values(None).unwrap().is_empty());
        assert!(
            possible_values(Some("---\nPossibleValues: ~\n"))
                .unwrap()
                .is_empty()
        );
        assert!(possible_values(Some("---\nPossibleValues: [a, b]\n")).is_err());
        assert!(possible_values(Some("PossibleValues: {a: [")).is_err());
    }
}
