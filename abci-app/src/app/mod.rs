//! The application: the whole ABCI lifecycle in Synod's own types. The ABCI
//! edge (`abci`) converts to and from these.

mod mempool;
pub mod state_key;

pub use mempool::Mempool;

use synod_protocol::{Event, Height, SignedTx};

use crate::{
    accounts, agents,
    component::{
        BlockContext, BlockEffects, Components, Evidence, ProofMode, ValidatorUpdate, VoteInfo,
    },
    disputes,
    error::AppError,
    execute::{self, TxOutcome},
    genesis, governance, models,
    models::VerifierCache,
    reputation, rewards, runs, staking,
    state::State,
    storage::{PreparedCommit, Storage},
    workflows,
};

/// Every chain module, in the order their hooks run: at genesis each may
/// read what the ones before it wrote (staking bonds from accounts'
/// balances, with reputation's params); at the end of a block rewards pay
/// out before governance may spend the treasury, and staking selects the
/// validator set last, after every stake change. Adding a module is one
/// line here.
pub fn components(verifiers: &VerifierCache) -> Components {
    Components::new(vec![
        Box::new(accounts::hooks::Accounts),
        Box::new(reputation::hooks::Reputation),
        Box::new(rewards::hooks::Rewards),
        Box::new(models::hooks::Models {
            verifiers: verifiers.clone(),
        }),
        Box::new(workflows::hooks::Workflows),
        Box::new(agents::hooks::Agents),
        Box::new(runs::hooks::Runs {
            verifiers: verifiers.clone(),
        }),
        Box::new(disputes::hooks::Disputes),
        Box::new(governance::hooks::Governance {
            verifiers: verifiers.clone(),
        }),
        Box::new(staking::hooks::Staking),
    ])
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
    /// Most gas a block's transactions may want in all ([`crate::gas`]);
    /// `None`: no limit.
    max_block_gas: Option<u64>,
    pending: Option<PreparedCommit>,
    /// Verifying keys of the registered models (derived from state).
    verifiers: VerifierCache,
    /// The modules, in hook order.
    components: Components,
}

impl App {
    /// Opens the app over a store (fresh or previously committed),
    /// re-deriving the verifying key of every registered zk model.
    pub fn new(storage: Storage) -> Result<App, AppError> {
        let state = State::new(storage.clone());
        let chain_id = state.get::<String>(&state_key::chain_id())?;
        let max_block_gas = state.get::<u64>(&state_key::max_block_gas())?;
        let verifiers = VerifierCache::rebuild(&state)?;
        let components = components(&verifiers);
        Ok(App {
            storage,
            chain_id,
            max_block_gas,
            pending: None,
            verifiers,
            components,
        })
    }

    /// The verifying keys of the registered models.
    pub fn verifiers(&self) -> &VerifierCache {
        &self.verifiers
    }

    /// The modules, in hook order.
    pub fn components(&self) -> &Components {
        &self.components
    }

    /// The storage underneath (queries read it directly).
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// The chain id, once InitChain has run.
    pub fn chain_id(&self) -> Option<&str> {
        self.chain_id.as_deref()
    }

    /// The block gas limit genesis set (`None`: no limit).
    pub fn max_block_gas(&self) -> Option<u64> {
        self.max_block_gas
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
        self.init_chain_with_gas_limit(chain_id, app_state, initial_height, None)
    }

    /// [`App::init_chain`] with the block gas limit of genesis'
    /// `consensus_params.block.max_gas` ([`crate::gas::block_limit`]), kept
    /// in state (a limit is part of what every node must agree on).
    pub fn init_chain_with_gas_limit(
        &mut self,
        chain_id: &str,
        app_state: &[u8],
        initial_height: u64,
        max_block_gas: Option<u64>,
    ) -> Result<InitOutput, AppError> {
        if let Some(committed) = self.storage.committed() {
            return match &self.chain_id {
                Some(id) if id == chain_id && committed.version + 1 == initial_height.max(1) => {
                    let state = State::new(self.storage.clone());
                    let validators = genesis::validator_set(&state)?;
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
            genesis::init_genesis(&mut state, &genesis, Height(version), &self.components)?;
        state.put(state_key::chain_id(), &chain_id.to_string());
        if let Some(limit) = max_block_gas {
            state.put(state_key::max_block_gas(), &limit);
        }
        state.put(state_key::height(), &version);
        state.put(state_key::genesis_version(), &version);
        let prepared = self.storage.prepare(&state.into_changes(), version)?;
        let app_hash = prepared.root();
        self.storage.commit(prepared)?;
        self.chain_id = Some(chain_id.to_string());
        self.max_block_gas = max_block_gas;
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
        let proposer = match block.proposer_address {
            Some(a) => staking::operator_by_consensus_address(&state, &a)?,
            None => None,
        };
        let ctx = BlockContext {
            height,
            time_unix: block.time_unix,
            proposer,
            votes: &block.votes,
            evidence: &block.evidence,
        };
        let mut effects = BlockEffects::default();
        for c in self.components.iter() {
            c.begin_block(&mut state, &ctx, &mut effects)?;
        }

        let params = accounts::params(&state)?;
        let decoded: Vec<Result<SignedTx, _>> = block
            .txs
            .iter()
            .map(|b| execute::decode_tx(b, &params, &chain_id, &self.components))
            .collect();
        let ok_txs: Vec<(&SignedTx, usize)> = decoded
            .iter()
            .zip(&block.txs)
            .filter_map(|(d, bytes)| d.as_ref().ok().map(|tx| (tx, bytes.len())))
            .collect();
        let sig_flags =
            execute::verify_signatures(&ok_txs.iter().map(|(tx, _)| *tx).collect::<Vec<_>>());
        let signed: Vec<(&SignedTx, usize)> = ok_txs
            .iter()
            .zip(&sig_flags)
            .filter_map(|(tx, ok)| ok.then_some(*tx))
            .collect();
        let batched = models::batch::preverify(&state, &self.components, &signed, &self.verifiers)?;
        let proofs = ProofMode::Verify {
            batched: batched.digests(),
        };
        let mut sig_ok = sig_flags.into_iter();
        let mut tx_results = Vec::with_capacity(block.txs.len());
        for (bytes, d) in block.txs.iter().zip(decoded) {
            let outcome = match d {
                Err(e) => TxOutcome::rejected(e, 0),
                Ok(tx) => {
                    let ok = sig_ok.next().unwrap_or(false);
                    execute::execute_tx(
                        &mut state,
                        &self.components,
                        &tx,
                        bytes.len(),
                        height,
                        Some(ok),
                        proofs,
                    )?
                }
            };
            tx_results.push(outcome);
        }

        for c in self.components.iter() {
            c.end_block(&mut state, &ctx, &mut effects)?;
        }
        state.put(state_key::height(), &height);
        state.put(state_key::time(), &block.time_unix);

        let prepared = self
            .storage
            .prepare(&state.into_changes(), height.value())?;
        let app_hash = prepared.root();
        self.pending = Some(prepared);
        Ok(BlockOutput {
            tx_results,
            events: effects.events,
            validator_updates: effects.validator_updates,
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
    /// `max_tx_bytes` and the block gas limit, and would succeed on top of
    /// the ones kept before them.
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
        let mut gas = 0u64;
        let mut kept = Vec::new();
        // Every signature in one batch first (about twice as fast as one by
        // one; a failed batch is re-checked one by one).
        let decoded: Vec<Option<SignedTx>> = txs
            .iter()
            .map(|b| execute::decode_tx(b, &params, chain_id, &self.components).ok())
            .collect();
        let signed = execute::verify_signatures(&decoded.iter().flatten().collect::<Vec<_>>());
        let mut signed = signed.into_iter();
        for (bytes, tx) in txs.iter().zip(&decoded) {
            let Some(tx) = tx else {
                continue;
            };
            let signature_ok = signed.next().unwrap_or(false);
            // CometBFT counts each tx with its protobuf framing (at most 1 + 10 bytes).
            let cost = bytes.len() as u64 + 11;
            if total + cost > max_tx_bytes {
                continue;
            }
            let outcome = execute::simulate_tx(
                &mut state,
                &self.components,
                tx,
                bytes.len(),
                Height(committed.version + 1),
                Some(signature_ok),
            )?;
            if outcome.result.is_ok() {
                if self
                    .max_block_gas
                    .is_some_and(|max| gas.saturating_add(outcome.gas) > max)
                {
                    // Its writes stay in the scratch state, so the txs after
                    // it could depend on it: stop here.
                    break;
                }
                total += cost;
                gas = gas.saturating_add(outcome.gas);
                kept.push(bytes.clone());
            }
        }
        Ok(kept)
    }

    /// ProcessProposal: accepts a block only if every transaction decodes
    /// canonically, fits the size limit, names this chain, is signed
    /// correctly, and, run in block order on a scratch layer over the
    /// committed state, pays its fee with the right nonce; and only if its
    /// transactions want no more gas in all than the block gas limit. A transaction
    /// whose body then fails is fine (it paid for its place, and its body
    /// may well succeed after the block's begin hooks); one that cannot pay
    /// would ride in the block for free, so the block is refused and this
    /// validator votes nil. The scratch run is PrepareProposal's: the same
    /// state, the same order, proofs only checked cheaply, so a block an
    /// honest proposer built always passes.
    pub fn process_proposal(&self, txs: &[Vec<u8>]) -> Result<bool, AppError> {
        let chain_id = self.require_chain_id()?;
        let committed = self.storage.committed().ok_or(AppError::NotInitialized)?;
        let mut state = State::new(self.storage.clone());
        let params = accounts::params(&state)?;
        let mut decoded = Vec::with_capacity(txs.len());
        for bytes in txs {
            match execute::decode_tx(bytes, &params, chain_id, &self.components) {
                Ok(tx) => decoded.push(tx),
                Err(e) => {
                    tracing::warn!(error = %e, "rejecting proposal with an invalid transaction");
                    return Ok(false);
                }
            }
        }
        let refs: Vec<&SignedTx> = decoded.iter().collect();
        if let Some(i) = execute::verify_signatures(&refs).iter().position(|ok| !ok) {
            tracing::warn!(tx = i, "rejecting proposal with a badly signed transaction");
            return Ok(false);
        }
        let height = Height(committed.version + 1);
        let mut gas = 0u64;
        for (i, (tx, bytes)) in decoded.iter().zip(txs).enumerate() {
            let outcome = execute::execute_tx(
                &mut state,
                &self.components,
                tx,
                bytes.len(),
                height,
                Some(true),
                ProofMode::Deferred,
            )?;
            if !outcome.paid() {
                tracing::warn!(tx = i, reason = %outcome.log(), "rejecting proposal with a transaction that does not pay its way");
                return Ok(false);
            }
            gas = gas.saturating_add(outcome.gas);
            if let Some(max) = self.max_block_gas.filter(|max| gas > *max) {
                tracing::warn!(
                    tx = i,
                    gas,
                    max,
                    "rejecting proposal over the block gas limit (consensus_params.block.max_gas)"
                );
                return Ok(false);
            }
        }
        Ok(true)
    }
}
