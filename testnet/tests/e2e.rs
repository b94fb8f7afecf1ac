//! `synod-testnet` end to end, through the built binaries only: a seeded
//! 4-validator network comes up, the `synod` CLI transfers and proves a
//! balance, a killed validator leaves the chain going and catches up after
//! `restart`, `join` adds a fifth validator that signs blocks, and `down`
//! leaves no process behind. Plus the refusals: a running or stale
//! directory, a port in use, a missing binary.
//!
//! Every wait is bounded. A guard runs `synod-testnet down` and SIGKILLs any
//! pid left in testnet.json when a test ends, even by a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use synod_consensus_config::testkit::{assert_ended_quietly, run_with_stdout_closed};

mod common;

use common::*;

#[test]
fn a_testnet_comes_up_transfers_survives_a_kill_grows_by_join_and_goes_down_clean() {
    let (_, synod_bin) = bins();
    let net = Net::new();
    let base = free_port_block(60).to_string();
    // The shipped MLP, imported by the CLI, registered at genesis by `up --model`.
    let models = tempfile::tempdir().unwrap();
    let model_file = models.path().join("mlp.synod-model");
    import_model(&synod_bin, "mlp.onnx", &model_file);
    let started = Instant::now();
    let up = net.ok(&[
        "up",
        "--validators",
        "4",
        "--seed",
        "1",
        "--block-time",
        "300ms",
        "--base-port",
        &base,
        "--model",
        model_file.to_str().unwrap(),
    ]);
    assert!(up.contains("is up: 4 validators, 0 full nodes"), "{up}");
    assert!(up.contains("first block committed"), "{up}");
    eprintln!("up took {:.1} s", started.elapsed().as_secs_f64());
    // The keys are a keyring: the directory is its owner's only.
    {
        use std::os::unix::fs::PermissionsExt;
        let keys = std::fs::metadata(net.dir.join("keys")).unwrap();
        assert_eq!(keys.permissions().mode() & 0o777, 0o700);
    }
    // `synod-testnet logs … | head`: a reader gone early ends it quietly.
    for args in [&["logs", "validator-0"][..], &["status"][..]] {
        let out = run_with_stdout_closed(
            Command::new(TESTNET_BIN)
                .args(args)
                .arg("--dir")
                .arg(&net.dir),
            None,
        );
        assert_ended_quietly(&out, &format!("synod-testnet {args:?}"));
    }
    // Validators that sign blocks show as active, not as candidates.
    let table = net.ok(&["status"]);
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("validator-") && l.contains("synod1"))
        .collect();
    assert_eq!(rows.len(), 4, "{table}");
    assert!(
        rows.iter().all(|r| r.trim_end().ends_with("active")),
        "{table}"
    );

    // A second `up` on a running testnet is refused, with the way out.
    let again = net.testnet(&["up", "--base-port", &base]);
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("synod-testnet down --dir"), "{err}");

    // The synod CLI: a transfer from the faucet, then the proved balance.
    let state = net.state();
    let rpc = format!(
        "http://127.0.0.1:{}",
        state["nodes"][0]["ports"]["rpc"].as_u64().unwrap()
    );
    synod(&synod_bin, &net, &rpc, &["keys", "add", "e2e-user"]);
    let sent = synod(
        &synod_bin,
        &net,
        &rpc,
        &["tx", "transfer", "--from", "faucet", "e2e-user", "7syn"],
    );
    assert_eq!(sent["code"].as_u64(), Some(0), "{sent}");
    let account = synod(
        &synod_bin,
        &net,
        &rpc,
        &["query", "account", "e2e-user", "--prove"],
    );
    assert_eq!(account["proof"]["verified"], Value::Bool(true), "{account}");
    assert_eq!(usyn(&account["value"]["balance"]), 7_000_000, "{account}");

    // An inference proof of the genesis model, made by the CLI, verified by the chain.
    prove_and_submit(&synod_bin, &net, &rpc, &model_file, 3, models.path());

    // Validator 3's app stops (SIGSTOP): its node stays at its height while
    // the others go on, and says it is catching up; resumed, it catches up.
    let app3 = net.state()["nodes"][3]["app_pid"]
        .as_u64()
        .unwrap()
        .to_string();
    let signal = |sig: &str| {
        let sent = Command::new("kill").args([sig, &app3]).status().unwrap();
        assert!(sent.success(), "kill {sig} {app3}");
    };
    signal("-STOP");
    // Its node still answers (`synod-testnet status` shows it as paused and
    // does not ask it): ask it directly.
    let rpc3 = format!(
        "http://127.0.0.1:{}",
        state["nodes"][3]["ports"]["rpc"].as_u64().unwrap()
    );
    let node3 = || synod(&synod_bin, &net, &rpc3, &["status"]);
    // Peers announce their height every 10 s; the node gives up on an app
    // silent for 30 s (its ABCI timeout): 25 s to see it.
    wait_until(
        25,
        "validator-3 saying it is catching up while its app is stopped",
        || node3()["catching_up"] == Value::Bool(true),
        || format!("{}\n{}", node3(), net.logs("validator-3")),
    );
    let behind = node3()["latest_height"].as_u64().unwrap();
    assert!(
        net.height("validator-0").unwrap_or(0) > behind + 1,
        "catching up, yet not more than a block behind"
    );
    signal("-CONT");
    wait_until(
        60,
        "validator-3 in step again",
        || node3()["catching_up"] == Value::Bool(false),
        || net.logs("validator-3"),
    );

    // Kill validator 2: the other three go on.
    let log_lines = || {
        std::fs::read(net.dir.join("node0").join("node.log"))
            .map(|log| log.iter().filter(|&&b| b == b'\n').count())
            .unwrap_or(0)
    };
    let lines_before = log_lines();
    net.ok(&["kill", "2"]);
    let status = net.status();
    assert_eq!(status["nodes"][2]["process"], "dead", "{status}");
    let h0 = net.height("validator-0").unwrap();
    wait_until(
        60,
        "three validators advancing without validator-2",
        || {
            let hs = net.heights();
            [0usize, 1, 3]
                .iter()
                .all(|&i| hs[i].1.unwrap_or(0) >= h0 + 3)
        },
        || net.logs("validator-0"),
    );
    // A dead peer costs its neighbours nothing: Malachite's Kademlia
    // selector once kept re-selecting it in a busy loop (30k warnings a
    // second, a core each). A block logs ~40 lines at the default level.
    let blocks = net.height("validator-0").unwrap_or(h0).saturating_sub(h0) + 1;
    let per_block = log_lines().saturating_sub(lines_before) as u64 / blocks;
    assert!(
        per_block < 1_000,
        "validator-0 logged {per_block} lines a block after validator-2 died:\n{}",
        net.logs("validator-0")
    );

    // Restart it: it catches up.
    net.ok(&["restart", "2"]);
    wait_until(
        90,
        "validator-2 catching up",
        || {
            let top = net.height("validator-0").unwrap_or(u64::MAX);
            net.height("validator-2").unwrap_or(0) + 1 >= top
        },
        || net.logs("validator-2"),
    );

    // Join: a fifth validator, registered by a tx, in the active set and signing.
    let joined = net.testnet(&["join", "--name", "newcomer"]);
    assert!(
        joined.status.success(),
        "join failed: {}\n{}",
        text(&joined),
        net.logs("newcomer")
    );
    let out = String::from_utf8_lossy(&joined.stdout);
    assert!(out.contains("in the active set"), "{out}");
    assert!(out.contains("last commit of block"), "{out}");
    let status = net.status();
    let newcomer = status["validators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["moniker"] == "newcomer")
        .unwrap_or_else(|| panic!("newcomer not in the validator set: {status}"));
    assert_eq!(newcomer["active"], Value::Bool(true), "{status}");
    assert_eq!(status["nodes"].as_array().unwrap().len(), 5);

    // Down: no process left.
    let pids = net.pids();
    assert_eq!(pids.len(), 10, "two processes per node: {pids:?}");
    net.ok(&["down"]);
    for (pid, home) in &pids {
        assert!(!alive(*pid, home), "pid {pid} of {home} survived down");
    }
    // The stopped directory is stale now: up wants --reset.
    let stale = net.testnet(&["up", "--base-port", &base]);
    assert!(!stale.status.success());
    let err = String::from_utf8_lossy(&stale.stderr);
    assert!(err.contains("--reset"), "{err}");
    eprintln!("whole e2e took {:.1} s", started.elapsed().as_secs_f64());
}

#[test]
fn a_port_in_use_is_named_with_the_node_that_needs_it() {
    bins();
    let net = Net::new();
    let base = free_port_block(40);
    let _hold = TcpListener::bind(("127.0.0.1", base + 11)).unwrap();
    let out = net.testnet(&["up", "--base-port", &base.to_string()]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("port {}", base + 11)), "{err}");
    assert!(err.contains("rpc of validator-1"), "{err}");
    assert!(err.contains("--base-port"), "{err}");
    assert!(net.pids().is_empty());
}

#[test]
fn a_missing_binary_is_named_with_the_command_that_builds_it() {
    let net = Net::new();
    let empty = tempfile::tempdir().unwrap();
    let out = net.testnet(&["up", "--bin-dir", empty.path().to_str().unwrap()]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("synod-app not found"), "{err}");
    assert!(
        err.contains("cargo build -p synod-abci-app --bin synod-app"),
        "{err}"
    );
}

#[test]
fn the_cometbft_engine_needs_cometbft_on_path() {
    bins();
    let net = Net::new();
    let out = Command::new(TESTNET_BIN)
        .args(["up", "--engine", "cometbft", "--dir"])
        .arg(&net.dir)
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("install CometBFT v0.38 or use --engine embedded"),
        "{err}"
    );
}

#[test]
fn a_missing_model_file_is_named_with_its_cause_once() {
    bins();
    let net = Net::new();
    let base = free_port_block(40).to_string();
    let missing = net.dir.with_file_name("missing.synod-model");
    let out = net.testnet(&[
        "up",
        "--base-port",
        &base,
        "--model",
        missing.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: --model: cannot read "), "{err}");
    assert!(err.contains("missing.synod-model"), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    assert!(net.pids().is_empty());
}
