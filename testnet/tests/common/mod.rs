//! Helpers shared by the end-to-end tests: the built binaries, free ports,
//! a testnet directory whose processes die with it, bounded waits, and the
//! `synod` CLI with JSON output.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const TESTNET_BIN: &str = env!("CARGO_BIN_EXE_synod-testnet");

/// A binary built beside synod-testnet, or a panic saying how to build it.
pub fn sibling(name: &str, build: &str) -> PathBuf {
    let p = Path::new(TESTNET_BIN).with_file_name(name);
    assert!(
        p.exists(),
        "{} is missing: build it first with `{build}`",
        p.display()
    );
    p
}

pub fn bins() -> (PathBuf, PathBuf) {
    sibling("synod-app", "cargo build -p synod-abci-app --bin synod-app");
    sibling("synod-node", "cargo build -p synod-node --bin synod-node");
    let synod = sibling("synod", "cargo build -p synod-client --bin synod");
    (PathBuf::from(TESTNET_BIN), synod)
}

/// A base port with `n` free ports above it (the idea of node/tests' free_port_block).
pub fn free_port_block(n: u16) -> u16 {
    let seed = TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for attempt in 0..200u16 {
        let base = 20_000 + (seed.wrapping_mul(7).wrapping_add(attempt.wrapping_mul(97))) % 30_000;
        if (base..base + n).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no block of {n} free ports found");
}

pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A testnet directory whose processes die with it.
pub struct Net {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

impl Net {
    pub fn new() -> Net {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("net");
        Net { _tmp: tmp, dir }
    }

    pub fn testnet(&self, args: &[&str]) -> Output {
        Command::new(TESTNET_BIN)
            .args(args)
            .arg("--dir")
            .arg(&self.dir)
            .env_remove("SYNOD_TESTNET_BIN_DIR")
            .output()
            .unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.testnet(args);
        assert!(
            out.status.success(),
            "synod-testnet {args:?} failed: {}",
            text(&out)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn state(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.join("testnet.json")).unwrap())
            .unwrap()
    }

    pub fn pids(&self) -> Vec<(u64, String)> {
        let Ok(text) = std::fs::read_to_string(self.dir.join("testnet.json")) else {
            return Vec::new();
        };
        let Ok(state) = serde_json::from_str::<Value>(&text) else {
            return Vec::new();
        };
        state["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|n| {
                let home = n["home"].as_str().unwrap_or_default().to_string();
                [n["app_pid"].as_u64(), n["node_pid"].as_u64()]
                    .into_iter()
                    .flatten()
                    .map(move |p| (p, home.clone()))
            })
            .collect()
    }

    pub fn status(&self) -> Value {
        serde_json::from_str(&self.ok(&["status", "--output", "json"])).unwrap()
    }

    /// Heights by node name (None: not answering).
    pub fn heights(&self) -> Vec<(String, Option<u64>)> {
        self.status()["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| {
                (
                    n["name"].as_str().unwrap().to_string(),
                    n["height"].as_u64(),
                )
            })
            .collect()
    }

    pub fn height(&self, name: &str) -> Option<u64> {
        self.heights()
            .into_iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, h)| h)
    }

    pub fn logs(&self, name: &str) -> String {
        text(&self.testnet(&["logs", name, "--lines", "30"]))
    }
}

/// Whether `pid` is a live (not zombie) process whose command line names `home`.
pub fn alive(pid: u64, home: &str) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next())
        .unwrap_or("X");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    state != "Z" && state != "X" && String::from_utf8_lossy(&cmdline).contains(home)
}

impl Drop for Net {
    fn drop(&mut self) {
        let pids = self.pids();
        if pids.is_empty() {
            return;
        }
        let _ = self.testnet(&["down"]);
        for (pid, home) in self.pids().into_iter().chain(pids) {
            if alive(pid, &home) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
}

/// Polls `check` every 300 ms for at most `secs`; panics with `explain()`.
pub fn wait_until(
    secs: u64,
    what: &str,
    mut check: impl FnMut() -> bool,
    explain: impl Fn() -> String,
) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("{what} did not happen within {secs} s\n{}", explain());
}

/// `synod --node RPC --keyring-dir NET/keys --output json ARGS`: whether it
/// succeeded, and its one JSON document.
fn synod_run(synod: &Path, net: &Net, rpc: &str, args: &[&str]) -> (bool, Value) {
    let out = Command::new(synod)
        .args(["--node", rpc, "--keyring-dir"])
        .arg(net.dir.join("keys"))
        // This network's light-client trust root, apart from every other
        // test network under the same chain id.
        .env("SYNOD_LIGHT_DIR", net.dir.join("light"))
        .args(["--output", "json"])
        .args(args)
        .output()
        .unwrap();
    let doc = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("synod {args:?} printed no JSON ({e}): {}", text(&out)));
    (out.status.success(), doc)
}

/// `synod ARGS` that must succeed: its JSON document.
pub fn synod(synod: &Path, net: &Net, rpc: &str, args: &[&str]) -> Value {
    let (ok, doc) = synod_run(synod, net, rpc, args);
    assert!(ok, "synod {args:?} failed: {doc}");
    doc
}

/// `synod ARGS` that must fail: its JSON document.
pub fn synod_fails(synod: &Path, net: &Net, rpc: &str, args: &[&str]) -> Value {
    let (ok, doc) = synod_run(synod, net, rpc, args);
    assert!(!ok, "synod {args:?} succeeded: {doc}");
    doc
}

/// Proves an inference of `model` on digits-test image `index` with the
/// `synod` CLI (the proof file goes in `dir`), submits it from the faucet,
/// and checks the chain verified it (code 0, an `inference_verified` event).
pub fn prove_and_submit(
    synod_bin: &Path,
    net: &Net,
    rpc: &str,
    model: &Path,
    index: u32,
    dir: &Path,
) {
    let proof_file = dir.join(format!("proof-{index}.json"));
    let run = |args: &[&str]| synod(synod_bin, net, rpc, args);
    run(&[
        "model",
        "prove",
        model.to_str().unwrap(),
        "--input-file",
        repo()
            .join("zkml/models/digits-test.json")
            .to_str()
            .unwrap(),
        "--index",
        &index.to_string(),
        "--float",
        "--out",
        proof_file.to_str().unwrap(),
    ]);
    let submitted = run(&[
        "model",
        "submit",
        proof_file.to_str().unwrap(),
        "--from",
        "faucet",
    ]);
    assert_eq!(submitted["code"].as_u64(), Some(0), "{submitted}");
    assert!(
        submitted["events"]
            .as_array()
            .is_some_and(|events| events.iter().any(|e| e["type"] == "inference_verified")),
        "no inference_verified event: {submitted}"
    );
}

pub fn usyn(v: &Value) -> u128 {
    match v {
        Value::String(s) => s.trim_end_matches("usyn").parse().unwrap(),
        Value::Number(n) => u128::from(n.as_u64().unwrap()),
        other => panic!("not an amount: {other}"),
    }
}

/// The RPC address of node `index` of `net`.
pub fn rpc_of(net: &Net, index: usize) -> String {
    format!(
        "http://127.0.0.1:{}",
        net.state()["nodes"][index]["ports"]["rpc"]
            .as_u64()
            .unwrap()
    )
}

/// This repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Imports `zkml/models/{onnx}` with the shipped calibration set into
/// `out` with the `synod` CLI.
pub fn import_model(synod_bin: &Path, onnx: &str, out: &Path) {
    let repo = repo();
    let import = Command::new(synod_bin)
        .args(["--output", "json", "model", "import"])
        .arg(repo.join("zkml/models").join(onnx))
        .arg("--calibration")
        .arg(repo.join("zkml/models/digits-calibration.json"))
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(import.status.success(), "model import: {}", text(&import));
}
