//! `synod-agent`: an autonomous agent of the Synod network (see
//! `docs/agents.md`).
//!
//! - [`config`]: the TOML config `synod-agent init` writes.
//! - [`model`]: the [`model::Model`] trait plug-ins implement, and the
//!   built-ins: a `.synod-model` file (zk) and an external command
//!   speaking JSON lines ([`command`], optimistic only).
//! - [`network`]: libp2p — gossipsub topics for tasks, results and
//!   attestations (validated before forwarding, peer scoring on),
//!   Kademlia + identify, and content-addressed payloads over
//!   request-response (size limits, hash checks). One behaviour, one
//!   `select!` loop, a [`network::Network`] handle over channels.
//! - [`executor`]: the executor role — follow blocks, take the steps
//!   assigned to this key, run, prove, submit, serve, announce.
//! - [`follow`]: new-block wake-ups over the node's websocket.
//! - [`store`]: the local state file a restart resumes from.
//! - [`metrics`]: Prometheus text at `/metrics`.
//! - [`agent`]: `synod-agent start`, wiring it all.
//!
//! The ed25519 account key is also the libp2p identity (from its seed), so
//! a PeerId names a chain account, and gossip signatures are account
//! signatures.

pub mod agent;
pub mod command;
pub mod config;
pub mod executor;
pub mod follow;
pub mod metrics;
pub mod model;
pub mod network;
pub mod store;
