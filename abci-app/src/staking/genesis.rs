//! InitChain for staking: its params, the genesis validators (each bonding
//! its self-bond from its genesis account) and the first active set.

use synod_protocol::{GenesisAppState, Height};

use super::{bond_new_validator, hooks::update_validator_set, update_params};
use crate::{error::AppError, state::State};

/// Writes `params.staking`, bonds every genesis validator and selects the
/// first active set. Runs after accounts (the bonds come from genesis
/// balances) and reputation (power depends on its params). A genesis in
/// which no validator has power is refused.
pub fn init_genesis(
    state: &mut State,
    genesis: &GenesisAppState,
    height: Height,
) -> Result<(), AppError> {
    update_params(state, &genesis.params.staking)?;
    let fail = AppError::from_genesis;
    for v in &genesis.validators {
        bond_new_validator(
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
    let updates = update_validator_set(state, &mut Vec::new()).map_err(fail)?;
    if genesis.validators.is_empty() || updates.is_empty() {
        return Err(AppError::Genesis(
            "genesis has no validator with power: add at least one".into(),
        ));
    }
    Ok(())
}
