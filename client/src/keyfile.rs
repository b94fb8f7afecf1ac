//! The key file format: the JSON of consensus-config's `operator_key.json`
//!
//! ```json
//! {"address": "synod1…",
//!  "pub_key": {"type": "tendermint/PubKeyEd25519", "value": "<base64 32 bytes>"},
//!  "priv_key": {"type": "tendermint/PrivKeyEd25519", "value": "<base64 seed ++ public key>"}}
//! ```
//!
//! so a validator's operator key imports as is. Reading also accepts
//! CometBFT's `priv_validator_key.json` (hex `address`) and `node_key.json`
//! (only `priv_key`). Every part present must agree with the private key.

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use serde::{Deserialize, Serialize};
use synod_protocol::{Address, PubKey, SecretKey};

/// The JSON `type` of an ed25519 public key.
pub const ED25519_PUB_KEY_TYPE: &str = "tendermint/PubKeyEd25519";
/// The JSON `type` of an ed25519 private key.
pub const ED25519_PRIV_KEY_TYPE: &str = "tendermint/PrivKeyEd25519";

#[derive(Serialize, Deserialize)]
struct TypedKey {
    #[serde(rename = "type")]
    key_type: String,
    value: String,
}

#[derive(Serialize, Deserialize)]
struct KeyFileJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub_key: Option<TypedKey>,
    priv_key: TypedKey,
}

/// The key file text of `key` (pretty JSON, newline-terminated).
pub fn to_json(key: &SecretKey) -> String {
    let public = key.public();
    let mut pair = [0u8; 64];
    pair[..32].copy_from_slice(&key.to_seed());
    pair[32..].copy_from_slice(&public.0);
    let json = KeyFileJson {
        address: Some(public.address().to_string()),
        pub_key: Some(TypedKey {
            key_type: ED25519_PUB_KEY_TYPE.into(),
            value: BASE64.encode(public.0),
        }),
        priv_key: TypedKey {
            key_type: ED25519_PRIV_KEY_TYPE.into(),
            value: BASE64.encode(pair),
        },
    };
    // A struct of strings always serializes.
    let mut text = serde_json::to_string_pretty(&json).unwrap_or_default();
    text.push('\n');
    text
}

/// Parses key file text; the error says which field is wrong.
pub fn from_json(text: &str) -> Result<SecretKey, String> {
    let json: KeyFileJson =
        serde_json::from_str(text).map_err(|e| format!("not a key file: {e}"))?;
    if json.priv_key.key_type != ED25519_PRIV_KEY_TYPE {
        return Err(format!(
            "priv_key.type is {:?}; only {ED25519_PRIV_KEY_TYPE:?} (ed25519) is supported",
            json.priv_key.key_type
        ));
    }
    let pair = BASE64
        .decode(json.priv_key.value.trim())
        .map_err(|e| format!("priv_key.value is not base64: {e}"))?;
    if pair.len() != 64 {
        return Err(format!(
            "priv_key.value holds {} bytes, expected 64 (seed then public key)",
            pair.len()
        ));
    }
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&pair[..32]);
    let key = SecretKey::from_seed(seed);
    let public = key.public();
    if public.0[..] != pair[32..] {
        return Err(
            "priv_key.value: its second half (the public key) does not belong to its first half (the seed)"
                .into(),
        );
    }
    if let Some(stored) = &json.pub_key {
        if stored.key_type != ED25519_PUB_KEY_TYPE {
            return Err(format!(
                "pub_key.type is {:?}, expected {ED25519_PUB_KEY_TYPE:?}",
                stored.key_type
            ));
        }
        if BASE64.decode(stored.value.trim()).ok().as_deref() != Some(&public.0[..]) {
            return Err(format!(
                "pub_key {} does not match priv_key, whose public key is {}",
                stored.value,
                BASE64.encode(public.0)
            ));
        }
    }
    if let Some(address) = &json.address {
        check_address(address, &public)?;
    }
    Ok(key)
}

/// `address` may be a `synod1…` account address or CometBFT's hex address;
/// both are the first 20 bytes of SHA-256 of the public key.
fn check_address(address: &str, public: &PubKey) -> Result<(), String> {
    let expected = public.address();
    let matches = match address.parse::<Address>() {
        Ok(a) => a == expected,
        Err(_) => address.eq_ignore_ascii_case(&expected.to_hex()),
    };
    if matches {
        Ok(())
    } else {
        Err(format!(
            "address {address} is not the address of the key, which is {expected}"
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn key_files_round_trip() {
        let key = SecretKey::from_seed([4; 32]);
        let back = from_json(&to_json(&key)).unwrap();
        assert_eq!(back.to_seed(), [4; 32]);
    }

    #[test]
    fn a_priv_validator_key_shaped_file_is_accepted() {
        let key = SecretKey::from_seed([6; 32]);
        let mut json: serde_json::Value = serde_json::from_str(&to_json(&key)).unwrap();
        json["address"] = key.public().address().to_hex().to_uppercase().into();
        assert_eq!(from_json(&json.to_string()).unwrap().to_seed(), [6; 32]);
    }

    #[test]
    fn disagreeing_parts_are_refused_by_name() {
        let key = SecretKey::from_seed([6; 32]);
        let other = SecretKey::from_seed([7; 32]);
        let mut json: serde_json::Value = serde_json::from_str(&to_json(&key)).unwrap();
        json["pub_key"]["value"] = BASE64.encode(other.public().0).into();
        assert!(from_json(&json.to_string())
            .unwrap_err()
            .contains("pub_key"));
        let mut json: serde_json::Value = serde_json::from_str(&to_json(&key)).unwrap();
        json["address"] = other.public().address().to_string().into();
        assert!(from_json(&json.to_string())
            .unwrap_err()
            .contains("address"));
        let mut json: serde_json::Value = serde_json::from_str(&to_json(&key)).unwrap();
        json["priv_key"]["type"] = "tendermint/PrivKeySecp256k1".into();
        assert!(from_json(&json.to_string())
            .unwrap_err()
            .contains("priv_key.type"));
    }
}
