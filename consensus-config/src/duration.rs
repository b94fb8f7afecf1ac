//! Durations as CometBFT writes and reads them: Go's `time.Duration` text
//! ("1s", "500ms", "1m30s", "168h0m0s", "1.5s").

use std::time::Duration;

const NANOS_PER_SEC: u128 = 1_000_000_000;

/// Formats a duration exactly as Go's `time.Duration.String` does (so a file we
/// write is byte-identical to one CometBFT writes).
pub fn format(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".into();
    }
    if nanos < NANOS_PER_SEC {
        let (unit, scale) = match nanos {
            0..1_000 => ("ns", 1),
            1_000..1_000_000 => ("µs", 1_000),
            _ => ("ms", 1_000_000),
        };
        return format!("{}{unit}", decimal(nanos, scale));
    }
    let secs = nanos / NANOS_PER_SEC;
    let (hours, minutes) = (secs / 3600, secs / 60 % 60);
    let seconds = decimal(nanos % (60 * NANOS_PER_SEC), NANOS_PER_SEC);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// `value / scale` in decimal, without trailing zeros in the fraction.
fn decimal(value: u128, scale: u128) -> String {
    let (whole, fraction) = (value / scale, value % scale);
    if fraction == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{fraction:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not a duration: {reason} (write it as CometBFT does, e.g. \"1s\", \"500ms\", \"1m30s\")")]
pub struct ParseDurationError {
    input: String,
    reason: &'static str,
}

/// Parses Go's duration syntax: a sequence of decimal numbers, each with an
/// optional fraction and a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`);
/// `"0"` alone is zero. Negative durations are refused.
pub fn parse(input: &str) -> Result<Duration, ParseDurationError> {
    let fail = |reason| ParseDurationError {
        input: input.to_string(),
        reason,
    };
    let text = input.trim();
    let text = text.strip_prefix('+').unwrap_or(text);
    if text.starts_with('-') {
        return Err(fail("negative durations are not allowed"));
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    if text.is_empty() {
        return Err(fail("it is empty"));
    }
    let mut total: u128 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| fail("a number has no unit"))?;
        let (number, after) = rest.split_at(number_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SEC,
            "m" => 60 * NANOS_PER_SEC,
            "h" => 3600 * NANOS_PER_SEC,
            "" => return Err(fail("a number has no unit")),
            _ => return Err(fail("unknown unit")),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(fail("a unit has no number"));
        }
        let whole: u128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| fail("bad number"))?
        };
        let mut part = whole.checked_mul(scale).ok_or_else(|| fail("too large"))?;
        // Fractional digits beyond nanosecond precision are dropped, as Go does.
        let mut digit_scale = scale;
        for digit in fraction.chars() {
            let d = digit.to_digit(10).ok_or_else(|| fail("bad number"))?;
            digit_scale /= 10;
            part += u128::from(d) * digit_scale;
        }
        total = total.checked_add(part).ok_or_else(|| fail("too large"))?;
        rest = after;
    }
    let secs = u64::try_from(total / NANOS_PER_SEC).map_err(|_| fail("too large"))?;
    Ok(Duration::new(secs, (total % NANOS_PER_SEC) as u32))
}

/// Serde helpers: a duration field written as a Go duration string. Reading
/// also accepts an integer number of nanoseconds, as CometBFT's config loader does.
pub mod serde_go {
    use std::time::Duration;

    use serde::{de, Deserializer, Serializer};

    /// Writes `duration` as a Go duration string.
    pub fn serialize<S: Serializer>(duration: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format(*duration))
    }

    /// Reads a Go duration string or an integer of nanoseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        struct Visitor;
        impl de::Visitor<'_> for Visitor {
            type Value = Duration;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a duration such as \"1s\" or \"500ms\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                super::parse(v).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                u64::try_from(v)
                    .map(Duration::from_nanos)
                    .map_err(|_| E::custom("negative durations are not allowed"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                Ok(Duration::from_nanos(v))
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_like_go() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(7), "7ns"),
            (Duration::from_micros(15), "15µs"),
            (Duration::from_millis(100), "100ms"),
            (Duration::from_millis(500), "500ms"),
            (Duration::from_micros(1500), "1.5ms"),
            (Duration::from_secs(1), "1s"),
            (Duration::from_millis(1500), "1.5s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(60), "1m0s"),
            (Duration::from_secs(168 * 3600), "168h0m0s"),
            (Duration::from_secs(3723), "1h2m3s"),
        ];
        for (d, text) in cases {
            assert_eq!(format(d), text, "{d:?}");
            assert_eq!(parse(text).unwrap(), d, "{text}");
        }
    }

    #[test]
    fn parses_what_go_accepts() {
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse(".5s").unwrap(), Duration::from_millis(500));
        assert_eq!(parse("10000ms").unwrap(), Duration::from_secs(10));
        assert_eq!(parse("2us").unwrap(), Duration::from_micros(2));
    }

    #[test]
    fn refuses_what_go_refuses() {
        for bad in ["", "3", "1x", "-1s", "s", "1.2.3s", "ms5"] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(nanos in 0u64..(400 * 3600 * 1_000_000_000)) {
            let d = Duration::from_nanos(nanos);
            prop_assert_eq!(parse(&format(d)).unwrap(), d);
        }
    }
}
