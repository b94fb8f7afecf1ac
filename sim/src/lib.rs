//! synod-sim: reproducible adversarial simulations on the real Synod
//! state machine.
//!
//! A [`scenario::Scenario`] (TOML) names validators, actors and their
//! counts, parameter overrides, the workflow, outages, blocks and a seed;
//! [`engine::run`] runs it on the real `abci-app` (FinalizeBlock and Commit
//! for every block, on a temporary RocksDB store), actors signing real
//! txs; [`metrics`] counts and samples what happened; [`output`] writes
//! JSON, CSV, SVG and a markdown report; [`sweep`] repeats a scenario over
//! parameter grids and seeds in parallel. Same seed, same output.

pub mod actors;
pub mod engine;
pub mod error;
pub mod metrics;
pub mod output;
pub mod plot;
pub mod scenario;
pub mod sweep;
pub mod workload;

pub use engine::run;
pub use error::{ScenarioError, SimError};
pub use scenario::Scenario;
