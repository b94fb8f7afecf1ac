//! Transactions: submitting them (`broadcast_tx_async`, `_sync`,
//! `_commit`) and finding them in blocks (`tx`, `tx_search`).

use std::{collections::BTreeMap, future::Future, time::Duration};

use serde_json::Value;
use tendermint::{abci, block, Hash};
use tendermint_rpc::endpoint;
use tokio::sync::{broadcast, oneshot};

use crate::{
    mempool::{tx_hash, MempoolError},
    rpc::{
        convert,
        jsonrpc::{to_json, RpcError},
        params::{hash_param, tx_param, u64_param},
        query,
        server::Server,
    },
};

/// Most heights `tx_search` scans when no condition is indexed.
const MAX_SEARCH_HEIGHTS: u64 = 100_000;

/// Most txs one `tx_search` may match before paging (CometBFT has no bound;
/// past this the caller must narrow the heights).
const MAX_SEARCH_MATCHES: usize = 100_000;

/// The first `key = 'value'` condition `tx_search` can answer from the
/// event index: any key but the ones every tx has (`tm.event`, `tx.height`,
/// `tx.hash`), with a value that has one text form.
fn indexed_condition(q: &tendermint_rpc::query::Query) -> Option<(&str, String)> {
    use tendermint_rpc::query::{Operand, Operation};
    q.conditions.iter().find_map(|c| {
        if matches!(c.key.as_str(), "tm.event" | "tx.height" | "tx.hash") {
            return None;
        }
        match &c.operation {
            Operation::Eq(Operand::String(s)) => Some((c.key.as_str(), s.clone())),
            Operation::Eq(Operand::Unsigned(n)) => Some((c.key.as_str(), n.to_string())),
            Operation::Eq(Operand::Signed(n)) => Some((c.key.as_str(), n.to_string())),
            _ => None,
        }
    })
}

/// How long `broadcast_tx_commit` waits for the tx to be in a block.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

impl Server {
    /// `broadcast_tx_sync` (`wait_for_check`: answers with CheckTx's verdict)
    /// and `broadcast_tx_async` (answers at once; the check goes on).
    pub(in crate::rpc) async fn broadcast_tx(
        &self,
        params: &Value,
        wait_for_check: bool,
    ) -> Result<Value, RpcError> {
        let tx = tx_param(params)?;
        let hash = Hash::Sha256(tx_hash(&tx));
        let verdict = self.submit(tx);
        let (code, log) = if wait_for_check {
            checked(verdict.await)?
        } else {
            tokio::spawn(async move {
                let _ = verdict.await;
            });
            (0, String::new())
        };
        to_json(endpoint::broadcast::tx_sync::Response {
            codespace: String::new(),
            code: code.into(),
            data: Default::default(),
            log,
            hash,
        })
    }

    /// `broadcast_tx_commit`: submits, then waits for the block that holds the tx.
    pub(in crate::rpc) async fn broadcast_tx_commit(
        &self,
        params: Value,
    ) -> Result<Value, RpcError> {
        let tx = tx_param(&params)?;
        let hash = tx_hash(&tx);
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
                        if let Some(i) = b.block.txs.iter().position(|t| tx_hash(t) == hash) {
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

    /// `tx`: a committed tx by hash, with its result.
    pub(in crate::rpc) fn tx(&self, params: &Value) -> Result<Value, RpcError> {
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
    pub(in crate::rpc) fn tx_search(&self, params: &Value) -> Result<Value, RpcError> {
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
        // Candidates as (height, index), in block order: by hash, by the
        // event index, or (only height bounds) every tx of the heights.
        let candidates: Vec<(u64, u32)> = if let Some(hash) = by_hash {
            self.ctx
                .store
                .tx_location(&hash)
                .map_err(RpcError::internal)?
                .into_iter()
                .collect()
        } else if lo > hi {
            Vec::new()
        } else if let Some((key, value)) = indexed_condition(&q) {
            let found = self
                .ctx
                .store
                .txs_with_event(key, &value, lo, hi, MAX_SEARCH_MATCHES + 1)
                .map_err(RpcError::internal)?;
            if found.len() > MAX_SEARCH_MATCHES {
                return Err(RpcError::invalid_params(format!(
                    "tx_search matched more than {MAX_SEARCH_MATCHES} txs on {key} = {value:?}: bound tx.height"
                )));
            }
            found
        } else {
            if hi - lo >= MAX_SEARCH_HEIGHTS {
                return Err(RpcError::invalid_params(format!(
                    "tx_search without an indexed condition (key = 'value') scans at most {MAX_SEARCH_HEIGHTS} heights: bound tx.height"
                )));
            }
            let mut all = Vec::new();
            for h in lo..=hi {
                let n = self.stored_block(h)?.txs.len() as u32;
                all.extend((0..n).map(|i| (h, i)));
            }
            all
        };
        // Every condition, on each candidate's height and events (the page's
        // txs are built in full only once the matches are counted).
        let needs_hash = q.conditions.iter().any(|c| c.key == "tx.hash");
        let mut results: Option<(u64, tendermint_proto::v0_38::abci::ResponseFinalizeBlock)> = None;
        let mut matched = Vec::new();
        for (h, i) in candidates {
            if results.as_ref().map(|(at, _)| *at) != Some(h) {
                let r = self
                    .ctx
                    .store
                    .results(h)
                    .map_err(RpcError::internal)?
                    .unwrap_or_default();
                results = Some((h, r));
            }
            let events = results
                .as_ref()
                .and_then(|(_, r)| r.tx_results.get(i as usize))
                .map(|r| r.events.as_slice())
                .unwrap_or_default();
            let mut attrs = BTreeMap::new();
            attrs.insert("tm.event".to_owned(), vec!["Tx".to_owned()]);
            attrs.insert("tx.height".to_owned(), vec![h.to_string()]);
            if needs_hash {
                let tx = self.tx_at(h, i)?;
                attrs.insert(
                    "tx.hash".to_owned(),
                    vec![hex::encode_upper(tx.hash.as_bytes())],
                );
            }
            convert::proto_event_attributes(events, &mut attrs);
            if query::matches(&q, &attrs) {
                matched.push((h, i));
            }
        }
        if descending {
            matched.reverse();
        }
        let total = matched.len();
        let txs = matched
            .into_iter()
            .skip((page - 1).saturating_mul(per_page))
            .take(per_page)
            .map(|(h, i)| self.tx_at(h, i))
            .collect::<Result<Vec<_>, _>>()?;
        to_json(endpoint::tx_search::Response {
            txs,
            total_count: total as u32,
        })
    }

    /// The `i`-th tx of block `h`, with its result.
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
            hash: Hash::Sha256(tx_hash(&tx)),
            height: convert::height(h).map_err(RpcError::internal)?,
            index: i,
            tx_result: abci::types::ExecTxResult::try_from(result).map_err(RpcError::internal)?,
            tx,
            proof: None,
        })
    }

    /// Submits `tx` to CheckTx; resolves with the verdict (`None`: the node is shutting down).
    pub(in crate::rpc) fn submit(
        &self,
        tx: Vec<u8>,
    ) -> impl Future<Output = Option<Result<[u8; 32], MempoolError>>> {
        let txs = self.ctx.txs.clone();
        async move {
            let (reply, verdict) = oneshot::channel();
            txs.send((tx, reply)).await.ok()?;
            verdict.await.ok()
        }
    }
}

/// The flattened events of a tx, as `Tx` subscriptions and `tx_search` see them.
pub(in crate::rpc) fn tx_attributes(tx: &endpoint::tx::Response) -> query::Attributes {
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

/// The mempool's verdict as (code, log); mempool-level refusals are errors.
fn checked(verdict: Option<Result<[u8; 32], MempoolError>>) -> Result<(u32, String), RpcError> {
    match verdict {
        None => Err(RpcError::internal("the node is shutting down")),
        Some(Ok(_)) => Ok((0, String::new())),
        Some(Err(MempoolError::Rejected { code, log, .. })) => Ok((code, log)),
        Some(Err(e)) => Err(RpcError::internal(e)),
    }
}
