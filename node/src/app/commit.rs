//! The end of a height: executing and committing the decided block, the late
//! precommits that join its commit, and the equivocation consensus saw.

use std::sync::Arc;

use malachitebft_app_channel::app::types::core::{CommitCertificate, VoteExtensions};
use malachitebft_app_channel::app::types::MisbehaviorEvidence;

use super::{
    last_commit::{certificate_parts, CertificateParts},
    state::AppState,
};
use crate::{
    block::{commit_votes, Misbehavior},
    chain::apply_decided_block,
    context::{BlockHeight, SynodContext},
    evidence::{in_cometbft_order, EvidenceVote},
    handle::{CommittedBlock, NodeError},
    validators::{apply_updates, validators_to_save},
};

impl AppState {
    /// Executes and commits the decided block (`FinalizeBlock`, `Commit`),
    /// rechecks the mempool, records the commit for the next block, applies
    /// the app's validator updates and moves to the next height.
    pub(super) async fn decide(
        &mut self,
        certificate: CommitCertificate<SynodContext>,
        extensions: VoteExtensions<SynodContext>,
    ) -> Result<(), NodeError> {
        let id = certificate.value_id;
        let Some((_, block)) = self.proposals.get(&id).cloned() else {
            return Err(NodeError::UnknownDecision { hash: id });
        };
        // A decided header whose parent or app hash differs from ours means
        // this node's app diverged from the network: stop rather than fork.
        if block.last_block_id != self.last_block_id || block.app_hash != self.last_app_hash {
            return Err(NodeError::AppDiverged {
                height: block.height,
                network_app_hash: block.app_hash.clone(),
                local_app_hash: self.last_app_hash.clone(),
            });
        }
        let CertificateParts {
            signatures,
            round,
            bytes: cert_bytes,
        } = certificate_parts(certificate, extensions)?;
        // As CometBFT does, no CheckTx runs from before Commit until the
        // recheck is over: the app's check state restarts from the new
        // committed state, and the remaining txs must be replayed first.
        // The recheck itself runs beside the consensus loop, holding the
        // mempool: the loop goes on to the next height at once (only a
        // proposer's reap waits for the recheck to end).
        let mut pool = self.mempool.clone().lock_owned().await;
        let results =
            apply_decided_block(&self.abci, &self.store, &block, &id, &cert_bytes).await?;
        pool.remove_included(&block.txs);
        let (abci, metrics) = (self.abci.clone(), self.metrics.clone());
        tokio::spawn(async move {
            if let Err(e) = pool.recheck(&abci).await {
                tracing::error!(error = %e, "mempool recheck failed; the pending txs stay until the next block");
            }
            metrics.mempool_txs.set(pool.len() as i64);
            metrics.mempool_bytes.set(pool.bytes() as i64);
        });
        self.last_commit = commit_votes(
            self.validators
                .validators()
                .iter()
                .map(|v| (v.address.0, v.voting_power)),
            &signatures,
        );
        self.last_commit_round = round;
        for m in &block.misbehavior {
            self.evidence_done.insert((m.address, m.height));
        }
        let done = &self.evidence_done;
        self.evidence_pool
            .retain(|m| !done.contains(&(m.address, m.height)));
        // As CometBFT: the app's updates at height h make the set of h + 2,
        // so every header names its next height's validators.
        let after_next = apply_updates(&self.next_validators, &results.validator_updates)?;
        self.store
            .save_validators(block.height + 2, &validators_to_save(&after_next))?;
        self.decided_validators = std::mem::replace(
            &mut self.validators,
            std::mem::replace(&mut self.next_validators, after_next),
        );
        crate::failpoint::hit("after_save_validators");
        self.proposals.retain(|_, (_, b)| b.height > block.height);
        self.own_parts.retain(|h, _| self.proposals.contains_key(h));
        self.height = BlockHeight(block.height + 1);
        if let Some(previous) = self.last_block_time {
            let nanos = block.time.as_nanos() - previous.as_nanos();
            self.metrics
                .block_interval_seconds
                .observe(nanos as f64 / 1e9);
        }
        self.metrics.height.set(block.height as i64);
        self.metrics.txs_per_block.observe(block.txs.len() as f64);
        self.metrics.committed_txs.inc_by(block.txs.len() as u64);
        self.last_block_time = Some(block.time);
        self.last_block_id = id;
        self.last_app_hash = results.app_hash.to_vec();
        let _ = self
            .committed
            .send((block.height, results.app_hash.to_vec()));
        let _ = self.blocks.send(Arc::new(CommittedBlock {
            block: block.clone(),
            id,
            results: results.clone(),
        }));
        tracing::info!(height = block.height, txs = block.txs.len(), app_hash = %hex::encode(&results.app_hash), "committed");
        Ok(())
    }

    /// Precommits that arrived between the decision and the height's target
    /// time join the last commit (CometBFT waits `timeout_commit` for them):
    /// a validator whose vote is never among the first two thirds still has
    /// its signature recorded, and the app credits it. The stored
    /// certificate grows with it, so a restart proposes the same last commit.
    pub(super) fn extend_last_commit(
        &mut self,
        certificate: CommitCertificate<SynodContext>,
        extensions: VoteExtensions<SynodContext>,
    ) -> Result<(), NodeError> {
        let height = certificate.height.0;
        if height != self.store.height()? {
            return Ok(());
        }
        let signed = self.last_commit.iter().filter(|v| v.signed).count();
        if certificate.commit_signatures.len() <= signed {
            return Ok(());
        }
        let CertificateParts {
            signatures,
            round,
            bytes: cert_bytes,
        } = certificate_parts(certificate, extensions)?;
        if round != self.last_commit_round {
            return Ok(());
        }
        self.store.extend_certificate(height, &cert_bytes)?;
        let before = signed;
        self.last_commit = commit_votes(
            self.decided_validators
                .validators()
                .iter()
                .map(|v| (v.address.0, v.voting_power)),
            &signatures,
        );
        tracing::debug!(
            height,
            before,
            after = signatures.len(),
            "late precommits joined the last commit"
        );
        Ok(())
    }

    /// Turns the double votes consensus saw at `height` into misbehavior
    /// records for the next blocks (one per validator and height).
    pub(super) fn collect_evidence(
        &mut self,
        height: u64,
        evidence: &MisbehaviorEvidence<SynodContext>,
    ) {
        if evidence.votes.is_empty() {
            return;
        }
        let set = &self.decided_validators;
        let total: u64 = set.validators().iter().map(|v| v.voting_power).sum();
        for v in set.validators() {
            let Some((a, b)) = evidence.votes.get(&v.address).and_then(|p| p.first()) else {
                continue;
            };
            let key = (v.address.0, height);
            if self.evidence_done.contains(&key)
                || self
                    .evidence_pool
                    .iter()
                    .any(|m| (m.address, m.height) == key)
            {
                continue;
            }
            tracing::warn!(validator = %v.address, height, "equivocation: evidence will go into the next block");
            let index = set
                .validators()
                .iter()
                .position(|x| x.address == v.address)
                .unwrap_or(0);
            self.evidence_pool.push(Misbehavior {
                address: v.address.0,
                validator_index: index as u32,
                power: v.voting_power as i64,
                height,
                time: self.last_block_time.unwrap_or_default(),
                total_voting_power: total as i64,
                votes: in_cometbft_order(EvidenceVote::of(a), EvidenceVote::of(b)).to_vec(),
            });
        }
    }
}
