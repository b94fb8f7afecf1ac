//! The reputation component. It has no block hooks and no transactions of
//! its own: staking feeds it each block ([`super::record_block`],
//! [`super::record_slash`]) through the keeper methods in `mod.rs`.

use synod_protocol::GenesisAppState;

use super::genesis;
use crate::{
    component::{Component, GenesisContext},
    error::AppError,
    state::State,
};

/// The reputation component.
pub struct Reputation;

impl Component for Reputation {
    fn name(&self) -> &'static str {
        "reputation"
    }

    fn init_genesis(
        &self,
        state: &mut State,
        genesis: &GenesisAppState,
        _ctx: &GenesisContext,
    ) -> Result<(), AppError> {
        genesis::init_genesis(state, genesis);
        Ok(())
    }
}
