//! The query router: ABCI `Query` paths to state reads, with Merkle proofs.
//!
//! Height `H` means the state after block `H` (JMT version `H`); its root is
//! the app hash carried in header `H + 1`. Height 0 means the last committed.

use synod_protocol::{
    codec,
    governance::Proposal,
    params::ChainParams,
    query::{QueryPath, JMT_PROOF_OP},
    state::{Validator, ValidatorSummary},
};

use crate::{
    accounts, agents, disputes, governance, models, reputation, rewards, runs, staking,
    state::State, storage::Storage, workflows,
};

/// Stable query result codes (defined in the protocol, where clients read them).
pub use synod_protocol::query::code;

/// One Merkle proof of one state key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyProof {
    pub key: Vec<u8>,
    pub proof: Vec<u8>,
}

/// A query answer in Synod's own types.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueryOutput {
    pub code: u32,
    pub log: String,
    /// The state key read (the first one, for multi-key paths).
    pub key: Vec<u8>,
    /// Canonical encoding of the answer; empty when absent.
    pub value: Vec<u8>,
    pub proofs: Vec<KeyProof>,
    pub height: u64,
}

impl QueryOutput {
    fn error(code: u32, log: impl Into<String>, height: u64) -> QueryOutput {
        QueryOutput {
            code,
            log: log.into(),
            height,
            ..QueryOutput::default()
        }
    }
}

/// Answers one query.
pub fn query(storage: &Storage, path: &str, height: u64, prove: bool) -> QueryOutput {
    let Some(committed) = storage.committed() else {
        return QueryOutput::error(code::HEIGHT_UNAVAILABLE, "chain not initialized yet", 0);
    };
    let version = if height == 0 {
        committed.version
    } else {
        height
    };
    if version > committed.version {
        return QueryOutput::error(
            code::HEIGHT_UNAVAILABLE,
            format!(
                "height {version} is not committed yet; latest is {}",
                committed.version
            ),
            version,
        );
    }
    let parsed: QueryPath = match path.parse() {
        Ok(p) => p,
        Err(e) => return QueryOutput::error(code::BAD_PATH, e.to_string(), version),
    };
    let keyed = |key: Vec<u8>, missing_is_error: bool| {
        read_key(storage, key, version, prove, missing_is_error)
    };
    match parsed {
        QueryPath::Account(a) => keyed(accounts::state_key::account(&a), false),
        QueryPath::Validator(a) => keyed(staking::state_key::validator(&a), true),
        QueryPath::Reputation(a) => keyed(reputation::state_key::score(&a), true),
        QueryPath::Unbonding(a) => keyed(staking::state_key::unbondings(&a), false),
        QueryPath::Params => params(storage, version, prove),
        QueryPath::Model(id) => keyed(models::state_key::model(&id), true),
        QueryPath::Proposal(id) => keyed(governance::state_key::proposal(id), true),
        QueryPath::Workflow(name) => keyed(workflows::state_key::workflow(&name), true),
        QueryPath::Treasury => keyed(rewards::state_key::treasury(), false),
        QueryPath::Agent(a) => keyed(agents::state_key::agent(&a), true),
        QueryPath::Run(id) => keyed(runs::state_key::run(id), true),
        QueryPath::Verified(h) => keyed(runs::state_key::verified(&h), true),
        QueryPath::Dispute(id) => keyed(disputes::state_key::dispute(id), true),
        computed_path => {
            if prove {
                return QueryOutput::error(
                    code::PROOF_UNSUPPORTED,
                    format!("{computed_path} is a computed list without proof; query one record (/account, /validator, /model, /proposal, /workflow, /agent, /run, /verified, /dispute) with prove=true for proofs"),
                    version,
                );
            }
            if version != committed.version {
                return QueryOutput::error(
                    code::HEIGHT_UNAVAILABLE,
                    format!("{computed_path} is answered at the latest height only"),
                    version,
                );
            }
            match computed(storage, &computed_path) {
                Ok(Ok(value)) => QueryOutput {
                    value,
                    height: version,
                    ..QueryOutput::default()
                },
                Ok(Err(not_found)) => {
                    QueryOutput::error(code::NOT_FOUND, not_found.to_string(), version)
                }
                Err(e) => QueryOutput::error(code::INTERNAL, e.to_string(), version),
            }
        }
    }
}

/// Why a computed path has no answer (a not-found query result).
#[derive(Debug, thiserror::Error)]
enum NotFound {
    #[error("unknown proposal {0}")]
    Proposal(u64),
    #[error("{0} is not a computed path")]
    NotComputed(String),
}

/// The answer to a computed path at the latest height: the encoded value,
/// or why there is none.
fn computed(
    storage: &Storage,
    path: &QueryPath,
) -> Result<Result<Vec<u8>, NotFound>, crate::state::StateError> {
    let state = State::new(storage.clone());
    let exists = |id: u64| -> Result<Result<(), NotFound>, crate::state::StateError> {
        Ok(match governance::proposal(&state, id)? {
            Some(_) => Ok(()),
            None => Err(NotFound::Proposal(id)),
        })
    };
    Ok(Ok(match path {
        QueryPath::Models => codec::encode(&models::models(&state)?),
        QueryPath::Validators => codec::encode(&validators(storage)?),
        QueryPath::Proposals(status) => codec::encode(
            &governance::proposals(&state, *status)?
                .iter()
                .map(Proposal::summary)
                .collect::<Vec<_>>(),
        ),
        QueryPath::Tally(id) => match exists(*id)? {
            Ok(()) => codec::encode(&governance::tally(&state, *id)?),
            Err(e) => return Ok(Err(e)),
        },
        QueryPath::Votes(id) => match exists(*id)? {
            Ok(()) => codec::encode(&governance::votes(&state, *id)?),
            Err(e) => return Ok(Err(e)),
        },
        QueryPath::Deposits(id) => match exists(*id)? {
            Ok(()) => codec::encode(&governance::deposits(&state, *id)?),
            Err(e) => return Ok(Err(e)),
        },
        QueryPath::Workflows => codec::encode(&workflows::workflows(&state)?),
        QueryPath::Agents => codec::encode(&agents::agents(&state)?),
        QueryPath::Runs => codec::encode(&runs::running(&state)?),
        QueryPath::Disputes(status) => {
            codec::encode(&disputes::disputes(&state, status.as_deref())?)
        }
        other => return Ok(Err(NotFound::NotComputed(other.to_string()))),
    }))
}

fn read_key(
    storage: &Storage,
    key: Vec<u8>,
    version: u64,
    prove: bool,
    missing_is_error: bool,
) -> QueryOutput {
    let read = if prove {
        storage
            .get_with_proof(&key, version)
            .map(|(v, p)| (v, Some(p)))
    } else {
        storage.get_at(&key, version).map(|v| (v, None))
    };
    match read {
        Err(e) => QueryOutput::error(code::HEIGHT_UNAVAILABLE, e.to_string(), version),
        Ok((value, proof)) => {
            let found = value.is_some();
            let proofs = proof
                .map(|p| {
                    vec![KeyProof {
                        key: key.clone(),
                        proof: p,
                    }]
                })
                .unwrap_or_default();
            QueryOutput {
                code: if found || !missing_is_error {
                    code::OK
                } else {
                    code::NOT_FOUND
                },
                log: if found || !missing_is_error {
                    String::new()
                } else {
                    format!("no record at {}", String::from_utf8_lossy(&key))
                },
                key,
                value: value.unwrap_or_default(),
                proofs,
                height: version,
            }
        }
    }
}

fn params(storage: &Storage, version: u64, prove: bool) -> QueryOutput {
    // The order of ChainParams' fields, which is the order a client checks.
    let keys = QueryPath::Params.proved_keys();
    let mut value = Vec::new();
    let mut proofs = Vec::new();
    for key in keys {
        let out = read_key(storage, key, version, prove, true);
        if out.code != code::OK {
            return out;
        }
        // ChainParams encodes as its module fields back to back.
        value.extend_from_slice(&out.value);
        proofs.extend(out.proofs);
    }
    if let Err(e) = codec::decode::<ChainParams>(&value) {
        return QueryOutput::error(
            code::INTERNAL,
            format!("stored params are corrupt: {e}"),
            version,
        );
    }
    QueryOutput {
        key: accounts::state_key::params(),
        value,
        proofs,
        height: version,
        ..QueryOutput::default()
    }
}

fn validators(storage: &Storage) -> Result<Vec<ValidatorSummary>, crate::state::StateError> {
    let state = State::new(storage.clone());
    let active: std::collections::BTreeSet<_> = staking::active_set(&state)?
        .into_iter()
        .map(|a| a.operator)
        .collect();
    let all: Vec<Validator> = staking::validators(&state)?;
    let mut out = Vec::with_capacity(all.len());
    for v in all {
        out.push(ValidatorSummary {
            reputation: reputation::score(&state, &v.operator)?,
            power: staking::validator_power(&state, &v)?,
            active: active.contains(&v.operator),
            validator: v,
        });
    }
    out.sort_by(|a, b| {
        b.power
            .cmp(&a.power)
            .then(a.validator.operator.cmp(&b.validator.operator))
    });
    Ok(out)
}

/// The proof-op type name used in ABCI responses.
pub const PROOF_OP_TYPE: &str = JMT_PROOF_OP;
