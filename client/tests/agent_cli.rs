//! `synod agent …` against a real chain whose genesis registers the shipped
//! MLP (optimistic only): register, show with a proof, list, add to the
//! bond, update, exit, and the chain's refusals with their codes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{json_of, setup::Offline, Chain};
use synod_client::{Address, Amount};
use synod_protocol::state::VerificationMode;

#[test]
fn an_agent_registers_bonds_updates_and_exits_from_the_cli() {
    let setup = Offline::with_mlp();
    let keyring = setup.keyring.clone();
    let model_file = setup.model_file.clone();
    let alice = setup.add_key("alice");
    let carol = setup.add_key("carol");
    let genesis_model = setup.genesis_model(VerificationMode::Optimistic);
    let chain = Chain::start_with(
        &[(alice, Amount::syn(1_000)), (carol, Amount::syn(1_000))],
        vec![genesis_model],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(chain.client_at_height(2));
    let json = |args: &[&str]| {
        let mut all = vec!["--output", "json"];
        all.extend_from_slice(args);
        json_of(&chain.synod(&keyring, &all))
    };
    let refused = |args: &[&str]| {
        let out = chain.synod(&keyring, args);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let model = model_file.to_str().unwrap();

    let registered = json(&[
        "agent",
        "register",
        "--model",
        model,
        "--bond",
        "150syn",
        "--metadata",
        "tcp://alice",
        "--from",
        "alice",
    ]);
    assert_eq!(registered["code"], 0, "{registered}");
    let shown = json(&["agent", "show", "alice", "--prove"]);
    assert_eq!(shown["value"]["bond"], "150000000", "{shown}");
    assert_eq!(shown["value"]["metadata"], "tcp://alice", "{shown}");
    assert_eq!(shown["value"]["status"], "Active", "{shown}");
    assert_eq!(shown["proof"]["verified"], true, "{shown}");
    let model_id = shown["value"]["models"][0].as_str().unwrap().to_string();
    assert_eq!(model_id.len(), 64);
    let balance = json(&["query", "account", "alice"]);
    let left: u128 = balance["value"]["balance"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(left < 850_000_000 && left > 849_000_000, "{balance}");

    // Once only; below the minimum; a model the chain does not have.
    let again = refused(&[
        "agent", "register", "--model", &model_id, "--bond", "100syn", "--from", "alice",
    ]);
    assert!(
        again.contains("code 43") && again.contains("already an agent"),
        "{again}"
    );
    let small = refused(&[
        "agent", "register", "--model", &model_id, "--bond", "1syn", "--from", "carol",
    ]);
    assert!(
        small.contains("code 47") && small.contains("min_bond"),
        "{small}"
    );
    let unknown = refused(&[
        "agent",
        "register",
        "--model",
        &"ab".repeat(32),
        "--bond",
        "100syn",
        "--from",
        "carol",
    ]);
    assert!(
        unknown.contains("code 23") && unknown.contains("unknown model"),
        "{unknown}"
    );
    let malformed = refused(&[
        "agent", "register", "--model", "xyz", "--bond", "100syn", "--from", "carol",
    ]);
    assert!(malformed.contains("neither a model id"), "{malformed}");

    // More bond, new metadata, then exit.
    assert_eq!(
        json(&["agent", "bond", "10syn", "--from", "alice"])["code"],
        0
    );
    let updated = json(&[
        "agent",
        "update",
        "--model",
        &model_id,
        "--metadata",
        "tcp://alice:2",
        "--from",
        "alice",
    ]);
    assert_eq!(updated["code"], 0, "{updated}");
    let shown = json(&["agent", "show", "alice"]);
    assert_eq!(shown["value"]["bond"], "160000000", "{shown}");
    assert_eq!(shown["value"]["metadata"], "tcp://alice:2", "{shown}");
    assert_eq!(json(&["agent", "exit", "--from", "alice"])["code"], 0);
    let list = chain.synod(&keyring, &["agent", "list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains(&alice.to_string()), "{text}");
    assert!(
        text.contains("160 syn") && text.contains("bond returns at height"),
        "{text}"
    );
    let exiting = refused(&["agent", "bond", "1syn", "--from", "alice"]);
    assert!(
        exiting.contains("code 45") && exiting.contains("is exiting"),
        "{exiting}"
    );
    let nobody = refused(&["agent", "show", &Address([9; 20]).to_string()]);
    assert!(nobody.contains("no agent at this address"), "{nobody}");
}
