//! The public keys of a genesis document's listed validators, checked
//! before tendermint-rs reads them.
//!
//! tendermint-rs 0.40 decodes a JSON ed25519 key with subtle-encoding
//! 0.5.1's base64, which panics (an integer underflow, an out-of-range slice
//! without overflow checks) on a value whose last group of four characters
//! starts with `=`, such as `"AAAA="`. So every key of `validators` is
//! checked here first, with the `base64` crate's strict standard decoding
//! (CometBFT's own rule: padded, no stray bits) and for exactly 32 bytes: a
//! hostile `genesis.json` gets an error, never a panic.
//!
//! The keys are found as tendermint-rs finds them: the mirror types below
//! have the field names, order, aliases and serde attributes of
//! `tendermint::Genesis`, `validator::Info` and `PublicKey`, with every other
//! field ignored, so serde reaches the same values in the same order (a
//! field given twice, an object written as a list, the key's `value` before
//! its `type`); where the mirror fails for another reason, tendermint-rs
//! fails there too, or earlier.

use base64::{engine::general_purpose::STANDARD, Engine as _};
use serde::de::{Deserialize, Deserializer, Error as _, IgnoredAny};

/// Where a listed validator's public key was refused, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyRefused {
    /// The JSON path of the value from the root of what was checked
    /// (`validators[0].pub_key.value`; empty: the root itself).
    pub path: String,
    pub message: String,
}

/// The start of every refusal's message, which tells it from the errors of
/// the fields the mirror types ignore.
const REFUSED: &str = "not an ed25519 public key:";

/// Checks the public key of every listed validator of the genesis text
/// `text`. Any other fault of the document is left to tendermint-rs.
pub(crate) fn check_genesis_text(text: &str) -> Result<(), KeyRefused> {
    let mut de = serde_json::Deserializer::from_str(text);
    refused(serde_path_to_error::deserialize::<_, GenesisKeys>(&mut de)).map_err(|r| KeyRefused {
        path: if r.path.is_empty() {
            "validators".to_owned()
        } else {
            r.path
        },
        ..r
    })
}

/// Checks the public key of one listed validator (an element of
/// `validators`) before it is read as a `tendermint::validator::Info`.
pub(crate) fn check_listed_validator(item: &serde_json::Value) -> Result<(), KeyRefused> {
    refused(serde_path_to_error::deserialize::<_, ListedValidator>(item))
}

/// `Err` if `outcome` is a key refused by [`strict_ed25519`].
fn refused<T>(
    outcome: Result<T, serde_path_to_error::Error<serde_json::Error>>,
) -> Result<(), KeyRefused> {
    match outcome {
        Err(e) if e.inner().to_string().starts_with(REFUSED) => {
            let path = match e.path().to_string() {
                root if root == "." => String::new(),
                path => path,
            };
            Err(KeyRefused {
                path,
                message: e.into_inner().to_string(),
            })
        }
        _ => Ok(()),
    }
}

/// The standard base64 of a 32-byte ed25519 public key, strictly decoded.
fn decode_ed25519(encoded: &str) -> Result<[u8; 32], String> {
    let bytes = STANDARD.decode(encoded).map_err(|e| {
        format!(
            "{REFUSED} {:?} is not standard base64 ({e}); a key is 44 characters ending in '='",
            shorten(encoded)
        )
    })?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("{REFUSED} {} bytes, not 32", bytes.len()))
}

/// A value for a message: at most 60 characters of it.
fn shorten(value: &str) -> String {
    match value.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}

fn strict_ed25519<'de, D: Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
    let encoded = String::deserialize(deserializer)?;
    decode_ed25519(&encoded).map(drop).map_err(D::Error::custom)
}

/// `tendermint::Genesis`, only `validators` read.
#[derive(serde::Deserialize)]
struct GenesisKeys {
    #[serde(rename = "genesis_time")]
    _genesis_time: IgnoredAny,
    #[serde(rename = "chain_id")]
    _chain_id: IgnoredAny,
    #[serde(rename = "initial_height")]
    _initial_height: IgnoredAny,
    #[serde(rename = "consensus_params")]
    _consensus_params: IgnoredAny,
    #[serde(rename = "validators", default)]
    _validators: Vec<ListedValidator>,
    #[serde(rename = "app_hash")]
    _app_hash: IgnoredAny,
    #[serde(rename = "app_state")]
    _app_state: IgnoredAny,
}

/// `tendermint::validator::Info`, only `pub_key` read.
#[derive(serde::Deserialize)]
struct ListedValidator {
    #[serde(rename = "address")]
    _address: IgnoredAny,
    #[serde(rename = "pub_key")]
    _pub_key: PublicKeyMirror,
    #[serde(rename = "power", alias = "voting_power", alias = "total_voting_power")]
    _power: IgnoredAny,
    #[serde(rename = "name")]
    _name: Option<IgnoredAny>,
}

/// `tendermint::PublicKey` as tendermint-rs 0.40 reads it without its
/// `secp256k1` feature (which Synod does not turn on).
#[derive(serde::Deserialize)]
#[serde(tag = "type", content = "value")]
enum PublicKeyMirror {
    #[serde(
        rename = "tendermint/PubKeyEd25519",
        deserialize_with = "strict_ed25519"
    )]
    Ed25519(()),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// What tendermint-rs does with `value` as a genesis' only listed key.
    fn genesis_with_key(value: &str) -> String {
        serde_json::json!({
            "genesis_time": "2023-11-14T22:13:20Z",
            "chain_id": "synod-x",
            "validators": [{
                "address": "00",
                "pub_key": {"type": "tendermint/PubKeyEd25519", "value": value},
                "power": "1"
            }],
            "app_hash": "",
            "app_state": {}
        })
        .to_string()
    }

    #[test]
    fn a_key_ending_in_a_lone_padding_group_is_refused_before_tendermint_reads_it() {
        for value in ["AAAA=", "=", "====", "AAAAAAAA====", "A"] {
            let refused = check_genesis_text(&genesis_with_key(value)).unwrap_err();
            assert_eq!(refused.path, "validators[0].pub_key.value", "{value}");
            assert!(
                refused.message.contains("not standard base64"),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn a_key_of_the_wrong_length_or_with_stray_bits_is_refused() {
        let short = STANDARD.encode([7u8; 31]);
        let refused = check_genesis_text(&genesis_with_key(&short)).unwrap_err();
        assert!(refused.message.contains("31 bytes, not 32"), "{refused:?}");
        // The last character carries bits past the 32nd byte.
        let stray = format!("{}B=", &STANDARD.encode([7u8; 32])[..42]);
        assert!(check_genesis_text(&genesis_with_key(&stray)).is_err());
    }

    #[test]
    fn a_good_key_and_faults_of_other_fields_pass_to_tendermint() {
        let good = STANDARD.encode([7u8; 32]);
        assert_eq!(check_genesis_text(&genesis_with_key(&good)), Ok(()));
        assert_eq!(check_genesis_text("{\"chain_id\": "), Ok(()));
        assert_eq!(check_genesis_text("[1, 2]"), Ok(()));
        assert_eq!(
            check_genesis_text(r#"{"validators": [{"pub_key": {"type": "other", "value": "="}}]}"#),
            Ok(())
        );
    }

    #[test]
    fn keys_are_found_in_every_shape_serde_reads() {
        let key = |v: &str| format!(r#"{{"type": "tendermint/PubKeyEd25519", "value": "{v}"}}"#);
        let shapes = [
            // The value before the type.
            r#"{"validators": [{"pub_key": {"value": "AAAA=", "type": "tendermint/PubKeyEd25519"}}]}"#.to_owned(),
            // The key as a list, the validator as a list.
            r#"{"validators": [{"pub_key": ["tendermint/PubKeyEd25519", "AAAA="]}]}"#.to_owned(),
            format!(r#"{{"validators": [["00", {}, "1", null]]}}"#, key("AAAA=")),
            // The whole document as a list, in tendermint::Genesis' field order.
            format!(r#"["t", "c", "1", {{}}, [{{"pub_key": {}}}], "", {{}}]"#, key("AAAA=")),
            // A field given twice: tendermint-rs reads the first, then fails.
            format!(
                r#"{{"validators": [{{"pub_key": {}, "pub_key": {}}}]}}"#,
                key("AAAA="),
                key(&STANDARD.encode([7u8; 32]))
            ),
        ];
        for text in shapes {
            assert!(check_genesis_text(&text).is_err(), "{text}");
        }
        let item: serde_json::Value =
            serde_json::from_str(&format!(r#"{{"pub_key": {}}}"#, key("AAAA="))).unwrap();
        assert_eq!(
            check_listed_validator(&item).unwrap_err().path,
            "pub_key.value"
        );
    }
}
