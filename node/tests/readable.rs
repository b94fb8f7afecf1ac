//! Node accepts, so the app can read: for blocks whose every field is drawn
//! at random (times, proposer, last-commit records, evidence, transaction
//! bytes), whatever the node's `check_readable` lets through, the real app
//! answers `ProcessProposal`, `FinalizeBlock` and `Commit` without an error,
//! the way the app's ABCI server receives them (tendermint-rs' conversion,
//! then the app). No field of a block an honest node votes for stops the app.

#![allow(clippy::unwrap_used)]

mod common;

use proptest::prelude::*;
use synod_abci_app::{abci::Node, testkit::TestNet, App, Storage, StorageOptions};
use synod_node::{
    block::{BlockTime, CommitVote, DecidedBlock, Misbehavior},
    validity::check_readable,
};
use synod_protocol::params::ChainParams;
use tendermint::{abci::request, v0_38::abci::ConsensusRequest};

/// A block time: usually a readable one, sometimes any bit pattern.
fn time() -> impl Strategy<Value = BlockTime> {
    prop_oneof![
        3 => (0i64..4_000_000_000, 0i32..1_000_000_000)
            .prop_map(|(seconds, nanos)| BlockTime { seconds, nanos }),
        1 => (any::<i64>(), any::<i32>()).prop_map(|(seconds, nanos)| BlockTime { seconds, nanos }),
    ]
}

fn commit_vote() -> impl Strategy<Value = CommitVote> {
    (
        any::<[u8; 20]>(),
        prop_oneof![3 => 0i64..1_000, 1 => any::<i64>()],
        any::<bool>(),
    )
        .prop_map(|(address, power, signed)| CommitVote {
            address,
            power,
            signed,
            signature: None,
            timestamp: BlockTime::GO_ZERO,
        })
}

fn misbehavior() -> impl Strategy<Value = Misbehavior> {
    (
        any::<[u8; 20]>(),
        prop_oneof![3 => 0i64..1_000, 1 => any::<i64>()],
        prop_oneof![3 => 0u64..10, 1 => any::<u64>()],
        time(),
        prop_oneof![3 => 0i64..10_000, 1 => any::<i64>()],
    )
        .prop_map(
            |(address, power, height, time, total_voting_power)| Misbehavior {
                address,
                validator_index: 0,
                power,
                height,
                time,
                total_voting_power,
                votes: vec![],
            },
        )
}

fn block() -> impl Strategy<Value = DecidedBlock> {
    (
        time(),
        any::<[u8; 20]>(),
        proptest::collection::vec(commit_vote(), 0..4),
        proptest::collection::vec(misbehavior(), 0..3),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..4),
        any::<[u8; 32]>(),
    )
        .prop_map(
            |(time, proposer_address, last_commit, misbehavior, txs, next_validators)| {
                DecidedBlock {
                    version_app: 0,
                    chain_id: "synod-test".into(),
                    height: 1,
                    round: 0,
                    time,
                    proposer_address,
                    last_block_id: Default::default(),
                    app_hash: vec![],
                    hashes: synod_node::block::HeaderHashes {
                        next_validators,
                        ..Default::default()
                    },
                    last_commit_round: 0,
                    last_commit,
                    misbehavior,
                    txs,
                }
            },
        )
}

/// A fresh app, after InitChain, as its ABCI server drives it.
fn fresh_app(dir: &std::path::Path, net: &TestNet) -> Node {
    let storage = Storage::open(dir, StorageOptions::default()).unwrap();
    let node = Node::new(App::new(storage).unwrap());
    let init = request::InitChain::try_from(common::init_request(net)).unwrap();
    node.consensus(ConsensusRequest::InitChain(init)).unwrap();
    node
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn whatever_the_node_accepts_the_app_executes_without_an_error(block in block()) {
        if check_readable(&block).is_err() {
            // Refused: this block gets a nil vote and never reaches an app.
            return Ok(());
        }
        let net = TestNet::new(2, 1, ChainParams::default());
        let dir = tempfile::tempdir().unwrap();
        let app = fresh_app(dir.path(), &net);
        let pp = request::ProcessProposal::try_from(block.process_request(block.digest())).unwrap();
        prop_assert!(app.consensus(ConsensusRequest::ProcessProposal(pp)).is_ok());
        let fb = request::FinalizeBlock::try_from(block.finalize_request(block.digest())).unwrap();
        let finalized = app.consensus(ConsensusRequest::FinalizeBlock(fb));
        prop_assert!(finalized.is_ok(), "{:?}", finalized.err());
        prop_assert!(app.consensus(ConsensusRequest::Commit).is_ok());
    }
}

#[test]
fn the_random_blocks_include_readable_and_unreadable_ones() {
    // The property above is only worth something if both kinds occur.
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut readable, mut refused) = (0, 0);
    for _ in 0..200 {
        let b = block().new_tree(&mut runner).unwrap().current();
        match check_readable(&b) {
            Ok(()) => readable += 1,
            Err(_) => refused += 1,
        }
    }
    assert!(
        readable >= 20 && refused >= 20,
        "readable {readable}, refused {refused}"
    );
}
