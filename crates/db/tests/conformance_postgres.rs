//! The Directory-level conformance suite, through a Directory over `DbBackend`, on PostgreSQL (a
//! fresh database per test on `CLIENTELE_TEST_POSTGRES_URL`), plain and with the opt-in search
//! indexes (trigram and prefix indexes, the `clientele_search` column). Ignored outside
//! `scripts/test.sh`, which runs them and fails when the server is missing.

#[cfg(feature = "postgres")]
#[macro_use]
mod common;

#[cfg(feature = "postgres")]
mod harnesses {
    db_harness!(Postgres, crate::common::Kind::Postgres);
    db_harness!(PostgresIndexed, crate::common::Kind::Postgres, indexed);
}

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    #[allow(unused_mut)]
    let mut all = Vec::new();
    #[cfg(feature = "postgres")]
    {
        use clientele_directory::conformance::trials;
        let reason = Some("needs PostgreSQL: run scripts/test.sh");
        all.extend(trials::<harnesses::Postgres>("plain", reason));
        all.extend(trials::<harnesses::PostgresIndexed>("indexed", reason));
    }
    libtest_mimic::run(&args, all).exit();
}
