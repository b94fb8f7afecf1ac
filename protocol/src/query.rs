//! ABCI query paths. A query's `value` is the canonical encoding of the record
//! named here; with `prove=true` the response carries a Merkle proof of each
//! state key it read against the app hash of the queried height.

use std::fmt;
use std::str::FromStr;

use crate::address::Address;

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
}

/// Why a query path was not understood.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryPathError {
    #[error("unknown query path {path:?}; known: /account/{{addr}}, /validator/{{addr}}, /validators, /reputation/{{addr}}, /params, /unbonding/{{addr}}")]
    Unknown { path: String },
    #[error("bad address in query path {path:?}: {reason}")]
    BadAddress { path: String, reason: String },
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
            _ => Err(QueryPathError::Unknown {
                path: path.to_string(),
            }),
        }
    }
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
        }
    }
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
        ] {
            assert_eq!(p.to_string().parse::<QueryPath>().unwrap(), p);
        }
    }

    #[test]
    fn unknown_paths_list_the_known_ones() {
        let e = "/nope".parse::<QueryPath>().unwrap_err();
        assert!(e.to_string().contains("/validators"));
    }
}
