//! The mempool: transactions the app accepted in `CheckTx`, in arrival order,
//! deduplicated by hash and bounded in count and bytes. After each commit the
//! included transactions leave and the rest are rechecked against the new
//! state; what the app now refuses is dropped.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use sha2::{Digest, Sha256};

use crate::abci::{AbciConnections, AbciError, CheckTxKind};

/// SHA-256 of a transaction: the id CometBFT uses.
pub type TxHash = [u8; 32];

/// The hash of a transaction.
pub fn tx_hash(tx: &[u8]) -> TxHash {
    Sha256::digest(tx).into()
}

/// Mempool limits (CometBFT's defaults).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MempoolConfig {
    /// Most transactions held.
    pub max_txs: usize,
    /// Most bytes held (sum of transaction sizes).
    pub max_bytes: usize,
    /// Largest single transaction.
    pub max_tx_bytes: usize,
    /// How many hashes of recently committed or rejected txs to remember, so
    /// replays are refused without asking the app.
    pub cache_size: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_txs: 5_000,
            max_bytes: 1 << 30,
            max_tx_bytes: 1 << 20,
            cache_size: 10_000,
        }
    }
}

/// Why a transaction was not added. Each says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum MempoolError {
    #[error("transaction is {len} bytes; the mempool takes at most {max}")]
    TooLarge { len: usize, max: usize },
    #[error("transaction {} is already in the mempool", hex::encode_upper(.0))]
    Duplicate(TxHash),
    #[error("transaction {} was seen recently (committed or rejected); not checked again", hex::encode_upper(.0))]
    RecentlySeen(TxHash),
    #[error("mempool is full ({txs} txs, {bytes} bytes; limits {max_txs} txs, {max_bytes} bytes): retry after the next block")]
    Full {
        txs: usize,
        bytes: usize,
        max_txs: usize,
        max_bytes: usize,
    },
    #[error("the app rejected the transaction (code {code}): {log}")]
    Rejected {
        code: u32,
        log: String,
        codespace: String,
        /// The app says no state can ever accept this tx
        /// ([`synod_abci_wire::PERMANENT_REJECTION`]).
        permanent: bool,
    },
    #[error(transparent)]
    Abci(#[from] AbciError),
}

/// What a recheck after a commit did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateReport {
    /// Transactions removed because the block included them.
    pub included: usize,
    /// Transactions the app refused on recheck (dropped).
    pub dropped: usize,
    /// Transactions still pending.
    pub remaining: usize,
}

/// A bounded, ordered set of remembered hashes (oldest forgotten first).
#[derive(Debug, Default)]
struct HashCache {
    order: VecDeque<TxHash>,
    set: BTreeSet<TxHash>,
    capacity: usize,
}

impl HashCache {
    fn insert(&mut self, h: TxHash) {
        if self.capacity == 0 || !self.set.insert(h) {
            return;
        }
        self.order.push_back(h);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.set.remove(&old);
            }
        }
    }

    fn contains(&self, h: &TxHash) -> bool {
        self.set.contains(h)
    }
}

/// The mempool.
#[derive(Debug)]
pub struct Mempool {
    config: MempoolConfig,
    next_seq: u64,
    /// Arrival sequence -> tx.
    txs: BTreeMap<u64, Vec<u8>>,
    by_hash: BTreeMap<TxHash, u64>,
    bytes: usize,
    recent: HashCache,
}

impl Mempool {
    /// An empty mempool.
    pub fn new(config: MempoolConfig) -> Mempool {
        let recent = HashCache {
            capacity: config.cache_size,
            ..HashCache::default()
        };
        Mempool {
            config,
            next_seq: 0,
            txs: BTreeMap::new(),
            by_hash: BTreeMap::new(),
            bytes: 0,
            recent,
        }
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// Total bytes pending.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether a transaction with this hash is pending.
    pub fn contains(&self, hash: &TxHash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// Checks `tx` with the app (`CheckTx` New) and keeps it if accepted.
    pub async fn add(
        &mut self,
        abci: &AbciConnections,
        tx: Vec<u8>,
    ) -> Result<TxHash, MempoolError> {
        if tx.len() > self.config.max_tx_bytes {
            return Err(MempoolError::TooLarge {
                len: tx.len(),
                max: self.config.max_tx_bytes,
            });
        }
        let hash = tx_hash(&tx);
        if self.by_hash.contains_key(&hash) {
            return Err(MempoolError::Duplicate(hash));
        }
        if self.recent.contains(&hash) {
            return Err(MempoolError::RecentlySeen(hash));
        }
        if self.txs.len() >= self.config.max_txs || self.bytes + tx.len() > self.config.max_bytes {
            return Err(MempoolError::Full {
                txs: self.txs.len(),
                bytes: self.bytes,
                max_txs: self.config.max_txs,
                max_bytes: self.config.max_bytes,
            });
        }
        let r = abci.check_tx(&tx, CheckTxKind::New).await?;
        if r.code != 0 {
            return Err(MempoolError::Rejected {
                code: r.code,
                log: r.log,
                codespace: r.codespace,
                permanent: r.info == synod_abci_wire::PERMANENT_REJECTION,
            });
        }
        self.insert(hash, tx);
        Ok(hash)
    }

    fn insert(&mut self, hash: TxHash, tx: Vec<u8>) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.bytes += tx.len();
        self.by_hash.insert(hash, seq);
        self.txs.insert(seq, tx);
    }

    fn remove(&mut self, hash: &TxHash) -> bool {
        match self
            .by_hash
            .remove(hash)
            .and_then(|seq| self.txs.remove(&seq))
        {
            Some(tx) => {
                self.bytes -= tx.len();
                true
            }
            None => false,
        }
    }

    /// Pending transactions in arrival order, as many as fit in `max_bytes`
    /// (each counted with CometBFT's protobuf framing overhead); `None` takes all.
    pub fn reap(&self, max_bytes: Option<usize>) -> Vec<Vec<u8>> {
        let mut total = 0usize;
        let mut out = Vec::new();
        for tx in self.txs.values() {
            let cost = tx.len() + 1 + prost::length_delimiter_len(tx.len());
            if let Some(max) = max_bytes {
                if total + cost > max {
                    break;
                }
            }
            total += cost;
            out.push(tx.clone());
        }
        out
    }

    /// The first `n` pending transactions in arrival order (copies only those).
    pub fn first(&self, n: usize) -> Vec<Vec<u8>> {
        self.txs.values().take(n).cloned().collect()
    }

    /// After a block was committed: removes the transactions it included,
    /// remembers their hashes, and rechecks the rest in order (`CheckTx`
    /// Recheck), dropping what the app now refuses.
    pub async fn update(
        &mut self,
        abci: &AbciConnections,
        included: &[Vec<u8>],
    ) -> Result<UpdateReport, AbciError> {
        let included = self.remove_included(included);
        let mut report = self.recheck(abci).await?;
        report.included = included;
        Ok(report)
    }

    /// The first half of [`Mempool::update`], cheap enough for the consensus
    /// loop: removes the transactions a committed block included and
    /// remembers their hashes. Returns how many were pending here.
    pub fn remove_included(&mut self, included: &[Vec<u8>]) -> usize {
        let mut removed = 0;
        for tx in included {
            let h = tx_hash(tx);
            self.recent.insert(h);
            if self.remove(&h) {
                removed += 1;
            }
        }
        removed
    }

    /// The second half of [`Mempool::update`]: rechecks every pending
    /// transaction in order against the app's new state, dropping what it
    /// now refuses. The node runs it beside the consensus loop, holding the
    /// mempool, so no new CheckTx runs until it is over (as in CometBFT).
    pub async fn recheck(&mut self, abci: &AbciConnections) -> Result<UpdateReport, AbciError> {
        let mut report = UpdateReport::default();
        let pending: Vec<(TxHash, Vec<u8>)> = self
            .txs
            .values()
            .map(|tx| (tx_hash(tx), tx.clone()))
            .collect();
        for (h, tx) in pending {
            let r = abci.check_tx(&tx, CheckTxKind::Recheck).await?;
            if r.code != 0 {
                tracing::debug!(tx = %hex::encode_upper(h), code = r.code, log = %r.log, "dropped on recheck");
                self.remove(&h);
                self.recent.insert(h);
                report.dropped += 1;
            }
        }
        report.remaining = self.txs.len();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_cache_forgets_the_oldest_first() {
        let mut c = HashCache {
            capacity: 2,
            ..HashCache::default()
        };
        c.insert([1; 32]);
        c.insert([2; 32]);
        c.insert([3; 32]);
        assert!(!c.contains(&[1; 32]));
        assert!(c.contains(&[2; 32]) && c.contains(&[3; 32]));
    }

    #[test]
    fn reap_keeps_arrival_order_and_the_byte_limit() {
        let mut m = Mempool::new(MempoolConfig::default());
        for i in 0..5u8 {
            m.insert(tx_hash(&[i; 10]), vec![i; 10]);
        }
        assert_eq!(m.reap(None).len(), 5);
        let some = m.reap(Some(30));
        assert_eq!(
            some,
            vec![vec![0u8; 10], vec![1u8; 10]],
            "each 10-byte tx costs 12 with framing"
        );
        assert!(m.remove(&tx_hash(&[0; 10])));
        assert_eq!(m.reap(None)[0], vec![1u8; 10]);
        assert_eq!(m.bytes(), 40);
    }
}
