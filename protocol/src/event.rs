//! Events the chain emits, typed here and flattened to ABCI key/value
//! attributes at the edge.

use serde::{Deserialize, Serialize};

mod attributes;

use crate::{
    address::Address,
    amount::Amount,
    governance::{DepositFate, ProposalId, ProposalStatus, VoteOption},
    height::Height,
    keys::PubKey,
};

/// Something that happened on chain that clients may want to follow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Transfer {
        from: Address,
        to: Address,
        amount: Amount,
    },
    FeePaid {
        payer: Address,
        fee: Amount,
    },
    Bonded {
        validator: Address,
        amount: Amount,
    },
    UnbondingStarted {
        validator: Address,
        amount: Amount,
        release_height: Height,
    },
    UnbondingReleased {
        validator: Address,
        amount: Amount,
    },
    ValidatorRegistered {
        validator: Address,
        consensus_key: PubKey,
        moniker: String,
    },
    Slashed {
        validator: Address,
        amount: Amount,
        reason: String,
        infraction_height: Height,
    },
    Jailed {
        validator: Address,
        until_height: Height,
        reason: String,
    },
    Tombstoned {
        validator: Address,
    },
    Unjailed {
        validator: Address,
    },
    ValidatorSetChanged {
        validator: Address,
        power: u64,
    },
    Rewarded {
        recipient: Address,
        amount: Amount,
        reason: String,
    },
    /// A proof of inference verified: `output = model(input)` where the input
    /// is committed to by `input_commitment` (the zkml trace leaf of the input
    /// tensor, `synod_zkml::trace::tensor_leaf`).
    InferenceVerified {
        model: [u8; 32],
        submitter: Address,
        input_commitment: [u8; 32],
        output: Vec<i32>,
    },
    /// A governance proposal was submitted.
    ProposalSubmitted {
        proposal: ProposalId,
        proposer: Address,
        kind: String,
        expedited: bool,
        deposit: Amount,
    },
    /// Deposits were added to a proposal.
    ProposalDeposit {
        proposal: ProposalId,
        depositor: Address,
        amount: Amount,
        total: Amount,
    },
    /// A proposal reached its minimum deposit and is open for votes.
    VotingStarted {
        proposal: ProposalId,
        voting_end_height: Height,
    },
    /// A vote was cast (or replaced).
    Voted {
        proposal: ProposalId,
        voter: Address,
        option: VoteOption,
    },
    /// An expedited proposal missed the expedited threshold and goes on as a
    /// regular one.
    ProposalExpeditedConverted {
        proposal: ProposalId,
        voting_end_height: Height,
    },
    /// A proposal ended: `status` is passed, rejected, failed or expired.
    ProposalEnded {
        proposal: ProposalId,
        status: ProposalStatus,
        outcome: String,
    },
    /// A proposal's deposits were paid back or burned.
    ProposalDepositsSettled {
        proposal: ProposalId,
        fate: DepositFate,
        amount: Amount,
    },
    /// A model entered the registry (by governance).
    ModelRegistered {
        model: [u8; 32],
        name: String,
        vk_hash: [u8; 32],
        successor_of: Option<[u8; 32]>,
    },
    /// A model will be retired at `at_height` (immediately when it is now).
    ModelRetirementScheduled {
        model: [u8; 32],
        at_height: Height,
    },
    /// A model no longer accepts results.
    ModelRetired {
        model: [u8; 32],
    },
    /// A chain parameter changed.
    ParamChanged {
        module: String,
        name: String,
        value: String,
    },
    /// The treasury paid out.
    TreasurySpent {
        recipient: Address,
        amount: Amount,
    },
    /// A workflow was registered or updated to `version`.
    WorkflowRegistered {
        name: String,
        version: u32,
        spec_hash: [u8; 32],
    },
    /// An agent registered with its first bond.
    AgentRegistered {
        agent: Address,
        bond: Amount,
        models: u32,
    },
    /// An agent changed its models or metadata.
    AgentUpdated {
        agent: Address,
        models: u32,
    },
    /// An agent added to its bond.
    AgentBonded {
        agent: Address,
        amount: Amount,
    },
    /// An agent asked to exit; its bond returns at `release_height`.
    AgentExiting {
        agent: Address,
        release_height: Height,
    },
    /// An exited agent's bond returned to its account.
    AgentBondReleased {
        agent: Address,
        amount: Amount,
    },
    /// A run started, its budget escrowed.
    RunSubmitted {
        run: u64,
        workflow: String,
        version: u32,
        submitter: Address,
        budget: Amount,
    },
    /// A step was given to `agent`, to deliver by the end of block `deadline`.
    StepAssigned {
        run: u64,
        step: u32,
        agent: Address,
        deadline: Height,
    },
    /// A step's result is final; its executor earned `reward`.
    StepFinal {
        run: u64,
        step: u32,
        agent: Address,
        reward: Amount,
    },
    /// `agent` missed a step's deadline and forfeited `slashed` of its bond.
    StepTimedOut {
        run: u64,
        step: u32,
        agent: Address,
        slashed: Amount,
    },
    /// A run failed at `step`; `refund` went back to the submitter.
    RunFailed {
        run: u64,
        step: u32,
        reason: String,
        refund: Amount,
    },
    /// The paper's `WorkflowVerified(workflowHash, verifier)`: every step of
    /// run `run` is final; `refund` (the unspent escrow) went back to the
    /// submitter.
    WorkflowVerified {
        workflow_hash: [u8; 32],
        verifier: Address,
        workflow: String,
        version: u32,
        run: u64,
        refund: Amount,
    },
    /// An optimistic result of step `step`, bonded by `bond`, open to
    /// challenge until the end of block `window_end`.
    ResultAsserted {
        run: u64,
        step: u32,
        agent: Address,
        trace_root: [u8; 32],
        bond: Amount,
        window_end: Height,
    },
    /// `challenger` disputes that result, bonding `bond`.
    DisputeOpened {
        dispute: u64,
        run: u64,
        step: u32,
        asserter: Address,
        challenger: Address,
        bond: Amount,
    },
    /// A move of the bisection game (`bisect`, `select`, `one-step`).
    DisputeMoved {
        dispute: u64,
        by: Address,
        kind: String,
        lo: u32,
        hi: u32,
    },
    /// A dispute ended: `winner` won (`reason`: `one-step`, `timeout` or
    /// `void`); `paid` of the loser's bond went to the winner and `burned`
    /// was destroyed.
    DisputeSettled {
        dispute: u64,
        winner: Address,
        loser: Address,
        reason: String,
        paid: Amount,
        burned: Amount,
    },
}

impl Event {
    /// The ABCI event type.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Transfer { .. } => "transfer",
            Event::FeePaid { .. } => "fee_paid",
            Event::Bonded { .. } => "bonded",
            Event::UnbondingStarted { .. } => "unbonding_started",
            Event::UnbondingReleased { .. } => "unbonding_released",
            Event::ValidatorRegistered { .. } => "validator_registered",
            Event::Slashed { .. } => "slashed",
            Event::Jailed { .. } => "jailed",
            Event::Tombstoned { .. } => "tombstoned",
            Event::Unjailed { .. } => "unjailed",
            Event::ValidatorSetChanged { .. } => "validator_set_changed",
            Event::Rewarded { .. } => "rewarded",
            Event::InferenceVerified { .. } => "inference_verified",
            Event::ProposalSubmitted { .. } => "proposal_submitted",
            Event::ProposalDeposit { .. } => "proposal_deposit",
            Event::VotingStarted { .. } => "voting_started",
            Event::Voted { .. } => "voted",
            Event::ProposalExpeditedConverted { .. } => "proposal_expedited_converted",
            Event::ProposalEnded { .. } => "proposal_ended",
            Event::ProposalDepositsSettled { .. } => "proposal_deposits_settled",
            Event::ModelRegistered { .. } => "model_registered",
            Event::ModelRetirementScheduled { .. } => "model_retirement_scheduled",
            Event::ModelRetired { .. } => "model_retired",
            Event::ParamChanged { .. } => "param_changed",
            Event::TreasurySpent { .. } => "treasury_spent",
            Event::WorkflowRegistered { .. } => "workflow_registered",
            Event::AgentRegistered { .. } => "agent_registered",
            Event::AgentUpdated { .. } => "agent_updated",
            Event::AgentBonded { .. } => "agent_bonded",
            Event::AgentExiting { .. } => "agent_exiting",
            Event::AgentBondReleased { .. } => "agent_bond_released",
            Event::RunSubmitted { .. } => "run_submitted",
            Event::StepAssigned { .. } => "step_assigned",
            Event::StepFinal { .. } => "step_final",
            Event::StepTimedOut { .. } => "step_timed_out",
            Event::RunFailed { .. } => "run_failed",
            Event::WorkflowVerified { .. } => "workflow_verified",
            Event::ResultAsserted { .. } => "result_asserted",
            Event::DisputeOpened { .. } => "dispute_opened",
            Event::DisputeMoved { .. } => "dispute_moved",
            Event::DisputeSettled { .. } => "dispute_settled",
        }
    }
}
