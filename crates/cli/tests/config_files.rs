//! Every configuration example shipped in docs/ and examples/ parses, and an unknown key is
//! refused with its name and line — by the library and by the binary.

mod common;

use std::path::{Path, PathBuf};

use clientele::Config;
use common::{Env, files_with_extension};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A block that names no source gets one, so fragments about other tables can be checked.
fn complete(block: &str) -> String {
    if block.contains("[[customer_user]]") {
        block.to_owned()
    } else {
        format!("{block}\n[[customer_user]]\ntype = \"db\"\nurl = \"sqlite::memory:\"\n")
    }
}

/// The ```toml blocks of a Markdown file, with the line each starts on.
fn toml_blocks(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut current {
            None if trimmed.starts_with("```toml") => current = Some((i + 2, String::new())),
            Some(_) if trimmed.starts_with("```") => out.push(current.take().unwrap()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    out
}

#[test]
fn every_shipped_example_parses() {
    let root = workspace();
    let mut checked = 0;
    for file in files_with_extension(&root.join("examples"), "toml")
        .into_iter()
        .chain(files_with_extension(&root.join("docs"), "toml"))
    {
        Config::from_path(&file).unwrap_or_else(|e| panic!("{e}"));
        checked += 1;
    }
    let markdown = files_with_extension(&root.join("docs"), "md")
        .into_iter()
        .chain([root.join("crates/cli/README.md"), root.join("README.md")]);
    for file in markdown {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (line, block) in toml_blocks(&text) {
            Config::from_toml_str(&complete(&block)).unwrap_or_else(|e| {
                panic!(
                    "{}: the toml block at line {line} does not parse: {e}",
                    file.display()
                )
            });
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} examples found");
    assert!(root.join("examples/clientele.toml").exists());
}

#[test]
fn unknown_keys_are_refused_with_name_and_line() {
    let text = "[[customer_user]]\ntype = \"db\"\nurl = \"sqlite::memory:\"\n\n[customer_user.settings]\nname = \"Main\"\ncache_tll = 60\n";
    let e = Config::from_toml_str(text).unwrap_err();
    assert_eq!(e.line(), Some(7), "{e}");
    assert!(e.to_string().contains("cache_tll"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    let env = Env::with_config(
        dir,
        "[[customer_user]]\ntype = \"db\"\nurl = \"sqlite::memory:\"\n\n[permisions]\ncustomer_group_support = true\n",
    );
    let (code, err) = env.fails(&["check-config"]);
    assert_eq!(code, 1);
    assert!(err.contains("permisions"), "{err}");
    assert!(err.contains("line 5"), "{err}");

    let example = workspace().join("examples/clientele.toml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_clientele"))
        .args(["--config", example.to_str().unwrap(), "check-config"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("CustomerUser1"));
}

#[test]
fn the_example_map_has_every_otobo_default_row() {
    let config = Config::from_path(workspace().join("examples/clientele.toml")).unwrap();
    let map = &config.customer_user[0].settings().map;
    for row in clientele::model::AttributeMap::otobo_customer_user().rows() {
        let ours = map.by_key(&row.key).unwrap_or_else(|| {
            panic!(
                "examples/clientele.toml says it has OTOBO's default rows but leaves out {}",
                row.key
            )
        });
        assert_eq!(ours.storage, row.storage, "{}", row.key);
    }
}
