//! ed25519 keys and signatures (ZIP-215 validation rules via `ed25519-consensus`,
//! so every node agrees on which signatures are valid).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::address::Address;

/// An ed25519 public key (32 bytes). An account key, or a validator's consensus key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PubKey(pub [u8; 32]);

/// An ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

/// An ed25519 signing key. Its `Debug` never prints the secret.
#[derive(Clone)]
pub struct SecretKey(ed25519_consensus::SigningKey);

/// Why a key or signature was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("{what} must be {expected} hex-encoded bytes, got {input:?}")]
    BadHex {
        what: &'static str,
        expected: usize,
        input: String,
    },
    #[error("signature does not verify for public key {key}")]
    BadSignature { key: String },
    #[error("public key {key} is not a valid ed25519 point")]
    BadPublicKey { key: String },
}

impl PubKey {
    /// The account address of this key.
    pub fn address(&self) -> Address {
        Address::from_pubkey(self)
    }

    /// The CometBFT address of this key as a validator's consensus key
    /// (the first 20 bytes of its SHA-256, as CometBFT names validators in
    /// votes, commits and evidence): the same bytes as its account address.
    pub fn consensus_address(&self) -> [u8; 20] {
        self.address().0
    }

    /// Checks that this key can sign consensus votes: a valid ed25519 point
    /// under ed25519-consensus' (ZIP-215) decoding, the rule the consensus
    /// node applies to every validator update. A key the chain stored but
    /// the node refused would stop every node at the next validator update.
    pub fn check_point(&self) -> Result<(), KeyError> {
        ed25519_consensus::VerificationKey::try_from(self.0)
            .map(|_| ())
            .map_err(|_| KeyError::BadPublicKey {
                key: self.to_string(),
            })
    }

    /// Verifies `signature` over `message` under the ZIP-215 rules.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), KeyError> {
        let vk = ed25519_consensus::VerificationKey::try_from(self.0).map_err(|_| {
            KeyError::BadPublicKey {
                key: self.to_string(),
            }
        })?;
        vk.verify(&ed25519_consensus::Signature::from(signature.0), message)
            .map_err(|_| KeyError::BadSignature {
                key: self.to_string(),
            })
    }
}

impl SecretKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> SecretKey {
        SecretKey(ed25519_consensus::SigningKey::new(rand_core::OsRng))
    }

    /// A key from 32 seed bytes (deterministic: for tests, simulations and key files).
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        SecretKey(ed25519_consensus::SigningKey::from(seed))
    }

    /// The 32 seed bytes. Handle with care.
    pub fn to_seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The public key.
    pub fn public(&self) -> PubKey {
        PubKey(self.0.verification_key().to_bytes())
    }

    /// Signs a message.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public={})", self.public())
    }
}

fn parse_hex<const N: usize>(what: &'static str, s: &str) -> Result<[u8; N], KeyError> {
    let err = || KeyError::BadHex {
        what,
        expected: N,
        input: s.to_string(),
    };
    let bytes = hex::decode(s).map_err(|_| err())?;
    bytes.try_into().map_err(|_| err())
}

/// `Display` (lower-case hex), `Debug` (`Name(hex)`) and `FromStr` (exactly
/// `N` hex-encoded bytes) for a fixed-size byte newtype: public keys and
/// signatures are written and read the same way.
macro_rules! hex_text {
    ($name:ident, $len:literal, $what:literal) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }

        impl FromStr for $name {
            type Err = KeyError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                parse_hex::<$len>($what, s).map($name)
            }
        }
    };
}

hex_text!(PubKey, 32, "public key");
hex_text!(Signature, 64, "signature");

impl Serialize for PubKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_string())
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for PubKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            String::deserialize(d)?
                .parse()
                .map_err(serde::de::Error::custom)
        } else {
            Ok(PubKey(<[u8; 32]>::deserialize(d)?))
        }
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_string())
        } else {
            // serde implements arrays only up to 32 elements: two halves.
            let (a, b) = self.0.split_at(32);
            let a: [u8; 32] = a.try_into().map_err(serde::ser::Error::custom)?;
            let b: [u8; 32] = b.try_into().map_err(serde::ser::Error::custom)?;
            (a, b).serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            String::deserialize(d)?
                .parse()
                .map_err(serde::de::Error::custom)
        } else {
            let (a, b) = <([u8; 32], [u8; 32])>::deserialize(d)?;
            let mut out = [0u8; 64];
            out[..32].copy_from_slice(&a);
            out[32..].copy_from_slice(&b);
            Ok(Signature(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn signatures_verify_and_round_trip(seed in any::<[u8; 32]>(), msg in proptest::collection::vec(any::<u8>(), 0..200)) {
            let sk = SecretKey::from_seed(seed);
            let sig = sk.sign(&msg);
            prop_assert!(sk.public().verify(&msg, &sig).is_ok());
            let bytes = crate::codec::encode(&sig);
            prop_assert_eq!(crate::codec::decode::<Signature>(&bytes).unwrap(), sig);
            let json = serde_json::to_string(&sk.public()).unwrap();
            prop_assert_eq!(serde_json::from_str::<PubKey>(&json).unwrap(), sk.public());
        }
    }

    #[test]
    fn keys_and_signatures_print_and_parse_as_hex() {
        let key = PubKey([0xab; 32]);
        assert_eq!(key.to_string(), "ab".repeat(32));
        assert_eq!(format!("{key:?}"), format!("PubKey({})", "ab".repeat(32)));
        assert_eq!(key.to_string().parse::<PubKey>(), Ok(key));
        let sig = Signature([0x01; 64]);
        assert_eq!(sig.to_string(), "01".repeat(64));
        assert_eq!(
            format!("{sig:?}"),
            format!("Signature({})", "01".repeat(64))
        );
        assert_eq!(sig.to_string().parse::<Signature>(), Ok(sig));
        // Each names itself and its length when the text is wrong.
        assert_eq!(
            "ab".repeat(31).parse::<PubKey>(),
            Err(KeyError::BadHex {
                what: "public key",
                expected: 32,
                input: "ab".repeat(31),
            })
        );
        assert!(matches!(
            key.to_string().parse::<Signature>(),
            Err(KeyError::BadHex {
                what: "signature",
                expected: 64,
                ..
            })
        ));
        assert!("zz".repeat(32).parse::<PubKey>().is_err());
    }

    #[test]
    fn a_tampered_message_fails() {
        let sk = SecretKey::from_seed([3; 32]);
        let sig = sk.sign(b"hello");
        assert!(matches!(
            sk.public().verify(b"hellp", &sig),
            Err(KeyError::BadSignature { .. })
        ));
    }

    #[test]
    fn debug_never_prints_the_secret() {
        let sk = SecretKey::from_seed([9; 32]);
        let shown = format!("{sk:?}");
        assert!(!shown.contains(&hex::encode([9u8; 32])));
    }
}
