//! InitChain: builds the initial state from genesis `app_state`.

use std::collections::BTreeSet;

use synod_protocol::{Event, GenesisAppState, Height};

use crate::{
    accounts,
    error::{AppError, HandlerError},
    reputation, rewards, staking,
    staking::ValidatorUpdate,
    state::State,
};

/// Parses genesis `app_state` JSON, naming the field that is wrong.
pub fn parse_app_state(bytes: &[u8]) -> Result<GenesisAppState, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::Genesis(
            "app_state is empty: genesis.json must carry Synod's app_state".into(),
        ));
    }
    let app_state: GenesisAppState =
        serde_json::from_slice(bytes).map_err(|e| AppError::Genesis(format!("app_state: {e}")))?;
    app_state
        .params
        .validate()
        .map_err(|e| AppError::Genesis(e.to_string()))?;
    Ok(app_state)
}

/// Writes the genesis state and returns the initial validator set.
pub fn init_genesis(
    state: &mut State,
    genesis: &GenesisAppState,
    height: Height,
) -> Result<Vec<ValidatorUpdate>, AppError> {
    let fail = |e: HandlerError| match e {
        HandlerError::State(e) => AppError::State(e),
        HandlerError::Tx(e) => AppError::Genesis(e.to_string()),
    };
    accounts::set_params(state, &genesis.params.accounts);
    staking::set_params(state, &genesis.params.staking);
    reputation::set_params(state, &genesis.params.reputation);
    rewards::set_params(state, &genesis.params.rewards);

    let mut seen = BTreeSet::new();
    for acct in &genesis.accounts {
        if !seen.insert(acct.address) {
            return Err(AppError::Genesis(format!(
                "account {} appears twice",
                acct.address
            )));
        }
        accounts::credit(state, &acct.address, acct.balance).map_err(fail)?;
        accounts::mint(state, acct.balance).map_err(fail)?;
    }
    let (mut operators, mut keys) = (BTreeSet::new(), BTreeSet::new());
    let min = genesis.params.staking.min_self_bond;
    for v in &genesis.validators {
        if !operators.insert(v.operator) {
            return Err(AppError::Genesis(format!(
                "validator {} appears twice",
                v.operator
            )));
        }
        if !keys.insert(v.consensus_key) {
            return Err(AppError::Genesis(format!(
                "consensus key {} is used by two validators",
                v.consensus_key
            )));
        }
        if v.self_bond < min {
            return Err(AppError::Genesis(format!(
                "validator {} self_bond {} is below the minimum {min}",
                v.operator, v.self_bond
            )));
        }
        staking::handlers::check_moniker(&v.moniker)
            .map_err(|e| AppError::Genesis(format!("validator {}: {e}", v.operator)))?;
        staking::bond_new_validator(
            state,
            &v.operator,
            v.consensus_key,
            &v.moniker,
            v.self_bond,
            height,
        )
        .map_err(|e| {
            AppError::Genesis(format!(
                "validator {} cannot bond {} from its genesis account: {}",
                v.operator,
                v.self_bond,
                fail(e)
            ))
        })?;
    }
    let mut events: Vec<Event> = Vec::new();
    let updates = staking::hooks::update_validator_set(state, &mut events).map_err(fail)?;
    if genesis.validators.is_empty() || updates.is_empty() {
        return Err(AppError::Genesis(
            "genesis has no validator with power: add at least one".into(),
        ));
    }
    Ok(updates)
}
