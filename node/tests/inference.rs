//! End to end: a model in genesis, a proof of inference made with zkml, sent
//! to a real `synod-node` + `synod-app` pair through tendermint-rpc's
//! `broadcast_tx_commit`, verified by the chain in FinalizeBlock: the tx
//! result carries `inference_verified` with the input commitment; a tampered
//! proof gets the invalid-proof code and a message.
//!
//! Every wait is bounded; the processes are killed when the test ends.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::procs::{free_port_block, wait_all_at, Validator};
use synod_abci_app::{
    models::testkit::{genesis_model, sample_input, shipped_mlp, Prover},
    testkit::TestAccount,
};
use synod_consensus_config::{generate_network, validate_genesis, NetworkSpec};
use synod_protocol::{
    codec, genesis::GenesisAccount, params::ChainParams, state::ModelRecord,
    state::VerificationMode, Amount, TxBody,
};
use synod_zkml::trace::tensor_leaf;
use tendermint_rpc::Client;

const CHAIN: &str = synod_abci_app::testkit::CHAIN_ID;
/// Covers a transaction carrying a proof at the default fee rate.
const PROOF_FEE: Amount = Amount(200_000);

/// The attributes of the events of kind `kind` in a tx result.
fn attributes(
    events: &[tendermint::abci::Event],
    kind: &str,
) -> Vec<std::collections::BTreeMap<String, String>> {
    events
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| {
            e.attributes
                .iter()
                .map(|a| {
                    (
                        String::from_utf8_lossy(a.key_bytes()).into_owned(),
                        String::from_utf8_lossy(a.value_bytes()).into_owned(),
                    )
                })
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_of_inference_sent_over_rpc_is_verified_by_the_chain() {
    // The prover's side, off chain: the shipped MLP, its proving setup for
    // the circuit the chain derives, one proof.
    let prover = tokio::task::spawn_blocking(|| {
        Prover::new(shipped_mlp(), ChainParams::default().models.max_k)
    })
    .await
    .unwrap();
    let input = sample_input(&prover.model, 3);
    let (prover, inference) = tokio::task::spawn_blocking(move || {
        let inference = prover.prove(&input);
        (prover, inference)
    })
    .await
    .unwrap();
    let id = prover.id();

    // One validator; the model registered for zk in genesis.
    let dir = tempfile::tempdir().unwrap();
    let user = TestAccount::new("inference-user");
    let mut spec = NetworkSpec::new(dir.path(), 1, CHAIN);
    spec.base_port = free_port_block(10);
    spec.genesis.seed = Some(6);
    spec.genesis.extra_accounts = vec![GenesisAccount {
        address: user.address(),
        balance: Amount::syn(1_000),
    }];
    spec.config.consensus.timeout_commit = Duration::from_millis(300);
    spec.config.instrumentation.prometheus = false;
    let homes = generate_network(&spec).unwrap();
    let entry =
        serde_json::to_value(vec![genesis_model(&prover.model, &[VerificationMode::Zk])]).unwrap();
    for home in &homes {
        let path = home.home.join("config/genesis.json");
        let mut genesis: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        genesis["app_state"]["models"] = entry.clone();
        let text = serde_json::to_string_pretty(&genesis).unwrap();
        assert_eq!(
            validate_genesis(&text),
            vec![],
            "the genesis with the model is valid"
        );
        std::fs::write(&path, text).unwrap();
    }
    let mut vals: Vec<Validator> = homes.iter().map(Validator::of).collect();
    vals[0].start();
    wait_all_at(&vals, &[0], 2, 120).await;
    let rpc = &vals[0].rpc;

    // The chain knows the model.
    let r = rpc
        .abci_query(
            Some(format!("/model/{}", hex::encode(id))),
            vec![],
            None,
            false,
        )
        .await
        .unwrap();
    assert!(r.code.is_ok(), "{}", r.log);
    let record: ModelRecord = codec::decode(&r.value).unwrap();
    assert_eq!(
        record.vk_hash,
        synod_zkml::circuit::vk_hash(&prover.setup.verifier.vk)
    );

    // A valid proof: verified, with the event.
    let body = |proof: Vec<u8>| TxBody::SubmitInferenceProof {
        model: id,
        input: inference.input.values().to_vec(),
        output: inference.output.values().to_vec(),
        proof,
    };
    let tx = user.sign_with(body(inference.proof.clone()), 0, PROOF_FEE);
    let r = rpc.broadcast_tx_commit(tx).await.unwrap();
    assert!(r.check_tx.code.is_ok(), "{}", r.check_tx.log);
    assert!(r.tx_result.code.is_ok(), "{}", r.tx_result.log);
    let verified = attributes(&r.tx_result.events, "inference_verified");
    assert_eq!(verified.len(), 1, "{:?}", r.tx_result.events);
    let event = &verified[0];
    assert_eq!(event["model"], hex::encode(id));
    assert_eq!(event["submitter"], user.address().to_string());
    assert_eq!(
        event["input_commitment"],
        hex::encode(tensor_leaf(&inference.input))
    );
    let output: Vec<String> = inference
        .output
        .values()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(event["output"], output.join(","));

    // A tampered proof: through CheckTx (verification is the block's), then
    // refused in the block with the invalid-proof code; fee and nonce used.
    let mut bad = inference.proof.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x01;
    let tx = user.sign_with(body(bad), 1, PROOF_FEE);
    let r = rpc.broadcast_tx_commit(tx).await.unwrap();
    assert!(r.check_tx.code.is_ok(), "{}", r.check_tx.log);
    assert_eq!(r.tx_result.code.value(), 27, "{}", r.tx_result.log);
    assert!(
        r.tx_result.log.contains("invalid proof for model"),
        "{}",
        r.tx_result.log
    );
    assert!(attributes(&r.tx_result.events, "inference_verified").is_empty());
    assert_eq!(common::procs::account(rpc, &user).await.nonce, 2);
    vals[0].kill();
}
