//! `runs`: escrowed executions of registered workflows.
//!
//! `SubmitRun` pins the workflow version (its steps and each step's model,
//! upgrades followed at submission and never after), escrows the budget and
//! assigns every step that reads only the run's input. A step is assigned
//! to one agent, drawn with probability in proportion to bond × reputation
//! among the active agents that serve its model and meet its minimums
//! (never the same agent twice in a run while others qualify), from a seed
//! of the previous app hash, the height, the run and the step, not the
//! block hash, which a proposer could grind. The agent has the step's
//! `timeout_blocks` to deliver a result; a zk step's result carries a proof
//! the chain verifies against the pinned model. A final result pays the
//! step's reward from the escrow and assigns the steps it completes the
//! inputs of. A missed deadline costs the agent `runs.timeout_slash_ppm`
//! of its bond (burned) and a little reputation, and the step goes to
//! another agent, up to `retries` times; then the run fails and the rest of
//! the escrow returns to the submitter. When every step is final the run is
//! verified: the leftover returns, the `workflow_verified` event names the
//! workflow hash and the verifier (the executor of the last step), and
//! `/verified/{workflow_hash}` proves it (the paper's `verifiedWorkflows`).

mod assign;
pub mod genesis;
pub mod handlers;
pub mod hooks;
pub mod optimistic;
pub mod params;
pub mod state_key;

use synod_protocol::{
    runs::{RunRecord, VerifiedWorkflow},
    Address, Amount,
};

use crate::state::{State, StateError};

pub use params::{params, update_params};

/// A run by id.
pub fn run(state: &State, id: u64) -> Result<Option<RunRecord>, StateError> {
    state.get(&state_key::run(id))
}

/// Every run still running, in id order.
pub fn running(state: &State) -> Result<Vec<RunRecord>, StateError> {
    Ok(state
        .prefix::<RunRecord>(&state_key::runs_prefix())?
        .into_iter()
        .map(|(_, r)| r)
        .filter(RunRecord::is_running)
        .collect())
}

/// The verified execution with this workflow hash.
pub fn verified(
    state: &State,
    workflow_hash: &[u8; 32],
) -> Result<Option<VerifiedWorkflow>, StateError> {
    state.get(&state_key::verified(workflow_hash))
}

/// What the escrows of running runs and the bonds of optimistic results
/// hold: part of the supply in no balance.
pub fn escrowed(state: &State) -> Result<Amount, StateError> {
    let mut total = optimistic::bonded(state)?;
    for r in running(state)? {
        total = total
            .checked_add(r.escrow)
            .map_err(|e| StateError::Corrupt {
                key: String::from_utf8_lossy(&state_key::run(r.id)).into_owned(),
                reason: format!("escrows overflow: {e}"),
            })?;
    }
    Ok(total)
}

/// A step `agent` holds (assigned and not final), if any: an agent holding
/// one may not exit.
pub fn held_step(state: &State, agent: &Address) -> Result<Option<(u64, u32)>, StateError> {
    Ok(state
        .prefix_raw(&state_key::held_by(agent))?
        .into_iter()
        .find_map(|(key, _)| state_key::run_and_step(&key)))
}

/// Writes a run record.
fn put_run(state: &mut State, run: &RunRecord) {
    state.put(state_key::run(run.id), run);
}
