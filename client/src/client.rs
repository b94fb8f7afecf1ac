//! [`Client`]: queries (plain or proved) and transactions over a node's
//! CometBFT JSON-RPC.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde::{de::DeserializeOwned, Serialize};
use synod_protocol::{
    codec,
    params::ChainParams,
    query::{code, QueryPath},
    state::{Account, ModelRecord, Reputation, Unbondings, Validator, ValidatorSummary},
    Address, Amount, SecretKey, SignedTx, TxBody, TxHash,
};
use tendermint::{block::Height, Hash};
use tendermint_rpc::{
    client::CompatMode, endpoint::abci_query::AbciQuery, Client as _, HttpClient, HttpClientUrl,
};

use crate::{
    guard,
    light::{HeaderCheck, LightClient},
    txbuild,
    verify::verify_answer,
    ClientError,
};

/// How long [`Client::send`] waits for inclusion unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How often the client polls while waiting for a tx or a block.
const POLL: Duration = Duration::from_millis(200);

/// A connection to one Synod node.
#[derive(Debug, Clone)]
pub struct Client {
    rpc: HttpClient,
    url: String,
    chain_id: String,
    timeout: Duration,
    /// Verifies the headers proofs are checked against; `None`: trusted
    /// from the node.
    light: Option<Arc<LightClient>>,
}

/// A query answer checked against the app hash of block `height + 1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proved<T> {
    /// The record, or `None` when the proof shows it is absent.
    pub value: Option<T>,
    /// The state height queried (the state after block `height`).
    pub height: u64,
    /// The app hash the proof was checked against: header `height + 1`'s.
    pub app_hash: Vec<u8>,
    /// How that header was obtained: verified by the light client, or not.
    pub header: HeaderCheck,
}

/// A record read with or without a proof, as the caller asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer<T> {
    /// As the node answered, unchecked; `None` when the chain has no record.
    Unproved(Option<T>),
    /// Checked against the app hash of block `height + 1`.
    Proved(Proved<T>),
}

impl<T> Answer<T> {
    /// The record, if there is one.
    pub fn value(&self) -> Option<&T> {
        match self {
            Answer::Unproved(v) => v.as_ref(),
            Answer::Proved(p) => p.value.as_ref(),
        }
    }

    /// The record, if there is one, without the proof details.
    pub fn into_value(self) -> Option<T> {
        match self {
            Answer::Unproved(v) => v,
            Answer::Proved(p) => p.value,
        }
    }
}

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

/// What `/status` says about the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeStatus {
    pub chain_id: String,
    pub node_id: String,
    pub moniker: String,
    pub latest_height: u64,
    pub latest_app_hash: Vec<u8>,
    pub latest_block_hash: String,
    pub catching_up: bool,
}

impl Client {
    /// Connects to the node RPC at `rpc_url` (e.g. `http://127.0.0.1:26657`)
    /// and reads the chain id from `/status`.
    pub async fn connect(rpc_url: &str) -> Result<Client, ClientError> {
        let url: HttpClientUrl = rpc_url
            .parse()
            .map_err(|e| ClientError::bad("node URL", rpc_url, e))?;
        let rpc = HttpClient::builder(url)
            .compat_mode(CompatMode::V0_38)
            .timeout(DEFAULT_TIMEOUT)
            .build()
            .map_err(|e| ClientError::bad("node URL", rpc_url, e))?;
        let status = guard::rpc(rpc.status())
            .await
            .map_err(|e| match e.detail() {
                // It answered, but not as a node would.
                tendermint_rpc::error::ErrorDetail::ClientInternal(_) => ClientError::Rpc {
                    call: "status",
                    url: rpc_url.to_string(),
                    reason: rpc_reason(&e),
                },
                _ => ClientError::Unreachable {
                    url: rpc_url.to_string(),
                    reason: rpc_reason(&e),
                },
            })?;
        Ok(Client {
            rpc,
            url: rpc_url.to_string(),
            chain_id: status.node_info.network.to_string(),
            timeout: DEFAULT_TIMEOUT,
            light: None,
        })
    }

    /// The chain id the node reported.
    pub fn chain_id(&self) -> &str {
        &self.chain_id
    }

    /// The node RPC URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The underlying RPC client, for calls this library does not wrap; run
    /// them through [`guard::rpc`], as this library does, so a malformed
    /// answer is an error rather than a panic.
    pub fn rpc(&self) -> &HttpClient {
        &self.rpc
    }

    /// Sets how long to wait for inclusion and for the next block (default 30 s).
    pub fn with_timeout(mut self, t: Duration) -> Client {
        self.timeout = t;
        self
    }

    /// The inclusion timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn rpc_error(&self, call: &'static str, e: tendermint_rpc::Error) -> ClientError {
        ClientError::Rpc {
            call,
            url: self.url.clone(),
            reason: rpc_reason(&e),
        }
    }

    /// `/status`.
    pub async fn status(&self) -> Result<NodeStatus, ClientError> {
        let s = guard::rpc(self.rpc.status())
            .await
            .map_err(|e| self.rpc_error("status", e))?;
        Ok(NodeStatus {
            chain_id: s.node_info.network.to_string(),
            node_id: s.node_info.id.to_string(),
            moniker: s.node_info.moniker.to_string(),
            latest_height: s.sync_info.latest_block_height.value(),
            latest_app_hash: s.sync_info.latest_app_hash.as_bytes().to_vec(),
            latest_block_hash: s.sync_info.latest_block_hash.to_string(),
            catching_up: s.sync_info.catching_up,
        })
    }

    async fn abci_query(
        &self,
        path: &QueryPath,
        height: Option<u64>,
        prove: bool,
    ) -> Result<AbciQuery, ClientError> {
        let height = height
            .filter(|h| *h > 0)
            .map(|h| Height::try_from(h).map_err(|e| ClientError::bad("height", &h.to_string(), e)))
            .transpose()?;
        guard::rpc(
            self.rpc
                .abci_query(Some(path.to_string()), Vec::new(), height, prove),
        )
        .await
        .map_err(|e| self.rpc_error("abci_query", e))
    }

    /// An unproved query at `height` (`None`: the latest): the decoded record,
    /// or `None` when the chain has none.
    pub async fn query_at<T: Serialize + DeserializeOwned>(
        &self,
        path: &QueryPath,
        height: Option<u64>,
    ) -> Result<Option<T>, ClientError> {
        let r = self.abci_query(path, height, false).await?;
        match r.code.value() {
            code::OK if r.value.is_empty() => Ok(None),
            code::OK => decode(path, &r.value).map(Some),
            code::NOT_FOUND => Ok(None),
            other => Err(ClientError::Query {
                path: path.to_string(),
                code: other,
                log: r.log,
            }),
        }
    }

    /// An account (the default, empty account if it does not exist). Not proved.
    pub async fn account(&self, a: &Address) -> Result<Account, ClientError> {
        Ok(self
            .query_at(&QueryPath::Account(*a), None)
            .await?
            .unwrap_or_default())
    }

    /// Every registered validator, by power. Not proved (a computed list).
    pub async fn validators(&self) -> Result<Vec<ValidatorSummary>, ClientError> {
        Ok(self
            .query_at(&QueryPath::Validators, None)
            .await?
            .unwrap_or_default())
    }

    /// The validator operated by `a`, if any. Not proved.
    pub async fn validator(&self, a: &Address) -> Result<Option<Validator>, ClientError> {
        self.query_at(&QueryPath::Validator(*a), None).await
    }

    /// The reputation of `a`, if it has one. Not proved.
    pub async fn reputation(&self, a: &Address) -> Result<Option<Reputation>, ClientError> {
        self.query_at(&QueryPath::Reputation(*a), None).await
    }

    /// The pending unbondings of validator `a`. Not proved.
    pub async fn unbondings(&self, a: &Address) -> Result<Unbondings, ClientError> {
        Ok(self
            .query_at(&QueryPath::Unbonding(*a), None)
            .await?
            .unwrap_or_default())
    }

    /// The chain parameters. Not proved.
    pub async fn params(&self) -> Result<ChainParams, ClientError> {
        self.query_at(&QueryPath::Params, None)
            .await?
            .ok_or_else(|| ClientError::Query {
                path: QueryPath::Params.to_string(),
                code: code::NOT_FOUND,
                log: "the chain answered without parameters".into(),
            })
    }

    /// Reads `path` at `height` (`None`: the latest), proved when `prove`
    /// ([`Client::query_proved`]), else as the node answers
    /// ([`Client::query_at`]).
    pub async fn read<T: Serialize + DeserializeOwned>(
        &self,
        path: &QueryPath,
        height: Option<u64>,
        prove: bool,
    ) -> Result<Answer<T>, ClientError> {
        if prove {
            self.query_proved(path, height).await.map(Answer::Proved)
        } else {
            self.query_at(path, height).await.map(Answer::Unproved)
        }
    }

    /// A query with a Merkle proof: queries `path` with `prove=true` at
    /// `height` (`None`: the latest), waits (up to the timeout) for block
    /// `H + 1` of the answered height `H`, and checks every proof op against
    /// that header's app hash and against the state keys of `path`. A record
    /// that does not exist comes back as `value: None`, its absence proved.
    pub async fn query_proved<T: Serialize + DeserializeOwned>(
        &self,
        path: &QueryPath,
        height: Option<u64>,
    ) -> Result<Proved<T>, ClientError> {
        if path.proved_keys().is_empty() {
            return Err(ClientError::Proof {
                path: path.to_string(),
                reason:
                    "this path has no proof (a computed list); prove each /validator/{addr} instead"
                        .into(),
            });
        }
        let r = self.abci_query(path, height, true).await?;
        let value = match r.code.value() {
            code::OK if r.value.is_empty() => None,
            code::OK => Some(r.value),
            code::NOT_FOUND => None,
            other => {
                return Err(ClientError::Query {
                    path: path.to_string(),
                    code: other,
                    log: r.log,
                })
            }
        };
        let height = r.height.value();
        let ops = r.proof.map(|p| p.ops).unwrap_or_default();
        let (app_hash, header) = self.checked_app_hash_after(height).await?;
        verify_answer(path, value.as_deref(), &ops, &app_hash)?;
        let value = value.map(|v| decode(path, &v)).transpose()?;
        Ok(Proved {
            value,
            height,
            app_hash,
            header,
        })
    }

    /// Checks headers with `light` from now on: proved reads then trust an
    /// app hash only in a header the validators signed.
    pub fn with_light_client(mut self, light: Arc<LightClient>) -> Client {
        self.light = Some(light);
        self
    }

    /// The light client, when one is attached.
    pub fn light_client(&self) -> Option<&Arc<LightClient>> {
        self.light.as_ref()
    }

    /// The app hash of the state after block `height` (header `height + 1`'s)
    /// and how that header was checked: verified by the light client when
    /// one is attached, else taken from the node.
    pub async fn checked_app_hash_after(
        &self,
        height: u64,
    ) -> Result<(Vec<u8>, HeaderCheck), ClientError> {
        let unchecked = self.app_hash_after(height).await?;
        let Some(light) = &self.light else {
            return Ok((unchecked, HeaderCheck::Unchecked));
        };
        let next = height + 1;
        let verified = light
            .verify_height(&self.rpc, &self.chain_id, next)
            .await
            .map_err(|e| ClientError::Light {
                height: next,
                reason: e.to_string(),
            })?;
        Ok((verified.header.app_hash.as_bytes().to_vec(), verified.check))
    }

    /// The app hash of the state after block `height`: the one header
    /// `height + 1` carries. Waits (up to the timeout) for that block. The
    /// header is taken from the node as is ([`Client::checked_app_hash_after`]
    /// verifies it with the light client).
    pub async fn app_hash_after(&self, height: u64) -> Result<Vec<u8>, ClientError> {
        let next = height + 1;
        let h =
            Height::try_from(next).map_err(|e| ClientError::bad("height", &next.to_string(), e))?;
        let deadline = Instant::now() + self.timeout;
        loop {
            match guard::rpc(self.rpc.block(h)).await {
                Ok(b) => return Ok(b.block.header.app_hash.as_bytes().to_vec()),
                Err(e) if Instant::now() >= deadline => {
                    let e = rpc_reason(&e);
                    return Err(ClientError::Proof {
                        path: format!("block {next}"),
                        reason: format!(
                            "block {next} (whose header carries the app hash of height {height}) did not appear within {} s: {e}",
                            self.timeout.as_secs()
                        ),
                    });
                }
                Err(e) => {
                    tracing::debug!(height = next, error = %rpc_reason(&e), "waiting for block")
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }

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

/// The error's own message, without the backtrace tendermint-rpc's error
/// reports attach to their `Display`.
fn rpc_reason(e: &tendermint_rpc::Error) -> String {
    use tendermint_rpc::error::ErrorDetail;
    let mut reason = e.detail().to_string();
    // The transport error says why (connection refused, timeout, ...); it
    // sits in the error's trace, whose own Display carries a backtrace.
    if matches!(e.detail(), ErrorDetail::Http(_)) {
        let mut source = std::error::Error::source(e).and_then(|t| t.source());
        while let Some(err) = source {
            let text = err.to_string();
            if !reason.contains(&text) {
                reason.push_str(": ");
                reason.push_str(&text);
            }
            source = err.source();
        }
    }
    reason
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

fn decode<T: Serialize + DeserializeOwned>(
    path: &QueryPath,
    bytes: &[u8],
) -> Result<T, ClientError> {
    codec::decode(bytes).map_err(|e| ClientError::Decode {
        what: format!("the answer to {path}"),
        reason: e.to_string(),
    })
}
