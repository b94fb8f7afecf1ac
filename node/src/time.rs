//! Timestamps of headers and votes: seconds and nanoseconds since the Unix
//! epoch, as CometBFT's protobuf `Timestamp`.

use borsh::{BorshDeserialize, BorshSerialize};
use tendermint_proto::google::protobuf::Timestamp;

/// A header timestamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct BlockTime {
    pub seconds: i64,
    pub nanos: i32,
}

impl BlockTime {
    /// Go's zero `time.Time` (0001-01-01T00:00:00Z): CometBFT's timestamp of
    /// an absent commit signature.
    pub const GO_ZERO: BlockTime = BlockTime {
        seconds: -62_135_596_800,
        nanos: 0,
    };

    /// The local wall clock, for the blocks this node proposes and for the
    /// drift check on others' (never read by the app: it takes the header's).
    pub fn now() -> BlockTime {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        BlockTime {
            seconds: d.as_secs() as i64,
            nanos: d.subsec_nanos() as i32,
        }
    }

    /// Nanoseconds since the Unix epoch.
    pub fn as_nanos(self) -> i128 {
        i128::from(self.seconds) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// The protobuf timestamp of this time, as ABCI carries it.
    pub fn timestamp(self) -> Timestamp {
        Timestamp {
            seconds: self.seconds,
            nanos: self.nanos,
        }
    }

    /// This time as the app's ABCI layer reads it (tendermint-rs' `Time`):
    /// refused, as there, unless `0 <= nanos < 10^9` and the date lies in
    /// the years 1 to 9999. A time the node lets through here but the app
    /// could not read would stop every app that receives the block.
    pub fn to_tendermint(self) -> Result<tendermint::Time, tendermint::Error> {
        tendermint::Time::try_from(self.timestamp())
    }

    /// This time plus `d`.
    pub fn plus(self, d: std::time::Duration) -> BlockTime {
        let total = self.as_nanos() + d.as_nanos() as i128;
        BlockTime {
            seconds: (total.div_euclid(1_000_000_000)) as i64,
            nanos: total.rem_euclid(1_000_000_000) as i32,
        }
    }
}

impl PartialOrd for BlockTime {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for BlockTime {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_nanos().cmp(&other.as_nanos())
    }
}

/// CometBFT's weighted median (`types.weightedMedian`): sorted by time, the
/// first time at which the power seen reaches half the total. `None` when
/// no power is given.
pub fn weighted_median(votes: impl IntoIterator<Item = (BlockTime, u64)>) -> Option<BlockTime> {
    let mut votes: Vec<(BlockTime, u64)> = votes.into_iter().filter(|(_, p)| *p > 0).collect();
    let total: u128 = votes.iter().map(|(_, p)| u128::from(*p)).sum();
    votes.sort_by_key(|(t, _)| *t);
    let mut median = total / 2;
    for (time, power) in votes {
        if median <= u128::from(power) {
            return Some(time);
        }
        median -= u128::from(power);
    }
    None
}

/// A block's header time, as every validator computes it (CometBFT's BFT
/// time, `MedianTime`): the first block takes the genesis time; a later one
/// the power-weighted median of the vote times in its record of the
/// previous commit (`signed` votes: time and power), never earlier than
/// 1 ms after the previous block (CometBFT guarantees that through the
/// times validators put in their votes; here it is part of the rule).
pub fn bft_time(
    genesis: BlockTime,
    previous: Option<BlockTime>,
    signed_votes: impl IntoIterator<Item = (BlockTime, u64)>,
) -> BlockTime {
    let Some(previous) = previous else {
        return genesis;
    };
    let floor = previous.plus(std::time::Duration::from_millis(1));
    weighted_median(signed_votes).map_or(floor, |m| m.max(floor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(seconds: i64, nanos: i32) -> BlockTime {
        BlockTime { seconds, nanos }
    }

    #[test]
    fn the_median_is_weighted_by_power_as_cometbfts() {
        // Powers 10, 20, 30, 40 at times 1..4: half of 100 is reached at
        // the third (10 + 20 + 30 >= 50).
        let votes = [(t(4, 0), 40), (t(1, 0), 10), (t(3, 0), 30), (t(2, 0), 20)];
        assert_eq!(weighted_median(votes), Some(t(3, 0)));
        // One validator with most of the power decides it.
        assert_eq!(
            weighted_median([(t(9, 0), 70), (t(1, 0), 30)]),
            Some(t(9, 0))
        );
        assert_eq!(weighted_median([(t(9, 0), 0)]), None);
        // Ties of time and order of input do not matter.
        let a = [(t(5, 1), 1), (t(5, 1), 1), (t(7, 0), 1)];
        let mut b = a;
        b.reverse();
        assert_eq!(weighted_median(a), weighted_median(b));
    }

    #[test]
    fn bft_time_starts_at_genesis_and_always_advances() {
        let genesis = t(100, 0);
        assert_eq!(bft_time(genesis, None, [(t(500, 0), 1)]), genesis);
        assert_eq!(
            bft_time(genesis, Some(t(200, 0)), [(t(201, 0), 1), (t(203, 0), 1)]),
            t(201, 0)
        );
        // Votes older than the previous block: 1 ms after it.
        assert_eq!(
            bft_time(genesis, Some(t(200, 0)), [(t(150, 0), 1)]),
            t(200, 1_000_000)
        );
        assert_eq!(bft_time(genesis, Some(t(200, 0)), []), t(200, 1_000_000));
    }

    #[test]
    fn adding_durations_carries_nanoseconds() {
        assert_eq!(
            t(1, 900_000_000).plus(Duration::from_millis(200)),
            t(2, 100_000_000)
        );
    }
}
