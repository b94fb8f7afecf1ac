//! `synod dispute …` against a real chain (synod-app and synod-node
//! processes) whose genesis registers the shipped MLP as optimistic and a
//! one-step optimistic workflow over it: alice (an agent) asserts a false
//! result, bob (another agent) challenges, both play with `synod dispute
//! play` at once, and the chain settles the game for bob by one step; the
//! dispute reads back with its moves and a proof.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{json_of, setup::Offline, Chain};
use synod_client::Amount;
use synod_protocol::state::VerificationMode;

/// A child process killed when dropped (even when the test fails).
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_false_result_is_challenged_and_played_out_from_the_cli() {
    let setup = Offline::with_mlp();
    let tmp = &setup.tmp;
    let keyring = setup.keyring.clone();
    let model_file = setup.model_file.clone();
    let alice = setup.add_key("alice");
    let bob = setup.add_key("bob");
    let carol = setup.add_key("carol");
    let genesis_model = setup.genesis_model(VerificationMode::Optimistic);
    let workflow = setup.classify_workflow(VerificationMode::Optimistic, 1);
    let chain = Chain::start_with_workflows(
        &[
            (alice, Amount::syn(1_000)),
            (bob, Amount::syn(1_000)),
            (carol, Amount::syn(1_000)),
        ],
        vec![genesis_model],
        vec![workflow],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(chain.client_at_height(2));
    // Proved reads keep the light client's trust root in this test's own
    // directory (another run's chain has the same id).
    let light = tmp.path().join("light");
    let json = |args: &[&str]| {
        let mut all = vec!["--light-dir", light.to_str().unwrap(), "--output", "json"];
        all.extend_from_slice(args);
        json_of(&chain.synod(&keyring, &all))
    };
    let model = model_file.to_str().unwrap();
    // Alice registers first; the run goes to her (bob registers after).
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
    let agent = json(&[
        "agent", "register", "--model", model, "--bond", "100syn", "--from", "bob",
    ]);
    assert_eq!(agent["code"], 0, "{agent}");

    // A bond below the minimum is refused with its code.
    let low = chain.synod(
        &keyring,
        &[
            "dispute", "assert", "1", "0", "--model", model, "--bond", "1usyn", "--from", "alice",
        ],
    );
    assert!(!low.status.success());
    assert!(
        String::from_utf8_lossy(&low.stderr).contains("code 58"),
        "{}",
        String::from_utf8_lossy(&low.stderr)
    );
    let asserted = json(&[
        "dispute",
        "assert",
        "1",
        "0",
        "--model",
        model,
        "--bond",
        "2syn",
        "--corrupt",
        "2",
        "--from",
        "alice",
    ]);
    assert_eq!(asserted["code"], 0, "{asserted}");
    let challenged = json(&[
        "dispute",
        "challenge",
        "1",
        "0",
        "--bond",
        "1syn",
        "--from",
        "bob",
    ]);
    assert_eq!(challenged["code"], 0, "{challenged}");
    let open = json(&["dispute", "list", "open"]);
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open[0]["next_move"], "bisect", "{open}");

    // Both sides play at once, each from its own process.
    let play = |who: &str| {
        Child(
            Command::new(common::SYNOD)
                .args(["--node", &chain.url, "--keyring-dir"])
                .arg(&keyring)
                .args([
                    "--output", "json", "dispute", "play", "1", "0", "--model", model, "--from",
                    who, "--secs", "120",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        )
    };
    let mut players = [play("alice"), play("bob")];
    let deadline = Instant::now() + Duration::from_secs(150);
    for p in &mut players {
        loop {
            if p.0.try_wait().unwrap().is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "the players did not finish");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    for p in players.iter_mut() {
        let mut stdout = String::new();
        let mut stderr = String::new();
        use std::io::Read as _;
        p.0.stdout
            .take()
            .unwrap()
            .read_to_string(&mut stdout)
            .unwrap();
        p.0.stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let status = p.0.wait().unwrap();
        assert!(status.success(), "play failed: {stderr}\n{stdout}");
        let doc: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(doc["disputes"][0]["status"], "settled", "{doc}");
    }
    let shown = json(&["dispute", "show", "1", "--prove"]);
    assert_eq!(shown["proof"]["verified"], true, "{shown}");
    let d = &shown["value"];
    assert_eq!(d["status"], "settled", "{shown}");
    assert!(
        d["settlement"]
            .as_str()
            .unwrap()
            .contains("the challenger won by one step"),
        "{shown}"
    );
    // Two nodes: bisect, select, one step.
    assert_eq!(d["moves"].as_array().unwrap().len(), 3, "{shown}");
    assert_eq!(
        json(&["dispute", "list", "settled"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The step went back to be assigned again (to bob, the only other agent).
    let run = json(&["workflow", "show", "1"]);
    assert_eq!(
        run["value"]["steps"][0]["executors"][1],
        bob.to_string(),
        "{run}"
    );
    let unknown = chain.synod(&keyring, &["dispute", "show", "9"]);
    assert!(!unknown.status.success());
}
