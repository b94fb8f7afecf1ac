//! InitChain: builds the initial state from genesis `app_state`.

use synod_protocol::{Event, GenesisAppState, Height};

use crate::{
    accounts,
    error::{AppError, HandlerError},
    governance,
    models::{self, VerifierCache},
    staking,
    staking::ValidatorUpdate,
    state::State,
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

/// Writes the genesis state and returns the initial validator set. The
/// verifiers derived for genesis models are kept in `verifiers`.
pub fn init_genesis(
    state: &mut State,
    genesis: &GenesisAppState,
    height: Height,
    verifiers: &VerifierCache,
) -> Result<Vec<ValidatorUpdate>, AppError> {
    let fail = |e: HandlerError| match e {
        HandlerError::State(e) => AppError::State(e),
        HandlerError::Tx(e) => AppError::Genesis(e.to_string()),
    };
    // Duplicates, bonds, monikers and params: the same rules
    // `synod-config validate-genesis` applies offline.
    check_rules(genesis)?;
    governance::set_chain_params(state, &genesis.params);
    models::genesis::init_genesis(
        state,
        &genesis.models,
        &genesis.params.models,
        height,
        verifiers,
    )?;

    for acct in &genesis.accounts {
        accounts::credit(state, &acct.address, acct.balance).map_err(fail)?;
        accounts::mint(state, acct.balance).map_err(fail)?;
    }
    for v in &genesis.validators {
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
