//! The backend conformance suite, through a Directory over `DbBackend`, on SQLite in memory and
//! in a file.

#[macro_use]
mod common;

mod memory {
    db_harness!(SqliteMemory, crate::common::Kind::SqliteMemory);
    clientele_backend::conformance_suite!(SqliteMemory);
}

mod file {
    db_harness!(SqliteFile, crate::common::Kind::SqliteFile);
    clientele_backend::conformance_suite!(SqliteFile);
}
