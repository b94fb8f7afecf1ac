//! The RPC's JSON is CometBFT 0.38's: the `result` of every method, asked
//! over JSON-RPC (POST) and in the URI form (GET), is checked against the
//! response schemas of CometBFT's own OpenAPI document
//! (`tests/fixtures/cometbft/openapi-v0.38.yaml`, copied from
//! cometbft/cometbft at v0.38.25). Where that document is wrong about what
//! CometBFT 0.38 sends (parts of it date from Tendermint 0.32), the schema
//! is corrected to the Go code in [`corrections`], each with its source.
//! The envelope is checked too: ids echoed as sent (numbers and strings),
//! CometBFT's error objects and HTTP statuses, notifications unanswered.

#![allow(clippy::unwrap_used)]

mod common;
#[path = "rpc_cometbft_json/corrections.rs"]
mod corrections;

use base64::Engine;
use common::{
    openapi::OpenApi,
    rpc_node::{http, RpcNode},
};
use corrections::reference;
use serde_json::{json, Value};
use synod_protocol::{Amount, TxBody};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The method's answer over JSON-RPC and in the URI form, both checked
/// against the method's result schema; returns the JSON-RPC result.
async fn checked(api: &OpenApi, n: &RpcNode, method: &str, params: Value, uri: &str) -> Value {
    let schema = api.result_schema(method);
    let mut errors = Vec::new();
    // JSON-RPC, with a string id that must come back as sent.
    let body = json!({"jsonrpc": "2.0", "id": "fidelity", "method": method, "params": params});
    let (status, _, text) = http(n.addr, "POST", "/", Some(body.to_string())).await;
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status, 200, "{method}: {answer}");
    assert_eq!(answer["jsonrpc"], "2.0");
    assert_eq!(
        answer["id"], "fidelity",
        "{method}: the id comes back as sent"
    );
    let result = answer
        .get("result")
        .unwrap_or_else(|| panic!("{method} {params}: {answer}"))
        .clone();
    api.check(&schema, &result, &format!("{method}(POST)"), &mut errors);
    // The URI form: id -1.
    let path = if uri.is_empty() {
        format!("/{method}")
    } else {
        format!("/{method}?{uri}")
    };
    let (status, _, text) = http(n.addr, "GET", &path, None).await;
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(status, 200, "GET {path}: {answer}");
    assert_eq!(answer["id"], -1, "GET {path}");
    let uri_result = answer
        .get("result")
        .unwrap_or_else(|| panic!("GET {path}: {answer}"));
    api.check(&schema, uri_result, &format!("{method}(GET)"), &mut errors);
    assert!(
        errors.is_empty(),
        "{method}: {}\n{result:#}",
        errors.join("\n")
    );
    result
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_answers_with_cometbfts_json_over_post_and_get() {
    let api = reference();
    let n = RpcNode::start("json-node", [44; 32], 3).await;
    n.wait_for_height(2).await;

    // A committed tx with events, and two more to broadcast and check.
    let mut alice = n.net.users[0].clone();
    let to = n.net.users[1].address();
    let mut transfer = |amount| {
        alice.sign(TxBody::Transfer {
            to,
            amount: Amount(amount),
        })
    };
    // Signed in the order they are sent: each spends the next nonce.
    let (committed, commit_get) = (transfer(7), transfer(8));
    let (sync_post, sync_get) = (transfer(10), transfer(11));
    let (async_post, async_get) = (transfer(12), transfer(13));
    let unsent = n.net.users[2].clone().sign(TxBody::Transfer {
        to,
        amount: Amount(1),
    });

    let commit = checked(
        &api,
        &n,
        "broadcast_tx_commit",
        json!({"tx": b64(&committed)}),
        &format!("tx=0x{}", hex::encode(&commit_get)),
    )
    .await;
    assert_eq!(commit["check_tx"]["code"], 0, "{commit}");
    assert_eq!(commit["tx_result"]["code"], 0, "{commit}");
    let h: u64 = commit["height"].as_str().unwrap().parse().unwrap();
    checked(
        &api,
        &n,
        "broadcast_tx_sync",
        json!({"tx": b64(&sync_post)}),
        &format!("tx=0x{}", hex::encode(&sync_get)),
    )
    .await;
    checked(
        &api,
        &n,
        "broadcast_tx_async",
        json!({"tx": b64(&async_post)}),
        &format!("tx=0x{}", hex::encode(&async_get)),
    )
    .await;
    let check = checked(
        &api,
        &n,
        "check_tx",
        json!({"tx": b64(&unsent)}),
        &format!("tx=0x{}", hex::encode(&unsent)),
    )
    .await;
    assert_eq!(check["code"], 0, "{check}");
    n.wait_for_height(h + 2).await;

    let hs = h.to_string();
    let block = checked(
        &api,
        &n,
        "block",
        json!({"height": hs}),
        &format!("height={h}"),
    )
    .await;
    let block_hash = block["block_id"]["hash"].as_str().unwrap().to_owned();
    assert_eq!(block_hash.len(), 64);
    assert!(block["block_id"]["parts"]["total"].as_u64().unwrap() >= 1);
    assert_eq!(block["block"]["data"]["txs"][0], b64(&committed));
    let first = checked(&api, &n, "block", json!({"height": "1"}), "height=1").await;
    assert_eq!(
        first["block"]["last_commit"],
        json!({"height": "0", "round": 0, "block_id": {"hash": "", "parts": {"total": 0, "hash": ""}}, "signatures": []}),
        "the first block's last commit is CometBFT's empty commit"
    );
    checked(&api, &n, "block", json!({}), "").await;
    let hash_b64 = b64(&hex::decode(&block_hash).unwrap());
    let by_hash = checked(
        &api,
        &n,
        "block_by_hash",
        json!({"hash": hash_b64}),
        &format!("hash=0x{block_hash}"),
    )
    .await;
    assert_eq!(by_hash, block, "block_by_hash finds the same block");
    let header = checked(
        &api,
        &n,
        "header",
        json!({"height": hs}),
        &format!("height={h}"),
    )
    .await;
    assert_eq!(header["header"], block["block"]["header"]);
    let by_hash = checked(
        &api,
        &n,
        "header_by_hash",
        json!({"hash": block_hash}),
        &format!("hash=0x{block_hash}"),
    )
    .await;
    assert_eq!(by_hash, header);
    let commit = checked(
        &api,
        &n,
        "commit",
        json!({"height": hs}),
        &format!("height={h}"),
    )
    .await;
    assert_eq!(commit["canonical"], true, "block {h} has a successor");
    assert_eq!(
        commit["signed_header"]["commit"]["block_id"],
        block["block_id"]
    );
    let latest = checked(&api, &n, "commit", json!({}), "").await;
    assert_eq!(
        latest["canonical"], false,
        "the latest commit is this node's own"
    );
    assert_eq!(
        latest["signed_header"]["commit"]["signatures"][0]["block_id_flag"], 2,
        "{latest}"
    );
    checked(
        &api,
        &n,
        "block_results",
        json!({"height": hs}),
        &format!("height={h}"),
    )
    .await;
    let chain = checked(
        &api,
        &n,
        "blockchain",
        json!({"minHeight": "1", "maxHeight": hs}),
        &format!("minHeight=1&maxHeight={h}"),
    )
    .await;
    assert_eq!(chain["block_metas"][0]["block_id"], block["block_id"]);
    let vals = checked(
        &api,
        &n,
        "validators",
        json!({"height": hs, "page": "1", "per_page": "10"}),
        &format!("height={h}&page=1&per_page=10"),
    )
    .await;
    assert_eq!(vals["validators"][0]["proposer_priority"], "0");
    assert_eq!(
        (vals["count"].as_str(), vals["total"].as_str()),
        (Some("1"), Some("1"))
    );
    checked(
        &api,
        &n,
        "consensus_params",
        json!({"height": hs}),
        &format!("height={h}"),
    )
    .await;
    let status = checked(&api, &n, "status", json!({}), "").await;
    assert!(
        status["node_info"]["listen_addr"]
            .as_str()
            .unwrap()
            .starts_with("tcp://127.0.0.1:"),
        "{status}"
    );
    assert!(status["node_info"]["version"]
        .as_str()
        .unwrap()
        .starts_with("0.38."));
    assert_ne!(status["validator_info"]["voting_power"], "0");
    checked(&api, &n, "health", json!({}), "").await;
    checked(&api, &n, "net_info", json!({}), "").await;
    let genesis = checked(&api, &n, "genesis", json!({}), "").await;
    let chunk = checked(
        &api,
        &n,
        "genesis_chunked",
        json!({"chunk": "0"}),
        "chunk=0",
    )
    .await;
    let whole: Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(chunk["data"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        whole, genesis["genesis"],
        "one chunk holds the whole genesis"
    );
    checked(
        &api,
        &n,
        "unconfirmed_txs",
        json!({"limit": "5"}),
        "limit=5",
    )
    .await;
    checked(&api, &n, "num_unconfirmed_txs", json!({}), "").await;
    let info = checked(&api, &n, "abci_info", json!({}), "").await;
    assert!(
        info["response"]["last_block_app_hash"].is_string(),
        "base64, not bytes: {info}"
    );
    let account = format!("/account/{to}");
    checked(
        &api,
        &n,
        "abci_query",
        json!({"path": account, "data": "", "prove": false}),
        &format!("path=%22{account}%22"),
    )
    .await;
    let tx_hash = commit_hash(&committed);
    let tx = checked(
        &api,
        &n,
        "tx",
        json!({"hash": b64(&tx_hash), "prove": true}),
        &format!("hash=0x{}&prove=true", hex::encode(tx_hash)),
    )
    .await;
    assert_eq!(
        tx["proof"]["root_hash"], block["block"]["header"]["data_hash"],
        "the proof is against the block's data hash"
    );
    let found = checked(&api, &n, "tx_search", json!({"query": format!("tx.height={h}"), "prove": true, "page": "1", "per_page": "5", "order_by": "asc"}), &format!("query=%22tx.height%3D{h}%22&prove=true")).await;
    assert!(found["txs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["tx"] == b64(&committed)));
    let blocks = checked(
        &api,
        &n,
        "block_search",
        json!({"query": format!("block.height>={h}"), "order_by": "asc"}),
        &format!("query=%22block.height%3E%3D{h}%22"),
    )
    .await;
    assert_eq!(blocks["blocks"][0]["block_id"], block["block_id"]);

    n.node.shutdown().await;
}

/// CometBFT's tx hash: SHA-256 of the tx.
fn commit_hash(tx: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(tx).into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_envelope_errors_and_http_statuses_are_cometbfts() {
    let n = RpcNode::start("envelope-node", [45; 32], 1).await;
    n.wait_for_height(1).await;
    let post = |body: &str| http(n.addr, "POST", "/", Some(body.to_owned()));
    let json_of = |text: &str| serde_json::from_str::<Value>(text).unwrap();

    // Numeric and string ids come back as sent; a fractional one as an integer.
    let (_, _, t) = post(r#"{"jsonrpc":"2.0","id":42,"method":"health"}"#).await;
    assert_eq!(
        json_of(&t),
        json!({"jsonrpc": "2.0", "id": 42, "result": {}})
    );
    let (_, _, t) = post(r#"{"jsonrpc":"2.0","id":"x-1","method":"health"}"#).await;
    assert_eq!(json_of(&t)["id"], "x-1");
    // Positional parameters, in the method's argument order.
    let (_, _, t) = post(r#"{"jsonrpc":"2.0","id":1,"method":"block","params":["1"]}"#).await;
    assert_eq!(
        json_of(&t)["result"]["block"]["header"]["height"],
        "1",
        "{t}"
    );
    let (_, _, t) = post(r#"{"jsonrpc":"2.0","id":1,"method":"block","params":[]}"#).await;
    let e = json_of(&t);
    assert_eq!(e["error"]["code"], -32602, "{e}");
    assert!(
        e["error"]["data"]
            .as_str()
            .unwrap()
            .contains("expected 1 parameters"),
        "{e}"
    );
    // A notification (no id) gets no answer; in a batch, only the others do.
    let (status, _, t) = post(r#"{"jsonrpc":"2.0","method":"health"}"#).await;
    assert_eq!((status, t.as_str()), (200, ""));
    let (_, _, t) = post(r#"[{"jsonrpc":"2.0","method":"health"},{"jsonrpc":"2.0","id":5,"method":"health"},{"jsonrpc":"2.0","id":6,"method":"health"}]"#).await;
    let ids: Vec<Value> = json_of(&t)
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!(5), json!(6)]);
    // A batch of one is answered with one object, as CometBFT does.
    let (_, _, t) = post(r#"[{"jsonrpc":"2.0","id":9,"method":"health"}]"#).await;
    assert_eq!(json_of(&t)["id"], 9);
    // Not JSON: HTTP 500, CometBFT's parse error, no id.
    let (status, _, t) = post("{nope").await;
    let e = json_of(&t);
    assert_eq!(status, 500);
    assert_eq!(e["error"]["code"], -32700);
    assert_eq!(e["error"]["message"], "Parse error. Invalid JSON");
    assert!(e.get("id").is_none(), "{e}");
    // An unknown method: -32601 and nothing more.
    let (_, _, t) = post(r#"{"jsonrpc":"2.0","id":2,"method":"no_such_method"}"#).await;
    assert_eq!(
        json_of(&t),
        json!({"jsonrpc": "2.0", "id": 2, "error": {"code": -32601, "message": "Method not found"}})
    );
    // CometBFT's methods synod-node does not serve say so, and why.
    for method in [
        "dump_consensus_state",
        "consensus_state",
        "broadcast_evidence",
        "dial_seeds",
        "dial_peers",
        "unsafe_flush_mempool",
    ] {
        let (_, _, t) = post(&format!(
            r#"{{"jsonrpc":"2.0","id":3,"method":"{method}","params":{{}}}}"#
        ))
        .await;
        let e = json_of(&t);
        assert_eq!(e["error"]["code"], -32601, "{method}: {e}");
        let why = e["error"]["data"].as_str().unwrap();
        assert!(
            why.starts_with(&format!("{method} is not supported by synod-node: ")),
            "{why}"
        );
    }
    // Subscriptions need the websocket.
    let (_, _, t) = post(
        r#"{"jsonrpc":"2.0","id":4,"method":"subscribe","params":{"query":"tm.event='NewBlock'"}}"#,
    )
    .await;
    assert_eq!(json_of(&t)["error"]["code"], -32601);
    // A handler's refusal: -32603 with CometBFT's text.
    let (_, _, t) =
        post(r#"{"jsonrpc":"2.0","id":7,"method":"block","params":{"height":"0"}}"#).await;
    let e = json_of(&t);
    assert_eq!(e["error"]["code"], -32603);
    assert_eq!(e["error"]["message"], "Internal error");
    assert_eq!(
        e["error"]["data"],
        "height must be greater than 0, but got 0"
    );

    // The URI form: id -1; errors are HTTP 500; unknown paths 404.
    let (status, headers, t) = http(n.addr, "GET", "/block?height=1", None).await;
    assert_eq!((status, json_of(&t)["id"].clone()), (200, json!(-1)));
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "cache-control" && v == "public, max-age=86400"),
        "a fixed height is cacheable: {headers:?}"
    );
    let (_, headers, _) = http(n.addr, "GET", "/block", None).await;
    assert!(
        !headers.iter().any(|(k, _)| k == "cache-control"),
        "the latest block is not"
    );
    let (status, _, t) = http(n.addr, "GET", "/block?height=999999", None).await;
    assert_eq!(status, 500);
    assert!(json_of(&t)["error"]["data"]
        .as_str()
        .unwrap()
        .contains("999999"));
    let (status, _, t) = http(n.addr, "GET", "/tx?hash=notbytes", None).await;
    assert_eq!(
        (status, json_of(&t)["error"]["code"].clone()),
        (500, json!(-32602))
    );
    let (status, _, t) = http(n.addr, "GET", "/subscribe", None).await;
    assert_eq!(
        (status, json_of(&t)["error"]["code"].clone()),
        (404, json!(-32601))
    );
    let (status, _, t) = http(n.addr, "GET", "/no_such_method", None).await;
    assert_eq!((status, t.as_str()), (404, "404 page not found\n"));
    // An empty request to / lists the methods, as CometBFT's page does.
    let (status, _, t) = http(n.addr, "GET", "/", None).await;
    assert_eq!(status, 200);
    assert!(
        t.contains("/block?height=_") && t.contains("/status"),
        "{t}"
    );
    n.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn net_info_shows_a_connected_peer_as_cometbft_does() {
    use tendermint_rpc::Client;
    let api = reference();
    let validator = RpcNode::start("peered-validator", [48; 32], 1).await;
    let listen = validator.listen_addr.clone();
    // A full node (its consensus key is not in the set) dialing the validator.
    let full = RpcNode::start_with("full-node", [49; 32], 1, |s| {
        s.consensus_key = synod_abci_app::testkit::key("full-node-consensus").to_seed();
        s.persistent_peers = vec![listen];
    })
    .await;
    let mut info = Value::Null;
    for _ in 0..300 {
        info = validator.call("net_info", json!({})).await;
        if info["n_peers"] != "0" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        info["n_peers"], "1",
        "the full node never connected: {info}"
    );
    let peer = &info["peers"][0];
    assert_eq!(peer["node_info"]["moniker"], "full-node");
    assert!(peer["node_info"]["listen_addr"]
        .as_str()
        .unwrap()
        .starts_with("tcp://127.0.0.1:"));
    assert_eq!(peer["remote_ip"], "127.0.0.1");
    let mut errors = Vec::new();
    api.check(
        &api.result_schema("net_info"),
        &info,
        "net_info",
        &mut errors,
    );
    assert!(errors.is_empty(), "{}\n{info:#}", errors.join("\n"));
    // tendermint-rs reads it.
    let client = tendermint_rpc::HttpClient::builder(validator.url().parse().unwrap())
        .compat_mode(tendermint_rpc::client::CompatMode::V0_38)
        .build()
        .unwrap();
    let parsed = client.net_info().await.unwrap();
    assert_eq!(parsed.peers[0].node_info.moniker.to_string(), "full-node");
    full.node.shutdown().await;
    validator.node.shutdown().await;
}

#[test]
fn the_reference_refuses_what_cometbft_clients_choked_on() {
    let api = reference();
    let refused = |method: &str, result: Value| {
        let mut errors = Vec::new();
        api.check(&api.result_schema(method), &result, method, &mut errors);
        assert!(!errors.is_empty(), "{method} let through {result}");
        errors.join("; ")
    };
    let key = json!({"type": "tendermint/PubKeyEd25519", "value": "AAAA"});
    // What synod-node answered before, and cosmjs' Comet38Client refused.
    let e = refused(
        "validators",
        json!({"block_height": "2", "count": "1", "total": "1",
               "validators": [{"address": "AB", "pub_key": key, "power": "10", "name": null}]}),
    );
    assert!(e.contains("`power` is not in the schema"), "{e}");
    let e = refused(
        "abci_info",
        json!({"response": {"last_block_height": "3", "last_block_app_hash": [1, 2, 3]}}),
    );
    assert!(e.contains("expected string"), "{e}");
    refused("block_search", json!({"blocks": [], "total_count": 0}));
    refused("header", json!({"version": {"block": "11"}, "height": "1"}));
}
