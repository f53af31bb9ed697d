//! The storage-level conformance suite on the in-memory backend: every registered behaviour,
//! against the store's trait objects, no Directory in between.

use std::sync::Arc;

use clientele_backend::InMemoryBackend;
use clientele_backend::conformance::{StoreHarness, Stores, trials};

struct Memory(Arc<InMemoryBackend>);

#[async_trait::async_trait]
impl StoreHarness for Memory {
    async fn setup() -> Self {
        Memory(Arc::new(InMemoryBackend::new()))
    }
    fn stores(&self) -> Stores {
        Stores::all(self.0.clone())
    }
    async fn teardown(self) {}
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    libtest_mimic::run(&args, trials::<Memory>("memory", None)).exit();
}
