//! The app's own answers: `abci_info`, `abci_query` and `check_tx`.

use serde_json::{json, Value};

use crate::{
    abci::CheckTxKind,
    rpc::{
        cometbft::abci,
        jsonrpc::RpcError,
        params::{required_tx, Params},
        server::Server,
    },
};

impl Server {
    /// `abci_info`: the app's `Info` answer.
    pub(in crate::rpc) async fn abci_info(&self) -> Result<Value, RpcError> {
        let info = self.ctx.abci.info().await.map_err(RpcError::internal)?;
        Ok(json!({ "response": abci::info(&info) }))
    }

    /// `abci_query`: `path` and hex `data` to the app's `Query`, at `height`
    /// (0 or absent: the latest), with a proof if `prove`.
    pub(in crate::rpc) async fn abci_query(&self, params: &Params) -> Result<Value, RpcError> {
        let path = params.string("path")?.unwrap_or_default();
        let data = params.hex_bytes("data")?.unwrap_or_default();
        let height = params.int("height")?.unwrap_or(0);
        if height < 0 {
            return Err(RpcError::invalid_params(format!(
                "height must be non-negative, got {height}"
            )));
        }
        let prove = params.bool("prove")?;
        let r = self
            .ctx
            .abci
            .query(&path, data, height, prove)
            .await
            .map_err(RpcError::internal)?;
        Ok(json!({ "response": abci::query(&r) }))
    }

    /// `check_tx`: the app's CheckTx verdict on `tx`, asked on the mempool
    /// connection as a new tx; the tx is not added to the mempool.
    pub(in crate::rpc) async fn check_tx(&self, params: &Params) -> Result<Value, RpcError> {
        let tx = required_tx(params)?;
        let r = self
            .ctx
            .abci
            .check_tx(&tx, CheckTxKind::New)
            .await
            .map_err(RpcError::internal)?;
        Ok(abci::check_tx(&r))
    }
}
