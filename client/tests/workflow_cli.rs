//! `synod workflow …` against a real chain whose genesis registers the
//! shipped MLP (zk) and a one-step workflow over it: an agent registers, a
//! requester submits a run, the assigned agent executes it (runs, proves,
//! submits) from the CLI, and the verified execution is read back with a
//! proof, by run and by workflow hash.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::{json_of, Chain};
use synod_client::{Address, Amount};
use synod_protocol::{
    governance::{WorkflowSpec, WorkflowStep},
    state::VerificationMode,
    GenesisModel,
};

fn shipped(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../zkml/models")
        .join(file)
}

#[test]
fn a_run_is_submitted_executed_and_verified_from_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let keyring = tmp.path().join("keys");
    let model_file = tmp.path().join("mlp.synod-model");
    let offline = |args: &[&str]| {
        let out = std::process::Command::new(common::SYNOD)
            .args([
                "--keyring-dir",
                keyring.to_str().unwrap(),
                "--output",
                "json",
            ])
            .args(args)
            .output()
            .unwrap();
        json_of(&out)
    };
    let imported = offline(&[
        "model",
        "import",
        shipped("mlp.onnx").to_str().unwrap(),
        "--calibration",
        shipped("digits-calibration.json").to_str().unwrap(),
        "--out",
        model_file.to_str().unwrap(),
    ]);
    let model_id: [u8; 32] = hex::decode(imported["model_id"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let address =
        |doc: serde_json::Value| -> Address { doc["address"].as_str().unwrap().parse().unwrap() };
    let alice = address(offline(&["keys", "add", "alice"]));
    let carol = address(offline(&["keys", "add", "carol"]));
    let genesis_model = GenesisModel {
        model: base64::engine::general_purpose::STANDARD
            .encode(std::fs::read(&model_file).unwrap()),
        modes: vec![VerificationMode::Zk],
    };
    let workflow = WorkflowSpec {
        name: "classify".into(),
        steps: vec![WorkflowStep {
            name: "mlp".into(),
            model: model_id,
            inputs: vec![],
            mode: VerificationMode::Zk,
            timeout_blocks: 60,
            reward: Amount::syn(2),
            min_bond: Amount::syn(100),
            min_reputation: 0,
            retries: 0,
        }],
    };
    let chain = Chain::start_with_workflows(
        &[(alice, Amount::syn(1_000)), (carol, Amount::syn(1_000))],
        vec![genesis_model],
        vec![workflow],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(chain.client_at_height(2));
    let json = |args: &[&str]| {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        json_of(&chain.synod(&keyring, &all))
    };
    let model = model_file.to_str().unwrap();
    let agent = json(&[
        "agent", "register", "--model", model, "--bond", "100syn", "--from", "alice",
    ]);
    assert_eq!(agent["code"], 0, "{agent}");

    let input =
        serde_json::to_string(&(0..64).map(|i| (i * 7) % 200 - 100).collect::<Vec<i32>>()).unwrap();
    let submitted = json(&[
        "workflow", "submit", "classify", "--input", &input, "--budget", "5syn", "--from", "carol",
    ]);
    assert_eq!(submitted["run"], 1, "{submitted}");
    let step = &submitted["record"]["steps"][0];
    assert_eq!(step["executors"][0], alice.to_string(), "{submitted}");

    // Carol holds no step: execute says so and sends nothing.
    let out = chain.synod(
        &keyring,
        &[
            "workflow", "execute", "1", "--model", model, "--from", "carol",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no step of run 1 is assigned"), "{stderr}");

    let executed = json(&[
        "workflow", "execute", "1", "--model", model, "--from", "alice",
    ]);
    assert_eq!(
        executed["submitted"].as_array().unwrap().len(),
        1,
        "{executed}"
    );
    let shown = json(&["workflow", "show", "1", "--prove"]);
    assert_eq!(shown["proof"]["verified"], true, "{shown}");
    let hash = shown["value"]["status"]["verified"]["workflow_hash"]
        .as_str()
        .unwrap_or_else(|| panic!("not verified: {shown}"))
        .to_string();
    assert_eq!(shown["value"]["escrow"], "0", "{shown}");

    let verified = json(&["query", "verified", &hash, "--prove"]);
    assert_eq!(verified["value"]["run"], 1, "{verified}");
    assert_eq!(
        verified["value"]["verifier"],
        alice.to_string(),
        "{verified}"
    );
    assert_eq!(verified["proof"]["verified"], true, "{verified}");
    assert_eq!(json(&["workflow", "runs"]).as_array().unwrap().len(), 0);
    let unknown = chain.synod(&keyring, &["query", "verified", &"ab".repeat(32)]);
    assert!(!unknown.status.success());
}
