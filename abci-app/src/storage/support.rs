//! The store's helpers: what opening checks (an empty or missing directory,
//! a readable committed head, a version still held), prefix ranges, and
//! running the tree's code with its panics turned into errors.

use super::*;

/// Whether `path` is a directory without entries or does not exist.
pub(super) fn is_empty_or_missing(path: &Path) -> Result<bool, StorageError> {
    let io_error = |source| StorageError::Io {
        path: path.to_path_buf(),
        source,
    };
    match fs::metadata(path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(error) => Err(io_error(error)),
        Ok(metadata) if !metadata.is_dir() => Err(StorageError::NotADirectory {
            path: path.to_path_buf(),
        }),
        Ok(_) => Ok(fs::read_dir(path).map_err(io_error)?.next().is_none()),
    }
}

/// Reads the meta records of a just-opened store and checks that the committed
/// root is really in the tree.
pub(super) fn check_head(db: &DB) -> Result<Head, StorageError> {
    let reader = SnapshotReader::new(db);
    let head = reader.head()?;
    if let Some(committed) = head.committed {
        let version = committed.version;
        let root = run_tree("open", version, || {
            Tree::new(&reader).get_root_hash_option(version)
        })?;
        match root {
            Some(root) if root.0 == committed.root => {}
            Some(root) => {
                return Err(StorageError::Tree {
                    operation: "open",
                    version,
                    reason: format!(
                        "the tree's root {} differs from the committed root {}",
                        hex::encode(root.0),
                        hex::encode(committed.root)
                    ),
                })
            }
            None => {
                return Err(StorageError::Tree {
                    operation: "open",
                    version,
                    reason: "the committed version has no root node".to_owned(),
                })
            }
        }
    }
    Ok(head)
}

/// Errors unless `version` is committed and not pruned, as seen by `reader`.
pub(super) fn check_readable(
    reader: &SnapshotReader<'_>,
    version: u64,
) -> Result<(), StorageError> {
    let head = reader.head()?;
    match (head.committed, head.oldest) {
        (Some(committed), Some(oldest)) if version <= committed.version => {
            if version < oldest {
                Err(StorageError::VersionPruned {
                    version,
                    oldest_kept: oldest,
                })
            } else {
                Ok(())
            }
        }
        (committed, _) => Err(StorageError::VersionNotCommitted {
            version,
            latest: committed.map(|committed| committed.version),
        }),
    }
}

/// The smallest key greater than every key starting with `prefix`, if any.
pub(super) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let last_incrementable = prefix.iter().rposition(|byte| *byte != u8::MAX)?;
    let mut end = prefix[..=last_incrementable].to_vec();
    end[last_incrementable] += 1;
    Some(end)
}

/// Runs a tree operation, turning its errors and panics (jmt asserts on
/// inconsistent nodes, i.e. corrupt data) into a [`StorageError`].
pub(super) fn run_tree<T>(
    operation: &'static str,
    version: u64,
    call: impl FnOnce() -> anyhow::Result<T>,
) -> Result<T, StorageError> {
    match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error)) => Err(match error.downcast::<StorageError>() {
            // Our reader's own error (corrupt entry, failed read) keeps its detail.
            Ok(storage_error) => storage_error,
            Err(error) => StorageError::Tree {
                operation,
                version,
                reason: format!("{error:#}"),
            },
        }),
        Err(panic) => Err(StorageError::Tree {
            operation,
            version,
            reason: format!(
                "the tree panicked ({}); its nodes are probably corrupt",
                panic_message(panic.as_ref())
            ),
        }),
    }
}

pub(super) fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|message| (*message).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}
