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
    state::{Account, Reputation, Unbondings, Validator, ValidatorSummary},
    Address,
};
use tendermint::block::Height;
use tendermint_rpc::{
    client::CompatMode, endpoint::abci_query::AbciQuery, Client as _, HttpClient, HttpClientUrl,
};

mod send;

pub use send::{IncludedTx, SendOptions, TxOutcome};

use crate::{
    guard,
    light::{HeaderCheck, LightClient},
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
}

/// The error's own message, without the backtrace tendermint-rpc's error
/// reports attach to their `Display`.
pub(crate) fn rpc_reason(e: &tendermint_rpc::Error) -> String {
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

fn decode<T: Serialize + DeserializeOwned>(
    path: &QueryPath,
    bytes: &[u8],
) -> Result<T, ClientError> {
    codec::decode(bytes).map_err(|e| ClientError::Decode {
        what: format!("the answer to {path}"),
        reason: e.to_string(),
    })
}
