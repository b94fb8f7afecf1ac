//! JSON-RPC 2.0 framing shared by HTTP and the websocket, as CometBFT 0.38
//! writes it (`rpc/jsonrpc/types`): request ids (numbers or strings; a call
//! without one is a notification and gets no answer), error objects (code,
//! CometBFT's message, the detail in `data`, left out when empty) and the
//! response envelope that echoes the caller's id.

use serde_json::{json, Map, Value};

/// A JSON-RPC error: code, message and the detail CometBFT puts in `data`.
#[derive(Debug)]
pub struct RpcError {
    pub(super) code: i32,
    pub(super) message: &'static str,
    pub(super) data: String,
}

impl RpcError {
    /// The body is not JSON, or not a call (-32700).
    pub(super) fn parse_error(data: impl std::fmt::Display) -> RpcError {
        RpcError {
            code: -32700,
            message: "Parse error. Invalid JSON",
            data: data.to_string(),
        }
    }
    /// The request cannot be served as sent (-32600).
    pub(super) fn invalid_request(data: impl std::fmt::Display) -> RpcError {
        RpcError {
            code: -32600,
            message: "Invalid Request",
            data: data.to_string(),
        }
    }
    /// No such method (-32601), without detail, as CometBFT answers.
    pub(super) fn method_not_found() -> RpcError {
        RpcError {
            code: -32601,
            message: "Method not found",
            data: String::new(),
        }
    }
    /// A method of CometBFT's RPC that synod-node does not serve (-32601),
    /// with why in `data`.
    pub(super) fn not_supported(method: &str, why: &str) -> RpcError {
        RpcError {
            code: -32601,
            message: "Method not found",
            data: format!("{method} is not supported by synod-node: {why}"),
        }
    }
    /// A parameter is missing or malformed (-32602).
    pub(super) fn invalid_params(data: impl std::fmt::Display) -> RpcError {
        RpcError {
            code: -32602,
            message: "Invalid params",
            data: data.to_string(),
        }
    }
    /// The call was well formed but could not be answered (-32603).
    pub(super) fn internal(data: impl std::fmt::Display) -> RpcError {
        RpcError {
            code: -32603,
            message: "Internal error",
            data: data.to_string(),
        }
    }
    /// A subscription ended on the server's side (-32000).
    pub(super) fn server_error(data: impl std::fmt::Display) -> RpcError {
        RpcError {
            code: -32000,
            message: "Server error",
            data: data.to_string(),
        }
    }

    fn to_json(&self) -> Value {
        let mut e = Map::new();
        e.insert("code".into(), json!(self.code));
        e.insert("message".into(), json!(self.message));
        if !self.data.is_empty() {
            e.insert("data".into(), json!(self.data));
        }
        Value::Object(e)
    }
}

/// A request id as CometBFT keeps it: an integer (a JSON number, truncated)
/// or a string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Id {
    Int(i64),
    Str(String),
}

impl Id {
    /// The id the URI form answers with (CometBFT's `-1`).
    pub(super) const URI: Id = Id::Int(-1);

    /// The id of a call: `None` for a notification (no id, or null); an
    /// error for an id that is neither a number nor a string.
    pub(super) fn of(call: &Value) -> Result<Option<Id>, RpcError> {
        match call.get("id") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(Id::Str(s.clone()))),
            Some(Value::Number(n)) => Ok(Some(Id::Int(
                n.as_i64()
                    .unwrap_or_else(|| n.as_f64().unwrap_or(0.0) as i64),
            ))),
            Some(other) => Err(RpcError::parse_error(format!(
                "error unmarshaling request: json-rpc ID ({other}) is of unknown type"
            ))),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Id::Int(n) => json!(n),
            Id::Str(s) => json!(s),
        }
    }
}

/// The response to the call `id` (`None`: a request whose id could not be
/// read, answered without one): its result or its error.
pub(super) fn reply(id: Option<&Id>, result: Result<Value, RpcError>) -> Value {
    let mut out = Map::new();
    out.insert("jsonrpc".into(), json!("2.0"));
    if let Some(id) = id {
        out.insert("id".into(), id.to_json());
    }
    match result {
        Ok(r) => out.insert("result".into(), r),
        Err(e) => out.insert("error".into(), e.to_json()),
    };
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_echo_as_sent_and_empty_detail_is_left_out() {
        let ok = reply(Some(&Id::Str("abc".into())), Ok(json!({})));
        assert_eq!(ok, json!({"jsonrpc": "2.0", "id": "abc", "result": {}}));
        let id = Id::of(&json!({"id": 7})).unwrap().unwrap();
        let e = reply(Some(&id), Err(RpcError::method_not_found()));
        assert_eq!(
            e,
            json!({"jsonrpc": "2.0", "id": 7, "error": {"code": -32601, "message": "Method not found"}})
        );
        assert_eq!(Id::of(&json!({"id": 2.9})).unwrap(), Some(Id::Int(2)));
        assert_eq!(Id::of(&json!({"method": "x"})).unwrap(), None);
        assert!(Id::of(&json!({"id": [1]})).is_err());
        let parse = reply(None, Err(RpcError::parse_error("x")));
        assert!(parse.get("id").is_none(), "{parse}");
    }
}
