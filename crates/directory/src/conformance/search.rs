//! Term, email, login, customer-id and detail searches, and customer-id lists.

use super::*;
use crate::conformance::case;

async fn search_fixture(dir: &Directory) {
    seed_companies(dir).await;
    add(dir, "jsmith", "John", "Smith", "ACME").await;
    add(dir, "asmithers", "Anna", "Smithers", "GLOBEX").await;
    add(dir, "bjones", "Bob", "Jones", "ACME").await;
    add(dir, "mmueller", "Jürgen", "Müller", "INITECH").await;
    add(dir, "x_y", "Under", "Score", "INITECH").await;
    add(dir, "x%y", "Per", "Cent", "INITECH").await;
}

/// Words match anywhere in any search field (default prefix and suffix `*`); `*` is a wildcard.
pub async fn search_words_and_wildcards(dir: &Directory) {
    search_fixture(dir).await;
    expect_logins(dir, "smith", &["asmithers", "jsmith"]).await;
    expect_logins(dir, "j*s", &["bjones", "jsmith"]).await;
    assert_eq!(
        logins(dir, CustomerUserSearch::term("globex")).await,
        ["asmithers"],
        "customer_id is a search field"
    );
    assert_eq!(logins(dir, CustomerUserSearch::term("*")).await.len(), 6);
    expect_logins(dir, "nomatch", &[]).await;
    expect_logins(dir, "Müll", &["mmueller"]).await;
}
case!(search_words_and_wildcards);

/// `+`/`AND`, `OR` and `!` work as in OTOBO.
pub async fn search_operators(dir: &Directory) {
    search_fixture(dir).await;
    expect_logins(dir, "smith+john", &["jsmith"]).await;
    expect_logins(dir, "smith AND anna", &["asmithers"]).await;
    expect_logins(dir, "smith+!john", &["asmithers"]).await;
    expect_logins(dir, "jones OR müller", &["bjones", "mmueller"]).await;
    expect_logins(dir, "jsmith+!john", &[]).await;
    expect_logins(dir, "jsmith+!nomatch", &["jsmith"]).await;
}
case!(search_operators);

/// Searches ignore case by default (SearchCaseSensitive = 0), including non-ASCII letters.
pub async fn search_is_case_insensitive(dir: &Directory) {
    search_fixture(dir).await;
    expect_logins(dir, "SMITH+JOHN", &["jsmith"]).await;
    expect_logins(dir, "MÜLLER", &["mmueller"]).await;
    expect_logins(dir, "müller", &["mmueller"]).await;
}
case!(search_is_case_insensitive);

/// `%`, `_` and `\` in a term are literal characters, never SQL wildcards.
pub async fn search_metacharacters_are_literal(dir: &Directory) {
    search_fixture(dir).await;
    expect_logins(dir, "x_y", &["x_y"]).await;
    expect_logins(dir, "x%y", &["x%y"]).await;
    assert!(
        logins(dir, CustomerUserSearch::term("%"))
            .await
            .iter()
            .all(|l| l.contains('%'))
    );
    expect_logins(dir, "_", &["x_y"]).await;
    assert!(logins(dir, CustomerUserSearch::term("\\")).await.is_empty());
    expect_logins(dir, "' OR '1'='1", &[]).await;
    expect_logins(dir, "*)(uid=*", &[]).await;
}
case!(search_metacharacters_are_literal);

/// Invalid users are hidden unless asked for; searches are valid-only by default.
pub async fn search_valid_only(dir: &Directory) {
    search_fixture(dir).await;
    dir.invalidate_customer_user("jsmith", BY)
        .await
        .expect("invalidate");
    expect_logins(dir, "smith", &["asmithers"]).await;
    assert_eq!(
        logins(dir, CustomerUserSearch::term("smith").include_invalid()).await,
        ["asmithers", "jsmith"]
    );
    dir.set_validity("asmithers", Validity::InvalidTemporarily, BY)
        .await
        .expect("invalidate");
    expect_logins(dir, "smith", &[]).await;
}
case!(search_valid_only);

/// The limit caps the result.
pub async fn search_limit(dir: &Directory) {
    search_fixture(dir).await;
    assert_eq!(
        logins(dir, CustomerUserSearch::term("*").limit(2))
            .await
            .len(),
        2
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::term("*").limit(100))
            .await
            .len(),
        6
    );
}
case!(search_limit);

/// A page says whether more matched than its limit, for users and for companies: the
/// limit is reported as applied, and a page that holds every match says no more matched.
pub async fn search_page_says_more_matched(dir: &Directory) {
    search_fixture(dir).await;
    for (limit, more) in [(1, true), (5, true), (6, false), (7, false)] {
        let page = dir
            .search_page(&CustomerUserSearch::term("*").limit(limit))
            .await
            .expect("search_page");
        assert_eq!(
            (page.hits.len(), page.limit, page.more_matched),
            (limit.min(6), limit, more),
            "users, limit {limit}"
        );
        assert!(
            page.missing_sources.is_empty(),
            "{:?}",
            page.missing_sources
        );
        let list = dir
            .search_list_page(&CustomerUserSearch::term("*").limit(limit))
            .await
            .expect("search_list_page");
        assert_eq!(
            (list.hits.len(), list.more_matched),
            (limit.min(6), more),
            "listed users, limit {limit}"
        );
    }
    for (limit, more) in [(2, true), (3, false)] {
        let page = dir
            .search_companies_page(None, true, Some(limit))
            .await
            .expect("search_companies_page");
        assert_eq!(
            (page.hits.len(), page.limit, page.more_matched),
            (limit, limit, more),
            "companies, limit {limit}"
        );
    }
}
case!(search_page_says_more_matched);

/// Email (postmaster) search is exact and ignores case; no substring, no wildcard.
pub async fn email_search_is_exact(dir: &Directory) {
    search_fixture(dir).await;
    let m = mail(&email_local("jsmith"));
    assert_eq!(logins(dir, CustomerUserSearch::email(&m)).await, ["jsmith"]);
    assert_eq!(
        logins(dir, CustomerUserSearch::email(m.to_uppercase())).await,
        ["jsmith"]
    );
    assert!(
        logins(dir, CustomerUserSearch::email("jsmith"))
            .await
            .is_empty()
    );
    assert!(
        logins(dir, CustomerUserSearch::email(format!("*@{DOMAIN}")))
            .await
            .is_empty()
    );
}
case!(email_search_is_exact);

/// Login search is exact, with `*` as an explicit wildcard (SPEC §6.7).
pub async fn login_search(dir: &Directory) {
    search_fixture(dir).await;
    assert_eq!(
        logins(dir, CustomerUserSearch::login("jsmith")).await,
        ["jsmith"]
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::login("JSMITH")).await,
        ["jsmith"]
    );
    assert!(
        logins(dir, CustomerUserSearch::login("smith"))
            .await
            .is_empty(),
        "no implicit substring"
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::login("*smith*")).await,
        ["asmithers", "jsmith"]
    );
    assert_eq!(logins(dir, CustomerUserSearch::login("x_y")).await, ["x_y"]);
}
case!(login_search);

/// Customer-id search takes `*` wildcards; the raw form is exact with `*` literal.
pub async fn customer_id_search(dir: &Directory) {
    search_fixture(dir).await;
    assert_eq!(
        logins(dir, CustomerUserSearch::customer_id("ACME")).await,
        ["bjones", "jsmith"]
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::customer_id("acme")).await,
        ["bjones", "jsmith"]
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::customer_id("AC*")).await,
        ["bjones", "jsmith"]
    );
    assert!(
        logins(dir, CustomerUserSearch::customer_id("AC"))
            .await
            .is_empty()
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::customer_id_raw("ACME")).await,
        ["bjones", "jsmith"]
    );
    assert!(
        logins(dir, CustomerUserSearch::customer_id_raw("AC*"))
            .await
            .is_empty()
    );
    assert_eq!(
        logins(dir, CustomerUserSearch::customer_id("*"))
            .await
            .len(),
        6
    );
}
case!(customer_id_search);

/// Search hits carry OTOBO's `"First Last" <email>` display string and their source.
pub async fn search_hit_display(dir: &Directory) {
    search_fixture(dir).await;
    let hits = dir
        .search(&CustomerUserSearch::login("jsmith"))
        .await
        .expect("search");
    assert_eq!(hits.len(), 1);
    assert_eq!(
        hits[0].display,
        format!("\"John Smith\" <{}>", mail(&email_local("jsmith")))
    );
    assert_eq!(
        Some(hits[0].source.clone()),
        dir.source_names().first().cloned()
    );
}
case!(search_hit_display);

/// Detail search: conditions, selections, exclusions, order and count.
pub async fn detail_search(dir: &Directory) {
    search_fixture(dir).await;
    let mut q = DetailSearch {
        valid_only: true,
        ..Default::default()
    };
    q.conditions.push(FieldCondition {
        attribute: keys::LAST_NAME.into(),
        pattern: Pattern::from_wildcards("smith*"),
    });
    let found = dir.search_detail(&q).await.expect("detail");
    let mut sorted: Vec<String> = found.iter().map(|l| l.to_string()).collect();
    sorted.sort();
    assert_eq!(sorted, ["asmithers", "jsmith"]);
    assert_eq!(dir.count_detail(&q).await.expect("count"), 2);
    q.conditions[0].pattern = Pattern::exact("SMITH");
    assert_eq!(
        dir.search_detail(&q)
            .await
            .expect("detail")
            .iter()
            .map(|l| l.as_str())
            .collect::<Vec<_>>(),
        ["jsmith"]
    );

    let mut q = DetailSearch {
        valid_only: true,
        ..Default::default()
    };
    q.selections.push(SelectionCondition {
        attribute: keys::CUSTOMER_ID.into(),
        values: vec!["ACME".into(), "INITECH".into()],
    });
    q.exclude_logins.push("bjones".into());
    q.order_by.push((keys::LOGIN.into(), Direction::Ascending));
    let found: Vec<String> = dir
        .search_detail(&q)
        .await
        .expect("detail")
        .into_iter()
        .map(|l| l.into_string())
        .collect();
    assert_eq!(found, ["jsmith", "mmueller", "x%y", "x_y"]);
    q.order_by = vec![(keys::LOGIN.into(), Direction::Descending)];
    q.limit = Some(2);
    let found: Vec<String> = dir
        .search_detail(&q)
        .await
        .expect("detail")
        .into_iter()
        .map(|l| l.into_string())
        .collect();
    assert_eq!(found, ["x_y", "x%y"]);
    assert_eq!(
        dir.count_detail(&q).await.expect("count"),
        4,
        "count ignores limit and order"
    );
}
case!(detail_search);

/// A detail search accepts a company-id list of any size (OTOBO splits at 1 000).
pub async fn detail_search_many_customer_ids(dir: &Directory) {
    search_fixture(dir).await;
    let mut ids: Vec<String> = (0..2500).map(|i| format!("NONE-{i}")).collect();
    ids.push("GLOBEX".into());
    let q = DetailSearch {
        customer_ids: ids,
        valid_only: true,
        ..Default::default()
    };
    let found: Vec<String> = dir
        .search_detail(&q)
        .await
        .expect("detail")
        .into_iter()
        .map(|l| l.into_string())
        .collect();
    assert_eq!(found, ["asmithers"]);
}
case!(detail_search_many_customer_ids);

/// `customer_id_list`: distinct primary ids, filterable, valid-only by default.
pub async fn customer_id_list(dir: &Directory) {
    search_fixture(dir).await;
    let all: Vec<String> = dir
        .customer_id_list(None, true)
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    assert_eq!(all, ["ACME", "GLOBEX", "INITECH"]);
    let some: Vec<String> = dir
        .customer_id_list(Some("glo"), true)
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.into_string())
        .collect();
    assert_eq!(some, ["GLOBEX"]);
    dir.invalidate_customer_user("asmithers", BY)
        .await
        .expect("invalidate");
    assert_eq!(
        dir.customer_id_list(None, true).await.expect("list").len(),
        2
    );
    assert_eq!(
        dir.customer_id_list(None, false).await.expect("list").len(),
        3
    );
}
case!(customer_id_list);
