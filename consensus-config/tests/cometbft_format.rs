//! Generated homes match the formats CometBFT 0.38 documents and writes:
//! config.toml has exactly the keys of its default template, with Go's value
//! types; genesis.json and the key files parse as tendermint-rs's mirrors of
//! CometBFT's Go types; plus genesis validation and the `synod-config` binary.

#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use serde_json::{json, Value};
use synod_consensus_config::testkit::{assert_ended_quietly, run_with_stdout_closed};
use synod_consensus_config::{
    duration, generate_network, validate_genesis, HomeSummary, NetworkSpec,
};
use tendermint::Time;

const GOLDEN_KEYS: &str = include_str!("golden/cometbft-0.38-config-keys.txt");

/// `section.key -> type` from the golden file.
fn golden_keys() -> BTreeMap<String, String> {
    GOLDEN_KEYS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (key, kind) = l.split_once(' ').unwrap();
            (key.to_string(), kind.trim().to_string())
        })
        .collect()
}

/// Every `section.key` of a TOML document, with its value (one level of sections).
fn flatten(table: &toml::Table) -> BTreeMap<String, toml::Value> {
    let mut out = BTreeMap::new();
    for (key, value) in table {
        match value {
            toml::Value::Table(section) => {
                for (inner, value) in section {
                    assert!(
                        !value.is_table(),
                        "[{key}.{inner}]: CometBFT 0.38 has no nested sections"
                    );
                    out.insert(format!("{key}.{inner}"), value.clone());
                }
            }
            value => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    out
}

/// A two-validator, one-full-node network with fixed keys and time.
fn network(dir: &Path) -> Vec<HomeSummary> {
    let mut spec = NetworkSpec::new(dir, 2, "synod-golden");
    spec.base_port = 33000;
    spec.full_nodes = 1;
    spec.agents = 1;
    spec.genesis.seed = Some(38);
    spec.genesis.genesis_time = Some(Time::from_unix_timestamp(1_700_000_000, 123).unwrap());
    generate_network(&spec).unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn keys_of(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn config_toml_has_exactly_the_keys_of_cometbft_0_38_with_go_types() {
    let golden = golden_keys();
    assert!(golden.len() > 90, "golden file has {} keys", golden.len());
    let dir = tempfile::tempdir().unwrap();
    for home in network(dir.path()) {
        let text = std::fs::read_to_string(home.home.join("config/config.toml")).unwrap();
        let table: toml::Table = toml::from_str(&text).unwrap();
        let written = flatten(&table);
        let missing: Vec<_> = golden
            .keys()
            .filter(|k| !written.contains_key(*k))
            .collect();
        let extra: Vec<_> = written
            .keys()
            .filter(|k| !golden.contains_key(*k))
            .collect();
        assert!(missing.is_empty(), "{}: missing {missing:?}", home.moniker);
        assert!(
            extra.is_empty(),
            "{}: not in CometBFT 0.38 {extra:?}",
            home.moniker
        );
        for (key, kind) in &golden {
            let value = &written[key];
            let ok = match kind.as_str() {
                "string" => value.is_str(),
                "int" => value.is_integer(),
                "bool" => value.is_bool(),
                "array" => value
                    .as_array()
                    .is_some_and(|items| items.iter().all(toml::Value::is_str)),
                "duration" => value.as_str().is_some_and(|text| {
                    // Written exactly as Go's Duration.String() would.
                    duration::parse(text).is_ok_and(|d| duration::format(d) == text)
                }),
                other => panic!("unknown type {other} in the golden file"),
            };
            assert!(ok, "{}: {key} = {value:?} is not a {kind}", home.moniker);
        }
    }
}

#[test]
fn genesis_round_trips_through_tendermint_rs_with_every_required_field() {
    let dir = tempfile::tempdir().unwrap();
    let homes = network(dir.path());
    let text = std::fs::read_to_string(homes[0].home.join("config/genesis.json")).unwrap();
    let original: Value = serde_json::from_str(&text).unwrap();
    let genesis: tendermint::Genesis<Value> = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_value(&genesis).unwrap(), original);

    for field in [
        "genesis_time",
        "chain_id",
        "initial_height",
        "consensus_params",
        "validators",
        "app_hash",
        "app_state",
    ] {
        assert!(original.get(field).is_some(), "missing {field}");
    }
    assert_eq!(genesis.chain_id.as_str(), "synod-golden");
    assert_eq!(original["initial_height"], "1");
    assert_eq!(original["app_hash"], "");
    let time = original["genesis_time"].as_str().unwrap();
    assert_eq!(
        Time::parse_from_rfc3339(time).unwrap(),
        genesis.genesis_time
    );
    let params = &original["consensus_params"];
    for (section, fields) in [
        ("block", &["max_bytes", "max_gas"][..]),
        (
            "evidence",
            &["max_age_num_blocks", "max_age_duration", "max_bytes"][..],
        ),
        ("version", &["app"][..]),
        ("abci", &["vote_extensions_enable_height"][..]),
    ] {
        for field in fields {
            // int64s are JSON strings in CometBFT's encoding.
            assert!(
                params[section][field].is_string(),
                "consensus_params.{section}.{field} = {}",
                params[section][field]
            );
        }
    }
    assert_eq!(params["validator"]["pub_key_types"], json!(["ed25519"]));

    // Only validators are listed, each with the address of its key.
    assert_eq!(genesis.validators.len(), 2);
    for (listed, home) in genesis.validators.iter().zip(&homes) {
        assert_eq!(
            listed.address,
            tendermint::account::Id::from(listed.pub_key)
        );
        assert_eq!(listed.address, home.validator_address);
        assert_eq!(listed.name.as_deref(), Some(home.moniker.as_str()));
        assert!(listed.power.value() > 0);
    }
    for v in original["validators"].as_array().unwrap() {
        assert_eq!(
            keys_of(v),
            BTreeSet::from(["address", "pub_key", "power", "name"])
        );
        assert!(v["power"].is_string());
        assert_eq!(v["pub_key"]["type"], "tendermint/PubKeyEd25519");
    }
    assert!(genesis.app_state.is_object());
}

#[test]
fn node_key_json_has_cometbft_shape_and_gives_the_node_id() {
    let dir = tempfile::tempdir().unwrap();
    for home in network(dir.path()) {
        let json = read_json(&home.home.join("config/node_key.json"));
        assert_eq!(keys_of(&json), BTreeSet::from(["priv_key"]));
        assert_eq!(
            keys_of(&json["priv_key"]),
            BTreeSet::from(["type", "value"])
        );
        assert_eq!(json["priv_key"]["type"], "tendermint/PrivKeyEd25519");
        let pair = BASE64
            .decode(json["priv_key"]["value"].as_str().unwrap())
            .unwrap();
        assert_eq!(pair.len(), 64);

        let private: tendermint::PrivateKey =
            serde_json::from_value(json["priv_key"].clone()).unwrap();
        let public = private.public_key();
        assert_eq!(&pair[32..], public.to_bytes().as_slice());
        let node_id = tendermint::node::Id::from(public.ed25519().unwrap());
        assert_eq!(node_id, home.node_id);
    }
}

#[test]
fn priv_validator_key_json_has_cometbft_shape_and_consistent_halves() {
    let dir = tempfile::tempdir().unwrap();
    for home in network(dir.path()) {
        let json = read_json(&home.home.join("config/priv_validator_key.json"));
        assert_eq!(
            keys_of(&json),
            BTreeSet::from(["address", "pub_key", "priv_key"])
        );
        assert_eq!(keys_of(&json["pub_key"]), BTreeSet::from(["type", "value"]));
        assert_eq!(
            keys_of(&json["priv_key"]),
            BTreeSet::from(["type", "value"])
        );
        assert_eq!(json["pub_key"]["type"], "tendermint/PubKeyEd25519");
        assert_eq!(json["priv_key"]["type"], "tendermint/PrivKeyEd25519");
        let public: tendermint::PublicKey =
            serde_json::from_value(json["pub_key"].clone()).unwrap();
        let private: tendermint::PrivateKey =
            serde_json::from_value(json["priv_key"].clone()).unwrap();
        assert_eq!(private.public_key(), public);
        assert_eq!(
            BASE64
                .decode(json["pub_key"]["value"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );

        // The address: uppercase hex of SHA-256(pub_key)[..20], as tendermint-rs derives it.
        let address = json["address"].as_str().unwrap();
        let derived = tendermint::account::Id::from(public);
        assert_eq!(address, derived.to_string());
        assert_eq!(address, address.to_uppercase());
        assert_eq!(address.len(), 40);
        assert_eq!(derived, home.validator_address);
    }
}

#[test]
fn priv_validator_state_json_is_cometbfts_initial_signer_state() {
    let dir = tempfile::tempdir().unwrap();
    for home in network(dir.path()) {
        let json = read_json(&home.home.join("data/priv_validator_state.json"));
        // int64 height as a string, int32 round and int8 step as numbers.
        assert_eq!(json, json!({"height": "0", "round": 0, "step": 0}));
    }
}

// ---- genesis validation ----

fn generated_genesis(dir: &Path) -> Value {
    let homes = network(dir);
    read_json(&homes[0].home.join("config/genesis.json"))
}

#[test]
fn a_generated_genesis_has_no_problems() {
    let dir = tempfile::tempdir().unwrap();
    let text = generated_genesis(dir.path()).to_string();
    assert_eq!(validate_genesis(&text), vec![]);
    let report = synod_consensus_config::check_genesis(&text);
    assert_eq!(report.chain_id.as_deref(), Some("synod-golden"));
    assert_eq!(report.validators, 2);
    // 3 node operators, the faucet, 1 agent.
    assert_eq!(report.accounts, 5);
}

/// A genesis with many mistakes, and the path each one must be reported at.
fn broken_genesis(dir: &Path) -> (String, Vec<&'static str>) {
    let mut g = generated_genesis(dir);
    g["surprise"] = json!(true);
    g["chain_id"] = json!("x".repeat(51));
    g["genesis_time"] = json!("yesterday");
    g["initial_height"] = json!("-3");
    g["consensus_params"]["block"]["max_bytes"] = json!("0");
    g["consensus_params"]["evidence"]["max_age_num_blocks"] = json!("0");
    g["consensus_params"]["validator"]["pub_key_types"] = json!(["secp256k1"]);
    g["validators"][0]["power"] = json!("1");
    let app = &mut g["app_state"];
    app["accounts"][0]["colour"] = json!("red");
    let twin = app["accounts"][1].clone();
    app["accounts"].as_array_mut().unwrap().push(twin);
    app["validators"][1]["self_bond"] = json!("1");
    app["validators"][0]["moniker"] = json!("");
    app["params"]["staking"]["max_validators"] = json!(0);
    app["params"]["rewards"]["proposer_bonus_ppm"] = json!(2_000_000);
    app["params"]["governanse"] = json!({});
    app["params"]["governance"]["quorum_ppm"] = json!(0);
    let expected = vec![
        "surprise",
        "chain_id",
        "genesis_time",
        "initial_height",
        "consensus_params.block.max_bytes",
        "consensus_params.evidence.max_age_num_blocks",
        "consensus_params.validator.pub_key_types[0]",
        "validators[0].power",
        "app_state.accounts[0].colour",
        "app_state.accounts[5].address",
        "app_state.validators[1].self_bond",
        "app_state.validators[0].moniker",
        "app_state.params.staking.max_validators",
        "app_state.params.rewards.proposer_bonus_ppm",
        "app_state.params.governanse",
        "app_state.params.governance.quorum_ppm",
    ];
    (g.to_string(), expected)
}

#[test]
fn every_problem_of_a_broken_genesis_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (text, expected) = broken_genesis(dir.path());
    let problems = validate_genesis(&text);
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    for path in &expected {
        assert!(paths.contains(path), "no problem at {path}: {problems:#?}");
    }
    let unknown = problems
        .iter()
        .find(|p| p.path == "app_state.accounts[0].colour")
        .unwrap();
    assert!(unknown.message.contains("unknown field"), "{unknown}");
    // Display is "path: message".
    assert_eq!(
        problems[0].to_string(),
        format!("{}: {}", problems[0].path, problems[0].message)
    );
}

#[test]
fn listed_validators_must_match_app_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = generated_genesis(dir.path());
    // Drop the second listed validator; swap a listed key for a stranger's.
    let second = g["validators"][1].clone();
    g["validators"].as_array_mut().unwrap().truncate(1);
    g["validators"][0]["pub_key"] = second["pub_key"].clone();
    let problems = validate_genesis(&g.to_string());
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"validators[0].address"), "{problems:#?}");
    assert!(
        paths.contains(&"app_state.validators[0].consensus_key"),
        "{problems:#?}"
    );
    // An absent list is fine: CometBFT takes the set from the app.
    let mut g = generated_genesis(tempfile::tempdir().unwrap().path());
    g.as_object_mut().unwrap().remove("validators");
    assert_eq!(validate_genesis(&g.to_string()), vec![]);
}

// ---- the synod-config binary ----

fn synod_config(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_synod-config"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn validate_genesis_exits_0_for_a_valid_file_and_1_listing_each_problem() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(
        &good,
        generated_genesis(&dir.path().join("net")).to_string(),
    )
    .unwrap();
    let out = synod_config(&["validate-genesis", good.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "valid genesis for chain synod-golden (2 validators, 5 accounts, total supply"
        ),
        "{stdout}"
    );

    let bad = dir.path().join("bad.json");
    let (text, expected) = broken_genesis(&dir.path().join("net2"));
    std::fs::write(&bad, text).unwrap();
    let out = synod_config(&["validate-genesis", bad.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for path in expected {
        let prefix = format!("{}: {path}: ", bad.display());
        assert!(
            stdout.lines().any(|l| l.starts_with(&prefix)),
            "{prefix} in {stdout}"
        );
    }

    let out = synod_config(&[
        "validate-genesis",
        bad.to_str().unwrap(),
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    assert!(report["problems"].as_array().unwrap().len() >= 8);
    assert!(report["problems"][0]["path"].is_string());

    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"chain_id\": ").unwrap();
    let out = synod_config(&["validate-genesis", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("line 1"));

    let out = synod_config(&[
        "validate-genesis",
        dir.path().join("absent.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("absent.json"));
}

#[test]
fn testnet_and_init_write_homes_and_print_where() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let out = synod_config(&[
        "testnet",
        "--dir",
        net.to_str().unwrap(),
        "--validators",
        "2",
        "--full-nodes",
        "1",
        "--agents",
        "2",
        "--base-port",
        "34000",
        "--seed",
        "5",
        "--block-time",
        "250ms",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "NAME",
        "ROLE",
        "NODE ID",
        "RPC",
        "P2P",
        "OPERATOR",
        "validator-0",
        "full-node-0",
        "full node",
        "tcp://127.0.0.1:34001",
        "synod1",
    ] {
        assert!(stdout.contains(needle), "{needle} in {stdout}");
    }
    assert!(
        stdout.contains(&net.join("keys").display().to_string()),
        "{stdout}"
    );
    for file in [
        "node2/config/config.toml",
        "keys/faucet.json",
        "keys/agent-1.json",
        "keys/full-node-0.json",
    ] {
        assert!(net.join(file).exists(), "{file}");
    }
    let config = std::fs::read_to_string(net.join("node0/config/config.toml")).unwrap();
    assert!(config.contains("timeout_commit = \"250ms\""));
    let out = synod_config(&[
        "validate-genesis",
        net.join("node0/config/genesis.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));

    // Writing over it is refused, with a message saying why.
    let out = synod_config(&["testnet", "--dir", net.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to overwrite"));

    let home = dir.path().join("alice");
    let out = synod_config(&[
        "init",
        "--home",
        home.to_str().unwrap(),
        "--moniker",
        "alice",
        "--seed",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("alice"));
    let loaded = synod_consensus_config::load_home(&home).unwrap();
    assert_eq!(loaded.config.moniker, "alice");
    assert_eq!(loaded.genesis.doc.chain_id.as_str(), "synod-local");

    let out = synod_config(&["init", "--home", home.to_str().unwrap(), "--moniker", "bob"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_reader_that_closes_the_pipe_early_ends_synod_config_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    // `synod-config testnet … | head -0`: the reader is gone before the table.
    let out = run_with_stdout_closed(
        Command::new(env!("CARGO_BIN_EXE_synod-config"))
            .args(["testnet", "--validators", "1", "--seed", "2", "--dir"])
            .arg(&net),
        None,
    );
    assert_ended_quietly(&out, "synod-config testnet");
    assert!(net.join("node0/config/config.toml").exists());
}

#[test]
fn counts_agree_with_their_number_and_a_missing_model_is_named_once() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net");
    let out = synod_config(&[
        "testnet",
        "--validators",
        "1",
        "--dir",
        net.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(": 1 home under"), "{stdout}");
    let out = synod_config(&[
        "validate-genesis",
        net.join("node0/config/genesis.json").to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("(1 validator, 2 accounts,"), "{stdout}");
    // The key directory is a keyring: its owner's only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(net.join("keys"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
    }

    let missing = dir.path().join("missing.synod-model");
    let out = synod_config(&[
        "testnet",
        "--dir",
        dir.path().join("net2").to_str().unwrap(),
        "--model",
        missing.to_str().unwrap(),
    ]);
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing.synod-model"), "{stderr}");
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "the cause once: {stderr}"
    );
}

#[test]
fn one_bad_balance_is_one_problem() {
    let dir = tempfile::tempdir().unwrap();
    let mut genesis = generated_genesis(&dir.path().join("net"));
    // The account of validator 0's operator: its self-bond comes from it.
    let operator = genesis["app_state"]["validators"][0]["operator"].clone();
    let i = genesis["app_state"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a["address"] == operator)
        .unwrap();
    genesis["app_state"]["accounts"][i]["balance"] = json!("12 bananas");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, genesis.to_string()).unwrap();
    let out = synod_config(&["validate-genesis", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "only the root problem: {stdout}");
    assert!(
        stdout.contains(&format!("app_state.accounts[{i}].balance")),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("1 problem;"), "{stderr}");
}
