//! Parsing of user-supplied values (command-line arguments), each error
//! naming the argument, so bad input is refused before any network call.

use std::path::Path;

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use synod_protocol::{Address, Amount, PubKey, TxHash};

use crate::{keyfile::ED25519_PUB_KEY_TYPE, ClientError};

/// An amount such as `12syn`, `5000usyn` or `5000` (usyn).
pub fn parse_amount(arg: &str, value: &str) -> Result<Amount, ClientError> {
    value
        .parse::<Amount>()
        .map_err(|e| ClientError::bad(arg, value, e))
}

/// A `synod1…` account address.
pub fn parse_address(arg: &str, value: &str) -> Result<Address, ClientError> {
    value
        .parse::<Address>()
        .map_err(|e| ClientError::bad(arg, value, e))
}

/// An ed25519 public key as 64 hex digits or as base64 of 32 bytes (the
/// `value` CometBFT's `show-validator` prints).
pub fn parse_pubkey(arg: &str, value: &str) -> Result<PubKey, ClientError> {
    if let Ok(key) = value.parse::<PubKey>() {
        return Ok(key);
    }
    let bytes = BASE64.decode(value.trim()).map_err(|_| {
        ClientError::bad(arg, value, "expected 64 hex digits or base64 of 32 bytes")
    })?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        ClientError::bad(
            arg,
            value,
            format!("base64 holds {} bytes, expected 32", b.len()),
        )
    })?;
    Ok(PubKey(bytes))
}

/// A transaction hash: 64 hex digits (either case, optional `0x`).
pub fn parse_tx_hash(arg: &str, value: &str) -> Result<TxHash, ClientError> {
    let bytes = hex::decode(value.trim().trim_start_matches("0x"))
        .map_err(|e| ClientError::bad(arg, value, format!("not hex: {e}")))?;
    let bytes: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        ClientError::bad(arg, value, format!("{} bytes, expected 32", b.len()))
    })?;
    Ok(TxHash(bytes))
}

/// The consensus public key of a validator home: the `pub_key` of
/// `HOME/config/priv_validator_key.json`.
pub fn consensus_key_of_home(home: &Path) -> Result<PubKey, ClientError> {
    let path = home.join("config").join("priv_validator_key.json");
    let text = std::fs::read_to_string(&path).map_err(|e| ClientError::io(&path, e))?;
    let bad = |reason: String| ClientError::bad("--node-home", &home.display().to_string(), reason);
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("{} is not JSON: {e}", path.display())))?;
    let key = &json["pub_key"];
    if key["type"] != ED25519_PUB_KEY_TYPE {
        return Err(bad(format!(
            "{}: pub_key.type is {}, expected {ED25519_PUB_KEY_TYPE:?}",
            path.display(),
            key["type"]
        )));
    }
    let value = key["value"]
        .as_str()
        .ok_or_else(|| bad(format!("{}: pub_key.value is missing", path.display())))?;
    parse_pubkey("pub_key.value", value).map_err(|e| bad(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_bad_amount_names_the_argument_and_the_value() {
        let e = parse_amount("AMOUNT", "12 bananas").unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.contains("AMOUNT") && shown.contains("12 bananas"),
            "{shown}"
        );
        assert_eq!(parse_amount("AMOUNT", "12syn").unwrap(), Amount::syn(12));
        assert_eq!(parse_amount("AMOUNT", "5000usyn").unwrap(), Amount(5000));
    }

    #[test]
    fn a_bad_address_names_the_argument() {
        let e = parse_address("TO", "cosmos1abc").unwrap_err();
        assert!(matches!(e, ClientError::BadArgument { ref arg, .. } if arg == "TO"));
        let a = Address([3; 20]);
        assert_eq!(parse_address("TO", &a.to_string()).unwrap(), a);
    }

    #[test]
    fn pubkeys_parse_from_hex_and_base64() {
        let k = PubKey([7; 32]);
        assert_eq!(parse_pubkey("K", &k.to_string()).unwrap(), k);
        assert_eq!(parse_pubkey("K", &BASE64.encode(k.0)).unwrap(), k);
        assert!(parse_pubkey("K", &BASE64.encode([1u8; 31])).is_err());
    }

    #[test]
    fn tx_hashes_parse_in_either_case() {
        let h = TxHash([0xab; 32]);
        assert_eq!(parse_tx_hash("HASH", &h.to_string()).unwrap(), h);
        assert_eq!(
            parse_tx_hash("HASH", &h.to_string().to_lowercase()).unwrap(),
            h
        );
        assert!(parse_tx_hash("HASH", "abcd").is_err());
    }
}
