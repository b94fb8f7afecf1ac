//! `synod-node`: the embedded consensus node. It drives any ABCI 2.0 app over
//! the ABCI socket exactly as CometBFT 0.38 does; it knows ABCI, not Synod's
//! state machine.
//!
//! Parts: the async ABCI client with CometBFT's four connections
//! ([`abci`]), the mempool ([`mempool`]) and its gossip ([`gossip`]),
//! decided blocks ([`block`]), the RocksDB block store ([`store`]), the chain
//! executor with the restart handshake ([`chain`]), the Malachite consensus
//! context with its signer, verifier and double-sign guard ([`context`]),
//! the wire codec ([`codec`]), proposal streaming ([`streaming`]), evidence
//! and last-commit checks ([`evidence`]), the engine loop that ties them
//! together ([`engine`]), the CometBFT RPC subset ([`rpc`]), Prometheus
//! metrics ([`metrics`]) and CometBFT homes ([`home`]). The binary is
//! `synod-node`; see `docs/node-malachite-notes.md`.

pub mod abci;
pub mod block;
pub mod chain;
pub mod codec;
pub mod context;
pub mod engine;
pub mod evidence;
pub mod gossip;
pub mod home;
pub mod mempool;
pub mod metrics;
pub mod rpc;
pub mod store;
pub mod streaming;
