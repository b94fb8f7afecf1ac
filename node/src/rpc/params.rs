//! Parameters as clients send them: named parameters in a JSON body, or the
//! URI form's query string with CometBFT's quoting; numbers as numbers or
//! strings; txs and hashes as base64 (JSON-RPC) or `0x`-hex (URI form).

use serde_json::Value;

use super::jsonrpc::RpcError;

/// The URI form's query string (`a=1&b="x"`) as named parameters: values
/// percent-decoded, CometBFT's surrounding quotes removed.
pub fn uri_params(query: &str) -> Value {
    let mut params = serde_json::Map::new();
    for pair in query.split('&') {
        if let Some((k, v)) = pair.split_once('=') {
            let v = percent_decode(v);
            let v = v.trim_matches('"').to_owned();
            params.insert(k.to_owned(), Value::String(v));
        }
    }
    Value::Object(params)
}

/// A whole-number parameter (a number or a numeric string); absent, null or "": `None`.
pub fn u64_param(params: &Value, name: &str) -> Result<Option<u64>, RpcError> {
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| RpcError::invalid_params(format!("{name} must be a whole number"))),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| {
            RpcError::invalid_params(format!("{name} must be a whole number, got {s:?}"))
        }),
        Some(other) => Err(RpcError::invalid_params(format!(
            "{name} must be a whole number, got {other}"
        ))),
    }
}

/// The `tx` parameter: base64 in JSON-RPC, `0x`-hex in the URI form.
pub fn tx_param(params: &Value) -> Result<Vec<u8>, RpcError> {
    use base64::Engine;
    let s = params
        .get("tx")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("missing \"tx\" (base64 of the tx bytes)"))?;
    let tx = match s.strip_prefix("0x") {
        Some(h) => hex::decode(h).map_err(|e| RpcError::invalid_params(format!("tx: {e}")))?,
        None => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| RpcError::invalid_params(format!("tx must be base64: {e}")))?,
    };
    if tx.is_empty() {
        return Err(RpcError::invalid_params("tx is empty"));
    }
    Ok(tx)
}

/// The `hash` parameter of `tx`: base64 in JSON-RPC, `0x`-hex in the URI form.
pub fn hash_param(params: &Value) -> Result<[u8; 32], RpcError> {
    use base64::Engine;
    let s = params
        .get("hash")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::invalid_params("missing \"hash\""))?;
    let bytes = match s.strip_prefix("0x") {
        Some(h) => hex::decode(h).map_err(|e| RpcError::invalid_params(format!("hash: {e}")))?,
        None => base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| RpcError::invalid_params(format!("hash must be base64: {e}")))?,
    };
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
        RpcError::invalid_params(format!("hash must be 32 bytes, got {}", bytes.len()))
    })
}

/// Decodes a URI query value: `%XX` escapes and `+` for a space; a broken
/// escape is kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                match (
                    bytes.get(i + 1).and_then(|b| hex(*b)),
                    bytes.get(i + 2).and_then(|b| hex(*b)),
                ) {
                    (Some(hi), Some(lo)) => {
                        out.push(hi * 16 + lo);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uri_parameters_are_percent_decoded() {
        assert_eq!(
            percent_decode("%22tm.event%3D%27Tx%27%22"),
            "\"tm.event='Tx'\""
        );
        assert_eq!(percent_decode("a+b%2"), "a b%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn numbers_come_as_numbers_or_strings_and_garbage_is_named() {
        let p = json!({"height": "12", "n": 3, "bad": "x"});
        assert_eq!(u64_param(&p, "height").unwrap(), Some(12));
        assert_eq!(u64_param(&p, "n").unwrap(), Some(3));
        assert_eq!(u64_param(&p, "missing").unwrap(), None);
        let e = u64_param(&p, "bad").unwrap_err();
        assert!(e.data.contains("bad"), "{}", e.data);
    }

    #[test]
    fn tx_and_hash_params_take_base64_or_hex() {
        assert_eq!(tx_param(&json!({"tx": "AQI="})).unwrap(), vec![1, 2]);
        assert_eq!(tx_param(&json!({"tx": "0x0102"})).unwrap(), vec![1, 2]);
        assert!(tx_param(&json!({"tx": "!!"})).is_err());
        assert!(tx_param(&json!({})).unwrap_err().data.contains("tx"));
        let h = format!("0x{}", "ab".repeat(32));
        assert_eq!(hash_param(&json!({ "hash": h })).unwrap(), [0xab; 32]);
        assert!(hash_param(&json!({"hash": "0xabcd"}))
            .unwrap_err()
            .data
            .contains("32 bytes"));
    }
}
