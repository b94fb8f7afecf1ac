//! The agents component: its params at genesis, its transactions, and the
//! release of exited agents' bonds at the end of a block.

use synod_protocol::{agents::AgentStatus, Address, Event, GenesisAppState, Height, TxBody};

use super::{agent, genesis, handlers, state_key};
use crate::{
    accounts,
    component::{not_handled, BlockContext, BlockEffects, Component, GenesisContext, TxContext},
    error::{AppError, HandlerError, InvariantError, OrInvariant, TxError},
    state::State,
};

/// The agents component.
pub struct Agents;

impl Component for Agents {
    fn name(&self) -> &'static str {
        "agents"
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

    /// Returns the bonds of agents whose exit is due.
    fn end_block(
        &self,
        state: &mut State,
        block: &BlockContext<'_>,
        out: &mut BlockEffects,
    ) -> Result<(), InvariantError> {
        release_bonds(state, block.height, &mut out.events)
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
        let signer = &tx.signer;
        match body {
            TxBody::RegisterAgent {
                models,
                bond,
                metadata,
            } => handlers::register(state, signer, models, *bond, metadata, tx.height, events),
            TxBody::UpdateAgent { models, metadata } => {
                handlers::update(state, signer, models, metadata, tx.height, events)
            }
            TxBody::AddAgentBond { amount } => {
                handlers::add_bond(state, signer, *amount, tx.height, events)
            }
            TxBody::ExitAgent => handlers::exit(state, signer, tx.height, events),
            other => Err(not_handled(self.name(), other)),
        }
    }
}

/// Credits every agent whose release is due at `height` with its bond and
/// removes its record (its reputation stays: a later registration at the
/// same address continues from it). A queue entry that names no exiting
/// agent is a broken invariant of the module's own records.
pub(super) fn release_bonds(
    state: &mut State,
    height: Height,
    events: &mut Vec<Event>,
) -> Result<(), InvariantError> {
    let broken = |reason: String| InvariantError::broken("agents", reason);
    for (key, ()) in state.prefix::<()>(&state_key::release_queue_at(height))? {
        state.delete(key.clone());
        let address = key
            .rsplit(|b| *b == b'/')
            .next()
            .and_then(|hex_addr| hex::decode(hex_addr).ok())
            .and_then(|b| <[u8; 20]>::try_from(b).ok())
            .map(Address)
            .ok_or_else(|| {
                broken(format!(
                    "release queue key {:?} names no address",
                    String::from_utf8_lossy(&key)
                ))
            })?;
        let a = agent(state, &address)?
            .ok_or_else(|| broken(format!("{address} is queued for release but is no agent")))?;
        match a.status {
            AgentStatus::Exiting { release_height, .. } if release_height == height => {}
            other => {
                return Err(broken(format!(
                    "{address} is queued for release at {height} but is {other:?}"
                )))
            }
        }
        state.delete(state_key::agent(&address));
        accounts::credit(state, &address, a.bond).or_invariant("agents")?;
        events.push(Event::AgentBondReleased {
            agent: address,
            amount: a.bond,
        });
    }
    Ok(())
}
