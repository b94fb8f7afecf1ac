//! The state a block (or the mempool) executes against: committed storage
//! under two layers of pending writes, one for the block and one for the
//! transaction in progress, so a failed transaction is dropped whole.

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

/// Committed storage plus pending writes.
#[derive(Clone)]
pub struct State {
    storage: Storage,
    block: Changes,
    tx: Option<Changes>,
}

impl State {
    /// A state with no pending writes over `storage`'s last committed version.
    pub fn new(storage: Storage) -> State {
        State {
            storage,
            block: BTreeMap::new(),
            tx: None,
        }
    }

    /// The storage underneath.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Starts a transaction layer: writes go there until [`State::commit_tx`] or [`State::abort_tx`].
    pub fn begin_tx(&mut self) {
        self.tx = Some(BTreeMap::new());
    }

    /// Folds the transaction layer into the block layer.
    pub fn commit_tx(&mut self) {
        if let Some(tx) = self.tx.take() {
            self.block.extend(tx);
        }
    }

    /// Drops the transaction layer.
    pub fn abort_tx(&mut self) {
        self.tx = None;
    }

    /// Every pending write of the block (the transaction layer must be closed).
    pub fn into_changes(self) -> Changes {
        self.block
    }

    /// The raw value at `key`.
    pub fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        if let Some(tx) = &self.tx {
            if let Some(v) = tx.get(key) {
                return Ok(v.clone());
            }
        }
        if let Some(v) = self.block.get(key) {
            return Ok(v.clone());
        }
        Ok(self.storage.get(key)?)
    }

    /// Writes a raw value.
    pub fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.layer().insert(key, Some(value));
    }

    /// Deletes a key.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.layer().insert(key, None);
    }

    fn layer(&mut self) -> &mut Changes {
        match &mut self.tx {
            Some(tx) => tx,
            None => &mut self.block,
        }
    }

    /// All (key, value) pairs under `prefix`, pending writes included, in key order.
    pub fn prefix_raw(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StateError> {
        let mut merged: BTreeMap<Vec<u8>, Option<Vec<u8>>> = self
            .storage
            .prefix(prefix)?
            .into_iter()
            .map(|(k, v)| (k, Some(v)))
            .collect();
        for layer in std::iter::once(&self.block).chain(self.tx.iter()) {
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
