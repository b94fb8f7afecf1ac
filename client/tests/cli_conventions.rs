//! What every `synod` command does the same way, as a user meets it without
//! a chain: the usage line when `SYNOD_NODE` is set, a reader that closes
//! the pipe early (`synod … | head`), and refusals that say why once.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use synod_consensus_config::testkit::{assert_ended_quietly, run_with_stdout_closed};

const SYNOD: &str = env!("CARGO_BIN_EXE_synod");

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn with_synod_node_set_the_usage_does_not_show_node_as_required() {
    let out = Command::new(SYNOD)
        .args(["query", "account"])
        .env("SYNOD_NODE", "http://127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let usage = stderr(&out);
    let line = usage
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .unwrap_or_else(|| panic!("no usage line:\n{usage}"));
    assert!(!line.contains("--node"), "{line}");
    assert!(line.contains("<WHO>"), "{line}");
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_synod_quietly() {
    let dir = tempfile::tempdir().unwrap();
    // synod waits for the seed on stdin first: by the time it prints, the
    // reader is gone for sure.
    let seed = "01".repeat(32);
    let out = run_with_stdout_closed(
        Command::new(SYNOD)
            .args(["keys", "add", "alice", "--recover", "--keyring-dir"])
            .arg(dir.path().join("keys")),
        Some(seed.as_bytes()),
    );
    assert_ended_quietly(&out, "synod keys add");
    // The command itself did its work.
    assert!(dir.path().join("keys").join("alice.json").exists());
}

#[test]
fn exporting_a_key_over_an_existing_file_says_why_once() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let synod = |args: &[&str]| {
        Command::new(SYNOD)
            .arg("--keyring-dir")
            .arg(&keys)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(synod(&["keys", "add", "alice"]).status.success());
    let target = dir.path().join("alice.json");
    std::fs::write(&target, "already here").unwrap();
    let out = synod(&[
        "keys",
        "export",
        "alice",
        "--file",
        target.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    assert_eq!(said.matches("already exists").count(), 1, "{said}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "already here");
}
