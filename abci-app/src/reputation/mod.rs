//! `reputation`: a fixed-point score per identity (ppm of the maximum).
//!
//! New identities start at the floor ([`ReputationParams::floor_score`]);
//! the score rises slowly, by a share of the gap to the maximum, for each
//! block of honest, active work; it falls sharply on any slash and decays
//! while idle, but never below the floor. So no identity ever scores below a
//! fresh one, and abandoning an identity for a new one never pays. All
//! integer math.

pub mod genesis;
pub mod hooks;
pub mod params;
pub mod state_key;
#[cfg(test)]
mod tests;

pub use params::{params, update_params};

use synod_protocol::{
    params::{ReputationParams, PPM},
    state::Reputation,
    Address, Height,
};

use crate::state::{State, StateError};

/// The stored reputation of an identity, if it has one.
pub fn get(state: &State, who: &Address) -> Result<Option<Reputation>, StateError> {
    state.get(&state_key::score(who))
}

/// The score of an identity; an unknown identity has the floor score, and
/// so does one stored below a floor that governance has since raised.
pub fn score(state: &State, who: &Address) -> Result<u64, StateError> {
    let floor = params(state)?.floor_score;
    Ok(get(state, who)?.map_or(floor, |r| r.score.max(floor)))
}

/// Gives a new identity the floor score (no-op if it already has one).
pub fn register(state: &mut State, who: &Address, height: Height) -> Result<(), StateError> {
    if get(state, who)?.is_none() {
        let initial = params(state)?.floor_score;
        state.put(
            state_key::score(who),
            &Reputation {
                score: initial,
                slashes: 0,
                updated_height: height,
            },
        );
    }
    Ok(())
}

/// The score after one block of honest, active work.
pub fn gained(params: &ReputationParams, score: u64) -> u64 {
    let gap = PPM.saturating_sub(score);
    // Round up so a small gap still closes, but never past the maximum.
    (score + (gap * params.gain_ppm).div_ceil(PPM)).min(PPM)
}

/// The score after one idle block: decays toward the floor, never below it.
pub fn decayed(params: &ReputationParams, score: u64) -> u64 {
    if score <= params.floor_score {
        return score;
    }
    let excess = score - params.floor_score;
    score - (excess * params.decay_ppm).div_ceil(PPM).min(excess)
}

/// The score after a slash: it loses a share of itself, but stops at the
/// floor (where a fresh identity starts).
pub fn slashed(params: &ReputationParams, score: u64) -> u64 {
    let cut = u128::from(score) * u128::from(params.slash_penalty_ppm.min(PPM)) / u128::from(PPM);
    (score - cut as u64).max(params.floor_score.min(score))
}

/// Records a block of honest work (`active = true`) or idleness.
pub fn record_block(
    state: &mut State,
    who: &Address,
    active: bool,
    height: Height,
) -> Result<(), StateError> {
    let p = params(state)?;
    let mut rep = get(state, who)?.unwrap_or(Reputation {
        score: p.floor_score,
        slashes: 0,
        updated_height: height,
    });
    rep.score = rep.score.max(p.floor_score);
    let next = if active {
        gained(&p, rep.score)
    } else {
        decayed(&p, rep.score)
    };
    if next != rep.score || rep.updated_height == Height::GENESIS {
        rep.score = next;
        rep.updated_height = height;
        state.put(state_key::score(who), &rep);
    }
    Ok(())
}

/// Records a finalized task (a workflow step whose result became final):
/// the score rises as for a block of honest work.
pub fn record_task_success(
    state: &mut State,
    who: &Address,
    height: Height,
) -> Result<(), StateError> {
    record_block(state, who, true, height)
}

/// Records a missed task deadline: the score loses `penalty_ppm` of its
/// excess above the floor (a little, where a slash for fraud costs a lot).
pub fn record_task_timeout(
    state: &mut State,
    who: &Address,
    penalty_ppm: u64,
    height: Height,
) -> Result<(), StateError> {
    let p = params(state)?;
    let mut rep = get(state, who)?.unwrap_or(Reputation {
        score: p.floor_score,
        slashes: 0,
        updated_height: height,
    });
    let score = rep.score.max(p.floor_score);
    let excess = score - p.floor_score;
    let cut = u128::from(excess) * u128::from(penalty_ppm.min(PPM)) / u128::from(PPM);
    rep.score = score - cut as u64;
    rep.updated_height = height;
    state.put(state_key::score(who), &rep);
    Ok(())
}

/// Records a slash: the score drops sharply.
pub fn record_slash(state: &mut State, who: &Address, height: Height) -> Result<(), StateError> {
    let p = params(state)?;
    let mut rep = get(state, who)?.unwrap_or(Reputation {
        score: p.floor_score,
        slashes: 0,
        updated_height: height,
    });
    rep.score = slashed(&p, rep.score.max(p.floor_score));
    rep.slashes = rep.slashes.saturating_add(1);
    rep.updated_height = height;
    state.put(state_key::score(who), &rep);
    Ok(())
}

/// The factor (ppm) by which reputation scales consensus power: from
/// `min_power_factor_ppm` at score 0 up to 1 at the maximum score, rounded
/// down to a multiple of `power_factor_step_ppm` above the minimum.
pub fn power_factor_ppm(params: &ReputationParams, score: u64) -> u64 {
    let min = params.min_power_factor_ppm.min(PPM);
    let step = params.power_factor_step_ppm.max(1);
    let above = (PPM - min) * score.min(PPM) / PPM;
    min + above / step * step
}
