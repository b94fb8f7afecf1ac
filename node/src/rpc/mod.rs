//! The CometBFT JSON-RPC subset that `tendermint-rpc` 0.40 clients use,
//! served from the node's block store, mempool and app: JSON-RPC 2.0 over
//! HTTP POST (single or batch), the URI form (`GET /block?height=5`), and
//! `/websocket` subscriptions to `NewBlock` and `Tx` events.
//!
//! Responses are built from tendermint-rs' own types, so they serialize
//! exactly as the clients expect.

mod convert;
pub mod query;
mod ws;

use std::{
    collections::BTreeMap, convert::Infallible, future::Future, net::SocketAddr, sync::Arc,
    time::Duration,
};

use hyper::{
    service::{make_service_fn, service_fn},
    Body, Method, Request, Response, StatusCode,
};
use malachitebft_app_channel::NetworkRequest;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tendermint::{abci, block, node, validator, Hash};
use tendermint_rpc::endpoint;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::{
    abci::AbciConnections,
    engine::{CommittedBlock, MempoolView, NodeError, NodeQuery, TxSubmission},
    mempool::MempoolError,
    store::BlockStore,
};

/// Largest request body accepted (a tx of the mempool's size limit, base64, fits).
const MAX_BODY_BYTES: usize = 8 << 20;
/// How long `broadcast_tx_commit` waits for the tx to be in a block.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);
/// Most blocks `blockchain` returns at once (as CometBFT).
const MAX_BLOCKCHAIN_RANGE: u64 = 20;

/// What the RPC server reads and writes through.
pub struct RpcContext {
    pub chain_id: String,
    pub moniker: String,
    /// The node's p2p identity (ed25519 public key).
    pub node_key: [u8; 32],
    pub listen_addr: String,
    /// The node's consensus public key.
    pub validator_key: [u8; 32],
    pub store: Arc<BlockStore>,
    pub abci: Arc<AbciConnections>,
    pub txs: mpsc::Sender<TxSubmission>,
    pub queries: mpsc::Sender<NodeQuery>,
    pub blocks: broadcast::Sender<Arc<CommittedBlock>>,
    pub net_requests: mpsc::Sender<NetworkRequest>,
    pub genesis_json: Option<String>,
}

/// The CometBFT node id of an ed25519 key: hex of the first 20 bytes of its SHA-256.
pub fn node_id(public_key: &[u8; 32]) -> String {
    hex::encode(&Sha256::digest(public_key)[..20])
}

struct Server {
    ctx: RpcContext,
    node_info: node::Info,
}

/// A JSON-RPC error: code, message and the detail CometBFT puts in `data`.
#[derive(Debug)]
pub struct RpcError {
    code: i32,
    message: &'static str,
    data: String,
}

impl RpcError {
    fn invalid_params(data: impl std::fmt::Display) -> RpcError {
        RpcError {
            code: -32602,
            message: "Invalid params",
            data: data.to_string(),
        }
    }
    fn internal(data: impl std::fmt::Display) -> RpcError {
        RpcError {
            code: -32603,
            message: "Internal error",
            data: data.to_string(),
        }
    }
    fn no_method(method: &str) -> RpcError {
        RpcError {
            code: -32601,
            message: "Method not found",
            data: format!("unknown method {method:?}; known: {}", METHODS.join(", ")),
        }
    }
    fn to_json(&self) -> Value {
        json!({"code": self.code, "message": self.message, "data": self.data})
    }
}

const METHODS: [&str; 20] = [
    "abci_info",
    "abci_query",
    "block",
    "block_results",
    "blockchain",
    "broadcast_tx_async",
    "broadcast_tx_commit",
    "broadcast_tx_sync",
    "genesis",
    "health",
    "net_info",
    "num_unconfirmed_txs",
    "status",
    "tx",
    "tx_search",
    "unconfirmed_txs",
    "validators",
    "subscribe",
    "unsubscribe",
    "unsubscribe_all",
];

/// Binds `at` and returns the bound address and the server to spawn.
pub async fn serve(
    at: SocketAddr,
    ctx: RpcContext,
) -> Result<(SocketAddr, impl Future<Output = ()>), NodeError> {
    let rpc_err = |reason: String| NodeError::Rpc {
        address: at.to_string(),
        reason,
    };
    let listener = std::net::TcpListener::bind(at).map_err(|e| rpc_err(e.to_string()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| rpc_err(e.to_string()))?;
    let bound = listener.local_addr().map_err(|e| rpc_err(e.to_string()))?;
    let node_info: node::Info = serde_json::from_value(json!({
        "protocol_version": {"p2p": "8", "block": "11", "app": "0"},
        "id": node_id(&ctx.node_key),
        "listen_addr": ctx.listen_addr,
        "network": ctx.chain_id,
        "version": concat!("0.38.0+synod-node-", env!("CARGO_PKG_VERSION")),
        "channels": "40202122233038606100",
        "moniker": ctx.moniker,
        "other": {"tx_index": "on", "rpc_address": format!("tcp://{bound}")},
    }))
    .map_err(|e| rpc_err(format!("node info: {e}")))?;
    let server = Arc::new(Server { ctx, node_info });
    let http = hyper::Server::from_tcp(listener)
        .map_err(|e| rpc_err(e.to_string()))?
        .serve(make_service_fn(move |_| {
            let server = server.clone();
            async move {
                Ok::<_, Infallible>(service_fn(move |req| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(server.http(req).await) }
                }))
            }
        }));
    Ok((bound, async move {
        if let Err(e) = http.await {
            tracing::error!(error = %e, "RPC server stopped");
        }
    }))
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

fn reply(id: &Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(r) => json!({"jsonrpc": "2.0", "id": id, "result": r}),
        Err(e) => json!({"jsonrpc": "2.0", "id": id, "error": e.to_json()}),
    }
}

async fn read_body(body: Body) -> Result<Vec<u8>, String> {
    use hyper::body::HttpBody;
    let mut body = body;
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        if out.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(format!(
                "request body is larger than {MAX_BODY_BYTES} bytes"
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

impl Server {
    async fn http(self: Arc<Self>, req: Request<Body>) -> Response<Body> {
        let path = req.uri().path().trim_end_matches('/').to_owned();
        if path == "/websocket" {
            return ws::upgrade(self, req);
        }
        match *req.method() {
            Method::POST => {
                let bytes = match read_body(req.into_body()).await {
                    Ok(b) => b,
                    Err(e) => {
                        let err = RpcError {
                            code: -32600,
                            message: "Invalid request",
                            data: e,
                        };
                        return json_response(StatusCode::OK, &reply(&Value::Null, Err(err)));
                    }
                };
                let parsed: Value = match serde_json::from_slice(&bytes) {
                    Ok(v) => v,
                    Err(e) => {
                        let err = RpcError {
                            code: -32700,
                            message: "Parse error",
                            data: e.to_string(),
                        };
                        return json_response(StatusCode::OK, &reply(&Value::Null, Err(err)));
                    }
                };
                let answer = match parsed {
                    Value::Array(calls) => {
                        let mut out = Vec::with_capacity(calls.len());
                        for call in calls {
                            out.push(self.call(call).await);
                        }
                        Value::Array(out)
                    }
                    call => self.call(call).await,
                };
                json_response(StatusCode::OK, &answer)
            }
            Method::GET if path.is_empty() => {
                let list: Vec<String> = METHODS.iter().map(|m| format!("/{m}")).collect();
                json_response(StatusCode::OK, &json!({ "methods": list }))
            }
            Method::GET => {
                // URI form: /method?key=value&... with CometBFT's quoting.
                let method = path.trim_start_matches('/').to_owned();
                let mut params = serde_json::Map::new();
                for pair in req.uri().query().unwrap_or("").split('&') {
                    if let Some((k, v)) = pair.split_once('=') {
                        let v = percent_decode(v);
                        let v = v.trim_matches('"').to_owned();
                        params.insert(k.to_owned(), Value::String(v));
                    }
                }
                let id = json!(-1);
                let result = self.dispatch(&method, Value::Object(params)).await;
                json_response(StatusCode::OK, &reply(&id, result))
            }
            _ => json_response(
                StatusCode::METHOD_NOT_ALLOWED,
                &json!({"error": "use POST for JSON-RPC or GET for the URI form"}),
            ),
        }
    }

    async fn call(&self, call: Value) -> Value {
        let id = call.get("id").cloned().unwrap_or(Value::Null);
        let Some(method) = call.get("method").and_then(Value::as_str) else {
            let err = RpcError {
                code: -32600,
                message: "Invalid request",
                data: "a JSON-RPC call needs a \"method\" string".into(),
            };
            return reply(&id, Err(err));
        };
        let params = call.get("params").cloned().unwrap_or(Value::Null);
        reply(&id, self.dispatch(method, params).await)
    }

    pub(crate) async fn dispatch(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let params = match params {
            Value::Null => json!({}),
            Value::Array(a) if a.is_empty() => json!({}),
            Value::Object(o) => Value::Object(o),
            other => {
                return Err(RpcError::invalid_params(format!(
                    "params must be an object of named parameters, got {other}"
                )))
            }
        };
        tracing::debug!(method, "rpc call");
        match method {
            "health" => Ok(json!({})),
            "status" => to_json(self.status()?),
            "abci_info" => {
                let info = self.ctx.abci.info().await.map_err(RpcError::internal)?;
                let response = abci::response::Info::try_from(info).map_err(RpcError::internal)?;
                to_json(endpoint::abci_info::Response { response })
            }
            "abci_query" => self.abci_query(params).await,
            "broadcast_tx_async" | "broadcast_tx_sync" => {
                let tx = tx_param(&params)?;
                let hash = Hash::Sha256(crate::mempool::tx_hash(&tx));
                let verdict = self.submit(tx);
                let (code, log) = if method == "broadcast_tx_async" {
                    tokio::spawn(async move {
                        let _ = verdict.await;
                    });
                    (0, String::new())
                } else {
                    checked(verdict.await)?
                };
                to_json(endpoint::broadcast::tx_sync::Response {
                    codespace: String::new(),
                    code: code.into(),
                    data: Default::default(),
                    log,
                    hash,
                })
            }
            "broadcast_tx_commit" => self.broadcast_tx_commit(params).await,
            "block" => {
                let h = self.height_param(&params, "height")?;
                let b = self.stored_block(h)?;
                to_json(endpoint::block::Response {
                    block_id: convert::block_id(b.hash()),
                    block: convert::block(&self.ctx.store, &self.ctx.chain_id, &b)
                        .map_err(RpcError::internal)?,
                })
            }
            "block_results" => {
                let h = self.height_param(&params, "height")?;
                let r = self
                    .ctx
                    .store
                    .results(h)
                    .map_err(RpcError::internal)?
                    .ok_or_else(|| {
                        RpcError::internal(format!("no results for height {h}: not executed yet"))
                    })?;
                let fb = convert::finalize_block(&r).map_err(RpcError::internal)?;
                to_json(endpoint::block_results::Response {
                    height: convert::height(h).map_err(RpcError::internal)?,
                    txs_results: Some(fb.tx_results),
                    finalize_block_events: fb.events,
                    begin_block_events: None,
                    end_block_events: None,
                    validator_updates: fb.validator_updates,
                    consensus_param_updates: fb.consensus_param_updates,
                    app_hash: fb.app_hash,
                })
            }
            "blockchain" => self.blockchain(&params),
            "tx" => self.tx(&params),
            "tx_search" => self.tx_search(&params),
            "validators" => self.validators(&params),
            "net_info" => self.net_info().await,
            "genesis" => {
                let text = self.ctx.genesis_json.as_deref().ok_or_else(|| {
                    RpcError::internal("this node was started without a genesis document")
                })?;
                let genesis: Value = serde_json::from_str(text).map_err(RpcError::internal)?;
                Ok(json!({ "genesis": genesis }))
            }
            "unconfirmed_txs" | "num_unconfirmed_txs" => {
                let limit = if method == "unconfirmed_txs" {
                    u64_param(&params, "limit")?.unwrap_or(30).min(100) as usize
                } else {
                    0
                };
                let view = self.mempool(limit).await?;
                use base64::Engine;
                let txs: Vec<String> = view
                    .txs
                    .iter()
                    .map(|t| base64::engine::general_purpose::STANDARD.encode(t))
                    .collect();
                Ok(json!({
                    "n_txs": view.txs.len().to_string(),
                    "total": view.count.to_string(),
                    "total_bytes": view.bytes.to_string(),
                    "txs": if method == "unconfirmed_txs" { json!(txs) } else { Value::Null },
                }))
            }
            "subscribe" | "unsubscribe" | "unsubscribe_all" => Err(RpcError::internal(
                "subscriptions need a websocket connection: connect to /websocket",
            )),
            other => Err(RpcError::no_method(other)),
        }
    }

    fn submit(&self, tx: Vec<u8>) -> impl Future<Output = Option<Result<[u8; 32], MempoolError>>> {
        let txs = self.ctx.txs.clone();
        async move {
            let (reply, verdict) = oneshot::channel();
            txs.send((tx, reply)).await.ok()?;
            verdict.await.ok()
        }
    }

    async fn mempool(&self, limit: usize) -> Result<MempoolView, RpcError> {
        let (reply, view) = oneshot::channel();
        self.ctx
            .queries
            .send(NodeQuery::Mempool { limit, reply })
            .await
            .map_err(|_| RpcError::internal("the node is shutting down"))?;
        view.await
            .map_err(|_| RpcError::internal("the node is shutting down"))
    }

    fn latest_height(&self) -> Result<u64, RpcError> {
        self.ctx.store.height().map_err(RpcError::internal)
    }

    /// A height parameter (a number or a numeric string); absent: the latest.
    fn height_param(&self, params: &Value, name: &str) -> Result<u64, RpcError> {
        let latest = self.latest_height()?;
        match u64_param(params, name)? {
            None | Some(0) => Ok(latest),
            Some(h) if h > latest => Err(RpcError::internal(format!(
                "height {h} must be less than or equal to the current blockchain height {latest}"
            ))),
            Some(h) => Ok(h),
        }
    }

    fn stored_block(&self, h: u64) -> Result<crate::block::DecidedBlock, RpcError> {
        self.ctx
            .store
            .block(h)
            .map_err(RpcError::internal)?
            .ok_or_else(|| RpcError::internal(format!("no block at height {h}")))
    }

    fn status(&self) -> Result<endpoint::status::Response, RpcError> {
        let store = &self.ctx.store;
        let h = self.latest_height()?;
        let edge = |h: u64| -> Result<(Hash, tendermint::AppHash, tendermint::Time), RpcError> {
            let Some(b) = store.block(h).map_err(RpcError::internal)? else {
                return Ok((
                    Hash::None,
                    tendermint::AppHash::default(),
                    tendermint::Time::unix_epoch(),
                ));
            };
            let app_hash = store
                .results(h)
                .map_err(RpcError::internal)?
                .map(|r| r.app_hash.to_vec())
                .unwrap_or_default();
            Ok((
                Hash::Sha256(b.hash()),
                tendermint::AppHash::try_from(app_hash).map_err(RpcError::internal)?,
                convert::time(b.time).map_err(RpcError::internal)?,
            ))
        };
        let earliest = self.earliest_height()?;
        let (eh, ea, et) = edge(earliest)?;
        let (lh, la, lt) = edge(h)?;
        let power = self
            .validator_set(h + 1)?
            .into_iter()
            .find(|(k, _)| *k == self.ctx.validator_key)
            .map_or(0, |(_, p)| p);
        let pub_key = tendermint::PublicKey::from_raw_ed25519(&self.ctx.validator_key)
            .ok_or_else(|| RpcError::internal("bad consensus key"))?;
        Ok(endpoint::status::Response {
            node_info: self.node_info.clone(),
            sync_info: endpoint::status::SyncInfo {
                earliest_block_hash: eh,
                earliest_app_hash: ea,
                earliest_block_height: convert::height(earliest).map_err(RpcError::internal)?,
                earliest_block_time: et,
                latest_block_hash: lh,
                latest_app_hash: la,
                latest_block_height: convert::height(h).map_err(RpcError::internal)?,
                latest_block_time: lt,
                catching_up: false,
            },
            validator_info: validator::Info::new(
                pub_key,
                power.try_into().map_err(RpcError::internal)?,
            ),
        })
    }

    fn earliest_height(&self) -> Result<u64, RpcError> {
        let h = self.latest_height()?;
        if h == 0 {
            return Ok(0);
        }
        // The first stored block (a chain may start above 1).
        let mut lo = 1;
        while lo < h
            && self
                .ctx
                .store
                .block(lo)
                .map_err(RpcError::internal)?
                .is_none()
        {
            lo += 1;
        }
        Ok(lo)
    }

    fn validator_set(&self, h: u64) -> Result<Vec<([u8; 32], u64)>, RpcError> {
        let store = &self.ctx.store;
        match store.validators_at(h).map_err(RpcError::internal)? {
            Some(set) => Ok(set),
            None => Ok(store
                .validators()
                .map_err(RpcError::internal)?
                .unwrap_or_default()),
        }
    }

    async fn abci_query(&self, params: Value) -> Result<Value, RpcError> {
        let path = params
            .get("path")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let data = match params.get("data").and_then(Value::as_str) {
            None | Some("") => Vec::new(),
            Some(s) => hex::decode(s.trim_start_matches("0x"))
                .map_err(|e| RpcError::invalid_params(format!("data must be hex: {e}")))?,
        };
        let height = u64_param(&params, "height")?.unwrap_or(0);
        let prove = match params.get("prove") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        };
        let r = self
            .ctx
            .abci
            .query(&path, data, height as i64, prove)
            .await
            .map_err(RpcError::internal)?;
        let proof = match r.proof_ops {
            Some(ops) => Some(
                tendermint::merkle::proof::ProofOps::try_from(ops).map_err(RpcError::internal)?,
            ),
            None => None,
        };
        to_json(endpoint::abci_query::Response {
            response: endpoint::abci_query::AbciQuery {
                code: r.code.into(),
                log: r.log,
                info: r.info,
                index: r.index,
                key: r.key.to_vec(),
                value: r.value.to_vec(),
                proof,
                height: block::Height::try_from(r.height.max(0)).map_err(RpcError::internal)?,
                codespace: r.codespace,
            },
        })
    }

    async fn broadcast_tx_commit(&self, params: Value) -> Result<Value, RpcError> {
        let tx = tx_param(&params)?;
        let hash = crate::mempool::tx_hash(&tx);
        // Listen before submitting, so the block cannot slip by unseen.
        let mut blocks = self.ctx.blocks.subscribe();
        let (code, log) = checked(self.submit(tx).await)?;
        let check_tx = abci::response::CheckTx {
            code: code.into(),
            log: log.clone(),
            ..Default::default()
        };
        if code != 0 {
            return to_json(endpoint::broadcast::tx_commit::Response {
                check_tx,
                tx_result: Default::default(),
                hash: Hash::Sha256(hash),
                height: block::Height::default(),
            });
        }
        let found = tokio::time::timeout(COMMIT_TIMEOUT, async {
            loop {
                match blocks.recv().await {
                    Ok(b) => {
                        if let Some(i) = b
                            .block
                            .txs
                            .iter()
                            .position(|t| crate::mempool::tx_hash(t) == hash)
                        {
                            return Ok((b.block.height, b.results.tx_results.get(i).cloned()));
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // Missed blocks: the tx index knows.
                        if let Ok(Some((h, i))) = self.ctx.store.tx_location(&hash) {
                            let r = self.ctx.store.results(h).ok().flatten();
                            return Ok((h, r.and_then(|r| r.tx_results.get(i as usize).cloned())));
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(RpcError::internal("the node is shutting down"))
                    }
                }
            }
        })
        .await
        .map_err(|_| {
            RpcError::internal(format!(
                "timed out after {COMMIT_TIMEOUT:?} waiting for tx {} to be included in a block",
                hex::encode_upper(hash)
            ))
        })??;
        let (h, result) = found;
        let tx_result = abci::types::ExecTxResult::try_from(result.unwrap_or_default())
            .map_err(RpcError::internal)?;
        to_json(endpoint::broadcast::tx_commit::Response {
            check_tx,
            tx_result,
            hash: Hash::Sha256(hash),
            height: convert::height(h).map_err(RpcError::internal)?,
        })
    }

    fn blockchain(&self, params: &Value) -> Result<Value, RpcError> {
        let latest = self.latest_height()?;
        let earliest = self.earliest_height()?;
        let max = u64_param(params, "maxHeight")?
            .filter(|h| *h > 0)
            .unwrap_or(latest)
            .min(latest);
        let min = u64_param(params, "minHeight")?
            .filter(|h| *h > 0)
            .unwrap_or(1)
            .max(earliest)
            .max(max.saturating_sub(MAX_BLOCKCHAIN_RANGE - 1));
        if min > max && latest > 0 {
            return Err(RpcError::invalid_params(format!(
                "min height {min} can't be greater than max height {max}"
            )));
        }
        let mut metas = Vec::new();
        for h in (min..=max).rev().filter(|h| *h > 0) {
            let b = self.stored_block(h)?;
            let header = convert::header(&self.ctx.store, &self.ctx.chain_id, &b)
                .map_err(RpcError::internal)?;
            metas.push(block::Meta {
                block_id: convert::block_id(b.hash()),
                block_size: b.encode().len() as i64,
                header,
                num_txs: b.txs.len() as i64,
            });
        }
        to_json(endpoint::blockchain::Response {
            last_height: convert::height(latest).map_err(RpcError::internal)?,
            block_metas: metas,
        })
    }

    fn tx_at(&self, h: u64, i: u32) -> Result<endpoint::tx::Response, RpcError> {
        let b = self.stored_block(h)?;
        let tx = b
            .txs
            .get(i as usize)
            .cloned()
            .ok_or_else(|| RpcError::internal(format!("block {h} has no tx {i}")))?;
        let result = self
            .ctx
            .store
            .results(h)
            .map_err(RpcError::internal)?
            .and_then(|r| r.tx_results.get(i as usize).cloned())
            .unwrap_or_default();
        Ok(endpoint::tx::Response {
            hash: Hash::Sha256(crate::mempool::tx_hash(&tx)),
            height: convert::height(h).map_err(RpcError::internal)?,
            index: i,
            tx_result: abci::types::ExecTxResult::try_from(result).map_err(RpcError::internal)?,
            tx,
            proof: None,
        })
    }

    fn tx(&self, params: &Value) -> Result<Value, RpcError> {
        let hash = hash_param(params)?;
        let (h, i) = self
            .ctx
            .store
            .tx_location(&hash)
            .map_err(RpcError::internal)?
            .ok_or_else(|| {
                RpcError::internal(format!("tx ({}) not found", hex::encode_upper(hash)))
            })?;
        to_json(self.tx_at(h, i)?)
    }

    /// `tx_search`: by `tx.hash`, or over a `tx.height` range, then filtered by
    /// the rest of the query against each tx's events.
    fn tx_search(&self, params: &Value) -> Result<Value, RpcError> {
        use tendermint_rpc::query::{Operand, Operation, Query};
        let text = params
            .get("query")
            .and_then(Value::as_str)
            .ok_or_else(|| RpcError::invalid_params("tx_search needs a \"query\""))?;
        let q: Query = text
            .parse()
            .map_err(|e| RpcError::invalid_params(format!("query {text:?}: {e}")))?;
        let page = u64_param(params, "page")?.unwrap_or(1).max(1) as usize;
        let per_page = u64_param(params, "per_page")?.unwrap_or(30).clamp(1, 100) as usize;
        let descending = params.get("order_by").and_then(Value::as_str) == Some("desc");
        let latest = self.latest_height()?;
        let (mut lo, mut hi) = (self.earliest_height()?.max(1), latest);
        let mut by_hash = None;
        let number = |o: &Operand| match o {
            Operand::Unsigned(n) => Some(*n),
            Operand::Signed(n) => u64::try_from(*n).ok(),
            Operand::String(s) => s.parse().ok(),
            _ => None,
        };
        for c in &q.conditions {
            match (c.key.as_str(), &c.operation) {
                ("tx.hash", Operation::Eq(Operand::String(s))) => {
                    let bytes = hex::decode(s).map_err(|e| {
                        RpcError::invalid_params(format!("tx.hash must be hex: {e}"))
                    })?;
                    by_hash = Some(<[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                        RpcError::invalid_params("tx.hash must be 32 bytes of hex")
                    })?);
                }
                ("tx.height", Operation::Eq(o)) => {
                    let n = number(o).unwrap_or(0);
                    lo = lo.max(n);
                    hi = hi.min(n);
                }
                ("tx.height", Operation::Gte(o)) => lo = lo.max(number(o).unwrap_or(0)),
                ("tx.height", Operation::Gt(o)) => lo = lo.max(number(o).unwrap_or(0) + 1),
                ("tx.height", Operation::Lte(o)) => hi = hi.min(number(o).unwrap_or(0)),
                ("tx.height", Operation::Lt(o)) => {
                    hi = hi.min(number(o).unwrap_or(0).saturating_sub(1))
                }
                _ => {}
            }
        }
        let mut found = Vec::new();
        let mut consider = |h: u64, i: u32| -> Result<(), RpcError> {
            let tx = self.tx_at(h, i)?;
            if query::matches(&q, &tx_attributes(&tx)) {
                found.push(tx);
            }
            Ok(())
        };
        if let Some(hash) = by_hash {
            if let Some((h, i)) = self
                .ctx
                .store
                .tx_location(&hash)
                .map_err(RpcError::internal)?
            {
                consider(h, i)?;
            }
        } else if lo <= hi {
            if hi - lo > 100_000 {
                return Err(RpcError::invalid_params(
                    "tx_search scans at most 100000 heights: bound tx.height",
                ));
            }
            for h in lo..=hi {
                let n = self.stored_block(h)?.txs.len() as u32;
                for i in 0..n {
                    consider(h, i)?;
                }
            }
        }
        if descending {
            found.reverse();
        }
        let total = found.len();
        let txs: Vec<_> = found
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        to_json(endpoint::tx_search::Response {
            txs,
            total_count: total as u32,
        })
    }

    fn validators(&self, params: &Value) -> Result<Value, RpcError> {
        let latest = self.latest_height()?;
        let h = match u64_param(params, "height")? {
            None | Some(0) => latest.max(1),
            Some(h) if h > latest + 1 => {
                return Err(RpcError::internal(format!(
                    "height {h} must be less than or equal to the next height {}",
                    latest + 1
                )))
            }
            Some(h) => h,
        };
        let set = self
            .ctx
            .store
            .validators_at(h)
            .map_err(RpcError::internal)?
            .ok_or_else(|| {
                RpcError::internal(format!("no validator set recorded for height {h}"))
            })?;
        let page = u64_param(params, "page")?.unwrap_or(1).max(1) as usize;
        let per_page = u64_param(params, "per_page")?.unwrap_or(30).clamp(1, 100) as usize;
        let mut all = Vec::new();
        for (k, p) in &set {
            let pk = tendermint::PublicKey::from_raw_ed25519(k)
                .ok_or_else(|| RpcError::internal("a stored validator key is not ed25519"))?;
            all.push(validator::Info::new(
                pk,
                (*p).try_into().map_err(RpcError::internal)?,
            ));
        }
        let total = all.len() as i32;
        let validators: Vec<_> = all
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        to_json(endpoint::validators::Response::new(
            convert::height(h).map_err(RpcError::internal)?,
            validators,
            total,
        ))
    }

    async fn net_info(&self) -> Result<Value, RpcError> {
        let dump = NetworkRequest::dump_state(&self.ctx.net_requests)
            .await
            .map_err(|e| RpcError::internal(format!("network: {e}")))?;
        let mut peers = Vec::new();
        for (peer_id, info) in dump.map(|d| d.peers).unwrap_or_default() {
            // An ed25519 PeerId embeds the key: its last 32 bytes.
            let bytes = peer_id.to_bytes();
            let key: [u8; 32] = match bytes.get(bytes.len().saturating_sub(32)..) {
                Some(k) if bytes.len() >= 32 => k.try_into().unwrap_or([0; 32]),
                _ => [0; 32],
            };
            let address = info.address.to_string();
            let parts: Vec<&str> = address.split('/').collect();
            let remote_ip = parts
                .windows(2)
                .find(|w| w[0] == "ip4" || w[0] == "ip6")
                .and_then(|w| w[1].parse().ok())
                .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
            let node_info: node::Info = serde_json::from_value(json!({
                "protocol_version": {"p2p": "8", "block": "11", "app": "0"},
                "id": node_id(&key),
                "listen_addr": info.address.to_string(),
                "network": self.ctx.chain_id,
                "version": "",
                "channels": "",
                "moniker": info.moniker,
                "other": {"tx_index": "on", "rpc_address": ""},
            }))
            .map_err(RpcError::internal)?;
            let monitor = endpoint::net_info::Monitor {
                active: true,
                start: tendermint::Time::unix_epoch(),
                duration: Duration::ZERO,
                idle: Duration::ZERO,
                bytes: 0,
                samples: 0,
                inst_rate: 0,
                cur_rate: 0,
                avg_rate: 0,
                peak_rate: 0,
                bytes_rem: 0,
                time_rem: 0,
                progress: 0,
            };
            peers.push(endpoint::net_info::PeerInfo {
                node_info,
                is_outbound: format!("{:?}", info.connection_direction).contains("Outbound"),
                connection_status: endpoint::net_info::ConnectionStatus {
                    duration: Duration::ZERO,
                    send_monitor: monitor.clone(),
                    recv_monitor: monitor,
                    channels: vec![],
                },
                remote_ip,
            });
        }
        Ok(json!({
            "listening": true,
            "listeners": [self.ctx.listen_addr],
            "n_peers": peers.len().to_string(),
            "peers": serde_json::to_value(&peers).map_err(RpcError::internal)?,
        }))
    }
}

/// The flattened events of a tx, as `Tx` subscriptions and `tx_search` see them.
pub(crate) fn tx_attributes(tx: &endpoint::tx::Response) -> query::Attributes {
    let mut out = BTreeMap::new();
    out.insert("tm.event".to_owned(), vec!["Tx".to_owned()]);
    out.insert(
        "tx.hash".to_owned(),
        vec![hex::encode_upper(tx.hash.as_bytes())],
    );
    out.insert("tx.height".to_owned(), vec![tx.height.value().to_string()]);
    convert::event_attributes(&tx.tx_result.events, &mut out);
    out
}

fn to_json(v: impl serde::Serialize) -> Result<Value, RpcError> {
    serde_json::to_value(v).map_err(RpcError::internal)
}

/// The mempool's verdict as (code, log); mempool-level refusals are errors.
fn checked(verdict: Option<Result<[u8; 32], MempoolError>>) -> Result<(u32, String), RpcError> {
    match verdict {
        None => Err(RpcError::internal("the node is shutting down")),
        Some(Ok(_)) => Ok((0, String::new())),
        Some(Err(MempoolError::Rejected { code, log, .. })) => Ok((code, log)),
        Some(Err(e)) => Err(RpcError::internal(e)),
    }
}

fn u64_param(params: &Value, name: &str) -> Result<Option<u64>, RpcError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| RpcError::invalid_params(format!("{name} must be a whole number"))),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| {
            RpcError::invalid_params(format!("{name} must be a whole number, got {s:?}"))
        }),
        Some(other) => Err(RpcError::invalid_params(format!(
            "{name} must be a whole number, got {other}"
        ))),
    }
}

/// The `tx` parameter: base64 in JSON-RPC, `0x`-hex in the URI form.
fn tx_param(params: &Value) -> Result<Vec<u8>, RpcError> {
    use base64::Engine;
    let s = params
        .get("tx")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("missing \"tx\" (base64 of the tx bytes)"))?;
    let tx = match s.strip_prefix("0x") {
        Some(h) => hex::decode(h).map_err(|e| RpcError::invalid_params(format!("tx: {e}")))?,
        None => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| RpcError::invalid_params(format!("tx must be base64: {e}")))?,
    };
    if tx.is_empty() {
        return Err(RpcError::invalid_params("tx is empty"));
    }
    Ok(tx)
}

/// The `hash` parameter of `tx`: base64 in JSON-RPC, `0x`-hex in the URI form.
fn hash_param(params: &Value) -> Result<[u8; 32], RpcError> {
    use base64::Engine;
    let s = params
        .get("hash")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("missing \"hash\""))?;
    let bytes = match s.strip_prefix("0x") {
        Some(h) => hex::decode(h).map_err(|e| RpcError::invalid_params(format!("hash: {e}")))?,
        None => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| RpcError::invalid_params(format!("hash must be base64: {e}")))?,
    };
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        RpcError::invalid_params(format!("hash must be 32 bytes, got {}", bytes.len()))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                match (
                    bytes.get(i + 1).and_then(|b| hex(*b)),
                    bytes.get(i + 2).and_then(|b| hex(*b)),
                ) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi * 16 + lo);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_parameters_are_percent_decoded() {
        assert_eq!(
            percent_decode("%22tm.event%3D%27Tx%27%22"),
            "\"tm.event='Tx'\""
        );
        assert_eq!(percent_decode("a+b%2"), "a b%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn numbers_come_as_numbers_or_strings_and_garbage_is_named() {
        let p = json!({"height": "12", "n": 3, "bad": "x"});
        assert_eq!(u64_param(&p, "height").unwrap(), Some(12));
        assert_eq!(u64_param(&p, "n").unwrap(), Some(3));
        assert_eq!(u64_param(&p, "missing").unwrap(), None);
        let e = u64_param(&p, "bad").unwrap_err();
        assert!(e.data.contains("bad"), "{}", e.data);
    }

    #[test]
    fn tx_and_hash_params_take_base64_or_hex() {
        assert_eq!(tx_param(&json!({"tx": "AQI="})).unwrap(), vec![1, 2]);
        assert_eq!(tx_param(&json!({"tx": "0x0102"})).unwrap(), vec![1, 2]);
        assert!(tx_param(&json!({"tx": "!!"})).is_err());
        assert!(tx_param(&json!({})).unwrap_err().data.contains("tx"));
        let h = format!("0x{}", "ab".repeat(32));
        assert_eq!(hash_param(&json!({ "hash": h })).unwrap(), [0xab; 32]);
        assert!(hash_param(&json!({"hash": "0xabcd"}))
            .unwrap_err()
            .data
            .contains("32 bytes"));
    }
}
