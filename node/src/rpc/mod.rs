//! The CometBFT JSON-RPC subset that `tendermint-rpc` 0.40 clients use,
//! served from the node's block store, mempool and app: JSON-RPC 2.0 over
//! HTTP POST (single or batch), the URI form (`GET /block?height=5`), and
//! `/websocket` subscriptions to `NewBlock` and `Tx` events.
//!
//! Responses are built from tendermint-rs' own types, so they serialize
//! exactly as the clients expect.
//!
//! Layers, each using only the ones below it: `transport` (the hyper server,
//! HTTP and JSON-RPC framing) and `ws` (websocket sessions) hand calls to
//! `dispatch` (method name to handler), which calls the handlers in
//! `methods/`; they share `params` (parameter parsing), `jsonrpc` (errors
//! and the response envelope), `server` (what handlers read through),
//! `convert` (stored records as tendermint-rs types) and [`query`] (event
//! queries).

mod convert;
mod dispatch;
mod jsonrpc;
mod methods;
pub mod params;
pub mod query;
mod server;
mod transport;
mod ws;

pub use jsonrpc::RpcError;
pub use server::{node_id, RpcContext, RpcLimits};
pub use transport::serve;
