//! Searches by event query: `tx_search` (txs, from the tx index and the
//! event index) and `block_search` (blocks, by height and their
//! FinalizeBlock events, scanning a bounded range of heights).

use std::collections::BTreeMap;

use serde_json::{json, Value};
use tendermint_rpc::query::{Operand, Operation, Query};

use super::Page;
use crate::rpc::{
    cometbft::json::int, convert, jsonrpc::RpcError, params::Params, query, server::Server,
};

/// Most heights a search scans when no condition is indexed.
const MAX_SEARCH_HEIGHTS: u64 = 100_000;

/// Most txs one `tx_search` may match before paging (CometBFT has no bound;
/// past this the caller must narrow the heights).
const MAX_SEARCH_MATCHES: usize = 100_000;

/// Longest query accepted (CometBFT's `maxQueryLength`).
const MAX_QUERY_LENGTH: usize = 512;

/// The order results come in: by height (and index), as `order_by` asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    Ascending,
    Descending,
}

/// `order_by`: `asc`, `desc` or empty (then `default`).
fn order(params: &Params, default: Order) -> Result<Order, RpcError> {
    match params.string("order_by")?.as_deref() {
        None | Some("") => Ok(default),
        Some("asc") => Ok(Order::Ascending),
        Some("desc") => Ok(Order::Descending),
        Some(_) => Err(RpcError::internal(
            "expected order_by to be either `asc` or `desc` or empty",
        )),
    }
}

/// The `query` parameter, parsed.
fn query_param(params: &Params) -> Result<Query, RpcError> {
    let text = params.string("query")?.unwrap_or_default();
    if text.len() > MAX_QUERY_LENGTH {
        return Err(RpcError::internal("maximum query length exceeded"));
    }
    text.parse()
        .map_err(|e| RpcError::internal(format!("query {text:?}: {e}")))
}

/// A query operand as a whole number, if it is one.
fn number(o: &Operand) -> Option<u64> {
    match o {
        Operand::Unsigned(n) => Some(*n),
        Operand::Signed(n) => u64::try_from(*n).ok(),
        Operand::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// Narrows `lo..=hi` by the query's conditions on `key` (a height).
fn height_bounds(q: &Query, key: &str, lo: &mut u64, hi: &mut u64) {
    for c in q.conditions.iter().filter(|c| c.key == key) {
        match &c.operation {
            Operation::Eq(o) => {
                let n = number(o).unwrap_or(0);
                *lo = (*lo).max(n);
                *hi = (*hi).min(n);
            }
            Operation::Gte(o) => *lo = (*lo).max(number(o).unwrap_or(0)),
            Operation::Gt(o) => *lo = (*lo).max(number(o).unwrap_or(0).saturating_add(1)),
            Operation::Lte(o) => *hi = (*hi).min(number(o).unwrap_or(0)),
            Operation::Lt(o) => *hi = (*hi).min(number(o).unwrap_or(0).saturating_sub(1)),
            _ => {}
        }
    }
}

/// The first `key = 'value'` condition `tx_search` can answer from the
/// event index: any key but the ones every tx has (`tm.event`, `tx.height`,
/// `tx.hash`), with a value that has one text form.
fn indexed_condition(q: &Query) -> Option<(&str, String)> {
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

impl Server {
    /// `tx_search`: by `tx.hash`, from the event index, or over a
    /// `tx.height` range, then filtered by the rest of the query against
    /// each tx's events; paged, oldest first unless `order_by` is `desc`.
    pub(in crate::rpc) fn tx_search(&self, params: &Params) -> Result<Value, RpcError> {
        let q = query_param(params)?;
        let prove = params.bool("prove")?;
        let order = order(params, Order::Ascending)?;
        let (mut lo, mut hi) = (self.earliest_height()?.max(1), self.latest_height()?);
        height_bounds(&q, "tx.height", &mut lo, &mut hi);
        let mut by_hash = None;
        for c in &q.conditions {
            if let ("tx.hash", Operation::Eq(Operand::String(s))) = (c.key.as_str(), &c.operation) {
                let bytes = hex::decode(s)
                    .map_err(|e| RpcError::internal(format!("tx.hash must be hex: {e}")))?;
                by_hash = Some(
                    <[u8; 32]>::try_from(bytes.as_slice())
                        .map_err(|_| RpcError::internal("tx.hash must be 32 bytes of hex"))?,
                );
            }
        }
        // Candidates as (height, index), in block order: by hash, by the
        // event index, or (only height bounds) every tx of the heights.
        let store = &self.ctx.store;
        let candidates: Vec<(u64, u32)> = if let Some(hash) = by_hash {
            store
                .tx_location(&hash)
                .map_err(RpcError::internal)?
                .into_iter()
                .collect()
        } else if lo > hi {
            Vec::new()
        } else if let Some((key, value)) = indexed_condition(&q) {
            let found = store
                .txs_with_event(key, &value, lo, hi, MAX_SEARCH_MATCHES + 1)
                .map_err(RpcError::internal)?;
            if found.len() > MAX_SEARCH_MATCHES {
                return Err(RpcError::internal(format!(
                    "tx_search matched more than {MAX_SEARCH_MATCHES} txs on {key} = {value:?}: bound tx.height"
                )));
            }
            found
        } else {
            if hi - lo >= MAX_SEARCH_HEIGHTS {
                return Err(RpcError::internal(format!(
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
        // Every condition, on each candidate's height and events (the
        // page's txs are built in full only once the matches are counted).
        let needs_hash = q.conditions.iter().any(|c| c.key == "tx.hash");
        let mut results: Option<(u64, tendermint_proto::v0_38::abci::ResponseFinalizeBlock)> = None;
        let mut matched = Vec::new();
        for (h, i) in candidates {
            if results.as_ref().map(|(at, _)| *at) != Some(h) {
                let r = store
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
                let b = self.stored_block(h)?;
                if let Some(tx) = b.txs.get(i as usize) {
                    let hash = crate::mempool::tx_hash(tx);
                    attrs.insert("tx.hash".to_owned(), vec![hex::encode_upper(hash)]);
                }
            }
            convert::event_attributes(events, &mut attrs);
            if query::matches(&q, &attrs) {
                matched.push((h, i));
            }
        }
        if order == Order::Descending {
            matched.reverse();
        }
        let total = matched.len();
        let txs = Page::of(params, total)?
            .of_list(matched)
            .into_iter()
            .map(|(h, i)| self.tx_at(h, i, prove))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json!({"txs": txs, "total_count": int(total)}))
    }

    /// `block_search`: blocks whose height and FinalizeBlock events match
    /// the query (`block.height` bounds the scan, at most 100,000 heights),
    /// paged, newest first unless `order_by` is `asc`.
    pub(in crate::rpc) fn block_search(&self, params: &Params) -> Result<Value, RpcError> {
        let q = query_param(params)?;
        let order = order(params, Order::Descending)?;
        let (mut lo, mut hi) = (self.earliest_height()?.max(1), self.latest_height()?);
        height_bounds(&q, "block.height", &mut lo, &mut hi);
        let mut matched = Vec::new();
        if lo <= hi {
            if hi - lo >= MAX_SEARCH_HEIGHTS {
                return Err(RpcError::internal(format!(
                    "block_search scans at most {MAX_SEARCH_HEIGHTS} heights: bound block.height"
                )));
            }
            for h in lo..=hi {
                let events = self
                    .ctx
                    .store
                    .results(h)
                    .map_err(RpcError::internal)?
                    .map(|r| r.events)
                    .unwrap_or_default();
                let mut attrs = BTreeMap::new();
                attrs.insert("tm.event".to_owned(), vec!["NewBlock".to_owned()]);
                attrs.insert("block.height".to_owned(), vec![h.to_string()]);
                convert::event_attributes(&events, &mut attrs);
                if query::matches(&q, &attrs) {
                    matched.push(h);
                }
            }
        }
        if order == Order::Descending {
            matched.reverse();
        }
        let total = matched.len();
        let mut blocks = Vec::new();
        for h in Page::of(params, total)?.of_list(matched) {
            let b = self.stored_block(h)?;
            blocks.push(json!({
                "block_id": convert::block_id(&self.ctx.store, &b).map_err(RpcError::internal)?.to_json(),
                "block": convert::block(&b).to_json(),
            }));
        }
        Ok(json!({"blocks": blocks, "total_count": int(total)}))
    }
}
