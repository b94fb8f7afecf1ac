//! The canonical binary encoding: the only place that calls bincode.
//!
//! Decoding is strict: a size limit, no trailing bytes, and decode-then-encode
//! must reproduce the input exactly, so every value has exactly one encoding
//! and a transaction's hash names one transaction.

use serde::{de::DeserializeOwned, Serialize};

/// The largest encoding [`decode`] accepts, whatever the caller's own limit.
pub const MAX_DECODE_BYTES: usize = 4 * 1024 * 1024;

fn config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_variable_int_encoding()
        .with_limit::<MAX_DECODE_BYTES>()
}

/// Why bytes could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("{len} bytes exceed the limit of {limit} bytes")]
    TooLarge { len: usize, limit: usize },
    #[error("undecodable {what}: {reason}")]
    Undecodable { what: &'static str, reason: String },
    #[error("{trailing} trailing bytes after a {what}")]
    TrailingBytes { what: &'static str, trailing: usize },
    #[error("non-canonical encoding of a {what}: re-encoding gives different bytes")]
    NonCanonical { what: &'static str },
    #[error("cannot encode a {what}: {reason}")]
    Unencodable { what: &'static str, reason: String },
}

/// Encodes a value canonically.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Encoding into a Vec only fails for values larger than the limit, which no
    // Synod type produces from validated parts; fall back to an empty vec
    // rather than panic, and let decode reject it.
    try_encode(value).unwrap_or_default()
}

/// Encodes a value canonically, reporting failure (only for oversized values).
pub fn try_encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| CodecError::Unencodable {
        what: std::any::type_name::<T>(),
        reason: e.to_string(),
    })
}

/// Decodes bytes that must be the canonical encoding of a `T`, at most `limit` bytes.
pub fn decode_limited<T: Serialize + DeserializeOwned>(
    bytes: &[u8],
    limit: usize,
) -> Result<T, CodecError> {
    let what = short_type_name::<T>();
    let limit = limit.min(MAX_DECODE_BYTES);
    if bytes.len() > limit {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit,
        });
    }
    let (value, read): (T, usize) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(|e| {
            CodecError::Undecodable {
                what,
                reason: e.to_string(),
            }
        })?;
    if read != bytes.len() {
        return Err(CodecError::TrailingBytes {
            what,
            trailing: bytes.len() - read,
        });
    }
    if try_encode(&value)? != bytes {
        return Err(CodecError::NonCanonical { what });
    }
    Ok(value)
}

/// Decodes bytes that must be the canonical encoding of a `T`.
pub fn decode<T: Serialize + DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_limited(bytes, MAX_DECODE_BYTES)
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = encode(&7u64);
        bytes.push(0);
        assert!(matches!(
            decode::<u64>(&bytes),
            Err(CodecError::TrailingBytes { trailing: 1, .. })
        ));
    }

    #[test]
    fn non_minimal_varints_are_rejected_as_non_canonical() {
        // 251 marks a u16 varint; 5 fits in one byte, so [251, 5, 0] is a second encoding of 5.
        let err = decode::<u64>(&[251, 5, 0]).unwrap_err();
        assert!(
            matches!(
                err,
                CodecError::NonCanonical { .. } | CodecError::Undecodable { .. }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn oversized_input_is_rejected_before_decoding() {
        let bytes = encode(&vec![1u8; 100]);
        assert!(matches!(
            decode_limited::<Vec<u8>>(&bytes, 50),
            Err(CodecError::TooLarge { .. })
        ));
    }

    #[test]
    fn invalid_bool_is_undecodable() {
        assert!(matches!(
            decode::<bool>(&[2]),
            Err(CodecError::Undecodable { .. })
        ));
    }
}
