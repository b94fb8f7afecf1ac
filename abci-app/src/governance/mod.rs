//! `governance`: proposals, deposits, stake-weighted votes, the tally, and
//! the atomic execution of passed proposals.
//!
//! Lifecycle: `Propose` puts down a first deposit (at least
//! `min_initial_deposit_ppm` of the minimum) and opens the deposit period;
//! once deposits reach `min_deposit` (`expedited_min_deposit` for an
//! expedited proposal) the voting period starts. At the end of the block in
//! which the voting period ends, the votes are tallied with each voter's
//! bonded stake *at that moment* (stake unbonded meanwhile does not count)
//! against all bonded stake, by the rule in
//! [`synod_protocol::governance::Tally::outcome`]. A passed proposal is
//! executed in its own state layer: everything it asks for, or nothing (the
//! proposal is then `failed`, with the reason). Deposits are refunded when a
//! proposal passes, is rejected, fails or expires, and burned when it is
//! vetoed; a missed quorum burns them only if `burn_vote_quorum` is set. An
//! expedited proposal that does not pass goes on as a regular one until the
//! regular voting period ends.
//!
//! Voting power is bonded stake: the self-bond of a validator in the active
//! set and not jailed or tombstoned. The others neither vote nor count in the
//! quorum's base, so stake that cannot sign blocks cannot steer governance
//! nor make a quorum unreachable.

pub mod genesis;
pub mod handlers;
pub mod hooks;
pub mod params;
pub mod state_key;

pub use params::{chain_params, params, update_params};

use synod_protocol::{
    governance::{DepositRecord, Proposal, ProposalId, ProposalStatus, Tally, VoteRecord},
    state::{ActiveValidator, Validator, ValidatorStatus},
    Address, Amount,
};

use crate::{
    staking,
    state::{State, StateError},
};

/// A proposal by id.
pub fn proposal(state: &State, id: ProposalId) -> Result<Option<Proposal>, StateError> {
    state.get(&state_key::proposal(id))
}

/// Writes a proposal record.
fn put_proposal(state: &mut State, p: &Proposal) {
    state.put(state_key::proposal(p.id), p);
}

/// Every proposal (with `status`, if given), in id order.
pub fn proposals(
    state: &State,
    status: Option<ProposalStatus>,
) -> Result<Vec<Proposal>, StateError> {
    Ok(state
        .prefix::<Proposal>(&state_key::proposals_prefix())?
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| status.is_none_or(|s| p.status == s))
        .collect())
}

/// The current votes on a proposal, in voter address order.
pub fn votes(state: &State, id: ProposalId) -> Result<Vec<VoteRecord>, StateError> {
    Ok(state
        .prefix::<VoteRecord>(&state_key::votes_prefix(id))?
        .into_iter()
        .map(|(_, v)| v)
        .collect())
}

/// The deposits on a proposal, in depositor address order.
pub fn deposits(state: &State, id: ProposalId) -> Result<Vec<DepositRecord>, StateError> {
    Ok(state
        .prefix::<DepositRecord>(&state_key::deposits_prefix(id))?
        .into_iter()
        .map(|(_, d)| d)
        .collect())
}

/// Deposits held for proposals in flight.
pub fn escrow(state: &State) -> Result<Amount, StateError> {
    Ok(state.get(&state_key::escrow())?.unwrap_or_default())
}

/// The stake `voter` votes with now: its bonded self-stake (unbonding stake
/// excluded).
pub fn voting_power(state: &State, voter: &Address) -> Result<Amount, StateError> {
    weight(state, voter, &staking::active_set(state)?)
}

/// [`voting_power`] against an active set already read.
fn weight(
    state: &State,
    voter: &Address,
    active: &[ActiveValidator],
) -> Result<Amount, StateError> {
    Ok(match staking::validator(state, voter)? {
        Some(v) if counts(&v, active) => v.self_bond,
        _ => Amount::ZERO,
    })
}

/// Whether a validator's stake counts in governance: it must be in the
/// active set and not jailed or tombstoned (the Cosmos SDK counts bonded
/// validators only). Jailed, tombstoned and inactive validators neither vote
/// nor count in the quorum's base.
fn counts(v: &Validator, active: &[ActiveValidator]) -> bool {
    v.status == ValidatorStatus::Candidate && active.iter().any(|a| a.operator == v.operator)
}

/// The stake of the active, unjailed validators now: the quorum's base.
pub fn total_bonded(state: &State) -> Result<Amount, StateError> {
    let active = staking::active_set(state)?;
    let mut total = Amount::ZERO;
    for v in staking::validators(state)? {
        if counts(&v, &active) {
            total.0 = total.0.saturating_add(v.self_bond.0);
        }
    }
    Ok(total)
}

/// The votes on a proposal so far, each weighted by its voter's bonded stake
/// now, and all bonded stake now. Each voter counts once (a later vote
/// replaced the earlier one), with at most its own bond, so the counted
/// stake never exceeds `bonded`.
pub fn tally(state: &State, id: ProposalId) -> Result<Tally, StateError> {
    let active = staking::active_set(state)?;
    let mut t = Tally {
        bonded: total_bonded(state)?,
        ..Tally::default()
    };
    for vote in votes(state, id)? {
        let power = weight(state, &vote.voter, &active)?;
        t.add(vote.option, power);
    }
    Ok(t)
}

#[cfg(test)]
mod tests;
