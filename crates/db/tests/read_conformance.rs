//! The read-only parts of both conformance suites on `DbBackend`, seeded through its writer
//! (storage level) or through a Directory (Directory level): SQLite in memory and in a file,
//! PostgreSQL and MariaDB (those two marked ignored; `scripts/test.sh` runs them, and they fail
//! when the server is missing).

#[allow(unused_macros)]
#[macro_use]
mod common;

use clientele_backend::CustomerUserSource;
use clientele_backend::conformance::read::{ReadHarness, ReadStores, read_trials, seed_store};
use clientele_directory::Directory;
use clientele_directory::conformance::read as directory_read;
use common::{Fixture, Kind};

macro_rules! read_harness {
    ($name:ident, $kind:expr) => {
        struct $name(Fixture);

        #[async_trait::async_trait]
        impl ReadHarness for $name {
            async fn setup() -> Self {
                let fixture = Fixture::new($kind).await;
                seed_store(&*fixture.db, fixture.db.settings()).await;
                $name(fixture)
            }
            fn stores(&self) -> ReadStores {
                ReadStores::new(self.0.db.clone()).with_passwords(self.0.db.clone())
            }
            async fn teardown(self) {
                self.0.finish().await
            }
        }
    };
}

read_harness!(SqliteMemory, Kind::SqliteMemory);
read_harness!(SqliteFile, Kind::SqliteFile);
#[cfg(feature = "postgres")]
read_harness!(Postgres, Kind::Postgres);
#[cfg(feature = "mysql")]
read_harness!(MariaDb, Kind::MySql);

/// A Directory over a `DbBackend` on SQLite in memory (users, companies, relations and
/// preferences), seeded through the Directory.
struct SqliteDirectory {
    directory: Directory,
    fixture: Fixture,
}

#[async_trait::async_trait]
impl directory_read::ReadHarness for SqliteDirectory {
    async fn setup() -> Self {
        let fixture = Fixture::new(Kind::SqliteMemory).await;
        let db = fixture.db.clone();
        let directory = Directory::builder()
            .writable_source(db.clone())
            .company_store(db.clone())
            .relation_store(db.clone())
            .preference_store(db)
            .build()
            .expect("directory over the db backend");
        directory_read::seed_directory(&directory).await;
        SqliteDirectory { directory, fixture }
    }
    fn directory(&self) -> &Directory {
        &self.directory
    }
    fn passwords_known(&self) -> bool {
        true
    }
    async fn teardown(self) {
        drop(self.directory);
        self.fixture.finish().await;
    }
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut all = read_trials::<SqliteMemory>("sqlite_memory", None);
    all.extend(read_trials::<SqliteFile>("sqlite_file", None));
    #[cfg(feature = "postgres")]
    all.extend(read_trials::<Postgres>(
        "postgres",
        Some("needs PostgreSQL: run scripts/test.sh"),
    ));
    #[cfg(feature = "mysql")]
    all.extend(read_trials::<MariaDb>(
        "mariadb",
        Some("needs MariaDB: run scripts/test.sh"),
    ));
    all.extend(directory_read::read_trials::<SqliteDirectory>(
        "directory_sqlite",
        None,
    ));
    libtest_mimic::run(&args, all).exit();
}
