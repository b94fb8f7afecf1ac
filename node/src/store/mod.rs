//! The block store (RocksDB): decided blocks, their commit certificates and
//! `FinalizeBlock` results by height, transactions by hash and by indexed
//! event attribute. Each save is one atomic write batch.

pub mod keys;

use std::path::{Path, PathBuf};

use prost::Message;
use rocksdb::{ColumnFamilyDescriptor, Options, WriteBatch, DB};
use tendermint_proto::v0_38::abci as pb;

use crate::{block::DecidedBlock, context::BlockId};
use keys::*;

/// A validator as the store keeps it: ed25519 consensus key and power.
pub type StoredValidator = ([u8; 32], u64);

/// What went wrong with the block store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "{path} is not a Synod block store ({reason}); restore it or point to an empty directory"
    )]
    NotAStore { path: PathBuf, reason: String },
    #[error("block store at {path}: {reason}")]
    Db { path: PathBuf, reason: String },
    #[error("cannot save block {got}: the store is at height {at}, so the next block is {}", .at + 1)]
    OutOfOrder { got: u64, at: u64 },
    #[error("cannot extend the certificate of block {got}: the store's top block is {at}")]
    NotTop { got: u64, at: u64 },
    #[error("cannot save results for height {height}: no block is stored there")]
    NoSuchBlock { height: u64 },
    #[error("corrupt record in {column_family} at height {height}: {reason}")]
    Corrupt {
        column_family: &'static str,
        height: u64,
        reason: String,
    },
}

/// The node's block store.
pub struct BlockStore {
    db: DB,
    path: PathBuf,
}

impl std::fmt::Debug for BlockStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockStore")
            .field("path", &self.path)
            .finish()
    }
}

impl BlockStore {
    /// Opens the store at `path`, creating it only in an empty or missing
    /// directory; anything else that is not a block store is an error.
    pub fn open(path: &Path) -> Result<BlockStore, StoreError> {
        let fresh = match std::fs::read_dir(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => {
                return Err(StoreError::Db {
                    path: path.into(),
                    reason: e.to_string(),
                })
            }
            Ok(mut entries) => entries.next().is_none(),
        };
        let mut options = Options::default();
        options.create_if_missing(fresh);
        // Column families added by later versions are created in existing stores.
        options.create_missing_column_families(true);
        options.set_paranoid_checks(true);
        let cfs = COLUMN_FAMILIES
            .iter()
            .map(|n| ColumnFamilyDescriptor::new(*n, Options::default()));
        let db =
            DB::open_cf_descriptors(&options, path, cfs).map_err(|e| StoreError::NotAStore {
                path: path.into(),
                reason: e.into_string(),
            })?;
        let store = BlockStore {
            db,
            path: path.into(),
        };
        if fresh {
            store.put(CF_META, META_FORMAT, FORMAT_V1)?;
        } else {
            match store.get(CF_META, META_FORMAT)? {
                Some(f) if f == FORMAT_V1 => {}
                other => {
                    return Err(StoreError::NotAStore {
                        path: path.into(),
                        reason: format!(
                            "format marker is {:?}",
                            other.map(|f| String::from_utf8_lossy(&f).into_owned())
                        ),
                    })
                }
            }
        }
        Ok(store)
    }

    fn db_err(&self, e: rocksdb::Error) -> StoreError {
        StoreError::Db {
            path: self.path.clone(),
            reason: e.into_string(),
        }
    }

    fn cf(&self, name: &'static str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| StoreError::NotAStore {
                path: self.path.clone(),
                reason: format!("column family {name} is missing"),
            })
    }

    fn get(&self, cf: &'static str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db
            .get_cf(self.cf(cf)?, key)
            .map_err(|e| self.db_err(e))
    }

    fn put(&self, cf: &'static str, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.db
            .put_cf(self.cf(cf)?, key, value)
            .map_err(|e| self.db_err(e))
    }

    /// Height of the latest saved block (0: none).
    pub fn height(&self) -> Result<u64, StoreError> {
        match self.get(CF_META, META_HEIGHT)? {
            None => Ok(0),
            Some(b) => b
                .as_slice()
                .try_into()
                .map(u64::from_be_bytes)
                .map_err(|_| StoreError::Corrupt {
                    column_family: CF_META,
                    height: 0,
                    reason: format!("height record has {} bytes", b.len()),
                }),
        }
    }

    /// Saves the next decided block with its id (indexed by its header
    /// hash) and its commit certificate (opaque bytes). The first block may
    /// have any height (a chain's `initial_height`).
    pub fn save_block(
        &self,
        block: &DecidedBlock,
        id: &BlockId,
        certificate: &[u8],
    ) -> Result<(), StoreError> {
        let at = self.height()?;
        if at != 0 && block.height != at + 1 {
            return Err(StoreError::OutOfOrder {
                got: block.height,
                at,
            });
        }
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_BLOCKS)?, height(block.height), block.encode());
        batch.put_cf(self.cf(CF_BLOCK_HASHES)?, id.hash, height(block.height));
        batch.put_cf(
            self.cf(CF_BLOCK_IDS)?,
            height(block.height),
            borsh::to_vec(id).map_err(|e| StoreError::Corrupt {
                column_family: CF_BLOCK_IDS,
                height: block.height,
                reason: e.to_string(),
            })?,
        );
        batch.put_cf(self.cf(CF_CERTIFICATES)?, height(block.height), certificate);
        batch.put_cf(self.cf(CF_META)?, META_HEIGHT, height(block.height));
        // Proposals for this height and below are settled.
        batch.delete_range_cf(
            self.cf(CF_PROPOSALS)?,
            height(0),
            height(block.height.saturating_add(1)),
        );
        self.write_synced(batch)
    }

    /// Writes `batch` and syncs it to disk before returning: the block, its
    /// results and the next validator set must survive a power loss before
    /// the app is told to commit, so the app is never ahead of the store.
    fn write_synced(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut write = rocksdb::WriteOptions::default();
        write.set_sync(true);
        self.db.write_opt(batch, &write).map_err(|e| self.db_err(e))
    }

    /// Replaces the certificate of the top stored block with a larger one for
    /// the same decision: precommits that arrived after the decision, in the
    /// time left before the height's target (CometBFT's `timeout_commit`).
    pub fn extend_certificate(&self, h: u64, certificate: &[u8]) -> Result<(), StoreError> {
        let at = self.height()?;
        if h != at {
            return Err(StoreError::NotTop { got: h, at });
        }
        self.db
            .put_cf(self.cf(CF_CERTIFICATES)?, height(h), certificate)
            .map_err(|e| self.db_err(e))
    }

    /// Saves an undecided proposed block for `round`, synced to disk before
    /// it returns: a restarted validator must propose the same block again
    /// (what it signed is in its consensus log) and must still hold the blocks
    /// its log's votes are for.
    pub fn save_proposal(&self, round: u32, block: &DecidedBlock) -> Result<(), StoreError> {
        let mut write = rocksdb::WriteOptions::default();
        write.set_sync(true);
        self.db
            .put_cf_opt(
                self.cf(CF_PROPOSALS)?,
                proposal(block.height, round, &block.digest()),
                block.encode(),
                &write,
            )
            .map_err(|e| self.db_err(e))
    }

    /// The undecided proposals saved for heights from `from` on, as (round, block).
    pub fn proposals_from(&self, from: u64) -> Result<Vec<(u32, DecidedBlock)>, StoreError> {
        let cf = self.cf(CF_PROPOSALS)?;
        let mut out = Vec::new();
        let start = height(from);
        let iter = self.db.iterator_cf(
            cf,
            rocksdb::IteratorMode::From(&start, rocksdb::Direction::Forward),
        );
        for item in iter {
            let (key, value) = item.map_err(|e| self.db_err(e))?;
            let corrupt = |reason: String| StoreError::Corrupt {
                column_family: CF_PROPOSALS,
                height: parse_proposal(&key).map_or(0, |(h, _)| h),
                reason,
            };
            let (h, round) = parse_proposal(&key)
                .ok_or_else(|| corrupt(format!("bad key {}", hex::encode(&key))))?;
            let block = DecidedBlock::decode(&value).map_err(|e| corrupt(e.to_string()))?;
            if block.height != h || proposal(h, round, &block.digest())[..] != key[..] {
                return Err(corrupt("the block does not match its key".into()));
            }
            out.push((round, block));
        }
        Ok(out)
    }

    /// Saves the app's `FinalizeBlock` answer for a stored block, and indexes
    /// its transactions by hash and by each event attribute the app marked
    /// `index` (keys and values up to [`MAX_INDEXED_LEN`] bytes).
    pub fn save_results(
        &self,
        h: u64,
        results: &pb::ResponseFinalizeBlock,
    ) -> Result<(), StoreError> {
        let block = self
            .block(h)?
            .ok_or(StoreError::NoSuchBlock { height: h })?;
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_RESULTS)?, height(h), results.encode_to_vec());
        let index = self.cf(CF_TX_INDEX)?;
        for (i, tx) in block.txs.iter().enumerate() {
            batch.put_cf(index, crate::mempool::tx_hash(tx), tx_location(h, i as u32));
        }
        let events = self.cf(CF_TX_EVENTS)?;
        for (i, r) in results.tx_results.iter().enumerate().take(block.txs.len()) {
            for e in &r.events {
                for a in e.attributes.iter().filter(|a| a.index) {
                    let key = format!("{}.{}", e.r#type, a.key);
                    if key.len() <= MAX_INDEXED_LEN && a.value.len() <= MAX_INDEXED_LEN {
                        batch.put_cf(events, tx_event(&key, &a.value, h, i as u32), []);
                    }
                }
            }
        }
        self.write_synced(batch)
    }

    /// The txs at heights `lo..=hi` with the indexed event attribute `key` =
    /// `value`, as (height, index) in block order; at most `limit` of them
    /// (a caller asks for one more than it serves to tell it was cut).
    pub fn txs_with_event(
        &self,
        key: &str,
        value: &str,
        lo: u64,
        hi: u64,
        limit: usize,
    ) -> Result<Vec<(u64, u32)>, StoreError> {
        let prefix = tx_event_prefix(key, value);
        let mut start = prefix.clone();
        start.extend_from_slice(&lo.to_be_bytes());
        let iter = self.db.iterator_cf(
            self.cf(CF_TX_EVENTS)?,
            rocksdb::IteratorMode::From(&start, rocksdb::Direction::Forward),
        );
        let mut out = Vec::new();
        for item in iter {
            let (k, _) = item.map_err(|e| self.db_err(e))?;
            let Some(rest) = k.strip_prefix(prefix.as_slice()) else {
                break;
            };
            let Some(location) = parse_tx_location(rest) else {
                continue;
            };
            if location.0 > hi || out.len() >= limit {
                break;
            }
            out.push(location);
        }
        Ok(out)
    }

    /// The block at a height.
    pub fn block(&self, h: u64) -> Result<Option<DecidedBlock>, StoreError> {
        self.get(CF_BLOCKS, &height(h))?
            .map(|b| {
                DecidedBlock::decode(&b).map_err(|e| StoreError::Corrupt {
                    column_family: CF_BLOCKS,
                    height: h,
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// The id consensus decided for the block at a height.
    pub fn block_id(&self, h: u64) -> Result<Option<BlockId>, StoreError> {
        self.get(CF_BLOCK_IDS, &height(h))?
            .map(|b| {
                borsh::from_slice(&b).map_err(|e| StoreError::Corrupt {
                    column_family: CF_BLOCK_IDS,
                    height: h,
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// The commit certificate of the block at a height.
    pub fn certificate(&self, h: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(CF_CERTIFICATES, &height(h))
    }

    /// The `FinalizeBlock` answer for the block at a height, once saved.
    pub fn results(&self, h: u64) -> Result<Option<pb::ResponseFinalizeBlock>, StoreError> {
        self.get(CF_RESULTS, &height(h))?
            .map(|b| {
                pb::ResponseFinalizeBlock::decode(b.as_slice()).map_err(|e| StoreError::Corrupt {
                    column_family: CF_RESULTS,
                    height: h,
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// Saves the validator set that signs the next height.
    pub fn save_validators(
        &self,
        for_height: u64,
        validators: &[StoredValidator],
    ) -> Result<(), StoreError> {
        let bytes = borsh::to_vec(&validators.to_vec()).unwrap_or_default();
        let mut batch = WriteBatch::default();
        let meta = self.cf(CF_META)?;
        batch.put_cf(meta, META_VALIDATORS, &bytes);
        batch.put_cf(meta, validators_at(for_height), &bytes);
        self.write_synced(batch)
    }

    /// The validator set that decided `height`, if recorded.
    pub fn validators_at(&self, height: u64) -> Result<Option<Vec<StoredValidator>>, StoreError> {
        self.get(CF_META, &validators_at(height))?
            .map(|b| {
                borsh::from_slice(&b).map_err(|e| StoreError::Corrupt {
                    column_family: CF_META,
                    height,
                    reason: format!("validator set: {e}"),
                })
            })
            .transpose()
    }

    /// The saved validator set, if any.
    pub fn validators(&self) -> Result<Option<Vec<StoredValidator>>, StoreError> {
        self.get(CF_META, META_VALIDATORS)?
            .map(|b| {
                borsh::from_slice(&b).map_err(|e| StoreError::Corrupt {
                    column_family: CF_META,
                    height: 0,
                    reason: format!("validator set: {e}"),
                })
            })
            .transpose()
    }

    /// The height of the stored block whose hash is `hash`. Blocks saved
    /// before the hash index existed are not found.
    pub fn height_of_block(&self, hash: &[u8; 32]) -> Result<Option<u64>, StoreError> {
        Ok(self
            .get(CF_BLOCK_HASHES, hash)?
            .and_then(|b| <[u8; 8]>::try_from(b.as_slice()).ok())
            .map(u64::from_be_bytes))
    }

    /// Where a transaction was included: (height, index in the block).
    pub fn tx_location(&self, hash: &[u8; 32]) -> Result<Option<(u64, u32)>, StoreError> {
        Ok(self
            .get(CF_TX_INDEX, hash)?
            .as_deref()
            .and_then(parse_tx_location))
    }
}
