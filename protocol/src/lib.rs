//! Synod's wire types, shared by every other crate.
//!
//! Everything that crosses a process boundary lives here: addresses, amounts,
//! keys and signatures, the transaction envelope and its bodies, the events the
//! chain emits, the state records that queries return, genesis and parameters.
//! [`codec`] is the one place that turns them into bytes. This crate does no
//! I/O.

pub mod address;
pub mod agents;
pub mod amount;
pub mod codec;
pub mod disputes;
pub mod event;
pub mod genesis;
pub mod governance;
pub mod height;
pub mod keys;
pub mod models;
pub mod params;
pub mod proof;
pub mod query;
pub mod runs;
pub mod state;
pub mod state_key;
pub mod tx;

#[cfg(test)]
mod roundtrip_tests;

pub use address::{Address, AddressError};
pub use amount::{Amount, AmountError, USYN_PER_SYN};
pub use codec::CodecError;
pub use event::Event;
pub use genesis::{GenesisAccount, GenesisAppState, GenesisModel, GenesisValidator};
pub use governance::{ProposalId, ProposalKind, VoteOption};
pub use height::Height;
pub use keys::{KeyError, PubKey, SecretKey, Signature};
pub use params::ChainParams;
pub use tx::{SignedTx, TxBody, TxHash, UnsignedTx};
