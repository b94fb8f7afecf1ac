//! Big models as linked segments: a model over the `max_k` cap is cut into
//! runs of nodes, each a model of its own proven at `k <= max_k`, linked by
//! committed intermediate tensors (`synod-tensor/v1`): segment `j`'s output
//! commitment is segment `j + 1`'s input commitment, so the chain of proofs
//! shows `output = model(input)` without revealing any intermediate tensor.
//!
//! The first segment's input and the last segment's output take the
//! visibility asked for (public or committed); every interior tensor is
//! committed. The weights' visibility and the context apply to every
//! segment (each segment of a private model has its own weights
//! commitment, and a segment without weights keeps `weights=fixed`; a
//! bound context is the same for all, so no segment proof can be lifted
//! into another chain of proofs).
//!
//! A cut after node `c - 1` is allowed only where tensor `c` (node
//! `c - 1`'s output) is the only tensor the rest of the model reads from
//! before the cut, and it is an int8 tensor (not an ArgMax index).

use std::ops::Range;

use halo2_proofs::{pasta::EqAffine, poly::commitment::Params};
use thiserror::Error;

use crate::circuit::{
    prove_statement, verify_statement, ProveError, ProvedStatement, ProvingSetup, SetupError,
    Statement, TensorClaim, TensorVisibility, VerifierKey, VerifyError, Visibility,
    WeightVisibility, ZkModel,
};
use crate::commitment::ProofContext;
use crate::interp::Tensor;
use crate::ir::{ElementKind, IrError, Model, ModelInfo, Node, Scale, TensorId, TensorInfo};

/// One segment: the nodes it runs, as a model of its own, and the
/// visibility of its proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The original model's nodes this segment runs.
    pub nodes: Range<usize>,
    /// Those nodes as a model whose input is the tensor before them.
    pub model: Model,
    /// The segment's visibility: interior tensors committed.
    pub visibility: Visibility,
}

/// Why a model could not be split, or a chain of segment proofs was refused.
#[derive(Debug, Error)]
pub enum SegmentError {
    /// The model does not validate.
    #[error("invalid model: {0}")]
    Model(#[from] IrError),
    /// A segment model could not be compiled for the circuit.
    #[error("segment {index}: {source}")]
    Setup {
        /// The segment.
        index: usize,
        /// Why.
        source: SetupError,
    },
    /// A cut where the model cannot be cut.
    #[error("cannot cut the model before node {cut}: {reason}")]
    BadCut {
        /// The node the cut falls before.
        cut: usize,
        /// Why.
        reason: String,
    },
    /// A run of nodes with no allowed cut inside needs more than the cap.
    #[error("nodes {first}..{end} cannot be cut and need k = {needed}, over the cap k = {max_k}")]
    TooLarge {
        /// First node of the run.
        first: usize,
        /// One past its last node.
        end: usize,
        /// The `k` they need.
        needed: u32,
        /// The cap.
        max_k: u32,
    },
    /// No segments, or not as many proofs as keys.
    #[error("a chain of segment proofs needs one statement and proof per key (at least one): {0}")]
    Count(String),
    /// A key whose visibility leaves an interior tensor public.
    #[error("segment {index}'s key shows an interior tensor ({visibility}); interior tensors are committed")]
    Interior {
        /// The segment.
        index: usize,
        /// Its key's visibility.
        visibility: Visibility,
    },
    /// Segment `index`'s input commitment is not segment `index - 1`'s
    /// output commitment.
    #[error("segment {index}'s input is not segment {}'s output (the commitments differ)", .index - 1)]
    Link {
        /// The segment whose input does not match.
        index: usize,
    },
    /// Segments bound to different contexts.
    #[error("segment {index} is bound to another context than segment 0")]
    Context {
        /// The segment.
        index: usize,
    },
    /// A segment's proof does not verify.
    #[error("segment {index}: {source}")]
    Verify {
        /// The segment.
        index: usize,
        /// Why.
        source: VerifyError,
    },
    /// A segment could not be proved.
    #[error("segment {index}: {source}")]
    Prove {
        /// The segment.
        index: usize,
        /// Why.
        source: ProveError,
    },
}

/// Whether the model can be cut before node `cut` (`0 < cut < nodes`).
fn check_cut(model: &Model, kinds: &[ElementKind], cut: usize) -> Result<(), SegmentError> {
    let bad = |reason: String| SegmentError::BadCut { cut, reason };
    if cut == 0 || cut >= model.nodes.len() {
        return Err(bad(format!(
            "a cut falls between two of the {} nodes",
            model.nodes.len()
        )));
    }
    if matches!(kinds.get(cut), Some(ElementKind::Index)) {
        return Err(bad("the tensor there is an ArgMax index, not int8".into()));
    }
    for (i, node) in model.nodes.iter().enumerate().skip(cut) {
        if let Some(t) = node.inputs.iter().find(|t| (t.0 as usize) < cut) {
            return Err(bad(format!(
                "node {i} reads {t}, from before the cut (only t{cut} crosses it)"
            )));
        }
    }
    Ok(())
}

/// Nodes `range` of `model` as a model whose input is tensor `range.start`
/// (its shape and zero point from `info`).
fn segment_model(model: &Model, info: &ModelInfo, range: Range<usize>) -> Model {
    let start = range.start;
    let input = if start == 0 {
        model.input.clone()
    } else {
        let tensor = &info.tensors[start];
        TensorInfo {
            shape: tensor.shape.clone(),
            // The ops after the cut check the zero point they read.
            zero_point: match tensor.kind {
                ElementKind::Int8 { zero_point } => zero_point,
                ElementKind::Index => 0,
            },
            // Metadata only (quantizing float inputs); never executed.
            scale: Scale {
                multiplier: 1,
                shift: 0,
            },
        }
    };
    let nodes = model.nodes[range.clone()]
        .iter()
        .map(|n| Node {
            // check_cut guarantees every input is at or after the start.
            inputs: n
                .inputs
                .iter()
                .map(|t| TensorId(t.0.saturating_sub(start as u32)))
                .collect(),
            op: n.op.clone(),
        })
        .collect();
    Model {
        name: format!("{} [nodes {}..{}]", model.name, range.start, range.end),
        input,
        nodes,
    }
}

/// The visibility of segment `index` of `count`.
fn segment_visibility(visibility: Visibility, index: usize, count_known_last: bool) -> Visibility {
    Visibility {
        input: if index == 0 {
            visibility.input
        } else {
            TensorVisibility::Committed
        },
        output: if count_known_last {
            visibility.output
        } else {
            TensorVisibility::Committed
        },
        ..visibility
    }
}

/// `visibility` for a segment model: weights committed only where it has
/// weights (a segment of MaxPool and Reshape has none to hide).
fn with_weights(visibility: Visibility, model: &Model) -> Visibility {
    let (biases, weights) = crate::private_model::parameters(model);
    if biases.is_empty() && weights.is_empty() {
        Visibility {
            weights: WeightVisibility::Fixed,
            ..visibility
        }
    } else {
        visibility
    }
}

/// Cuts `model` before each node of `cuts` (strictly increasing): the
/// segments, the first input and last output as `visibility` says.
pub fn split_at(
    model: &Model,
    cuts: &[usize],
    visibility: Visibility,
) -> Result<Vec<Segment>, SegmentError> {
    let info = model.validate()?;
    let kinds: Vec<ElementKind> = info.tensors.iter().map(|t| t.kind).collect();
    let mut bounds = vec![0];
    for &cut in cuts {
        if cut <= *bounds.last().unwrap_or(&0) {
            return Err(SegmentError::BadCut {
                cut,
                reason: "cuts must be strictly increasing".into(),
            });
        }
        check_cut(model, &kinds, cut)?;
        bounds.push(cut);
    }
    bounds.push(model.nodes.len());
    let last = bounds.len() - 2;
    bounds
        .windows(2)
        .enumerate()
        .map(|(j, w)| {
            let seg_model = segment_model(model, &info, w[0]..w[1]);
            let segment = Segment {
                nodes: w[0]..w[1],
                visibility: with_weights(segment_visibility(visibility, j, j == last), &seg_model),
                model: seg_model,
            };
            segment.model.validate()?;
            Ok(segment)
        })
        .collect()
}

/// Cuts `model` into as few segments as a greedy pass finds, each fitting
/// `k <= max_k` under its visibility (a model that fits is one segment).
pub fn split(
    model: &Model,
    max_k: u32,
    visibility: Visibility,
) -> Result<Vec<Segment>, SegmentError> {
    let info = model.validate()?;
    let kinds: Vec<ElementKind> = info.tensors.iter().map(|t| t.kind).collect();
    let n = model.nodes.len();
    let mut segments: Vec<Segment> = Vec::new();
    let mut start = 0;
    while start < n {
        let index = segments.len();
        let mut best: Option<Segment> = None;
        for end in start + 1..=n {
            if end < n && check_cut(model, &kinds, end).is_err() {
                continue;
            }
            let seg_model = segment_model(model, &info, start..end);
            let seg_visibility =
                with_weights(segment_visibility(visibility, index, end == n), &seg_model);
            match ZkModel::from_ir_with(&seg_model, max_k, seg_visibility) {
                Ok(_) => {
                    best = Some(Segment {
                        nodes: start..end,
                        model: seg_model,
                        visibility: seg_visibility,
                    })
                }
                Err(SetupError::TooLarge { needed, max_k }) => {
                    if best.is_some() {
                        break;
                    }
                    return Err(SegmentError::TooLarge {
                        first: start,
                        end,
                        needed,
                        max_k,
                    });
                }
                Err(source) => return Err(SegmentError::Setup { index, source }),
            }
        }
        let segment = best.ok_or(SegmentError::BadCut {
            cut: start,
            reason: "no segment starts here".into(),
        })?;
        start = segment.nodes.end;
        segments.push(segment);
    }
    Ok(segments)
}

/// Proves each segment in turn on the previous one's output: the proofs
/// and statements, in order (the last output is the model's output).
pub fn prove_segments(
    setups: &[ProvingSetup],
    input: &Tensor,
    context: Option<ProofContext>,
) -> Result<Vec<ProvedStatement>, SegmentError> {
    if setups.is_empty() {
        return Err(SegmentError::Count("no segments".into()));
    }
    let mut proved: Vec<ProvedStatement> = Vec::with_capacity(setups.len());
    for (index, setup) in setups.iter().enumerate() {
        let x = proved.last().map_or(input, |p| &p.output);
        let p = prove_statement(setup, x, context)
            .map_err(|source| SegmentError::Prove { index, source })?;
        proved.push(p);
    }
    Ok(proved)
}

/// One segment's proof as its verifier gets it.
#[derive(Clone, Copy, Debug)]
pub struct SegmentProof<'a> {
    /// IPA parameters of the segment's `k`.
    pub params: &'a Params<EqAffine>,
    /// The segment's key.
    pub key: &'a VerifierKey,
    /// What the proof shows.
    pub statement: &'a Statement,
    /// The proof bytes.
    pub proof: &'a [u8],
}

/// Checks a chain of segment proofs: every interior tensor committed, each
/// segment's input commitment equal to the previous output commitment,
/// one context for all, and every proof valid for its key and statement.
/// The first input and the last output are whatever the first and last
/// keys show. The links are checked before any proof.
pub fn verify_segments(chain: &[SegmentProof<'_>]) -> Result<(), SegmentError> {
    let Some(first) = chain.first() else {
        return Err(SegmentError::Count("no segments".into()));
    };
    let last = chain.len() - 1;
    for (index, s) in chain.iter().enumerate() {
        let v = s.key.visibility;
        if (index > 0 && v.input != TensorVisibility::Committed)
            || (index < last && v.output != TensorVisibility::Committed)
        {
            return Err(SegmentError::Interior {
                index,
                visibility: v,
            });
        }
        if s.statement.context != first.statement.context {
            return Err(SegmentError::Context { index });
        }
        if index > 0 {
            let linked = match (&chain[index - 1].statement.output, &s.statement.input) {
                (TensorClaim::Committed(a), TensorClaim::Committed(b)) => a == b,
                _ => false,
            };
            if !linked {
                return Err(SegmentError::Link { index });
            }
        }
    }
    for (index, s) in chain.iter().enumerate() {
        verify_statement(s.params, s.key, s.statement, s.proof)
            .map_err(|source| SegmentError::Verify { index, source })?;
    }
    Ok(())
}
