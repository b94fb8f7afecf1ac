//! Events flattened to ABCI key/value attributes.

use super::*;

impl Event {
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
