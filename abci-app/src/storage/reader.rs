//! Reading committed data through one RocksDB snapshot, as jmt's `TreeReader`.
//!
//! Every read of one operation (a proof, a prepare) goes through the same
//! snapshot, so a commit or a prune that lands meanwhile is never half seen.

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Version};
use rocksdb::{ColumnFamily, ReadOptions, SnapshotWithThreadMode, DB};

use super::layout::{self, CF_JMT_NODES, CF_JMT_VALUES, CF_META, META_COMMITTED, META_OLDEST};
use super::{Committed, StorageError};

/// The handle of a column family, or an error naming it.
pub(super) fn column_family<'a>(
    db: &'a DB,
    name: &'static str,
) -> Result<&'a ColumnFamily, StorageError> {
    db.cf_handle(name)
        .ok_or(StorageError::MissingColumnFamily { name })
}

/// A versioned-value entry: the version it was written at and the value
/// (`None`: the key was deleted at that version).
pub(super) type VersionedValue = (u64, Option<Vec<u8>>);

/// What the meta column family says about the committed history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct Head {
    /// The last committed version and its root; `None` for a fresh store.
    pub(super) committed: Option<Committed>,
    /// The oldest version whose tree and values are complete.
    pub(super) oldest: Option<u64>,
}

/// A consistent, read-only view of the committed store.
pub(super) struct SnapshotReader<'a> {
    db: &'a DB,
    snapshot: SnapshotWithThreadMode<'a, DB>,
    /// A version whose (absent) root should read as the empty tree: lets a fresh
    /// store start at any version, since jmt looks for the root of `version - 1`.
    empty_root_at: Option<u64>,
}

impl<'a> SnapshotReader<'a> {
    /// Takes a snapshot of `db` now.
    pub(super) fn new(db: &'a DB) -> Self {
        SnapshotReader {
            db,
            snapshot: db.snapshot(),
            empty_root_at: None,
        }
    }

    /// Makes the root of `version` read as the empty tree.
    pub(super) fn with_empty_root_at(mut self, version: u64) -> Self {
        self.empty_root_at = Some(version);
        self
    }

    /// Reads one key of one column family.
    pub(super) fn get(
        &self,
        name: &'static str,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, StorageError> {
        let cf = column_family(self.db, name)?;
        self.snapshot
            .get_cf(cf, key)
            .map_err(|source| StorageError::Db {
                operation: "read",
                column_family: name,
                source,
            })
    }

    /// Reads the committed record and the oldest readable version.
    pub(super) fn head(&self) -> Result<Head, StorageError> {
        let committed = self
            .get(CF_META, META_COMMITTED)?
            .map(|bytes| layout::decode_committed(&bytes))
            .transpose()?;
        let oldest = self
            .get(CF_META, META_OLDEST)?
            .map(|bytes| layout::decode_version(CF_META, META_OLDEST, &bytes))
            .transpose()?;
        match (committed, oldest) {
            (Some(_), None) | (None, Some(_)) => Err(StorageError::Corrupt {
                column_family: CF_META,
                key: hex::encode(META_OLDEST),
                reason: "the committed record and the oldest version must both be present or \
                         both absent"
                    .to_owned(),
            }),
            (Some(committed), Some(oldest)) if oldest > committed.version => {
                Err(StorageError::Corrupt {
                    column_family: CF_META,
                    key: hex::encode(META_OLDEST),
                    reason: format!(
                        "oldest version {oldest} is after the committed version {}",
                        committed.version
                    ),
                })
            }
            _ => Ok(Head { committed, oldest }),
        }
    }

    /// The node stored under `node_key`, if any.
    pub(super) fn node(&self, node_key: &NodeKey) -> Result<Option<Node>, StorageError> {
        if self.empty_root_at.is_some_and(|version| {
            node_key.version() == version && node_key.nibble_path().is_empty()
        }) {
            return Ok(Some(Node::Null));
        }
        let key = layout::encode_node_key(node_key);
        self.get(CF_JMT_NODES, &key)?
            .map(|bytes| layout::decode_node(&key, &bytes))
            .transpose()
    }

    /// The newest versioned-value entry of `key_hash` at or before `max_version`:
    /// its version and value (`None` = deleted there).
    pub(super) fn value_entry(
        &self,
        key_hash: &KeyHash,
        max_version: u64,
    ) -> Result<Option<VersionedValue>, StorageError> {
        let cf = column_family(self.db, CF_JMT_VALUES)?;
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(layout::value_key(key_hash, 0).to_vec());
        let mut iterator = self.snapshot.raw_iterator_cf_opt(cf, options);
        iterator.seek_for_prev(layout::value_key(key_hash, max_version));
        let found = match (iterator.key(), iterator.value()) {
            (Some(key), Some(entry)) => match layout::split_value_key(key) {
                Some((found_hash, version)) if found_hash == *key_hash => {
                    Some((version, layout::decode_value_entry(key, entry)?))
                }
                Some(_) => None,
                None => {
                    return Err(StorageError::Corrupt {
                        column_family: CF_JMT_VALUES,
                        key: hex::encode(key),
                        reason: "versioned-value key must be 40 bytes".to_owned(),
                    })
                }
            },
            _ => None,
        };
        iterator.status().map_err(|source| StorageError::Db {
            operation: "seek",
            column_family: CF_JMT_VALUES,
            source,
        })?;
        Ok(found)
    }

    /// The leaf with the greatest key hash among all stored nodes (a full scan).
    fn rightmost_leaf(&self) -> Result<Option<(NodeKey, LeafNode)>, StorageError> {
        let cf = column_family(self.db, CF_JMT_NODES)?;
        let mut iterator = self.snapshot.raw_iterator_cf(cf);
        iterator.seek_to_first();
        let mut rightmost: Option<(NodeKey, LeafNode)> = None;
        while let (Some(key), Some(bytes)) = (iterator.key(), iterator.value()) {
            if let Node::Leaf(leaf) = layout::decode_node(key, bytes)? {
                let is_further_right = rightmost
                    .as_ref()
                    .is_none_or(|(_, best)| leaf.key_hash() > best.key_hash());
                if is_further_right {
                    rightmost = Some((layout::decode_node_key(CF_JMT_NODES, key)?, leaf));
                }
            }
            iterator.next();
        }
        iterator.status().map_err(|source| StorageError::Db {
            operation: "scan",
            column_family: CF_JMT_NODES,
            source,
        })?;
        Ok(rightmost)
    }
}

impl TreeReader for SnapshotReader<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(self.node(node_key)?)
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self
            .value_entry(&key_hash, max_version)?
            .and_then(|(_, value)| value))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        Ok(self.rightmost_leaf()?)
    }
}
