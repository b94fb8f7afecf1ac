//! From a method name and its parameters to the handler that answers it:
//! one `match` over every method this node serves (the handlers are in
//! `methods/`, one file per group).

use std::sync::Arc;

use serde_json::{json, Value};

use super::{
    jsonrpc::{to_json, RpcError},
    server::Server,
};

/// Every method served, as `GET /` lists them.
pub(super) const METHODS: [&str; 21] = [
    "abci_info",
    "abci_query",
    "block",
    "block_results",
    "blockchain",
    "broadcast_tx_async",
    "broadcast_tx_commit",
    "broadcast_tx_sync",
    "consensus_timeouts",
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

impl Server {
    /// Answers `method` with `params` (named parameters: an object; absent,
    /// null or `[]` mean none).
    pub(super) async fn dispatch(
        self: &Arc<Self>,
        method: &str,
        params: Value,
    ) -> Result<Value, RpcError> {
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
            "abci_info" => self.abci_info().await,
            "abci_query" => self.abci_query(params).await,
            "broadcast_tx_async" => self.broadcast_tx(&params, false).await,
            "broadcast_tx_sync" => self.broadcast_tx(&params, true).await,
            "broadcast_tx_commit" => self.broadcast_tx_commit(params).await,
            // Methods that read the block store run on the blocking pool, so
            // a slow one never holds up the runtime consensus shares.
            "block" => self.blocking(move |s| s.block(&params)).await,
            "block_results" => self.blocking(move |s| s.block_results(&params)).await,
            "blockchain" => self.blocking(move |s| s.blockchain(&params)).await,
            "tx" => self.blocking(move |s| s.tx(&params)).await,
            "tx_search" => self.blocking(move |s| s.tx_search(&params)).await,
            "validators" => self.blocking(move |s| s.validators(&params)).await,
            "net_info" => self.net_info().await,
            "genesis" => self.genesis(),
            "consensus_timeouts" => self.consensus_timeouts(),
            "unconfirmed_txs" => self.unconfirmed_txs(&params, true).await,
            "num_unconfirmed_txs" => self.unconfirmed_txs(&params, false).await,
            "subscribe" | "unsubscribe" | "unsubscribe_all" => Err(RpcError::internal(
                "subscriptions need a websocket connection: connect to /websocket",
            )),
            other => Err(RpcError::no_method(other, &METHODS)),
        }
    }

    /// Runs a handler that reads the store on tokio's blocking pool.
    async fn blocking(
        self: &Arc<Self>,
        f: impl FnOnce(&Server) -> Result<Value, RpcError> + Send + 'static,
    ) -> Result<Value, RpcError> {
        let server = Arc::clone(self);
        tokio::task::spawn_blocking(move || f(&server))
            .await
            .map_err(|e| RpcError::internal(format!("the handler failed: {e}")))?
    }
}
