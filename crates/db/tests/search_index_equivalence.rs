//! The opt-in search indexes change how a database finds rows, never which: on random values
//! and random terms, drawn from characters whose case folding is irregular (`ſ`, `K` (Kelvin),
//! `ẞ`, `ς`, `İ`, …) and from SQL and full-text specials (`%`, `_`, `\`, `"`), a backend with
//! them finds exactly the users one without them finds — on SQLite (trigram index, NOCASE
//! b-trees), PostgreSQL (`clientele_search`) and MariaDB (pre-filters, checked against the
//! exact comparison written out by hand).

mod common;

use std::sync::Arc;

use clientele_backend::CustomerUserSource;
use clientele_db::{DbBackend, DbConfig};
use clientele_model::search::{Expr, FieldSet, Pattern, UserQuery};
use proptest::prelude::*;
use tokio::runtime::Runtime;

/// Characters the values and terms are drawn from.
const ALPHABET: &[char] = &[
    'a', 'A', 's', 'S', 'ſ', 'k', 'K', '\u{212A}', 'ß', 'ẞ', 'σ', 'ς', 'Σ', 'é', 'É', 'e', 'i',
    'I', 'İ', 'ı', 'ö', 'Ö', '%', '_', '\\', '"', ' ', 'x', '1',
];

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(ALPHABET), 1..=max)
        .prop_map(|chars| chars.into_iter().collect())
}

/// A term: literal runs and `*` wildcards.
fn term() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![3 => text(4), 1 => Just("*".to_owned())], 1..=4)
        .prop_map(|parts| parts.concat())
}

struct Pair {
    plain: Arc<DbBackend>,
    indexed: Arc<DbBackend>,
}

async fn backend() -> Arc<DbBackend> {
    let mut config = DbConfig::default();
    config.settings.cache_ttl = 0;
    let db = DbBackend::connect("sqlite::memory:", config).await.unwrap();
    clientele_db::migrate(db.connection()).await.unwrap();
    Arc::new(db)
}

/// Adds users `u00`, `u01`, … with these last names.
async fn fill(db: &DbBackend, last_names: &[String]) {
    common::add_users_named(db, "First", last_names).await;
}

fn pair(rt: &Runtime, last_names: &[String]) -> Pair {
    rt.block_on(async {
        let plain = backend().await;
        let indexed = backend().await;
        indexed.enable_search_indexes().await.unwrap();
        fill(&plain, last_names).await;
        fill(&indexed, last_names).await;
        Pair { plain, indexed }
    })
}

/// The logins a search for `expr` over the search fields finds (valid users, up to 1000).
async fn logins(db: &DbBackend, expr: Expr, case_sensitive: bool) -> Vec<String> {
    let q = UserQuery {
        fields: FieldSet::SearchFields {
            exclude_customer_id: false,
        },
        expr,
        valid_only: true,
        limit: 1000,
        case_sensitive,
    };
    db.search(&q)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.login.into_string())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn indexes_never_change_search_results(
        last_names in prop::collection::vec(text(8), 1..24),
        random_terms in prop::collection::vec(term(), 1..8),
        picks in picks(),
    ) {
        let rt = Runtime::new().unwrap();
        let dbs = pair(&rt, &last_names);
        for t in &terms(random_terms, &last_names, &picks) {
            let pattern = Pattern::from_wildcards(t);
            for case_sensitive in [false, true] {
                let (plain, indexed) = rt.block_on(async {
                    (
                        logins(&dbs.plain, Expr::Match(pattern.clone()), case_sensitive).await,
                        logins(&dbs.indexed, Expr::Match(pattern.clone()), case_sensitive).await,
                    )
                });
                prop_assert_eq!(plain, indexed, "term {:?} (case-sensitive: {})", t, case_sensitive);
            }
        }
    }
}

/// The characters whose folding is irregular, one by one: the index finds what the scan finds.
#[test]
fn irregular_case_folding_agrees() {
    let rt = Runtime::new().unwrap();
    let values: Vec<String> = [
        "ſmith",
        "Smith",
        "\u{212A}arl",
        "Karl",
        "ẞtraße",
        "straße",
        "ΣΟΦΟΣ",
        "σοφος",
        "İstanbul",
        "istanbul",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let dbs = pair(&rt, &values);
    for t in [
        "smi*", "*smi*", "SMI*", "kar*", "*KAR*", "*straß*", "*STRASS*", "*σοφ*", "*ΣΟΦ*", "*οσ",
        "*stanbul", "ist*", "İST*",
    ] {
        let pattern = Pattern::from_wildcards(t);
        let (plain, indexed) = rt.block_on(async {
            (
                logins(&dbs.plain, Expr::Match(pattern.clone()), false).await,
                logins(&dbs.indexed, Expr::Match(pattern.clone()), false).await,
            )
        });
        assert_eq!(plain, indexed, "{t}");
    }
}

/// MariaDB: searches put cheaper conditions in front of the exact comparison (the collation's
/// own `LIKE`, and with the search indexes a `LIKE` on the generated lower-case column). On
/// random values and terms the backend finds exactly the users the exact comparison alone
/// finds, written out here by hand.
#[cfg(feature = "mysql")]
#[test]
#[ignore = "needs MariaDB: run scripts/test.sh"]
fn mariadb_pre_filters_never_change_search_results() {
    use clientele_db::sea_orm::{ConnectionTrait, DbBackend as Engine, Statement, Value};

    let rt = Runtime::new().unwrap();
    let (plain, indexed) = rt.block_on(server_pair(common::Kind::MySql));
    let exact = |term: &str| {
        let fields = ["login", "first_name", "last_name", "customer_id"];
        let condition = fields
            .iter()
            .map(|f| {
                format!("CAST(LOWER({f}) AS BINARY) LIKE CAST(LOWER(?) AS BINARY) ESCAPE '\\\\'")
            })
            .collect::<Vec<_>>()
            .join(" OR ");
        let pattern = clientele_model::search::Pattern::from_wildcards(term);
        let like: String = pattern
            .parts()
            .iter()
            .map(|p| match p {
                clientele_model::search::Part::Literal(l) => l
                    .chars()
                    .map(|c| match c {
                        '\\' | '%' | '_' => format!("\\{c}"),
                        c => c.to_string(),
                    })
                    .collect(),
                clientele_model::search::Part::Wildcard => "%".to_owned(),
            })
            .collect();
        Statement::from_sql_and_values(
            Engine::MySql,
            format!(
                "SELECT login FROM customer_user WHERE ({condition}) AND valid_id IN (1) ORDER BY CAST(login AS BINARY)"
            ),
            vec![Value::from(like); 4],
        )
    };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(24));
    runner
        .run(&server_case(), |(last_names, random_terms, picks)| {
            rt.block_on(async {
                refill(&plain, &indexed, &last_names).await;
                for t in &terms(random_terms, &last_names, &picks) {
                    let expected: Vec<String> = plain
                        .db
                        .connection()
                        .query_all_raw(exact(t))
                        .await
                        .unwrap()
                        .iter()
                        .map(|r| r.try_get_by_index::<String>(0).unwrap())
                        .collect();
                    for f in [&plain, &indexed] {
                        let word = Expr::Match(Pattern::from_wildcards(t));
                        let got = logins(&f.db, word, false).await;
                        prop_assert_eq!(&got, &expected, "term {:?}", t);
                    }
                }
                Ok(())
            })
        })
        .unwrap();
    rt.block_on(async {
        plain.finish().await;
        indexed.finish().await;
    });
}

/// The random terms followed by the terms [`cut_terms`] cuts from `values`.
fn terms(random: Vec<String>, values: &[String], picks: &[Pick]) -> Vec<String> {
    random.into_iter().chain(cut_terms(values, picks)).collect()
}

/// One case of the server property tests: last names, random terms, terms to cut.
#[cfg(any(feature = "postgres", feature = "mysql"))]
fn server_case() -> impl Strategy<Value = (Vec<String>, Vec<String>, Vec<Pick>)> {
    (
        prop::collection::vec(text(8), 1..16),
        prop::collection::vec(term(), 1..4),
        picks(),
    )
}

/// Two fresh databases on a server, the second with the search indexes.
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn server_pair(kind: common::Kind) -> (common::Fixture, common::Fixture) {
    let plain = common::Fixture::new(kind).await;
    let indexed = common::Fixture::new(kind).await;
    indexed.db.enable_search_indexes().await.unwrap();
    (plain, indexed)
}

/// Replaces the users of both databases with ones of these last names.
#[cfg(any(feature = "postgres", feature = "mysql"))]
async fn refill(plain: &common::Fixture, indexed: &common::Fixture, last_names: &[String]) {
    for f in [plain, indexed] {
        f.exec("DELETE FROM customer_user").await;
        fill(&f.db, last_names).await;
    }
}

/// What [`cut_terms`] cuts: which value, where, how long, upper-cased or not, which ends get
/// a `*`.
type Pick = (prop::sample::Index, prop::sample::Index, usize, bool, u8);

fn picks() -> impl Strategy<Value = Vec<Pick>> {
    prop::collection::vec(
        (
            any::<prop::sample::Index>(),
            any::<prop::sample::Index>(),
            1usize..4,
            any::<bool>(),
            0u8..4,
        ),
        1..8,
    )
}

/// Terms cut from the values themselves, so that they match: a piece of a value (by character
/// position), upper-cased or not, with `*` on neither, one or both ends.
fn cut_terms(
    values: &[String],
    picks: &[(prop::sample::Index, prop::sample::Index, usize, bool, u8)],
) -> Vec<String> {
    picks
        .iter()
        .map(|(value, start, len, upper, ends)| {
            let chars: Vec<char> = value.get(values).chars().collect();
            let from = start.index(chars.len());
            let piece: String = chars[from..(from + len).min(chars.len())].iter().collect();
            let piece = if *upper { piece.to_uppercase() } else { piece };
            match ends {
                0 => format!("*{piece}*"),
                1 => format!("{piece}*"),
                2 => format!("*{piece}"),
                _ => piece,
            }
        })
        .collect()
}

/// PostgreSQL: with the search indexes a word is first tested against `clientele_search`, the
/// joined lower-case search columns. On random values and terms (random ones, and ones cut from
/// the values so that they match), plain and negated, under both case rules, the backend with
/// it finds exactly the users the backend without it finds.
#[cfg(feature = "postgres")]
#[test]
#[ignore = "needs PostgreSQL: run scripts/test.sh"]
fn postgres_search_text_never_changes_search_results() {
    let rt = Runtime::new().unwrap();
    let (plain, indexed) = rt.block_on(server_pair(common::Kind::Postgres));
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(24));
    let found = std::sync::atomic::AtomicUsize::new(0);
    runner
        .run(&server_case(), |(last_names, random_terms, picks)| {
            rt.block_on(async {
                refill(&plain, &indexed, &last_names).await;
                for t in terms(random_terms, &last_names, &picks) {
                    let word = Expr::Match(Pattern::from_wildcards(&t));
                    let negated = Expr::Not(Box::new(word.clone()));
                    for expr in [word, negated] {
                        for case_sensitive in [false, true] {
                            let want = logins(&plain.db, expr.clone(), case_sensitive).await;
                            let got = logins(&indexed.db, expr.clone(), case_sensitive).await;
                            found.fetch_add(got.len(), std::sync::atomic::Ordering::Relaxed);
                            prop_assert_eq!(
                                &got,
                                &want,
                                "{:?} (case-sensitive: {})",
                                expr,
                                case_sensitive
                            );
                        }
                    }
                }
                Ok(())
            })
        })
        .unwrap();
    assert!(
        found.into_inner() > 0,
        "the terms found nobody: the comparison proved nothing"
    );
    rt.block_on(async {
        plain.finish().await;
        indexed.finish().await;
    });
}
