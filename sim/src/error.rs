//! The simulator's errors.

use thiserror::Error;

/// What is wrong with a scenario (its TOML, a field, an actor's options).
#[derive(Debug, Error)]
pub enum ScenarioError {
    /// The TOML does not parse or does not fit the scenario's shape (the
    /// message names the field).
    #[error("scenario: {message}")]
    Toml { message: String },
    /// A field has a value out of its range.
    #[error("scenario field `{field}`: {reason}")]
    Field { field: String, reason: String },
    /// Neither a built-in scenario nor a readable file.
    #[error("no scenario {name:?} ({reason}); built-in scenarios: {builtin}")]
    Unknown {
        name: String,
        reason: String,
        builtin: String,
    },
    /// An actor kind nobody registered.
    #[error("scenario field `actors[{index}].kind`: unknown actor kind {kind:?}; known: {known}")]
    UnknownActor {
        index: usize,
        kind: String,
        known: String,
    },
}

/// Why a simulation stopped.
#[derive(Debug, Error)]
pub enum SimError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// The state machine failed (not a refused tx: an app error).
    #[error("the state machine failed at block {height}: {source}")]
    App {
        height: u64,
        #[source]
        source: synod_abci_app::AppError,
    },
    /// A query the simulator relies on failed.
    #[error("query {path} failed: {reason}")]
    Query { path: String, reason: String },
    /// Proving a step failed (a model or input that does not fit).
    #[error("proving model {model} failed: {reason}")]
    Prove { model: String, reason: String },
    /// Writing an output file failed.
    #[error("writing {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}
