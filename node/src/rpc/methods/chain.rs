//! The chain as stored: `block`, `block_by_hash`, `header`,
//! `header_by_hash`, `commit`, `block_results` and `blockchain`, and the
//! height helpers the other methods share.

use serde_json::{json, Value};

use crate::{
    block::DecidedBlock,
    rpc::{
        cometbft::{
            abci,
            block::BlockId,
            json::{bytes_or_null, int},
        },
        convert,
        jsonrpc::RpcError,
        params::Params,
        server::Server,
    },
};

/// Most blocks `blockchain` returns at once (as CometBFT).
const MAX_BLOCKCHAIN_RANGE: u64 = 20;

impl Server {
    /// `block`: the block at `height` (absent: the latest).
    pub(in crate::rpc) fn block(&self, params: &Params) -> Result<Value, RpcError> {
        let h = self.height_up_to(params, self.latest_height()?)?;
        let b = self.ctx.store.block(h).map_err(RpcError::internal)?;
        self.block_answer(b.as_ref())
    }

    /// `block_by_hash`: the block with this hash (base64), or an empty answer.
    pub(in crate::rpc) fn block_by_hash(&self, params: &Params) -> Result<Value, RpcError> {
        let hash = params.bytes("hash")?.unwrap_or_default();
        let b = self.block_with_hash(&hash)?;
        self.block_answer(b.as_ref())
    }

    /// `header`: the header at `height` (absent: the latest).
    pub(in crate::rpc) fn header(&self, params: &Params) -> Result<Value, RpcError> {
        let h = self.height_up_to(params, self.latest_height()?)?;
        let b = self.ctx.store.block(h).map_err(RpcError::internal)?;
        self.header_answer(b.as_ref())
    }

    /// `header_by_hash`: the header of the block with this hash (hex).
    pub(in crate::rpc) fn header_by_hash(&self, params: &Params) -> Result<Value, RpcError> {
        let hash = params.hex_bytes("hash")?.unwrap_or_default();
        let b = self.block_with_hash(&hash)?;
        self.header_answer(b.as_ref())
    }

    /// `commit`: the header at `height` (absent: the latest) with the
    /// precommits that decided it; canonical once the next block records
    /// them, else the ones this node gathered.
    pub(in crate::rpc) fn commit(&self, params: &Params) -> Result<Value, RpcError> {
        let h = self.height_up_to(params, self.latest_height()?)?;
        let Some(b) = self.ctx.store.block(h).map_err(RpcError::internal)? else {
            return Ok(Value::Null);
        };
        let Some((commit, canonical)) =
            convert::commit(&self.ctx.store, h).map_err(RpcError::internal)?
        else {
            return Ok(Value::Null);
        };
        let header = convert::header(&b);
        Ok(json!({
            "signed_header": {"header": header.to_json(), "commit": commit.to_json()},
            "canonical": canonical,
        }))
    }

    /// `block_results`: what the app answered to the block's `FinalizeBlock`.
    pub(in crate::rpc) fn block_results(&self, params: &Params) -> Result<Value, RpcError> {
        let h = self.height_up_to(params, self.latest_height()?)?;
        let r = self
            .ctx
            .store
            .results(h)
            .map_err(RpcError::internal)?
            .ok_or_else(|| RpcError::internal(format!("could not find results for height #{h}")))?;
        let txs_results = if r.tx_results.is_empty() {
            Value::Null
        } else {
            Value::Array(r.tx_results.iter().map(abci::exec_tx_result).collect())
        };
        Ok(json!({
            "height": int(h),
            "txs_results": txs_results,
            "finalize_block_events": abci::events_or_null(&r.events),
            "validator_updates": abci::validator_updates(&r.validator_updates),
            "consensus_param_updates": r
                .consensus_param_updates
                .as_ref()
                .map(abci::consensus_params_update),
            "app_hash": bytes_or_null(&r.app_hash),
        }))
    }

    /// `blockchain`: the metas of up to 20 blocks between `minHeight` and
    /// `maxHeight`, newest first (CometBFT's `filterMinMax`).
    pub(in crate::rpc) fn blockchain(&self, params: &Params) -> Result<Value, RpcError> {
        let latest = self.latest_height()?;
        let base = self.earliest_height()?;
        let (min, max) = (
            params.int("minHeight")?.unwrap_or(0),
            params.int("maxHeight")?.unwrap_or(0),
        );
        if min < 0 || max < 0 {
            return Err(RpcError::internal("heights must be non-negative"));
        }
        let max = if max == 0 {
            latest
        } else {
            (max as u64).min(latest)
        };
        let min = (if min == 0 { 1 } else { min as u64 })
            .max(base)
            .max((max + 1).saturating_sub(MAX_BLOCKCHAIN_RANGE));
        if min > max {
            return Err(RpcError::internal(format!(
                "min height {min} can't be greater than max height {max}"
            )));
        }
        let mut metas = Vec::new();
        for h in (min..=max).rev() {
            let b = self.stored_block(h)?;
            let header = convert::header(&b);
            metas.push(json!({
                "block_id": convert::block_id(&self.ctx.store, &b).map_err(RpcError::internal)?.to_json(),
                "block_size": int(b.encode().len()),
                "header": header.to_json(),
                "num_txs": int(b.txs.len()),
            }));
        }
        Ok(json!({"last_height": int(latest), "block_metas": metas}))
    }

    /// `{"block_id", "block"}` of a block, or CometBFT's empty answer.
    fn block_answer(&self, b: Option<&DecidedBlock>) -> Result<Value, RpcError> {
        let Some(b) = b else {
            return Ok(json!({"block_id": BlockId::default().to_json(), "block": null}));
        };
        let id = convert::block_id(&self.ctx.store, b).map_err(RpcError::internal)?;
        Ok(json!({"block_id": id.to_json(), "block": convert::block(b).to_json()}))
    }

    /// `{"header"}` of a block, or `null` in it.
    fn header_answer(&self, b: Option<&DecidedBlock>) -> Result<Value, RpcError> {
        let header = match b {
            Some(b) => convert::header(b).to_json(),
            None => Value::Null,
        };
        Ok(json!({ "header": header }))
    }

    /// The stored block whose hash is `hash`, if any.
    fn block_with_hash(&self, hash: &[u8]) -> Result<Option<DecidedBlock>, RpcError> {
        let Ok(hash) = <[u8; 32]>::try_from(hash) else {
            return Ok(None);
        };
        let store = &self.ctx.store;
        let Some(h) = store.height_of_block(&hash).map_err(RpcError::internal)? else {
            return Ok(None);
        };
        let Some(b) = store.block(h).map_err(RpcError::internal)? else {
            return Ok(None);
        };
        let id = convert::block_id(store, &b).map_err(RpcError::internal)?;
        Ok((id.hash == hash).then_some(b))
    }

    /// The last committed height (0 before the first block).
    pub(in crate::rpc) fn latest_height(&self) -> Result<u64, RpcError> {
        self.ctx.store.height().map_err(RpcError::internal)
    }

    /// The `height` parameter as CometBFT's `getHeight` reads it: absent,
    /// `latest`; else it must be positive, at most `latest` and not below
    /// the first stored block.
    pub(in crate::rpc) fn height_up_to(
        &self,
        params: &Params,
        latest: u64,
    ) -> Result<u64, RpcError> {
        let Some(h) = params.int("height")? else {
            return Ok(latest);
        };
        if h <= 0 {
            return Err(RpcError::internal(format!(
                "height must be greater than 0, but got {h}"
            )));
        }
        let h = h as u64;
        if h > latest {
            return Err(RpcError::internal(format!(
                "height {h} must be less than or equal to the current blockchain height {latest}"
            )));
        }
        let base = self.earliest_height()?;
        if h < base {
            return Err(RpcError::internal(format!(
                "height {h} is not available, lowest height is {base}"
            )));
        }
        Ok(h)
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
        // The first stored block (a chain may start above 1): blocks are
        // stored without gaps from it to `h`, so a binary search finds it.
        let (mut lo, mut hi) = (1, h);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let stored = self
                .ctx
                .store
                .block(mid)
                .map_err(RpcError::internal)?
                .is_some();
            if stored {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(lo)
    }
}
