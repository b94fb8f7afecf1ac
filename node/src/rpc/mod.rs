//! CometBFT 0.38's JSON-RPC, answered from the node's block store, mempool
//! and app: JSON-RPC 2.0 over HTTP POST (single or batch), the URI form
//! (`GET /block?height=5`), and `/websocket` subscriptions to `NewBlock`,
//! `NewBlockHeader`, `NewBlockEvents` and `Tx` events. Every method of
//! CometBFT's `rpc/core/routes.go` has a route: served, or refused with a
//! JSON-RPC error that says why synod-node does not serve it (docs/rpc.md
//! lists them).
//!
//! Answers are written field for field as CometBFT writes them
//! ([`cometbft`]), so unmodified CometBFT clients (tendermint-rs, cosmjs)
//! read them; `node/tests/rpc_cometbft_json.rs` checks every method against
//! CometBFT's OpenAPI document.
//!
//! Layers, each using only the ones below it: `transport` (the hyper server,
//! HTTP and JSON-RPC framing) and `ws` (websocket sessions) hand calls to
//! `dispatch` (the route table and the method-to-handler `match`), which
//! calls the handlers in `methods/`; they share `params` (parameter
//! parsing), `jsonrpc` (errors and the response envelope), `server` (what
//! handlers read through), `convert` (stored records as CometBFT's types),
//! `cometbft` (those types' JSON), `merkle` and [`query`] (event queries).

mod cometbft;
mod convert;
mod dispatch;
mod jsonrpc;
mod merkle;
mod methods;
pub mod params;
pub mod query;
mod server;
mod transport;
mod ws;

pub use jsonrpc::RpcError;
pub use server::{node_id, RpcContext, RpcLimits, NODE_VERSION};
pub use transport::serve;
