//! `clientele import` and `clientele export`: customer users and companies as CSV or JSON Lines.
//!
//! Import is streaming and idempotent: rows are read in batches, each row is an upsert by its
//! key (login or customer id) through the Directory — added when new, updated when an attribute
//! differs, left alone when nothing does — and a bad row is reported with its line number.
//!
//! Customer-user rows are applied in file order: each row sees what the rows before it wrote.
//! The batch's logins are looked up first, and a row that would change nothing is counted
//! unchanged without a write. When bad rows do not stop the import, each run of new users goes
//! through the Directory's bulk path
//! ([`Directory::import_recorded_users_to`](clientele::Directory::import_recorded_users_to))
//! before the row after it: checked as an add checks them and written with the source's bulk
//! writer (multi-row inserts in a few transactions for a `db` source), every login written
//! announced on the change feed. Every other row — an update, a login met again in the batch, a
//! row the bulk path refused — is its own transaction through the Directory. A row is either
//! stored whole or not at all, and rows before a failure stay stored (a re-run skips them).
//!
//! `import all` / `export all` (the `all` module) carry everything else as well.
//!
//! A new user without a password column gets no password on either path that counts: the
//! bulk path stores none, and the Directory's generated one was never shown. Set one with
//! `clientele user set-password`.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use clientele::directory::RecordedUser;
use clientele::model::{
    AttributeMap, AttributeValue, Audit, CustomerCompanyChanges, CustomerId, CustomerUser,
    CustomerUserChanges, NewCustomerCompany, NewCustomerUser, Password, keys,
};
use clientele::{Directory, Error};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use serde_json::json;

use crate::Context;
use crate::attrs::{AUDIT_COLUMNS, export_columns, resolve, text, unknown, value_for};
use crate::cli::{ExportArgs, Format, ImportArgs, Kind, OnError};
use crate::commands::user::target_source;
use crate::error::{CliError, CliResult, EXIT_INPUT, exit_code};
use crate::output::timestamp;

mod all;

// ------------------------------------------------------------------ rows

/// What a column of the input holds.
#[derive(Clone, Debug)]
enum Column {
    Attribute(String),
    Password,
    Skip,
}

fn column_for(map: &AttributeMap, name: &str) -> Option<Column> {
    let name = name.trim();
    if AUDIT_COLUMNS.iter().any(|c| c.eq_ignore_ascii_case(name)) {
        return Some(Column::Skip);
    }
    let password_column = map.storage_of(keys::PASSWORD).unwrap_or("pw");
    if name.eq_ignore_ascii_case(keys::PASSWORD) || name.eq_ignore_ascii_case(password_column) {
        return Some(Column::Password);
    }
    resolve(map, name).map(Column::Attribute)
}

/// One input row: its line, the attribute values and an optional password; from an export of
/// everything also the stored hash and the audit values to keep.
#[derive(Debug, Default)]
struct Row {
    line: u64,
    values: Vec<(String, String)>,
    password: Option<String>,
    password_hash: Option<String>,
    audit: Audit,
}

impl Row {
    fn get(&self, key: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A row that could not even be read.
#[derive(Debug)]
struct BadRow {
    line: u64,
    message: String,
}

/// Reads rows from CSV or JSON Lines, one at a time.
enum RowReader {
    Csv {
        reader: csv::Reader<Box<dyn Read>>,
        columns: Vec<Column>,
        record: csv::StringRecord,
    },
    Jsonl {
        reader: Box<dyn BufRead>,
        line: u64,
        columns: HashMap<String, Option<Column>>,
        map: AttributeMap,
        buf: String,
    },
}

impl RowReader {
    fn open(
        input: Box<dyn Read>,
        format: Format,
        map: &AttributeMap,
        key: &str,
    ) -> CliResult<Self> {
        match format {
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .flexible(false)
                    .from_reader(input);
                let headers = reader.headers()?.clone();
                let mut columns = Vec::new();
                for h in headers.iter() {
                    columns.push(column_for(map, h).ok_or_else(|| unknown(map, h, "column"))?);
                }
                if !columns
                    .iter()
                    .any(|c| matches!(c, Column::Attribute(k) if k == key))
                {
                    return Err(CliError::input(format!(
                        "the header row has no {key} column; every row needs one to be matched"
                    )));
                }
                Ok(RowReader::Csv {
                    reader,
                    columns,
                    record: csv::StringRecord::new(),
                })
            }
            Format::Jsonl => Ok(RowReader::Jsonl {
                reader: Box::new(BufReader::new(input)),
                line: 0,
                columns: HashMap::new(),
                map: map.clone(),
                buf: String::new(),
            }),
        }
    }

    /// Bytes read so far, for the progress bar.
    fn position(&self) -> u64 {
        match self {
            RowReader::Csv { reader, .. } => reader.position().byte(),
            RowReader::Jsonl { .. } => 0,
        }
    }

    fn next(&mut self) -> CliResult<Option<Result<Row, BadRow>>> {
        match self {
            RowReader::Csv {
                reader,
                columns,
                record,
            } => match reader.read_record(record) {
                Ok(false) => Ok(None),
                Ok(true) => {
                    let line = record.position().map_or(0, |p| p.line());
                    let mut row = Row {
                        line,
                        ..Row::default()
                    };
                    for (col, value) in columns.iter().zip(record.iter()) {
                        match col {
                            Column::Attribute(k) => row.values.push((k.clone(), value.to_owned())),
                            Column::Password if !value.is_empty() => {
                                row.password = Some(value.to_owned())
                            }
                            _ => {}
                        }
                    }
                    Ok(Some(Ok(row)))
                }
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        return Err(e.into());
                    }
                    let message = match e.kind() {
                        csv::ErrorKind::UnequalLengths {
                            expected_len, len, ..
                        } => format!("the row has {len} fields but the header has {expected_len}"),
                        csv::ErrorKind::Utf8 { .. } => "the row is not valid UTF-8".into(),
                        _ => e.to_string(),
                    };
                    Ok(Some(Err(BadRow { line, message })))
                }
            },
            RowReader::Jsonl {
                reader,
                line,
                columns,
                map,
                buf,
            } => loop {
                buf.clear();
                if reader.read_line(buf)? == 0 {
                    return Ok(None);
                }
                *line += 1;
                if buf.trim().is_empty() {
                    continue;
                }
                let object = match serde_json::from_str::<serde_json::Value>(buf) {
                    Ok(serde_json::Value::Object(o)) => o,
                    Ok(_) => {
                        return Ok(Some(Err(BadRow {
                            line: *line,
                            message: "not a JSON object".into(),
                        })));
                    }
                    Err(e) => {
                        return Ok(Some(Err(BadRow {
                            line: *line,
                            message: format!("not valid JSON: {e}"),
                        })));
                    }
                };
                return Ok(Some(row_of_object(*line, object, columns, map)));
            },
        }
    }
}

/// A JSON object as a row: each key an attribute (by key or column) or the password.
fn row_of_object(
    line: u64,
    object: serde_json::Map<String, serde_json::Value>,
    columns: &mut HashMap<String, Option<Column>>,
    map: &AttributeMap,
) -> Result<Row, BadRow> {
    let mut row = Row {
        line,
        ..Row::default()
    };
    for (k, v) in object {
        let col = columns
            .entry(k.clone())
            .or_insert_with(|| column_for(map, &k))
            .clone();
        let value = json_text(&v);
        match col {
            Some(Column::Attribute(key)) => row.values.push((key, value)),
            Some(Column::Password) if !value.is_empty() => row.password = Some(value),
            Some(_) => {}
            None => {
                return Err(BadRow {
                    line,
                    message: format!("`{k}` is not in the attribute map"),
                });
            }
        }
    }
    Ok(row)
}

fn json_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Bool(b) => if *b { "1" } else { "0" }.to_owned(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Array(a) => a.iter().map(json_text).collect::<Vec<_>>().join(";"),
        serde_json::Value::Object(_) => v.to_string(),
    }
}

// ------------------------------------------------------------------ upserts

/// What happened to one row.
#[derive(Debug)]
enum Outcome {
    Added,
    Updated,
    Unchanged,
    Failed(String),
}

/// Compares as stored: a list of customer ids in its canonical `;`-joined form.
fn comparable(key: &str, value: &AttributeValue) -> String {
    let t = value.to_text();
    if key == keys::CUSTOMER_IDS {
        CustomerId::join_list(&CustomerId::split_list(&t))
    } else {
        t
    }
}

struct UserTarget<'a> {
    dir: &'a Directory,
    source: &'a str,
    map: &'a AttributeMap,
    by: &'a str,
}

/// The new user a row describes (its empty values left out), with its password, hash and audit
/// values; the message of the first value that does not convert.
fn recorded_user(map: &AttributeMap, row: &Row) -> Result<RecordedUser, String> {
    let mut new = NewCustomerUser::default();
    for (k, v) in &row.values {
        match value_for(map, k, v) {
            Ok(value) if !value.is_empty() => new = new.with(k.as_str(), value),
            Ok(_) => {}
            Err(e) => return Err(e.message),
        }
    }
    if let Some(pw) = &row.password {
        new = new.password(Password::new(pw.clone()));
    }
    Ok(RecordedUser {
        user: new,
        password_hash: row.password_hash.clone(),
        audit: row.audit.clone(),
    })
}

/// What a row changes on the stored `user` (nothing: it is unchanged); the message of the first
/// value that does not convert.
fn user_changes(
    map: &AttributeMap,
    row: &Row,
    user: &CustomerUser,
) -> Result<CustomerUserChanges, String> {
    let mut changes = CustomerUserChanges::new();
    for (k, v) in &row.values {
        let value = value_for(map, k, v).map_err(|e| e.message)?;
        if k == keys::LOGIN {
            continue;
        }
        if comparable(k, &value) != text(user.attribute(k)) {
            changes = changes.set(k.as_str(), value);
        }
    }
    Ok(changes)
}

async fn upsert_user(t: &UserTarget<'_>, row: &Row) -> Result<Outcome, Error> {
    let Some(login) = row.get(keys::LOGIN).filter(|l| !l.trim().is_empty()) else {
        return Ok(Outcome::Failed(format!("{} is required", keys::LOGIN)));
    };
    match t.dir.customer_user(login).await? {
        None => {
            let recorded = match recorded_user(t.map, row) {
                Ok(r) => r,
                Err(message) => return Ok(Outcome::Failed(message)),
            };
            if recorded.password_hash.is_some() || recorded.audit != Audit::default() {
                let report = t
                    .dir
                    .import_recorded_users_to(t.source, vec![recorded], t.by)
                    .await?;
                if let Some(r) = report.rejected.into_iter().next() {
                    return Err(r.error);
                }
            } else {
                t.dir
                    .add_customer_user_to(t.source, recorded.user, t.by)
                    .await?;
            }
            Ok(Outcome::Added)
        }
        Some(user) => {
            let changes = match user_changes(t.map, row, &user) {
                Ok(c) => c,
                Err(message) => return Ok(Outcome::Failed(message)),
            };
            if changes.attributes.is_empty() {
                return Ok(Outcome::Unchanged);
            }
            t.dir
                .update_customer_user(user.login.as_str(), changes, t.by)
                .await?;
            Ok(Outcome::Updated)
        }
    }
}

async fn upsert_company(
    dir: &Directory,
    map: &AttributeMap,
    by: &str,
    row: &Row,
    audit: Audit,
) -> Result<Outcome, Error> {
    let Some(id) = row.get(keys::COMPANY_ID).filter(|l| !l.trim().is_empty()) else {
        return Ok(Outcome::Failed(format!("{} is required", keys::COMPANY_ID)));
    };
    let mut values = Vec::new();
    for (k, v) in &row.values {
        match value_for(map, k, v) {
            Ok(value) => values.push((k.as_str(), value)),
            Err(e) => return Ok(Outcome::Failed(e.message)),
        }
    }
    match dir.company(id).await? {
        None => {
            let mut new = NewCustomerCompany::default();
            for (k, v) in values {
                if !v.is_empty() {
                    new = new.with(k, v);
                }
            }
            dir.add_company_recorded(new, audit, by).await?;
            Ok(Outcome::Added)
        }
        Some(company) => {
            let mut changes = CustomerCompanyChanges::new();
            for (k, v) in values {
                if k == keys::COMPANY_ID {
                    continue;
                }
                if v.to_text() != text(company.attribute(k)) {
                    changes = changes.set(k, v);
                }
            }
            if changes.attributes.is_empty() {
                return Ok(Outcome::Unchanged);
            }
            dir.update_company(company.customer_id.as_str(), changes, by)
                .await?;
            Ok(Outcome::Updated)
        }
    }
}

/// What the rows of one batch did, by position: `None` for a row not reached (after a stop).
type Outcomes = Vec<Option<Result<Outcome, Error>>>;

/// Applies a batch of customer-user rows in file order: each row sees what the rows before it
/// wrote, so a file that is valid read top to bottom is imported whole.
///
/// The batch's logins are looked up first; a row whose stored user it would not change is
/// counted unchanged without a write. With `bulk`, runs of new users (a login not stored and
/// not met earlier in the batch) go to the Directory's bulk path together
/// ([`Directory::import_recorded_users_to`]): checked as an add checks them and written in few
/// statements, in their order, before the row after the run. Every other row — an update, a
/// login met again — is its own write through the Directory, after everything before it; a row
/// the bulk path refused is retried on its own at once, which reports it in the usual words.
/// With `stop`, nothing after the first bad row is written.
async fn apply_users(
    t: &UserTarget<'_>,
    batch: &[Result<Row, BadRow>],
    bulk: bool,
    stop: bool,
) -> Outcomes {
    let mut outcomes: Outcomes = (0..batch.len()).map(|_| None).collect();
    if batch.is_empty() {
        return outcomes;
    }
    let stored = match stored_users(t, batch).await {
        Ok(stored) => stored,
        Err(e) => {
            outcomes[0] = Some(Err(e));
            return outcomes;
        }
    };
    // Logins written (or about to be) by an earlier row: their stored state is not known here.
    let mut touched: HashSet<String> = HashSet::new();
    let mut pending: Vec<(usize, RecordedUser)> = Vec::new();
    for (i, r) in batch.iter().enumerate() {
        let row = match r {
            Ok(row) => row,
            Err(bad) => {
                outcomes[i] = Some(Ok(Outcome::Failed(bad.message.clone())));
                if stop {
                    break;
                }
                continue;
            }
        };
        let key = row.get(keys::LOGIN).unwrap_or_default().to_lowercase();
        let known = if touched.contains(&key) {
            None
        } else {
            stored.get(&key)
        };
        match known {
            Some(Some(user)) => {
                if let Ok(changes) = user_changes(t.map, row, user)
                    && changes.attributes.is_empty()
                {
                    outcomes[i] = Some(Ok(Outcome::Unchanged));
                    continue;
                }
            }
            Some(None) if bulk && !key.trim().is_empty() => {
                if let Ok(recorded) = recorded_user(t.map, row) {
                    pending.push((i, recorded));
                    touched.insert(key);
                    continue;
                }
            }
            _ => {}
        }
        if !flush_new(t, batch, &mut pending, &mut outcomes).await {
            return outcomes;
        }
        let result = classify(upsert_user(t, row).await);
        touched.insert(key);
        let (bad, fatal) = (
            matches!(result, Ok(Outcome::Failed(_)) | Err(_)),
            result.is_err(),
        );
        outcomes[i] = Some(result);
        if fatal || (stop && bad) {
            return outcomes;
        }
    }
    flush_new(t, batch, &mut pending, &mut outcomes).await;
    outcomes
}

/// The stored users of a batch's logins, by lower-cased login (`None`: no such user), read
/// with one batched look-up ([`Directory::customer_users_by_logins`]): a few statements per
/// source, not one per row. A login whose lookup is refused (ambiguous, malformed) is left
/// out: its row takes the per-row path, which reports it. An outage is an error.
async fn stored_users(
    t: &UserTarget<'_>,
    batch: &[Result<Row, BadRow>],
) -> Result<HashMap<String, Option<CustomerUser>>, Error> {
    let mut keys: Vec<String> = Vec::with_capacity(batch.len());
    let mut logins: Vec<&str> = Vec::with_capacity(batch.len());
    let mut seen: HashSet<String> = HashSet::with_capacity(batch.len());
    for row in batch.iter().flatten() {
        let Some(login) = row.get(keys::LOGIN).filter(|l| !l.trim().is_empty()) else {
            continue;
        };
        let key = login.to_lowercase();
        if seen.insert(key.clone()) {
            keys.push(key);
            logins.push(login);
        }
    }
    let found = t.dir.customer_users_by_logins(&logins).await?;
    let mut stored = HashMap::with_capacity(keys.len());
    for (key, answer) in keys.into_iter().zip(found) {
        match answer {
            Ok(user) => {
                stored.insert(key, user);
            }
            Err(e) if exit_code(&e) == EXIT_INPUT => {}
            Err(e) => return Err(e),
        }
    }
    Ok(stored)
}

/// Writes the pending new users through the bulk path and records their outcomes; a refused
/// row is retried on its own. `false` when the import must stop (the store failed).
async fn flush_new(
    t: &UserTarget<'_>,
    batch: &[Result<Row, BadRow>],
    pending: &mut Vec<(usize, RecordedUser)>,
    outcomes: &mut Outcomes,
) -> bool {
    if pending.is_empty() {
        return true;
    }
    let (positions, rows): (Vec<usize>, Vec<RecordedUser>) =
        std::mem::take(pending).into_iter().unzip();
    let report = match t.dir.import_recorded_users_to(t.source, rows, t.by).await {
        Ok(report) => report,
        Err(e) => {
            outcomes[positions[0]] = Some(Err(e));
            return false;
        }
    };
    for &p in &positions {
        outcomes[p] = Some(Ok(Outcome::Added));
    }
    for r in &report.rejected {
        let p = positions[r.index];
        let Ok(row) = &batch[p] else { continue };
        let result = classify(upsert_user(t, row).await);
        let fatal = result.is_err();
        outcomes[p] = Some(result);
        if fatal {
            return false;
        }
    }
    true
}

/// A row-level refusal (bad input) becomes a failed row; an outage or backend failure stops the
/// import.
fn classify(result: Result<Outcome, Error>) -> Result<Outcome, Error> {
    match result {
        Err(e) if exit_code(&e) == EXIT_INPUT => Ok(Outcome::Failed(e.to_string())),
        other => other,
    }
}

// ------------------------------------------------------------------ import

/// The counts an import reports.
#[derive(Debug, Default, Serialize)]
struct Summary {
    kind: &'static str,
    file: String,
    added: u64,
    updated: u64,
    unchanged: u64,
    failed: u64,
    errors: Vec<RowError>,
    stopped_early: bool,
    seconds: f64,
}

#[derive(Debug, Serialize)]
struct RowError {
    line: u64,
    key: Option<String>,
    error: String,
}

fn format_of(path: &Path, given: Option<Format>, default: Option<Format>) -> CliResult<Format> {
    if let Some(f) = given {
        return Ok(f);
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => Ok(Format::Csv),
        Some("jsonl" | "ndjson" | "json") => Ok(Format::Jsonl),
        _ => default.ok_or_else(|| {
            CliError::input(format!(
                "can't tell the format of {}; give --format csv or --format jsonl",
                path.display()
            ))
        }),
    }
}

fn progress_bar(len: Option<u64>) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match len {
        Some(len) => {
            let pb = ProgressBar::new(len);
            pb.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            pb
        }
        None => {
            let pb = ProgressBar::new_spinner();
            pb.enable_steady_tick(std::time::Duration::from_millis(120));
            pb
        }
    }
}

/// SQLite serialises writers, and waiting writers back off with sleeps: more than a few rows at
/// once only adds waiting. Elsewhere rows overlap their password hashing and round trips.
fn default_jobs(ctx: &Context, target: Option<&str>) -> usize {
    use clientele::config::CustomerUserConfig;
    let db = ctx.config.customer_user.iter().find_map(|s| match s {
        CustomerUserConfig::Db(db) if target.is_none_or(|t| t == s.name()) => Some(db),
        _ => None,
    });
    let sqlite = db
        .and_then(|db| db.resolved_url().ok())
        .is_some_and(|u| u.starts_with("sqlite:"));
    if sqlite {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    } else {
        8
    }
}

pub async fn import(ctx: &Context, args: ImportArgs) -> CliResult {
    let started = Instant::now();
    let dir = ctx.dir();
    let stdin = args.file.as_os_str() == "-";
    let everything = args.kind == Kind::All;
    let format = format_of(&args.file, args.format, everything.then_some(Format::Jsonl))?;
    let (source, map, key_attr) = match args.kind {
        Kind::Users | Kind::All => {
            let source = target_source(dir, args.source.as_deref())?;
            let map = dir
                .source_settings(&source)
                .map(|s| s.map.clone())
                .unwrap_or_else(AttributeMap::otobo_customer_user);
            (Some(source), map, keys::LOGIN)
        }
        Kind::Companies => (
            None,
            ctx.config.customer_company.map.clone(),
            keys::COMPANY_ID,
        ),
    };
    let (input, len): (Box<dyn Read>, Option<u64>) = if stdin {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = File::open(&args.file)
            .map_err(|e| CliError::input(format!("cannot open {}: {e}", args.file.display())))?;
        let len = f.metadata().ok().map(|m| m.len());
        (Box::new(BufReader::with_capacity(1 << 16, f)), len)
    };
    if everything {
        if format != Format::Jsonl {
            return Err(CliError::input(
                "an import of everything reads JSON Lines (what `clientele export all` writes)",
            ));
        }
        let target = UserTarget {
            dir,
            source: source.as_deref().unwrap_or_default(),
            map: &map,
            by: &ctx.by,
        };
        let imp = all::AllImport {
            dir,
            users: target,
            company_map: &ctx.config.customer_company.map,
            by: &ctx.by,
            bulk: args.on_error == OnError::Continue,
            stop: args.on_error == OnError::Stop,
            batch_size: args.batch_size.max(1),
        };
        let mut summary = Summary {
            kind: "everything",
            file: args.file.display().to_string(),
            ..Summary::default()
        };
        let pb = progress_bar(None);
        let mut input = BufReader::new(input);
        let mut report = |e: &RowError| {
            let who = e
                .key
                .as_deref()
                .filter(|k| !k.is_empty())
                .map(|k| format!(" ({k})"))
                .unwrap_or_default();
            pb.suspend(|| eprintln!("line {}{who}: {}", e.line, e.error));
        };
        let fatal = all::import_all(&imp, &mut input, &mut summary, &mut report).await?;
        pb.finish_and_clear();
        return finish_import(ctx, summary, started, fatal);
    }
    let mut reader = RowReader::open(input, format, &map, key_attr)?;
    let pb = progress_bar(if format == Format::Csv { len } else { None });
    let mut summary = Summary {
        kind: match args.kind {
            Kind::Users => "users",
            Kind::Companies => "companies",
            Kind::All => "everything",
        },
        file: args.file.display().to_string(),
        ..Summary::default()
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| default_jobs(ctx, source.as_deref()))
        .max(1);
    let batch_size = args.batch_size.max(1);
    let target = source.as_deref().map(|s| UserTarget {
        dir,
        source: s,
        map: &map,
        by: &ctx.by,
    });
    // A run of new users is written at once, so only when a bad row does not stop the import.
    let bulk = matches!((&source, args.on_error), (Some(_), OnError::Continue));
    let mut done = false;
    let mut fatal = None;
    while !done {
        let mut batch: Vec<Result<Row, BadRow>> = Vec::with_capacity(batch_size);
        while batch.len() < batch_size {
            match reader.next()? {
                Some(r) => batch.push(r),
                None => {
                    done = true;
                    break;
                }
            }
        }
        let mut outcomes: Outcomes = match target.as_ref() {
            Some(t) => apply_users(t, &batch, bulk, args.on_error == OnError::Stop).await,
            None => (0..batch.len()).map(|_| None).collect(),
        };
        // Companies: a key seen twice in a batch is handled after its first row (waves), so two
        // rows for one new id never race each other into a duplicate add.
        let mut waves: Vec<Vec<usize>> = Vec::new();
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (i, r) in batch.iter().enumerate() {
            if outcomes[i].is_some() {
                continue;
            }
            let wave = match r {
                Ok(row) => {
                    let k = row.get(key_attr).unwrap_or_default().to_lowercase();
                    let n = seen.entry(k).or_insert(0);
                    *n += 1;
                    *n - 1
                }
                Err(_) => 0,
            };
            if waves.len() <= wave {
                waves.resize_with(wave + 1, Vec::new);
            }
            waves[wave].push(i);
        }
        let process = |i: usize| {
            let (batch, map, by) = (&batch, &map, ctx.by.as_str());
            async move {
                match &batch[i] {
                    Err(bad) => Ok(Outcome::Failed(bad.message.clone())),
                    Ok(row) => classify(upsert_company(dir, map, by, row, Audit::default()).await),
                }
            }
        };
        'waves: for wave in waves {
            if args.on_error == OnError::Stop {
                // One row after another, so nothing after a bad row is written.
                for i in wave {
                    let result = process(i).await;
                    let bad = matches!(result, Ok(Outcome::Failed(_)) | Err(_));
                    outcomes[i] = Some(result);
                    if bad {
                        break 'waves;
                    }
                }
                continue;
            }
            let results: Vec<(usize, Result<Outcome, Error>)> = futures::stream::iter(wave)
                .map(|i| async move { (i, process(i).await) })
                .buffered(jobs)
                .collect()
                .await;
            let stop = results.iter().any(|(_, r)| r.is_err());
            for (i, r) in results {
                outcomes[i] = Some(r);
            }
            if stop {
                break;
            }
        }
        for (i, outcome) in outcomes.into_iter().enumerate() {
            let Some(outcome) = outcome else { continue };
            let (line, key) = match &batch[i] {
                Ok(row) => (row.line, row.get(key_attr).map(str::to_owned)),
                Err(bad) => (bad.line, None),
            };
            match outcome {
                Ok(Outcome::Added) => summary.added += 1,
                Ok(Outcome::Updated) => summary.updated += 1,
                Ok(Outcome::Unchanged) => summary.unchanged += 1,
                Ok(Outcome::Failed(message)) => {
                    summary.failed += 1;
                    let who = key
                        .as_deref()
                        .filter(|k| !k.is_empty())
                        .map(|k| format!(" ({k})"))
                        .unwrap_or_default();
                    pb.suspend(|| eprintln!("line {line}{who}: {message}"));
                    summary.errors.push(RowError {
                        line,
                        key,
                        error: message,
                    });
                    if args.on_error == OnError::Stop {
                        summary.stopped_early = true;
                        done = true;
                        break;
                    }
                }
                Err(e) => {
                    pb.suspend(|| eprintln!("line {line}: {e}"));
                    fatal = Some(e);
                    done = true;
                    break;
                }
            }
        }
        if len.is_some() {
            pb.set_position(reader.position());
        } else {
            pb.tick();
        }
        pb.set_message(format!(
            "{} rows",
            summary.added + summary.updated + summary.unchanged + summary.failed
        ));
    }
    pb.finish_and_clear();
    finish_import(ctx, summary, started, fatal)
}

/// Reports an import's summary and answers how it ended.
fn finish_import(
    ctx: &Context,
    mut summary: Summary,
    started: Instant,
    fatal: Option<Error>,
) -> CliResult {
    summary.seconds = started.elapsed().as_secs_f64();
    report_import(ctx, &summary)?;
    if let Some(e) = fatal {
        let mut e = CliError::from(e);
        e.message = format!(
            "import stopped: {}; the rows before it are stored, a re-run skips them",
            e.message
        );
        return Err(e);
    }
    if summary.failed > 0 {
        let what = if summary.stopped_early {
            "stopped at the first bad row"
        } else {
            "the other rows were imported"
        };
        return Err(CliError::input(format!(
            "{} of the rows were refused ({what}); fix them and run the import again",
            summary.failed
        )));
    }
    Ok(())
}

fn report_import(ctx: &Context, s: &Summary) -> CliResult {
    if ctx.json {
        return crate::output::json(s);
    }
    // A reader that went away (`clientele import … | head`) is no reason to panic.
    writeln!(
        std::io::stdout().lock(),
        "imported {} from {}: {} added, {} updated, {} unchanged, {} failed ({:.1} s)",
        s.kind,
        s.file,
        s.added,
        s.updated,
        s.unchanged,
        s.failed,
        s.seconds
    )?;
    Ok(())
}

// ------------------------------------------------------------------ export

enum Sink {
    Csv(Box<csv::Writer<Box<dyn Write>>>),
    Jsonl(Box<dyn Write>),
}

impl Sink {
    fn new(out: Box<dyn Write>, format: Format, columns: &[String]) -> CliResult<Self> {
        Ok(match format {
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(columns)?;
                Sink::Csv(Box::new(w))
            }
            Format::Jsonl => Sink::Jsonl(out),
        })
    }

    fn write(&mut self, columns: &[String], values: &[String]) -> CliResult {
        match self {
            Sink::Csv(w) => w.write_record(values)?,
            Sink::Jsonl(w) => {
                serde_json::to_writer(&mut *w, &json_object(columns, values))?;
                w.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    fn finish(self) -> CliResult {
        match self {
            Sink::Csv(mut w) => w.flush()?,
            Sink::Jsonl(mut w) => w.flush()?,
        }
        Ok(())
    }
}

/// A record as a JSON Lines object: its non-empty values by column, the validity as a number.
fn json_object(
    columns: &[String],
    values: &[String],
) -> serde_json::Map<String, serde_json::Value> {
    let mut o = serde_json::Map::new();
    for (c, v) in columns.iter().zip(values) {
        if v.is_empty() {
            continue;
        }
        let value = match (c.as_str(), v.parse::<i64>()) {
            (keys::VALID, Ok(i)) => json!(i),
            _ => json!(v),
        };
        o.insert(c.clone(), value);
    }
    o
}

fn audit_values(audit: &clientele::model::Audit) -> [String; 4] {
    [
        audit.created_at.map(timestamp).unwrap_or_default(),
        audit.created_by.clone().unwrap_or_default(),
        audit.changed_at.map(timestamp).unwrap_or_default(),
        audit.changed_by.clone().unwrap_or_default(),
    ]
}

pub async fn export(ctx: &Context, args: ExportArgs) -> CliResult {
    let dir = ctx.dir();
    let everything = args.kind == Kind::All;
    let default_format = if everything {
        Format::Jsonl
    } else {
        Format::Csv
    };
    let format = match &args.file {
        Some(p) => format_of(p, args.format, Some(default_format))?,
        None => args.format.unwrap_or(default_format),
    };
    if everything && format != Format::Jsonl {
        return Err(CliError::input(
            "an export of everything is JSON Lines only; CSV carries users or companies",
        ));
    }
    if everything && args.valid_only {
        return Err(CliError::input(
            "an export of everything carries invalid records too; --valid-only is for users or companies",
        ));
    }
    if args.with_password_hashes && !everything {
        return Err(CliError::input(
            "--with-password-hashes goes with `export all`, whose import restores them",
        ));
    }
    let to_terminal = args.file.is_none() && std::io::stdout().is_terminal();
    all::check_hash_output(args.with_password_hashes, to_terminal)?;
    let mut out: Box<dyn Write> = match &args.file {
        Some(p) => Box::new(BufWriter::new(File::create(p).map_err(|e| {
            CliError::input(format!("cannot create {}: {e}", p.display()))
        })?)),
        None => Box::new(BufWriter::new(std::io::stdout())),
    };
    let count = match args.kind {
        Kind::Users => {
            // A page of users at a time: memory does not grow with their number.
            let columns = all::user_columns(dir);
            let mut all_columns = columns.clone();
            all_columns.extend(AUDIT_COLUMNS.iter().map(|c| (*c).to_owned()));
            let mut sink = Sink::new(out, format, &all_columns)?;
            let mut pages = all::UserPages::new(dir);
            let mut count = 0;
            while let Some((_, page)) = pages.next().await? {
                for u in page {
                    if args.valid_only && !u.validity.is_valid() {
                        continue;
                    }
                    let values = all::record_values(&columns, |k| text(u.attribute(k)), &u.audit);
                    sink.write(&all_columns, &values)?;
                    count += 1;
                }
            }
            sink.finish()?;
            count
        }
        Kind::Companies => {
            let map = &ctx.config.customer_company.map;
            let mut columns = export_columns(map, &[]);
            let data_columns = columns.len();
            columns.extend(AUDIT_COLUMNS.iter().map(|c| (*c).to_owned()));
            let found = dir
                .search_companies(None, args.valid_only, Some(usize::MAX))
                .await?;
            let mut sink = Sink::new(out, format, &columns)?;
            for c in &found {
                let mut values: Vec<String> = columns[..data_columns]
                    .iter()
                    .map(|k| text(c.attribute(k)))
                    .collect();
                values.extend(audit_values(&c.audit));
                sink.write(&columns, &values)?;
            }
            sink.finish()?;
            found.len()
        }
        Kind::All => {
            let counts = all::export_all(ctx, &mut out, args.with_password_hashes).await?;
            counts.iter().map(|(_, n)| *n as usize).sum()
        }
    };
    let what = match args.kind {
        Kind::Users => "customer users",
        Kind::Companies => "companies",
        Kind::All => "lines",
    };
    let target = args
        .file
        .as_ref()
        .map_or("standard output".to_owned(), |p: &PathBuf| {
            p.display().to_string()
        });
    // The data may be on stdout: the summary goes to stderr.
    if ctx.json {
        eprintln!(
            "{}",
            json!({ "exported": count, "kind": what, "file": target })
        );
    } else {
        eprintln!("exported {count} {what} to {target}");
    }
    Ok(())
}
