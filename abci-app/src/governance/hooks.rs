//! End of block: deposit periods that ran out, voting periods that ended,
//! the tally, and the atomic execution of passed proposals.

use std::sync::Arc;

use synod_protocol::{
    governance::{
        DepositFate, Proposal, ProposalId, ProposalKind, ProposalStatus, Tally, TallyOutcome,
        WorkflowRecord,
    },
    Amount, Event, Height,
};

use super::{
    chain_params, deposits, escrow,
    handlers::check_against_state,
    params, proposal, put_proposal, set_chain_params,
    state_key::{self, Queue},
    tally,
};
use crate::{
    accounts,
    error::{HandlerError, TxError},
    models::{self, ModelVerifier, VerifierCache},
    rewards,
    state::{State, StateError},
    workflows,
};

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

/// Runs at the end of every block, after the transactions. Must be called
/// with no transaction layer open (it opens its own per execution).
pub fn end_block(
    state: &mut State,
    height: Height,
    cache: &VerifierCache,
    events: &mut Vec<Event>,
) -> Result<(), StateError> {
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
            "deposit period ended with {} usyn of the {} usyn needed",
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
                    "quorum not reached: {} of bonded stake voted, {} needed; deposits burned",
                    Tally::percent(t.turnout(), t.bonded.0),
                    ppm(gp.quorum_ppm)
                ),
                DepositFate::Burned,
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
) -> Result<(), StateError> {
    let mut total = Amount::ZERO;
    for d in deposits(state, p.id)? {
        total.0 += d.amount.0;
        if fate == DepositFate::Refunded {
            accounts::credit(state, &d.depositor, d.amount).map_err(fatal)?;
        }
    }
    if fate == DepositFate::Burned {
        accounts::burn(state, total).map_err(fatal)?;
    }
    let held = escrow(state)?
        .checked_sub(total)
        .map_err(|e| StateError::Corrupt {
            key: "governance/escrow".into(),
            reason: format!("escrow holds less than proposal {}'s deposits: {e}", p.id),
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

/// A state error where none can be a transaction's fault.
fn fatal(e: HandlerError) -> StateError {
    match e {
        HandlerError::State(e) => e,
        HandlerError::Tx(e) => StateError::Corrupt {
            key: "governance".into(),
            reason: e.to_string(),
        },
    }
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
) -> Result<Result<Executed, String>, StateError> {
    state.begin_tx();
    let mut events = Vec::new();
    match apply(state, &p.kind, p.id, height, cache, &mut events) {
        Ok(verifier) => {
            state.commit_tx();
            Ok(Ok(Executed { events, verifier }))
        }
        Err(HandlerError::Tx(e)) => {
            state.abort_tx();
            Ok(Err(e.to_string()))
        }
        Err(HandlerError::State(e)) => {
            state.abort_tx();
            Err(e)
        }
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
                .map_err(TxError::InvalidModelFile)?;
            models::registry::store(state, &reg);
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
            let mut reg = models::registry::prepare(cache, model, modes, max_k, height)
                .map_err(TxError::InvalidModelFile)?;
            let mut old = models::model(state, previous)?.ok_or_else(|| TxError::UnknownModel {
                model: hex::encode(previous),
            })?;
            if old.input_shape != reg.record.input_shape {
                return Err(TxError::InvalidProposal(format!(
                    "the new version takes input shape {:?}, the old one {:?}: an upgrade must keep the input shape",
                    reg.record.input_shape, old.input_shape
                ))
                .into());
            }
            reg.record.predecessor = Some(*previous);
            models::registry::store(state, &reg);
            events.push(Event::ModelRegistered {
                model: reg.record.id,
                name: reg.record.name.clone(),
                vk_hash: reg.record.vk_hash,
                successor_of: Some(*previous),
            });
            let at = Height(height.value().saturating_add(*grace_blocks));
            old.successor = Some(reg.record.id);
            old.retire_at = Some(at);
            if *grace_blocks == 0 {
                models::registry::retire(state, old, height, events);
            } else {
                models::put_model(state, &old);
                models::registry::schedule_retirement(state, previous, at);
                events.push(Event::ModelRetirementScheduled {
                    model: *previous,
                    at_height: at,
                });
            }
            Ok(reg.verifier)
        }
        ProposalKind::RetireModel { model } => {
            let record = models::model(state, model)?.ok_or_else(|| TxError::UnknownModel {
                model: hex::encode(model),
            })?;
            models::registry::retire(state, record, height, events);
            Ok(None)
        }
        ProposalKind::RegisterWorkflow { workflow } | ProposalKind::UpdateWorkflow { workflow } => {
            let before = workflows::workflow(state, &workflow.name)?;
            let record = WorkflowRecord {
                spec: workflow.clone(),
                version: before.as_ref().map_or(1, |w| w.version + 1),
                spec_hash: workflow.hash(),
                registered_height: before.as_ref().map_or(height, |w| w.registered_height),
                updated_height: height,
                proposal: id,
            };
            workflows::put_workflow(state, &record);
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
            set_chain_params(state, &p);
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
            let treasury = rewards::treasury(state)?;
            let left = treasury.checked_sub(*amount).map_err(|_| {
                TxError::InvalidProposal(format!(
                    "the treasury holds {treasury} usyn, the proposal spends {amount} usyn"
                ))
            })?;
            rewards::set_treasury(state, left);
            accounts::credit(state, recipient, *amount)?;
            events.push(Event::TreasurySpent {
                recipient: *recipient,
                amount: *amount,
            });
            Ok(None)
        }
        ProposalKind::Text => Ok(None),
    }
}
