//! The read-only part of the storage-level conformance suite on the in-memory backend, seeded
//! through its writer: with OTOBO's default case rule and case-sensitive.

use std::sync::Arc;

use clientele_backend::conformance::read::{ReadHarness, ReadStores, read_trials, seed_store};
use clientele_backend::{CompanySettings, CustomerUserSource, InMemoryBackend, SourceSettings};

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

/// The same store comparing logins and search values case-sensitively (`SearchCaseSensitive`).
struct CaseSensitive(Arc<InMemoryBackend>);

#[async_trait::async_trait]
impl ReadHarness for CaseSensitive {
    async fn setup() -> Self {
        let settings = SourceSettings {
            case_sensitive: true,
            ..SourceSettings::default()
        };
        let store = Arc::new(InMemoryBackend::with_settings(
            settings,
            CompanySettings::default(),
        ));
        seed_store(&*store, store.settings()).await;
        CaseSensitive(store)
    }
    fn stores(&self) -> ReadStores {
        ReadStores::new(self.0.clone()).with_passwords(self.0.clone())
    }
    async fn teardown(self) {}
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut all = read_trials::<Memory>("memory", None);
    all.extend(read_trials::<CaseSensitive>("case_sensitive", None));
    libtest_mimic::run(&args, all).exit();
}
