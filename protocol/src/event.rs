//! Events the chain emits, typed here and flattened to ABCI key/value
//! attributes at the edge.

use serde::{Deserialize, Serialize};

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

    /// The event's fields as ABCI attributes (key, value), values as people read them.
    pub fn attributes(&self) -> Vec<(&'static str, String)> {
        let a = |v: &Address| v.to_string();
        let n = |v: &Amount| v.0.to_string();
        match self {
            Event::Transfer { from, to, amount } => {
                vec![("from", a(from)), ("to", a(to)), ("amount", n(amount))]
            }
            Event::FeePaid { payer, fee } => vec![("payer", a(payer)), ("fee", n(fee))],
            Event::Bonded { validator, amount } => {
                vec![("validator", a(validator)), ("amount", n(amount))]
            }
            Event::UnbondingStarted {
                validator,
                amount,
                release_height,
            } => vec![
                ("validator", a(validator)),
                ("amount", n(amount)),
                ("release_height", release_height.to_string()),
            ],
            Event::UnbondingReleased { validator, amount } => {
                vec![("validator", a(validator)), ("amount", n(amount))]
            }
            Event::ValidatorRegistered {
                validator,
                consensus_key,
                moniker,
            } => vec![
                ("validator", a(validator)),
                ("consensus_key", consensus_key.to_string()),
                ("moniker", moniker.clone()),
            ],
            Event::Slashed {
                validator,
                amount,
                reason,
                infraction_height,
            } => vec![
                ("validator", a(validator)),
                ("amount", n(amount)),
                ("reason", reason.clone()),
                ("infraction_height", infraction_height.to_string()),
            ],
            Event::Jailed {
                validator,
                until_height,
                reason,
            } => vec![
                ("validator", a(validator)),
                ("until_height", until_height.to_string()),
                ("reason", reason.clone()),
            ],
            Event::Tombstoned { validator } | Event::Unjailed { validator } => {
                vec![("validator", a(validator))]
            }
            Event::ValidatorSetChanged { validator, power } => {
                vec![("validator", a(validator)), ("power", power.to_string())]
            }
            Event::Rewarded {
                recipient,
                amount,
                reason,
            } => vec![
                ("recipient", a(recipient)),
                ("amount", n(amount)),
                ("reason", reason.clone()),
            ],
            Event::InferenceVerified {
                model,
                submitter,
                input_commitment,
                output,
            } => vec![
                ("model", hex::encode(model)),
                ("submitter", a(submitter)),
                ("input_commitment", hex::encode(input_commitment)),
                (
                    "output",
                    output
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ],
            Event::ProposalSubmitted {
                proposal,
                proposer,
                kind,
                expedited,
                deposit,
            } => vec![
                ("proposal", proposal.to_string()),
                ("proposer", a(proposer)),
                ("kind", kind.clone()),
                ("expedited", expedited.to_string()),
                ("deposit", n(deposit)),
            ],
            Event::ProposalDeposit {
                proposal,
                depositor,
                amount,
                total,
            } => vec![
                ("proposal", proposal.to_string()),
                ("depositor", a(depositor)),
                ("amount", n(amount)),
                ("total", n(total)),
            ],
            Event::VotingStarted {
                proposal,
                voting_end_height,
            }
            | Event::ProposalExpeditedConverted {
                proposal,
                voting_end_height,
            } => vec![
                ("proposal", proposal.to_string()),
                ("voting_end_height", voting_end_height.to_string()),
            ],
            Event::Voted {
                proposal,
                voter,
                option,
            } => vec![
                ("proposal", proposal.to_string()),
                ("voter", a(voter)),
                ("option", option.to_string()),
            ],
            Event::ProposalEnded {
                proposal,
                status,
                outcome,
            } => vec![
                ("proposal", proposal.to_string()),
                ("status", status.to_string()),
                ("outcome", outcome.clone()),
            ],
            Event::ProposalDepositsSettled {
                proposal,
                fate,
                amount,
            } => vec![
                ("proposal", proposal.to_string()),
                (
                    "fate",
                    match fate {
                        DepositFate::Held => "held",
                        DepositFate::Refunded => "refunded",
                        DepositFate::Burned => "burned",
                    }
                    .to_string(),
                ),
                ("amount", n(amount)),
            ],
            Event::ModelRegistered {
                model,
                name,
                vk_hash,
                successor_of,
            } => {
                let mut v = vec![
                    ("model", hex::encode(model)),
                    ("name", name.clone()),
                    ("vk_hash", hex::encode(vk_hash)),
                ];
                if let Some(prev) = successor_of {
                    v.push(("successor_of", hex::encode(prev)));
                }
                v
            }
            Event::ModelRetirementScheduled { model, at_height } => vec![
                ("model", hex::encode(model)),
                ("at_height", at_height.to_string()),
            ],
            Event::ModelRetired { model } => vec![("model", hex::encode(model))],
            Event::ParamChanged {
                module,
                name,
                value,
            } => vec![
                ("module", module.clone()),
                ("name", name.clone()),
                ("value", value.clone()),
            ],
            Event::TreasurySpent { recipient, amount } => {
                vec![("recipient", a(recipient)), ("amount", n(amount))]
            }
            Event::WorkflowRegistered {
                name,
                version,
                spec_hash,
            } => vec![
                ("name", name.clone()),
                ("version", version.to_string()),
                ("spec_hash", hex::encode(spec_hash)),
            ],
            Event::AgentRegistered {
                agent,
                bond,
                models,
            } => vec![
                ("agent", a(agent)),
                ("bond", n(bond)),
                ("models", models.to_string()),
            ],
            Event::AgentUpdated { agent, models } => {
                vec![("agent", a(agent)), ("models", models.to_string())]
            }
            Event::AgentBonded { agent, amount } | Event::AgentBondReleased { agent, amount } => {
                vec![("agent", a(agent)), ("amount", n(amount))]
            }
            Event::AgentExiting {
                agent,
                release_height,
            } => vec![
                ("agent", a(agent)),
                ("release_height", release_height.to_string()),
            ],
            Event::RunSubmitted {
                run,
                workflow,
                version,
                submitter,
                budget,
            } => vec![
                ("run", run.to_string()),
                ("workflow", workflow.clone()),
                ("version", version.to_string()),
                ("submitter", a(submitter)),
                ("budget", n(budget)),
            ],
            Event::StepAssigned {
                run,
                step,
                agent,
                deadline,
            } => vec![
                ("run", run.to_string()),
                ("step", step.to_string()),
                ("agent", a(agent)),
                ("deadline", deadline.to_string()),
            ],
            Event::StepFinal {
                run,
                step,
                agent,
                reward,
            } => vec![
                ("run", run.to_string()),
                ("step", step.to_string()),
                ("agent", a(agent)),
                ("reward", n(reward)),
            ],
            Event::StepTimedOut {
                run,
                step,
                agent,
                slashed,
            } => vec![
                ("run", run.to_string()),
                ("step", step.to_string()),
                ("agent", a(agent)),
                ("slashed", n(slashed)),
            ],
            Event::RunFailed {
                run,
                step,
                reason,
                refund,
            } => vec![
                ("run", run.to_string()),
                ("step", step.to_string()),
                ("reason", reason.clone()),
                ("refund", n(refund)),
            ],
            Event::WorkflowVerified {
                workflow_hash,
                verifier,
                workflow,
                version,
                run,
                refund,
            } => vec![
                ("workflow_hash", hex::encode(workflow_hash)),
                ("verifier", a(verifier)),
                ("workflow", workflow.clone()),
                ("version", version.to_string()),
                ("run", run.to_string()),
                ("refund", n(refund)),
            ],
            Event::ResultAsserted {
                run,
                step,
                agent,
                trace_root,
                bond,
                window_end,
            } => vec![
                ("run", run.to_string()),
                ("step", step.to_string()),
                ("agent", a(agent)),
                ("trace_root", hex::encode(trace_root)),
                ("bond", n(bond)),
                ("window_end", window_end.to_string()),
            ],
            Event::DisputeOpened {
                dispute,
                run,
                step,
                asserter,
                challenger,
                bond,
            } => vec![
                ("dispute", dispute.to_string()),
                ("run", run.to_string()),
                ("step", step.to_string()),
                ("asserter", a(asserter)),
                ("challenger", a(challenger)),
                ("bond", n(bond)),
            ],
            Event::DisputeMoved {
                dispute,
                by,
                kind,
                lo,
                hi,
            } => vec![
                ("dispute", dispute.to_string()),
                ("by", a(by)),
                ("kind", kind.clone()),
                ("lo", lo.to_string()),
                ("hi", hi.to_string()),
            ],
            Event::DisputeSettled {
                dispute,
                winner,
                loser,
                reason,
                paid,
                burned,
            } => vec![
                ("dispute", dispute.to_string()),
                ("winner", a(winner)),
                ("loser", a(loser)),
                ("reason", reason.clone()),
                ("paid", n(paid)),
                ("burned", n(burned)),
            ],
        }
    }
}
