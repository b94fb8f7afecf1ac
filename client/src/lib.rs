//! `synod-client`: the Synod chain client library, and the `synod` CLI
//! built on it (see `docs/cli.md`).
//!
//! - [`Keyring`]: named ed25519 account keys in a directory, one JSON file
//!   per key (mode 0600, directory 0700), in the format of a validator's
//!   `operator_key.json` so such a file imports as is.
//! - [`Client`]: talks to a node's CometBFT JSON-RPC (`synod-node` or
//!   CometBFT 0.38): plain queries, proved queries ([`Client::query_proved`])
//!   and transactions ([`Client::send`]: next nonce from the chain, minimum
//!   fee from the chain's params, `broadcast_tx_sync`, then polling `/tx`
//!   until inclusion or the timeout). A refused tx is an error carrying the
//!   chain's code and log ([`ClientError::CheckTxRefused`] when the mempool
//!   refused it, [`ClientError::BlockRefused`] when it failed in a block).
//! - Governance ([`Client::proposal`], [`Client::tally`], …, in `gov.rs`):
//!   proposals, their tally, votes and deposits, workflows, the treasury.
//! - [`proposal`]: proposals from what a user writes (`module.name=VALUE`
//!   parameter changes, workflow files), checked locally as the chain checks
//!   them, and what a proposal on chain needs next.
//! - [`inference`]: the files of `synod model …` (data sets, import cards,
//!   inference proof files) and reading an input tensor from JSON.
//!
//! # What a proved query guarantees
//!
//! A query with `prove=true` at height `H` returns the value and one
//! Jellyfish Merkle proof per state key it read. The client derives the
//! expected state keys itself ([`synod_protocol::query::QueryPath`]'s
//! `proved_keys`), never trusting the key the node names, and checks each
//! proof against the app hash in the header of block `H + 1` (the app hash
//! of the state after block `H`). A missing record comes back as `None`, its
//! absence proved.
//!
//! **Trust assumption:** with a [`light::LightClient`] attached
//! ([`Client::with_light_client`], as the `synod` CLI always does), the
//! header of block `H + 1` is believed only when the validators signed it,
//! checked by CometBFT's light-client rules from a trust root: a header the
//! user pins, or block 1 as the node reports it on first use. A proof then
//! holds unless validators with 1/3+ of the power (from the root on) signed
//! a conflicting chain. Without one, the header is taken from the node as is
//! ([`light::HeaderCheck::Unchecked`]).

mod agents;
mod args;
mod client;
pub mod disputes;
mod error;
pub mod events;
mod gov;
pub mod guard;
pub mod inference;
pub mod keyfile;
mod keyring;
pub mod light;
pub mod proposal;
mod runs;
mod standing;
mod txbuild;
mod verify;

pub use args::{consensus_key_of_home, parse_address, parse_amount, parse_pubkey, parse_tx_hash};
pub use client::{
    Answer, Client, IncludedTx, NodeStatus, Proved, SendOptions, TxOutcome, DEFAULT_TIMEOUT,
};
pub use error::ClientError;
pub use keyring::{write_private_file, KeyInfo, Keyring, MAX_KEY_NAME_BYTES};
pub use standing::standing;
pub use txbuild::{sign, sign_with_min_fee};
pub use verify::verify_answer;

/// Re-exported so callers need not depend on the protocol crate for the basics.
pub use synod_protocol::{
    query::QueryPath, Address, Amount, ChainParams, PubKey, SecretKey, SignedTx, TxBody, TxHash,
};
