//! Error paths a person can act on: no stray database file, JSON errors under `--json`, no
//! password in any error, and a quiet exit when the reader of standard output goes away.

mod common;

use std::process::{Command, Stdio};

use common::Env;

fn clientele(dir: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_clientele"));
    c.current_dir(dir)
        .env_remove("CLIENTELE_CONFIG")
        .env_remove("CLIENTELE_BY");
    c
}

#[test]
fn a_read_without_a_database_creates_no_file_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = clientele(dir.path())
        .args(["user", "show", "jdoe"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("clientele init"), "{stderr}");
    assert!(
        !dir.path().join("clientele.sqlite").exists(),
        "a read command must not create the database"
    );

    // Under --json the error is JSON on stderr.
    let out = clientele(dir.path())
        .args(["--json", "user", "show", "jdoe"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stderr)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["error"]["exit_code"], 1);
    assert!(
        report["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("clientele init")
    );
    assert!(!dir.path().join("clientele.sqlite").exists());

    // check-config connects to nothing and needs no database.
    let out = clientele(dir.path()).arg("check-config").output().unwrap();
    assert!(out.status.success());
    assert!(!dir.path().join("clientele.sqlite").exists());
}

#[test]
fn no_error_shows_a_database_password() {
    let dir = tempfile::tempdir().unwrap();
    // A mistyped scheme: the driver's own error quotes the whole URL.
    let env = Env::with_config(
        dir,
        "[[customer_user]]\ntype = \"db\"\nurl = \"pstgres://app:Secr3tPw@127.0.0.1:5432/otobo?sslpassword=K3yPw\"\n",
    );
    for json in [false, true] {
        let mut args = vec!["user", "search", "x"];
        if json {
            args.insert(0, "--json");
        }
        let out = env.run(&args);
        assert!(!out.status.success());
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains("Secr3tPw") && !all.contains("K3yPw"),
            "a password was shown: {all}"
        );
        assert!(all.contains("app:***@127.0.0.1"), "{all}");
    }
}

#[test]
fn a_closed_reader_ends_the_command_quietly() {
    let env = Env::new("");
    env.ok(&["init"]);
    for i in 0..50 {
        env.ok(&[
            "company",
            "add",
            &format!("C{i:03}"),
            "--name",
            &format!("Company {i}"),
        ]);
    }
    for args in [&["company", "list"][..], &["--json", "company", "list"][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_clientele"))
            .arg("--config")
            .arg(&env.config)
            .args(args)
            .current_dir(env.dir.path())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
}
