//! One target per decoder of untrusted bytes. A target feeds its input to
//! the real decoder (and to what reads the decoded value next) and asserts
//! what must hold: it never panics, a canonical decoder gives back exactly
//! its input when the value is encoded again, and refusals are errors.
//! Each file also builds its target's seed corpus from real encodings.

use crate::error::FuzzError;

pub mod block;
pub mod codec;
pub mod genesis;
pub mod gossip;
pub mod model;
pub mod onnx;
pub mod proof;
pub mod rpc;
pub mod state_proof;
pub mod stream;
pub mod tx;

/// One seed input: a file name (what it is) and its bytes.
pub type Seed = (String, Vec<u8>);

/// A fuzz target and what its runs need.
#[derive(Clone, Copy)]
pub struct Target {
    /// Its name: the corpus folder, the crash folder, the CLI argument.
    pub name: &'static str,
    /// What it feeds and asserts, in one line (`synod-fuzz list`).
    pub about: &'static str,
    /// The target itself.
    pub run: fn(&[u8]),
    /// Builds the fixtures the target checks against (once per process),
    /// so a missing fixture is an error, not a crash of every input.
    pub prepare: fn() -> Result<(), FuzzError>,
    /// Real encodings to start from (`synod-fuzz seed`).
    pub seeds: fn() -> Result<Vec<Seed>, FuzzError>,
    /// Tokens the mutator splices in (keywords of text formats).
    pub dictionary: &'static [&'static [u8]],
    /// Longest input the mutator makes.
    pub max_len: usize,
    /// Mutated inputs of the CI short run (`tests/short_run.rs`).
    pub short_runs: u64,
    /// Most mutated inputs `run all` gives it, for targets whose inputs
    /// take milliseconds (`None`: as many as asked).
    pub cap_in_all: Option<u64>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("name", &self.name).finish()
    }
}

/// No extra fixtures.
fn nothing_to_prepare() -> Result<(), FuzzError> {
    Ok(())
}

/// Every target, in the order `run all` runs them.
pub const TARGETS: &[Target] = &[
    tx::TARGET,
    codec::TARGET,
    block::TARGET,
    stream::TARGET,
    gossip::TARGET,
    rpc::TARGET,
    model::TARGET,
    onnx::TARGET,
    proof::TARGET,
    state_proof::TARGET,
    genesis::TARGET,
];

/// The target called `name`.
pub fn find(name: &str) -> Result<&'static Target, FuzzError> {
    TARGETS
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| FuzzError::UnknownTarget {
            name: name.to_owned(),
            known: TARGETS
                .iter()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Tokens of JSON documents, for the text targets' dictionaries.
const JSON_TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"true",
    b"false",
    b"-1",
    b"0",
    b"1e400",
    b"-0.0",
    b"18446744073709551615",
    b"18446744073709551616",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"\\u0000",
    b"\\ud800",
    b"\"\"",
    b"{}",
    b"[]",
];
