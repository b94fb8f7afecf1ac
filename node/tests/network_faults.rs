//! Faults across real processes (4 `synod-node` + 4 `synod-app`, then a
//! fifth pair): a validator started in the test-only equivocating mode is
//! caught, slashed and tombstoned while the others go on; then a new
//! validator registers through a tx sent over RPC, joins the set and signs
//! blocks.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::procs::{free_port_block, wait_all_at, Validator};
use synod_abci_app::testkit::{TestAccount, CHAIN_ID};
use synod_consensus_config::{generate_network, init_home, GenesisOptions, NetworkSpec};
use synod_protocol::{
    codec,
    genesis::GenesisAccount,
    state::{Validator as ValidatorRecord, ValidatorStatus},
    Address, Amount, TxBody,
};
use tendermint_rpc::Client;

async fn validator_record(v: &Validator, operator: &Address) -> Option<ValidatorRecord> {
    let r = v
        .rpc
        .abci_query(Some(format!("/validator/{operator}")), vec![], None, false)
        .await
        .ok()?;
    codec::decode(&r.value).ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_equivocating_process_is_tombstoned_and_a_registered_one_joins() {
    let dir = tempfile::tempdir().unwrap();
    let user = TestAccount::new("faults-user");
    let mut spec = NetworkSpec::new(dir.path(), 5, CHAIN_ID);
    spec.validators = 4;
    spec.base_port = free_port_block(50);
    spec.genesis.seed = Some(5);
    spec.genesis.extra_accounts = vec![GenesisAccount {
        address: user.address(),
        balance: Amount::syn(1_000_000),
    }];
    spec.config.consensus.timeout_commit = Duration::from_millis(300);
    spec.config.consensus.timeout_propose = Duration::from_secs(2);
    spec.config.instrumentation.prometheus = false;
    let homes = generate_network(&spec).unwrap();
    let mut vals: Vec<Validator> = homes.iter().map(Validator::of).collect();
    vals[3].flags = vec!["--unsafe-equivocate"];
    for v in &mut vals {
        v.start();
    }
    wait_all_at(&vals, &[0, 1, 2, 3], 2, 120).await;

    // The cheat is caught by the others and tombstoned by every honest app.
    let cheat = homes[3].operator;
    let mut after = None;
    for _ in 0..600 {
        match validator_record(&vals[0], &cheat).await {
            Some(v) if v.status == ValidatorStatus::Tombstoned => {
                after = Some(v);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    let after = after.unwrap_or_else(|| {
        panic!(
            "the equivocating validator was never tombstoned; node0:\n{}",
            vals[0].explain()
        )
    });
    assert!(
        after.self_bond < spec.genesis.self_bond,
        "its stake was slashed: {:?} of {:?} left",
        after.self_bond,
        spec.genesis.self_bond
    );
    for v in &vals[1..3] {
        let seen = validator_record(v, &cheat).await.unwrap();
        assert_eq!(seen.status, ValidatorStatus::Tombstoned);
    }
    // The honest three go on.
    let h = vals[0].height().await.unwrap();
    wait_all_at(&vals, &[0, 1, 2], h + 3, 60).await;

    // A fifth node with the same genesis follows the chain, then registers.
    let fifth_home = dir.path().join("node4");
    let ports = synod_consensus_config::home::NodePorts::of(spec.base_port, 4).unwrap();
    let mut config = spec.config.clone();
    config.proxy_app = format!("tcp://127.0.0.1:{}", ports.abci);
    config.rpc.laddr = format!("tcp://127.0.0.1:{}", ports.rpc);
    config.p2p.laddr = format!("tcp://127.0.0.1:{}", ports.p2p);
    // It lists one peer only: peer exchange (`p2p.pex`, on by default) finds the others.
    config.p2p.persistent_peers = homes[1..2]
        .iter()
        .map(|h| format!("{}@{}", h.node_id, h.p2p_laddr.trim_start_matches("tcp://")))
        .collect();
    let summary = init_home(
        &fifth_home,
        "newcomer",
        CHAIN_ID,
        &config,
        &GenesisOptions {
            seed: Some(55),
            ..GenesisOptions::default()
        },
    )
    .unwrap();
    std::fs::copy(
        homes[0].home.join("config/genesis.json"),
        fifth_home.join("config/genesis.json"),
    )
    .unwrap();
    let mut fifth = Validator::of(&summary);
    fifth.start();
    vals.push(fifth);
    let h = vals[0].height().await.unwrap();
    wait_all_at(&vals, &[0, 4], h + 1, 120).await;
    let mut peers = 0;
    for _ in 0..150 {
        peers = vals[4].rpc.net_info().await.map_or(0, |n| n.n_peers);
        if peers >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        peers >= 4,
        "the fifth node listed one peer and found only {peers} of the 4 others"
    );

    let mut registrant = user.clone();
    let tx = registrant.sign(TxBody::RegisterValidator {
        consensus_key: summary.consensus_key,
        moniker: "newcomer".into(),
        self_bond: Amount::syn(20_000),
    });
    let r = vals[1].rpc.broadcast_tx_commit(tx).await.unwrap();
    assert!(r.check_tx.code.is_ok(), "{}", r.check_tx.log);
    assert!(r.tx_result.code.is_ok(), "{}", r.tx_result.log);

    // It joins the active set and its precommits appear in later blocks.
    let newcomer = summary.validator_address;
    let mut signed_at = None;
    for _ in 0..600 {
        let top = vals[0].height().await.unwrap_or(0);
        if top > r.height.value() + 2 {
            let b = vals[0].rpc.block(top as u32).await.unwrap();
            if b.block
                .last_commit
                .iter()
                .flat_map(|c| c.signatures.iter())
                .any(|s| s.validator_address() == Some(newcomer))
            {
                signed_at = Some(top);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let signed_at = signed_at.unwrap_or_else(|| {
        panic!(
            "the new validator never signed a block; its log:\n{}",
            vals[4].explain()
        )
    });
    // The RPC shows the signatures the block carries: more than 2/3 of the
    // power of the set that signed them, on every node (one node's own
    // certificate may hold another quorum).
    for v in [&vals[2], &vals[4]] {
        // A node may be a block behind the one that saw the signature.
        for _ in 0..150 {
            if v.height().await.unwrap_or(0) >= signed_at {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        for height in signed_at - 3..=signed_at {
            let block = v.rpc.block(height as u32).await.unwrap().block;
            let commit = block.last_commit.expect("a last commit");
            let set = v
                .rpc
                .validators(height as u32 - 1, tendermint_rpc::Paging::All)
                .await
                .unwrap()
                .validators;
            let power = |a: &tendermint::account::Id| {
                set.iter()
                    .find(|x| x.address == *a)
                    .map_or(0, |x| x.power.value())
            };
            let total: u64 = set.iter().map(|x| x.power.value()).sum();
            let signed: u64 = commit
                .signatures
                .iter()
                .filter_map(|s| s.validator_address())
                .map(|a| power(&a))
                .sum();
            assert!(
                3 * signed > 2 * total,
                "block {height}'s last commit shows {signed} of {total} power signed"
            );
        }
    }
    let set = vals[2]
        .rpc
        .validators(signed_at as u32, tendermint_rpc::Paging::All)
        .await
        .unwrap();
    assert!(set.validators.iter().any(|v| v.address == newcomer));
    for v in &mut vals {
        v.kill();
    }
}
