//! Import and export through the real binary: 10 000 CSV rows with 3 bad ones, an idempotent
//! second run, JSON Lines, and --on-error stop.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use common::Env;
use serde_json::Value;

const ROWS: usize = 10_000;
/// 0-based data rows that are bad; CSV line = index + 2 (the header is line 1).
const BAD: [usize; 3] = [1_234, 5_678, 9_000];

fn users_csv() -> String {
    let mut csv = String::from(
        "UserLogin,UserFirstname,UserLastname,UserEmail,UserCustomerID,city,ValidID\n",
    );
    for i in 0..ROWS {
        let (first, email, company) = match i {
            1_234 => ("Bad", "not-an-address".to_owned(), "ACME"),
            5_678 => ("Bad", format!("user{i}@acme-corp.com"), "NO-SUCH-COMPANY"),
            9_000 => ("", format!("user{i}@acme-corp.com"), "ACME"),
            _ => (
                "First",
                format!("user{i}@acme-corp.com"),
                if i % 2 == 0 { "ACME" } else { "GLOBEX" },
            ),
        };
        let valid = if i % 10 == 0 { "invalid" } else { "1" };
        writeln!(
            csv,
            "user{i:05},{first},Last {i},{email},{company},\"City, {}\",{valid}",
            i % 7
        )
        .unwrap();
    }
    csv
}

fn import_json(env: &Env, args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["--json", "import"];
    all.extend_from_slice(args);
    let out = env.run(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let summary: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {stdout}"));
    (
        out.status.code().unwrap_or(-1),
        summary,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// login → ChangeTime, from a JSON Lines export.
fn change_times(env: &Env) -> BTreeMap<String, String> {
    let file = env.path("export.jsonl");
    env.ok(&["export", "users", file.to_str().unwrap()]);
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["UserLogin"].as_str().unwrap().to_owned(),
                v["ChangeTime"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn ten_thousand_rows_three_bad_then_an_idempotent_rerun() {
    let env = Env::new("");
    env.ok(&["init"]);
    std::fs::write(
        env.path("companies.csv"),
        "CustomerID,CustomerCompanyName,city\nACME,Acme Corporation,Berlin\nGLOBEX,Globex Inc.,Springfield\n",
    )
    .unwrap();
    let (code, s, err) = import_json(&env, &["companies", "companies.csv"]);
    assert_eq!(code, 0, "{s} {err}");
    assert_eq!(s["added"], 2);

    std::fs::write(env.path("users.csv"), users_csv()).unwrap();
    let started = Instant::now();
    let (code, s, err) = import_json(&env, &["users", "users.csv"]);
    let first = started.elapsed();
    assert_eq!(code, 1, "refused rows make the exit code 1: {s}");
    assert_eq!(s["added"], (ROWS - BAD.len()) as u64, "{s}");
    assert_eq!(s["failed"], BAD.len() as u64, "{s}");
    let lines: Vec<u64> = s["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = BAD.iter().map(|i| *i as u64 + 2).collect();
    assert_eq!(lines, expected);
    for line in &expected {
        assert!(
            err.contains(&format!("line {line}")),
            "stderr names line {line}: {err}"
        );
    }
    assert!(err.contains("UserEmail"), "{err}");
    assert!(err.contains("NO-SUCH-COMPANY"), "{err}");
    assert!(err.contains("UserFirstname"), "{err}");

    let before = change_times(&env);
    assert_eq!(before.len(), ROWS - BAD.len());
    let u = env.json(&["user", "show", "user00007"]);
    assert_eq!(u["city"], "City, 0");
    assert_eq!(u["customer_id"], "GLOBEX");
    assert_eq!(
        env.json(&["user", "show", "user00010"])["validity"],
        "invalid"
    );

    // Change times have a resolution of one second: wait so a rewrite would show.
    std::thread::sleep(Duration::from_millis(1_100));
    let started = Instant::now();
    let (code, s, _) = import_json(&env, &["users", "users.csv"]);
    let second = started.elapsed();
    assert_eq!(code, 1);
    assert_eq!(s["added"], 0, "{s}");
    assert_eq!(s["updated"], 0, "{s}");
    assert_eq!(s["unchanged"], (ROWS - BAD.len()) as u64, "{s}");
    assert_eq!(s["failed"], BAD.len() as u64, "{s}");
    assert_eq!(change_times(&env), before, "a re-run rewrote rows");
    eprintln!(
        "import of {ROWS} rows: first run {:.1} s, second run {:.1} s",
        first.as_secs_f64(),
        second.as_secs_f64()
    );

    // A changed row is updated, and only that one.
    let changed = users_csv().replace("user00042,First,Last 42", "user00042,Changed,Last 42");
    std::fs::write(env.path("users2.csv"), changed).unwrap();
    let (_, s, _) = import_json(&env, &["users", "users2.csv"]);
    assert_eq!(s["updated"], 1, "{s}");
    assert_eq!(
        env.json(&["user", "show", "user00042"])["first_name"],
        "Changed"
    );
}

#[test]
fn export_round_trips_through_import() {
    let env = Env::new("");
    env.ok(&["init"]);
    env.ok(&["company", "add", "ACME", "--name", "Acme"]);
    for (login, city) in [("anna", "Berlin"), ("bert", "Köln, \"Süd\"")] {
        env.ok(&[
            "user",
            "add",
            "--login",
            login,
            "--first-name",
            "F",
            "--last-name",
            "L",
            "--email",
            &format!("{login}@acme-corp.com"),
            "--customer-id",
            "ACME",
            "--city",
            city,
        ]);
    }
    for (file, format) in [("users.csv", "csv"), ("users.jsonl", "jsonl")] {
        env.ok(&["export", "users", file]);
        let (code, s, err) = import_json(&env, &["users", file]);
        assert_eq!(code, 0, "{format}: {s} {err}");
        assert_eq!(s["unchanged"], 2, "{format}: {s}");
    }
    let csv = std::fs::read_to_string(env.path("users.csv")).unwrap();
    assert!(csv.starts_with("UserTitle,UserFirstname"), "{csv}");
    assert!(csv.contains("\"Köln, \"\"Süd\"\"\""), "{csv}");
    let out = env.ok(&["export", "companies", "--format", "jsonl"]);
    let v: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["CustomerID"], "ACME");
}

#[test]
fn json_lines_and_stop_on_error() {
    let env = Env::new("");
    env.ok(&["init"]);
    env.ok(&["company", "add", "ACME", "--name", "Acme"]);
    std::fs::write(
        env.path("users.jsonl"),
        concat!(
            "{\"UserLogin\":\"a1\",\"UserFirstname\":\"A\",\"UserLastname\":\"One\",\"UserEmail\":\"a1@acme-corp.com\",\"UserCustomerID\":\"ACME\",\"ValidID\":1}\n",
            "\n",
            "{\"UserLogin\":\"a2\",\"first_name\":\"A\",\"last_name\":\"Two\",\"email\":\"a2@acme-corp.com\",\"customer_id\":\"ACME\",\"shoe_size\":44}\n",
            "not json\n",
            "{\"login\":\"a3\",\"first_name\":\"A\",\"last_name\":\"Three\",\"email\":\"a3@acme-corp.com\",\"customer_id\":\"ACME\"}\n",
        ),
    )
    .unwrap();
    let (code, s, err) = import_json(&env, &["users", "users.jsonl"]);
    assert_eq!(code, 1);
    assert_eq!(s["added"], 2, "{s}");
    let lines: Vec<u64> = s["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4], "{s}");
    assert!(err.contains("shoe_size"), "{err}");

    std::fs::write(
        env.path("stop.csv"),
        "login,first_name,last_name,email,customer_id\nb1,B,One,b1@acme-corp.com,ACME\nb2,B,Two,broken,ACME\nb3,B,Three,b3@acme-corp.com,ACME\n",
    )
    .unwrap();
    let (code, s, _) = import_json(&env, &["users", "stop.csv", "--on-error", "stop"]);
    assert_eq!(code, 1);
    assert_eq!(s["added"], 1, "{s}");
    assert_eq!(s["stopped_early"], true, "{s}");
    assert_eq!(s["errors"][0]["line"], 3);
    let (code, _) = env.fails(&["user", "show", "b3"]);
    assert_eq!(code, 1, "rows after the bad one are not written");

    // An unknown CSV column stops before anything is written.
    std::fs::write(env.path("bad.csv"), "login,shoe_size\nc1,44\n").unwrap();
    let (code, err) = env.fails(&["import", "users", "bad.csv"]);
    assert_eq!(code, 1);
    assert!(err.contains("shoe_size"), "{err}");
}
