//! The consensus loop: Malachite drives heights and rounds; this loop
//! answers every message it sends (one `match`, one arm per message, each
//! saying what the protocol expects), turning proposals into
//! `PrepareProposal`, received blocks into `ProcessProposal`, and decisions
//! into `FinalizeBlock` + `Commit`. Its state is in `state`, proposals are
//! built and judged in `proposal`, decisions executed in `commit`.

#[cfg(feature = "faults")]
mod byzantine;
mod commit;
mod last_commit;
mod proposal;
mod state;

pub(crate) use state::{AppState, Startup};

use bytes::Bytes;
use malachitebft_app_channel::app::engine::host::{Next, SyncedValueOutcome};
use malachitebft_app_channel::app::types::core::{Round, Validity};
use malachitebft_app_channel::app::types::sync::RawDecidedValue;
use malachitebft_app_channel::app::types::{LocallyProposedValue, ProposedValue};
use malachitebft_app_channel::{AppMsg, Channels, NetworkMsg};
use tokio::sync::mpsc;

use crate::{
    block::DecidedBlock,
    codec::decode_certificate,
    context::{BlockHeight, BlockRef, SynodContext, ValidatorAddress},
    handle::{MempoolView, NodeError, NodeQuery},
};

/// Runs the loop until the engine closes its channel (`Ok`) or something
/// the node cannot go on without fails (the app, the store: `Err`).
/// Questions from the RPC are answered between two engine messages.
pub(crate) async fn run(
    mut state: AppState,
    mut channels: Channels<SynodContext>,
    mut queries: mpsc::Receiver<NodeQuery>,
) -> Result<(), NodeError> {
    loop {
        tokio::select! {
            msg = channels.consensus.recv() => {
                let Some(msg) = msg else { return Ok(()) };
                handle(&mut state, msg, &channels.network).await?;
            }
            Some(query) = queries.recv() => match query {
                NodeQuery::Mempool { limit, reply } => {
                    let pool = state.mempool.lock().await;
                    let _ = reply.send(MempoolView {
                        count: pool.len(),
                        bytes: pool.bytes(),
                        txs: pool.first(limit),
                    });
                }
            },
        }
    }
}

/// Answers one message of the engine.
async fn handle(
    state: &mut AppState,
    msg: AppMsg<SynodContext>,
    network: &mpsc::Sender<NetworkMsg<SynodContext>>,
) -> Result<(), NodeError> {
    match msg {
        // Consensus is up: start at the height after the last stored block.
        AppMsg::ConsensusReady { reply } => {
            let _ = reply.send((state.height, state.params()));
        }
        // A round started: hand back any value we already hold for it (after a restart).
        AppMsg::StartedRound {
            height,
            round,
            reply_value,
            ..
        } => {
            state.height = height;
            // Streams of earlier heights can no longer be used: free them.
            state.streams.advance(height.0);
            state.metrics.round.set(round.as_i64());
            let known = state
                .proposals
                .iter()
                .filter(|(_, (r, b))| *r == round && b.height == height.0)
                .map(|(id, (_, b))| ProposedValue {
                    height,
                    round,
                    valid_round: Round::Nil,
                    proposer: ValidatorAddress(b.proposer_address),
                    value: BlockRef { id: *id },
                    validity: Validity::Valid,
                })
                .collect();
            let _ = reply_value.send(known);
        }
        // We propose: the same block again if we already built one for
        // this round, else PrepareProposal over the mempool; then stream it.
        AppMsg::GetValue {
            height,
            round,
            reply,
            ..
        } => {
            let existing = state
                .proposals
                .iter()
                .find(|(_, (r, b))| {
                    *r == round && b.height == height.0 && b.proposer_address == state.address.0
                })
                .map(|(h, _)| *h);
            let hash = match existing {
                Some(h) => h,
                None => state.build_block(height, round).await?,
            };
            let _ = reply.send(LocallyProposedValue::new(
                height,
                round,
                BlockRef { id: hash },
            ));
            for part in state.own_parts.get(&hash).cloned().unwrap_or_default() {
                let _ = network.send(NetworkMsg::PublishProposalPart(part)).await;
            }
        }
        // A part of someone's proposal: once the stream is whole, check
        // proposer, signature and hash, and let the app judge the block.
        AppMsg::ReceivedProposalPart {
            from,
            published_by,
            part,
            reply,
        } => {
            let publisher = published_by.unwrap_or(from);
            let value = match state.streams.insert(publisher, part) {
                Ok(Some(p)) => state.judge(p).await?,
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(%publisher, error = %e, "dropped a proposal stream");
                    None
                }
            };
            let _ = reply.send(value);
        }
        // Consensus decided: execute and commit the block, then recheck the mempool.
        AppMsg::Decided {
            certificate,
            extensions,
            reply,
        } => {
            state.decide(certificate, extensions).await?;
            let _ = reply.send(());
        }
        // The height is over: start the next with the (possibly updated) validator set.
        AppMsg::Finalized {
            certificate,
            extensions,
            evidence,
            reply,
        } => {
            state.collect_evidence(certificate.height.0, &evidence);
            state.extend_last_commit(certificate, extensions)?;
            let _ = reply.send(Next::Start(state.height, state.params()));
        }
        // Sync asks from which height we serve blocks: the first (the store keeps every block).
        AppMsg::GetHistoryMinHeight { reply } => {
            let _ = reply.send(BlockHeight(1));
        }
        // Serve sync: a contiguous run of stored blocks with their certificates.
        AppMsg::GetDecidedValues { range, reply } => {
            let mut out = Vec::new();
            let top = state.store.height()?;
            for h in range.start().0..=range.end().0.min(top) {
                let (Some(block), Some(cert)) =
                    (state.store.block(h)?, state.store.certificate(h)?)
                else {
                    break;
                };
                let Ok(certificate) = decode_certificate(&cert) else {
                    break;
                };
                out.push(RawDecidedValue::new(
                    Bytes::from(block.encode()),
                    certificate,
                ));
            }
            let _ = reply.send(out);
        }
        // A block fetched by sync: the certificate proves the decision (of
        // the id computed here from the block); check it decodes and has a
        // CometBFT header. Saved before the verdict, as a proposal we judged
        // is: consensus logs the value, and a restart that replays the
        // decision must find the block.
        AppMsg::ProcessSyncedValue {
            height,
            round,
            proposer,
            value_bytes,
            reply,
        } => {
            let decoded = DecidedBlock::decode(&value_bytes)
                .ok()
                .filter(|b| b.height == height.0 && b.chain_id == state.chain_id)
                .and_then(|b| b.id().ok().map(|id| (b, id)));
            let outcome = match decoded {
                Some((block, hash)) => {
                    state
                        .store
                        .save_proposal(round.as_u32().unwrap_or(0), &block)?;
                    state.proposals.insert(hash, (round, block));
                    SyncedValueOutcome::Verdict(ProposedValue {
                        height,
                        round,
                        valid_round: Round::Nil,
                        proposer,
                        value: BlockRef { id: hash },
                        validity: Validity::Valid,
                    })
                }
                None => SyncedValueOutcome::PeerFault,
            };
            let _ = reply.send(outcome);
        }
        // Re-publish our own proposal's original parts.
        AppMsg::RestreamProposal { value_id, .. } => {
            for part in state.own_parts.get(&value_id).cloned().unwrap_or_default() {
                let _ = network.send(NetworkMsg::PublishProposalPart(part)).await;
            }
        }
        // Vote extensions are disabled (policy Disabled in every height):
        // we extend with nothing...
        AppMsg::ExtendVote { reply, .. } => {
            let _ = reply.send(None);
        }
        // ...and accept whatever others send.
        AppMsg::VerifyVoteExtensions {
            extensions, reply, ..
        } => {
            let _ = reply.send(extensions.into_iter().map(|(a, _)| (a, Ok(()))).collect());
        }
    }
    Ok(())
}
