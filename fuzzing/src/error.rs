//! What can stop a fuzz run (a crash of a target is a finding, not an error).

use std::path::PathBuf;

/// Why a run, a replay or the seeding could not proceed.
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    #[error("no target named {name:?}; the targets are: {known}")]
    UnknownTarget { name: String, known: String },
    #[error("the corpus of {target} at {} is empty: run `synod-fuzz seed` first", .dir.display())]
    EmptyCorpus { target: &'static str, dir: PathBuf },
    #[error("{}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the fixtures of {target} could not be built: {reason}")]
    Fixture {
        target: &'static str,
        reason: String,
    },
    #[error("the seeds of {target} could not be built: {reason}")]
    Seed {
        target: &'static str,
        reason: String,
    },
}

impl FuzzError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> FuzzError {
        let path = path.into();
        move |source| FuzzError::Io { path, source }
    }
}
