//! Homes in CometBFT layout run the node: a home written by the library
//! loads into the right settings, and the real `synod-node` binary started on
//! one drives a real `synod-app` process through several blocks.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use synod_abci_app::{
    abci_client::AbciClient,
    testkit::{free_port, AppProcess},
};
use synod_consensus_config::testkit::{assert_ended_quietly, run_with_stdout_closed};
use synod_consensus_config::{
    init_home, tendermint::Time, CometConfig, GenesisOptions, NodeKey, PrivValidatorKey,
};
use synod_node::home::{self, HomeError};
use synod_protocol::{GenesisAppState, SecretKey};

const NODE_BIN: &str = env!("CARGO_BIN_EXE_synod-node");

fn options(seed: u64) -> GenesisOptions {
    GenesisOptions {
        seed: Some(seed),
        genesis_time: Some(Time::from_unix_timestamp(1_700_000_000, 0).unwrap()),
        ..GenesisOptions::default()
    }
}

#[test]
fn an_initialized_home_loads_into_node_settings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("home");
    let peer_id = "ab".repeat(20);
    let mut config = CometConfig::default();
    config.p2p.laddr = "tcp://127.0.0.1:36656".into();
    config.p2p.persistent_peers = vec![
        format!("{peer_id}@127.0.0.1:36666"),
        "/ip4/127.0.0.1/tcp/36676".into(),
    ];
    config.consensus.timeout_propose = Duration::from_millis(1200);
    config.consensus.timeout_commit = Duration::from_millis(250);
    config.mempool.size = 42;
    config.mempool.max_tx_bytes = 4096;
    config.instrumentation.prometheus = true;
    config.instrumentation.prometheus_listen_addr = "127.0.0.1:36660".into();
    let summary = init_home(&path, "alice", "synod-home-test", &config, &options(3)).unwrap();

    let node = home::load(&path).unwrap();
    let s = &node.settings;
    assert_eq!(s.home, path);
    assert_eq!(s.moniker, "alice");
    assert_eq!(
        SecretKey::from_seed(s.consensus_key).public(),
        summary.consensus_key
    );
    let stored = PrivValidatorKey::read(&path.join("config/priv_validator_key.json")).unwrap();
    assert_eq!(s.consensus_key, stored.0.to_seed());
    assert_eq!(
        NodeKey(SecretKey::from_seed(s.node_key)).node_id(),
        summary.node_id
    );
    assert_eq!(node.node_id, summary.node_id);
    assert_eq!(node.validator_address, summary.validator_address);
    assert_eq!(s.listen_addr.to_string(), "/ip4/127.0.0.1/tcp/36656");
    assert_eq!(
        s.persistent_peers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec!["/ip4/127.0.0.1/tcp/36666", "/ip4/127.0.0.1/tcp/36676"]
    );
    let gossip = s.mempool_gossip.as_ref().unwrap();
    assert_eq!(gossip.listen_addr.to_string(), "/ip4/127.0.0.1/tcp/36661");
    assert_eq!(gossip.peers.len(), 2);
    assert_eq!(gossip.max_tx_bytes, 4096);
    assert_eq!(s.abci_address, "tcp://127.0.0.1:26658");
    assert_eq!(s.timeouts.propose, Duration::from_millis(1200));
    assert_eq!(s.timeouts.propose_delta, Duration::from_millis(500));
    assert_eq!(s.timeouts.prevote, Duration::from_secs(1));
    assert_eq!(s.timeouts.precommit_delta, Duration::from_millis(500));
    assert_eq!(s.timeouts.rebroadcast, Duration::from_millis(3200));
    assert_eq!(s.target_block_time, Some(Duration::from_millis(250)));
    assert_eq!(s.mempool.max_txs, 42);
    assert_eq!(s.mempool.max_tx_bytes, 4096);
    assert_eq!(s.mempool.max_bytes, 1 << 30);
    assert_eq!(s.rpc_address, Some("127.0.0.1:26657".parse().unwrap()));
    assert_eq!(s.metrics_address, Some("127.0.0.1:36660".parse().unwrap()));
    assert_eq!(
        s.genesis_json.as_deref(),
        Some(
            std::fs::read_to_string(path.join("config/genesis.json"))
                .unwrap()
                .as_str()
        )
    );

    let init = &node.init_chain;
    assert_eq!(init.chain_id, "synod-home-test");
    assert_eq!(init.initial_height, 1);
    assert_eq!(init.time.unwrap().seconds, 1_700_000_000);
    assert_eq!(init.validators.len(), 1);
    let app_state: GenesisAppState = serde_json::from_slice(&init.app_state_bytes).unwrap();
    assert_eq!(app_state.validators[0].operator, summary.operator);
    assert_eq!(app_state.validators[0].consensus_key, summary.consensus_key);
    assert_eq!(app_state.accounts[0].address, summary.operator);
}

/// Rewrites one line of a home's config.toml.
fn edit_config(home: &Path, from: &str, to: &str) {
    let path = home.join("config/config.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "config.toml has no {from:?}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn settings_the_node_cannot_use_are_named() {
    let dir = tempfile::tempdir().unwrap();
    init_home(dir.path(), "v", "c", &CometConfig::default(), &options(1)).unwrap();

    edit_config(
        dir.path(),
        "laddr = \"tcp://0.0.0.0:26656\"",
        "laddr = \"nowhere\"",
    );
    let err = home::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            HomeError::Setting {
                key: "p2p.laddr",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("config/config.toml"), "{err}");
    edit_config(
        dir.path(),
        "laddr = \"nowhere\"",
        "laddr = \"tcp://0.0.0.0:26656\"",
    );

    edit_config(dir.path(), "abci = \"socket\"", "abci = \"grpc\"");
    let err = home::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("`abci`"), "{err}");
    edit_config(dir.path(), "abci = \"grpc\"", "abci = \"socket\"");

    edit_config(
        dir.path(),
        "proxy_app = \"tcp://127.0.0.1:26658\"",
        "proxy_app = \"kvstore\"",
    );
    let err = home::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("proxy_app"), "{err}");
    edit_config(
        dir.path(),
        "proxy_app = \"kvstore\"",
        "proxy_app = \"tcp://127.0.0.1:26658\"",
    );

    // Off unless asked for.
    edit_config(
        dir.path(),
        "laddr = \"tcp://127.0.0.1:26657\"",
        "laddr = \"\"",
    );
    let node = home::load(dir.path()).unwrap();
    assert_eq!(node.settings.rpc_address, None);
    assert_eq!(node.settings.metrics_address, None);
    // A lone node has no one to gossip txs with.
    assert!(node.settings.mempool_gossip.is_none());
}

#[test]
fn the_cli_initializes_a_home_once_and_shows_its_ids() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("home");
    let init = || {
        Command::new(NODE_BIN)
            .args([
                "init",
                "--moniker",
                "bob",
                "--chain-id",
                "cli-chain",
                "--seed",
                "4",
            ])
            .arg("--home")
            .arg(&path)
            .output()
            .unwrap()
    };
    let first = init();
    assert!(first.status.success(), "{first:?}");
    let node = home::load(&path).unwrap();
    assert_eq!(node.settings.moniker, "bob");
    assert_eq!(node.init_chain.chain_id, "cli-chain");

    let again = init();
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("refusing to overwrite"), "{stderr}");

    let show = |what: &str| {
        let out = Command::new(NODE_BIN)
            .args([what, "--home"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert_eq!(show("show-node-id"), node.node_id.to_string());
    let validator: serde_json::Value = serde_json::from_str(&show("show-validator")).unwrap();
    assert_eq!(validator["type"], "tendermint/PubKeyEd25519");
}

#[test]
fn init_writes_the_timeouts_it_is_given_and_a_closed_pipe_ends_it_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("home");
    // `synod-node init … | head -0`: the reader is gone before the summary.
    let out = run_with_stdout_closed(
        Command::new(NODE_BIN)
            .args(["init", "--moniker", "carol", "--seed", "5"])
            .args(["--timeout-commit", "500ms", "--timeout-propose", "2s"])
            .arg("--home")
            .arg(&path),
        None,
    );
    assert_ended_quietly(&out, "synod-node init");
    let loaded = synod_consensus_config::load_home(&path).unwrap();
    assert_eq!(
        loaded.config.consensus.timeout_commit,
        Duration::from_millis(500)
    );
    assert_eq!(
        loaded.config.consensus.timeout_propose,
        Duration::from_secs(2)
    );
    // What was not given keeps CometBFT's default.
    assert_eq!(
        loaded.config.consensus.timeout_prevote,
        Duration::from_secs(1)
    );

    // No node at --from-node: an error that names it, and no home.
    let out = Command::new(NODE_BIN)
        .args(["init", "--from-node", "http://127.0.0.1:1", "--home"])
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("http://127.0.0.1:1"), "{stderr}");
    assert!(!dir.path().join("other").exists());
}

/// The body of `GET path` from the HTTP server at `address` (HOST:PORT).
fn http_get(address: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or(response)
}

/// The `synod-app` binary: built beside `synod-node` (`cargo test --workspace`
/// builds both; alone, run `cargo build -p synod-abci-app --bin synod-app` first).
fn app_binary() -> PathBuf {
    let path =
        Path::new(NODE_BIN).with_file_name(format!("synod-app{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p synod-abci-app --bin synod-app` (cargo test --workspace builds it)",
        path.display()
    );
    path
}

/// A `synod-node` child process, killed on drop (also when the test fails).
struct NodeProcess {
    child: Child,
    log: PathBuf,
}

impl NodeProcess {
    fn start(home: &Path, proxy_app: &str) -> NodeProcess {
        let log = home.join("synod-node.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(NODE_BIN)
            .arg("start")
            .arg("--home")
            .arg(home)
            .args(["--proxy-app", proxy_app, "--log-level", "info"])
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        NodeProcess { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_node_binary_drives_the_app_binary_through_blocks_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let node_home = dir.path().join("node");
    let mut config = CometConfig::default();
    config.p2p.laddr = format!("tcp://127.0.0.1:{}", free_port().unwrap());
    config.rpc.laddr = format!("tcp://127.0.0.1:{}", free_port().unwrap());
    config.consensus.timeout_propose = Duration::from_millis(800);
    config.consensus.timeout_commit = Duration::from_millis(200);
    init_home(&node_home, "solo", "synod-bin-test", &config, &options(8)).unwrap();

    let app = AppProcess::start(
        &app_binary(),
        &dir.path().join("app"),
        Duration::from_secs(30),
    )
    .unwrap();
    let mut node = NodeProcess::start(&node_home, &app.address);

    // Bounded wait: the app reports height 3 through ABCI Info.
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut client = AbciClient::connect(&app.address, Duration::from_secs(10)).unwrap();
    let height = loop {
        let height = client.info().unwrap().last_block_height;
        if height >= 3 {
            break height;
        }
        if let Some(status) = node.child.try_wait().unwrap() {
            panic!("synod-node exited with {status}:\n{}", node.log());
        }
        assert!(
            Instant::now() < deadline,
            "the app is at height {height} after 60 s; node log:\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(height >= 3);

    // A lone validator is never catching up, and having no peer to gossip
    // to is not an error in its log.
    let rpc = config.rpc.laddr.trim_start_matches("tcp://").to_string();
    let status = http_get(&rpc, "/status");
    assert!(status.contains("\"catching_up\":false"), "{status}");
    assert!(
        !node.log().contains("NoPeersSubscribedToTopic"),
        "{}",
        node.log()
    );
    // A new home takes the network's consensus timeouts from this node.
    let joiner = dir.path().join("joiner");
    let init = Command::new(NODE_BIN)
        .args(["init", "--moniker", "joiner", "--seed", "9", "--from-node"])
        .arg(format!("http://{rpc}"))
        .arg("--home")
        .arg(&joiner)
        .output()
        .unwrap();
    assert!(init.status.success(), "{init:?}");
    let loaded = synod_consensus_config::load_home(&joiner).unwrap();
    assert_eq!(loaded.config.consensus, config.consensus);
    assert!(
        String::from_utf8_lossy(&init.stdout)
            .contains("timeout_commit 200ms, timeout_propose 800ms (the network's"),
        "{}",
        String::from_utf8_lossy(&init.stdout)
    );

    // SIGTERM: the node shuts down and exits 0.
    let killed = Command::new("kill")
        .args(["-TERM", &node.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = node.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "synod-node did not stop within 30 s of SIGTERM:\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "exit {status}:\n{}", node.log());
    assert!(node.log().contains("shutting down"), "{}", node.log());
}

#[test]
fn when_the_app_dies_the_node_stops_with_an_error_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let node_home = dir.path().join("node");
    let mut config = CometConfig::default();
    config.p2p.laddr = format!("tcp://127.0.0.1:{}", free_port().unwrap());
    config.rpc.laddr = format!("tcp://127.0.0.1:{}", free_port().unwrap());
    config.consensus.timeout_propose = Duration::from_millis(800);
    config.consensus.timeout_commit = Duration::from_millis(200);
    init_home(&node_home, "solo", "synod-bin-test", &config, &options(9)).unwrap();
    let mut app = AppProcess::start(
        &app_binary(),
        &dir.path().join("app"),
        Duration::from_secs(30),
    )
    .unwrap();
    let mut node = NodeProcess::start(&node_home, &app.address);
    let mut client = AbciClient::connect(&app.address, Duration::from_secs(10)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client.info().unwrap().last_block_height < 2 {
        assert!(Instant::now() < deadline, "no blocks:\n{}", node.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    // SIGKILL the app: the node notices at its next ABCI call and exits non-zero.
    app.kill();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = node.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "synod-node kept running without its app:\n{}",
            node.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(!status.success(), "exit {status}");
    let log = node.log();
    assert!(log.contains("the node stopped"), "{log}");
    assert!(log.contains(&app.address), "the error names the app: {log}");
}

#[test]
fn the_node_binary_fails_clearly_without_a_home() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(NODE_BIN)
        .arg("start")
        .arg("--home")
        .arg(dir.path().join("absent"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("config.toml"), "{stderr}");
}

/// A base port whose block of `count` ports all bind on loopback, below the
/// ephemeral range so that other tests' free ports cannot take them meanwhile.
fn free_port_block(count: u16) -> u16 {
    let start = 20_000 + (std::process::id() % 400) as u16 * 20;
    (0..200u16)
        .map(|i| 20_000 + (start - 20_000 + i * 50) % 10_000)
        .find(|&base| {
            (base..base + count).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
        })
        .expect("no free block of loopback ports")
}

#[test]
fn a_generated_network_of_node_and_app_binaries_agrees_on_every_block() {
    use synod_consensus_config::{generate_network, home::PORTS_PER_NODE, NetworkSpec};
    let dir = tempfile::tempdir().unwrap();
    let mut spec = NetworkSpec::new(dir.path(), 3, "synod-net");
    spec.base_port = free_port_block(3 * PORTS_PER_NODE);
    spec.genesis = options(21);
    spec.config.consensus.timeout_commit = Duration::from_millis(300);
    let homes = generate_network(&spec).unwrap();
    // Each validator's app serves where its home's proxy_app points.
    let apps: Vec<AppProcess> = homes
        .iter()
        .map(|h| {
            AppProcess::start_at(
                &app_binary(),
                &h.home.join("app"),
                &h.proxy_app,
                Duration::from_secs(30),
            )
            .unwrap()
        })
        .collect();
    let nodes: Vec<NodeProcess> = homes
        .iter()
        .map(|h| NodeProcess::start(&h.home, &h.proxy_app))
        .collect();
    let mut clients: Vec<AbciClient> = apps
        .iter()
        .map(|a| AbciClient::connect(&a.address, Duration::from_secs(10)).unwrap())
        .collect();

    // Bounded wait: every app at the same height >= 3, with the same app hash.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let infos: Vec<_> = clients.iter_mut().map(|c| c.info().unwrap()).collect();
        let height = infos[0].last_block_height;
        if height >= 3 && infos.iter().all(|i| i.last_block_height == height) {
            assert!(
                infos
                    .iter()
                    .all(|i| i.last_block_app_hash == infos[0].last_block_app_hash),
                "app hashes differ at height {height}"
            );
            break;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = nodes.iter().map(NodeProcess::log).collect();
            panic!(
                "heights {:?} after 90 s; node logs:\n{}",
                infos
                    .iter()
                    .map(|i| i.last_block_height)
                    .collect::<Vec<_>>(),
                logs.join("\n----\n")
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
