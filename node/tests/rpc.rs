//! The CometBFT RPC, exercised with tendermint-rs' own clients
//! (`tendermint_rpc::HttpClient` and `WebSocketClient`, CometBFT 0.38
//! dialect) against a running validator and the real Synod app: every
//! method the client offers, and the `NewBlock` and `Tx` subscriptions.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::rpc_node::{rpc_settings, RpcNode};
use futures::StreamExt;
use synod_abci_app::testkit::TestNet;
use synod_node::node::start;
use synod_protocol::{codec, params::ChainParams, state::Account, Amount, TxBody};
use tendermint_rpc::{
    client::CompatMode, endpoint, event::EventData, query::Query, Client, HttpClient, Order,
    Paging, SubscriptionClient, WebSocketClient,
};

async fn wait_for_height(client: &HttpClient, h: u64) {
    for _ in 0..600 {
        if let Ok(s) = client.status().await {
            if s.sync_info.latest_block_height.value() >= h {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("height {h} not reached within 60 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tendermint_rpc_clients_read_and_write_through_the_node() {
    let rpc = RpcNode::start_with("rpc-node", [42; 32], 3, |s| {
        s.metrics_address = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let (node, net) = (&rpc.node, &rpc.net);
    let client = HttpClient::builder(rpc.url().parse().unwrap())
        .compat_mode(CompatMode::V0_38)
        .build()
        .unwrap();
    client
        .wait_until_healthy(Duration::from_secs(10))
        .await
        .unwrap();

    // Liveness and identity.
    client.health().await.unwrap();
    wait_for_height(&client, 2).await;
    let status = client.status().await.unwrap();
    assert_eq!(
        status.node_info.network.as_str(),
        synod_abci_app::testkit::CHAIN_ID
    );
    assert_eq!(status.node_info.moniker.to_string(), "rpc-node");
    assert!(
        status.validator_info.power.value() > 0,
        "this node validates"
    );
    // As in CometBFT, the store records a block before the app commits it,
    // so at height 2 the app has committed at least block 1.
    let info = client.abci_info().await.unwrap();
    assert!(info.last_block_height.value() >= 1);

    // Websocket subscriptions, opened before the txs are sent.
    let ws_url = format!("ws://{}/websocket", rpc.addr);
    let (ws, driver) = WebSocketClient::builder(ws_url.parse().unwrap())
        .compat_mode(CompatMode::V0_38)
        .build()
        .await
        .unwrap();
    let driver = tokio::spawn(driver.run());
    let mut new_blocks = ws
        .subscribe(Query::eq("tm.event", "NewBlock"))
        .await
        .unwrap();
    let recipient = net.users[1].address();
    let tx_query: Query = format!("tm.event='Tx' AND transfer.to='{recipient}'")
        .parse()
        .unwrap();
    let mut to_recipient = ws.subscribe(tx_query).await.unwrap();

    // broadcast_tx_sync: checked, not yet committed.
    let mut alice = net.users[0].clone();
    let first = alice.sign(TxBody::Transfer {
        to: recipient,
        amount: Amount(7),
    });
    let sync = client.broadcast_tx_sync(first.clone()).await.unwrap();
    assert!(sync.code.is_ok(), "{}", sync.log);

    // broadcast_tx_commit: waits for the block.
    let second = alice.sign(TxBody::Transfer {
        to: recipient,
        amount: Amount(8),
    });
    let commit = client.broadcast_tx_commit(second.clone()).await.unwrap();
    assert!(commit.check_tx.code.is_ok());
    assert!(commit.tx_result.code.is_ok(), "{}", commit.tx_result.log);
    let h = commit.height;
    let commit_tx_hash = commit.hash;
    // So that the block of `h` has a successor (its commit is canonical).
    wait_for_height(&client, h.value() + 1).await;
    assert!(h.value() > 0);

    // The app rejects garbage in CheckTx: a code and a log, not a transport error.
    let bad = client
        .broadcast_tx_sync(b"not a transaction".to_vec())
        .await
        .unwrap();
    assert!(bad.code.is_err());
    assert!(!bad.log.is_empty());

    // tx by hash, and tx_search by hash and by height.
    let found = client.tx(commit.hash, false).await.unwrap();
    assert_eq!(found.height, h);
    assert_eq!(found.tx, second);
    let by_hash = client
        .tx_search(
            format!("tx.hash='{}'", commit.hash).parse().unwrap(),
            false,
            1,
            30,
            Order::Ascending,
        )
        .await
        .unwrap();
    assert_eq!(by_hash.total_count, 1);
    let by_height = client
        .tx_search(
            Query::eq("tx.height", h.value()),
            false,
            1,
            30,
            Order::Ascending,
        )
        .await
        .unwrap();
    assert!(by_height.txs.iter().any(|t| t.hash == commit.hash));
    // By an event attribute, from the event index (no height bound
    // needed), one per page, newest first.
    let by_event = |page: u32, order: Order| {
        client.tx_search(
            format!("transfer.to='{recipient}' AND transfer.amount >= 7")
                .parse()
                .unwrap(),
            false,
            page,
            1,
            order,
        )
    };
    let newest = by_event(1, Order::Descending).await.unwrap();
    assert_eq!(newest.total_count, 2, "both transfers to the recipient");
    assert_eq!(newest.txs.len(), 1, "one per page");
    assert_eq!(newest.txs[0].tx, second);
    let oldest = by_event(2, Order::Descending).await.unwrap();
    assert_eq!(oldest.txs[0].tx, first);
    // Past the last page is an error, as in CometBFT.
    let past = by_event(3, Order::Ascending).await.unwrap_err();
    assert!(
        past.to_string()
            .contains("page should be within [1, 2] range"),
        "{past}"
    );
    let none = client
        .tx_search(
            format!("transfer.to='{}'", net.users[0].address())
                .parse()
                .unwrap(),
            false,
            1,
            30,
            Order::Ascending,
        )
        .await
        .unwrap();
    assert_eq!(none.total_count, 0);
    let unknown = client
        .tx(tendermint::Hash::Sha256([7; 32]), false)
        .await
        .unwrap_err();
    assert!(unknown.to_string().contains("not found"), "{unknown}");

    // The block and its results.
    let block = client.block(h).await.unwrap();
    assert_eq!(block.block.header.height, h);
    assert!(block.block.data.contains(&second));
    let results = client.block_results(h).await.unwrap();
    let i = block.block.data.iter().position(|t| *t == second).unwrap();
    assert!(results.txs_results.unwrap()[i].code.is_ok());
    assert!(!results.app_hash.as_bytes().is_empty());
    let chain = client.blockchain(1u32, h.value() as u32).await.unwrap();
    assert!(!chain.block_metas.is_empty());
    assert!(chain
        .block_metas
        .windows(2)
        .all(|w| w[0].header.height > w[1].header.height));

    // Validators, ABCI queries, genesis, peers.
    let vals = client.validators(h, Paging::All).await.unwrap();
    assert_eq!(vals.validators.len(), 1);
    assert_eq!(vals.validators[0].power, status.validator_info.power);
    let page = client
        .validators(
            h,
            Paging::Specific {
                page_number: 1usize.into(),
                per_page: 5u8.into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    let q = client
        .abci_query(Some(format!("/account/{recipient}")), vec![], None, false)
        .await
        .unwrap();
    let account: Account = codec::decode(&q.value).unwrap();
    assert_eq!(
        account.balance,
        Amount::syn(1_000_000).checked_add(Amount(15)).unwrap(),
        "both transfers landed"
    );
    let g: endpoint::genesis::Response<serde_json::Value> = client
        .perform(endpoint::genesis::Request::default())
        .await
        .unwrap();
    assert_eq!(
        g.genesis.chain_id.as_str(),
        synod_abci_app::testkit::CHAIN_ID
    );
    let peers = client.net_info().await.unwrap();
    assert_eq!(peers.n_peers, 0);

    // The rest of what the client offers.
    let by_hash = client.block_by_hash(block.block_id.hash).await.unwrap();
    assert_eq!(by_hash.block.unwrap().header, block.block.header);
    assert!(client.latest_block().await.unwrap().block.header.height >= h);
    let header = client.header(h).await.unwrap();
    assert_eq!(header.header, block.block.header);
    let header = client.header_by_hash(block.block_id.hash).await.unwrap();
    assert_eq!(header.header.unwrap(), block.block.header);
    let commit = client.commit(h).await.unwrap();
    assert!(commit.canonical, "block {h} has a successor");
    assert_eq!(commit.signed_header.commit.block_id, block.block_id);
    assert_eq!(commit.signed_header.header, block.block.header);
    let latest = client.latest_commit().await.unwrap();
    assert!(!latest.canonical, "the latest commit is this node's own");
    assert!(!latest.signed_header.commit.signatures.is_empty());
    client.latest_block_results().await.unwrap();
    let params = client.consensus_params(h).await.unwrap();
    assert_eq!(params.consensus_params.block.max_bytes, 22_020_096);
    client.latest_consensus_params().await.unwrap();
    let found = client
        .block_search(
            format!("block.height = {}", h.value()).parse().unwrap(),
            1,
            10,
            Order::Descending,
        )
        .await
        .unwrap();
    assert_eq!(found.total_count, 1);
    assert_eq!(found.blocks[0].block_id, block.block_id);
    let proven = client.tx(commit_tx_hash, true).await.unwrap();
    let proof = proven.proof.unwrap();
    assert_eq!(proof.root_hash, block.block.header.data_hash.unwrap());
    let chunk = client.genesis_chunked(0).await.unwrap();
    assert_eq!((chunk.chunk, chunk.total), (0, 1));
    let streamed: Vec<Vec<u8>> = client
        .genesis_chunked_stream()
        .await
        .map(|c| c.unwrap())
        .collect()
        .await;
    assert_eq!(streamed.concat(), chunk.data);
    let third = net.users[2].clone().sign(TxBody::Transfer {
        to: recipient,
        amount: Amount(1),
    });
    let queued = client.broadcast_tx_async(third).await.unwrap();
    assert!(queued.code.is_ok());
    // CometBFT methods without meaning here: errors that say so.
    let e = client.consensus_state().await.unwrap_err();
    assert!(e.to_string().contains("not supported by synod-node"), "{e}");
    // The websocket client answers plain calls too.
    assert_eq!(
        ws.status().await.unwrap().node_info.moniker.to_string(),
        "rpc-node"
    );
    assert_eq!(ws.block(h).await.unwrap().block_id, block.block_id);

    // Both subscriptions delivered.
    let ev = tokio::time::timeout(Duration::from_secs(30), new_blocks.next())
        .await
        .expect("no NewBlock event")
        .unwrap()
        .unwrap();
    assert!(matches!(
        ev.data,
        EventData::NewBlock { block: Some(_), .. }
    ));
    let mut amounts = Vec::new();
    while amounts.len() < 2 {
        let ev = tokio::time::timeout(Duration::from_secs(30), to_recipient.next())
            .await
            .expect("no Tx event for the recipient")
            .unwrap()
            .unwrap();
        let EventData::Tx { tx_result } = ev.data else {
            panic!("expected a Tx event");
        };
        amounts.push(tx_result.tx);
    }
    assert_eq!(amounts, vec![first, second], "both transfers, in order");

    // Prometheus: the node's gauges next to Malachite's own.
    let metrics = {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(node.metrics_address.unwrap())
            .await
            .unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    };
    let height_line = metrics
        .lines()
        .find(|l| l.starts_with("synod_node_height{") && l.contains("moniker=\"rpc-node\""))
        .unwrap_or_else(|| panic!("no height gauge in:\n{metrics}"));
    let shown: u64 = height_line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(shown >= h.value(), "{height_line}");
    assert!(metrics.contains("synod_node_txs_per_block"));
    assert!(metrics.contains("synod_node_block_interval_seconds"));
    assert!(
        metrics.contains("malachitebft"),
        "Malachite's consensus metrics are served too"
    );

    ws.close().unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(5), driver).await;
    rpc.node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_json_rpc_errors_that_say_what_was_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let net = TestNet::new(1, 1, ChainParams::default());
    common::serve_app(&dir.path().join("app")).await;
    let mut settings = rpc_settings(dir.path(), "rpc-errors", [43; 32]);
    settings.rpc_limits.max_websocket_clients = 1;
    let node = start(settings, common::init_request(&net)).await.unwrap();
    let addr = node.rpc_address.unwrap();
    let post = |body: &str| {
        let body = body.to_owned();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            let req = format!(
                "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                body.len(),
                body
            );
            s.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            let json = out.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
            serde_json::from_str::<serde_json::Value>(&json).unwrap()
        }
    };
    let r = post("{not json").await;
    assert_eq!(r["error"]["code"], -32700);
    let r = post(r#"{"jsonrpc":"2.0","id":1,"method":"no_such"}"#).await;
    assert_eq!(r["error"]["code"], -32601);
    assert_eq!(r["error"]["message"], "Method not found");
    assert!(
        r["error"].get("data").is_none(),
        "CometBFT says no more: {r}"
    );
    let r = post(r#"{"jsonrpc":"2.0","id":2,"method":"block","params":{"height":"abc"}}"#).await;
    assert_eq!(r["error"]["code"], -32602);
    assert!(r["error"]["data"].as_str().unwrap().contains("height"));
    let r = post(r#"{"jsonrpc":"2.0","id":3,"method":"block","params":{"height":"999999"}}"#).await;
    assert!(r["error"]["data"].as_str().unwrap().contains("999999"));
    let r = post(r#"{"jsonrpc":"2.0","id":4,"method":"broadcast_tx_sync","params":{"tx":"***"}}"#)
        .await;
    assert!(r["error"]["data"].as_str().unwrap().contains("base64"));
    let r =
        post(r#"{"jsonrpc":"2.0","id":5,"method":"tx_search","params":{"query":"tx.height >"}}"#)
            .await;
    // CometBFT reports a query it cannot parse as an internal error.
    assert_eq!(r["error"]["code"], -32603, "{r}");
    assert!(r["error"]["data"].as_str().unwrap().contains("tx.height"));
    let r = post(r#"{"jsonrpc":"2.0","id":6,"method":"genesis"}"#).await;
    assert!(r["error"]["data"].as_str().unwrap().contains("genesis"));
    // A height the app cannot read (above Go's int64) is refused here, and
    // the query connection goes on answering.
    let r = post(r#"{"jsonrpc":"2.0","id":9,"method":"abci_query","params":{"path":"/params","height":"9223372036854775808"}}"#).await;
    assert_eq!(r["error"]["code"], -32602, "{r}");
    assert!(
        r["error"]["data"]
            .as_str()
            .unwrap()
            .contains("height: expected an integer"),
        "{r}"
    );
    let r = post(r#"{"jsonrpc":"2.0","id":10,"method":"abci_query","params":{"path":"/params"}}"#)
        .await;
    assert_eq!(r["result"]["response"]["code"], 0, "{r}");
    // A batch answers each call; the mempool is visible.
    let r = post(r#"[{"jsonrpc":"2.0","id":7,"method":"health"},{"jsonrpc":"2.0","id":8,"method":"unconfirmed_txs","params":{"limit":"5"}}]"#).await;
    assert_eq!(r[0]["id"], 7);
    assert_eq!(r[1]["result"]["total"], "0");
    // A batch over the limit (10 calls) is refused whole.
    let calls: Vec<String> = (0..11)
        .map(|i| format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"health"}}"#))
        .collect();
    let r = post(&format!("[{}]", calls.join(","))).await;
    assert_eq!(r["error"]["code"], -32600, "{r}");
    assert!(
        r["error"]["data"]
            .as_str()
            .unwrap()
            .contains("maximum (10)"),
        "{r}"
    );
    // One websocket client at a time here: a second is turned away while
    // the first is connected.
    let ws_url = format!("ws://{addr}/websocket");
    let (first, driver) = WebSocketClient::builder(ws_url.parse().unwrap())
        .compat_mode(CompatMode::V0_38)
        .build()
        .await
        .unwrap();
    let driving = tokio::spawn(driver.run());
    let second = WebSocketClient::builder(ws_url.parse().unwrap())
        .compat_mode(CompatMode::V0_38)
        .build()
        .await;
    assert!(second.is_err(), "a second websocket client was let in");
    first.close().unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(10), driving).await;
    // The node is still up after all of that.
    let client = HttpClient::new(format!("http://{addr}").as_str()).unwrap();
    client.health().await.unwrap();
    node.shutdown().await;
}
