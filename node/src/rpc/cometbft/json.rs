//! The scalars of CometBFT's JSON: how Go's `int64`, `[]byte`, `HexBytes`,
//! `time.Time`, `time.Duration` and public keys come out of its encoders.

use base64::Engine;
use serde_json::{json, Value};

use crate::block::BlockTime;

/// A Go `int64`, `int`, `uint64` or `uint`: a decimal string (CometBFT's
/// `libs/json` and `jsonpb` both quote 64-bit integers for JavaScript).
pub fn int(n: impl std::fmt::Display) -> Value {
    Value::String(n.to_string())
}

/// A `HexBytes` (hashes, addresses): upper-case hex, `""` when empty.
pub fn hex(bytes: &[u8]) -> Value {
    Value::String(hex::encode_upper(bytes))
}

/// Base64 (standard alphabet, padded), as Go encodes a `[]byte`.
pub fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A `[]byte` that is nil when empty (one decoded from protobuf, where an
/// empty field is absent): `null` when empty, else base64.
pub fn bytes_or_null(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        Value::String(base64(bytes))
    }
}

/// An ed25519 public key as `crypto.PubKey`: the registered type name and
/// the key in base64.
pub fn pub_key(key: &[u8; 32]) -> Value {
    json!({"type": "tendermint/PubKeyEd25519", "value": base64(key)})
}

/// A `time.Time`: RFC 3339 in UTC with the nanoseconds' trailing zeros
/// dropped (Go's `RFC3339Nano`), e.g. `2023-11-14T22:13:20.5Z`.
pub fn time(t: BlockTime) -> Value {
    let nanos = t.as_nanos();
    let seconds = nanos.div_euclid(1_000_000_000) as i64;
    let sub = nanos.rem_euclid(1_000_000_000) as u32;
    Value::String(rfc3339_nanos(seconds, sub))
}

/// Go's zero `time.Time` (`0001-01-01T00:00:00Z`): a time that was never set.
pub fn zero_time() -> Value {
    Value::String("0001-01-01T00:00:00Z".into())
}

/// Seconds since the Unix epoch (and nanoseconds below 10^9) as Go's
/// `RFC3339Nano` writes them in UTC.
fn rfc3339_nanos(seconds: i64, nanos: u32) -> String {
    let days = seconds.div_euclid(86_400);
    let secs_of_day = seconds.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (secs_of_day / 3600, secs_of_day / 60 % 60, secs_of_day % 60);
    let mut out = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}");
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64, nanos: i32) -> String {
        time(BlockTime { seconds, nanos })
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    #[test]
    fn times_read_as_go_writes_them() {
        assert_eq!(t(1_700_000_000, 0), "2023-11-14T22:13:20Z");
        assert_eq!(t(1_700_000_000, 500_000_000), "2023-11-14T22:13:20.5Z");
        assert_eq!(
            t(1_700_000_000, 123_456_789),
            "2023-11-14T22:13:20.123456789Z"
        );
        assert_eq!(t(0, 0), "1970-01-01T00:00:00Z");
        assert_eq!(t(951_782_400, 0), "2000-02-29T00:00:00Z");
        assert_eq!(
            t(-62_135_596_800, 0),
            zero_time().as_str().unwrap_or_default()
        );
    }

    #[test]
    fn integers_are_strings_and_hashes_upper_case_hex() {
        assert_eq!(int(-1i64), json!("-1"));
        assert_eq!(hex(&[0xab, 0x01]), json!("AB01"));
        assert_eq!(hex(&[]), json!(""));
        assert_eq!(bytes_or_null(&[]), Value::Null);
        assert_eq!(bytes_or_null(&[1, 2]), json!("AQI="));
    }
}
