//! `synod workflow …` against a real chain whose genesis registers the
//! shipped MLP (zk) and a one-step workflow over it: an agent registers, a
//! requester submits a run, the assigned agent executes it (runs, proves,
//! submits) from the CLI, and the verified execution is read back with a
//! proof, by run and by workflow hash.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{json_of, setup::Offline, Chain};
use synod_client::Amount;
use synod_protocol::state::VerificationMode;

#[test]
fn a_run_is_submitted_executed_and_verified_from_the_cli() {
    let setup = Offline::with_mlp();
    let keyring = setup.keyring.clone();
    let model_file = setup.model_file.clone();
    let alice = setup.add_key("alice");
    let carol = setup.add_key("carol");
    let genesis_model = setup.genesis_model(VerificationMode::Zk);
    let workflow = setup.classify_workflow(VerificationMode::Zk, 0);
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
