//! A real Malachite validator driving the real Synod app: blocks are
//! proposed, decided, executed and committed; submitted transactions land.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use malachitebft_app_channel::app::types::core::LinearTimeouts;
use synod_abci_app::testkit::{key, TestNet};
use synod_node::{
    engine::{start, NodeSettings},
    mempool::MempoolConfig,
};
use synod_protocol::{codec, params::ChainParams, state::Account, Amount, TxBody};

fn fast_timeouts() -> LinearTimeouts {
    LinearTimeouts {
        propose: Duration::from_millis(800),
        propose_delta: Duration::from_millis(200),
        prevote: Duration::from_millis(300),
        prevote_delta: Duration::from_millis(100),
        precommit: Duration::from_millis(300),
        precommit_delta: Duration::from_millis(100),
        rebroadcast: Duration::from_secs(2),
        max_timeout: Duration::from_secs(5),
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_validator_commits_blocks_and_includes_a_submitted_tx() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(1, 2, ChainParams::default());
    let query = common::serve_app(&dir.path().join("app")).await;
    let settings = NodeSettings {
        home: dir.path().join("node"),
        moniker: "v0".into(),
        consensus_key: key("consensus-0").to_seed(),
        node_key: [42; 32],
        listen_addr: format!("/ip4/127.0.0.1/tcp/{}", free_port())
            .parse()
            .unwrap(),
        persistent_peers: vec![],
        abci_address: format!(
            "unix://{}",
            dir.path().join("app").join("abci.sock").display()
        ),
        timeouts: fast_timeouts(),
        target_block_time: Some(Duration::from_millis(100)),
        mempool: MempoolConfig::default(),
    };
    let node = start(settings, common::init_request(&net)).await.unwrap();
    let mut committed = node.committed.subscribe();

    let mut user = net.users[0].clone();
    let tx = user.sign(TxBody::Transfer {
        to: net.users[1].address(),
        amount: Amount(12_345),
    });
    let (reply, verdict) = tokio::sync::oneshot::channel();
    node.txs.send((tx, reply)).await.unwrap();
    verdict.await.unwrap().unwrap();

    // Bounded wait: three committed heights.
    let mut heights = Vec::new();
    while heights.len() < 3 {
        let (h, hash) = tokio::time::timeout(Duration::from_secs(60), committed.recv())
            .await
            .expect("no block within 60 s")
            .unwrap();
        assert_eq!(hash.len(), 32);
        heights.push(h);
    }
    assert_eq!(heights, vec![1, 2, 3], "heights are committed in order");
    let info = query.info().await.unwrap();
    assert!(info.last_block_height >= 3);
    let r = query
        .query(
            &format!("/account/{}", net.users[1].address()),
            vec![],
            0,
            false,
        )
        .await
        .unwrap();
    let account: Account = codec::decode(&r.value).unwrap();
    assert_eq!(
        account.balance,
        Amount::syn(1_000_000).checked_add(Amount(12_345)).unwrap(),
        "the transfer landed"
    );
    node.shutdown().await;
}
