//! Gossip delivery latency among N agents' network loops on loopback (real
//! libp2p: TCP, Noise, Yamux, gossipsub with validation and scoring), in one
//! process so one clock times every delivery.
//!
//! Each agent dials agent 0 and the agent before it. After a warm-up, the
//! agents take turns publishing `Result` announcements; every other agent
//! records when it receives each one (after validation). Prints p50, p99
//! and max over all deliveries, and the share delivered.
//!
//! cargo run -p synod-agent --example gossip_latency -- [AGENTS] [MESSAGES]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use synod_agent::{
    metrics::Metrics,
    network::{self, gossip::Announcement, payload::PayloadStore, NetworkConfig},
};
use synod_protocol::SecretKey;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let agents: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(32);
    let messages: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100);
    anyhow::ensure!((2..=200).contains(&agents), "2 ..= 200 agents");
    let dir = tempfile::tempdir()?;
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let mut nets = Vec::new();
    let mut addrs: Vec<libp2p::Multiaddr> = Vec::new();
    for i in 0..agents {
        let mut bootstrap = Vec::new();
        if i > 0 {
            bootstrap.push(addrs[0].clone());
        }
        if i > 1 {
            bootstrap.push(addrs[i - 1].clone());
        }
        let (net, mut gossip, event_loop) = network::start(NetworkConfig {
            seed: seed(i),
            chain_id: "synod-bench".into(),
            listen: "/ip4/127.0.0.1/tcp/0".parse()?,
            bootstrap,
            store: PayloadStore::open(&dir.path().join(i.to_string()))?,
            metrics: Metrics::new(),
            faults: Default::default(),
        })?;
        tokio::spawn(event_loop.run());
        let (sent, latencies) = (sent.clone(), latencies.clone());
        tokio::spawn(async move {
            while let Some(r) = gossip.recv().await {
                if let Announcement::Result { run, .. } = r.message {
                    let at = sent.lock().ok().and_then(|s| s.get(&run).copied());
                    if let (Some(at), Ok(mut l)) = (at, latencies.lock()) {
                        l.push(at.elapsed());
                    }
                }
            }
        });
        let addr = loop {
            if let Some(a) = net.listeners().await.into_iter().next() {
                break a;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        addrs.push(addr);
        nets.push(net);
    }
    eprintln!("{agents} agents listening; warming up the mesh (20 s)");
    tokio::time::sleep(Duration::from_secs(20)).await;
    for m in 0..messages {
        let from = (m as usize) % agents;
        let announcement = Announcement::Result {
            agent: SecretKey::from_seed(seed(from)).public().address(),
            run: m,
            step: 0,
            input: [4; 32],
            output: [1; 32],
            proof: [2; 32],
            trace_root: [3; 32],
            sent_ms: network::now_ms(),
        };
        if let Ok(mut s) = sent.lock() {
            s.insert(m, Instant::now());
        }
        if let Err(e) = nets[from].publish(announcement).await {
            eprintln!("message {m} from agent {from} not published: {e}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut l = latencies
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    l.sort();
    let expected = messages as usize * (agents - 1);
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map(|d| d.as_secs_f64() * 1e3)
            .unwrap_or(f64::NAN)
    };
    println!(
        "{agents} agents, {messages} messages: {} of {expected} deliveries ({:.1}%); latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        l.len(),
        100.0 * l.len() as f64 / expected as f64,
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}

fn seed(i: usize) -> [u8; 32] {
    let mut s = [7u8; 32];
    s[..8].copy_from_slice(&(i as u64).to_le_bytes());
    s
}
