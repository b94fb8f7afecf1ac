//! The HTTP side of the RPC, as CometBFT's `rpc/jsonrpc/server` serves it:
//! JSON-RPC 2.0 over POST to `/` (single calls and batches, each answer
//! echoing its call's id, notifications unanswered, a batch of one answered
//! with one object), the URI form on `/<method>` (`GET /block?height=5`,
//! answered with id -1 and HTTP 500 on error), CometBFT's page of links on
//! an empty request to `/`, `Cache-Control` on answers CometBFT caches, and
//! the hand-over of `/websocket` to [`super::ws`].

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc};

use hyper::{
    service::{make_service_fn, service_fn},
    Body, Request, Response, StatusCode,
};
use serde_json::Value;

use super::{
    dispatch::{method_list, route_of, Serve},
    jsonrpc::{reply, Id, RpcError},
    params::Params,
    server::{RpcContext, Server},
    ws,
};
use crate::handle::{NodeError, ServeError};

/// Largest request body accepted (a tx of the mempool's size limit, base64, fits).
const MAX_BODY_BYTES: usize = 8 << 20;

/// What CometBFT sends with a cacheable answer.
const CACHE_CONTROL: &str = "public, max-age=86400";

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
    let server = Arc::new(Server::new(ctx, bound));
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
    let path = req.uri().path().to_owned();
    if path == "/websocket" {
        return ws::upgrade(server, req);
    }
    if path == "/" {
        return json_rpc(server, req).await;
    }
    let Some(route) = route_of(path.trim_start_matches('/')) else {
        return text_response(StatusCode::NOT_FOUND, "404 page not found\n");
    };
    // The URI form, whatever the HTTP method (as CometBFT's mux routes it).
    let id = Id::URI;
    if route.serve == Serve::WebsocketOnly {
        let err = reply(Some(&id), Err(RpcError::method_not_found()));
        return json_response(StatusCode::NOT_FOUND, &err, false);
    }
    let params = Params::uri(req.uri().query().unwrap_or(""));
    let cacheable = route.cacheable(&params);
    match server.dispatch(route, params).await {
        Ok(result) => json_response(StatusCode::OK, &reply(Some(&id), Ok(result)), cacheable),
        Err(e) => json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &reply(Some(&id), Err(e)),
            false,
        ),
    }
}

/// JSON-RPC over POST to `/`: one call or a batch.
async fn json_rpc(server: Arc<Server>, req: Request<Body>) -> Response<Body> {
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let bytes = match read_body(req.into_body()).await {
        Ok(b) => b,
        Err(err) => return json_response(StatusCode::BAD_REQUEST, &reply(None, Err(err)), false),
    };
    if bytes.is_empty() {
        return Response::builder()
            .header("content-type", "text/html")
            .body(Body::from(method_list(&host)))
            .unwrap_or_default();
    }
    let parse_error = |e: &dyn std::fmt::Display| {
        let err = RpcError::parse_error(format!("error unmarshaling request: {e}"));
        json_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            &reply(None, Err(err)),
            false,
        )
    };
    let calls = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Array(calls)) => {
            if calls.len() > server.ctx.limits.max_batch_calls {
                let err = RpcError::invalid_request(format!(
                    "batch request exceeds maximum ({}) allowed number of requests",
                    server.ctx.limits.max_batch_calls
                ));
                return json_response(StatusCode::OK, &reply(None, Err(err)), false);
            }
            calls
        }
        Ok(call) => vec![call],
        Err(e) => return parse_error(&e),
    };
    // Every call must be a request object with a readable id, or the whole
    // body is refused (CometBFT decodes the batch in one go).
    let mut requests = Vec::with_capacity(calls.len());
    for call in calls {
        if !call.is_object() {
            return parse_error(&format!("a JSON-RPC call must be an object, got {call}"));
        }
        let id = match Id::of(&call) {
            Ok(id) => id,
            Err(e) => {
                return json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &reply(None, Err(e)),
                    false,
                )
            }
        };
        if let Some(m) = call.get("method").filter(|m| !m.is_string()) {
            return parse_error(&format!("method must be a string, got {m}"));
        }
        requests.push((id, call));
    }
    let mut answers = Vec::with_capacity(requests.len());
    let mut cacheable = true;
    for (id, call) in requests {
        // A call without an id is a notification: never answered.
        let Some(id) = id else { continue };
        let (answer, cache) = answer_call(&server, &id, call).await;
        cacheable &= cache;
        answers.push(answer);
    }
    match answers.len() {
        0 => Response::new(Body::empty()),
        1 => json_response(StatusCode::OK, &answers.remove(0), cacheable),
        _ => json_response(StatusCode::OK, &Value::Array(answers), cacheable),
    }
}

/// The answer to one JSON-RPC call and whether it may be cached.
async fn answer_call(server: &Arc<Server>, id: &Id, call: Value) -> (Value, bool) {
    let method = call.get("method").and_then(Value::as_str).unwrap_or("");
    let Some(route) = route_of(method).filter(|r| r.serve != Serve::WebsocketOnly) else {
        return (reply(Some(id), Err(RpcError::method_not_found())), false);
    };
    let raw = call.get("params").cloned().unwrap_or(Value::Null);
    let params = match Params::json(route.args, raw) {
        Ok(p) => p,
        Err(e) => return (reply(Some(id), Err(e)), false),
    };
    let cacheable = route.cacheable(&params);
    match server.dispatch(route, params).await {
        Ok(result) => (reply(Some(id), Ok(result)), cacheable),
        Err(e) => (reply(Some(id), Err(e)), false),
    }
}

fn json_response(status: StatusCode, body: &Value, cacheable: bool) -> Response<Body> {
    let mut r = Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if cacheable {
        r = r.header("cache-control", CACHE_CONTROL);
    }
    r.body(Body::from(body.to_string())).unwrap_or_default()
}

fn text_response(status: StatusCode, text: &'static str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Body::from(text))
        .unwrap_or_default()
}

/// The request body, at most [`MAX_BODY_BYTES`]; a failed or oversized body
/// is an invalid request.
async fn read_body(body: Body) -> Result<Vec<u8>, RpcError> {
    use hyper::body::HttpBody;
    let mut body = body;
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk
            .map_err(|e| RpcError::invalid_request(format!("error reading request body: {e}")))?;
        if out.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(RpcError::invalid_request(format!(
                "error reading request body: http: request body too large (more than {MAX_BODY_BYTES} bytes)"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
