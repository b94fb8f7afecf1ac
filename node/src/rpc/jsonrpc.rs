//! JSON-RPC 2.0 framing shared by HTTP and the websocket: the error object
//! (code, message and the detail CometBFT puts in `data`) and the response
//! envelope that echoes the caller's `id`.

use serde_json::{json, Value};

/// A JSON-RPC error: code, message and the detail CometBFT puts in `data`.
#[derive(Debug)]
pub struct RpcError {
    pub(super) code: i32,
    pub(super) message: &'static str,
    pub(super) data: String,
}

impl RpcError {
    /// The body is not JSON (-32700).
    pub(super) fn parse_error(data: impl std::fmt::Display) -> RpcError {
        RpcError {
            code: -32700,
            message: "Parse error",
            data: data.to_string(),
        }
    }
    /// The request is not a JSON-RPC call (-32600).
    pub(super) fn invalid_request(data: impl std::fmt::Display) -> RpcError {
        RpcError {
            code: -32600,
            message: "Invalid request",
            data: data.to_string(),
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
    /// No such method (-32601); `known` lists the ones there are.
    pub(super) fn no_method(method: &str, known: &[&str]) -> RpcError {
        RpcError {
            code: -32601,
            message: "Method not found",
            data: format!("unknown method {method:?}; known: {}", known.join(", ")),
        }
    }
    fn to_json(&self) -> Value {
        json!({"code": self.code, "message": self.message, "data": self.data})
    }
}

/// The response to the call `id`: its result or its error.
pub(super) fn reply(id: &Value, result: Result<Value, RpcError>) -> Value {
    match result {
        Ok(r) => json!({"jsonrpc": "2.0", "id": id, "result": r}),
        Err(e) => json!({"jsonrpc": "2.0", "id": id, "error": e.to_json()}),
    }
}

/// A tendermint-rs response as the JSON `result`.
pub(super) fn to_json(v: impl serde::Serialize) -> Result<Value, RpcError> {
    serde_json::to_value(v).map_err(RpcError::internal)
}
