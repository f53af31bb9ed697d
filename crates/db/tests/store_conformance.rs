//! The storage-level conformance suite (`clientele_backend::conformance`) against `DbBackend`'s
//! trait objects, no Directory in between: SQLite in memory and in a file, PostgreSQL and
//! MariaDB (those two marked ignored; `scripts/test.sh` runs them, and they fail when the
//! server is missing). The Directory-level suite runs in `conformance_*.rs`.

#[allow(unused_macros)]
#[macro_use]
mod common;

use clientele_backend::conformance::{StoreHarness, Stores, trials};
use common::{Fixture, Kind};

macro_rules! store_harness {
    ($name:ident, $kind:expr) => {
        struct $name(Fixture);

        #[async_trait::async_trait]
        impl StoreHarness for $name {
            async fn setup() -> Self {
                $name(Fixture::new($kind).await)
            }
            fn stores(&self) -> Stores {
                Stores::all(self.0.db.clone())
            }
            async fn teardown(self) {
                self.0.finish().await
            }
        }
    };
}

store_harness!(SqliteMemory, Kind::SqliteMemory);
store_harness!(SqliteFile, Kind::SqliteFile);
#[cfg(feature = "postgres")]
store_harness!(Postgres, Kind::Postgres);
#[cfg(feature = "mysql")]
store_harness!(MariaDb, Kind::MySql);

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut all = trials::<SqliteMemory>("sqlite_memory", None);
    all.extend(trials::<SqliteFile>("sqlite_file", None));
    #[cfg(feature = "postgres")]
    all.extend(trials::<Postgres>(
        "postgres",
        Some("needs PostgreSQL: run scripts/test.sh"),
    ));
    #[cfg(feature = "mysql")]
    all.extend(trials::<MariaDb>(
        "mariadb",
        Some("needs MariaDB: run scripts/test.sh"),
    ));
    libtest_mimic::run(&args, all).exit();
}
