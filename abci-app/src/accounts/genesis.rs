//! InitChain for accounts: params, the genesis balances and the supply they make.

use synod_protocol::GenesisAppState;

use super::{credit, mint, update_params};
use crate::{error::AppError, state::State};

/// Writes `params.accounts` and credits every genesis account, minting its balance.
pub fn init_genesis(state: &mut State, genesis: &GenesisAppState) -> Result<(), AppError> {
    update_params(state, &genesis.params.accounts);
    let fail = AppError::from_genesis;
    for acct in &genesis.accounts {
        credit(state, &acct.address, acct.balance).map_err(fail)?;
        mint(state, acct.balance).map_err(fail)?;
    }
    Ok(())
}
