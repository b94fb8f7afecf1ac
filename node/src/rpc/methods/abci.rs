//! The app's own answers: `abci_info` and `abci_query`.

use serde_json::Value;
use tendermint::{abci, block};
use tendermint_rpc::endpoint;

use crate::rpc::{
    jsonrpc::{to_json, RpcError},
    params::u64_param,
    server::Server,
};

impl Server {
    /// `abci_info`: the app's `Info` answer.
    pub(in crate::rpc) async fn abci_info(&self) -> Result<Value, RpcError> {
        let info = self.ctx.abci.info().await.map_err(RpcError::internal)?;
        let response = abci::response::Info::try_from(info).map_err(RpcError::internal)?;
        to_json(endpoint::abci_info::Response { response })
    }

    /// `abci_query`: `path` and hex `data` to the app's `Query`, with a proof if `prove`.
    pub(in crate::rpc) async fn abci_query(&self, params: Value) -> Result<Value, RpcError> {
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
        // The app reads the height as a non-negative i64 (0: the latest).
        let height = u64_param(&params, "height")?.unwrap_or(0);
        let height = i64::try_from(height).map_err(|_| {
            RpcError::invalid_params(format!(
                "height {height} is above the largest height {}",
                i64::MAX
            ))
        })?;
        let prove = match params.get("prove") {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s == "true",
            _ => false,
        };
        let r = self
            .ctx
            .abci
            .query(&path, data, height, prove)
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
}
