//! Reading rows into records and records into column values, driven by the attribute map.

use chrono::{DateTime, NaiveDateTime};
use clientele_backend::{Error, ListedUser, SourceSettings};
use clientele_model::{
    AttributeMap, AttributeValue, Attributes, Audit, CustomerCompany, CustomerUser, Login,
    StorageType, ValidationError, keys,
};
use sea_orm::sea_query::{SelectStatement, Value};
use sea_orm::{DbErr, QueryResult};

use crate::DbConfig;
use crate::error::Failure;
use crate::sql::col;

/// One selected column.
#[derive(Clone, Debug)]
pub(crate) struct Column {
    pub(crate) name: String,
    pub(crate) is_text: bool,
}

/// Which columns a record is read from and written to, in select order, and which map row reads
/// which column.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Distinct storage columns of the map rows (no dynamic fields, no password).
    pub(crate) columns: Vec<Column>,
    /// (attribute key, index into `columns`, storage type, read-only) per map row.
    pub(crate) rows: Vec<(String, usize, StorageType, bool)>,
    /// The table has create/change columns.
    pub(crate) audit: bool,
}

/// The customer-user layout, plus the password and key columns.
#[derive(Clone, Debug)]
pub(crate) struct UserLayout {
    pub(crate) layout: Layout,
    /// What a list search reads: the login and the list fields.
    pub(crate) list: ListLayout,
    pub(crate) password: Option<String>,
}

/// The columns of the login and the list fields (no audit columns), and how a row of them
/// becomes a [`ListedUser`].
#[derive(Clone, Debug)]
pub(crate) struct ListLayout {
    pub(crate) layout: Layout,
    /// The login's map row in `layout.rows`, and per list field its map row and whether every
    /// record has that attribute (an absent value is then the empty text, as
    /// [`CustomerUser::attribute`] gives it). `None` when a list field needs the rules of a
    /// whole record (validity, the customer-id list, the password, a field the layout does not
    /// read): such rows are read into a partial [`CustomerUser`] first.
    direct: Option<(usize, Vec<(usize, bool)>)>,
}

impl ListLayout {
    fn new(settings: &SourceSettings) -> ListLayout {
        let listed = settings.keys_for(&settings.list_fields);
        let map = AttributeMap::new(
            settings
                .map
                .rows()
                .iter()
                .filter(|r| r.key == keys::LOGIN || listed.contains(&r.key))
                .cloned()
                .collect(),
        );
        let layout = Layout::new(&map, false);
        let row_of = |key: &str| layout.rows.iter().rposition(|r| r.0 == key);
        let always = [
            keys::LOGIN,
            keys::FIRST_NAME,
            keys::LAST_NAME,
            keys::EMAIL,
            keys::CUSTOMER_ID,
        ];
        let direct = row_of(keys::LOGIN).and_then(|login| {
            let fields = listed
                .iter()
                .map(|k| {
                    if [keys::VALID, keys::CUSTOMER_IDS, keys::PASSWORD].contains(&k.as_str()) {
                        return None;
                    }
                    Some((row_of(k)?, always.contains(&k.as_str())))
                })
                .collect::<Option<Vec<_>>>()?;
            Some((login, fields))
        });
        ListLayout { layout, direct }
    }
}

impl Layout {
    pub(crate) fn new(map: &AttributeMap, audit: bool) -> Layout {
        let mut columns: Vec<Column> = Vec::new();
        let mut rows = Vec::new();
        for row in map.columns() {
            let index = match columns.iter().position(|c| c.name == row.storage) {
                Some(i) => i,
                None => {
                    columns.push(Column {
                        name: row.storage.clone(),
                        is_text: row.storage_type != StorageType::Integer,
                    });
                    columns.len() - 1
                }
            };
            rows.push((row.key.clone(), index, row.storage_type, row.read_only));
        }
        Layout {
            columns,
            rows,
            audit,
        }
    }

    /// Adds the select list: the map columns, then the audit columns.
    pub(crate) fn select(&self, q: &mut SelectStatement) {
        for c in &self.columns {
            q.expr(col(&c.name));
        }
        if self.audit {
            for a in AUDIT_COLUMNS {
                q.expr(col(a));
            }
        }
    }

    /// The value of every map row, in the order of `rows`, from a row selected by
    /// [`select`](Self::select) starting at column `offset`: integer map rows stored as text are
    /// parsed, and empty values are `None`.
    fn row_values(
        &self,
        row: &QueryResult,
        offset: usize,
    ) -> Result<Vec<Option<AttributeValue>>, DbErr> {
        let mut columns = Vec::with_capacity(self.columns.len());
        for (i, c) in self.columns.iter().enumerate() {
            columns.push(if c.is_text {
                read_text(row, offset + i)?.map(AttributeValue::Text)
            } else {
                read_int(row, offset + i)?.map(AttributeValue::Integer)
            });
        }
        Ok(self
            .rows
            .iter()
            .map(|(_, index, ty, _)| {
                let value = match (ty, columns[*index].clone()?) {
                    (StorageType::Integer, AttributeValue::Text(t)) => {
                        match t.trim().parse::<i64>() {
                            Ok(i) => AttributeValue::Integer(i),
                            Err(_) => AttributeValue::Text(t),
                        }
                    }
                    (_, v) => v,
                };
                (!value.is_empty()).then_some(value)
            })
            .collect())
    }

    /// The attributes and audit data of a row selected by [`select`](Self::select), starting at
    /// column `offset`.
    pub(crate) fn read(
        &self,
        row: &QueryResult,
        offset: usize,
    ) -> Result<(Attributes, Audit), DbErr> {
        let mut attributes = Attributes::new();
        for ((key, ..), value) in self.rows.iter().zip(self.row_values(row, offset)?) {
            if let Some(value) = value {
                attributes.insert(key.clone(), value);
            }
        }
        // OTOBO lets an admin add validity states; anything but 1–3 counts as invalid.
        if let Some(AttributeValue::Integer(v)) = attributes.get(keys::VALID)
            && !(1..=3).contains(v)
        {
            attributes.insert(keys::VALID.into(), AttributeValue::Integer(2));
        }
        let mut audit = Audit::default();
        if self.audit {
            let base = offset + self.columns.len();
            audit.created_at = read_time(row, base)?;
            audit.created_by = read_int(row, base + 1)?.map(|i| i.to_string());
            audit.changed_at = read_time(row, base + 2)?;
            audit.changed_by = read_int(row, base + 3)?.map(|i| i.to_string());
        }
        Ok((attributes, audit))
    }

    /// What a record gives each column, as `(index into columns, cell)`, in column order; `None`
    /// where the record has no value for it. `skip_read_only` leaves out columns whose every map
    /// row is read-only (OTOBO's update rule). A value an integer column cannot take is refused
    /// naming its attribute, never written as something else.
    fn cells(
        &self,
        attribute: impl Fn(&str) -> Option<AttributeValue>,
        skip_read_only: bool,
    ) -> Result<Vec<(usize, Option<Cell>)>, Error> {
        let mut out = Vec::with_capacity(self.columns.len());
        for (i, c) in self.columns.iter().enumerate() {
            let rows: Vec<_> = self.rows.iter().filter(|r| r.1 == i).collect();
            if skip_read_only && rows.iter().all(|r| r.3) {
                continue;
            }
            // The first map row with a value decides (two rows may share a column).
            let value = rows.iter().find_map(|r| {
                attribute(&r.0)
                    .filter(|v| !v.is_empty())
                    .map(|v| (r.0.as_str(), v))
            });
            let cell = match value {
                None => None,
                Some((_, v)) if c.is_text => Some(Cell::Text(v.to_text())),
                Some((_, AttributeValue::Integer(n))) => Some(Cell::Integer(n)),
                Some((key, v)) => {
                    let text = v.to_text();
                    match text.trim().parse::<i64>() {
                        Ok(n) => Some(Cell::Integer(n)),
                        Err(_) => {
                            return Err(Error::from(ValidationError::Invalid {
                                field: key.to_owned(),
                                value: text,
                                reason: format!("column {} holds integers only", c.name),
                            }));
                        }
                    }
                }
            };
            out.push((i, cell));
        }
        Ok(out)
    }

    /// The values an `INSERT` writes: every column, from the record's attributes, an empty one
    /// as OTOBO's `CustomerUserAdd` writes it (`''` for text, `0` for integers; reference §3.5
    /// step 8), so a row Clientele adds looks like a row OTOBO adds.
    pub(crate) fn insert_values(
        &self,
        attribute: impl Fn(&str) -> Option<AttributeValue>,
    ) -> Result<Vec<(String, Value)>, Error> {
        Ok(self
            .cells(attribute, false)?
            .into_iter()
            .map(|(i, cell)| {
                let c = &self.columns[i];
                (c.name.clone(), written(cell, c.is_text))
            })
            .collect())
    }

    /// The values an `UPDATE` writes: only the columns whose value in the record differs from
    /// `stored` (the row as [`stored`](Self::stored) read it, in the update's transaction), so
    /// every other column keeps its bytes — OTOBO's `''` stays `''`, a `NULL` stays `NULL`. A
    /// value emptied by the update is written as [`insert_values`](Self::insert_values) writes
    /// it. `skip_read_only` as for [`cells`](Self::cells).
    pub(crate) fn changed_values(
        &self,
        attribute: impl Fn(&str) -> Option<AttributeValue>,
        stored: &[Option<Cell>],
        skip_read_only: bool,
    ) -> Result<Vec<(String, Value)>, Error> {
        Ok(self
            .cells(attribute, skip_read_only)?
            .into_iter()
            .filter(|(i, cell)| stored.get(*i).is_none_or(|s| s != cell))
            .map(|(i, cell)| {
                let c = &self.columns[i];
                (c.name.clone(), written(cell, c.is_text))
            })
            .collect())
    }

    /// The stored value of every column, in column order, from a row selected by
    /// [`select`](Self::select) starting at column `offset`: `NULL` and `''` alike are `None`,
    /// as every read takes them.
    pub(crate) fn stored(
        &self,
        row: &QueryResult,
        offset: usize,
    ) -> Result<Vec<Option<Cell>>, DbErr> {
        self.columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                Ok(if c.is_text {
                    read_text(row, offset + i)?
                        .filter(|t| !t.is_empty())
                        .map(Cell::Text)
                } else {
                    read_int(row, offset + i)?.map(Cell::Integer)
                })
            })
            .collect()
    }
}

/// One column's value, as a record gives it or a row holds it (an absent value is `None`
/// beside it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Cell {
    /// A non-empty text.
    Text(String),
    /// An integer.
    Integer(i64),
}

impl UserLayout {
    pub(crate) fn new(config: &DbConfig) -> UserLayout {
        UserLayout {
            layout: Layout::new(&config.settings.map, !config.foreign_db),
            list: ListLayout::new(&config.settings),
            password: config
                .settings
                .map
                .by_key(keys::PASSWORD)
                .filter(|r| r.storage_type != StorageType::DynamicField)
                .map(|r| r.storage.clone()),
        }
    }

    /// A listed user from a row selected with the list layout: the same login and list values
    /// as [`ListedUser::of`] gives for the whole record, read straight from the row when the
    /// list fields allow it.
    pub(crate) fn listed(
        &self,
        row: &QueryResult,
        settings: &SourceSettings,
    ) -> Result<ListedUser, Failure> {
        let Some((login, fields)) = &self.list.direct else {
            let (attributes, _) = self.list.layout.read(row, 0)?;
            let user = CustomerUser::from_attributes(attributes)
                .map_err(clientele_backend::Error::from)?;
            return Ok(ListedUser::of(&user, settings));
        };
        let values = self.list.layout.row_values(row, 0)?;
        let Some(login) = values[*login].as_ref() else {
            let missing = ValidationError::Required {
                field: keys::LOGIN.into(),
            };
            return Err(clientele_backend::Error::from(missing).into());
        };
        Ok(ListedUser {
            login: Login::from_stored(login.to_text()),
            list_values: fields
                .iter()
                .filter_map(|(i, always)| match &values[*i] {
                    Some(v) => Some(v.to_text()),
                    None => always.then(String::new),
                })
                .collect(),
        })
    }

    /// A customer user from a row selected with the layout.
    pub(crate) fn user(&self, row: &QueryResult) -> Result<CustomerUser, Failure> {
        let (attributes, audit) = self.layout.read(row, 0)?;
        let mut user =
            CustomerUser::from_attributes(attributes).map_err(clientele_backend::Error::from)?;
        user.audit = audit;
        Ok(user)
    }
}

/// A company from a row selected with the company layout.
pub(crate) fn company(layout: &Layout, row: &QueryResult) -> Result<CustomerCompany, Failure> {
    let (attributes, audit) = layout.read(row, 0)?;
    let mut company =
        CustomerCompany::from_attributes(attributes).map_err(clientele_backend::Error::from)?;
    company.audit = audit;
    Ok(company)
}

pub(crate) const AUDIT_COLUMNS: [&str; 4] =
    ["create_time", "create_by", "change_time", "change_by"];

/// Of the rows a look-up by a login or customer id found (case-insensitively, unless the source
/// compares case), the one whose key is exactly `wanted`, else the only one. A database may hold
/// one key in several cases (OTOBO's schema allows `acme` beside `ACME` on PostgreSQL and
/// SQLite): when none or more than one of several rows has the exact key, taking one would act
/// on an arbitrary record, so the answer is every stored key found, in code-point order, for
/// the caller to report as [`Error::Ambiguous`].
pub(crate) fn exact_or_only<T>(
    mut found: Vec<T>,
    key: impl Fn(&T) -> &str,
    wanted: &str,
) -> Result<Option<T>, Vec<String>> {
    let exact: Vec<usize> = (0..found.len())
        .filter(|&i| key(&found[i]) == wanted)
        .collect();
    match (exact.as_slice(), found.len()) {
        ([i], _) => Ok(Some(found.swap_remove(*i))),
        ([], 0) => Ok(None),
        ([], 1) => Ok(found.pop()),
        _ => {
            let mut keys: Vec<String> = found.iter().map(|t| key(t).to_owned()).collect();
            keys.sort();
            Err(keys)
        }
    }
}

/// A text value: strings as they are, integers rendered, byte strings as UTF-8.
pub(crate) fn read_text(row: &QueryResult, i: usize) -> Result<Option<String>, DbErr> {
    if let Ok(v) = row.try_get_by_index::<Option<String>>(i) {
        return Ok(v);
    }
    if let Ok(v) = read_int(row, i) {
        return Ok(v.map(|i| i.to_string()));
    }
    match row.try_get_by_index::<Option<Vec<u8>>>(i) {
        Ok(v) => Ok(v.map(|b| String::from_utf8_lossy(&b).into_owned())),
        Err(e) => Err(e),
    }
}

/// An id column (never NULL in OTOBO's schema); NULL is an error naming the column's position.
pub(crate) fn read_id(row: &QueryResult, i: usize) -> Result<i64, DbErr> {
    read_int(row, i)?.ok_or_else(|| DbErr::Type(format!("column {i}: a NULL id")))
}

/// An integer value of any width (PostgreSQL does not widen `SMALLINT` on its own). A text
/// column holding an integer is parsed; an empty one (OTOBO's `''`) is no value, as `NULL` is.
pub(crate) fn read_int(row: &QueryResult, i: usize) -> Result<Option<i64>, DbErr> {
    #[cfg(feature = "postgres")]
    if let Some(width) = pg_int_width(row, i) {
        // The column's type is known: no failed decode (each builds an error message) per
        // value of a search result.
        return match width {
            2 => row
                .try_get_by_index::<Option<i16>>(i)
                .map(|v| v.map(i64::from)),
            4 => row
                .try_get_by_index::<Option<i32>>(i)
                .map(|v| v.map(i64::from)),
            _ => row.try_get_by_index::<Option<i64>>(i),
        };
    }
    if let Ok(v) = row.try_get_by_index::<Option<i64>>(i) {
        return Ok(v);
    }
    if let Ok(v) = row.try_get_by_index::<Option<i32>>(i) {
        return Ok(v.map(i64::from));
    }
    if let Ok(v) = row.try_get_by_index::<Option<i16>>(i) {
        return Ok(v.map(i64::from));
    }
    if let Ok(v) = row.try_get_by_index::<Option<i8>>(i) {
        return Ok(v.map(i64::from));
    }
    match row.try_get_by_index::<Option<String>>(i) {
        Ok(None) => Ok(None),
        Ok(Some(s)) if s.trim().is_empty() => Ok(None),
        Ok(Some(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| DbErr::Type(format!("column {i}: {s:?} is not an integer"))),
        Err(e) => Err(e),
    }
}

/// The width in bytes of a PostgreSQL integer column (`INT2`, `INT4`, `INT8`), if it is one.
#[cfg(feature = "postgres")]
fn pg_int_width(row: &QueryResult, i: usize) -> Option<u8> {
    use sea_orm::sqlx::{Column, Row, TypeInfo};
    let column = row.try_as_pg_row()?.columns().get(i)?;
    match column.type_info().name() {
        "INT2" => Some(2),
        "INT4" => Some(4),
        "INT8" => Some(8),
        _ => None,
    }
}

/// A `DATETIME` as seconds since the epoch (UTC).
pub(crate) fn read_time(row: &QueryResult, i: usize) -> Result<Option<i64>, DbErr> {
    if let Ok(v) = row.try_get_by_index::<Option<NaiveDateTime>>(i) {
        return Ok(v.map(|t| t.and_utc().timestamp()));
    }
    match row.try_get_by_index::<Option<String>>(i)? {
        None => Ok(None),
        Some(s) => NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%d %H:%M:%S%.f")
            .map(|t| Some(t.and_utc().timestamp()))
            .map_err(|e| DbErr::Type(format!("column {i}: {s:?} is not a date and time: {e}"))),
    }
}

/// Seconds since the epoch as a `DATETIME` value.
pub(crate) fn time_value(epoch: i64) -> Value {
    let t = DateTime::from_timestamp(epoch, 0)
        .unwrap_or_default()
        .naive_utc();
    Value::ChronoDateTime(Some(t))
}

/// The value written for a cell: an absent one as OTOBO writes it, `''` in a text column and
/// `0` in an integer column (OTOBO `var` / `int` storage).
fn written(cell: Option<Cell>, is_text: bool) -> Value {
    match (cell, is_text) {
        (None, true) => Value::String(Some(String::new())),
        (None, false) => Value::BigInt(Some(0)),
        (Some(Cell::Text(t)), _) => Value::String(Some(t)),
        (Some(Cell::Integer(n)), true) => Value::String(Some(n.to_string())),
        (Some(Cell::Integer(n)), false) => Value::BigInt(Some(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(found: &[&str], wanted: &str) -> Result<Option<String>, Vec<String>> {
        let found: Vec<String> = found.iter().map(|s| (*s).to_owned()).collect();
        exact_or_only(found, String::as_str, wanted)
    }

    #[test]
    fn the_exact_case_wins_else_the_only_match_else_ambiguity() {
        assert_eq!(pick(&[], "acme"), Ok(None));
        assert_eq!(pick(&["ACME"], "acme"), Ok(Some("ACME".into())));
        assert_eq!(pick(&["ACME", "acme"], "acme"), Ok(Some("acme".into())));
        assert_eq!(
            pick(&["acme", "ACME", "Acme"], "Acme"),
            Ok(Some("Acme".into()))
        );
        assert_eq!(
            pick(&["acme", "ACME"], "Acme"),
            Err(vec!["ACME".to_owned(), "acme".to_owned()])
        );
        // Two rows with the very key asked for are no better than two case variants.
        assert_eq!(
            pick(&["kim", "kim"], "kim"),
            Err(vec!["kim".to_owned(), "kim".to_owned()])
        );
    }

    #[test]
    fn empty_values_are_written_as_otobo_writes_them() {
        assert_eq!(written(None, true), Value::String(Some(String::new())));
        assert_eq!(written(None, false), Value::BigInt(Some(0)));
        assert_eq!(
            written(Some(Cell::Integer(7)), true),
            Value::String(Some("7".into()))
        );
    }

    #[test]
    fn only_changed_columns_are_written() {
        use clientele_model::AttributeMapping;
        let mut level = AttributeMapping::new("UserLevel", "Level", "level");
        level.storage_type = StorageType::Integer;
        let map = AttributeMap::new(vec![
            AttributeMapping::new("UserPhone", "Phone", "phone"),
            AttributeMapping::new("UserFax", "Fax", "fax"),
            AttributeMapping::new("UserCity", "City", "city"),
            level,
        ]);
        let layout = Layout::new(&map, false);
        // Stored: phone empty (NULL or ''), fax "1", city "Berlin", level NULL.
        let stored = vec![
            None,
            Some(Cell::Text("1".into())),
            Some(Cell::Text("Berlin".into())),
            None,
        ];
        let record = |k: &str| match k {
            "UserPhone" => Some(AttributeValue::from("555")),
            "UserFax" => Some(AttributeValue::from("1")),
            "UserCity" => Some(AttributeValue::from("")),
            _ => None,
        };
        assert_eq!(
            layout.changed_values(record, &stored, false).unwrap(),
            [
                ("phone".to_owned(), Value::String(Some("555".into()))),
                ("city".to_owned(), Value::String(Some(String::new()))),
            ]
        );
        let bad = |k: &str| (k == "UserLevel").then(|| AttributeValue::from("high"));
        match layout.changed_values(bad, &stored, false) {
            Err(Error::Invalid(ValidationError::Invalid { field, .. })) => {
                assert_eq!(field, "UserLevel")
            }
            other => panic!("expected a refusal naming UserLevel, got {other:?}"),
        }
    }
}
