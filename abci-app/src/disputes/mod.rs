//! `disputes`: the bisection game over optimistic step results (opML's
//! bisection over an ML execution trace, Arbitrum BOLD's chess clocks and
//! bonds).
//!
//! A registered agent other than the executor challenges an optimistic
//! result inside its window with a bond (which grows with the challenges
//! already open on that result). The chain knows two state roots of the
//! execution: `S_0` (the step's input, which it computes) and `S_nodes` (the
//! asserted trace root). The asserter bisects (`Bisect`: its root of the
//! state at the midpoint of the disputed range), the challenger keeps the
//! half it disputes (`SelectHalf`), until one graph node is left; then
//! `OneStep` re-executes that node with the zkml interpreter (the node and
//! its weights from the IR the registry stores) on tensors proven against
//! the agreed pre-state, and compares with the asserted post-state. Each
//! side has `clock_blocks` across all its moves; a side whose clock runs out
//! loses at the end of that block. So a dispute ends within
//! `2 × clock_blocks` blocks of its challenge, whatever either side does.
//!
//! The loser's bond is split: `winner_share_ppm` to the winner, the rest
//! burned (a pair colluding across both sides loses it). A proven-false
//! result also costs its executor `fraud_agent_slash_ppm` of its agent bond
//! and a reputation slash, voids the other disputes on it (their bonds
//! return) and sends the step to another agent. A false challenger loses a
//! little reputation. Several challengers each play their own game; the
//! result is final only when every game is settled for its executor and the
//! window is over.

pub mod genesis;
pub mod handlers;
pub mod hooks;
pub mod params;
pub mod state_key;
#[cfg(test)]
mod tests;

use synod_protocol::{disputes::DisputeRecord, Amount};

use crate::state::{State, StateError};

pub use params::{params, update_params};

/// A dispute by id.
pub fn dispute(state: &State, id: u64) -> Result<Option<DisputeRecord>, StateError> {
    state.get(&state_key::dispute(id))
}

/// Every dispute, or those whose status is named `status` (`open`,
/// `settled`, `void`), in id order.
pub fn disputes(state: &State, status: Option<&str>) -> Result<Vec<DisputeRecord>, StateError> {
    Ok(state
        .prefix::<DisputeRecord>(&state_key::disputes_prefix())?
        .into_iter()
        .map(|(_, d)| d)
        .filter(|d| status.is_none_or(|s| d.status.name() == s))
        .collect())
}

/// What the bonds of open disputes hold: part of the supply in no balance.
pub fn escrowed(state: &State) -> Result<Amount, StateError> {
    let mut total = Amount::ZERO;
    for d in disputes(state, Some("open"))? {
        total = total.checked_add(d.bond).map_err(|e| StateError::Corrupt {
            key: String::from_utf8_lossy(&state_key::dispute(d.id)).into_owned(),
            reason: format!("challenge bonds overflow: {e}"),
        })?;
    }
    Ok(total)
}

/// Writes a dispute record.
fn put_dispute(state: &mut State, d: &DisputeRecord) {
    state.put(state_key::dispute(d.id), d);
}
