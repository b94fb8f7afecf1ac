//! The block store and the restart handshake against the real Synod app:
//! a fresh app catches up by replay, a crash between saving a block and
//! committing it is repaired, and inconsistencies stop the node with a reason.

#![allow(clippy::unwrap_used)]

mod common;

use synod_abci_app::testkit::{TestNet, TxFuzzer};
use synod_node::{
    chain::{apply_decided_block, handshake, ChainError},
    mempool::tx_hash,
    store::{BlockStore, StoreError},
};
use synod_protocol::params::ChainParams;

#[test]
fn undecided_proposals_survive_a_reopen_until_their_height_is_decided() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(2, 2, ChainParams::default());
    let at_1 = common::decided(&net, 1, vec![b"one".to_vec()]);
    let at_2 = common::decided(&net, 2, vec![b"two".to_vec()]);
    let mut at_2_later = common::decided(&net, 2, vec![b"two, again".to_vec()]);
    at_2_later.round = 1;
    {
        let store = BlockStore::open(dir.path()).unwrap();
        store.save_proposal(0, &at_1).unwrap();
        store.save_proposal(0, &at_2).unwrap();
        store.save_proposal(1, &at_2_later).unwrap();
    }
    let store = BlockStore::open(dir.path()).unwrap();
    assert_eq!(
        store.proposals_from(2).unwrap(),
        vec![(0, at_2.clone()), (1, at_2_later.clone())],
        "heights from 2 on, in round order"
    );
    assert_eq!(store.proposals_from(1).unwrap().len(), 3);
    // Deciding height 1 drops its proposals and keeps the later ones.
    store
        .save_block(&at_1, &common::id_of(&at_1), b"cert-1")
        .unwrap();
    assert_eq!(store.proposals_from(0).unwrap().len(), 2);
    store
        .save_block(&at_2, &common::id_of(&at_2), b"cert-2")
        .unwrap();
    assert!(store.proposals_from(0).unwrap().is_empty());
}

#[test]
fn blocks_results_and_the_tx_index_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(2, 2, ChainParams::default());
    let block = common::decided(&net, 1, vec![b"tx-a".to_vec(), b"tx-b".to_vec()]);
    {
        let store = BlockStore::open(dir.path()).unwrap();
        assert_eq!(store.height().unwrap(), 0);
        store
            .save_block(&block, &common::id_of(&block), b"cert-1")
            .unwrap();
        let results = tendermint_proto::v0_38::abci::ResponseFinalizeBlock {
            app_hash: vec![9; 32].into(),
            ..Default::default()
        };
        store.save_results(1, &results).unwrap();
        let err = store
            .save_block(
                &common::decided(&net, 3, vec![]),
                &common::made_up_id(3),
                b"",
            )
            .unwrap_err();
        assert!(
            matches!(err, StoreError::OutOfOrder { got: 3, at: 1 }),
            "{err}"
        );
        assert!(matches!(
            store.save_results(2, &results),
            Err(StoreError::NoSuchBlock { height: 2 })
        ));
    }
    let store = BlockStore::open(dir.path()).unwrap();
    assert_eq!(store.height().unwrap(), 1);
    assert_eq!(store.block(1).unwrap().unwrap(), block);
    assert_eq!(store.certificate(1).unwrap().unwrap(), b"cert-1");
    // The decided id, and the height by its header hash.
    let id = common::id_of(&block);
    assert_eq!(store.block_id(1).unwrap(), Some(id));
    assert_eq!(store.height_of_block(&id.hash).unwrap(), Some(1));
    assert_eq!(store.block_id(2).unwrap(), None);
    assert_eq!(
        store.results(1).unwrap().unwrap().app_hash.as_ref(),
        &[9; 32]
    );
    assert_eq!(store.tx_location(&tx_hash(b"tx-b")).unwrap(), Some((1, 1)));
    assert_eq!(store.tx_location(&tx_hash(b"nope")).unwrap(), None);
}

#[test]
fn a_directory_that_is_not_a_block_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    let err = BlockStore::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::NotAStore { .. }));
    assert!(err.to_string().contains("empty directory"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_app_is_initialized_and_replayed_to_the_stores_app_hash() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(3, 6, ChainParams::default());
    let store = BlockStore::open(&dir.path().join("blocks")).unwrap();

    // Run 30 blocks of random (valid and invalid) txs on a first app.
    let first = common::serve_app(&dir.path().join("app1")).await;
    let outcome = handshake(&first, &store, || common::init_request(&net))
        .await
        .unwrap();
    assert!(outcome.initialized);
    assert_eq!(outcome.replayed, 0);
    let mut fuzz = TxFuzzer::new(5, &net);
    let mut last_hash = Vec::new();
    for h in 1..=30 {
        let block = common::decided(&net, h, fuzz.block(6));
        let results = apply_decided_block(
            &first,
            &store,
            &block,
            &common::id_of(&block),
            format!("cert-{h}").as_bytes(),
        )
        .await
        .unwrap();
        assert_eq!(results.tx_results.len(), 6);
        last_hash = results.app_hash.to_vec();
    }

    // A second app with an empty home: InitChain, then all 30 blocks replayed.
    let second = common::serve_app(&dir.path().join("app2")).await;
    let outcome = handshake(&second, &store, || common::init_request(&net))
        .await
        .unwrap();
    assert_eq!(
        (
            outcome.app_height,
            outcome.initialized,
            outcome.replayed,
            outcome.height
        ),
        (0, true, 30, 30)
    );
    assert_eq!(outcome.app_hash, last_hash);
    let info = second.info().await.unwrap();
    assert_eq!(info.last_block_height, 30);
    assert_eq!(info.last_block_app_hash.to_vec(), last_hash);

    // Handshaking again with an app that is level with the store does nothing.
    let again = handshake(&second, &store, || {
        unreachable!("no InitChain for an initialized app")
    })
    .await
    .unwrap();
    assert_eq!((again.initialized, again.replayed), (false, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_saved_but_never_executed_is_replayed_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(2, 4, ChainParams::default());
    let store = BlockStore::open(&dir.path().join("blocks")).unwrap();
    let app = common::serve_app(&dir.path().join("app")).await;
    handshake(&app, &store, || common::init_request(&net))
        .await
        .unwrap();
    let mut fuzz = TxFuzzer::new(8, &net);
    for h in 1..=5 {
        apply_decided_block(
            &app,
            &store,
            &common::decided(&net, h, fuzz.block(4)),
            &common::made_up_id(h as u8),
            b"",
        )
        .await
        .unwrap();
    }
    // The node saved block 6, then died before FinalizeBlock.
    store
        .save_block(
            &common::decided(&net, 6, fuzz.block(4)),
            &common::made_up_id(6),
            b"",
        )
        .unwrap();
    let outcome = handshake(&app, &store, || unreachable!()).await.unwrap();
    assert_eq!(
        (outcome.app_height, outcome.replayed, outcome.height),
        (5, 1, 6)
    );
    assert_eq!(app.info().await.unwrap().last_block_height, 6);
    assert!(
        store.results(6).unwrap().is_some(),
        "the replay saved the results"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_that_disagrees_with_the_recorded_app_hash_stops_with_the_height() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(2, 4, ChainParams::default());
    let store = BlockStore::open(&dir.path().join("blocks")).unwrap();
    let app = common::serve_app(&dir.path().join("app1")).await;
    handshake(&app, &store, || common::init_request(&net))
        .await
        .unwrap();
    let mut fuzz = TxFuzzer::new(9, &net);
    for h in 1..=3 {
        apply_decided_block(
            &app,
            &store,
            &common::decided(&net, h, fuzz.block(3)),
            &common::made_up_id(h as u8),
            b"",
        )
        .await
        .unwrap();
    }
    // Falsify the recorded outcome of block 2.
    let mut forged = store.results(2).unwrap().unwrap();
    forged.app_hash = vec![0xab; 32].into();
    store.save_results(2, &forged).unwrap();

    let fresh = common::serve_app(&dir.path().join("app2")).await;
    let err = handshake(&fresh, &store, || common::init_request(&net))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChainError::AppHashMismatch { height: 2, .. }),
        "{err}"
    );
    assert_eq!(
        store.results(2).unwrap().unwrap().app_hash.as_ref(),
        &[0xab; 32],
        "a mismatch changes nothing stored"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_ahead_of_the_block_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(2, 2, ChainParams::default());
    let app = common::serve_app(&dir.path().join("app")).await;
    let store = BlockStore::open(&dir.path().join("blocks")).unwrap();
    handshake(&app, &store, || common::init_request(&net))
        .await
        .unwrap();
    apply_decided_block(
        &app,
        &store,
        &common::decided(&net, 1, vec![]),
        &common::made_up_id(1),
        b"",
    )
    .await
    .unwrap();
    let other_store = BlockStore::open(&dir.path().join("other-blocks")).unwrap();
    let err = handshake(&app, &other_store, || common::init_request(&net))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ChainError::AppAhead { app: 1, store: 0 }),
        "{err}"
    );
}

/// A validator update as the app reports it.
fn update(
    key: &synod_protocol::SecretKey,
    power: i64,
) -> tendermint_proto::v0_38::abci::ValidatorUpdate {
    use tendermint_proto::v0_38::crypto::{public_key::Sum, PublicKey};
    tendermint_proto::v0_38::abci::ValidatorUpdate {
        pub_key: Some(PublicKey {
            sum: Some(Sum::Ed25519(key.public().0.to_vec())),
        }),
        power,
    }
}

#[test]
fn a_crash_after_commit_but_before_the_next_set_was_saved_resumes_with_the_updated_set() {
    use synod_node::validators::{resume_set, validator_set_from, validators_to_save};
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(2, 0, ChainParams::default());
    let store = BlockStore::open(dir.path()).unwrap();
    // Before the first block nothing is known: InitChain's set applies.
    assert!(resume_set(&store, 1).unwrap().is_none());
    let first = validator_set_from(&[
        update(&net.consensus_keys[0], 10),
        update(&net.consensus_keys[1], 10),
    ])
    .unwrap();
    // A new chain: the set of the first height and of the next are genesis'.
    for h in [1, 2] {
        store
            .save_validators(h, &validators_to_save(&first))
            .unwrap();
    }
    assert_eq!(resume_set(&store, 1).unwrap().unwrap(), first);

    // Block 1 is stored and executed, the app committed it, and its results
    // change validator 1's power (for height 3, as in CometBFT); the node
    // stops before saving that set.
    store
        .save_block(
            &common::decided(&net, 1, vec![]),
            &common::made_up_id(1),
            b"cert",
        )
        .unwrap();
    let results = tendermint_proto::v0_38::abci::ResponseFinalizeBlock {
        validator_updates: vec![update(&net.consensus_keys[1], 25)],
        app_hash: vec![1; 32].into(),
        ..Default::default()
    };
    store.save_results(1, &results).unwrap();
    drop(store);

    let store = BlockStore::open(dir.path()).unwrap();
    assert_eq!(resume_set(&store, 2).unwrap().unwrap(), first);
    let resumed = resume_set(&store, 3).unwrap().unwrap();
    let powers: Vec<u64> = resumed
        .validators()
        .iter()
        .map(|v| v.voting_power)
        .collect();
    let mut sorted = powers.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![10, 25],
        "the update of block 1 applies: {powers:?}"
    );
    assert_ne!(resumed, first);
}

/// The event index behind `tx_search`: only attributes the app marked
/// `index`, in block order, bounded by height and count, and a key and value
/// that merely share a prefix with another's are not confused.
#[test]
fn the_event_index_finds_txs_by_attribute_within_heights() {
    use tendermint_proto::v0_38::abci::{
        Event, EventAttribute, ExecTxResult, ResponseFinalizeBlock,
    };
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(2, 2, ChainParams::default());
    let store = BlockStore::open(dir.path()).unwrap();
    let attr = |k: &str, v: &str, index| EventAttribute {
        key: k.into(),
        value: v.into(),
        index,
    };
    let result = |attrs: Vec<EventAttribute>| ExecTxResult {
        events: vec![Event {
            r#type: "transfer".into(),
            attributes: attrs,
        }],
        ..Default::default()
    };
    for h in 1..=4u64 {
        let block = common::decided(&net, h, vec![b"a".to_vec(), b"b".to_vec()]);
        store
            .save_block(&block, &common::id_of(&block), b"")
            .unwrap();
        let results = ResponseFinalizeBlock {
            tx_results: vec![
                result(vec![attr("to", "alice", true), attr("memo", "x", false)]),
                result(vec![attr("to", "alicex", true)]),
            ],
            ..Default::default()
        };
        store.save_results(h, &results).unwrap();
    }
    let found = store
        .txs_with_event("transfer.to", "alice", 1, 4, 100)
        .unwrap();
    assert_eq!(found, vec![(1, 0), (2, 0), (3, 0), (4, 0)]);
    assert_eq!(
        store
            .txs_with_event("transfer.to", "alice", 2, 3, 100)
            .unwrap(),
        vec![(2, 0), (3, 0)]
    );
    assert_eq!(
        store
            .txs_with_event("transfer.to", "alice", 1, 4, 2)
            .unwrap(),
        vec![(1, 0), (2, 0)],
        "at most the limit"
    );
    assert_eq!(
        store
            .txs_with_event("transfer.to", "alicex", 1, 4, 100)
            .unwrap()
            .len(),
        4
    );
    assert!(
        store
            .txs_with_event("transfer.memo", "x", 1, 4, 100)
            .unwrap()
            .is_empty(),
        "attributes the app did not mark for indexing are not indexed"
    );
    assert!(store
        .txs_with_event("transfer.t", "oalice", 1, 4, 100)
        .unwrap()
        .is_empty());
}
