//! End of block: deposit periods that ran out, voting periods that ended,
//! the tally, and the atomic execution of passed proposals.

use std::sync::Arc;

use synod_protocol::{
    governance::{
        DepositFate, Proposal, ProposalId, ProposalKind, ProposalStatus, Tally, TallyOutcome,
    },
    Amount, Event, Height,
};

use super::{
    chain_params, deposits, escrow, genesis, handlers,
    handlers::check_against_state,
    params,
    params::set_chain_params,
    proposal, put_proposal,
    state_key::{self, Queue},
    tally,
};
use crate::{
    accounts,
    component::{not_handled, BlockContext, BlockEffects, Component, GenesisContext, TxContext},
    error::{AppError, HandlerError, InvariantError, OrInvariant, TxError},
    models::{self, ModelVerifier, VerifierCache},
    rewards,
    state::{State, StateError},
    workflows,
};

/// The governance component, with the verifying keys of the registered
/// models (a model proposal derives its key when it executes).
pub struct Governance {
    pub verifiers: VerifierCache,
}

impl Component for Governance {
    fn name(&self) -> &'static str {
        "governance"
    }

    fn init_genesis(
        &self,
        state: &mut State,
        genesis: &synod_protocol::GenesisAppState,
        _ctx: &GenesisContext,
    ) -> Result<(), AppError> {
        genesis::init_genesis(state, genesis);
        Ok(())
    }

    /// Deposit periods that ran out, voting periods that ended: the tally
    /// and the execution of passed proposals.
    fn end_block(
        &self,
        state: &mut State,
        block: &BlockContext<'_>,
        out: &mut BlockEffects,
    ) -> Result<(), InvariantError> {
        end_block(state, block.height, &self.verifiers, &mut out.events)
    }

    fn check_stateless(&self, body: &synod_protocol::TxBody) -> Result<(), TxError> {
        handlers::check_stateless(body)
    }

    fn check_and_execute(
        &self,
        state: &mut State,
        tx: &TxContext<'_>,
        body: &synod_protocol::TxBody,
        events: &mut Vec<Event>,
    ) -> Result<(), HandlerError> {
        use synod_protocol::TxBody;
        match body {
            TxBody::Propose {
                kind,
                title,
                summary,
                deposit,
                expedited,
            } => handlers::propose(
                state,
                &tx.signer,
                handlers::ProposeArgs {
                    kind,
                    title,
                    summary,
                    deposit: *deposit,
                    expedited: *expedited,
                },
                tx.height,
                events,
            ),
            TxBody::Deposit { proposal, amount } => {
                handlers::deposit(state, &tx.signer, *proposal, *amount, tx.height, events)
            }
            TxBody::Vote { proposal, option } => {
                handlers::vote(state, &tx.signer, *proposal, *option, tx.height, events)
            }
            other => Err(not_handled(self.name(), other)),
        }
    }
}

/// Proposal ids whose `queue` period ends at `height` or earlier, in order.
fn due(
    state: &State,
    queue: Queue,
    height: Height,
) -> Result<Vec<(Vec<u8>, ProposalId)>, StateError> {
    Ok(state
        .prefix_raw(&state_key::queue_prefix(queue))?
        .into_iter()
        .filter_map(|(key, _)| {
            let (end, id) = state_key::parse_queue_entry(queue, &key)?;
            Some((key, end, id))
        })
        .take_while(|(_, end, _)| *end <= height)
        .map(|(key, _, id)| (key, id))
        .collect())
}

/// Runs at the end of every block, after the transactions. Each passed
/// proposal executes in a state layer of its own.
fn end_block(
    state: &mut State,
    height: Height,
    cache: &VerifierCache,
    events: &mut Vec<Event>,
) -> Result<(), InvariantError> {
    for (key, id) in due(state, Queue::Deposit, height)? {
        state.delete(key);
        let Some(mut p) = proposal(state, id)? else {
            continue;
        };
        if p.status != ProposalStatus::DepositPeriod {
            continue;
        }
        let required = params(state)?.required_deposit(p.expedited);
        let outcome = format!(
            "deposit period ended with {} of the {} needed",
            p.total_deposit, required
        );
        finish(
            state,
            &mut p,
            ProposalStatus::Expired,
            outcome,
            DepositFate::Refunded,
            events,
        )?;
    }

    for (key, id) in due(state, Queue::Voting, height)? {
        state.delete(key);
        let Some(mut p) = proposal(state, id)? else {
            continue;
        };
        if p.status != ProposalStatus::VotingPeriod {
            continue;
        }
        let gp = params(state)?;
        let t = tally(state, id)?;
        let threshold = if p.expedited {
            gp.expedited_threshold_ppm
        } else {
            gp.threshold_ppm
        };
        let decided = t.outcome(&gp, threshold);
        let summary = describe_tally(&t);
        if p.expedited && decided != TallyOutcome::Passed {
            // Cosmos SDK rule: an expedited proposal that does not pass goes
            // on as a regular one, keeping its votes and deposits, until the
            // regular voting period from its start ends.
            let start = p.voting_start_height.unwrap_or(height);
            let end = Height(start.value().saturating_add(gp.voting_blocks)).max(height.next());
            p.expedited = false;
            p.expedited_until = Some(height);
            p.voting_end_height = Some(end);
            state.put(state_key::queue_entry(Queue::Voting, end, id), &1u8);
            tracing::info!(proposal = id, %summary, voting_end = end.value(), "expedited proposal did not pass: now a regular proposal");
            events.push(Event::ProposalExpeditedConverted {
                proposal: id,
                voting_end_height: end,
            });
            put_proposal(state, &p);
            continue;
        }
        p.final_tally = Some(t.clone());
        let ppm = |v: u64| format!("{}.{}%", v / 10_000, (v % 10_000) / 1_000);
        let (status, outcome, fate) = match decided {
            TallyOutcome::Passed => match execute(state, &p, height, cache)? {
                Ok(done) => {
                    events.extend(done.events);
                    if let Some(verifier) = done.verifier {
                        cache.insert(verifier);
                    }
                    (
                        ProposalStatus::Passed,
                        format!("passed and executed: {summary}"),
                        DepositFate::Refunded,
                    )
                }
                Err(reason) => {
                    tracing::warn!(proposal = id, %reason, "passed proposal failed to execute; nothing changed");
                    (
                        ProposalStatus::Failed,
                        format!(
                            "passed ({summary}) but execution failed, nothing changed: {reason}"
                        ),
                        DepositFate::Refunded,
                    )
                }
            },
            TallyOutcome::Rejected => (
                ProposalStatus::Rejected,
                format!(
                    "rejected: yes did not exceed {} of non-abstaining votes ({summary})",
                    ppm(threshold)
                ),
                DepositFate::Refunded,
            ),
            TallyOutcome::Vetoed => (
                ProposalStatus::Rejected,
                format!(
                    "vetoed: no_with_veto exceeded {} of the votes, deposits burned ({summary})",
                    ppm(gp.veto_threshold_ppm)
                ),
                DepositFate::Burned,
            ),
            TallyOutcome::QuorumFailed => (
                ProposalStatus::Rejected,
                format!(
                    "quorum not reached: {} of bonded stake voted, {} needed; deposits {}",
                    Tally::percent(t.turnout(), t.bonded.0),
                    ppm(gp.quorum_ppm),
                    if gp.burn_vote_quorum {
                        "burned"
                    } else {
                        "refunded"
                    }
                ),
                if gp.burn_vote_quorum {
                    DepositFate::Burned
                } else {
                    DepositFate::Refunded
                },
            ),
        };
        finish(state, &mut p, status, outcome, fate, events)?;
    }
    Ok(())
}

fn describe_tally(t: &Tally) -> String {
    let turnout = t.turnout();
    format!(
        "yes {} no {} abstain {} no_with_veto {} of votes; turnout {} of bonded",
        Tally::percent(t.yes.0, turnout),
        Tally::percent(t.no.0, turnout),
        Tally::percent(t.abstain.0, turnout),
        Tally::percent(t.no_with_veto.0, turnout),
        Tally::percent(turnout, t.bonded.0),
    )
}

/// Ends a proposal: status, outcome, deposits refunded or burned, the
/// proposer's in-flight count.
fn finish(
    state: &mut State,
    p: &mut Proposal,
    status: ProposalStatus,
    outcome: String,
    fate: DepositFate,
    events: &mut Vec<Event>,
) -> Result<(), InvariantError> {
    let mut total = Amount::ZERO;
    for d in deposits(state, p.id)? {
        total.0 += d.amount.0;
        if fate == DepositFate::Refunded {
            accounts::credit(state, &d.depositor, d.amount).or_invariant("governance")?;
        }
    }
    if fate == DepositFate::Burned {
        accounts::burn(state, total).or_invariant("governance")?;
    }
    let held = escrow(state)?.checked_sub(total).map_err(|e| {
        InvariantError::broken(
            "governance",
            format!("escrow holds less than proposal {}'s deposits: {e}", p.id),
        )
    })?;
    state.put(state_key::escrow(), &held);
    let key = state_key::in_flight(&p.proposer);
    let n: u32 = state.get(&key)?.unwrap_or(0);
    if n <= 1 {
        state.delete(key);
    } else {
        state.put(key, &(n - 1));
    }
    tracing::info!(proposal = p.id, %status, %outcome, "proposal ended");
    p.status = status;
    p.outcome = Some(outcome.clone());
    p.deposits = fate;
    put_proposal(state, p);
    events.push(Event::ProposalEnded {
        proposal: p.id,
        status,
        outcome,
    });
    if !total.is_zero() {
        events.push(Event::ProposalDepositsSettled {
            proposal: p.id,
            fate,
            amount: total,
        });
    }
    Ok(())
}

/// What a successful execution produced.
struct Executed {
    events: Vec<Event>,
    /// A verifier to keep once the registration is in state.
    verifier: Option<Arc<ModelVerifier>>,
}

/// Executes a passed proposal in its own state layer: all of it, or nothing
/// (`Ok(Err(reason))`). Only storage trouble is an `Err`.
fn execute(
    state: &mut State,
    p: &Proposal,
    height: Height,
    cache: &VerifierCache,
) -> Result<Result<Executed, TxError>, StateError> {
    let mut events = Vec::new();
    match state.atomic(|state| apply(state, &p.kind, p.id, height, cache, &mut events)) {
        Ok(verifier) => Ok(Ok(Executed { events, verifier })),
        Err(HandlerError::Tx(e)) => Ok(Err(e)),
        Err(HandlerError::State(e)) => Err(e),
    }
}

/// The effect of each proposal kind. Every check runs before the first
/// write that could be left behind; the caller drops all writes on error
/// anyway.
fn apply(
    state: &mut State,
    kind: &ProposalKind,
    id: ProposalId,
    height: Height,
    cache: &VerifierCache,
    events: &mut Vec<Event>,
) -> Result<Option<Arc<ModelVerifier>>, HandlerError> {
    let new_params = check_against_state(state, kind)?;
    let max_k = models::params(state)?.max_k;
    match kind {
        ProposalKind::RegisterModel { model, modes } => {
            let reg = models::registry::prepare(cache, model, modes, max_k, height)
                .map_err(|e| TxError::InvalidModelFile(e.to_string()))?;
            models::register(state, &reg);
            events.push(Event::ModelRegistered {
                model: reg.record.id,
                name: reg.record.name.clone(),
                vk_hash: reg.record.vk_hash,
                successor_of: None,
            });
            Ok(reg.verifier)
        }
        ProposalKind::UpgradeModel {
            previous,
            model,
            modes,
            grace_blocks,
        } => {
            let reg = models::registry::prepare(cache, model, modes, max_k, height)
                .map_err(|e| TxError::InvalidModelFile(e.to_string()))?;
            let reg = models::upgrade(state, previous, reg, *grace_blocks, height, events)?;
            Ok(reg.verifier)
        }
        ProposalKind::RetireModel { model } => {
            models::retire(state, model, height, events)?;
            Ok(None)
        }
        ProposalKind::RegisterWorkflow { workflow } | ProposalKind::UpdateWorkflow { workflow } => {
            let record = workflows::register(state, workflow, id, height)?;
            events.push(Event::WorkflowRegistered {
                name: workflow.name.clone(),
                version: record.version,
                spec_hash: record.spec_hash,
            });
            Ok(None)
        }
        ProposalKind::ParamChange { changes } => {
            let Some(p) = new_params else {
                return Ok(None);
            };
            let before = chain_params(state)?;
            set_chain_params(state, &p)?;
            for c in changes {
                let value = p
                    .value_of(&c.module, &c.name)
                    .unwrap_or_else(|| c.value.clone());
                tracing::info!(module = %c.module, name = %c.name, from = ?before.value_of(&c.module, &c.name), to = %value, "parameter changed by governance");
                events.push(Event::ParamChanged {
                    module: c.module.clone(),
                    name: c.name.clone(),
                    value,
                });
            }
            Ok(None)
        }
        ProposalKind::TreasurySpend { recipient, amount } => {
            rewards::spend_treasury(state, recipient, *amount, events)?;
            Ok(None)
        }
        ProposalKind::Text => Ok(None),
    }
}
