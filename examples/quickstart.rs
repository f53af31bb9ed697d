//! Clientele on an embedded SQLite file: no server, no configuration.
//!
//! ```text
//! cargo run --example quickstart              # a fresh database in the temp directory
//! cargo run --example quickstart -- my.sqlite # or a file of your choice (created if missing)
//! ```
//!
//! It creates the schema, adds two companies and a customer user with a generated password,
//! searches with wildcards, relates the user to a second company, lists its customer ids, and
//! invalidates a user to show it disappear from default searches.

use std::sync::Arc;

use clientele::model::search::CustomerUserSearch;
use clientele::model::{Actor, NewCustomerCompany, NewCustomerUser, keys};
use clientele::{DbBackend, DbConfig, Directory};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = match std::env::args().nth(1) {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let p = std::env::temp_dir().join("clientele-quickstart.sqlite");
            // The default file is ours: start from scratch so every run shows the same thing.
            let _ = std::fs::remove_file(&p);
            p
        }
    };
    let url = format!("sqlite://{}?mode=rwc", path.display());
    println!("database: {}", path.display());

    // 1. Connect and create (or update) the OTOBO-compatible schema.
    let db = Arc::new(DbBackend::connect(&url, DbConfig::default()).await?);
    clientele::db::migrate(db.connection()).await?;
    let dir = Directory::builder()
        .writable_source(db.clone())
        .company_store(db.clone())
        .relation_store(db.clone())
        .preference_store(db.clone())
        .build()?;

    // 2. Companies first: a customer user needs its primary company to exist.
    for (id, name) in [("ACME", "Acme Corporation"), ("GLOBEX", "Globex Inc.")] {
        if dir.company(id).await?.is_none() {
            dir.add_company(
                NewCustomerCompany::new(id, name).with(keys::COMPANY_CITY, "Springfield"),
                Actor::System,
            )
            .await?;
            println!("added company {id} ({name})");
        }
    }

    // 3. Customer users; no password given, so one is generated and shown exactly once.
    let people = [
        (
            "jsmith",
            "John",
            "Smith",
            "john.smith@acme-corp.com",
            "ACME",
        ),
        (
            "asmithers",
            "Anna",
            "Smithers",
            "anna@globex-inc.com",
            "GLOBEX",
        ),
        (
            "mmueller",
            "Jürgen",
            "Müller",
            "j.mueller@acme-corp.com",
            "ACME",
        ),
    ];
    for (login, first, last, email, company) in people {
        if dir.customer_user(login).await?.is_some() {
            continue;
        }
        let added = dir
            .add_customer_user(
                NewCustomerUser::new(login, first, last, email, company),
                Actor::System,
            )
            .await?;
        if let Some(pw) = added.generated_password {
            println!(
                "added {login}; generated password (shown once): {}",
                pw.expose()
            );
        }
    }

    // 4. Search: the OTOBO search language, `*` wildcards, case-insensitive.
    for term in ["smith", "SMI*", "j*+!anna", "müller OR globex"] {
        let hits = dir.search(&CustomerUserSearch::term(term)).await?;
        let shown: Vec<&str> = hits.iter().map(|h| h.display.as_str()).collect();
        println!("search {term:?}: {shown:?}");
    }

    // 5. Relate John to a second company and list his customer ids (primary first, then relations).
    dir.relate_company("jsmith", "GLOBEX", true, Actor::System)
        .await?;
    let ids: Vec<String> = dir
        .customer_ids("jsmith")
        .await?
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    println!("customer ids of jsmith: {ids:?}");

    // 6. Users are never deleted: invalidate one and it disappears from default searches.
    dir.invalidate_customer_user("asmithers", Actor::System)
        .await?;
    let valid = dir.search(&CustomerUserSearch::term("smith*")).await?;
    let all = dir
        .search(&CustomerUserSearch::term("smith*").include_invalid())
        .await?;
    println!(
        "after invalidating asmithers: default search finds {:?}, with invalid users {:?}",
        valid
            .iter()
            .map(|h| h.user.login.as_str())
            .collect::<Vec<_>>(),
        all.iter()
            .map(|h| h.user.login.as_str())
            .collect::<Vec<_>>()
    );
    Ok(())
}
