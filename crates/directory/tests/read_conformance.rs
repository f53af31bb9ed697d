//! The read-only part of the Directory-level conformance suite on the in-memory backend,
//! seeded through the Directory.

use std::sync::Arc;

use async_trait::async_trait;
use clientele_backend::InMemoryBackend;
use clientele_directory::Directory;
use clientele_directory::conformance::read::{ReadHarness, read_trials, seed_directory};

struct Memory(Directory);

#[async_trait]
impl ReadHarness for Memory {
    async fn setup() -> Self {
        let dir = Directory::in_memory(Arc::new(InMemoryBackend::new()));
        seed_directory(&dir).await;
        Memory(dir)
    }
    fn directory(&self) -> &Directory {
        &self.0
    }
    fn passwords_known(&self) -> bool {
        true
    }
    async fn teardown(self) {}
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    libtest_mimic::run(&args, read_trials::<Memory>("memory", None)).exit();
}
