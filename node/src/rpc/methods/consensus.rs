//! What consensus runs with: `validators` and `consensus_params`.

use serde_json::{json, Value};

use super::Page;
use crate::rpc::{
    cometbft::{
        json::int,
        node::{consensus_params, default_consensus_params, validator},
    },
    jsonrpc::RpcError,
    params::Params,
    server::Server,
};

impl Server {
    /// `validators`: the set that signs `height` (absent: the next height),
    /// paginated, in CometBFT's order (power descending, then address; the
    /// order the node stores). Synod's engine picks proposers its own way,
    /// so every proposer priority reads 0.
    pub(in crate::rpc) fn validators(&self, params: &Params) -> Result<Value, RpcError> {
        let next = self.latest_height()? + 1;
        let h = self.height_up_to(params, next)?;
        let set = self
            .ctx
            .store
            .validators_at(h)
            .map_err(RpcError::internal)?
            .ok_or_else(|| {
                RpcError::internal(format!("could not find validator set for height #{h}"))
            })?;
        let total = set.len();
        let page = Page::of(params, total)?.of_list(set);
        let validators: Vec<Value> = page
            .iter()
            .map(|(key, power)| {
                let address = synod_consensus_config::keys::key_hash(key);
                validator(&address, key, *power, 0)
            })
            .collect();
        Ok(json!({
            "block_height": int(h),
            "count": int(validators.len()),
            "total": int(total),
            "validators": validators,
        }))
    }

    /// `consensus_params`: the parameters in force at `height` (absent: the
    /// next height). synod-node runs with its genesis' parameters at every
    /// height (the Synod app never updates them).
    pub(in crate::rpc) fn consensus_params(&self, params: &Params) -> Result<Value, RpcError> {
        let next = self.latest_height()? + 1;
        let h = self.height_up_to(params, next)?;
        let p = self
            .ctx
            .consensus_params
            .clone()
            .unwrap_or_else(default_consensus_params);
        Ok(json!({"block_height": int(h), "consensus_params": consensus_params(&p)}))
    }

    /// The set recorded for `h`, else the latest saved one.
    pub(in crate::rpc) fn validator_set(&self, h: u64) -> Result<Vec<([u8; 32], u64)>, RpcError> {
        let store = &self.ctx.store;
        match store.validators_at(h).map_err(RpcError::internal)? {
            Some(set) => Ok(set),
            None => Ok(store
                .validators()
                .map_err(RpcError::internal)?
                .unwrap_or_default()),
        }
    }
}
