//! Lowering a decoded ONNX graph to the [`LayerGraph`]: one pass over the
//! nodes in file order, tracking what every ONNX value name stands for.
//!
//! The walk and the bookkeeping it shares live here; the node handlers are
//! in submodules by what they lower:
//!
//! - [`constants`]: constant inputs: quantization parameters, integer
//!   constants, weight matrices and biases;
//! - [`dense`]: Gemm, MatMul and Add (folding a MatMul's bias Add);
//! - [`conv`]: the sliding windows, Conv / QLinearConv and MaxPool;
//! - [`shape`]: ops that keep their input's quantization (Relu, Flatten,
//!   Reshape) and ArgMax;
//! - [`qdq`]: QuantizeLinear / DequantizeLinear;
//! - [`qop`]: the QOperator nodes (QLinearMatMul, com.microsoft.QGemm and
//!   QLinearAdd; QLinearConv is in [`conv`]).

use std::collections::BTreeMap;

use super::graph::{decode_constant, qualified_op_type, Attributes, Constant, NodeContext};
use super::layers::{Layer, LayerGraph, Origin, QuantParams, Value};
use super::proto::{data_type, GraphProto, ModelProto, NodeProto};
use super::{OnnxError, SourceFormat, SUPPORTED_OPS};

mod constants;
mod conv;
mod dense;
mod qdq;
mod qop;
mod shape;

use conv::ConvInputs;

/// What an ONNX value name stands for during lowering.
#[derive(Clone, Debug)]
enum Sym {
    /// A float activation (value id).
    Activation(usize),
    /// An integer activation: a float activation seen through
    /// `QuantizeLinear`, or the output of a QOperator node.
    Quantized { value: usize, params: QuantParams },
    /// The ArgMax output.
    Index(usize),
    /// A constant (index into `consts`).
    Const(usize),
    /// `DequantizeLinear` of an integer constant (index into `dequantized`).
    Dequantized(usize),
}

/// An integer constant with its (per-tensor or per-axis) scale and zero point.
#[derive(Clone, Debug)]
struct DequantizedConst {
    values: Constant,
    scales: Vec<f64>,
    zero_points: Vec<i64>,
    /// The axis per-axis parameters run along, as `DequantizeLinear`'s
    /// `axis` states it (normalized); `None` where the op implies it
    /// (QOperator weights: the output axis).
    axis: Option<usize>,
}

/// The class of ops the float-op handlers accept as their data input.
#[derive(Clone, Copy)]
enum Form {
    Float,
    Int(QuantParams),
}

struct Lowering<'g> {
    consts: Vec<Constant>,
    dequantized: Vec<DequantizedConst>,
    syms: BTreeMap<String, Sym>,
    values: Vec<Value>,
    layers: Vec<Layer>,
    stated: Vec<Option<QuantParams>>,
    /// How many nodes (and graph outputs) read each name.
    readers: BTreeMap<&'g str, usize>,
    /// MatMul outputs still waiting for their bias Add: name -> value.
    pending_bias: BTreeMap<String, usize>,
}

/// Lowers the model's graph; also says whether it was float, QDQ or QOperator.
pub(crate) fn lower(model: &ModelProto) -> Result<(LayerGraph, SourceFormat), OnnxError> {
    let graph = model.graph.as_ref().ok_or(OnnxError::NoGraph)?;
    let mut lowering = Lowering::new(graph)?;
    for (index, node) in graph.node.iter().enumerate() {
        lowering.node(index, node)?;
    }
    let layer_graph = lowering.finish(graph)?;
    Ok((layer_graph, source_format(graph)))
}

fn source_format(graph: &GraphProto) -> SourceFormat {
    let has = |pred: &dyn Fn(&str) -> bool| graph.node.iter().any(|n| pred(&n.op_type));
    if has(&|op| op.starts_with("QLinear") || op == "QGemm") {
        SourceFormat::QOperator
    } else if has(&|op| op == "QuantizeLinear" || op == "DequantizeLinear") {
        SourceFormat::Qdq
    } else {
        SourceFormat::Float
    }
}

fn graph_error(problem: impl Into<String>) -> OnnxError {
    OnnxError::Graph {
        problem: problem.into(),
    }
}

/// Parameters are "the same" when their scales agree to float32 precision.
fn same_params(a: QuantParams, b: QuantParams) -> bool {
    a.zero_point == b.zero_point
        && (a.scale - b.scale).abs() <= 1e-6 * a.scale.abs().max(b.scale.abs())
}

fn u32_of(ctx: &NodeContext, what: &str, v: i64) -> Result<u32, OnnxError> {
    u32::try_from(v)
        .ok()
        .filter(|&v| v > 0)
        .ok_or_else(|| ctx.error(format!("{what} {v} is not a positive size")))
}

/// `rows x cols` row-major to `cols x rows`.
fn transpose<T: Copy>(data: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(data.len());
    for c in 0..cols {
        for r in 0..rows {
            out.push(data[r * cols + c]);
        }
    }
    out
}

impl<'g> Lowering<'g> {
    fn new(graph: &'g GraphProto) -> Result<Lowering<'g>, OnnxError> {
        let mut lowering = Lowering {
            consts: Vec::new(),
            dequantized: Vec::new(),
            syms: BTreeMap::new(),
            values: Vec::new(),
            layers: Vec::new(),
            stated: Vec::new(),
            readers: BTreeMap::new(),
            pending_bias: BTreeMap::new(),
        };
        for tensor in &graph.initializer {
            let constant = decode_constant(tensor)?;
            lowering
                .syms
                .insert(tensor.name.clone(), Sym::Const(lowering.consts.len()));
            lowering.consts.push(constant);
        }
        for node in &graph.node {
            for name in node.input.iter().filter(|n| !n.is_empty()) {
                *lowering.readers.entry(name.as_str()).or_default() += 1;
            }
        }
        for output in &graph.output {
            *lowering.readers.entry(output.name.as_str()).or_default() += 1;
        }
        // The model input: the one graph input that is not an initializer
        // (before IR version 4, initializers were listed as inputs too).
        let inputs: Vec<_> = graph
            .input
            .iter()
            .filter(|i| !lowering.syms.contains_key(&i.name))
            .collect();
        let [input] = inputs.as_slice() else {
            return Err(graph_error(format!(
                "the graph has {} inputs besides its initializers; the importer takes exactly one",
                inputs.len()
            )));
        };
        let tensor_type = input
            .r#type
            .as_ref()
            .and_then(|t| t.tensor_type.as_ref())
            .ok_or_else(|| graph_error(format!("input `{}` is not a tensor", input.name)))?;
        if tensor_type.elem_type != data_type::FLOAT {
            return Err(graph_error(format!(
                "input `{}` has element type {}, expected FLOAT",
                input.name,
                data_type::name(tensor_type.elem_type)
            )));
        }
        let dims = tensor_type
            .shape
            .as_ref()
            .map(|s| s.dim.as_slice())
            .unwrap_or_default();
        let mut shape = Vec::new();
        for (axis, dim) in dims.iter().enumerate() {
            match (axis, dim.dim_value) {
                // The batch dimension: symbolic or 1 (the IR runs batch 1).
                (0, None) | (0, Some(1)) => {}
                (_, Some(d)) if d > 0 && u32::try_from(d).is_ok() => shape.push(d as u32),
                _ => {
                    return Err(graph_error(format!(
                        "input `{}` has shape {:?}: expected [1 or batch, d1, ...] with fixed positive d1, ...",
                        input.name,
                        dims.iter()
                            .map(|d| d.dim_value.map_or_else(
                                || d.dim_param.clone().unwrap_or_else(|| "?".into()),
                                |v| v.to_string()
                            ))
                            .collect::<Vec<_>>()
                    )))
                }
            }
        }
        if shape.is_empty() {
            return Err(graph_error(format!(
                "input `{}` has no dimensions after the batch dimension (rank {})",
                input.name,
                dims.len()
            )));
        }
        lowering.stated.push(None);
        lowering.values.push(Value {
            shape,
            class: Some(0),
            name: input.name.clone(),
        });
        lowering.syms.insert(input.name.clone(), Sym::Activation(0));
        Ok(lowering)
    }

    fn finish(self, graph: &GraphProto) -> Result<LayerGraph, OnnxError> {
        let [output] = graph.output.as_slice() else {
            return Err(graph_error(format!(
                "the graph has {} outputs; the importer takes exactly one",
                graph.output.len()
            )));
        };
        if self.layers.is_empty() {
            return Err(graph_error(
                "the graph computes nothing: no layer was imported",
            ));
        }
        let last = self.values.len() - 1;
        match self.syms.get(&output.name) {
            Some(Sym::Activation(v) | Sym::Index(v) | Sym::Quantized { value: v, .. }) if *v == last => {}
            Some(_) => {
                return Err(graph_error(format!(
                    "the graph output `{}` is not the last computed value (the IR's output is its last tensor)",
                    output.name
                )))
            }
            None => {
                return Err(graph_error(format!(
                    "the graph output `{}` is not computed by any node",
                    output.name
                )))
            }
        }
        Ok(LayerGraph {
            values: self.values,
            layers: self.layers,
            stated: self.stated,
        })
    }

    // ------------------------------------------------------------------
    // Reading node inputs
    // ------------------------------------------------------------------

    fn input(&self, ctx: &NodeContext, node: &NodeProto, i: usize) -> Result<Sym, OnnxError> {
        self.opt_input(ctx, node, i)?.ok_or_else(|| {
            ctx.error(format!(
                "has {} inputs, input {i} is required",
                node.input.len()
            ))
        })
    }

    fn opt_input(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        i: usize,
    ) -> Result<Option<Sym>, OnnxError> {
        match node.input.get(i).filter(|n| !n.is_empty()) {
            None => Ok(None),
            Some(name) => self.syms.get(name).cloned().map(Some).ok_or_else(|| {
                ctx.error(format!(
                    "input `{name}` is neither an initializer, the graph input, nor written by an earlier node"
                ))
            }),
        }
    }

    fn input_name(node: &NodeProto, i: usize) -> &str {
        node.input.get(i).map_or("", String::as_str)
    }

    fn float_activation(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        i: usize,
    ) -> Result<usize, OnnxError> {
        match self.input(ctx, node, i)? {
            Sym::Activation(v) => Ok(v),
            Sym::Quantized { .. } => Err(ctx.error(format!(
                "input `{}` is an integer tensor; this op reads float values (a DequantizeLinear is missing)",
                Self::input_name(node, i)
            ))),
            _ => Err(ctx.error(format!(
                "input `{}` must be an activation computed from the graph input, not a constant or an index",
                Self::input_name(node, i)
            ))),
        }
    }

    /// An activation in either form (for ops that do not change values).
    fn any_activation(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        i: usize,
    ) -> Result<(usize, Form), OnnxError> {
        match self.input(ctx, node, i)? {
            Sym::Activation(v) => Ok((v, Form::Float)),
            Sym::Quantized { value, params } => Ok((value, Form::Int(params))),
            _ => Err(ctx.error(format!(
                "input `{}` must be an activation computed from the graph input, not a constant or an index",
                Self::input_name(node, i)
            ))),
        }
    }

    fn constant(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        i: usize,
    ) -> Result<&Constant, OnnxError> {
        match self.input(ctx, node, i)? {
            Sym::Const(c) => Ok(&self.consts[c]),
            _ => Err(ctx.error(format!(
                "input `{}` must be a constant (an initializer or Constant output)",
                Self::input_name(node, i)
            ))),
        }
    }

    fn opt_constant(
        &self,
        ctx: &NodeContext,
        node: &NodeProto,
        i: usize,
    ) -> Result<Option<&Constant>, OnnxError> {
        match node.input.get(i).filter(|n| !n.is_empty()) {
            None => Ok(None),
            Some(_) => self.constant(ctx, node, i).map(Some),
        }
    }

    // ------------------------------------------------------------------
    // Building layers
    // ------------------------------------------------------------------

    fn new_class(&mut self, stated: Option<QuantParams>) -> usize {
        self.stated.push(stated);
        self.stated.len() - 1
    }

    fn state_params(
        &mut self,
        ctx: &NodeContext,
        value: usize,
        params: QuantParams,
    ) -> Result<(), OnnxError> {
        let Some(class) = self.values[value].class else {
            return Err(ctx.error("quantizes the ArgMax index"));
        };
        match self.stated[class] {
            None => {
                self.stated[class] = Some(params);
                Ok(())
            }
            Some(p) if same_params(p, params) => Ok(()),
            Some(p) => Err(ctx.error(format!(
                "quantizes `{}` with scale {} and zero point {}, but it (or a tensor it shares parameters with through Relu/MaxPool/Reshape) is already quantized with scale {} and zero point {}; requantizing between them is not supported",
                self.values[value].name, params.scale, params.zero_point, p.scale, p.zero_point
            ))),
        }
    }

    fn push_layer(
        &mut self,
        layer: Layer,
        shape: Vec<u32>,
        class: Option<usize>,
        name: &str,
    ) -> usize {
        self.layers.push(layer);
        self.values.push(Value {
            shape,
            class,
            name: name.to_owned(),
        });
        self.values.len() - 1
    }

    fn bind(&mut self, node: &NodeProto, sym: Sym) {
        if let Some(name) = node.output.first() {
            if let Sym::Activation(v) | Sym::Quantized { value: v, .. } | Sym::Index(v) = sym {
                self.values[v].name.clone_from(name);
            }
            self.syms.insert(name.clone(), sym);
        }
    }

    fn origin(ctx: &NodeContext) -> Origin {
        Origin {
            node_name: ctx.name.clone(),
            op_type: ctx.op_type.clone(),
        }
    }

    /// The activation's IR shape must be one vector (ONNX `[1, n]`).
    fn vector_len(&self, ctx: &NodeContext, value: usize) -> Result<u32, OnnxError> {
        match self.values[value].shape.as_slice() {
            [n] => Ok(*n),
            shape => Err(ctx.error(format!(
                "reads `{}` of shape [1, {}]; a matrix product needs a [1, n] input (add a Flatten)",
                self.values[value].name,
                shape.iter().map(u32::to_string).collect::<Vec<_>>().join(", ")
            ))),
        }
    }

    // ------------------------------------------------------------------
    // Nodes
    // ------------------------------------------------------------------

    fn node(&mut self, index: usize, node: &NodeProto) -> Result<(), OnnxError> {
        let ctx = NodeContext::of(index, node);
        let domain_is_default = matches!(node.domain.as_str(), "" | "ai.onnx");
        match (domain_is_default, node.op_type.as_str()) {
            (true, "Gemm") => self.gemm(&ctx, node),
            (true, "MatMul") => self.matmul(&ctx, node),
            (true, "Add") => self.add(&ctx, node),
            (true, "Conv") => self.conv(&ctx, node, ConvInputs::FLOAT),
            (true, "Relu") => self.relu(&ctx, node),
            (true, "MaxPool") => self.max_pool(&ctx, node),
            (true, "Flatten") => self.flatten(&ctx, node),
            (true, "Reshape") => self.reshape(&ctx, node),
            (true, "ArgMax") => self.arg_max(&ctx, node),
            (true, "Identity") => {
                Attributes::new(node, &ctx, &[])?;
                let sym = self.input(&ctx, node, 0)?;
                self.bind(node, sym);
                Ok(())
            }
            (true, "Constant") => self.constant_node(&ctx, node),
            (true, "QuantizeLinear") => self.quantize_linear(&ctx, node),
            (true, "DequantizeLinear") => self.dequantize_linear(&ctx, node),
            (true, "QLinearMatMul") => self.qlinear_matmul(&ctx, node),
            (true, "QLinearConv") => self.conv(&ctx, node, ConvInputs::QLINEAR),
            (false, "QGemm") if node.domain == "com.microsoft" => self.qgemm(&ctx, node),
            (false, "QLinearAdd") if node.domain == "com.microsoft" => self.qlinear_add(&ctx, node),
            _ => Err(OnnxError::UnsupportedOp {
                op_type: qualified_op_type(node),
                node_name: node.name.clone(),
                node_index: index,
                supported: SUPPORTED_OPS,
            }),
        }
    }

    fn constant_node(&mut self, ctx: &NodeContext, node: &NodeProto) -> Result<(), OnnxError> {
        let attrs = Attributes::new(node, ctx, &["value"])?;
        let tensor = attrs
            .tensor("value")?
            .ok_or_else(|| ctx.error("only the `value` (tensor) form of Constant is supported"))?;
        let mut constant = decode_constant(tensor)?;
        if let Some(name) = node.output.first() {
            constant.name.clone_from(name);
        }
        self.consts.push(constant);
        self.bind(node, Sym::Const(self.consts.len() - 1));
        Ok(())
    }
}
