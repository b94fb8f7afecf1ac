//! The one shape of every chain module, after Penumbra's components and the
//! Cosmos SDK's keepers.
//!
//! A module is a folder with the same rooms:
//! - `mod.rs`: its read API and the keeper methods other modules may call
//!   (`accounts::credit`, `rewards::spend_treasury`, `models::upgrade`,
//!   `workflows::register`, ...). Only a module writes its own records.
//! - `state_key.rs`: every key it writes.
//! - `params.rs`: its parameters (where it has any), changed only through
//!   its own `update_params`.
//! - `genesis.rs`: its part of InitChain.
//! - `handlers.rs`: its transactions: a stateless check (shape, amounts;
//!   also in CheckTx and ProcessProposal) and a check-and-execute against
//!   state.
//! - `hooks.rs`: its [`Component`] implementation (begin and end block).
//! - `tests.rs`: its unit tests.
//!
//! [`crate::app::components`] lists every component once, in the order
//! their hooks run; adding a module is one line there. A component that
//! needs a resource beyond state (the models' verifying keys) holds a
//! handle to it.

use std::collections::BTreeSet;
use std::sync::Arc;

use synod_protocol::{Address, Amount, Event, GenesisAppState, Height, PubKey, TxBody};

use crate::{
    error::{AppError, HandlerError, InvariantError, TxError},
    state::{State, StateError},
};

/// One validator's vote in the last commit, as consensus reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoteInfo {
    pub consensus_address: [u8; 20],
    /// The validator's vote was in the commit (`Commit` or `Nil` flag); `false` = absent.
    pub signed: bool,
    /// The validator's consensus power at the committed height.
    pub power: u64,
}

/// Evidence of equivocation (duplicate vote or light-client attack).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub consensus_address: [u8; 20],
    pub height: Height,
}

/// A change to the consensus validator set; power 0 removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorUpdate {
    pub consensus_key: PubKey,
    pub power: u64,
}

/// What InitChain gives each component.
pub struct GenesisContext {
    /// The state version genesis is written at (`initial_height - 1`).
    pub height: Height,
}

/// What a component's block hooks see of the block.
pub struct BlockContext<'a> {
    pub height: Height,
    /// Header time, unix seconds (never the wall clock).
    pub time_unix: i64,
    /// The proposer's operator address, if its consensus key is known.
    pub proposer: Option<Address>,
    /// The last commit: who signed the previous block.
    pub votes: &'a [VoteInfo],
    /// Misbehaviour consensus reports in this block.
    pub evidence: &'a [Evidence],
}

/// What the block hooks produce besides state writes.
#[derive(Default)]
pub struct BlockEffects {
    /// Block events, in the order they happened.
    pub events: Vec<Event>,
    /// Changes to the consensus validator set (the staking component's).
    pub validator_updates: Vec<ValidatorUpdate>,
}

/// What a transaction's handler sees besides its body.
#[derive(Clone, Copy)]
pub struct TxContext<'a> {
    /// The signer's address (signature, fee and nonce already checked).
    pub signer: Address,
    /// The height of the block the transaction executes in.
    pub height: Height,
    /// How far proofs of inference are checked (only in a block, fully).
    pub proofs: ProofMode<'a>,
}

/// How far a transaction's proofs of inference are checked.
#[derive(Clone, Copy, Debug)]
pub enum ProofMode<'a> {
    /// CheckTx and PrepareProposal: the cheap checks only; the block verifies.
    Deferred,
    /// FinalizeBlock: the cheap checks, then the proof, except for claims
    /// (by digest) the block's batch verification already accepted.
    Verify { batched: &'a BTreeSet<[u8; 32]> },
}

/// A chain module: its part of genesis, its block hooks and its
/// transactions. Every method but [`Component::name`] has a default that
/// does nothing, so a module implements only what it has.
pub trait Component: Send + Sync {
    /// The module's name: its state-key prefix, its params section and
    /// what [`TxBody::module`] names for the bodies it handles.
    fn name(&self) -> &'static str;

    /// InitChain: writes the module's params and genesis records. Runs in
    /// component order, so a module may read what earlier ones wrote.
    fn init_genesis(
        &self,
        _state: &mut State,
        _genesis: &GenesisAppState,
        _ctx: &GenesisContext,
    ) -> Result<(), AppError> {
        Ok(())
    }

    /// Start of block, before the transactions.
    fn begin_block(
        &self,
        _state: &mut State,
        _block: &BlockContext<'_>,
        _out: &mut BlockEffects,
    ) -> Result<(), InvariantError> {
        Ok(())
    }

    /// End of block, after the transactions.
    fn end_block(
        &self,
        _state: &mut State,
        _block: &BlockContext<'_>,
        _out: &mut BlockEffects,
    ) -> Result<(), InvariantError> {
        Ok(())
    }

    /// Checks of a body that need no state (amounts, sizes, shapes):
    /// shared by CheckTx, ProcessProposal and FinalizeBlock, so a block
    /// that fails them is refused before anyone votes for it.
    fn check_stateless(&self, _body: &TxBody) -> Result<(), TxError> {
        Ok(())
    }

    /// The fee this body's own work needs on top of the per-byte minimum
    /// (a proof's verification grows with its circuit). Checked with the fee,
    /// before the fee is charged and before any of that work is done.
    fn execution_fee(&self, _state: &State, _body: &TxBody) -> Result<Amount, StateError> {
        Ok(Amount::ZERO)
    }

    /// The gas this body's own work wants on top of every transaction's
    /// ([`crate::gas`]): what it costs to execute, where
    /// [`Component::execution_fee`] is what it pays.
    fn execution_gas(&self, _state: &State, _body: &TxBody) -> Result<u64, StateError> {
        Ok(0)
    }

    /// Checks a body against state, then executes it (Penumbra's
    /// `check_and_execute`): every check comes before the first write, and
    /// it runs in a state layer of its own, so an error drops every write.
    /// Runs in block order: CheckTx and PrepareProposal run it in a layer
    /// they drop, FinalizeBlock in one it keeps.
    fn check_and_execute(
        &self,
        _state: &mut State,
        _tx: &TxContext<'_>,
        body: &TxBody,
        _events: &mut Vec<Event>,
    ) -> Result<(), HandlerError> {
        Err(not_handled(self.name(), body))
    }
}

/// The error for a body routed to a component that has no handler for it:
/// a routing bug ([`TxBody::module`] and the component disagree). Every node
/// hits it alike, so it rejects the transaction rather than stop the chain.
pub fn not_handled(module: &'static str, body: &TxBody) -> HandlerError {
    TxError::Undecodable(format!(
        "the {module} module has no handler for {} transactions",
        body.kind()
    ))
    .into()
}

/// The app's components, in the order their hooks run. A cheap handle:
/// clones share the list.
#[derive(Clone)]
pub struct Components(Arc<[Box<dyn Component>]>);

impl Components {
    /// The components in `order`. Names must be unique.
    pub fn new(order: Vec<Box<dyn Component>>) -> Components {
        Components(order.into())
    }

    /// Every component, in hook order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Component> {
        self.0.iter().map(|c| c.as_ref())
    }

    /// The component that handles `body` ([`TxBody::module`]).
    pub fn for_body(&self, body: &TxBody) -> Result<&dyn Component, TxError> {
        let module = body.module();
        self.iter().find(|c| c.name() == module).ok_or_else(|| {
            TxError::Undecodable(format!(
                "no module {module} on this chain handles {} transactions",
                body.kind()
            ))
        })
    }
}
