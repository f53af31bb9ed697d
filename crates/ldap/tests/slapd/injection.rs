//! Filter injection: user terms full of filter syntax find exactly what their literal text
//! matches, never more.

use clientele_backend::CustomerUserSource;
use clientele_model::keys;
use clientele_model::search::{
    CustomerUserSearch, DetailSearch, Expr, FieldCondition, FieldSet, Pattern, UserQuery,
};

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs slapd: run scripts/test.sh"]
async fn injection_attempts_find_only_what_they_should() {
    let s = Slapd::start();
    let ldap = backend(config(&s));
    let dir = ldap_directory(&ldap);
    let find = |q: CustomerUserSearch| {
        let dir = &dir;
        async move {
            match dir.search(&q.include_invalid()).await {
                Ok(hits) => logins(&hits),
                // The Directory refuses a NUL in any search value with a typed error naming
                // the search parameter: that finds nothing, which is what is asserted.
                Err(clientele_backend::Error::Invalid(
                    clientele_model::ValidationError::ForbiddenCharacter {
                        character: '\0', ..
                    },
                )) => Vec::new(),
                Err(e) => panic!("search failed: {e}"),
            }
        }
    };
    let none: [&str; 0] = [];

    for attack in [
        "*)(uid=*",
        "admin)(|(uid=*",
        "*)(|(objectClass=*",
        r"\2a",
        r"jdoe\29",
        "jdoe)",
        "jdoe\0",
        "jdoe\0*",
        "*\0*",
        "(",
        ")",
        "\\",
    ] {
        assert_eq!(
            find(CustomerUserSearch::term(attack)).await,
            none,
            "term {attack:?}"
        );
        assert_eq!(
            find(CustomerUserSearch::login(attack)).await,
            none,
            "login {attack:?}"
        );
        assert_eq!(
            find(CustomerUserSearch::email(attack)).await,
            none,
            "email {attack:?}"
        );
        assert_eq!(
            find(CustomerUserSearch::customer_id(attack)).await,
            none,
            "customer id {attack:?}"
        );
        assert_eq!(
            find(CustomerUserSearch::customer_id_raw(attack)).await,
            none,
            "raw customer id {attack:?}"
        );
        assert!(ldap.get(attack).await.unwrap().is_none(), "get {attack:?}");
        let detail = DetailSearch {
            conditions: vec![FieldCondition {
                attribute: keys::LOGIN.into(),
                pattern: Pattern::from_wildcards(attack),
            }],
            ..DetailSearch::default()
        };
        match dir.search_detail(&detail).await {
            Ok(found) => assert!(found.is_empty(), "detail {attack:?}"),
            // A NUL is refused with a typed error naming the attribute: nothing is searched.
            Err(clientele_backend::Error::Invalid(e)) if attack.contains('\0') => {
                assert_eq!(e.field(), keys::LOGIN, "detail {attack:?}")
            }
            Err(e) => panic!("detail {attack:?}: {e}"),
        }
    }

    // `*`-heavy terms: wildcards collapse; what matches is what the literals allow.
    assert_eq!(
        find(CustomerUserSearch::term("**j**")).await,
        ["jdoe", "jmüller"]
    );
    assert_eq!(find(CustomerUserSearch::login("*o*c*k*")).await, ["locked"]);
    assert_eq!(
        find(CustomerUserSearch::term("*").limit(5000)).await.len(),
        1211
    );
    // In exact searches `*` is a literal.
    assert_eq!(find(CustomerUserSearch::email("*")).await, none);
    assert_eq!(find(CustomerUserSearch::customer_id_raw("*")).await, none);

    // The metacharacters in stored values are found as literals.
    assert_eq!(
        find(CustomerUserSearch::term(r"Star\*Man")).await,
        ["starman"]
    );
    assert_eq!(
        find(CustomerUserSearch::term(r"*(Test)\x")).await,
        ["starman"]
    );
    assert!(
        find(CustomerUserSearch::term(r"*(Test)\y"))
            .await
            .is_empty()
    );
    assert_eq!(
        find(CustomerUserSearch::login(r"x*(y)\z")).await,
        [r"x*(y)\z"]
    );
    assert_eq!(find(CustomerUserSearch::login(r"x\*(y)\z")).await, none);

    // What went to the server: the user's specials hex-escaped, only our wildcards bare.
    let q = UserQuery {
        fields: FieldSet::Login,
        expr: Expr::Match(Pattern::from_wildcards("admin)(|(uid=*")),
        valid_only: true,
        limit: 10,
        case_sensitive: false,
    };
    assert_eq!(
        ldap.search_filter(&q),
        r"(&(uid=admin\29\28|\28uid=*)(objectClass=inetOrgPerson)(!(description=gesperrt)))"
    );
    assert!(ldap.search(&q).await.unwrap().is_empty());
}
