//! Governance end to end on a running 4-validator testnet, through the built
//! binaries only (as `docs/governance.md` walks it): the digits CNN, imported
//! from its ONNX file with `synod model import`, is proposed with
//! `synod gov propose register-model`, voted in by three validators with
//! `synod gov vote`, and once the proposal passes the chain verifies a proof
//! of an inference of it. A vote without bonded stake is refused. A
//! parameter change passes alongside and is visible in `/params`.
//!
//! Every wait is bounded; the testnet is taken down when the test ends, even
//! by a panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use serde_json::Value;

mod common;

use common::*;

#[test]
fn a_model_imported_from_onnx_is_registered_by_proposal_and_vote() {
    let (_, synod_bin) = bins();
    let net = Net::new();
    let base = free_port_block(50).to_string();
    let started = Instant::now();
    net.ok(&[
        "up",
        "--validators",
        "4",
        "--seed",
        "3",
        "--block-time",
        "300ms",
        "--base-port",
        &base,
        "--voting-blocks",
        "60",
    ]);
    let rpc = rpc_of(&net, 0);
    let run = |args: &[&str]| synod(&synod_bin, &net, &rpc, args);

    // The CNN is not registered: import it from ONNX.
    let files = tempfile::tempdir().unwrap();
    let model_file = files.path().join("cnn.synod-model");
    import_model(&synod_bin, "cnn.onnx", &model_file);
    let model_path = model_file.to_str().unwrap();

    // Propose it, with the whole minimum deposit: voting starts at once.
    let sent = run(&[
        "gov",
        "propose",
        "register-model",
        model_path,
        "--modes",
        "zk,optimistic",
        "--title",
        "Register the digits CNN",
        "--summary",
        "A 410-parameter convolutional digit classifier.",
        "--deposit",
        "1000syn",
        "--from",
        "faucet",
    ]);
    assert_eq!(sent["code"].as_u64(), Some(0), "{sent}");
    let id = sent["proposal"]["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no id: {sent}"));
    assert_eq!(sent["proposal"]["status"], "voting_period", "{sent}");
    let model_id = sent["model"]["model_id"].as_str().unwrap().to_string();
    let id_s = id.to_string();

    // A parameter change in flight at the same time.
    let params_sent = run(&[
        "gov",
        "propose",
        "param-change",
        "--set",
        "models.max_proof_bytes=20000",
        "--title",
        "Allow larger proofs",
        "--deposit",
        "1000syn",
        "--from",
        "faucet",
    ]);
    assert_eq!(params_sent["code"].as_u64(), Some(0), "{params_sent}");
    let params_id = params_sent["proposal"]["id"].as_u64().unwrap().to_string();

    // The faucet is no validator, so it has no voting power: its vote is refused; proposal 99
    // does not exist (its absence is an answer, not an error).
    let no_stake = synod_fails(
        &synod_bin,
        &net,
        &rpc,
        &["gov", "vote", &id_s, "yes", "--from", "faucet"],
    );
    assert!(
        no_stake.to_string().contains("no voting power"),
        "{no_stake}"
    );
    // An unknown proposal is not found: status 1, the read with no value.
    let unknown = synod_fails(&synod_bin, &net, &rpc, &["gov", "show", "99"]);
    assert_eq!(unknown["value"], Value::Null, "{unknown}");
    assert_eq!(unknown["not_found"], Value::Bool(true), "{unknown}");

    // Three of four validators vote yes on both; the fourth votes no on the model.
    for v in 0..3 {
        let from = format!("validator-{v}");
        for p in [&id_s, &params_id] {
            let voted = run(&["gov", "vote", p, "yes", "--from", &from]);
            assert_eq!(voted["code"].as_u64(), Some(0), "{voted}");
        }
    }
    let voted = run(&["gov", "vote", &id_s, "no", "--from", "validator-3"]);
    assert_eq!(voted["code"].as_u64(), Some(0), "{voted}");
    let shown = run(&["gov", "show", &id_s]);
    assert_eq!(shown["value"]["status"], "voting_period", "{shown}");
    assert!(shown["tally"].is_object(), "{shown}");

    // It passes at the end of the voting period and the model is registered.
    wait_until(
        90,
        "the register-model proposal to pass",
        || run(&["gov", "show", &id_s])["value"]["status"] == "passed",
        || run(&["gov", "show", &id_s]).to_string(),
    );
    let shown = run(&["gov", "show", &id_s, "--prove"]);
    assert_eq!(shown["proof"]["verified"], Value::Bool(true), "{shown}");
    assert_eq!(shown["value"]["deposits"], "refunded", "{shown}");
    let record = run(&["query", "model", &model_id, "--prove"]);
    assert_eq!(record["proof"]["verified"], Value::Bool(true), "{record}");
    assert_eq!(record["value"]["status"], "Active", "{record}");
    let listed = run(&["gov", "list", "--status", "passed"]);
    assert!(
        listed.to_string().contains("Register the digits CNN"),
        "{listed}"
    );

    // The chain verifies a proof of the newly registered model.
    prove_and_submit(&synod_bin, &net, &rpc, &model_file, 5, files.path());

    // The parameter change passed too.
    wait_until(
        60,
        "the param-change proposal to pass",
        || run(&["gov", "show", &params_id])["value"]["status"] == "passed",
        || run(&["gov", "show", &params_id]).to_string(),
    );
    let params = run(&["query", "params", "--prove"]);
    assert_eq!(
        params["value"]["models"]["max_proof_bytes"].as_u64(),
        Some(20_000),
        "{params}"
    );

    net.ok(&["down"]);
    eprintln!(
        "governance e2e took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
