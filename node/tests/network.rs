//! Four validators as eight real processes (4 `synod-node` + 4 `synod-app`)
//! on loopback, driven only through tendermint-rpc: 500 transfers sent to
//! different nodes all commit, every node reports the same blocks and app
//! hashes, a validator killed with SIGKILL restarts, catches up and agrees,
//! and with two of four killed the chain halts until one returns.
//!
//! Every wait is bounded; every process is killed when the test ends, passes
//! or fails (guards kill on drop).

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::procs::{account, chain_of, funded_spec, wait_all_at, Validator};
use synod_abci_app::testkit::TestAccount;
use synod_consensus_config::generate_network;
use synod_protocol::{Amount, TxBody};
use tendermint_rpc::Client;

const CHAIN: &str = synod_abci_app::testkit::CHAIN_ID;
const VALIDATORS: usize = 4;
const USERS: usize = 8;
const TXS: usize = 500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validator_processes_commit_500_txs_agree_survive_sigkill_and_halt_without_quorum() {
    let dir = tempfile::tempdir().unwrap();
    let users: Vec<TestAccount> = (0..USERS)
        .map(|i| TestAccount::new(&format!("net-user-{i}")))
        .collect();
    let funded: Vec<_> = users.iter().map(TestAccount::address).collect();
    let spec = funded_spec(dir.path(), VALIDATORS, CHAIN, 4, &funded);
    let homes = generate_network(&spec).unwrap();
    let mut vals: Vec<Validator> = homes.iter().map(Validator::of).collect();
    for v in &mut vals {
        v.start();
    }
    let all: Vec<usize> = (0..VALIDATORS).collect();
    wait_all_at(&vals, &all, 2, 120).await;

    // 500 transfers: each user sends its txs (in nonce order) to one node.
    let sink = TestAccount::new("net-sink");
    let mut senders = users.clone();
    let mut sent = [0u64; USERS];
    for n in 0..TXS {
        let u = n % USERS;
        let tx = senders[u].sign(TxBody::Transfer {
            to: sink.address(),
            amount: Amount(1),
        });
        let r = vals[u % VALIDATORS]
            .rpc
            .broadcast_tx_sync(tx)
            .await
            .unwrap();
        assert!(r.code.is_ok(), "tx {n} refused: {}", r.log);
        sent[u] += 1;
    }
    // All of them commit (bounded): every sender's nonce, on every node.
    let mut done = false;
    for _ in 0..600 {
        let mut all_in = true;
        for v in &vals {
            for (u, user) in users.iter().enumerate() {
                if account(&v.rpc, user).await.nonce < sent[u] {
                    all_in = false;
                }
            }
        }
        if all_in {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(done, "not all {TXS} txs committed within 120 s");
    for v in &vals {
        assert_eq!(account(&v.rpc, &sink).await.balance, Amount(TXS as u128));
    }

    // Every node reports the same blocks and app hashes at every height.
    let mut top = u64::MAX;
    for v in &vals {
        top = top.min(v.height().await.unwrap());
    }
    let reference = chain_of(&vals[0].rpc, top).await;
    for (i, v) in vals.iter().enumerate().skip(1) {
        assert_eq!(
            chain_of(&v.rpc, top).await,
            reference,
            "validator {i} disagrees"
        );
    }

    // SIGKILL validator 3 (node and app): the other three go on.
    vals[3].kill();
    let at_kill = vals[0].height().await.unwrap();
    wait_all_at(&vals, &[0, 1, 2], at_kill + 3, 60).await;
    // Restart it: it catches up and agrees.
    vals[3].start();
    let target = vals[0].height().await.unwrap() + 2;
    wait_all_at(&vals, &all, target, 120).await;
    let a = chain_of(&vals[0].rpc, target).await;
    let b = chain_of(&vals[3].rpc, target).await;
    assert_eq!(a, b, "the restarted validator agrees with the others");

    // SIGKILL two of four: half the power is gone, the chain halts (no fork).
    vals[2].kill();
    vals[3].kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let halted_at = vals[0].height().await.unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        vals[0].height().await.unwrap(),
        halted_at,
        "two of four validators cannot commit"
    );
    assert_eq!(vals[1].height().await.unwrap(), halted_at);
    // One comes back: three of four commit again, on the same chain.
    vals[3].start();
    wait_all_at(&vals, &[0, 1, 3], halted_at + 2, 120).await;
    let a = chain_of(&vals[0].rpc, halted_at + 2).await;
    assert_eq!(a, chain_of(&vals[3].rpc, halted_at + 2).await);
    assert_eq!(a, chain_of(&vals[1].rpc, halted_at + 2).await);
    for v in &mut vals {
        v.kill();
    }
}
