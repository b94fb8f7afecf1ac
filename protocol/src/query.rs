//! ABCI query paths. A query's `value` is the canonical encoding of the record
//! named here; with `prove=true` the response carries a Merkle proof of each
//! state key it read against the app hash of the queried height.

use std::fmt;
use std::str::FromStr;

use crate::{address::Address, governance::ProposalStatus, state_key};

/// A parsed query path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueryPath {
    /// `/account/{addr}` -> [`crate::state::Account`] (a missing account is the default one).
    Account(Address),
    /// `/validator/{addr}` -> [`crate::state::Validator`].
    Validator(Address),
    /// `/validators` -> `Vec<`[`crate::state::ValidatorSummary`]`>` (no proof).
    Validators,
    /// `/reputation/{addr}` -> [`crate::state::Reputation`].
    Reputation(Address),
    /// `/params` -> [`crate::params::ChainParams`].
    Params,
    /// `/unbonding/{addr}` -> [`crate::state::Unbondings`].
    Unbonding(Address),
    /// `/model/{64 hex digits of the model id}` -> [`crate::state::ModelRecord`].
    Model([u8; 32]),
    /// `/models` -> `Vec<`[`crate::state::ModelRecord`]`>` in model id order (no proof).
    Models,
    /// `/proposal/{id}` -> [`crate::governance::Proposal`].
    Proposal(u64),
    /// `/proposals` or `/proposals/{status}` ->
    /// `Vec<`[`crate::governance::ProposalSummary`]`>` in id order (no proof;
    /// payloads left out: `/proposal/{id}` has them).
    Proposals(Option<ProposalStatus>),
    /// `/tally/{id}` -> [`crate::governance::Tally`]: the votes so far, each
    /// weighted by the voter's bonded stake now (no proof: computed).
    Tally(u64),
    /// `/votes/{id}` -> `Vec<`[`crate::governance::VoteRecord`]`>` in voter order (no proof).
    Votes(u64),
    /// `/deposits/{id}` -> `Vec<`[`crate::governance::DepositRecord`]`>` in depositor order (no proof).
    Deposits(u64),
    /// `/workflow/{name}` -> [`crate::governance::WorkflowRecord`].
    Workflow(String),
    /// `/workflows` -> `Vec<`[`crate::governance::WorkflowRecord`]`>` in name order (no proof).
    Workflows,
    /// `/treasury` -> [`crate::Amount`], the community treasury balance.
    Treasury,
    /// `/agent/{addr}` -> [`crate::agents::AgentRecord`].
    Agent(Address),
    /// `/agents` -> `Vec<`[`crate::agents::AgentRecord`]`>` in address order (no proof).
    Agents,
    /// `/run/{id}` -> [`crate::runs::RunRecord`].
    Run(u64),
    /// `/runs` -> `Vec<`[`crate::runs::RunRecord`]`>` of the runs still running, in id order (no proof).
    Runs,
    /// `/verified/{64 hex digits}` -> [`crate::runs::VerifiedWorkflow`]: the
    /// paper's `verifiedWorkflows` mapping.
    Verified([u8; 32]),
    /// `/dispute/{id}` -> [`crate::disputes::DisputeRecord`]: its move
    /// history and both clocks.
    Dispute(u64),
    /// `/disputes` or `/disputes/{open|settled|void}` ->
    /// `Vec<`[`crate::disputes::DisputeRecord`]`>` in id order (no proof).
    Disputes(Option<String>),
}

/// Why a query path was not understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryPathError {
    #[error("unknown query path {path:?}; known: /account/{{addr}}, /validator/{{addr}}, /validators, /reputation/{{addr}}, /params, /unbonding/{{addr}}, /model/{{id}}, /models, /proposal/{{id}}, /proposals[/{{status}}], /tally/{{id}}, /votes/{{id}}, /deposits/{{id}}, /workflow/{{name}}, /workflows, /treasury, /agent/{{addr}}, /agents, /run/{{id}}, /runs, /verified/{{hash}}, /dispute/{{id}}, /disputes[/{{status}}]")]
    Unknown { path: String },
    #[error("bad proposal id in query path {path:?}: a proposal id is a positive integer")]
    BadProposalId { path: String },
    #[error("bad status in query path {path:?}: {reason}")]
    BadStatus { path: String, reason: String },
    #[error("bad address in query path {path:?}: {reason}")]
    BadAddress { path: String, reason: String },
    #[error("bad id in query path {path:?}: a model id or a workflow hash is 64 hex digits")]
    BadModelId { path: String },
    #[error("bad run id in query path {path:?}: a run id is a positive integer")]
    BadRunId { path: String },
    #[error("bad dispute id in query path {path:?}: a dispute id is a positive integer")]
    BadDisputeId { path: String },
}

impl FromStr for QueryPath {
    type Err = QueryPathError;

    fn from_str(path: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let addr = |s: &str| {
            s.parse::<Address>()
                .map_err(|e| QueryPathError::BadAddress {
                    path: path.to_string(),
                    reason: e.to_string(),
                })
        };
        match parts.as_slice() {
            ["account", a] => Ok(QueryPath::Account(addr(a)?)),
            ["validator", a] => Ok(QueryPath::Validator(addr(a)?)),
            ["validators"] => Ok(QueryPath::Validators),
            ["reputation", a] => Ok(QueryPath::Reputation(addr(a)?)),
            ["params"] => Ok(QueryPath::Params),
            ["unbonding", a] => Ok(QueryPath::Unbonding(addr(a)?)),
            ["model", id] => hex::decode(id)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(QueryPath::Model)
                .ok_or_else(|| QueryPathError::BadModelId {
                    path: path.to_string(),
                }),
            ["models"] => Ok(QueryPath::Models),
            ["proposal", id] => Ok(QueryPath::Proposal(proposal_id(path, id)?)),
            ["proposals"] => Ok(QueryPath::Proposals(None)),
            ["proposals", status] => status
                .parse::<ProposalStatus>()
                .map(|s| QueryPath::Proposals(Some(s)))
                .map_err(|e| QueryPathError::BadStatus {
                    path: path.to_string(),
                    reason: e.to_string(),
                }),
            ["tally", id] => Ok(QueryPath::Tally(proposal_id(path, id)?)),
            ["votes", id] => Ok(QueryPath::Votes(proposal_id(path, id)?)),
            ["deposits", id] => Ok(QueryPath::Deposits(proposal_id(path, id)?)),
            ["workflow", name] if !name.is_empty() => Ok(QueryPath::Workflow(name.to_string())),
            ["workflows"] => Ok(QueryPath::Workflows),
            ["treasury"] => Ok(QueryPath::Treasury),
            ["agent", a] => Ok(QueryPath::Agent(addr(a)?)),
            ["agents"] => Ok(QueryPath::Agents),
            ["run", id] => id
                .parse::<u64>()
                .ok()
                .filter(|&n| n > 0)
                .map(QueryPath::Run)
                .ok_or_else(|| QueryPathError::BadRunId {
                    path: path.to_string(),
                }),
            ["runs"] => Ok(QueryPath::Runs),
            ["verified", hash] => hex::decode(hash)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(QueryPath::Verified)
                .ok_or_else(|| QueryPathError::BadModelId {
                    path: path.to_string(),
                }),
            ["dispute", id] => id
                .parse::<u64>()
                .ok()
                .filter(|&n| n > 0)
                .map(QueryPath::Dispute)
                .ok_or_else(|| QueryPathError::BadDisputeId {
                    path: path.to_string(),
                }),
            ["disputes"] => Ok(QueryPath::Disputes(None)),
            ["disputes", status] => match *status {
                "open" | "settled" | "void" => Ok(QueryPath::Disputes(Some(status.to_string()))),
                other => Err(QueryPathError::BadStatus {
                    path: path.to_string(),
                    reason: format!("{other:?} is not a dispute status: open, settled or void"),
                }),
            },
            _ => Err(QueryPathError::Unknown {
                path: path.to_string(),
            }),
        }
    }
}

fn proposal_id(path: &str, id: &str) -> Result<u64, QueryPathError> {
    id.parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| QueryPathError::BadProposalId {
            path: path.to_string(),
        })
}

impl fmt::Display for QueryPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryPath::Account(a) => write!(f, "/account/{a}"),
            QueryPath::Validator(a) => write!(f, "/validator/{a}"),
            QueryPath::Validators => write!(f, "/validators"),
            QueryPath::Reputation(a) => write!(f, "/reputation/{a}"),
            QueryPath::Params => write!(f, "/params"),
            QueryPath::Unbonding(a) => write!(f, "/unbonding/{a}"),
            QueryPath::Model(id) => write!(f, "/model/{}", hex::encode(id)),
            QueryPath::Models => write!(f, "/models"),
            QueryPath::Proposal(id) => write!(f, "/proposal/{id}"),
            QueryPath::Proposals(None) => write!(f, "/proposals"),
            QueryPath::Proposals(Some(s)) => write!(f, "/proposals/{s}"),
            QueryPath::Tally(id) => write!(f, "/tally/{id}"),
            QueryPath::Votes(id) => write!(f, "/votes/{id}"),
            QueryPath::Deposits(id) => write!(f, "/deposits/{id}"),
            QueryPath::Workflow(name) => write!(f, "/workflow/{name}"),
            QueryPath::Workflows => write!(f, "/workflows"),
            QueryPath::Treasury => write!(f, "/treasury"),
            QueryPath::Agent(a) => write!(f, "/agent/{a}"),
            QueryPath::Agents => write!(f, "/agents"),
            QueryPath::Run(id) => write!(f, "/run/{id}"),
            QueryPath::Runs => write!(f, "/runs"),
            QueryPath::Verified(h) => write!(f, "/verified/{}", hex::encode(h)),
            QueryPath::Dispute(id) => write!(f, "/dispute/{id}"),
            QueryPath::Disputes(None) => write!(f, "/disputes"),
            QueryPath::Disputes(Some(s)) => write!(f, "/disputes/{s}"),
        }
    }
}

impl QueryPath {
    /// The state keys whose values make up this path's answer, in the order
    /// the answer's proof ops come in (empty for `/validators` and `/models`,
    /// computed lists without proof). A client checks each proof op against these keys,
    /// never against the key a node sends.
    pub fn proved_keys(&self) -> Vec<Vec<u8>> {
        match self {
            QueryPath::Account(a) => vec![state_key::accounts::account(a)],
            QueryPath::Validator(a) => vec![state_key::staking::validator(a)],
            QueryPath::Validators => Vec::new(),
            QueryPath::Reputation(a) => vec![state_key::reputation::score(a)],
            QueryPath::Params => state_key::chain_params().to_vec(),
            QueryPath::Unbonding(a) => vec![state_key::staking::unbondings(a)],
            QueryPath::Model(id) => vec![state_key::models::model(id)],
            QueryPath::Proposal(id) => vec![state_key::governance::proposal(*id)],
            QueryPath::Workflow(name) => vec![state_key::workflows::workflow(name)],
            QueryPath::Treasury => vec![state_key::rewards::treasury()],
            QueryPath::Agent(a) => vec![state_key::agents::agent(a)],
            QueryPath::Run(id) => vec![state_key::runs::run(*id)],
            QueryPath::Verified(h) => vec![state_key::runs::verified(h)],
            QueryPath::Dispute(id) => vec![state_key::disputes::dispute(*id)],
            QueryPath::Models
            | QueryPath::Disputes(_)
            | QueryPath::Agents
            | QueryPath::Runs
            | QueryPath::Proposals(_)
            | QueryPath::Tally(_)
            | QueryPath::Votes(_)
            | QueryPath::Deposits(_)
            | QueryPath::Workflows => Vec::new(),
        }
    }
}

/// Stable result codes of ABCI queries.
pub mod code {
    /// The answer is in `value` (possibly empty: an absent record whose absence is not an error).
    pub const OK: u32 = 0;
    /// The path was not understood.
    pub const BAD_PATH: u32 = 1;
    /// The record does not exist (a proof, if asked, proves its absence).
    pub const NOT_FOUND: u32 = 2;
    /// The height is not committed yet or was pruned.
    pub const HEIGHT_UNAVAILABLE: u32 = 3;
    /// The path has no proof (the computed lists: `/validators`, `/models`,
    /// `/proposals`, `/tally`, `/votes`, `/deposits`, `/workflows`, `/agents`).
    pub const PROOF_UNSUPPORTED: u32 = 4;
    /// The node failed to answer.
    pub const INTERNAL: u32 = 5;
}

/// The ABCI proof-op type of Synod's Jellyfish Merkle proofs.
pub const JMT_PROOF_OP: &str = "synod:jmt";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        let a = Address([7; 20]);
        for p in [
            QueryPath::Account(a),
            QueryPath::Validator(a),
            QueryPath::Validators,
            QueryPath::Reputation(a),
            QueryPath::Params,
            QueryPath::Unbonding(a),
            QueryPath::Model([0xcd; 32]),
            QueryPath::Models,
            QueryPath::Proposal(3),
            QueryPath::Proposals(None),
            QueryPath::Proposals(Some(ProposalStatus::VotingPeriod)),
            QueryPath::Tally(3),
            QueryPath::Votes(3),
            QueryPath::Deposits(3),
            QueryPath::Workflow("digits".into()),
            QueryPath::Workflows,
            QueryPath::Treasury,
            QueryPath::Agent(a),
            QueryPath::Agents,
            QueryPath::Run(4),
            QueryPath::Runs,
            QueryPath::Verified([0xab; 32]),
            QueryPath::Dispute(2),
            QueryPath::Disputes(None),
            QueryPath::Disputes(Some("open".into())),
        ] {
            assert_eq!(p.to_string().parse::<QueryPath>().unwrap(), p);
        }
    }

    #[test]
    fn proved_keys_name_the_state_records_of_the_path() {
        let a = Address([7; 20]);
        assert_eq!(
            QueryPath::Account(a).proved_keys(),
            vec![state_key::accounts::account(&a)]
        );
        assert_eq!(QueryPath::Params.proved_keys().len(), 9);
        assert_eq!(
            QueryPath::Dispute(3).proved_keys(),
            vec![state_key::disputes::dispute(3)]
        );
        assert!(QueryPath::Disputes(None).proved_keys().is_empty());
        assert!(matches!(
            "/disputes/maybe".parse::<QueryPath>(),
            Err(QueryPathError::BadStatus { .. })
        ));
        assert!(matches!(
            "/dispute/0".parse::<QueryPath>(),
            Err(QueryPathError::BadDisputeId { .. })
        ));
        assert_eq!(
            QueryPath::Agent(a).proved_keys(),
            vec![state_key::agents::agent(&a)]
        );
        assert!(matches!(
            "/proposal/0".parse::<QueryPath>(),
            Err(QueryPathError::BadProposalId { .. })
        ));
        assert!(matches!(
            "/proposals/maybe".parse::<QueryPath>(),
            Err(QueryPathError::BadStatus { .. })
        ));
        assert_eq!(
            QueryPath::Model([1; 32]).proved_keys(),
            vec![state_key::models::model(&[1; 32])]
        );
        assert!(QueryPath::Models.proved_keys().is_empty());
        assert!(matches!(
            "/model/abc".parse::<QueryPath>(),
            Err(QueryPathError::BadModelId { .. })
        ));
        assert!(QueryPath::Validators.proved_keys().is_empty());
        assert_ne!(
            QueryPath::Validator(a).proved_keys(),
            QueryPath::Reputation(a).proved_keys()
        );
    }

    #[test]
    fn unknown_paths_list_the_known_ones() {
        let e = "/nope".parse::<QueryPath>().unwrap_err();
        assert!(e.to_string().contains("/validators"));
    }
}
