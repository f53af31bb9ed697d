//! The conformance suite on the in-memory backend, with and without a cache in front.

use std::sync::Arc;

use async_trait::async_trait;
use clientele_backend::{CompanySettings, InMemoryBackend, SourceSettings};
use clientele_directory::Directory;
use clientele_directory::conformance::{Harness, trials};

struct Memory(Directory);

#[async_trait]
impl Harness for Memory {
    async fn setup() -> Self {
        Memory(Directory::in_memory(Arc::new(InMemoryBackend::new())))
    }
    fn directory(&self) -> &Directory {
        &self.0
    }
    async fn teardown(self) {}
}

/// The same store behind a one-hour cache: every write through the Directory must drop what it
/// changed, or the suite sees stale data.
struct CachedMemory(Directory);

#[async_trait]
impl Harness for CachedMemory {
    async fn setup() -> Self {
        let settings = SourceSettings {
            name: "memory".into(),
            cache_ttl: 3600,
            ..SourceSettings::default()
        };
        let store = InMemoryBackend::with_settings(settings, CompanySettings::default());
        CachedMemory(Directory::in_memory(Arc::new(store)))
    }
    fn directory(&self) -> &Directory {
        &self.0
    }
    async fn teardown(self) {}
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut all = trials::<Memory>("uncached", None);
    all.extend(trials::<CachedMemory>("cached", None));
    libtest_mimic::run(&args, all).exit();
}
