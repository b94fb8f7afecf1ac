//! A lone validator serving CometBFT's RPC on loopback, with the real Synod
//! app in-process and a genesis document, for the RPC tests; and raw HTTP
//! calls to it (status, headers and body as sent).

use std::{net::SocketAddr, path::Path, time::Duration};

use serde_json::{json, Value};
use synod_abci_app::testkit::{key, TestNet, CHAIN_ID};
use synod_node::{
    handle::NodeHandle,
    mempool::MempoolConfig,
    node::{start, NodeSettings},
};
use synod_protocol::params::ChainParams;

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A lone validator serving RPC on a free port; its app is at `dir/app`.
pub fn rpc_settings(dir: &Path, moniker: &str, node_key: [u8; 32]) -> NodeSettings {
    NodeSettings {
        home: dir.join("node"),
        moniker: moniker.into(),
        consensus_key: key("consensus-0").to_seed(),
        node_key,
        listen_addr: format!("/ip4/127.0.0.1/tcp/{}", free_port())
            .parse()
            .unwrap(),
        persistent_peers: vec![],
        peer_discovery: false,
        abci_address: format!("unix://{}", dir.join("app").join("abci.sock").display()),
        timeouts: Default::default(),
        target_block_time: Some(Duration::from_millis(200)),
        mempool: MempoolConfig::default(),
        rpc_address: Some("127.0.0.1:0".parse().unwrap()),
        rpc_limits: Default::default(),
        metrics_address: None,
        genesis_json: None,
        mempool_gossip: None,
        faults: Default::default(),
    }
}

/// A CometBFT genesis document for `net` (validators from the app state).
pub fn genesis_json(net: &TestNet) -> Value {
    json!({
        "genesis_time": "2023-11-14T22:13:20Z",
        "chain_id": CHAIN_ID,
        "initial_height": "1",
        "consensus_params": {
            "block": {"max_bytes": "22020096", "max_gas": "-1"},
            "evidence": {"max_age_num_blocks": "100000", "max_age_duration": "172800000000000", "max_bytes": "1048576"},
            "validator": {"pub_key_types": ["ed25519"]},
            "version": {"app": "0"}
        },
        "validators": [],
        "app_hash": "",
        "app_state": serde_json::from_slice::<Value>(&net.app_state_json()).unwrap(),
    })
}

/// A running RPC node and what the test needs to drive it.
pub struct RpcNode {
    pub node: NodeHandle,
    pub net: TestNet,
    pub addr: SocketAddr,
    /// Where its consensus network listens (a peer's `persistent_peers`).
    pub listen_addr: libp2p::Multiaddr,
    /// Holds the node's and the app's data until the test ends.
    pub dir: tempfile::TempDir,
}

impl RpcNode {
    /// A validator with the real app (`users` funded accounts) and a
    /// genesis document, serving RPC; `moniker` names it.
    pub async fn start(moniker: &str, node_key: [u8; 32], users: usize) -> RpcNode {
        RpcNode::start_with(moniker, node_key, users, |_| {}).await
    }

    /// [`RpcNode::start`], with the settings changed by `tweak` first.
    pub async fn start_with(
        moniker: &str,
        node_key: [u8; 32],
        users: usize,
        tweak: impl FnOnce(&mut NodeSettings),
    ) -> RpcNode {
        let dir = tempfile::tempdir().unwrap();
        let net = TestNet::new(1, users, ChainParams::default());
        super::serve_app(&dir.path().join("app")).await;
        let mut settings = rpc_settings(dir.path(), moniker, node_key);
        settings.genesis_json = Some(genesis_json(&net).to_string());
        tweak(&mut settings);
        let listen_addr = settings.listen_addr.clone();
        let node = start(settings, super::init_request(&net)).await.unwrap();
        let addr = node.rpc_address.unwrap();
        RpcNode {
            node,
            net,
            addr,
            listen_addr,
            dir,
        }
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The JSON-RPC `result` of `method` with named `params` (panics on an error).
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (status, _, text) = http(self.addr, "POST", "/", Some(body.to_string())).await;
        let answer: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method}: HTTP {status}, not JSON ({e}): {text}"));
        match answer.get("result") {
            Some(r) if answer.get("error").is_none() => r.clone(),
            _ => panic!("{method} {params}: {answer}"),
        }
    }

    /// Waits (at most 60 s) until the node has committed height `h`.
    pub async fn wait_for_height(&self, h: u64) {
        for _ in 0..600 {
            let status = self.call("status", json!({})).await;
            let height: u64 = status["sync_info"]["latest_block_height"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            if height >= h {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("height {h} not reached within 60 s");
    }
}

/// One HTTP request to `addr` (10 s at most): the status, the headers
/// (lower-case names) and the body.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path_and_query: &str,
    body: Option<String>,
) -> (u16, Vec<(String, String)>, String) {
    let request = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path_and_query}"))
        .header("content-type", "application/json")
        .body(hyper::Body::from(body.unwrap_or_default()))
        .unwrap();
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        hyper::Client::new().request(request),
    )
    .await
    .unwrap_or_else(|_| panic!("{method} {path_and_query}: no answer within 10 s"))
    .unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
        .collect();
    let bytes = hyper::body::to_bytes(response.into_body()).await.unwrap();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}
