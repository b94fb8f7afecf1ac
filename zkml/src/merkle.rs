//! The binary SHA-256 Merkle tree behind both the model id (over a model's
//! header and nodes) and the trace root (over an execution's tensors).
//!
//! Shape of the tree, fixed forever because roots are stored on chain:
//! - a leaf enters the tree as `SHA-256(0x00 || leaf)`, an inner node is
//!   `SHA-256(0x01 || left || right)` (leaf/inner domain separation, as in
//!   RFC 6962), so no inner node can be passed off as a leaf;
//! - levels are built left to right; when a level has an odd number of nodes
//!   the last one is **promoted** unchanged to the next level (not duplicated,
//!   so no two leaf lists share a root by repeating their last leaf);
//! - the root commits to the number of leaves:
//!   `SHA-256(0x02 || leaf_count as u64 little-endian || top)`, so a proof
//!   states the leaf count and the verifier knows the exact path shape.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

const LEAF_TAG: u8 = 0x00;
const INNER_TAG: u8 = 0x01;
const ROOT_TAG: u8 = 0x02;

/// A proof that a leaf sits at some index of a tree with `leaf_count` leaves:
/// the sibling hashes from the bottom level up (promoted levels have none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleProof {
    /// How many leaves the tree has (committed to by the root).
    pub leaf_count: u64,
    /// Sibling hashes, bottom level first.
    pub siblings: Vec<[u8; 32]>,
}

/// Why a Merkle proof did not convince.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MerkleError {
    #[error("leaf index {index} is outside a tree of {leaf_count} leaves")]
    IndexOutOfRange { index: u64, leaf_count: u64 },
    #[error("a proof for leaf {index} of {leaf_count} needs {expected} sibling hashes, got {got}")]
    WrongLength {
        index: u64,
        leaf_count: u64,
        expected: usize,
        got: usize,
    },
    #[error("the proof for leaf {index} leads to a different root")]
    RootMismatch { index: u64 },
}

fn hash_leaf(leaf: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([LEAF_TAG]);
    h.update(leaf);
    h.finalize().into()
}

fn hash_inner(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([INNER_TAG]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

fn hash_root(leaf_count: u64, top: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([ROOT_TAG]);
    h.update(leaf_count.to_le_bytes());
    h.update(top);
    h.finalize().into()
}

fn next_level(level: &[[u8; 32]]) -> Vec<[u8; 32]> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [left, right] => hash_inner(left, right),
            [single] => *single,
            _ => unreachable!("chunks(2) yields one or two items"),
        })
        .collect()
}

/// The root over `leaves` (the root of an empty list commits to zero leaves).
pub fn root(leaves: &[[u8; 32]]) -> [u8; 32] {
    let mut level: Vec<[u8; 32]> = leaves.iter().map(hash_leaf).collect();
    while level.len() > 1 {
        level = next_level(&level);
    }
    let top = level.first().copied().unwrap_or([0; 32]);
    hash_root(leaves.len() as u64, &top)
}

/// The proof for `leaves[index]`, or `None` if `index` is out of range.
pub fn proof(leaves: &[[u8; 32]], index: usize) -> Option<MerkleProof> {
    if index >= leaves.len() {
        return None;
    }
    let mut siblings = Vec::new();
    let mut level: Vec<[u8; 32]> = leaves.iter().map(hash_leaf).collect();
    let mut i = index;
    while level.len() > 1 {
        let sibling = i ^ 1;
        if sibling < level.len() {
            siblings.push(level[sibling]);
        }
        level = next_level(&level);
        i /= 2;
    }
    Some(MerkleProof {
        leaf_count: leaves.len() as u64,
        siblings,
    })
}

/// Checks that `leaf` is leaf number `index` of the tree with root `root`.
pub fn verify(
    root: &[u8; 32],
    index: u64,
    leaf: &[u8; 32],
    proof: &MerkleProof,
) -> Result<(), MerkleError> {
    let leaf_count = proof.leaf_count;
    if index >= leaf_count {
        return Err(MerkleError::IndexOutOfRange { index, leaf_count });
    }
    let mut node = hash_leaf(leaf);
    let mut siblings = proof.siblings.iter();
    // At most 64 levels: the width halves each time.
    let (mut i, mut width) = (index, leaf_count);
    while width > 1 {
        let sibling = i ^ 1;
        if sibling < width {
            let Some(hash) = siblings.next() else {
                return Err(wrong_length(index, leaf_count, proof));
            };
            node = if i % 2 == 0 {
                hash_inner(&node, hash)
            } else {
                hash_inner(hash, &node)
            };
        }
        i /= 2;
        width = width.div_ceil(2);
    }
    if siblings.next().is_some() {
        return Err(wrong_length(index, leaf_count, proof));
    }
    if hash_root(leaf_count, &node) != *root {
        return Err(MerkleError::RootMismatch { index });
    }
    Ok(())
}

fn wrong_length(index: u64, leaf_count: u64, proof: &MerkleProof) -> MerkleError {
    MerkleError::WrongLength {
        index,
        leaf_count,
        expected: expected_siblings(index, leaf_count),
        got: proof.siblings.len(),
    }
}

fn expected_siblings(index: u64, leaf_count: u64) -> usize {
    let (mut i, mut width, mut n) = (index, leaf_count, 0);
    while width > 1 {
        if (i ^ 1) < width {
            n += 1;
        }
        i /= 2;
        width = width.div_ceil(2);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<[u8; 32]> {
        (0..n).map(|i| [i as u8; 32]).collect()
    }

    #[test]
    fn every_leaf_of_every_small_tree_proves_and_no_other_leaf_does() {
        for n in 1..=17 {
            let leaves = leaves(n);
            let root = root(&leaves);
            for (i, leaf) in leaves.iter().enumerate() {
                let proof = proof(&leaves, i).expect("in range");
                assert_eq!(verify(&root, i as u64, leaf, &proof), Ok(()), "n={n} i={i}");
                assert!(verify(&root, i as u64, &[0xff; 32], &proof).is_err());
                if n > 1 {
                    let other = (i + 1) % n;
                    assert!(verify(&root, other as u64, leaf, &proof).is_err());
                }
            }
            assert!(proof(&leaves, n).is_none());
        }
    }

    #[test]
    fn the_root_commits_to_the_leaf_count() {
        // Promotion, not duplication: [a, b, c] and [a, b, c, c] differ.
        let three = leaves(3);
        let mut four = three.clone();
        four.push(three[2]);
        assert_ne!(root(&three), root(&four));
    }

    #[test]
    fn proofs_with_extra_or_missing_siblings_are_rejected() {
        let leaves = leaves(5);
        let root = root(&leaves);
        let mut p = proof(&leaves, 1).expect("in range");
        p.siblings.push([0; 32]);
        assert!(matches!(
            verify(&root, 1, &leaves[1], &p),
            Err(MerkleError::WrongLength { .. })
        ));
        p.siblings.truncate(1);
        assert!(matches!(
            verify(&root, 1, &leaves[1], &p),
            Err(MerkleError::WrongLength { .. })
        ));
        let huge = MerkleProof {
            leaf_count: u64::MAX,
            siblings: vec![],
        };
        assert!(verify(&root, 0, &leaves[0], &huge).is_err());
    }
}
