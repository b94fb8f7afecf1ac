//! From a method name and its parameters to the handler that answers it:
//! one `match` over every method this node serves (the handlers are in
//! `methods/`, one file per group).

use serde_json::{json, Value};

use super::{
    jsonrpc::{to_json, RpcError},
    server::Server,
};

/// Every method served, as `GET /` lists them.
pub(super) const METHODS: [&str; 20] = [
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

impl Server {
    /// Answers `method` with `params` (named parameters: an object; absent,
    /// null or `[]` mean none).
    pub(super) async fn dispatch(&self, method: &str, params: Value) -> Result<Value, RpcError> {
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
            "block" => self.block(&params),
            "block_results" => self.block_results(&params),
            "blockchain" => self.blockchain(&params),
            "tx" => self.tx(&params),
            "tx_search" => self.tx_search(&params),
            "validators" => self.validators(&params),
            "net_info" => self.net_info().await,
            "genesis" => self.genesis(),
            "unconfirmed_txs" => self.unconfirmed_txs(&params, true).await,
            "num_unconfirmed_txs" => self.unconfirmed_txs(&params, false).await,
            "subscribe" | "unsubscribe" | "unsubscribe_all" => Err(RpcError::internal(
                "subscriptions need a websocket connection: connect to /websocket",
            )),
            other => Err(RpcError::no_method(other, &METHODS)),
        }
    }
}
