#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn cometbft_addresses_become_multiaddrs() {
    let m = |s: &str| listen_multiaddr(s).unwrap().to_string();
    assert_eq!(m("tcp://127.0.0.1:26656"), "/ip4/127.0.0.1/tcp/26656");
    assert_eq!(m("tcp://0.0.0.0:26656"), "/ip4/0.0.0.0/tcp/26656");
    assert_eq!(m("[::1]:9"), "/ip6/::1/tcp/9");
    assert_eq!(m("/ip4/10.0.0.1/tcp/5"), "/ip4/10.0.0.1/tcp/5");
    assert_eq!(m("tcp://localhost:7"), "/ip4/127.0.0.1/tcp/7");
    assert!(listen_multiaddr("tcp://127.0.0.1").is_err());
    assert!(listen_multiaddr("tcp://127.0.0.1:http").is_err());
}

#[test]
fn peers_are_node_id_at_address_or_multiaddrs() {
    let id = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(
        peer_multiaddr(&format!("{id}@127.0.0.1:26656"))
            .unwrap()
            .to_string(),
        "/ip4/127.0.0.1/tcp/26656"
    );
    assert_eq!(
        peer_multiaddr("/ip4/127.0.0.1/tcp/1").unwrap().to_string(),
        "/ip4/127.0.0.1/tcp/1"
    );
    assert!(peer_multiaddr("nothex@127.0.0.1:1").is_err());
}

#[test]
fn proxy_app_is_a_tcp_or_unix_address() {
    assert_eq!(
        abci_address("tcp://127.0.0.1:26658").unwrap(),
        "tcp://127.0.0.1:26658"
    );
    assert_eq!(
        abci_address("127.0.0.1:26658").unwrap(),
        "tcp://127.0.0.1:26658"
    );
    assert_eq!(
        abci_address("unix:///tmp/a.sock").unwrap(),
        "unix:///tmp/a.sock"
    );
    assert!(abci_address("kvstore").is_err());
    assert!(abci_address("unix://").is_err());
}

#[test]
fn an_empty_host_listens_everywhere() {
    assert_eq!(
        socket_address(":26660").unwrap(),
        "0.0.0.0:26660".parse().unwrap()
    );
    assert!(socket_address("unix:///x").is_err());
}

#[test]
fn mempool_gossip_listens_and_dials_beside_the_p2p_ports() {
    let mut config = CometConfig::default();
    assert!(mempool_gossip(&config).unwrap().is_none());
    config.p2p.laddr = "tcp://127.0.0.1:26656".into();
    config.p2p.persistent_peers = vec![
        format!("{}@127.0.0.1:26666", "cd".repeat(20)),
        "/ip4/127.0.0.1/tcp/26676".into(),
    ];
    let gossip = mempool_gossip(&config).unwrap().unwrap();
    assert_eq!(gossip.listen_addr.to_string(), "/ip4/127.0.0.1/tcp/26661");
    assert_eq!(
        gossip
            .peers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        vec!["/ip4/127.0.0.1/tcp/26671", "/ip4/127.0.0.1/tcp/26681"]
    );
    assert_eq!(gossip.max_tx_bytes, 1 << 20);
    config.p2p.laddr = "tcp://127.0.0.1:65534".into();
    assert!(mempool_gossip(&config).is_err());
}

#[test]
fn address_errors_name_the_address_as_written() {
    let err = |r: Result<Multiaddr, AddressError>| r.unwrap_err().to_string();
    assert_eq!(
        err(listen_multiaddr("tcp://127.0.0.1:http")),
        r#""tcp://127.0.0.1:http": "http" is not a port number"#
    );
    assert_eq!(
        err(peer_multiaddr("nothex@127.0.0.1:1")),
        r#""nothex@127.0.0.1:1": "nothex" is not a CometBFT node id (40 hex digits)"#
    );
    assert_eq!(
        err(peer_multiaddr(&format!("{}@127.0.0.1", "ab".repeat(20)))),
        r#"peer "127.0.0.1" is not HOST:PORT"#
    );
    assert_eq!(
        abci_address("kvstore").unwrap_err().to_string(),
        r#""kvstore" is not an app address: use tcp://HOST:PORT or unix://PATH (synod-node has no built-in apps)"#
    );
    let mut config = CometConfig::default();
    config.p2p.laddr = "tcp://127.0.0.1:65534".into();
    config.p2p.persistent_peers = vec!["/ip4/127.0.0.1/tcp/1".into()];
    assert_eq!(
        mempool_gossip(&config).unwrap_err().to_string(),
        "/ip4/127.0.0.1/tcp/65534: mempool gossip needs a fixed TCP port of at most 65530 (it uses that port plus 5)"
    );
}

#[test]
fn the_consensus_section_comes_back_from_the_settings() {
    let testnet = ConsensusConfig {
        timeout_propose: Duration::from_secs(2),
        timeout_commit: Duration::from_millis(500),
        ..ConsensusConfig::default()
    };
    assert_eq!(
        consensus_config(&timeouts(&testnet), Some(testnet.timeout_commit)),
        testnet
    );
    let no_pause = ConsensusConfig {
        timeout_commit: Duration::ZERO,
        ..ConsensusConfig::default()
    };
    assert_eq!(consensus_config(&timeouts(&no_pause), None), no_pause);
}

#[test]
fn cometbft_default_timeouts_map_to_malachite_defaults() {
    assert_eq!(
        timeouts(&ConsensusConfig::default()),
        LinearTimeouts::default()
    );
}
