//! `/websocket`: JSON-RPC over a websocket, with `subscribe`, `unsubscribe`
//! and `unsubscribe_all`. Each committed block publishes, as CometBFT's
//! event bus does, `NewBlock`, `NewBlockHeader`, `NewBlockEvents` and one
//! `Tx` per transaction; a subscription gets those its query matches, as
//! answers to its `subscribe` call's id (`{"query", "data", "events"}`).

use std::{collections::BTreeMap, sync::Arc};

use async_tungstenite::{
    tokio::TokioAdapter,
    tungstenite::{handshake::derive_accept_key, protocol::Role, Message},
    WebSocketStream,
};
use futures::{SinkExt, StreamExt};
use hyper::{Body, Request, Response, StatusCode};
use serde_json::{json, Value};
use tendermint_rpc::query::Query;
use tokio::sync::broadcast;

use super::{
    cometbft::{abci, json::int},
    convert,
    dispatch::{route_of, Serve},
    jsonrpc::{reply, Id, RpcError},
    methods::tx::tx_attributes,
    params::Params,
    query,
    server::Server,
};
use crate::handle::CommittedBlock;

/// Most subscriptions one connection may hold (CometBFT's default is 5).
const MAX_SUBSCRIPTIONS: usize = 16;

/// Longest query accepted (CometBFT's `maxQueryLength`).
const MAX_QUERY_LENGTH: usize = 512;

pub(super) fn upgrade(server: Arc<Server>, req: Request<Body>) -> Response<Body> {
    let wants_ws = req
        .headers()
        .get(hyper::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(key) = req.headers().get("sec-websocket-key").cloned() else {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .body(Body::from("/websocket needs a websocket upgrade request"))
            .unwrap_or_default();
    };
    if !wants_ws {
        return Response::builder()
            .status(StatusCode::BAD_REQUEST)
            .body(Body::from("/websocket needs `Upgrade: websocket`"))
            .unwrap_or_default();
    }
    // One permit per client for as long as its session lasts.
    let Ok(permit) = server.websocket_clients.clone().try_acquire_owned() else {
        return Response::builder()
            .status(StatusCode::SERVICE_UNAVAILABLE)
            .body(Body::from(format!(
                "the node serves at most {} websocket clients (rpc.max_subscription_clients): try again later",
                server.ctx.limits.max_websocket_clients
            )))
            .unwrap_or_default();
    };
    tokio::spawn(async move {
        let _permit = permit;
        match hyper::upgrade::on(req).await {
            Ok(io) => {
                let ws =
                    WebSocketStream::from_raw_socket(TokioAdapter::new(io), Role::Server, None)
                        .await;
                session(server, ws).await;
            }
            Err(e) => tracing::warn!(error = %e, "websocket upgrade failed"),
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(hyper::header::UPGRADE, "websocket")
        .header(hyper::header::CONNECTION, "Upgrade")
        .header("sec-websocket-accept", derive_accept_key(key.as_bytes()))
        .body(Body::empty())
        .unwrap_or_default()
}

struct Subscription {
    /// The `subscribe` call's id: every event is an answer to it.
    id: Id,
    query: Query,
}

async fn session<S>(server: Arc<Server>, ws: WebSocketStream<S>)
where
    S: futures::AsyncRead + futures::AsyncWrite + Unpin,
{
    let (mut sink, mut incoming) = ws.split();
    let mut blocks = server.ctx.blocks.subscribe();
    // Keyed by the query text, which is how clients route events.
    let mut subs: BTreeMap<String, Subscription> = BTreeMap::new();
    loop {
        tokio::select! {
            msg = incoming.next() => {
                let text = match msg {
                    Some(Ok(Message::Text(t))) => t,
                    Some(Ok(Message::Close(_))) | None => break,
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, "websocket closed");
                        break;
                    }
                };
                let Some(answer) = handle(&server, &mut subs, &text).await else {
                    continue;
                };
                if sink.send(Message::Text(answer.to_string())).await.is_err() {
                    break;
                }
            }
            committed = blocks.recv(), if !subs.is_empty() => {
                let block = match committed {
                    Ok(b) => b,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "a websocket subscriber fell behind; events were dropped");
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        // CometBFT's answer when its event bus stops.
                        for s in subs.values() {
                            let gone = RpcError::server_error("subscription was canceled (reason: CometBFT exited)");
                            let _ = sink.send(Message::Text(reply(Some(&s.id), Err(gone)).to_string())).await;
                        }
                        break;
                    }
                };
                let mut failed = false;
                for message in events_for(&subs, &block) {
                    if sink.send(Message::Text(message.to_string())).await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if failed {
                    break;
                }
            }
        }
    }
    let _ = sink.close().await;
}

/// The answer to one message (`None` for a notification).
async fn handle(
    server: &Arc<Server>,
    subs: &mut BTreeMap<String, Subscription>,
    text: &str,
) -> Option<Value> {
    let call: Value = match serde_json::from_str(text) {
        Ok(v @ Value::Object(_)) => v,
        Ok(other) => {
            let e = format!("error unmarshaling request: a call must be an object, got {other}");
            return Some(reply(None, Err(RpcError::parse_error(e))));
        }
        Err(e) => {
            let e = format!("error unmarshaling request: {e}");
            return Some(reply(None, Err(RpcError::parse_error(e))));
        }
    };
    let id = match Id::of(&call) {
        Ok(Some(id)) => id,
        Ok(None) => return None,
        Err(e) => return Some(reply(None, Err(e))),
    };
    let method = call.get("method").and_then(Value::as_str).unwrap_or("");
    let Some(route) = route_of(method) else {
        return Some(reply(Some(&id), Err(RpcError::method_not_found())));
    };
    let raw = call.get("params").cloned().unwrap_or(Value::Null);
    // CometBFT's websocket reports unreadable parameters as internal errors.
    let params = match Params::json(route.args, raw) {
        Ok(p) => p,
        Err(e) => return Some(reply(Some(&id), Err(RpcError::internal(e.data)))),
    };
    let result = if route.serve == Serve::WebsocketOnly {
        subscription_call(subs, method, &id, &params)
    } else {
        server.dispatch(route, params).await
    };
    Some(reply(Some(&id), result))
}

/// `subscribe`, `unsubscribe` and `unsubscribe_all`, with CometBFT's errors.
fn subscription_call(
    subs: &mut BTreeMap<String, Subscription>,
    method: &str,
    id: &Id,
    params: &Params,
) -> Result<Value, RpcError> {
    if method == "unsubscribe_all" {
        subs.clear();
        return Ok(json!({}));
    }
    let text = params.string("query")?.unwrap_or_default();
    if method == "subscribe" && subs.len() >= MAX_SUBSCRIPTIONS {
        return Err(RpcError::internal(format!(
            "max_subscriptions_per_client {MAX_SUBSCRIPTIONS} reached"
        )));
    }
    if text.len() > MAX_QUERY_LENGTH {
        return Err(RpcError::internal("maximum query length exceeded"));
    }
    let query: Query = text
        .parse()
        .map_err(|e| RpcError::internal(format!("failed to parse query: {e}")))?;
    match method {
        "subscribe" if subs.contains_key(&text) => Err(RpcError::internal("already subscribed")),
        "subscribe" => {
            subs.insert(
                text,
                Subscription {
                    id: id.clone(),
                    query,
                },
            );
            Ok(json!({}))
        }
        _ => match subs.remove(&text) {
            Some(_) => Ok(json!({})),
            None => Err(RpcError::internal("subscription not found")),
        },
    }
}

/// The event messages one committed block produces for the subscriptions.
fn events_for(subs: &BTreeMap<String, Subscription>, committed: &CommittedBlock) -> Vec<Value> {
    let mut out = Vec::new();
    let b = &committed.block;
    let results = &committed.results;
    // The block-level events (`NewBlock`, `NewBlockEvents`): the app's
    // FinalizeBlock events; `NewBlockHeader` carries only its type.
    let mut block_attrs = query::Attributes::new();
    convert::event_attributes(&results.events, &mut block_attrs);
    let matching = |kind: &str,
                    attrs: &query::Attributes|
     -> (query::Attributes, Vec<(&String, &Subscription)>) {
        let mut attrs = attrs.clone();
        attrs.insert("tm.event".into(), vec![kind.into()]);
        let wanted = subs
            .iter()
            .filter(|(_, s)| query::matches(&s.query, &attrs))
            .collect();
        (attrs, wanted)
    };
    let mut publish = |kind: &str, attrs: &query::Attributes, data: &dyn Fn() -> Option<Value>| {
        let (attrs, wanted) = matching(kind, attrs);
        if wanted.is_empty() {
            return;
        }
        let Some(value) = data() else { return };
        for (text, s) in wanted {
            let event = json!({
                "query": text,
                "data": {"type": format!("tendermint/event/{kind}"), "value": value},
                "events": attrs,
            });
            out.push(reply(Some(&s.id), Ok(event)));
        }
    };
    publish("NewBlock", &block_attrs, &|| {
        Some(json!({
            "block": convert::block(b).to_json(),
            "block_id": convert::rpc_block_id(&committed.id).to_json(),
            "result_finalize_block": abci::finalize_block(results),
        }))
    });
    publish("NewBlockHeader", &query::Attributes::new(), &|| {
        Some(json!({ "header": convert::header(b).to_json() }))
    });
    publish("NewBlockEvents", &block_attrs, &|| {
        Some(json!({
            "height": int(b.height),
            "events": abci::events_or_null(&results.events),
            "num_txs": int(b.txs.len()),
        }))
    });
    // One Tx event per transaction.
    for (i, tx) in b.txs.iter().enumerate() {
        let Some(result) = results.tx_results.get(i) else {
            continue;
        };
        let attrs = tx_attributes(tx, b.height, &result.events);
        publish("Tx", &attrs, &|| {
            Some(json!({"TxResult": abci::tx_result(b.height, i as u32, tx, result)}))
        });
    }
    out
}
