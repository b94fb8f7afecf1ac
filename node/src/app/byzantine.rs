//! The Byzantine proposer of the `faults` feature (tests only): every block
//! this validator proposes is broken in the next of
//! [`crate::faults::MUTATIONS`]' ways.

use super::state::AppState;
use crate::{block::DecidedBlock, faults::MUTATIONS};

impl AppState {
    /// Breaks `block` in the next way. Mutations that need what this height
    /// lacks (a last commit, an earlier tx) fall back to a garbage tx.
    pub(super) fn mutate_proposal(&mut self, block: &mut DecidedBlock) {
        let which = (self.mutations % MUTATIONS.len() as u64) as usize;
        self.mutations += 1;
        let garbage = |b: &mut DecidedBlock| b.txs.push(b"not a transaction".to_vec());
        match MUTATIONS[which].name {
            "negative-nanos" => block.time.nanos = -1,
            "time-ahead" => block.time.seconds += 3_600,
            "wrong-app-hash" => match block.app_hash.first_mut() {
                Some(b) => *b ^= 0xff,
                None => block.app_hash.push(1),
            },
            "replayed-tx" => match self.committed_tx(block.height) {
                Some(tx) => block.txs.push(tx),
                None => garbage(block),
            },
            "oversize" => {
                let fill = self
                    .max_block_bytes
                    .saturating_sub(block.encode().len() as u64)
                    + 1;
                block
                    .txs
                    .push(vec![0; usize::try_from(fill).unwrap_or(usize::MAX)]);
            }
            "bad-evidence" => {
                let mut m = match self.validators.validators().first() {
                    Some(v) => crate::block::Misbehavior {
                        address: v.address.0,
                        validator_index: 0,
                        power: v.voting_power as i64,
                        height: block.height.saturating_sub(1).max(1),
                        time: block.time,
                        total_voting_power: v.voting_power as i64,
                        votes: Vec::new(),
                    },
                    None => return garbage(block),
                };
                m.time.nanos = -1;
                block.misbehavior.push(m);
            }
            "forged-commit-signature" => {
                match block
                    .last_commit
                    .iter_mut()
                    .find_map(|v| v.signature.as_mut())
                {
                    Some(sig) => sig[0] ^= 0xff,
                    None => garbage(block),
                }
            }
            "unsigned-commit-vote" => match block.last_commit.iter_mut().find(|v| v.signed) {
                Some(v) => v.signature = None,
                None => garbage(block),
            },
            "wrong-validators-hash" => block.hashes.validators[0] ^= 0xff,
            _ => garbage(block),
        }
        // The header's content hashes follow the broken contents, so the
        // check each mutation is aimed at is the one that catches it.
        block.seal();
        tracing::warn!(
            height = block.height,
            mutation = MUTATIONS[which].name,
            "FAULTY MODE: proposing a broken block (tests only)"
        );
    }

    /// A tx of one of the last ten committed blocks, if any: including it
    /// again replays a used nonce.
    fn committed_tx(&self, height: u64) -> Option<Vec<u8>> {
        (height.saturating_sub(10)..height)
            .rev()
            .filter_map(|h| self.store.block(h).ok().flatten())
            .find_map(|b| b.txs.into_iter().next())
    }
}
