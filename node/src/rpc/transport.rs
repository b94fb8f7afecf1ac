//! The HTTP side of the RPC: the hyper server, JSON-RPC 2.0 over POST
//! (single calls and batches, each answer echoing its call's `id`), the URI
//! form over GET (`GET /block?height=5`, answered with id -1 as CometBFT
//! does), the method list on `GET /`, and the hand-over of `/websocket` to
//! [`super::ws`].

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc};

use hyper::{
    service::{make_service_fn, service_fn},
    Body, Method, Request, Response, StatusCode,
};
use serde_json::{json, Value};

use super::{
    dispatch::METHODS,
    jsonrpc::{reply, RpcError},
    params::uri_params,
    server::{RpcContext, Server},
    ws,
};
use crate::handle::{NodeError, ServeError};

/// Largest request body accepted (a tx of the mempool's size limit, base64, fits).
const MAX_BODY_BYTES: usize = 8 << 20;

/// Binds `at` and returns the bound address and the server to spawn.
pub async fn serve(
    at: SocketAddr,
    ctx: RpcContext,
) -> Result<(SocketAddr, impl Future<Output = ()>), NodeError> {
    let rpc_err = |source: ServeError| NodeError::Rpc {
        address: at,
        source,
    };
    let listener = std::net::TcpListener::bind(at).map_err(|e| rpc_err(e.into()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| rpc_err(e.into()))?;
    let bound = listener.local_addr().map_err(|e| rpc_err(e.into()))?;
    let server = Arc::new(Server::new(ctx, bound).map_err(|e| rpc_err(ServeError::NodeInfo(e)))?);
    let http = hyper::Server::from_tcp(listener)
        .map_err(|e| rpc_err(e.into()))?
        .serve(make_service_fn(move |_| {
            let server = server.clone();
            async move {
                Ok::<_, Infallible>(service_fn(move |req| {
                    let server = server.clone();
                    async move { Ok::<_, Infallible>(http(server, req).await) }
                }))
            }
        }));
    Ok((bound, async move {
        if let Err(e) = http.await {
            tracing::error!(error = %e, "RPC server stopped");
        }
    }))
}

/// Answers one HTTP request.
async fn http(server: Arc<Server>, req: Request<Body>) -> Response<Body> {
    let path = req.uri().path().trim_end_matches('/').to_owned();
    if path == "/websocket" {
        return ws::upgrade(server, req);
    }
    match *req.method() {
        Method::POST => {
            let bytes = match read_body(req.into_body()).await {
                Ok(b) => b,
                Err(err) => {
                    return json_response(StatusCode::OK, &reply(&Value::Null, Err(err)));
                }
            };
            let parsed: Value = match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                Err(e) => {
                    let err = RpcError::parse_error(e);
                    return json_response(StatusCode::OK, &reply(&Value::Null, Err(err)));
                }
            };
            let answer = match parsed {
                Value::Array(calls) if calls.len() > server.ctx.limits.max_batch_calls => {
                    let err = RpcError::invalid_request(format!(
                        "batch request exceeds maximum ({}) allowed number of requests",
                        server.ctx.limits.max_batch_calls
                    ));
                    return json_response(StatusCode::OK, &reply(&Value::Null, Err(err)));
                }
                Value::Array(calls) => {
                    let mut out = Vec::with_capacity(calls.len());
                    for c in calls {
                        out.push(call(&server, c).await);
                    }
                    Value::Array(out)
                }
                c => call(&server, c).await,
            };
            json_response(StatusCode::OK, &answer)
        }
        Method::GET if path.is_empty() => {
            let list: Vec<String> = METHODS.iter().map(|m| format!("/{m}")).collect();
            json_response(StatusCode::OK, &json!({ "methods": list }))
        }
        Method::GET => {
            // URI form: /method?key=value&... with CometBFT's quoting.
            let method = path.trim_start_matches('/').to_owned();
            let params = uri_params(req.uri().query().unwrap_or(""));
            let id = json!(-1);
            let result = server.dispatch(&method, params).await;
            json_response(StatusCode::OK, &reply(&id, result))
        }
        _ => json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": "use POST for JSON-RPC or GET for the URI form"}),
        ),
    }
}

/// Answers one JSON-RPC call object, echoing its `id`.
async fn call(server: &Arc<Server>, call: Value) -> Value {
    let id = call.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = call.get("method").and_then(Value::as_str) else {
        let err = RpcError::invalid_request("a JSON-RPC call needs a \"method\" string");
        return reply(&id, Err(err));
    };
    let params = call.get("params").cloned().unwrap_or(Value::Null);
    reply(&id, server.dispatch(method, params).await)
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap_or_default()
}

/// The request body, at most [`MAX_BODY_BYTES`]; a failed or oversized body
/// is an invalid request.
async fn read_body(body: Body) -> Result<Vec<u8>, RpcError> {
    use hyper::body::HttpBody;
    let mut body = body;
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(RpcError::invalid_request)?;
        if out.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(RpcError::invalid_request(format!(
                "request body is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
