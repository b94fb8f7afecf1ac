//! The block builder: the mempool, the proposer of each block (CometBFT's
//! weighted round robin over the active set's power), and the proposer's
//! choice of txs, where a censoring validator's owner may leave txs out.

use std::collections::{BTreeMap, BTreeSet};

use synod_protocol::{state::ActiveValidator, Address};

use crate::actors::{Actor, Pending};

/// Pending txs in arrival order.
#[derive(Default)]
pub struct Mempool {
    pub txs: Vec<Pending>,
}

/// Who proposes: proposer priorities by consensus address.
#[derive(Default)]
pub struct ProposerRotation {
    priority: BTreeMap<[u8; 20], i128>,
}

impl ProposerRotation {
    /// The proposer of the next block among the `set` members not in
    /// `absent`: every member's priority rises by its power, the highest
    /// (then the lowest address) proposes and drops by the total power
    /// (CometBFT's rule; an absent proposer's round times out and the next
    /// one proposes, so absent members are skipped).
    pub fn next(
        &mut self,
        set: &[ActiveValidator],
        absent: &BTreeSet<[u8; 20]>,
    ) -> Option<[u8; 20]> {
        let members: BTreeSet<[u8; 20]> = set
            .iter()
            .map(|v| v.consensus_key.consensus_address())
            .collect();
        self.priority.retain(|a, _| members.contains(a));
        let total: i128 = set.iter().map(|v| i128::from(v.power)).sum();
        for v in set {
            *self
                .priority
                .entry(v.consensus_key.consensus_address())
                .or_default() += i128::from(v.power);
        }
        let chosen = self
            .priority
            .iter()
            .filter(|(a, _)| !absent.contains(*a))
            .max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0)))
            .map(|(a, _)| *a)?;
        if let Some(p) = self.priority.get_mut(&chosen) {
            *p -= total;
        }
        Some(chosen)
    }
}

/// What the proposer put in the block, and what it held back.
pub struct Selection {
    pub included: Vec<Pending>,
    /// Txs a censoring proposer left out this block.
    pub censored: usize,
}

impl Mempool {
    /// Takes the txs of the next block (at most `max` of them) in arrival
    /// order. When the proposer is owned by `censor`, the txs it censors
    /// stay pending, and so does every later tx of the same signer (its
    /// nonces must stay in order).
    pub fn select(
        &mut self,
        max: usize,
        censor: Option<&dyn Actor>,
        height: u64,
        delays: &mut BTreeMap<usize, u32>,
    ) -> Selection {
        let mut held: BTreeSet<Address> = BTreeSet::new();
        let mut included = Vec::new();
        let mut kept = Vec::new();
        let mut censored = 0;
        for tx in std::mem::take(&mut self.txs) {
            if held.contains(&tx.signer) || included.len() >= max {
                held.insert(tx.signer);
                kept.push(tx);
                continue;
            }
            if censor.is_some_and(|c| c.censors(&tx, height)) {
                censored += 1;
                *delays.entry(tx_key(&tx)).or_default() += 1;
                held.insert(tx.signer);
                kept.push(tx);
                continue;
            }
            included.push(tx);
        }
        self.txs = kept;
        Selection { included, censored }
    }
}

/// A stable key of a pending tx for counting how often it was censored:
/// its position in the run's sequence of sent txs.
pub fn tx_key(tx: &Pending) -> usize {
    tx.seq
}
