//! `synod gov …` as a user runs it, without a chain: everything that can be
//! checked locally (arguments, files, the proposal's shape) is refused
//! before the first network call, with a message that names what is wrong.
//! The node address points at a closed port, so reaching the network shows
//! up as "cannot reach".

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::Value;

const SYNOD: &str = env!("CARGO_BIN_EXE_synod");
/// Nothing listens on port 1: a command that gets this far has passed its local checks.
const NO_NODE: &str = "http://127.0.0.1:1";
const UNREACHABLE: &str = "cannot reach the Synod node";

/// A keyring with the key `alice`, and a scratch directory for files.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        let s = Scratch {
            dir: tempfile::tempdir().unwrap(),
        };
        let out = s.synod(&["keys", "add", "alice"]);
        assert!(out.status.success(), "{}", stderr(&out));
        s
    }

    fn synod(&self, args: &[&str]) -> Output {
        Command::new(SYNOD)
            .args(args)
            .env("SYNOD_NODE", NO_NODE)
            .env("SYNOD_KEYRING", self.dir.path().join("keys"))
            .output()
            .expect("the synod binary runs")
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `synod gov propose ARGS` with a title, a deposit and `--from alice`.
    fn propose(&self, args: &[&str]) -> Output {
        let mut all = vec!["gov", "propose"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--title", "T", "--deposit", "2500syn", "--from", "alice"]);
        self.synod(&all)
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn workflow(model: &str, mode: &str) -> String {
    format!(
        r#"{{"name": "digits", "steps": [{{"name": "classify", "model": "{model}", "mode": "{mode}", "timeout_blocks": 20, "reward": "1syn"}}]}}"#
    )
}

#[test]
fn a_good_workflow_file_passes_the_local_checks_and_a_bad_one_names_its_step() {
    let s = Scratch::new();
    let good = s.file("good.json", &workflow(&"ab".repeat(32), "zk"));
    let out = s.propose(&["register-workflow", path_str(&good)]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(UNREACHABLE), "{}", stderr(&out));

    let bad = s.file("bad.json", &workflow(&"ab".repeat(32), "fast"));
    let out = s.propose(&["update-workflow", path_str(&bad)]);
    assert_eq!(out.status.code(), Some(1));
    let e = stderr(&out);
    assert!(
        e.contains("bad.json") && e.contains("step 0 (classify): mode") && !e.contains(UNREACHABLE),
        "{e}"
    );
}

#[test]
fn a_refusal_in_json_mode_is_one_json_document_on_stdout() {
    let s = Scratch::new();
    let bad = s.file("bad.json", &workflow("abc", "zk"));
    let out = s.synod(&[
        "--output",
        "json",
        "gov",
        "propose",
        "register-workflow",
        path_str(&bad),
        "--title",
        "T",
        "--from",
        "alice",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let e = doc["error"].as_str().unwrap();
    assert!(e.contains("64 hex digits"), "{e}");
}

#[test]
fn a_file_that_is_not_a_model_is_refused_before_sending() {
    let s = Scratch::new();
    let not_a_model = s.file("m.synod-model", "hello");
    let out = s.propose(&["register-model", path_str(&not_a_model), "--modes", "zk"]);
    let e = stderr(&out);
    assert!(
        e.contains("does not load") && e.contains("m.synod-model") && !e.contains(UNREACHABLE),
        "{e}"
    );
}

#[test]
fn the_proposal_shape_is_checked_before_sending() {
    let s = Scratch::new();
    let out = s.propose(&["treasury-spend", "--to", "alice", "--amount", "0"]);
    assert!(stderr(&out).contains("more than zero"), "{}", stderr(&out));
    let long_title = "x".repeat(141);
    let out = s.synod(&[
        "gov",
        "propose",
        "text",
        "--title",
        &long_title,
        "--from",
        "alice",
    ]);
    assert!(stderr(&out).contains("bad --title"), "{}", stderr(&out));
    let out = s.propose(&["retire-model", "abc"]);
    assert!(stderr(&out).contains("bad ID"), "{}", stderr(&out));
}

#[test]
fn a_malformed_command_line_exits_with_status_2_and_names_the_argument() {
    let s = Scratch::new();
    let out = s.propose(&["param-change", "--set", "max_validators=50"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("expected module.name before"),
        "{}",
        stderr(&out)
    );
    let out = s.synod(&["gov", "vote", "1", "perhaps", "--from", "alice"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no_with_veto"), "{}", stderr(&out));
    let out = s.synod(&["gov", "show", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_well_formed_param_change_reaches_the_network_to_be_checked_against_the_chains_params() {
    let s = Scratch::new();
    let out = s.propose(&[
        "param-change",
        "--set",
        "governance.min_deposit=5000syn",
        "--set",
        "staking.max_validators=50",
    ]);
    assert!(stderr(&out).contains(UNREACHABLE), "{}", stderr(&out));
}
