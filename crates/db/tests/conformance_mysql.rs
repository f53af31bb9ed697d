//! The backend conformance suite, through a Directory over `DbBackend`, on MariaDB/MySQL (a
//! fresh database per test on `CLIENTELE_TEST_MYSQL_URL`).
#![cfg(feature = "mysql")]

#[macro_use]
mod common;

mod plain {
    db_harness!(MySql, crate::common::Kind::MySql);
    clientele_directory::conformance_suite!(MySql, #[ignore = "needs MariaDB: run scripts/test.sh"]);
}

/// With the opt-in search indexes (generated lower-case columns and their b-trees).
mod indexed {
    db_harness!(MySqlIndexed, crate::common::Kind::MySql, indexed);
    clientele_directory::conformance_suite!(MySqlIndexed, #[ignore = "needs MariaDB: run scripts/test.sh"]);
}
