//! ONNX import: reads an `.onnx` file (the protobuf, decoded with `prost`
//! from the subset of `onnx.proto` in [`proto`]) and produces an int8
//! [`crate::ir::Model`].
//!
//! - **Float models** (Gemm, MatMul + Add, Conv, Relu, MaxPool, Flatten,
//!   Reshape, Add, ArgMax) are quantized with activation ranges from
//!   calibration inputs; the scheme is described in [`quantize`].
//! - **Quantized models** keep their own int8 weights, int32 biases, scales
//!   and zero points: QDQ (`QuantizeLinear` / `DequantizeLinear` around float
//!   ops) and QOperator (`QLinearMatMul`, `QLinearConv`,
//!   `com.microsoft.QGemm`, `com.microsoft.QLinearAdd`). Only per-tensor
//!   weight scales: per-output-channel scales would need one multiplier per
//!   channel, which the IR does not have, and are refused.
//!
//! Every import also builds a float reference evaluator of the same graph
//! ([`FloatReference`]) so the int8 model can be compared with it
//! ([`compare`]); with calibration inputs the [`ImportReport`] carries that
//! comparison.
//!
//! ```no_run
//! use synod_zkml::onnx::{import, quantize_input, ImportOptions};
//! # fn calibration_images() -> Vec<Vec<f32>> { vec![] }
//! let bytes = std::fs::read("zkml/models/mlp.onnx").unwrap();
//! let imported = import(&bytes, &ImportOptions {
//!     calibration: Some(calibration_images()),
//!     name: "digits-mlp".into(),
//!     ..ImportOptions::default()
//! }).unwrap();
//! println!("{}", imported.report);
//! let x = quantize_input(&imported.model.input, &[0.0; 64]).unwrap();
//! let class = synod_zkml::interp::run(&imported.model, &x);
//! ```

use std::fmt;

use prost::Message;

use crate::ir::{IrError, Model, TensorId, TensorInfo};

mod graph;
mod layers;
mod lower;
pub mod proto;
pub mod quantize;
mod reference;
mod report;

pub use layers::QuantParams;
pub use quantize::{dequantize_output, quantize_input, requant_multiplier};
pub use reference::FloatReference;
pub use report::{
    compare, ActivationReport, Agreement, ImportReport, LayerReport, ParamSource, RequantReport,
};

/// Every op the importer reads (domain-qualified when not the default ONNX domain).
pub const SUPPORTED_OPS: &[&str] = &[
    "Gemm",
    "MatMul",
    "Add",
    "Conv",
    "Relu",
    "MaxPool",
    "Flatten",
    "Reshape",
    "ArgMax",
    "Identity",
    "Constant",
    "QuantizeLinear",
    "DequantizeLinear",
    "QLinearMatMul",
    "QLinearConv",
    "com.microsoft.QGemm",
    "com.microsoft.QLinearAdd",
];

/// How the ONNX file was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceFormat {
    /// Float ops only: quantized by the importer.
    Float,
    /// Float ops between QuantizeLinear / DequantizeLinear pairs.
    Qdq,
    /// Integer ops (QLinear*, QGemm).
    QOperator,
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceFormat::Float => "float (quantized by the importer)",
            SourceFormat::Qdq => "QDQ (quantization as stated)",
            SourceFormat::QOperator => "QOperator (quantization as stated)",
        })
    }
}

/// How to import.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportOptions {
    /// Sample inputs (each `product(input shape)` floats, row-major): needed
    /// for float models (activation ranges); for quantized models they only
    /// feed the report's comparison.
    pub calibration: Option<Vec<Vec<f32>>>,
    /// The labels of the calibration inputs, for the report's accuracies.
    pub calibration_labels: Option<Vec<usize>>,
    /// The IR model's name.
    pub name: String,
    /// Quantize float weights per output channel (one scale per output or
    /// filter) rather than per tensor. Already-quantized models keep the
    /// scales they state, per tensor or per channel.
    pub per_channel: bool,
}

/// An imported model.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The int8 model (validated).
    pub model: Model,
    /// The quantization of the logits tensor (see [`dequantize_output`]).
    pub logits: TensorInfo,
    /// The IR tensor holding the logits: the ArgMax's input if the model
    /// ends in ArgMax, else the output.
    pub logits_tensor: TensorId,
    /// The float model, for comparisons.
    pub reference: FloatReference,
    pub report: ImportReport,
}

/// Why an ONNX file could not be imported.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OnnxError {
    #[error("not a readable ONNX model: the protobuf does not decode ({reason})")]
    Decode { reason: String },
    #[error("the ONNX model has no graph")]
    NoGraph,
    #[error("constant `{name}`: {problem}")]
    Constant { name: String, problem: String },
    #[error("graph: {problem}")]
    Graph { problem: String },
    #[error(
        "unsupported op `{op_type}` (node {node_index} `{node_name}`); supported ops: {}",
        supported.join(", ")
    )]
    UnsupportedOp {
        op_type: String,
        node_name: String,
        node_index: usize,
        supported: &'static [&'static str],
    },
    #[error("node {index} `{name}` ({op_type}): {problem}")]
    Node {
        index: usize,
        name: String,
        op_type: String,
        problem: String,
    },
    #[error("layer from node `{node_name}` ({op_type}): {problem}")]
    Layer {
        node_name: String,
        op_type: String,
        problem: String,
    },
    #[error(
        "tensor `{tensor}` has no stated quantization: a float model needs calibration inputs (sample inputs from which its activation ranges are measured)"
    )]
    NeedsCalibration { tensor: String },
    #[error("calibration: {problem}")]
    Calibration { problem: String },
    #[error("an input holds {got} values, the model takes {expected}")]
    InputLength { expected: usize, got: usize },
    #[error("the imported model fails the IR checks: {0}")]
    Ir(IrError),
    #[error("running the imported model: {0}")]
    Interp(String),
}

/// Imports an ONNX model from its bytes.
pub fn import(bytes: &[u8], options: &ImportOptions) -> Result<Imported, OnnxError> {
    let proto = proto::ModelProto::decode(bytes).map_err(|e| OnnxError::Decode {
        reason: e.to_string(),
    })?;
    let (graph, format) = lower::lower(&proto)?;
    let reference = FloatReference::new(&graph);
    let calibration = options.calibration.as_deref();
    let params = quantize::class_params(&graph, &reference, calibration)?;
    let quantized = quantize::to_ir(&graph, &params, &options.name, options.per_channel)?;
    quantized.model.validate().map_err(OnnxError::Ir)?;
    let logits = TensorInfo {
        shape: graph.values[graph.logits_value()].shape.clone(),
        zero_point: quantized.logits.zero_point,
        scale: quantize::scale_fraction(quantized.logits.scale).ok_or_else(|| {
            OnnxError::Graph {
                problem: format!(
                    "the logits scale {} cannot be written as the IR's fraction",
                    quantized.logits.scale
                ),
            }
        })?,
    };
    let mut imported = Imported {
        model: quantized.model,
        logits,
        logits_tensor: quantized.logits_tensor,
        reference,
        report: ImportReport {
            format,
            input: quantized.input,
            logits: quantized.logits,
            layers: quantized.layers,
            calibration_samples: calibration.map_or(0, <[_]>::len),
            calibration: None,
        },
    };
    if let Some(inputs) = calibration.filter(|c| !c.is_empty()) {
        let agreement = compare(&imported, inputs, options.calibration_labels.as_deref())?;
        imported.report.calibration = Some(agreement);
    }
    Ok(imported)
}
