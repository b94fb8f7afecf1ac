//! Disputes over optimistic step results: a challenger's bonded claim that
//! an asserted execution trace is wrong, played as a bisection game over the
//! trace's state roots and settled by re-executing one graph node on chain.
//!
//! The state after step `i` of an execution is every tensor written so far;
//! its root `S_i` is the Merkle root over the trace leaves `0 ..= i`, the
//! rest of the `nodes + 1` slots empty (`synod_zkml::trace`). The chain
//! knows `S_0` (from the step's input) and the asserted `S_nodes` (the trace
//! root). The asserter bisects (`Bisect`: the root at the midpoint), the
//! challenger picks the half it disputes (`SelectHalf`), until one step is
//! left: `OneStep` re-executes that node and compares with the asserted
//! post-state. Each side has a clock of blocks across all its moves.

use serde::{Deserialize, Serialize};

use crate::{address::Address, amount::Amount, height::Height};

/// A dispute, keyed by its id (a counter from 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeRecord {
    pub id: u64,
    pub run: u64,
    pub step: u32,
    /// The model the step ran (its IR settles the one step).
    pub model: [u8; 32],
    /// The executor whose result is disputed.
    pub asserter: Address,
    pub challenger: Address,
    /// The challenger's bond, held by the disputes module until settlement.
    pub bond: Amount,
    /// The asserted trace root (`S_nodes`).
    pub trace_root: [u8; 32],
    /// The agreed end of the disputed range: the challenger accepts `S_lo`.
    pub lo: u32,
    pub lo_root: [u8; 32],
    /// The disputed end: the challenger rejects `S_hi`.
    pub hi: u32,
    pub hi_root: [u8; 32],
    /// The asserter's midpoint root, waiting for the challenger's choice.
    pub mid_root: Option<[u8; 32]>,
    /// Whose move it is.
    pub turn: Side,
    /// Blocks left on each side's clock.
    pub asserter_clock: u64,
    pub challenger_clock: u64,
    /// The height the current turn started at.
    pub turn_started: Height,
    /// The side to move loses at the end of this block if it has not moved.
    pub deadline: Height,
    pub opened_height: Height,
    pub moves: Vec<DisputeMove>,
    pub status: DisputeStatus,
}

impl DisputeRecord {
    /// Whether the game is still being played.
    pub fn is_open(&self) -> bool {
        self.status == DisputeStatus::Open
    }

    /// The party on `side`.
    pub fn party(&self, side: Side) -> Address {
        match side {
            Side::Asserter => self.asserter,
            Side::Challenger => self.challenger,
        }
    }

    /// The move expected next, as people read it.
    pub fn expected_move(&self) -> &'static str {
        if self.hi - self.lo <= 1 {
            "one-step"
        } else if self.mid_root.is_some() {
            "select"
        } else {
            "bisect"
        }
    }

    /// The midpoint of the disputed range.
    pub fn mid(&self) -> u32 {
        self.lo + (self.hi - self.lo) / 2
    }
}

/// The two parties of a dispute.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Side {
    Asserter,
    Challenger,
}

impl Side {
    /// The other party.
    pub fn other(self) -> Side {
        match self {
            Side::Asserter => Side::Challenger,
            Side::Challenger => Side::Asserter,
        }
    }

    /// The lower-case name people type.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Asserter => "asserter",
            Side::Challenger => "challenger",
        }
    }
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One move of a dispute, as the history shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisputeMove {
    pub height: Height,
    pub by: Side,
    pub kind: MoveKind,
    /// Blocks the mover's clock lost to this move.
    pub spent: u64,
}

/// What a move did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MoveKind {
    /// The asserter's root of the state after step `mid`.
    Bisect { mid: u32, mid_root: [u8; 32] },
    /// The challenger disputes the lower half (`0`: it rejects the midpoint
    /// root) or the upper half (`1`: it accepts it).
    SelectHalf { half: u8 },
    /// Node `step` re-executed on chain; `correct` = the asserted
    /// post-state held.
    OneStep { step: u32, correct: bool },
}

/// Where a dispute stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DisputeStatus {
    Open,
    /// Settled for `winner`; `paid` of the loser's bond went to the
    /// winner, `burned` was destroyed.
    Settled {
        winner: Side,
        reason: SettleReason,
        paid: Amount,
        burned: Amount,
        height: Height,
    },
    /// Ended without a verdict of its own: another dispute proved the same
    /// result false first; the challenger's bond went back.
    Void {
        height: Height,
    },
}

impl DisputeStatus {
    /// The lower-case name `/disputes/{status}` filters by.
    pub fn name(&self) -> &'static str {
        match self {
            DisputeStatus::Open => "open",
            DisputeStatus::Settled { .. } => "settled",
            DisputeStatus::Void { .. } => "void",
        }
    }
}

/// Why a dispute was settled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SettleReason {
    /// The one-step re-execution decided.
    OneStep,
    /// The loser's clock ran out.
    Timeout,
}

/// The leaf-proof of a trace root: a Merkle path (sibling hashes, bottom
/// first) in a tree of `leaf_count` leaves (`synod_zkml::merkle`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafProof {
    pub leaf_count: u64,
    pub siblings: Vec<[u8; 32]>,
}

/// The most sibling hashes a leaf proof may carry (a tree of 2^32 leaves).
pub const MAX_PROOF_SIBLINGS: usize = 32;

/// The most bytes of a `OneStep` witness (a transaction is at most 64 KiB).
pub const MAX_WITNESS_BYTES: usize = 60 * 1024;

/// The rounds of bisection over `nodes` graph nodes: `ceil(log2 nodes)`.
pub fn bisection_rounds(nodes: u32) -> u32 {
    match nodes {
        0 | 1 => 0,
        n => 32 - (n - 1).leading_zeros(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_are_the_ceiling_of_log2() {
        assert_eq!(bisection_rounds(1), 0);
        assert_eq!(bisection_rounds(2), 1);
        assert_eq!(bisection_rounds(4), 2);
        assert_eq!(bisection_rounds(5), 3);
        assert_eq!(bisection_rounds(4096), 12);
        assert_eq!(bisection_rounds(4097), 13);
    }
}
