//! An OTOBO-style database with passwords stored in every legacy format (DES crypt, md5-crypt,
//! apr1, sha1/sha256/sha512 hex, OTOBO's BCRYPT framing, plain): every user logs in through the
//! Directory over the DB backend, wrong passwords fail, and each login upgrades the stored hash
//! to argon2id — on SQLite and on PostgreSQL.

use std::sync::Arc;

use clientele::Directory;

#[path = "../crates/db/tests/common/mod.rs"]
mod common;
#[path = "../crates/directory/tests/support/kat.rs"]
mod kat;

use common::{Fixture, Kind};

async fn run(kind: Kind) {
    let fx = Fixture::new(kind).await;
    let db: Arc<clientele::DbBackend> = fx.db.clone();
    let dir = Directory::builder()
        .writable_source(db.clone())
        .company_store(db.clone())
        .relation_store(db.clone())
        .preference_store(db.clone())
        .config(kat::cheap_hashing())
        .build()
        .expect("directory");
    kat::mixed_logins(&dir, db.as_ref()).await;
    fx.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_hashes_on_sqlite() {
    run(Kind::SqliteFile).await;
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
async fn mixed_hashes_on_postgres() {
    run(Kind::Postgres).await;
}
