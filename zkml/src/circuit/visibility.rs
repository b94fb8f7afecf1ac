//! What a proof's public instance shows of each tensor, and the statement a
//! verifier checks: the values of a public tensor, the commitment of a
//! committed one, and the proof's context.
//!
//! Instance layout of a circuit with [`Visibility::PUBLIC`] (today's
//! circuit, unchanged): the input values, then the output values, each plus
//! `PUBLIC_OFFSET`. With any other visibility (the bound circuit, see
//! `bound.rs`): the input part (its values plus `PUBLIC_OFFSET`, or one
//! commitment), the output part (the same), the weights' commitment if the
//! weights are committed, then the context if bound.

use std::fmt;
use std::str::FromStr;

use halo2_proofs::pasta::Fp;
use thiserror::Error;

use super::config::PUBLIC_OFFSET;
use super::synth::field;
use crate::commitment::{ProofContext, TensorCommitment};
use crate::interp::Tensor;

/// What the instance shows of an input or output tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TensorVisibility {
    /// Every value is in the instance.
    Public,
    /// The instance holds the tensor's [`TensorCommitment`]; the values are
    /// a private witness.
    Committed,
}

/// What the verifying key holds of the weights.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WeightVisibility {
    /// Fixed columns: the verifying key commits to the model.
    Fixed,
    /// Private witnesses: the instance holds the weights' commitment
    /// (`synod-weights/v1`, see `crate::private_model`) and the verifying key
    /// depends only on the architecture (shapes, wiring and the
    /// requantization constants).
    Committed,
}

/// Whether the instance carries a [`ProofContext`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContextBinding {
    /// No context: the proof is valid wherever it is shown.
    Unbound,
    /// The last instance value is the context: the proof verifies only
    /// with the context it was made for.
    Bound,
}

/// The visibility of each tensor of a proof, and whether it binds a
/// context. Part of the circuit: each choice has its own verifying key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Visibility {
    /// The input tensor.
    pub input: TensorVisibility,
    /// The output tensor.
    pub output: TensorVisibility,
    /// The weights and biases.
    pub weights: WeightVisibility,
    /// The context.
    pub context: ContextBinding,
}

impl Visibility {
    /// Everything public, no context: the original circuit, whose keys and
    /// proofs are those of every model registered so far.
    pub const PUBLIC: Visibility = Visibility {
        input: TensorVisibility::Public,
        output: TensorVisibility::Public,
        weights: WeightVisibility::Fixed,
        context: ContextBinding::Unbound,
    };

    /// Input and output committed, weights fixed, context bound: a step of a
    /// chained workflow whose tensors never reach the chain.
    pub const COMMITTED: Visibility = Visibility {
        input: TensorVisibility::Committed,
        output: TensorVisibility::Committed,
        weights: WeightVisibility::Fixed,
        context: ContextBinding::Bound,
    };

    /// Weights committed (a private model), input and output public, no
    /// context: the inference is shown, the model is not.
    pub const PRIVATE_MODEL: Visibility = Visibility {
        input: TensorVisibility::Public,
        output: TensorVisibility::Public,
        weights: WeightVisibility::Committed,
        context: ContextBinding::Unbound,
    };

    /// Whether this is [`Visibility::PUBLIC`] (the original circuit).
    pub fn is_public(&self) -> bool {
        *self == Visibility::PUBLIC
    }
}

impl Default for Visibility {
    fn default() -> Self {
        Visibility::PUBLIC
    }
}

impl fmt::Display for Visibility {
    /// `input=committed,output=public,weights=fixed,context=bound`: the form
    /// a CLI flag can take.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tensor = |v: TensorVisibility| match v {
            TensorVisibility::Public => "public",
            TensorVisibility::Committed => "committed",
        };
        let context = match self.context {
            ContextBinding::Unbound => "none",
            ContextBinding::Bound => "bound",
        };
        let weights = match self.weights {
            WeightVisibility::Fixed => "fixed",
            WeightVisibility::Committed => "committed",
        };
        write!(
            f,
            "input={},output={},weights={weights},context={context}",
            tensor(self.input),
            tensor(self.output)
        )
    }
}

/// Why a visibility string (`input=committed,output=public,...`) is refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum VisibilityParseError {
    /// A part that is not `key=value`.
    #[error("`{part}` is not key=value (keys: input, output, weights, context)")]
    NotKeyValue {
        /// The part.
        part: String,
    },
    /// A key other than `input`, `output`, `weights`, `context`.
    #[error("unknown visibility key `{key}` (keys: input, output, weights, context)")]
    UnknownKey {
        /// The key.
        key: String,
    },
    /// A key given twice.
    #[error("visibility key `{key}` is given twice")]
    Repeated {
        /// The key.
        key: String,
    },
    /// A value the key does not take.
    #[error("`{key}={value}`: {key} takes {allowed}")]
    Value {
        /// The key.
        key: String,
        /// The value.
        value: String,
        /// What it takes.
        allowed: &'static str,
    },
}

impl FromStr for Visibility {
    type Err = VisibilityParseError;

    /// `input=public|committed,output=public|committed,weights=fixed|committed,context=none|bound`,
    /// keys in any order, each at most once; a missing key keeps
    /// [`Visibility::PUBLIC`]'s choice.
    fn from_str(s: &str) -> Result<Visibility, VisibilityParseError> {
        let mut v = Visibility::PUBLIC;
        let mut seen: Vec<&str> = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) =
                part.split_once('=')
                    .ok_or_else(|| VisibilityParseError::NotKeyValue {
                        part: part.to_owned(),
                    })?;
            let (key, value) = (key.trim(), value.trim());
            if seen.contains(&key) {
                return Err(VisibilityParseError::Repeated {
                    key: key.to_owned(),
                });
            }
            let bad = |allowed| VisibilityParseError::Value {
                key: key.to_owned(),
                value: value.to_owned(),
                allowed,
            };
            let tensor = |value: &str| match value {
                "public" => Ok(TensorVisibility::Public),
                "committed" => Ok(TensorVisibility::Committed),
                _ => Err(bad("public or committed")),
            };
            match key {
                "input" => v.input = tensor(value)?,
                "output" => v.output = tensor(value)?,
                "weights" => {
                    v.weights = match value {
                        "fixed" => WeightVisibility::Fixed,
                        "committed" => WeightVisibility::Committed,
                        _ => return Err(bad("fixed or committed")),
                    }
                }
                "context" => {
                    v.context = match value {
                        "none" => ContextBinding::Unbound,
                        "bound" => ContextBinding::Bound,
                        _ => return Err(bad("none or bound")),
                    }
                }
                _ => {
                    return Err(VisibilityParseError::UnknownKey {
                        key: key.to_owned(),
                    })
                }
            }
            seen.push(key);
        }
        Ok(v)
    }
}

/// A tensor as a statement shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TensorClaim {
    /// The values.
    Public(Tensor),
    /// The commitment to the values.
    Committed(TensorCommitment),
}

impl TensorClaim {
    /// The visibility this claim is for.
    pub fn visibility(&self) -> TensorVisibility {
        match self {
            TensorClaim::Public(_) => TensorVisibility::Public,
            TensorClaim::Committed(_) => TensorVisibility::Committed,
        }
    }
}

/// What a proof proves, as its verifier sees it: `output = model(input)`
/// for the model of the verifying key, with each tensor shown or committed,
/// under a context if the visibility binds one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The input.
    pub input: TensorClaim,
    /// The output.
    pub output: TensorClaim,
    /// The weights' commitment (present exactly when the weights are
    /// committed: a private model).
    pub weights: Option<TensorCommitment>,
    /// The context (present exactly when the visibility binds one).
    pub context: Option<ProofContext>,
}

impl Statement {
    /// The visibility of this statement.
    pub fn visibility(&self) -> Visibility {
        Visibility {
            input: self.input.visibility(),
            output: self.output.visibility(),
            weights: if self.weights.is_some() {
                WeightVisibility::Committed
            } else {
                WeightVisibility::Fixed
            },
            context: if self.context.is_some() {
                ContextBinding::Bound
            } else {
                ContextBinding::Unbound
            },
        }
    }
}

/// Instance values of one tensor part: the public values plus the offset,
/// or the commitment.
pub(crate) fn claim_instance(claim: &TensorClaim) -> Vec<Fp> {
    match claim {
        TensorClaim::Public(t) => t
            .values()
            .iter()
            .map(|&v| field(i128::from(v) + i128::from(PUBLIC_OFFSET)))
            .collect(),
        TensorClaim::Committed(c) => vec![c.to_field()],
    }
}

/// Rows the instance of `visibility` takes for tensors of these lengths.
pub(crate) fn instance_rows(visibility: &Visibility, input_len: usize, output_len: usize) -> usize {
    let part = |v: TensorVisibility, len: usize| match v {
        TensorVisibility::Public => len,
        TensorVisibility::Committed => 1,
    };
    part(visibility.input, input_len)
        + part(visibility.output, output_len)
        + usize::from(visibility.weights == WeightVisibility::Committed)
        + usize::from(visibility.context == ContextBinding::Bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_strings_round_trip_and_default_to_public() {
        for v in [
            Visibility::PUBLIC,
            Visibility::COMMITTED,
            Visibility {
                input: TensorVisibility::Committed,
                ..Visibility::PUBLIC
            },
            Visibility::PRIVATE_MODEL,
        ] {
            assert_eq!(v.to_string().parse::<Visibility>(), Ok(v));
        }
        assert_eq!("".parse::<Visibility>(), Ok(Visibility::PUBLIC));
        assert_eq!(
            "output=committed, input=committed"
                .parse::<Visibility>()
                .map(|v| (v.input, v.output, v.context)),
            Ok((
                TensorVisibility::Committed,
                TensorVisibility::Committed,
                ContextBinding::Unbound
            ))
        );
    }

    #[test]
    fn bad_visibility_strings_say_what_is_wrong() {
        let err = |s: &str| s.parse::<Visibility>().expect_err(s);
        assert!(matches!(
            err("input"),
            VisibilityParseError::NotKeyValue { .. }
        ));
        assert!(matches!(
            err("model=public"),
            VisibilityParseError::UnknownKey { .. }
        ));
        assert!(matches!(
            err("input=public,input=committed"),
            VisibilityParseError::Repeated { .. }
        ));
        assert!(matches!(
            err("input=hidden"),
            VisibilityParseError::Value { .. }
        ));
        assert_eq!(
            err("weights=hidden").to_string(),
            "`weights=hidden`: weights takes fixed or committed"
        );
    }
}
