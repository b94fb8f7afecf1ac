//! `genesis`: a `genesis.json` document, as `synod-node` and
//! `synod-config validate-genesis` read it and as the app reads its
//! `app_state` at InitChain.

use std::collections::BTreeSet;
use std::path::Path;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use synod_abci_app::{
    genesis::parse_app_state,
    models::testkit::{genesis_model, shipped_mlp},
};
use synod_consensus_config::{
    check_genesis,
    genesis::{build_genesis, genesis_json},
    GenesisFile,
};
use synod_protocol::{state::VerificationMode, GenesisAppState};

use super::{nothing_to_prepare, Seed, Target, JSON_TOKENS};
use crate::{error::FuzzError, fixtures};

/// The `genesis` target.
pub const TARGET: Target = Target {
    name: "genesis",
    about: "GenesisFile::parse, check_genesis (validate-genesis) and the app's parse_app_state on UTF-8 text; what validate-genesis accepts, the node and the app read",
    run: genesis,
    prepare: nothing_to_prepare,
    seeds,
    dictionary: JSON_TOKENS,
    max_len: 64 * 1024,
    short_runs: 5_000,
    cap_in_all: None,
};

/// Reads `data` (when it is UTF-8) as a genesis document every way Synod
/// does: validate-genesis's report, the node's parse and InitChain
/// request, the app's reading of `app_state`. None panics, and a document
/// validate-genesis finds no problem in is one the node and the app read,
/// and repeats no key (readers disagree on which one counts).
pub fn genesis(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let report = check_genesis(text);
    let parsed = GenesisFile::parse(Path::new("genesis.json"), text.to_owned());
    if let Ok(file) = &parsed {
        let _ = file.synod_app_state();
        let _ = file.init_chain_request();
        let _ = parse_app_state(file.app_state_bytes());
    }
    if report.is_valid() {
        assert!(
            !repeats_a_key(text),
            "validate-genesis accepts a genesis that repeats a key"
        );
        let file = parsed
            .unwrap_or_else(|e| panic!("validate-genesis accepts a genesis the node refuses: {e}"));
        if let Err(e) = file.init_chain_request() {
            panic!("validate-genesis accepts a genesis without an InitChain request: {e}");
        }
        if let Err(e) = parse_app_state(file.app_state_bytes()) {
            panic!("validate-genesis accepts an app_state the app refuses: {e}");
        }
    }
}

/// Whether some JSON object of `text` has a key twice (walked apart from
/// validate-genesis's own walk, so the two check each other).
fn repeats_a_key(text: &str) -> bool {
    serde_json::from_str::<RepeatedKeys>(text).is_ok_and(|r| r.0)
}

/// A JSON value walked for objects that repeat a key.
struct RepeatedKeys(bool);

impl<'de> Deserialize<'de> for RepeatedKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RepeatedKeys, D::Error> {
        d.deserialize_any(RepeatedKeysVisitor)
    }
}

struct RepeatedKeysVisitor;

impl<'de> Visitor<'de> for RepeatedKeysVisitor {
    type Value = RepeatedKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<RepeatedKeys, E> {
        Ok(RepeatedKeys(false))
    }
    fn visit_i64<E>(self, _: i64) -> Result<RepeatedKeys, E> {
        Ok(RepeatedKeys(false))
    }
    fn visit_u64<E>(self, _: u64) -> Result<RepeatedKeys, E> {
        Ok(RepeatedKeys(false))
    }
    fn visit_f64<E>(self, _: f64) -> Result<RepeatedKeys, E> {
        Ok(RepeatedKeys(false))
    }
    fn visit_str<E>(self, _: &str) -> Result<RepeatedKeys, E> {
        Ok(RepeatedKeys(false))
    }
    fn visit_unit<E>(self) -> Result<RepeatedKeys, E> {
        Ok(RepeatedKeys(false))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RepeatedKeys, A::Error> {
        let mut repeats = false;
        while let Some(RepeatedKeys(r)) = seq.next_element()? {
            repeats |= r;
        }
        Ok(RepeatedKeys(repeats))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RepeatedKeys, A::Error> {
        let mut keys = BTreeSet::new();
        let mut repeats = false;
        while let Some(key) = map.next_key::<String>()? {
            repeats |= !keys.insert(key);
            let RepeatedKeys(r) = map.next_value()?;
            repeats |= r;
        }
        Ok(RepeatedKeys(repeats))
    }
}

/// `app_state`'s genesis file as `synod-config` writes it, named `name`.
fn written(name: &str, app_state: &GenesisAppState) -> Result<Seed, FuzzError> {
    let fail = |reason: String| FuzzError::Seed {
        target: "genesis",
        reason,
    };
    let time =
        tendermint::Time::from_unix_timestamp(1_700_000_000, 0).map_err(|e| fail(e.to_string()))?;
    build_genesis(fixtures::CHAIN_ID, time, app_state)
        .map(|g| (format!("{name}.json"), genesis_json(&g).into_bytes()))
        .map_err(|e| fail(format!("{name}: {e}")))
}

/// Genesis files as `synod-config` writes them: the one-validator example,
/// the fuzz test net, and the test net registering the shipped MLP.
fn seeds() -> Result<Vec<Seed>, FuzzError> {
    let mut with_model = fixtures::net().genesis.clone();
    let mlp = std::panic::catch_unwind(shipped_mlp).map_err(|_| FuzzError::Seed {
        target: "genesis",
        reason: "zkml/models/mlp.onnx does not import".to_owned(),
    })?;
    with_model.models = vec![genesis_model(
        &mlp,
        &[VerificationMode::Zk, VerificationMode::Optimistic],
    )];
    Ok(vec![
        written(
            "one_validator_example",
            &GenesisAppState::one_validator_example(),
        )?,
        written("test_net", &fixtures::net().genesis)?,
        written("test_net_with_model", &with_model)?,
    ])
}
