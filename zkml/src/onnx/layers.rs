//! The importer's middle form: the ONNX graph reduced to the IR's layers,
//! with weights in the IR's layouts but still float (float models) or
//! already integer with their scales (quantized models). The float reference
//! evaluator runs it; the quantizer turns it into an [`crate::ir::Model`].
//!
//! Like the IR it is in SSA form: value 0 is the input, layer `i` writes
//! value `i + 1`. Shapes are the IR's (batch dimension dropped).

use crate::ir::ConvGeometry;

/// Quantization parameters of an activation: `real = scale * (q - zero_point)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantParams {
    pub scale: f64,
    pub zero_point: i8,
}

/// The ONNX node a layer came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Origin {
    pub node_name: String,
    pub op_type: String,
}

/// Dense or Conv2d weights in the IR's layout.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Weights {
    Float(Vec<f32>),
    /// `real = scales[o] * q` (symmetric) for the weights of output `o`, or
    /// one scale for all (per-tensor quantization).
    Int8 {
        values: Vec<i8>,
        scales: Vec<f64>,
    },
}

/// Dense or Conv2d bias, one per output.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Bias {
    Float(Vec<f32>),
    /// `real = scales[o] * q`, or one scale for all.
    Int32 {
        values: Vec<i32>,
        scales: Vec<f64>,
    },
}

/// The scale of entry `i` of `len` values split evenly over `scales.len()`
/// channels (one scale: all of them).
pub(crate) fn channel_scale(scales: &[f64], i: usize, len: usize) -> f64 {
    let per = (len / scales.len().max(1)).max(1);
    scales
        .get(i / per)
        .or(scales.last())
        .copied()
        .unwrap_or(1.0)
}

impl Weights {
    /// The real values.
    pub fn to_floats(&self) -> Vec<f32> {
        match self {
            Weights::Float(w) => w.clone(),
            Weights::Int8 { values, scales } => values
                .iter()
                .enumerate()
                .map(|(i, &q)| (f64::from(q) * channel_scale(scales, i, values.len())) as f32)
                .collect(),
        }
    }
}

impl Bias {
    /// The real values.
    pub fn to_floats(&self) -> Vec<f32> {
        match self {
            Bias::Float(b) => b.clone(),
            Bias::Int32 { values, scales } => values
                .iter()
                .enumerate()
                .map(|(i, &q)| (f64::from(q) * channel_scale(scales, i, values.len())) as f32)
                .collect(),
        }
    }
}

/// What a layer computes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LayerOp {
    Dense {
        in_features: u32,
        out_features: u32,
        weights: Weights,
        bias: Bias,
    },
    Conv2d {
        geometry: ConvGeometry,
        weights: Weights,
        bias: Bias,
    },
    /// Elementwise sum of two activations of one shape.
    Add,
    Relu,
    MaxPool {
        kernel: u32,
        stride: u32,
    },
    Reshape {
        shape: Vec<u32>,
    },
    ArgMax,
}

/// One layer: its op, the values it reads, and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Layer {
    pub op: LayerOp,
    pub inputs: Vec<usize>,
    /// A ReLU folded into this Dense / Conv2d / Add (the following ONNX Relu).
    pub relu: bool,
    pub origin: Origin,
}

/// A value's shape and which quantization class it belongs to. Values of
/// one class share their quantization parameters: a ReLU kept as its own
/// layer, a MaxPool and a Reshape do not change them.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Value {
    pub shape: Vec<u32>,
    /// `None` for the ArgMax index.
    pub class: Option<usize>,
    /// The ONNX name of the value (the last name it had).
    pub name: String,
}

/// The layer graph plus the quantization parameters the ONNX file states
/// (QDQ / QOperator models) for each class; float models state none.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct LayerGraph {
    pub values: Vec<Value>,
    pub layers: Vec<Layer>,
    pub stated: Vec<Option<QuantParams>>,
}

impl LayerGraph {
    /// The value the class of which scores the output: the ArgMax's input
    /// if the graph ends in an ArgMax, else the last value.
    pub fn logits_value(&self) -> usize {
        match self.layers.last() {
            Some(Layer {
                op: LayerOp::ArgMax,
                inputs,
                ..
            }) => inputs[0],
            _ => self.values.len() - 1,
        }
    }
}
