//! Versioned Merkle state on RocksDB.
//!
//! The state is a Jellyfish Merkle Tree (`jmt`, SHA-256) versioned by block
//! height; its root is the app hash. A block's changes are first *prepared*
//! (the new root is computed, nothing is written) and then *committed* in one
//! atomic RocksDB write batch, so after a crash the store shows exactly the last
//! committed version. Old versions are pruned outside a configurable window.
//!
//! Layout (see `layout.rs`): `state` holds the latest value of every key for
//! O(1) reads; `jmt_nodes` and `jmt_values` hold the versioned tree; the
//! `stale_*` indexes say what becomes garbage at which version; `meta` holds
//! the committed version and root.
//!
//! Commits are written without fsync: a process crash loses nothing (the WAL
//! is written), a machine crash may lose the last commits, which consensus
//! replays because `committed()` then reports the older height.

mod error;
mod layout;
mod prune;
mod reader;
mod support;
#[cfg(test)]
mod tests;

pub use error::StorageError;

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use jmt::storage::{StaleNodeIndex, TreeUpdateBatch};
use jmt::{JellyfishMerkleTree, KeyHash};
use rocksdb::{ColumnFamilyDescriptor, Options, ReadOptions, WriteBatch, DB};
use sha2::Sha256;

use layout::{
    CF_JMT_NODES, CF_JMT_VALUES, CF_META, CF_STALE_NODES, CF_STALE_VALUES, CF_STATE,
    COLUMN_FAMILIES, FORMAT_V1, META_COMMITTED, META_FORMAT, META_OLDEST,
};
use reader::{column_family, Head, SnapshotReader};
use support::{check_head, check_readable, is_empty_or_missing, prefix_end, run_tree};

/// The Merkle tree over a reader, with the hash this store uses.
type Tree<'r, R> = JellyfishMerkleTree<'r, R, Sha256>;

/// How a store keeps its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StorageOptions {
    /// How many versions before the latest stay readable (and provable): after
    /// committing version `v`, versions `v - prune_window ..= v` are kept and
    /// everything only older versions need is deleted. `0` keeps every version.
    pub prune_window: u64,
}

/// Changes to apply in one version: key -> new value, `None` deletes the key.
pub type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// One `(key, value)` pair of the latest committed state.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// A committed version and its Merkle root (the app hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// The version (block height).
    pub version: u64,
    /// The Merkle root of the state at that version.
    pub root: [u8; 32],
}

/// A version whose root has been computed but which is not written yet; pass it
/// to [`Storage::commit`] to persist it, or drop it to discard it.
#[derive(Clone)]
pub struct PreparedCommit {
    version: u64,
    /// The committed version this was computed on (`None`: a fresh store).
    prepared_on: Option<u64>,
    root: [u8; 32],
    tree_batch: TreeUpdateBatch,
    changes: Changes,
    /// Stale-value index keys for the values these changes supersede.
    stale_values: Vec<[u8; 48]>,
}

impl PreparedCommit {
    /// The version this will be committed as.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The Merkle root the state will have at this version.
    pub fn root(&self) -> [u8; 32] {
        self.root
    }
}

impl fmt::Debug for PreparedCommit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedCommit")
            .field("version", &self.version)
            .field("prepared_on", &self.prepared_on)
            .field("root", &hex::encode(self.root))
            .field("changes", &self.changes.len())
            .field("new_nodes", &self.tree_batch.node_batch.nodes().len())
            .finish()
    }
}

/// A versioned Merkle store on RocksDB. Cheap to clone; all clones share one
/// database. Reads may run concurrently with a commit; commits are serialized.
#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    db: DB,
    path: PathBuf,
    options: StorageOptions,
    /// Mirror of the meta records, updated after each successful write.
    head: RwLock<Head>,
    /// Held for the whole of a commit so that two commits never interleave.
    commit_lock: Mutex<()>,
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("path", &self.inner.path)
            .field("options", &self.inner.options)
            .field("committed", &self.committed())
            .finish()
    }
}

impl Storage {
    /// Opens an existing store or creates a new one in an empty or nonexistent
    /// directory. A directory that has files but is not a valid store (CURRENT
    /// or MANIFEST missing, corrupt files, missing column families, a committed
    /// root that is not in the tree) is an error naming the path and the cause,
    /// never a silently created fresh store.
    pub fn open(path: &Path, options: StorageOptions) -> Result<Storage, StorageError> {
        let fresh = is_empty_or_missing(path)?;
        if fresh {
            fs::create_dir_all(path).map_err(|source| StorageError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let mut db_options = Options::default();
        db_options.create_if_missing(fresh);
        db_options.create_missing_column_families(fresh);
        db_options.set_error_if_exists(fresh);
        db_options.set_paranoid_checks(true);
        let descriptors = COLUMN_FAMILIES
            .iter()
            .map(|name| ColumnFamilyDescriptor::new(*name, Options::default()));
        let db = DB::open_cf_descriptors(&db_options, path, descriptors).map_err(|error| {
            let reason = error.into_string();
            let path = path.to_path_buf();
            if fresh {
                StorageError::CreateFailed { path, reason }
            } else {
                StorageError::NotAStore { path, reason }
            }
        })?;
        let not_a_store = |reason: String| StorageError::NotAStore {
            path: path.to_path_buf(),
            reason,
        };
        let meta = column_family(&db, CF_META)?;
        if fresh {
            db.put_cf(meta, META_FORMAT, FORMAT_V1).map_err(|error| {
                StorageError::CreateFailed {
                    path: path.to_path_buf(),
                    reason: error.into_string(),
                }
            })?;
        } else {
            match db.get_cf(meta, META_FORMAT) {
                Ok(Some(format)) if format == FORMAT_V1 => {}
                Ok(Some(format)) => {
                    return Err(not_a_store(format!(
                        "unknown store format {:?}",
                        String::from_utf8_lossy(&format)
                    )))
                }
                Ok(None) => return Err(not_a_store("the format marker is missing".to_owned())),
                Err(error) => return Err(not_a_store(error.into_string())),
            }
        }
        let head = check_head(&db).map_err(|error| not_a_store(error.to_string()))?;
        tracing::info!(
            path = %path.display(),
            created = fresh,
            version = ?head.committed.map(|committed| committed.version),
            "opened storage"
        );
        Ok(Storage {
            inner: Arc::new(Inner {
                db,
                path: path.to_path_buf(),
                options,
                head: RwLock::new(head),
                commit_lock: Mutex::new(()),
            }),
        })
    }

    /// The last committed version and root, `None` for a fresh store.
    pub fn committed(&self) -> Option<Committed> {
        self.head().committed
    }

    /// The latest committed value of `key` (one read of the flat `state` column family).
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let db = &self.inner.db;
        db.get_cf(column_family(db, CF_STATE)?, key)
            .map_err(|source| StorageError::Db {
                operation: "read",
                column_family: CF_STATE,
                source,
            })
    }

    /// All latest committed `(key, value)` pairs whose key starts with `prefix`,
    /// in key byte order.
    pub fn prefix(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StorageError> {
        let db = &self.inner.db;
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(prefix.to_vec());
        if let Some(end) = prefix_end(prefix) {
            options.set_iterate_upper_bound(end);
        }
        // An iterator reads one implicit snapshot, so a concurrent commit is seen whole or not at all.
        let mut iterator = db.raw_iterator_cf_opt(column_family(db, CF_STATE)?, options);
        iterator.seek(prefix);
        let mut pairs = Vec::new();
        while let (Some(key), Some(value)) = (iterator.key(), iterator.value()) {
            if !key.starts_with(prefix) {
                break;
            }
            pairs.push((key.to_vec(), value.to_vec()));
            iterator.next();
        }
        iterator.status().map_err(|source| StorageError::Db {
            operation: "scan",
            column_family: CF_STATE,
            source,
        })?;
        Ok(pairs)
    }

    /// The value `key` had at `version`, read through the tree's versioned values.
    /// Errors if the version is pruned or not committed yet.
    pub fn get_at(&self, key: &[u8], version: u64) -> Result<Option<Vec<u8>>, StorageError> {
        let reader = SnapshotReader::new(&self.inner.db);
        check_readable(&reader, version)?;
        let key_hash = KeyHash::with::<Sha256>(key);
        run_tree("get", version, || Tree::new(&reader).get(key_hash, version))
    }

    /// The value (or absence) of `key` at `version`, with a serialized Merkle proof
    /// against that version's root; check it with [`verify_proof`].
    pub fn get_with_proof(
        &self,
        key: &[u8],
        version: u64,
    ) -> Result<(Option<Vec<u8>>, Vec<u8>), StorageError> {
        let reader = SnapshotReader::new(&self.inner.db);
        check_readable(&reader, version)?;
        // jmt reports any failure to read the root as "probably pruned"; read it
        // first so that a corrupt or missing root is reported as such.
        if reader.node(&layout::root_node_key(version))?.is_none() {
            return Err(StorageError::Tree {
                operation: "get_with_proof",
                version,
                reason: "the root node of this version is missing".to_owned(),
            });
        }
        let key_hash = KeyHash::with::<Sha256>(key);
        let (value, proof) = run_tree("get_with_proof", version, || {
            Tree::new(&reader).get_with_proof(key_hash, version)
        })?;
        Ok((value, layout::encode_proof(&proof)?))
    }

    /// The Merkle root of the state at `version`.
    pub fn root_at(&self, version: u64) -> Result<[u8; 32], StorageError> {
        let reader = SnapshotReader::new(&self.inner.db);
        check_readable(&reader, version)?;
        let root = run_tree("root_at", version, || {
            Tree::new(&reader).get_root_hash(version)
        })?;
        Ok(root.0)
    }

    /// Computes the root of the state after applying `changes` to the last
    /// committed version, as `version`: the committed version + 1, or any version
    /// (0 included) for a fresh store. Writes nothing. With no changes the new
    /// root equals the previous one.
    pub fn prepare(&self, changes: &Changes, version: u64) -> Result<PreparedCommit, StorageError> {
        // u64::MAX is jmt's pre-genesis version.
        if version == u64::MAX {
            return Err(StorageError::VersionOutOfRange { version });
        }
        let reader = SnapshotReader::new(&self.inner.db);
        let prepared_on = reader.head()?.committed.map(|committed| committed.version);
        let reader = match prepared_on {
            Some(committed) => {
                let expected = committed
                    .checked_add(1)
                    .ok_or(StorageError::VersionOutOfRange { version: committed })?;
                if version != expected {
                    return Err(StorageError::UnexpectedVersion {
                        requested: version,
                        expected,
                    });
                }
                reader
            }
            // jmt builds version v on the root of v - 1; a fresh store has none.
            None if version > 0 => reader.with_empty_root_at(version - 1),
            None => reader,
        };

        let value_set: Vec<(KeyHash, Option<Vec<u8>>)> = changes
            .iter()
            .map(|(key, value)| (KeyHash::with::<Sha256>(key), value.clone()))
            .collect();
        let mut stale_values = Vec::new();
        for (key_hash, value) in &value_set {
            if let Some(committed) = prepared_on {
                if let Some((old_version, _)) = reader.value_entry(key_hash, committed)? {
                    stale_values.push(layout::stale_value_key(version, key_hash, old_version));
                }
            }
            // A deletion marker is only needed while older versions are readable.
            if value.is_none() {
                stale_values.push(layout::stale_value_key(version, key_hash, version));
            }
        }

        let (root, mut tree_batch) = run_tree("prepare", version, || {
            Tree::new(&reader).put_value_set(value_set, version)
        })?;
        if tree_batch
            .node_batch
            .get_node(&layout::root_node_key(version))
            .is_none()
        {
            return Err(StorageError::Tree {
                operation: "prepare",
                version,
                reason: "the tree update has no root node for the new version".to_owned(),
            });
        }
        if let Some(committed) = prepared_on {
            // jmt leaves the previous root unmarked when nothing changed (it copies
            // it to the new version); it is stale either way.
            tree_batch.stale_node_index_batch.insert(StaleNodeIndex {
                stale_since_version: version,
                node_key: layout::root_node_key(committed),
            });
        }
        Ok(PreparedCommit {
            version,
            prepared_on,
            root: root.0,
            tree_batch,
            changes: changes.clone(),
            stale_values,
        })
    }

    /// Persists a prepared version in one atomic write batch (tree nodes,
    /// versioned values, the flat state, the stale indexes, the committed
    /// record and the pruning the new version makes due). Rejects a prepared
    /// version that was not computed on the current committed version.
    pub fn commit(&self, prepared: PreparedCommit) -> Result<(), StorageError> {
        let inner = &*self.inner;
        let _one_commit_at_a_time = inner
            .commit_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let head = self.head();
        let committed_version = head.committed.map(|committed| committed.version);
        if committed_version != prepared.prepared_on {
            return Err(StorageError::StalePreparedCommit {
                version: prepared.version,
                prepared_on: prepared.prepared_on,
                committed: committed_version,
            });
        }
        let db = &inner.db;
        let mut batch = WriteBatch::default();
        let oldest = prune::stage_pruning(
            db,
            inner.options.prune_window,
            &mut batch,
            prepared.version,
            head.oldest.unwrap_or(prepared.version),
        )?;

        let nodes = column_family(db, CF_JMT_NODES)?;
        for (node_key, node) in prepared.tree_batch.node_batch.nodes() {
            batch.put_cf(
                nodes,
                layout::encode_node_key(node_key),
                layout::encode_node(node)?,
            );
        }
        let values = column_family(db, CF_JMT_VALUES)?;
        for ((version, key_hash), value) in prepared.tree_batch.node_batch.values() {
            batch.put_cf(
                values,
                layout::value_key(key_hash, *version),
                layout::encode_value_entry(value.as_deref()),
            );
        }
        let stale_nodes = column_family(db, CF_STALE_NODES)?;
        for stale in &prepared.tree_batch.stale_node_index_batch {
            batch.put_cf(
                stale_nodes,
                layout::stale_node_key(stale.stale_since_version, &stale.node_key),
                [],
            );
        }
        let stale_values = column_family(db, CF_STALE_VALUES)?;
        for key in &prepared.stale_values {
            batch.put_cf(stale_values, key, []);
        }
        let state = column_family(db, CF_STATE)?;
        for (key, value) in &prepared.changes {
            match value {
                Some(value) => batch.put_cf(state, key, value),
                None => batch.delete_cf(state, key),
            }
        }
        let committed = Committed {
            version: prepared.version,
            root: prepared.root,
        };
        let meta = column_family(db, CF_META)?;
        batch.put_cf(meta, META_COMMITTED, layout::encode_committed(committed));
        batch.put_cf(meta, META_OLDEST, layout::version_bytes(oldest));

        // Synced: a committed block must survive a power loss (the node
        // replays only what the app has not committed).
        let mut write = rocksdb::WriteOptions::default();
        write.set_sync(true);
        db.write_opt(batch, &write)
            .map_err(|source| StorageError::Db {
                operation: "commit write",
                column_family: "*",
                source,
            })?;
        *inner.head.write().unwrap_or_else(PoisonError::into_inner) = Head {
            committed: Some(committed),
            oldest: Some(oldest),
        };
        tracing::debug!(
            version = committed.version,
            root = %hex::encode(committed.root),
            oldest,
            "committed"
        );
        Ok(())
    }

    /// Approximate on-disk size in bytes: the sum of the store directory's files
    /// (SST, WAL, manifest, logs). Unreadable entries count as 0.
    pub fn disk_size_bytes(&self) -> u64 {
        let Ok(entries) = fs::read_dir(&self.inner.path) else {
            return 0;
        };
        entries
            .filter_map(Result::ok)
            .filter_map(|entry| entry.metadata().ok())
            .filter(|metadata| metadata.is_file())
            .map(|metadata| metadata.len())
            .sum()
    }

    fn head(&self) -> Head {
        *self
            .inner
            .head
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Verifies a proof made by [`Storage::get_with_proof`]: that under `root`,
/// `key` has `value` (`None`: that `key` is absent). The check itself lives in
/// [`synod_protocol::proof`], so clients run it without this crate.
pub fn verify_proof(
    root: [u8; 32],
    key: &[u8],
    value: Option<&[u8]>,
    proof: &[u8],
) -> Result<(), StorageError> {
    use synod_protocol::proof::{verify_state_proof, ProofError};
    verify_state_proof(root, key, value, proof).map_err(|error| match error {
        ProofError::Malformed { reason } => StorageError::MalformedProof { reason },
        ProofError::Rejected { reason, .. } => StorageError::ProofRejected {
            key: hex::encode(key),
            reason,
        },
    })
}
