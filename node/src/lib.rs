//! `synod-node`: the embedded consensus node. It drives any ABCI 2.0 app over
//! the ABCI socket exactly as CometBFT 0.38 does; it knows ABCI, not Synod's
//! state machine.
//!
//! Parts, as Malachite's `channel` example splits them: [`node`] wires
//! everything and starts it, the consensus loop (`app`, private) answers
//! every message of the engine in one `match`, and [`handle`] holds what the
//! RPC, the gossip and the caller share with the loop (the node's handle and
//! error, submitted txs, committed blocks). Around them: the async
//! ABCI client with CometBFT's four connections ([`abci`]), the mempool
//! ([`mempool`]) and its gossip ([`gossip`]), decided blocks ([`block`],
//! with their timestamps in [`time`]) and their CometBFT headers and ids
//! ([`header`]),
//! the checks on a proposed block ([`validity`]) and on evidence of
//! equivocation ([`evidence`]), the validator set from the app's updates
//! ([`validators`]), the RocksDB block store ([`store`]), the chain executor
//! with the restart handshake ([`chain`]), the Malachite consensus context
//! with its signer, verifier and double-sign guard ([`context`]), the wire
//! codec ([`codec`]), proposal streaming ([`streaming`]), the CometBFT RPC
//! subset ([`rpc`]), Prometheus metrics ([`metrics`]), CometBFT homes
//! ([`home`]) with what a new one takes from a running node ([`from_node`]),
//! and what the logs leave out ([`logs`]). The binary is `synod-node`; see
//! `docs/node-malachite-notes.md`.

pub mod abci;
mod app;
pub mod block;
pub mod chain;
pub mod codec;
pub mod context;
pub mod evidence;
pub mod failpoint;
#[cfg(feature = "faults")]
pub mod faults;
pub mod from_node;
pub mod gossip;
pub mod handle;
pub mod header;
pub mod home;
pub mod logs;
pub mod mempool;
pub mod metrics;
pub mod node;
mod peers;
pub mod rpc;
pub mod store;
pub mod streaming;
pub mod time;
pub mod validators;
pub mod validity;
