//! OTOBO-style mixed hashes on the in-memory store: users whose passwords were stored in every
//! legacy format log in through the Directory, wrong passwords fail, and each successful login
//! upgrades the stored hash to argon2id. Vectors come from `fixtures/password_kat.tsv`.

use std::sync::Arc;

use clientele_backend::InMemoryBackend;
use clientele_directory::Directory;

#[path = "support/kat.rs"]
mod kat;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_legacy_format_logs_in_and_is_upgraded() {
    let store = Arc::new(InMemoryBackend::new());
    let dir = Directory::in_memory_with(store.clone(), kat::cheap_hashing()).unwrap();
    kat::mixed_logins(&dir, store.as_ref()).await;
}
