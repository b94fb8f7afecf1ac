//! Every state key the `staking` module writes. Heights are zero-padded to 20
//! digits so that byte order equals numeric order. Keys a client proves
//! against are defined in `synod_protocol::state_key` and delegated to here.

use synod_protocol::{state_key::staking as proved, Address, Height};

/// Module parameters.
pub fn params() -> Vec<u8> {
    proved::params()
}

/// A validator record, by operator address.
pub fn validator(operator: &Address) -> Vec<u8> {
    proved::validator(operator)
}

/// Prefix of every validator record.
pub fn validators_prefix() -> Vec<u8> {
    b"staking/validator/".to_vec()
}

/// Operator address of a consensus address (SHA-256(consensus key)[..20]).
pub fn by_consensus_address(consensus_address: &[u8; 20]) -> Vec<u8> {
    format!("staking/by_consensus/{}", hex::encode(consensus_address)).into_bytes()
}

/// Pending unbondings of a validator.
pub fn unbondings(operator: &Address) -> Vec<u8> {
    proved::unbondings(operator)
}

/// Marks that `operator` has an unbonding to release at `height`.
pub fn unbonding_queue(height: Height, operator: &Address) -> Vec<u8> {
    format!(
        "staking/unbonding_queue/{:020}/{}",
        height.value(),
        operator.to_hex()
    )
    .into_bytes()
}

/// Prefix of the unbonding queue entries released at `height`.
pub fn unbonding_queue_at(height: Height) -> Vec<u8> {
    format!("staking/unbonding_queue/{:020}/", height.value()).into_bytes()
}

/// Liveness record of a validator.
pub fn signing_info(operator: &Address) -> Vec<u8> {
    format!("staking/signing_info/{}", operator.to_hex()).into_bytes()
}

/// The active validator set as last returned to consensus.
pub fn active_set() -> Vec<u8> {
    b"staking/active_set".to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn queue_keys_sort_by_height(a in any::<u64>(), b in any::<u64>()) {
            let op = Address([0xab; 20]);
            prop_assert_eq!(a.cmp(&b), unbonding_queue(Height(a), &op).cmp(&unbonding_queue(Height(b), &op)));
        }
    }

    #[test]
    fn a_height_prefix_does_not_match_another_height() {
        let op = Address([1; 20]);
        assert!(unbonding_queue(Height(12), &op).starts_with(&unbonding_queue_at(Height(12))));
        assert!(!unbonding_queue(Height(123), &op).starts_with(&unbonding_queue_at(Height(12))));
    }
}
