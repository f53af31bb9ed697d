//! The backend conformance suite, through a Directory over `DbBackend`, on SQLite in memory and
//! in a file, and in memory with the opt-in search indexes (the trigram index and the NOCASE
//! b-trees change the statements searches emit, never their results).

#[macro_use]
mod common;

mod memory {
    db_harness!(SqliteMemory, crate::common::Kind::SqliteMemory);
    clientele_directory::conformance_suite!(SqliteMemory);
}

mod file {
    db_harness!(SqliteFile, crate::common::Kind::SqliteFile);
    clientele_directory::conformance_suite!(SqliteFile);
}

mod indexed {
    db_harness!(SqliteIndexed, crate::common::Kind::SqliteMemory, indexed);
    clientele_directory::conformance_suite!(SqliteIndexed);
}
