//! CometBFT's Merkle tree (`crypto/merkle`, RFC 6962 with SHA-256): the
//! root of a list of byte strings and the proof that one of them is in it.
//! The RPC uses it for the hashes it computes from a block's own bytes: the
//! data hash (the root of the txs' SHA-256), `tx`'s inclusion proofs, and
//! the part-set header (the root of the block's 64 KiB parts).

use sha2::{Digest, Sha256};

/// The hash of a leaf: SHA-256 of 0x00 ++ item.
fn leaf_hash(item: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(item);
    h.finalize().into()
}

/// The hash of an inner node: SHA-256 of 0x01 ++ left ++ right.
fn inner_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly below `n` (n > 1): where the tree splits.
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// The Merkle root of `items` (CometBFT's `HashFromByteSlices`): SHA-256 of
/// nothing for an empty list.
pub fn root<T: AsRef<[u8]>>(items: &[T]) -> [u8; 32] {
    match items {
        [] => Sha256::digest([]).into(),
        [one] => leaf_hash(one.as_ref()),
        _ => {
            let k = split_point(items.len());
            inner_hash(&root(&items[..k]), &root(&items[k..]))
        }
    }
}

/// The proof that `items[index]` is in [`root`]`(items)`: its leaf hash and
/// the sibling hashes from the leaf up (CometBFT's `merkle.Proof`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// How many items the tree has.
    pub total: usize,
    /// Which one this proves.
    pub index: usize,
    /// The item's leaf hash.
    pub leaf_hash: [u8; 32],
    /// The sibling hashes, from the leaf's up to the root's children.
    pub aunts: Vec<[u8; 32]>,
}

/// The proof of `items[index]`, or `None` if there is no such item.
pub fn proof<T: AsRef<[u8]>>(items: &[T], index: usize) -> Option<Proof> {
    let item = items.get(index)?;
    Some(Proof {
        total: items.len(),
        index,
        leaf_hash: leaf_hash(item.as_ref()),
        aunts: aunts(items, index),
    })
}

/// The sibling hashes of `items[index]`, leaf first.
fn aunts<T: AsRef<[u8]>>(items: &[T], index: usize) -> Vec<[u8; 32]> {
    if items.len() <= 1 {
        return Vec::new();
    }
    let k = split_point(items.len());
    let (mut path, sibling) = if index < k {
        (aunts(&items[..k], index), root(&items[k..]))
    } else {
        (aunts(&items[k..], index - k), root(&items[..k]))
    };
    path.push(sibling);
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Folds a proof back into a root, as CometBFT's verifier does.
    fn root_of(p: &Proof) -> [u8; 32] {
        fn up(index: usize, total: usize, leaf: [u8; 32], aunts: &[[u8; 32]]) -> [u8; 32] {
            if total == 1 {
                return leaf;
            }
            let k = split_point(total);
            let (last, rest) = aunts.split_last().expect("an aunt per level");
            if index < k {
                inner_hash(&up(index, k, leaf, rest), last)
            } else {
                inner_hash(last, &up(index - k, total - k, leaf, rest))
            }
        }
        up(p.index, p.total, p.leaf_hash, &p.aunts)
    }

    #[test]
    fn an_empty_tree_is_the_hash_of_nothing_and_one_leaf_its_leaf_hash() {
        let empty: [&[u8]; 0] = [];
        assert_eq!(
            hex::encode(root(&empty)),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(root(&[b"a"]), leaf_hash(b"a"));
    }

    #[test]
    fn trees_split_at_the_largest_power_of_two_below_their_size() {
        let items: Vec<Vec<u8>> = (0u8..5).map(|i| vec![i]).collect();
        let l = |i: usize| leaf_hash(&items[i]);
        // 5 leaves: ((0 1) (2 3)) 4.
        let expected = inner_hash(
            &inner_hash(&inner_hash(&l(0), &l(1)), &inner_hash(&l(2), &l(3))),
            &l(4),
        );
        assert_eq!(root(&items), expected);
    }

    #[test]
    fn every_proof_folds_back_into_the_root() {
        for n in 1..=9usize {
            let items: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; i + 1]).collect();
            for i in 0..n {
                let p = proof(&items, i).unwrap();
                assert_eq!(root_of(&p), root(&items), "item {i} of {n}");
            }
            assert!(proof(&items, n).is_none());
        }
    }
}
