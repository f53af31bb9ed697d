//! docs/guide.md as written: every `sh` block of the guide, top to bottom, in one shell, with
//! the `clientele` binary of this build first on `PATH`, in an empty directory (SQLite, no
//! server). A block preceded by the line `<!-- guide-test: skip -->` is not run (an install
//! line such as `cargo install`); the guide's other blocks must all succeed, in order.
//!
//! The directory the commands run in has an `examples` link to the workspace's `examples/`, so
//! the shipped sample files the guide imports are the ones a reader has.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The marker that keeps the next fenced block out of the run.
const SKIP: &str = "<!-- guide-test: skip -->";

/// One fenced `sh` block: the line its fence opens on and its text.
struct Block {
    line: usize,
    text: String,
}

/// The `sh` blocks of a Markdown text, in order, those after the skip marker left out.
fn shell_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut skip_next = false;
    let mut open: Option<(usize, bool, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        let trimmed = line.trim();
        match open.as_mut() {
            Some((start, shell, text)) => {
                if trimmed == "```" {
                    if *shell {
                        blocks.push(Block {
                            line: *start,
                            text: std::mem::take(text),
                        });
                    }
                    open = None;
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
            None => {
                if trimmed == SKIP {
                    skip_next = true;
                } else if let Some(info) = trimmed.strip_prefix("```") {
                    let shell = matches!(info.trim(), "sh" | "bash" | "shell") && !skip_next;
                    skip_next = false;
                    open = Some((i + 1, shell, String::new()));
                } else if !trimmed.is_empty() {
                    skip_next = false;
                }
            }
        }
    }
    assert!(open.is_none(), "an unclosed code block in the guide");
    blocks
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the workspace root above crates/cli")
        .to_path_buf()
}

/// The script the guide's blocks make: each block announced, the first failing command named.
fn script(blocks: &[Block]) -> String {
    let mut s = String::from(
        "set -euo pipefail\n\
         trap 'echo \"guide command failed (exit $?): $BASH_COMMAND\" >&2' ERR\n",
    );
    for b in blocks {
        s.push_str(&format!("echo '--- docs/guide.md line {}' >&2\n", b.line));
        s.push_str(&b.text);
    }
    s
}

#[test]
fn the_marker_skips_exactly_the_next_block() {
    let md = "text\n\n<!-- guide-test: skip -->\n```sh\ncargo install x\n```\n\n```sh\nclientele init\n```\n```toml\na = 1\n```\n";
    let blocks = shell_blocks(md);
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].text, "clientele init\n");
    assert_eq!(blocks[0].line, 8);
}

#[test]
fn the_guide_runs_top_to_bottom() {
    let root = workspace_root();
    let guide = std::fs::read_to_string(root.join("docs/guide.md")).unwrap();
    let blocks = shell_blocks(&guide);
    assert!(
        blocks.len() >= 5,
        "the guide has {} runnable blocks; expected its command-line walk-through",
        blocks.len()
    );

    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(root.join("examples"), dir.path().join("examples")).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_clientele"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(script(&blocks))
        .current_dir(dir.path())
        .env("PATH", path)
        .env_remove("CLIENTELE_CONFIG")
        .env_remove("CLIENTELE_BY")
        .env_remove("CLIENTELE_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "following docs/guide.md failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // What the walk-through leaves behind is what the guide says it does.
    assert!(dir.path().join("clientele.sqlite").exists());
    assert!(dir.path().join("users.jsonl").exists());
}
