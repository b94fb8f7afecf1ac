//! `rpc`: the text of an RPC request: a JSON-RPC body (a call or a batch),
//! the URI form's query string, an event query (`tx_search`, `subscribe`)
//! and an ABCI query path (`abci_query`, which the app parses).

use std::collections::BTreeMap;

use serde_json::Value;
use synod_node::rpc::{
    params::{hash_param, tx_param, u64_param, uri_params},
    query::{matches, Attributes},
};
use synod_protocol::query::QueryPath;
use tendermint_rpc::query::Query;

use super::{nothing_to_prepare, Seed, Target};
use crate::{error::FuzzError, fixtures};

/// The `rpc` target.
pub const TARGET: Target = Target {
    name: "rpc",
    about: "JSON-RPC bodies and URI query strings through the node's parameter parsing, event queries (tx_search, subscribe), ABCI query paths",
    run: rpc,
    prepare: nothing_to_prepare,
    seeds,
    dictionary: DICTIONARY,
    max_len: 8 * 1024,
    short_runs: 10_000,
    cap_in_all: None,
};

const DICTIONARY: &[&[u8]] = &[
    b"\"jsonrpc\":\"2.0\"",
    b"\"method\"",
    b"\"params\"",
    b"\"id\"",
    b"\"height\"",
    b"\"page\"",
    b"\"per_page\"",
    b"\"limit\"",
    b"\"tx\"",
    b"\"hash\"",
    b"\"query\"",
    b"\"path\"",
    b"\"0x",
    b"%",
    b"%2",
    b"%27",
    b"+",
    b"&",
    b"=",
    b"'",
    b" AND ",
    b" CONTAINS ",
    b" EXISTS",
    b" >= ",
    b" < ",
    b"tm.event",
    b"tx.height",
    b"tx.hash",
    b"TIME 2023-11-14T22:13:20Z",
    b"DATE 2023-11-14",
    b"/account/",
    b"/model/",
    b"/proposals/",
    b"synod1",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"-1",
    b"1e400",
    b"18446744073709551615",
    b"18446744073709551616",
];

/// Named parameters every handler reads with the shared parsers.
const NUMBER_PARAMS: [&str; 6] = [
    "height",
    "page",
    "per_page",
    "limit",
    "minHeight",
    "maxHeight",
];

/// Parses `data` (as lossy UTF-8) every way a request's text is parsed:
/// as a URI query string and its parameters; as a JSON-RPC body, each
/// call's parameters, event query and query path; as an event query,
/// matched against a tx's events; as an ABCI query path. Nothing panics;
/// a parsed `tx` parameter is never empty; a query path prints as a path
/// that parses back to itself.
pub fn rpc(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    named_params(&uri_params(&text));
    if let Ok(body) = serde_json::from_slice::<Value>(data) {
        let calls = match body {
            Value::Array(calls) => calls,
            call => vec![call],
        };
        for call in &calls {
            let params = call.get("params").cloned().unwrap_or(Value::Null);
            named_params(&params);
            if let Some(query) = params.get("query").and_then(Value::as_str) {
                event_query(query);
            }
            if let Some(path) = params.get("path").and_then(Value::as_str) {
                query_path(path);
            }
        }
    }
    event_query(&text);
    query_path(&text);
}

fn named_params(params: &Value) {
    for name in NUMBER_PARAMS {
        let _ = u64_param(params, name);
    }
    if let Ok(tx) = tx_param(params) {
        assert!(!tx.is_empty(), "an empty tx parameter was accepted");
    }
    let _ = hash_param(params);
}

/// The events of a transfer, as `tx_search` and `Tx` subscriptions match them.
fn tx_events() -> Attributes {
    let mut events: Attributes = BTreeMap::new();
    let mut add = |key: &str, value: &str| {
        events
            .entry(key.to_owned())
            .or_default()
            .push(value.to_owned())
    };
    add("tm.event", "Tx");
    add("tx.height", "12");
    add("tx.hash", &"AB".repeat(32));
    add("transfer.amount", "5000");
    add("transfer.memo", "hello world");
    add(
        "fee_paid.payer",
        &fixtures::net().users[0].address().to_string(),
    );
    events
}

fn event_query(text: &str) {
    if let Ok(query) = text.parse::<Query>() {
        let _ = matches(&query, &tx_events());
        let _ = query.to_string();
    }
}

fn query_path(text: &str) {
    if let Ok(path) = text.parse::<QueryPath>() {
        let printed = path.to_string();
        assert_eq!(
            printed.parse::<QueryPath>().as_ref(),
            Ok(&path),
            "query path {text:?} prints as {printed:?}, which parses to something else"
        );
        let _ = path.proved_keys();
    }
}

/// Requests clients send: JSON-RPC calls of every method with parameters,
/// a batch, URI query strings, event queries and query paths.
fn seeds() -> Result<Vec<Seed>, FuzzError> {
    let user = fixtures::net().users[0].address();
    let tx = "AQIDBAUGBwgJCgsMDQ4PEA==";
    let hash = "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=";
    let call = |method: &str, params: Value| {
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
            .to_string()
    };
    let texts: Vec<(&str, String)> = vec![
        ("call_status", call("status", Value::Null)),
        ("call_block", call("block", serde_json::json!({"height": "12"}))),
        (
            "call_blockchain",
            call("blockchain", serde_json::json!({"minHeight": "1", "maxHeight": 20})),
        ),
        (
            "call_validators",
            call("validators", serde_json::json!({"height": "3", "page": "2", "per_page": "30"})),
        ),
        (
            "call_broadcast_tx_sync",
            call("broadcast_tx_sync", serde_json::json!({ "tx": tx })),
        ),
        ("call_tx", call("tx", serde_json::json!({ "hash": hash, "prove": false }))),
        (
            "call_tx_search",
            call(
                "tx_search",
                serde_json::json!({"query": "tm.event='Tx' AND tx.height > 5 AND transfer.amount >= 100", "page": "1", "per_page": "30", "order_by": "desc"}),
            ),
        ),
        (
            "call_abci_query",
            call(
                "abci_query",
                serde_json::json!({"path": format!("/account/{user}"), "data": "", "height": "0", "prove": true}),
            ),
        ),
        (
            "call_unconfirmed_txs",
            call("unconfirmed_txs", serde_json::json!({"limit": "30"})),
        ),
        (
            "call_subscribe",
            call("subscribe", serde_json::json!({"query": "tm.event='NewBlock'"})),
        ),
        (
            "batch",
            format!(
                "[{},{}]",
                call("health", serde_json::json!([])),
                call("block_results", serde_json::json!({"height": 2}))
            ),
        ),
        ("uri_block", "height=12".to_owned()),
        (
            "uri_tx_search",
            "query=%22tm.event%3D%27Tx%27+AND+tx.height%3C%3D12%22&page=1&per_page=100".to_owned(),
        ),
        ("uri_tx", format!("hash=0x{}&prove=false", "ab".repeat(32))),
        ("uri_broadcast", "tx=0x0102030405".to_owned()),
        (
            "query_conditions",
            "tx.height >= 1 AND tx.height < 100 AND transfer.memo CONTAINS 'world' AND fee_paid.payer EXISTS"
                .to_owned(),
        ),
        (
            "query_times",
            "block.time > TIME 2023-11-14T22:13:20Z AND block.date <= DATE 2023-11-14 AND x.y = -3.5"
                .to_owned(),
        ),
        ("path_account", format!("/account/{user}")),
        ("path_model", format!("/model/{}", "ab".repeat(32))),
        ("path_proposals", "/proposals/voting_period".to_owned()),
        ("path_workflow", "/workflow/digits".to_owned()),
        ("path_tally", "/tally/7".to_owned()),
    ];
    Ok(texts
        .into_iter()
        .map(|(name, text)| (format!("{name}.txt"), text.into_bytes()))
        .collect())
}
