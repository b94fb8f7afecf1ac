//! The state keys a client must know to check a Merkle proof of a query
//! answer. The chain's modules write their records under these keys (their
//! own `state_key.rs` files delegate here), so a client never has to trust the
//! key a node claims it proved: it derives the key from what it asked for.
//!
//! Keys are ASCII: `{module}/{record}/{lower-case hex of the address}`.

/// Keys of the `accounts` module.
pub mod accounts {
    use crate::address::Address;

    /// Balance and nonce of an account ([`crate::state::Account`]).
    pub fn account(address: &Address) -> Vec<u8> {
        format!("accounts/account/{}", address.to_hex()).into_bytes()
    }

    /// Module parameters ([`crate::params::AccountsParams`]).
    pub fn params() -> Vec<u8> {
        b"accounts/params".to_vec()
    }
}

/// Keys of the `staking` module.
pub mod staking {
    use crate::address::Address;

    /// A validator record, by operator address ([`crate::state::Validator`]).
    pub fn validator(operator: &Address) -> Vec<u8> {
        format!("staking/validator/{}", operator.to_hex()).into_bytes()
    }

    /// Pending unbondings of a validator ([`crate::state::Unbondings`]).
    pub fn unbondings(operator: &Address) -> Vec<u8> {
        format!("staking/unbondings/{}", operator.to_hex()).into_bytes()
    }

    /// Module parameters ([`crate::params::StakingParams`]).
    pub fn params() -> Vec<u8> {
        b"staking/params".to_vec()
    }
}

/// Keys of the `reputation` module.
pub mod reputation {
    use crate::address::Address;

    /// The score of an identity ([`crate::state::Reputation`]).
    pub fn score(address: &Address) -> Vec<u8> {
        format!("reputation/score/{}", address.to_hex()).into_bytes()
    }

    /// Module parameters ([`crate::params::ReputationParams`]).
    pub fn params() -> Vec<u8> {
        b"reputation/params".to_vec()
    }
}

/// Keys of the `rewards` module.
pub mod rewards {
    /// Module parameters ([`crate::params::RewardsParams`]).
    pub fn params() -> Vec<u8> {
        b"rewards/params".to_vec()
    }

    /// The community treasury balance ([`crate::Amount`]).
    pub fn treasury() -> Vec<u8> {
        b"rewards/treasury".to_vec()
    }
}

/// Keys of the `governance` module.
pub mod governance {
    /// A proposal by id ([`crate::governance::Proposal`]); ids are zero-padded
    /// so key order is id order.
    pub fn proposal(id: u64) -> Vec<u8> {
        format!("governance/proposal/{id:020}").into_bytes()
    }

    /// Module parameters ([`crate::params::GovernanceParams`]).
    pub fn params() -> Vec<u8> {
        b"governance/params".to_vec()
    }
}

/// Keys of the `workflows` registry.
pub mod workflows {
    /// A registered workflow by name ([`crate::governance::WorkflowRecord`]).
    pub fn workflow(name: &str) -> Vec<u8> {
        format!("workflows/workflow/{name}").into_bytes()
    }
}

/// Keys of the `models` module.
pub mod models {
    /// A registered model, by model id ([`crate::state::ModelRecord`]).
    pub fn model(id: &[u8; 32]) -> Vec<u8> {
        format!("models/model/{}", hex::encode(id)).into_bytes()
    }

    /// Module parameters ([`crate::params::ModelsParams`]).
    pub fn params() -> Vec<u8> {
        b"models/params".to_vec()
    }
}

/// Keys of the `agents` module.
pub mod agents {
    use crate::address::Address;

    /// An agent, by address ([`crate::agents::AgentRecord`]).
    pub fn agent(address: &Address) -> Vec<u8> {
        format!("agents/agent/{}", address.to_hex()).into_bytes()
    }

    /// Module parameters ([`crate::params::AgentsParams`]).
    pub fn params() -> Vec<u8> {
        b"agents/params".to_vec()
    }
}

/// Keys of the `runs` module.
pub mod runs {
    /// A run by id ([`crate::runs::RunRecord`]); ids are zero-padded so key
    /// order is id order.
    pub fn run(id: u64) -> Vec<u8> {
        format!("runs/run/{id:020}").into_bytes()
    }

    /// A verified execution by workflow hash ([`crate::runs::VerifiedWorkflow`]).
    pub fn verified(workflow_hash: &[u8; 32]) -> Vec<u8> {
        format!("runs/verified/{}", hex::encode(workflow_hash)).into_bytes()
    }

    /// Module parameters ([`crate::params::RunsParams`]).
    pub fn params() -> Vec<u8> {
        b"runs/params".to_vec()
    }
}

/// Keys of the `disputes` module.
pub mod disputes {
    /// A dispute by id ([`crate::disputes::DisputeRecord`]).
    pub fn dispute(id: u64) -> Vec<u8> {
        format!("disputes/dispute/{id:020}").into_bytes()
    }

    /// Module parameters ([`crate::params::DisputesParams`]).
    pub fn params() -> Vec<u8> {
        b"disputes/params".to_vec()
    }
}

/// The parameter keys, in the order the fields of
/// [`crate::params::ChainParams`] are encoded (accounts, staking, reputation,
/// rewards, models, governance, agents, runs, disputes): the `/params` query value is
/// their values back to back.
pub fn chain_params() -> [Vec<u8>; 9] {
    [
        accounts::params(),
        staking::params(),
        reputation::params(),
        rewards::params(),
        models::params(),
        governance::params(),
        agents::params(),
        runs::params(),
        disputes::params(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;

    #[test]
    fn keys_keep_their_byte_format() {
        let a = Address([0xab; 20]);
        let hex = "ab".repeat(20);
        assert_eq!(
            accounts::account(&a),
            format!("accounts/account/{hex}").into_bytes()
        );
        assert_eq!(
            staking::validator(&a),
            format!("staking/validator/{hex}").into_bytes()
        );
        assert_eq!(
            staking::unbondings(&a),
            format!("staking/unbondings/{hex}").into_bytes()
        );
        assert_eq!(
            reputation::score(&a),
            format!("reputation/score/{hex}").into_bytes()
        );
        assert_eq!(
            models::model(&[0xab; 32]),
            format!("models/model/{}", "ab".repeat(32)).into_bytes()
        );
        assert_eq!(
            governance::proposal(42),
            b"governance/proposal/00000000000000000042".to_vec()
        );
        assert_eq!(
            workflows::workflow("digits"),
            b"workflows/workflow/digits".to_vec()
        );
        assert_eq!(
            chain_params(),
            [
                b"accounts/params".to_vec(),
                b"staking/params".to_vec(),
                b"reputation/params".to_vec(),
                b"rewards/params".to_vec(),
                b"models/params".to_vec(),
                b"governance/params".to_vec(),
                b"agents/params".to_vec(),
                b"runs/params".to_vec(),
                b"disputes/params".to_vec(),
            ]
        );
        assert_eq!(
            agents::agent(&a),
            format!("agents/agent/{hex}").into_bytes()
        );
    }
}
