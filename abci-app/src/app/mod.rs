//! The application: the whole ABCI lifecycle in Synod's own types. The ABCI
//! edge (`abci`) converts to and from these.

use synod_protocol::{Address, Event, Height, SignedTx};

use crate::{
    accounts,
    error::AppError,
    execute::{self, TxOutcome},
    genesis, governance,
    models::{self, ProofCheck, VerifierCache},
    rewards, staking,
    staking::{Evidence, ValidatorUpdate, VoteInfo},
    state::State,
    storage::{PreparedCommit, Storage},
};

/// State keys of the app itself.
pub mod state_key {
    /// The chain id, set at genesis.
    pub fn chain_id() -> Vec<u8> {
        b"app/chain_id".to_vec()
    }
    /// Height of the last executed block (written every block, so every block
    /// changes the tree and gets its own version).
    pub fn height() -> Vec<u8> {
        b"app/height".to_vec()
    }
    /// The state version holding genesis (`initial_height - 1`).
    pub fn genesis_version() -> Vec<u8> {
        b"app/genesis_version".to_vec()
    }
    /// Header time (unix seconds) of the last executed block.
    pub fn time() -> Vec<u8> {
        b"app/time".to_vec()
    }
}

/// A decided block, as consensus hands it to FinalizeBlock.
#[derive(Clone, Debug, Default)]
pub struct BlockInput {
    pub height: Height,
    /// Header time, unix seconds (never the wall clock).
    pub time_unix: i64,
    /// CometBFT address of the proposer's consensus key.
    pub proposer_address: Option<[u8; 20]>,
    pub txs: Vec<Vec<u8>>,
    pub votes: Vec<VoteInfo>,
    pub evidence: Vec<Evidence>,
}

/// What FinalizeBlock answers.
#[derive(Clone, Debug)]
pub struct BlockOutput {
    pub tx_results: Vec<TxOutcome>,
    pub events: Vec<Event>,
    pub validator_updates: Vec<ValidatorUpdate>,
    pub app_hash: [u8; 32],
}

/// What InitChain answers.
#[derive(Clone, Debug)]
pub struct InitOutput {
    pub validators: Vec<ValidatorUpdate>,
    pub app_hash: [u8; 32],
}

/// The chain state machine over its storage.
pub struct App {
    storage: Storage,
    chain_id: Option<String>,
    pending: Option<PreparedCommit>,
    /// Verifying keys of the registered models (derived from state).
    verifiers: VerifierCache,
}

impl App {
    /// Opens the app over a store (fresh or previously committed),
    /// re-deriving the verifying key of every registered zk model.
    pub fn new(storage: Storage) -> Result<App, AppError> {
        let state = State::new(storage.clone());
        let chain_id = state.get::<String>(&state_key::chain_id())?;
        let verifiers = VerifierCache::rebuild(&state)?;
        Ok(App {
            storage,
            chain_id,
            pending: None,
            verifiers,
        })
    }

    /// The verifying keys of the registered models.
    pub fn verifiers(&self) -> &VerifierCache {
        &self.verifiers
    }

    /// The storage underneath (queries read it directly).
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The chain id, once InitChain has run.
    pub fn chain_id(&self) -> Option<&str> {
        self.chain_id.as_deref()
    }

    /// Last committed state version and app hash (`initial_height - 1` and
    /// the genesis root after InitChain; `None` before it).
    pub fn info(&self) -> Option<(u64, [u8; 32])> {
        self.storage.committed().map(|c| (c.version, c.root))
    }

    /// What ABCI `Info` reports: the last committed *block* height (0 while
    /// only genesis is stored, whatever the chain's initial height, so
    /// consensus runs InitChain and starts at `initial_height`) and app hash.
    pub fn last_block(&self) -> Result<(u64, Option<[u8; 32]>), AppError> {
        let Some(c) = self.storage.committed() else {
            return Ok((0, None));
        };
        let genesis_version: Option<u64> =
            State::new(self.storage.clone()).get(&state_key::genesis_version())?;
        if genesis_version == Some(c.version) {
            return Ok((0, Some(c.root)));
        }
        Ok((c.version, Some(c.root)))
    }

    /// InitChain. Persists the genesis state at version `initial_height - 1`.
    /// Calling it again on an initialized store with the same chain id answers
    /// the stored result (CometBFT repeats InitChain if the app crashed before
    /// its first block).
    pub fn init_chain(
        &mut self,
        chain_id: &str,
        app_state: &[u8],
        initial_height: u64,
    ) -> Result<InitOutput, AppError> {
        if let Some(committed) = self.storage.committed() {
            return match &self.chain_id {
                Some(id) if id == chain_id && committed.version + 1 == initial_height.max(1) => {
                    let state = State::new(self.storage.clone());
                    let validators = staking::active_set(&state)?
                        .into_iter()
                        .map(|v| ValidatorUpdate { consensus_key: v.consensus_key, power: v.power })
                        .collect();
                    Ok(InitOutput { validators, app_hash: committed.root })
                }
                other => Err(AppError::Genesis(format!(
                    "store is already initialized (chain {other:?} at height {}); refusing InitChain for chain {chain_id:?}",
                    committed.version
                ))),
            };
        }
        if chain_id.is_empty() {
            return Err(AppError::Genesis("chain_id is empty".into()));
        }
        let genesis = genesis::parse_app_state(app_state)?;
        let version = initial_height.max(1) - 1;
        let mut state = State::new(self.storage.clone());
        let validators =
            genesis::init_genesis(&mut state, &genesis, Height(version), &self.verifiers)?;
        state.put(state_key::chain_id(), &chain_id.to_string());
        state.put(state_key::height(), &version);
        state.put(state_key::genesis_version(), &version);
        let prepared = self.storage.prepare(&state.into_changes(), version)?;
        let app_hash = prepared.root();
        self.storage.commit(prepared)?;
        self.chain_id = Some(chain_id.to_string());
        tracing::info!(chain_id, validators = validators.len(), app_hash = %hex::encode(app_hash), "genesis committed");
        Ok(InitOutput {
            validators,
            app_hash,
        })
    }

    fn require_chain_id(&self) -> Result<&str, AppError> {
        self.chain_id.as_deref().ok_or(AppError::NotInitialized)
    }

    /// FinalizeBlock: executes the block and computes the new app hash.
    /// Nothing is persisted until [`App::commit`].
    pub fn finalize_block(&mut self, block: &BlockInput) -> Result<BlockOutput, AppError> {
        let chain_id = self.require_chain_id()?.to_string();
        let committed = self.storage.committed().ok_or(AppError::NotInitialized)?;
        if block.height.value() != committed.version + 1 {
            return Err(AppError::HeightOutOfOrder {
                got: block.height.value(),
                committed: committed.version,
            });
        }
        let height = block.height;
        let mut state = State::new(self.storage.clone());
        let mut events = Vec::new();
        staking::hooks::begin_block(
            &mut state,
            height,
            &block.votes,
            &block.evidence,
            &mut events,
        )
        .map_err(handler_fatal)?;

        let params = accounts::params(&state)?;
        let decoded: Vec<Result<SignedTx, _>> = block
            .txs
            .iter()
            .map(|b| execute::decode_tx(b, &params, &chain_id))
            .collect();
        let ok_txs: Vec<&SignedTx> = decoded.iter().filter_map(|d| d.as_ref().ok()).collect();
        let sig_flags = execute::verify_signatures(&ok_txs);
        let signed: Vec<&SignedTx> = ok_txs
            .iter()
            .zip(&sig_flags)
            .filter_map(|(tx, ok)| ok.then_some(*tx))
            .collect();
        let batched = models::batch::preverify(&state, &signed, &self.verifiers)?;
        let mut sig_ok = sig_flags.into_iter();
        let mut tx_results = Vec::with_capacity(block.txs.len());
        for (bytes, d) in block.txs.iter().zip(decoded) {
            let outcome = match d {
                Err(e) => TxOutcome {
                    result: Err(e),
                    events: Vec::new(),
                },
                Ok(tx) => {
                    let ok = sig_ok.next().unwrap_or(false);
                    execute::execute_tx(
                        &mut state,
                        &tx,
                        bytes.len(),
                        height,
                        Some(ok),
                        ProofCheck::Verify {
                            cache: &self.verifiers,
                            batched: &batched,
                        },
                    )?
                }
            };
            tx_results.push(outcome);
        }

        let proposer: Option<Address> = match block.proposer_address {
            Some(a) => staking::operator_by_consensus_address(&state, &a)?,
            None => None,
        };
        rewards::distribute(&mut state, proposer, &mut events).map_err(handler_fatal)?;
        staking::hooks::release_unbondings(&mut state, height, &mut events)
            .map_err(handler_fatal)?;
        models::registry::end_block(&mut state, height, &mut events)?;
        governance::hooks::end_block(&mut state, height, &self.verifiers, &mut events)?;
        let validator_updates =
            staking::hooks::update_validator_set(&mut state, &mut events).map_err(handler_fatal)?;
        state.put(state_key::height(), &height);
        state.put(state_key::time(), &block.time_unix);

        let prepared = self
            .storage
            .prepare(&state.into_changes(), height.value())?;
        let app_hash = prepared.root();
        self.pending = Some(prepared);
        Ok(BlockOutput {
            tx_results,
            events,
            validator_updates,
            app_hash,
        })
    }

    /// Commit: persists the finalized block atomically. Returns the committed height.
    pub fn commit(&mut self) -> Result<u64, AppError> {
        let prepared = self.pending.take().ok_or(AppError::NothingToCommit)?;
        let height = prepared.version();
        self.storage.commit(prepared)?;
        Ok(height)
    }

    /// PrepareProposal: keeps mempool transactions, in order, that fit in
    /// `max_tx_bytes` and would succeed on top of the ones kept before them.
    pub fn prepare_proposal(
        &self,
        txs: &[Vec<u8>],
        max_tx_bytes: u64,
    ) -> Result<Vec<Vec<u8>>, AppError> {
        let Some(chain_id) = self.chain_id.as_deref() else {
            return Ok(Vec::new());
        };
        let Some(committed) = self.storage.committed() else {
            return Ok(Vec::new());
        };
        let mut state = State::new(self.storage.clone());
        let params = accounts::params(&state)?;
        let mut total = 0u64;
        let mut kept = Vec::new();
        for bytes in txs {
            // CometBFT counts each tx with its protobuf framing (at most 1 + 10 bytes).
            let cost = bytes.len() as u64 + 11;
            if total + cost > max_tx_bytes {
                continue;
            }
            let Ok(tx) = execute::decode_tx(bytes, &params, chain_id) else {
                continue;
            };
            let outcome = execute::simulate_tx(
                &mut state,
                &tx,
                bytes.len(),
                Height(committed.version + 1),
                None,
            )?;
            if outcome.result.is_ok() {
                total += cost;
                kept.push(bytes.clone());
            }
        }
        Ok(kept)
    }

    /// ProcessProposal: accepts a block only if every transaction decodes
    /// canonically, fits the size limit, names this chain and is signed correctly.
    pub fn process_proposal(&self, txs: &[Vec<u8>]) -> Result<bool, AppError> {
        let chain_id = self.require_chain_id()?;
        let params = accounts::params(&State::new(self.storage.clone()))?;
        let mut decoded = Vec::with_capacity(txs.len());
        for bytes in txs {
            match execute::decode_tx(bytes, &params, chain_id) {
                Ok(tx) => decoded.push(tx),
                Err(e) => {
                    tracing::warn!(error = %e, "rejecting proposal with an invalid transaction");
                    return Ok(false);
                }
            }
        }
        let refs: Vec<&SignedTx> = decoded.iter().collect();
        Ok(execute::verify_signatures(&refs).into_iter().all(|ok| ok))
    }
}

fn handler_fatal(e: crate::error::HandlerError) -> AppError {
    match e {
        crate::error::HandlerError::State(e) => AppError::State(e),
        // Block hooks act on the chain's own records; a "tx error" there is a broken invariant.
        crate::error::HandlerError::Tx(e) => {
            AppError::Genesis(format!("block hook invariant broken: {e}"))
        }
    }
}

/// The mempool's view: committed state plus every transaction accepted by
/// CheckTx since the last commit (so nonces and balances chain correctly).
pub struct Mempool {
    state: State,
    chain_id: Option<String>,
    height: Height,
    verified: SignatureCache,
}

/// Hashes of txs (all their bytes, signature included) whose signature
/// verified, so the recheck after every block skips ed25519 for the same
/// bytes. Bounded, oldest out first. Only CheckTx uses it, never a block.
#[derive(Default)]
struct SignatureCache {
    set: std::collections::BTreeSet<[u8; 32]>,
    order: std::collections::VecDeque<[u8; 32]>,
}

impl SignatureCache {
    const CAPACITY: usize = 1 << 16;

    fn contains(&self, h: &[u8; 32]) -> bool {
        self.set.contains(h)
    }

    fn insert(&mut self, h: [u8; 32]) {
        if self.set.insert(h) {
            self.order.push_back(h);
            if self.order.len() > Self::CAPACITY {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

impl Mempool {
    /// A mempool view over the last committed state.
    pub fn new(app: &App) -> Mempool {
        Mempool {
            state: State::new(app.storage.clone()),
            chain_id: app.chain_id.clone(),
            height: Height(app.info().map_or(1, |(h, _)| h + 1)),
            verified: SignatureCache::default(),
        }
    }

    /// A view over the new committed state, keeping what is known about
    /// signatures (for the recheck that follows a commit).
    pub fn reset(&mut self, app: &App) {
        let verified = std::mem::take(&mut self.verified);
        *self = Mempool::new(app);
        self.verified = verified;
    }

    /// CheckTx (new or recheck): the full pipeline against the mempool view.
    pub fn check(&mut self, bytes: &[u8]) -> Result<TxOutcome, AppError> {
        let Some(chain_id) = self.chain_id.as_deref() else {
            return Err(AppError::NotInitialized);
        };
        let params = accounts::params(&self.state)?;
        let tx = match execute::decode_tx(bytes, &params, chain_id) {
            Ok(tx) => tx,
            Err(e) => {
                return Ok(TxOutcome {
                    result: Err(e),
                    events: Vec::new(),
                })
            }
        };
        use sha2::Digest;
        let hash: [u8; 32] = sha2::Sha256::digest(bytes).into();
        let known = self.verified.contains(&hash);
        let outcome = execute::simulate_tx(
            &mut self.state,
            &tx,
            bytes.len(),
            self.height,
            known.then_some(true),
        )?;
        let bad_signature = matches!(
            outcome.result,
            Err(crate::error::TxError::BadSignature { .. })
        );
        if !known && !bad_signature {
            self.verified.insert(hash);
        }
        Ok(outcome)
    }
}
