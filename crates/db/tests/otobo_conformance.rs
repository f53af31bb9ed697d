//! Clientele's conformance suites on OTOBO's own schema: every database starts as an OTOBO
//! installer leaves it — the eleven tables, the dynamic-field tables, the initial rows (valid
//! 1..3, agent 1 `root@localhost`, groups `users`/`admin`/`stats`) and OTOBO's foreign keys,
//! among them the audit columns' keys to `users` ([`common::otobo`]) — then
//! `clientele_db::migrate` runs on it, as an administrator would, and each case runs against it:
//!
//! * `directory`, `directory_read`: `clientele_directory`'s suites through a Directory over
//!   `DbBackend` (as `conformance_*.rs` and `read_conformance.rs` run them);
//! * `store`, `read`: `clientele_backend`'s storage-level suites on `DbBackend`'s trait objects
//!   (as `store_conformance.rs` and `read_conformance.rs` run them);
//! * `suite`: every function of `tests/suite` (as `sqlite.rs`, `postgres.rs`, `mysql.rs` run
//!   them).
//!
//! Each suite runs twice per database: on OTOBO's schema migrated by `clientele_db::migrate`
//! (Clientele's unique indexes added), and migrated for coexistence with a running OTOBO
//! (`MigrateOptions { coexist: true }`: no index of Clientele's on OTOBO's tables), where the
//! races — the same login in two cases, the same address, concurrent grant changes — must
//! still leave no duplicate, held by the writers' locks alone.
//!
//! Besides `root@localhost` the database holds a shop's agents 2 to 9
//! ([`common::otobo::shop_agents`]): the suites write as `Actor::System` (agent 1) and, where
//! they fix an actor themselves, as one of those. Every write's actor is checked against
//! `users` before anything is written. The cases in [`KEPT_OUT`] cannot run on OTOBO's data;
//! each names its reason.
//!
//! SQLite runs always (in a file: OTOBO's schema in SQLite's closest equivalent, foreign keys
//! enforced); PostgreSQL and MariaDB are marked ignored (`--include-ignored` runs them, and they
//! fail when the server is missing).

#[macro_use]
mod common;
#[allow(unused_macros)]
mod suite;

use clientele_backend::CustomerUserSource;
use clientele_backend::conformance::read::{ReadHarness, ReadStores, read_trials, seed_store};
use clientele_backend::conformance::{StoreHarness, Stores, async_trial};
use clientele_directory::Directory;
use clientele_directory::conformance::read as directory_read;
use common::{Fixture, Kind};

/// Cases kept out of the OTOBO run: `(case, reason)`, the case named as its trial ends
/// (`suite::users_roundtrip`), on every database.
const KEPT_OUT: &[(&str, &str)] = &[
    // OTOBO's installer already has the groups `users`, `admin` and `stats`; these cases start
    // by adding a group named `users` and expect it to be new (and the permission case expects
    // it to be the only valid group).
    (
        "directory::permissions_without_group_support",
        "adds group `users`, which OTOBO's initial rows hold, and expects no other group",
    ),
    (
        "suite::user_companies",
        "adds group `users`, which OTOBO's initial rows hold",
    ),
    (
        "suite::groups_and_grants",
        "adds group `users`, which OTOBO's initial rows hold",
    ),
    (
        "suite::stored_grant_names",
        "adds group `users`, which OTOBO's initial rows hold",
    ),
];

macro_rules! harnesses {
    ($module:ident, $kind:expr) => {
        mod $module {
            use super::*;

            db_harness!(Dir, $kind);

            pub struct Store(Fixture);

            #[async_trait::async_trait]
            impl StoreHarness for Store {
                async fn setup() -> Self {
                    Store(Fixture::new($kind).await)
                }
                fn stores(&self) -> Stores {
                    Stores::all(self.0.db.clone())
                }
                async fn teardown(self) {
                    self.0.finish().await
                }
            }

            pub struct Read(Fixture);

            #[async_trait::async_trait]
            impl ReadHarness for Read {
                async fn setup() -> Self {
                    let fixture = Fixture::new($kind).await;
                    seed_store(&*fixture.db, fixture.db.settings()).await;
                    Read(fixture)
                }
                fn stores(&self) -> ReadStores {
                    ReadStores::new(self.0.db.clone()).with_passwords(self.0.db.clone())
                }
                async fn teardown(self) {
                    self.0.finish().await
                }
            }

            pub struct DirRead {
                directory: Directory,
                fixture: Fixture,
            }

            #[async_trait::async_trait]
            impl directory_read::ReadHarness for DirRead {
                async fn setup() -> Self {
                    let fixture = Fixture::new($kind).await;
                    let db = fixture.db.clone();
                    let directory = Directory::builder()
                        .writable_source(db.clone())
                        .company_store(db.clone())
                        .relation_store(db.clone())
                        .preference_store(db)
                        .build()
                        .expect("directory over the db backend");
                    directory_read::seed_directory(&directory).await;
                    DirRead { directory, fixture }
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

            /// Every case of every suite on this database.
            pub fn trials(prefix: &str, ignored: Option<&str>) -> Vec<libtest_mimic::Trial> {
                let mut all = clientele_directory::conformance::trials::<Dir>(
                    &format!("{prefix}::directory"),
                    ignored,
                );
                all.extend(directory_read::read_trials::<DirRead>(
                    &format!("{prefix}::directory_read"),
                    ignored,
                ));
                all.extend(clientele_backend::conformance::trials::<Store>(
                    &format!("{prefix}::store"),
                    ignored,
                ));
                all.extend(read_trials::<Read>(&format!("{prefix}::read"), ignored));
                all.extend(suite_trials!(
                    prefix,
                    $kind,
                    ignored,
                    [
                        users_roundtrip,
                        passwords,
                        duplicate_login_and_email,
                        email_check_off,
                        updates,
                        read_only_rows_are_kept,
                        search_terms,
                        list_search,
                        search_field_sets,
                        hostile_input,
                        case_rule,
                        detail_search,
                        detail_search_many_company_ids,
                        customer_id_list,
                        companies,
                        user_companies,
                        groups_and_grants,
                        stored_grant_names,
                        services,
                        preferences,
                        extra_attribute_room,
                        no_n_plus_one,
                        race_same_login,
                        race_same_email,
                        concurrent_take_preference,
                        migrate_twice,
                    ]
                ));
                all
            }
        }
    };
}

/// One trial per function of `tests/suite`, named `<prefix>::suite::<function>`.
macro_rules! suite_trials {
    ($prefix:expr, $kind:expr, $ignored:expr, [$($name:ident),* $(,)?]) => {
        vec![$(
            async_trial(
                format!("{}::suite::{}", $prefix, stringify!($name)),
                $ignored,
                move || crate::suite::$name($kind),
            ),
        )*]
    };
}

harnesses!(sqlite, Kind::OtoboSqlite);
#[cfg(feature = "postgres")]
harnesses!(postgres, Kind::OtoboPostgres);
#[cfg(feature = "mysql")]
harnesses!(mariadb, Kind::OtoboMySql);
harnesses!(sqlite_coexist, Kind::CoexistSqlite);
#[cfg(feature = "postgres")]
harnesses!(postgres_coexist, Kind::CoexistPostgres);
#[cfg(feature = "mysql")]
harnesses!(mariadb_coexist, Kind::CoexistMySql);

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut all = sqlite::trials("sqlite", None);
    all.extend(sqlite_coexist::trials("sqlite_coexist", None));
    #[cfg(feature = "postgres")]
    {
        let ignored = Some("needs PostgreSQL: run scripts/test.sh");
        all.extend(postgres::trials("postgres", ignored));
        all.extend(postgres_coexist::trials("postgres_coexist", ignored));
    }
    #[cfg(feature = "mysql")]
    {
        let ignored = Some("needs MariaDB: run scripts/test.sh");
        all.extend(mariadb::trials("mariadb", ignored));
        all.extend(mariadb_coexist::trials("mariadb_coexist", ignored));
    }
    for (case, reason) in KEPT_OUT {
        assert!(
            all.iter().any(|t| t.name().ends_with(&format!("::{case}"))),
            "KEPT_OUT names {case:?} ({reason}), which no suite has: update the list"
        );
    }
    all.retain(|t| {
        !KEPT_OUT
            .iter()
            .any(|(case, _)| t.name().ends_with(&format!("::{case}")))
    });
    libtest_mimic::run(&args, all).exit();
}
