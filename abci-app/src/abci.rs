//! The ABCI 2.0 edge (CometBFT 0.38 protocol, tower-abci 0.19): converts
//! tendermint-rs types to Synod's once, here, and back.
//!
//! Four services share one [`Node`]: consensus and mempool each hold a lock
//! (consensus work also resets the mempool view after Commit); info and
//! snapshot need no lock. Work runs on the blocking pool so a long block never
//! stalls the socket reader.

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tendermint::{
    abci::{
        response as rsp,
        types::{ExecTxResult, MisbehaviorKind},
        Code, Event as AbciEvent,
    },
    block, merkle,
    v0_38::abci::{
        ConsensusRequest, ConsensusResponse, InfoRequest, InfoResponse, MempoolRequest,
        MempoolResponse, SnapshotRequest, SnapshotResponse,
    },
    validator, AppHash, PublicKey,
};
use tower_abci::BoxError;

use crate::{
    app::{App, BlockInput, Mempool},
    execute::TxOutcome,
    query,
    staking::{Evidence, ValidatorUpdate, VoteInfo},
};

/// The app version reported in `Info`.
pub const APP_VERSION: u64 = 1;

/// Shared handles behind the four ABCI connections.
#[derive(Clone)]
pub struct Node {
    app: Arc<Mutex<App>>,
    mempool: Arc<Mutex<Mempool>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave state half-written: the app
    // only persists in Commit's single batch. Keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Node {
    /// Wraps an app for serving.
    pub fn new(app: App) -> Node {
        let mempool = Mempool::new(&app);
        Node {
            app: Arc::new(Mutex::new(app)),
            mempool: Arc::new(Mutex::new(mempool)),
        }
    }

    /// Runs the server on `tcp://HOST:PORT` or `unix://PATH` until it fails.
    pub async fn serve(self, address: &str) -> Result<(), BoxError> {
        let node = self;
        let (c, m, i, s) = (node.clone(), node.clone(), node.clone(), node.clone());
        let server = tower_abci::v038::Server::builder()
            .consensus(tower::service_fn(move |req: ConsensusRequest| {
                let n = c.clone();
                async move {
                    let kind = consensus_request_name(&req);
                    let r = tokio::task::spawn_blocking(move || n.consensus(req)).await?;
                    if let Err(e) = &r {
                        // tower-abci drops the connection on an error; say why first.
                        tracing::error!(request = kind, error = %e, "consensus request failed");
                    }
                    r
                }
            }))
            .mempool(tower::service_fn(move |req| {
                let n = m.clone();
                async move { tokio::task::spawn_blocking(move || n.mempool(req)).await? }
            }))
            .info(tower::service_fn(move |req| {
                let n = i.clone();
                async move { tokio::task::spawn_blocking(move || n.info(req)).await? }
            }))
            .snapshot(tower::service_fn(move |req| {
                let n = s.clone();
                async move { n.snapshot(req) }
            }))
            .finish()
            .ok_or("ABCI server builder is missing a service")?;
        if let Some(path) = address.strip_prefix("unix://") {
            // A stale socket file from a previous run would make bind fail.
            if std::fs::metadata(path).is_ok() {
                std::fs::remove_file(path)?;
            }
            server.listen_unix(path).await
        } else {
            let addr = address.strip_prefix("tcp://").unwrap_or(address);
            server.listen_tcp(addr).await
        }
    }

    /// Handles one consensus-connection request.
    pub fn consensus(&self, req: ConsensusRequest) -> Result<ConsensusResponse, BoxError> {
        let mut app = lock(&self.app);
        Ok(match req {
            ConsensusRequest::InitChain(r) => {
                let out = app.init_chain_with_gas_limit(
                    &r.chain_id,
                    &r.app_state_bytes,
                    r.initial_height.value(),
                    crate::gas::block_limit(r.consensus_params.block.max_gas),
                )?;
                *lock(&self.mempool) = Mempool::new(&app);
                ConsensusResponse::InitChain(rsp::InitChain {
                    consensus_params: None,
                    validators: to_abci_updates(&out.validators)?,
                    app_hash: app_hash(out.app_hash),
                })
            }
            ConsensusRequest::PrepareProposal(r) => {
                let txs: Vec<Vec<u8>> = r.txs.iter().map(|t| t.to_vec()).collect();
                let max = u64::try_from(r.max_tx_bytes).unwrap_or(0);
                let kept = app.prepare_proposal(&txs, max)?;
                ConsensusResponse::PrepareProposal(rsp::PrepareProposal {
                    txs: kept.into_iter().map(Bytes::from).collect(),
                })
            }
            ConsensusRequest::ProcessProposal(r) => {
                let txs: Vec<Vec<u8>> = r.txs.iter().map(|t| t.to_vec()).collect();
                ConsensusResponse::ProcessProposal(if app.process_proposal(&txs)? {
                    rsp::ProcessProposal::Accept
                } else {
                    rsp::ProcessProposal::Reject
                })
            }
            ConsensusRequest::ExtendVote(_) => ConsensusResponse::ExtendVote(rsp::ExtendVote {
                vote_extension: Bytes::new(),
            }),
            ConsensusRequest::VerifyVoteExtension(_) => {
                ConsensusResponse::VerifyVoteExtension(rsp::VerifyVoteExtension::Accept)
            }
            ConsensusRequest::FinalizeBlock(r) => {
                let block = BlockInput {
                    height: synod_protocol::Height(r.height.value()),
                    time_unix: r.time.unix_timestamp(),
                    proposer_address: r.proposer_address.as_bytes().try_into().ok(),
                    txs: r.txs.iter().map(|t| t.to_vec()).collect(),
                    votes: r
                        .decided_last_commit
                        .votes
                        .iter()
                        .map(|v| VoteInfo {
                            consensus_address: v.validator.address,
                            signed: v.sig_info.is_signed(),
                            power: v.validator.power.value(),
                        })
                        .collect(),
                    evidence: r
                        .misbehavior
                        .iter()
                        .filter(|m| m.kind != MisbehaviorKind::Unknown)
                        .map(|m| Evidence {
                            consensus_address: m.validator.address,
                            height: synod_protocol::Height(m.height.value()),
                        })
                        .collect(),
                };
                let out = app.finalize_block(&block)?;
                ConsensusResponse::FinalizeBlock(rsp::FinalizeBlock {
                    events: out.events.iter().map(to_abci_event).collect(),
                    tx_results: out.tx_results.iter().map(to_exec_result).collect(),
                    validator_updates: to_abci_updates(&out.validator_updates)?,
                    consensus_param_updates: None,
                    app_hash: app_hash(out.app_hash),
                })
            }
            ConsensusRequest::Commit => {
                let height = app.commit()?;
                tracing::debug!(height, "committed");
                lock(&self.mempool).reset(&app);
                ConsensusResponse::Commit(rsp::Commit {
                    data: Bytes::new(),
                    retain_height: block::Height::from(0u32),
                })
            }
        })
    }

    /// Handles one mempool-connection request.
    pub fn mempool(&self, req: MempoolRequest) -> Result<MempoolResponse, BoxError> {
        let MempoolRequest::CheckTx(r) = req;
        let (outcome, permanent) = match lock(&self.mempool).check_classified(&r.tx) {
            Ok(o) => o,
            // Not a verdict on the tx (e.g. no InitChain yet): answer, don't drop the connection.
            Err(e) => {
                return Ok(MempoolResponse::CheckTx(rsp::CheckTx {
                    code: Code::from(1),
                    log: format!("the app cannot check transactions now: {e}"),
                    codespace: "synod".into(),
                    ..Default::default()
                }))
            }
        };
        Ok(MempoolResponse::CheckTx(rsp::CheckTx {
            code: Code::from(outcome.code()),
            log: outcome.log(),
            events: outcome.events.iter().map(to_abci_event).collect(),
            codespace: if outcome.code() == 0 {
                String::new()
            } else {
                "synod".into()
            },
            info: if permanent && outcome.code() != 0 {
                synod_abci_wire::PERMANENT_REJECTION.into()
            } else {
                String::new()
            },
            gas_wanted: gas_i64(outcome.gas),
            ..Default::default()
        }))
    }

    /// Handles one info-connection request.
    pub fn info(&self, req: InfoRequest) -> Result<InfoResponse, BoxError> {
        Ok(match req {
            InfoRequest::Info(_) => {
                let (height, root) = lock(&self.app).last_block()?;
                let hash = root.map(app_hash).unwrap_or_default();
                InfoResponse::Info(rsp::Info {
                    data: "synod".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    app_version: APP_VERSION,
                    last_block_height: block::Height::try_from(height)?,
                    last_block_app_hash: hash,
                })
            }
            InfoRequest::Query(r) => {
                let storage = lock(&self.app).storage().clone();
                let out = query::query(&storage, &r.path, r.height.value(), r.prove);
                InfoResponse::Query(rsp::Query {
                    code: Code::from(out.code),
                    log: out.log,
                    info: String::new(),
                    index: 0,
                    key: Bytes::from(out.key),
                    value: Bytes::from(out.value),
                    proof: (!out.proofs.is_empty()).then(|| merkle::proof::ProofOps {
                        ops: out
                            .proofs
                            .into_iter()
                            .map(|p| merkle::proof::ProofOp {
                                field_type: query::PROOF_OP_TYPE.into(),
                                key: p.key,
                                data: p.proof,
                            })
                            .collect(),
                    }),
                    height: block::Height::try_from(out.height)?,
                    codespace: if out.code == 0 {
                        String::new()
                    } else {
                        "synod".into()
                    },
                })
            }
            InfoRequest::Echo(r) => InfoResponse::Echo(rsp::Echo { message: r.message }),
        })
    }

    /// State sync is not offered: every snapshot request gets the empty answer.
    pub fn snapshot(&self, req: SnapshotRequest) -> Result<SnapshotResponse, BoxError> {
        Ok(match req {
            SnapshotRequest::ListSnapshots => SnapshotResponse::ListSnapshots(Default::default()),
            SnapshotRequest::OfferSnapshot(_) => {
                SnapshotResponse::OfferSnapshot(rsp::OfferSnapshot::Reject)
            }
            SnapshotRequest::LoadSnapshotChunk(_) => {
                SnapshotResponse::LoadSnapshotChunk(Default::default())
            }
            SnapshotRequest::ApplySnapshotChunk(_) => {
                SnapshotResponse::ApplySnapshotChunk(rsp::ApplySnapshotChunk {
                    result: rsp::ApplySnapshotChunkResult::Abort,
                    refetch_chunks: vec![],
                    reject_senders: vec![],
                })
            }
        })
    }
}

fn consensus_request_name(req: &ConsensusRequest) -> &'static str {
    match req {
        ConsensusRequest::InitChain(_) => "InitChain",
        ConsensusRequest::PrepareProposal(_) => "PrepareProposal",
        ConsensusRequest::ProcessProposal(_) => "ProcessProposal",
        ConsensusRequest::ExtendVote(_) => "ExtendVote",
        ConsensusRequest::VerifyVoteExtension(_) => "VerifyVoteExtension",
        ConsensusRequest::FinalizeBlock(_) => "FinalizeBlock",
        ConsensusRequest::Commit => "Commit",
    }
}

fn app_hash(root: [u8; 32]) -> AppHash {
    AppHash::try_from(root.to_vec()).unwrap_or_default()
}

fn to_abci_updates(updates: &[ValidatorUpdate]) -> Result<Vec<validator::Update>, BoxError> {
    updates
        .iter()
        .map(|u| {
            let pub_key = PublicKey::from_raw_ed25519(&u.consensus_key.0).ok_or_else(|| {
                format!(
                    "consensus key {} is not a valid ed25519 key",
                    u.consensus_key
                )
            })?;
            Ok(validator::Update {
                pub_key,
                power: u.power.try_into()?,
            })
        })
        .collect()
}

fn to_abci_event(e: &synod_protocol::Event) -> AbciEvent {
    AbciEvent::new(
        e.kind(),
        e.attributes().into_iter().map(|(k, v)| (k, v, true)),
    )
}

fn to_exec_result(o: &TxOutcome) -> ExecTxResult {
    ExecTxResult {
        code: Code::from(o.code()),
        log: o.log(),
        events: o.events.iter().map(to_abci_event).collect(),
        codespace: if o.code() == 0 {
            String::new()
        } else {
            "synod".into()
        },
        gas_wanted: gas_i64(o.gas),
        gas_used: gas_i64(o.gas),
        ..Default::default()
    }
}

/// Gas as ABCI's signed field (saturating; gas never nears `i64::MAX`).
fn gas_i64(gas: u64) -> i64 {
    i64::try_from(gas).unwrap_or(i64::MAX)
}
