//! Sending transactions: sign with the chain's next nonce and minimum fee,
//! broadcast, wait for inclusion, and look transactions up.

use std::time::Instant;

use synod_protocol::{
    codec, params::ChainParams, query::QueryPath, state::ModelRecord, Amount, SecretKey, SignedTx,
    TxBody, TxHash,
};
use tendermint::Hash;
use tendermint_rpc::Client as _;

use super::{rpc_reason, Client, POLL};
use crate::{guard, txbuild, ClientError};

/// What happened to a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxOutcome {
    pub hash: TxHash,
    /// The block that included it; `None` when the caller did not wait.
    pub height: Option<u64>,
    /// The chain's result code (0: success).
    pub code: u32,
    pub log: String,
    /// Events emitted: (type, [(key, value)]).
    pub events: Vec<(String, Vec<(String, String)>)>,
}

/// How [`Client::send_with`] builds and sends a tx.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendOptions {
    /// `None`: the account's next nonce, read from the chain.
    pub nonce: Option<u64>,
    /// `None`: the minimum fee for the encoded size, from the chain's params.
    pub fee: Option<Amount>,
    /// Wait for inclusion (up to the client's timeout).
    pub wait: bool,
}

impl Default for SendOptions {
    fn default() -> Self {
        SendOptions {
            nonce: None,
            fee: None,
            wait: true,
        }
    }
}

/// A transaction found in a block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncludedTx {
    pub outcome: TxOutcome,
    /// The decoded transaction (`None` if the stored bytes do not decode).
    pub tx: Option<SignedTx>,
}

impl Client {
    /// Signs and sends `body` with the chain's next nonce and the minimum fee,
    /// then waits for inclusion. A refusal (CheckTx or in the block) is an
    /// error carrying the chain's code and log.
    pub async fn send(&self, key: &SecretKey, body: TxBody) -> Result<TxOutcome, ClientError> {
        self.send_with(key, body, SendOptions::default()).await
    }

    /// [`Client::send`] with an explicit nonce and/or fee, optionally without
    /// waiting (then `height` is `None` and `code` is CheckTx's).
    pub async fn send_with(
        &self,
        key: &SecretKey,
        body: TxBody,
        opts: SendOptions,
    ) -> Result<TxOutcome, ClientError> {
        let nonce = match opts.nonce {
            Some(n) => n,
            None => self.account(&key.public().address()).await?.nonce,
        };
        let tx = match opts.fee {
            Some(fee) => txbuild::sign(key, body, nonce, fee, &self.chain_id),
            None => {
                let params = self.params().await?;
                let execution = self.execution_fee(&body, &params).await?;
                txbuild::sign_with_min_fee(
                    key,
                    body,
                    nonce,
                    &self.chain_id,
                    &params.accounts,
                    execution,
                )
            }
        };
        let outcome = self.broadcast(&tx).await?;
        if !opts.wait {
            return Ok(outcome);
        }
        let done = self.wait_for_tx(outcome.hash).await?;
        if done.code != 0 {
            return Err(ClientError::BlockRefused {
                code: done.code,
                log: done.log,
                hash: done.hash,
                height: done.height.unwrap_or_default(),
            });
        }
        Ok(done)
    }

    /// The fee `body`'s own work needs on top of the per-byte fee: for a
    /// proof of inference or a step's result, verifying a proof of the model's `2^k` rows
    /// ([`synod_protocol::params::ModelsParams::verify_fee`]); zero for an
    /// unknown model (the chain refuses the tx anyway) and other bodies.
    pub async fn execution_fee(
        &self,
        body: &TxBody,
        params: &ChainParams,
    ) -> Result<Amount, ClientError> {
        let model = match body {
            TxBody::SubmitInferenceProof { model, .. } => *model,
            // A step's result: the model the run pinned for that step.
            TxBody::SubmitResult { run, step, .. } => {
                let run: Option<synod_protocol::runs::RunRecord> =
                    self.query_at(&QueryPath::Run(*run), None).await?;
                match run.and_then(|r| r.models.get(*step as usize).copied()) {
                    Some(model) => model,
                    None => return Ok(Amount::ZERO),
                }
            }
            _ => return Ok(Amount::ZERO),
        };
        let record: Option<ModelRecord> = self.query_at(&QueryPath::Model(model), None).await?;
        Ok(record.map_or(Amount::ZERO, |r| params.models.verify_fee(r.k)))
    }

    /// Broadcasts a signed tx (`broadcast_tx_sync`) without waiting for a
    /// block. A CheckTx refusal is [`ClientError::CheckTxRefused`].
    pub async fn broadcast(&self, tx: &SignedTx) -> Result<TxOutcome, ClientError> {
        let bytes = tx.encode();
        let hash = TxHash::of(&bytes);
        tracing::debug!(%hash, nonce = tx.nonce, fee = %tx.fee, kind = tx.body.kind(), "broadcasting");
        let r = guard::rpc(self.rpc.broadcast_tx_sync(bytes))
            .await
            .map_err(|e| self.rpc_error("broadcast_tx_sync", e))?;
        if r.code.value() != 0 {
            return Err(ClientError::CheckTxRefused {
                code: r.code.value(),
                log: r.log,
                hash,
            });
        }
        Ok(TxOutcome {
            hash,
            height: None,
            code: 0,
            log: r.log,
            events: Vec::new(),
        })
    }

    /// Waits (up to the timeout) until the tx is in a block and returns its
    /// result, whatever its code.
    pub async fn wait_for_tx(&self, hash: TxHash) -> Result<TxOutcome, ClientError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            match guard::rpc(self.rpc.tx(Hash::Sha256(hash.0), false)).await {
                Ok(r) => return Ok(outcome_of(hash, &r)),
                Err(e) => tracing::debug!(%hash, error = %rpc_reason(&e), "not included yet"),
            }
            if Instant::now() >= deadline {
                return Err(ClientError::Timeout {
                    hash,
                    secs: self.timeout.as_secs(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Looks a tx up once: `None` if the node does not know it (yet).
    pub async fn tx(&self, hash: TxHash) -> Result<Option<IncludedTx>, ClientError> {
        match guard::rpc(self.rpc.tx(Hash::Sha256(hash.0), false)).await {
            Ok(r) => Ok(Some(IncludedTx {
                outcome: outcome_of(hash, &r),
                tx: SignedTx::decode(&r.tx, codec::MAX_DECODE_BYTES).ok(),
            })),
            // The node answers an unknown hash with an RPC error "tx (…) not found".
            Err(e) if e.to_string().contains("not found") => Ok(None),
            Err(e) => Err(self.rpc_error("tx", e)),
        }
    }
}

fn outcome_of(hash: TxHash, r: &tendermint_rpc::endpoint::tx::Response) -> TxOutcome {
    TxOutcome {
        hash,
        height: Some(r.height.value()),
        code: r.tx_result.code.value(),
        log: r.tx_result.log.clone(),
        events: r
            .tx_result
            .events
            .iter()
            .map(|e| {
                (
                    e.kind.clone(),
                    e.attributes
                        .iter()
                        .map(|a| {
                            (
                                String::from_utf8_lossy(a.key_bytes()).into_owned(),
                                String::from_utf8_lossy(a.value_bytes()).into_owned(),
                            )
                        })
                        .collect(),
                )
            })
            .collect(),
    }
}
