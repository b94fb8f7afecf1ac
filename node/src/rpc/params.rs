//! Parameters as clients send them, read as CometBFT reads them: in a
//! JSON-RPC call, named (an object) or by position (an array, in the
//! method's argument order), with 64-bit integers as strings (numbers are
//! taken too), `[]byte` as base64 and `HexBytes` as hex; in the URI form
//! (`GET /block?height=5`), integers bare, strings `"quoted"`, bytes as
//! `0x`-hex or a `"quoted"` string's own bytes.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::Value;

use super::jsonrpc::RpcError;

/// Where the parameters came from, which decides how values are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Json,
    Uri,
}

/// A call's parameters by name.
#[derive(Clone, Debug)]
pub struct Params {
    form: Form,
    values: BTreeMap<String, Value>,
}

impl Params {
    /// The `params` of a JSON-RPC call to a method taking `args`: absent or
    /// null (none), an object (by name) or an array (by position, exactly
    /// one value per argument, as CometBFT requires).
    pub fn json(args: &[&str], params: Value) -> Result<Params, RpcError> {
        let bad = |why: String| {
            RpcError::invalid_params(format!("error converting json params to arguments: {why}"))
        };
        let values = match params {
            Value::Null => BTreeMap::new(),
            Value::Object(o) => o.into_iter().filter(|(_, v)| !v.is_null()).collect(),
            Value::Array(a) if a.len() == args.len() => args
                .iter()
                .map(|n| (*n).to_owned())
                .zip(a)
                .filter(|(_, v)| !v.is_null())
                .collect(),
            Value::Array(a) => {
                return Err(bad(format!(
                    "expected {} parameters ({:?}), got {} ({})",
                    args.len(),
                    args,
                    a.len(),
                    Value::Array(a.clone())
                )))
            }
            other => {
                return Err(bad(format!(
                    "unknown type for JSON params: {other}. Expected map or array"
                )))
            }
        };
        Ok(Params {
            form: Form::Json,
            values,
        })
    }

    /// The URI form's query string (`a=1&b="x"`): values percent-decoded,
    /// quotes kept (they mark strings); empty values are absent.
    pub fn uri(query: &str) -> Params {
        let mut values = BTreeMap::new();
        for pair in query.split('&') {
            if let Some((k, v)) = pair.split_once('=') {
                let v = percent_decode(v);
                if !v.is_empty() {
                    values.insert(percent_decode(k), Value::String(v));
                }
            }
        }
        Params {
            form: Form::Uri,
            values,
        }
    }

    fn bad(&self, name: &str, why: impl std::fmt::Display) -> RpcError {
        let form = match self.form {
            Form::Json => "json",
            Form::Uri => "http",
        };
        RpcError::invalid_params(format!(
            "error converting {form} params to arguments: {name}: {why}"
        ))
    }

    /// An integer parameter (Go's `int64`, `int`).
    pub fn int(&self, name: &str) -> Result<Option<i64>, RpcError> {
        let Some(v) = self.values.get(name) else {
            return Ok(None);
        };
        let text = match v {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.trim_matches('"').to_owned(),
            other => return Err(self.bad(name, format!("expected an integer, got {other}"))),
        };
        text.parse()
            .map(Some)
            .map_err(|_| self.bad(name, format!("expected an integer, got {text:?}")))
    }

    /// A `[]byte` parameter (`tx`, `hash`): base64 in JSON; `0x`-hex or a
    /// quoted string's bytes in the URI form.
    pub fn bytes(&self, name: &str) -> Result<Option<Vec<u8>>, RpcError> {
        let Some(v) = self.values.get(name) else {
            return Ok(None);
        };
        let Value::String(s) = v else {
            return Err(self.bad(name, format!("expected a string, got {v}")));
        };
        match self.form {
            Form::Json => base64::engine::general_purpose::STANDARD
                .decode(s)
                .map(Some)
                .map_err(|e| self.bad(name, format!("expected base64: {e}"))),
            Form::Uri => self.uri_bytes(name, s).map(Some),
        }
    }

    /// A `HexBytes` parameter (`abci_query`'s `data`): hex in JSON (a `0x`
    /// prefix is taken too); as [`Params::bytes`] in the URI form.
    pub fn hex_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, RpcError> {
        let Some(v) = self.values.get(name) else {
            return Ok(None);
        };
        let Value::String(s) = v else {
            return Err(self.bad(name, format!("expected a hex string, got {v}")));
        };
        match self.form {
            Form::Json => hex::decode(s.trim_start_matches("0x"))
                .map(Some)
                .map_err(|e| self.bad(name, format!("expected hex: {e}"))),
            Form::Uri => self.uri_bytes(name, s).map(Some),
        }
    }

    /// Bytes in the URI form: `0x`-hex, or a quoted string's own bytes.
    fn uri_bytes(&self, name: &str, s: &str) -> Result<Vec<u8>, RpcError> {
        if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            return hex::decode(h).map_err(|e| self.bad(name, format!("expected hex: {e}")));
        }
        match unquote(s) {
            Some(inner) => Ok(inner.into_bytes()),
            None => Err(self.bad(
                name,
                format!("expected 0x-prefixed hex or a \"quoted\" string, got {s:?}"),
            )),
        }
    }

    /// A string parameter (`path`, `query`, `order_by`): quoted in the URI
    /// form (a bare word is taken as itself; `0x`-hex is decoded, as
    /// CometBFT does).
    pub fn string(&self, name: &str) -> Result<Option<String>, RpcError> {
        let Some(v) = self.values.get(name) else {
            return Ok(None);
        };
        let Value::String(s) = v else {
            return Err(self.bad(name, format!("expected a string, got {v}")));
        };
        match self.form {
            Form::Json => Ok(Some(s.clone())),
            Form::Uri => {
                if let Some(h) = s.strip_prefix("0x") {
                    let bytes = hex::decode(h).map_err(|e| self.bad(name, e))?;
                    return String::from_utf8(bytes)
                        .map(Some)
                        .map_err(|e| self.bad(name, e));
                }
                Ok(Some(unquote(s).unwrap_or_else(|| s.clone())))
            }
        }
    }

    /// A boolean parameter (`prove`): `true`/`false` (false when absent).
    pub fn bool(&self, name: &str) -> Result<bool, RpcError> {
        match self.values.get(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s.trim_matches('"') == "true" => Ok(true),
            Some(Value::String(s)) if s.trim_matches('"') == "false" => Ok(false),
            Some(other) => Err(self.bad(name, format!("expected true or false, got {other}"))),
        }
    }
}

/// The `tx` a broadcast or `check_tx` carries: required and not empty.
pub(super) fn required_tx(params: &Params) -> Result<Vec<u8>, RpcError> {
    match params.bytes("tx")? {
        None => Err(RpcError::invalid_params(
            "missing \"tx\" (base64 of the tx bytes)",
        )),
        Some(tx) if tx.is_empty() => Err(RpcError::invalid_params("tx is empty")),
        Some(tx) => Ok(tx),
    }
}

// The parsing above as functions over a JSON value of named parameters:
// the surface the `rpc` fuzz target (fuzzing/src/targets/rpc.rs) drives.

/// The URI form's query string (`a=1&b="x"`) as a JSON object of its raw
/// values (percent-decoded, quotes kept).
pub fn uri_params(query: &str) -> Value {
    Value::Object(Params::uri(query).values.into_iter().collect())
}

/// A non-negative integer parameter of JSON-RPC `params` (an object, an
/// array read by position as `[name]`, or null); absent: `None`.
pub fn u64_param(params: &Value, name: &str) -> Result<Option<u64>, RpcError> {
    let p = Params::json(&[name], params.clone())?;
    match p.int(name)? {
        Some(n) if n < 0 => Err(p.bad(name, format!("must not be negative, got {n}"))),
        n => Ok(n.map(|n| n as u64)),
    }
}

/// The `tx` of JSON-RPC `params`: base64, required, not empty.
pub fn tx_param(params: &Value) -> Result<Vec<u8>, RpcError> {
    required_tx(&Params::json(&["tx"], params.clone())?)
}

/// The `hash` of JSON-RPC `params` (base64 of 32 bytes).
pub fn hash_param(params: &Value) -> Result<[u8; 32], RpcError> {
    let p = Params::json(&["hash"], params.clone())?;
    let bytes = p
        .bytes("hash")?
        .ok_or_else(|| RpcError::invalid_params("missing \"hash\""))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| p.bad("hash", format!("must be 32 bytes, got {}", bytes.len())))
}

/// The text of a JSON string literal (`"a\"b"` -> `a"b`), if `s` is one.
fn unquote(s: &str) -> Option<String> {
    if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        serde_json::from_str(s).ok()
    } else {
        None
    }
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
    fn integers_come_as_strings_or_numbers_and_garbage_is_named() {
        let p = Params::json(&[], json!({"height": "12", "n": 3, "bad": "x"})).unwrap();
        assert_eq!(p.int("height").unwrap(), Some(12));
        assert_eq!(p.int("n").unwrap(), Some(3));
        assert_eq!(p.int("missing").unwrap(), None);
        let e = p.int("bad").unwrap_err();
        assert!(e.data.contains("bad"), "{}", e.data);
        let u = Params::uri("height=5&q=%22x%22");
        assert_eq!(u.int("height").unwrap(), Some(5));
        assert_eq!(u.string("q").unwrap().as_deref(), Some("x"));
    }

    #[test]
    fn positional_params_follow_the_argument_order_and_must_all_be_there() {
        let p = Params::json(&["height"], json!(["7"])).unwrap();
        assert_eq!(p.int("height").unwrap(), Some(7));
        let e = Params::json(&["height"], json!([])).unwrap_err();
        assert!(e.data.contains("expected 1 parameters"), "{}", e.data);
        assert!(Params::json(&["a"], json!("x")).is_err());
    }

    #[test]
    fn the_value_functions_read_as_the_handlers_do_and_never_take_an_empty_tx() {
        assert_eq!(
            u64_param(&json!({"height": "7"}), "height").unwrap(),
            Some(7)
        );
        assert_eq!(u64_param(&json!(["7"]), "height").unwrap(), Some(7));
        assert!(u64_param(&json!({"height": "-1"}), "height").is_err());
        assert_eq!(u64_param(&Value::Null, "height").unwrap(), None);
        assert_eq!(tx_param(&json!({"tx": "AQI="})).unwrap(), vec![1, 2]);
        assert!(tx_param(&json!({"tx": ""})).is_err());
        assert!(tx_param(&json!({})).is_err());
        let h = base64::engine::general_purpose::STANDARD.encode([0xab; 32]);
        assert_eq!(hash_param(&json!({ "hash": h })).unwrap(), [0xab; 32]);
        assert!(hash_param(&json!({"hash": "AQI="})).is_err());
        assert_eq!(
            uri_params("height=5&q=%22x%22"),
            json!({"height": "5", "q": "\"x\""})
        );
    }

    #[test]
    fn bytes_are_base64_in_json_and_hex_or_quoted_in_uris() {
        let j = Params::json(&[], json!({"tx": "AQI=", "data": "0a0B"})).unwrap();
        assert_eq!(j.bytes("tx").unwrap(), Some(vec![1, 2]));
        assert_eq!(j.hex_bytes("data").unwrap(), Some(vec![0x0a, 0x0b]));
        assert!(Params::json(&[], json!({"tx": "!!"}))
            .unwrap()
            .bytes("tx")
            .is_err());
        let u = Params::uri("tx=0x0102&raw=%22ab%22&bare=ab");
        assert_eq!(u.bytes("tx").unwrap(), Some(vec![1, 2]));
        assert_eq!(u.bytes("raw").unwrap(), Some(b"ab".to_vec()));
        assert!(u.bytes("bare").is_err());
    }
}
