//! Findings of the targets that are not fixed yet: panics in code Synod
//! does not own (an upstream crate), parked here until a fix or a guard
//! lands. Each is named by what its panic message says, so runs report it
//! as known (and the CI short run passes) while a new panic, even at the
//! same place, is reported as new. Each has a reproducer; `tests/known.rs`
//! checks that every one still panics, so an entry is removed (and its
//! reproducer moved into the corpus) in the change that fixes it.
//!
//! A panic in Synod's own code is fixed, not listed. The list is empty:
//! every finding so far is fixed, its reproducer in the target's corpus
//! (`fuzzing/corpus/genesis/regression_*.json`), and the fixes are listed
//! in the "Fuzzing" section of `docs/security.md`.

use crate::error::FuzzError;

/// An open finding.
#[derive(Debug)]
pub struct KnownFinding {
    /// A short stable name.
    pub id: &'static str,
    /// The target that finds it.
    pub target: &'static str,
    /// Texts that all appear in its panic message (and in no other's).
    pub needles: &'static [&'static str],
    /// What is wrong, where, and what it affects.
    pub summary: &'static str,
    /// A small input that shows it.
    pub reproducer: fn() -> Result<Vec<u8>, FuzzError>,
}

impl KnownFinding {
    /// Whether a panic of `target` with `message` is this finding.
    pub fn matches(&self, target: &str, message: &str) -> bool {
        self.target == target && self.needles.iter().all(|n| message.contains(n))
    }
}

/// Every open finding.
pub const KNOWN_FINDINGS: &[KnownFinding] = &[];

/// The known finding a panic of `target` with `message` is, if any.
pub fn known(target: &str, message: &str) -> Option<&'static KnownFinding> {
    KNOWN_FINDINGS.iter().find(|k| k.matches(target, message))
}
