//! Events the chain emits, typed here and flattened to ABCI key/value
//! attributes at the edge.

use serde::{Deserialize, Serialize};

use crate::{address::Address, amount::Amount, height::Height, keys::PubKey};

/// Something that happened on chain that clients may want to follow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    Transfer {
        from: Address,
        to: Address,
        amount: Amount,
    },
    FeePaid {
        payer: Address,
        fee: Amount,
    },
    Bonded {
        validator: Address,
        amount: Amount,
    },
    UnbondingStarted {
        validator: Address,
        amount: Amount,
        release_height: Height,
    },
    UnbondingReleased {
        validator: Address,
        amount: Amount,
    },
    ValidatorRegistered {
        validator: Address,
        consensus_key: PubKey,
        moniker: String,
    },
    Slashed {
        validator: Address,
        amount: Amount,
        reason: String,
        infraction_height: Height,
    },
    Jailed {
        validator: Address,
        until_height: Height,
        reason: String,
    },
    Tombstoned {
        validator: Address,
    },
    Unjailed {
        validator: Address,
    },
    ValidatorSetChanged {
        validator: Address,
        power: u64,
    },
    Rewarded {
        recipient: Address,
        amount: Amount,
        reason: String,
    },
    /// A proof of inference verified: `output = model(input)` where the input
    /// is committed to by `input_commitment` (the zkml trace leaf of the input
    /// tensor, `synod_zkml::trace::tensor_leaf`).
    InferenceVerified {
        model: [u8; 32],
        submitter: Address,
        input_commitment: [u8; 32],
        output: Vec<i32>,
    },
}

impl Event {
    /// The ABCI event type.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Transfer { .. } => "transfer",
            Event::FeePaid { .. } => "fee_paid",
            Event::Bonded { .. } => "bonded",
            Event::UnbondingStarted { .. } => "unbonding_started",
            Event::UnbondingReleased { .. } => "unbonding_released",
            Event::ValidatorRegistered { .. } => "validator_registered",
            Event::Slashed { .. } => "slashed",
            Event::Jailed { .. } => "jailed",
            Event::Tombstoned { .. } => "tombstoned",
            Event::Unjailed { .. } => "unjailed",
            Event::ValidatorSetChanged { .. } => "validator_set_changed",
            Event::Rewarded { .. } => "rewarded",
            Event::InferenceVerified { .. } => "inference_verified",
        }
    }

    /// The event's fields as ABCI attributes (key, value), values as people read them.
    pub fn attributes(&self) -> Vec<(&'static str, String)> {
        let a = |v: &Address| v.to_string();
        let n = |v: &Amount| v.0.to_string();
        match self {
            Event::Transfer { from, to, amount } => {
                vec![("from", a(from)), ("to", a(to)), ("amount", n(amount))]
            }
            Event::FeePaid { payer, fee } => vec![("payer", a(payer)), ("fee", n(fee))],
            Event::Bonded { validator, amount } => {
                vec![("validator", a(validator)), ("amount", n(amount))]
            }
            Event::UnbondingStarted {
                validator,
                amount,
                release_height,
            } => vec![
                ("validator", a(validator)),
                ("amount", n(amount)),
                ("release_height", release_height.to_string()),
            ],
            Event::UnbondingReleased { validator, amount } => {
                vec![("validator", a(validator)), ("amount", n(amount))]
            }
            Event::ValidatorRegistered {
                validator,
                consensus_key,
                moniker,
            } => vec![
                ("validator", a(validator)),
                ("consensus_key", consensus_key.to_string()),
                ("moniker", moniker.clone()),
            ],
            Event::Slashed {
                validator,
                amount,
                reason,
                infraction_height,
            } => vec![
                ("validator", a(validator)),
                ("amount", n(amount)),
                ("reason", reason.clone()),
                ("infraction_height", infraction_height.to_string()),
            ],
            Event::Jailed {
                validator,
                until_height,
                reason,
            } => vec![
                ("validator", a(validator)),
                ("until_height", until_height.to_string()),
                ("reason", reason.clone()),
            ],
            Event::Tombstoned { validator } | Event::Unjailed { validator } => {
                vec![("validator", a(validator))]
            }
            Event::ValidatorSetChanged { validator, power } => {
                vec![("validator", a(validator)), ("power", power.to_string())]
            }
            Event::Rewarded {
                recipient,
                amount,
                reason,
            } => vec![
                ("recipient", a(recipient)),
                ("amount", n(amount)),
                ("reason", reason.clone()),
            ],
            Event::InferenceVerified {
                model,
                submitter,
                input_commitment,
                output,
            } => vec![
                ("model", hex::encode(model)),
                ("submitter", a(submitter)),
                ("input_commitment", hex::encode(input_commitment)),
                (
                    "output",
                    output
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            ],
        }
    }
}
