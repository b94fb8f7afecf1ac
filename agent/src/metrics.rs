//! The agent's Prometheus metrics: counters and gauges as atomics, and a
//! hand-written text exposition served at `GET /metrics` over a bare tokio
//! TCP listener (one small request per connection, bounded read).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Upper bounds (seconds) of the latency histograms' buckets.
const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0];

/// A histogram of durations.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; 10],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} histogram\n"));
        for (i, le) in BUCKETS.iter().enumerate() {
            out.push_str(&format!(
                "{name}_bucket{{le=\"{le}\"}} {}\n",
                self.buckets[i].load(Ordering::Relaxed)
            ));
        }
        let count = self.count.load(Ordering::Relaxed);
        out.push_str(&format!("{name}_bucket{{le=\"+Inf\"}} {count}\n"));
        out.push_str(&format!(
            "{name}_sum {}\n{name}_count {count}\n",
            self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6
        ));
    }
}

/// Everything the agent counts.
#[derive(Debug, Default)]
pub struct Metrics {
    pub tasks_assigned: AtomicU64,
    pub tasks_done: AtomicU64,
    pub tasks_failed: AtomicU64,
    pub proofs: AtomicU64,
    pub proof_seconds: Histogram,
    pub peers: AtomicU64,
    pub gossip_received: AtomicU64,
    pub gossip_rejected: AtomicU64,
    pub gossip_latency: Histogram,
    pub payload_bytes_served: AtomicU64,
    pub payload_bytes_fetched: AtomicU64,
    pub payloads_refused: AtomicU64,
    pub chain_height: AtomicU64,
    pub rpc_errors: AtomicU64,
}

impl Metrics {
    /// A fresh set, shared by the tasks that count.
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut one = |name: &str, kind: &str, help: &str, v: &AtomicU64| {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}\n",
                v.load(Ordering::Relaxed)
            ));
        };
        one(
            "synod_agent_tasks_assigned_total",
            "counter",
            "Steps the chain assigned to this agent.",
            &self.tasks_assigned,
        );
        one(
            "synod_agent_tasks_done_total",
            "counter",
            "Step results this agent submitted and the chain accepted.",
            &self.tasks_done,
        );
        one(
            "synod_agent_tasks_failed_total",
            "counter",
            "Step attempts that failed (run, prove or submit); retried while the deadline allows.",
            &self.tasks_failed,
        );
        one(
            "synod_agent_proofs_total",
            "counter",
            "Proofs made.",
            &self.proofs,
        );
        one(
            "synod_agent_peers",
            "gauge",
            "Connected libp2p peers.",
            &self.peers,
        );
        one(
            "synod_agent_gossip_received_total",
            "counter",
            "Gossip messages accepted.",
            &self.gossip_received,
        );
        one(
            "synod_agent_gossip_rejected_total",
            "counter",
            "Gossip messages rejected (their forwarder scored down).",
            &self.gossip_rejected,
        );
        one(
            "synod_agent_payload_bytes_served_total",
            "counter",
            "Payload bytes sent to peers.",
            &self.payload_bytes_served,
        );
        one(
            "synod_agent_payload_bytes_fetched_total",
            "counter",
            "Payload bytes fetched from peers (hash checked).",
            &self.payload_bytes_fetched,
        );
        one(
            "synod_agent_payloads_refused_total",
            "counter",
            "Fetched payloads refused (hash mismatch, too large, absent).",
            &self.payloads_refused,
        );
        one(
            "synod_agent_chain_height",
            "gauge",
            "The last block height seen.",
            &self.chain_height,
        );
        one(
            "synod_agent_rpc_errors_total",
            "counter",
            "Failed calls to the node's RPC.",
            &self.rpc_errors,
        );
        self.proof_seconds.render(
            "synod_agent_proof_seconds",
            "Time to prove one step.",
            &mut out,
        );
        self.gossip_latency.render(
            "synod_agent_gossip_latency_seconds",
            "From a message's send time (sender's clock) to its receipt.",
            &mut out,
        );
        out
    }
}

/// Reads one value (`name value` line) from a text exposition.
pub fn value_of(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Serves `GET /metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await;
            let Ok(Ok(n)) = read else { return };
            let request = String::from_utf8_lossy(&buf[..n]);
            let (status, body) = if request.starts_with("GET /metrics") {
                ("200 OK", metrics.render())
            } else {
                ("404 Not Found", "only /metrics is served\n".to_string())
            };
            let reply = format!(
                "HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(reply.as_bytes()).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_carries_counts_and_histograms() {
        let m = Metrics::default();
        m.tasks_done.fetch_add(3, Ordering::Relaxed);
        m.gossip_latency.observe(Duration::from_millis(20));
        m.gossip_latency.observe(Duration::from_millis(200));
        let text = m.render();
        assert_eq!(value_of(&text, "synod_agent_tasks_done_total"), Some(3.0));
        assert!(text.contains("synod_agent_gossip_latency_seconds_bucket{le=\"0.025\"} 1\n"));
        assert!(text.contains("synod_agent_gossip_latency_seconds_bucket{le=\"0.25\"} 2\n"));
        assert_eq!(
            value_of(&text, "synod_agent_gossip_latency_seconds_count"),
            Some(2.0)
        );
    }
}
