//! The SQL compiler, through the DB backend's search on an in-memory SQLite database seeded
//! with a few users: any query (parsed from a term or built directly) runs without a panic and
//! without an untyped database error, and returns only seeded users, at most `limit` of them.
#![no_main]

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use clientele_backend::{CustomerUserSource, Error};
use clientele_directory::Directory;
use clientele_db::{DbBackend, DbConfig};
use clientele_fuzz::FuzzQuery;
use clientele_model::{NewCustomerCompany, NewCustomerUser};
use libfuzzer_sys::fuzz_target;
use tokio::runtime::Runtime;

struct Seeded {
    rt: Runtime,
    db: Arc<DbBackend>,
    logins: BTreeSet<String>,
}

fn seeded() -> &'static Seeded {
    static SEEDED: OnceLock<Seeded> = OnceLock::new();
    SEEDED.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let db = rt.block_on(async {
            let mut config = DbConfig::default();
            config.settings.cache_ttl = 0;
            let db = Arc::new(
                DbBackend::connect("sqlite::memory:", config)
                    .await
                    .expect("sqlite"),
            );
            clientele_db::migrate(db.connection()).await.expect("migrate");
            db
        });
        let users = [
            ("jdoe", "John", "Doe", "john.doe@acme-corp.test", "ACME"),
            ("a%b", "Per%cent", "Under_score", "a_b@acme-corp.test", "AC%ME"),
            ("o'brien", "Séan", "O'Brien", "o'brien@acme-corp.test", "ACME"),
            ("Anna", "Anna", "Ångström", "anna@acme-corp.test", "ÅCME"),
            ("back\\slash", "Back", "Sl\\ash", "bs@acme-corp.test", "ACME"),
            ("مرحبا", "שלום", "rene\u{301}", "rtl@acme-corp.test", "ACME"),
        ];
        let logins = rt.block_on(async {
            let dir = Directory::builder()
                .writable_source(db.clone())
                .company_store(db.clone())
                .build()
                .expect("directory");
            let mut logins = BTreeSet::new();
            for id in ["ACME", "AC%ME", "ÅCME"] {
                dir.add_company(NewCustomerCompany::new(id, &format!("{id} Corp")), "fuzz")
                    .await
                    .expect("company");
            }
            for (login, first, last, email, cid) in users {
                dir.add_customer_user(
                    NewCustomerUser::new(login, first, last, email, cid).password("x"),
                    "fuzz",
                )
                .await
                .expect("user");
                logins.insert(login.to_owned());
            }
            logins
        });
        Seeded { rt, db, logins }
    })
}

fuzz_target!(|input: FuzzQuery| {
    let Some(query) = input.query() else {
        return;
    };
    let s = seeded();
    match s.rt.block_on(s.db.search(&query)) {
        Ok(users) => {
            assert!(users.len() <= query.limit, "{} > limit {}", users.len(), query.limit);
            for u in users {
                assert!(s.logins.contains(u.login.as_str()), "unknown user {:?}", u.login);
            }
        }
        Err(e @ (Error::Backend { .. } | Error::Unavailable { .. } | Error::Timeout { .. })) => {
            panic!("untyped database error for {query:?}: {e:?}")
        }
        Err(_) => {}
    }
});
