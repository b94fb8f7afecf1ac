//! InitChain: parses genesis `app_state`, checks its rules, and has every
//! component write its part ([`crate::component::Component::init_genesis`]).

use synod_protocol::{GenesisAppState, Height};

use crate::{
    component::{Components, GenesisContext, ValidatorUpdate},
    error::AppError,
    staking,
    state::{State, StateError},
};

/// Parses genesis `app_state` JSON, naming the field that is wrong, then
/// checks it against the protocol's genesis rules
/// ([`GenesisAppState::problems`]), naming every rule it breaks.
pub fn parse_app_state(bytes: &[u8]) -> Result<GenesisAppState, AppError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::Genesis(
            "app_state is empty: genesis.json must carry Synod's app_state".into(),
        ));
    }
    let app_state: GenesisAppState =
        serde_json::from_slice(bytes).map_err(|e| AppError::Genesis(format!("app_state: {e}")))?;
    check_rules(&app_state)?;
    Ok(app_state)
}

/// Refuses a genesis state that breaks any of the protocol's genesis rules,
/// listing all of them.
fn check_rules(genesis: &GenesisAppState) -> Result<(), AppError> {
    let problems = genesis.problems();
    if problems.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
    Err(AppError::Genesis(format!(
        "{} problem(s) in genesis: {}",
        problems.len(),
        list.join("; ")
    )))
}

/// Writes the genesis state, each component its own part in hook order,
/// and returns the initial validator set.
pub fn init_genesis(
    state: &mut State,
    genesis: &GenesisAppState,
    height: Height,
    components: &Components,
) -> Result<Vec<ValidatorUpdate>, AppError> {
    // Duplicates, bonds, monikers and params: the same rules
    // `synod-config validate-genesis` applies offline.
    check_rules(genesis)?;
    let ctx = GenesisContext { height };
    for c in components.iter() {
        c.init_genesis(state, genesis, &ctx)?;
    }
    Ok(validator_set(state)?)
}

/// The active set as InitChain reports it: every member with its power, in
/// consensus-key order.
pub fn validator_set(state: &State) -> Result<Vec<ValidatorUpdate>, StateError> {
    let mut set: Vec<ValidatorUpdate> = staking::active_set(state)?
        .into_iter()
        .map(|v| ValidatorUpdate {
            consensus_key: v.consensus_key,
            power: v.power,
        })
        .collect();
    set.sort_by_key(|v| v.consensus_key);
    Ok(set)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn app_state() -> GenesisAppState {
        GenesisAppState::one_validator_example()
    }

    #[test]
    fn a_genesis_breaking_several_rules_is_refused_naming_each() {
        let mut s = app_state();
        s.accounts.push(s.accounts[0].clone());
        s.validators[0].moniker = String::new();
        s.params.staking.unbonding_blocks = 0;
        let err = parse_app_state(&serde_json::to_vec(&s).unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("app_state.accounts[1].address"), "{err}");
        assert!(err.contains("appears twice"), "{err}");
        assert!(err.contains("app_state.validators[0].moniker"), "{err}");
        assert!(err.contains("params.staking.unbonding_blocks"), "{err}");
    }

    #[test]
    fn a_valid_genesis_parses() {
        let s = app_state();
        assert_eq!(
            parse_app_state(&serde_json::to_vec(&s).unwrap()).unwrap(),
            s
        );
    }
}
