//! Homes written, read back and checked as a node would load them.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use synod_consensus_config::{
    config::CometConfig, generate_network, home::OPERATOR_KEY_FILE, init_home, load_home,
    ConfigError, GenesisOptions, NetworkSpec, NodeKey, OperatorKey, PrivValidatorKey,
};
use synod_protocol::{Amount, GenesisAccount, GenesisAppState, SecretKey};
use tendermint::Time;

fn options(seed: u64) -> GenesisOptions {
    GenesisOptions {
        seed: Some(seed),
        genesis_time: Some(Time::from_unix_timestamp(1_700_000_000, 0).unwrap()),
        extra_accounts: vec![GenesisAccount {
            address: SecretKey::from_seed([9; 32]).public().address(),
            balance: Amount::syn(5),
        }],
        ..GenesisOptions::default()
    }
}

#[test]
fn an_initialized_home_reads_back_with_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    let mut config = CometConfig::default();
    config.consensus.timeout_commit = Duration::from_millis(250);
    config.mempool.size = 123;
    config.instrumentation.prometheus = true;
    let summary = init_home(&home, "alice", "synod-one", &config, &options(1)).unwrap();

    let loaded = load_home(&home).unwrap();
    assert_eq!(
        loaded.config,
        CometConfig {
            moniker: "alice".into(),
            ..config
        }
    );
    assert_eq!(loaded.node_key.node_id(), summary.node_id);
    assert_eq!(loaded.validator_key.address(), summary.validator_address);
    assert_eq!(loaded.validator_key.public(), summary.consensus_key);
    let operator = OperatorKey::read(&home.join(OPERATOR_KEY_FILE)).unwrap();
    assert_eq!(operator.address(), summary.operator);
    assert!(home.join("data").is_dir());
    let signer: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(home.join("data/priv_validator_state.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(signer["height"], "0");

    let genesis = &loaded.genesis;
    assert_eq!(genesis.doc.chain_id.as_str(), "synod-one");
    assert_eq!(genesis.doc.initial_height, 1);
    assert_eq!(genesis.doc.validators.len(), 1);
    assert_eq!(genesis.doc.validators[0].address, summary.validator_address);
    assert_eq!(genesis.doc.validators[0].name.as_deref(), Some("alice"));
    let app_state: GenesisAppState = genesis.synod_app_state().unwrap();
    assert_eq!(app_state.validators.len(), 1);
    let v = &app_state.validators[0];
    assert_eq!(v.operator, summary.operator);
    assert_eq!(v.consensus_key, summary.consensus_key);
    assert_eq!(v.moniker, "alice");
    assert_eq!(v.self_bond, GenesisOptions::default().self_bond);
    assert_eq!(app_state.accounts.len(), 2);
    assert_eq!(app_state.accounts[0].address, summary.operator);
    assert_eq!(
        app_state.accounts[0].balance,
        GenesisOptions::default().operator_balance
    );
    assert_eq!(app_state.accounts[1], options(1).extra_accounts[0]);
    assert_eq!(app_state.params, Default::default());

    let request = genesis.init_chain_request().unwrap();
    assert_eq!(request.chain_id, "synod-one");
    assert_eq!(request.time.unwrap().seconds, 1_700_000_000);
    assert_eq!(
        serde_json::from_slice::<GenesisAppState>(&request.app_state_bytes).unwrap(),
        app_state
    );
}

#[test]
fn the_same_seed_gives_the_same_home() {
    let dir = tempfile::tempdir().unwrap();
    let config = CometConfig::default();
    init_home(&dir.path().join("a"), "v", "c", &config, &options(5)).unwrap();
    init_home(&dir.path().join("b"), "v", "c", &config, &options(5)).unwrap();
    for file in [
        "config/genesis.json",
        "config/node_key.json",
        "config/priv_validator_key.json",
        "config/operator_key.json",
        "config/config.toml",
    ] {
        assert_eq!(
            std::fs::read(dir.path().join("a").join(file)).unwrap(),
            std::fs::read(dir.path().join("b").join(file)).unwrap(),
            "{file}"
        );
    }
}

#[test]
fn an_existing_home_is_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let config = CometConfig::default();
    init_home(dir.path(), "v", "c", &config, &options(1)).unwrap();
    let before = std::fs::read(dir.path().join("config/priv_validator_key.json")).unwrap();
    let err = init_home(dir.path(), "v", "c", &config, &options(2)).unwrap_err();
    assert!(matches!(err, ConfigError::AlreadyExists { .. }), "{err}");
    assert!(err.to_string().contains("refusing to overwrite"), "{err}");
    let after = std::fs::read(dir.path().join("config/priv_validator_key.json")).unwrap();
    assert_eq!(before, after);
}

fn expect_error_naming(home: &Path, file: &str) {
    let err = load_home(home).unwrap_err();
    assert!(
        err.to_string().contains(file),
        "error should name {file}: {err}"
    );
}

#[test]
fn a_missing_or_corrupt_file_is_named_in_the_error() {
    for file in [
        "config/config.toml",
        "config/genesis.json",
        "config/node_key.json",
        "config/priv_validator_key.json",
    ] {
        let dir = tempfile::tempdir().unwrap();
        init_home(dir.path(), "v", "c", &CometConfig::default(), &options(1)).unwrap();
        let path = dir.path().join(file);
        std::fs::remove_file(&path).unwrap();
        expect_error_naming(dir.path(), file);
        std::fs::write(&path, "{ this is [ not valid").unwrap();
        expect_error_naming(dir.path(), file);
    }
}

#[test]
fn a_bad_config_value_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    init_home(dir.path(), "v", "c", &CometConfig::default(), &options(1)).unwrap();
    let path = dir.path().join("config/config.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("timeout_commit = \"1s\"", "timeout_commit = \"soon\"");
    std::fs::write(&path, text).unwrap();
    let err = load_home(dir.path()).unwrap_err();
    assert!(err.to_string().contains("config/config.toml"), "{err}");
    assert!(
        err.to_string().contains("consensus.timeout_commit"),
        "{err}"
    );
}

#[test]
fn a_validator_key_with_a_foreign_public_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    init_home(dir.path(), "v", "c", &CometConfig::default(), &options(1)).unwrap();
    let path = dir.path().join("config/priv_validator_key.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    // The public key (and address) of another key, beside this private key.
    let other = dir.path().join("other.json");
    PrivValidatorKey(SecretKey::from_seed([4; 32]))
        .write(&other)
        .unwrap();
    let other: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&other).unwrap()).unwrap();
    json["pub_key"] = other["pub_key"].clone();
    std::fs::write(&path, json.to_string()).unwrap();
    let err = load_home(dir.path()).unwrap_err();
    assert!(matches!(err, ConfigError::KeyMismatch { .. }), "{err}");
    assert!(err.to_string().contains("priv_validator_key.json"), "{err}");
}

#[cfg(unix)]
#[test]
fn private_key_files_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    init_home(dir.path(), "v", "c", &CometConfig::default(), &options(1)).unwrap();
    for file in [
        "config/node_key.json",
        "config/priv_validator_key.json",
        "config/operator_key.json",
        "data/priv_validator_state.json",
    ] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}");
    }
}

#[test]
fn a_four_validator_network_is_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = NetworkSpec::new(dir.path(), 4, "synod-net");
    spec.base_port = 31000;
    spec.genesis = options(11);
    let homes = generate_network(&spec).unwrap();
    assert_eq!(homes.len(), 4);

    // One genesis, byte for byte, listing every validator.
    let genesis: Vec<Vec<u8>> = homes
        .iter()
        .map(|h| std::fs::read(h.home.join("config/genesis.json")).unwrap())
        .collect();
    assert!(genesis.iter().all(|g| g == &genesis[0]));
    let loaded: Vec<_> = homes.iter().map(|h| load_home(&h.home).unwrap()).collect();
    let app_state = loaded[0].genesis.synod_app_state().unwrap();
    assert_eq!(app_state.validators.len(), 4);
    // 4 operators, the faucet (on by default), the extra account.
    assert_eq!(app_state.accounts.len(), 6);
    assert_eq!(loaded[0].genesis.doc.validators.len(), 4);
    for (h, v) in homes.iter().zip(&app_state.validators) {
        assert_eq!(v.operator, h.operator);
        assert_eq!(v.consensus_key, h.consensus_key);
        assert_eq!(v.moniker, h.moniker);
    }

    // Distinct ports everywhere.
    let mut ports = BTreeSet::new();
    for l in &loaded {
        let c = &l.config;
        for addr in [
            &c.p2p.laddr,
            &c.rpc.laddr,
            &c.proxy_app,
            &c.instrumentation.prometheus_listen_addr,
        ] {
            assert!(addr.contains("127.0.0.1:"), "{addr}");
            let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
            assert!(ports.insert(port), "port {port} used twice");
        }
        assert!(!c.p2p.addr_book_strict);
        assert!(c.p2p.allow_duplicate_ip);
    }
    assert_eq!(ports.len(), 16);

    // Each lists every other as nodeid@127.0.0.1:port, and not itself.
    for (i, l) in loaded.iter().enumerate() {
        let expected: BTreeSet<String> = homes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, h)| {
                format!(
                    "{}@127.0.0.1:{}",
                    h.node_id,
                    h.p2p_laddr.rsplit(':').next().unwrap()
                )
            })
            .collect();
        let listed: BTreeSet<String> = l.config.p2p.persistent_peers.iter().cloned().collect();
        assert_eq!(listed, expected, "peers of node{i}");
        assert_eq!(l.node_key.node_id(), homes[i].node_id);
        let node_key = NodeKey::read(&homes[i].home.join("config/node_key.json")).unwrap();
        assert_eq!(node_key.node_id().to_string().len(), 40);
    }

    // The same seed again gives the same network; writing over it is refused.
    let err = generate_network(&spec).unwrap_err();
    assert!(matches!(err, ConfigError::AlreadyExists { .. }), "{err}");
    let again = tempfile::tempdir().unwrap();
    let mut spec2 = spec.clone();
    spec2.dir = again.path().to_path_buf();
    let homes2 = generate_network(&spec2).unwrap();
    assert_eq!(
        homes.iter().map(|h| h.node_id).collect::<Vec<_>>(),
        homes2.iter().map(|h| h.node_id).collect::<Vec<_>>()
    );
}

#[test]
fn a_network_past_the_last_port_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = NetworkSpec::new(dir.path(), 4, "synod-net");
    spec.base_port = 65_520;
    let err = generate_network(&spec).unwrap_err();
    assert!(err.to_string().contains("65535"), "{err}");
    assert!(!dir.path().join("node0").exists());
}

#[test]
fn unseeded_networks_get_fresh_keys() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate_network(&NetworkSpec::new(dir.path().join("a"), 2, "n")).unwrap();
    let b = generate_network(&NetworkSpec::new(dir.path().join("b"), 2, "n")).unwrap();
    assert_ne!(a[0].node_id, b[0].node_id);
    assert_ne!(a[0].node_id, a[1].node_id);
}

#[test]
fn full_nodes_agents_and_a_faucet_get_homes_and_funded_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = NetworkSpec::new(dir.path(), 2, "synod-net");
    spec.base_port = 32000;
    spec.full_nodes = 2;
    spec.agents = 3;
    spec.agent_balance = Amount::syn(7);
    spec.faucet_balance = Some(Amount::syn(1_000));
    spec.genesis = options(3);
    let homes = generate_network(&spec).unwrap();

    // Validators first, then full nodes, on the same port scheme.
    let names: Vec<&str> = homes.iter().map(|h| h.moniker.as_str()).collect();
    assert_eq!(
        names,
        ["validator-0", "validator-1", "full-node-0", "full-node-1"]
    );
    let roles: Vec<bool> = homes.iter().map(|h| h.is_validator).collect();
    assert_eq!(roles, [true, true, false, false]);
    for (i, h) in homes.iter().enumerate() {
        assert_eq!(h.home, dir.path().join(format!("node{i}")));
        let ports = synod_consensus_config::NodePorts::of(32000, i).unwrap();
        assert_eq!(h.p2p_laddr, format!("tcp://127.0.0.1:{}", ports.p2p));
    }

    // Only validators are in the genesis validator set; every operator is funded.
    let loaded = load_home(&homes[3].home).unwrap();
    let app_state = loaded.genesis.synod_app_state().unwrap();
    let bonded: Vec<_> = app_state.validators.iter().map(|v| v.operator).collect();
    assert_eq!(bonded, [homes[0].operator, homes[1].operator]);
    assert_eq!(loaded.genesis.doc.validators.len(), 2);
    let balance = |address| {
        app_state
            .accounts
            .iter()
            .find(|a| a.address == address)
            .map(|a| a.balance)
    };
    for h in &homes {
        assert_eq!(
            balance(h.operator),
            Some(GenesisOptions::default().operator_balance)
        );
    }

    // Full nodes peer with every validator (and not with each other).
    let validator_peers: BTreeSet<String> = homes[..2]
        .iter()
        .map(|h| {
            format!(
                "{}@127.0.0.1:{}",
                h.node_id,
                h.p2p_laddr.rsplit(':').next().unwrap()
            )
        })
        .collect();
    for h in &homes[2..] {
        let config = load_home(&h.home).unwrap().config;
        let peers: BTreeSet<String> = config.p2p.persistent_peers.into_iter().collect();
        assert_eq!(peers, validator_peers, "peers of {}", h.moniker);
    }

    // User keys, in operator_key.json's format, each funded.
    let keys = spec.keys_dir();
    assert_eq!(keys, dir.path().join("keys"));
    let faucet = OperatorKey::read(&keys.join("faucet.json")).unwrap();
    assert_eq!(balance(faucet.address()), Some(Amount::syn(1_000)));
    for i in 0..3 {
        let agent = OperatorKey::read(&keys.join(format!("agent-{i}.json"))).unwrap();
        assert_eq!(balance(agent.address()), Some(Amount::syn(7)));
    }
    assert!(!keys.join("agent-3.json").exists());
    for h in &homes {
        let copy = OperatorKey::read(&keys.join(format!("{}.json", h.moniker))).unwrap();
        assert_eq!(copy.address(), h.operator);
        let original = OperatorKey::read(&h.home.join(OPERATOR_KEY_FILE)).unwrap();
        assert_eq!(copy.0.to_seed(), original.0.to_seed());
    }
    // 4 operators, faucet, 3 agents, the extra account.
    assert_eq!(app_state.accounts.len(), 9);
    assert!(synod_consensus_config::validate_genesis(&loaded.genesis.text).is_empty());

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for entry in std::fs::read_dir(&keys).unwrap() {
            let mode = entry.unwrap().metadata().unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // The key directory is a keyring: its owner's only, as docs/cli.md says.
        let mode = std::fs::metadata(&keys).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700, "keys/ is {:o}", mode & 0o777);
    }

    // A seed reproduces every key; writing over the keys is refused.
    let again = tempfile::tempdir().unwrap();
    let mut spec2 = spec.clone();
    spec2.dir = again.path().to_path_buf();
    generate_network(&spec2).unwrap();
    for file in [
        "faucet.json",
        "agent-2.json",
        "full-node-1.json",
        "validator-0.json",
    ] {
        assert_eq!(
            std::fs::read(keys.join(file)).unwrap(),
            std::fs::read(spec2.keys_dir().join(file)).unwrap(),
            "{file}"
        );
    }
    let err = generate_network(&spec).unwrap_err();
    assert!(matches!(err, ConfigError::AlreadyExists { .. }), "{err}");
}

#[test]
fn adding_full_nodes_and_agents_keeps_the_validators_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut plain = NetworkSpec::new(dir.path().join("a"), 3, "n");
    plain.genesis.seed = Some(21);
    let mut more = plain.clone();
    more.dir = dir.path().join("b");
    more.full_nodes = 1;
    more.agents = 2;
    let a = generate_network(&plain).unwrap();
    let b = generate_network(&more).unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(b.len(), 4);
    for (x, y) in a.iter().zip(&b) {
        assert_eq!((x.node_id, x.operator), (y.node_id, y.operator));
    }
}

#[test]
fn without_a_faucet_no_faucet_key_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = NetworkSpec::new(dir.path(), 1, "n");
    spec.faucet_balance = None;
    let homes = generate_network(&spec).unwrap();
    assert!(!spec.keys_dir().join("faucet.json").exists());
    assert!(spec.keys_dir().join("validator-0.json").exists());
    let app_state = load_home(&homes[0].home)
        .unwrap()
        .genesis
        .synod_app_state()
        .unwrap();
    assert_eq!(app_state.accounts.len(), 1);
}

#[test]
fn full_nodes_past_the_last_port_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = NetworkSpec::new(dir.path(), 1, "n");
    spec.base_port = 65_500;
    spec.full_nodes = 3;
    let err = generate_network(&spec).unwrap_err();
    assert!(err.to_string().contains("65535"), "{err}");
    assert!(!spec.keys_dir().exists());
}
