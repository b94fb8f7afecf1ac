//! cosmjs' `Comet38Client` (`@cosmjs/tendermint-rpc` from npm, unmodified)
//! against a running validator: starts the node, signs the txs the
//! JavaScript test sends, and runs `node --test` in `tests/cosmjs/`.
//!
//! Needs Node.js (18 or later) and the package installed (`npm ci` in
//! `node/tests/cosmjs`; `.ci/run` does both). Without them the test says
//! so and passes on a developer's machine, and fails under CI (`CI=true`).

#![allow(clippy::unwrap_used)]

mod common;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use base64::Engine;
use common::rpc_node::RpcNode;
use serde_json::json;
use synod_abci_app::testkit::CHAIN_ID;
use synod_protocol::{Amount, TxBody};

/// How long the JavaScript test may run.
const NODE_TEST_TIMEOUT: Duration = Duration::from_secs(180);

/// The folder of the JavaScript test and its `package.json`.
fn cosmjs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cosmjs")
}

/// Why the JavaScript test cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    let version = Command::new("node").arg("--version").output();
    let major = version
        .as_ref()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let v = String::from_utf8_lossy(&o.stdout);
            v.trim()
                .trim_start_matches('v')
                .split('.')
                .next()?
                .parse::<u32>()
                .ok()
        });
    match major {
        None => return Some("`node` is not installed (apt-get install nodejs npm)".into()),
        Some(m) if m < 18 => {
            return Some(format!(
                "`node` is version {m}; `node --test` needs 18 or later"
            ))
        }
        Some(_) => {}
    }
    let package = cosmjs_dir().join("node_modules/@cosmjs/tendermint-rpc/package.json");
    if !package.exists() {
        return Some(format!(
            "@cosmjs/tendermint-rpc is not installed: run `npm ci` in {}",
            cosmjs_dir().display()
        ));
    }
    None
}

/// A child process killed when dropped (a failed or timed-out test leaves
/// nothing running).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosmjs_comet38_client_reads_and_writes_through_the_node() {
    if let Some(why) = missing_prerequisite() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the cosmjs compatibility test cannot run: {why}"
        );
        eprintln!("skipped: the cosmjs compatibility test cannot run here: {why}");
        return;
    }
    let n = RpcNode::start("cosmjs-node", [47; 32], 2).await;
    n.wait_for_height(2).await;

    // The txs the JavaScript test sends, in nonce order.
    let mut alice = n.net.users[0].clone();
    let recipient = n.net.users[1].address();
    let txs: Vec<String> = (1..=3)
        .map(|amount| {
            let tx = alice.sign(TxBody::Transfer {
                to: recipient,
                amount: Amount(amount),
            });
            base64::engine::general_purpose::STANDARD.encode(tx)
        })
        .collect();
    let fixture = n.dir.path().join("cosmjs-fixture.json");
    let fixture_json = json!({
        "http": n.url(),
        // cosmjs appends `/websocket` itself.
        "ws": format!("ws://{}", n.addr),
        "chain_id": CHAIN_ID,
        "recipient": recipient.to_string(),
        "txs": txs,
    });
    std::fs::write(&fixture, fixture_json.to_string()).unwrap();

    let log = n.dir.path().join("node-test.log");
    let out = std::fs::File::create(&log).unwrap();
    let mut child = KillOnDrop(
        Command::new("node")
            .args(["--test", "--test-reporter=tap", "comet38.test.mjs"])
            .current_dir(cosmjs_dir())
            .env("SYNOD_COSMJS_FIXTURE", &fixture)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap(),
    );
    // Poll, so the node (in this runtime) keeps running meanwhile.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > NODE_TEST_TIMEOUT {
            let output = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("`node --test` did not finish within {NODE_TEST_TIMEOUT:?}:\n{output}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        status.success(),
        "cosmjs' test failed ({status}):\n{output}"
    );
    assert!(output.contains("# pass 1"), "{output}");
    drop(child);
    n.node.shutdown().await;
}
