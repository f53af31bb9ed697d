//! `clientele user …`

use clientele::model::search::CustomerUserSearch;
use clientele::model::{
    AttributeMap, CustomerUser, CustomerUserChanges, NewCustomerUser, Password, Validity, keys,
};
use clientele::{Directory, SearchHit};
use serde_json::json;

use super::read_password;
use crate::Context;
use crate::attrs::{parse_pairs, text, value_for};
use crate::cli::{UserCmd, UserFields};
use crate::error::{CliError, CliResult};
use crate::output::{Table, json, json_page, page_notes, say, timestamp};

/// The source new users go to: the named one, else `add_target`, else the first writable one.
pub fn target_source(dir: &Directory, named: Option<&str>) -> CliResult<String> {
    // The rule is the Directory's (`add_target`); this only words its refusals for a person.
    match dir.add_target(named) {
        Ok(name) => Ok(name.to_owned()),
        Err(clientele::Error::NotFound {
            entity: clientele::backend::Entity::Backend,
            key,
        }) => Err(CliError::input(format!(
            "no source is named {key:?}; the sources are {}",
            dir.source_names().join(", ")
        ))),
        Err(clientele::Error::ReadOnly { .. })
            if named.is_none() && dir.config().add_target.is_none() =>
        {
            Err(
                CliError::input("every source is read-only; there is nowhere to add a user")
                    .hint("add a [[customer_user]] entry with type = \"db\""),
            )
        }
        Err(e) => Err(e.into()),
    }
}

fn map_of(dir: &Directory, source: &str) -> AttributeMap {
    dir.source_settings(source)
        .map(|s| s.map.clone())
        .unwrap_or_else(AttributeMap::otobo_customer_user)
}

/// The optional attributes given on the command line, as (key, value) pairs. `--customer-ids`
/// is an attribute when the map has OTOBO's `UserCustomerIDs` row; without one (OTOBO's default
/// map) its ids are returned apart, to become company relations (`customer_user_customer`).
fn optional_fields(
    map: &AttributeMap,
    mut fields: UserFields,
    out: &mut Vec<(String, String)>,
) -> CliResult<Vec<String>> {
    let related = match fields.customer_ids.take() {
        Some(ids) if map.by_key(keys::CUSTOMER_IDS).is_none() => split_ids(&ids),
        ids => {
            fields.customer_ids = ids;
            Vec::new()
        }
    };
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            out.push((k.to_owned(), v));
        }
    };
    push(keys::TITLE, fields.title);
    push(keys::PHONE, fields.phone);
    push(keys::FAX, fields.fax);
    push(keys::MOBILE, fields.mobile);
    push(keys::STREET, fields.street);
    push(keys::ZIP, fields.zip);
    push(keys::CITY, fields.city);
    push(keys::COUNTRY, fields.country);
    push(keys::COMMENT, fields.comment);
    push(keys::CUSTOMER_IDS, fields.customer_ids);
    out.extend(parse_pairs(map, &fields.attrs)?);
    Ok(related)
}

/// `A;B, C` → `["A", "B", "C"]`, as OTOBO splits `UserCustomerIDs`.
fn split_ids(ids: &str) -> Vec<String> {
    ids.split([';', ','])
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Refuses ids of companies that do not exist, before anything is written.
async fn require_companies(dir: &Directory, ids: &[String]) -> CliResult {
    for id in ids {
        if dir.company(id).await?.is_none() {
            return Err(CliError::input(format!(
                "--customer-ids: company {id:?} not found; nothing was changed"
            ))
            .hint("`clientele company add ID --name NAME` adds it"));
        }
    }
    Ok(())
}

/// Relates the user to each company (the secondary customer ids of OTOBO's default map).
async fn relate_all(ctx: &Context, login: &str, ids: &[String]) -> CliResult {
    for id in ids {
        ctx.dir().relate_company(login, id, true, &ctx.by).await?;
    }
    Ok(())
}

async fn require(dir: &Directory, login: &str) -> CliResult<(CustomerUser, String)> {
    dir.customer_user_with_source(login).await?.ok_or_else(|| {
        CliError::input(format!("customer user {login:?} not found"))
            .hint("`clientele user search <term> --all` finds users, invalid ones included")
    })
}

pub async fn run(ctx: &Context, cmd: UserCmd) -> CliResult {
    let dir = ctx.dir();
    match cmd {
        UserCmd::Add {
            login,
            first_name,
            last_name,
            email,
            customer_id,
            fields,
            valid,
            password_stdin,
            source,
        } => {
            let source = target_source(dir, source.as_deref())?;
            let map = map_of(dir, &source);
            let mut new =
                NewCustomerUser::new(&login, &first_name, &last_name, &email, &customer_id);
            let mut values = Vec::new();
            let related = optional_fields(&map, fields, &mut values)?;
            require_companies(dir, &related).await?;
            for (k, v) in values {
                new = new.with(&k, value_for(&map, &k, &v)?);
            }
            if let Some(v) = valid {
                new = new.validity(v.validity());
            }
            if password_stdin {
                new = new.password(Password::new(read_password("Password: ", true)?));
            }
            let added = dir.add_customer_user_to(&source, new, &ctx.by).await?;
            relate_all(ctx, added.login.as_str(), &related).await?;
            let generated = added
                .generated_password
                .as_ref()
                .map(|p| p.expose().to_owned());
            if ctx.json {
                return json(&json!({
                    "login": added.login.as_str(),
                    "source": added.source,
                    "generated_password": generated,
                }));
            }
            say(format!(
                "added customer user {} to {:?}",
                added.login, added.source
            ));
            if let Some(pw) = generated {
                say(format!(
                    "generated password (shown once, store it now): {pw}"
                ));
            }
            Ok(())
        }
        UserCmd::Update {
            login,
            new_login,
            first_name,
            last_name,
            email,
            customer_id,
            fields,
            valid,
        } => {
            let (_, source) = require(dir, &login).await?;
            let map = map_of(dir, &source);
            let mut values = Vec::new();
            for (k, v) in [
                (keys::LOGIN, new_login),
                (keys::FIRST_NAME, first_name),
                (keys::LAST_NAME, last_name),
                (keys::EMAIL, email),
                (keys::CUSTOMER_ID, customer_id),
            ] {
                if let Some(v) = v {
                    values.push((k.to_owned(), v));
                }
            }
            let related = optional_fields(&map, fields, &mut values)?;
            require_companies(dir, &related).await?;
            let mut changes = CustomerUserChanges::new();
            for (k, v) in values {
                changes = changes.set(&k, value_for(&map, &k, &v)?);
            }
            if let Some(v) = valid {
                changes = changes.validity(v.validity());
            }
            if !related.is_empty() {
                relate_all(ctx, &login, &related).await?;
                if changes.attributes.is_empty() {
                    let (user, source) = require(dir, &login).await?;
                    return show(ctx, &user, &source).await;
                }
            }
            if changes.attributes.is_empty() {
                return Err(CliError::input("nothing to change").hint(
                    "give at least one attribute option, e.g. --email, --city, --valid or \
                     --attr KEY=VALUE",
                ));
            }
            let user = dir.update_customer_user(&login, changes, &ctx.by).await?;
            show(ctx, &user, &source).await
        }
        UserCmd::Show { login } => {
            let (user, source) = require(dir, &login).await?;
            show(ctx, &user, &source).await
        }
        UserCmd::Search {
            term,
            email,
            customer_id,
            all,
            limit,
            envelope,
        } => {
            let mut search = match (term, email, customer_id) {
                (_, Some(e), _) => CustomerUserSearch::email(e),
                (_, _, Some(c)) => CustomerUserSearch::customer_id(c),
                (Some(t), _, _) => CustomerUserSearch::term(t),
                (None, None, None) => CustomerUserSearch::login("*"),
            };
            if all {
                search = search.include_invalid();
            }
            if let Some(l) = limit {
                search = search.limit(l);
            }
            let page = dir.search_page(&search).await?;
            if ctx.json && envelope {
                json_page("users", &page, json_rows(&page.hits))?;
            } else {
                list(ctx, &page.hits)?;
            }
            page_notes(&page);
            Ok(())
        }
        UserCmd::Invalidate { login, temporarily } => {
            let validity = if temporarily {
                Validity::InvalidTemporarily
            } else {
                Validity::Invalid
            };
            let user = dir.set_validity(&login, validity, &ctx.by).await?;
            if ctx.json {
                return json(&json!({ "login": user.login.as_str(), "validity": user.validity }));
            }
            say(format!(
                "customer user {} is now {}: it can't log in and is left out of default searches",
                user.login, user.validity
            ));
            Ok(())
        }
        UserCmd::SetPassword { login, generate } => {
            let (user, _) = require(dir, &login).await?;
            let (password, shown) = if generate {
                let p = dir.generate_password()?;
                let shown = p.expose().to_owned();
                (p, Some(shown))
            } else {
                (Password::new(read_password("New password: ", true)?), None)
            };
            dir.set_password(user.login.as_str(), &password).await?;
            if ctx.json {
                return json(&json!({ "login": user.login.as_str(), "generated_password": shown }));
            }
            say(format!("password of {} set", user.login));
            if let Some(pw) = shown {
                say(format!(
                    "generated password (shown once, store it now): {pw}"
                ));
            }
            Ok(())
        }
        UserCmd::Customers { login } => {
            let ids = dir.customer_ids(&login).await?;
            let ids: Vec<String> = ids.into_iter().map(|c| c.into_string()).collect();
            if ctx.json {
                return json(&ids);
            }
            let mut t = Table::new(["CUSTOMER ID", "COMPANY"]);
            for id in &ids {
                let name = match dir.company(id).await {
                    Ok(Some(c)) => c.name,
                    _ => String::new(),
                };
                t.row([id.clone(), name]);
            }
            t.print()
        }
        UserCmd::RelateCompany {
            login,
            customer_id,
            remove,
        } => {
            dir.relate_company(&login, &customer_id, !remove, &ctx.by)
                .await?;
            let ids = dir.customer_ids(&login).await?;
            let ids: Vec<String> = ids.into_iter().map(|c| c.into_string()).collect();
            if ctx.json {
                return json(&json!({ "login": login, "customer_ids": ids }));
            }
            say(format!(
                "{} {login} {} {customer_id}; customer ids now: {}",
                if remove { "unrelated" } else { "related" },
                if remove { "from" } else { "to" },
                ids.join(", ")
            ));
            Ok(())
        }
        UserCmd::WithPreference { key, value } => {
            with_preference(ctx, &key, value.as_deref()).await
        }
    }
}

/// `user with-preference`: who has a preference (with this value).
async fn with_preference(ctx: &Context, key: &str, value: Option<&str>) -> CliResult {
    let found = ctx.dir().users_with_preference(key, value).await?;
    if ctx.json {
        return json(&found);
    }
    if found.is_empty() {
        match value {
            Some(v) => say(format!("no customer user has {key} = {v:?}")),
            None => say(format!("no customer user has the preference {key}")),
        }
        return Ok(());
    }
    let mut t = Table::new(["LOGIN", "VALUE"]);
    for m in found {
        t.row([m.login.into_string(), m.value]);
    }
    t.print()
}

async fn show(ctx: &Context, user: &CustomerUser, source: &str) -> CliResult {
    let dir = ctx.dir();
    let ids: Vec<String> = dir
        .customer_ids(user.login.as_str())
        .await?
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    if ctx.json {
        let mut value = serde_json::to_value(user)?;
        if let Some(o) = value.as_object_mut() {
            o.insert("source".into(), json!(source));
            o.insert("customer_ids".into(), json!(ids));
        }
        return json(&value);
    }
    let map = map_of(dir, source);
    let mut t = Table::new(["FIELD", "KEY", "VALUE"]);
    for row in map.rows() {
        if row.key == keys::PASSWORD {
            continue;
        }
        let value = if row.key == keys::VALID {
            user.validity.to_string()
        } else {
            text(user.attribute(&row.key))
        };
        t.row([row.label.clone(), row.key.clone(), value]);
    }
    t.row(["Source".to_owned(), String::new(), source.to_owned()]);
    t.row(["Customer IDs".to_owned(), String::new(), ids.join(", ")]);
    if let Some(at) = user.audit.created_at {
        t.row([
            "Created".into(),
            "CreateTime".into(),
            format!(
                "{} by {}",
                timestamp(at),
                user.audit.created_by.clone().unwrap_or_default()
            ),
        ]);
    }
    if let Some(at) = user.audit.changed_at {
        t.row([
            "Changed".into(),
            "ChangeTime".into(),
            format!(
                "{} by {}",
                timestamp(at),
                user.audit.changed_by.clone().unwrap_or_default()
            ),
        ]);
    }
    t.print()
}

/// The JSON rows of search hits: each user with its source and display string.
fn json_rows(hits: &[SearchHit]) -> Vec<serde_json::Value> {
    hits.iter()
        .map(|h| {
            let mut v = serde_json::to_value(&h.user).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.insert("source".into(), json!(h.source));
                o.insert("display".into(), json!(h.display));
            }
            v
        })
        .collect()
}

fn list(ctx: &Context, hits: &[SearchHit]) -> CliResult {
    if ctx.json {
        return json(&json_rows(hits));
    }
    if hits.is_empty() {
        say("no customer users found");
        return Ok(());
    }
    let mut t = Table::new(["LOGIN", "NAME", "EMAIL", "CUSTOMER ID", "VALID", "SOURCE"]);
    for h in hits {
        let u = &h.user;
        t.row([
            u.login.to_string(),
            format!("{} {}", u.first_name, u.last_name)
                .trim()
                .to_owned(),
            u.email.to_string(),
            u.customer_id.to_string(),
            u.validity.to_string(),
            h.source.clone(),
        ]);
    }
    t.print()?;
    if hits.len() > 1 {
        say(format!("{} customer users", hits.len()));
    }
    Ok(())
}
