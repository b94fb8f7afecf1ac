//! The chain as stored: `block`, `block_results`, `blockchain` and
//! `validators`, and the height helpers the other methods share.

use serde_json::Value;
use tendermint::{block, validator};
use tendermint_rpc::endpoint;

use crate::{
    block::DecidedBlock,
    rpc::{
        convert,
        jsonrpc::{to_json, RpcError},
        params::u64_param,
        server::Server,
    },
};

/// Most blocks `blockchain` returns at once (as CometBFT).
const MAX_BLOCKCHAIN_RANGE: u64 = 20;

impl Server {
    /// `block`: the block at `height` (absent: the latest).
    pub(in crate::rpc) fn block(&self, params: &Value) -> Result<Value, RpcError> {
        let h = self.height_param(params, "height")?;
        let b = self.stored_block(h)?;
        to_json(endpoint::block::Response {
            block_id: convert::block_id(b.hash()),
            block: convert::block(&self.ctx.store, &self.ctx.chain_id, &b)
                .map_err(RpcError::internal)?,
        })
    }

    /// `block_results`: what the app answered to the block's `FinalizeBlock`.
    pub(in crate::rpc) fn block_results(&self, params: &Value) -> Result<Value, RpcError> {
        let h = self.height_param(params, "height")?;
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

    /// `blockchain`: the metas of up to 20 blocks, newest first.
    pub(in crate::rpc) fn blockchain(&self, params: &Value) -> Result<Value, RpcError> {
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

    /// `validators`: the set of `height` (absent: the latest), paginated.
    pub(in crate::rpc) fn validators(&self, params: &Value) -> Result<Value, RpcError> {
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

    /// The last committed height (0 before the first block).
    pub(in crate::rpc) fn latest_height(&self) -> Result<u64, RpcError> {
        self.ctx.store.height().map_err(RpcError::internal)
    }

    /// A height parameter (a number or a numeric string); absent: the latest.
    pub(in crate::rpc) fn height_param(&self, params: &Value, name: &str) -> Result<u64, RpcError> {
        let latest = self.latest_height()?;
        match u64_param(params, name)? {
            None | Some(0) => Ok(latest),
            Some(h) if h > latest => Err(RpcError::internal(format!(
                "height {h} must be less than or equal to the current blockchain height {latest}"
            ))),
            Some(h) => Ok(h),
        }
    }

    /// The block at `h`, or an error naming the height.
    pub(in crate::rpc) fn stored_block(&self, h: u64) -> Result<DecidedBlock, RpcError> {
        self.ctx
            .store
            .block(h)
            .map_err(RpcError::internal)?
            .ok_or_else(|| RpcError::internal(format!("no block at height {h}")))
    }

    /// The first stored height (0 before the first block).
    pub(in crate::rpc) fn earliest_height(&self) -> Result<u64, RpcError> {
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
