//! Synod's signing scheme: ed25519 consensus keys, with every signature
//! carrying the time it was made. A CometBFT vote is signed over its
//! canonical form, which includes the vote's timestamp, and CometBFT's
//! commit records that timestamp beside each signature; Malachite's
//! certificates keep only (address, signature), so the timestamp travels in
//! the signature. Votes are stamped with the signer's clock; every other
//! signed message carries [`TimedSignature::UNTIMED`].

use malachitebft_app_channel::app::types::core::SigningScheme;
use malachitebft_signing_ed25519::{PrivateKey, PublicKey, Signature};

use crate::time::BlockTime;

/// The signing scheme of [`super::SynodContext`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedEd25519;

/// An ed25519 signature and the time its message was signed (a vote's
/// timestamp; part of what was signed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimedSignature {
    pub signature: Signature,
    pub timestamp: BlockTime,
}

impl TimedSignature {
    /// The timestamp of signatures over messages without a time (proposals,
    /// vote extensions, validator proofs).
    pub const UNTIMED: BlockTime = BlockTime {
        seconds: 0,
        nanos: 0,
    };

    /// A signature over a message without a time.
    pub fn untimed(signature: Signature) -> TimedSignature {
        TimedSignature {
            signature,
            timestamp: TimedSignature::UNTIMED,
        }
    }

    /// Bytes of the encoding: 64 of signature, 8 of seconds, 4 of nanoseconds
    /// (big-endian).
    pub const ENCODED_LEN: usize = 76;

    /// The encoding.
    pub fn to_bytes(&self) -> [u8; TimedSignature::ENCODED_LEN] {
        let mut out = [0u8; TimedSignature::ENCODED_LEN];
        out[..64].copy_from_slice(&self.signature.to_bytes());
        out[64..72].copy_from_slice(&self.timestamp.seconds.to_be_bytes());
        out[72..].copy_from_slice(&self.timestamp.nanos.to_be_bytes());
        out
    }

    /// Decodes [`Self::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<TimedSignature, SignatureDecodingError> {
        let bytes: &[u8; TimedSignature::ENCODED_LEN] = bytes
            .try_into()
            .map_err(|_| SignatureDecodingError::Length { len: bytes.len() })?;
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&bytes[..64]);
        let mut seconds = [0u8; 8];
        seconds.copy_from_slice(&bytes[64..72]);
        let mut nanos = [0u8; 4];
        nanos.copy_from_slice(&bytes[72..]);
        Ok(TimedSignature {
            signature: Signature::from_bytes(signature),
            timestamp: BlockTime {
                seconds: i64::from_be_bytes(seconds),
                nanos: i32::from_be_bytes(nanos),
            },
        })
    }
}

/// Why bytes are not a signature or a key of this scheme.
#[derive(Debug, thiserror::Error)]
pub enum SignatureDecodingError {
    /// A timed signature is 76 bytes.
    #[error(
        "a timed signature is {} bytes, got {len}",
        TimedSignature::ENCODED_LEN
    )]
    Length {
        /// The length given.
        len: usize,
    },
    /// Not an ed25519 public key.
    #[error("not an ed25519 public key: {0}")]
    Key(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl SigningScheme for TimedEd25519 {
    type DecodingError = SignatureDecodingError;
    type Signature = TimedSignature;
    type PublicKey = PublicKey;
    type PrivateKey = PrivateKey;

    fn decode_signature(bytes: &[u8]) -> Result<TimedSignature, SignatureDecodingError> {
        TimedSignature::from_bytes(bytes)
    }

    fn encode_signature(signature: &TimedSignature) -> Vec<u8> {
        signature.to_bytes().to_vec()
    }

    fn decode_public_key(bytes: &[u8]) -> Result<PublicKey, SignatureDecodingError> {
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| SignatureDecodingError::Key("not 32 bytes".into()))?;
        PublicKey::from_bytes(key).map_err(|e| SignatureDecodingError::Key(e.into()))
    }

    fn encode_public_key(public_key: &PublicKey) -> Vec<u8> {
        public_key.as_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_signatures_round_trip_and_refuse_other_lengths() {
        let key = PrivateKey::from([3; 32]);
        let s = TimedSignature {
            signature: key.sign(b"m"),
            timestamp: BlockTime {
                seconds: -5,
                nanos: 999_999_999,
            },
        };
        let bytes = TimedEd25519::encode_signature(&s);
        assert_eq!(TimedEd25519::decode_signature(&bytes).unwrap(), s);
        assert!(TimedEd25519::decode_signature(&bytes[1..]).is_err());
    }
}
