//! The accounts component: genesis balances and `Transfer`. No block hooks:
//! fees are charged by the transaction pipeline through
//! [`super::charge_fee_and_nonce`].

use synod_protocol::{Event, GenesisAppState, TxBody};

use super::{genesis, handlers};
use crate::{
    component::{not_handled, Component, GenesisContext, TxContext},
    error::{AppError, HandlerError, TxError},
    state::State,
};

/// The accounts component.
pub struct Accounts;

impl Component for Accounts {
    fn name(&self) -> &'static str {
        "accounts"
    }

    fn init_genesis(
        &self,
        state: &mut State,
        genesis: &GenesisAppState,
        _ctx: &GenesisContext,
    ) -> Result<(), AppError> {
        genesis::init_genesis(state, genesis)
    }

    fn check_stateless(&self, body: &TxBody) -> Result<(), TxError> {
        handlers::check_stateless(body)
    }

    fn check_and_execute(
        &self,
        state: &mut State,
        tx: &TxContext<'_>,
        body: &TxBody,
        events: &mut Vec<Event>,
    ) -> Result<(), HandlerError> {
        match body {
            TxBody::Transfer { to, amount } => {
                handlers::transfer(state, &tx.signer, to, *amount, events)
            }
            other => Err(not_handled(self.name(), other)),
        }
    }
}
