//! `clientele company …`

use clientele::directory::SearchPage;
use clientele::model::{
    AttributeMap, CustomerCompany, CustomerCompanyChanges, NewCustomerCompany, Validity, keys,
};
use serde_json::json;

use crate::Context;
use crate::attrs::{parse_pairs, text, value_for};
use crate::cli::{CompanyCmd, CompanyFields};
use crate::error::{CliError, CliResult};
use crate::output::{Table, json, json_page, page_notes, say, timestamp};

/// The attribute values the options give, keyed by attribute key.
fn field_values(
    map: &AttributeMap,
    name: Option<String>,
    fields: CompanyFields,
) -> CliResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut push = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            out.push((k.to_owned(), v));
        }
    };
    push(keys::COMPANY_NAME, name);
    push(keys::COMPANY_STREET, fields.street);
    push(keys::COMPANY_ZIP, fields.zip);
    push(keys::COMPANY_CITY, fields.city);
    push(keys::COMPANY_COUNTRY, fields.country);
    push(keys::COMPANY_URL, fields.url);
    push(keys::COMPANY_COMMENT, fields.comment);
    out.extend(parse_pairs(map, &fields.attrs)?);
    Ok(out)
}

pub async fn run(ctx: &Context, cmd: CompanyCmd) -> CliResult {
    let map = ctx.config.customer_company.map.clone();
    let dir = ctx.dir();
    match cmd {
        CompanyCmd::Add {
            customer_id,
            name,
            fields,
            valid,
        } => {
            let mut new =
                NewCustomerCompany::default().with(keys::COMPANY_ID, customer_id.as_str());
            for (k, v) in field_values(&map, Some(name), fields)? {
                new = new.with(&k, value_for(&map, &k, &v)?);
            }
            if let Some(v) = valid {
                new = new.validity(v.validity());
            }
            let company = dir.add_company(new, &ctx.by).await?;
            if ctx.json {
                return json(&company);
            }
            say(format!(
                "added company {} ({})",
                company.customer_id, company.name
            ));
            Ok(())
        }
        CompanyCmd::Update {
            customer_id,
            name,
            fields,
            valid,
        } => {
            let mut changes = CustomerCompanyChanges::new();
            for (k, v) in field_values(&map, name, fields)? {
                changes = changes.set(&k, value_for(&map, &k, &v)?);
            }
            if let Some(v) = valid {
                changes = changes.validity(v.validity());
            }
            if changes.attributes.is_empty() {
                return Err(CliError::input("nothing to change").hint(
                    "give at least one of --name, --street, --zip, --city, --country, --url, \
                     --comment, --valid, --attr KEY=VALUE",
                ));
            }
            let company = dir.update_company(&customer_id, changes, &ctx.by).await?;
            show(ctx, &map, &company)
        }
        CompanyCmd::Show { customer_id } => {
            let company = dir.company(&customer_id).await?.ok_or_else(|| {
                CliError::input(format!("customer company {customer_id:?} not found"))
                    .hint("`clientele company search <term>` finds companies by id or name")
            })?;
            show(ctx, &map, &company)
        }
        CompanyCmd::List {
            all,
            limit,
            envelope,
        } => {
            let page = dir.search_companies_page(None, !all, limit).await?;
            list_page(ctx, &page, envelope)
        }
        CompanyCmd::Search {
            term,
            all,
            limit,
            envelope,
        } => {
            let page = dir.search_companies_page(Some(&term), !all, limit).await?;
            list_page(ctx, &page, envelope)
        }
        CompanyCmd::Users { customer_id, limit } => users(ctx, &customer_id, limit).await,
        CompanyCmd::Invalidate {
            customer_id,
            temporarily,
        } => {
            let validity = if temporarily {
                Validity::InvalidTemporarily
            } else {
                Validity::Invalid
            };
            let company = dir
                .set_company_validity(&customer_id, validity, &ctx.by)
                .await?;
            if ctx.json {
                return json(&json!({
                    "customer_id": company.customer_id,
                    "validity": company.validity,
                }));
            }
            say(format!(
                "customer company {} is now {}: it is left out of default company searches and \
                 its grants no longer count",
                company.customer_id, company.validity
            ));
            Ok(())
        }
    }
}

fn show(ctx: &Context, map: &AttributeMap, company: &CustomerCompany) -> CliResult {
    if ctx.json {
        return json(company);
    }
    let mut t = Table::new(["FIELD", "KEY", "VALUE"]);
    for row in map.rows() {
        let value = if row.key == keys::VALID {
            company.validity.to_string()
        } else {
            text(company.attribute(&row.key))
        };
        t.row([row.label.clone(), row.key.clone(), value]);
    }
    if let Some(at) = company.audit.created_at {
        t.row([
            "Created".into(),
            "CreateTime".into(),
            format!(
                "{} by {}",
                timestamp(at),
                company.audit.created_by.clone().unwrap_or_default()
            ),
        ]);
    }
    if let Some(at) = company.audit.changed_at {
        t.row([
            "Changed".into(),
            "ChangeTime".into(),
            format!(
                "{} by {}",
                timestamp(at),
                company.audit.changed_by.clone().unwrap_or_default()
            ),
        ]);
    }
    t.print()
}

/// The companies of a page (as one JSON object with `--envelope`), and on stderr what the page
/// does not show.
fn list_page(ctx: &Context, page: &SearchPage<CustomerCompany>, envelope: bool) -> CliResult {
    if ctx.json && envelope {
        json_page("companies", page, &page.hits)?;
    } else {
        list(ctx, &page.hits)?;
    }
    page_notes(page);
    Ok(())
}

fn list(ctx: &Context, found: &[CustomerCompany]) -> CliResult {
    if ctx.json {
        return json(&json!(found));
    }
    if found.is_empty() {
        say("no customer companies found");
        return Ok(());
    }
    let mut t = Table::new(["CUSTOMER ID", "NAME", "CITY", "VALID"]);
    for c in found {
        t.row([
            c.customer_id.to_string(),
            c.name.clone(),
            c.city.clone().unwrap_or_default(),
            c.validity.to_string(),
        ]);
    }
    t.print()
}

/// `company users`: the company's users, primary and related, from the company's end.
async fn users(ctx: &Context, customer_id: &str, limit: Option<usize>) -> CliResult {
    // Users may carry a customer id no company record has (OTOBO allows it with company
    // support off): the id alone is asked for, not the record.
    let users = ctx.dir().users_of_company(customer_id, limit).await?;
    if ctx.json {
        return json(&json!({ "customer_id": customer_id, "users": users }));
    }
    if users.is_empty() {
        say(format!(
            "no customer user has or is related to customer id {customer_id}"
        ));
        return Ok(());
    }
    let mut t = Table::new(["LOGIN", "PRIMARY", "RELATED"]);
    let mark = |b: bool| if b { "yes" } else { "no" }.to_owned();
    for u in users {
        t.row([u.login.into_string(), mark(u.primary), mark(u.related)]);
    }
    t.print()
}
