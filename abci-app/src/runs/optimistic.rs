//! Optimistic steps: a bonded result with an execution-trace root, final
//! after its challenge window unless a dispute proves it false. The
//! `disputes` module plays the games; this file holds the step's side: the
//! result, its window, and what a settled dispute does to the step.

use synod_protocol::{
    disputes::LeafProof,
    runs::{RunRecord, StepStatus},
    state::{ModelRecord, VerificationMode},
    Address, Amount, Event, Height,
};
use synod_zkml::{
    ir::Model,
    merkle::MerkleProof,
    trace::{tensor_leaf, verify_leaf, TraceRoot},
    Tensor,
};

use super::{handlers, put_run, run, state_key};
use crate::{
    accounts, disputes,
    error::{HandlerError, TxError},
    models,
    state::State,
};

/// The parsed IR of a registered model, from the file the registry stores.
pub fn stored_model(state: &State, id: &[u8; 32]) -> Result<Model, HandlerError> {
    let bytes = models::model_file(state, id)?.ok_or_else(|| TxError::UnknownModel {
        model: hex::encode(id),
    })?;
    Model::from_file_bytes(&bytes)
        .map(|loaded| loaded.model)
        .map_err(|e| {
            HandlerError::State(crate::state::StateError::Corrupt {
                key: format!("models/ir/{}", hex::encode(id)),
                reason: e.to_string(),
            })
        })
}

/// Gas per weight or bias of a model whose stored IR a transaction loads
/// and runs part of (an optimistic result, a challenge, a dispute's one
/// step), on top of [`crate::gas`]'s per-transaction and per-byte gas:
/// decoding and hashing the IR, and at most one multiply-accumulate per
/// parameter for the re-executed node.
pub const GAS_PER_MODEL_PARAMETER: u64 = 1;

/// The gas of loading the IR of the model step `step` of run `id` pinned
/// (nothing when there is no such step: the transaction fails first).
pub fn ir_gas(state: &State, id: u64, step: u32) -> Result<u64, crate::state::StateError> {
    let Some(r) = run(state, id)? else {
        return Ok(0);
    };
    let Some(model) = r.models.get(step as usize) else {
        return Ok(0);
    };
    Ok(models::model(state, model)?.map_or(0, |m| {
        m.parameter_count.saturating_mul(GAS_PER_MODEL_PARAMETER)
    }))
}

/// A tensor of `values` in `shape`, or why not.
pub fn tensor(shape: &[u32], values: &[i32], what: &str) -> Result<Tensor, TxError> {
    Tensor::new(shape.to_vec(), values.to_vec())
        .map_err(|e| TxError::InvalidOptimisticResult(format!("the {what}: {e}")))
}

fn merkle_proof(p: &LeafProof) -> MerkleProof {
    MerkleProof {
        leaf_count: p.leaf_count,
        siblings: p.siblings.clone(),
    }
}

/// The body of a `SubmitOptimisticResult`.
pub struct OptimisticResult<'a> {
    pub run: u64,
    pub step: u32,
    pub output: &'a [i32],
    pub trace_root: [u8; 32],
    pub bond: Amount,
    pub input_proof: &'a LeafProof,
    pub output_proof: &'a LeafProof,
}

/// `SubmitOptimisticResult` by the step's executor: checks the trace's
/// first leaf is the step's input and its last the output, takes the bond,
/// and opens the challenge window.
pub fn submit(
    state: &mut State,
    signer: &Address,
    body: OptimisticResult<'_>,
    at: handlers::At<'_>,
) -> Result<(), HandlerError> {
    let (id, step) = (body.run, body.step);
    let mut r = handlers::assigned_run(state, signer, id, step)?;
    let i = step as usize;
    if r.spec.steps[i].mode != VerificationMode::Optimistic {
        return Err(TxError::InvalidOptimisticResult(format!(
            "step {step} of run {id} is a zk step: submit its result with a proof (SubmitResult)"
        ))
        .into());
    }
    let record: ModelRecord =
        models::model(state, &r.models[i])?.ok_or_else(|| TxError::UnknownModel {
            model: hex::encode(r.models[i]),
        })?;
    let p = disputes::params(state)?;
    let min = p.result_bond(record.parameter_count);
    if body.bond < min {
        return Err(TxError::ResultBondBelowMinimum {
            got: body.bond,
            min,
        }
        .into());
    }
    let model = stored_model(state, &record.id)?;
    let leaves = model.nodes.len() as u64 + 1;
    for (what, proof) in [("input", body.input_proof), ("output", body.output_proof)] {
        if proof.leaf_count != leaves {
            return Err(TxError::InvalidOptimisticResult(format!(
                "the {what} proof is for a trace of {} leaves; model {} has {} nodes, so {leaves} leaves",
                proof.leaf_count,
                hex::encode(record.id),
                model.nodes.len()
            ))
            .into());
        }
    }
    let input = tensor(&record.input_shape, &r.step_input(i), "step's input")?;
    let output = tensor(&record.output_shape, body.output, "output")?;
    let root = TraceRoot(body.trace_root);
    verify_leaf(
        &root,
        0,
        &tensor_leaf(&input),
        &merkle_proof(body.input_proof),
    )
    .map_err(|e| {
        TxError::InvalidOptimisticResult(format!(
            "leaf 0 of the trace is not the step's input: {e}"
        ))
    })?;
    verify_leaf(
        &root,
        leaves - 1,
        &tensor_leaf(&output),
        &merkle_proof(body.output_proof),
    )
    .map_err(|e| {
        TxError::InvalidOptimisticResult(format!(
            "the last leaf of the trace is not the output: {e}"
        ))
    })?;
    accounts::debit(state, signer, body.bond)?;
    if let StepStatus::Assigned { deadline, .. } = r.steps[i].status {
        state.delete(state_key::deadline(deadline, id, step));
    }
    let window_end = at.height.plus(p.challenge_window_blocks);
    r.steps[i].status = StepStatus::Asserted {
        agent: *signer,
        output: body.output.to_vec(),
        trace_root: body.trace_root,
        bond: body.bond,
        window_end,
        open_disputes: 0,
        challenges: 0,
    };
    state.put(state_key::window(window_end, id, step), &());
    at.events.push(Event::ResultAsserted {
        run: id,
        step,
        agent: *signer,
        trace_root: body.trace_root,
        bond: body.bond,
        window_end,
    });
    put_run(state, &r);
    Ok(())
}

/// What a challenge needs of an asserted result.
pub struct Asserted {
    pub run: RunRecord,
    pub agent: Address,
    pub trace_root: [u8; 32],
    pub window_end: Height,
    pub open_disputes: u32,
    pub model: [u8; 32],
}

/// Step `step` of run `id`, if it holds an optimistic result; else why not.
pub fn asserted(state: &State, id: u64, step: u32) -> Result<Asserted, HandlerError> {
    let r = run(state, id)?.ok_or(TxError::UnknownRun(id))?;
    let status = match r.steps.get(step as usize).map(|s| &s.status) {
        None => {
            return Err(TxError::InvalidRun(format!("run {id} has {} steps", r.steps.len())).into())
        }
        Some(StepStatus::Asserted {
            agent,
            trace_root,
            window_end,
            open_disputes,
            ..
        }) if r.is_running() => {
            return Ok(Asserted {
                agent: *agent,
                trace_root: *trace_root,
                window_end: *window_end,
                open_disputes: *open_disputes,
                model: r.models[step as usize],
                run: r,
            })
        }
        Some(StepStatus::Waiting) => "waiting for its inputs",
        Some(StepStatus::Assigned { .. }) => "assigned, without a result yet",
        Some(StepStatus::Final { .. }) => "final",
        Some(StepStatus::Asserted { .. }) => "in a run that is not running",
    };
    Err(TxError::NotChallengeable {
        run: id,
        step,
        status: status.to_string(),
    }
    .into())
}

/// A challenge opened on the result of step `step` of run `id`.
pub fn note_challenge(state: &mut State, id: u64, step: u32) -> Result<(), HandlerError> {
    let mut r = run(state, id)?.ok_or(TxError::UnknownRun(id))?;
    if let Some(StepStatus::Asserted {
        open_disputes,
        challenges,
        ..
    }) = r.steps.get_mut(step as usize).map(|s| &mut s.status)
    {
        *open_disputes += 1;
        *challenges += 1;
    }
    put_run(state, &r);
    Ok(())
}

/// A dispute on the result of step `step` of run `id` was settled for the
/// executor: once none is open and the window is over, the step is final.
pub fn upheld(
    state: &mut State,
    id: u64,
    step: u32,
    height: Height,
    prev_app_hash: &[u8; 32],
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let mut r = run(state, id)?.ok_or(TxError::UnknownRun(id))?;
    let i = step as usize;
    let Some(StepStatus::Asserted {
        open_disputes,
        window_end,
        ..
    }) = r.steps.get_mut(i).map(|s| &mut s.status)
    else {
        return Ok(());
    };
    *open_disputes = open_disputes.saturating_sub(1);
    let done = *open_disputes == 0 && height >= *window_end;
    put_run(state, &r);
    if done {
        finish(state, id, step, height, prev_app_hash, events)?;
    }
    Ok(())
}

/// A dispute proved the result of step `step` of run `id` false: the
/// executor's bond is taken (returned, for the disputes module to split)
/// and the step goes to another agent, or the run fails when its retries
/// are spent.
pub fn struck(
    state: &mut State,
    id: u64,
    step: u32,
    height: Height,
    prev_app_hash: &[u8; 32],
    events: &mut Vec<Event>,
) -> Result<Amount, HandlerError> {
    let mut r = run(state, id)?.ok_or(TxError::UnknownRun(id))?;
    let i = step as usize;
    let Some(StepStatus::Asserted { agent, bond, .. }) = r.steps.get(i).map(|s| s.status.clone())
    else {
        return Ok(Amount::ZERO);
    };
    state.delete(state_key::held(&agent, id, step));
    r.steps[i].status = StepStatus::Waiting;
    if r.is_running() {
        if r.steps[i].attempts > r.spec.steps[i].retries {
            let reason = format!(
                "step {step}'s result was proven false {} time(s), its retries ({}) spent",
                r.steps[i].attempts, r.spec.steps[i].retries
            );
            handlers::fail(state, &mut r, i, reason, height, events)?;
        } else {
            handlers::assign_step(state, &mut r, i, height, prev_app_hash, events)?;
        }
    }
    put_run(state, &r);
    Ok(bond)
}

/// Ends the window of step `step` of run `id`: final if nothing is open
/// (a dispute still open finishes it when it is settled).
pub(super) fn window_closed(
    state: &mut State,
    id: u64,
    step: u32,
    height: Height,
    prev_app_hash: &[u8; 32],
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let Some(r) = run(state, id)? else {
        return Ok(());
    };
    // A key left by an earlier result of the step (struck, then the step
    // reassigned and asserted again) is not this result's window.
    if let Some(StepStatus::Asserted {
        open_disputes: 0,
        window_end,
        ..
    }) = r.steps.get(step as usize).map(|s| &s.status)
    {
        if *window_end != height {
            return Ok(());
        }
        finish(state, id, step, height, prev_app_hash, events)?;
    }
    Ok(())
}

/// The asserted result of step `step` is final: the bond returns to its
/// executor, who is paid as for a zk step; in a run that is no longer
/// running only the bond returns.
fn finish(
    state: &mut State,
    id: u64,
    step: u32,
    height: Height,
    prev_app_hash: &[u8; 32],
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let mut r = run(state, id)?.ok_or(TxError::UnknownRun(id))?;
    let i = step as usize;
    let Some(StepStatus::Asserted {
        agent,
        output,
        bond,
        ..
    }) = r.steps.get(i).map(|s| s.status.clone())
    else {
        return Ok(());
    };
    accounts::credit(state, &agent, bond)?;
    if !r.is_running() {
        state.delete(state_key::held(&agent, id, step));
        r.steps[i].status = StepStatus::Waiting;
        put_run(state, &r);
        return Ok(());
    }
    handlers::finalize_step(
        state,
        &mut r,
        i,
        agent,
        output,
        height,
        prev_app_hash,
        events,
    )?;
    put_run(state, &r);
    Ok(())
}

/// Every window ending at `height`.
pub(super) fn close_windows(
    state: &mut State,
    height: Height,
    prev_app_hash: &[u8; 32],
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    for (key, _) in state.prefix_raw(&state_key::windows_at(height))? {
        state.delete(key.clone());
        let Some((id, step)) = state_key::run_and_step(&key) else {
            return Err(TxError::InvalidRun(format!(
                "window key {:?} names no run and step",
                String::from_utf8_lossy(&key)
            ))
            .into());
        };
        window_closed(state, id, step, height, prev_app_hash, events)?;
    }
    Ok(())
}

/// What the optimistic results of every run hold in bonds: part of the
/// supply in no balance.
pub fn bonded(state: &State) -> Result<Amount, crate::state::StateError> {
    let mut total = Amount::ZERO;
    for (_, r) in state.prefix::<RunRecord>(&state_key::runs_prefix())? {
        for s in &r.steps {
            if let StepStatus::Asserted { bond, .. } = s.status {
                total = total
                    .checked_add(bond)
                    .map_err(|e| crate::state::StateError::Corrupt {
                        key: String::from_utf8_lossy(&state_key::run(r.id)).into_owned(),
                        reason: format!("result bonds overflow: {e}"),
                    })?;
            }
        }
    }
    Ok(total)
}
