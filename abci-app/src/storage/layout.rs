//! Every column family, key and value layout the store writes, in one place.
//!
//! Versions are big-endian `u64` everywhere so that byte order equals numeric
//! order (RocksDB sorts keys bytewise); the tests at the bottom prove it.

use jmt::proof::SparseMerkleProof;
use jmt::storage::{NibblePath, Node, NodeKey};
use jmt::KeyHash;
use sha2::Sha256;

use super::{Committed, StorageError};

/// Latest committed value of every live key: raw key -> raw value.
pub(super) const CF_STATE: &str = "state";
/// JMT nodes: encoded [`NodeKey`] -> encoded [`Node`].
pub(super) const CF_JMT_NODES: &str = "jmt_nodes";
/// Versioned values: key hash (32) ++ version (BE u64) -> tagged value.
pub(super) const CF_JMT_VALUES: &str = "jmt_values";
/// Stale-node index: stale_since_version (BE u64) ++ encoded node key -> empty.
pub(super) const CF_STALE_NODES: &str = "stale_nodes";
/// Stale-value index: superseded_at (BE u64) ++ key hash (32) ++ old version (BE u64) -> empty.
pub(super) const CF_STALE_VALUES: &str = "stale_values";
/// Store-wide records: format marker, committed version and root, oldest readable version.
pub(super) const CF_META: &str = "meta";

/// Every column family of the store besides RocksDB's own `default`.
pub(super) const COLUMN_FAMILIES: [&str; 6] = [
    CF_STATE,
    CF_JMT_NODES,
    CF_JMT_VALUES,
    CF_STALE_NODES,
    CF_STALE_VALUES,
    CF_META,
];

/// Meta key of the format marker written when a store is created.
pub(super) const META_FORMAT: &[u8] = b"format";
/// Format marker of this layout (node values are borsh-encoded `jmt` nodes).
pub(super) const FORMAT_V1: &[u8] = b"synod-storage/2-borsh";
/// Meta key of the committed record: version (BE u64) ++ root (32 bytes).
pub(super) const META_COMMITTED: &[u8] = b"committed";
/// Meta key of the oldest version whose tree and values are complete (BE u64).
pub(super) const META_OLDEST: &[u8] = b"oldest_version";

const VERSION_LEN: usize = 8;
const HASH_LEN: usize = 32;
/// A `NibblePath` never holds more nibbles than a 32-byte key hash has.
const MAX_NIBBLES: usize = 2 * HASH_LEN;

/// Tag byte of a versioned value entry: the key was deleted at that version.
const VALUE_TAG_DELETED: u8 = 0;
/// Tag byte of a versioned value entry: the key holds the bytes that follow.
const VALUE_TAG_PRESENT: u8 = 1;

/// Big-endian encoding of a version, so byte order equals numeric order.
pub(super) fn version_bytes(version: u64) -> [u8; VERSION_LEN] {
    version.to_be_bytes()
}

fn corrupt(column_family: &'static str, key: &[u8], reason: impl Into<String>) -> StorageError {
    StorageError::Corrupt {
        column_family,
        key: hex::encode(key),
        reason: reason.into(),
    }
}

fn read_version(bytes: &[u8]) -> Option<u64> {
    let array: [u8; VERSION_LEN] = bytes.try_into().ok()?;
    Some(u64::from_be_bytes(array))
}

/// Decodes a big-endian version stored under `key` of `column_family`.
pub(super) fn decode_version(
    column_family: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<u64, StorageError> {
    read_version(bytes).ok_or_else(|| {
        corrupt(
            column_family,
            key,
            format!("expected an 8-byte version, found {} bytes", bytes.len()),
        )
    })
}

/// Encodes a node key as version (BE u64) ++ nibble count (1 byte) ++ the nibbles
/// packed two per byte, high nibble first, the unused low half of an odd last byte 0.
pub(super) fn encode_node_key(node_key: &NodeKey) -> Vec<u8> {
    let path = node_key.nibble_path();
    let count = path.num_nibbles();
    let mut bytes = Vec::with_capacity(VERSION_LEN + 1 + count.div_ceil(2));
    bytes.extend_from_slice(&version_bytes(node_key.version()));
    // A path has at most 64 nibbles (jmt's invariant), so the count fits a byte.
    bytes.push(u8::try_from(count).unwrap_or(u8::MAX));
    let mut packed = 0u8;
    for (index, nibble) in path.nibbles().enumerate() {
        let nibble = u8::from(nibble);
        if index % 2 == 0 {
            packed = nibble << 4;
        } else {
            bytes.push(packed | nibble);
        }
    }
    if count % 2 == 1 {
        bytes.push(packed);
    }
    bytes
}

/// Decodes a node key written by [`encode_node_key`]; anything else is reported as
/// corrupt data of `column_family` (the one it was read from).
pub(super) fn decode_node_key(
    column_family: &'static str,
    bytes: &[u8],
) -> Result<NodeKey, StorageError> {
    let too_short = || {
        corrupt(
            column_family,
            bytes,
            "node key shorter than its 9-byte header",
        )
    };
    let version =
        read_version(bytes.get(..VERSION_LEN).ok_or_else(too_short)?).ok_or_else(too_short)?;
    let count = usize::from(*bytes.get(VERSION_LEN).ok_or_else(too_short)?);
    let packed = bytes.get(VERSION_LEN + 1..).unwrap_or_default();
    if count > MAX_NIBBLES {
        return Err(corrupt(
            column_family,
            bytes,
            format!("node key has {count} nibbles, at most {MAX_NIBBLES} are possible"),
        ));
    }
    if packed.len() != count.div_ceil(2) {
        return Err(corrupt(
            column_family,
            bytes,
            format!(
                "node key declares {count} nibbles but carries {} path bytes",
                packed.len()
            ),
        ));
    }
    if count % 2 == 1 && packed.last().is_some_and(|last| last & 0x0f != 0) {
        return Err(corrupt(
            column_family,
            bytes,
            "node key has a nonzero padding nibble",
        ));
    }
    let nibbles = packed
        .iter()
        .flat_map(|byte| [byte >> 4, byte & 0x0f])
        .take(count)
        .map(Into::into);
    let path: NibblePath = nibbles.collect();
    Ok(NodeKey::new(version, path))
}

/// The key of the root node of the tree at `version`.
pub(super) fn root_node_key(version: u64) -> NodeKey {
    let empty: NibblePath = std::iter::empty().collect();
    NodeKey::new(version, empty)
}

/// Encodes a JMT node for the `jmt_nodes` column family (borsh, jmt's own
/// compact encoding; a change here needs a new format marker).
pub(super) fn encode_node(node: &Node) -> Result<Vec<u8>, StorageError> {
    borsh::to_vec(node).map_err(|error| StorageError::Encode {
        what: "jmt node",
        reason: error.to_string(),
    })
}

/// Decodes a JMT node stored under `key` in the `jmt_nodes` column family.
pub(super) fn decode_node(key: &[u8], bytes: &[u8]) -> Result<Node, StorageError> {
    borsh::from_slice(bytes)
        .map_err(|error| corrupt(CF_JMT_NODES, key, format!("undecodable jmt node: {error}")))
}

/// Encodes a Merkle proof for [`super::Storage::get_with_proof`] (borsh, jmt's own encoding).
pub(super) fn encode_proof(proof: &SparseMerkleProof<Sha256>) -> Result<Vec<u8>, StorageError> {
    borsh::to_vec(proof).map_err(|error| StorageError::Encode {
        what: "merkle proof",
        reason: error.to_string(),
    })
}

/// Key of a versioned value: key hash ++ version (BE u64).
pub(super) fn value_key(key_hash: &KeyHash, version: u64) -> [u8; HASH_LEN + VERSION_LEN] {
    let mut key = [0u8; HASH_LEN + VERSION_LEN];
    key[..HASH_LEN].copy_from_slice(&key_hash.0);
    key[HASH_LEN..].copy_from_slice(&version_bytes(version));
    key
}

/// Splits a versioned-value key into key hash and version; `None` if it has the wrong length.
pub(super) fn split_value_key(key: &[u8]) -> Option<(KeyHash, u64)> {
    let hash: [u8; HASH_LEN] = key.get(..HASH_LEN)?.try_into().ok()?;
    let version = read_version(key.get(HASH_LEN..)?)?;
    Some((KeyHash(hash), version))
}

/// Encodes a versioned value: a tag byte, then the value bytes if present.
pub(super) fn encode_value_entry(value: Option<&[u8]>) -> Vec<u8> {
    match value {
        None => vec![VALUE_TAG_DELETED],
        Some(value) => {
            let mut entry = Vec::with_capacity(1 + value.len());
            entry.push(VALUE_TAG_PRESENT);
            entry.extend_from_slice(value);
            entry
        }
    }
}

/// Decodes a versioned value stored under `key` in `jmt_values` (`None` = deleted).
pub(super) fn decode_value_entry(
    key: &[u8],
    entry: &[u8],
) -> Result<Option<Vec<u8>>, StorageError> {
    match entry.split_first() {
        Some((&VALUE_TAG_DELETED, [])) => Ok(None),
        Some((&VALUE_TAG_PRESENT, value)) => Ok(Some(value.to_vec())),
        Some((&VALUE_TAG_DELETED, rest)) => Err(corrupt(
            CF_JMT_VALUES,
            key,
            format!("deletion marker followed by {} stray bytes", rest.len()),
        )),
        Some((tag, _)) => Err(corrupt(
            CF_JMT_VALUES,
            key,
            format!("unknown value tag {tag}"),
        )),
        None => Err(corrupt(CF_JMT_VALUES, key, "empty value entry")),
    }
}

/// Key of a stale-node index entry.
pub(super) fn stale_node_key(stale_since_version: u64, node_key: &NodeKey) -> Vec<u8> {
    let mut key = version_bytes(stale_since_version).to_vec();
    key.extend_from_slice(&encode_node_key(node_key));
    key
}

/// The encoded node key inside a stale-node index key.
pub(super) fn stale_node_target(key: &[u8]) -> Result<&[u8], StorageError> {
    let target = key.get(VERSION_LEN..).unwrap_or_default();
    // Validate it so that pruning never deletes something it cannot name.
    decode_node_key(CF_STALE_NODES, target)?;
    Ok(target)
}

/// Key of a stale-value index entry.
pub(super) fn stale_value_key(
    superseded_at: u64,
    key_hash: &KeyHash,
    old_version: u64,
) -> [u8; VERSION_LEN + HASH_LEN + VERSION_LEN] {
    let mut key = [0u8; VERSION_LEN + HASH_LEN + VERSION_LEN];
    key[..VERSION_LEN].copy_from_slice(&version_bytes(superseded_at));
    key[VERSION_LEN..].copy_from_slice(&value_key(key_hash, old_version));
    key
}

/// The `jmt_values` key a stale-value index key points at.
pub(super) fn stale_value_target(key: &[u8]) -> Result<&[u8], StorageError> {
    match key.get(VERSION_LEN..) {
        Some(target) if split_value_key(target).is_some() => Ok(target),
        _ => Err(corrupt(
            CF_STALE_VALUES,
            key,
            format!(
                "stale-value key must be {} bytes, found {}",
                VERSION_LEN + HASH_LEN + VERSION_LEN,
                key.len()
            ),
        )),
    }
}

/// Encodes the committed record: version (BE u64) ++ root.
pub(super) fn encode_committed(committed: Committed) -> [u8; VERSION_LEN + HASH_LEN] {
    let mut record = [0u8; VERSION_LEN + HASH_LEN];
    record[..VERSION_LEN].copy_from_slice(&version_bytes(committed.version));
    record[VERSION_LEN..].copy_from_slice(&committed.root);
    record
}

/// Decodes the committed record.
pub(super) fn decode_committed(bytes: &[u8]) -> Result<Committed, StorageError> {
    let malformed = || {
        corrupt(
            CF_META,
            META_COMMITTED,
            format!(
                "committed record must be {} bytes, found {}",
                VERSION_LEN + HASH_LEN,
                bytes.len()
            ),
        )
    };
    if bytes.len() != VERSION_LEN + HASH_LEN {
        return Err(malformed());
    }
    let version = read_version(&bytes[..VERSION_LEN]).ok_or_else(malformed)?;
    let root: [u8; HASH_LEN] = bytes[VERSION_LEN..].try_into().map_err(|_| malformed())?;
    Ok(Committed { version, root })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn node_key_bytes(version: u64, nibbles: &[u8]) -> Vec<u8> {
        let mut bytes = version_bytes(version).to_vec();
        bytes.push(nibbles.len() as u8);
        for pair in nibbles.chunks(2) {
            bytes.push((pair[0] << 4) | pair.get(1).copied().unwrap_or(0));
        }
        bytes
    }

    proptest! {
        #[test]
        fn version_byte_order_equals_numeric_order(a: u64, b: u64) {
            prop_assert_eq!(version_bytes(a).cmp(&version_bytes(b)), a.cmp(&b));
            prop_assert_eq!(
                value_key(&KeyHash([7; 32]), a).cmp(&value_key(&KeyHash([7; 32]), b)),
                a.cmp(&b)
            );
        }

        #[test]
        fn node_keys_round_trip_through_their_encoding(
            version: u64,
            nibbles in proptest::collection::vec(0u8..16, 0..=64),
        ) {
            let bytes = node_key_bytes(version, &nibbles);
            let key = decode_node_key(CF_JMT_NODES, &bytes).expect("canonical encoding decodes");
            prop_assert_eq!(key.version(), version);
            prop_assert_eq!(key.nibble_path().num_nibbles(), nibbles.len());
            prop_assert_eq!(encode_node_key(&key), bytes);
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = decode_node_key(CF_JMT_NODES, &bytes);
            let _ = decode_node(&bytes, &bytes);
            let _ = decode_value_entry(&bytes, &bytes);
            let _ = decode_committed(&bytes);
            let _ = stale_node_target(&bytes);
            let _ = stale_value_target(&bytes);
        }
    }

    #[test]
    fn node_keys_with_too_many_nibbles_or_stray_padding_are_corrupt() {
        let mut too_long = node_key_bytes(1, &[0; 64]);
        too_long[8] = 65;
        too_long.push(0);
        assert!(matches!(
            decode_node_key(CF_JMT_NODES, &too_long),
            Err(StorageError::Corrupt { .. })
        ));
        let mut stray = node_key_bytes(1, &[3]);
        stray[9] |= 0x01;
        assert!(matches!(
            decode_node_key(CF_JMT_NODES, &stray),
            Err(StorageError::Corrupt { .. })
        ));
    }

    #[test]
    fn value_entries_distinguish_deletion_from_an_empty_value() {
        let deleted = encode_value_entry(None);
        let empty = encode_value_entry(Some(&[]));
        assert_ne!(deleted, empty);
        assert_eq!(decode_value_entry(b"k", &deleted).ok(), Some(None));
        assert_eq!(
            decode_value_entry(b"k", &empty).ok(),
            Some(Some(Vec::new()))
        );
        assert!(decode_value_entry(b"k", &[9, 1]).is_err());
    }

    #[test]
    fn committed_record_round_trips() {
        let committed = Committed {
            version: 42,
            root: [5; 32],
        };
        assert_eq!(
            decode_committed(&encode_committed(committed)).ok(),
            Some(committed)
        );
        assert!(decode_committed(&[0; 39]).is_err());
    }
}
