//! `/websocket`: JSON-RPC over a websocket, with `subscribe`, `unsubscribe`
//! and `unsubscribe_all` for `NewBlock` and `Tx` events matched by query.

use std::{collections::BTreeMap, sync::Arc};

use async_tungstenite::{
    tokio::TokioAdapter,
    tungstenite::{handshake::derive_accept_key, protocol::Role, Message},
    WebSocketStream,
};
use futures::{SinkExt, StreamExt};
use hyper::{Body, Request, Response, StatusCode};
use serde_json::{json, Value};
use tendermint_rpc::{
    event::{self, Event, EventData, TxInfo, TxResult},
    query::Query,
};
use tokio::sync::broadcast;

use super::{
    convert,
    jsonrpc::{reply, RpcError},
    methods::tx::tx_attributes,
    query,
    server::Server,
};
use crate::handle::CommittedBlock;

/// Most subscriptions one connection may hold (CometBFT's default is 5).
const MAX_SUBSCRIPTIONS: usize = 16;

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
    id: Value,
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
                let answer = handle(&server, &mut subs, &text).await;
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
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                let mut failed = false;
                for message in events_for(&server, &subs, &block) {
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

async fn handle(
    server: &Arc<Server>,
    subs: &mut BTreeMap<String, Subscription>,
    text: &str,
) -> Value {
    let call: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return reply(&Value::Null, Err(RpcError::parse_error(e)));
        }
    };
    let id = call.get("id").cloned().unwrap_or(Value::Null);
    let method = call.get("method").and_then(Value::as_str).unwrap_or("");
    let params = call.get("params").cloned().unwrap_or(Value::Null);
    let query_text = params
        .get("query")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let result = match method {
        "subscribe" => match query_text {
            None => Err(RpcError::invalid_params("subscribe needs a \"query\"")),
            Some(q) => match q.parse::<Query>() {
                Err(e) => Err(RpcError::invalid_params(format!("query {q:?}: {e}"))),
                Ok(_) if subs.len() >= MAX_SUBSCRIPTIONS && !subs.contains_key(&q) => {
                    Err(RpcError::internal(format!(
                        "a connection holds at most {MAX_SUBSCRIPTIONS} subscriptions"
                    )))
                }
                Ok(query) => {
                    subs.insert(
                        q,
                        Subscription {
                            id: id.clone(),
                            query,
                        },
                    );
                    Ok(json!({}))
                }
            },
        },
        "unsubscribe" => match query_text {
            Some(q) if subs.remove(&q).is_some() => Ok(json!({})),
            Some(q) => Err(RpcError::internal(format!("not subscribed to {q:?}"))),
            None => Err(RpcError::invalid_params("unsubscribe needs a \"query\"")),
        },
        "unsubscribe_all" => {
            subs.clear();
            Ok(json!({}))
        }
        other => server.dispatch(other, params).await,
    };
    reply(&id, result)
}

/// The event messages one committed block produces for the subscriptions.
fn events_for(
    server: &Server,
    subs: &BTreeMap<String, Subscription>,
    committed: &CommittedBlock,
) -> Vec<Value> {
    let mut out = Vec::new();
    let ctx = &server.ctx;
    let b = &committed.block;
    let finalize = convert::finalize_block(&committed.results).ok();
    // NewBlock.
    let mut block_attrs = query::Attributes::new();
    block_attrs.insert("tm.event".into(), vec!["NewBlock".into()]);
    block_attrs.insert("block.height".into(), vec![b.height.to_string()]);
    if let Some(f) = &finalize {
        convert::event_attributes(&f.events, &mut block_attrs);
    }
    let wanted: Vec<_> = subs
        .iter()
        .filter(|(_, s)| query::matches(&s.query, &block_attrs))
        .collect();
    if !wanted.is_empty() {
        match convert::block(&ctx.store, &ctx.chain_id, b) {
            Ok(block) => {
                for (text, s) in wanted {
                    let ev = Event {
                        query: text.clone(),
                        data: EventData::NewBlock {
                            block: Some(Box::new(block.clone())),
                            block_id: convert::block_id(committed.hash),
                            result_finalize_block: finalize.clone(),
                        },
                        events: Some(block_attrs.clone()),
                    };
                    out.push(event_message(&s.id, ev));
                }
            }
            Err(e) => {
                tracing::warn!(height = b.height, error = %e, "cannot show block to subscribers")
            }
        }
    }
    // One Tx event per transaction.
    for (i, tx) in b.txs.iter().enumerate() {
        let Some(result) = finalize.as_ref().and_then(|f| f.tx_results.get(i)) else {
            continue;
        };
        let Ok(height) = convert::height(b.height) else {
            continue;
        };
        let response = tendermint_rpc::endpoint::tx::Response {
            hash: tendermint::Hash::Sha256(crate::mempool::tx_hash(tx)),
            height,
            index: i as u32,
            tx_result: result.clone(),
            tx: tx.clone(),
            proof: None,
        };
        let attrs = tx_attributes(&response);
        for (text, s) in subs {
            if !query::matches(&s.query, &attrs) {
                continue;
            }
            let ev = Event {
                query: text.clone(),
                data: EventData::Tx {
                    tx_result: TxInfo {
                        height: b.height as i64,
                        index: Some(i as i64),
                        tx: tx.clone(),
                        result: TxResult {
                            log: Some(result.log.clone()),
                            gas_wanted: Some(result.gas_wanted.to_string()),
                            gas_used: Some(result.gas_used.to_string()),
                            events: result.events.clone(),
                        },
                    },
                },
                events: Some(attrs.clone()),
            };
            out.push(event_message(&s.id, ev));
        }
    }
    out
}

fn event_message(id: &Value, ev: Event) -> Value {
    let ser = event::v0_38::SerEvent::from(ev);
    json!({"jsonrpc": "2.0", "id": id, "result": ser})
}
