//! Account addresses: the first 20 bytes of SHA-256(ed25519 public key),
//! shown as bech32 with the human-readable part `synod`.

use std::fmt;
use std::str::FromStr;

use bech32::{Bech32, Hrp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::keys::PubKey;

/// The bech32 human-readable part of account addresses.
pub const ADDRESS_HRP: &str = "synod";

/// A 20-byte account address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 20]);

/// Why a string is not a Synod address.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("address {input:?} is not valid bech32: {reason}")]
    Bech32 { input: String, reason: String },
    #[error("address {input:?} has prefix {found:?}, expected {ADDRESS_HRP:?}")]
    WrongPrefix { input: String, found: String },
    #[error("address {input:?} holds {len} bytes, expected 20")]
    WrongLength { input: String, len: usize },
}

impl Address {
    /// The address of an account key.
    pub fn from_pubkey(key: &PubKey) -> Address {
        Address::from_key_bytes(&key.0)
    }

    /// The address of raw ed25519 public key bytes (also how CometBFT derives
    /// validator addresses from consensus keys).
    pub fn from_key_bytes(key: &[u8; 32]) -> Address {
        let digest = Sha256::digest(key);
        let mut out = [0u8; 20];
        out.copy_from_slice(&digest[..20]);
        Address(out)
    }

    /// Lower-case hex of the 20 bytes (used in state keys).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = Hrp::parse_unchecked(ADDRESS_HRP);
        match bech32::encode::<Bech32>(hrp, &self.0) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "0x{}", self.to_hex()),
        }
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (hrp, data) = bech32::decode(s).map_err(|e| AddressError::Bech32 {
            input: s.to_string(),
            reason: e.to_string(),
        })?;
        if hrp.as_str() != ADDRESS_HRP {
            return Err(AddressError::WrongPrefix {
                input: s.to_string(),
                found: hrp.to_string(),
            });
        }
        let bytes: [u8; 20] =
            data.as_slice()
                .try_into()
                .map_err(|_| AddressError::WrongLength {
                    input: s.to_string(),
                    len: data.len(),
                })?;
        Ok(Address(bytes))
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_string())
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        } else {
            Ok(Address(<[u8; 20]>::deserialize(d)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn bech32_round_trips(bytes in any::<[u8; 20]>()) {
            let a = Address(bytes);
            let s = a.to_string();
            prop_assert!(s.starts_with("synod1"));
            prop_assert_eq!(s.parse::<Address>().unwrap(), a);
        }
    }

    #[test]
    fn wrong_prefix_is_named() {
        let other = bech32::encode::<Bech32>(Hrp::parse_unchecked("cosmos"), &[0u8; 20]).unwrap();
        let err = other.parse::<Address>().unwrap_err();
        assert!(matches!(err, AddressError::WrongPrefix { ref found, .. } if found == "cosmos"));
    }

    #[test]
    fn wrong_length_is_rejected() {
        let short = bech32::encode::<Bech32>(Hrp::parse_unchecked("synod"), &[0u8; 19]).unwrap();
        assert!(matches!(
            short.parse::<Address>(),
            Err(AddressError::WrongLength { len: 19, .. })
        ));
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(matches!(
            "synod1xyz".parse::<Address>(),
            Err(AddressError::Bech32 { .. })
        ));
    }
}
