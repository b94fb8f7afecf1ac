//! A real Malachite validator driving the real Synod app: blocks are
//! proposed, decided, executed and committed; submitted transactions land.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use malachitebft_app_channel::app::types::core::LinearTimeouts;
use synod_abci_app::testkit::{key, TestNet};
use synod_node::{
    mempool::MempoolConfig,
    node::{start, NodeSettings},
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
        peer_discovery: false,
        abci_address: format!(
            "unix://{}",
            dir.path().join("app").join("abci.sock").display()
        ),
        timeouts: fast_timeouts(),
        target_block_time: Some(Duration::from_millis(100)),
        mempool: MempoolConfig::default(),
        rpc_address: None,
        rpc_limits: Default::default(),
        metrics_address: None,
        genesis_json: None,
        mempool_gossip: None,
        faults: Default::default(),
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

fn settings(
    dir: &std::path::Path,
    i: usize,
    addrs: &[malachitebft_app_channel::app::net::Multiaddr],
) -> NodeSettings {
    NodeSettings {
        home: dir.join(format!("node{i}")),
        moniker: format!("v{i}"),
        consensus_key: key(&format!("consensus-{i}")).to_seed(),
        node_key: [i as u8 + 1; 32],
        listen_addr: addrs[i].clone(),
        persistent_peers: addrs
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, a)| a.clone())
            .collect(),
        peer_discovery: false,
        abci_address: format!(
            "unix://{}",
            dir.join(format!("app{i}")).join("abci.sock").display()
        ),
        timeouts: fast_timeouts(),
        target_block_time: Some(Duration::from_millis(100)),
        mempool: MempoolConfig::default(),
        rpc_address: None,
        rpc_limits: Default::default(),
        metrics_address: None,
        genesis_json: None,
        mempool_gossip: None,
        faults: Default::default(),
    }
}

fn loopback_addrs(n: usize) -> Vec<malachitebft_app_channel::app::net::Multiaddr> {
    (0..n)
        .map(|_| {
            format!("/ip4/127.0.0.1/tcp/{}", free_port())
                .parse()
                .unwrap()
        })
        .collect()
}

/// The next `n` committed (height, app hash) from a node, each within 90 s.
async fn next_commits(
    sub: &mut tokio::sync::broadcast::Receiver<(u64, Vec<u8>)>,
    n: usize,
    what: &str,
) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let got = tokio::time::timeout(Duration::from_secs(90), sub.recv()).await;
        out.push(got.unwrap_or_else(|_| panic!("{what}")).unwrap());
    }
    out
}

type Started = (
    Vec<synod_node::handle::NodeHandle>,
    Vec<synod_node::abci::AbciConnections>,
);

/// Serves apps and starts validators `which` (indices into `addrs`).
async fn start_validators(
    dir: &std::path::Path,
    net: &TestNet,
    addrs: &[malachitebft_app_channel::app::net::Multiaddr],
    which: std::ops::Range<usize>,
) -> Started {
    start_validators_with(dir, net, addrs, which, Duration::from_millis(100)).await
}

/// [`start_validators`] with a target block time (CometBFT's `timeout_commit`).
async fn start_validators_with(
    dir: &std::path::Path,
    net: &TestNet,
    addrs: &[malachitebft_app_channel::app::net::Multiaddr],
    which: std::ops::Range<usize>,
    target: Duration,
) -> Started {
    let mut nodes = Vec::new();
    let mut queries = Vec::new();
    for i in which {
        queries.push(common::serve_app(&dir.join(format!("app{i}"))).await);
        let mut s = settings(dir, i, addrs);
        s.target_block_time = Some(target);
        nodes.push(start(s, common::init_request(net)).await.unwrap());
    }
    (nodes, queries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn precommits_that_arrive_after_the_decision_join_the_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(4, 2, ChainParams::default());
    let addrs = loopback_addrs(4);
    // Three of four equal validators decide a height; with time left before
    // the target, the fourth's precommit still arrives and is recorded.
    let (nodes, _queries) =
        start_validators_with(dir.path(), &net, &addrs, 0..4, Duration::from_millis(800)).await;
    let mut blocks = nodes[0].blocks.subscribe();
    let mut full = 0;
    let mut seen = 0;
    while seen < 6 {
        let b = tokio::time::timeout(Duration::from_secs(90), blocks.recv())
            .await
            .expect("no block within 90 s")
            .unwrap();
        if b.block.height < 2 {
            continue;
        }
        seen += 1;
        let signed = b.block.last_commit.iter().filter(|v| v.signed).count();
        assert!(
            signed >= 3,
            "block {}'s last commit holds a quorum",
            b.block.height
        );
        if signed == 4 {
            full += 1;
        }
    }
    assert!(
        full >= 4,
        "only {full} of 6 last commits hold all four precommits; late ones are dropped"
    );
    for n in nodes {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_validator_that_starts_late_catches_up_by_sync_and_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(4, 2, ChainParams::default());
    let addrs = loopback_addrs(4);
    let (nodes, _queries) = start_validators(dir.path(), &net, &addrs, 0..3).await;
    // Three of four equal validators (75% > 2/3 of the power) make progress alone.
    let mut first = nodes[0].committed.subscribe();
    let reference = next_commits(&mut first, 6, "no progress").await;
    // The fourth starts late, from an empty app and block store.
    let (mut late, _late_query) = start_validators(dir.path(), &net, &addrs, 3..4).await;
    let late = late.remove(0);
    let mut sub = late.committed.subscribe();
    let caught_up = next_commits(&mut sub, 6, "the late node never synced").await;
    assert_eq!(
        caught_up, reference,
        "the late node replays exactly the chain the others decided"
    );
    for n in nodes {
        n.shutdown().await;
    }
    late.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_validators_agree_on_every_block_and_app_hash() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(4, 2, ChainParams::default());
    let addrs = loopback_addrs(4);
    let (nodes, queries) = start_validators(dir.path(), &net, &addrs, 0..4).await;
    let mut subs: Vec<_> = nodes.iter().map(|n| n.committed.subscribe()).collect();

    let mut user = net.users[0].clone();
    let tx = user.sign(TxBody::Transfer {
        to: net.users[1].address(),
        amount: Amount(777),
    });
    let (reply, verdict) = tokio::sync::oneshot::channel();
    nodes[2].txs.send((tx, reply)).await.unwrap();
    verdict.await.unwrap().unwrap();

    // Every node commits heights 1..=5 with the same app hashes.
    let mut seen: Vec<Vec<(u64, Vec<u8>)>> = vec![Vec::new(); 4];
    for (i, sub) in subs.iter_mut().enumerate() {
        while seen[i].len() < 5 {
            let got = tokio::time::timeout(Duration::from_secs(90), sub.recv())
                .await
                .expect("no block within 90 s")
                .unwrap();
            seen[i].push(got);
        }
    }
    for i in 1..4 {
        assert_eq!(seen[i], seen[0], "node {i} disagrees with node 0");
    }
    assert_eq!(
        seen[0].iter().map(|(h, _)| *h).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    // The transfer submitted to one node reaches every app through the block
    // that node proposes (these nodes run without mempool gossip).
    // Wait (bounded) until it is in, then check all four apps agree.
    // Up to 60 s: node 2 proposes one block in four, and a loaded machine
    // (the other tests run alongside) can take seconds per block.
    let mut landed = false;
    for _ in 0..600 {
        let r = queries[0]
            .query(
                &format!("/account/{}", net.users[1].address()),
                vec![],
                0,
                false,
            )
            .await
            .unwrap();
        let a: Account = codec::decode(&r.value).unwrap();
        if a.balance > Amount::syn(1_000_000) {
            landed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        landed,
        "the transfer never landed (without gossip it waits for its node to propose)"
    );
    for n in nodes {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_validator_resumes_from_its_store_and_keeps_agreeing() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(4, 2, ChainParams::default());
    let addrs = loopback_addrs(4);
    let (mut nodes, _queries) = start_validators(dir.path(), &net, &addrs, 0..4).await;
    // Validator 1's commits, recorded as they come.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::BTreeMap::new()));
    let mut watch = nodes[1].committed.subscribe();
    let recorder = {
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Ok((h, hash)) = watch.recv().await {
                seen.lock().unwrap().insert(h, hash);
            }
        })
    };
    let mut first = nodes[0].committed.subscribe();
    next_commits(&mut first, 3, "no progress").await;
    drop(first);
    // Stop validator 0 at different points of a height (just after a commit,
    // then mid-round); each time it restarts on the same home and app.
    let mut node0 = nodes.remove(0);
    let mut last = 0;
    for delay_ms in [0u64, 45, 130] {
        let mut sub = node0.committed.subscribe();
        next_commits(&mut sub, 1, "validator 0 stalled before its stop").await;
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        node0.shutdown().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        node0 = start(settings(dir.path(), 0, &addrs), common::init_request(&net))
            .await
            .unwrap();
        let mut sub = node0.committed.subscribe();
        let (h, hash) = next_commits(&mut sub, 1, "the restarted node never committed")
            .await
            .remove(0);
        assert!(h > last, "it resumed after the heights it had committed");
        last = h;
        // Whatever height it resumes at, it agrees with validator 1 there.
        let mut theirs = None;
        for _ in 0..900 {
            theirs = seen.lock().unwrap().get(&h).cloned();
            if theirs.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            Some(hash),
            theirs,
            "the restarted validator agrees at height {h} (stopped {delay_ms} ms after a commit)"
        );
    }
    recorder.abort();
    node0.shutdown().await;
    for n in nodes {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_validator_that_bonds_by_tx_joins_the_set_and_signs_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(4, 2, ChainParams::default());
    let addrs = loopback_addrs(5);
    // Its small stake is never needed for a quorum: its votes reach the
    // commits as late precommits, in the time left before the target.
    let target = Duration::from_millis(400);
    let (nodes, queries) = start_validators_with(dir.path(), &net, &addrs, 0..4, target).await;
    // A fifth node with a consensus key the genesis does not know; it follows the chain.
    let newcomer_ck = key("newcomer-consensus");
    let mut fifth = settings(dir.path(), 4, &addrs);
    fifth.consensus_key = newcomer_ck.to_seed();
    fifth.target_block_time = Some(target);
    common::serve_app(&dir.path().join("app4")).await;
    let fifth = start(fifth, common::init_request(&net)).await.unwrap();

    // A user registers the newcomer as a validator (2,000 syn: a small share of the power).
    let mut user = net.users[0].clone();
    let tx = user.sign(TxBody::RegisterValidator {
        consensus_key: synod_protocol::PubKey(newcomer_ck.public().0),
        moniker: "newcomer".into(),
        self_bond: Amount::syn(2_000),
    });
    let mut registered = false;
    for n in &nodes {
        let (reply, verdict) = tokio::sync::oneshot::channel();
        n.txs.send((tx.clone(), reply)).await.unwrap();
        registered |= verdict.await.unwrap().is_ok();
    }
    assert!(registered);

    // Bounded wait until the app reports the newcomer active and its reputation
    // rising, which happens only when its vote is in a decided last commit.
    let who = user.address();
    let mut signed = false;
    for _ in 0..300 {
        let r = queries[0]
            .query(&format!("/reputation/{who}"), vec![], 0, false)
            .await
            .unwrap();
        if r.code == 0 {
            let rep: synod_protocol::state::Reputation = codec::decode(&r.value).unwrap();
            if rep.score > ChainParams::default().reputation.floor_score {
                signed = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        signed,
        "the new validator's votes never appeared in a commit"
    );
    let r = queries[0]
        .query("/validators", vec![], 0, false)
        .await
        .unwrap();
    let list: Vec<synod_protocol::state::ValidatorSummary> = codec::decode(&r.value).unwrap();
    assert!(
        list.iter().any(|v| v.validator.operator == who && v.active),
        "the newcomer is in the active set"
    );
    fifth.shutdown().await;
    for n in nodes {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn losing_half_the_validators_halts_the_chain_and_one_coming_back_resumes_it() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(4, 2, ChainParams::default());
    let addrs = loopback_addrs(4);
    let (mut nodes, _queries) = start_validators(dir.path(), &net, &addrs, 0..4).await;
    let mut watch = nodes[0].committed.subscribe();
    let mut before = next_commits(&mut watch, 3, "no progress").await;
    // Two of four stop: 50% of the power is not enough for a decision.
    let third = nodes.remove(3);
    let second = nodes.remove(2);
    third.shutdown().await;
    second.shutdown().await;
    // Drain what was already decided, then expect silence.
    while let Ok(Ok(got)) = tokio::time::timeout(Duration::from_millis(1500), watch.recv()).await {
        before.push(got);
    }
    let halted_at = before.last().unwrap().0;
    assert!(
        tokio::time::timeout(Duration::from_secs(3), watch.recv())
            .await
            .is_err(),
        "a decision without 2/3 of the power"
    );
    // One returns: 75% of the power again; the chain goes on from where it stopped, without a fork.
    let back = start(settings(dir.path(), 2, &addrs), common::init_request(&net))
        .await
        .unwrap();
    let (h, _) = tokio::time::timeout(Duration::from_secs(90), watch.recv())
        .await
        .expect("the chain never resumed")
        .unwrap();
    assert_eq!(h, halted_at + 1, "the next height, no gap and no fork");
    let heights: Vec<u64> = before.iter().map(|(h, _)| *h).collect();
    assert_eq!(heights, (1..=halted_at).collect::<Vec<_>>());
    back.shutdown().await;
    for n in nodes {
        n.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_equivocating_validator_is_caught_slashed_and_tombstoned() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(4, 2, ChainParams::default());
    let addrs = loopback_addrs(4);
    let (mut nodes, queries) = start_validators(dir.path(), &net, &addrs, 0..3).await;
    // Validator 3 signs two conflicting votes every time (the test-only fault).
    common::serve_app(&dir.path().join("app3")).await;
    let mut faulty = settings(dir.path(), 3, &addrs);
    faulty.faults.equivocate_votes = true;
    nodes.push(start(faulty, common::init_request(&net)).await.unwrap());

    let cheat = net.operators[3].address();
    let before: synod_protocol::state::Validator = codec::decode(
        &queries[0]
            .query(&format!("/validator/{cheat}"), vec![], 0, false)
            .await
            .unwrap()
            .value,
    )
    .unwrap();
    // Bounded: the evidence goes into a block and the app tombstones it.
    let mut caught = None;
    for _ in 0..900 {
        let r = queries[0]
            .query(&format!("/validator/{cheat}"), vec![], 0, false)
            .await
            .unwrap();
        let v: synod_protocol::state::Validator = codec::decode(&r.value).unwrap();
        if v.status == synod_protocol::state::ValidatorStatus::Tombstoned {
            caught = Some(v);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = caught.expect("the equivocating validator was never tombstoned");
    assert!(
        after.self_bond < before.self_bond,
        "its stake was slashed: {:?} -> {:?}",
        before.self_bond,
        after.self_bond
    );
    // The honest three go on without it.
    let mut sub = nodes[0].committed.subscribe();
    next_commits(&mut sub, 3, "the chain stalled after the slashing").await;
    // Every honest app agrees on the slashing.
    for q in &queries[1..] {
        let r = q
            .query(&format!("/validator/{cheat}"), vec![], 0, false)
            .await
            .unwrap();
        let v: synod_protocol::state::Validator = codec::decode(&r.value).unwrap();
        assert_eq!(v.status, synod_protocol::state::ValidatorStatus::Tombstoned);
    }
    for n in nodes {
        n.shutdown().await;
    }
}

/// Finding 17 of the hardening issue: the block size comes from the
/// genesis' `consensus_params.block.max_bytes` (it was hard-coded to 1 MiB
/// of txs). With a 2 KiB limit, 40 transfers spread over several blocks,
/// every block fits, and every transfer lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_stay_within_the_genesis_block_max_bytes() {
    const MAX: i64 = 2048;
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(1, 2, ChainParams::default());
    let _query = common::serve_app(&dir.path().join("app0")).await;
    let addrs = loopback_addrs(1);
    let mut init = common::init_request(&net);
    init.consensus_params
        .as_mut()
        .unwrap()
        .block
        .as_mut()
        .unwrap()
        .max_bytes = MAX;
    assert_eq!(synod_node::node::block_max_bytes(&init), MAX as u64);
    let node = start(settings(dir.path(), 0, &addrs), init).await.unwrap();
    let mut blocks = node.blocks.subscribe();

    let mut user = net.users[0].clone();
    for _ in 0..40 {
        let tx = user.sign(TxBody::Transfer {
            to: net.users[1].address(),
            amount: Amount(1),
        });
        let (reply, verdict) = tokio::sync::oneshot::channel();
        node.txs.send((tx, reply)).await.unwrap();
        verdict.await.unwrap().unwrap();
    }
    let (mut landed, mut with_txs) = (0, 0);
    while landed < 40 {
        let b = tokio::time::timeout(Duration::from_secs(60), blocks.recv())
            .await
            .expect("no block within 60 s")
            .unwrap();
        let len = b.block.encode().len();
        assert!(len as i64 <= MAX, "block {} is {len} bytes", b.block.height);
        if !b.block.txs.is_empty() {
            with_txs += 1;
        }
        landed += b.results.tx_results.iter().filter(|r| r.code == 0).count();
    }
    assert!(
        with_txs >= 3,
        "40 transfers need several 2 KiB blocks, took {with_txs}"
    );
    node.shutdown().await;
}
