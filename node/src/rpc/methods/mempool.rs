//! The mempool as the loop that owns it reports it: `unconfirmed_txs` and
//! `num_unconfirmed_txs`.

use serde_json::{json, Value};
use tokio::sync::oneshot;

use crate::{
    handle::{MempoolView, NodeQuery},
    rpc::{jsonrpc::RpcError, params::u64_param, server::Server},
};

impl Server {
    /// `unconfirmed_txs` (`list_txs`: with up to `limit` txs, default 30,
    /// at most 100) and `num_unconfirmed_txs` (counts only).
    pub(in crate::rpc) async fn unconfirmed_txs(
        &self,
        params: &Value,
        list_txs: bool,
    ) -> Result<Value, RpcError> {
        let limit = if list_txs {
            u64_param(params, "limit")?.unwrap_or(30).min(100) as usize
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
            "txs": if list_txs { json!(txs) } else { Value::Null },
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
