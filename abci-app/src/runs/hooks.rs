//! The runs component: its params at genesis, its transactions (and the fee
//! and gas of a result's proof), and the step deadlines at the end of a
//! block.

use synod_protocol::{runs::StepStatus, Amount, Event, GenesisAppState, Height, TxBody};

use super::{genesis, handlers, params, put_run, run, state_key};
use crate::{
    agents,
    component::{not_handled, BlockContext, BlockEffects, Component, GenesisContext, TxContext},
    error::{AppError, HandlerError, InvariantError, OrInvariant, TxError},
    models::{self, VerifierCache},
    reputation,
    state::{State, StateError},
};

/// The runs component; it verifies results' proofs with the models' keys.
pub struct Runs {
    pub verifiers: VerifierCache,
}

/// The state root before this block: the assignment draw's seed.
fn prev_app_hash(state: &State) -> [u8; 32] {
    state
        .storage()
        .committed()
        .map(|c| c.root)
        .unwrap_or_default()
}

/// The model record a `SubmitResult` would verify against, if any.
fn result_model(
    state: &State,
    body: &TxBody,
) -> Result<Option<synod_protocol::state::ModelRecord>, StateError> {
    let TxBody::SubmitResult { run: id, step, .. } = body else {
        return Ok(None);
    };
    let Some(r) = run(state, *id)? else {
        return Ok(None);
    };
    match r.models.get(*step as usize) {
        Some(m) => models::model(state, m),
        None => Ok(None),
    }
}

impl Component for Runs {
    fn name(&self) -> &'static str {
        "runs"
    }

    fn init_genesis(
        &self,
        state: &mut State,
        genesis: &GenesisAppState,
        _ctx: &GenesisContext,
    ) -> Result<(), AppError> {
        genesis::init_genesis(state, genesis);
        Ok(())
    }

    /// Times out the steps due at this height.
    fn end_block(
        &self,
        state: &mut State,
        block: &BlockContext<'_>,
        out: &mut BlockEffects,
    ) -> Result<(), InvariantError> {
        let root = prev_app_hash(state);
        time_out(state, block.height, &root, &mut out.events).or_invariant("runs")?;
        super::optimistic::close_windows(state, block.height, &root, &mut out.events)
            .or_invariant("runs")
    }

    fn check_stateless(&self, body: &TxBody) -> Result<(), TxError> {
        handlers::check_stateless(body)
    }

    /// A result's proof pays for its verification as a `SubmitInferenceProof` does.
    fn execution_fee(&self, state: &State, body: &TxBody) -> Result<Amount, StateError> {
        Ok(models::proof_cost(state, result_model(state, body)?.as_ref())?.0)
    }

    /// A result's proof as a `SubmitInferenceProof`'s; an optimistic
    /// result loads the model's IR ([`crate::runs::optimistic::GAS_PER_MODEL_PARAMETER`]).
    fn execution_gas(&self, state: &State, body: &TxBody) -> Result<u64, StateError> {
        if let TxBody::SubmitOptimisticResult { run: id, step, .. } = body {
            return super::optimistic::ir_gas(state, *id, *step);
        }
        Ok(models::proof_cost(state, result_model(state, body)?.as_ref())?.1)
    }

    fn check_and_execute(
        &self,
        state: &mut State,
        tx: &TxContext<'_>,
        body: &TxBody,
        events: &mut Vec<Event>,
    ) -> Result<(), HandlerError> {
        let at = handlers::At {
            height: tx.height,
            prev_app_hash: prev_app_hash(state),
            events,
        };
        match body {
            TxBody::SubmitRun {
                workflow,
                version,
                input,
                budget,
            } => handlers::submit_run(state, &tx.signer, (workflow, *version, input, *budget), at),
            TxBody::SubmitResult {
                run,
                step,
                output,
                proof,
            } => handlers::submit_result(
                state,
                &tx.signer,
                (*run, *step, output, proof),
                &self.verifiers,
                tx.proofs,
                at,
            ),
            TxBody::SubmitOptimisticResult {
                run,
                step,
                output,
                trace_root,
                bond,
                input_proof,
                output_proof,
            } => super::optimistic::submit(
                state,
                &tx.signer,
                super::optimistic::OptimisticResult {
                    run: *run,
                    step: *step,
                    output,
                    trace_root: *trace_root,
                    bond: *bond,
                    input_proof,
                    output_proof,
                },
                at,
            ),
            other => Err(not_handled(self.name(), other)),
        }
    }
}

/// Every step due by the end of `height` and still assigned: its agent
/// forfeits part of its bond and a little reputation, and the step goes to
/// another agent, or the run fails when its retries are spent.
pub(super) fn time_out(
    state: &mut State,
    height: Height,
    prev_app_hash: &[u8; 32],
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let p = params(state)?;
    for (key, _) in state.prefix_raw(&state_key::deadlines_at(height))? {
        state.delete(key.clone());
        let Some((id, step)) = state_key::run_and_step(&key) else {
            return Err(TxError::InvalidRun(format!(
                "deadline key {:?} names no run and step",
                String::from_utf8_lossy(&key)
            ))
            .into());
        };
        let Some(mut r) = run(state, id)? else {
            continue;
        };
        let i = step as usize;
        let Some(StepStatus::Assigned { agent, deadline }) =
            r.steps.get(i).map(|s| s.status.clone())
        else {
            continue;
        };
        if deadline != height || !r.is_running() {
            continue;
        }
        state.delete(state_key::held(&agent, id, step));
        let slashed = agents::slash(state, &agent, p.timeout_slash_ppm)?;
        reputation::record_task_timeout(state, &agent, p.timeout_reputation_penalty_ppm, height)?;
        events.push(Event::StepTimedOut {
            run: id,
            step,
            agent,
            slashed,
        });
        r.steps[i].status = StepStatus::Waiting;
        if r.steps[i].attempts > r.spec.steps[i].retries {
            let reason = format!(
                "step {step} missed its deadline {} time(s), its retries ({}) spent",
                r.steps[i].attempts, r.spec.steps[i].retries
            );
            handlers::fail(state, &mut r, i, reason, height, events)?;
        } else {
            handlers::assign_step(state, &mut r, i, height, prev_app_hash, events)?;
        }
        put_run(state, &r);
    }
    Ok(())
}
