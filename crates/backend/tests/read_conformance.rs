//! The read-only part of the storage-level conformance suite on the in-memory backend, seeded
//! through its writer.

use std::sync::Arc;

use clientele_backend::conformance::read::{ReadHarness, ReadStores, read_trials, seed_store};
use clientele_backend::{CustomerUserSource, InMemoryBackend};

struct Memory(Arc<InMemoryBackend>);

#[async_trait::async_trait]
impl ReadHarness for Memory {
    async fn setup() -> Self {
        let store = Arc::new(InMemoryBackend::new());
        seed_store(&*store, store.settings()).await;
        Memory(store)
    }
    fn stores(&self) -> ReadStores {
        ReadStores::new(self.0.clone()).with_passwords(self.0.clone())
    }
    async fn teardown(self) {}
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    libtest_mimic::run(&args, read_trials::<Memory>("memory", None)).exit();
}
