//! The Synod chain: a deterministic ABCI 2.0 state machine on RocksDB.
//!
//! Layout: one folder per module, every one in the shape of [`component`]
//! (`mod.rs`, `state_key.rs`, `params.rs`, `genesis.rs`, `handlers.rs`,
//! `hooks.rs`, `tests.rs`): [`accounts`], [`reputation`], [`rewards`],
//! [`models`], [`workflows`], [`agents`], [`runs`], [`disputes`],
//! [`governance`], [`staking`], run in the order
//! [`app::components`] declares. The transaction pipeline is in [`execute`],
//! the lifecycle in [`app`], state layers in [`state`], queries in
//! [`query`], the ABCI edge in [`abci`], versioned Merkle storage in
//! [`storage`]. Test fixtures (`testkit`) exist only with the `testkit`
//! feature. See `docs/architecture.md`.

pub mod abci;
#[cfg(any(test, feature = "testkit"))]
pub mod abci_client;
pub mod accounts;
pub mod agents;
pub mod app;
pub mod component;
pub mod disputes;
pub mod error;
pub mod execute;
pub mod gas;
pub mod genesis;
pub mod governance;
pub mod models;
pub mod query;
pub mod reputation;
pub mod rewards;
pub mod runs;
pub mod staking;
pub mod state;
pub mod storage;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod workflows;

pub use app::{App, BlockInput, BlockOutput, Mempool};
pub use error::{AppError, TxError};
pub use storage::{Storage, StorageOptions};
