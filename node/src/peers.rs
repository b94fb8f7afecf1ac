//! What the node learns about its peers from what it sees, beside
//! consensus: how far they have got (the tip height each peer's sync status
//! announces: the RPC's `catching_up`), and whether the network makes blocks
//! faster than this node's `timeout_commit` lets it (a sign that its
//! timeouts are not the network's: it then lags behind its peers' rounds).
//!
//! Peers' own timeouts never cross the wire (nor do they in CometBFT), so
//! the pace of the blocks the network decides is what this node can know of
//! them: when the blocks come clearly faster than its own `timeout_commit`
//! allows, it says so in its log, naming the fix.

use std::{
    collections::VecDeque,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use malachitebft_app_channel::app::consensus::LivenessMsg;
use malachitebft_app_channel::app::streaming::StreamMessage;
use malachitebft_app_channel::app::types::codec::{Codec, HasEncodedLen};
use malachitebft_app_channel::app::types::core::ValidatorProof;
use malachitebft_app_channel::app::types::sync::{Request, Response, Status};
use malachitebft_app_channel::app::types::SignedConsensusMsg;
use tokio::sync::broadcast::{self, error::RecvError};

use crate::{
    block::BlockTime,
    codec::{CodecError, SynodCodec},
    context::{ProposalPart, SynodContext},
    handle::{CommittedBlock, PeerHeights},
};

/// The consensus network's codec: [`SynodCodec`] for every message, and
/// each peer's sync status it decodes (the height the peer has committed,
/// which peers announce as they commit) is noted in [`PeerHeights`]. The
/// network decodes what arrives itself, whatever consensus is doing, so a
/// node whose consensus waits on a stalled app still learns that its peers
/// went on.
#[derive(Clone, Debug)]
pub(crate) struct PeerWatchingCodec(pub(crate) PeerHeights);

/// The messages this codec passes to [`SynodCodec`] unseen.
macro_rules! as_synod_codec {
    ($($t:ty),* $(,)?) => {$(
        impl Codec<$t> for PeerWatchingCodec {
            type Error = CodecError;
            fn decode(&self, bytes: Bytes) -> Result<$t, CodecError> {
                SynodCodec.decode(bytes)
            }
            fn encode(&self, msg: &$t) -> Result<Bytes, CodecError> {
                SynodCodec.encode(msg)
            }
        }
    )*};
}

as_synod_codec!(
    ProposalPart,
    SignedConsensusMsg<SynodContext>,
    LivenessMsg<SynodContext>,
    StreamMessage<ProposalPart>,
    ValidatorProof<SynodContext>,
    Request<SynodContext>,
    Response<SynodContext>,
);

impl Codec<Status<SynodContext>> for PeerWatchingCodec {
    type Error = CodecError;
    fn decode(&self, bytes: Bytes) -> Result<Status<SynodContext>, CodecError> {
        let status: Status<SynodContext> = SynodCodec.decode(bytes)?;
        self.0.saw_tip(status.tip_height.0, Instant::now());
        Ok(status)
    }
    fn encode(&self, msg: &Status<SynodContext>) -> Result<Bytes, CodecError> {
        SynodCodec.encode(msg)
    }
}

impl HasEncodedLen<Response<SynodContext>> for PeerWatchingCodec {
    fn encoded_len(&self, msg: &Response<SynodContext>) -> Result<usize, CodecError> {
        SynodCodec.encoded_len(msg)
    }
}

/// How many block intervals the network's pace is measured over.
const PACE_WINDOW: usize = 20;

/// How often the pace warning may repeat.
const PACE_WARN_EVERY: Duration = Duration::from_secs(600);

/// Watches the committed blocks' times and warns, at most every
/// [`PACE_WARN_EVERY`], when the network makes blocks faster than this
/// node's `timeout_commit` allows ([`faster_than`]). Ends when the node
/// stops committing blocks.
pub(crate) async fn watch_pace(
    mut blocks: broadcast::Receiver<Arc<CommittedBlock>>,
    timeout_commit: Duration,
) {
    if timeout_commit.is_zero() {
        return;
    }
    let mut times: VecDeque<BlockTime> = VecDeque::with_capacity(PACE_WINDOW + 1);
    let mut warned: Option<Instant> = None;
    loop {
        match blocks.recv().await {
            Ok(block) => times.push_back(block.block.time),
            // Missed blocks: start the window again.
            Err(RecvError::Lagged(_)) => times.clear(),
            Err(RecvError::Closed) => return,
        }
        if times.len() > PACE_WINDOW + 1 {
            times.pop_front();
        }
        let due = warned.is_none_or(|at| at.elapsed() >= PACE_WARN_EVERY);
        if let (true, Some(interval)) = (due, faster_than(times.make_contiguous(), timeout_commit))
        {
            tracing::warn!(
                network_block_interval_ms = interval.as_millis() as u64,
                timeout_commit_ms = timeout_commit.as_millis() as u64,
                "the network makes a block every {} ms, faster than this node's timeout_commit \
                 of {} ms lets it: its consensus timeouts likely differ from its peers', so it \
                 lags behind their rounds; set the network's in config.toml's [consensus] \
                 (`synod-node init --from-node URL` copies them from a running node)",
                interval.as_millis(),
                timeout_commit.as_millis()
            );
            warned = Some(Instant::now());
        }
    }
}

/// The median interval between the consecutive block times `times`, when
/// there are [`PACE_WINDOW`] intervals and it is under three quarters of
/// `timeout_commit` (a node waits at least `timeout_commit` between blocks,
/// so the network, deciding faster, waits less).
pub(crate) fn faster_than(times: &[BlockTime], timeout_commit: Duration) -> Option<Duration> {
    if times.len() < PACE_WINDOW + 1 {
        return None;
    }
    let nanos = |t: &BlockTime| i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos);
    let mut intervals: Vec<i128> = times
        .windows(2)
        .map(|w| nanos(&w[1]) - nanos(&w[0]))
        .collect();
    intervals.sort_unstable();
    let median = intervals[intervals.len() / 2];
    let limit = i128::try_from(timeout_commit.as_nanos()).ok()? * 3 / 4;
    if median < 0 || median >= limit {
        return None;
    }
    u64::try_from(median).ok().map(Duration::from_nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Block times `step_ms` apart.
    fn times(step_ms: i64) -> Vec<BlockTime> {
        (0..=PACE_WINDOW as i64)
            .map(|i| BlockTime {
                seconds: 1_700_000_000 + i * step_ms / 1000,
                nanos: ((i * step_ms % 1000) * 1_000_000) as i32,
            })
            .collect()
    }

    #[test]
    fn blocks_much_faster_than_the_timeout_commit_are_noticed() {
        let one_second = Duration::from_secs(1);
        // A network at 500 ms seen by a node that waits 1 s: its timeouts differ.
        assert_eq!(
            faster_than(&times(520), one_second),
            Some(Duration::from_millis(520))
        );
        // A network at this node's pace (plus the time to decide) is in step.
        assert_eq!(faster_than(&times(1_080), one_second), None);
        // Slower blocks are not this node's doing.
        assert_eq!(faster_than(&times(3_000), one_second), None);
        // Too few blocks to tell.
        assert_eq!(faster_than(&times(520)[..5], one_second), None);
    }
}
