//! The state a block (or the mempool) executes against: committed storage
//! under a stack of layers of pending writes. The bottom layer is the
//! block's; [`State::begin`] pushes a layer for a unit of work that must
//! happen whole or not at all (a transaction, its fee, a proposal's
//! execution, a simulation), and [`State::commit`] folds it into the layer
//! below or [`State::abort`] drops it. Nobody lists keys to restore.

use std::collections::BTreeMap;
use std::ops::Bound;

use serde::{de::DeserializeOwned, Serialize};
use synod_protocol::codec;

use crate::storage::{Changes, KeyValue, Storage, StorageError};

/// A failure to read or write state: storage trouble or a corrupt record.
/// These are not a transaction's fault; they stop the node.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("corrupt state record at key {key:?}: {reason}")]
    Corrupt { key: String, reason: String },
}

/// Committed storage plus a stack of pending-write layers.
#[derive(Clone)]
pub struct State {
    storage: Storage,
    /// `layers[0]` is the block's; the last is where writes go. Never empty.
    layers: Vec<Changes>,
}

impl State {
    /// A state with no pending writes over `storage`'s last committed version.
    pub fn new(storage: Storage) -> State {
        State {
            storage,
            layers: vec![BTreeMap::new()],
        }
    }

    /// The storage underneath.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Opens a layer: writes go there until [`State::commit`] or [`State::abort`].
    pub fn begin(&mut self) {
        self.layers.push(BTreeMap::new());
    }

    /// Folds the top layer into the one below. The block layer is never
    /// folded (nothing is below it but storage, written by `Storage::commit`).
    pub fn commit(&mut self) {
        if self.layers.len() > 1 {
            if let Some(top) = self.layers.pop() {
                self.top().extend(top);
            }
        }
    }

    /// Drops the top layer and every write in it (never the block layer).
    pub fn abort(&mut self) {
        if self.layers.len() > 1 {
            self.layers.pop();
        }
    }

    /// Runs `work` in a layer of its own: its writes are kept if it returns
    /// `Ok`, dropped whole if it returns `Err`.
    pub fn atomic<T, E>(&mut self, work: impl FnOnce(&mut State) -> Result<T, E>) -> Result<T, E> {
        self.begin();
        let result = work(self);
        if result.is_ok() {
            self.commit();
        } else {
            self.abort();
        }
        result
    }

    /// How many layers are open above the block's (0 between transactions).
    pub fn depth(&self) -> usize {
        self.layers.len() - 1
    }

    /// Every pending write of the block. Layers still open above the block
    /// layer are dropped: only finished work reaches storage.
    pub fn into_changes(mut self) -> Changes {
        self.layers.truncate(1);
        self.layers.pop().unwrap_or_default()
    }

    /// The raw value at `key`.
    pub fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        for layer in self.layers.iter().rev() {
            if let Some(v) = layer.get(key) {
                return Ok(v.clone());
            }
        }
        Ok(self.storage.get(key)?)
    }

    /// Writes a raw value.
    pub fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.top().insert(key, Some(value));
    }

    /// Deletes a key.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.top().insert(key, None);
    }

    fn top(&mut self) -> &mut Changes {
        if self.layers.is_empty() {
            self.layers.push(BTreeMap::new());
        }
        let last = self.layers.len() - 1;
        &mut self.layers[last]
    }

    /// All (key, value) pairs under `prefix`, pending writes included, in key order.
    pub fn prefix_raw(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StateError> {
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = self
            .storage
            .prefix(prefix)?
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        for layer in &self.layers {
            let range = layer.range::<[u8], _>((Bound::Included(prefix), Bound::Unbounded));
            for (k, v) in range.take_while(|(k, _)| k.starts_with(prefix)) {
                merged.insert(k.clone(), v.clone());
            }
        }
        Ok(merged
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect())
    }

    /// Decodes the record at `key`.
    pub fn get<T: Serialize + DeserializeOwned>(
        &self,
        key: &[u8],
    ) -> Result<Option<T>, StateError> {
        match self.get_raw(key)? {
            None => Ok(None),
            Some(bytes) => decode_record(key, &bytes).map(Some),
        }
    }

    /// Encodes and writes a record.
    pub fn put<T: Serialize>(&mut self, key: Vec<u8>, value: &T) {
        self.put_raw(key, codec::encode(value));
    }

    /// Decodes every record under `prefix`.
    pub fn prefix<T: Serialize + DeserializeOwned>(
        &self,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>, StateError> {
        self.prefix_raw(prefix)?
            .into_iter()
            .map(|(k, v)| decode_record(&k, &v).map(|t| (k, t)))
            .collect()
    }
}

/// Decodes a stored record, naming the key if it is corrupt.
pub fn decode_record<T: Serialize + DeserializeOwned>(
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StateError> {
    codec::decode(bytes).map_err(|e| StateError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testkit::scratch_state;

    fn value(state: &State, key: &[u8]) -> Option<Vec<u8>> {
        state.get_raw(key).unwrap()
    }

    #[test]
    fn an_aborted_layer_leaves_nothing_and_a_committed_one_lands_in_the_layer_below() {
        let (_dir, mut state) = scratch_state();
        state.put_raw(b"k/a".to_vec(), b"block".to_vec());
        state.begin();
        state.put_raw(b"k/a".to_vec(), b"outer".to_vec());
        state.begin();
        state.put_raw(b"k/b".to_vec(), b"inner".to_vec());
        state.delete(b"k/a".to_vec());
        assert_eq!(
            value(&state, b"k/a"),
            None,
            "a delete hides the layers below"
        );
        assert_eq!(state.depth(), 2);
        state.commit();
        assert_eq!(value(&state, b"k/b"), Some(b"inner".to_vec()));
        assert_eq!(value(&state, b"k/a"), None);
        state.abort();
        assert_eq!(state.depth(), 0);
        assert_eq!(value(&state, b"k/a"), Some(b"block".to_vec()));
        assert_eq!(
            value(&state, b"k/b"),
            None,
            "committed into the aborted layer: gone"
        );
        // The block layer survives a stray abort.
        state.abort();
        assert_eq!(value(&state, b"k/a"), Some(b"block".to_vec()));
    }

    #[test]
    fn atomic_keeps_work_that_succeeds_and_drops_work_that_fails() {
        let (_dir, mut state) = scratch_state();
        let kept: Result<(), ()> = state.atomic(|s| {
            s.put_raw(b"p/1".to_vec(), b"one".to_vec());
            Ok(())
        });
        assert!(kept.is_ok());
        let dropped: Result<(), &str> = state.atomic(|s| {
            s.put_raw(b"p/2".to_vec(), b"two".to_vec());
            s.delete(b"p/1".to_vec());
            Err("no")
        });
        assert_eq!(dropped, Err("no"));
        let keys: Vec<Vec<u8>> = state
            .prefix_raw(b"p/")
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, vec![b"p/1".to_vec()]);
        assert_eq!(state.depth(), 0);
    }

    #[test]
    fn prefix_reads_merge_every_layer_over_storage_in_key_order() {
        let (_dir, mut state) = scratch_state();
        state.put_raw(b"q/2".to_vec(), b"block".to_vec());
        state.begin();
        state.put_raw(b"q/1".to_vec(), b"outer".to_vec());
        state.begin();
        state.put_raw(b"q/3".to_vec(), b"inner".to_vec());
        state.put_raw(b"q/2".to_vec(), b"inner".to_vec());
        state.put_raw(b"r/1".to_vec(), b"other prefix".to_vec());
        let got = state.prefix_raw(b"q/").unwrap();
        assert_eq!(
            got,
            vec![
                (b"q/1".to_vec(), b"outer".to_vec()),
                (b"q/2".to_vec(), b"inner".to_vec()),
                (b"q/3".to_vec(), b"inner".to_vec()),
            ]
        );
        // Open layers never reach storage.
        let changes = state.into_changes();
        assert_eq!(changes.len(), 1);
        assert_eq!(
            changes.get(b"q/2".as_slice()),
            Some(&Some(b"block".to_vec()))
        );
    }
}
