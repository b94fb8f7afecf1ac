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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(seconds: i64, nanos: i32) -> BlockTime {
        BlockTime { seconds, nanos }
    }

    #[test]
    fn adding_durations_carries_nanoseconds() {
        assert_eq!(
            t(1, 900_000_000).plus(Duration::from_millis(200)),
            t(2, 100_000_000)
        );
    }
}
