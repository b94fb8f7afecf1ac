//! The runs' transactions: `SubmitRun` and `SubmitResult`, and the step
//! lifecycle they share with the end-of-block deadlines (assignment,
//! finality, failure, verification).

use synod_protocol::{
    governance::admission::check_step_shapes,
    runs::{workflow_hash, RunRecord, RunStatus, StepRun, StepStatus, VerifiedWorkflow},
    state::{ModelRecord, VerificationMode},
    Address, Amount, Event, Height, TxBody,
};

use super::{assign, params, put_run, run, state_key};
use crate::{
    accounts,
    component::ProofMode,
    error::{HandlerError, TxError},
    models::{self, VerifierCache},
    reputation,
    state::State,
    workflows,
};

/// The most values a run's input may have whatever the params say (the
/// bound of `runs.max_values_held`), checked before state is read.
pub const MAX_INPUT_VALUES: usize = 1 << 20;

/// Stateless checks: a run has an input of int8 values and a budget; a
/// result has an int8 output and a proof.
pub fn check_stateless(body: &TxBody) -> Result<(), TxError> {
    let int8 = |what: &str, values: &[i32]| -> Result<(), TxError> {
        if values.is_empty() || values.len() > MAX_INPUT_VALUES {
            return Err(TxError::InvalidRun(format!(
                "the {what} has {} values; 1 ..= {MAX_INPUT_VALUES}",
                values.len()
            )));
        }
        match values.iter().position(|v| i8::try_from(*v).is_err()) {
            Some(position) => Err(TxError::InputOutOfRange {
                position,
                value: values[position],
            }),
            None => Ok(()),
        }
    };
    match body {
        TxBody::SubmitRun { input, budget, .. } => {
            if budget.is_zero() {
                return Err(TxError::ZeroAmount);
            }
            int8("input", input)
        }
        TxBody::SubmitResult { output, proof, .. } => {
            if proof.is_empty() {
                return Err(TxError::InvalidRun("a zk result carries a proof".into()));
            }
            int8("output", output)
        }
        TxBody::SubmitOptimisticResult {
            output,
            bond,
            input_proof,
            output_proof,
            ..
        } => {
            if bond.is_zero() {
                return Err(TxError::ZeroAmount);
            }
            for p in [input_proof, output_proof] {
                if p.siblings.len() > synod_protocol::disputes::MAX_PROOF_SIBLINGS {
                    return Err(TxError::InvalidOptimisticResult(format!(
                        "a leaf proof has {} sibling hashes; at most {}",
                        p.siblings.len(),
                        synod_protocol::disputes::MAX_PROOF_SIBLINGS
                    )));
                }
            }
            int8("output", output)
        }
        _ => Ok(()),
    }
}

/// The context of a handler: where and when it runs.
pub struct At<'a> {
    pub height: Height,
    /// The state root before this block: the assignment draw's seed.
    pub prev_app_hash: [u8; 32],
    pub events: &'a mut Vec<Event>,
}

/// The model record every step of `spec` runs now (upgrades followed).
fn pinned_models(
    state: &State,
    spec: &synod_protocol::governance::WorkflowSpec,
) -> Result<Vec<ModelRecord>, HandlerError> {
    let mut out = Vec::with_capacity(spec.steps.len());
    for (i, step) in spec.steps.iter().enumerate() {
        let record = models::registry::current_version(state, &step.model)?
            .filter(ModelRecord::is_active)
            .ok_or_else(|| {
                TxError::InvalidRun(format!(
                    "step {i} ({}): model {} has no active version",
                    step.name,
                    hex::encode(step.model)
                ))
            })?;
        out.push(record);
    }
    Ok(out)
}

/// `SubmitRun { workflow, version, input, budget }`.
pub fn submit_run(
    state: &mut State,
    submitter: &Address,
    body: (&str, u32, &[i32], Amount),
    at: At<'_>,
) -> Result<(), HandlerError> {
    let (name, version, input, budget) = body;
    let p = params(state)?;
    let record = workflows::workflow(state, name)?;
    let record = match record {
        Some(r) if r.version == version => r,
        other => {
            return Err(TxError::UnknownWorkflowVersion {
                workflow: name.to_string(),
                version,
                current: other.map(|r| r.version),
            }
            .into())
        }
    };
    let spec = record.spec;
    let needed = spec
        .steps
        .iter()
        .try_fold(Amount::ZERO, |acc, s| acc.checked_add(s.reward))?;
    if budget < needed {
        return Err(TxError::BudgetBelowRewards { budget, needed }.into());
    }
    let open = state.prefix_raw(&state_key::open_of(submitter))?.len();
    if open >= p.max_open_runs_per_submitter as usize {
        return Err(TxError::TooManyOpenRuns {
            submitter: *submitter,
            max: p.max_open_runs_per_submitter,
        }
        .into());
    }
    let models = pinned_models(state, &spec)?;
    check_step_shapes::<std::convert::Infallible>(&spec, &models)
        .map_err(|e| TxError::InvalidRun(e.to_string()))?;
    let root = spec.steps.iter().position(|s| s.inputs.is_empty());
    if let Some(root) = root {
        let takes = models[root].input_len();
        if input.len() as u64 != takes {
            return Err(TxError::InvalidRun(format!(
                "the input has {} values; step {root} ({}) takes {takes}",
                input.len(),
                spec.steps[root].name
            ))
            .into());
        }
    }
    let held = models
        .iter()
        .fold(input.len() as u64, |acc, m| acc + m.output_len());
    if held > u64::from(p.max_values_held) {
        return Err(TxError::InvalidRun(format!(
            "the run would hold {held} values (its input and every output), more than runs.max_values_held = {}",
            p.max_values_held
        ))
        .into());
    }
    let id = state.get::<u64>(&state_key::last_id())?.unwrap_or(0) + 1;
    let mut run = RunRecord {
        id,
        workflow: name.to_string(),
        version,
        spec_hash: record.spec_hash,
        models: models.iter().map(|m| m.id).collect(),
        spec,
        submitter: *submitter,
        input: input.to_vec(),
        budget,
        escrow: budget,
        steps: vec![
            StepRun {
                status: StepStatus::Waiting,
                attempts: 0,
                executors: Vec::new(),
            };
            models.len()
        ],
        status: RunStatus::Running,
        submitted_height: at.height,
    };
    // Every step must have someone to run it now; the first ones are assigned.
    for (i, step) in run.spec.steps.iter().enumerate() {
        if assign::candidates(state, &run, step, &run.models[i])?.is_empty() {
            return Err(no_agent(&run, i).into());
        }
    }
    accounts::debit(state, submitter, budget)?;
    state.put(state_key::last_id(), &id);
    state.put(state_key::open(submitter, id), &());
    at.events.push(Event::RunSubmitted {
        run: id,
        workflow: name.to_string(),
        version,
        submitter: *submitter,
        budget,
    });
    let (height, root_hash) = (at.height, at.prev_app_hash);
    assign_ready(state, &mut run, height, &root_hash, at.events)?;
    put_run(state, &run);
    Ok(())
}

fn no_agent(run: &RunRecord, step: usize) -> TxError {
    let s = &run.spec.steps[step];
    TxError::NoEligibleAgent {
        step: step as u32,
        model: hex::encode(run.models[step]),
        min_bond: s.min_bond,
        min_reputation: s.min_reputation,
    }
}

/// Whether every input of step `i` is final.
fn ready(run: &RunRecord, i: usize) -> bool {
    run.spec.steps[i]
        .inputs
        .iter()
        .all(|&j| matches!(run.steps[j as usize].status, StepStatus::Final { .. }))
}

/// Assigns step `i` of `run` (its next attempt) to a drawn agent; fails the
/// run when no agent qualifies.
pub(super) fn assign_step(
    state: &mut State,
    run: &mut RunRecord,
    i: usize,
    height: Height,
    prev_app_hash: &[u8; 32],
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let step = &run.spec.steps[i];
    let candidates = assign::candidates(state, run, step, &run.models[i])?;
    let attempt = run.steps[i].attempts + 1;
    let Some(agent) = assign::draw(
        &candidates,
        prev_app_hash,
        height,
        run.id,
        i as u32,
        attempt,
    ) else {
        let reason = no_agent(run, i).to_string();
        return fail(state, run, i, reason, height, events);
    };
    let deadline = height.plus(step.timeout_blocks);
    let s = &mut run.steps[i];
    s.attempts = attempt;
    s.executors.push(agent);
    s.status = StepStatus::Assigned { agent, deadline };
    state.put(state_key::deadline(deadline, run.id, i as u32), &());
    state.put(state_key::held(&agent, run.id, i as u32), &());
    events.push(Event::StepAssigned {
        run: run.id,
        step: i as u32,
        agent,
        deadline,
    });
    Ok(())
}

/// Assigns every waiting step whose inputs are all final.
fn assign_ready(
    state: &mut State,
    run: &mut RunRecord,
    height: Height,
    prev_app_hash: &[u8; 32],
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    for i in 0..run.steps.len() {
        if run.is_running() && run.steps[i].status == StepStatus::Waiting && ready(run, i) {
            assign_step(state, run, i, height, prev_app_hash, events)?;
        }
    }
    Ok(())
}

/// Ends a run: the escrow left returns to the submitter, and nothing is
/// held or due for it any more.
fn close(state: &mut State, run: &mut RunRecord) -> Result<Amount, HandlerError> {
    let mut returned = Vec::new();
    for (i, s) in run.steps.iter().enumerate() {
        match s.status {
            StepStatus::Assigned { agent, deadline } => {
                state.delete(state_key::deadline(deadline, run.id, i as u32));
                state.delete(state_key::held(&agent, run.id, i as u32));
            }
            // An optimistic result nobody disputes gets its bond back now;
            // one under dispute keeps it until the disputes are settled.
            StepStatus::Asserted {
                agent,
                bond,
                open_disputes: 0,
                ..
            } => {
                accounts::credit(state, &agent, bond)?;
                state.delete(state_key::held(&agent, run.id, i as u32));
                returned.push(i);
            }
            _ => {}
        }
    }
    for i in returned {
        run.steps[i].status = StepStatus::Waiting;
    }
    let refund = run.escrow;
    if !refund.is_zero() {
        accounts::credit(state, &run.submitter, refund)?;
    }
    run.escrow = Amount::ZERO;
    state.delete(state_key::open(&run.submitter, run.id));
    Ok(refund)
}

/// Fails `run` at step `i`.
pub(super) fn fail(
    state: &mut State,
    run: &mut RunRecord,
    i: usize,
    reason: String,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let refund = close(state, run)?;
    run.status = RunStatus::Failed {
        step: i as u32,
        reason: reason.clone(),
        height,
    };
    events.push(Event::RunFailed {
        run: run.id,
        step: i as u32,
        reason,
        refund,
    });
    Ok(())
}

/// The running run `id` and its step `step`, assigned to `signer` and not
/// past its deadline.
pub(super) fn assigned_run(
    state: &State,
    signer: &Address,
    id: u64,
    step: u32,
) -> Result<RunRecord, HandlerError> {
    let r = run(state, id)?.ok_or(TxError::UnknownRun(id))?;
    if !r.is_running() {
        let status = match &r.status {
            RunStatus::Verified { .. } => "verified".to_string(),
            RunStatus::Failed { step, .. } => format!("failed at step {step}"),
            RunStatus::Running => "running".to_string(),
        };
        return Err(TxError::RunNotRunning { run: id, status }.into());
    }
    let s = r
        .steps
        .get(step as usize)
        .ok_or_else(|| TxError::InvalidRun(format!("run {id} has {} steps", r.steps.len())))?;
    match &s.status {
        StepStatus::Assigned { agent, .. } if agent == signer => Ok(r),
        other => Err(TxError::NotAssignee {
            run: id,
            step,
            signer: *signer,
            held: match other {
                StepStatus::Waiting => "waiting for its inputs".to_string(),
                StepStatus::Assigned { agent, .. } => format!("assigned to {agent}"),
                StepStatus::Final { .. } => "final".to_string(),
                StepStatus::Asserted { agent, .. } => {
                    format!("asserted by {agent}, in its challenge window")
                }
            },
        }
        .into()),
    }
}

/// What a `SubmitResult` by `signer` would be verified against, as the
/// state stands: the pinned model's record and the step's input; `None`
/// when the result would be refused before its proof is looked at (an
/// unknown or finished run, a step not assigned to `signer`, an optimistic
/// step). The block's batch verification uses it.
pub fn result_claim(
    state: &State,
    signer: &Address,
    id: u64,
    step: u32,
) -> Result<Option<(ModelRecord, Vec<i32>)>, crate::state::StateError> {
    let r = match assigned_run(state, signer, id, step) {
        Ok(r) => r,
        Err(HandlerError::Tx(_)) => return Ok(None),
        Err(HandlerError::State(e)) => return Err(e),
    };
    let i = step as usize;
    if r.spec.steps[i].mode != VerificationMode::Zk {
        return Ok(None);
    }
    let Some(record) = models::model(state, &r.models[i])? else {
        return Ok(None);
    };
    Ok(Some((record, r.step_input(i))))
}

/// `SubmitResult { run, step, output, proof }` by the step's executor.
pub fn submit_result(
    state: &mut State,
    signer: &Address,
    body: (u64, u32, &[i32], &[u8]),
    cache: &VerifierCache,
    mode: ProofMode<'_>,
    at: At<'_>,
) -> Result<(), HandlerError> {
    let (id, step, output, proof) = body;
    let mut r = assigned_run(state, signer, id, step)?;
    let i = step as usize;
    if r.spec.steps[i].mode != VerificationMode::Zk {
        return Err(TxError::InvalidRun(format!(
            "step {step} of run {id} is optimistic: its result comes with a bond and a trace root (SubmitOptimisticResult, `synod dispute assert`), not a proof"
        ))
        .into());
    }
    let record = models::model(state, &r.models[i])?.ok_or_else(|| TxError::UnknownModel {
        model: hex::encode(r.models[i]),
    })?;
    let input = r.step_input(i);
    models::handlers::check_pinned(state, &record, &input, output, proof)?;
    if let ProofMode::Verify { batched } = mode {
        let claim = models::handlers::InferenceClaim {
            model: &record.id,
            input: &input,
            output,
            proof,
        };
        // Verified in the block's batch, or else here, alone.
        if !batched.contains(&models::batch::claim_digest(claim)) {
            let verifier = cache.verifier(state, &record)?;
            models::verify_inference_proof(&verifier, &input, output, proof)?;
        }
    }
    if let StepStatus::Assigned { deadline, .. } = r.steps[i].status {
        state.delete(state_key::deadline(deadline, id, step));
    }
    finalize_step(
        state,
        &mut r,
        i,
        *signer,
        output.to_vec(),
        at.height,
        &at.prev_app_hash,
        at.events,
    )?;
    put_run(state, &r);
    Ok(())
}

/// Step `i` of `run` is final with `output` by `agent`: pays the step's
/// reward from the escrow, raises the agent's reputation, and assigns the
/// steps it completes the inputs of, or verifies the run when it was the
/// last. The caller writes the run.
#[allow(clippy::too_many_arguments)]
pub(super) fn finalize_step(
    state: &mut State,
    r: &mut RunRecord,
    i: usize,
    agent: Address,
    output: Vec<i32>,
    height: Height,
    prev_app_hash: &[u8; 32],
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let (id, step) = (r.id, i as u32);
    let reward = r.spec.steps[i].reward.min(r.escrow);
    r.escrow = r.escrow.checked_sub(reward)?;
    state.delete(state_key::held(&agent, id, step));
    accounts::credit(state, &agent, reward)?;
    reputation::record_task_success(state, &agent, height)?;
    r.steps[i].status = StepStatus::Final {
        agent,
        output,
        height,
    };
    events.push(Event::StepFinal {
        run: id,
        step,
        agent,
        reward,
    });
    if r.steps
        .iter()
        .all(|s| matches!(s.status, StepStatus::Final { .. }))
    {
        verify_run(state, r, agent, height, events)?;
    } else {
        assign_ready(state, r, height, prev_app_hash, events)?;
    }
    Ok(())
}

/// Every step of `run` is final: the run is verified.
fn verify_run(
    state: &mut State,
    run: &mut RunRecord,
    verifier: Address,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let outputs: Vec<&[i32]> = run
        .steps
        .iter()
        .map(|s| match &s.status {
            StepStatus::Final { output, .. } => output.as_slice(),
            _ => &[],
        })
        .collect();
    let hash = workflow_hash(&run.spec_hash, run.version, run.id, &run.input, &outputs);
    let refund = close(state, run)?;
    run.status = RunStatus::Verified {
        workflow_hash: hash,
        verifier,
        height,
    };
    state.put(
        state_key::verified(&hash),
        &VerifiedWorkflow {
            workflow: run.workflow.clone(),
            version: run.version,
            run: run.id,
            verifier,
            height,
        },
    );
    events.push(Event::WorkflowVerified {
        workflow_hash: hash,
        verifier,
        workflow: run.workflow.clone(),
        version: run.version,
        run: run.id,
        refund,
    });
    Ok(())
}
