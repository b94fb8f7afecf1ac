//! The staking transactions: `RegisterValidator`, `Bond`, `Unbond`, `Unjail`.

use synod_protocol::{
    state::{UnbondingEntry, ValidatorStatus},
    Address, Amount, Event, Height, PubKey, TxBody,
};

use super::{params, put_validator, state_key, unbondings, validator};
use crate::{
    accounts,
    error::{HandlerError, TxError},
    state::State,
};

/// Stateless moniker check (also run in CheckTx): the protocol's one rule,
/// [`synod_protocol::tx::check_moniker`], which genesis validation also applies.
pub fn check_moniker(moniker: &str) -> Result<(), TxError> {
    synod_protocol::tx::check_moniker(moniker).map_err(|e| TxError::InvalidMoniker {
        moniker: moniker.to_string(),
        reason: e.reason(),
    })
}

/// Stateless checks of a staking body: bonds and unbonds move something,
/// a moniker follows the protocol's rule.
pub fn check_stateless(body: &TxBody) -> Result<(), TxError> {
    match body {
        TxBody::Bond { amount } | TxBody::Unbond { amount } if amount.is_zero() => {
            Err(TxError::ZeroAmount)
        }
        TxBody::RegisterValidator {
            moniker,
            consensus_key,
            ..
        } => {
            check_moniker(moniker)?;
            consensus_key
                .check_point()
                .map_err(|_| TxError::InvalidConsensusKey {
                    key: consensus_key.to_string(),
                })
        }
        _ => Ok(()),
    }
}

/// `RegisterValidator { consensus_key, moniker, self_bond }`.
pub fn register_validator(
    state: &mut State,
    operator: &Address,
    consensus_key: PubKey,
    moniker: &str,
    self_bond: Amount,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    check_moniker(moniker)?;
    let p = params(state)?;
    if self_bond < p.min_self_bond {
        return Err(TxError::BondBelowMinimum {
            got: self_bond,
            min: p.min_self_bond,
        }
        .into());
    }
    if validator(state, operator)?.is_some() {
        return Err(TxError::AlreadyValidator(*operator).into());
    }
    if state
        .get_raw(&state_key::by_consensus_address(
            &consensus_key.consensus_address(),
        ))?
        .is_some()
    {
        return Err(TxError::ConsensusKeyInUse(consensus_key.to_string()).into());
    }
    super::bond_new_validator(state, operator, consensus_key, moniker, self_bond, height)?;
    events.push(Event::ValidatorRegistered {
        validator: *operator,
        consensus_key,
        moniker: moniker.to_string(),
    });
    events.push(Event::Bonded {
        validator: *operator,
        amount: self_bond,
    });
    Ok(())
}

/// `Bond { amount }`: adds to the signer's self-bond.
pub fn bond(
    state: &mut State,
    operator: &Address,
    amount: Amount,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    if amount.is_zero() {
        return Err(TxError::ZeroAmount.into());
    }
    let mut v = validator(state, operator)?.ok_or(TxError::UnknownValidator(*operator))?;
    if v.status == ValidatorStatus::Tombstoned {
        return Err(TxError::Tombstoned(*operator).into());
    }
    accounts::debit(state, operator, amount)?;
    v.self_bond = v.self_bond.checked_add(amount)?;
    put_validator(state, &v);
    events.push(Event::Bonded {
        validator: *operator,
        amount,
    });
    Ok(())
}

/// `Unbond { amount }`: moves stake to the unbonding queue; it is released
/// after `unbonding_blocks` and stays slashable for earlier infractions.
pub fn unbond(
    state: &mut State,
    operator: &Address,
    amount: Amount,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    if amount.is_zero() {
        return Err(TxError::ZeroAmount.into());
    }
    let p = params(state)?;
    let mut v = validator(state, operator)?.ok_or(TxError::UnknownValidator(*operator))?;
    let remaining = v
        .self_bond
        .checked_sub(amount)
        .map_err(|_| TxError::UnbondExceedsBond {
            requested: amount,
            bonded: v.self_bond,
        })?;
    if !remaining.is_zero() && remaining < p.min_self_bond {
        return Err(TxError::SelfBondBelowMinimum {
            amount,
            remaining,
            min: p.min_self_bond,
        }
        .into());
    }
    let rep = crate::reputation::params(state)?;
    if !super::power_remains(state, &p, &rep, Some((operator, remaining)))? {
        return Err(TxError::LastValidator(*operator).into());
    }
    let mut ub = unbondings(state, operator)?;
    if ub.entries.len() >= super::MAX_UNBONDING_ENTRIES {
        return Err(TxError::TooManyUnbondings {
            validator: *operator,
            max: super::MAX_UNBONDING_ENTRIES,
        }
        .into());
    }
    v.self_bond = remaining;
    put_validator(state, &v);
    let release_height = height.plus(p.unbonding_blocks);
    ub.entries.push(UnbondingEntry {
        amount,
        start_height: height,
        release_height,
    });
    state.put(state_key::unbondings(operator), &ub);
    state.put(state_key::unbonding_queue(release_height, operator), &());
    events.push(Event::UnbondingStarted {
        validator: *operator,
        amount,
        release_height,
    });
    Ok(())
}

/// `Unjail`: returns a jailed validator to candidacy once its jail time is over.
pub fn unjail(
    state: &mut State,
    operator: &Address,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), HandlerError> {
    let mut v = validator(state, operator)?.ok_or(TxError::UnknownValidator(*operator))?;
    match v.status {
        ValidatorStatus::Candidate => return Err(TxError::NotJailed(*operator).into()),
        ValidatorStatus::Tombstoned => return Err(TxError::Tombstoned(*operator).into()),
        ValidatorStatus::Jailed { until_height, .. } if height < until_height => {
            return Err(TxError::UnjailTooEarly {
                validator: *operator,
                until: until_height,
                now: height,
            }
            .into());
        }
        ValidatorStatus::Jailed { .. } => {}
    }
    v.status = ValidatorStatus::Candidate;
    put_validator(state, &v);
    state.put(
        state_key::signing_info(operator),
        &synod_protocol::state::SigningInfo::default(),
    );
    events.push(Event::Unjailed {
        validator: *operator,
    });
    Ok(())
}
