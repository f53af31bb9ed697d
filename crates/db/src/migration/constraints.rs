//! Migration 2: the constraints OTOBO lacks and correctness needs — or, beside a running OTOBO,
//! none of them.

use std::collections::BTreeMap;

use sea_orm::{ConnectionTrait, DbBackend, DbErr};
use sea_orm_migration::prelude::*;

use super::catalog::{Catalog, index_object, sql_of, table_objects};
use super::plan::{
    Change, Conflict, ConflictKind, MigrateOptions, ObjectKind, PlannedMerge, PlannedObject,
    RowValues,
};
use super::{alias, quote};

/// Adds, to Clientele's schema or an existing OTOBO database, without coexistence
/// ([`MigrateOptions::coexist`] off):
///
/// | index | on | why |
/// |---|---|---|
/// | `customer_user_customer_clientele_uniq` | `(user_id, customer_id)` | a relation is there or not |
/// | `group_customer_user_clientele_uniq` | `(user_id, group_id, permission_key)` | one row per grant |
/// | `group_customer_clientele_uniq` | `(customer_id, group_id, permission_key, permission_context)` | one row per grant |
/// | `service_customer_user_clientele_uniq` | `(customer_user_login, service_id)` | one row per assignment |
/// | `customer_preferences_clientele_uniq` | `(user_id, preferences_key)` | one value per key |
/// | `customer_user_login_lower` (PostgreSQL, SQLite) | `lower(login)`, unique | `Bob` and `bob` are one login |
/// | `customer_company_customer_id_lower` (PostgreSQL, SQLite) | `lower(customer_id)`, unique | company ids compare case-insensitively |
/// | `customer_user_email_lower` / `customer_user_email` | `lower(email)` / `email` | email checks and postmaster searches use an index |
///
/// and in either mode, on MySQL/MariaDB, the table `clientele_lock` with its 1024 rows: the row
/// locks that serialise the uniqueness checks of writers (email, login, company id, relation,
/// grant, service and preference keys).
///
/// MySQL/MariaDB needs no lower-case login index: OTOBO's `customer_user_login` index already
/// compares with the table's case-insensitive collation. Rows that are exact duplicates in the
/// relation tables (OTOBO has no constraint there) are merged to one before each unique index is
/// created; rows with one key but different values, and logins or company ids that differ only
/// in case, stop the migration before any change (see
/// [`plan_migration`](crate::plan_migration)).
///
/// With coexistence nothing of this is added to OTOBO's tables, and what an earlier run added
/// there is dropped.
pub struct CorrectnessConstraints;

impl MigrationName for CorrectnessConstraints {
    fn name(&self) -> &str {
        "m20250601_000002_correctness_constraints"
    }
}

/// A table without a unique key in OTOBO: its key columns, the columns that hold its value,
/// and its audit columns.
struct Dedupe {
    table: &'static str,
    index: &'static str,
    key: &'static [&'static str],
    data: &'static [&'static str],
    audit: &'static [&'static str],
}

const AUDIT: &[&str] = &["create_time", "create_by", "change_time", "change_by"];

const DEDUPES: &[Dedupe] = &[
    Dedupe {
        table: "customer_user_customer",
        index: "customer_user_customer_clientele_uniq",
        key: &["user_id", "customer_id"],
        data: &[],
        audit: AUDIT,
    },
    Dedupe {
        table: "group_customer_user",
        index: "group_customer_user_clientele_uniq",
        key: &["user_id", "group_id", "permission_key"],
        data: &["permission_value"],
        audit: AUDIT,
    },
    Dedupe {
        table: "group_customer",
        index: "group_customer_clientele_uniq",
        key: &[
            "customer_id",
            "group_id",
            "permission_key",
            "permission_context",
        ],
        data: &["permission_value"],
        audit: AUDIT,
    },
    Dedupe {
        table: "service_customer_user",
        index: "service_customer_user_clientele_uniq",
        key: &["customer_user_login", "service_id"],
        data: &[],
        audit: &["create_time", "create_by"],
    },
    Dedupe {
        table: "customer_preferences",
        index: "customer_preferences_clientele_uniq",
        key: &["user_id", "preferences_key"],
        data: &["preferences_value"],
        audit: &[],
    },
];

/// A case-insensitive unique index (PostgreSQL, SQLite): table, column, index, and the columns
/// that name an offending row.
struct LowerUnique {
    table: &'static str,
    column: &'static str,
    index: &'static str,
    shown: &'static [&'static str],
}

const LOWER_UNIQUES: &[LowerUnique] = &[
    LowerUnique {
        table: "customer_user",
        column: "login",
        index: "customer_user_login_lower",
        shown: &["id", "login"],
    },
    LowerUnique {
        table: "customer_company",
        column: "customer_id",
        index: "customer_company_customer_id_lower",
        shown: &["customer_id", "name"],
    },
];

/// An index Clientele adds to one of OTOBO's tables: table, name, kind, columns.
type ClienteleIndex = (&'static str, &'static str, ObjectKind, Vec<String>);

/// Every index Clientele adds to OTOBO's tables (any database): what coexistence drops.
fn clientele_indexes() -> Vec<ClienteleIndex> {
    let mut all: Vec<ClienteleIndex> = DEDUPES
        .iter()
        .map(|d| {
            let columns = d.key.iter().map(|c| (*c).to_owned()).collect();
            (d.table, d.index, ObjectKind::UniqueIndex, columns)
        })
        .collect();
    all.extend(LOWER_UNIQUES.iter().map(|l| {
        let columns = vec![format!("lower({})", l.column)];
        (l.table, l.index, ObjectKind::UniqueIndex, columns)
    }));
    all.push((
        "customer_user",
        "customer_user_email_lower",
        ObjectKind::Index,
        vec!["lower(email)".to_owned()],
    ));
    all.push((
        "customer_user",
        "customer_user_email",
        ObjectKind::Index,
        vec!["email".to_owned()],
    ));
    all
}

/// Number of rows in `clientele_lock` (MySQL): lock-key hashes are spread over these.
pub(crate) const LOCK_ROWS: i32 = 1024;

/// The lock table (MySQL/MariaDB).
pub(crate) const LOCK_TABLE: &str = "clientele_lock";

/// A preference value that may be a secret (a token, a password): its key names one.
fn secret_key(key: &str) -> bool {
    let k = key.to_lowercase();
    k.contains("token") || k.contains("password") || k.contains("pw") || k.contains("secret")
}

/// The row as shown in a plan or an error: a preference value whose key names a secret is
/// replaced.
fn shown(d: &Dedupe, columns: &[&str], values: &[Option<String>]) -> RowValues {
    let secret = d.table == "customer_preferences"
        && columns
            .iter()
            .zip(values)
            .any(|(c, v)| *c == "preferences_key" && v.as_deref().is_some_and(secret_key));
    RowValues(
        columns
            .iter()
            .zip(values)
            .map(|(c, v)| {
                let v = if secret && *c == "preferences_value" && v.is_some() {
                    Some("(secret, not shown)".to_owned())
                } else {
                    v.clone()
                };
                ((*c).to_owned(), v)
            })
            .collect(),
    )
}

/// `CAST(<expr> AS <text type>)`.
fn as_text(backend: DbBackend, expr: &str) -> String {
    match backend {
        DbBackend::MySql => format!("CAST({expr} AS CHAR)"),
        _ => format!("CAST({expr} AS TEXT)"),
    }
}

/// One stored row of a group of duplicates: its values (key, data, audit columns in that
/// order) and, where the database has one, the row's own address (PostgreSQL `ctid`, SQLite
/// `rowid`).
struct Stored {
    values: Vec<Option<String>>,
    address: Option<String>,
}

/// The rows of `d.table` that share a key with another row, as the database compares keys
/// (so case variants group together on MySQL's `_ci` collations), grouped by that key.
async fn duplicate_groups(cat: &Catalog<'_>, d: &Dedupe) -> Result<Vec<Vec<Stored>>, DbErr> {
    let b = cat.backend();
    let q = |s: &str| quote(b, s);
    let table = q(d.table);
    let keys: Vec<String> = d.key.iter().map(|c| q(c)).collect();
    let columns: Vec<&str> = d.key.iter().chain(d.data).chain(d.audit).copied().collect();
    let mut select: Vec<String> = d
        .key
        .iter()
        .map(|c| as_text(b, &format!("d.{}", q(c))))
        .collect();
    select.extend(columns.iter().map(|c| as_text(b, &format!("t.{}", q(c)))));
    match b {
        DbBackend::Postgres => select.push(as_text(b, "t.ctid")),
        DbBackend::Sqlite => select.push(as_text(b, "t.rowid")),
        _ => {}
    }
    let on: Vec<String> = d
        .key
        .iter()
        .map(|c| format!("t.{c} = d.{c}", c = q(c)))
        .collect();
    let sql = format!(
        "SELECT {select} FROM {table} t JOIN (SELECT {keys} FROM {table} GROUP BY {keys} \
         HAVING COUNT(*) > 1) d ON {on}",
        select = select.join(", "),
        keys = keys.join(", "),
        on = on.join(" AND "),
    );
    let rows = cat
        .conn()
        .query_all_raw(sea_orm::Statement::from_string(b, sql))
        .await?;
    let mut groups: BTreeMap<Vec<Option<String>>, Vec<Stored>> = BTreeMap::new();
    let n = d.key.len();
    for r in &rows {
        let mut all = Vec::with_capacity(n + columns.len() + 1);
        for i in 0..(n + columns.len() + usize::from(b != DbBackend::MySql)) {
            all.push(r.try_get_by_index::<Option<String>>(i)?);
        }
        let address = if b == DbBackend::MySql {
            None
        } else {
            all.pop().flatten()
        };
        let group = all[..n].to_vec();
        groups.entry(group).or_default().push(Stored {
            values: all[n..].to_vec(),
            address,
        });
    }
    Ok(groups.into_values().collect())
}

/// The statement that drops `row` of a group of exact duplicates: by its address on
/// PostgreSQL and SQLite; on MySQL by its key and audit values (the group's rows agree on every
/// other column), one row.
fn drop_statement(b: DbBackend, d: &Dedupe, row: &Stored) -> Result<String, DbErr> {
    let table = quote(b, d.table);
    match (b, &row.address) {
        (DbBackend::Postgres, Some(ctid))
            if ctid.starts_with('(')
                && ctid.ends_with(')')
                && ctid[1..ctid.len() - 1]
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == ',') =>
        {
            Ok(format!("DELETE FROM {table} WHERE ctid = '{ctid}'"))
        }
        (DbBackend::Sqlite, Some(rowid)) => {
            let rowid: i64 = rowid
                .parse()
                .map_err(|_| DbErr::Migration(format!("{table}: a rowid {rowid:?}")))?;
            Ok(format!("DELETE FROM {table} WHERE rowid = {rowid}"))
        }
        (DbBackend::MySql, _) => {
            let mut delete = Query::delete();
            delete.from_table(alias(d.table)).limit(1);
            let offset = d.key.len() + d.data.len();
            let identifying = d
                .key
                .iter()
                .enumerate()
                .map(|(i, k)| (*k, i))
                .chain(d.audit.iter().enumerate().map(|(i, a)| (*a, offset + i)));
            for (column, i) in identifying {
                delete.and_where(match row.values.get(i).and_then(Option::as_deref) {
                    Some(v) => Expr::col(alias(column)).eq(v),
                    None => Expr::col(alias(column)).is_null(),
                });
            }
            Ok(sql_of(b, &delete))
        }
        (_, address) => Err(DbErr::Migration(format!(
            "{table}: cannot address a duplicate row ({address:?})"
        ))),
    }
}

/// The merges and conflicts the duplicate rows of `d.table` make: a group whose rows agree on
/// the key and value columns, byte for byte, is merged to its first-created row; any other
/// group is a conflict.
async fn duplicates(
    cat: &Catalog<'_>,
    d: &Dedupe,
    merges: &mut Vec<PlannedMerge>,
    conflicts: &mut Vec<Conflict>,
) -> Result<(), DbErr> {
    let b = cat.backend();
    let columns: Vec<&str> = d.key.iter().chain(d.data).chain(d.audit).copied().collect();
    let agreeing = d.key.len() + d.data.len();
    for mut group in duplicate_groups(cat, d).await? {
        let first = &group[0].values[..agreeing];
        if group.iter().any(|s| s.values[..agreeing] != *first) {
            conflicts.push(Conflict {
                kind: ConflictKind::Disagreeing,
                table: d.table.to_owned(),
                index: d.index.to_owned(),
                columns: d.key.iter().map(|c| (*c).to_owned()).collect(),
                rows: group
                    .iter()
                    .map(|s| shown(d, &columns, &s.values))
                    .collect(),
            });
            continue;
        }
        // The audit columns follow the key and value columns; `create_time` first.
        group.sort_by(|a, b| a.values[agreeing..].cmp(&b.values[agreeing..]));
        let kept = group.remove(0);
        let sql = group
            .iter()
            .map(|s| drop_statement(b, d, s))
            .collect::<Result<Vec<_>, _>>()?;
        merges.push(PlannedMerge {
            table: d.table.to_owned(),
            index: d.index.to_owned(),
            kept: shown(d, &columns, &kept.values),
            dropped: group
                .iter()
                .map(|s| shown(d, &columns, &s.values))
                .collect(),
            sql,
        });
    }
    Ok(())
}

/// The rows of `l.table` whose `l.column` equals another row's but for case, grouped.
async fn case_variants(cat: &Catalog<'_>, l: &LowerUnique) -> Result<Vec<Conflict>, DbErr> {
    let b = cat.backend();
    let q = |s: &str| quote(b, s);
    let column = q(l.column);
    let mut select = vec![format!("lower({column})")];
    select.extend(l.shown.iter().map(|c| as_text(b, &q(c))));
    let sql = format!(
        "SELECT {} FROM {table} WHERE lower({column}) IN (SELECT lower({column}) FROM {table} \
         GROUP BY lower({column}) HAVING COUNT(*) > 1) ORDER BY lower({column}), {column}",
        select.join(", "),
        table = q(l.table),
    );
    let rows = cat
        .conn()
        .query_all_raw(sea_orm::Statement::from_string(b, sql))
        .await?;
    let mut groups: BTreeMap<String, Vec<RowValues>> = BTreeMap::new();
    for r in &rows {
        let folded = r.try_get_by_index::<Option<String>>(0)?.unwrap_or_default();
        let mut values = Vec::new();
        for (i, c) in l.shown.iter().enumerate() {
            values.push((
                (*c).to_owned(),
                r.try_get_by_index::<Option<String>>(i + 1)?,
            ));
        }
        groups.entry(folded).or_default().push(RowValues(values));
    }
    Ok(groups
        .into_values()
        .map(|rows| Conflict {
            kind: ConflictKind::CaseVariants,
            table: l.table.to_owned(),
            index: l.index.to_owned(),
            columns: vec![format!("lower({})", l.column)],
            rows,
        })
        .collect())
}

/// What the migration does to the schema `cat` describes, for `options`.
///
/// Without coexistence: for each missing unique index, the merges of exact duplicates and the
/// conflicts of the rows it would refuse, then the index; the email index. In either mode on
/// MySQL/MariaDB the lock table and its rows. With coexistence: every index of Clientele's on
/// OTOBO's tables is dropped.
pub(crate) async fn plan(
    cat: &mut Catalog<'_>,
    options: MigrateOptions,
    conflicts: &mut Vec<Conflict>,
) -> Result<(Vec<PlannedMerge>, Vec<PlannedObject>), DbErr> {
    let b = cat.backend();
    let mut merges = Vec::new();
    let mut objects = Vec::new();
    if options.coexist {
        for (table, index, kind, columns) in clientele_indexes() {
            if !cat.has_table(table).await? || !cat.has_index(table, index).await? {
                continue;
            }
            let drop = Index::drop().name(index).table(alias(table)).to_owned();
            let o = PlannedObject {
                change: Change::Drop,
                kind,
                table: table.to_owned(),
                name: index.to_owned(),
                columns,
                sql: vec![sql_of(b, &drop)],
            };
            cat.note(&o);
            objects.push(o);
        }
    } else {
        for d in DEDUPES {
            if cat.has_index(d.table, d.index).await? {
                continue;
            }
            if !cat.is_new(d.table) {
                duplicates(cat, d, &mut merges, conflicts).await?;
            }
            let mut i = Index::create();
            i.name(d.index).table(alias(d.table)).unique();
            for c in d.key {
                i.col(alias(c));
            }
            let o = index_object(b, d.table, &i);
            cat.note(&o);
            objects.push(o);
        }
        if b == DbBackend::MySql {
            if !cat
                .has_index("customer_user", "customer_user_email")
                .await?
            {
                let i = Index::create()
                    .name("customer_user_email")
                    .table(alias("customer_user"))
                    .col(alias("email"))
                    .to_owned();
                let o = index_object(b, "customer_user", &i);
                cat.note(&o);
                objects.push(o);
            }
        } else {
            for l in LOWER_UNIQUES {
                if cat.has_index(l.table, l.index).await? {
                    continue;
                }
                if !cat.is_new(l.table) {
                    conflicts.extend(case_variants(cat, l).await?);
                }
                let o = lower_index(b, l.table, l.column, l.index, true);
                cat.note(&o);
                objects.push(o);
            }
            if !cat
                .has_index("customer_user", "customer_user_email_lower")
                .await?
            {
                let o = lower_index(
                    b,
                    "customer_user",
                    "email",
                    "customer_user_email_lower",
                    false,
                );
                cat.note(&o);
                objects.push(o);
            }
        }
    }
    if b == DbBackend::MySql {
        objects.extend(plan_lock_table(cat).await?);
    }
    Ok((merges, objects))
}

/// An index on `lower(column)` (sea-query writes no expression indexes).
fn lower_index(
    b: DbBackend,
    table: &str,
    column: &str,
    index: &str,
    unique: bool,
) -> PlannedObject {
    PlannedObject {
        change: Change::Add,
        kind: if unique {
            ObjectKind::UniqueIndex
        } else {
            ObjectKind::Index
        },
        table: table.to_owned(),
        name: index.to_owned(),
        columns: vec![format!("lower({column})")],
        sql: vec![format!(
            "CREATE {}INDEX {} ON {} (lower({}))",
            if unique { "UNIQUE " } else { "" },
            quote(b, index),
            quote(b, table),
            quote(b, column)
        )],
    }
}

/// `clientele_lock` (MySQL/MariaDB) and its rows, where missing or incomplete.
async fn plan_lock_table(cat: &mut Catalog<'_>) -> Result<Vec<PlannedObject>, DbErr> {
    let b = cat.backend();
    let mut out = Vec::new();
    if !cat.has_table(LOCK_TABLE).await? {
        let t = Table::create()
            .table(alias(LOCK_TABLE))
            .if_not_exists()
            .engine("InnoDB")
            .col(
                ColumnDef::new(alias("id"))
                    .integer()
                    .not_null()
                    .primary_key(),
            )
            .to_owned();
        for o in table_objects(b, LOCK_TABLE, &t) {
            cat.note(&o);
            out.push(o);
        }
    }
    if cat.is_filled(LOCK_TABLE) || cat.count(LOCK_TABLE).await? >= i64::from(LOCK_ROWS) {
        return Ok(out);
    }
    let mut sql = Vec::new();
    if !cat.is_new(LOCK_TABLE) {
        // Rows a half-finished earlier run left behind are replaced: the rows carry no data.
        sql.push(sql_of(
            b,
            &Query::delete().from_table(alias(LOCK_TABLE)).to_owned(),
        ));
    }
    let mut insert = Query::insert();
    insert.into_table(alias(LOCK_TABLE)).columns([alias("id")]);
    for id in 0..LOCK_ROWS {
        insert
            .values([id.into()])
            .map_err(|e| DbErr::Migration(e.to_string()))?;
    }
    sql.push(sql_of(b, &insert));
    let rows = PlannedObject {
        change: Change::Add,
        kind: ObjectKind::Rows,
        table: LOCK_TABLE.to_owned(),
        name: format!("{LOCK_ROWS} lock rows (id 0 to {})", LOCK_ROWS - 1),
        columns: Vec::new(),
        sql,
    };
    cat.note(&rows);
    out.push(rows);
    Ok(out)
}

#[async_trait::async_trait]
impl MigrationTrait for CorrectnessConstraints {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        super::plan::up_without_coexistence(manager, self.name()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let b = manager.get_database_backend();
        if b == DbBackend::MySql {
            manager
                .drop_table(Table::drop().table(alias(LOCK_TABLE)).if_exists().take())
                .await?;
        }
        for (table, index, _, _) in clientele_indexes() {
            if manager.has_index(table, index).await? {
                manager
                    .drop_index(Index::drop().name(index).table(alias(table)).to_owned())
                    .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::secret_key;
    use crate::migration::catalog::primary_key_name;

    #[test]
    fn secrets_are_recognised_by_their_key() {
        for k in [
            "UserToken",
            "UserPw",
            "UserLastPw",
            "api_password",
            "clientSecret",
        ] {
            assert!(secret_key(k), "{k}");
        }
        for k in ["UserLanguage", "UserTimeZone", "UserShowTickets"] {
            assert!(!secret_key(k), "{k}");
        }
    }

    #[test]
    fn primary_keys_are_named_as_the_catalogs_name_them() {
        use sea_orm::DbBackend;
        assert_eq!(primary_key_name(DbBackend::Postgres, "t"), "t_pkey");
        assert_eq!(primary_key_name(DbBackend::MySql, "t"), "PRIMARY");
    }
}
