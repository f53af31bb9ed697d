//! `clientele export all` and `clientele import all`: everything an admin moves between
//! databases, as one JSON Lines stream with a `kind` on each line.
//!
//! The lines come in dependency order — companies, groups, services, users, then what refers
//! to them (relations, grants, default services, service assignments, preferences) — so an
//! import applied top to bottom never meets a reference to something not yet there. Users are
//! read a page at a time and preferences likewise: memory does not grow with their number.
//! Users and companies keep their audit values (`CreateTime`, `CreateBy`, `ChangeTime`,
//! `ChangeBy`); users keep their password hashes when the export was asked for them.

use std::collections::HashMap;
use std::io::{BufRead, Write};

use clientele::backend::{CatalogChanges, DEFAULT_SERVICES_LOGIN, RelationRow};
use clientele::directory::PREF_TOKEN;
use clientele::model::{AttributeMap, Audit, CustomerUser, Login, Validity, keys};
use clientele::{Directory, Error};
use serde_json::{Map, Value, json};

use super::{
    BadRow, Column, Outcome, Row, RowError, Summary, UserTarget, apply_users, audit_values,
    classify, json_object, row_of_object, upsert_company,
};
use crate::Context;
use crate::attrs::{AUDIT_COLUMNS, export_columns, text};
use crate::error::{CliError, CliResult};
use crate::output::parse_timestamp;

/// The key of a line's kind.
const KIND: &str = "kind";
/// The key of a user's stored password hash.
const PASSWORD_HASH: &str = "password_hash";
/// Users and preferences read per page.
const PAGE: usize = 1_000;

/// The kinds of line, in the order an export writes them.
pub(super) const KINDS: [&str; 10] = [
    "company",
    "group",
    "service",
    "user",
    "user_company",
    "user_grant",
    "company_grant",
    "default_service",
    "user_service",
    "preference",
];

/// Password hashes are written to a file or a pipe, never onto a terminal, where they would
/// be shown (and stay in its scroll-back).
pub(crate) fn check_hash_output(with_hashes: bool, to_terminal: bool) -> CliResult {
    if with_hashes && to_terminal {
        return Err(CliError::input(
            "--with-password-hashes would print password hashes on the terminal; give a file or \
             redirect standard output",
        ));
    }
    Ok(())
}

// ------------------------------------------------------------------ users, a page at a time

/// Every customer user of every source, a page at a time: source by source in their order,
/// each by login; a user an earlier source also holds is left out (the earlier one wins, as
/// in a search).
pub(super) struct UserPages<'a> {
    dir: &'a Directory,
    sources: Vec<String>,
    source: usize,
    after: Option<Login>,
}

impl<'a> UserPages<'a> {
    pub(super) fn new(dir: &'a Directory) -> UserPages<'a> {
        UserPages {
            dir,
            sources: dir.source_names(),
            source: 0,
            after: None,
        }
    }

    /// The next page with its source's name; `None` after the last.
    pub(super) async fn next(&mut self) -> Result<Option<(String, Vec<CustomerUser>)>, Error> {
        while let Some(name) = self.sources.get(self.source).cloned() {
            let page = self
                .dir
                .customer_users_after(&name, self.after.as_ref(), PAGE)
                .await?;
            let Some(last) = page.last() else {
                self.source += 1;
                self.after = None;
                continue;
            };
            self.after = Some(last.login.clone());
            if self.source == 0 {
                return Ok(Some((name, page)));
            }
            let mut kept = Vec::with_capacity(page.len());
            for user in page {
                let owner = self
                    .dir
                    .customer_user_with_source(user.login.as_str())
                    .await?;
                if owner.is_none_or(|(_, source)| source == name) {
                    kept.push(user);
                }
            }
            return Ok(Some((name, kept)));
        }
        Ok(None)
    }
}

/// The user columns of every source, in source order, without duplicates.
pub(super) fn user_columns(dir: &Directory) -> Vec<String> {
    let mut columns: Vec<String> = Vec::new();
    for name in dir.source_names() {
        if let Some(s) = dir.source_settings(&name) {
            for c in export_columns(&s.map, &[]) {
                if !columns.contains(&c) {
                    columns.push(c);
                }
            }
        }
    }
    columns
}

/// A record's values for `columns`, then its audit values.
pub(super) fn record_values(
    columns: &[String],
    value: impl Fn(&str) -> String,
    audit: &Audit,
) -> Vec<String> {
    let mut values: Vec<String> = columns.iter().map(|k| value(k)).collect();
    values.extend(audit_values(audit));
    values
}

// ------------------------------------------------------------------ export

fn line(out: &mut dyn Write, kind: &str, mut object: Map<String, Value>) -> CliResult {
    let mut ordered = Map::new();
    ordered.insert(KIND.into(), json!(kind));
    ordered.append(&mut object);
    serde_json::to_writer(&mut *out, &ordered)?;
    out.write_all(b"\n")?;
    Ok(())
}

fn fields(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// `object` with the stored audit values of `row` (the ones known) under OTOBO's keys.
fn audited(
    mut object: Map<String, Value>,
    audits: &HashMap<RelationRow, Audit>,
    row: RelationRow,
) -> Map<String, Value> {
    if let Some(audit) = audits.get(&row) {
        for (key, value) in AUDIT_COLUMNS.iter().zip(audit_values(audit)) {
            if !value.is_empty() {
                object.insert((*key).to_owned(), json!(value));
            }
        }
    }
    object
}

/// A group's or a service's line: name, validity and comment.
fn catalog_fields(name: &str, validity: Validity, comment: Option<&str>) -> Map<String, Value> {
    let mut object = fields(&[
        ("name", json!(name)),
        ("valid", json!(i64::from(validity.id()))),
    ]);
    if let Some(comment) = comment.filter(|c| !c.is_empty()) {
        object.insert("comment".into(), json!(comment));
    }
    object
}

/// Writes everything; answers how many lines of each kind.
pub(super) async fn export_all(
    ctx: &Context,
    out: &mut dyn Write,
    with_hashes: bool,
) -> CliResult<Vec<(&'static str, u64)>> {
    let dir = ctx.dir();
    let mut counts: Vec<(&'static str, u64)> = KINDS.iter().map(|k| (*k, 0)).collect();
    let mut count = |kind: &str| {
        if let Some(c) = counts.iter_mut().find(|(k, _)| *k == kind) {
            c.1 += 1;
        }
    };
    let with_audit = |mut columns: Vec<String>| {
        columns.extend(AUDIT_COLUMNS.iter().map(|c| (*c).to_owned()));
        columns
    };

    let company_map = &ctx.config.customer_company.map;
    let company_columns = export_columns(company_map, &[]);
    let all_company_columns = with_audit(company_columns.clone());
    let companies = dir.search_companies(None, false, Some(usize::MAX)).await?;
    for c in &companies {
        let values = record_values(&company_columns, |k| text(c.attribute(k)), &c.audit);
        line(out, "company", json_object(&all_company_columns, &values))?;
        count("company");
    }
    drop(companies);

    // Creation and last change of every group, service, relation and grant, by natural key.
    let audits: HashMap<RelationRow, Audit> = dir.relation_audits().await?.into_iter().collect();
    let groups = dir.groups().await?;
    let group_names: HashMap<_, _> = groups.iter().map(|g| (g.id, g.name.clone())).collect();
    for g in &groups {
        let object = catalog_fields(&g.name, g.validity, g.comment.as_deref());
        let row = RelationRow::Group {
            name: g.name.clone(),
        };
        line(out, "group", audited(object, &audits, row))?;
        count("group");
    }
    let services = dir.services().await?;
    let service_names: HashMap<_, _> = services.iter().map(|s| (s.id, s.name.clone())).collect();
    for s in &services {
        let object = catalog_fields(&s.name, s.validity, s.comment.as_deref());
        let row = RelationRow::Service {
            name: s.name.clone(),
        };
        line(out, "service", audited(object, &audits, row))?;
        count("service");
    }

    let columns = user_columns(dir);
    let all_columns = with_audit(columns.clone());
    let mut pages = UserPages::new(dir);
    while let Some((source, page)) = pages.next().await? {
        for u in &page {
            let values = record_values(&columns, |k| text(u.attribute(k)), &u.audit);
            let mut object = json_object(&all_columns, &values);
            if with_hashes
                && let Some(hash) = dir.stored_password_hash(&source, u.login.as_str()).await?
            {
                object.insert(PASSWORD_HASH.into(), json!(hash));
            }
            line(out, "user", object)?;
            count("user");
        }
    }

    let snapshot = dir.relation_snapshot().await?;
    let group_of = |id| group_names.get(id).cloned().unwrap_or_default();
    for (login, customer_id) in &snapshot.user_companies {
        let f = fields(&[("login", json!(login)), ("customer_id", json!(customer_id))]);
        let row = RelationRow::UserCompany {
            login: login.clone(),
            customer_id: customer_id.clone(),
        };
        line(out, "user_company", audited(f, &audits, row))?;
        count("user_company");
    }
    for g in &snapshot.user_grants {
        let permission = g.permission.to_string();
        let f = fields(&[
            ("login", json!(g.login)),
            ("group", json!(group_of(&g.group_id))),
            ("permission", json!(permission)),
        ]);
        let row = RelationRow::UserGrant {
            login: g.login.clone(),
            group_id: g.group_id,
            permission,
        };
        line(out, "user_grant", audited(f, &audits, row))?;
        count("user_grant");
    }
    for g in &snapshot.company_grants {
        let (permission, context) = (g.permission.to_string(), g.context.to_string());
        let f = fields(&[
            ("customer_id", json!(g.customer_id)),
            ("group", json!(group_of(&g.group_id))),
            ("permission", json!(permission)),
            ("context", json!(context)),
        ]);
        let row = RelationRow::CompanyGrant {
            customer_id: g.customer_id.clone(),
            group_id: g.group_id,
            permission,
            context,
        };
        line(out, "company_grant", audited(f, &audits, row))?;
        count("company_grant");
    }
    drop(snapshot);

    for (login, id) in dir.service_assignments().await? {
        let service = json!(service_names.get(&id).cloned().unwrap_or_default());
        let row = RelationRow::UserService {
            login: login.clone(),
            service_id: id,
        };
        if login == DEFAULT_SERVICES_LOGIN {
            let f = fields(&[("service", service)]);
            line(out, "default_service", audited(f, &audits, row))?;
            count("default_service");
        } else {
            let f = fields(&[("login", json!(login)), ("service", service)]);
            line(out, "user_service", audited(f, &audits, row))?;
            count("user_service");
        }
    }
    drop(audits);

    let mut after: Option<(String, String)> = None;
    loop {
        let cursor = after.as_ref().map(|(l, k)| (l.as_str(), k.as_str()));
        let page = dir.preferences_after(cursor, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some((last.0.clone(), last.1.clone()));
        for (login, key, value) in &page {
            // A one-time token is a secret that is only good where it was made.
            if key == PREF_TOKEN {
                continue;
            }
            let f = fields(&[
                ("login", json!(login)),
                ("key", json!(key)),
                ("value", json!(value)),
            ]);
            line(out, "preference", f)?;
            count("preference");
        }
    }
    out.flush()?;
    Ok(counts)
}

// ------------------------------------------------------------------ import

/// The audit values of an object (its `CreateTime` … keys, removed from it); an error naming
/// the key of a time that does not parse.
fn take_audit(object: &mut Map<String, Value>) -> Result<Audit, String> {
    let mut take = |key: &str| {
        object
            .remove(key)
            .map(|v| super::json_text(&v))
            .filter(|v| !v.trim().is_empty())
    };
    let time = |key: &str, v: Option<String>| match v {
        None => Ok(None),
        Some(t) => parse_timestamp(&t)
            .map(Some)
            .ok_or_else(|| format!("{key} = {t:?} is not a time (YYYY-MM-DD HH:MM:SS, UTC)")),
    };
    let [created_at, created_by, changed_at, changed_by] = AUDIT_COLUMNS.map(&mut take);
    Ok(Audit {
        created_at: time(AUDIT_COLUMNS[0], created_at)?,
        created_by,
        changed_at: time(AUDIT_COLUMNS[2], changed_at)?,
        changed_by,
    })
}

/// A text field of a relation line; an error naming it when missing or empty.
fn field<'o>(object: &'o Map<String, Value>, key: &str) -> Result<&'o str, String> {
    object
        .get(key)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| format!("`{key}` is required"))
}

fn validity_of(object: &Map<String, Value>) -> Result<Validity, String> {
    match object.get("valid") {
        None | Some(Value::Null) => Ok(Validity::Valid),
        Some(v) => {
            let t = super::json_text(v);
            match t.parse::<i64>() {
                Ok(id) => Validity::from_id(id).map_err(|e| e.to_string()),
                Err(_) => t.parse::<Validity>().map_err(|_| {
                    format!("valid = {t:?}: use 1/valid, 2/invalid or 3/invalid-temporarily")
                }),
            }
        }
    }
}

/// What an import of everything reads and writes with.
pub(super) struct AllImport<'a> {
    pub(super) dir: &'a Directory,
    pub(super) users: UserTarget<'a>,
    pub(super) company_map: &'a AttributeMap,
    pub(super) by: &'a str,
    pub(super) bulk: bool,
    pub(super) stop: bool,
    pub(super) batch_size: usize,
}

/// Reads and applies every line in file order, counting into `summary`. Consecutive user lines
/// are applied as batches (see [`apply_users`]); every other line is applied on its own, after
/// the users before it. Answers the error that stopped the import, if one did.
pub(super) async fn import_all(
    imp: &AllImport<'_>,
    reader: &mut dyn BufRead,
    summary: &mut Summary,
    report: &mut dyn FnMut(&RowError),
) -> CliResult<Option<Error>> {
    let mut users: Vec<Result<Row, BadRow>> = Vec::new();
    let mut user_columns: HashMap<String, Option<Column>> = HashMap::new();
    let mut company_columns: HashMap<String, Option<Column>> = HashMap::new();
    let mut buf = String::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let eof = reader.read_line(&mut buf)? == 0;
        if !eof {
            line_no += 1;
            if buf.trim().is_empty() {
                continue;
            }
        }
        let parsed = if eof {
            None
        } else {
            Some(match serde_json::from_str::<Value>(&buf) {
                Ok(Value::Object(mut o)) => match o.remove(KIND) {
                    Some(Value::String(kind)) => Ok((kind, o)),
                    _ => Err(format!(
                        "no `{KIND}`: each line needs one of {}",
                        KINDS.join(", ")
                    )),
                },
                Ok(_) => Err("not a JSON object".to_owned()),
                Err(e) => Err(format!("not valid JSON: {e}")),
            })
        };
        if let Some(Ok((kind, object))) = &parsed
            && kind == "user"
        {
            let mut object = object.clone();
            let row = user_row(line_no, &mut object, &mut user_columns, imp.users.map);
            users.push(row);
            if users.len() < imp.batch_size {
                continue;
            }
        }
        if !users.is_empty() {
            let batch = std::mem::take(&mut users);
            let outcomes = apply_users(&imp.users, &batch, imp.bulk, imp.stop).await;
            for (i, outcome) in outcomes.into_iter().enumerate() {
                let Some(outcome) = outcome else { continue };
                let (line, key) = match &batch[i] {
                    Ok(row) => (row.line, row.get(keys::LOGIN).map(str::to_owned)),
                    Err(bad) => (bad.line, None),
                };
                if let Some(stop) = count(imp, summary, report, line, key, outcome) {
                    return Ok(stop);
                }
            }
        }
        let Some(parsed) = parsed else { break };
        let outcome = match parsed {
            Err(message) => Ok(Outcome::Failed(message)),
            Ok((kind, _)) if kind == "user" => continue,
            Ok((kind, mut object)) => {
                apply_line(imp, &kind, &mut object, line_no, &mut company_columns).await
            }
        };
        if let Some(stop) = count(imp, summary, report, line_no, None, outcome) {
            return Ok(stop);
        }
    }
    Ok(None)
}

/// Counts one outcome; `Some` when the import stops here (with the error that stopped it, or
/// `None` after a bad line with `--on-error stop`).
fn count(
    imp: &AllImport<'_>,
    summary: &mut Summary,
    report: &mut dyn FnMut(&RowError),
    line: u64,
    key: Option<String>,
    outcome: Result<Outcome, Error>,
) -> Option<Option<Error>> {
    match outcome {
        Ok(Outcome::Added) => summary.added += 1,
        Ok(Outcome::Updated) => summary.updated += 1,
        Ok(Outcome::Unchanged) => summary.unchanged += 1,
        Ok(Outcome::Failed(error)) => {
            summary.failed += 1;
            let e = RowError { line, key, error };
            report(&e);
            summary.errors.push(e);
            if imp.stop {
                summary.stopped_early = true;
                return Some(None);
            }
        }
        Err(e) => return Some(Some(e)),
    }
    None
}

/// A user line as a row: its hash and audit values taken out, the rest by the user map.
fn user_row(
    line: u64,
    object: &mut Map<String, Value>,
    columns: &mut HashMap<String, Option<Column>>,
    map: &AttributeMap,
) -> Result<Row, BadRow> {
    let audit = take_audit(object).map_err(|message| BadRow { line, message })?;
    let hash = object
        .remove(PASSWORD_HASH)
        .map(|v| super::json_text(&v))
        .filter(|h| !h.is_empty());
    let mut row = row_of_object(line, std::mem::take(object), columns, map)?;
    row.audit = audit;
    row.password_hash = hash;
    Ok(row)
}

/// Applies one line that is not a user; a group, service, relation or grant line then gets
/// the audit values it carries back on its stored row.
async fn apply_line(
    imp: &AllImport<'_>,
    kind: &str,
    object: &mut Map<String, Value>,
    line: u64,
    company_columns: &mut HashMap<String, Option<Column>>,
) -> Result<Outcome, Error> {
    if matches!(kind, "company" | "preference") {
        return apply_record(imp, kind, object, line, company_columns).await;
    }
    let audit = match take_audit(object) {
        Ok(audit) => audit,
        Err(message) => return Ok(Outcome::Failed(message)),
    };
    let outcome = apply_record(imp, kind, object, line, company_columns).await?;
    if matches!(outcome, Outcome::Failed(_)) || audit == Audit::default() {
        return Ok(outcome);
    }
    let row = match stored_row(imp.dir, kind, object).await {
        Ok(Some(row)) => row,
        Ok(None) => return Ok(outcome),
        Err(e) => return classify(Err(e)),
    };
    classify(
        imp.dir
            .restore_relation_audit(&row, &audit)
            .await
            .map(|_| outcome),
    )
}

/// The stored row a relation line was written to, by the target's names and ids.
async fn stored_row(
    dir: &Directory,
    kind: &str,
    object: &Map<String, Value>,
) -> Result<Option<RelationRow>, Error> {
    let get = |key: &str| field(object, key).unwrap_or_default().to_owned();
    // The Directory writes a user's or a company's relations under its stored spelling.
    let login = async |login: String| -> Result<String, Error> {
        Ok(match dir.customer_user(&login).await? {
            Some(user) => user.login.as_str().to_owned(),
            None => login,
        })
    };
    let company = async |id: String| -> Result<String, Error> {
        Ok(match dir.company(&id).await? {
            Some(c) => c.customer_id.as_str().to_owned(),
            None => id,
        })
    };
    let service_id = async |name: String| -> Result<Option<i64>, Error> {
        Ok(dir
            .services()
            .await?
            .into_iter()
            .find(|s| s.name == name)
            .map(|s| s.id))
    };
    Ok(Some(match kind {
        "group" => RelationRow::Group { name: get("name") },
        "service" => RelationRow::Service { name: get("name") },
        "user_company" => RelationRow::UserCompany {
            login: login(get("login")).await?,
            customer_id: company(get("customer_id")).await?,
        },
        "user_grant" => RelationRow::UserGrant {
            login: login(get("login")).await?,
            group_id: dir.group(&get("group")).await?.id,
            permission: get("permission"),
        },
        "company_grant" => RelationRow::CompanyGrant {
            customer_id: company(get("customer_id")).await?,
            group_id: dir.group(&get("group")).await?.id,
            permission: get("permission"),
            context: get("context"),
        },
        "default_service" | "user_service" => {
            let Some(service_id) = service_id(get("service")).await? else {
                return Ok(None);
            };
            let login = if kind == "default_service" {
                DEFAULT_SERVICES_LOGIN.to_owned()
            } else {
                login(get("login")).await?
            };
            RelationRow::UserService { login, service_id }
        }
        _ => return Ok(None),
    }))
}

/// The comment of a group or service line (`None`: none, or empty).
fn comment_of(object: &Map<String, Value>) -> Option<String> {
    object
        .get("comment")
        .map(super::json_text)
        .filter(|c| !c.is_empty())
}

/// Applies one line that is not a user, as written.
async fn apply_record(
    imp: &AllImport<'_>,
    kind: &str,
    object: &mut Map<String, Value>,
    line: u64,
    company_columns: &mut HashMap<String, Option<Column>>,
) -> Result<Outcome, Error> {
    let dir = imp.dir;
    let by = imp.by;
    macro_rules! text {
        ($key:expr) => {
            match field(object, $key) {
                Ok(v) => v,
                Err(message) => return Ok(Outcome::Failed(message)),
            }
        };
    }
    let applied = |r: Result<(), Error>| classify(r.map(|()| Outcome::Added));
    match kind {
        "company" => {
            let audit = match take_audit(object) {
                Ok(a) => a,
                Err(message) => return Ok(Outcome::Failed(message)),
            };
            match row_of_object(
                line,
                std::mem::take(object),
                company_columns,
                imp.company_map,
            ) {
                Ok(row) => classify(upsert_company(dir, imp.company_map, by, &row, audit).await),
                Err(bad) => Ok(Outcome::Failed(bad.message)),
            }
        }
        "group" => {
            let name = text!("name");
            let validity = match validity_of(object) {
                Ok(v) => v,
                Err(message) => return Ok(Outcome::Failed(message)),
            };
            let comment = comment_of(object);
            match dir.groups().await?.into_iter().find(|g| g.name == name) {
                Some(g) if g.validity == validity && g.comment == comment => Ok(Outcome::Unchanged),
                Some(g) => {
                    let mut changes = CatalogChanges::new().validity(validity);
                    if g.comment != comment {
                        changes = changes.comment(comment);
                    }
                    classify(
                        dir.update_group(name, changes, by)
                            .await
                            .map(|_| Outcome::Updated),
                    )
                }
                None => {
                    let added = dir.add_group(name, by).await.map(|_| ());
                    let changes = CatalogChanges::new().comment(comment.clone());
                    let added = match added {
                        Ok(()) if validity != Validity::Valid || comment.is_some() => dir
                            .update_group(name, changes.validity(validity), by)
                            .await
                            .map(|_| ()),
                        other => other,
                    };
                    applied(added)
                }
            }
        }
        "service" => {
            let name = text!("name");
            let validity = match validity_of(object) {
                Ok(v) => v,
                Err(message) => return Ok(Outcome::Failed(message)),
            };
            let comment = comment_of(object);
            match dir.services().await?.into_iter().find(|s| s.name == name) {
                Some(s) if s.validity == validity && s.comment == comment => Ok(Outcome::Unchanged),
                Some(s) if s.validity == validity => classify(
                    dir.update_service(name, CatalogChanges::new().comment(comment), by)
                        .await
                        .map(|_| Outcome::Updated),
                ),
                Some(s) => Ok(Outcome::Failed(format!(
                    "service {name:?} exists as {}; an import does not change a service's validity",
                    s.validity
                ))),
                None => {
                    let added = dir.add_service_as(name, validity, by).await.map(|_| ());
                    let added = match added {
                        Ok(()) if comment.is_some() => dir
                            .update_service(name, CatalogChanges::new().comment(comment), by)
                            .await
                            .map(|_| ()),
                        other => other,
                    };
                    applied(added)
                }
            }
        }
        "user_company" => {
            let (login, customer_id) = (text!("login"), text!("customer_id"));
            applied(dir.relate_company(login, customer_id, true, by).await)
        }
        "user_grant" => {
            let (login, group, permission) = (text!("login"), text!("group"), text!("permission"));
            applied(
                dir.add_user_permissions(login, group, &[permission], by)
                    .await,
            )
        }
        "company_grant" => {
            let customer_id = text!("customer_id");
            let (group, permission, context) =
                (text!("group"), text!("permission"), text!("context"));
            applied(
                dir.add_company_permissions(customer_id, group, context, &[permission], by)
                    .await,
            )
        }
        "default_service" => {
            let service = text!("service");
            applied(dir.set_default_service(service, true, by).await)
        }
        "user_service" => {
            let (login, service) = (text!("login"), text!("service"));
            applied(dir.assign_service(login, service, true, by).await)
        }
        "preference" => {
            let (login, key) = (text!("login"), text!("key"));
            let value = object
                .get("value")
                .map(super::json_text)
                .unwrap_or_default();
            applied(dir.set_preference(login, key, &value).await)
        }
        other => Ok(Outcome::Failed(format!(
            "unknown {KIND} {other:?}: one of {}",
            KINDS.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_never_go_to_a_terminal() {
        let refused = check_hash_output(true, true).expect_err("refused on a terminal");
        assert!(refused.message.contains("--with-password-hashes"));
        assert!(check_hash_output(true, false).is_ok());
        assert!(check_hash_output(false, true).is_ok());
    }

    #[test]
    fn audit_values_are_taken_from_a_line() {
        let mut object: Map<String, Value> = serde_json::from_str(
            r#"{"UserLogin":"ann","CreateTime":"2001-09-09 01:46:40","CreateBy":"3","ChangeBy":""}"#,
        )
        .unwrap();
        let audit = take_audit(&mut object).unwrap();
        assert_eq!(audit.created_at, Some(1_000_000_000));
        assert_eq!(audit.created_by.as_deref(), Some("3"));
        assert_eq!(audit.changed_at, None);
        assert_eq!(audit.changed_by, None);
        assert_eq!(object.len(), 1, "only the attributes are left");
        let mut bad: Map<String, Value> =
            serde_json::from_str(r#"{"ChangeTime":"last week"}"#).unwrap();
        assert!(take_audit(&mut bad).unwrap_err().contains("ChangeTime"));
    }
}
