//! `synod-node`: the embedded consensus node. It drives any ABCI 2.0 app over
//! the ABCI socket exactly as CometBFT 0.38 does; it knows ABCI, not Synod's
//! state machine.
//!
//! Built so far (issue 4 is in progress): the async ABCI client with
//! CometBFT's four connections ([`abci`]) and the mempool ([`mempool`]).
//! Consensus (Malachite), the block store and the RPC follow; see
//! `docs/node-malachite-notes.md`.

pub mod abci;
pub mod mempool;
