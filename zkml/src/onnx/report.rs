//! What an import decided (per-layer scales and multipliers) and how close
//! the int8 model is to the float one.

use std::fmt;

use crate::interp::Interpreter;
use crate::ir::OpKind;

use super::quantize::{dequantize_output, quantize_input};
use super::reference::first_max;
use super::{Imported, OnnxError, SourceFormat};

/// Where an activation's quantization parameters came from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamSource {
    /// Stated by the ONNX file (QuantizeLinear / QOperator scale and zero point).
    Stated,
    /// From the calibration range (widened to include 0).
    Calibrated { min: f64, max: f64 },
}

/// One activation's quantization.
#[derive(Clone, Debug, PartialEq)]
pub struct ActivationReport {
    /// Its ONNX name.
    pub tensor: String,
    pub scale: f64,
    pub zero_point: i8,
    pub source: ParamSource,
}

/// One requantization: the real ratio and its integer form.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RequantReport {
    /// `s_in * s_w / s_out` (Dense, Conv2d) or `s_a / s_out`, `s_b / s_out` (Add).
    pub real: f64,
    pub multiplier: i32,
    pub shift: u8,
    /// `|multiplier / 2^shift - real| / real`.
    pub relative_error: f64,
}

impl RequantReport {
    pub(crate) fn new(real: f64, multiplier: i32, shift: u8) -> RequantReport {
        let approx = f64::from(multiplier) / 2f64.powi(i32::from(shift));
        RequantReport {
            real,
            multiplier,
            shift,
            relative_error: (approx - real).abs() / real,
        }
    }
}

/// One IR node and the ONNX node it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerReport {
    pub ir_node: usize,
    pub kind: OpKind,
    pub onnx_node: String,
    pub onnx_op: String,
    /// `None` where the tensor is the ArgMax index.
    pub input_scale: Option<f64>,
    pub input_zero_point: Option<i8>,
    /// Dense and Conv2d: the weight scale (per channel: the largest).
    pub weight_scale: Option<f64>,
    pub output_scale: Option<f64>,
    pub output_zero_point: Option<i8>,
    /// For Dense / Conv2d one, or one per output channel (weights quantized
    /// per channel); two (a, b) for Add; none otherwise.
    pub requant: Vec<RequantReport>,
    /// A following ONNX Relu was folded into this node's output range.
    pub folded_relu: bool,
}

/// How the int8 model compares with the float reference on a data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Agreement {
    pub samples: usize,
    /// Fraction of inputs whose top-1 class is the same in both (0..=1).
    pub top1_agreement: f64,
    /// Top-1 accuracy of the float reference, when labels are given.
    pub float_accuracy: Option<f64>,
    /// Top-1 accuracy of the int8 model, when labels are given.
    pub int8_accuracy: Option<f64>,
    /// The largest `|dequantized int8 logit - float logit|`, in float units.
    pub max_abs_logit_error: f64,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportReport {
    pub format: SourceFormat,
    pub input: ActivationReport,
    /// The tensor the class is read from (the ArgMax input, else the output).
    pub logits: ActivationReport,
    pub layers: Vec<LayerReport>,
    /// How many calibration inputs were run (0 when none were given).
    pub calibration_samples: usize,
    /// The int8 model against the float reference on the calibration inputs.
    pub calibration: Option<Agreement>,
}

/// Runs the int8 model and the float reference on `inputs` and compares
/// them; with `labels` (one class per input) also their accuracies.
pub fn compare(
    imported: &Imported,
    inputs: &[Vec<f32>],
    labels: Option<&[usize]>,
) -> Result<Agreement, OnnxError> {
    if let Some(labels) = labels {
        if labels.len() != inputs.len() {
            return Err(OnnxError::Calibration {
                problem: format!("{} labels for {} inputs", labels.len(), inputs.len()),
            });
        }
    }
    let interpreter =
        Interpreter::new(&imported.model).map_err(|e| OnnxError::Interp(e.to_string()))?;
    let logits_tensor = imported.logits_tensor.0 as usize;
    let (mut agree, mut float_correct, mut int8_correct) = (0usize, 0usize, 0usize);
    let mut max_error = 0.0f64;
    for (i, input) in inputs.iter().enumerate() {
        let float_logits = imported.reference.run(input)?;
        let q = quantize_input(&imported.model.input, input)?;
        let tensors = interpreter
            .run_all(&q)
            .map_err(|e| OnnxError::Interp(e.to_string()))?;
        let int8_logits = tensors
            .get(logits_tensor)
            .ok_or_else(|| OnnxError::Interp(format!("the model has no tensor {logits_tensor}")))?;
        let int8_real = dequantize_output(&imported.logits, int8_logits);
        for (a, b) in float_logits.iter().zip(&int8_real) {
            max_error = max_error.max(f64::from((a - b).abs()));
        }
        let float_class = first_max(&float_logits);
        let int8_class = first_max(int8_logits.values());
        agree += usize::from(float_class == int8_class);
        if let Some(labels) = labels {
            float_correct += usize::from(float_class == labels[i]);
            int8_correct += usize::from(int8_class == labels[i]);
        }
    }
    let n = inputs.len().max(1) as f64;
    Ok(Agreement {
        samples: inputs.len(),
        top1_agreement: agree as f64 / n,
        float_accuracy: labels.map(|_| float_correct as f64 / n),
        int8_accuracy: labels.map(|_| int8_correct as f64 / n),
        max_abs_logit_error: max_error,
    })
}

fn opt<T: fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

fn opt_scale(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.4e}"))
}

impl fmt::Display for ActivationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` scale {:.6e}, zero point {} ",
            self.tensor, self.scale, self.zero_point
        )?;
        match self.source {
            ParamSource::Stated => write!(f, "(stated by the file)"),
            ParamSource::Calibrated { min, max } => {
                write!(f, "(calibrated range [{min:.4}, {max:.4}])")
            }
        }
    }
}

impl fmt::Display for Agreement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} inputs: top-1 agreement {:.2}%, max |logit error| {:.4}",
            self.samples,
            100.0 * self.top1_agreement,
            self.max_abs_logit_error
        )?;
        if let (Some(fa), Some(ia)) = (self.float_accuracy, self.int8_accuracy) {
            write!(
                f,
                ", accuracy float {:.2}% / int8 {:.2}%",
                100.0 * fa,
                100.0 * ia
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "format: {}", self.format)?;
        writeln!(f, "input:  {}", self.input)?;
        writeln!(f, "logits: {}", self.logits)?;
        writeln!(
            f,
            "{:>3}  {:<8} {:<22} {:>11} {:>5} {:>11} {:>11} {:>5}  requant (multiplier >> shift ~ real, rel. error)",
            "#", "IR op", "ONNX node", "s_in", "z_in", "s_w", "s_out", "z_out"
        )?;
        for l in &self.layers {
            let onnx = format!("{} ({})", l.onnx_node, l.onnx_op);
            write!(
                f,
                "{:>3}  {:<8} {:<22} {:>11} {:>5} {:>11} {:>11} {:>5}  ",
                l.ir_node,
                l.kind.to_string(),
                onnx,
                opt_scale(l.input_scale),
                opt(l.input_zero_point),
                opt_scale(l.weight_scale),
                opt_scale(l.output_scale),
                opt(l.output_zero_point),
            )?;
            let weighted = matches!(l.kind, OpKind::Dense | OpKind::Conv2d);
            if weighted && l.requant.len() > 1 {
                // Per channel: the range of the ratios and the worst error.
                let (lo, hi) = l.requant.iter().fold((f64::MAX, 0.0f64), |(lo, hi), r| {
                    (lo.min(r.real), hi.max(r.real))
                });
                let worst = l
                    .requant
                    .iter()
                    .map(|r| r.relative_error)
                    .fold(0.0, f64::max);
                write!(
                    f,
                    "per channel ({}): {lo:.6e} .. {hi:.6e} (worst {worst:.1e})",
                    l.requant.len()
                )?;
            } else {
                let parts: Vec<String> = l
                    .requant
                    .iter()
                    .map(|r| {
                        format!(
                            "{} >> {} ~ {:.6e} ({:.1e})",
                            r.multiplier, r.shift, r.real, r.relative_error
                        )
                    })
                    .collect();
                write!(f, "{}", parts.join("; "))?;
            }
            if l.folded_relu {
                write!(f, " [ReLU folded]")?;
            }
            writeln!(f)?;
        }
        match &self.calibration {
            Some(a) => writeln!(f, "calibration: {a}"),
            None => writeln!(f, "calibration: none given"),
        }
    }
}
