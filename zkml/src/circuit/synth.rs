//! The halo2 circuit of a model: layout of the weights into fixed columns and
//! of one inference's witness into advice columns.

use std::sync::Arc;

use halo2_proofs::{
    circuit::{Cell, Layouter, Region, SimpleFloorPlanner, Value},
    pasta::Fp,
    plonk::{Circuit, ConstraintSystem, Error},
};

use super::config::{
    limb_slot, ModelConfig, RequantGate, LIMB_COLUMNS, MAC_WIDTH, RELU_ZERO_POINT, REQUANT_ROWS,
    SLACK_BITS, SLACK_LIMBS, SLOT_Y_MINUS_LO, SLOT_Y_PLUS_128,
};
use super::spec::{CircuitLayer, ModelCircuitSpec, Requant};

/// One step of the circuit: a dense layer (with a ReLU that follows it fused
/// into its clamp) or a standalone ReLU.
#[derive(Clone, Copy, Debug)]
enum Step {
    Dense { layer: usize, lower_bound: i8 },
    Relu { zero_point: i8 },
}

fn plan(spec: &ModelCircuitSpec) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut i = 0;
    while i < spec.layers.len() {
        match &spec.layers[i] {
            CircuitLayer::Dense { .. } => {
                // max(clamp(t, -128, 127), z) = clamp(t, z, 127) for any int8 z.
                if let Some(CircuitLayer::Relu { zero_point }) = spec.layers.get(i + 1) {
                    steps.push(Step::Dense {
                        layer: i,
                        lower_bound: *zero_point,
                    });
                    i += 2;
                    continue;
                }
                steps.push(Step::Dense {
                    layer: i,
                    lower_bound: -128,
                });
            }
            CircuitLayer::Relu { zero_point } => steps.push(Step::Relu {
                zero_point: *zero_point,
            }),
        }
        i += 1;
    }
    steps
}

/// MAC rows of one neuron: enough for its inputs and for the requantization
/// limbs of the neuron before it.
fn mac_rows(inputs: usize) -> usize {
    inputs.div_ceil(MAC_WIDTH).max(REQUANT_ROWS - 1)
}

/// Rows the model's layout uses (before halo2's blinding rows).
pub(crate) fn layout_rows(spec: &ModelCircuitSpec) -> usize {
    plan(spec)
        .iter()
        .map(|step| match *step {
            Step::Dense { layer, .. } => match &spec.layers[layer] {
                CircuitLayer::Dense { out, inputs, .. } => {
                    out * (mac_rows(*inputs) + 1) + REQUANT_ROWS - 1
                }
                CircuitLayer::Relu { .. } => 0,
            },
            Step::Relu { .. } => 0,
        })
        .sum::<usize>()
        + relu_rows(spec)
}

fn relu_rows(spec: &ModelCircuitSpec) -> usize {
    let mut len = spec.input_len;
    let mut rows = 0;
    for step in plan(spec) {
        match step {
            Step::Dense { layer, .. } => {
                if let CircuitLayer::Dense { out, .. } = &spec.layers[layer] {
                    len = *out;
                }
            }
            Step::Relu { .. } => rows += len,
        }
    }
    rows
}

/// Field element of an integer (negative values are `p - |v|`).
pub(crate) fn field(v: i128) -> Fp {
    let magnitude = v.unsigned_abs();
    let f = Fp::from_raw([magnitude as u64, (magnitude >> 64) as u64, 0, 0]);
    if v < 0 {
        -f
    } else {
        f
    }
}

/// The circuit proving `output = model(input)` for one model. Without an
/// input it is the keygen circuit (same fixed columns, no witness).
#[derive(Clone, Debug)]
pub struct ModelCircuit {
    spec: Arc<ModelCircuitSpec>,
    input: Option<Vec<i8>>,
    tamper: Option<RequantTamper>,
}

/// A dishonest witness for the first neuron of the first dense layer, for
/// soundness tests: the claimed `y` and branch, with the slack computed from
/// the branch formula and written as eight bytes plus an unreduced top limb
/// (and `y - lo`, `y + 128` unreduced), so only the constraints can object.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct RequantTamper {
    /// Claimed output.
    pub y: i64,
    /// Claimed high-saturation branch.
    pub b_hi: bool,
    /// Claimed low-saturation branch.
    pub b_lo: bool,
}

impl ModelCircuit {
    /// The circuit of `spec`, with the witness of `input` if given. The spec
    /// must have passed [`ModelCircuitSpec::validate`], and the input must
    /// have the model's input length.
    pub fn new(spec: Arc<ModelCircuitSpec>, input: Option<Vec<i8>>) -> Self {
        Self {
            spec,
            input,
            tamper: None,
        }
    }

    /// This circuit with a dishonest requantization witness (tests only).
    #[doc(hidden)]
    pub fn with_tamper(mut self, tamper: RequantTamper) -> Self {
        self.tamper = Some(tamper);
        self
    }

    /// The public instance column of an inference: inputs, then outputs.
    pub fn instance(input: &[i8], output: &[i8]) -> Vec<Fp> {
        input
            .iter()
            .chain(output)
            .map(|&v| field(i128::from(v)))
            .collect()
    }
}

/// An activation value and where the circuit holds it.
#[derive(Clone, Copy)]
enum Source {
    /// A row of the instance column (a model input).
    Instance(usize),
    /// An advice cell.
    Cell(Cell),
}

#[derive(Clone, Copy)]
struct Activation {
    source: Source,
    value: Value<i8>,
}

/// The witness of one requantization.
struct RequantWitness {
    y: i8,
    b_hi: bool,
    b_lo: bool,
    slots: [i128; REQUANT_ROWS * LIMB_COLUMNS],
}

fn requant_witness(acc: i64, r: Requant, lower_bound: i8) -> RequantWitness {
    let s = u32::from(r.shift);
    let two_s = 1i128 << s;
    let v = i128::from(acc) * i128::from(r.multiplier) + (two_s >> 1);
    let zy = i128::from(r.zero_point);
    let lo = i128::from(lower_bound);
    let t = (v >> s) + zy;
    let (y, b_hi, b_lo, slack) = if t > 127 {
        (127, true, false, v - (128 - zy) * two_s)
    } else if t < lo {
        (lo, false, true, (lo - zy + 1) * two_s - 1 - v)
    } else {
        (t, false, false, (v - (t - zy) * two_s) << (SLACK_BITS - s))
    };
    RequantWitness {
        y: y as i8,
        b_hi,
        b_lo,
        slots: slots(slack, y, lo),
    }
}

/// Limb slots: the slack's low eight bytes, its remaining high part (a
/// byte for an honest slack below `2^72`), `y - lo` and `y + 128`.
fn slots(slack: i128, y: i128, lo: i128) -> [i128; REQUANT_ROWS * LIMB_COLUMNS] {
    let mut slots = [0i128; REQUANT_ROWS * LIMB_COLUMNS];
    for (i, slot) in slots.iter_mut().take(SLACK_LIMBS - 1).enumerate() {
        *slot = (slack >> (8 * i)) & 0xff;
    }
    slots[SLACK_LIMBS - 1] = slack >> (8 * (SLACK_LIMBS - 1));
    slots[SLOT_Y_MINUS_LO] = y - lo;
    slots[SLOT_Y_PLUS_128] = y + 128;
    slots
}

fn tampered_witness(
    acc: i64,
    r: Requant,
    lower_bound: i8,
    t: RequantTamper,
) -> (i128, bool, bool, [i128; REQUANT_ROWS * LIMB_COLUMNS]) {
    let s = u32::from(r.shift);
    let two_s = 1i128 << s;
    let v = i128::from(acc) * i128::from(r.multiplier) + (two_s >> 1);
    let zy = i128::from(r.zero_point);
    let lo = i128::from(lower_bound);
    let y = i128::from(t.y);
    let slack = if t.b_hi {
        v - (128 - zy) * two_s
    } else if t.b_lo {
        (lo - zy + 1) * two_s - 1 - v
    } else {
        (v - (y - zy) * two_s) << (SLACK_BITS - s)
    };
    (y, t.b_hi, t.b_lo, slots(slack, y, lo))
}

impl Circuit<Fp> for ModelCircuit {
    type Config = ModelConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Self {
            spec: Arc::clone(&self.spec),
            input: None,
            tamper: None,
        }
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> ModelConfig {
        ModelConfig::configure(meta)
    }

    fn synthesize(
        &self,
        config: ModelConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        layouter.assign_table(
            || "bytes",
            |mut table| {
                for b in 0..256u64 {
                    table.assign_cell(
                        || "byte",
                        config.byte_table,
                        b as usize,
                        || Value::known(Fp::from(b)),
                    )?;
                }
                Ok(())
            },
        )?;

        let input = match &self.input {
            Some(v) if v.len() != self.spec.input_len => return Err(Error::Synthesis),
            Some(v) => v.iter().map(|&x| Value::known(x)).collect(),
            None => vec![Value::unknown(); self.spec.input_len],
        };
        let outputs = layouter.assign_region(
            || "model",
            |mut region| {
                let mut layout = Layout {
                    config: &config,
                    region: &mut region,
                    row: 0,
                };
                let mut act: Vec<Activation> = input
                    .iter()
                    .enumerate()
                    .map(|(i, &value)| Activation {
                        source: Source::Instance(i),
                        value,
                    })
                    .collect();
                let first_dense = self
                    .spec
                    .layers
                    .iter()
                    .position(|l| matches!(l, CircuitLayer::Dense { .. }));
                let first_dense = first_dense.unwrap_or(usize::MAX);
                for step in plan(&self.spec) {
                    act = match step {
                        Step::Dense { layer, lower_bound } => {
                            let CircuitLayer::Dense {
                                out,
                                inputs,
                                weights,
                                bias,
                                requant,
                            } = &self.spec.layers[layer]
                            else {
                                return Err(Error::Synthesis);
                            };
                            let tamper = if layer == first_dense {
                                self.tamper
                            } else {
                                None
                            };
                            layout.dense(
                                &act,
                                DenseShape {
                                    out: *out,
                                    inputs: *inputs,
                                },
                                weights,
                                bias,
                                *requant,
                                lower_bound,
                                tamper,
                            )?
                        }
                        Step::Relu { zero_point } => layout.relu(&act, zero_point)?,
                    };
                }
                Ok(act)
            },
        )?;
        let offset = self.spec.input_len;
        for (i, a) in outputs.iter().enumerate() {
            match a.source {
                Source::Cell(cell) => {
                    layouter.constrain_instance(cell, config.instance, offset + i)?
                }
                // A model whose output is its input has nothing to prove.
                Source::Instance(_) => return Err(Error::Synthesis),
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct DenseShape {
    out: usize,
    inputs: usize,
}

struct Layout<'a, 'r> {
    config: &'a ModelConfig,
    region: &'a mut Region<'r, Fp>,
    row: usize,
}

impl Layout<'_, '_> {
    /// Assigns `a` into advice cell (`column`, `row`), equal to its source.
    fn copy_in(
        &mut self,
        a: Activation,
        column: halo2_proofs::plonk::Column<halo2_proofs::plonk::Advice>,
        row: usize,
    ) -> Result<(), Error> {
        match a.source {
            Source::Instance(i) => {
                self.region.assign_advice_from_instance(
                    || "input",
                    self.config.instance,
                    i,
                    column,
                    row,
                )?;
            }
            Source::Cell(cell) => {
                let assigned = self.region.assign_advice(
                    || "activation",
                    column,
                    row,
                    || a.value.map(|v| field(i128::from(v))),
                )?;
                self.region.constrain_equal(cell, assigned.cell())?;
            }
        }
        Ok(())
    }

    fn advice(
        &mut self,
        column: halo2_proofs::plonk::Column<halo2_proofs::plonk::Advice>,
        row: usize,
        value: Value<i128>,
    ) -> Result<Cell, Error> {
        Ok(self
            .region
            .assign_advice(|| "", column, row, || value.map(field))?
            .cell())
    }

    fn fixed(
        &mut self,
        column: halo2_proofs::plonk::Column<halo2_proofs::plonk::Fixed>,
        row: usize,
        value: i128,
    ) -> Result<(), Error> {
        self.region
            .assign_fixed(|| "", column, row, || Value::known(field(value)))?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn dense(
        &mut self,
        act: &[Activation],
        shape: DenseShape,
        weights: &[i8],
        bias: &[i32],
        requant: Requant,
        lower_bound: i8,
        tamper: Option<RequantTamper>,
    ) -> Result<Vec<Activation>, Error> {
        let DenseShape { out, inputs } = shape;
        if act.len() != inputs || weights.len() != out * inputs || bias.len() != out {
            return Err(Error::Synthesis);
        }
        let config = self.config;
        let rows = mac_rows(inputs);
        let known: Value<Vec<i8>> = act.iter().map(|a| a.value).collect();
        let s = u32::from(requant.shift);
        let mut outputs = Vec::with_capacity(out);
        for o in 0..out {
            let start = self.row;
            let row_weights = &weights[o * inputs..(o + 1) * inputs];
            config.q_bias.enable(self.region, start)?;
            self.fixed(config.bias, start, i128::from(bias[o]))?;
            let mut acc = known.as_ref().map(|_| i64::from(bias[o]));
            self.advice(config.acc, start, acc.map(i128::from))?;
            for c in 0..rows {
                let row = start + c;
                config.q_mac.enable(self.region, row)?;
                for j in 0..MAC_WIDTH {
                    let i = c * MAC_WIDTH + j;
                    if i < inputs {
                        self.copy_in(act[i], config.x[j], row)?;
                        self.fixed(config.w[j], row, i128::from(row_weights[i]))?;
                    } else {
                        self.advice(config.x[j], row, Value::known(0))?;
                        self.fixed(config.w[j], row, 0)?;
                    }
                }
                acc = acc.zip(known.as_ref()).map(|(acc, x)| {
                    acc + (c * MAC_WIDTH..((c + 1) * MAC_WIDTH).min(inputs))
                        .map(|i| i64::from(x[i]) * i64::from(row_weights[i]))
                        .sum::<i64>()
                });
                self.advice(config.acc, row + 1, acc.map(i128::from))?;
            }

            let result = start + rows;
            config.q_requant.enable(self.region, result)?;
            let constants = [
                (RequantGate::MULTIPLIER, i128::from(requant.multiplier)),
                (RequantGate::TWO_POW_S, 1i128 << s),
                (RequantGate::HALF, 1i128 << (s - 1)),
                (RequantGate::REMAINDER_SCALE, 1i128 << (SLACK_BITS - s)),
                (RequantGate::ZERO_POINT, i128::from(requant.zero_point)),
                (RequantGate::LOWER_BOUND, i128::from(lower_bound)),
            ];
            for (column, value) in constants {
                self.fixed(config.w[column], result, value)?;
            }
            let witness = acc.map(|acc| match tamper.filter(|_| o == 0) {
                Some(t) => tampered_witness(acc, requant, lower_bound, t),
                None => {
                    let w = requant_witness(acc, requant, lower_bound);
                    (i128::from(w.y), w.b_hi, w.b_lo, w.slots)
                }
            });
            let y_wide = witness.as_ref().map(|w| w.0);
            let y = y_wide.map(|y| y as i8);
            let y_cell = self.advice(config.y, result, y_wide)?;
            self.advice(
                config.b_hi,
                result,
                witness.as_ref().map(|w| i128::from(w.1)),
            )?;
            self.advice(
                config.b_lo,
                result,
                witness.as_ref().map(|w| i128::from(w.2)),
            )?;
            for slot in 0..REQUANT_ROWS * LIMB_COLUMNS {
                let (column, offset) = limb_slot(slot);
                let value = witness.as_ref().map(|w| w.3[slot]);
                self.advice(config.limbs[column], result + offset, value)?;
            }
            outputs.push(Activation {
                source: Source::Cell(y_cell),
                value: y,
            });
            self.row = result + 1;
        }
        // The last neuron's limbs spill into the rows below it.
        self.row += REQUANT_ROWS - 1;
        Ok(outputs)
    }

    fn relu(&mut self, act: &[Activation], zero_point: i8) -> Result<Vec<Activation>, Error> {
        let config = self.config;
        let z = i128::from(zero_point);
        let mut outputs = Vec::with_capacity(act.len());
        for &a in act {
            let row = self.row;
            config.q_relu.enable(self.region, row)?;
            self.fixed(config.w[RELU_ZERO_POINT], row, z)?;
            self.copy_in(a, config.acc, row)?;
            let x = a.value.map(i128::from);
            let y = x.map(|x| x.max(z));
            let y_cell = self.advice(config.y, row, y)?;
            let diffs = [
                x.zip(y).map(|(x, y)| y - x),
                y.map(|y| y - z),
                y.map(|y| y + 128),
            ];
            for (column, value) in config.limbs.iter().zip(diffs) {
                self.advice(*column, row, value)?;
            }
            outputs.push(Activation {
                source: Source::Cell(y_cell),
                value: a.value.map(|v| v.max(zero_point)),
            });
            self.row += 1;
        }
        Ok(outputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::arithmetic::Field;

    #[test]
    fn field_of_negative_values_is_the_additive_inverse() {
        assert_eq!(field(-5) + Fp::from(5), Fp::ZERO);
        assert_eq!(field(1i128 << 70), Fp::from(1u64 << 35).square());
    }
}
