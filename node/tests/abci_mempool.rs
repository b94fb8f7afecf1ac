//! The node's ABCI connections and mempool against the real Synod app, served
//! in-process over a Unix socket by its tower-abci server.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use synod_abci_app::testkit::TestNet;
use synod_node::{
    abci::{AbciConnections, AbciError, CheckTxKind},
    mempool::{tx_hash, Mempool, MempoolConfig, MempoolError},
};
use synod_protocol::{params::ChainParams, Amount, TxBody};
use tendermint_proto::{google::protobuf::Timestamp, v0_38::abci as pb};

struct Fixture {
    _dir: tempfile::TempDir,
    abci: AbciConnections,
    net: TestNet,
}

async fn start() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let abci = common::serve_app(dir.path()).await;
    let net = TestNet::new(2, 3, ChainParams::default());
    Fixture {
        _dir: dir,
        abci,
        net,
    }
}

fn init_request(net: &TestNet) -> pb::RequestInitChain {
    common::init_request(net)
}

fn finalize_request(height: i64, txs: Vec<Vec<u8>>) -> pb::RequestFinalizeBlock {
    pb::RequestFinalizeBlock {
        txs: txs.into_iter().map(Into::into).collect(),
        decided_last_commit: Some(pb::CommitInfo {
            round: 0,
            votes: vec![],
        }),
        misbehavior: vec![],
        hash: vec![height as u8; 32].into(),
        height,
        time: Some(Timestamp {
            seconds: 1_700_000_000 + height,
            nanos: 0,
        }),
        next_validators_hash: vec![0; 32].into(),
        proposer_address: vec![0; 20].into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_four_connections_carry_a_chain_from_info_to_commit() {
    let f = start().await;
    let info = f.abci.info().await.unwrap();
    assert_eq!(info.last_block_height, 0);
    let init = f.abci.init_chain(init_request(&f.net)).await.unwrap();
    assert_eq!(init.validators.len(), 2);

    let mut user = f.net.users[0].clone();
    let tx = user.sign(TxBody::Transfer {
        to: f.net.users[1].address(),
        amount: Amount(7),
    });
    assert_eq!(
        f.abci.check_tx(&tx, CheckTxKind::New).await.unwrap().code,
        0
    );
    let prepared = f
        .abci
        .prepare_proposal(pb::RequestPrepareProposal {
            max_tx_bytes: 1 << 20,
            txs: vec![tx.clone().into()],
            local_last_commit: None,
            misbehavior: vec![],
            height: 1,
            time: Some(Timestamp {
                seconds: 1_700_000_001,
                nanos: 0,
            }),
            next_validators_hash: vec![0; 32].into(),
            proposer_address: vec![0; 20].into(),
        })
        .await
        .unwrap();
    assert_eq!(prepared.txs.len(), 1);
    let accepted = f
        .abci
        .process_proposal(pb::RequestProcessProposal {
            txs: prepared.txs.clone(),
            proposed_last_commit: None,
            misbehavior: vec![],
            hash: vec![1; 32].into(),
            height: 1,
            time: Some(Timestamp {
                seconds: 1_700_000_001,
                nanos: 0,
            }),
            next_validators_hash: vec![0; 32].into(),
            proposer_address: vec![0; 20].into(),
        })
        .await
        .unwrap();
    assert!(accepted);
    let out = f
        .abci
        .finalize_block(finalize_request(1, vec![tx]))
        .await
        .unwrap();
    assert_eq!(out.tx_results[0].code, 0);
    f.abci.commit().await.unwrap();
    let info = f.abci.info().await.unwrap();
    assert_eq!(info.last_block_height, 1);
    assert_eq!(info.last_block_app_hash, out.app_hash);
    let q = f
        .abci
        .query(
            &format!("/account/{}", f.net.users[1].address()),
            vec![],
            0,
            true,
        )
        .await
        .unwrap();
    assert_eq!(q.code, 0);
    assert!(q.proof_ops.is_some());
    assert!(f.abci.list_snapshots().await.unwrap().snapshots.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mempool_dedups_bounds_reaps_and_rechecks_after_a_commit() {
    let f = start().await;
    f.abci.init_chain(init_request(&f.net)).await.unwrap();
    let mut pool = Mempool::new(MempoolConfig {
        max_txs: 3,
        ..MempoolConfig::default()
    });
    let mut a = f.net.users[0].clone();
    let mut b = f.net.users[1].clone();
    let to = f.net.users[2].address();

    let a0 = a.sign(TxBody::Transfer {
        to,
        amount: Amount(1),
    });
    let a1 = a.sign(TxBody::Transfer {
        to,
        amount: Amount(2),
    });
    let b0 = b.sign(TxBody::Transfer {
        to,
        amount: Amount(3),
    });
    pool.add(&f.abci, a0.clone()).await.unwrap();
    assert!(matches!(
        pool.add(&f.abci, a0.clone()).await,
        Err(MempoolError::Duplicate(_))
    ));
    pool.add(&f.abci, a1.clone()).await.unwrap();
    // The app's verdict comes back with its code and reason.
    let bad_nonce = b.sign_with(
        TxBody::Transfer {
            to,
            amount: Amount(1),
        },
        9,
        synod_abci_app::testkit::TEST_FEE,
    );
    match pool.add(&f.abci, bad_nonce).await {
        Err(MempoolError::Rejected {
            code,
            log,
            permanent,
            ..
        }) => {
            assert_eq!(code, 7);
            assert!(log.contains("nonce"), "{log}");
            assert!(!permanent, "a nonce may be a race: not a permanent refusal");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    // Bytes no state can accept: a permanent refusal (the gossip layer
    // penalizes the peer that relays them).
    match pool.add(&f.abci, b"not a transaction".to_vec()).await {
        Err(MempoolError::Rejected {
            code, permanent, ..
        }) => {
            assert_eq!(code, 2);
            assert!(permanent, "undecodable bytes are refused for good");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    pool.add(&f.abci, b0.clone()).await.unwrap();
    let extra = b.sign(TxBody::Transfer {
        to,
        amount: Amount(4),
    });
    let full = pool.add(&f.abci, extra).await.unwrap_err();
    assert!(matches!(full, MempoolError::Full { txs: 3, .. }), "{full}");
    assert!(full.to_string().contains("retry after the next block"));
    let huge = vec![0u8; MempoolConfig::default().max_tx_bytes + 1];
    assert!(matches!(
        pool.add(&f.abci, huge).await,
        Err(MempoolError::TooLarge { .. })
    ));

    // A block includes a0 and b0, and - behind the mempool's back - another tx
    // from `a` with a1's nonce, so a1 must fail its recheck.
    let a1_rival = f.net.users[0].sign_with(
        TxBody::Transfer {
            to,
            amount: Amount(99),
        },
        1,
        synod_abci_app::testkit::TEST_FEE,
    );
    assert_eq!(pool.reap(None), vec![a0.clone(), a1.clone(), b0.clone()]);
    let block = vec![a0.clone(), b0.clone(), a1_rival];
    let out = f
        .abci
        .finalize_block(finalize_request(1, block.clone()))
        .await
        .unwrap();
    assert!(out.tx_results.iter().all(|r| r.code == 0));
    f.abci.commit().await.unwrap();
    let report = pool.update(&f.abci, &block).await.unwrap();
    assert_eq!(
        (report.included, report.dropped, report.remaining),
        (2, 1, 0)
    );
    assert!(pool.is_empty());
    assert_eq!(pool.bytes(), 0);
    // Committed transactions are remembered: a replay is refused without asking the app.
    assert!(
        matches!(pool.add(&f.abci, a0).await, Err(MempoolError::RecentlySeen(h)) if h == tx_hash(&block[0]))
    );
}

#[tokio::test]
async fn connecting_to_nothing_says_where_it_tried() {
    let dir = tempfile::tempdir().unwrap();
    let address = format!("unix://{}", dir.path().join("nobody.sock").display());
    let err = AbciConnections::connect(&address, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(err, AbciError::Connect { .. }));
    assert!(err.to_string().contains("nobody.sock"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_the_app_cannot_read_does_not_break_the_queries_after_it() {
    let f = start().await;
    f.abci.init_chain(init_request(&f.net)).await.unwrap();
    // A negative height is not a height to tendermint-rs: the app's ABCI
    // layer cannot convert the request and drops the connection.
    let refused = f.abci.query("/params", vec![], -1, false).await;
    assert!(refused.is_err(), "{refused:?}");
    // The next queries on the query connection are answered as usual.
    for _ in 0..3 {
        let r = f.abci.query("/params", vec![], 0, false).await.unwrap();
        assert_eq!(r.code, 0, "{}", r.log);
        assert!(!r.value.is_empty());
    }
    let info = f.abci.info().await.unwrap();
    assert_eq!(info.last_block_height, 0);
}
