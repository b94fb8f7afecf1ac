//! Pruning: deleting what only versions outside the window still need.
//!
//! Every commit records, in the `stale_nodes` and `stale_values` indexes, which
//! nodes and versioned values the new version no longer uses, keyed by that
//! version. Pruning walks those indexes up to the window's edge.

use rocksdb::{ReadOptions, WriteBatch, DB};

use super::layout::{self, CF_JMT_NODES, CF_JMT_VALUES, CF_STALE_NODES, CF_STALE_VALUES};
use super::reader::column_family;
use super::StorageError;

/// Adds to `batch` the deletion of everything that only versions older than
/// `version - window` need, and returns the new oldest readable version.
/// A node stale since `s` is needed by versions `< s` only, so deleting those
/// with `s <= version - window` keeps every version from `version - window` on.
pub(super) fn stage_pruning(
    db: &DB,
    window: u64,
    batch: &mut WriteBatch,
    version: u64,
    oldest: u64,
) -> Result<u64, StorageError> {
    let prune_through = match version.checked_sub(window) {
        Some(through) if window > 0 && through > oldest => through,
        // Everything stale at or before `oldest` was deleted when `oldest` was set.
        _ => return Ok(oldest),
    };
    // `version` < u64::MAX (prepare rejects it), so this cannot overflow.
    let end = layout::version_bytes(prune_through.saturating_add(1));
    let nodes = column_family(db, CF_JMT_NODES)?;
    let pruned_nodes = for_each_key_before(db, CF_STALE_NODES, &end, |stale_key| {
        batch.delete_cf(nodes, layout::stale_node_target(stale_key)?);
        Ok(())
    })?;
    let values = column_family(db, CF_JMT_VALUES)?;
    let pruned_values = for_each_key_before(db, CF_STALE_VALUES, &end, |stale_key| {
        batch.delete_cf(values, layout::stale_value_target(stale_key)?);
        Ok(())
    })?;
    let stale_nodes = column_family(db, CF_STALE_NODES)?;
    batch.delete_range_cf(stale_nodes, &[][..], &end[..]);
    let stale_values = column_family(db, CF_STALE_VALUES)?;
    batch.delete_range_cf(stale_values, &[][..], &end[..]);
    tracing::debug!(
        version,
        prune_through,
        pruned_nodes,
        pruned_values,
        "pruned old versions"
    );
    Ok(prune_through)
}

/// Calls `visit` on every key of `name` that sorts before `end`; returns how many.
pub(super) fn for_each_key_before(
    db: &DB,
    name: &'static str,
    end: &[u8],
    mut visit: impl FnMut(&[u8]) -> Result<(), StorageError>,
) -> Result<usize, StorageError> {
    let mut options = ReadOptions::default();
    options.set_iterate_upper_bound(end.to_vec());
    let mut iterator = db.raw_iterator_cf_opt(column_family(db, name)?, options);
    iterator.seek_to_first();
    let mut count = 0;
    while let Some(key) = iterator.key() {
        visit(key)?;
        count += 1;
        iterator.next();
    }
    iterator.status().map_err(|source| StorageError::Db {
        operation: "scan",
        column_family: name,
        source,
    })?;
    Ok(count)
}
