//! The mempool as the loop that owns it reports it: `unconfirmed_txs` and
//! `num_unconfirmed_txs`.

use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::{DEFAULT_PER_PAGE, MAX_PER_PAGE};
use crate::{
    handle::{MempoolView, NodeQuery},
    rpc::{
        cometbft::json::{base64, int},
        jsonrpc::RpcError,
        params::Params,
        server::Server,
    },
};

impl Server {
    /// `unconfirmed_txs`: up to `limit` txs in reap order (30 by default,
    /// at most 100), with the mempool's count and size.
    pub(in crate::rpc) async fn unconfirmed_txs(&self, params: &Params) -> Result<Value, RpcError> {
        let limit = match params.int("limit")? {
            Some(n) if n >= 1 => (n as u64).min(MAX_PER_PAGE as u64) as usize,
            _ => DEFAULT_PER_PAGE,
        };
        let view = self.mempool(limit).await?;
        let txs: Vec<String> = view.txs.iter().map(|t| base64(t)).collect();
        Ok(json!({
            "n_txs": int(txs.len()),
            "total": int(view.count),
            "total_bytes": int(view.bytes),
            "txs": txs,
        }))
    }

    /// `num_unconfirmed_txs`: the mempool's count and size (`txs` is null).
    pub(in crate::rpc) async fn num_unconfirmed_txs(&self) -> Result<Value, RpcError> {
        let view = self.mempool(0).await?;
        Ok(json!({
            "n_txs": int(view.count),
            "total": int(view.count),
            "total_bytes": int(view.bytes),
            "txs": null,
        }))
    }

    /// Asks the consensus loop what the mempool holds.
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
}
