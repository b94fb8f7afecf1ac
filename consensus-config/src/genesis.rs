//! `config/genesis.json` in CometBFT's format, with Synod's
//! [`GenesisAppState`] as `app_state`, and the `RequestInitChain` a node sends
//! the app for it.
//!
//! The document is `tendermint::Genesis`. It is read with `app_state` kept as
//! the raw JSON text, so the app receives exactly the bytes of the file, as
//! CometBFT sends them.

use std::path::{Path, PathBuf};

use serde_json::value::RawValue;
use synod_protocol::{GenesisAppState, PubKey};
use tendermint::{block, consensus, evidence, public_key, validator, vote, Time};
use tendermint_proto::v0_38::abci as pb;

use crate::{error::ConfigError, files, keys, listed_keys};

/// The block gas limit a new Synod genesis sets (`block.max_gas`; CometBFT
/// writes -1, no limit): about 4,000 transfers or 37 proofs at `k` = 12 per
/// block, which one core executes in about 0.2 s (see `abci-app/src/gas.rs`),
/// so every validator can execute a full block well within a round.
pub const DEFAULT_MAX_BLOCK_GAS: i64 = 10_000_000;

/// Parameters CometBFT 0.38 puts in a new genesis (22 MB blocks, 48 h /
/// 100,000 blocks evidence age, ed25519 keys, no vote extensions), with
/// Synod's block gas limit ([`DEFAULT_MAX_BLOCK_GAS`]). tendermint-rs also
/// writes the obsolete `block.time_iota_ms`, which CometBFT ignores.
pub fn default_consensus_params() -> consensus::Params {
    consensus::Params {
        block: block::Size {
            max_bytes: 22_020_096,
            max_gas: DEFAULT_MAX_BLOCK_GAS,
            time_iota_ms: block::Size::default_time_iota_ms(),
        },
        evidence: evidence::Params {
            max_age_num_blocks: 100_000,
            max_age_duration: evidence::Duration(std::time::Duration::from_secs(48 * 3600)),
            max_bytes: 1_048_576,
        },
        validator: consensus::params::ValidatorParams {
            pub_key_types: vec![public_key::Algorithm::Ed25519],
        },
        version: Some(consensus::params::VersionParams { app: 0 }),
        abci: consensus::params::AbciParams {
            vote_extensions_enable_height: Some(block::Height::from(0u32)),
        },
    }
}

/// The voting power genesis.json lists for a validator: its self-bond in
/// whole stake units (`self_bond / power_reduction_usyn`, at least 1). The
/// app's answer to InitChain (which also weighs reputation) is authoritative:
/// CometBFT and synod-node both replace the listed set with it.
pub fn listed_power(app_state: &GenesisAppState, self_bond: synod_protocol::Amount) -> u64 {
    power_for_bond(&app_state.params.staking, self_bond)
}

/// [`listed_power`] from the staking parameters alone.
pub fn power_for_bond(
    staking: &synod_protocol::params::StakingParams,
    self_bond: synod_protocol::Amount,
) -> u64 {
    let units = self_bond.0 / u128::from(staking.power_reduction_usyn.max(1));
    u64::try_from(units)
        .unwrap_or(u64::MAX)
        .clamp(1, validator::Set::MAX_TOTAL_VOTING_POWER)
}

/// A CometBFT genesis document for `app_state`: one listed validator per
/// genesis validator of the app state, initial height 1, empty app hash.
pub fn build_genesis(
    chain_id: &str,
    genesis_time: Time,
    app_state: &GenesisAppState,
) -> Result<tendermint::Genesis<GenesisAppState>, ConfigError> {
    let chain_id = tendermint::chain::Id::try_from(chain_id.to_string())
        .map_err(|e| ConfigError::Spec(format!("chain id {chain_id:?}: {e}")))?;
    let validators = app_state
        .validators
        .iter()
        .map(|v| {
            let pub_key = tendermint_public_key(&v.consensus_key)?;
            let power = vote::Power::try_from(listed_power(app_state, v.self_bond))
                .map_err(|e| ConfigError::Spec(format!("validator {}: {e}", v.moniker)))?;
            Ok(validator::Info {
                address: keys::validator_address(&v.consensus_key),
                pub_key,
                power,
                name: Some(v.moniker.clone()),
                proposer_priority: Default::default(),
            })
        })
        .collect::<Result<Vec<_>, ConfigError>>()?;
    Ok(tendermint::Genesis {
        genesis_time,
        chain_id,
        initial_height: 1,
        consensus_params: default_consensus_params(),
        validators,
        app_hash: Default::default(),
        app_state: app_state.clone(),
    })
}

fn tendermint_public_key(key: &PubKey) -> Result<tendermint::PublicKey, ConfigError> {
    tendermint::PublicKey::from_raw_ed25519(&key.0)
        .ok_or_else(|| ConfigError::Spec(format!("{key} is not a valid ed25519 public key")))
}

/// The genesis file's text, as CometBFT writes it (two-space indented JSON).
pub fn genesis_json(genesis: &tendermint::Genesis<GenesisAppState>) -> String {
    // A document of strings, integers and maps always serializes.
    let mut text = serde_json::to_string_pretty(genesis).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(feature = "models")]
/// A `.synod-model` file (as `synod model import` writes it) as a genesis
/// model entry: the file is loaded and checked (magic, version, its stated
/// id, validation) so a broken file is refused here, not at InitChain.
pub fn genesis_model_file(
    path: &Path,
    modes: &[synod_protocol::state::VerificationMode],
) -> Result<synod_protocol::genesis::GenesisModel, ConfigError> {
    use base64::Engine as _;
    let bytes = std::fs::read(path).map_err(|error| ConfigError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    synod_zkml::ir::Model::from_file_bytes(&bytes).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        format: "Synod model file",
        message: e.to_string(),
    })?;
    Ok(synod_protocol::genesis::GenesisModel {
        model: base64::engine::general_purpose::STANDARD.encode(&bytes),
        modes: modes.to_vec(),
    })
}

/// Writes `genesis` to `path`.
pub fn write_genesis(
    path: &Path,
    genesis: &tendermint::Genesis<GenesisAppState>,
) -> Result<(), ConfigError> {
    files::write_public(path, genesis_json(genesis).as_bytes())
}

/// A genesis file as read: its text, and the document with `app_state` kept raw.
#[derive(Clone, Debug)]
pub struct GenesisFile {
    /// Where it was read from (used in errors).
    pub path: PathBuf,
    /// The file's text, unchanged (the embedded node serves it over RPC).
    pub text: String,
    /// The parsed document.
    pub doc: tendermint::Genesis<Box<RawValue>>,
}

impl GenesisFile {
    /// Reads and checks `path`.
    pub fn read(path: &Path) -> Result<GenesisFile, ConfigError> {
        let text = files::read_text(path)?;
        GenesisFile::parse(path, text)
    }

    /// Parses and checks genesis text as CometBFT does (chain id, validator
    /// addresses and powers); `path` is only used in errors. The listed
    /// validators' keys are checked before tendermint-rs reads them (its
    /// base64 decoder panics on some malformed keys: see `listed_keys`).
    pub fn parse(path: &Path, text: String) -> Result<GenesisFile, ConfigError> {
        listed_keys::check_genesis_text(&text)
            .map_err(|refused| ConfigError::key(path, &refused.path, refused.message))?;
        let mut de = serde_json::Deserializer::from_str(&text);
        let doc: tendermint::Genesis<Box<RawValue>> =
            serde_path_to_error::deserialize(&mut de).map_err(|e| ConfigError::json(path, e))?;
        de.end().map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            format: "JSON",
            message: e.to_string(),
        })?;
        if doc.initial_height < 0 {
            return Err(ConfigError::key(
                path,
                "initial_height",
                format!("{} is negative", doc.initial_height),
            ));
        }
        for (i, v) in doc.validators.iter().enumerate() {
            if v.power.value() == 0 {
                return Err(ConfigError::key(
                    path,
                    &format!("validators[{i}].power"),
                    "a genesis validator must have voting power",
                ));
            }
            let expected = tendermint::account::Id::from(v.pub_key);
            if v.address != expected {
                return Err(ConfigError::key(
                    path,
                    &format!("validators[{i}].address"),
                    format!(
                        "{} is not the address of its pub_key, which is {expected}",
                        v.address
                    ),
                ));
            }
        }
        Ok(GenesisFile {
            path: path.to_path_buf(),
            text,
            doc,
        })
    }

    /// The `app_state` JSON exactly as written in the file.
    pub fn app_state_bytes(&self) -> &[u8] {
        self.doc.app_state.get().as_bytes()
    }

    /// `app_state` as Synod's genesis state.
    pub fn synod_app_state(&self) -> Result<GenesisAppState, ConfigError> {
        let mut de = serde_json::Deserializer::from_str(self.doc.app_state.get());
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let key = format!("app_state.{}", e.path());
            ConfigError::key(&self.path, &key, e.into_inner().to_string())
        })
    }

    /// The InitChain request for this genesis, as CometBFT builds it: genesis
    /// time, chain id, consensus params, the listed validators, the raw
    /// `app_state` bytes, and the initial height (0 means 1).
    pub fn init_chain_request(&self) -> Result<pb::RequestInitChain, ConfigError> {
        let doc = &self.doc;
        let validators = doc
            .validators
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if v.pub_key.ed25519().is_none() {
                    return Err(ConfigError::key(
                        &self.path,
                        &format!("validators[{i}].pub_key"),
                        "only ed25519 consensus keys are supported",
                    ));
                }
                Ok(pb::ValidatorUpdate::from(validator::Update {
                    pub_key: v.pub_key,
                    power: v.power,
                }))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(pb::RequestInitChain {
            time: Some(doc.genesis_time.into()),
            chain_id: doc.chain_id.to_string(),
            consensus_params: Some(doc.consensus_params.clone().into()),
            validators,
            app_state_bytes: self.app_state_bytes().to_vec().into(),
            initial_height: doc.initial_height.max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use synod_protocol::SecretKey;

    fn app_state() -> GenesisAppState {
        GenesisAppState::one_validator_example()
    }

    fn written() -> String {
        let time = Time::from_unix_timestamp(1_700_000_000, 5).unwrap();
        genesis_json(&build_genesis("synod-x", time, &app_state()).unwrap())
    }

    #[test]
    fn has_cometbft_fields_and_encodings() {
        let json: serde_json::Value = serde_json::from_str(&written()).unwrap();
        assert_eq!(json["chain_id"], "synod-x");
        assert_eq!(json["initial_height"], "1");
        assert_eq!(json["app_hash"], "");
        assert_eq!(json["consensus_params"]["block"]["max_bytes"], "22020096");
        assert_eq!(
            json["consensus_params"]["validator"]["pub_key_types"][0],
            "ed25519"
        );
        let v = &json["validators"][0];
        assert_eq!(v["pub_key"]["type"], "tendermint/PubKeyEd25519");
        assert_eq!(v["power"], "10000");
        assert_eq!(v["name"], "v0");
        assert_eq!(
            v["address"],
            keys::validator_address(&SecretKey::from_seed([2; 32]).public()).to_string()
        );
        assert!(json["genesis_time"]
            .as_str()
            .unwrap()
            .starts_with("2023-11-14T22:13:20.000000005"));
        let app_state: GenesisAppState = serde_json::from_value(json["app_state"].clone()).unwrap();
        assert_eq!(app_state, super::tests::app_state());
    }

    #[test]
    fn init_chain_request_carries_the_genesis() {
        let g = GenesisFile::parse(Path::new("genesis.json"), written()).unwrap();
        let req = g.init_chain_request().unwrap();
        assert_eq!(req.chain_id, "synod-x");
        assert_eq!(req.initial_height, 1);
        let time = req.time.unwrap();
        assert_eq!((time.seconds, time.nanos), (1_700_000_000, 5));
        assert_eq!(req.validators.len(), 1);
        assert_eq!(req.validators[0].power, 10_000);
        use tendermint_proto::v0_38::crypto::public_key::Sum;
        assert_eq!(
            req.validators[0].pub_key.clone().unwrap().sum,
            Some(Sum::Ed25519(
                SecretKey::from_seed([2; 32]).public().0.to_vec()
            ))
        );
        let params = req.consensus_params.unwrap();
        assert_eq!(params.block.unwrap().max_bytes, 22_020_096);
        assert_eq!(params.validator.unwrap().pub_key_types, vec!["ed25519"]);
        let app_state: GenesisAppState = serde_json::from_slice(&req.app_state_bytes).unwrap();
        assert_eq!(app_state, super::tests::app_state());
        assert_eq!(&req.app_state_bytes[..], g.app_state_bytes());
        assert_eq!(g.synod_app_state().unwrap(), super::tests::app_state());
    }

    #[test]
    fn a_validator_address_that_is_not_its_key_is_refused() {
        let other = keys::validator_address(&SecretKey::from_seed([3; 32]).public());
        let mut json: serde_json::Value = serde_json::from_str(&written()).unwrap();
        json["validators"][0]["address"] = other.to_string().into();
        let err = GenesisFile::parse(Path::new("/h/genesis.json"), json.to_string()).unwrap_err();
        assert!(err.to_string().contains("validators[0].address"), "{err}");
        assert!(err.to_string().contains("/h/genesis.json"), "{err}");
    }

    #[test]
    fn a_listed_key_that_panics_tendermint_is_refused_with_an_error() {
        let mut json: serde_json::Value = serde_json::from_str(&written()).unwrap();
        json["validators"][0]["pub_key"]["value"] = "AAAA=".into();
        let err = GenesisFile::parse(Path::new("g.json"), json.to_string()).unwrap_err();
        assert!(
            err.to_string().contains("validators[0].pub_key.value"),
            "{err}"
        );
        assert!(err.to_string().contains("not standard base64"), "{err}");
    }

    #[test]
    fn a_bad_field_is_named() {
        let mut json: serde_json::Value = serde_json::from_str(&written()).unwrap();
        json["initial_height"] = "one".into();
        let err = GenesisFile::parse(Path::new("g.json"), json.to_string()).unwrap_err();
        assert!(err.to_string().contains("initial_height"), "{err}");

        let mut json: serde_json::Value = serde_json::from_str(&written()).unwrap();
        json["app_state"]["accounts"][0]["balance"] = "lots".into();
        let g = GenesisFile::parse(Path::new("g.json"), json.to_string()).unwrap();
        let err = g.synod_app_state().unwrap_err();
        assert!(
            err.to_string().contains("app_state.accounts[0].balance"),
            "{err}"
        );

        let err = GenesisFile::parse(Path::new("g.json"), "{\"chain_id\": ".into()).unwrap_err();
        assert!(matches!(err, ConfigError::Syntax { .. }), "{err}");
    }
}
