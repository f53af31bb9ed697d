//! The Directory-level conformance suite, through a Directory over `DbBackend`, on MariaDB/MySQL
//! (a fresh database per test on `CLIENTELE_TEST_MYSQL_URL`), plain and with the opt-in search
//! indexes (generated lower-case columns and their b-trees). Ignored outside `scripts/test.sh`,
//! which runs them and fails when the server is missing.

#[cfg(feature = "mysql")]
#[macro_use]
mod common;

#[cfg(feature = "mysql")]
mod harnesses {
    db_harness!(MySql, crate::common::Kind::MySql);
    db_harness!(MySqlIndexed, crate::common::Kind::MySql, indexed);
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    #[allow(unused_mut)]
    let mut all = Vec::new();
    #[cfg(feature = "mysql")]
    {
        use clientele_directory::conformance::trials;
        let reason = Some("needs MariaDB: run scripts/test.sh");
        all.extend(trials::<harnesses::MySql>("plain", reason));
        all.extend(trials::<harnesses::MySqlIndexed>("indexed", reason));
    }
    libtest_mimic::run(&args, all).exit();
}
