//! Transactions: submitting them (`broadcast_tx_async`, `_sync`,
//! `_commit`) and finding one in its block (`tx`, with its inclusion proof).

use std::{collections::BTreeMap, future::Future, time::Duration};

use serde_json::{json, Map, Value};
use tendermint_proto::v0_38::abci as pb;
use tokio::sync::{broadcast, oneshot};

use crate::{
    mempool::{tx_hash, MempoolError},
    rpc::{
        cometbft::{
            abci,
            json::{base64, hex, int},
        },
        convert,
        jsonrpc::RpcError,
        merkle,
        params::{required_tx, Params},
        query,
        server::Server,
    },
};

/// How long `broadcast_tx_commit` waits for the tx to be in a block
/// (CometBFT's `timeout_broadcast_tx_commit` default is 10 s; blocks here
/// may take longer under load).
const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// The mempool's verdict on a tx: the app's CheckTx code, log and codespace.
struct Verdict {
    code: u32,
    log: String,
    codespace: String,
}

impl Server {
    /// `broadcast_tx_sync` (`wait_for_check`: answers with CheckTx's verdict)
    /// and `broadcast_tx_async` (answers at once; the check goes on).
    pub(in crate::rpc) async fn broadcast_tx(
        &self,
        params: &Params,
        wait_for_check: bool,
    ) -> Result<Value, RpcError> {
        let tx = required_tx(params)?;
        let hash = tx_hash(&tx);
        let verdict = self.submit(tx);
        let v = if wait_for_check {
            checked(verdict.await)?
        } else {
            tokio::spawn(async move {
                let _ = verdict.await;
            });
            Verdict {
                code: 0,
                log: String::new(),
                codespace: String::new(),
            }
        };
        Ok(json!({
            "code": v.code,
            "data": "",
            "log": v.log,
            "codespace": v.codespace,
            "hash": hex(&hash),
        }))
    }

    /// `broadcast_tx_commit`: submits, then waits for the block that holds the tx.
    pub(in crate::rpc) async fn broadcast_tx_commit(
        &self,
        params: &Params,
    ) -> Result<Value, RpcError> {
        let tx = required_tx(params)?;
        let hash = tx_hash(&tx);
        // Listen before submitting, so the block cannot slip by unseen.
        let mut blocks = self.ctx.blocks.subscribe();
        let v = checked(self.submit(tx).await)?;
        let check_tx = abci::check_tx(&pb::ResponseCheckTx {
            code: v.code,
            log: v.log,
            codespace: v.codespace,
            ..Default::default()
        });
        if v.code != 0 {
            return Ok(json!({
                "check_tx": check_tx,
                "tx_result": abci::exec_tx_result(&pb::ExecTxResult::default()),
                "hash": hex(&hash),
                "height": int(0),
            }));
        }
        let (h, result) = tokio::time::timeout(COMMIT_TIMEOUT, async {
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
                "timed out waiting for tx to be included in a block ({COMMIT_TIMEOUT:?}; tx {})",
                hex::encode_upper(hash)
            ))
        })??;
        Ok(json!({
            "check_tx": check_tx,
            "tx_result": abci::exec_tx_result(&result.unwrap_or_default()),
            "hash": hex(&hash),
            "height": int(h),
        }))
    }

    /// `tx`: a committed tx by hash (base64), with its result and, if
    /// `prove`, the proof that it is in its block's data hash.
    pub(in crate::rpc) fn tx(&self, params: &Params) -> Result<Value, RpcError> {
        let hash = params.bytes("hash")?.unwrap_or_default();
        let prove = params.bool("prove")?;
        let location = match <[u8; 32]>::try_from(hash.as_slice()) {
            Ok(h) => self.ctx.store.tx_location(&h).map_err(RpcError::internal)?,
            Err(_) => None,
        };
        let (h, i) = location.ok_or_else(|| {
            RpcError::internal(format!("tx ({}) not found", hex::encode_upper(&hash)))
        })?;
        self.tx_at(h, i, prove)
    }

    /// The `i`-th tx of block `h` as CometBFT's `ResultTx`.
    pub(in crate::rpc) fn tx_at(&self, h: u64, i: u32, prove: bool) -> Result<Value, RpcError> {
        let b = self.stored_block(h)?;
        let tx = b
            .txs
            .get(i as usize)
            .ok_or_else(|| RpcError::internal(format!("block {h} has no tx {i}")))?;
        let result = self
            .ctx
            .store
            .results(h)
            .map_err(RpcError::internal)?
            .and_then(|r| r.tx_results.get(i as usize).cloned())
            .unwrap_or_default();
        let mut out = Map::new();
        out.insert("hash".into(), hex(&tx_hash(tx)));
        out.insert("height".into(), int(h));
        out.insert("index".into(), json!(i));
        out.insert("tx_result".into(), abci::exec_tx_result(&result));
        out.insert("tx".into(), json!(base64(tx)));
        if prove {
            out.insert("proof".into(), tx_proof(&b.txs, i as usize));
        }
        Ok(Value::Object(out))
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

/// CometBFT's `TxProof` of `txs[index]`: the data hash, the tx and the
/// Merkle proof of its hash.
fn tx_proof(txs: &[Vec<u8>], index: usize) -> Value {
    let hashes: Vec<[u8; 32]> = txs.iter().map(|t| tx_hash(t)).collect();
    let Some(p) = merkle::proof(&hashes, index) else {
        return Value::Null;
    };
    let mut proof = Map::new();
    proof.insert("total".into(), int(p.total));
    proof.insert("index".into(), int(p.index));
    proof.insert("leaf_hash".into(), json!(base64(&p.leaf_hash)));
    if !p.aunts.is_empty() {
        let aunts: Vec<String> = p.aunts.iter().map(|a| base64(a)).collect();
        proof.insert("aunts".into(), json!(aunts));
    }
    json!({
        "root_hash": hex(&crate::header::data_hash(txs)),
        "data": base64(&txs[index]),
        "proof": proof,
    })
}

/// The flattened events of a tx, as `Tx` subscriptions and `tx_search` see
/// them: `tm.event`, `tx.hash`, `tx.height` and the tx's own events.
pub(in crate::rpc) fn tx_attributes(
    tx: &[u8],
    height: u64,
    events: &[pb::Event],
) -> query::Attributes {
    let mut out = BTreeMap::new();
    out.insert("tm.event".to_owned(), vec!["Tx".to_owned()]);
    out.insert("tx.hash".to_owned(), vec![hex::encode_upper(tx_hash(tx))]);
    out.insert("tx.height".to_owned(), vec![height.to_string()]);
    convert::event_attributes(events, &mut out);
    out
}

/// The mempool's verdict; mempool-level refusals (full, cached, too large)
/// are errors, as in CometBFT.
fn checked(verdict: Option<Result<[u8; 32], MempoolError>>) -> Result<Verdict, RpcError> {
    match verdict {
        None => Err(RpcError::internal("the node is shutting down")),
        Some(Ok(_)) => Ok(Verdict {
            code: 0,
            log: String::new(),
            codespace: String::new(),
        }),
        Some(Err(MempoolError::Rejected {
            code,
            log,
            codespace,
            ..
        })) => Ok(Verdict {
            code,
            log,
            codespace,
        }),
        Some(Err(e)) => Err(RpcError::internal(e)),
    }
}
