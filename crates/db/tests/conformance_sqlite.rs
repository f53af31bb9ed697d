//! The Directory-level conformance suite, through a Directory over `DbBackend`, on SQLite in
//! memory and in a file, and in memory with the opt-in search indexes (the trigram index and the
//! NOCASE b-trees change the statements searches emit, never their results).

#[macro_use]
mod common;

use clientele_directory::conformance::trials;

db_harness!(SqliteMemory, crate::common::Kind::SqliteMemory);
db_harness!(SqliteFile, crate::common::Kind::SqliteFile);
db_harness!(SqliteIndexed, crate::common::Kind::SqliteMemory, indexed);

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let mut all = trials::<SqliteMemory>("memory", None);
    all.extend(trials::<SqliteFile>("file", None));
    all.extend(trials::<SqliteIndexed>("indexed", None));
    libtest_mimic::run(&args, all).exit();
}
