//! Two agents' network loops on loopback, in one process: a result
//! announced by one is received (validated) by the other, payloads fetch
//! by hash, and a peer serving a corrupted payload is refused. Every wait
//! is bounded.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use synod_agent::{
    metrics::Metrics,
    network::{
        self,
        gossip::Announcement,
        payload::{hash_of, PayloadStore},
        FetchError, Network, NetworkConfig, NetworkFaults, Received,
    },
};
use synod_protocol::SecretKey;
use tokio::sync::mpsc;

struct Peer {
    net: Network,
    gossip: mpsc::Receiver<Received>,
    store: PayloadStore,
    addr: libp2p::Multiaddr,
    _dir: tempfile::TempDir,
}

async fn peer(seed: u8, bootstrap: Vec<libp2p::Multiaddr>, faults: NetworkFaults) -> Peer {
    let dir = tempfile::tempdir().unwrap();
    let store = PayloadStore::open(dir.path()).unwrap();
    let (net, gossip, event_loop) = network::start(NetworkConfig {
        seed: [seed; 32],
        chain_id: "synod-test".into(),
        listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
        bootstrap,
        store: store.clone(),
        metrics: Metrics::new(),
        faults,
    })
    .unwrap();
    tokio::spawn(event_loop.run());
    let addr = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(a) = net.listeners().await.into_iter().next() {
                return a;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("listening within 10 s");
    Peer {
        net,
        gossip,
        store,
        addr,
        _dir: dir,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_is_received_payloads_fetch_by_hash_and_a_corrupted_one_is_refused() {
    let a = peer(1, Vec::new(), NetworkFaults::default()).await;
    let mut b = peer(2, vec![a.addr.clone()], NetworkFaults::default()).await;
    let liar = peer(
        3,
        vec![a.addr.clone()],
        NetworkFaults {
            corrupt_payloads: true,
        },
    )
    .await;
    let me = SecretKey::from_seed([1; 32]).public().address();
    let announcement = Announcement::Result {
        agent: me,
        run: 4,
        step: 1,
        input: [4; 32],
        output: [1; 32],
        proof: [2; 32],
        trace_root: [3; 32],
        sent_ms: network::now_ms(),
    };
    // Gossip needs the subscriptions exchanged first: publish until B has it.
    let got = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let _ = a.net.publish(announcement.clone()).await;
            if let Ok(Some(r)) =
                tokio::time::timeout(Duration::from_millis(500), b.gossip.recv()).await
            {
                return r;
            }
        }
    })
    .await
    .expect("B receives A's announcement within 30 s");
    assert_eq!(got.message, announcement);
    assert_eq!(got.from, a.net.peer_id());

    // A payload A holds, fetched by B and checked.
    let proof = b"a proof's bytes".repeat(1000);
    let hash = a.store.put(&proof).unwrap();
    let fetched = tokio::time::timeout(
        Duration::from_secs(30),
        b.net.fetch(a.net.peer_id(), Some(a.addr.clone()), hash),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(fetched, proof);
    // One A does not hold.
    let absent = b
        .net
        .fetch(a.net.peer_id(), None, hash_of(b"nothing"))
        .await;
    assert!(matches!(absent, Err(FetchError::Absent(_))), "{absent:?}");

    // The liar flips a byte of what it serves: B refuses it.
    let h = liar.store.put(&proof).unwrap();
    let refused = tokio::time::timeout(
        Duration::from_secs(30),
        b.net.fetch(liar.net.peer_id(), Some(liar.addr.clone()), h),
    )
    .await
    .unwrap();
    match refused {
        Err(FetchError::HashMismatch { want, got_len, .. }) => {
            assert_eq!(want, hex::encode(h));
            assert_eq!(got_len, proof.len());
        }
        other => panic!("a corrupted payload was not refused: {other:?}"),
    }

    // Once B knows the registered agents, gossip from anyone else is dropped.
    let liar_account = SecretKey::from_seed([3; 32]).public().address();
    b.net.set_agents([liar_account].into()).await;
    let numbered = |run| Announcement::Result {
        agent: me,
        run,
        step: 1,
        input: [4; 32],
        output: [1; 32],
        proof: [2; 32],
        trace_root: [3; 32],
        sent_ms: network::now_ms(),
    };
    let stranger = numbered(99);
    while b.gossip.try_recv().is_ok() {}
    for _ in 0..6 {
        let _ = a.net.publish(stranger.clone()).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    while let Ok(r) = b.gossip.try_recv() {
        assert_ne!(r.message, stranger, "a non-agent's message passed");
    }
    // And passes again once A is registered.
    b.net.set_agents([me, liar_account].into()).await;
    let known = numbered(100);
    let got = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let _ = a.net.publish(known.clone()).await;
            if let Ok(Some(r)) =
                tokio::time::timeout(Duration::from_millis(500), b.gossip.recv()).await
            {
                if r.message == known {
                    return r;
                }
            }
        }
    })
    .await
    .expect("B receives a registered agent's announcement within 30 s");
    assert_eq!(got.from, a.net.peer_id());
    drop(b.store);
}
