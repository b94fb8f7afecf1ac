//! The Synod chain: a deterministic ABCI 2.0 state machine on RocksDB.
//!
//! Layout (one folder per module, each with its `state_key.rs`):
//! [`accounts`], [`staking`], [`reputation`], [`rewards`], [`models`],
//! [`governance`], [`workflows`]; the transaction
//! pipeline in [`execute`]; the lifecycle in [`app`]; queries in [`query`];
//! the ABCI edge in [`abci`]; versioned Merkle storage in [`storage`].

pub mod abci;
#[cfg(any(test, feature = "testkit"))]
pub mod abci_client;
pub mod accounts;
pub mod app;
pub mod component;
pub mod error;
pub mod execute;
pub mod genesis;
pub mod governance;
pub mod models;
pub mod query;
pub mod reputation;
pub mod rewards;
pub mod staking;
pub mod state;
pub mod storage;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod workflows;

pub use app::{App, BlockInput, BlockOutput, Mempool};
pub use error::{AppError, TxError};
pub use storage::{Storage, StorageOptions};
