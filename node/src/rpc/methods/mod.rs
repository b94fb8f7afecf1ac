//! The RPC methods, one file per group: the stored chain ([`chain`]),
//! transactions ([`tx`]), the mempool ([`mempool`]), the app ([`abci`]) and
//! the node itself ([`status`]). Each adds its handlers to the server; the
//! dispatcher picks them by name.

mod abci;
mod chain;
mod mempool;
mod status;
pub(super) mod tx;
