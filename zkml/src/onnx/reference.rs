//! The float reference evaluator: runs the imported graph in floating point
//! (f64 accumulation), with quantized weights of QDQ / QOperator models
//! dequantized. Used to calibrate activation ranges and to measure how far
//! the int8 model is from the float one. Not part of any proof.

use std::borrow::Cow;

use super::layers::{Bias, LayerGraph, LayerOp, Weights};
use super::OnnxError;
use crate::ir::ConvGeometry;

/// A float model: the imported layers with real-valued weights.
#[derive(Clone, Debug)]
pub struct FloatReference {
    graph: LayerGraph,
    /// Per value: the real range its stated quantization can represent,
    /// `[scale * (-128 - z), scale * (127 - z)]`. Quantized files fold ReLUs
    /// into that range (zero point -128), so the reference clamps to it.
    clamps: Vec<Option<(f32, f32)>>,
}

fn weights(w: &Weights) -> Cow<'_, [f32]> {
    match w {
        Weights::Float(w) => Cow::Borrowed(w),
        other => Cow::Owned(other.to_floats()),
    }
}

fn bias(b: &Bias) -> Cow<'_, [f32]> {
    match b {
        Bias::Float(b) => Cow::Borrowed(b),
        other => Cow::Owned(other.to_floats()),
    }
}

impl FloatReference {
    pub(crate) fn new(graph: &LayerGraph) -> FloatReference {
        let mut graph = graph.clone();
        for layer in &mut graph.layers {
            if let LayerOp::Dense {
                weights: w,
                bias: b,
                ..
            }
            | LayerOp::Conv2d {
                weights: w,
                bias: b,
                ..
            } = &mut layer.op
            {
                *w = Weights::Float(w.to_floats());
                *b = Bias::Float(b.to_floats());
            }
        }
        let clamps = graph
            .values
            .iter()
            .map(|v| {
                let p = graph.stated.get(v.class?).copied().flatten()?;
                let z = f64::from(p.zero_point);
                Some((
                    (p.scale * (-128.0 - z)) as f32,
                    (p.scale * (127.0 - z)) as f32,
                ))
            })
            .collect();
        FloatReference { graph, clamps }
    }

    /// The input shape (batch dimension dropped).
    pub fn input_shape(&self) -> &[u32] {
        &self.graph.values[0].shape
    }

    /// The logits (the ArgMax's input when the model ends in ArgMax, else
    /// the output) for one input of `product(input_shape)` values, row-major.
    pub fn run(&self, input: &[f32]) -> Result<Vec<f32>, OnnxError> {
        let logits = self.graph.logits_value();
        let mut values = self.run_all(input)?;
        Ok(values.swap_remove(logits))
    }

    /// Every value of the graph for one input (value 0 is the input).
    pub(crate) fn run_all(&self, input: &[f32]) -> Result<Vec<Vec<f32>>, OnnxError> {
        let expected: usize = self.input_shape().iter().map(|&d| d as usize).product();
        if input.len() != expected {
            return Err(OnnxError::InputLength {
                expected,
                got: input.len(),
            });
        }
        let mut values: Vec<Vec<f32>> = Vec::with_capacity(self.graph.values.len());
        values.push(self.clamped(0, input.to_vec()));
        for (i, layer) in self.graph.layers.iter().enumerate() {
            let x = &values[layer.inputs[0]];
            let in_shape = &self.graph.values[layer.inputs[0]].shape;
            let out_shape = &self.graph.values[i + 1].shape;
            let mut y = match &layer.op {
                LayerOp::Dense {
                    in_features,
                    out_features,
                    weights: w,
                    bias: b,
                } => dense(
                    x,
                    &weights(w),
                    &bias(b),
                    *in_features as usize,
                    *out_features as usize,
                ),
                LayerOp::Conv2d {
                    geometry,
                    weights: w,
                    bias: b,
                } => conv(x, in_shape, out_shape, geometry, &weights(w), &bias(b)),
                LayerOp::Add => {
                    let b = &values[layer.inputs[1]];
                    x.iter().zip(b).map(|(a, b)| a + b).collect()
                }
                LayerOp::Relu => x.iter().map(|v| v.max(0.0)).collect(),
                LayerOp::MaxPool { kernel, stride } => {
                    max_pool(x, in_shape, out_shape, *kernel as usize, *stride as usize)
                }
                LayerOp::Reshape { .. } => x.clone(),
                LayerOp::ArgMax => vec![first_max(x) as f32],
            };
            if layer.relu {
                y.iter_mut().for_each(|v| *v = v.max(0.0));
            }
            values.push(self.clamped(i + 1, y));
        }
        Ok(values)
    }

    fn clamped(&self, value: usize, mut data: Vec<f32>) -> Vec<f32> {
        if let Some(Some((lo, hi))) = self.clamps.get(value) {
            data.iter_mut().for_each(|v| *v = v.clamp(*lo, *hi));
        }
        data
    }
}

/// The index of the first maximum (ties go to the lowest index).
pub(crate) fn first_max<T: PartialOrd + Copy>(x: &[T]) -> usize {
    let mut best = 0;
    for (i, v) in x.iter().enumerate() {
        if *v > x[best] {
            best = i;
        }
    }
    best
}

fn dense(x: &[f32], w: &[f32], b: &[f32], inp: usize, out: usize) -> Vec<f32> {
    (0..out)
        .map(|o| {
            let row = &w[o * inp..(o + 1) * inp];
            let acc: f64 = row
                .iter()
                .zip(x)
                .map(|(w, x)| f64::from(*w) * f64::from(*x))
                .sum();
            (acc + f64::from(b[o])) as f32
        })
        .collect()
}

fn conv(
    x: &[f32],
    in_shape: &[u32],
    out_shape: &[u32],
    geometry: &ConvGeometry,
    w: &[f32],
    b: &[f32],
) -> Vec<f32> {
    let in_size = [in_shape[1], in_shape[2]].map(|d| d as usize);
    let [o, oh, ow] = [out_shape[0], out_shape[1], out_shape[2]].map(|d| d as usize);
    let mut y = Vec::with_capacity(o * oh * ow);
    for (filter, &bias) in w.chunks_exact(geometry.fan_in() as usize).zip(b) {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut acc = f64::from(bias);
                for (tap, &wv) in geometry.taps(in_size, oy, ox).zip(filter) {
                    // A padding cell holds the real zero: it adds nothing.
                    if let Some(i) = tap {
                        acc += f64::from(x[i]) * f64::from(wv);
                    }
                }
                y.push(acc as f32);
            }
        }
    }
    y
}

fn max_pool(x: &[f32], in_shape: &[u32], out_shape: &[u32], k: usize, stride: usize) -> Vec<f32> {
    let [h, w] = [in_shape[1], in_shape[2]].map(|d| d as usize);
    let [c, oh, ow] = [out_shape[0], out_shape[1], out_shape[2]].map(|d| d as usize);
    let mut y = Vec::with_capacity(c * oh * ow);
    for ch in 0..c {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut m = f32::NEG_INFINITY;
                for ky in 0..k {
                    for kx in 0..k {
                        m = m.max(x[(ch * h + oy * stride + ky) * w + ox * stride + kx]);
                    }
                }
                y.push(m);
            }
        }
    }
    y
}
