//! Staking's block hooks: liveness and double-sign evidence at the start of a
//! block; unbonding release and validator-set selection at its end.

use std::collections::{BTreeMap, BTreeSet};

use synod_protocol::{
    params::PPM,
    state::{ActiveValidator, SigningInfo, ValidatorStatus},
    Address, Amount, Event, Height, PubKey,
};

use super::{
    active_set, genesis, handlers, operator_by_consensus_address, params, put_validator, state_key,
    unbondings, validator, validator_power, validators,
};
use crate::{
    accounts,
    component::{not_handled, BlockContext, BlockEffects, Component, GenesisContext, TxContext},
    error::{AppError, HandlerError, InvariantError, OrInvariant, TxError},
    reputation,
    state::State,
};

/// The staking component.
pub struct Staking;

impl Component for Staking {
    fn name(&self) -> &'static str {
        "staking"
    }

    fn init_genesis(
        &self,
        state: &mut State,
        genesis: &synod_protocol::GenesisAppState,
        ctx: &GenesisContext,
    ) -> Result<(), AppError> {
        genesis::init_genesis(state, genesis, ctx.height)
    }

    /// Slashes equivocators, tracks liveness, feeds reputation.
    fn begin_block(
        &self,
        state: &mut State,
        block: &BlockContext<'_>,
        out: &mut BlockEffects,
    ) -> Result<(), InvariantError> {
        begin_block(
            state,
            block.height,
            block.votes,
            block.evidence,
            &mut out.events,
        )
        .or_invariant("staking")
    }

    /// Releases the unbondings that are due, then selects the active set
    /// (last of all hooks: every stake change of the block counts).
    fn end_block(
        &self,
        state: &mut State,
        block: &BlockContext<'_>,
        out: &mut BlockEffects,
    ) -> Result<(), InvariantError> {
        release_unbondings(state, block.height, &mut out.events).or_invariant("staking")?;
        out.validator_updates =
            update_validator_set(state, &mut out.events).or_invariant("staking")?;
        Ok(())
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
        let signer = &tx.signer;
        match body {
            TxBody::Bond { amount } => handlers::bond(state, signer, *amount, events),
            TxBody::Unbond { amount } => {
                handlers::unbond(state, signer, *amount, tx.height, events)
            }
            TxBody::RegisterValidator {
                consensus_key,
                moniker,
                self_bond,
            } => handlers::register_validator(
                state,
                signer,
                *consensus_key,
                moniker,
                *self_bond,
                tx.height,
                events,
            ),
            TxBody::Unjail => handlers::unjail(state, signer, tx.height, events),
            other => Err(not_handled(self.name(), other)),
        }
    }
}

pub use crate::component::{Evidence, ValidatorUpdate, VoteInfo};

/// Slashes `fraction_ppm` of a validator's bonded stake and of every
/// unbonding that started after the infraction (that stake was bonded then).
/// Slashed funds are burned. Returns the amount slashed.
pub(super) fn slash(
    state: &mut State,
    operator: &Address,
    fraction_ppm: u64,
    infraction_height: Height,
    reason: &str,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<Amount, HandlerError> {
    let Some(mut v) = validator(state, operator)? else {
        return Ok(Amount::ZERO);
    };
    let from_bond = v.self_bond.mul_ratio(fraction_ppm, PPM);
    v.self_bond = v.self_bond.checked_sub(from_bond)?;
    put_validator(state, &v);
    let mut total = from_bond;
    let mut ub = unbondings(state, operator)?;
    let mut touched = false;
    for entry in ub
        .entries
        .iter_mut()
        .filter(|e| e.start_height > infraction_height)
    {
        let cut = entry.amount.mul_ratio(fraction_ppm, PPM);
        entry.amount = entry.amount.checked_sub(cut)?;
        total = total.checked_add(cut)?;
        touched = true;
    }
    if touched {
        state.put(state_key::unbondings(operator), &ub);
    }
    accounts::burn(state, total)?;
    reputation::record_slash(state, operator, height)?;
    events.push(Event::Slashed {
        validator: *operator,
        amount: total,
        reason: reason.to_string(),
        infraction_height,
    });
    Ok(total)
}

fn jail(
    state: &mut State,
    operator: &Address,
    until_height: Height,
    reason: &str,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    if let Some(mut v) = validator(state, operator)? {
        if v.status == ValidatorStatus::Candidate {
            v.status = ValidatorStatus::Jailed {
                until_height,
                reason: reason.to_string(),
            };
            put_validator(state, &v);
            events.push(Event::Jailed {
                validator: *operator,
                until_height,
                reason: reason.to_string(),
            });
        }
    }
    Ok(())
}

/// Start of block: slash equivocators, track liveness from the last commit,
/// and feed reputation (signers gain, every other validator decays).
fn begin_block(
    state: &mut State,
    height: Height,
    votes: &[VoteInfo],
    evidence: &[Evidence],
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let p = params(state)?;

    for ev in evidence {
        let Some(operator) = operator_by_consensus_address(state, &ev.consensus_address)? else {
            tracing::warn!(address = %hex::encode(ev.consensus_address), "evidence against an unknown validator ignored");
            continue;
        };
        if ev.height.plus(p.max_evidence_age_blocks) < height {
            tracing::warn!(%operator, evidence_height = ev.height.value(), "expired evidence ignored");
            continue;
        }
        let Some(v) = validator(state, &operator)? else {
            continue;
        };
        if v.status == ValidatorStatus::Tombstoned {
            continue;
        }
        slash(
            state,
            &operator,
            p.double_sign_slash_ppm,
            ev.height,
            "double_sign",
            height,
            events,
        )?;
        if let Some(mut v) = validator(state, &operator)? {
            v.status = ValidatorStatus::Tombstoned;
            put_validator(state, &v);
        }
        events.push(Event::Tombstoned {
            validator: operator,
        });
    }

    let mut signed: BTreeSet<Address> = BTreeSet::new();
    let window = p.signed_blocks_window.max(1);
    let max_missed = window - window * p.min_signed_per_window_ppm / PPM;
    for vote in votes {
        let Some(operator) = operator_by_consensus_address(state, &vote.consensus_address)? else {
            continue;
        };
        let Some(v) = validator(state, &operator)? else {
            continue;
        };
        if v.status != ValidatorStatus::Candidate {
            continue;
        }
        if vote.signed {
            signed.insert(operator);
        }
        let key = state_key::signing_info(&operator);
        let mut info: SigningInfo = state.get(&key)?.unwrap_or_default();
        let slot = info.observed % window;
        let (byte, bit) = ((slot / 8) as usize, (slot % 8) as u8);
        if info.missed_bits.len() < window.div_ceil(8) as usize {
            info.missed_bits.resize(window.div_ceil(8) as usize, 0);
        }
        let was_missed = info.missed_bits[byte] & (1 << bit) != 0;
        let missed = !vote.signed;
        if was_missed && !missed {
            info.missed_bits[byte] &= !(1 << bit);
            info.missed -= 1;
        } else if !was_missed && missed {
            info.missed_bits[byte] |= 1 << bit;
            info.missed += 1;
        }
        info.observed += 1;
        if info.observed >= window && info.missed > max_missed {
            slash(
                state,
                &operator,
                p.downtime_slash_ppm,
                height.minus(2),
                "downtime",
                height,
                events,
            )?;
            jail(
                state,
                &operator,
                height.plus(p.downtime_jail_blocks),
                "downtime",
                events,
            )?;
            state.put(key, &SigningInfo::default());
        } else {
            state.put(key, &info);
        }
    }

    // Reputation: members of the last commit gain when they signed and decay
    // when absent; jailed and tombstoned validators decay (idle by force);
    // candidates outside the set neither earn nor lose.
    let in_commit: BTreeSet<Address> = votes
        .iter()
        .filter_map(|v| {
            operator_by_consensus_address(state, &v.consensus_address)
                .ok()
                .flatten()
        })
        .collect();
    for v in validators(state)? {
        let idle = v.status != ValidatorStatus::Candidate || in_commit.contains(&v.operator);
        if idle || signed.contains(&v.operator) {
            reputation::record_block(state, &v.operator, signed.contains(&v.operator), height)?;
        }
    }
    Ok(())
}

/// Releases every unbonding due at `height` to its owner's balance.
fn release_unbondings(
    state: &mut State,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    for (key, ()) in state.prefix::<()>(&state_key::unbonding_queue_at(height))? {
        let hex_addr = key
            .rsplit(|b| *b == b'/')
            .next()
            .unwrap_or_default()
            .to_vec();
        state.delete(key);
        let Some(operator) = hex::decode(&hex_addr)
            .ok()
            .and_then(|b| <[u8; 20]>::try_from(b).ok())
            .map(Address)
        else {
            continue;
        };
        let mut ub = unbondings(state, &operator)?;
        let (due, rest): (Vec<_>, Vec<_>) = ub
            .entries
            .into_iter()
            .partition(|e| e.release_height <= height);
        ub.entries = rest;
        let amount = due
            .iter()
            .try_fold(Amount::ZERO, |acc, e| acc.checked_add(e.amount))?;
        if ub.entries.is_empty() {
            state.delete(state_key::unbondings(&operator));
        } else {
            state.put(state_key::unbondings(&operator), &ub);
        }
        if !amount.is_zero() {
            accounts::credit(state, &operator, amount)?;
            events.push(Event::UnbondingReleased {
                validator: operator,
                amount,
            });
        }
    }
    Ok(())
}

/// Picks the active set (top `max_validators` by power, ties by operator
/// address, power > 0) and returns the diff against the previous set.
pub(super) fn update_validator_set(
    state: &mut State,
    events: &mut Vec<Event>,
) -> Result<Vec<ValidatorUpdate>, HandlerError> {
    let p = params(state)?;
    let mut ranked = Vec::new();
    for v in validators(state)? {
        let power = validator_power(state, &v)?;
        if power > 0 {
            ranked.push(ActiveValidator {
                operator: v.operator,
                consensus_key: v.consensus_key,
                power,
            });
        }
    }
    ranked.sort_by(|a, b| b.power.cmp(&a.power).then(a.operator.cmp(&b.operator)));
    ranked.truncate(p.max_validators as usize);
    if ranked.is_empty() {
        // Consensus cannot run on an empty set: the transactions and
        // parameter changes that could empty it are refused, and whatever
        // else would (the last validator slashed below the minimum) leaves
        // the set as it was rather than halt the chain for good.
        tracing::error!("no validator has power: keeping the current validator set");
        return Ok(Vec::new());
    }

    let old: BTreeMap<PubKey, (Address, u64)> = active_set(state)?
        .into_iter()
        .map(|a| (a.consensus_key, (a.operator, a.power)))
        .collect();
    let new: BTreeMap<PubKey, (Address, u64)> = ranked
        .iter()
        .map(|a| (a.consensus_key, (a.operator, a.power)))
        .collect();
    let mut updates = Vec::new();
    for (key, (operator, power)) in &new {
        if old.get(key).map(|(_, p)| p) != Some(power) {
            updates.push(ValidatorUpdate {
                consensus_key: *key,
                power: *power,
            });
            events.push(Event::ValidatorSetChanged {
                validator: *operator,
                power: *power,
            });
        }
    }
    for (key, (operator, _)) in &old {
        if !new.contains_key(key) {
            updates.push(ValidatorUpdate {
                consensus_key: *key,
                power: 0,
            });
            events.push(Event::ValidatorSetChanged {
                validator: *operator,
                power: 0,
            });
        }
    }
    if !updates.is_empty() {
        state.put(state_key::active_set(), &ranked);
    }
    Ok(updates)
}
