//! Prometheus metrics: the node's own (`synod_node_*`: height, round, block
//! interval, txs per block, mempool size, peers) next to Malachite's
//! consensus metrics, all labelled with the node's moniker and served as
//! text on `GET /metrics`.

use std::{convert::Infallible, future::Future, net::SocketAddr};

use hyper::{
    service::{make_service_fn, service_fn},
    Body, Response, StatusCode,
};
use malachitebft_app_channel::{
    app::metrics::{
        export,
        prometheus::metrics::{
            counter::Counter,
            gauge::Gauge,
            histogram::{exponential_buckets, Histogram},
        },
        SharedRegistry,
    },
    NetworkRequest,
};
use tokio::sync::mpsc;

use crate::handle::{NodeError, ServeError};

/// The node's metrics; cheap to clone (handles to shared atomics).
#[derive(Clone, Debug)]
pub struct NodeMetrics {
    pub height: Gauge,
    pub round: Gauge,
    pub block_interval_seconds: Histogram,
    pub txs_per_block: Histogram,
    pub committed_txs: Counter,
    pub mempool_txs: Gauge,
    pub mempool_bytes: Gauge,
    pub peers: Gauge,
}

impl NodeMetrics {
    /// Registers the metrics in the process-wide registry under `moniker`.
    pub fn register(moniker: &str) -> NodeMetrics {
        let m = NodeMetrics {
            height: Gauge::default(),
            round: Gauge::default(),
            block_interval_seconds: Histogram::new(exponential_buckets(0.05, 2.0, 10)),
            txs_per_block: Histogram::new(exponential_buckets(1.0, 4.0, 9)),
            committed_txs: Counter::default(),
            mempool_txs: Gauge::default(),
            mempool_bytes: Gauge::default(),
            peers: Gauge::default(),
        };
        SharedRegistry::global()
            .with_moniker(moniker)
            .with_prefix("synod_node", |r| {
                r.register("height", "Last committed height", m.height.clone());
                r.register("round", "Round of the height in progress", m.round.clone());
                r.register(
                    "block_interval_seconds",
                    "Header time between consecutive blocks",
                    m.block_interval_seconds.clone(),
                );
                r.register(
                    "txs_per_block",
                    "Transactions in each committed block",
                    m.txs_per_block.clone(),
                );
                r.register(
                    "committed_txs",
                    "Transactions committed since start",
                    m.committed_txs.clone(),
                );
                r.register(
                    "mempool_txs",
                    "Transactions in the mempool",
                    m.mempool_txs.clone(),
                );
                r.register(
                    "mempool_bytes",
                    "Bytes of transactions in the mempool",
                    m.mempool_bytes.clone(),
                );
                r.register("peers", "Connected p2p peers", m.peers.clone());
            });
        m
    }
}

/// Binds `at` and returns the bound address and the server to spawn.
/// `net_requests` lets each scrape read the current peer count.
pub async fn serve(
    at: SocketAddr,
    metrics: NodeMetrics,
    net_requests: mpsc::Sender<NetworkRequest>,
) -> Result<(SocketAddr, impl Future<Output = ()>), NodeError> {
    let err = |source: ServeError| NodeError::Metrics {
        address: at,
        source,
    };
    let listener = std::net::TcpListener::bind(at).map_err(|e| err(e.into()))?;
    listener.set_nonblocking(true).map_err(|e| err(e.into()))?;
    let bound = listener.local_addr().map_err(|e| err(e.into()))?;
    let server = hyper::Server::from_tcp(listener)
        .map_err(|e| err(e.into()))?
        .serve(make_service_fn(move |_| {
            let metrics = metrics.clone();
            let net_requests = net_requests.clone();
            async move {
                Ok::<_, Infallible>(service_fn(move |req: hyper::Request<Body>| {
                    let metrics = metrics.clone();
                    let net_requests = net_requests.clone();
                    async move {
                        if req.uri().path() != "/metrics" {
                            return Ok::<_, Infallible>(
                                Response::builder()
                                    .status(StatusCode::NOT_FOUND)
                                    .body(Body::from("metrics are at /metrics\n"))
                                    .unwrap_or_default(),
                            );
                        }
                        if let Ok(Some(dump)) = NetworkRequest::dump_state(&net_requests).await {
                            metrics.peers.set(dump.peers.len() as i64);
                        }
                        let mut text = String::new();
                        export(&mut text);
                        Ok(Response::builder()
                            .header(
                                "content-type",
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            )
                            .body(Body::from(text))
                            .unwrap_or_default())
                    }
                }))
            }
        }));
    Ok((bound, async move {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "metrics server stopped");
        }
    }))
}
