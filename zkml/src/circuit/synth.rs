//! The halo2 circuit of a model: layout of the weights into fixed columns and
//! of one inference's witness into advice columns.

use std::collections::BTreeMap;
use std::sync::Arc;

use halo2_proofs::{
    circuit::{Cell, Layouter, Region, SimpleFloorPlanner, Value},
    pasta::Fp,
    plonk::{Advice, Circuit, Column, ConstraintSystem, Error, Fixed},
};

use super::config::{
    limb_slot, ModelConfig, RequantGate, LIMB_COLUMNS, MAC_WIDTH, PUBLIC_OFFSET, RELU_ZERO_POINT,
    REQUANT_ROWS, SLACK_BITS, SLACK_LIMBS, SLOT_Y_MINUS_LO, SLOT_Y_PLUS_128,
};
use super::graph::{mac_rows, Graph, Op2, PoolShape};
use super::spec::Requant;
use crate::ir::ConvGeometry;

#[cfg(feature = "testkit")]
mod tamper;
#[cfg(feature = "testkit")]
use tamper::Tampering;
#[cfg(feature = "testkit")]
pub use tamper::{RequantTamper, Tamper};

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
    graph: Arc<Graph>,
    input: Option<Vec<i8>>,
    /// A dishonest witness to lay out (mutation tests only).
    #[cfg(feature = "testkit")]
    tamper: Option<Tamper>,
}

impl ModelCircuit {
    /// The circuit of `graph`, with the witness of `input` if given.
    pub(crate) fn new(graph: Arc<Graph>, input: Option<Vec<i8>>) -> Self {
        Self {
            graph,
            input,
            #[cfg(feature = "testkit")]
            tamper: None,
        }
    }

    /// The public instance column of an inference: inputs, then outputs,
    /// each plus [`PUBLIC_OFFSET`] (small non-negative field elements).
    pub fn instance(input: &[i32], output: &[i32]) -> Vec<Fp> {
        input
            .iter()
            .chain(output)
            .map(|&v| field(i128::from(v) + i128::from(PUBLIC_OFFSET)))
            .collect()
    }
}

/// An activation value and where the circuit holds it.
#[derive(Clone, Copy)]
enum Source {
    /// Model input `i`: copies are constrained to its public cell.
    Input(usize),
    /// An advice cell.
    Cell(Cell),
    /// A constant (a padding cell): copies are pinned to the constant.
    Constant(i8),
}

/// An activation (int8, or the index an ArgMax outputs) and where it is.
#[derive(Clone, Copy)]
struct Activation {
    source: Source,
    value: Value<i32>,
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

/// What the model region leaves for the public values: the input values,
/// the output cells (with their values) and the cells holding a copy of
/// model input `i`.
pub(crate) struct ModelCells {
    pub(crate) input: Vec<Value<i32>>,
    pub(crate) outputs: Vec<(Cell, Value<i32>)>,
    pub(crate) input_copies: Vec<(usize, Cell)>,
}

impl ModelCircuit {
    /// Lays out the byte table and the model region: every layer's rows.
    /// Returns the input values, the output cells and the cells that hold a
    /// copy of a model input; the caller ties those to the public instance
    /// (or to a commitment, see `bound.rs`).
    pub(crate) fn lay_out_model(
        &self,
        config: &ModelConfig,
        layouter: &mut impl Layouter<Fp>,
    ) -> Result<ModelCells, Error> {
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

        let graph = &self.graph;
        let input = match &self.input {
            Some(v) if v.len() != graph.input_len => return Err(Error::Synthesis),
            Some(v) => v.iter().map(|&x| Value::known(i32::from(x))).collect(),
            None => vec![Value::unknown(); graph.input_len],
        };
        let (outputs, input_copies) = layouter.assign_region(
            || "model",
            |mut region| {
                let mut layout = Layout {
                    config,
                    region: &mut region,
                    row: 0,
                    constants: BTreeMap::new(),
                    input_copies: Vec::new(),
                    #[cfg(feature = "testkit")]
                    tamper: Tampering::new(self.tamper),
                };
                let mut tensors: Vec<Option<Vec<Activation>>> = vec![None; graph.tensors];
                tensors[0] = Some(
                    input
                        .iter()
                        .enumerate()
                        .map(|(i, &value)| Activation {
                            source: Source::Input(i),
                            value,
                        })
                        .collect(),
                );
                for step in &graph.steps {
                    let read = |t: usize| tensors[t].as_deref().ok_or(Error::Synthesis);
                    let out = match &step.op {
                        Op2::Dense {
                            input,
                            out,
                            inputs,
                            weights,
                            bias,
                            requant,
                            lower_bound,
                        } => {
                            let act = read(*input)?;
                            if act.len() != *inputs {
                                return Err(Error::Synthesis);
                            }
                            let mut outs = Vec::with_capacity(*out);
                            if requant.len() != *out {
                                return Err(Error::Synthesis);
                            }
                            #[cfg(feature = "testkit")]
                            layout.tamper.arm_dense();
                            for ((row, b), r) in
                                weights.chunks_exact(*inputs).zip(bias).zip(requant)
                            {
                                let w: Vec<i64> = row.iter().map(|&w| i64::from(w)).collect();
                                outs.push(layout.neuron(
                                    act,
                                    &w,
                                    i64::from(*b),
                                    *r,
                                    *lower_bound,
                                )?);
                            }
                            layout.row += REQUANT_ROWS - 1;
                            outs
                        }
                        Op2::Conv {
                            input,
                            geometry,
                            in_size,
                            out_size,
                            input_zero_point,
                            weights,
                            bias,
                            requant,
                            lower_bound,
                        } => {
                            let act = read(*input)?.to_vec();
                            layout.conv(
                                &act,
                                geometry,
                                *in_size,
                                *out_size,
                                *input_zero_point,
                                weights,
                                bias,
                                requant,
                                *lower_bound,
                            )?
                        }
                        Op2::Add {
                            a,
                            b,
                            len,
                            a_zero_point,
                            b_zero_point,
                            a_multiplier,
                            b_multiplier,
                            shift,
                            zero_point,
                            lower_bound,
                        } => {
                            let (xa, xb) = (read(*a)?.to_vec(), read(*b)?);
                            if xa.len() != *len || xb.len() != *len {
                                return Err(Error::Synthesis);
                            }
                            let xb = xb.to_vec();
                            let (ma, mb) = (i64::from(*a_multiplier), i64::from(*b_multiplier));
                            let bias =
                                -(i64::from(*a_zero_point) * ma + i64::from(*b_zero_point) * mb);
                            let requant = Requant {
                                multiplier: 1,
                                shift: *shift,
                                zero_point: *zero_point,
                            };
                            let mut outs = Vec::with_capacity(*len);
                            #[cfg(feature = "testkit")]
                            layout.tamper.arm_add();
                            for (&va, &vb) in xa.iter().zip(&xb) {
                                outs.push(layout.neuron(
                                    &[va, vb],
                                    &[ma, mb],
                                    bias,
                                    requant,
                                    *lower_bound,
                                )?);
                            }
                            layout.row += REQUANT_ROWS - 1;
                            outs
                        }
                        Op2::Relu {
                            input, zero_point, ..
                        } => {
                            let act = read(*input)?.to_vec();
                            layout.relu(&act, *zero_point)?
                        }
                        Op2::MaxPool { input, shape } => {
                            let act = read(*input)?.to_vec();
                            layout.max_pool(&act, shape)?
                        }
                        Op2::Reshape { input } => read(*input)?.to_vec(),
                        Op2::ArgMax { input, len } => {
                            let act = read(*input)?.to_vec();
                            if act.len() != *len {
                                return Err(Error::Synthesis);
                            }
                            vec![layout.arg_max(&act)?]
                        }
                    };
                    tensors[step.output] = Some(out);
                }
                let out = tensors[graph.output].take().ok_or(Error::Synthesis)?;
                let mut cells = Vec::with_capacity(out.len());
                for (i, a) in out.iter().enumerate() {
                    match a.source {
                        Source::Cell(cell) => cells.push((cell, a.value)),
                        // A model whose output is (a reshape of) its input:
                        // copy the output into advice cells.
                        _ => {
                            let (row, column) = (layout.row + i / MAC_WIDTH, i % MAC_WIDTH);
                            cells.push((layout.copy_in(*a, config.x[column], row)?, a.value));
                        }
                    }
                }
                Ok((cells, layout.input_copies))
            },
        )?;
        if outputs.len() != graph.output_len {
            return Err(Error::Synthesis);
        }
        Ok(ModelCells {
            input,
            outputs,
            input_copies,
        })
    }
}

impl Circuit<Fp> for ModelCircuit {
    type Config = ModelConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Self {
            graph: Arc::clone(&self.graph),
            input: None,
            #[cfg(feature = "testkit")]
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
        let graph = &self.graph;
        let ModelCells {
            input,
            outputs,
            input_copies,
        } = self.lay_out_model(&config, &mut layouter)?;
        let values: Vec<Value<i32>> = input
            .iter()
            .copied()
            .chain(outputs.iter().map(|&(_, value)| value))
            .collect();
        // The region's columns (`public`, `q_public`) are used nowhere else,
        // so the floor planner puts it at row 0: row `i` is instance row `i`.
        layouter.assign_region(
            || "public values",
            |mut region| {
                let mut public = Vec::with_capacity(values.len());
                for (row, value) in values.iter().enumerate() {
                    config.q_public.enable(&mut region, row)?;
                    let value = value.map(|v| field(i128::from(v)));
                    let cell = region.assign_advice(|| "public", config.public, row, || value)?;
                    public.push(cell.cell());
                }
                for &(i, cell) in &input_copies {
                    region.constrain_equal(*public.get(i).ok_or(Error::Synthesis)?, cell)?;
                }
                let output_cells = public.get(graph.input_len..).ok_or(Error::Synthesis)?;
                for (&(cell, _), &output) in outputs.iter().zip(output_cells) {
                    region.constrain_equal(output, cell)?;
                }
                Ok(())
            },
        )
    }
}

struct Layout<'a, 'r> {
    config: &'a ModelConfig,
    region: &'a mut Region<'r, Fp>,
    row: usize,
    /// The first cell pinned to each constant; later copies equal it.
    constants: BTreeMap<i128, Cell>,
    /// Cells holding a copy of model input `i`, to constrain to its public cell.
    input_copies: Vec<(usize, Cell)>,
    /// The dishonest witness not yet laid out (mutation tests only).
    #[cfg(feature = "testkit")]
    tamper: Tampering,
}

impl Layout<'_, '_> {
    /// Pins `cell` to the constant `v`.
    fn pin(&mut self, cell: Cell, v: i128) -> Result<(), Error> {
        match self.constants.get(&v) {
            Some(&first) => self.region.constrain_equal(first, cell),
            None => {
                self.region.constrain_constant(cell, field(v))?;
                self.constants.insert(v, cell);
                Ok(())
            }
        }
    }

    /// Assigns `a` into advice cell (`column`, `row`), equal to its source.
    fn copy_in(
        &mut self,
        a: Activation,
        column: Column<Advice>,
        row: usize,
    ) -> Result<Cell, Error> {
        match a.source {
            Source::Input(i) => {
                let assigned = self.advice(column, row, a.value.map(i128::from))?;
                self.input_copies.push((i, assigned));
                Ok(assigned)
            }
            Source::Cell(cell) => {
                let assigned = self.advice(column, row, a.value.map(i128::from))?;
                self.region.constrain_equal(cell, assigned)?;
                Ok(assigned)
            }
            Source::Constant(v) => {
                let assigned = self.advice(column, row, a.value.map(i128::from))?;
                self.pin(assigned, i128::from(v))?;
                Ok(assigned)
            }
        }
    }

    fn advice(
        &mut self,
        column: Column<Advice>,
        row: usize,
        value: Value<i128>,
    ) -> Result<Cell, Error> {
        Ok(self
            .region
            .assign_advice(|| "", column, row, || value.map(field))?
            .cell())
    }

    fn fixed(&mut self, column: Column<Fixed>, row: usize, value: i128) -> Result<(), Error> {
        self.region
            .assign_fixed(|| "", column, row, || Value::known(field(value)))?;
        Ok(())
    }

    /// One neuron: `acc = bias + sum taps[i] * weights[i]` on MAC rows, then
    /// the requantization row. The caller adds the spill rows of the last
    /// neuron of a layer.
    fn neuron(
        &mut self,
        taps: &[Activation],
        weights: &[i64],
        bias: i64,
        requant: Requant,
        lower_bound: i8,
    ) -> Result<Activation, Error> {
        if taps.len() != weights.len() {
            return Err(Error::Synthesis);
        }
        let config = self.config;
        let rows = mac_rows(taps.len());
        let known: Value<Vec<i32>> = taps.iter().map(|a| a.value).collect();
        let s = u32::from(requant.shift);
        let start = self.row;
        config.q_bias.enable(self.region, start)?;
        self.fixed(config.bias, start, i128::from(bias))?;
        let mut acc = known.as_ref().map(|_| bias);
        self.advice(config.acc, start, acc.map(i128::from))?;
        for c in 0..rows {
            let row = start + c;
            config.q_mac.enable(self.region, row)?;
            for j in 0..MAC_WIDTH {
                let i = c * MAC_WIDTH + j;
                if i < taps.len() {
                    self.copy_in(taps[i], config.x[j], row)?;
                    self.fixed(config.w[j], row, i128::from(weights[i]))?;
                } else {
                    self.advice(config.x[j], row, Value::known(0))?;
                    self.fixed(config.w[j], row, 0)?;
                }
            }
            let end = ((c + 1) * MAC_WIDTH).min(taps.len());
            acc = acc.zip(known.as_ref()).map(|(acc, x)| {
                acc + (c * MAC_WIDTH..end)
                    .map(|i| i64::from(x[i]) * weights[i])
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
        let witness = acc.map(|acc| {
            let w = requant_witness(acc, requant, lower_bound);
            (i128::from(w.y), w.b_hi, w.b_lo, w.slots)
        });
        #[cfg(feature = "testkit")]
        let witness = self
            .tamper
            .requant_witness(witness, acc, requant, lower_bound);
        let y_wide = witness.as_ref().map(|w| w.0);
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
        self.row = result + 1;
        Ok(Activation {
            source: Source::Cell(y_cell),
            value: y_wide.map(|y| y as i32),
        })
    }

    /// One neuron per output of a `[C, H, W]` input of `in_size` `[H, W]`
    /// and an output of `[OH, OW]`, its taps those of [`ConvGeometry::taps`].
    #[allow(clippy::too_many_arguments)]
    fn conv(
        &mut self,
        act: &[Activation],
        geometry: &ConvGeometry,
        in_size: [usize; 2],
        [out_h, out_w]: [usize; 2],
        input_zero_point: i8,
        weights: &[i8],
        bias: &[i32],
        requant: &[Requant],
        lower_bound: i8,
    ) -> Result<Vec<Activation>, Error> {
        let fan_in = geometry.fan_in() as usize;
        let out_channels = geometry.out_channels as usize;
        if act.len() != geometry.in_channels as usize * in_size[0] * in_size[1]
            || weights.len() != out_channels * fan_in
            || bias.len() != out_channels
            || requant.len() != out_channels
        {
            return Err(Error::Synthesis);
        }
        let honest_padding = Activation {
            source: Source::Constant(input_zero_point),
            value: Value::known(i32::from(input_zero_point)),
        };
        // The first padding cell laid out holds `padding`, every other one
        // `honest_padding` (they differ only when a mutation test asks).
        let padding = honest_padding;
        #[cfg(feature = "testkit")]
        let padding = self.tamper.conv_padding(padding);
        let mut first_padding = true;
        let mut outs = Vec::with_capacity(out_channels * out_h * out_w);
        for ((filter, &b), &requant) in weights.chunks_exact(fan_in).zip(bias).zip(requant) {
            let w: Vec<i64> = filter.iter().map(|&w| i64::from(w)).collect();
            for oy in 0..out_h {
                for ox in 0..out_w {
                    let taps: Vec<Activation> = geometry
                        .taps(in_size, oy, ox)
                        .map(|t| match t {
                            Some(i) => act[i],
                            None if first_padding => {
                                first_padding = false;
                                padding
                            }
                            None => honest_padding,
                        })
                        .collect();
                    outs.push(self.neuron(&taps, &w, i64::from(b), requant, lower_bound)?);
                }
            }
        }
        self.row += REQUANT_ROWS - 1;
        Ok(outs)
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
                value: a.value.map(|v| v.max(i32::from(zero_point))),
            });
            self.row += 1;
        }
        Ok(outputs)
    }

    /// One window per output: `n` comparison rows and a tail row (see
    /// [`ModelConfig::pool_gate`]).
    fn max_pool(
        &mut self,
        act: &[Activation],
        shape: &PoolShape,
    ) -> Result<Vec<Activation>, Error> {
        let config = self.config;
        if act.len() != shape.channels * shape.height * shape.width {
            return Err(Error::Synthesis);
        }
        #[cfg(feature = "testkit")]
        let tamper = self.tamper.pool_output();
        let mut outs = Vec::with_capacity(shape.channels * shape.out_h * shape.out_w);
        for c in 0..shape.channels {
            for oy in 0..shape.out_h {
                for ox in 0..shape.out_w {
                    let window: Vec<Activation> = shape.window(c, oy, ox).map(|i| act[i]).collect();
                    let values: Value<Vec<i32>> = window.iter().map(|a| a.value).collect();
                    let y = values
                        .as_ref()
                        .map(|v| v.iter().copied().max().unwrap_or(i32::from(i8::MIN)));
                    #[cfg(feature = "testkit")]
                    let y = match tamper {
                        Some((index, value)) if index == outs.len() => y.map(|_| i32::from(value)),
                        _ => y,
                    };
                    let y_wide = y.map(i128::from);
                    let start = self.row;
                    let mut p = Value::known(Fp::one());
                    let mut y_cell = None;
                    for (j, a) in window.iter().enumerate() {
                        let row = start + j;
                        config.q_pool.enable(self.region, row)?;
                        self.copy_in(*a, config.acc, row)?;
                        let cell = self.advice(config.y, row, y_wide)?;
                        y_cell.get_or_insert(cell);
                        let p_cell = self
                            .region
                            .assign_advice(|| "p", config.b_lo, row, || p)?
                            .cell();
                        if j == 0 {
                            self.pin(p_cell, 1)?;
                        }
                        let diff = y_wide.zip(a.value).map(|(y, x)| y - i128::from(x));
                        self.advice(config.limbs[0], row, diff)?;
                        p = p.zip(diff).map(|(p, d)| p * field(d));
                    }
                    let tail = start + window.len();
                    self.advice(config.y, tail, y_wide)?;
                    let p_cell = self
                        .region
                        .assign_advice(|| "p", config.b_lo, tail, || p)?
                        .cell();
                    self.pin(p_cell, 0)?;
                    self.row = tail + 1;
                    outs.push(Activation {
                        source: Source::Cell(y_cell.ok_or(Error::Synthesis)?),
                        value: y,
                    });
                }
            }
        }
        Ok(outs)
    }

    /// `n` comparison rows and a tail row holding the index (see
    /// [`ModelConfig::argmax_gate`]).
    fn arg_max(&mut self, act: &[Activation]) -> Result<Activation, Error> {
        let config = self.config;
        let values: Value<Vec<i32>> = act.iter().map(|a| a.value).collect();
        let index = values.as_ref().map(|v| {
            let mut best = 0;
            for (i, &x) in v.iter().enumerate() {
                if x > v[best] {
                    best = i;
                }
            }
            best
        });
        #[cfg(feature = "testkit")]
        let index = self.tamper.arg_max_index(index);
        let m = values
            .as_ref()
            .zip(index)
            .map(|(v, i)| i128::from(v.get(i).copied().unwrap_or(0)));
        let start = self.row;
        let (mut c, mut r) = (Value::known(0i128), Value::known(0i128));
        for (j, a) in act.iter().enumerate() {
            let row = start + j;
            config.q_argmax.enable(self.region, row)?;
            self.copy_in(*a, config.acc, row)?;
            self.advice(config.y, row, m)?;
            let s = index.map(|i| i128::from(i == j));
            self.advice(config.b_hi, row, s)?;
            let c_cell = self.advice(config.b_lo, row, c)?;
            let r_cell = self.advice(config.x[0], row, r)?;
            if j == 0 {
                self.pin(c_cell, 0)?;
                self.pin(r_cell, 0)?;
            }
            let before = c.zip(s).map(|(c, s)| 1 - c - s);
            let diff = m
                .zip(a.value)
                .zip(before)
                .map(|((m, x), b)| m - i128::from(x) - b);
            self.advice(config.limbs[0], row, diff)?;
            c = c.zip(s).map(|(c, s)| c + s);
            r = r.zip(before).map(|(r, b)| r + b);
        }
        let tail = start + act.len();
        self.advice(config.y, tail, m)?;
        let c_cell = self.advice(config.b_lo, tail, c)?;
        self.pin(c_cell, 1)?;
        let index_cell = self.advice(config.x[0], tail, r)?;
        self.row = tail + 1;
        Ok(Activation {
            source: Source::Cell(index_cell),
            // At most the IR's tensor size limit (2^24): fits an i32.
            value: r.map(|r| r as i32),
        })
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
