//! Mempool gossip over real libp2p swarms on loopback: a tx travels A -> B
//! -> C only after B's CheckTx accepted it; a tx B rejects stops at B.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use synod_node::{
    gossip::{start, GossipSettings},
    handle::TxSubmission,
    mempool::MempoolError,
};
use tokio::sync::mpsc;

fn addr(port: u16) -> libp2p::Multiaddr {
    format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Answers every submission with `verdict(tx)` and reports what it saw.
fn checker(
    verdict: fn(&[u8]) -> Result<[u8; 32], MempoolError>,
) -> (mpsc::Sender<TxSubmission>, mpsc::UnboundedReceiver<Vec<u8>>) {
    let (tx, mut rx) = mpsc::channel::<TxSubmission>(64);
    let (seen_tx, seen) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some((t, reply)) = rx.recv().await {
            let _ = reply.send(verdict(&t));
            let _ = seen_tx.send(t);
        }
    });
    (tx, seen)
}

fn accept(_: &[u8]) -> Result<[u8; 32], MempoolError> {
    Ok([0; 32])
}

fn reject_bad(t: &[u8]) -> Result<[u8; 32], MempoolError> {
    if t.starts_with(b"bad") {
        Err(MempoolError::Rejected {
            code: 1,
            codespace: String::new(),
            log: "bad".into(),
            permanent: true,
        })
    } else {
        Ok([0; 32])
    }
}

async fn next(seen: &mut mpsc::UnboundedReceiver<Vec<u8>>, within: Duration) -> Option<Vec<u8>> {
    tokio::time::timeout(within, seen.recv())
        .await
        .ok()
        .flatten()
}

/// Drains `seen` until `want` arrives (true) or `within` passes (false).
async fn until(seen: &mut mpsc::UnboundedReceiver<Vec<u8>>, want: &[u8], within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match next(seen, left).await {
            Some(t) if t == want => return true,
            Some(_) => continue,
            None => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn txs_travel_through_a_peer_only_once_it_accepted_them() {
    let (pa, pb, pc) = (free_port(), free_port(), free_port());
    let settings = |me: u16, peers: Vec<u16>| GossipSettings {
        listen_addr: addr(me),
        peers: peers.into_iter().map(addr).collect(),
        max_tx_bytes: 1 << 20,
        max_pending_checks: 1024,
    };
    // A line: A - B - C (A and C do not know each other).
    let (a_submit, _a_seen) = checker(accept);
    let (b_submit, mut b_seen) = checker(reject_bad);
    let (c_submit, mut c_seen) = checker(accept);
    let (a_out, a_task) = start(settings(pa, vec![pb]), [1; 32], "chain", a_submit).unwrap();
    let (_b_out, b_task) = start(settings(pb, vec![pa, pc]), [2; 32], "chain", b_submit).unwrap();
    let (_c_out, c_task) = start(settings(pc, vec![pb]), [3; 32], "chain", c_submit).unwrap();

    // Warm up (bounded): publish until something reaches C through B, so
    // the meshes are formed.
    let mut path_up = false;
    for i in 0..120 {
        a_out
            .send(format!("warmup-{i}").into_bytes())
            .await
            .unwrap();
        if next(&mut c_seen, Duration::from_millis(500))
            .await
            .is_some()
        {
            path_up = true;
            break;
        }
    }
    assert!(path_up, "no tx ever travelled A -> B -> C");
    // A fresh tx: B checks it, accepts it, and C gets it through B.
    a_out.send(b"good-probe".to_vec()).await.unwrap();
    assert!(
        until(&mut b_seen, b"good-probe", Duration::from_secs(20)).await,
        "B never checked the probe"
    );
    assert!(
        until(&mut c_seen, b"good-probe", Duration::from_secs(20)).await,
        "C never received the tx B accepted"
    );

    // A tx B rejects reaches B and stops there.
    a_out.send(b"bad-tx".to_vec()).await.unwrap();
    assert!(
        until(&mut b_seen, b"bad-tx", Duration::from_secs(20)).await,
        "B saw the bad tx"
    );
    // Then a good one: C sees it, and never the bad one before it.
    a_out.send(b"good-after".to_vec()).await.unwrap();
    loop {
        let t = next(&mut c_seen, Duration::from_secs(10))
            .await
            .expect("C never got the good tx after the bad one");
        assert_ne!(t, b"bad-tx".to_vec(), "a rejected tx was forwarded");
        if t == b"good-after" {
            break;
        }
    }
    for t in [a_task, b_task, c_task] {
        t.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_waits_for_at_most_the_pending_check_limit() {
    let (pa, pb) = (free_port(), free_port());
    let settings = |me: u16, peers: Vec<u16>, max_pending_checks| GossipSettings {
        listen_addr: addr(me),
        peers: peers.into_iter().map(addr).collect(),
        max_tx_bytes: 1 << 20,
        max_pending_checks,
    };
    // B's mempool takes txs but never answers: every check stays pending.
    let (b_submit, mut b_rx) = mpsc::channel::<TxSubmission>(1024);
    let (a_submit, _a_seen) = checker(accept);
    let (a_out, a_task) = start(settings(pa, vec![pb], 1024), [1; 32], "chain", a_submit).unwrap();
    let (_b_out, b_task) = start(settings(pb, vec![pa], 8), [2; 32], "chain", b_submit).unwrap();

    // Publish until B has taken its 8 (bounded: the mesh forms within a few seconds).
    let mut held = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut i = 0u32;
    while held.len() < 8 && tokio::time::Instant::now() < deadline {
        a_out.send(format!("flood-{i}").into_bytes()).await.unwrap();
        i += 1;
        if let Ok(Some(s)) = tokio::time::timeout(Duration::from_millis(100), b_rx.recv()).await {
            held.push(s);
        }
    }
    assert_eq!(held.len(), 8, "B never took 8 txs to check");
    // Many more arrive; none reaches B's mempool while 8 wait.
    for j in 0..200 {
        a_out.send(format!("more-{j}").into_bytes()).await.unwrap();
    }
    let extra = tokio::time::timeout(Duration::from_secs(3), b_rx.recv()).await;
    assert!(extra.is_err(), "a ninth check started while 8 were pending");
    drop(held);
    a_task.abort();
    b_task.abort();
}

/// "bad…" is refused for its bytes (permanently); "late…" only for now (a
/// nonce race, say).
fn reject_bad_or_late(t: &[u8]) -> Result<[u8; 32], MempoolError> {
    let permanent = t.starts_with(b"bad");
    if permanent || t.starts_with(b"late") {
        Err(MempoolError::Rejected {
            code: 7,
            codespace: String::new(),
            log: "refused".into(),
            permanent,
        })
    } else {
        Ok([0; 32])
    }
}

/// Finding 11 of the hardening issue: peer scoring is on. A peer that
/// relays txs the app refuses permanently is graylisted (its messages are
/// dropped unread, even valid ones), while refusals that may be races cost
/// a peer nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_relaying_permanently_invalid_txs_is_graylisted_and_races_cost_nothing() {
    let (pa, pb) = (free_port(), free_port());
    let settings = |me: u16, peers: Vec<u16>| GossipSettings {
        listen_addr: addr(me),
        peers: peers.into_iter().map(addr).collect(),
        max_tx_bytes: 1 << 20,
        max_pending_checks: 1024,
    };
    let (a_submit, _a_seen) = checker(accept);
    let (b_submit, mut b_seen) = checker(reject_bad_or_late);
    let (a_out, a_task) = start(settings(pa, vec![pb]), [1; 32], "chain", a_submit).unwrap();
    let (_b_out, b_task) = start(settings(pb, vec![pa]), [2; 32], "chain", b_submit).unwrap();
    let mut path_up = false;
    for i in 0..120 {
        a_out
            .send(format!("warmup-{i}").into_bytes())
            .await
            .unwrap();
        if next(&mut b_seen, Duration::from_millis(500))
            .await
            .is_some()
        {
            path_up = true;
            break;
        }
    }
    assert!(path_up, "no tx ever travelled A -> B");

    // Twenty refusals that may be races: A stays in good standing.
    for i in 0..20 {
        let t = format!("late-{i}").into_bytes();
        a_out.send(t.clone()).await.unwrap();
        assert!(
            until(&mut b_seen, &t, Duration::from_secs(20)).await,
            "B never checked {i}"
        );
    }
    a_out.send(b"good-1".to_vec()).await.unwrap();
    assert!(
        until(&mut b_seen, b"good-1", Duration::from_secs(20)).await,
        "B stopped listening to A after refusals that may be races"
    );

    // Permanent refusals mixed with valid txs, a pair every 50 ms for three
    // seconds. After three or four refusals A's score passes the graylist
    // threshold and B drops what A sends unread, valid txs included; the
    // score decays by a tenth a second, so A comes back after a second or
    // more, and its next invalid tx sends it away again for longer (the
    // penalty is the count squared). Without scoring B would check all 60
    // valid txs; with it, a handful. (Waiting for each refused tx instead
    // would let the score decay meanwhile: the flaky first version of this
    // test did.)
    for i in 0..60 {
        a_out.send(format!("bad-{i}").into_bytes()).await.unwrap();
        a_out
            .send(format!("good-late-{i}").into_bytes())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut heard = Vec::new();
    while let Some(t) = next(&mut b_seen, Duration::from_secs(2)).await {
        heard.push(String::from_utf8_lossy(&t).into_owned());
    }
    let good: Vec<&String> = heard
        .iter()
        .filter(|t| t.starts_with("good-late-"))
        .collect();
    let bad = heard.iter().filter(|t| t.starts_with("bad-")).count();
    assert!(
        good.len() <= 20,
        "B still checks most of A's valid txs while A relays invalid ones: {good:?}"
    );
    assert!(
        bad <= 20,
        "B checked {bad} of A's 60 invalid txs: A was not graylisted"
    );
    a_task.abort();
    b_task.abort();
}
