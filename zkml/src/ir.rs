//! The quantized model IR: int8 weights and activations, int32 accumulators,
//! requantization by an integer multiplier and shift. Its integer semantics
//! are fixed by `docs/zkml-arithmetic.md`; the interpreter and the circuit
//! both implement exactly that.
//!
//! A [`Model`] is in SSA form: tensor 0 is the input, node `i` writes tensor
//! `i + 1` and reads earlier tensors by id; the last tensor is the output.
//! Every node carries what it needs to be executed alone (its weights, and
//! the zero points of the tensors it reads where the arithmetic uses them), so
//! one step of an execution can be re-run on chain from the node and its
//! input tensors. [`Model::validate`] checks a model against the contract and
//! infers every tensor's shape; the [`ModelId`] is a Merkle root over the
//! model's header and nodes, so one node can be proven part of a model.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use synod_protocol::codec::{self, CodecError};

use crate::merkle::{self, MerkleError, MerkleProof};

mod conv;
mod validate;

pub(crate) use conv::window_count;
pub use conv::ConvGeometry;
pub(crate) use validate::element_count;
pub use validate::NodeProblem;

/// The version of the IR and of its semantics; part of the model id.
pub const IR_VERSION: u16 = 2;
/// The first bytes of a `.synod-model` file.
pub const FILE_MAGIC: [u8; 8] = *b"SYNODMDL";
/// The file extension of a model file.
pub const FILE_EXTENSION: &str = "synod-model";
/// The largest Conv2d kernel side, and the largest Conv2d padding plus one.
pub const MAX_KERNEL: u32 = 7;
/// The largest MaxPool window side.
pub const MAX_POOL_KERNEL: u32 = 16;
/// The largest tensor rank.
pub const MAX_RANK: usize = 4;
/// The most elements one tensor may hold.
pub const MAX_TENSOR_ELEMENTS: u64 = 1 << 24;
/// The most nodes a model may have.
pub const MAX_NODES: usize = 4096;
/// The longest model name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;
/// The largest requantization shift (the smallest is 1).
pub const MAX_SHIFT: u8 = 62;

const MODEL_HEADER_TAG: &[u8] = b"synod/zkml/model-header/v1";
const MODEL_NODE_TAG: &[u8] = b"synod/zkml/model-node/v1";
/// Magic, version (u16 little-endian), stated model id.
const FILE_HEADER_BYTES: usize = 8 + 2 + 32;

/// A tensor's position in a model: 0 is the input, `i + 1` is node `i`'s output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TensorId(pub u32);

impl fmt::Display for TensorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{}", self.0)
    }
}

/// A real-valued scale as an exact fraction: `real = q * multiplier / 2^shift`.
/// Metadata only (display, quantizing user inputs); never used in execution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scale {
    pub multiplier: u32,
    pub shift: u8,
}

/// The model input: its shape, zero point and scale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorInfo {
    pub shape: Vec<u32>,
    pub zero_point: i8,
    pub scale: Scale,
}

/// Requantization of an i32 accumulator to int8:
/// `clamp(((acc * multiplier + 2^(shift-1)) >> shift) + zero_point, -128, 127)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requant {
    /// In `1..2^31`.
    pub multiplier: i32,
    /// In `1..=62`.
    pub shift: u8,
    /// The output tensor's zero point.
    pub zero_point: i8,
}

/// The multiplier and shift of one output channel, for weights quantized
/// per channel: they replace the layer's [`Requant`] multiplier and shift
/// for that channel (its zero point, the output tensor's, is shared).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRequant {
    /// In `1..2^31`.
    pub multiplier: i32,
    /// In `1..=62`.
    pub shift: u8,
}

impl Requant {
    /// The requantization of output channel `channel`: this one when
    /// `channels` is empty (per-tensor), else with `channels[channel]`'s
    /// multiplier and shift.
    pub fn for_channel(self, channels: &[ChannelRequant], channel: usize) -> Requant {
        match channels.get(channel) {
            Some(c) => Requant {
                multiplier: c.multiplier,
                shift: c.shift,
                zero_point: self.zero_point,
            },
            None => self,
        }
    }
}

/// One operation of a model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Gemm / MatMul + bias on a 1-D input of `in_features` values:
    /// `acc[o] = bias[o] + sum_i x[i] * weights[o * in_features + i]`, requantized.
    /// The bias has the input zero point folded in (see the contract).
    Dense {
        in_features: u32,
        out_features: u32,
        /// Row-major `[out_features][in_features]`.
        weights: Vec<i8>,
        bias: Vec<i32>,
        requant: Requant,
        /// Empty, or one entry per output (weights quantized per channel).
        channels: Vec<ChannelRequant>,
    },
    /// 2-D convolution of a `[C, H, W]` input; output `[O, OH, OW]` with
    /// `OH = (H + 2 * padding - kernel_h) / stride + 1` (likewise OW). The
    /// border is padded with `input_zero_point` (the real zero).
    Conv2d {
        /// Channels, kernel, stride and padding (encoded as six inline `u32`).
        geometry: ConvGeometry,
        /// The zero point of the tensor read (the padding value).
        input_zero_point: i8,
        /// Row-major `[O][C][KH][KW]`.
        weights: Vec<i8>,
        bias: Vec<i32>,
        requant: Requant,
        /// Empty, or one entry per output channel (weights quantized per channel).
        channels: Vec<ChannelRequant>,
    },
    /// `clamp((((a - za) * ma + (b - zb) * mb + 2^(s-1)) >> s) + zy, -128, 127)`
    /// of two tensors of the same shape.
    Add {
        a_zero_point: i8,
        b_zero_point: i8,
        a_multiplier: i32,
        b_multiplier: i32,
        shift: u8,
        /// The output tensor's zero point.
        zero_point: i8,
    },
    /// `max(x, zero_point)`, where `zero_point` is the input's (and output's).
    Relu { zero_point: i8 },
    /// Maximum over `kernel x kernel` windows of a `[C, H, W]` input, no padding.
    MaxPool { kernel: u32, stride: u32 },
    /// The same values in the same row-major order under a new shape (Flatten too).
    Reshape { shape: Vec<u32> },
    /// The index of the first maximum of a 1-D int8 tensor; output shape `[1]`.
    ArgMax,
}

/// The kind of an [`Op`], for messages and statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    Dense,
    Conv2d,
    Add,
    Relu,
    MaxPool,
    Reshape,
    ArgMax,
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// One node: an op and the earlier tensors it reads (two for Add, else one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub inputs: Vec<TensorId>,
    pub op: Op,
}

/// A quantized model. See the module docs for the SSA convention.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    pub name: String,
    pub input: TensorInfo,
    pub nodes: Vec<Node>,
}

/// What a tensor's elements are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementKind {
    /// int8 activations with this zero point.
    Int8 { zero_point: i8 },
    /// The i32 index written by ArgMax; no op may read it.
    Index,
}

/// A tensor's inferred shape and element kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorMeta {
    pub shape: Vec<u32>,
    pub kind: ElementKind,
}

/// What [`Model::validate`] learned: every tensor (input first, output last)
/// and the model's size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelInfo {
    pub tensors: Vec<TensorMeta>,
    /// Weights plus biases.
    pub parameter_count: u64,
    /// Multiply-accumulates of one inference (Dense and Conv2d).
    pub mac_count: u64,
}

impl ModelInfo {
    /// The output tensor's shape and kind.
    pub fn output(&self) -> &TensorMeta {
        // validate() always records at least the input tensor.
        &self.tensors[self.tensors.len() - 1]
    }
}

/// A model's content hash: the Merkle root over its header leaf (IR version,
/// name, input info, node count) and one leaf per node (see [`crate::merkle`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ModelId(pub [u8; 32]);

/// A model read from a file: checked against its stated id and validated.
#[derive(Clone, Debug)]
pub struct LoadedModel {
    pub model: Model,
    pub info: ModelInfo,
    pub id: ModelId,
}

/// Why a model, or a model file, was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum IrError {
    #[error(
        "not a .{FILE_EXTENSION} file: it does not start with the magic bytes {:?}",
        String::from_utf8_lossy(&FILE_MAGIC)
    )]
    NotAModelFile,
    #[error("model file of {len} bytes is shorter than its {FILE_HEADER_BYTES}-byte header")]
    Truncated { len: usize },
    #[error("model file has IR version {found}; this build reads version {supported}")]
    UnsupportedVersion { found: u16, supported: u16 },
    /// The codec's message (a [`CodecError`], kept as text so this error is `Clone`).
    #[error("model bytes do not decode: {0}")]
    Codec(String),
    #[error(
        "model file fails its hash: it states model id {stated}, its contents hash to {computed}"
    )]
    IdMismatch { stated: ModelId, computed: ModelId },
    #[error("model name is {len} bytes, longer than {MAX_NAME_BYTES}")]
    NameTooLong { len: usize },
    #[error("model input: {0}")]
    Input(NodeProblem),
    #[error("model input scale multiplier must be at least 1")]
    InputScale,
    #[error("model has no nodes")]
    NoNodes,
    #[error("model has {count} nodes, more than {MAX_NODES}")]
    TooManyNodes { count: usize },
    #[error("node {index} ({kind}): {problem}")]
    Node {
        index: usize,
        kind: OpKind,
        problem: NodeProblem,
    },
    #[error("node {index} does not exist: the model has {count} nodes")]
    NodeOutOfRange { index: usize, count: usize },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
}

impl Op {
    /// This op's kind.
    pub fn kind(&self) -> OpKind {
        match self {
            Op::Dense { .. } => OpKind::Dense,
            Op::Conv2d { .. } => OpKind::Conv2d,
            Op::Add { .. } => OpKind::Add,
            Op::Relu { .. } => OpKind::Relu,
            Op::MaxPool { .. } => OpKind::MaxPool,
            Op::Reshape { .. } => OpKind::Reshape,
            Op::ArgMax => OpKind::ArgMax,
        }
    }

    /// How many tensors the op reads.
    pub fn arity(&self) -> usize {
        match self {
            Op::Add { .. } => 2,
            _ => 1,
        }
    }

    /// Weights plus biases.
    pub fn parameter_count(&self) -> u64 {
        match self {
            Op::Dense { weights, bias, .. } | Op::Conv2d { weights, bias, .. } => {
                weights.len() as u64 + bias.len() as u64
            }
            _ => 0,
        }
    }
}

impl Model {
    /// The canonical bytes of the model (the one encoding, `synod_protocol::codec`).
    pub fn to_canonical_bytes(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes canonical bytes (strict: no trailing bytes, one encoding). Does not validate.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<Model, IrError> {
        codec::decode(bytes).map_err(|e: CodecError| IrError::Codec(e.to_string()))
    }

    /// The `.synod-model` file: magic, IR version (u16 little-endian), the
    /// model id, then the canonical bytes. The canonical bytes are limited to
    /// `synod_protocol::codec::MAX_DECODE_BYTES` (4 MiB) when read back.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let body = self.to_canonical_bytes();
        let mut out = Vec::with_capacity(FILE_HEADER_BYTES + body.len());
        out.extend_from_slice(&FILE_MAGIC);
        out.extend_from_slice(&IR_VERSION.to_le_bytes());
        out.extend_from_slice(&ModelId::of(self).0);
        out.extend_from_slice(&body);
        out
    }

    /// Reads a `.synod-model` file's bytes: checks the magic and version,
    /// decodes strictly, checks the stated id against the contents, validates.
    pub fn from_file_bytes(bytes: &[u8]) -> Result<LoadedModel, IrError> {
        if !bytes.starts_with(&FILE_MAGIC) {
            return Err(IrError::NotAModelFile);
        }
        if bytes.len() < FILE_HEADER_BYTES {
            return Err(IrError::Truncated { len: bytes.len() });
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != IR_VERSION {
            return Err(IrError::UnsupportedVersion {
                found: version,
                supported: IR_VERSION,
            });
        }
        let mut stated = [0u8; 32];
        stated.copy_from_slice(&bytes[10..FILE_HEADER_BYTES]);
        let stated = ModelId(stated);
        let model = Model::from_canonical_bytes(&bytes[FILE_HEADER_BYTES..])?;
        let computed = ModelId::of(&model);
        if computed != stated {
            return Err(IrError::IdMismatch { stated, computed });
        }
        let info = model.validate()?;
        Ok(LoadedModel {
            model,
            info,
            id: computed,
        })
    }

    /// Reads and checks a `.synod-model` file.
    pub fn read_file(path: &Path) -> Result<LoadedModel, IrError> {
        let bytes = std::fs::read(path).map_err(|e| IrError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Model::from_file_bytes(&bytes)
    }

    /// Validates the model and writes it as a `.synod-model` file.
    pub fn write_file(&self, path: &Path) -> Result<ModelId, IrError> {
        self.validate()?;
        std::fs::write(path, self.to_file_bytes()).map_err(|e| IrError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Ok(ModelId::of(self))
    }

    /// The proof that node `index` is part of this model (see [`verify_node_proof`]).
    pub fn node_proof(&self, index: usize) -> Result<MerkleProof, IrError> {
        let out_of_range = IrError::NodeOutOfRange {
            index,
            count: self.nodes.len(),
        };
        if index >= self.nodes.len() {
            return Err(out_of_range);
        }
        merkle::proof(&model_leaves(self), index + 1).ok_or(out_of_range)
    }
}

fn sha256_tagged(tag: &[u8], body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(tag);
    h.update(body);
    h.finalize().into()
}

/// The leaf of the model id's tree for one node.
pub fn node_leaf(node: &Node) -> [u8; 32] {
    sha256_tagged(MODEL_NODE_TAG, &codec::encode(node))
}

fn header_leaf(model: &Model) -> [u8; 32] {
    let header = (
        IR_VERSION,
        &model.name,
        &model.input,
        model.nodes.len() as u64,
    );
    sha256_tagged(MODEL_HEADER_TAG, &codec::encode(&header))
}

fn model_leaves(model: &Model) -> Vec<[u8; 32]> {
    std::iter::once(header_leaf(model))
        .chain(model.nodes.iter().map(node_leaf))
        .collect()
}

impl ModelId {
    /// The id of a model (valid or not).
    pub fn of(model: &Model) -> ModelId {
        ModelId(merkle::root(&model_leaves(model)))
    }
}

/// Checks that `node` is node `index` of the model with id `model_id`. On
/// success returns the model's node count (stated by the proof, committed to by the id).
pub fn verify_node_proof(
    model_id: &ModelId,
    index: usize,
    node: &Node,
    proof: &MerkleProof,
) -> Result<usize, MerkleError> {
    let leaf_index = (index as u64).saturating_add(1);
    merkle::verify(&model_id.0, leaf_index, &node_leaf(node), proof)?;
    Ok((proof.leaf_count - 1) as usize)
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModelId({self})")
    }
}

/// A model id that is not 64 hex digits.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("a model id is 64 hex digits, got {input:?}")]
pub struct BadModelId {
    pub input: String,
}

impl FromStr for ModelId {
    type Err = BadModelId;

    fn from_str(s: &str) -> Result<ModelId, BadModelId> {
        let bad = || BadModelId {
            input: s.to_owned(),
        };
        let bytes = hex::decode(s).map_err(|_| bad())?;
        <[u8; 32]>::try_from(bytes).map(ModelId).map_err(|_| bad())
    }
}
