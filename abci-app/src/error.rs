//! Why a transaction was rejected: every reason has a stable numeric code
//! (the ABCI result code) and a message naming the offending value.

use synod_protocol::{Address, Amount, AmountError, CodecError, Height};

use crate::state::StateError;

/// A transaction rejection. Codes are stable: never renumber, only append.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TxError {
    #[error("undecodable transaction: {0}")]
    Undecodable(String),
    #[error("non-canonical transaction encoding: decode then encode gives different bytes")]
    NonCanonical,
    #[error("transaction is {len} bytes, the limit is {max} bytes")]
    TooLarge { len: usize, max: u64 },
    #[error("wrong chain id {got:?}, this chain is {expected:?}")]
    WrongChainId { expected: String, got: String },
    #[error("bad signature from {signer}")]
    BadSignature { signer: Address },
    #[error("wrong nonce {got} for {signer}: expected {expected}")]
    WrongNonce {
        signer: Address,
        expected: u64,
        got: u64,
    },
    #[error("fee {got} too low: this {len}-byte transaction needs at least {min}{}", execution_note(*execution))]
    FeeTooLow {
        got: Amount,
        min: Amount,
        len: usize,
        /// The part of `min` that pays for the body's own work (a proof's verification).
        execution: Amount,
    },
    #[error("insufficient balance in {account}: needs {needed}, has {available}")]
    InsufficientFunds {
        account: Address,
        needed: Amount,
        available: Amount,
    },
    #[error("amount overflow: {0}")]
    AmountOverflow(String),
    #[error("unknown validator {0}")]
    UnknownValidator(Address),
    #[error("bond {got} is below the minimum self-bond {min}")]
    BondBelowMinimum { got: Amount, min: Amount },
    #[error("validator {validator} is jailed until height {until}; now {now}")]
    UnjailTooEarly {
        validator: Address,
        until: Height,
        now: Height,
    },
    #[error("{0} is already a validator")]
    AlreadyValidator(Address),
    #[error("consensus key {0} is already used by another validator")]
    ConsensusKeyInUse(String),
    #[error("validator {0} is not jailed")]
    NotJailed(Address),
    #[error("validator {0} is tombstoned for double signing and can never return")]
    Tombstoned(Address),
    #[error("amount must be greater than zero")]
    ZeroAmount,
    #[error("invalid moniker {moniker:?}: {reason}")]
    InvalidMoniker {
        moniker: String,
        reason: &'static str,
    },
    #[error("unbonding {amount} would leave {remaining} bonded, below the minimum self-bond {min}; unbond all or less")]
    SelfBondBelowMinimum {
        amount: Amount,
        remaining: Amount,
        min: Amount,
    },
    #[error("cannot transfer to yourself")]
    SelfTransfer,
    #[error("unbonding {requested} exceeds the self-bond {bonded}")]
    UnbondExceedsBond { requested: Amount, bonded: Amount },
    #[error("unknown model {model}: query /models for the registered ones")]
    UnknownModel { model: String },
    #[error("model {model} was retired at height {at_height}: it accepts no new results")]
    ModelRetired { model: String, at_height: Height },
    #[error("proof is {len} bytes, the limit is {max} bytes (params.models.max_proof_bytes)")]
    ProofTooLarge { len: usize, max: u64 },
    #[error(
        "wrong {what} for model {model}: it has {expected} values (shape {shape:?}), got {got}"
    )]
    WrongInferenceShape {
        model: String,
        what: &'static str,
        shape: Vec<u32>,
        expected: u64,
        got: usize,
    },
    #[error("invalid proof for model {model}: {reason}")]
    InvalidProof { model: String, reason: String },
    #[error("model {model} does not accept zk proofs (its verification modes: {modes})")]
    ZkNotAllowed { model: String, modes: String },
    #[error("input value {value} at position {position} is outside int8 -128..=127")]
    InputOutOfRange { position: usize, value: i32 },
    #[error("unknown proposal {id}: query /proposals for the existing ones")]
    UnknownProposal { id: u64 },
    #[error(
        "proposal {id} is in status {status}: deposits are only accepted in the deposit period"
    )]
    NotInDepositPeriod { id: u64, status: String },
    #[error("proposal {id} is in status {status}: votes are only accepted in the voting period")]
    NotInVotingPeriod { id: u64, status: String },
    #[error("{voter} has no voting power: only validators in the active set, not jailed or tombstoned, vote")]
    NoBondedStake { voter: Address },
    #[error("initial deposit {got} is below the minimum {min} ({what})")]
    DepositBelowMinimum {
        got: Amount,
        min: Amount,
        what: &'static str,
    },
    #[error("{proposer} already has {max} proposals in flight (params.governance.max_proposals_per_proposer)")]
    TooManyProposals { proposer: Address, max: u32 },
    #[error("invalid proposal: {0}")]
    InvalidProposal(String),
    #[error("invalid parameter change: {0}")]
    InvalidParamChange(String),
    #[error("invalid model file: {0}")]
    InvalidModelFile(String),
    #[error("consensus key {key} is not a valid ed25519 point: consensus cannot use it")]
    InvalidConsensusKey { key: String },
    #[error(
        "unbonding would leave no validator with power ({0} is the last): the chain would halt"
    )]
    LastValidator(Address),
    #[error("{validator} already has {max} unbondings in flight, the most allowed: wait for one to be released")]
    TooManyUnbondings { validator: Address, max: usize },
    #[error("transaction wants {gas} gas, more than a whole block may use ({max}, consensus_params.block.max_gas)")]
    GasOverBlockLimit { gas: u64, max: u64 },
    #[error("{0} is already an agent: change it with UpdateAgent or AddAgentBond")]
    AlreadyAgent(Address),
    #[error("{0} is not a registered agent: register with RegisterAgent")]
    UnknownAgent(Address),
    #[error("agent {agent} is exiting (its bond returns at height {release_height}): it takes no new work and cannot change")]
    AgentExiting {
        agent: Address,
        release_height: Height,
    },
    #[error("invalid agent: {0}")]
    InvalidAgent(String),
    #[error("agent bond {got} is below the minimum {min} (params.agents.min_bond)")]
    AgentBondBelowMinimum { got: Amount, min: Amount },
    #[error("unknown workflow {workflow:?} version {version}{}", current.map(|v| format!(" (the registered version is {v})")).unwrap_or_default())]
    UnknownWorkflowVersion {
        workflow: String,
        version: u32,
        current: Option<u32>,
    },
    #[error("budget {budget} is below the {needed} the workflow's step rewards need")]
    BudgetBelowRewards { budget: Amount, needed: Amount },
    #[error(
        "{submitter} already has {max} runs running (params.runs.max_open_runs_per_submitter)"
    )]
    TooManyOpenRuns { submitter: Address, max: u32 },
    #[error("invalid run: {0}")]
    InvalidRun(String),
    #[error("step {step} (model {model}) has no eligible agent: none active serves the model with bond >= {min_bond} and reputation >= {min_reputation}")]
    NoEligibleAgent {
        step: u32,
        model: String,
        min_bond: Amount,
        min_reputation: u64,
    },
    #[error("unknown run {0}: query /runs for the running ones")]
    UnknownRun(u64),
    #[error("run {run} is {status}: it takes no more results")]
    RunNotRunning { run: u64, status: String },
    #[error("step {step} of run {run} is {held}, not assigned to {signer}")]
    NotAssignee {
        run: u64,
        step: u32,
        signer: Address,
        held: String,
    },
    #[error("agent {agent} holds step {step} of run {run}: deliver it (or let it time out) before exiting")]
    AgentHoldsStep { agent: Address, run: u64, step: u32 },
    #[error("invalid optimistic result: {0}")]
    InvalidOptimisticResult(String),
    #[error("result bond {got} is below the {min} this step needs (params.disputes.min_result_bond + result_bond_per_kparam_usyn per 1,000 model parameters)")]
    ResultBondBelowMinimum { got: Amount, min: Amount },
    #[error("unknown dispute {0}: query /disputes for the existing ones")]
    UnknownDispute(u64),
    #[error("dispute {dispute} is {status}: it takes no more moves")]
    DisputeClosed { dispute: u64, status: String },
    #[error("{signer} is not a party of dispute {dispute}")]
    NotDisputeParty { dispute: u64, signer: Address },
    #[error("dispute {dispute}: it is the {turn}'s move ({expected}), not {signer}'s")]
    NotYourTurn {
        dispute: u64,
        signer: Address,
        turn: String,
        expected: String,
    },
    #[error("dispute {dispute}: the next move is {expected}, not {got}")]
    WrongMove {
        dispute: u64,
        expected: String,
        got: String,
    },
    #[error("dispute {dispute}: the {side}'s clock ran out at height {deadline}; now {now}")]
    ClockRanOut {
        dispute: u64,
        side: String,
        deadline: Height,
        now: Height,
    },
    #[error(
        "dispute {dispute}: the midpoint root is inconsistent with the committed roots: {reason}"
    )]
    InconsistentMidRoot { dispute: u64, reason: String },
    #[error(
        "dispute {dispute}: the one-step witness does not match the committed state: {reason}"
    )]
    BadWitness { dispute: u64, reason: String },
    #[error("step {step} of run {run} is past its challenge window (it ended at height {window_end}; now {now})")]
    ChallengeWindowClosed {
        run: u64,
        step: u32,
        window_end: Height,
        now: Height,
    },
    #[error("challenge bond {got} is below the {min} needed with {open} challenge(s) open on this result (params.disputes.min_challenge_bond, challenge_bond_step_ppm)")]
    ChallengeBondBelowMinimum { got: Amount, min: Amount, open: u32 },
    #[error("step {step} of run {run} is {status}: only an optimistic result in its window can be challenged")]
    NotChallengeable { run: u64, step: u32, status: String },
    #[error("{challenger} cannot challenge step {step} of run {run}: {reason}")]
    ChallengeRefused {
        run: u64,
        step: u32,
        challenger: Address,
        reason: String,
    },
}

impl TxError {
    /// The stable ABCI result code (0 is success).
    pub fn code(&self) -> u32 {
        match self {
            TxError::Undecodable(_) => 2,
            TxError::NonCanonical => 3,
            TxError::TooLarge { .. } => 4,
            TxError::WrongChainId { .. } => 5,
            TxError::BadSignature { .. } => 6,
            TxError::WrongNonce { .. } => 7,
            TxError::FeeTooLow { .. } => 8,
            TxError::InsufficientFunds { .. } => 9,
            TxError::AmountOverflow(_) => 10,
            TxError::UnknownValidator(_) => 11,
            TxError::BondBelowMinimum { .. } => 12,
            TxError::UnjailTooEarly { .. } => 13,
            TxError::AlreadyValidator(_) => 14,
            TxError::ConsensusKeyInUse(_) => 15,
            TxError::NotJailed(_) => 16,
            TxError::Tombstoned(_) => 17,
            TxError::ZeroAmount => 18,
            TxError::InvalidMoniker { .. } => 19,
            TxError::SelfBondBelowMinimum { .. } => 20,
            TxError::SelfTransfer => 21,
            TxError::UnbondExceedsBond { .. } => 22,
            TxError::UnknownModel { .. } => 23,
            TxError::ModelRetired { .. } => 24,
            TxError::ProofTooLarge { .. } => 25,
            TxError::WrongInferenceShape { .. } => 26,
            TxError::InvalidProof { .. } => 27,
            TxError::ZkNotAllowed { .. } => 28,
            TxError::InputOutOfRange { .. } => 29,
            TxError::UnknownProposal { .. } => 30,
            TxError::NotInDepositPeriod { .. } => 31,
            TxError::NotInVotingPeriod { .. } => 32,
            TxError::NoBondedStake { .. } => 33,
            TxError::DepositBelowMinimum { .. } => 34,
            TxError::TooManyProposals { .. } => 35,
            TxError::InvalidProposal(_) => 36,
            TxError::InvalidParamChange(_) => 37,
            TxError::InvalidModelFile(_) => 38,
            TxError::InvalidConsensusKey { .. } => 39,
            TxError::LastValidator(_) => 40,
            TxError::TooManyUnbondings { .. } => 41,
            TxError::GasOverBlockLimit { .. } => 42,
            TxError::AlreadyAgent(_) => 43,
            TxError::UnknownAgent(_) => 44,
            TxError::AgentExiting { .. } => 45,
            TxError::InvalidAgent(_) => 46,
            TxError::AgentBondBelowMinimum { .. } => 47,
            TxError::UnknownWorkflowVersion { .. } => 48,
            TxError::BudgetBelowRewards { .. } => 49,
            TxError::TooManyOpenRuns { .. } => 50,
            TxError::InvalidRun(_) => 51,
            TxError::NoEligibleAgent { .. } => 52,
            TxError::UnknownRun(_) => 53,
            TxError::RunNotRunning { .. } => 54,
            TxError::NotAssignee { .. } => 55,
            TxError::AgentHoldsStep { .. } => 56,
            TxError::InvalidOptimisticResult(_) => 57,
            TxError::ResultBondBelowMinimum { .. } => 58,
            TxError::UnknownDispute(_) => 59,
            TxError::DisputeClosed { .. } => 60,
            TxError::NotDisputeParty { .. } => 61,
            TxError::NotYourTurn { .. } => 62,
            TxError::WrongMove { .. } => 63,
            TxError::ClockRanOut { .. } => 64,
            TxError::InconsistentMidRoot { .. } => 65,
            TxError::BadWitness { .. } => 66,
            TxError::ChallengeWindowClosed { .. } => 67,
            TxError::ChallengeBondBelowMinimum { .. } => 68,
            TxError::NotChallengeable { .. } => 69,
            TxError::ChallengeRefused { .. } => 70,
        }
    }
}

impl From<CodecError> for TxError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::NonCanonical { .. } => TxError::NonCanonical,
            CodecError::TooLarge { len, limit } => TxError::TooLarge {
                len,
                max: limit as u64,
            },
            other => TxError::Undecodable(other.to_string()),
        }
    }
}

impl From<AmountError> for TxError {
    fn from(e: AmountError) -> Self {
        TxError::AmountOverflow(e.to_string())
    }
}

/// A handler's failure: the transaction's fault, or the node's (state trouble).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Tx(#[from] TxError),
    #[error(transparent)]
    State(#[from] StateError),
}

impl From<AmountError> for HandlerError {
    fn from(e: AmountError) -> Self {
        HandlerError::Tx(e.into())
    }
}

/// A failure that is never a transaction's fault: storage trouble, a
/// corrupt record, or a broken invariant of the chain's own records (a block
/// hook that finds the treasury or an escrow holding less than it owes). It
/// stops the node: one that went on would diverge from the others. The one
/// type every block hook and keeper-at-block-level returns.
#[derive(Debug, thiserror::Error)]
pub enum InvariantError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{module}: invariant broken: {reason}")]
    Broken {
        module: &'static str,
        reason: String,
    },
}

impl InvariantError {
    /// A broken invariant of `module`.
    pub fn broken(module: &'static str, reason: impl Into<String>) -> InvariantError {
        InvariantError::Broken {
            module,
            reason: reason.into(),
        }
    }
}

/// Turns a handler's error met where no transaction is at fault (a block
/// hook, genesis) into an [`InvariantError`] of `module`: the one converter.
pub trait OrInvariant<T> {
    /// `Tx` errors become [`InvariantError::Broken`]; state errors pass through.
    fn or_invariant(self, module: &'static str) -> Result<T, InvariantError>;
}

impl<T> OrInvariant<T> for Result<T, HandlerError> {
    fn or_invariant(self, module: &'static str) -> Result<T, InvariantError> {
        self.map_err(|e| match e {
            HandlerError::State(e) => InvariantError::State(e),
            HandlerError::Tx(e) => InvariantError::broken(module, e.to_string()),
        })
    }
}

impl<T> OrInvariant<T> for Result<T, AmountError> {
    fn or_invariant(self, module: &'static str) -> Result<T, InvariantError> {
        self.map_err(|e| InvariantError::broken(module, e.to_string()))
    }
}

/// A failure that stops the node (never a transaction's fault).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Invariant(#[from] InvariantError),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error("invalid genesis: {0}")]
    Genesis(String),
    #[error("block height {got} out of order: the last committed height is {committed}")]
    HeightOutOfOrder { got: u64, committed: u64 },
    #[error("commit without a finalized block")]
    NothingToCommit,
    #[error("chain is not initialized: InitChain has not run")]
    NotInitialized,
    #[error("model registry: {0}")]
    ModelRegistry(String),
}

impl AppError {
    /// A keeper's refusal met while writing genesis: the genesis file asks
    /// for something the rules refuse (an overflowing balance, a bond larger
    /// than its account), so the genesis is invalid.
    pub fn from_genesis(e: HandlerError) -> AppError {
        match e {
            HandlerError::State(e) => AppError::State(e),
            HandlerError::Tx(e) => AppError::Genesis(e.to_string()),
        }
    }
}

/// The clause `FeeTooLow` adds when part of the minimum pays for a body's work.
fn execution_note(execution: Amount) -> String {
    if execution.is_zero() {
        String::new()
    } else {
        format!(", of which {execution} pays for verifying the proof (models.verify_fee_per_row_usyn per circuit row)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_in_messages_carry_their_unit_once() {
        let e = TxError::DepositBelowMinimum {
            got: Amount(21_800_303),
            min: Amount(1_000_000_000),
            what: "initial deposit",
        };
        assert_eq!(
            e.to_string(),
            "initial deposit 21800303usyn is below the minimum 1000000000usyn (initial deposit)"
        );
    }
}
