//! A Byzantine proposer on real processes (4 `synod-node` + 4 `synod-app`):
//! validator 3 proposes only broken blocks, each broken in the next of
//! `synod_node::faults::MUTATIONS`' ways (the hardening issue's findings
//! and more: times the app cannot read or that run ahead, a wrong app hash,
//! undecodable or replayed txs, a block over `block.max_bytes`, unreadable
//! evidence, forged or missing last-commit signatures). The three honest
//! validators refuse every one (their logs say why), never commit a block it
//! proposed, keep deciding blocks, and agree on every block and app hash.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::procs::{chain_of, funded_spec, wait_all_at, Validator};
use synod_abci_app::testkit::{TestAccount, CHAIN_ID};
use synod_consensus_config::generate_network;
use synod_node::faults::MUTATIONS;
use synod_protocol::{Amount, TxBody};
use tendermint_rpc::Client;

/// Small blocks, so the oversize mutation stays cheap to stream.
const BLOCK_MAX_BYTES: &str = "65536";

/// Everything the honest validators (nodes and apps) logged.
fn honest_logs(vals: &[Validator]) -> String {
    let mut all = String::new();
    for v in &vals[..3] {
        for f in [
            v.home.join("node.log"),
            v.home.join("app").join("synod-app.log"),
        ] {
            all.push_str(&std::fs::read_to_string(f).unwrap_or_default());
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_honest_validators_refuse_every_broken_proposal_and_agree() {
    let dir = tempfile::tempdir().unwrap();
    let mut user = TestAccount::new("byzantine-test-user");
    let mut spec = funded_spec(dir.path(), 4, CHAIN_ID, 7, &[user.address()]);
    spec.config.consensus.timeout_commit = Duration::from_millis(200);
    let homes = generate_network(&spec).unwrap();
    for h in &homes {
        let path = h.home.join("config/genesis.json");
        let mut g: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        g["consensus_params"]["block"]["max_bytes"] = BLOCK_MAX_BYTES.into();
        std::fs::write(&path, serde_json::to_vec_pretty(&g).unwrap()).unwrap();
    }
    let mut vals: Vec<Validator> = homes.iter().map(Validator::of).collect();
    vals[3].flags = vec!["--unsafe-byzantine-proposer"];
    for v in &mut vals {
        v.start();
    }
    wait_all_at(&vals, &[0, 1, 2], 2, 120).await;

    // Keep blocks non-empty (the replay mutation needs earlier txs) until
    // the honest logs show every mutation refused (bounded).
    let mut missing: Vec<&str> = MUTATIONS.iter().map(|m| m.name).collect();
    for _ in 0..600 {
        let tx = user.sign(TxBody::Transfer {
            to: homes[0].operator,
            amount: Amount(1),
        });
        let _ = vals[0].rpc.broadcast_tx_sync(tx).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let logs = honest_logs(&vals);
        missing = MUTATIONS
            .iter()
            .filter(|m| !logs.contains(m.refused_with))
            .map(|m| m.name)
            .collect();
        if missing.is_empty() {
            break;
        }
    }
    assert!(
        missing.is_empty(),
        "no honest validator refused these broken proposals: {missing:?}\nnode0:\n{}",
        vals[0].explain()
    );

    // The honest three keep deciding and agree on every block and app hash;
    // nothing validator 3 proposed was ever committed.
    let top = vals[0].height().await.unwrap() + 2;
    wait_all_at(&vals, &[0, 1, 2], top, 120).await;
    let reference = chain_of(&vals[0].rpc, top).await;
    for v in &vals[1..3] {
        assert_eq!(chain_of(&v.rpc, top).await, reference);
    }
    let byzantine = homes[3].validator_address;
    for h in 1..=top {
        let b = vals[0].rpc.block(h as u32).await.unwrap().block;
        assert_ne!(
            b.header.proposer_address, byzantine,
            "block {h}, proposed by the Byzantine validator, was committed"
        );
    }
    for v in &mut vals {
        v.kill();
    }
}
