//! Where a validator stands, in the words the tables of `synod query
//! validators` and `synod-testnet status` show.

use synod_protocol::state::{ValidatorStatus, ValidatorSummary};

/// `active` (in the active set: it signs blocks), `inactive` (eligible, but
/// outside the active set), `jailed until H`, or `tombstoned`.
pub fn standing(v: &ValidatorSummary) -> String {
    match &v.validator.status {
        ValidatorStatus::Candidate if v.active => "active".into(),
        ValidatorStatus::Candidate => "inactive".into(),
        ValidatorStatus::Jailed { until_height, .. } => {
            format!("jailed until {}", until_height.value())
        }
        ValidatorStatus::Tombstoned => "tombstoned".into(),
    }
}

#[cfg(test)]
mod tests {
    use synod_protocol::{
        state::{Validator, ValidatorStatus, ValidatorSummary},
        Address, Amount, Height, PubKey,
    };

    use super::standing;

    fn summary(status: ValidatorStatus, active: bool) -> ValidatorSummary {
        ValidatorSummary {
            validator: Validator {
                operator: Address([1; 20]),
                consensus_key: PubKey([2; 32]),
                moniker: "v".into(),
                self_bond: Amount::syn(10_000),
                status,
                registered_height: Height(1),
            },
            reputation: 0,
            power: 10,
            active,
        }
    }

    #[test]
    fn a_signing_validator_is_active_not_a_candidate() {
        assert_eq!(
            standing(&summary(ValidatorStatus::Candidate, true)),
            "active"
        );
        assert_eq!(
            standing(&summary(ValidatorStatus::Candidate, false)),
            "inactive"
        );
        let jailed = ValidatorStatus::Jailed {
            until_height: Height(120),
            reason: "downtime".into(),
        };
        assert_eq!(standing(&summary(jailed, false)), "jailed until 120");
        assert_eq!(
            standing(&summary(ValidatorStatus::Tombstoned, false)),
            "tombstoned"
        );
    }
}
