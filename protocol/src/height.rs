//! Block heights.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A block height. Heights start at 1; 0 means "before the first block"
/// (the genesis state).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Height(pub u64);

impl Height {
    /// The genesis state, before block 1.
    pub const GENESIS: Height = Height(0);

    /// The height as a number.
    pub const fn value(self) -> u64 {
        self.0
    }

    /// The next height.
    pub const fn next(self) -> Height {
        Height(self.0.saturating_add(1))
    }

    /// `blocks` later (saturating: heights never wrap).
    pub const fn plus(self, blocks: u64) -> Height {
        Height(self.0.saturating_add(blocks))
    }

    /// `blocks` earlier, never below 0.
    pub const fn minus(self, blocks: u64) -> Height {
        Height(self.0.saturating_sub(blocks))
    }
}

impl fmt::Display for Height {
    /// Honors width and fill, so `{height:020}` pads like the number does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Height({})", self.0)
    }
}

impl From<u64> for Height {
    fn from(h: u64) -> Height {
        Height(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        assert_eq!(Height(u64::MAX).next(), Height(u64::MAX));
        assert_eq!(Height(3).minus(5), Height::GENESIS);
        assert_eq!(Height(3).plus(4), Height(7));
    }

    #[test]
    fn formatting_pads_like_the_number() {
        assert_eq!(format!("{:05}", Height(42)), "00042");
    }

    #[test]
    fn encodes_as_a_plain_number() {
        assert_eq!(serde_json::to_string(&Height(42)).unwrap(), "42");
        assert_eq!(
            crate::codec::encode(&Height(42)),
            crate::codec::encode(&42u64)
        );
    }
}
