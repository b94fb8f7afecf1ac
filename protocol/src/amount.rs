//! Token amounts in usyn (1 syn = 10^6 usyn), with checked arithmetic.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// usyn in one syn.
pub const USYN_PER_SYN: u128 = 1_000_000;

/// An amount of usyn. Arithmetic is checked: overflow is an error, never a wrap.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount(pub u128);

/// Why an amount operation or parse failed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AmountError {
    #[error("amount overflow: {a} + {b} usyn exceeds u128")]
    Overflow { a: u128, b: u128 },
    #[error("amount underflow: {a} - {b} usyn is negative")]
    Underflow { a: u128, b: u128 },
    #[error("{input:?} is not an amount: expected usyn digits (`5000`, `5000usyn`) or syn with up to 6 decimals (`12syn`, `2.5syn`)")]
    Parse { input: String },
}

impl Amount {
    /// Zero usyn.
    pub const ZERO: Amount = Amount(0);

    /// An amount of whole syn.
    pub const fn syn(n: u64) -> Amount {
        Amount(n as u128 * USYN_PER_SYN)
    }

    /// `self + other`, or an error on overflow.
    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_add(other.0)
            .map(Amount)
            .ok_or(AmountError::Overflow {
                a: self.0,
                b: other.0,
            })
    }

    /// `self - other`, or an error if it would go negative.
    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_sub(other.0)
            .map(Amount)
            .ok_or(AmountError::Underflow {
                a: self.0,
                b: other.0,
            })
    }

    /// `self * numerator / denominator`, rounded down, computed without
    /// intermediate overflow for any u64 ratio. A zero denominator yields zero.
    pub fn mul_ratio(self, numerator: u64, denominator: u64) -> Amount {
        if denominator == 0 {
            return Amount::ZERO;
        }
        let (n, d) = (numerator as u128, denominator as u128);
        // self = q*d + r  =>  self*n/d = q*n + r*n/d, and r*n < d*n <= u64^2 fits.
        let q = self.0 / d;
        let r = self.0 % d;
        Amount(q.saturating_mul(n).saturating_add(r * n / d))
    }

    /// The amount in syn with up to six decimals, e.g. `1234.5 syn`.
    pub fn to_syn_string(self) -> String {
        let whole = self.0 / USYN_PER_SYN;
        let frac = self.0 % USYN_PER_SYN;
        if frac == 0 {
            format!("{whole} syn")
        } else {
            let digits = format!("{frac:06}");
            format!("{whole}.{} syn", digits.trim_end_matches('0'))
        }
    }

    /// Whether this is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}usyn", self.0)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}usyn", self.0)
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    /// Parses `123`, `123usyn`, `5syn` or `2.5syn` (at most 6 decimals: 1 usyn).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || AmountError::Parse {
            input: s.to_string(),
        };
        let t = s.trim();
        let (number, per_unit) = if let Some(d) = t.strip_suffix("usyn") {
            (d, 1)
        } else if let Some(d) = t.strip_suffix("syn") {
            (d, USYN_PER_SYN)
        } else {
            (t, 1)
        };
        let (whole, fraction) = match number.split_once('.') {
            // usyn is indivisible: only syn amounts have decimals.
            Some((w, f)) if per_unit == USYN_PER_SYN && !f.is_empty() && f.len() <= 6 => (w, f),
            Some(_) => return Err(err()),
            None => (number, ""),
        };
        let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || !(fraction.is_empty() || digits(fraction)) {
            return Err(err());
        }
        let n: u128 = whole.parse().map_err(|_| err())?;
        // "2.5" syn: 2 * 10^6 + 5 * 10^5 usyn.
        let fraction_usyn: u128 = if fraction.is_empty() {
            0
        } else {
            let padded = format!("{fraction:0<6}");
            padded.parse().map_err(|_| err())?
        };
        n.checked_mul(per_unit)
            .and_then(|u| u.checked_add(fraction_usyn))
            .map(Amount)
            .ok_or_else(err)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            // JSON numbers lose precision past 2^53: amounts are decimal strings.
            s.serialize_str(&self.0.to_string())
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        } else {
            Ok(Amount(u128::deserialize(d)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn add_then_sub_is_identity(a in any::<u64>(), b in any::<u64>()) {
            let (a, b) = (Amount(a as u128), Amount(b as u128));
            prop_assert_eq!(a.checked_add(b).unwrap().checked_sub(b).unwrap(), a);
        }

        #[test]
        fn mul_ratio_matches_wide_math(a in any::<u64>(), n in any::<u32>(), d in 1u32..) {
            let exact = (a as u128) * (n as u128) / (d as u128);
            prop_assert_eq!(Amount(a as u128).mul_ratio(n as u64, d as u64), Amount(exact));
        }

        #[test]
        fn json_round_trips(a in any::<u128>()) {
            let json = serde_json::to_string(&Amount(a)).unwrap();
            prop_assert_eq!(serde_json::from_str::<Amount>(&json).unwrap(), Amount(a));
        }
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(matches!(
            Amount(u128::MAX).checked_add(Amount(1)),
            Err(AmountError::Overflow { .. })
        ));
        assert!(matches!(
            Amount(1).checked_sub(Amount(2)),
            Err(AmountError::Underflow { .. })
        ));
    }

    #[test]
    fn shows_syn_with_trimmed_decimals() {
        assert_eq!(Amount(1_500_000).to_syn_string(), "1.5 syn");
        assert_eq!(Amount(2_000_000).to_syn_string(), "2 syn");
        assert_eq!(Amount(7).to_syn_string(), "0.000007 syn");
    }

    #[test]
    fn parses_units() {
        assert_eq!("5syn".parse::<Amount>().unwrap(), Amount(5_000_000));
        assert_eq!("7usyn".parse::<Amount>().unwrap(), Amount(7));
        assert_eq!("42".parse::<Amount>().unwrap(), Amount(42));
        assert!("-1".parse::<Amount>().is_err());
        assert!("syn".parse::<Amount>().is_err());
        assert_eq!("2.5syn".parse::<Amount>().unwrap(), Amount(2_500_000));
        assert_eq!("0.000001syn".parse::<Amount>().unwrap(), Amount(1));
        assert_eq!(
            "12.345678syn".parse::<Amount>().unwrap(),
            Amount(12_345_678)
        );
        for bad in [
            "1.2345678syn",
            "1.5usyn",
            "1.5",
            ".5syn",
            "5.syn",
            "1.-5syn",
            "1..5syn",
        ] {
            let e = bad.parse::<Amount>().unwrap_err().to_string();
            assert!(e.contains("up to 6 decimals"), "{bad}: {e}");
        }
    }
}
